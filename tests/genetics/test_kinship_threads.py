"""Kinship does not depend on the number of threads, and blocked products give the plain sums.

:func:`calc_kinship` runs the chromosomes side by side, each as single-threaded products over
blocks of positions. The reference is the definition written with ``numpy.einsum``
(``S_c[i, j] = sum over positions and alleles of p_i p_j``, R/qtl2's ``calc_kinship``).
"""

from __future__ import annotations

import numpy as np
import pytest

from translocus.core.model import GenoProbs
from translocus.core.threads import thread_limit
from translocus.genetics.kinship import BLOCK_POSITIONS, calc_kinship

TOL = 1e-12


@pytest.fixture(scope="module")
def alleleprob():
    """Random allele probabilities: 40 samples, chromosomes up to 2.5 blocks long, and an X."""
    import xarray as xr

    rng = np.random.default_rng(4)
    sizes = {"1": int(2.5 * BLOCK_POSITIONS), "2": BLOCK_POSITIONS, "3": 7, "X": 300}
    samples = [f"s{i}" for i in range(40)]
    probs = {}
    for chrom, n in sizes.items():
        p = rng.dirichlet(np.full(8, 0.3), size=(n, len(samples)))
        probs[chrom] = xr.DataArray(
            p, dims=("marker", "sample", "founder"),
            coords={"marker": [f"{chrom}_{k}" for k in range(n)], "sample": samples,
                    "founder": list("ABCDEFGH")},
        )  # fmt: skip
    return GenoProbs(probs=probs, crosstype="do", alleles=tuple("ABCDEFGH"), x_chr="X",
                     kind="allele")  # fmt: skip


def _sharing(values: np.ndarray) -> np.ndarray:
    return np.einsum("mia,mja->ij", values, values)


@pytest.mark.parametrize("kind", ["overall", "loco", "chr"])
def test_one_and_two_threads_agree(alleleprob, kind):
    with thread_limit(1):
        one = calc_kinship(alleleprob, type=kind)
    with thread_limit(2):
        two = calc_kinship(alleleprob, type=kind)
    if kind == "overall":
        one, two = {"all": one}, {"all": two}
    for key in one:
        np.testing.assert_allclose(two[key].values, one[key].values, rtol=0, atol=TOL)


def test_blocked_products_equal_the_definition(alleleprob):
    sharing = {c: _sharing(alleleprob[c].values) for c in alleleprob}
    n_pos = {c: alleleprob[c].sizes["marker"] for c in alleleprob}
    total, total_pos = sum(sharing.values()), sum(n_pos.values())
    with thread_limit(2):
        loco = calc_kinship(alleleprob, type="loco")
        overall = calc_kinship(alleleprob)
        per_chrom = calc_kinship(alleleprob, type="chr", omit_x=True)
    np.testing.assert_allclose(overall.values, total / total_pos, rtol=0, atol=TOL)
    for c in alleleprob:
        expected = (total - sharing[c]) / (total_pos - n_pos[c])
        np.testing.assert_allclose(loco[c].values, expected, rtol=0, atol=TOL)
        np.testing.assert_allclose(per_chrom[c].values, sharing[c] / n_pos[c], rtol=0, atol=TOL)
        assert loco[c].attrs["n_pos"] == total_pos - n_pos[c]
