"""Numba kernels of the disease-course model: many small covariance matrices at once.

Each animal-and-measure block of the residual covariance is small (one row per visit), and
there are thousands of them; a compiled loop factorises them far faster than a batched
LAPACK call pays its per-matrix overhead.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from translocus.progression._linalg_numba import inverse_from_factor, lower_inverse


@njit(cache=True)
def covariance_inverse(
    t: np.ndarray,
    mask: np.ndarray,
    t0: float,
    sb2: np.ndarray,
    cbs: np.ndarray,
    ss2: np.ndarray,
    su2: np.ndarray,
    se2: np.ndarray,
    ell: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of every residual covariance block.

    A block is ``sb2 + cbs (s + s') + ss2 s s' + su2 exp(-|t - t'|/ell) + se2 I`` with
    ``s = t - t0``: random intercept and slope, Ornstein-Uhlenbeck drift and noise.

    Parameters
    ----------
    t, mask
        Visit ages and validity ``[A, K, T]``; padded visits get a unit diagonal.
    t0
        Centre of the random slope (months).
    sb2, cbs, ss2, su2, se2, ell
        Per measure ``[K]``: intercept variance, intercept-slope covariance, slope
        variance, drift variance, noise variance, drift time scale.

    Returns
    -------
    inv ``[A, K, T, T]`` (zero rows/columns at padded visits) and logdet ``[A, K]``.
    """
    n_a, n_k, n_t = t.shape
    inv = np.zeros((n_a, n_k, n_t, n_t))
    logdet = np.zeros((n_a, n_k))
    cov = np.zeros((n_t, n_t))
    block = np.zeros((n_t, n_t))
    low = np.zeros((n_t, n_t))
    linv = np.zeros((n_t, n_t))
    idx = np.empty(n_t, dtype=np.int64)
    for a in range(n_a):
        for k in range(n_k):
            n = 0
            for i in range(n_t):
                if mask[a, k, i]:
                    idx[n] = i
                    n += 1
            if n == 0:
                continue
            for i in range(n):
                ti = t[a, k, idx[i]] - t0
                for j in range(i + 1):
                    tj = t[a, k, idx[j]] - t0
                    v = sb2[k] + cbs[k] * (ti + tj) + ss2[k] * ti * tj
                    v += su2[k] * np.exp(-abs(ti - tj) / ell[k])
                    if i == j:
                        v += se2[k]
                    cov[i, j] = v
                    cov[j, i] = v
            logdet[a, k] = _factor_inverse(cov, n, block, low, linv)
            for i in range(n):
                for j in range(n):
                    inv[a, k, idx[i], idx[j]] = block[i, j]
    return inv, logdet


@njit(cache=True)
def _factor_inverse(
    cov: np.ndarray, n: int, inv: np.ndarray, low: np.ndarray, linv: np.ndarray
) -> float:
    """Inverse of the leading ``n x n`` block of ``cov`` into ``inv``; returns log det.

    ``low`` and ``linv`` are scratch of at least ``n x n``.
    """
    ld = 0.0
    for j in range(n):
        s = cov[j, j]
        for p in range(j):
            s -= low[j, p] * low[j, p]
        d = np.sqrt(max(s, 1e-300))
        low[j, j] = d
        ld += 2.0 * np.log(d)
        for i in range(j + 1, n):
            s = cov[i, j]
            for p in range(j):
                s -= low[i, p] * low[j, p]
            low[i, j] = s / d
    lower_inverse(low[:n, :n], linv[:n, :n])
    inverse_from_factor(linv[:n, :n], inv[:n, :n])
    return ld


