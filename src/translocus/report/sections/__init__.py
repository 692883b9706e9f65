"""One module per report section; each exposes ``build_section(workdir, *, quick)``."""
