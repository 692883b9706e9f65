"""``translocus snps``: SNP association and genes in a peak's interval, from a scan run folder.

The workflow lives in :mod:`translocus.pipelines.snps`; this command parses the options, runs
the pipeline into a new run folder and prints a short summary.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline

__all__ = ["register"]


def snps_command(
    run: Path = typer.Argument(..., help="Run folder written by `translocus scan`."),
    peak: str = typer.Option(
        ..., "--peak", help="The peak: TRAIT (its highest peak) or TRAIT:CHR."
    ),  # fmt: skip
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the SNP results."),
    drop: float = typer.Option(
        1.5, "--drop", help="Top SNPs: the variants within this LOD of the best."
    ),  # fmt: skip
    start: float | None = typer.Option(
        None, "--start", help="Start of the region (Mbp); default the peak's support interval."
    ),  # fmt: skip
    end: float | None = typer.Option(
        None, "--end", help="End of the region (Mbp); default the peak's support interval."
    ),  # fmt: skip
    variants: Path | None = typer.Option(
        None,
        "--variants",
        help="R/qtl2 founder-variant database (SQLite); default the shared cc_variants_small.",
    ),  # fmt: skip
    genes: Path | None = typer.Option(
        None,
        "--genes",
        help="R/qtl2 gene database (SQLite); default the shared mouse_genes_small.",
    ),  # fmt: skip
) -> None:
    """SNP association in a QTL's support interval, with the genes there.

    Recomputes the allele probabilities of the scan's cross, reads the founder variants of the
    peak's interval, scans them with the scan's model (kinship, covariates) and writes
    snp_assoc.csv/.parquet, top_snps.csv, genes.csv and snp_assoc.png.

    Example: translocus snps results/doex_scan --peak OF_immobile_pct:2 -o results/doex_snps
    """
    from translocus.pipelines.snps import SnpsRequest, run_snps, scan_run_inputs

    request = SnpsRequest(run=run, peak=peak, drop=drop, start=start, end=end,
                          variants=variants, genes=genes)  # fmt: skip
    inputs = [*scan_run_inputs(run), *(p for p in (variants, genes) if p is not None)]
    output, _, folder = run_pipeline("snps", request, run_snps, out_dir=out_dir, inputs=inputs)
    s = output.summary()
    out.print(
        f"{escape(s['trait'])}: chr {s['chr']} {s['start']:.3f}-{s['end']:.3f} Mbp, "
        f"{s['n_variants']:,} variants ({s['n_index_snps']:,} distinct patterns), "
        f"{s['method'].upper()}" + (f" with {s['kinship']} kinship" if s["method"] == "lmm" else "")
    )
    if s["max_lod"] is not None:
        out.print(
            f"max LOD {s['max_lod']:.2f} at {escape(str(s['top_snp']))} ({s['top_pos']:.6f} Mbp); "
            f"{s['n_top_snps']:,} variants within {s['drop']:g} of it"
        )
    shown = ", ".join(escape(g) for g in s["genes"][:12]) + (" ..." if s["n_genes"] > 12 else "")
    out.print(f"genes in the region: {s['n_genes']}" + (f" ({shown})" if s["genes"] else ""))
    out.print(f"results in {folder}: snp_assoc.csv, top_snps.csv, genes.csv, snp_assoc.png")


def register(app: typer.Typer) -> None:
    """Add ``snps`` to the ``translocus`` command."""
    app.command("snps")(snps_command)
