"""``translocus simulate --genes``: the molecular files in the simulation's run folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.core.paths import data_dir
from translocus.core.simulate_molecular import GRCM39_LENGTHS
from translocus.pipelines.simulate import hotspot_targets

pytestmark = pytest.mark.skipif(
    not (data_dir() / "genes" / "mouse_genes_grcm39_ensembl109.csv").is_file(),
    reason="GRCm39 gene table not available",
)
SIM = ["simulate", "--n", "60", "--markers", "400", "--seed", "4", "--genes", "200"]


def test_genes_writes_the_molecular_files_beside_the_cross(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = invoke([*SIM, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "expression of 200 genes: 60 local eQTL, 3 hotspots" in result.stdout
    record = assert_complete_run(out)
    assert record["options"]["genes"] == 200
    assert record["summary"]["genes"] == 200 and record["summary"]["hotspots"] == 3
    # the cross is on the GRCm39 map, so that every gene lies inside it
    control = json.loads((out / "sim.json").read_text())
    pmap = pd.read_csv(out / control["pmap"], dtype={"chr": str})
    ends = pmap.groupby("chr")["pos"].max()
    for chrom, length in GRCM39_LENGTHS.items():
        assert ends[chrom] == pytest.approx(length / 1e6)
    matrix = pd.read_parquet(out / "expression.parquet")
    assert matrix.shape == (60, 201) and matrix.columns[0] == "sample"
    geno = pd.read_csv(out / control["geno"], index_col=0)
    assert list(matrix["sample"]) == list(geno.columns)
    features = pd.read_csv(out / "features.csv", dtype={"chr": str})
    assert list(features["gene_id"]) == list(matrix.columns[1:])
    truth = pd.read_csv(out / "expression_truth.csv", dtype={"chr": str, "qtl_chr": str})
    assert set(truth["kind"]) == {"local", "distal", "mediator", "none"}
    lo, hi = hotspot_targets(200)
    hotspots = pd.read_csv(out / "hotspots.csv")
    assert hotspots["targets"].between(lo, hi).all()
    assert (truth["kind"] == "distal").sum() == hotspots["targets"].sum()
    assert set(pd.read_csv(out / "expression_covar.csv").columns) == {"sample", "sex", "batch"}
    assert (out / "truth.csv").is_file()  # the cross's QTL stay where they were
    # the same seed gives the same expression
    again = tmp_path / "again"
    assert invoke([*SIM, "--out", str(again)]).exit_code == 0
    np.testing.assert_array_equal(
        pd.read_parquet(again / "expression.parquet").iloc[:, 1:].to_numpy(),
        matrix.iloc[:, 1:].to_numpy(),
    )


def test_without_genes_nothing_molecular_is_written(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--cross", "f2", "--n", "20", "--markers", "60", "--out", str(out)]
    assert invoke(args).exit_code == 0
    assert not (out / "expression.parquet").exists()
    assert assert_complete_run(out)["options"]["genes"] == 0


def test_hotspot_targets_scale_with_the_genes() -> None:
    assert hotspot_targets(20000) == (100, 300)
    assert hotspot_targets(21000) == (100, 300)
    assert hotspot_targets(1000) == (5, 15)
    assert hotspot_targets(20) == (1, 3)


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--genes", "5"], "--genes 5: use 0 (no expression data) or 20 to 21,000"),
        (["--genes", "30000"], "--genes 30000"),
        (["--genes", "50", "--n", "5"], "--n 5: simulate at least 10 animals with --genes"),
        (["--genes", "50", "--markers", "30"], "--markers 30: use at least 40 with --genes"),
    ],
)
def test_bad_genes_is_one_clear_error(tmp_path: Path, args: list[str], expect: str) -> None:
    before = snapshot(tmp_path)
    command = ["simulate", *args, "--out", str(tmp_path / "x")]
    assert_user_error(invoke(command), before, tmp_path, expect=expect)
