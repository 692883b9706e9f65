"""``sim_geno`` against R/qtl2 0.43-5 in distribution, and against the HMM's probabilities.

Reference: ``tests/reference/qtl2/simgeno/simgeno.R``, run as
``cd tests/reference/qtl2/simgeno && R_LIBS=/opt/rlib Rscript simgeno.R``:
``sim_geno(error_prob=0.002, map_function="haldane")`` counts per mouse, marker and genotype
on iron (f2) chromosomes 19 and X (284 mice, 4000 draws) and on DOex (do) chromosomes 2 and X
(the first 30 mice, 1000 draws).

Draw frequencies are compared cell by cell with a binomial z statistic: against R/qtl2's
frequencies (two independent proportions) and against ``calc_genoprob`` (one proportion
against its expectation); the joint law of adjacent markers against the two-locus
probabilities of a plain forward-backward written here in numpy. Draws are seeded, so the
checks are deterministic; the bounds are those a correct sampler passes with a wide margin
(the largest |z| of thousands of cells near 4, the mean z^2 near 1).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.model import Cross
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics.genoprob import calc_genoprob, hmm_setup, marker_layout
from translocus.genetics.simgeno import sim_geno

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "simgeno"
SETTINGS = {"error_prob": 0.002, "map_function": "haldane"}


@cache
def _cross(name: str) -> Cross:
    files = {"iron": "iron/iron.zip", "DOex": "DOex/DOex.zip"}
    path = data_dir() / "qtl2" / files[name]
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    cross = read_cross(path)
    if name == "DOex":
        cross = cross.subset(chromosomes=["2", "X"], individuals=list(cross.individuals[:30]))
    else:
        cross = cross.subset(chromosomes=["19", "X"])
    return cross


def _ref_counts(name: str, cross: Cross, chrom: str, n_geno: int) -> np.ndarray:
    """R/qtl2's counts as ``[marker, sample, genotype]``."""
    path = REF / f"{name}_counts.csv.gz"
    if not path.exists():
        pytest.skip(f"no R/qtl2 reference {path}")
    df = pd.read_csv(
        path,
        dtype={"chr": str, "ind": str, "marker": str},
    )
    df = df[df["chr"] == chrom]
    markers = pd.Index(cross.gmap[chrom].index)
    samples = pd.Index(cross.individuals)
    counts = np.zeros((len(markers), len(samples), n_geno))
    counts[
        markers.get_indexer(df["marker"]),
        samples.get_indexer(df["ind"]),
        df["genotype"].to_numpy() - 1,
    ] = df["count"].to_numpy()
    return counts


def _z_two(f1: np.ndarray, n1: int, f2: np.ndarray, n2: int) -> np.ndarray:
    """Two-proportion z statistic, over the cells both samples can tell apart from 0 and 1."""
    pooled = (f1 * n1 + f2 * n2) / (n1 + n2)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    informative = pooled * (1 - pooled) * min(n1, n2) >= 5
    return (f1 - f2)[informative] / np.sqrt(var[informative])


def _z_one(f: np.ndarray, n: int, p: np.ndarray) -> np.ndarray:
    informative = p * (1 - p) * n >= 5
    return (f - p)[informative] / np.sqrt(p[informative] * (1 - p[informative]) / n)


@pytest.mark.parametrize(("name", "n_draws"), [("iron", 4000), ("DOex", 1000)])
def test_draw_frequencies_match_r_and_genoprob(name: str, n_draws: int) -> None:
    cross = _cross(name)
    draws = sim_geno(cross, n_draws=n_draws, seed=20261206, **SETTINGS)
    probs = calc_genoprob(cross, **SETTINGS)
    for chrom in cross.chromosomes:
        ours = draws.frequencies(chrom).values
        n_geno = ours.shape[2]
        ref = _ref_counts(name, cross, chrom, n_geno) / n_draws
        assert np.allclose(ref.sum(axis=2), 1.0)
        # genotypes R never draws are never drawn here either (impossible ones, by sex)
        assert not np.any((ours > 0) & (probs[chrom].values == 0))
        for z in (_z_two(ours, n_draws, ref, n_draws), _z_one(ours, n_draws, probs[chrom].values)):
            assert z.size > 100
            assert np.max(np.abs(z)) < 5.5, (chrom, np.max(np.abs(z)))
            assert 0.8 < np.mean(z**2) < 1.25, (chrom, np.mean(z**2))


