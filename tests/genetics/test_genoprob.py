"""Genotype probabilities against R/qtl2 0.43-5 outputs, closed forms and HMM properties.

References (``/work/shared/ref/qtl2``, scripts ``01_do_recla.R``, ``02_bxd.R``, ``03_f2.R``):
``pr <- calc_genoprob(cross, error_prob=0.002, map_function="c-f")`` for DO_Recla and BXD,
``map_function="haldane"`` for the F2 crosses iron and B6BTBR; ``genoprob_to_alleleprob(pr)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.model import Cross
from translocus.genetics._hmm_numba import forward_backward_dense
from translocus.genetics.crosstypes import get_cross_model, registered_cross_types
from translocus.genetics.crosstypes.do import DiversityOutbred
from translocus.genetics.genoprob import (
    calc_genoprob,
    genoprob_to_alleleprob,
    insert_pseudomarkers,
)
from translocus.genetics.mapfunctions import interval_rf

TOL = 1e-6  # acceptance; the measured differences are about 1e-13


def _max_diff(probs, name: str, dim: str, folder: str, tools) -> float:
    ref, markers, inds, states = tools.read_ref_probs(tools.ref_path(folder, f"{name}.csv.gz"))
    chrom = name.split("_chr")[1]
    got = probs[chrom].sel(marker=markers, sample=inds, **{dim: states}).values
    assert list(probs[chrom][dim].values) == states  # same column order as R/qtl2
    return float(np.abs(got - ref).max())


# -- R/qtl2 references ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["genoprob_chr19", "genoprob_chrX"])
def test_do_recla_genoprob_matches_qtl2(do_recla_genoprob, name, qtl2_ref_tools):
    assert _max_diff(do_recla_genoprob, name, "genotype", "DO_Recla", qtl2_ref_tools) < TOL


@pytest.mark.parametrize(
    "name", ["alleleprob_chr1", "alleleprob_chr2", "alleleprob_chr19", "alleleprob_chrX"]
)
def test_do_recla_alleleprob_matches_qtl2(do_recla_alleleprob, name, qtl2_ref_tools):
    assert _max_diff(do_recla_alleleprob, name, "founder", "DO_Recla", qtl2_ref_tools) < TOL


def test_bxd_matches_qtl2(bxd_genoprob, qtl2_ref_tools):
    assert _max_diff(bxd_genoprob, "genoprob_chrX", "genotype", "BXD", qtl2_ref_tools) < TOL
    ap = genoprob_to_alleleprob(bxd_genoprob)
    assert _max_diff(ap, "alleleprob_chr19", "founder", "BXD", qtl2_ref_tools) < TOL


@pytest.mark.parametrize(("folder", "name"), [("iron", "iron.zip"), ("B6BTBR", "b6btbr.zip")])
def test_f2_matches_qtl2(folder, name, qtl2_ref_tools):
    cross = qtl2_ref_tools.read_qtl2_cross(folder, name)
    first = cross.chromosomes[0]
    pr = calc_genoprob(cross, error_prob=0.002, map_function="haldane", chromosomes=[first, "X"])
    assert _max_diff(pr, f"genoprob_chr{first}", "genotype", folder, qtl2_ref_tools) < TOL
    assert _max_diff(pr, "genoprob_chrX", "genotype", folder, qtl2_ref_tools) < TOL


# -- properties on real data -----------------------------------------------------------------
def test_do_rows_sum_to_one_and_sex_columns(do_recla_genoprob, do_recla_cross):
    pr = do_recla_genoprob
    assert pr.n_markers == 6394 and len(pr.samples) == 261
    for chrom in pr:
        arr = pr[chrom]
        assert arr.dims == ("marker", "sample", "genotype")
        assert arr.dtype == np.float64
        np.testing.assert_allclose(arr.values.sum(axis=2), 1.0, atol=1e-12)
        assert "pos_Mbp" in arr.coords and "pos_cM" in arr.coords
    x = pr["X"].values
    female = do_recla_cross.is_female.reindex(pr.samples).to_numpy(dtype=bool)
    assert x.shape[2] == 44
    assert np.all(x[:, female, 36:] == 0) and np.all(x[:, ~female, :36] == 0)


def test_do_structured_kernel_equals_dense_transition_matrix(do_recla_cross, do_recla_genoprob):
    """The O(36) Kronecker step gives the same answer as the explicit 36 x 36 matrix."""
    cross = do_recla_cross
    model = DiversityOutbred()
    chrom = "19"
    gmap = cross.gmap[chrom]
    rf = interval_rf(gmap.to_numpy(), map_function="c-f")
    geno = np.ascontiguousarray(cross.geno[chrom])
    ngen = cross.cross_info["ngen"].reindex(cross.individuals).to_numpy()
    out = np.zeros((len(gmap), len(cross.individuals), 36))
    for g in np.unique(ngen):
        info = np.array([g])
        args: dict[str, Any] = {"is_x": False, "is_female": False, "cross_info": info}
        trans = model.transition(rf, **args)
        np.testing.assert_allclose(trans.sum(axis=2), 1.0, atol=1e-12)
        emit = model.emission(error_prob=0.002, founder_geno=cross.founder_geno[chrom],
                              n_markers=len(gmap), **args)  # fmt: skip
        rows = np.flatnonzero(ngen == g)
        forward_backward_dense(geno, rows, np.arange(len(gmap)), emit, model.init(**args),
                               trans, out, np.arange(36))  # fmt: skip
    np.testing.assert_allclose(out, do_recla_genoprob[chrom].values, atol=1e-12)


def test_results_do_not_depend_on_cores(do_recla_cross, do_recla_genoprob):
    one = calc_genoprob(do_recla_cross, error_prob=0.002, map_function="c-f",
                        chromosomes=["19", "X"], cores=1)  # fmt: skip
    for chrom in ("19", "X"):
        np.testing.assert_array_equal(one[chrom].values, do_recla_genoprob[chrom].values)


# -- small crosses with closed forms -----------------------------------------------------------
def _cross(crosstype, geno, positions, *, x_chr=None, chrom="1", **kw) -> Cross:
    geno = np.asarray(geno, dtype=np.int8)
    ids = tuple(f"i{k}" for k in range(geno.shape[0]))
    gmap = pd.Series(positions, index=[f"m{k}" for k in range(len(positions))], dtype=float)
    return Cross(crosstype=crosstype, individuals=ids, geno={chrom: geno}, gmap={chrom: gmap},
                 alleles=("A", "B"), x_chr=x_chr, **kw)  # fmt: skip


def test_f2_two_markers_follow_haldane_transition():
    """AA at marker 1, marker 2 untyped, no error: marker 2 ~ ((1-r)^2, 2r(1-r), r^2)."""
    d = 17.0
    r = 0.5 * (1 - np.exp(-2 * d / 100))
    pr = calc_genoprob(_cross("f2", [[1, 0]], [3.0, 3.0 + d]), error_prob=0.0)
    np.testing.assert_allclose(pr["1"].values[0, 0], [1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(pr["1"].values[1, 0], [(1 - r) ** 2, 2 * r * (1 - r), r**2],
                               rtol=1e-13)  # fmt: skip


def test_backcross_middle_marker_between_two_typed():
    """AA - ? - AB with rf r1, r2: Pr(AA at middle) = (1-r1) r2 / ((1-r1) r2 + r1 (1-r2))."""
    cross = _cross("bc", [[1, 0, 2]], [0.0, 10.0, 30.0])
    pr = calc_genoprob(cross, error_prob=0.0, map_function="morgan")
    r1, r2 = 0.1, 0.2
    expected = (1 - r1) * r2 / ((1 - r1) * r2 + r1 * (1 - r2))
    assert pr["1"].values[1, 0, 0] == pytest.approx(expected, rel=1e-13)


def test_single_marker_chromosome_is_prior_times_emission():
    e = 0.01
    pr = calc_genoprob(_cross("f2", [[2], [0]], [5.0]), error_prob=e)
    p = np.array([0.25 * e / 2, 0.5 * (1 - e), 0.25 * e / 2])
    np.testing.assert_allclose(pr["1"].values[0, 0], p / p.sum(), rtol=1e-14)
    np.testing.assert_allclose(pr["1"].values[0, 1], [0.25, 0.5, 0.25], rtol=1e-14)


def test_all_missing_marker_and_individual_follow_the_prior(do_recla_cross):
    """Untyped individuals get the stationary prior; an untyped marker gets no NaN."""
    cross = do_recla_cross.subset(
        chromosomes=["19"], individuals=list(do_recla_cross.individuals[:6])
    )
    geno = cross.geno["19"].copy()
    geno[0, :] = 0  # one individual with no data
    geno[:, 5] = 0  # one marker typed in nobody
    cross = replace(cross, geno={"19": geno})
    pr = calc_genoprob(cross, error_prob=0.002, map_function="c-f")["19"].values
    assert np.isfinite(pr).all()
    prior = DiversityOutbred().init(is_x=False, is_female=False, cross_info=np.array([4]))
    np.testing.assert_allclose(pr[:, 0, :], np.broadcast_to(prior, (pr.shape[0], 36)), atol=1e-14)
    np.testing.assert_allclose(pr.sum(axis=2), 1.0, atol=1e-12)


def test_marker_free_chromosome_gives_empty_array():
    cross = _cross("f2", np.zeros((2, 0)), [])
    arr = calc_genoprob(cross)["1"]
    assert arr.shape == (0, 2, 3)


def test_pseudomarkers_leave_haldane_marker_probabilities_unchanged():
    rng = np.random.default_rng(1)
    geno = rng.integers(0, 4, size=(5, 6))
    cross = _cross("f2", geno, [0.0, 4.0, 9.5, 20.0, 21.0, 40.0])
    plain = calc_genoprob(cross, error_prob=0.01)["1"]
    grid = calc_genoprob(cross, error_prob=0.01, step=2.0, off_end=3.0)["1"]
    assert grid.sizes["marker"] > plain.sizes["marker"]
    np.testing.assert_allclose(grid.sel(marker=plain.marker.values).values, plain.values,
                               atol=1e-13)  # fmt: skip
    np.testing.assert_allclose(grid.values.sum(axis=2), 1.0, atol=1e-13)


def test_insert_pseudomarkers_names_and_positions():
    """R: insert_pseudomarkers(list("1"=c(a=0, b=2.5)), step=1, off_end=1)."""
    m = pd.Series([0.0, 2.5], index=["a", "b"])
    got = insert_pseudomarkers(m, step=1.0, off_end=1.0, chromosome="1")
    assert got.index.tolist() == ["c1.loc-1", "a", "c1.loc1", "c1.loc2", "b", "c1.loc3"]
    np.testing.assert_allclose(got.values, [-1.0, 0.0, 1.0, 2.0, 2.5, 3.0])
    wide = insert_pseudomarkers(m, step=1.0, stepwidth="max", chromosome="1")
    np.testing.assert_allclose(wide.values, [0.0, 2.5 / 3, 5.0 / 3, 2.5])


@pytest.mark.parametrize("name", sorted(registered_cross_types()))
@pytest.mark.parametrize("is_x", [False, True])
@pytest.mark.parametrize("is_female", [False, True])
def test_models_are_probability_distributions(name, is_x, is_female):
    model = get_cross_model(name)
    n = model.n_alleles
    funnel = np.roll(np.arange(1, n + 1), 1)  # founder numbers in the order of the crosses
    funnels = ("risib4", "riself4", "riself8", "riself16")
    known = {"do": [7], "dh6": [5], "ail3": [5], "risib8": [3, 1, 8, 2, 5, 4, 6, 7]}
    info = {k: np.array(v) for k, v in known.items()}.get(
        name, funnel if name in funnels else np.array([1])
    )
    args: dict[str, Any] = {"is_x": is_x, "is_female": is_female, "cross_info": info}
    poss = model.possible(**args)
    init = model.init(**args)
    assert init.sum() == pytest.approx(1.0, abs=1e-14)
    assert np.all(np.delete(init, poss) == 0)
    rec = np.array([1e-12, 0.01, 0.2, 0.5])
    trans = model.transition(rec, **args)
    sums = np.ones((rec.size, len(poss)))
    if name == "ail3" and not (is_x and not is_female):
        # R/qtl2's ail3 step: rows from a homozygote (AA, BB, CC) sum to 1 - R + 3R²/4
        # (reproduced on purpose; see AIL3), where R is the step's recombination probability
        big_r = model.recombinant(rec, **args)
        for j in (0, 2, 5):
            sums[:, j] = 1 - big_r + 0.75 * big_r**2
    np.testing.assert_allclose(trans[:, poss][:, :, poss].sum(axis=2), sums, atol=1e-12)
    rows = model.n_founders or n
    founders = np.tile([[1], [3]], (rows, 3))[:rows]  # [founders, 3 markers]
    emit = model.emission(error_prob=0.01, founder_geno=founders, n_markers=3, **args)
    assert emit.shape == (3, 6, model.n_genotypes(is_x))
    assert np.all(emit[:, 0, :] == 1.0)  # missing carries no information
    m = model.allele_matrix(is_x)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)


def test_risib_x_transition_is_broman_2005():
    r = 0.1
    t = get_cross_model("risib").transition(np.array([r]), is_x=True, is_female=False,
                                            cross_info=np.array([0]))[0]  # fmt: skip
    d = 1 + 4 * r
    np.testing.assert_allclose(t, [[(1 + 2 * r) / d, 2 * r / d], [4 * r / d, 1 / d]])


# -- bad input ----------------------------------------------------------------------------
def test_unknown_crosstype_is_an_input_error():
    with pytest.raises(InputError, match="crosstype 'magic20'"):
        calc_genoprob(_cross("magic20", [[1]], [0.0]))


def test_bad_genotype_code_is_an_input_error():
    with pytest.raises(InputError, match="code 7"):
        calc_genoprob(_cross("f2", [[1, 7]], [0.0, 1.0]))


def test_unsorted_map_and_bad_arguments():
    with pytest.raises(InputError, match="not sorted"):
        calc_genoprob(_cross("f2", [[1, 1]], [5.0, 1.0]))
    with pytest.raises(InputError, match="error_prob"):
        calc_genoprob(_cross("f2", [[1, 1]], [0.0, 1.0]), error_prob=1.5)
    with pytest.raises(InputError, match="map_function"):
        calc_genoprob(_cross("f2", [[1, 1]], [0.0, 1.0]), map_function="felsenstein")
    with pytest.raises(InputError, match="not in the cross"):
        calc_genoprob(_cross("f2", [[1, 1]], [0.0, 1.0]), chromosomes=["7"])


def test_do_without_founder_genotypes_is_an_input_error():
    with pytest.raises(InputError, match="founder"):
        calc_genoprob(_cross("do", [[1, 1]], [0.0, 1.0]))


def test_riself_two_point_uses_map_expansion():
    """RIL by selfing: Pr(recombinant line) = 2r / (1 + 2r) (Haldane & Waddington 1931)."""
    pr = calc_genoprob(_cross("riself", [[1, 0]], [0.0, 20.0]), error_prob=0.0,
                       map_function="morgan")  # fmt: skip
    assert pr["1"].values[1, 0, 1] == pytest.approx(0.4 / 1.4, rel=1e-13)


def test_risib8_recovers_simulated_founder_mosaics():
    """Eight-way RI lines built as founder mosaics; the HMM recovers the founder at markers."""
    rng = np.random.default_rng(7)
    n_lines, n_mar = 12, 120
    founders = rng.choice(np.array([1, 3], dtype=np.int8), size=(8, n_mar))
    positions = np.sort(rng.uniform(0, 100, n_mar))
    truth = np.empty((n_lines, n_mar), dtype=np.int64)
    for i in range(n_lines):
        breaks = np.sort(rng.uniform(0, 100, 3))
        segment = np.searchsorted(breaks, positions)
        truth[i] = rng.permutation(8)[segment]
    geno = founders[truth, np.arange(n_mar)]
    geno[rng.random(geno.shape) < 0.05] = 0
    order = pd.DataFrame([rng.permutation(8) + 1 for _ in range(n_lines)],
                         index=[f"i{k}" for k in range(n_lines)])  # fmt: skip
    cross = _cross("risib8", geno, positions, founder_geno={"1": founders}, cross_info=order,
                   x_chr=None)  # fmt: skip
    cross = replace(cross, alleles=tuple("ABCDEFGH"))
    pr = calc_genoprob(cross, error_prob=0.002)["1"].values
    np.testing.assert_allclose(pr.sum(axis=2), 1.0, atol=1e-12)
    called = pr.argmax(axis=2).T
    assert np.mean(called == truth) > 0.95
    # as an X chromosome, only the five founders the funnel can pass on are possible
    xcross = replace(cross, gmap={"X": cross.gmap["1"]}, geno={"X": geno},
                     founder_geno={"X": founders}, x_chr="X")  # fmt: skip
    xpr = calc_genoprob(xcross, error_prob=0.002)["X"].values
    impossible = order.to_numpy()[:, [3, 6, 7]] - 1
    for i in range(n_lines):
        assert np.all(xpr[:, i, impossible[i]] == 0)
    np.testing.assert_allclose(xpr.sum(axis=2), 1.0, atol=1e-12)


def test_do_pseudomarker_grid(do_recla_cross, do_recla_genoprob):
    pr = calc_genoprob(do_recla_cross, error_prob=0.002, map_function="c-f",
                       chromosomes=["19"], step=1.0)["19"]  # fmt: skip
    markers = do_recla_genoprob["19"]
    assert pr.sizes["marker"] > markers.sizes["marker"]
    np.testing.assert_allclose(pr.values.sum(axis=2), 1.0, atol=1e-12)
    assert np.all(np.diff(pr["pos_cM"].values) >= 0)
    assert np.all(np.diff(pr["pos_Mbp"].values) >= 0)
    grid = [m for m in pr.marker.values if str(m).startswith("c19.loc")]
    assert grid and not np.isnan(pr.sel(marker=grid)["pos_Mbp"].values).any()


def test_wrong_number_of_founders_is_an_input_error():
    cross = _cross("do", [[1, 1]], [0.0, 1.0], founder_geno={"1": np.ones((4, 2), dtype=np.int8)},
                   cross_info=pd.DataFrame({"ngen": [5]}, index=["i0"]))  # fmt: skip
    with pytest.raises(InputError, match="4 founders"):
        calc_genoprob(cross)
