"""Loop-heavy kernels of the genome scan (numba): small pivoted QRs, batched solves.

Conventions
-----------
- A "basis" of a design block ``A`` (``n x p``) is an ``n x p`` array whose first ``rank``
  columns are an orthonormal basis of the span of the columns R/qtl2 keeps: columns are taken
  in column-pivoted order (largest remaining norm first) and a column is kept while its
  remaining norm exceeds ``tol`` times the first (largest) one. This is the rank rule of
  Eigen's ``ColPivHouseholderQR`` with ``setThreshold(tol)`` that R/qtl2 uses, so residual sums
  of squares agree with R/qtl2 on rank-deficient designs too. Unused columns are zero.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "basis_batch",
    "basis_single",
    "weighted_null_rss",
    "weighted_cov_gram",
    "exact_rss_weighted",
    "rss_from_moment_rows",
    "clearly_full_rank",
    "pair_products",
    "weighted_moments",
    "gather_columns",
    "symmetric_finite",
    "weighted_squares",
]


@njit(cache=True, nogil=True, error_model="numpy")
def _basis_one(a: np.ndarray, out: np.ndarray, tol: float) -> int:
    """Orthonormal basis of ``a`` (``n x p``, overwritten) into ``out``; returns the rank."""
    n, p = a.shape
    used = np.zeros(p, dtype=np.bool_)
    rank = 0
    maxpiv = 0.0
    for k in range(p):
        best = -1
        bestn = -1.0
        for j in range(p):
            if used[j]:
                continue
            s = 0.0
            for i in range(n):
                s += a[i, j] * a[i, j]
            s = math.sqrt(s)
            if s > bestn:
                bestn = s
                best = j
        if best < 0:
            break
        if k == 0:
            maxpiv = bestn
        if bestn == 0.0 or bestn <= tol * maxpiv:
            break
        used[best] = True
        q = a[:, best] / bestn
        # re-orthogonalise twice against the kept directions ("twice is enough")
        for _ in range(2):
            for r in range(rank):
                d = 0.0
                for i in range(n):
                    d += out[i, r] * q[i]
                for i in range(n):
                    q[i] -= d * out[i, r]
        s = 0.0
        for i in range(n):
            s += q[i] * q[i]
        s = math.sqrt(s)
        if s == 0.0:
            break
        for i in range(n):
            out[i, rank] = q[i] / s
        # project the new direction out of the remaining columns
        for j in range(p):
            if used[j]:
                continue
            d = 0.0
            for i in range(n):
                d += out[i, rank] * a[i, j]
            for i in range(n):
                a[i, j] -= d * out[i, rank]
        rank += 1
    return rank


@njit(cache=True, error_model="numpy")
def _basis_batch_serial(x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Serial version of :func:`basis_batch` (no thread start-up for small stacks)."""
    m_count, n, p = x.shape
    q = np.zeros((m_count, n, p))
    rank = np.zeros(m_count, dtype=np.int64)
    for m in range(m_count):
        a = x[m].copy()
        rank[m] = _basis_one(a, q[m], tol)
    return q, rank


