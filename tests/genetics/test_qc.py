"""Genotype QC and reconstruction against R/qtl2 0.43-5 on the shared Diversity Outbred crosses.

References: ``tests/reference/qtl2/qc/qc.R`` (R/qtl2 0.43-5), run as
``cd tests/reference/qtl2/qc && R_LIBS=/opt/rlib Rscript qc.R``, wrote per cross (DO_Recla,
DO_Gatti2014) ``calc_genoprob(error_prob=0.002, map_function="c-f")`` followed by ``maxmarg``
(minprob 0.95) and ``count_xo``, ``calc_errorlod``, ``compare_geno``, ``calc_het``,
``n_missing``/``n_typed``, ``find_dup_markers``, and ``viterbi`` of chromosome 19. DO_Gatti2014
(742 mice) runs in the slow set.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics import qc
from translocus.genetics.crosstypes import get_cross_model
from translocus.genetics.genoprob import calc_genoprob
from translocus.genetics.mapfunctions import interval_rf
from translocus.genetics.reconstruct import count_xo, maxmarg, viterbi

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "qc"
CROSSES = {"DO_Recla": "DO_Recla/recla.zip", "DO_Gatti2014": "DO_Gatti2014/do.zip"}
TOL = 1e-6


def _params() -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.slow] if name == "DO_Gatti2014" else [])
        for name in CROSSES
    ]


@cache
def _computed(name: str) -> dict[str, Any]:
    path = data_dir() / "qtl2" / CROSSES[name]
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    if not (REF / name / "count_xo.csv").exists():
        pytest.skip(f"no R/qtl2 reference for {name} in {REF}")
    cross = read_cross(path)
    probs = calc_genoprob(cross, error_prob=0.002, map_function="c-f")
    calls = maxmarg(probs, minprob=0.95)
    return {"cross": cross, "probs": probs, "calls": calls}


def _ref(name: str, file: str, **kwargs: Any) -> pd.DataFrame:
    return pd.read_csv(
        REF / name / file,
        dtype={"ind": str, "ind1": str, "ind2": str, "marker": str, "chr": str},
        **kwargs,
    )


@pytest.mark.parametrize("name", _params())
def test_maxmarg_matches_r(name: str) -> None:
    calls = _computed(name)["calls"]["19"]
    ref = _ref(name, "maxmarg_19.csv.gz").set_index("ind")
    ours = pd.DataFrame(calls.values, index=calls.coords["sample"].values.astype(str),
                        columns=calls.coords["marker"].values.astype(str))  # fmt: skip
    ref = ref.reindex(index=ours.index, columns=ours.columns).fillna(0).astype(int)
    assert (ours.to_numpy() == ref.to_numpy()).all()
    assert (ours.to_numpy() == 0).any()  # some calls fall below minprob


@pytest.mark.parametrize("name", _params())
def test_count_xo_matches_r(name: str) -> None:
    """The crossover counts per mouse and chromosome, from the maxmarg calls."""
    ours = count_xo(_computed(name)["calls"])
    ref = _ref(name, "count_xo.csv").set_index("ind")
    ours.index = ours.index.astype(str)
    assert list(ours.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(ours, ref.reindex(ours.index), check_dtype=False,
                                  check_names=False)  # fmt: skip


def _path_log_prob(cross: Any, chrom: str, row: int, path: np.ndarray) -> float:
    """log Pr(genotype path, observed genotypes) of one individual under the DO model."""
    model = get_cross_model(cross.crosstype)
    ids = list(cross.individuals)
    args = {"is_x": cross.is_x(chrom), "is_female": bool(cross.is_female.reindex(ids).iloc[row]),
            "cross_info": cross.cross_info.reindex(ids).to_numpy(dtype=np.int64)[row]}  # fmt: skip
    geno = np.asarray(cross.geno[chrom])[row]
    emit = model.emission(error_prob=0.002, founder_geno=np.asarray(cross.founder_geno[chrom]),
                          n_markers=geno.size, **args)  # fmt: skip
    rf = interval_rf(cross.gmap[chrom].to_numpy(float), map_function="c-f")
    trans = model.transition(rf, **args)
    p = path - 1
    steps = np.log(trans[np.arange(p.size - 1), p[:-1], p[1:]]).sum()
    return float(
        np.log(model.init(**args)[p[0]]) + steps + np.log(emit[np.arange(p.size), geno, p]).sum()
    )


@pytest.mark.parametrize("chrom", ["19", "X"])
@pytest.mark.parametrize("name", _params())
def test_viterbi_matches_r(name: str, chrom: str) -> None:
    """Chromosomes 19 and X. R breaks ties between equally probable paths at random: where the two
    paths differ, both must have the same (largest) probability, to 1e-6 on the log scale."""
    cross = _computed(name)["cross"]
    calls = viterbi(cross, error_prob=0.002, map_function="c-f", chromosomes=[chrom])[chrom]
    ref = _ref(name, f"viterbi_{chrom}.csv.gz").set_index("ind")
    ours = calls.values.astype(np.int64)
    theirs = ref.reindex(index=calls.coords["sample"].values.astype(str),
                         columns=calls.coords["marker"].values.astype(str)).to_numpy()  # fmt: skip
    assert (ours == theirs).mean() > 0.95
    differ = np.flatnonzero((ours != theirs).any(axis=1))
    for row in differ:
        mine = _path_log_prob(cross, chrom, row, ours[row])
        r = _path_log_prob(cross, chrom, row, theirs[row])
        assert mine == pytest.approx(r, abs=1e-6), (row, mine, r)


@pytest.mark.parametrize("name", _params())
def test_errorlod_matches_r(name: str) -> None:
    done = _computed(name)
    lod = qc.calc_errorlod(done["cross"], done["probs"])
    # the per-mouse counts of errors (LOD > 2)
    counts = pd.DataFrame({c: (v.to_numpy() > 2).sum(axis=1) for c, v in lod.items()},
                          index=lod["1"].index.astype(str))  # fmt: skip
    ref = _ref(name, "errorlod_count.csv").set_index("ind")
    pd.testing.assert_frame_equal(counts, ref.reindex(counts.index), check_dtype=False,
                                  check_names=False)  # fmt: skip
    # every value above 2, to 1e-6
    big = _ref(name, "errorlod_gt2.csv.gz")
    for chrom, part in big.groupby("chr"):
        frame = lod[str(chrom)]
        frame.index = frame.index.astype(str)
        ours = frame.stack().loc[list(zip(part["ind"], part["marker"], strict=True))].to_numpy()
        np.testing.assert_allclose(ours, part["errorlod"].to_numpy(), rtol=0, atol=TOL)
    # all values of chromosome 19 for 40 mice (Inf where R has Inf)
    sub = _ref(name, "errorlod_19.csv.gz")
    frame = lod["19"]
    frame.index = frame.index.astype(str)
    ours = frame.stack().loc[list(zip(sub["ind"], sub["marker"], strict=True))].to_numpy()
    np.testing.assert_allclose(ours, sub["errorlod"].to_numpy(), rtol=0, atol=TOL)


@pytest.mark.parametrize("name", _params())
def test_compare_geno_matches_r(name: str) -> None:
    cross = _computed(name)["cross"]
    cg = qc.compare_geno(cross)
    pairs = cg.pairs(threshold=0.9)
    ref = _ref(name, "compare_geno_pairs.csv")
    assert list(zip(pairs["ind1"].astype(str), pairs["ind2"].astype(str), strict=True)) == list(
        zip(ref["ind1"], ref["ind2"], strict=True)
    )
    np.testing.assert_allclose(
        pairs["prop_match"].astype(float), ref["prop_match"].astype(float), rtol=0, atol=1e-12
    )
    assert pairs["n_compared"].tolist() == ref["n_typed"].astype(int).tolist()
    assert pairs["n_match"].tolist() == ref["n_match"].astype(int).tolist()
    # the counts of the first 40 mice: typed on the diagonal, matches above, compared below
    block = _ref(name, "compare_geno_40.csv.gz").set_index("ind").to_numpy()
    ids = list(cross.individuals)[:40]
    match = cg.n_match.loc[ids, ids].to_numpy()
    compared = cg.n_compared.loc[ids, ids].to_numpy()
    upper = np.triu(np.ones_like(match, dtype=bool), k=1)
    assert (np.diag(block) == np.diag(compared)).all()
    assert (block[upper] == match[upper]).all()
    assert (block.T[upper] == compared[upper]).all()
    top = _ref(name, "compare_geno_max.csv").set_index("ind")["max_prop"]
    best = cg.max_match()
    best.index = best.index.astype(str)
    np.testing.assert_allclose(best.reindex(top.index), top, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", _params())
def test_het_and_missing_match_r(name: str) -> None:
    done = _computed(name)
    cross = done["cross"]
    ref = _ref(name, "het_missing_ind.csv").set_index("ind")
    het = qc.calc_het(done["probs"])
    het.index = het.index.astype(str)
    np.testing.assert_allclose(het.reindex(ref.index), ref["het"], rtol=0, atol=TOL)
    for ours, column in (
        (qc.n_missing(cross), "n_missing"),
        (qc.n_typed(cross), "n_typed"),
        (qc.percent_missing(cross), "percent_missing"),
    ):
        ours.index = ours.index.astype(str)
        np.testing.assert_allclose(ours.reindex(ref.index), ref[column], rtol=0, atol=1e-12)
    markers = _ref(name, "missing_marker.csv.gz").set_index("marker")
    per_marker = qc.n_missing(cross, by="marker")
    assert per_marker[per_marker > 0].index.astype(str).tolist() == markers.index.tolist()
    assert (per_marker[per_marker > 0].to_numpy() == markers["n_missing"].to_numpy()).all()
    typed = qc.n_typed(cross, by="marker").reindex(markers.index)
    assert (typed.to_numpy() == markers["n_typed"].to_numpy()).all()


@pytest.mark.parametrize("name", _params())
def test_find_dup_markers_matches_r(name: str) -> None:
    """The same groups (R keeps a random marker of each, so groups are compared as sets)."""
    ours = qc.find_dup_markers(_computed(name)["cross"])
    ref = _ref(name, "dup_markers.csv.gz")
    theirs = {frozenset(g["marker"]) for _, g in ref.groupby("group")}
    assert {frozenset([k, *v]) for k, v in ours.items()} == theirs


def _calls(crosstype: str, genotypes: tuple[str, ...], row: list[int], is_x: bool) -> Any:
    import xarray as xr

    from translocus.genetics.reconstruct import GenotypeCalls

    chrom = "X" if is_x else "1"
    arr = xr.DataArray(np.asarray([row], dtype=np.int16), dims=("sample", "marker"),
                       coords={"sample": ["a"], "marker": [f"m{k}" for k in range(len(row))]})  # fmt: skip
    return GenotypeCalls({chrom: arr}, crosstype, ("A", "B"), "X", {chrom: genotypes})


def test_count_xo_counts_as_r_nrec() -> None:
    """R/qtl2's nrec: an F2 autosome counts AA -> BB as 2, AA -> AB as 1; its X chromosome, lines
    and backcrosses count any change as 1; no-calls (0) are skipped."""
    f2 = ("AA", "AB", "BB")
    assert count_xo(_calls("f2", f2, [1, 3, 0, 3, 2, 2, 1], False))["1"].tolist() == [4]
    f2x = ("AA", "AB", "BA", "BB", "AY", "BY")
    assert count_xo(_calls("f2", f2x, [1, 4, 2, 3], True))["X"].tolist() == [3]
    assert count_xo(_calls("riself", ("AA", "BB"), [1, 2, 0, 1], False))["1"].tolist() == [2]
    assert count_xo(_calls("bc", ("AA", "AB"), [1, 2, 2, 1], False))["1"].tolist() == [2]


@pytest.mark.parametrize("name", _params())
def test_find_dup_markers_inexact_matches_r(name: str) -> None:
    """``exact_only=False`` is deterministic in R/qtl2: the same kept markers and members."""
    path = data_dir() / "qtl2" / CROSSES[name]
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    ours = qc.find_dup_markers(read_cross(path), exact_only=False)
    ref = _ref(name, "dup_markers_inexact.csv.gz", keep_default_na=False)
    theirs: dict[str, list[str]] = {}
    for kept, marker in zip(ref["kept"], ref["marker"], strict=True):
        theirs.setdefault(kept, []).append(marker)
    assert list(ours.items()) == list(theirs.items())


# -- sex checks ----------------------------------------------------------------------------
def test_sex_check_genotypes_on_do_recla() -> None:
    """X heterozygosity per mouse as R/qtl2 reads the cross (``sexcheck.R``, run as ``cd
    tests/reference/qtl2/qc && R_LIBS=/opt/rlib Rscript sexcheck.R``); the rule applied to
    R's numbers flags the same mice."""
    path = data_dir() / "qtl2" / CROSSES["DO_Recla"]
    if not path.exists() or not (REF / "DO_Recla" / "sex_x_het.csv").exists():
        pytest.skip("DO_Recla or its sex reference is not available")
    check = qc.sex_check_genotypes(read_cross(path)).set_index("sample")
    ref = _ref("DO_Recla", "sex_x_het.csv").set_index("ind")
    check = check.reindex(ref.index)
    assert (check["x_typed"].to_numpy() == ref["x_typed"].to_numpy()).all()
    np.testing.assert_allclose(check["x_het"].to_numpy(), ref["x_het"].to_numpy(), atol=1e-12)
    assert (check["recorded_sex"] == np.where(ref["is_female"], "female", "male")).all()
    female = ref["x_het"] > 0.05
    expected = (~ref["is_female"] & female) | (ref["is_female"] & ~female & (ref["x_typed"] >= 20))
    assert check["sex_mismatch"].to_numpy().tolist() == expected.to_numpy().tolist()
    # DO males are homozygous on the X but for genotyping errors; one recorded male is not
    assert (check.loc[~ref["is_female"], "x_het"] < 0.05).mean() > 0.95
    assert check["y_typed"].isna().all()