def _two_locus(cross: Cross, chrom: str) -> np.ndarray:
    """``Pr(g_p, g_p+1 | data)`` ``[interval, sample, genotype, genotype]`` by plain numpy."""
    model, _, is_female, cross_info, _ = hmm_setup(cross, **SETTINGS)
    layout = marker_layout(cross, chrom, step=0.0, off_end=0.0, stepwidth="fixed",
                           map_function="haldane")  # fmt: skip
    geno = np.asarray(cross.geno[chrom], dtype=np.int64)
    is_x = cross.is_x(chrom)
    n_geno = model.n_genotypes(is_x)
    founder = None if cross.founder_geno is None else np.asarray(cross.founder_geno[chrom])
    out = np.zeros((geno.shape[1] - 1, geno.shape[0], n_geno, n_geno))
    tables: dict[tuple[bool, tuple[int, ...]], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for i in range(geno.shape[0]):
        key = (bool(is_female[i]), tuple(cross_info[i].tolist()))
        if key not in tables:
            args = {"is_x": is_x, "is_female": key[0], "cross_info": cross_info[i]}
            emit = model.emission(error_prob=0.002, founder_geno=founder,
                                  n_markers=geno.shape[1], **args)  # fmt: skip
            tables[key] = (emit, model.transition(layout.rf, **args), model.init(**args))
        emit, trans, init = tables[key]
        e = emit[np.arange(geno.shape[1]), geno[i]]  # [marker, genotype]
        alpha = [init * e[0]]
        for p in range(1, geno.shape[1]):
            a = alpha[-1] @ trans[p - 1] * e[p]
            alpha.append(a / a.sum())
        beta = [np.ones(n_geno)]
        for p in range(geno.shape[1] - 2, -1, -1):
            b = trans[p] @ (e[p + 1] * beta[0])
            beta.insert(0, b / b.sum())
        for p in range(geno.shape[1] - 1):
            joint = alpha[p][:, None] * trans[p] * (e[p + 1] * beta[p + 1])[None, :]
            out[p, i] = joint / joint.sum()
    return out


@pytest.mark.parametrize(("name", "chrom"), [("iron", "7"), ("iron", "X"), ("DOex", "2")])
def test_adjacent_pairs_follow_two_locus_probabilities(name: str, chrom: str) -> None:
    cross = _cross(name)
    if chrom == "7":
        cross = read_cross(data_dir() / "qtl2" / "iron" / "iron.zip").subset(chromosomes=["7"])
    n_draws = 2000
    draws = sim_geno(cross, n_draws=n_draws, seed=7, chromosomes=[chrom], **SETTINGS)[chrom]
    values = draws.values.astype(np.int64) - 1  # [draw, marker, sample]
    expected = _two_locus(cross, chrom)
    n_geno = expected.shape[2]
    n_int, n_ind = expected.shape[:2]
    pair = values[:, :-1, :] * n_geno + values[:, 1:, :]  # [draw, interval, sample]
    cell = (np.arange(n_int)[:, None] * n_ind + np.arange(n_ind)[None, :]) * n_geno**2
    counts = np.bincount((pair + cell[None]).ravel(), minlength=n_int * n_ind * n_geno**2)
    observed = counts.reshape(expected.shape) / n_draws
    assert not np.any((observed > 0) & (expected < 1e-12))
    z = _z_one(observed, n_draws, expected)
    assert z.size > 100
    assert np.max(np.abs(z)) < 5.5
    assert 0.8 < np.mean(z**2) < 1.25


def test_draws_depend_on_the_seed_only() -> None:
    cross = _cross("iron")
    one = sim_geno(cross, n_draws=50, seed=3, cores=1, **SETTINGS)
    two = sim_geno(cross, n_draws=50, seed=3, cores=2, **SETTINGS)
    alone = sim_geno(cross, n_draws=50, seed=3, chromosomes=["X"], **SETTINGS)
    other = sim_geno(cross, n_draws=50, seed=4, **SETTINGS)
    for chrom in cross.chromosomes:
        np.testing.assert_array_equal(one[chrom].values, two[chrom].values)
    np.testing.assert_array_equal(one["X"].values, alone["X"].values)
    assert not np.array_equal(one["19"].values, other["19"].values)
    assert one["X"].dims == ("draw", "marker", "sample")
    assert one.genotypes["X"] == ("SS", "SB", "BS", "BB", "SY", "BY")
    assert one["X"].dtype == np.int8


def test_pseudomarkers_are_drawn_between_markers() -> None:
    cross = _cross("iron")
    draws = sim_geno(cross, n_draws=200, step=1.0, seed=5, chromosomes=["19"], **SETTINGS)
    probs = calc_genoprob(cross, step=1.0, chromosomes=["19"], **SETTINGS)
    assert list(draws["19"].coords["marker"].values) == list(probs["19"].coords["marker"].values)
    z = _z_one(draws.frequencies("19").values, 200, probs["19"].values)
    assert np.max(np.abs(z)) < 5.5


def test_bad_n_draws_is_one_clear_error() -> None:
    with pytest.raises(InputError, match="n_draws=0 must be a whole number >= 1"):
        sim_geno(_cross("iron"), n_draws=0)
