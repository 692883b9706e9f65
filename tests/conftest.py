"""Shared test fixtures: where the public data and the R/qtl2 references are."""

from __future__ import annotations

from pathlib import Path

import pytest

from translocus.core.paths import data_dir, reference_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = data_dir()
    if not path.is_dir():
        pytest.skip(f"public datasets not found at {path} (set TRANSLOCUS_DATA)")
    return path


@pytest.fixture(scope="session")
def qtl2_ref() -> Path:
    path = reference_dir() / "qtl2"
    if not path.is_dir():
        pytest.skip(f"R/qtl2 reference outputs not found at {path} (set TRANSLOCUS_REF)")
    return path
