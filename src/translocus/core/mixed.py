r"""The linear mixed model with grouped random effects: REML or ML fit, BLUPs, forecasts.

.. math::

    y_{ij} = x_{ij}'\beta + z_{ij}'u_i + \varepsilon_{ij}, \qquad
    u_i \sim N(0, D),\ \varepsilon_{ij} \sim N(0, \sigma^2),

with ``q`` random effects per group (an animal) and a general ``q×q`` covariance ``D``.
``D = σ² Λ Λ'`` is parameterised by the lower-triangular relative factor ``Λ`` (non-negative
diagonal); ``β`` and ``σ²`` are profiled out, so the optimiser sees only the
``q(q+1)/2`` entries of ``Λ``. Per group, the Woodbury identities reduce everything to
``q×q`` matrices built from the group's cross-products ``Z'Z``, ``Z'X`` and ``Z'y``, so a
likelihood evaluation is a handful of batched ``q×q`` operations over all groups at once,
whatever their sizes.

- :func:`fit_mixed` fits by REML (the default) or ML (when likelihoods of models with
  different fixed effects are compared) and reports whether the optimiser converged;
- :meth:`MixedFit.forecast` predicts new observations of groups the model did not see
  from their history (best linear unbiased prediction), with the prediction-error
  variance that includes the uncertainty of the estimated fixed effects.

Tested against statsmodels ``MixedLM`` (REML and ML) on SLAM and PDX data.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> g = np.repeat(np.arange(40), 6)
>>> t = np.tile(np.arange(6.0), 40)
>>> y = 1 + 0.5 * t + rng.normal(0, 1, 40)[g] + rng.normal(0, 0.3, 240)
>>> x = np.c_[np.ones(240), t]
>>> fit = fit_mixed(y, x, x[:, :1], g)
>>> fit.converged, round(float(fit.beta[1]), 2)
(True, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from translocus.core.errors import InputError, OptionError

__all__ = ["MixedFit", "fit_mixed"]

_FAIL = 1e300


@dataclass(frozen=True)
class MixedFit:
    """A fitted linear mixed model.

    Attributes
    ----------
    beta : numpy.ndarray
        Fixed effects, shape ``(p,)``.
    cov_beta : numpy.ndarray
        Their covariance (GLS, at the estimated variance components), ``(p, p)``.
    re_cov : numpy.ndarray
        Random-effect covariance ``D``, ``(q, q)``, on the scale of ``y`` and ``z``.
    sigma2 : float
        Residual variance.
    loglik : float
        The maximised log-likelihood: restricted (REML) or full (ML), as statsmodels
        reports it.
    method : str
        ``"reml"`` or ``"ml"``.
    converged : bool
        Whether the optimiser reported convergence.
    message : str
        The optimiser's message.
    n_obs, n_groups : int
        Observations and groups used.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    re_cov: np.ndarray
    sigma2: float
    loglik: float
    method: str
    converged: bool
    message: str
    n_obs: int
    n_groups: int

    def forecast(
        self,
        x: np.ndarray,
        z: np.ndarray,
        group: np.ndarray,
        *,
        x_history: np.ndarray,
        z_history: np.ndarray,
        y_history: np.ndarray,
        group_history: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        r"""Forecast new observations of groups from their history (no refitting).

        For a group with history ``(X_h, Z_h, y_h)`` the random effects are predicted by
        :math:`\tilde u = D Z_h' V_h^{-1}(y_h - X_h\hat\beta)`, and a new observation at
        ``(x, z)`` by :math:`x'\hat\beta + z'\tilde u`. Its prediction-error variance is

        .. math::

            \sigma^2 + z'(D - D Z_h'V_h^{-1}Z_h D)z + a'\,\mathrm{Cov}(\hat\beta)\,a,
            \qquad a = x - X_h'V_h^{-1}Z_h D z,

        the last term being the uncertainty of the fixed effects (exact when the history
        is not part of the fitted data). A group without history gets the population
        forecast :math:`x'\hat\beta` with the marginal variance
        :math:`\sigma^2 + z'Dz + x'\mathrm{Cov}(\hat\beta)x`.

        Parameters
        ----------
        x, z
            Designs of the observations to forecast, ``(k, p)`` and ``(k, q)``.
        group
            Their group codes, integers ``0 … G-1``, ``(k,)``.
        x_history, z_history, y_history, group_history
            The groups' past observations, ``(h, p)``, ``(h, q)``, ``(h,)`` and codes
            ``(h,)`` in the same numbering (``h`` may be 0).

        Returns
        -------
        mean, variance : numpy.ndarray
            Forecast and prediction-error variance, each ``(k,)``, on the scale of ``y``.
        """
        x, z = np.asarray(x, float), np.asarray(z, float)
        group = np.asarray(group, dtype=np.intp)
        gh = np.asarray(group_history, dtype=np.intp)
        n_groups = int(max(group.max(initial=-1), gh.max(initial=-1))) + 1
        q = self.re_cov.shape[0]
        resid = np.asarray(y_history, float) - np.asarray(x_history, float) @ self.beta
        zz, zx, zr = _group_sums(
            np.asarray(z_history, float), np.asarray(x_history, float), resid, gh, n_groups
        )
        # with D/σ² = ΛΛ' and M = I + Λ'Z'ZΛ: Var(u | y_h) = W = σ²ΛM⁻¹Λ', ũ = ΛM⁻¹Λ'Z'r,
        # and ũ moves with β̂ by -ΛM⁻¹Λ'Z'X (no inverse of D: it may be nearly singular)
        vals, vecs = np.linalg.eigh(self.re_cov / self.sigma2)
        lam = vecs * np.sqrt(np.clip(vals, 0.0, None))
        m_inv = np.linalg.inv(np.eye(q)[None] + lam.T @ zz @ lam)
        kernel = lam @ m_inv @ lam.T
        w = self.sigma2 * kernel
        u = np.einsum("gab,gb->ga", kernel, zr)
        wzx = np.einsum("gab,gbp->gap", kernel, zx)
        wg, ug, wzxg = w[group], u[group], wzx[group]
        mean = x @ self.beta + np.einsum("ka,ka->k", z, ug)
        a = x - np.einsum("ka,kap->kp", z, wzxg)
        variance = (
            self.sigma2
            + np.einsum("ka,kab,kb->k", z, wg, z)
            + np.einsum("kp,pr,kr->k", a, self.cov_beta, a)
        )
        return mean, variance


def _group_sums(
    z: np.ndarray, x: np.ndarray, y: np.ndarray, group: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group ``Z'Z`` ``(G, q, q)``, ``Z'X`` ``(G, q, p)`` and ``Z'y`` ``(G, q)``."""
    q, p = z.shape[1], x.shape[1]
    zz = np.zeros((n_groups, q * q))
    zx = np.zeros((n_groups, q * p))
    zy = np.zeros((n_groups, q))
    if len(y):
        # one bincount per column of the outer products: far faster than np.add.at
        outer_zz = (z[:, :, None] * z[:, None, :]).reshape(len(y), -1)
        outer_zx = (z[:, :, None] * x[:, None, :]).reshape(len(y), -1)
        for j in range(q * q):
            zz[:, j] = np.bincount(group, outer_zz[:, j], minlength=n_groups)
        for j in range(q * p):
            zx[:, j] = np.bincount(group, outer_zx[:, j], minlength=n_groups)
        for j in range(q):
            zy[:, j] = np.bincount(group, z[:, j] * y, minlength=n_groups)
    return zz.reshape(n_groups, q, q), zx.reshape(n_groups, q, p), zy


def fit_mixed(
    y: np.ndarray,
    x: np.ndarray,
    z: np.ndarray,
    groups: np.ndarray,
    *,
    method: str = "reml",
    max_iter: int = 200,
) -> MixedFit:
    """Fit ``y = X β + Z u_g + ε`` by REML (default) or ML.

    Parameters
    ----------
    y
        Responses, ``(n,)``.
    x
        Fixed-effect design, ``(n, p)``.
    z
        Random-effect design, ``(n, q)`` (a column of ones for a random intercept; ones
        and time for intercept and slope).
    groups
        Group labels (animals), ``(n,)``, any hashable values.
    method
        ``"reml"`` (restricted likelihood: unbiased variance components) or ``"ml"``
        (full likelihood, for comparing models with different fixed effects).
    max_iter
        Iterations of the optimiser (SLSQP on the relative covariance factor).

    Returns
    -------
    MixedFit
        ``converged`` is False when the optimiser stopped without converging.

    Raises
    ------
    InputError
        When ``n <= p`` or the fixed-effect design is singular at every tried value.
    """
    if method not in ("reml", "ml"):
        raise OptionError("method", method, "must be 'reml' or 'ml'.")
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    z = np.asarray(z, float)
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    codes = codes.reshape(-1)
    n, p = x.shape
    q = z.shape[1]
    m = int(codes.max()) + 1 if n else 0
    if n <= p:
        raise InputError(f"mixed model: {n} measurements cannot estimate {p} fixed effects.")
    # scale each random-effect column to unit root mean square: a well-conditioned factor
    scale = np.sqrt(np.mean(z**2, axis=0))
    scale[scale == 0] = 1.0
    zs = z / scale
    # work with the least-squares residuals: β shifts by the OLS coefficients and nothing
    # else changes, but y'V⁻¹y no longer cancels digits (finite-difference gradients need them)
    shift = np.linalg.lstsq(x, y, rcond=None)[0]
    y = y - x @ shift
    zz, zx, zy = _group_sums(zs, x, y, codes, m)
    xx, xy, yy = x.T @ x, x.T @ y, float(y @ y)
    tril = np.tril_indices(q)
    diag = np.flatnonzero(tril[0] == tril[1])
    dof = n - p if method == "reml" else n

    def factor(theta: np.ndarray) -> np.ndarray:
        lower = np.zeros((q, q))
        lower[tril] = theta
        return lower

    def parts(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        lam = factor(theta)
        # M_g = I + Λ'Z_g'Z_gΛ; V_g^-1 = I - Z_gΛ M_g^-1 Λ'Z_g'; log|V_g| = log|M_g|
        mm = np.eye(q)[None] + lam.T @ zz @ lam
        chol = np.linalg.cholesky(mm)
        logdet_v = 2.0 * float(np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2))))
        lzx = np.linalg.solve(chol, lam.T @ zx)
        lzy = np.linalg.solve(chol, (zy @ lam)[:, :, None])[:, :, 0]
        xvx = xx - np.einsum("gap,gar->pr", lzx, lzx)
        xvy = xy - np.einsum("gap,ga->p", lzx, lzy)
        yvy = yy - float(np.sum(lzy * lzy))
        return logdet_v, xvx, xvy, yvy

    def objective(theta: np.ndarray) -> float:
        try:
            logdet_v, xvx, xvy, yvy = parts(theta)
            beta = np.linalg.solve(xvx, xvy)
            sign, logdet_x = np.linalg.slogdet(xvx)
        except np.linalg.LinAlgError:
            return _FAIL
        r = yvy - float(beta @ xvy)
        if not (r > 0 and sign > 0 and np.isfinite(logdet_v)):
            return _FAIL
        value = dof * np.log(r / dof) + logdet_v
        return float(value + logdet_x if method == "reml" else value)

    # diagonal of Λ >= 0 (a variance may sit on its boundary, 0), as in lme4
    bounds = [(0.0, 1e3) if a == b else (-1e3, 1e3) for a, b in zip(*tril, strict=True)]
    low, high = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    theta0 = np.clip(_start(x, y, zs, codes, m, tril, diag), low, high)
    diagonal = np.zeros_like(theta0)
    diagonal[diag] = 1.0

    def run(start: np.ndarray) -> optimize.OptimizeResult:
        with np.errstate(all="ignore"):
            return optimize.minimize(
                objective,
                start,
                method="SLSQP",
                bounds=bounds,
                options={"ftol": 1e-12, "maxiter": max_iter},
            )

    res = run(theta0)
    # a variance on its boundary may be a local optimum the moment start led to: then the
    # fit is repeated from uncorrelated unit relative variances and the better one kept
    if np.any(res.x[diag] <= 1e-6):
        again = run(diagonal)
        if again.fun < res.fun:
            res = again
    if not np.isfinite(res.fun) or res.fun >= _FAIL / 10:
        raise InputError(
            "mixed model: the design is singular (too few groups or observations per group); "
            "fit fewer random effects or add measurements."
        )
    logdet_v, xvx, xvy, yvy = parts(res.x)
    beta = np.linalg.solve(xvx, xvy)
    sigma2 = (yvy - float(beta @ xvy)) / dof
    beta = beta + shift
    lam = factor(res.x)
    back = np.diag(1.0 / scale)
    re_cov = sigma2 * back @ lam @ lam.T @ back
    loglik = -0.5 * (float(res.fun) + dof * (1.0 + np.log(2.0 * np.pi)))
    return MixedFit(
        beta=beta,
        cov_beta=sigma2 * np.linalg.inv(xvx),
        re_cov=re_cov,
        sigma2=float(sigma2),
        loglik=loglik,
        method=method,
        converged=bool(res.success),
        message=str(res.message),
        n_obs=n,
        n_groups=m,
    )