@njit(cache=True, parallel=True, error_model="numpy")
def _basis_batch_parallel(x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Parallel version of :func:`basis_batch`."""
    m_count, n, p = x.shape
    q = np.zeros((m_count, n, p))
    rank = np.zeros(m_count, dtype=np.int64)
    for m in prange(m_count):
        a = x[m].copy()
        rank[m] = _basis_one(a, q[m], tol)
    return q, rank


def basis_batch(x: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal bases of a stack of design blocks ``x[m]`` (``[M, n, p]``).

    Returns ``(q, rank)`` with ``q`` of shape ``[M, n, p]`` (zero columns beyond the rank).
    Small stacks run serially: starting threads would cost more than the work.
    """
    m_count, n, p = x.shape
    if m_count * n * p * p < 4_000_000:
        return _basis_batch_serial(x, tol)  # type: ignore[no-any-return]
    return _basis_batch_parallel(x, tol)  # type: ignore[no-any-return]


@njit(cache=True, nogil=True, error_model="numpy")
def basis_single(x: np.ndarray, tol: float) -> np.ndarray:
    """Orthonormal basis (``n x rank``) of the columns of one matrix ``x`` (serial)."""
    n, p = x.shape
    q = np.zeros((n, p))
    rank = _basis_one(x.copy(), q, tol)
    return q[:, :rank].copy()


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_null_rss(c: np.ndarray, y: np.ndarray, w: np.ndarray, tol: float) -> np.ndarray:
    """RSS of ``y[:, t] ~ c`` with row weights ``w[t]`` (pivoted QR), for every column ``t``."""
    n, k = c.shape
    n_trait = y.shape[1]
    out = np.empty(n_trait)
    a = np.empty((n, k))
    q = np.empty((n, k))
    r = np.empty(n)
    for t in range(n_trait):
        for i in range(n):
            sw = math.sqrt(w[t, i])
            for j in range(k):
                a[i, j] = c[i, j] * sw
                q[i, j] = 0.0
            r[i] = y[i, t] * sw
        rank = _basis_one(a, q, tol)
        for j in range(rank):
            d = 0.0
            for i in range(n):
                d += q[i, j] * r[i]
            for i in range(n):
                r[i] -= d * q[i, j]
        s = 0.0
        for i in range(n):
            s += r[i] * r[i]
        out[t] = s
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_cov_gram(wt: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """``out[t] = c' diag(wt[t]) c`` (``[T, k, k]``) for weights ``wt`` ``[T, n]``: each trait
    summed over the individuals in order, so it does not depend on the traits beside it."""
    n_trait, n = wt.shape
    k = c.shape[1]
    acc = np.empty((k, k))
    for t in range(n_trait):
        for a in range(k):
            for b in range(k):
                acc[a, b] = 0.0
        for i in range(n):
            wi = wt[t, i]
            for a in range(k):
                wa = wi * c[i, a]
                for b in range(a + 1):
                    acc[a, b] += wa * c[i, b]
        for a in range(k):
            for b in range(a + 1):
                out[t, a, b] = acc[a, b]
                out[t, b, a] = acc[a, b]


@njit(cache=True, nogil=True, error_model="numpy")
def exact_rss_weighted(
    x: np.ndarray, sqrt_w: np.ndarray, cov_basis: np.ndarray, resid_y: np.ndarray, tol: float
) -> float:
    """RSS of one weighted regression by pivoted QR (R/qtl2's rank rule).

    ``x`` is the ``n x p`` genotype block before weighting, ``sqrt_w`` the row weights,
    ``cov_basis`` an orthonormal basis (``n x c``) of the weighted covariates and ``resid_y``
    the weighted phenotype already residualised on them.
    """
    n, p = x.shape
    a = np.empty((n, p))
    for i in range(n):
        for j in range(p):
            a[i, j] = x[i, j] * sqrt_w[i]
    c = cov_basis.shape[1]
    for k in range(c):
        for j in range(p):
            d = 0.0
            for i in range(n):
                d += cov_basis[i, k] * a[i, j]
            for i in range(n):
                a[i, j] -= d * cov_basis[i, k]
    q = np.zeros((n, p))
    rank = _basis_one(a, q, tol)
    r = resid_y.copy()
    for k in range(rank):
        d = 0.0
        for i in range(n):
            d += q[i, k] * r[i]
        for i in range(n):
            r[i] -= d * q[i, k]
    s = 0.0
    for i in range(n):
        s += r[i] * r[i]
    return s


@njit(cache=True, nogil=True, error_model="numpy")
def gather_columns(x: np.ndarray, rows: np.ndarray, m0: int, out: np.ndarray) -> None:
    """``out[j, a, i] = x[m0 + j, rows[i], a]``: genotype columns of a chunk of markers.

    ``x`` is ``[M, n_all, p]`` (any strides); ``out`` is ``[mc, p, n]``, so that
    ``out.reshape(mc * p, n) @ U`` rotates the whole chunk in one matrix product. Reads are
    sequential in ``x`` and the writes stay within one marker's block.
    """
    mc, p, n = out.shape
    for j in range(mc):
        m = m0 + j
        for i in range(n):
            r = rows[i]
            for a in range(p):
                out[j, a, i] = x[m, r, a]


@njit(cache=True, nogil=True, error_model="numpy")
def pair_products(xr: np.ndarray, out: np.ndarray) -> None:
    """``out[j, q, i] = xr[j, a_q, i] * xr[j, b_q, i]`` over the packed pairs ``a_q <= b_q``.

    ``xr`` is ``[mc, p, n]`` (rotated genotype columns of a chunk of markers); ``out`` is
    ``[mc, p (p + 1) / 2, n]`` in the order of ``pair_index`` (row-major upper triangle). With
    the LMM weights ``W`` (``[n, T]``), ``out.reshape(-1, n) @ W`` is every trait's packed
    ``X_m' W_t X_m`` in one matrix product.
    """
    mc, p, n = xr.shape
    for j in range(mc):
        q = 0
        for a in range(p):
            for b in range(a, p):
                for i in range(n):
                    out[j, q, i] = xr[j, a, i] * xr[j, b, i]
                q += 1


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})
def weighted_moments(
    xr: np.ndarray, block: int, wt: np.ndarray, lhs_t: np.ndarray, gram: np.ndarray,
    fx: np.ndarray,
) -> None:  # fmt: skip
    """Every trait's packed ``X_m' W_t X_m`` and ``X_m' lhs`` of a chunk, in one pass.

    ``xr[:, :, block, :]`` holds the rotated genotype columns ``[mc, p, n]`` (``xr`` is a
    C-contiguous ``[mc, p, B, n]``, so the inner loops run over contiguous memory), ``wt``
    ``[T, n]`` the weights, ``lhs_t`` ``[K, n]`` the weighted covariates and phenotypes; writes
    ``gram`` ``[mc, p (p + 1) / 2, T]`` (pairs in the order of ``pair_index``) and ``fx``
    ``[mc, p, K]``. For a few traits this beats the pair products and matrix products of the
    general path: each marker's columns are read from cache once, nothing is written between.
    """
    mc, p, _, n = xr.shape
    n_trait = wt.shape[0]
    n_lhs = lhs_t.shape[0]
    for j in range(mc):
        q = 0
        for a in range(p):
            for k in range(n_lhs):
                s = 0.0
                for i in range(n):
                    s += xr[j, a, block, i] * lhs_t[k, i]
                fx[j, a, k] = s
            for b in range(a, p):
                for t in range(n_trait):
                    s = 0.0
                    for i in range(n):
                        s += xr[j, a, block, i] * xr[j, b, block, i] * wt[t, i]
                    gram[j, q, t] = s
                q += 1


