"""``translocus snps`` on a DOex scan run folder, against R/qtl2 0.43-5.

The references are those of ``tests/reference/qtl2/snps/snps.R`` (see
tests/genetics/test_snps.py): ``scan1snps`` on the variants of chr 2 (the small database holds
97.0-98.0 Mbp, inside the peak's support interval) with LOCO kinship, and with sex as additive
covariate without kinship (Haley-Knott); ``top_snps(drop=1.5)`` and the genes of the region.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke
from translocus.core.paths import data_dir
from translocus.genetics.snps import default_variant_db
from translocus.pipelines.snps import SnpsRequest, run_snps

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "snps"
DOEX = data_dir() / "qtl2" / "DOex" / "DOex.json"
TRAIT = "OF_immobile_pct"


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not DOEX.exists() or not default_variant_db().exists():
        pytest.skip("the shared DOex cross or the variant database is not available")
    root = tmp_path_factory.mktemp("snps_runs")
    runs = {"loco": root / "scan_loco", "hk_sex": root / "scan_hk_sex"}
    done = invoke(["scan", DOEX, "-o", runs["loco"]])
    assert done.exit_code == 0, done.output
    done = invoke(["scan", DOEX, "--kinship", "none", "--covar", "sex", "-o", runs["hk_sex"]])
    assert done.exit_code == 0, done.output
    return runs


def _ref_by_variant() -> pd.DataFrame:
    """Every variant of R's region with the LODs of its index SNP."""
    info = pd.read_csv(REF / "snpinfo.csv.gz", dtype={"snp": str, "chr": str})
    lod = pd.read_csv(REF / "lod.csv", dtype={"snp": str}).set_index("snp")
    index_snp = info["snp"].to_numpy()[info["index"].to_numpy() - 1]
    return pd.concat([info.set_index("snp"), lod.drop(columns=["pos", "sdp"]).reindex(index_snp)
                      .set_axis(info["snp"])], axis=1)  # fmt: skip


@pytest.mark.parametrize(("scan", "column"), [("loco", "loco"), ("hk_sex", "hk_sex")])
def test_snps_command_matches_r(scans: dict[str, Path], tmp_path: Path, scan: str,
                                column: str) -> None:  # fmt: skip
    out = tmp_path / "snps"
    result = invoke(["snps", scans[scan], "--peak", f"{TRAIT}:2", "-o", out])
    assert result.exit_code == 0, result.output
    assert "covers chr 2 only from 97.000027 to 97.999988 Mbp" in result.stderr
    record = assert_complete_run(out)
    assert {"snp_assoc.csv", "snp_assoc.parquet", "top_snps.csv", "genes.csv",
            "snp_assoc.png"} <= set(record["files"])  # fmt: skip
    table = pd.read_csv(out / "snp_assoc.csv", dtype={"snp": str, "chr": str})
    ref = _ref_by_variant()
    assert table["snp"].tolist() == ref.index.tolist()
    np.testing.assert_allclose(table["lod"], ref[column], rtol=0, atol=1e-5)
    parquet = pd.read_parquet(out / "snp_assoc.parquet")
    np.testing.assert_allclose(parquet["lod"], table["lod"], rtol=1e-12, atol=0)
    summary = record["summary"]
    assert summary["n_index_snps"] == len(pd.read_csv(REF / "lod.csv"))
    assert summary["method"] == ("lmm" if scan == "loco" else "hk")
    assert summary["covariates"] == ([] if scan == "loco" else ["sex"])
    genes = pd.read_csv(out / "genes.csv")
    ref_genes = pd.read_csv(REF / "genes.csv")
    assert genes["Name"].tolist() == ref_genes["Name"].tolist()
    if scan == "loco":
        top = pd.read_csv(out / "top_snps.csv", dtype={"snp": str})
        ref_top = pd.read_csv(REF / "top_snps.csv", dtype={"snp": str})
        assert top["snp"].tolist() == ref_top["snp"].tolist()
        np.testing.assert_allclose(top["lod"], ref_top["lod"], rtol=0, atol=1e-5)
        assert top["sdp_strains"].tolist()[0] == "E|ABCDFGH"
        assert summary["top_snp"] == "rs230537549"
    assert (out / "snp_assoc.png").read_bytes()[:4] == b"\x89PNG"


def test_a_region_inside_the_interval(scans: dict[str, Path]) -> None:
    """--start/--end: only the variants there, each with R's LOD of its (interval, SDP)."""
    output = run_snps(SnpsRequest(run=scans["loco"], peak=TRAIT, start=97.2, end=97.6))
    table = output.table
    assert table["pos"].between(97.2, 97.6).all()
    ref = _ref_by_variant()
    inside = ref[ref["pos"].between(97.2, 97.6)]
    assert table["snp"].tolist() == inside.index.tolist()
    np.testing.assert_allclose(table["lod"], inside["loco"], rtol=0, atol=1e-5)
    assert output.summary()["variants_region"] == [97.2, 97.6]
    names = set(output.genes["Name"])
    assert "Lrrc4c" in names and "Gm13804" not in names


def test_the_run_records_its_inputs(scans: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "snps"
    assert invoke(["snps", scans["loco"], "--peak", TRAIT, "-o", out]).exit_code == 0
    record = json.loads((out / "run.json").read_text())
    paths = [item["path"] for item in record["inputs"]]
    assert any(p.endswith("peaks.csv") for p in paths)
    assert any(p.endswith("DOex_geno.csv") for p in paths)
    assert record["options"]["peak"] == TRAIT
    assert {r["what"] for r in record["rows"]} >= {"variants read", "index SNPs"}


def test_a_chromosome_without_a_peak_with_a_region(scans: dict[str, Path]) -> None:
    """TRAIT:CHR with --start/--end studies a region where the scan found no peak."""
    peaks = pd.read_csv(scans["loco"] / "peaks.csv", dtype={"chr": str})
    assert "3" not in set(peaks["chr"])
    output = run_snps(SnpsRequest(run=scans["loco"], peak=f"{TRAIT}:3", start=14.6, end=14.9))
    summary = output.summary()
    assert summary["chr"] == "3" and summary["peak"] == {}
    assert output.table["pos"].between(14.6, 14.9).all() and len(output.table) > 0
    assert np.isfinite(output.table["lod"]).all()
