"""GEMM-shaped kernels of the genome scan: residualise once, then all traits per chromosome.

Haley-Knott
    Per chromosome and missing-data batch, the genotype blocks are residualised on the
    covariates and each marker's block gets an orthonormal basis (pivoted, R/qtl2's rank rule)
    in one numba pass. The explained sums of squares of *all* traits (or permutation columns)
    are then one matrix product ``basis' @ residual phenotypes``.

Linear mixed model
    The genotype blocks are rotated by the kinship eigenvectors once per chromosome (and
    missing-data group), not once per trait. The trait-specific weights ``1/(h²λ + 1 - h²)``
    enter through weighted moments, each a matrix product over all traits at once: the packed
    outer products of the rotated genotype columns give every marker's ``X'WX``, and
    ``C'WX``/``X'Wy`` follow likewise. Small per-(trait, marker) systems are then solved in
    numba; entries where the moment form would lose accuracy are recomputed with pivoted QR.
"""

from __future__ import annotations

import functools

import numpy as np

from translocus.core.threads import blas_threads
from translocus.genetics._scan_numba import (
    basis_batch,
    basis_single,
    weighted_null_rss,
)

__all__ = [
    "MOMENT_GUARD",
    "RANK_CLEAR",
    "covariate_basis",
    "null_rss_weighted",
    "explained_hk",
    "fixed_width_product",
    "rotate_traits",
    "hk_rss",
    "pair_index",
    "resid_on_basis",
]

#: Relative accuracy guard of the moment solves (see ``rss_from_moment_rows``).
MOMENT_GUARD = 1e-7
#: A block is clearly of full rank by R/qtl2's rule (a column is dropped when its pivot is at
#: most 1e-12 of the largest) when every squared pivot of its column-pivoted factorisation
#: exceeds this fraction of the first (a norm ratio of 1e-5); otherwise pivoted QR decides.
RANK_CLEAR = 1e-10
#: Width of the products that rotate traits by the kinship eigenvectors (:func:`rotate_traits`).
ROTATE_COLUMNS = 64
#: Fits with RSS1 below this fraction of RSS0 are recomputed directly (cancellation guard).
CANCEL_GUARD = 1e-7


def covariate_basis(c: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Orthonormal basis (``n x r``) of the columns of ``c`` (pivoted, rank rule ``tol``)."""
    return basis_single(np.ascontiguousarray(c, dtype=float), tol)


def resid_on_basis(q: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residuals of the columns of ``a`` (``n x k``) after projection on orthonormal ``q``."""
    if q.shape[1] == 0:
        return a.copy()
    return a - q @ (q.T @ a)


@functools.lru_cache(maxsize=64)
def pair_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(a, b)`` with ``a <= b`` packing a symmetric ``p x p`` matrix (cached,
    read-only)."""
    ia, ib = (a.astype(np.int64) for a in np.triu_indices(p))
    ia.flags.writeable = ib.flags.writeable = False
    return ia, ib


def explained_hk(basis: np.ndarray, resid_y: np.ndarray) -> np.ndarray:
    """``||Q_m' r_t||²`` for all markers ``m`` and columns ``t``: one matrix product.

    ``basis`` is ``[M, n, p]``, ``resid_y`` is ``[n, T]``; returns ``[M, T]``.
    """
    m_count, n, p = basis.shape
    flat = basis.transpose(0, 2, 1).reshape(m_count * p, n)
    proj = flat @ resid_y
    return np.einsum("mpt,mpt->mt", proj.reshape(m_count, p, -1), proj.reshape(m_count, p, -1))


def hk_rss(
    geno: np.ndarray, cov_q: np.ndarray, resid_y: np.ndarray, rss_alt0: np.ndarray, tol: float
) -> np.ndarray:
    """Alternative-model RSS ``[M, T]`` of a Haley-Knott scan of one chromosome.

    Parameters
    ----------
    geno
        ``[M, n, p]`` genotype blocks (first column and empty X columns already dropped,
        weights already applied).
    cov_q
        ``[n, c]`` orthonormal basis of the covariates (intercept included).
    resid_y
        ``[n, T]`` phenotypes residualised on the covariates.
    rss_alt0
        ``[T]`` ``||resid_y||²``.
    """
    m_count, n, p = geno.shape
    if cov_q.shape[1]:
        coef = np.einsum("nc,mnp->mcp", cov_q, geno)
        rx = geno - np.einsum("nc,mcp->mnp", cov_q, coef)
    else:
        rx = geno
    basis, _ = basis_batch(np.ascontiguousarray(rx), tol)
    rss = rss_alt0[None, :] - explained_hk(basis, resid_y)
    bad = rss <= CANCEL_GUARD * rss_alt0[None, :]
    if np.any(bad):
        for m, t in zip(*np.nonzero(bad), strict=True):
            r = resid_y[:, t] - basis[m] @ (basis[m].T @ resid_y[:, t])
            rss[m, t] = float(r @ r)
    return rss


def null_rss_weighted(
    c_r: np.ndarray, y_r: np.ndarray, weights: np.ndarray, tol: float
) -> np.ndarray:
    """Null RSS ``[T]`` of each trait in its own LMM metric (pivoted QR of the weighted design)."""
    return weighted_null_rss(
        np.ascontiguousarray(c_r), np.ascontiguousarray(y_r), np.ascontiguousarray(weights), tol
    )


def fixed_width_product(a: np.ndarray, b: np.ndarray, out: np.ndarray, width: int) -> None:
    """``out = a @ b`` by products of exactly ``width`` columns of ``b`` (the last zero-padded).

    A BLAS product rounds a column of its result differently with the width of ``b`` (and
    small widths take other kernels), but within one shape not with the column's place or
    its neighbours. Splitting ``b`` into blocks of one width gives each column of the result
    the same bits however many columns (traits) come with it.
    """
    n_col = b.shape[1]
    if n_col == 0:
        return
    block = np.zeros((b.shape[0], width))
    res = np.empty((a.shape[0], width))
    for s in range(0, n_col, width):
        e = min(n_col, s + width)
        if e - s == width:
            np.dot(a, np.ascontiguousarray(b[:, s:e]), out=res)
        else:
            block[:, : e - s] = b[:, s:e]
            block[:, e - s :] = 0.0
            np.dot(a, block, out=res)
        out[:, s:e] = res[:, : e - s]


def rotate_traits(vt: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``vt @ a``: columns (traits, covariates) rotated by the kinship eigenvectors.

    Products of :data:`ROTATE_COLUMNS` columns on one BLAS thread, so a column's rotation
    depends on ``vt`` and that column alone (not on the columns beside it nor on the thread
    count): a heritability found by Brent's search, which last-bit differences can move by
    its tolerance, then does not depend on how traits are grouped, chunked or threaded.
    """
    a2 = np.asarray(a, dtype=float)
    out = np.empty((vt.shape[0], a2.shape[1]))
    with blas_threads(1):
        fixed_width_product(np.ascontiguousarray(vt), a2, out, ROTATE_COLUMNS)
    return out