@njit(cache=True, nogil=True, error_model="numpy")
def clearly_full_rank(g: np.ndarray, p: int, rank_clear: float, work: np.ndarray) -> bool:
    """Whether the ``p x p`` Gram matrix ``g`` is clearly of full rank by R/qtl2's rule.

    Cholesky with diagonal pivoting takes the columns in the order of Eigen's
    ``ColPivHouseholderQR`` (largest remaining norm first) and its pivots are the squares of
    that factorisation's ``|R_kk|``: full rank when each exceeds ``rank_clear`` times the
    first. ``work`` is ``p x p`` scratch.
    """
    for a in range(p):
        for b in range(p):
            work[a, b] = g[a, b]
    done = np.zeros(p, dtype=np.bool_)
    first = 0.0
    for k in range(p):
        best = -1
        bestv = -1.0
        for a in range(p):
            if not done[a] and work[a, a] > bestv:
                bestv = work[a, a]
                best = a
        if k == 0:
            first = bestv
        if not (bestv > rank_clear * first) or first <= 0.0:
            return False
        done[best] = True
        for a in range(p):
            if done[a]:
                continue
            f = work[a, best] / bestv
            for b in range(p):
                if not done[b]:
                    work[a, b] -= f * work[best, b]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def rss_from_moment_rows(
    gram: np.ndarray,
    fx: np.ndarray,
    m0: int,
    cov_row: np.ndarray,
    cov_cnt: np.ndarray,
    y_row: np.ndarray,
    cov_gram: np.ndarray,
    cov_y: np.ndarray,
    yty: np.ndarray,
    pair_a: np.ndarray,
    pair_b: np.ndarray,
    rel_tol: float,
    rss: np.ndarray,
    ok: np.ndarray,
    share: np.ndarray,
    rank_clear: float = 1e-10,
) -> None:
    """Alternative-model RSS of many weighted regressions from their moments (one chunk).

    Trait ``t`` and marker ``m`` fit ``y_t ~ C_t b + X_m g`` in the metric ``W_t``; the
    moments are

    gram
        ``[mc, npair, T]``: packed ``X_m' W_t X_m`` of markers ``m0 .. m0 + mc - 1``.
    fx
        ``[mc, p, K]``: entries ``cov_row[t] .. cov_row[t] + cov_cnt[t] - 1`` of the last axis
        hold ``C_t' W_t X_m`` and entry ``y_row[t]`` holds ``X_m' W_t y_t``.
    cov_gram, cov_y, yty
        ``[T, cmax, cmax]``, ``[T, cmax]``, ``[T]``: ``C_t' W_t C_t``, ``C_t' W_t y_t``,
        ``y_t' W_t y_t`` (the first ``cov_cnt[t]`` entries used).

    The covariates are absorbed by a Schur complement and the ``p x p`` system is solved by
    Cholesky after Jacobi scaling. Where that would lose accuracy (a genotype column nearly
    explained by the covariates or the other columns, or a near-perfect fit) ``ok`` is set
    ``False`` so that the caller recomputes the entry with pivoted QR. So it is too where the
    block is not clearly of full rank by R/qtl2's rule: every pivot of the column-pivoted
    factorisation of the Schur complement must exceed ``rank_clear`` times the first (squared
    norms; 1e-10 is a norm ratio of 1e-5, far above the 1e-12 at which R/qtl2 drops a column
    and far above the accuracy of the moments). ``det(G) / max(diag G)^p`` bounds that ratio
    from below at no cost; only where the bound fails is the pivoted factorisation computed
    (:func:`clearly_full_rank`). Writes ``rss[t, m0 + j]`` and ``ok[t, m0 + j]``.

    ``share[t]`` says that trait ``t`` has the same ``X'WX``, ``C'WX`` and ``C'WC`` as trait
    ``t - 1`` (Haley-Knott traits with one missing-data pattern): the factorisation of the
    previous trait is reused and only the phenotype's right-hand side is solved.
    """
    mc, _, n_trait = gram.shape
    p = fx.shape[1]
    cmax = max(cov_gram.shape[1], 1)
    npair = pair_a.shape[0]
    # the covariate part of each trait first: Cholesky of C'WC, z = L^-1 C'Wy, null RSS
    lows = np.zeros((n_trait, cmax, cmax))
    zs = np.zeros((n_trait, cmax))
    rss0s = np.zeros(n_trait)
    usable = np.ones(n_trait, dtype=np.bool_)
    for t in range(n_trait):
        c = cov_cnt[t]
        low = lows[t]
        for j in range(c):
            s = cov_gram[t, j, j]
            for k in range(j):
                s -= low[j, k] * low[j, k]
            if not (s > 1e-10 * cov_gram[t, j, j]):
                usable[t] = False  # covariates dependent for this trait: exact path
                s = max(abs(cov_gram[t, j, j]), 1e-300)
            low[j, j] = math.sqrt(s)
            for i in range(j + 1, c):
                u = cov_gram[t, i, j]
                for k in range(j):
                    u -= low[i, k] * low[j, k]
                low[i, j] = u / low[j, j]
        for i in range(c):
            u = cov_y[t, i]
            for k in range(i):
                u -= low[i, k] * zs[t, k]
            zs[t, i] = u / low[i, i]
        r = yty[t]
        for i in range(c):
            r -= zs[t, i] * zs[t, i]
        rss0s[t] = r
    h = np.zeros((cmax, p))
    g = np.zeros((p, p))
    lg = np.zeros((p, p))
    zz = np.zeros(p)
    dscale = np.zeros(p)
    piv = np.zeros((p, p))
    # markers outer, traits inner: the chunk's moments are read in memory order
    for j in range(mc):
        m = m0 + j
        state = 0  # previous trait's factorisation: 0 none, 1 ready, 2 failed
        for t in range(n_trait):
            if not usable[t]:
                ok[t, m] = False
                state = 0
                continue
            c = cov_cnt[t]
            if not (share[t] and state):
                state = 1
                r0 = cov_row[t]
                low = lows[t]
                for a in range(p):
                    for i in range(c):
                        u = fx[j, a, r0 + i]
                        for k in range(i):
                            u -= low[i, k] * h[k, a]
                        h[i, a] = u / low[i, i]
                for q in range(npair):
                    v = gram[j, q, t]
                    g[pair_a[q], pair_b[q]] = v
                    g[pair_b[q], pair_a[q]] = v
                for a in range(p):
                    raw = g[a, a]
                    for b in range(a, p):
                        u = g[a, b]
                        for k in range(c):
                            u -= h[k, a] * h[k, b]
                        g[a, b] = u
                        g[b, a] = u
                    if not (g[a, a] > rel_tol * raw) or raw <= 0.0:
                        state = 2
                if state == 1:
                    gmax = 0.0
                    for a in range(p):
                        dscale[a] = 1.0 / math.sqrt(g[a, a])
                        gmax = max(gmax, g[a, a])
                    # Cholesky of the scaled Schur complement (unit diagonal); the product of
                    # its pivots times the diagonal is det(G), which bounds the smallest pivot
                    # of the column-pivoted factorisation (R/qtl2's rank rule) from below
                    bound = 1.0
                    for a in range(p):
                        s = 1.0
                        for k in range(a):
                            s -= lg[a, k] * lg[a, k]
                        if s <= rel_tol:
                            state = 2
                            break
                        la = math.sqrt(s)
                        lg[a, a] = la
                        bound *= s * (g[a, a] / gmax)
                        for i in range(a + 1, p):
                            u = g[i, a] * dscale[i] * dscale[a]
                            for k in range(a):
                                u -= lg[i, k] * lg[a, k]
                            lg[i, a] = u / la
                    if (
                        state == 1
                        and not (bound > rank_clear)
                        and not clearly_full_rank(g, p, rank_clear, piv)
                    ):
                        state = 2
            if state == 2:
                ok[t, m] = False
                continue
            # b = X'Wy - H'z, then b' G^-1 b by forward substitution
            quad = 0.0
            for a in range(p):
                u = fx[j, a, y_row[t]]
                for k in range(c):
                    u -= h[k, a] * zs[t, k]
                u *= dscale[a]
                for k in range(a):
                    u -= lg[a, k] * zz[k]
                zz[a] = u / lg[a, a]
                quad += zz[a] * zz[a]
            r1 = rss0s[t] - quad
            if not (r1 > rel_tol * rss0s[t]):
                ok[t, m] = False
                continue
            rss[t, m] = r1
            ok[t, m] = True


