r"""Tumour growth models, mixed models, treatment effects and drug synergy.

Growth curves (fitted per series on the log scale, :math:`y = \ln(V + 1)`, days counted
from the series' first measurement, multiplicative error):

- ``exponential``: :math:`\ln V = a + r t` (closed-form least squares);
- ``gompertz``: :math:`\ln V = a + (\alpha/\beta)(1 - e^{-\beta t})` — initial rate
  :math:`\alpha`, deceleration :math:`\beta` (:math:`\beta \to 0` is exponential);
- ``exponential_linear`` (Simeoni et al. 2004, Cancer Res 64:1094, the :math:`\psi\to\infty`
  limit): exponential growth at rate :math:`\lambda_0` until :math:`V = \lambda_1/\lambda_0`,
  then linear growth at :math:`\lambda_1` mm³/day.

The non-linear fits run as one batched Levenberg–Marquardt over all series at once
(padded ``[series, obs]`` arrays), so thousands of series fit per second.

Mixed model (:class:`MixedGrowthModel`): :math:`\ln(V_{ij}+1) = X_{ij}\beta + b_{0i} +
b_{1i} t_{ij} + \varepsilon_{ij}` with animal random intercepts and slopes
:math:`(b_{0i}, b_{1i}) \sim N(0, \Sigma)`, fitted by REML with the project's one
mixed model, :func:`translocus.core.mixed.fit_mixed`.

Treatment effect (:func:`treatment_effects`) = difference in log-growth rate (treated −
control, per day) with a t-based confidence interval and p-value: with one animal per arm
(the PDXE) the least-squares model :math:`y = a + r t + \Delta a\,T + \Delta r\,T t`
(pooled residual variance, :math:`n_T + n_C - 4` df); with replicates the mixed model with
the same fixed effects (df = animals − 2).

Synergy (:func:`synergy`): with exponential growth, Bliss independence of a combination
means additive log-rate effects, so the Bliss excess is
:math:`r_{AB} - r_A - r_B + r_C` (negative = synergy, more inhibition than independence
predicts); highest single agent (HSA) excess is :math:`r_{AB} - \min(r_A, r_B)`. The
volume form (:math:`E = 1 - T/C`, expected :math:`1 - \prod_k (T/C)_k`) is reported beside it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
from translocus.core.mixed import fit_mixed
from translocus.core.provenance import LicensePolicy
from translocus.core.table import as_table, licence_gate
from translocus.treatment.metrics import series_log_slopes, tumor_growth_inhibition
from translocus.treatment.study import TreatmentStudy, from_frame

__all__ = [
    "GROWTH_MODELS",
    "GrowthModel",
    "MixedGrowthModel",
    "MixedModelFit",
    "arm_growth_rates",
    "compare_growth_models",
    "fit_lmm",
    "synergy",
    "treatment_effects",
]

GrowthKind = Literal["exponential", "gompertz", "exponential_linear"]

#: Parameter names of each growth model (log-scale intercept ``log_v0`` in ln mm³).
GROWTH_MODELS: dict[str, tuple[str, ...]] = {
    "exponential": ("log_v0", "rate"),
    "gompertz": ("log_v0", "alpha", "beta"),
    "exponential_linear": ("log_v0", "lambda0", "lambda1"),
}


# -- growth curve functions (log scale), vectorised over [series, obs] --------------------
def _gompertz(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    a, alpha, beta = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
    small = np.abs(beta) < 1e-7
    safe = np.where(small, 1.0, beta)
    g = np.where(small, t - beta * t * t / 2, -np.expm1(-safe * t) / safe)
    return a + alpha * g


def _exponential_linear(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    # theta = (ln V0, ln lambda0, ln lambda1): positivity by construction.
    a = theta[:, 0:1]
    lam0 = np.exp(np.clip(theta[:, 1:2], -30, 5))
    lam1 = np.exp(np.clip(theta[:, 2:3], -30, 12))
    v0 = np.exp(a)
    v_switch = lam1 / lam0
    tau = np.maximum(np.log(np.maximum(v_switch, 1e-300) / v0), 0.0) / lam0
    early = a + lam0 * t
    late = np.log(np.maximum(v0 * np.exp(lam0 * tau) + lam1 * (t - tau), 1e-12))
    return np.where(t <= tau, early, late)


def _exponential(theta: np.ndarray, t: np.ndarray) -> np.ndarray:
    return theta[:, 0:1] + theta[:, 1:2] * t


_CURVES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "exponential": _exponential,
    "gompertz": _gompertz,
    "exponential_linear": _exponential_linear,
}


def _batched_lm(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta0: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    *,
    max_iter: int = 200,
    tol: float = 1e-9,
    lower: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levenberg–Marquardt on every series at once; returns (theta, rss, converged).

    ``lower`` bounds the parameters from below (steps are projected onto the bound).
    """
    bound = np.full(theta0.shape[1], -np.inf) if lower is None else np.asarray(lower, float)
    theta = theta0.copy()
    n_s, k = theta.shape
    w = mask.astype(float)
    y0 = np.where(mask, y, 0.0)

    current = _cost(func, theta, t, y0, mask, w)
    lam = np.full(n_s, 1e-3)
    converged = np.zeros(n_s, dtype=bool)
    active = np.isfinite(current)
    for _ in range(max_iter):
        if not active.any():
            break
        _lm_step(func, theta, current, lam, converged, active, t, y0, mask, w, tol, bound)
    return theta, current, converged


