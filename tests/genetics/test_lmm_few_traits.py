"""The LMM LOCO scan of a few traits: its kinship checks and the bits of a trait's LODs.

- The compiled symmetry and finiteness check of the scan's kinships (one pass per matrix)
  decides exactly as ``as_kinship_frame``'s ``|K - K'| <= 1e-10 + 1e-8 |K|`` and finiteness
  rule on matrices perturbed around its edges, and a bad LOCO matrix is refused with that
  function's message naming the chromosome.
- The pair products of a marker chunk formed in cache-sized pieces cover the chunk and give
  the LODs of the whole chunk.
- A trait's LODs and h² are the same to the last bit scanned alone, beside one or two other
  traits, and on one or two threads (each trait's ``y' W y`` is summed over the individuals
  in one order, whatever the traits beside it).
- From a few traits on, each chunk's small systems are solved with the traits side by side
  in vectorised lanes: the same bits as one system at a time, also where the moment guard
  sends entries to the exact path, and with missing values in some traits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.simulate import simulate_cross
from translocus.genetics import _moments as moments
from translocus.genetics._moments import PAIR_ROWS_N, pair_pieces
from translocus.genetics._scan_numba import symmetric_finite, weighted_squares
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.lmm import KINSHIP_ATOL, KINSHIP_RTOL
from translocus.genetics.scan import scan


def _numpy_rule(v: np.ndarray) -> bool:
    """``as_kinship_frame``'s checks, as numpy computes them."""
    if not np.all(np.isfinite(v)):
        return False
    return bool(np.all(np.abs(v - v.T) <= np.abs(v) * KINSHIP_RTOL + KINSHIP_ATOL))


def test_symmetry_check_decides_as_the_numpy_rule():
    rng = np.random.default_rng(3)
    n = 150  # tiles of 64: full, partial and diagonal tiles
    base = rng.random((n, n))
    base = base + base.T
    assert symmetric_finite(base, KINSHIP_RTOL, KINSHIP_ATOL)
    for case in range(240):
        m = base.copy()
        i, j = (int(v) for v in rng.integers(0, n, 2))
        kind = case % 8
        if kind == 0:  # just over the bound, either side of the diagonal
            m[i, j] += abs(m[i, j]) * 1.01e-8 + 1e-10
        elif kind == 1:  # just under it
            m[i, j] += abs(m[i, j]) * 0.99e-8
        elif kind == 2:
            m[i, j] = np.nan
        elif kind == 3:
            m[i, j] = m[j, i] = np.inf
        elif kind == 4:
            m[i, j] = m[j, i] = -np.inf
        elif kind == 5:  # near zero, where only the absolute part counts
            m[i, j], m[j, i] = 0.0, 0.99e-10
        elif kind == 6:
            m[i, j], m[j, i] = 0.0, 1.01e-10
        else:
            m[i, j] = -m[i, j]
        assert symmetric_finite(m, KINSHIP_RTOL, KINSHIP_ATOL) == _numpy_rule(m), (case, i, j)
        # the rule is symmetric in K and K': the check of the transpose agrees
        assert symmetric_finite(np.ascontiguousarray(m.T), KINSHIP_RTOL, KINSHIP_ATOL) == (
            _numpy_rule(m)
        )


def test_weighted_squares_is_each_column_on_its_own():
    rng = np.random.default_rng(4)
    wy, y = rng.normal(size=(301, 5)), rng.normal(size=(301, 5))
    all_cols = weighted_squares(wy, y)
    for t in range(5):
        alone = weighted_squares(np.ascontiguousarray(wy[:, [t]]), np.ascontiguousarray(y[:, [t]]))
        assert alone[0] == all_cols[t]
    np.testing.assert_allclose(all_cols, np.einsum("nt,nt->t", wy, y), rtol=1e-13)


