"""Numba kernels of the joint model: each animal's posterior and its survival integral.

The likelihood of :class:`~translocus.progression.joint.JointModel` is, per animal, a
Gauss-Hermite sum over the posterior of its random effects of a term that needs the
hazard at every Gauss-Legendre age of its cumulative hazard: ``animals x nodes x ages``
values, which numpy builds as several temporaries of that size per evaluation and the
optimiser evaluates thousands of times. Here each animal is one iteration of a parallel
loop (``prange``) over small per-animal buffers, the hazards of all nodes at one age come
from ``r`` times the nodes per effect exponentials (the grid is a product), and the
posterior's ``r x r`` algebra (``r`` random effects, at most 3) is written out by hand in
one serial pass (too little work an animal to pay for threads).

Scaled ages ``s = (t - centre) / 12`` (years from the model's centre age). The course of an
animal at node ``b`` is the polynomial ``m(s) = sum_j c_j s^j`` with
``c_j = beta_j + b_j (+ w'beta_w for j = 0)``; its log hazard::

    log h(s) = g0 + w'gamma + (g1 + w'gamma_age) s + sum_j spline_j B_j(s)
               + (alpha + alpha_age s) m(s) + (alpha_slope + alpha_slope_age s) m'(s)
               + alpha_peak fall(s)

with ``fall`` the course's fall below its peak since entry (:func:`fall_from_peak`).

The gradient: the survival parameters leave the nodes ``b_k = mean_i + chol_i u_k`` where
they are (:func:`_gradient`); the longitudinal ones also move the course's coefficients
``c_j`` in the hazard and the nodes themselves, so :func:`survival_terms` sums, per
animal, how its term moves with each ``c_j`` and with the nodes' mean and factor
(:func:`_course_gradient`), and :func:`posterior_gradient` chains those through the
posterior's closed form (animals in parallel).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from translocus.progression._linalg_numba import inverse_from_factor, lower_inverse, matmul

__all__ = [
    "fall_from_peak",
    "natural_spline",
    "posterior",
    "posterior_gradient",
    "product_grid",
    "survival_terms",
]

#: Months per unit of the scaled age ``s``.
_AGE_SCALE = 12.0
#: Largest exponent taken (hazards beyond exp(700) are infinite anyway).
_EXP_MAX = 700.0
#: Order of the hazard's scalar parameters in ``hazard`` of :func:`survival_terms`.
HAZARD_FIELDS = (
    "centre", "g0", "g1", "alpha", "alpha_age", "alpha_slope", "alpha_slope_age", "alpha_peak",
)  # fmt: skip
#: Gradient columns of :func:`survival_terms` besides the spline ones (which start at 2):
#: ``[1, s, B_1(s) .. B_J(s), m, m', s m, s m', fall]``: the derivatives of ``log h`` in
#: ``g0, g1, spline_1 .. spline_J, alpha, alpha_slope, alpha_age, alpha_slope_age,
#: alpha_peak`` (a covariate's ``gamma`` and ``gamma_age`` take ``w`` times the first two).
N_FIXED_FEATURES = 7


@njit(cache=True, nogil=True)
def _fall(c1: float, c2: float, s: float, s_e: float) -> float:
    """How far ``c0 + c1 s + c2 s^2`` at ``s`` lies below its largest value on ``[s_e, s]``.

    The largest value is at an end or, for a concave course, at the vertex
    ``v = -c1 / (2 c2)`` when it lies inside, where ``m(v) - m(s) = -c2 (s - v)^2``.
    """
    from_entry = c1 * (s - s_e) + c2 * (s * s - s_e * s_e)
    from_vertex = 0.0
    if c2 < 0.0:
        vertex = -c1 / (2.0 * c2)
        if s_e < vertex < s:
            from_vertex = c2 * (s - vertex) ** 2
    return -min(min(from_entry, 0.0), from_vertex)


@njit(cache=True, nogil=True, parallel=True)
def fall_from_peak(c1: np.ndarray, c2: np.ndarray, s: np.ndarray, s_e: np.ndarray) -> np.ndarray:
    """The fall below the peak since entry of many quadratic courses at many ages.

    Parameters
    ----------
    c1, c2
        ``[n, K]``: linear and quadratic coefficients of each animal's course at each node.
    s
        ``[n, L]``: scaled ages.
    s_e
        ``[n]``: scaled entry ages.

    Returns
    -------
    ``[n, K, L]``, non-negative.
    """
    n, k_count = c1.shape
    out = np.empty((n, k_count, s.shape[1]))
    for i in prange(n):
        for k in range(k_count):
            for j in range(s.shape[1]):
                out[i, k, j] = _fall(c1[i, k], c2[i, k], s[i, j], s_e[i])
    return out


@njit(cache=True, nogil=True)
def _spline_row(s: float, knots: np.ndarray, out: np.ndarray) -> None:
    """Natural cubic spline terms of one age (Harrell's restricted cubic spline)."""
    last = knots[-1]
    before = knots[-2]
    span = (last - before) * (last - knots[0]) ** 2
    tail_before = max(s - before, 0.0) ** 3
    tail_last = max(s - last, 0.0) ** 3
    for j in range(knots.size - 2):
        out[j] = (
            max(s - knots[j], 0.0) ** 3 * (last - before)
            - tail_before * (last - knots[j])
            + tail_last * (before - knots[j])
        ) / span


@njit(cache=True, nogil=True)
def natural_spline(s: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Nonlinear terms ``[m, len(knots) - 2]`` of a natural cubic spline at ages ``s [m]``."""
    out = np.zeros((s.size, max(knots.size - 2, 0)))
    for i in range(s.size):
        _spline_row(s[i], knots, out[i])
    return out


@njit(cache=True, nogil=True)
def _cholesky(a: np.ndarray, low: np.ndarray) -> bool:
    """Lower Cholesky factor of a small symmetric matrix into ``low``; False if not positive."""
    r = a.shape[0]
    for i in range(r):
        for j in range(i + 1):
            v = a[i, j]
            for p in range(j):
                v -= low[i, p] * low[j, p]
            if i == j:
                if not v > 0.0:  # also catches NaN
                    return False
                low[i, i] = np.sqrt(v)
            else:
                low[i, j] = v / low[j, j]
        for j in range(i + 1, r):
            low[i, j] = 0.0
    return True


@njit(cache=True, nogil=True)
def posterior(
    index: np.ndarray,
    s: np.ndarray,
    resid: np.ndarray,
    n: int,
    d_inv: np.ndarray,
    sigma2: float,
    log_det_d: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``log p(y_i)`` and the Gaussian posterior of every animal's random effects.

    With ``P_i = D^-1 + Z_i'Z_i / sigma^2`` and ``c_i = Z_i'r_i / sigma^2``:
    ``b | y_i ~ N(P_i^-1 c_i, P_i^-1)`` and ``log p(y_i) = -(n_i log(2 pi sigma^2) + log|D|
    + log|P_i| + r'r / sigma^2 - c'P^-1 c) / 2``; ``Z_i`` has the columns ``s^0 .. s^(r-1)``.

    Parameters
    ----------
    index, s, resid
        ``[m]``: the animal of each measurement, its scaled age and its residual from the
        fixed course.
    n
        Number of animals.
    d_inv, sigma2, log_det_d
        Inverse ``[r, r]`` and log-determinant of the random effects' covariance ``D``; the
        residual variance.

    Returns
    -------
    ``logpy [n]``, ``mean [n, r]``, ``chol [n, r, r]`` (lower Cholesky factor of each
    posterior covariance) and ``ok``: False when some ``P_i`` is not positive definite.
    """
    r = d_inv.shape[0]
    moments = np.zeros((n, 2 * r - 1))
    cross = np.zeros((n, r))
    squares = np.zeros(n)
    for j in range(index.size):  # in measurement order, as np.bincount sums
        i = index[j]
        power = 1.0
        for k in range(2 * r - 1):
            moments[i, k] += power
            if k < r:
                cross[i, k] += power * resid[j]
            power *= s[j]
        squares[i] += resid[j] * resid[j]
    logpy = np.empty(n)
    mean = np.zeros((n, r))
    chol = np.zeros((n, r, r))
    failed = np.zeros(n, dtype=np.bool_)
    log_2pi_s2 = np.log(2.0 * np.pi * sigma2)
    # well under a microsecond an animal: starting threads would cost more than they save
    prec = np.empty((r, r))
    low = np.zeros((r, r))
    linv = np.zeros((r, r))
    cov = np.empty((r, r))
    for i in range(n):
        for a in range(r):
            for b in range(r):
                prec[a, b] = d_inv[a, b] + moments[i, a + b] / sigma2
        if not _cholesky(prec, low):
            failed[i] = True
            continue
        log_det_p = 0.0
        for a in range(r):
            log_det_p += 2.0 * np.log(low[a, a])
        # cov = P^-1 = L^-T L^-1 from the inverse of the factor
        lower_inverse(low, linv)
        inverse_from_factor(linv, cov)
        quad = 0.0
        for a in range(r):
            v = 0.0
            for b in range(r):
                v += cov[a, b] * cross[i, b] / sigma2
            mean[i, a] = v
            quad += v * cross[i, a] / sigma2
        if not _cholesky(cov, chol[i]):
            failed[i] = True
            continue
        logpy[i] = -0.5 * (
            moments[i, 0] * log_2pi_s2 + log_det_d + log_det_p + squares[i] / sigma2 - quad
        )
    return logpy, mean, chol, not failed.any()


@njit(cache=True, nogil=True)
def _points(
    start: float,
    stop: float,
    x_legendre: np.ndarray,
    w_legendre: np.ndarray,
    wbeta: float,
    level0: float,
    rate: float,
    beta: np.ndarray,
    hazard: np.ndarray,
    spline: np.ndarray,
    knots: np.ndarray,
    out: np.ndarray,
    powers: np.ndarray,
    derivs: np.ndarray,
    basis: np.ndarray,
    coef: np.ndarray,
) -> None:
    """One animal's Gauss-Legendre ages and its event age (last), and what they need.

    ``out[p]``: scaled age, quadrature weight (months; 0 at the event age), fixed part of
    ``log h``, the fixed course and its slope; ``powers``/``derivs``: ``s^k`` and
    ``k s^(k-1)``; ``basis``: spline terms; ``coef``: the coefficients of the random
    effects in ``log h`` (and of the course's other coefficients: its ``n_pow`` columns).
    """
    l_count = x_legendre.size
    half = (stop - start) / 2.0
    for p in range(l_count + 1):
        if p < l_count:
            age = start + half * (x_legendre[p] + 1.0)
            weight = half * w_legendre[p]
        else:
            age = stop
            weight = 0.0
        s = (age - hazard[0]) / _AGE_SCALE
        power = 1.0
        for k in range(powers.shape[1]):
            powers[p, k] = power
            derivs[p, k] = k * powers[p, k - 1] if k else 0.0
            power *= s
        level = wbeta
        slope = 0.0
        for k in range(beta.size):
            level += beta[k] * powers[p, k]
            slope += beta[k] * derivs[p, k]
        value_coef = hazard[3] + hazard[4] * s
        slope_coef = hazard[5] + hazard[6] * s
        eta = level0 + rate * s + value_coef * level + slope_coef * slope
        if spline.size:
            _spline_row(s, knots, basis[p])
            for j in range(spline.size):
                eta += spline[j] * basis[p, j]
        for k in range(coef.shape[1]):
            coef[p, k] = value_coef * powers[p, k] + slope_coef * derivs[p, k]
        out[p, 0] = s
        out[p, 1] = weight
        out[p, 2] = eta
        out[p, 3] = level
        out[p, 4] = slope


@njit(cache=True, nogil=True)
def product_grid(hermite: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``[K, r]`` into ``hermite`` of each node of the product grid, and the nodes.

    Node ``k`` has the index digits of ``k`` in base ``len(hermite)``, the last random
    effect varying fastest (``np.meshgrid(..., indexing="ij")`` raveled).
    """
    q = hermite.size
    k_count = q**r
    index = np.empty((k_count, r), dtype=np.int64)
    nodes = np.empty((k_count, r))
    for k in range(k_count):
        rest = k
        for j in range(r - 1, -1, -1):
            index[k, j] = rest % q
            nodes[k, j] = hermite[rest % q]
            rest //= q
    return index, nodes


@njit(cache=True, nogil=True, parallel=True)
def survival_terms(
    mean: np.ndarray,
    chol: np.ndarray,
    hermite: np.ndarray,
    log_weights: np.ndarray,
    x_legendre: np.ndarray,
    w_legendre: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    entry: np.ndarray,
    event: np.ndarray,
    wbeta: np.ndarray,
    wgamma: np.ndarray,
    wgamma_age: np.ndarray,
    beta: np.ndarray,
    hazard: np.ndarray,
    spline: np.ndarray,
    knots: np.ndarray,
    peak: bool,
    gradient: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each animal's survival term at every Gauss-Hermite node, its log mean, its gradient.

    At node ``k`` the random effects are ``b_k = mean_i + chol_i u_k`` and the term is
    ``a_ik = -(H(stop_i | b_k) - H(start_i | b_k)) + event_i log h(stop_i | b_k)``, the
    cumulative hazard by Gauss-Legendre quadrature (``h`` at most ``exp(700)``); the
    course's peak is taken from ``entry_i``.

    Without the fall from the peak, ``log h`` at an age is linear in ``b``: ``e + v'u_k``
    with ``v = chol' c``, so on the product grid ``h = exp(e) prod_j exp(v_j u_kj)`` takes
    ``r`` times the nodes per random effect exponentials instead of one per node; an animal
    whose ``|e| + sum_j |v_j| max|u|`` passes 700 at some age (where the product could
    overflow, underflow or need the cap) is computed node by node, as is every animal with
    the fall from the peak.

    Parameters
    ----------
    mean, chol
        ``[n, r]``, ``[n, r, r]``: each animal's posterior of its random effects.
    hermite, log_weights
        ``[Q]`` standard (probabilists') Gauss-Hermite nodes of one random effect and
        ``[Q^r]`` the logs of the product grid's weights (summing to 1), in the order of
        :func:`product_grid`.
    x_legendre, w_legendre
        ``[L]``: Gauss-Legendre nodes and weights on ``[-1, 1]``.
    start, stop, entry, event
        ``[n]``: ages (months) and the death indicator (0 or 1).
    wbeta, wgamma, wgamma_age
        ``[n]``: each animal's covariates times their coefficients in the course, the log
        hazard and its change with age (zeros when the model has none).
    beta
        ``[degree + 1]``: the fixed polynomial of the course in ``s``.
    hazard
        ``[8]``: the scalars named in ``HAZARD_FIELDS`` (``centre`` in months).
    spline, knots
        ``[J]`` coefficients and ``[J + 2]`` knots (scaled ages) of the baseline spline.
    peak
        Whether the fall from the peak enters the hazard (needs a course at most quadratic).
    gradient
        Whether to return the gradient columns.

    Returns
    -------
    ``a [n, K]``, ``log_mean [n]`` (``log sum_k w_k exp(a_ik)``) and
    ``grad [n, 7 + J + n_pow + r r]`` (empty without ``gradient``;
    ``n_pow = max(degree + 1, r, 3)``): first ``sum_k pi_ik d a_ik / d theta`` with
    ``pi_ik`` the normalised integrand, in the columns ``N_FIXED_FEATURES`` describes, then
    the course columns of :func:`_course_gradient` (how the log mean moves with the course's
    coefficients and with the nodes' mean and Cholesky factor).
    """
    n, r = mean.shape
    grid, nodes = product_grid(hermite, r)
    k_count = nodes.shape[0]
    q = hermite.size
    u_max = np.max(np.abs(hermite))
    symmetric = True
    for m in range(q):
        if hermite[m] != -hermite[q - 1 - m] or (2 * m == q - 1 and hermite[m] != 0.0):
            symmetric = False
    l_count = x_legendre.size
    n_pts = l_count + 1
    n_spline = spline.size
    n_pow = max(beta.size, r, 3)
    n_survival = N_FIXED_FEATURES + n_spline
    n_feat = n_survival + n_pow + r * r if gradient else 0
    beta_full = np.zeros(n_pow)
    beta_full[: beta.size] = beta
    a_out = np.empty((n, k_count))
    log_mean = np.empty(n)
    grad_out = np.zeros((n, n_feat))
    for i in prange(n):
        pts = np.empty((n_pts, 5))
        powers = np.empty((n_pts, n_pow))
        derivs = np.empty((n_pts, n_pow))
        basis = np.zeros((n_pts, max(n_spline, 1)))
        coef = np.empty((n_pts, n_pow))
        _points(
            start[i], stop[i], x_legendre, w_legendre, wbeta[i], hazard[1] + wgamma[i],
            hazard[2] + wgamma_age[i], beta_full, hazard, spline, knots, pts, powers,
            derivs, basis, coef,
        )  # fmt: skip
        s_e = (entry[i] - hazard[0]) / _AGE_SCALE
        # e + v'u at every age: the log hazard at the posterior mean and its direction
        base = np.empty(n_pts)
        v = np.empty((n_pts, r))
        product = not peak
        for p in range(n_pts):
            e = pts[p, 2]
            spread = 0.0
            for j in range(r):
                e += mean[i, j] * coef[p, j]
                vj = 0.0
                for m in range(j, r):
                    vj += chol[i, m, j] * coef[p, m]
                v[p, j] = vj
                spread += abs(vj) * u_max
            base[p] = e
            if not abs(e) + spread <= _EXP_MAX:  # also catches NaN
                product = False
        cum = np.zeros(k_count)
        store = np.empty((k_count if gradient else 0, l_count))
        b = np.empty((k_count, r))
        for k in range(k_count):
            for j in range(r):
                value = mean[i, j]
                for m in range(j + 1):
                    value += chol[i, j, m] * nodes[k, m]
                b[k, j] = value
        if product:
            factors = np.empty((r, q))
            for p in range(l_count):
                for j in range(r):
                    for m in range(q):
                        if symmetric and 2 * m >= q:  # exp(-x) = 1 / exp(x): half the exps
                            factors[j, m] = 1.0 / factors[j, q - 1 - m]
                        else:
                            factors[j, m] = np.exp(v[p, j] * hermite[m])
                scale = np.exp(base[p]) * pts[p, 1]
                # the first r - 1 effects' factors, then the last one's in a contiguous run
                for outer in range(k_count // q):
                    first = outer * q
                    f = scale
                    for j in range(r - 1):
                        f *= factors[j, grid[first, j]]
                    for m in range(q):
                        h = f * factors[r - 1, m]
                        cum[first + m] += h
                        if gradient:
                            store[first + m, p] = h
        else:
            for k in range(k_count):
                c1 = beta_full[1] + (b[k, 1] if r > 1 else 0.0)
                c2 = beta_full[2] + (b[k, 2] if r > 2 else 0.0)
                for p in range(l_count):
                    log_h = pts[p, 2]
                    for j in range(r):
                        log_h += b[k, j] * coef[p, j]
                    if peak:
                        log_h += hazard[7] * _fall(c1, c2, pts[p, 0], s_e)
                    h = np.exp(min(log_h, _EXP_MAX)) * pts[p, 1]
                    cum[k] += h
                    if gradient:
                        store[k, p] = h
        best = -np.inf
        for k in range(k_count):
            a = -cum[k]
            if event[i] != 0.0:
                log_h = pts[l_count, 2]
                for j in range(r):
                    log_h += b[k, j] * coef[l_count, j]
                if peak:
                    c1 = beta_full[1] + (b[k, 1] if r > 1 else 0.0)
                    c2 = beta_full[2] + (b[k, 2] if r > 2 else 0.0)
                    log_h += hazard[7] * _fall(c1, c2, pts[l_count, 0], s_e)
                a += event[i] * log_h
            a_out[i, k] = a
            best = max(best, a + log_weights[k])
        terms = np.empty(k_count)  # w_k exp(a_k - best)
        shift = best if np.isfinite(best) else 0.0  # else every term -inf, or a +inf or NaN
        total = 0.0
        for k in range(k_count):
            terms[k] = np.exp(a_out[i, k] + log_weights[k] - shift)
            total += terms[k]
        log_mean[i] = shift + np.log(total)
        if gradient and np.isfinite(log_mean[i]):
            for k in range(k_count):
                terms[k] /= total
            _gradient(
                terms, b, store, pts, powers, derivs, basis, beta_full, s_e, event[i], peak,
                grad_out[i, :n_survival],
            )  # fmt: skip
            _course_gradient(
                terms, b, nodes, store, pts, coef, beta_full, s_e, event[i], hazard[7], peak,
                grad_out[i, n_survival:],
            )  # fmt: skip
    return a_out, log_mean, grad_out


@njit(cache=True, nogil=True)
def _gradient(
    pi: np.ndarray,
    b: np.ndarray,
    store: np.ndarray,
    pts: np.ndarray,
    powers: np.ndarray,
    derivs: np.ndarray,
    basis: np.ndarray,
    beta_full: np.ndarray,
    s_e: float,
    event: float,
    peak: bool,
    out: np.ndarray,
) -> None:
    """``sum_k pi_k d a_k / d theta`` of one animal into ``out`` (``pi``: normalised).

    Every feature of ``log h`` but the fall from the peak is ``A(s) + b'B(s)``, so the
    sums over nodes collapse to ``W_p = sum_k pi_k h_kp`` and ``V_p = sum_k pi_k h_kp b_k``
    per age (``h_kp`` the hazard times the quadrature weight, in ``store``).
    """
    k_count, r = b.shape
    l_count = store.shape[1]
    n_spline = out.size - N_FIXED_FEATURES
    psum = 0.0
    bbar = np.zeros(r)
    fall_event = 0.0
    fall_hazard = 0.0
    for k in range(k_count):
        psum += pi[k]
        for j in range(r):
            bbar[j] += pi[k] * b[k, j]
        if peak:
            c1 = beta_full[1] + (b[k, 1] if r > 1 else 0.0)
            c2 = beta_full[2] + (b[k, 2] if r > 2 else 0.0)
            fall_event += pi[k] * _fall(c1, c2, pts[l_count, 0], s_e)
            inner = 0.0
            for p in range(l_count):
                inner += store[k, p] * _fall(c1, c2, pts[p, 0], s_e)
            fall_hazard += pi[k] * inner
    grad = out
    o = 2 + n_spline
    # the event's own terms (at the event age, the last point)
    s_t = pts[l_count, 0]
    value_t = pts[l_count, 3] * psum
    rise_t = pts[l_count, 4] * psum
    for j in range(r):
        value_t += bbar[j] * powers[l_count, j]
        rise_t += bbar[j] * derivs[l_count, j]
    grad[0] = event * psum
    grad[1] = event * s_t * psum
    for j in range(n_spline):
        grad[2 + j] = event * basis[l_count, j] * psum
    grad[o] = event * value_t
    grad[o + 1] = event * rise_t
    grad[o + 2] = event * s_t * value_t
    grad[o + 3] = event * s_t * rise_t
    grad[o + 4] = event * fall_event - fall_hazard
    # W_p and V_p = sum_k pi_k h_kp b_k, accumulated node by node along the ages
    wp = np.zeros(l_count)
    vp = np.zeros((r, l_count))
    for k in range(k_count):
        for p in range(l_count):
            wp[p] += pi[k] * store[k, p]
        for j in range(r):
            weight = pi[k] * b[k, j]
            for p in range(l_count):
                vp[j, p] += weight * store[k, p]
    for p in range(l_count):
        s = pts[p, 0]
        value = pts[p, 3] * wp[p]
        rise = pts[p, 4] * wp[p]
        for j in range(r):
            value += vp[j, p] * powers[p, j]
            rise += vp[j, p] * derivs[p, j]
        grad[0] -= wp[p]
        grad[1] -= s * wp[p]
        for j in range(n_spline):
            grad[2 + j] -= basis[p, j] * wp[p]
        grad[o] -= value
        grad[o + 1] -= rise
        grad[o + 2] -= s * value
        grad[o + 3] -= s * rise


@njit(cache=True, nogil=True)
def _fall_slopes(c1: float, c2: float, s: float, s_e: float) -> tuple[float, float]:
    """Derivatives in ``c1`` and ``c2`` of :func:`_fall`, on the branch it takes.

    From entry the fall is ``-(c1 (s - s_e) + c2 (s^2 - s_e^2))``; from the vertex
    ``v = -c1 / (2 c2)`` it is ``m(v) - m(s) = -c1^2 / (4 c2) - c1 s - c2 s^2``, with the
    derivatives ``v - s`` and ``v^2 - s^2``; zero while the course still rises.
    """
    from_entry = c1 * (s - s_e) + c2 * (s * s - s_e * s_e)
    from_vertex = 0.0
    vertex = 0.0
    if c2 < 0.0:
        vertex = -c1 / (2.0 * c2)
        if s_e < vertex < s:
            from_vertex = c2 * (s - vertex) ** 2
    if from_vertex < min(from_entry, 0.0):
        return vertex - s, vertex * vertex - s * s
    if from_entry < 0.0:
        return s_e - s, s_e * s_e - s * s
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def _course_gradient(
    pi: np.ndarray,
    b: np.ndarray,
    nodes: np.ndarray,
    store: np.ndarray,
    pts: np.ndarray,
    coef: np.ndarray,
    beta_full: np.ndarray,
    s_e: float,
    event: float,
    alpha_peak: float,
    peak: bool,
    out: np.ndarray,
) -> None:
    """How one animal's survival term moves with its course's coefficients, into ``out``.

    The course at node ``k`` has the coefficients ``c_j = beta_j + b_kj`` (and
    ``w'beta_w`` in ``c_0``), with ``b_k = mean + chol u_k``. ``out[j]`` (``j < n_pow``) is
    ``sum_k pi_k d a_k / d c_j`` and ``out[n_pow + j r + m]`` is
    ``sum_k pi_k u_km d a_k / d c_j`` (``j, m < r``): with them the derivative of the
    animal's log mean in the posterior's mean and Cholesky factor is a sum over ``j``
    (and ``m``). Without the fall from the peak ``d log h / d c_j`` is ``coef[p, j]`` at
    every node, so the sums over nodes collapse to ``W_p = sum_k pi_k h_kp`` and
    ``U_p = sum_k pi_k h_kp u_k`` per age; the fall's own terms go node by node.
    """
    k_count, r = b.shape
    l_count = store.shape[1]
    n_pow = coef.shape[1]
    psum = 0.0
    ubar = np.zeros(r)
    wp = np.zeros(l_count)
    up = np.zeros((r, l_count))
    for k in range(k_count):
        psum += pi[k]
        for p in range(l_count):
            wp[p] += pi[k] * store[k, p]
        for m in range(r):
            weight = pi[k] * nodes[k, m]
            ubar[m] += weight
            for p in range(l_count):
                up[m, p] += weight * store[k, p]
    for j in range(n_pow):
        g = event * coef[l_count, j] * psum
        for p in range(l_count):
            g -= coef[p, j] * wp[p]
        out[j] = g
    for j in range(r):
        for m in range(r):
            g = event * coef[l_count, j] * ubar[m]
            for p in range(l_count):
                g -= coef[p, j] * up[m, p]
            out[n_pow + j * r + m] = g
    if not peak:
        return
    for k in range(k_count):
        c1 = beta_full[1] + (b[k, 1] if r > 1 else 0.0)
        c2 = beta_full[2] + (b[k, 2] if r > 2 else 0.0)
        g1, g2 = _fall_slopes(c1, c2, pts[l_count, 0], s_e)
        g1 *= event
        g2 *= event
        for p in range(l_count):
            d1, d2 = _fall_slopes(c1, c2, pts[p, 0], s_e)
            g1 -= store[k, p] * d1
            g2 -= store[k, p] * d2
        g1 *= alpha_peak * pi[k]
        g2 *= alpha_peak * pi[k]
        out[1] += g1
        out[2] += g2
        for m in range(r):
            if r > 1:
                out[n_pow + r + m] += g1 * nodes[k, m]
            if r > 2:
                out[n_pow + 2 * r + m] += g2 * nodes[k, m]


@njit(cache=True, nogil=True)
def _chol_change(low: np.ndarray, low_inv: np.ndarray, change: np.ndarray, out: np.ndarray) -> None:
    """How the lower Cholesky factor ``low`` of ``S`` moves when ``S`` moves by ``change``.

    ``out = low Phi(low^-1 change low^-T)``, ``Phi`` the lower triangle with its diagonal
    halved (``low_inv``: the inverse of ``low``).
    """
    r = low.shape[0]
    inner = np.zeros((r, r))
    for a in range(r):
        for b in range(a + 1):
            v = 0.0
            for p in range(a + 1):
                for q in range(b + 1):
                    v += low_inv[a, p] * change[p, q] * low_inv[b, q]
            inner[a, b] = 0.5 * v if a == b else v
    for a in range(r):
        for b in range(a + 1):
            v = 0.0
            for p in range(b, a + 1):
                v += low[a, p] * inner[p, b]
            out[a, b] = v


@njit(cache=True, nogil=True)
def _through_nodes(
    course: np.ndarray, r: int, n_pow: int, d_mean: np.ndarray, d_chol: np.ndarray
) -> float:
    """The change of an animal's survival log mean when its nodes' mean and factor move."""
    total = 0.0
    for j in range(r):
        total += course[j] * d_mean[j]
        for m in range(j + 1):
            total += course[n_pow + j * r + m] * d_chol[j, m]
    return total


@njit(cache=True, nogil=True, parallel=True)
def posterior_gradient(
    index: np.ndarray,
    s: np.ndarray,
    resid: np.ndarray,
    d_inv: np.ndarray,
    d_slopes: np.ndarray,
    sigma2: float,
    mean: np.ndarray,
    chol: np.ndarray,
    n_fixed: int,
    course: np.ndarray,
) -> np.ndarray:
    """Each animal's log-likelihood gradient in the longitudinal submodel's parameters.

    The log-likelihood is ``log p(y_i) + log E_b[exp(a(b))]`` with the expectation over
    nodes ``b_k = mu_i + C_i u_k`` (:func:`posterior`, :func:`survival_terms`). With
    ``Sigma = P^-1``, ``rho = r_i - Z mu`` (the residuals from the posterior mean) and
    ``tau = 1 / sigma^2``:

    - a coefficient of the fixed course with column ``x`` (``s^j``): ``d log p = tau x'rho``,
      ``d mu = -tau Sigma Z'x``, ``C`` unchanged;
    - ``log sigma``: ``d log p = -n_i + tau tr(Sigma Z'Z) + tau rho'rho``,
      ``d mu = -2 tau Sigma Z'rho``, ``d Sigma = 2 tau Sigma Z'Z Sigma``;
    - a parameter of ``D`` moving it by ``dD`` (``A = D^-1 dD D^-1``):
      ``d log p = (tr(A (Sigma + mu mu')) - tr(D^-1 dD)) / 2``, ``d mu = Sigma A mu``,
      ``d Sigma = Sigma A Sigma``;

    the factor moves by ``dC = C Phi(C^-1 dSigma C^-T)`` and the survival log mean by
    ``course`` (:func:`_course_gradient`) times ``d mu`` and ``dC``, plus, for the fixed
    course's coefficient ``j``, its own column ``course[j]``.

    Parameters
    ----------
    index, s, resid
        ``[m]``: as :func:`posterior`.
    d_inv, d_slopes
        ``[r, r]`` the inverse of ``D``; ``[c, r, r]`` its derivative in each of its ``c``
        parameters.
    sigma2
        Residual variance.
    mean, chol
        ``[n, r]``, ``[n, r, r]``: the posteriors of :func:`posterior`.
    n_fixed
        Terms ``s^0 .. s^(n_fixed - 1)`` of the fixed course.
    course
        ``[n, n_pow + r r]``: the course columns of :func:`survival_terms` (zeros for the
        longitudinal submodel alone).

    Returns
    -------
    ``[n, n_fixed + 1 + c]``: the derivatives in ``beta_0 .. beta_(n_fixed - 1)``,
    ``log sigma`` and ``D``'s parameters (a covariate's ``beta_w`` takes ``w`` times the
    first column).
    """
    n, r = mean.shape
    n_pow = course.shape[1] - r * r
    n_chol = d_slopes.shape[0]
    n_mom = max(2 * r - 1, r + n_fixed - 1)
    n_rho = max(r, n_fixed)
    tau = 1.0 / sigma2
    moments = np.zeros((n, n_mom))
    rho_x = np.zeros((n, n_rho))
    rho2 = np.zeros(n)
    for j in range(index.size):
        i = index[j]
        rho = resid[j]
        power = 1.0
        for k in range(r):
            rho -= mean[i, k] * power
            power *= s[j]
        power = 1.0
        for k in range(max(n_mom, n_rho)):
            if k < n_mom:
                moments[i, k] += power
            if k < n_rho:
                rho_x[i, k] += rho * power
            power *= s[j]
        rho2[i] += rho * rho
    out = np.zeros((n, n_fixed + 1 + n_chol))
    for i in prange(n):
        low = chol[i]
        low_inv = np.zeros((r, r))
        lower_inverse(low, low_inv)
        cov = np.zeros((r, r))
        for a in range(r):
            for b in range(r):
                v = 0.0
                for p in range(min(a, b) + 1):
                    v += low[a, p] * low[b, p]
                cov[a, b] = v
        d_mean = np.empty(r)
        d_cov = np.empty((r, r))
        d_chol = np.zeros((r, r))
        work = np.empty((r, r))
        # the fixed course's coefficients: the nodes shift, their spread stays
        for k in range(n_fixed):
            for a in range(r):
                v = 0.0
                for b in range(r):
                    v += cov[a, b] * moments[i, b + k]
                d_mean[a] = -tau * v
            d_chol[:] = 0.0
            out[i, k] = (
                tau * rho_x[i, k]
                + course[i, k]
                + _through_nodes(course[i], r, n_pow, d_mean, d_chol)
            )
        # log sigma
        trace = 0.0
        for a in range(r):
            for b in range(r):
                trace += cov[a, b] * moments[i, a + b]
        for a in range(r):
            v = 0.0
            for b in range(r):
                v += cov[a, b] * rho_x[i, b]
            d_mean[a] = -2.0 * tau * v
            for b in range(r):  # work = Sigma M
                v = 0.0
                for p in range(r):
                    v += cov[a, p] * moments[i, p + b]
                work[a, b] = v
        matmul(work, cov, d_cov)
        for a in range(r):
            for b in range(r):
                d_cov[a, b] *= 2.0 * tau
        _chol_change(low, low_inv, d_cov, d_chol)
        out[i, n_fixed] = (
            -moments[i, 0] + tau * trace + tau * rho2[i]
            + _through_nodes(course[i], r, n_pow, d_mean, d_chol)
        )  # fmt: skip
        # the random effects' covariance
        amat = np.empty((r, r))
        sa = np.empty((r, r))
        for c in range(n_chol):
            matmul(d_inv, d_slopes[c], work)  # work = D^-1 dD
            matmul(work, d_inv, amat)  # A = D^-1 dD D^-1
            d_logp = 0.0
            for a in range(r):
                d_logp -= work[a, a]
                for b in range(r):
                    d_logp += amat[a, b] * (cov[b, a] + mean[i, b] * mean[i, a])
            matmul(cov, amat, sa)  # Sigma A
            for a in range(r):
                v = 0.0
                for b in range(r):
                    v += sa[a, b] * mean[i, b]
                d_mean[a] = v
            matmul(sa, cov, d_cov)
            _chol_change(low, low_inv, d_cov, d_chol)
            out[i, n_fixed + 1 + c] = 0.5 * d_logp + _through_nodes(
                course[i], r, n_pow, d_mean, d_chol
            )
    return out