def _lm_step(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta: np.ndarray,
    current: np.ndarray,
    lam: np.ndarray,
    converged: np.ndarray,
    active: np.ndarray,
    t: np.ndarray,
    y0: np.ndarray,
    mask: np.ndarray,
    w: np.ndarray,
    tol: float,
    bound: np.ndarray,
) -> None:
    """One damped Gauss–Newton step for the active series (updates arrays in place)."""
    k = theta.shape[1]
    eye = np.eye(k)
    with np.errstate(all="ignore"):
        idx = np.flatnonzero(active)
        th = theta[idx]
        tt, yy, ww = t[idx], y0[idx], w[idx]
        base = func(th, tt)
        r = (yy - base) * ww
        jac = np.empty((len(idx), tt.shape[1], k))
        for j in range(k):
            h = 1e-6 * np.maximum(np.abs(th[:, j]), 1.0)
            shifted = th.copy()
            shifted[:, j] += h
            jac[:, :, j] = (func(shifted, tt) - base) / h[:, None] * ww
        jac = np.where(np.isfinite(jac), jac, 0.0)
        jtj = np.einsum("soi,soj->sij", jac, jac)
        jtr = np.einsum("soi,so->si", jac, r)
        diag = np.einsum("sii->si", jtj)
        damped = jtj + lam[idx, None, None] * (diag[:, :, None] * eye + 1e-12 * eye)
        try:
            step = np.linalg.solve(damped, jtr[:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:
            step = np.stack(
                [np.linalg.lstsq(d, b, rcond=None)[0] for d, b in zip(damped, jtr, strict=True)]
            )
        # Active set: a parameter on its bound whose step points outside is held fixed and
        # the others are re-solved (plain projection would stall the coupled parameters).
        pinned = (th <= bound + 1e-12) & (th + step < bound)
        if pinned.any():
            rows_p = np.flatnonzero(pinned.any(axis=1))
            sub = damped[rows_p].copy()
            rhs = jtr[rows_p].copy()
            for j in range(k):
                pj = pinned[rows_p, j]
                sub[pj, j, :] = 0.0
                sub[pj, :, j] = 0.0
                sub[pj, j, j] = 1.0
                rhs[pj, j] = 0.0
            step[rows_p] = np.linalg.solve(sub, rhs[:, :, None])[:, :, 0]
        trial = np.maximum(th + step, bound)
        step = trial - th
        new = _cost(func, trial, tt, yy, mask[idx], ww)
        better = new < current[idx]
        gain = (current[idx] - new) / np.maximum(current[idx], 1e-300)
        theta[idx[better]] = trial[better]
        current[idx[better]] = new[better]
        lam[idx] = np.where(better, lam[idx] / 3.0, lam[idx] * 4.0)
        # Stop when the cost no longer falls: a small relative gain, a negligible step, or no
        # descent step found even with heavy damping (a minimum, possibly on a bound).
        done = (better & (gain < tol)) | (np.max(np.abs(step), axis=1) < 1e-10) | (lam[idx] > 1e7)
        converged[idx[done]] = True

        active[idx[done]] = False


def _cost(
    func: Callable[[np.ndarray, np.ndarray], np.ndarray],
    theta: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    w: np.ndarray,
) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        r = (y - np.where(mask, func(theta, t), 0.0)) * w
    out = np.sum(r * r, axis=1)
    return np.where(np.isfinite(out), out, np.inf)


def _masked_slopes(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares slope of each row of y on x (weights 0/1)."""
    sw = np.maximum(w.sum(axis=1), 1e-12)
    mx = (w * x).sum(axis=1) / sw
    my = (w * y).sum(axis=1) / sw
    dx = (x - mx[:, None]) * w
    sxx = (dx * dx).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(sxx > 0, (dx * (y - my[:, None])).sum(axis=1) / sxx, np.nan)


def _exponential_linear_start(t: np.ndarray, y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Start values: log-slope of the first half (λ0) and volume slope of the second (λ1)."""
    n = mask.sum(axis=1)
    pos = np.cumsum(mask, axis=1) - 1
    half = np.ceil(n / 2)[:, None]
    early = (mask & (pos < np.maximum(half, 3))).astype(float)
    late = (mask & (pos >= n[:, None] - np.maximum(half, 3))).astype(float)
    lam0 = np.clip(np.nan_to_num(_masked_slopes(t, y, early), nan=0.05), 0.005, 1.0)
    with np.errstate(over="ignore"):
        lam1 = _masked_slopes(t, np.exp(np.where(mask, y, 0.0)), late)
    v0 = np.exp(y[:, 0])
    lam1 = np.clip(np.nan_to_num(lam1, nan=1.0), lam0 * v0 * 1.05, None)
    return np.column_stack([y[:, 0], np.log(lam0), np.log(lam1)])


def _padded(
    study: TreatmentStudy, offset: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Padded ``[series, obs]`` arrays: days from first measurement, log volume, mask, t0."""
    rec = study.records
    codes = study.series_codes()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    pos = np.arange(len(codes)) - starts[codes]
    width = int(pos.max()) + 1 if len(pos) else 0
    day = rec["day"].to_numpy(float)
    t0 = day[starts]
    t = np.zeros((len(starts), width))
    y = np.zeros((len(starts), width))
    mask = np.zeros((len(starts), width), dtype=bool)
    t[codes, pos] = day - t0[codes]
    y[codes, pos] = np.log(rec["volume"].to_numpy(float) + offset)
    mask[codes, pos] = True
    return t, y, mask, t0


def _study_for(
    estimator: Estimator,
    data: TreatmentStudy | pd.DataFrame,
    license: str | None,
    policy: LicensePolicy | None,
    name: str,
) -> TreatmentStudy:
    """``data`` as a study, its analysis use recorded in ``estimator.licence_decision_``."""
    study = as_table(data, TreatmentStudy, from_frame, license=license, estimator=name)
    estimator.licence_decision_ = licence_gate(  # type: ignore[attr-defined]
        study.provenance, policy, use="analysis", purpose="analysis", estimator=name
    )
    return study


class GrowthModel(Estimator):
    """Per-animal tumour growth curves (exponential, Gompertz or exponential-linear).

    An *analysis* estimator (``use = "analysis"``): it describes the growth of the series in
    the study it is fitted on, and ``predict`` evaluates those series' own curves; nothing is
    meant to be applied to other animals.

    Parameters
    ----------
    kind
        ``"exponential"``, ``"gompertz"`` or ``"exponential_linear"``.
    offset
        mm³ added to volumes before taking logs (keeps 0 mm³ measurements in the fit).
    max_iter
        Levenberg–Marquardt iterations for the non-linear models.

    Attributes
    ----------
    params_ : pandas.DataFrame
        One row per series: key columns, the model's parameters (rates per day;
        ``lambda0``/``lambda1`` on their natural scale), ``n_obs``, ``rss``, ``aic``,
        ``converged`` and ``t0`` (day of the first measurement). ``converged`` is False
        where Levenberg–Marquardt stopped at ``max_iter`` and for series too short to fit
        (their parameters are NaN).
    theta_ : numpy.ndarray
        ``[series, parameter]`` on the scale the curves are fitted on.
    kind_ : str
        The growth model fitted.
    converged_ : bool
        Whether the optimiser converged on every series it fitted (warns with
        :class:`~translocus.core.estimator.ConvergenceWarning` when not).

    Examples
    --------
    >>> days = np.arange(0, 40, 4.0)
    >>> df = pd.DataFrame({"model": "M", "arm": "ctl", "animal": "1", "day": days,
    ...                    "volume": 100 * np.exp(0.05 * days) - 1})
    >>> fit = GrowthModel("exponential").fit(TreatmentStudy.from_frame(df))
    >>> round(float(fit.params_["rate"].iloc[0]), 6)
    0.05
    """

    use = "analysis"

    def __init__(self, kind: GrowthKind = "gompertz", *, offset: float = 1.0, max_iter: int = 200):
        self.kind = kind
        self.offset = offset
        self.max_iter = max_iter

    def fit(
        self,
        study: TreatmentStudy | pd.DataFrame,
        *,
        license: str | None = None,
        policy: LicensePolicy | None = None,
    ) -> GrowthModel:
        """Fit the growth curve to every animal's volumes in ``study``.

        ``study`` is a :class:`TreatmentStudy` or a plain frame read by
        :func:`~translocus.treatment.study.from_frame` with ``license=`` (SPDX, ``"MIT"``);
        the analysis use is recorded in ``licence_decision_`` under ``policy``, never refused.
        """
        study = _study_for(self, study, license, policy, "GrowthModel.fit")
        if self.kind not in _CURVES:
            raise ValueError(f"unknown growth model {self.kind!r}; use one of {list(_CURVES)}")
        t, y, mask, t0 = _padded(study, self.offset)
        n = mask.sum(axis=1)
        k = len(GROWTH_MODELS[self.kind])
        info = study.series()[["model", "arm", "animal"]]
        slopes = series_log_slopes(study, offset=self.offset)
        a0 = slopes["intercept"].to_numpy() + slopes["rate"].to_numpy() * t0
        r0 = slopes["rate"].to_numpy()
        if self.kind == "exponential":
            theta = np.column_stack([a0, r0])
            with np.errstate(invalid="ignore"):
                rss = slopes["rss"].to_numpy()
            converged = np.isfinite(r0)
            attempted = np.zeros(len(n), dtype=bool)  # closed form: no optimiser to stop
        else:
            good = n >= k + 1
            if self.kind == "gompertz":
                theta0 = np.column_stack([y[:, 0], np.nan_to_num(r0), np.full(len(n), 0.01)])
            else:
                theta0 = _exponential_linear_start(t, y, mask)
            theta = np.full((len(n), k), np.nan)
            rss = np.full(len(n), np.nan)
            converged = np.zeros(len(n), dtype=bool)
            attempted = good
            if good.any() and self.kind == "exponential_linear":
                # Two starts (early/late slopes, and the whole-series rate); keep the better.
                lam = np.clip(np.nan_to_num(r0, nan=0.05), 0.005, 1.0)
                v_last = np.exp(np.max(np.where(mask, y, -np.inf), axis=1))
                alt = np.column_stack([y[:, 0], np.log(lam), np.log(lam * v_last * 1.5)])
                runs = [
                    _batched_lm(
                        _CURVES[self.kind],
                        start[good],
                        t[good],
                        y[good],
                        mask[good],
                        max_iter=self.max_iter,
                    )
                    for start in (theta0, alt)
                ]
                pick = runs[1][1] < runs[0][1]
                th = np.where(pick[:, None], runs[1][0], runs[0][0])
                cst = np.where(pick, runs[1][1], runs[0][1])
                conv = np.where(pick, runs[1][2], runs[0][2])
                theta[good], rss[good], converged[good] = th, cst, conv
            elif good.any():
                th, cst, conv = _batched_lm(
                    _CURVES[self.kind],
                    theta0[good],
                    t[good],
                    y[good],
                    mask[good],
                    max_iter=self.max_iter,
                    lower=np.array([-np.inf, -np.inf, 0.0]) if self.kind == "gompertz" else None,
                )
                theta[good], rss[good], converged[good] = th, cst, conv
        params = info.copy()
        names = GROWTH_MODELS[self.kind]
        self.theta_ = theta
        for j, name in enumerate(names):
            col = theta[:, j]
            if self.kind == "exponential_linear" and j > 0:
                with np.errstate(over="ignore"):
                    col = np.exp(col)
            params[name] = col
        params["n_obs"] = n
        params["rss"] = rss
        with np.errstate(divide="ignore", invalid="ignore"):
            params["aic"] = n * np.log(np.maximum(rss, 1e-300) / n) + 2 * k
        params.loc[n <= k, "aic"] = np.nan
        params["converged"] = converged
        params["t0"] = t0
        self.params_ = params
        self.kind_ = self.kind
        stopped = int(np.sum(attempted & ~converged))
        self.converged_ = stopped == 0
        if stopped:
            warnings.warn(
                f"GrowthModel({self.kind!r}): {stopped} of {int(attempted.sum())} fitted series "
                f"stopped after max_iter={self.max_iter} Levenberg–Marquardt iterations without "
                "converging (params_['converged'] is False for them); raise max_iter.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def predict(
        self, days: Sequence[float] | np.ndarray, *, series: Sequence[int] | None = None
    ) -> np.ndarray:
        """Predicted volumes (mm³), ``[series, day]``, at absolute study days."""
        check_fitted(self)
        theta = self.theta_ if series is None else self.theta_[np.asarray(series)]
        t0 = (
            self.params_["t0"].to_numpy()
            if series is None
            else self.params_["t0"].to_numpy()[np.asarray(series)]
        )
        d = np.asarray(days, dtype=float)[None, :] - t0[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            return np.exp(_CURVES[self.kind_](theta, d)) - self.offset

    @property
    def summary(self) -> pd.DataFrame:
        """Median parameters, share converged and median AIC over series."""
        check_fitted(self)
        cols = list(GROWTH_MODELS[self.kind_]) + ["rss", "aic"]
        out = self.params_[cols].median().to_frame("median").T
        out.insert(0, "model", self.kind_)
        out["series"] = len(self.params_)
        out["converged"] = float(self.params_["converged"].mean())
        return out.reset_index(drop=True)

    def plot(self, study: TreatmentStudy, *, series: Sequence[int] = (0,), ax: Any = None) -> Any:
        """Plot the data and fitted curves of the given series numbers; returns the axes."""
        from translocus.treatment.plot import growth_fit_plot

        check_fitted(self)
        return growth_fit_plot(study, [self], series=series, ax=ax)


def compare_growth_models(study: TreatmentStudy, *, offset: float = 1.0) -> pd.DataFrame:
    """Fit all three growth models and return per-series AIC and the best model."""
    fits = {k: GrowthModel(k, offset=offset).fit(study) for k in GROWTH_MODELS}  # type: ignore[arg-type]
    out = study.series()[["model", "arm", "animal", "n_obs"]].copy()
    for k, f in fits.items():
        out[f"aic_{k}"] = f.params_["aic"].to_numpy()
    aic = out[[f"aic_{k}" for k in GROWTH_MODELS]].to_numpy()
    has = np.isfinite(aic).any(axis=1)
    best = np.full(len(out), None, dtype=object)
    best[has] = np.array(list(GROWTH_MODELS))[
        np.nanargmin(np.where(np.isfinite(aic[has]), aic[has], np.inf), axis=1)
    ]
    out["best"] = best
    return out


# -- linear mixed model -------------------------------------------------------------------
@dataclass(frozen=True)
class MixedModelFit:
    """REML fit of ``y = X β + Z b + ε`` with per-animal random effects.

    ``beta``/``cov_beta`` are the fixed effects and their covariance; ``sigma2`` the
    residual variance; ``re_cov`` the random-effect covariance (intercept[, slope]) on the
    scale of ``y`` and per-day slopes; ``df`` the degrees of freedom for t-intervals.
    """

    names: tuple[str, ...]
    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    re_cov: np.ndarray
    df: float
    n_obs: int
    n_groups: int
    reml_loglik: float
    converged: bool

    def table(self, level: float = 0.95) -> pd.DataFrame:
        """Fixed effects with standard errors, t statistics, p-values and ``level`` intervals."""
        se = np.sqrt(np.diag(self.cov_beta))
        q = stats.t.ppf(0.5 + level / 2, self.df) if self.df > 0 else np.nan
        tval = self.beta / se
        return pd.DataFrame(
            {
                "term": self.names,
                "estimate": self.beta,
                "se": se,
                "ci_low": self.beta - q * se,
                "ci_high": self.beta + q * se,
                "p_value": 2 * stats.t.sf(np.abs(tval), self.df) if self.df > 0 else np.nan,
            }
        )


def fit_lmm(
    y: np.ndarray,
    x: np.ndarray,
    t: np.ndarray,
    groups: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    random_slope: bool = True,
    df: float | None = None,
) -> MixedModelFit:
    """REML fit of a linear mixed model with animal random intercepts (and slopes on ``t``).

    A thin wrapper of :func:`translocus.core.mixed.fit_mixed` that adds the degrees of
    freedom of the t-intervals.

    Parameters
    ----------
    y
        Responses, shape ``(n,)``.
    x
        Fixed-effect design, shape ``(n, p)``.
    t
        Time (days) for the random slope, shape ``(n,)``.
    groups
        Animal labels, shape ``(n,)``.
    random_slope
        Random slope on ``t`` besides the random intercept.
    df
        Degrees of freedom for intervals; default ``animals − p_between`` with random slopes
        (``p_between`` = fixed effects that vary between animals), else ``n − animals − 1``.
    """
    y = np.asarray(y, float)
    x = np.asarray(x, float)
    t = np.asarray(t, float)
    z = np.column_stack([np.ones_like(t), t]) if random_slope else np.ones((len(t), 1))
    fit = fit_mixed(y, x, z, np.asarray(groups), method="reml")
    if df is None:
        if random_slope:
            codes, uniq = pd.factorize(np.asarray(groups))
            df = float(len(uniq) - _between_columns(x, codes, len(uniq)))
        else:
            df = float(fit.n_obs - fit.n_groups - 1)
    p = x.shape[1]
    return MixedModelFit(
        names=tuple(names) if names is not None else tuple(f"x{i}" for i in range(p)),
        beta=fit.beta,
        cov_beta=fit.cov_beta,
        sigma2=fit.sigma2,
        re_cov=fit.re_cov,
        df=df,
        n_obs=fit.n_obs,
        n_groups=fit.n_groups,
        reml_loglik=fit.loglik,
        converged=fit.converged,
    )


def _robust_lmm(
    y: np.ndarray,
    x: np.ndarray,
    t: np.ndarray,
    groups: np.ndarray,
    *,
    names: Sequence[str],
    random_slope: bool,
) -> MixedModelFit:
    """Random slopes when the data support them, else a random intercept (documented)."""
    if random_slope:
        try:
            return fit_lmm(y, x, t, groups, names=names, random_slope=True)
        except (InputError, np.linalg.LinAlgError):
            pass
    try:
        return fit_lmm(y, x, t, groups, names=names, random_slope=False)
    except (InputError, np.linalg.LinAlgError) as exc:
        raise InputError(
            f"mixed model for {len(np.unique(groups))} animals and {len(y)} measurements: "
            "singular design (too few days per animal); add measurements or drop the arm."
        ) from exc


def _between_columns(x: np.ndarray, codes: np.ndarray, m: int) -> int:
    """Number of fixed-effect columns constant within every animal (between-animal terms)."""
    count = 0
    for j in range(x.shape[1]):
        lo = np.full(m, np.inf)
        hi = np.full(m, -np.inf)
        np.minimum.at(lo, codes, x[:, j])
        np.maximum.at(hi, codes, x[:, j])
        count += int(np.all(hi - lo < 1e-12))
    return max(count, 1)


class MixedGrowthModel(Estimator):
    """Exponential growth per model × arm with animal random effects (REML).

    An *analysis* estimator (``use = "analysis"``): it describes the arms of the study it
    is fitted on; ``predict`` gives those arms' population curves, not curves for new animals
    or studies.

    ``ln(V + offset) = a + r·day + b0_animal + b1_animal·day + ε``. Arms with a single animal
    are fitted by least squares (no random effects).

    Attributes
    ----------
    fits_ : pandas.DataFrame
        One row per model × arm: ``n_animals``, ``rate`` (per day), ``rate_se``,
        ``ci_low``, ``ci_high``, ``df``, ``sd_intercept``, ``sd_slope``, ``sigma``,
        ``method`` (``"mixed"`` or ``"ols"``) and ``converged`` (False where the REML
        optimiser stopped without converging; least-squares rows are always True).
    converged_ : bool
        Whether every mixed-model fit converged (warns with
        :class:`~translocus.core.estimator.ConvergenceWarning` when not).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> days = np.tile(np.arange(0, 22, 3.0), 6)
    >>> animal = np.repeat(np.arange(6), 8)
    >>> rates = 0.08 + 0.01 * rng.standard_normal(6)
    >>> vol = 150 * np.exp(rates[animal] * days + 0.05 * rng.standard_normal(48))
    >>> df = pd.DataFrame({"model": "M", "arm": "ctl", "animal": animal, "day": days,
    ...                    "volume": vol})
    >>> fit = MixedGrowthModel().fit(TreatmentStudy.from_frame(df))
    >>> bool(abs(fit.fits_["rate"].iloc[0] - 0.08) < 0.02)
    True
    """

    use = "analysis"

    def __init__(self, *, offset: float = 1.0, random_slope: bool = True, level: float = 0.95):
        self.offset = offset
        self.random_slope = random_slope
        self.level = level

    def fit(
        self,
        study: TreatmentStudy | pd.DataFrame,
        *,
        license: str | None = None,
        policy: LicensePolicy | None = None,
    ) -> MixedGrowthModel:
        """Fit the mixed model to each arm of ``study`` by REML.

        ``study`` is a :class:`TreatmentStudy` or a plain frame with ``license=``, as for
        :meth:`GrowthModel.fit`; the decision is kept in ``licence_decision_``.
        """
        study = _study_for(self, study, license, policy, "MixedGrowthModel.fit")
        fits = _arm_growth_rates(
            study, offset=self.offset, random_slope=self.random_slope, level=self.level
        )
        self.fits_ = fits
        stopped = int((~fits["converged"]).sum())
        self.converged_ = stopped == 0
        if stopped:
            mixed = int((fits["method"] == "mixed").sum())
            warnings.warn(
                f"MixedGrowthModel: the REML optimiser (SLSQP) stopped without converging in "
                f"{stopped} of {mixed} mixed-model arm fits (fits_['converged'] is False for "
                "them); check those arms for animals with few days, or fit with "
                "random_slope=False.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    @property
    def summary(self) -> pd.DataFrame:
        """Growth rate per model × arm (the ``fits_`` table)."""
        check_fitted(self)
        return self.fits_

    def predict(self, days: Sequence[float] | np.ndarray) -> pd.DataFrame:
        """Population (fixed-effect) volume curves per model × arm at the given days."""
        f = self.summary
        d = np.asarray(days, float)
        vol = (
            np.exp(f["intercept"].to_numpy()[:, None] + f["rate"].to_numpy()[:, None] * d)
            - self.offset
        )
        return pd.DataFrame(vol, index=pd.MultiIndex.from_frame(f[["model", "arm"]]), columns=d)

    def plot(self, ax: Any = None) -> Any:
        """Forest plot of arm growth rates with intervals."""
        import matplotlib.pyplot as plt

        f = self.summary
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.3 * len(f) + 1))
        yv = np.arange(len(f))
        ax.errorbar(
            f["rate"], yv, xerr=[f["rate"] - f["ci_low"], f["ci_high"] - f["rate"]], fmt="o"
        )
        ax.set_yticks(yv, [f"{m} · {a}" for m, a in zip(f["model"], f["arm"], strict=True)])
        ax.set_xlabel("log growth rate (1/day)")
        return ax


def arm_growth_rates(
    study: TreatmentStudy, *, offset: float = 1.0, random_slope: bool = True, level: float = 0.95
) -> pd.DataFrame:
    """Growth rate of each model × arm: mixed model over animals, or least squares for one."""
    fits = _arm_growth_rates(study, offset=offset, random_slope=random_slope, level=level)
    return fits.drop(columns="converged")


def _arm_growth_rates(
    study: TreatmentStudy, *, offset: float, random_slope: bool, level: float
) -> pd.DataFrame:
    """:func:`arm_growth_rates` with a ``converged`` column (the REML optimiser's status)."""
    slopes = series_log_slopes(study, offset=offset)
    rec = study.records
    rows = []
    qlevel = 0.5 + level / 2
    n_animals = slopes.groupby(["model", "arm"], sort=True).size()
    single = n_animals[n_animals == 1].index
    s1 = slopes.set_index(["model", "arm"]).loc[single].reset_index()
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(qlevel, s1["df"].where(s1["df"] > 0))
    one = pd.DataFrame(
        {
            "model": s1["model"],
            "arm": s1["arm"],
            "n_animals": 1,
            "intercept": s1["intercept"],
            "rate": s1["rate"],
            "rate_se": s1["rate_se"],
            "df": s1["df"],
            "ci_low": s1["rate"] - q * s1["rate_se"],
            "ci_high": s1["rate"] + q * s1["rate_se"],
            "sd_intercept": np.nan,
            "sd_slope": np.nan,
            "sigma": np.sqrt(s1["rss"] / s1["df"].where(s1["df"] > 0)),
            "method": "ols",
            "converged": True,
        }
    )
    multi = n_animals[n_animals > 1].index
    if len(multi):
        keyed = rec.set_index(["model", "arm"]).sort_index()
        for model, arm in multi:
            grp = keyed.loc[(model, arm)]
            day = grp["day"].to_numpy(float)
            yv = np.log(grp["volume"].to_numpy(float) + offset)
            fit = _robust_lmm(
                yv,
                np.column_stack([np.ones_like(day), day]),
                day,
                grp["animal"].to_numpy(),
                names=("intercept", "rate"),
                random_slope=random_slope,
            )
            tab = fit.table(level)
            sds = np.sqrt(np.diag(fit.re_cov))
            rows.append(
                {
                    "model": model,
                    "arm": arm,
                    "n_animals": fit.n_groups,
                    "intercept": fit.beta[0],
                    "rate": fit.beta[1],
                    "rate_se": tab["se"].iloc[1],
                    "df": fit.df,
                    "ci_low": tab["ci_low"].iloc[1],
                    "ci_high": tab["ci_high"].iloc[1],
                    "sd_intercept": sds[0],
                    "sd_slope": sds[1] if len(sds) > 1 else np.nan,
                    "sigma": np.sqrt(fit.sigma2),
                    "method": "mixed",
                    "converged": fit.converged,
                }
            )
    out = pd.concat([one, pd.DataFrame(rows)], ignore_index=True) if rows else one
    out["converged"] = out["converged"].astype(bool)
    return out.sort_values(["model", "arm"]).reset_index(drop=True)


def treatment_effects(
    study: TreatmentStudy,
    *,
    offset: float = 1.0,
    level: float = 0.95,
    random_slope: bool = True,
) -> pd.DataFrame:
    """Difference in log-growth rate, treated − control, for every model × treated arm.

    Returns
    -------
    pandas.DataFrame
        ``model, arm, rate_treated, rate_control, effect`` (per day; negative = slower
        growth on treatment), ``se, ci_low, ci_high, df, p_value, n_animals_treated,
        n_animals_control, method`` (``"ols"`` one animal per arm, ``"mixed"`` replicates).
        Models without a control arm are absent (``study.models_without_control()``).

    Examples
    --------
    >>> d = np.arange(0, 30, 3.0)
    >>> df = pd.DataFrame({"model": "M", "arm": ["ctl"] * 10 + ["drug"] * 10, "animal": "1",
    ...     "day": np.r_[d, d], "volume": np.r_[100 * np.exp(0.1 * d), 100 * np.exp(0.02 * d)] - 1})
    >>> eff = treatment_effects(TreatmentStudy.from_frame(df, control="ctl"))
    >>> round(float(eff["effect"].iloc[0]), 4)
    -0.08
    """
    control = study.require_control()
    slopes = series_log_slopes(study, offset=offset)
    slopes["n_animals"] = slopes.groupby(["model", "arm"], sort=False)["animal"].transform("size")
    q = 0.5 + level / 2
    ctl = slopes.loc[slopes["arm"] == control]
    trt = slopes.loc[slopes["arm"] != control]
    paired = trt.merge(ctl, on="model", suffixes=("", "_c"))
    counts = slopes.groupby(["model", "arm"], sort=False).size()
    one = (paired["n_animals"] == 1) & (paired["n_animals_c"] == 1)
    single_rows = paired.loc[one]
    single = list(zip(single_rows["model"], single_rows["arm"], strict=True))
    pairs = list(dict.fromkeys(zip(paired["model"], paired["arm"], strict=True)))
    rows = []
    if single:
        tr = single_rows
        ct = single_rows.rename(columns=lambda c: c[:-2] if c.endswith("_c") else c + "_t")
        n_t, n_c = tr["n_obs"].to_numpy(float), ct["n_obs"].to_numpy(float)
        df = n_t + n_c - 4
        with np.errstate(invalid="ignore", divide="ignore"):
            s2 = (tr["rss"].to_numpy() + ct["rss"].to_numpy()) / np.where(df > 0, df, np.nan)
            se = np.sqrt(s2 * (1 / tr["sxx"].to_numpy() + 1 / ct["sxx"].to_numpy()))
            effect = tr["rate"].to_numpy() - ct["rate"].to_numpy()
            tq = stats.t.ppf(q, np.where(df > 0, df, np.nan))
            pval = 2 * stats.t.sf(np.abs(effect / se), np.where(df > 0, df, np.nan))
        rows.append(
            pd.DataFrame(
                {
                    "model": [m for m, _ in single],
                    "arm": [a for _, a in single],
                    "rate_treated": tr["rate"].to_numpy(),
                    "rate_control": ct["rate"].to_numpy(),
                    "effect": effect,
                    "se": se,
                    "ci_low": effect - tq * se,
                    "ci_high": effect + tq * se,
                    "df": df,
                    "p_value": pval,
                    "n_animals_treated": 1,
                    "n_animals_control": 1,
                    "method": "ols",
                }
            )
        )
    single_set = set(single)
    replicate = [pa for pa in pairs if pa not in single_set]
    if replicate:
        rec = study.records.set_index(["model", "arm"]).sort_index()
        mixed = []
        for model, arm in replicate:
            grp = pd.concat([rec.loc[(model, control)], rec.loc[(model, arm)]])
            treated = np.r_[
                np.zeros(len(rec.loc[(model, control)])), np.ones(len(rec.loc[(model, arm)]))
            ]
            day = grp["day"].to_numpy(float)
            yv = np.log(grp["volume"].to_numpy(float) + offset)
            animal = np.char.add(
                treated.astype(int).astype(str), grp["animal"].to_numpy().astype(str)
            )
            x = np.column_stack([np.ones_like(day), day, treated, treated * day])
            n_groups = len(np.unique(animal))
            fit = _robust_lmm(
                yv,
                x,
                day,
                animal,
                names=("intercept", "rate", "treated", "effect"),
                random_slope=random_slope and n_groups >= 3,
            )
            tab = fit.table(level).set_index("term")
            mixed.append(
                {
                    "model": model,
                    "arm": arm,
                    "rate_treated": fit.beta[1] + fit.beta[3],
                    "rate_control": fit.beta[1],
                    "effect": fit.beta[3],
                    "se": tab.loc["effect", "se"],
                    "ci_low": tab.loc["effect", "ci_low"],
                    "ci_high": tab.loc["effect", "ci_high"],
                    "df": fit.df,
                    "p_value": tab.loc["effect", "p_value"],
                    "n_animals_treated": int(counts[(model, arm)]),
                    "n_animals_control": int(counts[(model, control)]),
                    "method": "mixed",
                }
            )
        rows.append(pd.DataFrame(mixed))
    if not rows:
        raise InputError(
            f"{study.source}, column 'arm': no model has both the control arm {control!r} and "
            "a treated arm; check the control arm's name."
        )
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["model", "arm"]).reset_index(drop=True)


def _components(arm: str) -> list[str]:
    return [p.strip() for p in arm.split("+") if p.strip()]


def synergy(
    study: TreatmentStudy,
    *,
    offset: float = 1.0,
    level: float = 0.95,
    rates: pd.DataFrame | None = None,
    tgi: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Bliss and highest-single-agent synergy of every combination arm (``"A + B"``).

    A combination is scored in a model when the model also has the control arm and every
    single-agent arm. Growth-rate forms (per day, negative = synergy):
    ``bliss_excess = r_AB − Σ_k r_k + (K − 1) r_C`` and ``hsa_excess = r_AB − min_k r_k``,
    with standard errors from the arms' rate SEs, Satterthwaite df, t intervals and
    p-values. Volume forms: ``bliss_tgi_excess = (1 − T/C_AB) − (1 − Π_k T/C_k)`` and
    ``hsa_tgi_excess = (1 − T/C_AB) − max_k (1 − T/C_k)`` (positive = synergy).
    """
    control = study.require_control()
    rates = rates if rates is not None else arm_growth_rates(study, offset=offset, level=level)
    if tgi is None:
        tgi = tumor_growth_inhibition(study)
    rk = {
        (m, a): (r, se, d)
        for m, a, r, se, d in rates[["model", "arm", "rate", "rate_se", "df"]].itertuples(
            index=False
        )
    }
    tk = dict(zip(zip(tgi["model"], tgi["arm"], strict=True), tgi["tc"], strict=True))
    q = 0.5 + level / 2
    rows = []
    for model, arm in rk:
        parts = _components(str(arm))
        if len(parts) < 2 or (model, control) not in rk:
            continue
        singles = [(model, p) for p in parts]
        if not all(s in rk for s in singles):
            continue
        r_ab, se_ab, df_ab = rk[(model, arm)]
        r_c, se_c, df_c = rk[(model, control)]
        r_k = np.array([rk[s][0] for s in singles], float)
        se_k = np.array([rk[s][1] for s in singles], float)
        df_k = np.array([rk[s][2] for s in singles], float)
        k = len(parts)
        bliss = r_ab - r_k.sum() + (k - 1) * r_c
        terms = np.r_[se_ab**2, se_k**2, ((k - 1) * se_c) ** 2]
        dfs = np.r_[df_ab, df_k, df_c]
        se_b, df_b = _satterthwaite(terms, dfs)
        best = int(np.argmin(r_k))
        hsa = r_ab - r_k[best]
        se_h, df_h = _satterthwaite(np.r_[se_ab**2, se_k[best] ** 2], np.r_[df_ab, df_k[best]])
        tc_ab = tk.get((model, arm), np.nan)
        tc_k = np.array([tk.get(s, np.nan) for s in singles], float)
        e_ab = 1 - tc_ab
        with np.errstate(invalid="ignore"):
            tb = stats.t.ppf(q, df_b) if df_b > 0 else np.nan
            th = stats.t.ppf(q, df_h) if df_h > 0 else np.nan
        rows.append(
            {
                "model": model,
                "arm": arm,
                "components": " | ".join(parts),
                "rate_combination": r_ab,
                "rate_best_single": r_k[best],
                "best_single": parts[best],
                "rate_control": r_c,
                "bliss_excess": bliss,
                "bliss_se": se_b,
                "bliss_ci_low": bliss - tb * se_b,
                "bliss_ci_high": bliss + tb * se_b,
                "bliss_p": 2 * stats.t.sf(abs(bliss / se_b), df_b) if df_b > 0 else np.nan,
                "hsa_excess": hsa,
                "hsa_se": se_h,
                "hsa_ci_low": hsa - th * se_h,
                "hsa_ci_high": hsa + th * se_h,
                "hsa_p": 2 * stats.t.sf(abs(hsa / se_h), df_h) if df_h > 0 else np.nan,
                "bliss_tgi_excess": e_ab - (1 - np.prod(tc_k)),
                "hsa_tgi_excess": e_ab - np.max(1 - tc_k),
            }
        )
    return pd.DataFrame(rows, columns=_SYNERGY_COLUMNS)


_SYNERGY_COLUMNS = [
    "model",
    "arm",
    "components",
    "rate_combination",
    "rate_best_single",
    "best_single",
    "rate_control",
    "bliss_excess",
    "bliss_se",
    "bliss_ci_low",
    "bliss_ci_high",
    "bliss_p",
    "hsa_excess",
    "hsa_se",
    "hsa_ci_low",
    "hsa_ci_high",
    "hsa_p",
    "bliss_tgi_excess",
    "hsa_tgi_excess",
]


def _satterthwaite(variances: np.ndarray, dfs: np.ndarray) -> tuple[float, float]:
    """SE of a sum of independent estimates and its Welch–Satterthwaite df."""
    total = float(np.sum(variances))
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = float(np.sum(variances**2 / dfs))
    df = total**2 / denom if denom > 0 else np.nan
    return float(np.sqrt(total)), df
