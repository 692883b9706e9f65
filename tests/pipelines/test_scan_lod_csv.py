"""lod.csv is left out above MAX_LOD_CSV_VALUES LODs (lod.parquet holds them all), and said so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from translocus.core.runs import RunLog
from translocus.core.simulate import simulate_cross
from translocus.pipelines import scan as scan_pipeline
from translocus.pipelines.scan import ScanRequest, run_scan


@pytest.mark.parametrize("limit", [10**6, 50])
def test_lod_csv_only_below_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      limit: int) -> None:  # fmt: skip
    monkeypatch.setattr(scan_pipeline, "MAX_LOD_CSV_VALUES", limit)
    cross = simulate_cross(cross_type="f2", n=40, n_markers=60, seed=3, n_traits=2).cross
    log = RunLog()
    output = run_scan(ScanRequest(kinship="none", assembly="GRCm39"), log, cross=cross)
    folder = tmp_path / "out"
    folder.mkdir()
    output.write(folder)
    n_lod = 2 * len(output.result.markers)
    written = n_lod <= limit
    assert output.summary()["lod_csv"] is written
    assert (folder / "lod.csv").exists() is written
    parquet = pd.read_parquet(folder / "lod.parquet")
    assert list(parquet.columns[-2:]) == ["trait1", "trait2"] and len(parquet) == n_lod // 2
    counted = [r for r in log.rows if r["what"] == "LOD values left out of lod.csv"]
    assert [r["n"] for r in counted] == ([] if written else [n_lod])
