"""The LMM weight basis (``_weight_basis``): interpolation error bound, and the wide scan.

The many-trait LMM scan forms ``X'WX`` and ``C'WX`` through a basis of the weights
``w(h, λ) = 1 / (h λ + 1 - h)`` in the eigenvalues; these tests check the basis against the
weights computed directly (a property over random spectra and all ``h`` in ``[0, 1]``) and the
scan through it against the scan from the weights themselves (extreme h², a kinship with
eigenvalues over ten orders of magnitude).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import translocus.genetics._moments as moments
from translocus.core.model import GenoProbs
from translocus.genetics._design import hsq_sets, prepare
from translocus.genetics._scan_lmm import scan_lmm
from translocus.genetics._weight_basis import (
    TRUNCATION,
    interpolation_nodes,
    weight_basis,
    weights,
)

EPS = np.finfo(float).eps
#: h² grid of the property: the ends (pole at 0 for h² = 1, constant weights at 0) and between
HSQ = np.concatenate([np.linspace(0.0, 1.0, 401), [1e-12, 1e-6, 1 - 1e-6, 1 - 1e-12]])


def _spectrum(rng: np.random.Generator, n: int, lo: float, hi: float,
              least: tuple[float, ...] = (1e-9, 3e-9)) -> np.ndarray:  # fmt: skip
    """Eigenvalues log-uniform in ``[lo, hi]`` but the ``least`` (a near-singular kinship:
    weights up to 1e9 at h² = 1)."""
    values = np.exp(rng.uniform(np.log(lo), np.log(hi), size=n))
    values[: len(least)] = least
    return np.sort(values)


@pytest.mark.parametrize("seed", range(6))
def test_basis_reproduces_weights_to_rounding(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(300, 900))
    lam = _spectrum(rng, n, 10 ** rng.uniform(-3, -1), 10 ** rng.uniform(1, 3))
    basis = weight_basis(lam)
    assert basis is not None and basis.size <= n // 2
    direct = weights(HSQ, lam).T  # [n, H]
    approx = basis.basis @ basis.coefficients(HSQ)
    assert np.max(np.abs(approx - direct) / direct) < 32 * EPS


def test_interpolated_intervals_meet_the_truncation_bound():
    """Interpolating ``1/λ`` (h² = 1, the nearest pole) at N Chebyshev points of ``[a, b]``
    errs relatively by exactly ``|T_N(x̂)| / T_N(u)``, ``u = (b + a)/(b - a)``; the bound
    ``1 / T_N(u)`` is met, and the error at the eigenvalues is that of the closed form."""
    lam = _spectrum(np.random.default_rng(11), 700, 0.05, 300.0)
    basis = weight_basis(lam)
    assert basis is not None
    interpolated = [(i, j, k) for i, j, k in basis.intervals if k]
    assert interpolated
    col = 0
    for i, j, count in basis.intervals:
        width = count or j - i + 1
        if count:
            a, b = lam[i], lam[j]
            u = (b + a) / (b - a)
            assert 1.0 / np.cosh(count * np.arccosh(u)) <= TRUNCATION
            mu = basis.nodes[col : col + count]
            np.testing.assert_allclose(mu, interpolation_nodes(a, b, count), rtol=0, atol=0)
            block = basis.basis[i : j + 1, col : col + count]
            # a partition of unity that reproduces λ itself (degree 0 and 1 exactly)
            np.testing.assert_allclose(block.sum(axis=1), 1.0, rtol=0, atol=64 * EPS)
            np.testing.assert_allclose(block @ mu, lam[i : j + 1], rtol=64 * EPS)
        else:  # exact: an eigenvalue is its own node
            np.testing.assert_array_equal(basis.nodes[col : col + width], lam[i : j + 1])
        col += width
    assert col == basis.size


def test_basis_not_used_where_it_would_not_pay():
    assert weight_basis(np.linspace(0.1, 10.0, 20)) is None  # K would be n
    assert weight_basis(np.array([0.1, np.nan, 2.0])) is None
    lam = _spectrum(np.random.default_rng(3), 500, 0.05, 50.0)
    basis = weight_basis(lam)
    assert basis is not None
    # eigenvalues at or below zero are always taken exactly
    lam0 = np.sort(np.concatenate([[-1e-12, 0.0], lam[2:]]))
    basis0 = weight_basis(lam0)
    assert basis0 is not None
    assert basis0.intervals[0][2] == 0 and basis0.nodes[0] == -1e-12


def _cross(n: int, n_trait: int, seed: int) -> tuple[pd.DataFrame, GenoProbs, pd.DataFrame,
                                                      pd.DataFrame]:  # fmt: skip
    """Founder-allele probabilities of two chromosomes, traits, sex and a kinship whose
    2K has eigenvalues from 1e-3 to 50."""
    rng = np.random.default_rng(seed)
    ids = [f"m{i}" for i in range(n)]
    founders = list("ABCDEFGH")
    probs = {}
    for chrom, m_count in (("1", 40), ("2", 25)):
        p = rng.dirichlet(np.full(8, 0.3), size=(m_count, n))
        names = [f"c{chrom}_{k}" for k in range(m_count)]
        pos = np.arange(m_count, dtype=float) * 2.0
        probs[chrom] = xr.DataArray(
            p, dims=("marker", "sample", "founder"),
            coords={"marker": names, "sample": ids, "founder": founders,
                    "pos_cM": ("marker", pos), "pos_Mbp": ("marker", pos)})  # fmt: skip
    genoprobs = GenoProbs(probs=probs, crosstype="do", alleles=tuple(founders), x_chr=None,
                          kind="allele")  # fmt: skip
    lam = _spectrum(rng, n, 1e-2, 50.0, least=(1e-3, 2e-3))
    vec, _ = np.linalg.qr(rng.normal(size=(n, n)))
    kin = pd.DataFrame((vec * lam) @ vec.T / 2, index=ids, columns=ids)
    sex = pd.DataFrame({"sex": rng.integers(0, 2, size=n).astype(float)}, index=ids)
    dose = probs["1"].values[7] @ rng.normal(size=8)
    y = rng.normal(size=(n, n_trait)) + np.outer(dose, rng.uniform(0, 2, size=n_trait))
    y += np.outer(sex["sex"].to_numpy(), rng.normal(size=n_trait))
    pheno = pd.DataFrame(y, index=ids, columns=[f"t{k}" for k in range(n_trait)])
    return pheno, genoprobs, kin, sex


def test_wide_scan_through_basis_equals_scan_from_weights(monkeypatch):
    """The wide LMM scan (>= 256 traits) with the basis against the same scan from the
    weights themselves, h² fixed at 0, 1 and between (REML would not reach both ends)."""
    pheno, probs, kin, sex = _cross(500, 300, seed=7)
    prep = prepare(pheno, probs, kinship=kin, addcovar=sex, tol=1e-12)
    assert prep.kinship is not None
    lam = np.linalg.eigvalsh(2 * kin.to_numpy())
    assert weight_basis(lam) is not None
    hsq = np.resize(np.array([0.0, 1.0, 0.5, 1e-6, 1 - 1e-6, 0.9, 0.1, 0.99]), pheno.shape[1])
    fixed = np.tile(hsq, (len(hsq_sets(prep)), 1))
    used = []
    real = moments.weight_basis
    monkeypatch.setattr(moments, "weight_basis", lambda v: used.append(real(v)) or used[-1])
    lod_basis = scan_lmm(prep, True, fixed)[0]
    assert used and all(b is not None for b in used)
    monkeypatch.setattr(moments, "WEIGHT_BASIS", False)
    lod_direct = scan_lmm(prep, True, fixed)[0]
    assert np.isfinite(lod_direct).all() and lod_direct.max() > 5
    # LOD = n/2 log10(RSS0/RSS1) scales the rounding of either path's RSS by n / (2 ln 10):
    # 1e-12 plus 1e-13 of the LOD is that rounding, an inexact basis errs by 1e-8 and more
    np.testing.assert_allclose(lod_basis, lod_direct, rtol=1e-13, atol=1e-12)
