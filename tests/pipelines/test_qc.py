"""``translocus qc`` against R/qtl2 0.43-5 on the shared Diversity Outbred crosses.

The references are those of ``tests/reference/qtl2/qc/qc.R`` (see tests/genetics/test_qc.py):
the command must list the same duplicate pairs (compare_geno >= 0.9), the same crossover counts
per mouse (maxmarg calls, minprob 0.95) and the same genotyping-error counts (error LOD > 2) as
R/qtl2. DO_Gatti2014 (742 mice) runs in the slow set.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke
from translocus.core.paths import data_dir
from translocus.core.simulate import simulate_cross
from translocus.pipelines.qc import QcRequest, robust_outliers, run_qc

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "qc"
CROSSES = {"DO_Recla": "DO_Recla/recla.zip", "DO_Gatti2014": "DO_Gatti2014/do.zip"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if n == "DO_Gatti2014" else []) for n in CROSSES],
)
def test_qc_command_matches_r(name: str, tmp_path: Path) -> None:
    path = data_dir() / "qtl2" / CROSSES[name]
    if not path.exists() or not (REF / name / "count_xo.csv").exists():
        pytest.skip(f"{path} or its R/qtl2 reference is not available")
    out = tmp_path / "qc"
    result = invoke(["qc", path, "-o", out])
    assert result.exit_code == 0, result.output
    assert_complete_run(out)
    samples = pd.read_csv(out / "samples.csv", dtype={"sample": str, "best_match": str})
    samples = samples.set_index("sample")
    xo = pd.read_csv(REF / name / "count_xo.csv", dtype={"ind": str}).set_index("ind")
    assert (samples["n_crossovers"].reindex(xo.index) == xo.sum(axis=1)).all()
    per_chr = pd.read_csv(out / "crossovers.csv", dtype={"sample": str}).set_index("sample")
    assert (per_chr.reindex(xo.index).to_numpy() == xo.to_numpy()).all()
    err = pd.read_csv(REF / name / "errorlod_count.csv", dtype={"ind": str}).set_index("ind")
    assert (samples["n_errors"].reindex(err.index) == err.sum(axis=1)).all()
    pairs = pd.read_csv(out / "duplicates.csv", dtype={"ind1": str, "ind2": str})
    ref = pd.read_csv(REF / name / "compare_geno_pairs.csv", dtype={"ind1": str, "ind2": str})
    assert sorted(zip(pairs["ind1"], pairs["ind2"], strict=True)) == sorted(
        zip(ref["ind1"], ref["ind2"], strict=True)
    )
    assert sorted(pairs["n_compared"]) == sorted(ref["n_typed"].astype(int))
    assert f"duplicate pairs (match >= 0.9): {len(ref)}" in result.stdout
    # the genotype sex check: recorded males heterozygous at more than 5% of their X markers
    sex = pd.read_csv(out / "sex.csv", dtype={"sample": str}).set_index("sample")
    male_het = (sex["recorded_sex"] == "male") & (sex["x_het"] > 0.05)
    female_hom = (sex["recorded_sex"] == "female") & (sex["x_het"] <= 0.05)
    assert sex["sex_mismatch"].tolist() == (male_het | female_hom).tolist()
    assert (samples["problem"].fillna("").str.contains("sex") == sex["sex_mismatch"]).all()
    assert (out / "sex.png").read_bytes()[:4] == b"\x89PNG"


def test_a_duplicated_sample_is_flagged() -> None:
    """Two mice with the same genotypes (one with a few more missing) are a pair at 1.0."""
    cross = simulate_cross(cross_type="f2", n=40, n_markers=120, seed=3).cross
    geno = {c: g.copy() for c, g in cross.geno.items()}
    for g in geno.values():
        g[1] = g[0]
    geno[cross.chromosomes[0]][1, :3] = 0
    output = run_qc(QcRequest(), cross=dataclasses.replace(cross, geno=geno))
    pairs = output.duplicates
    first, second = cross.individuals[0], cross.individuals[1]
    assert pairs[["ind1", "ind2"]].values.tolist() == [[first, second]]
    assert pairs["prop_match"].tolist() == [1.0]
    typed = sum(int(((g[0] > 0) & (g[1] > 0)).sum()) for g in geno.values())
    assert pairs["n_compared"].tolist() == [typed]
    flagged = output.samples.set_index("sample")["problem"]
    assert flagged[first] == flagged[second] == "duplicate"
    assert output.summary()["duplicate_pairs"] == 1


def test_robust_outliers_rule() -> None:
    """More than k scaled MADs (1.4826 * MAD) from the median; none when all values agree."""
    values = pd.Series([100.0, 102, 98, 101, 99, 130])
    mad = 1.4826 * np.median(np.abs(values - values.median()))
    expected = (values - values.median()).abs() > 4 * mad
    assert robust_outliers(values, 4.0).tolist() == expected.tolist() == [False] * 5 + [True]
    assert not robust_outliers(pd.Series([5.0] * 4), 4.0).any()


def test_swapped_sexes_are_flagged_from_intensities(tmp_path: Path) -> None:
    """Intensities simulated from the true sexes, three recorded sexes swapped: exactly those
    three are flagged, in samples.csv's problems and in sex.csv."""
    cross = simulate_cross(cross_type="f2", n=40, n_markers=120, seed=3).cross
    rng = np.random.default_rng(11)
    female = cross.is_female.reindex(list(cross.individuals)).to_numpy(bool)
    ids = list(cross.individuals)
    pd.DataFrame(
        {
            "sample": ids,
            "mean_x": np.where(female, rng.normal(1.0, 0.05, 40), rng.normal(0.5, 0.05, 40)),
            "mean_y": np.where(female, rng.normal(0.1, 0.03, 40), rng.normal(0.9, 0.06, 40)),
        }
    ).to_csv(tmp_path / "intensities.csv", index=False)
    swapped = [ids[2], ids[5], ids[30]]
    recorded = cross.is_female.copy()
    recorded[swapped] = ~recorded[swapped].astype(bool)
    request = QcRequest(intensities=tmp_path / "intensities.csv")
    output = run_qc(request, cross=dataclasses.replace(cross, is_female=recorded))
    sex = output.sex
    assert sex is not None
    assert sorted(sex.loc[sex["sex_mismatch"], "sample"]) == sorted(swapped)
    assert (sex["inferred_sex"] == np.where(female, "female", "male")).all()
    flagged = output.samples.set_index("sample")["problem"].str.contains("sex")
    assert sorted(flagged[flagged].index) == sorted(swapped)
    assert sorted(output.summary()["sex_mismatches"]) == sorted(swapped)
    assert output.summary()["sex_from_intensities"]
    assert "sex" in output.figures()
