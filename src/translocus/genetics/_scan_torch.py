"""Batched-GEMM kernels of the genome scan for an array backend (torch on a GPU, or numpy).

These are the accelerator counterparts of :mod:`translocus.genetics._scan_kernels`: the same
residual sums of squares, computed as a few large matrix products and batched Cholesky
factorisations that map well onto a GPU. They take a
:class:`~translocus.core.compute.ArrayBackend`, so the identical code also runs with numpy (the
path the tests check on machines without torch).

Haley-Knott
    Each marker's genotype block is residualised on the covariates, its columns scaled to unit
    norm and orthonormalised by Cholesky-QR applied twice (``CholeskyQR2``, accurate to rounding
    for condition numbers well beyond those of genotype probabilities). The explained sums of
    squares of all traits are then one product ``Q' r`` per chromosome.

Linear mixed model
    The kinship-rotated genotype blocks give every marker's weighted moments ``X'WX``,
    ``C'WX`` and ``X'Wy`` for all traits as matrix products against the traits' weights
    ``1/(h²λ + 1 - h²)``; covariates are absorbed by a Schur complement and the small systems
    solved by batched Cholesky after Jacobi scaling.

Guards
    Markers or (trait, marker) entries where the fast forms could lose accuracy (a genotype
    column nearly explained by the covariates or by the other columns, a block not clearly of
    full rank by R/qtl2's 1e-12 pivot rule (``_rank_bound``), a near-perfect fit) are
    recomputed on the host with the CPU kernels, so results agree with
    :func:`translocus.genetics.scan.scan` to rounding (and rank-deficient designs follow R/qtl2's
    pivoting rule exactly).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from translocus.core.compute import ArrayBackend
from translocus.genetics._scan_kernels import RANK_CLEAR
from translocus.genetics._scan_numba import basis_batch, basis_single, exact_rss_weighted

__all__ = [
    "exact_rss_entries",
    "hk_rss_backend",
    "lmm_rss_backend",
    "moment_rss_backend",
    "packed_pairs",
    "rotate_blocks",
    "unpack_matrix",
]

#: A column whose norm after the covariates falls below this fraction is recomputed on the host.
COL_GUARD = 1e-6
#: Smallest squared Cholesky pivot of a unit-diagonal Gram matrix accepted on the device.
PIVOT_GUARD = 1e-10
#: LMM moment guard: relative size of a Schur-complement pivot (or of RSS1 against RSS0) below
#: which an entry is recomputed on the host (ten times stricter than the CPU kernel's).
MOMENT_GUARD = 1e-6
#: Fits with RSS1 below this fraction of RSS0 are recomputed on the host (cancellation).
CANCEL_GUARD = 1e-7
#: Default device bytes for the largest temporary of one chunk of traits.
CHUNK_BYTES = 256 * 2**20


def _rank_bound(piv2: np.ndarray, diag: np.ndarray) -> np.ndarray:
    """A lower bound of the smallest squared pivot of the column-pivoted factorisation, over
    the first (R/qtl2's rank rule), from a Cholesky of the unit-diagonal scaling.

    ``piv2`` are the squared pivots of that Cholesky and ``diag`` the Gram matrix's diagonal
    (``[..., p]`` each): ``det(G) / max(diag)^p``. Entries below :data:`RANK_CLEAR` go to the
    host, where pivoted QR applies the rule itself.
    """
    top = np.max(diag, axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(top > 0, diag / np.where(top > 0, top, 1.0), 0.0)
    return np.prod(piv2 * ratio, axis=-1)  # type: ignore[no-any-return]


def _chunks(total: int, size: int) -> list[slice]:
    size = max(1, int(size))
    return [slice(s, min(total, s + size)) for s in range(0, total, size)]


def hk_rss_backend(
    be: ArrayBackend,
    geno: np.ndarray,
    cov_q: np.ndarray,
    resid_y: np.ndarray,
    rss_alt0: np.ndarray,
    tol: float,
    *,
    resid_y_dev: Any = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> np.ndarray:
    """Alternative-model RSS ``[M, T]`` of a Haley-Knott scan of one chromosome.

    Arguments as :func:`translocus.genetics._scan_kernels.hk_rss`; ``resid_y_dev`` is
    ``resid_y`` already on the backend's device (to transfer it once per batch).
    """
    m_count, n, p = geno.shape
    n_trait = resid_y.shape[1]
    x = be.asarray(geno)
    raw = be.sqrt(be.sum(x * x, axis=1))  # [M, p]
    if cov_q.shape[1]:
        q = be.asarray(cov_q)
        x = x - be.einsum("nc,mcp->mnp", q, be.einsum("nc,mnp->mcp", q, x))
    nrm = be.sqrt(be.sum(x * x, axis=1))
    bad = np.any(be.to_numpy(nrm) <= COL_GUARD * be.to_numpy(raw), axis=1)
    x = x / be.where(nrm > 0, nrm, 1.0)[:, None, :]
    # CholeskyQR2 of the unit-norm columns
    low1, ok1 = be.cholesky(be.matmul(be.swapaxes(x, 1, 2), x))
    piv2 = be.to_numpy(be.diagonal(low1)) ** 2
    bad |= ~ok1 | ~(np.min(piv2, axis=1) > PIVOT_GUARD)
    bad |= ~(_rank_bound(piv2, be.to_numpy(nrm) ** 2) > RANK_CLEAR)
    q1 = be.solve_triangular_right_t(x, low1)
    low2, ok2 = be.cholesky(be.matmul(be.swapaxes(q1, 1, 2), q1))
    bad |= ~ok2
    basis_t = be.swapaxes(be.solve_triangular_right_t(q1, low2), 1, 2).reshape(m_count * p, n)
    ry = resid_y_dev if resid_y_dev is not None else be.asarray(resid_y)
    rss = np.empty((m_count, n_trait))
    per_trait = max(1, m_count * p * 8 * 2)
    for sl in _chunks(n_trait, chunk_bytes // per_trait):
        proj = be.matmul(basis_t, ry[:, sl]).reshape(m_count, p, -1)
        rss[:, sl] = rss_alt0[None, sl] - be.to_numpy(be.sum(proj * proj, axis=1))
    bad |= np.any(~(rss > CANCEL_GUARD * rss_alt0[None, :]), axis=1)
    if np.any(bad):
        idx = np.flatnonzero(bad)
        rss[idx] = _hk_rss_host(geno[idx], cov_q, resid_y, rss_alt0, tol)
    return rss


def _hk_rss_host(
    geno: np.ndarray, cov_q: np.ndarray, resid_y: np.ndarray, rss_alt0: np.ndarray, tol: float
) -> np.ndarray:
    """Host RSS ``[M, T]`` by pivoted QR per marker (the CPU scan's rank rule), exact fits
    recomputed directly."""
    rx = np.asarray(geno, dtype=float)
    if cov_q.shape[1]:
        rx = rx - np.einsum("nc,mcp->mnp", cov_q, np.einsum("nc,mnp->mcp", cov_q, rx))
    basis, _ = basis_batch(np.ascontiguousarray(rx), tol)
    proj = np.einsum("mnp,nt->mpt", basis, resid_y)
    rss = rss_alt0[None, :] - np.einsum("mpt,mpt->mt", proj, proj)
    for m, t in zip(*np.nonzero(~(rss > CANCEL_GUARD * rss_alt0[None, :])), strict=True):
        r = resid_y[:, t] - basis[m] @ (basis[m].T @ resid_y[:, t])
        rss[m, t] = float(r @ r)
    return rss


def packed_pairs(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(a, b)`` with ``a <= b`` packing a symmetric ``p x p`` matrix."""
    ia, ib = np.triu_indices(p)
    return ia.astype(np.int64), ib.astype(np.int64)


def unpack_matrix(p: int, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``[npair, p*p]`` 0/1 matrix expanding packed symmetric entries to full ``p x p``."""
    out = np.zeros((pairs[0].size, p * p))
    for k, (a, b) in enumerate(zip(pairs[0], pairs[1], strict=True)):
        out[k, a * p + b] = 1.0
        out[k, b * p + a] = 1.0
    return out


def rotate_blocks(
    be: ArrayBackend, vectors_t: Any, block: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]
) -> tuple[Any, Any]:
    """Rotated blocks ``[n, M, p]`` and their packed column products ``[n, M * npair]``.

    ``vectors_t`` is ``U'`` on the device; ``block`` is the ``[M, n, p]`` genotype block.
    """
    m_count, n, p = block.shape
    flat = be.asarray(np.ascontiguousarray(block.transpose(1, 0, 2)).reshape(n, m_count * p))
    xr = be.matmul(vectors_t, flat).reshape(n, m_count, p)
    outer = (xr[:, :, pairs[0]] * xr[:, :, pairs[1]]).reshape(n, -1)
    return xr, outer


def moment_rss_backend(
    be: ArrayBackend, flat: Any, outer: Any, cov: Any, w: Any, y: Any, unpack: Any, p: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted RSS from the moments, batched over leading genotype blocks (device arrays).

    ``flat`` ``[B, n, M * p]`` and ``outer`` ``[B, n, M * npair]`` are ``B`` rotated genotype
    blocks and their packed column products (one block for a scan, one per permutation for a
    permutation test); ``cov`` ``[n, c]``, ``w`` ``[t, n]`` and ``y`` ``[t, n]`` the rotated
    covariates, the traits' weights and rotated phenotypes. Returns the host arrays
    ``rss [B, t, M]`` and ``ok [B, t, M]`` (``False`` where the moments could lose accuracy:
    recompute those entries by pivoted QR).
    """
    n_block, n, width = flat.shape
    m_count = width // p
    t = w.shape[0]
    c = cov.shape[1]
    gram = be.matmul(be.matmul(w, outer).reshape(n_block, t * m_count, -1), unpack)
    gram = gram.reshape(n_block, t, m_count, p, p)
    wc = (w[:, None, :] * be.swapaxes(cov, 0, 1)[None, :, :]).reshape(t * c, n)
    cross = be.matmul(wc, flat).reshape(n_block, t, c, m_count * p)
    wy = w * y
    xty = be.matmul(wy, flat).reshape(n_block, t, m_count, p)
    cov_gram = be.einsum("tcn,nd->tcd", wc.reshape(t, c, n), cov)  # [t, c, c]
    cov_y = be.matmul(wy, cov)  # [t, c]
    yty = be.sum(wy * y, axis=1)
    low_c, _ = be.cholesky(cov_gram)
    z = be.solve_triangular(low_c, cov_y[:, :, None])[:, :, 0]
    rss0 = yty - be.sum(z * z, axis=1)  # [t]
    h = be.solve_triangular(low_c[None], cross).reshape(n_block, t, c, m_count, p)
    schur = gram - be.einsum("ktcma,ktcmb->ktmab", h, h)
    raw = be.diagonal(gram)
    sd = be.diagonal(schur)
    ok = np.all((be.to_numpy(sd) > MOMENT_GUARD * be.to_numpy(raw))
                & (be.to_numpy(raw) > 0), axis=-1)  # fmt: skip
    bb = xty - be.einsum("ktcma,tc->ktma", h, z)
    d = be.sqrt(be.where(sd > 0, sd, 1.0))
    scaled = schur / (d[..., :, None] * d[..., None, :])
    low, ok_chol = be.cholesky(scaled)
    piv2 = be.to_numpy(be.diagonal(low)) ** 2
    zz = be.solve_triangular(low, (bb / d)[..., None])[..., 0]
    rss0_h = be.to_numpy(rss0)[None, :, None]
    rss = rss0_h - be.to_numpy(be.sum(zz * zz, axis=-1))
    ok &= ok_chol & (np.min(piv2, axis=-1) > MOMENT_GUARD) & (rss > MOMENT_GUARD * rss0_h)
    ok &= _rank_bound(piv2, be.to_numpy(sd)) > RANK_CLEAR
    return rss, ok


def exact_rss_entries(xr_h: np.ndarray, cov_r: np.ndarray, y_r: np.ndarray,
                      weights: np.ndarray, entries: np.ndarray, tol: float) -> np.ndarray:  # fmt: skip
    """Host RSS by pivoted QR (R/qtl2's rank rule) of ``(trait, marker)`` ``entries [k, 2]``.

    ``xr_h`` is the rotated genotype block ``[n, M, p]``; the rest as in
    :func:`lmm_rss_backend`.
    """
    out = np.empty(len(entries))
    for t in np.unique(entries[:, 0]):
        sw = np.sqrt(weights[t])
        q = basis_single(np.ascontiguousarray(cov_r * sw[:, None]), tol)
        ry = y_r[:, t] * sw
        ry = ry - q @ (q.T @ ry)
        for k in np.flatnonzero(entries[:, 0] == t):
            x = np.ascontiguousarray(xr_h[:, entries[k, 1], :])
            out[k] = exact_rss_weighted(x, sw, q, ry, tol)
    return out


def lmm_rss_backend(
    be: ArrayBackend,
    xr: Any,
    outer: Any,
    cov_r: np.ndarray,
    y_r: np.ndarray,
    weights: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray],
    tol: float,
    *,
    unpack: Any,
    host_blocks: Any,
    chunk_bytes: int = CHUNK_BYTES,
) -> np.ndarray:
    """Alternative-model weighted RSS ``[T, M]`` of an LMM scan of one chromosome.

    Parameters
    ----------
    xr, outer
        Device arrays from :func:`rotate_blocks`.
    cov_r, y_r, weights
        Host arrays: rotated covariates ``[n, c]``, rotated phenotypes ``[n, T]`` and the LMM
        weights ``[T, n]``.
    unpack
        :func:`unpack_matrix` on the device.
    host_blocks
        Callable returning the rotated blocks ``[n, M, p]`` on the host, for the entries
        recomputed there by pivoted QR.
    """
    n, m_count, p = xr.shape
    n_trait = y_r.shape[1]
    c = cov_r.shape[1]
    flat = xr.reshape(1, n, m_count * p)
    outer_b = outer[None]
    cov = be.asarray(cov_r)
    rss = np.empty((n_trait, m_count))
    good = np.ones((n_trait, m_count), dtype=bool)
    per_trait = max(1, m_count * (p * p * 6 + c * p * 2) * 8)
    for sl in _chunks(n_trait, chunk_bytes // per_trait):
        w = be.asarray(weights[sl])
        y = be.asarray(np.ascontiguousarray(y_r[:, sl].T))  # [t, n]
        r1, ok = moment_rss_backend(be, flat, outer_b, cov, w, y, unpack, p)
        rss[sl] = r1[0]
        good[sl] = ok[0]
    if not np.all(good):
        entries = np.argwhere(~good)
        rss[~good] = exact_rss_entries(host_blocks(), cov_r, y_r, weights, entries, tol)
    return rss