def _start(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    codes: np.ndarray,
    m: int,
    tril: tuple[np.ndarray, np.ndarray],
    diag: np.ndarray,
) -> np.ndarray:
    """Two-stage moment estimate of the relative factor ``Λ``, the optimiser's start.

    Per-group least-squares coefficients ``b_g`` on ``z`` (groups with more observations
    than random effects and a full-rank ``Z_g``) give ``cov(b) ≈ σ²(ΛΛ' + mean (Z_g'Z_g)^-1)``;
    exact REML in balanced designs.
    """
    q = z.shape[1]
    theta = np.zeros(len(tril[0]))
    theta[diag] = 0.5
    resid = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    zz, _, zr = _group_sums(z, x[:, :0], resid, codes, m)
    counts = np.bincount(codes, minlength=m)
    rr = np.bincount(codes, resid**2, minlength=m)
    det = np.linalg.det(zz)
    ok = (counts > q) & (det > 1e-10 * np.maximum(np.abs(zz).max(axis=(1, 2)) ** q, 1e-300))
    if ok.sum() < 2:
        return theta
    inv = np.linalg.inv(zz[ok])
    coefs = np.einsum("gab,gb->ga", inv, zr[ok])
    rss = float(np.sum(rr[ok] - np.einsum("ga,ga->g", coefs, zr[ok])))
    used = int(np.sum(counts[ok] - q))
    s2 = max(rss / used, 1e-12)
    d = np.atleast_2d(np.cov(coefs.T)) / s2 - inv.mean(axis=0)
    w, v = np.linalg.eigh(d)
    d = (v * np.maximum(w, 1e-4 * max(float(w.max()), 1e-6))) @ v.T
    lower = np.linalg.cholesky(d)
    return lower[tril].copy()
