"""The ``genoprob`` and ``scan`` commands on the DOex example (through the CLI entry point)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import translocus.pipelines.scan as scan_pipeline
from clirun import assert_complete_run, invoke
from translocus.core.compute import available_backends
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.core.runs import RunLog
from translocus.genetics.effects import scan1blup, scan1coef
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import cross_covariates, scan
from translocus.pipelines.genoprob import genotype_probabilities

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
    coef, blup = on2[on2["method"] == "coef"], on2[on2["method"] == "blup"]
    assert list(coef["coefficient"]) == [*"ABCDEFGH", "sex", "intercept"]
    assert list(blup["coefficient"]) == [*"ABCDEFGH", "intercept", "sex"]
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


def test_scan_options_intcovar_chr_map_threads(tmp_path):
    """--intcovar, --chr, --map and --threads give what the library functions give.

    The run's LODs equal ``scan`` with the same interactive covariate on chromosome 2 with the
    LOCO kinship of all chromosomes (which equal the chromosome-2 rows of a whole-genome scan);
    the peaks are in cM; the effects at each peak come as fixed effects and BLUPs with SEs,
    equal to ``scan1coef``/``scan1blup`` at the peak marker, and along the chromosome.
    """
    store = tmp_path / "store"
    assert invoke(["genoprob", str(DOEX), "-o", str(store)]).exit_code == 0
    out = tmp_path / "scan"
    result = invoke(["scan", str(DOEX), "--probs", str(store), "--pheno", "OF_immobile_pct",
                     "--intcovar", "sex", "--chr", "2", "--map", "gmap", "--threads", "1",
                     "--threshold", "5", "--perms", "3", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(5% over chr 2, 3 permutations)" in result.stdout
    summary = assert_complete_run(out)["summary"]
    assert summary["intcovar"] == ["sex"] and summary["covariates"] == ["sex"]
    assert summary["chromosomes"] == ["2"] and summary["threads"] == 1
    assert summary["map"] == "pos_cM"
    lod = pd.read_csv(out / "lod.csv", dtype={"chr": str, "marker": str}).set_index("marker")
    assert set(lod["chr"]) == {"2"}

    cross = read_cross(DOEX)
    _, alleles = genotype_probabilities(cross, 0.002, "c-f", RunLog())
    kin = calc_kinship(alleles, type="loco")
    pheno = cross.pheno[["OF_immobile_pct"]]
    pheno.index = [str(i) for i in pheno.index]
    sex, xcovar = cross_covariates(cross, ["sex"])
    whole = scan(pheno, alleles, kinship=kin, addcovar=sex, Xcovar=xcovar, intcovar=sex).lod
    on2 = scan(pheno, alleles.subset(chromosomes=["2"]), kinship=kin, addcovar=sex,
               Xcovar=xcovar, intcovar=sex).lod  # fmt: skip
    np.testing.assert_allclose(lod.loc[on2.index, "OF_immobile_pct"], on2["OF_immobile_pct"],
                               rtol=0, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(on2["OF_immobile_pct"], whole.loc[on2.index, "OF_immobile_pct"],
                               rtol=0, atol=1e-12)  # fmt: skip

    peaks = pd.read_csv(out / "peaks.csv", dtype={"chr": str})
    assert len(peaks) >= 1
    top = peaks.sort_values("lod").iloc[-1]
    gmap = alleles["2"].coords["pos_cM"].to_numpy()
    assert np.min(np.abs(gmap - top["pos"])) < 1e-9  # a marker's cM position
    effects = pd.read_csv(out / "peak_effects.csv", dtype={"chr": str, "marker": str})
    at = effects[effects["pos"] == top["pos"]]
    marker = str(at["marker"].iloc[0])
    one = alleles["2"].sel(marker=[marker])
    expected = {
        "coef": scan1coef(pheno, one, kinship=kin["2"], addcovar=sex),
        "blup": scan1blup(pheno, one, kinship=kin["2"], addcovar=sex, se=True),
    }
    for method, fit in expected.items():
        rows = at[at["method"] == method].set_index("coefficient")
        names = list(rows.index)
        np.testing.assert_allclose(rows["estimate"], fit.iloc[0][names], rtol=0, atol=1e-10)
        np.testing.assert_allclose(rows["se"], fit.iloc[0][[f"SE_{n}" for n in names]],
                                   rtol=0, atol=1e-10)  # fmt: skip
    along = pd.read_parquet(out / "effects_along.parquet")
    here = along[(along["peak_pos"] == top["pos"]) & (along["marker"] == marker)]
    coef_rows = at[at["method"] == "coef"].set_index("coefficient")
    for row in here.itertuples():
        assert abs(row.estimate - coef_rows.loc[row.coefficient, "estimate"]) < 1e-10
    assert len(list((out / "effects").glob("*.png"))) == min(len(peaks), 20)


def test_effects_along_a_long_chromosome_are_thinned(monkeypatch):
    """At most MAX_EFFECT_POSITIONS positions (and the peak marker), with the same values."""
    cross = read_cross(DOEX)
    request = scan_pipeline.ScanRequest(pheno=("OF_immobile_pct",), kinship="none",
                                        covar=("sex",), threshold=5.0, chromosomes=("2",))  # fmt: skip
    full = scan_pipeline.run_scan(request, cross=cross).effects_along
    monkeypatch.setattr(scan_pipeline, "MAX_EFFECT_POSITIONS", 25)
    thin = scan_pipeline.run_scan(request, cross=cross)
    along = thin.effects_along
    peak = thin.peak_effects["marker"].iloc[0]
    one = along[along["coefficient"] == "A"]
    assert len(one) <= 26 and peak in set(one["marker"])
    assert len(full[full["coefficient"] == "A"]) > 26
    merged = along.merge(full, on=["peak", "marker", "coefficient"], suffixes=("", "_full"))
    assert len(merged) == len(along)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_full"], rtol=0, atol=1e-12)


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
    for flag, value, message in (("--chr", "2,99", "not a chromosome of the cross"),
                                 ("--intcovar", "diet", "not a covariate of the cross"),
                                 ("--map", "physical", "use gmap (cM), pmap (Mbp) or auto"),
                                 ("--threads", "0", "must be 1 or more")):  # fmt: skip
        result = invoke(["scan", str(DOEX), flag, value, "--kinship", "none",
                         "--out", str(tmp_path / "o")])  # fmt: skip
        assert result.exit_code == 2, (flag, result.output)
        assert message in " ".join(result.output.split()), (flag, result.output)
    assert not (tmp_path / "o").exists()
