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
