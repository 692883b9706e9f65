"""Log-likelihoods of the Gompertz and Weibull ageing models with right censoring and
left truncation, with analytic gradients and Hessians.

Parameters are on unconstrained scales: Gompertz ``(log a, b)`` with hazard
``h(t) = a exp(b t)``; Weibull ``(log lambda, log rho)`` with survival
``S(t) = exp(-(t / lambda)^rho)`` (lifelines' parameterisation). Times are divided by a
scale (the median time) before fitting so that the optimiser works on numbers near one;
callers convert back with :func:`unscale`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["cumhaz", "loglik", "unscale"]


def _gompertz_g(b: float, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``g = expm1(b t) / b`` and its first two derivatives in ``b`` (series near b = 0)."""
    bt = b * t
    if abs(b) * float(np.max(t, initial=0.0)) < 1e-5:
        g = t + b * t**2 / 2 + b**2 * t**3 / 6
        gb = t**2 / 2 + b * t**3 / 3 + b**2 * t**4 / 8
        gbb = t**3 / 3 + b * t**4 / 4
        return g, gb, gbb
    e = np.exp(bt)
    g = np.expm1(bt) / b
    gb = (t * e - g) / b
    gbb = (t**2 * e - 2 * gb) / b
    return g, gb, gbb


def cumhaz(dist: str, theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Cumulative hazard ``H(t)`` on the fitting scale."""
    if dist == "gompertz":
        return float(np.exp(theta[0])) * _gompertz_g(float(theta[1]), t)[0]
    lam, rho = np.exp(theta)
    return np.asarray((t / lam) ** rho)


def loglik(
    dist: str, theta: np.ndarray, t: np.ndarray, d: np.ndarray, entry: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log likelihood, gradient and Hessian in ``theta`` (right censoring, left truncation)."""
    if dist == "gompertz":
        la, b = float(theta[0]), float(theta[1])
        a = np.exp(la)
        g, gb, gbb = _gompertz_g(b, t)
        g0, gb0, gbb0 = _gompertz_g(b, entry)
        G, Gb, Gbb = g.sum() - g0.sum(), gb.sum() - gb0.sum(), gbb.sum() - gbb0.sum()
        nd = d.sum()
        ll = nd * la + b * float(d @ t) - a * G
        grad = np.array([nd - a * G, float(d @ t) - a * Gb])
        hess = np.array([[-a * G, -a * Gb], [-a * Gb, -a * Gbb]])
        return float(ll), grad, hess
    u, v = float(theta[0]), float(theta[1])
    rho = np.exp(v)
    logt = np.log(t)
    z = rho * (logt - u)
    w = np.exp(z)
    pos = entry > 0
    le = np.log(entry[pos])
    z0 = rho * (le - u)
    w0 = np.exp(z0)
    sw = w.sum() - w0.sum()
    szw = (z * w).sum() - (z0 * w0).sum()
    sz2w = (z * z * w).sum() - (z0 * z0 * w0).sum()
    nd = d.sum()
    dz = float(d @ z)
    # log h(t) = log rho - log lambda + (rho - 1)(log t - log lambda) = v - log t + z
    ll = float(d @ (v - logt + z)) - sw
    grad = np.array([-rho * nd + rho * sw, nd + dz - szw])
    huu = -(rho**2) * sw
    huv = -rho * nd + rho * sw + rho * szw
    hvv = dz - szw - sz2w
    hess = np.array([[huu, huv], [huv, hvv]])
    return ll, grad, hess


def unscale(dist: str, theta: np.ndarray, cov: np.ndarray, scale: float) -> tuple:
    """Map parameters fitted on ``t / scale`` back to the original time unit."""
    if dist == "gompertz":
        # h(t) = a' exp(b' t / s) / s  ->  a = a'/s, b = b'/s
        jac = np.diag([1.0, 1.0 / scale])
        out = np.array([theta[0] - np.log(scale), theta[1] / scale])
    else:
        jac = np.eye(2)
        out = np.array([theta[0] + np.log(scale), theta[1]])
    return out, jac @ cov @ jac.T
