"""The ``genoprob`` and ``scan`` commands on the DOex example (CliRunner, fresh app)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from translocus.cli.genetics import register
from translocus.core.compute import available_backends
from translocus.core.paths import data_dir

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.zip"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    if not DOEX.exists():
        pytest.skip(f"{DOEX} is not available")
    application = typer.Typer()
    register(application)
    return application


def test_help_shows_examples(app):
    runner = CliRunner()
    for command in ("scan", "genoprob"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0
        assert "Example: translocus" in result.output


def test_genoprob_then_scan_with_permutations(app, tmp_path):
    runner = CliRunner()
    store = tmp_path / "store"
    result = runner.invoke(app, ["genoprob", str(DOEX), "--out", str(store)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "scan"
    result = runner.invoke(app, ["scan", str(DOEX), "--probs", str(store), "--pheno",
                                 "OF_immobile_pct", "--kinship", "none", "--covar", "sex",
                                 "--perms", "20", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("lod.parquet", "lod.csv", "peaks.csv", "thresholds.csv", "permutations.csv",
                 "lod.png", "lod.html", "summary.json"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    lod = pd.read_parquet(out / "lod.parquet")
    assert list(lod.columns[:4]) == ["marker", "chr", "pos_cM", "pos_Mbp"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["covariates"] == ["sex"]
    # the chromosome-2 QTL of the R/qtl2 user guide (LOD about 11 with HK + sex)
    assert summary["max_lod"]["OF_immobile_pct"] > 9
    peaks = pd.read_csv(out / "peaks.csv", dtype={"chr": str})
    assert "2" in set(peaks["chr"])
    # the same run on the array backend (torch: CUDA when present, else its CPU build)
    if "torch" in available_backends():
        out_t = tmp_path / "scan_torch"
        result = runner.invoke(app, ["scan", str(DOEX), "--probs", str(store), "--pheno",
                                     "OF_immobile_pct", "--kinship", "none", "--covar", "sex",
                                     "--perms", "20", "--backend", "torch", "--out",
                                     str(out_t)])  # fmt: skip
        assert result.exit_code == 0, result.output
        for name in ("lod.csv", "permutations.csv"):
            a, b = pd.read_csv(out / name), pd.read_csv(out_t / name)
            num = a.select_dtypes("number").columns
            np.testing.assert_allclose(b[num].to_numpy(), a[num].to_numpy(), atol=1e-9)


def test_bad_options_give_one_line_errors(app, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["scan", str(DOEX), "--kinship", "both", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "use loco, overall or none" in result.output
    result = runner.invoke(app, ["scan", str(DOEX), "--backend", "gpu", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "use cpu or torch" in result.output
    result = runner.invoke(app, ["scan", str(DOEX), "--pheno", "nope", "--kinship", "none",
                                 "--out", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2
    assert "not in the cross's phenotypes" in result.output