@njit(cache=True, parallel=True)
def loglik_gradient(
    t: np.ndarray,
    mask: np.ndarray,
    resid: np.ndarray,
    jac: np.ndarray,
    prior_prec: np.ndarray,
    laplace: bool,
    t0: float,
    sb2: np.ndarray,
    cbs: np.ndarray,
    ss2: np.ndarray,
    su2: np.ndarray,
    se2: np.ndarray,
    ell: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Laplace log marginal likelihood of the residuals and its gradient sums.

    For each animal the blocks of its measures are factorised; with ``laplace`` the
    animal's (tau, xi) are integrated out through ``-1/2 log|J' V^-1 J + P^-1|``.
    Animals are split into 64 chunks that run in parallel; each chunk sums into its own
    row and the caller adds the rows up (a reduction here would be split by thread, and
    its rounding would change with the number of threads).

    Returns
    -------
    ``loglik [C]`` and ``grad [C, 6, K]`` per chunk of animals: the log-likelihood and
    d loglik / d (sb2, cbs, ss2, su2, se2, ell) per measure; their sums over the chunks are
    the totals.
    """
    n_a, n_k, n_t = t.shape
    n_chunks = min(n_a, 64)
    grads = np.zeros((n_chunks, 6, n_k))
    totals = np.zeros(n_chunks)
    for c in prange(n_chunks):
        grad = grads[c]
        total = 0.0
        inv = np.zeros((n_k, n_t, n_t))
        vj = np.zeros((n_k, n_t, 2))
        alpha = np.zeros((n_k, n_t))
        counts = np.zeros(n_k, dtype=np.int64)
        idx = np.zeros((n_k, n_t), dtype=np.int64)
        cov = np.zeros((n_t, n_t))
        corr = np.zeros((n_k, n_t, n_t))  # exp(-|t_i - t_j| / ell), reused by the gradient
        low = np.zeros((n_t, n_t))
        linv = np.zeros((n_t, n_t))
        hess = np.zeros((2, 2))
        h_inv = np.zeros((2, 2))
        for a in range(c * n_a // n_chunks, (c + 1) * n_a // n_chunks):
            hess[0, 0] = prior_prec[0]
            hess[1, 1] = prior_prec[1]
            hess[0, 1] = 0.0
            hess[1, 0] = 0.0
            for k in range(n_k):
                n = 0
                for i in range(n_t):
                    if mask[a, k, i]:
                        idx[k, n] = i
                        n += 1
                counts[k] = n
                if n == 0:
                    continue
                for i in range(n):
                    ti = t[a, k, idx[k, i]] - t0
                    for j in range(i + 1):
                        tj = t[a, k, idx[k, j]] - t0
                        e = np.exp(-abs(ti - tj) / ell[k])
                        corr[k, i, j] = e
                        corr[k, j, i] = e
                        v = sb2[k] + cbs[k] * (ti + tj) + ss2[k] * ti * tj + su2[k] * e
                        if i == j:
                            v += se2[k]
                        cov[i, j] = v
                        cov[j, i] = v
                total -= 0.5 * _factor_inverse(cov, n, inv[k], low, linv)
                for i in range(n):
                    s = 0.0
                    for j in range(n):
                        s += inv[k, i, j] * resid[a, k, idx[k, j]]
                    alpha[k, i] = s
                    total -= 0.5 * s * resid[a, k, idx[k, i]]
                if laplace:
                    for i in range(n):
                        for p in range(2):
                            s = 0.0
                            for j in range(n):
                                s += inv[k, i, j] * jac[a, k, idx[k, j], p]
                            vj[k, i, p] = s
                    for p in range(2):
                        for q in range(2):
                            s = 0.0
                            for i in range(n):
                                s += jac[a, k, idx[k, i], p] * vj[k, i, q]
                            hess[p, q] += s
            if laplace:
                det = hess[0, 0] * hess[1, 1] - hess[0, 1] * hess[1, 0]
                total -= 0.5 * np.log(det)
                h_inv[0, 0] = hess[1, 1] / det
                h_inv[1, 1] = hess[0, 0] / det
                h_inv[0, 1] = -hess[0, 1] / det
                h_inv[1, 0] = -hess[1, 0] / det
            for k in range(n_k):
                n = counts[k]
                for i in range(n):
                    ti = t[a, k, idx[k, i]] - t0
                    for j in range(n):
                        tj = t[a, k, idx[k, j]] - t0
                        g = alpha[k, i] * alpha[k, j] - inv[k, i, j]
                        if laplace:
                            for p in range(2):
                                for q in range(2):
                                    g += vj[k, i, p] * h_inv[p, q] * vj[k, j, q]
                        e = corr[k, i, j]
                        grad[0, k] += 0.5 * g
                        grad[1, k] += 0.5 * g * (ti + tj)
                        grad[2, k] += 0.5 * g * ti * tj
                        grad[3, k] += 0.5 * g * e
                        if i == j:
                            grad[4, k] += 0.5 * g
                        grad[5, k] += 0.5 * g * su2[k] * e * abs(ti - tj) / (ell[k] * ell[k])
        totals[c] = total
    return totals, grads


@njit(cache=True)
def _cubic_basis(
    x: float, knots0: float, step: float, n_knots: int, derivative: bool, w: np.ndarray
) -> int:
    """The four non-zero uniform cubic B-splines at ``x`` (clamped to the knots) into ``w``.

    Returns the index of the first of them; ``derivative`` gives their derivatives in ``x``
    instead (zero beyond the knots, where the curve is constant).
    """
    top = knots0 + (n_knots - 1) * step - 1e-9 * step
    inside = x >= knots0 and x <= top
    pos = (min(max(x, knots0), top) - knots0) / step
    j = min(int(np.floor(pos)), n_knots - 2)
    u = pos - j
    if derivative:
        scale = 1.0 / step if inside else 0.0
        w[0] = -0.5 * (1 - u) ** 2 * scale
        w[1] = (1.5 * u - 2.0) * u * scale
        w[2] = ((-1.5 * u + 1.0) * u + 0.5) * scale
        w[3] = 0.5 * u * u * scale
    else:
        u2 = u * u
        u3 = u2 * u
        w[0] = (1 - u) ** 3 / 6.0
        w[1] = (3 * u3 - 6 * u2 + 4) / 6.0
        w[2] = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6.0
        w[3] = u3 / 6.0
    return j


@njit(cache=True)
def spline_values(
    psi: np.ndarray, knots0: float, step: float, n_knots: int, coef: np.ndarray, derivative: bool
) -> np.ndarray:
    """Uniform cubic spline of measure ``k`` at ``psi[a, k, t]`` (or its derivative in ``psi``).

    ``coef`` is ``[K, n_knots + 2]``; the curve is clamped (constant beyond the knots), so the
    derivative is zero there.
    """
    n_a, n_k, n_t = psi.shape
    out = np.empty((n_a, n_k, n_t))
    w = np.empty(4)
    for a in range(n_a):
        for k in range(n_k):
            for i in range(n_t):
                j = _cubic_basis(psi[a, k, i], knots0, step, n_knots, derivative, w)
                out[a, k, i] = (
                    w[0] * coef[k, j]
                    + w[1] * coef[k, j + 1]
                    + w[2] * coef[k, j + 2]
                    + w[3] * coef[k, j + 3]
                )
    return out


@njit(cache=True)
def gls_moments(
    psi: np.ndarray,
    mask: np.ndarray,
    y: np.ndarray,
    inv: np.ndarray,
    x: np.ndarray,
    knots0: float,
    step: float,
    n_knots: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``sum_a D' V^-1 D`` and ``sum_a D' V^-1 y`` per measure for the course GLS.

    ``D`` (per animal and measure) holds the clamped cubic B-spline basis of disease age
    ``psi`` (``n_knots + 2`` columns, four non-zero per visit) then the covariates ``x[a]``;
    masked visits are zero rows. Returns ``[K, P, P]`` and ``[K, P]``.
    """
    n_a, n_k, n_t = psi.shape
    nb = n_knots + 2
    q = x.shape[1]
    p = nb + q
    lhs = np.zeros((n_k, p, p))
    rhs = np.zeros((n_k, p))
    design = np.zeros((n_t, p))
    vd = np.zeros((n_t, p))
    w = np.empty(4)
    for a in range(n_a):
        for k in range(n_k):
            design[:, :] = 0.0
            for i in range(n_t):
                if not mask[a, k, i]:
                    continue
                j = _cubic_basis(psi[a, k, i], knots0, step, n_knots, False, w)
                for r in range(4):
                    design[i, j + r] = w[r]
                for c in range(q):
                    design[i, nb + c] = x[a, c]
            for i in range(n_t):
                for c in range(p):
                    s = 0.0
                    for r in range(n_t):
                        s += inv[a, k, i, r] * design[r, c]
                    vd[i, c] = s
            for c in range(p):
                s = 0.0
                for i in range(n_t):
                    if mask[a, k, i]:
                        s += vd[i, c] * y[a, k, i]
                rhs[k, c] += s
                for d in range(c + 1):
                    s = 0.0
                    for i in range(n_t):
                        s += design[i, c] * vd[i, d]
                    lhs[k, c, d] += s
    for k in range(n_k):
        for c in range(p):
            for d in range(c):
                lhs[k, d, c] = lhs[k, c, d]
    return lhs, rhs