def _intensities(sex: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Mean X/Y intensities: two X and no Y in females, one X and a Y in males."""
    male = (sex == "male").to_numpy()
    return pd.DataFrame(
        {
            "sample": sex.index,
            "mean_x": np.where(
                male, rng.normal(0.55, 0.06, male.size), rng.normal(1.0, 0.07, male.size)
            ),
            "mean_y": np.where(
                male, rng.normal(0.9, 0.08, male.size), rng.normal(0.12, 0.03, male.size)
            ),
        }
    )


@pytest.mark.parametrize("seed", range(8))
def test_sex_check_intensities_finds_swapped_samples(seed: int) -> None:
    """Property: with intensities simulated from the true sex and a few recorded sexes
    swapped, exactly the swapped samples are flagged, whatever the balance of the sexes."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 400))
    share = rng.uniform(0.2, 0.8)
    true = pd.Series(np.where(rng.random(n) < share, "female", "male"),
                     index=[f"s{k}" for k in range(n)], dtype=object)  # fmt: skip
    swapped = rng.choice(n, size=int(rng.integers(1, 6)), replace=False)
    recorded = true.copy()
    recorded.iloc[swapped] = np.where(true.iloc[swapped] == "male", "female", "male")
    recorded.iloc[int(rng.integers(n))] = pd.NA  # an unrecorded sex is inferred, not flagged
    check = qc.sex_check_intensities(_intensities(true, rng), recorded)
    assert check["inferred_sex"].tolist() == true.tolist()
    flagged = set(check.loc[check["sex_mismatch"], "sample"])
    assert flagged == set(true.index[swapped]) - set(recorded.index[recorded.isna()])


def test_sex_check_intensities_of_one_sex() -> None:
    """One sex only: no two clusters, nothing inferred; one swapped sample forms its own."""
    rng = np.random.default_rng(3)
    sex = pd.Series("female", index=[f"s{k}" for k in range(120)], dtype=object)
    check = qc.sex_check_intensities(_intensities(sex, rng), sex)
    assert check["inferred_sex"].isna().all() and not check["sex_mismatch"].any()
    true = sex.copy()
    true.iloc[7] = "male"
    check = qc.sex_check_intensities(_intensities(true, rng), sex)
    assert check.loc[check["sex_mismatch"], "sample"].tolist() == ["s7"]


def test_read_intensities_per_marker(tmp_path: Path) -> None:
    """Per-marker allele intensities: a marker's intensity is X + Y, averaged per sample over
    the X and over the Y chromosome; other chromosomes are not used."""
    rows = [
        ("mx1", "a", "X", 0.4, 0.6), ("mx2", "a", "X", 0.5, 0.7), ("my1", "a", "Y", 0.1, 0.0),
        ("m1", "a", "1", 9.0, 9.0), ("mx1", "b", "X", 0.2, 0.2), ("my1", "b", "Y", 0.5, 0.4),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["marker", "sample", "chr", "X", "Y"])
    frame.to_csv(tmp_path / "int.csv", index=False)
    frame.to_parquet(tmp_path / "int.parquet")
    for name in ("int.csv", "int.parquet"):
        means = qc.read_intensities(tmp_path / name).set_index("sample")
        np.testing.assert_allclose(means["mean_x"].tolist(), [1.1, 0.4])
        np.testing.assert_allclose(means["mean_y"].tolist(), [0.1, 0.9])
        assert means["n_x"].tolist() == [2, 1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("marker,sample,X\nm,a,1\n", "needs columns marker, sample, X, Y"),
        (
            "sample,mean_x,mean_y\na,1,x\nb,2,3\n",
            "column 'mean_y': 1 values are not finite numbers \\(lines 2\\)",
        ),
        ("marker,sample,chr,X,Y\nm,a,X,1,2\n", "no Y-chromosome markers"),
        ("sample,mean_x,mean_y\na,1,2\na,2,3\n", "samples \\['a'\\] appear twice"),
    ],
)
def test_read_intensities_bad_input(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        qc.read_intensities(path)
