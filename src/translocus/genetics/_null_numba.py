"""The null linear mixed model (numba): profile log-likelihood and R/qtl2's h² search.

:func:`calc_loglik` is R/qtl2's ``calcLL`` for one trait at one h². :func:`brent_fit_lmm`
fits many traits: each keeps its own Brent search (R's ``optimize``, so h² follows the same
path of evaluations as R/qtl2's ``fitLMM``), but the searches of :data:`LANES` traits advance
together, so that the likelihoods of all of them are evaluated in one pass over the
individuals with the traits in the innermost (vectorised) loop. A trait's sums still run over
the individuals in the same order with the same operations as :func:`calc_loglik`'s, so its
h² is bit for bit what its own search gives and never depends on the traits beside it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["LANES", "brent_fit_lmm", "calc_loglik", "loglik_from_sums"]

#: Traits whose searches advance together.
LANES = 64
_GOLD = (3.0 - math.sqrt(5.0)) * 0.5
_EPS = math.sqrt(2.220446049250313e-16)
# lane state rows
_A, _B, _V, _W, _X, _D, _E, _FX, _FV, _FW, _U = range(11)


@njit(cache=True, nogil=True, error_model="numpy")
def loglik_from_sums(
    logdet_v: float,
    ysy: float,
    xsx: np.ndarray,
    xsy: np.ndarray,
    n: int,
    reml: bool,
    logdet_xpx: float,
) -> tuple[float, float, float]:
    """:func:`calc_loglik` from its weighted sums: ``log |V|``, ``y'V⁻¹y``, the lower triangle
    of ``X'V⁻¹X`` and ``X'V⁻¹y``."""
    p = xsx.shape[0]
    low = np.zeros((p, p))
    logdet_xsx = 0.0
    for j in range(p):
        u = xsx[j, j]
        for k in range(j):
            u -= low[j, k] * low[j, k]
        if not (u > 0.0):
            return math.nan, math.nan, math.nan
        low[j, j] = math.sqrt(u)
        logdet_xsx += 2.0 * math.log(low[j, j])
        for i in range(j + 1, p):
            v = xsx[i, j]
            for k in range(j):
                v -= low[i, k] * low[j, k]
            low[i, j] = v / low[j, j]
    z = np.zeros(p)
    quad = 0.0
    for i in range(p):
        v = xsy[i]
        for k in range(i):
            v -= low[i, k] * z[k]
        z[i] = v / low[i, i]
        quad += z[i] * z[i]
    rss = ysy - quad
    sigmasq = rss / (n - p if reml else n)
    loglik = -0.5 * (n * math.log(rss) + logdet_v)
    if reml:
        loglik += 0.5 * (p * math.log(2.0 * math.pi * sigmasq) + logdet_xpx - logdet_xsx)
    return loglik, rss, sigmasq


@njit(cache=True, nogil=True, error_model="numpy")
def calc_loglik(
    hsq: float,
    lam: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    reml: bool,
    logdet_xpx: float,
    n_extra: int,
) -> tuple[float, float, float]:
    """Profile log-likelihood of the null LMM at ``hsq`` (R/qtl2's ``calcLL``).

    ``lam`` are the eigenvalues of 2K; ``y`` and ``x`` are rotated by the eigenvectors.
    ``n_extra`` further directions with eigenvalue 0 and no data rows of their own (their
    sums are carried by the rows given) count in ``n`` and in ``log |V|``.
    Returns ``(loglik, rss, sigmasq)`` with constants dropped as R/qtl2 does.
    """
    n = lam.shape[0] + n_extra
    p = x.shape[1]
    m = lam.shape[0]
    s = np.empty(m)
    logdet_v = 0.0
    if n_extra > 0:
        logdet_v = n_extra * math.log(1.0 - hsq) if hsq < 1.0 else math.nan
    # log |V| = sum log d_i, taking one log per product of up to 8 moderate factors (the logs
    # dominate the cost of an evaluation); extreme or non-positive factors go one by one
    prod = 1.0
    count = 0
    for i in range(m):
        d = hsq * lam[i] + 1.0 - hsq
        s[i] = 1.0 / d
        if 1e-30 < d < 1e30:
            prod *= d
            count += 1
            if count == 8:
                logdet_v += math.log(prod)
                prod = 1.0
                count = 0
        else:
            logdet_v += math.log(d) if d > 0.0 else math.nan
    if count:
        logdet_v += math.log(prod)
    xsx = np.zeros((p, p))
    xsy = np.zeros(p)
    ysy = 0.0
    for i in range(m):
        w = s[i]
        ysy += y[i] * y[i] * w
        for a in range(p):
            xa = x[i, a] * w
            xsy[a] += xa * y[i]
            for b in range(a + 1):
                xsx[a, b] += xa * x[i, b]
    return loglik_from_sums(logdet_v, ysy, xsx, xsy, n, reml, logdet_xpx)


@njit(cache=True, nogil=True, error_model="numpy")
def _evaluate(hs: np.ndarray, nl: int, lam: np.ndarray, y: np.ndarray, t0: int, x: np.ndarray,
              reml: bool, logdet_xpx: float, n_extra: int, lam_lo: float, lam_hi: float,
              out: np.ndarray) -> None:  # fmt: skip
    """``calc_loglik(hs[k], ..., y[:, t0 + k], ...)`` of lanes ``k < nl`` into ``out[:, k]``."""
    m = lam.shape[0]
    p = x.shape[1]
    n = m + n_extra
    logdet = np.zeros(nl)
    prod = np.ones(nl)
    ysy = np.zeros(nl)
    xsx = np.zeros((p, p, nl))
    xsy = np.zeros((p, nl))
    s = np.empty(nl)
    fast = np.ones(nl, dtype=np.bool_)
    for k in range(nl):
        h = hs[k]
        if n_extra > 0:
            logdet[k] = n_extra * math.log(1.0 - h) if h < 1.0 else math.nan
        # d is monotone in the eigenvalue: all factors moderate when both ends are
        d_lo = h * lam_lo + 1.0 - h
        d_hi = h * lam_hi + 1.0 - h
        fast[k] = 1e-30 < d_lo < 1e30 and 1e-30 < d_hi < 1e30
    for i in range(m):
        li = lam[i]
        yi = y[i, t0 : t0 + nl]
        for k in range(nl):
            d = hs[k] * li + 1.0 - hs[k]
            s[k] = 1.0 / d
            prod[k] *= d
            ysy[k] += yi[k] * yi[k] * s[k]
        if i % 8 == 7:  # one log per product of 8 factors, as calc_loglik
            for k in range(nl):
                logdet[k] += math.log(prod[k])
                prod[k] = 1.0
        for a in range(p):
            xia = x[i, a]
            xsy_a = xsy[a]
            for k in range(nl):
                xsy_a[k] += xia * s[k] * yi[k]
            for b in range(a + 1):
                xib = x[i, b]
                xsx_ab = xsx[a, b]
                for k in range(nl):
                    xsx_ab[k] += xia * s[k] * xib
    if m % 8:
        for k in range(nl):
            logdet[k] += math.log(prod[k])
    g = np.zeros((p, p))
    v = np.zeros(p)
    for k in range(nl):
        if not fast[k]:  # an extreme factor: the one-trait evaluation handles it
            ll, rss, s2 = calc_loglik(hs[k], lam, y[:, t0 + k].copy(), x, reml, logdet_xpx,
                                      n_extra)  # fmt: skip
        else:
            for a in range(p):
                v[a] = xsy[a, k]
                for b in range(a + 1):
                    g[a, b] = xsx[a, b, k]
            ll, rss, s2 = loglik_from_sums(logdet[k], ysy[k], g, v, n, reml, logdet_xpx)
        out[0, k] = ll
        out[1, k] = rss
        out[2, k] = s2


@njit(cache=True, nogil=True, error_model="numpy")
def _next_point(st: np.ndarray, k: int, tol3: float) -> bool:
    """Brent's convergence test and next trial point of lane ``k``; True when converged."""
    a = st[_A, k]
    b = st[_B, k]
    x0 = st[_X, k]
    d = st[_D, k]
    e = st[_E, k]
    xm = (a + b) * 0.5
    tol1 = _EPS * abs(x0) + tol3
    t2 = tol1 * 2.0
    if abs(x0 - xm) <= t2 - (b - a) * 0.5:
        return True
    p = 0.0
    q = 0.0
    r = 0.0
    if abs(e) > tol1:
        w = st[_W, k]
        v = st[_V, k]
        fx = st[_FX, k]
        r = (x0 - w) * (fx - st[_FV, k])
        q = (x0 - v) * (fx - st[_FW, k])
        p = (x0 - v) * q - (x0 - w) * r
        q = (q - r) * 2.0
        if q > 0.0:
            p = -p
        else:
            q = -q
        r = e
        e = d
    if abs(p) >= abs(q * 0.5 * r) or p <= q * (a - x0) or p >= q * (b - x0):
        e = (b - x0) if x0 < xm else (a - x0)
        d = _GOLD * e
    else:
        d = p / q
        u = x0 + d
        if u - a < t2 or b - u < t2:
            d = tol1
            if x0 >= xm:
                d = -d
    if abs(d) >= tol1:
        u = x0 + d
    elif d > 0.0:
        u = x0 + tol1
    else:
        u = x0 - tol1
    st[_D, k] = d
    st[_E, k] = e
    st[_U, k] = u
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def _take(st: np.ndarray, k: int, fu: float) -> None:
    """Brent's update of lane ``k`` with the value ``fu`` at its trial point."""
    u = st[_U, k]
    x0 = st[_X, k]
    if fu <= st[_FX, k]:
        if u < x0:
            st[_B, k] = x0
        else:
            st[_A, k] = x0
        st[_V, k] = st[_W, k]
        st[_W, k] = x0
        st[_X, k] = u
        st[_FV, k] = st[_FW, k]
        st[_FW, k] = st[_FX, k]
        st[_FX, k] = fu
    else:
        if u < x0:
            st[_A, k] = u
        else:
            st[_B, k] = u
        w = st[_W, k]
        v = st[_V, k]
        if fu <= st[_FW, k] or w == x0:
            st[_V, k] = w
            st[_FV, k] = st[_FW, k]
            st[_W, k] = u
            st[_FW, k] = fu
        elif fu <= st[_FV, k] or v == x0 or v == w:  # noqa: SIM109 (numba)
            st[_V, k] = u
            st[_FV, k] = fu


@njit(cache=True, nogil=True, error_model="numpy")
def brent_fit_lmm(
    lam: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    reml: bool,
    logdet_xpx: float,
    tol: float,
    check_boundary: bool,
    n_extra: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Null LMM fits of the columns of ``y`` (``[n, T]``) as R/qtl2's ``fitLMM``.

    Returns ``(hsq, loglik_ml, sigmasq, rss)``, each ``[T]``: the REML (or ML) estimate of h²
    by R's ``optimize`` (Brent's ``fmin``) on ``[0, 1]``, the boundaries 0 and 1 checked when
    ``check_boundary``, the ML log-likelihood at that h² (what the LOD uses), the residual
    variance from the fitting criterion and the weighted RSS. The searches of :data:`LANES`
    traits advance together (module docstring); each trait's result is what its own search
    gives.
    """
    n_trait = y.shape[1]
    hsq = np.empty(n_trait)
    loglik = np.empty(n_trait)
    sigmasq = np.empty(n_trait)
    rss = np.empty(n_trait)
    if n_trait == 0:
        return hsq, loglik, sigmasq, rss
    lam_lo = lam.min()
    lam_hi = lam.max()
    tol3 = tol / 3.0
    st = np.zeros((11, LANES))
    hs = np.empty(LANES)
    out = np.empty((3, LANES))
    alt = np.empty((3, LANES))
    active = np.zeros(LANES, dtype=np.bool_)
    for t0 in range(0, n_trait, LANES):
        nl = min(LANES, n_trait - t0)
        for k in range(nl):
            st[:, k] = 0.0
            st[_B, k] = 1.0
            st[_X, k] = _GOLD  # a + c (b - a)
            st[_V, k] = _GOLD
            st[_W, k] = _GOLD
            hs[k] = _GOLD
        _evaluate(hs, nl, lam, y, t0, x, reml, logdet_xpx, n_extra, lam_lo, lam_hi, out)
        left = 0
        for k in range(nl):
            st[_FX, k] = -out[0, k]
            st[_FV, k] = st[_FX, k]
            st[_FW, k] = st[_FX, k]
            active[k] = not _next_point(st, k, tol3)
            if active[k]:
                left += 1
        for _ in range(10000):
            if left == 0:
                break
            for k in range(nl):
                hs[k] = st[_U, k] if active[k] else st[_X, k]
            _evaluate(hs, nl, lam, y, t0, x, reml, logdet_xpx, n_extra, lam_lo, lam_hi, out)
            for k in range(nl):
                if active[k]:
                    _take(st, k, -out[0, k])
                    if _next_point(st, k, tol3):
                        active[k] = False
                        left -= 1
        # the optimum, then the boundaries, then the ML log-likelihood
        for k in range(nl):
            hs[k] = st[_X, k]
        _evaluate(hs, nl, lam, y, t0, x, reml, logdet_xpx, n_extra, lam_lo, lam_hi, out)
        if check_boundary:
            for hb in (0.0, 1.0):
                bound = np.full(LANES, hb)
                _evaluate(bound, nl, lam, y, t0, x, reml, logdet_xpx, n_extra, lam_lo, lam_hi,
                          alt)  # fmt: skip
                for k in range(nl):
                    if alt[0, k] > out[0, k]:
                        out[:, k] = alt[:, k]
                        hs[k] = hb
        for k in range(nl):
            hsq[t0 + k] = hs[k]
            sigmasq[t0 + k] = out[2, k]
            rss[t0 + k] = out[1, k]
        _evaluate(hs, nl, lam, y, t0, x, False, logdet_xpx, n_extra, lam_lo, lam_hi, out)
        for k in range(nl):
            loglik[t0 + k] = out[0, k]
    return hsq, loglik, sigmasq, rss
