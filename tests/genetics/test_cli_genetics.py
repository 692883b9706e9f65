"""The ``genoprob`` and ``scan`` commands on the DOex example (through the CLI entry point)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke
from translocus.core.compute import available_backends
from translocus.core.paths import data_dir

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.zip"


@pytest.fixture(scope="module", autouse=True)
def _doex() -> None:
    if not DOEX.exists():
        pytest.skip(f"{DOEX} is not available")


def test_help_shows_examples():
    for command in ("scan", "genoprob"):
        result = invoke([command, "--help"])
        assert result.exit_code == 0
        assert "Example: translocus " + command in " ".join(result.output.split())


def test_genoprob_then_scan_with_permutations(tmp_path):
    store = tmp_path / "store"
    result = invoke(["genoprob", str(DOEX), "--out", str(store)])
    assert result.exit_code == 0, result.output
    record = assert_complete_run(store)
    assert record["summary"]["assembly"] == "GRCm38"
    out = tmp_path / "scan"
    result = invoke(["scan", str(DOEX), "--probs", str(store), "--pheno", "OF_immobile_pct",
                     "--kinship", "none", "--covar", "sex", "--perms", "20", "--out",
                     str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("lod.parquet", "lod.csv", "peaks.csv", "peak_effects.csv", "thresholds.csv",
                 "permutations.csv", "lod.png", "lod.html", "run.json"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    assert not (out / "summary.json").exists()
    lod = pd.read_parquet(out / "lod.parquet")
    assert list(lod.columns[:4]) == ["marker", "chr", "pos_cM", "pos_Mbp"]
    summary = assert_complete_run(out)["summary"]
    assert summary["covariates"] == ["sex"]
    # the chromosome-2 QTL of the R/qtl2 user guide (LOD about 11 with HK + sex)
    assert summary["max_lod"]["OF_immobile_pct"] > 9
    assert summary["assembly"] == "GRCm38"
    used = summary["thresholds"]["OF_immobile_pct"]
    assert used["source"] == "permutations" and used["perms"] == 20
    assert (
        "threshold: LOD " in result.stdout and "(5% genome-wide, 20 permutations)" in result.stdout
    )
    peaks = pd.read_csv(out / "peaks.csv", dtype={"chr": str})
    assert "2" in set(peaks["chr"])
    effects = pd.read_csv(out / "peak_effects.csv", dtype={"chr": str})
    on2 = effects[effects["chr"] == "2"]
    assert list(on2["coefficient"]) == [*"ABCDEFGH", "sex", "intercept"]
    assert np.all(on2["se"] > 0)
    # the same run on the array backend (torch: CUDA when present, else its CPU build)
    if "torch" in available_backends():
        out_t = tmp_path / "scan_torch"
        result = invoke(["scan", str(DOEX), "--probs", str(store), "--pheno",
                         "OF_immobile_pct", "--kinship", "none", "--covar", "sex",
                         "--perms", "20", "--backend", "torch", "--out", str(out_t)])  # fmt: skip
        assert result.exit_code == 0, result.output
        for name in ("lod.csv", "permutations.csv"):
            a, b = pd.read_csv(out / name), pd.read_csv(out_t / name)
            num = a.select_dtypes("number").columns
            np.testing.assert_allclose(b[num].to_numpy(), a[num].to_numpy(), atol=1e-9)


def test_scan_without_probs_matches_the_stored_ones(tmp_path):
    """Probabilities computed in the scan equal those of ``genoprob`` (the LMM, LOCO)."""
    store = tmp_path / "store"
    assert invoke(["genoprob", str(DOEX), "-o", str(store)]).exit_code == 0
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke(["scan", str(DOEX), "--covar", "sex", "-o", str(a)]).exit_code == 0
    result = invoke(["scan", str(DOEX), "--covar", "sex", "--probs", str(store), "-o", str(b)])
    assert result.exit_code == 0, result.output
    assert "threshold: LOD 6 (--threshold)" in result.stdout
    pd.testing.assert_frame_equal(pd.read_csv(a / "lod.csv"), pd.read_csv(b / "lod.csv"))
    summary = json.loads((b / "run.json").read_text())["summary"]
    assert summary["method"] == "lmm" and summary["kinship"] == "loco"
    assert summary["max_lod"]["OF_immobile_pct"] > 9
    assert (b / "hsq.csv").is_file()


def test_bad_options_give_one_line_errors(tmp_path):
    result = invoke(["scan", str(DOEX), "--kinship", "both", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "use loco, overall or none" in result.output
    result = invoke(["scan", str(DOEX), "--backend", "gpu", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "use cpu or torch" in result.output
    result = invoke(["scan", str(DOEX), "--pheno", "nope", "--kinship", "none",
                     "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2
    assert "not in the cross's phenotypes" in result.output
    assert not (tmp_path / "o").exists()
