"""Sphinx configuration of the translocus API reference (``make docs``)."""

from __future__ import annotations

import os
import warnings

import translocus

project = "translocus"
author = "translocus developers"
copyright = "translocus developers"
version = release = translocus.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# One page per module (templates/autosummary/module.rst documents its members); the
# engines' packages re-export these names, so each object is documented once, where it
# is defined.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_mock_imports = ["torch"]  # the GPU extra is optional

# numpydoc lists a class's methods itself; autodoc's :members: already documents them.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc says a docstring section it cannot parse with a Python warning, which -W does not
# see: make it an error so that `make docs` fails on it too.
warnings.filterwarnings("error", category=UserWarning, module="numpydoc")

# A warning fails `make docs` (-W); intersphinx never reaches the network in CI.
intersphinx_mapping: dict[str, tuple[str, str | None]] = {}
if os.environ.get("TRANSLOCUS_DOCS_INTERSPHINX"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "pandas": ("https://pandas.pydata.org/docs", None),
        "xarray": ("https://docs.xarray.dev/en/stable", None),
    }

# docs/architecture.md and docs/tables.md are written for GitHub: their links to files in
# the source tree are not Sphinx documents.
suppress_warnings = ["myst.xref_missing"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"translocus {release}"


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn adds to every estimator class."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    """Connect the member filter."""
    app.connect("autodoc-skip-member", _skip_metadata_requests)
