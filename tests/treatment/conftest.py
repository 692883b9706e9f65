"""Fixtures of the tumour-treatment tests: the PDXE and Xeva tables when present."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from translocus.core.paths import data_dir


@pytest.fixture(scope="session")
def pdx_dir() -> Path:
    path = data_dir() / "pdx"
    if not (path / "pdxe" / "TAone.volume.data.csv").exists():
        pytest.skip(f"PDX data not found at {path} (set TRANSLOCUS_DATA)")
    return path


@pytest.fixture(scope="session")
def pdxe(pdx_dir: Path):  # type: ignore[no-untyped-def]
    from translocus.treatment.study import read_pdxe

    return read_pdxe(pdx_dir / "pdxe")


@pytest.fixture(scope="session")
def pdxe_metrics(pdxe) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    from translocus.treatment.metrics import response_metrics

    return response_metrics(pdxe)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