def _simulated_do(n: int, seed: int, n_markers: int, n_traits: int, missing: bool = False):
    """Allele probabilities, traits, LOCO kinship and sex of a small simulated DO."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = simulate_cross(cross_type="do", n=n, seed=seed, n_markers=n_markers,
                             n_traits=n_traits)  # fmt: skip
        apr = genoprob_to_alleleprob(calc_genoprob(sim.cross, error_prob=0.002))
    pheno = sim.cross.pheno.copy()
    if missing:
        pheno.iloc[[2, 9, 40], 1] = np.nan  # two other missing-data batches
        pheno.iloc[[5, 6], 4] = np.nan
    sex = pd.DataFrame({"sex": (np.arange(n) % 2).astype(float)}, index=pheno.index)
    return apr, pheno, calc_kinship(apr, type="loco"), sex


@pytest.fixture(scope="module")
def cross():
    return _simulated_do(90, seed=11, n_markers=120, n_traits=3)


def test_bad_loco_matrix_is_refused_naming_its_chromosome(cross):
    apr, pheno, loco, _ = cross
    chrom = list(loco)[1]
    for value, message in ((np.nan, "missing or infinite"), (9.0, "not symmetric")):
        bad = dict(loco)
        frame = loco[chrom].copy()
        frame.values[3, 7] = value
        bad[chrom] = frame
        with pytest.raises(InputError, match=message) as err:
            scan(pheno, apr, kinship=bad)
        assert f"kinship[{chrom!r}]" in str(err.value)


def test_a_traits_lods_do_not_depend_on_the_traits_beside_it(cross):
    apr, pheno, loco, sex = cross
    ref = scan(pheno.iloc[:, [0]], apr, kinship=loco, addcovar=sex, threads=1)
    for cols, threads in (([0, 1], 2), ([2, 0], 1), ([1, 2, 0], 2)):
        out = scan(pheno.iloc[:, cols], apr, kinship=loco, addcovar=sex, threads=threads)
        name = pheno.columns[0]
        assert np.array_equal(out.lod[name].to_numpy(), ref.lod[name].to_numpy())
        assert np.array_equal(out.hsq[name].to_numpy(), ref.hsq[name].to_numpy())


@pytest.mark.parametrize(("mc", "npair", "n"), [(48, 28, 742), (20, 28, 742), (5, 28, 742),
                                                (48, 28, 261), (48, 105, 90), (1, 28, 50)])  # fmt: skip
def test_pair_pieces_cover_the_chunk_each_of_the_minimum_size(mc, npair, n):
    pieces = pair_pieces(mc, npair, n)
    assert pieces[0][0] == 0 and pieces[-1][1] == mc
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    if len(pieces) > 1:  # else the chunk is smaller than one piece and stays whole
        assert min(e - s for s, e in pieces) * npair * n >= PAIR_ROWS_N


def test_pair_pieces_leave_the_lods_as_the_whole_chunk_gives_them(cross, monkeypatch):
    apr, pheno, loco, sex = cross
    n, npair = pheno.shape[0], 28
    assert len(pair_pieces(48, npair, n)) == 1  # 90 mice: a chunk is one piece by default
    monkeypatch.setattr(moments, "PAIR_ROWS_N", 8 * npair * n)  # pieces of 8 markers
    assert len(pair_pieces(48, npair, n)) == 6
    pieces = scan(pheno, apr, kinship=loco, addcovar=sex, threads=1).lod.to_numpy()
    monkeypatch.setattr(moments, "PAIR_ROWS_N", 10**12)  # one piece per chunk
    whole = scan(pheno, apr, kinship=loco, addcovar=sex, threads=1).lod.to_numpy()
    np.testing.assert_allclose(pieces, whole, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def eight_traits():
    return _simulated_do(80, seed=5, n_markers=100, n_traits=8, missing=True)


@pytest.mark.parametrize(("guard", "views"), [(None, True), (0.3, True), (None, False)])
def test_lane_solves_give_the_bits_of_one_system_at_a_time(eight_traits, monkeypatch, guard,
                                                          views):  # fmt: skip
    # traits side by side in vectorised lanes against one (trait, marker) system at a time;
    # a coarse moment guard sends many entries to the exact path in both; the lanes read the
    # chunk's moments through views where the columns are regular, else through copies
    apr, pheno, loco, sex = eight_traits
    if guard is not None:
        monkeypatch.setattr(moments, "MOMENT_GUARD", guard)
    init, regular = moments._LaneGroup.__init__, []

    def recorded(self, *args):
        init(self, *args)
        if not views:
            self.regular = False
        regular.append(self.regular)

    monkeypatch.setattr(moments._LaneGroup, "__init__", recorded)
    assert pheno.shape[1] >= moments.LANE_TRAITS
    lanes = scan(pheno, apr, kinship=loco, addcovar=sex, threads=2)
    monkeypatch.setattr(moments, "LANE_TRAITS", 10**9)
    rows = scan(pheno, apr, kinship=loco, addcovar=sex, threads=2)
    assert any(regular) == views  # the batch with dummies for its missing values: copies
    assert np.array_equal(lanes.lod.to_numpy(), rows.lod.to_numpy(), equal_nan=True)
    alone = scan(pheno.iloc[:, [3]], apr, kinship=loco, addcovar=sex, threads=1)
    name = pheno.columns[3]
    assert np.array_equal(alone.lod[name].to_numpy(), lanes.lod[name].to_numpy())


def test_lane_solves_refuse_arrays_whose_lanes_differ():
    from translocus.genetics._wide_numba import rss_lanes

    mc, p, c, lanes = 3, 2, 1, 4
    pa, pb = np.array([0, 0, 1]), np.array([0, 1, 1])
    args = [np.ones((mc, 3, lanes)), np.ones((mc, p, c, lanes)), np.ones((mc, p, lanes)),
            np.ones((c, c, lanes)), np.ones((c, lanes)), np.ones(lanes),
            np.ones(lanes, dtype=np.bool_), pa, pb, 1e-7, 1e-10, np.empty((mc, lanes)),
            np.zeros((mc, lanes), dtype=np.bool_)]  # fmt: skip
    rss_lanes(*args)  # consistent: runs
    args[0] = np.ones((mc, 3, lanes + 2))  # the moments of more traits than the outputs hold
    with pytest.raises(ValueError, match="lanes or markers"):
        rss_lanes(*args)