@njit(cache=True, nogil=True, error_model="numpy")
def symmetric_finite(a: np.ndarray, rtol: float, atol: float) -> bool:
    """Whether the square ``a`` is finite and ``|a_ij - a_ji| <= atol + rtol |a_ij|`` everywhere.

    The rule of :func:`~translocus.genetics.lmm.as_kinship_frame` (``np.allclose``'s, for every
    entry against its transpose), in one pass over ``a`` without the temporaries of
    ``a - a.T``: a LOCO scan checks twenty matrices before it starts. Tiles of the transpose
    are copied to a small buffer so that the comparisons run over contiguous rows.
    """
    n = a.shape[0]
    tile = 64
    buf = np.empty((tile, tile))
    for i0 in range(0, n, tile):
        i1 = min(n, i0 + tile)
        for j0 in range(0, i1, tile):
            j1 = min(n, j0 + tile)
            for j in range(j0, j1):  # buf[i - i0, j - j0] = a[j, i]
                for i in range(i0, i1):
                    buf[i - i0, j - j0] = a[j, i]
            bad = 0
            for i in range(i0, i1):
                for j in range(j0, j1):
                    x = a[i, j]
                    y = buf[i - i0, j - j0]
                    d = abs(x - y)
                    # NaN and infinity fail the comparisons (inf - inf is NaN)
                    ok = d <= abs(x) * rtol + atol and d <= abs(y) * rtol + atol
                    bad += not (ok and abs(x) < math.inf)
            if bad:
                return False
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def weighted_squares(wy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[T]``: ``sum_i wy[i, t] y[i, t]``, each column summed over the individuals in order.

    So a trait's ``y' W y`` does not depend on the columns beside it (``np.einsum`` takes
    another inner loop for one column than for several, which rounds differently).
    """
    n, n_col = y.shape
    out = np.zeros(n_col)
    for t in range(n_col):
        s = 0.0
        for i in range(n):
            s += wy[i, t] * y[i, t]
        out[t] = s
    return out
