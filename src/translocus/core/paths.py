"""Where the shared public datasets live.

Tests, benchmarks and the CLI find the datasets through the ``TRANSLOCUS_DATA``
environment variable, falling back to ``../shared/data`` beside the project checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "reference_dir"]

_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def data_dir() -> Path:
    """Folder of the public datasets (``$TRANSLOCUS_DATA`` or ``../shared/data``)."""
    env = os.environ.get("TRANSLOCUS_DATA")
    return Path(env) if env else _PROJECT_ROOT.parent / "shared" / "data"


def reference_dir() -> Path:
    """Folder of R/qtl2 reference outputs (``$TRANSLOCUS_REF`` or ``../shared/ref``)."""
    env = os.environ.get("TRANSLOCUS_REF")
    return Path(env) if env else _PROJECT_ROOT.parent / "shared" / "ref"
