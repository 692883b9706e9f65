"""Survival analysis of lifespan data: one implementation shared by progression and treatment.

Estimators follow the scikit-learn / lifelines contract
(:class:`~translocus.core.estimator.Estimator`): ``__init__`` stores options, ``fit``
returns ``self``, learned state ends in ``_``, use before ``fit`` raises ``NotFittedError``,
and every model has a ``summary`` property (a DataFrame), ``plot`` and a ``predict*``
method.

- :class:`KaplanMeier` — product-limit survival with Greenwood variance, log-log
  ("exponential Greenwood") pointwise intervals, median with interval and restricted mean
  survival time (RMST) with interval; left truncation (late entry) supported.
- :class:`NelsonAalen` — cumulative hazard with log-transformed intervals.
- :func:`logrank_test` — k-group log-rank test, optionally stratified.
- :class:`ParametricSurvival` — Gompertz (``h(t) = a e^{bt}``) or Weibull
  (``S(t) = exp(-(t/lambda)^rho)``) by maximum likelihood with right censoring and left
  truncation; delta-method intervals for parameters, survival curves and the median.
  :func:`fit_parametric_by` fits one model per group (strain x sex).
- :class:`CoxPH` — Cox proportional hazards (Efron ties, lifelines' default), model-based
  and robust (sandwich, optionally clustered) standard errors, strata.
- :class:`GammaFrailtyCox` — shared gamma frailty Cox model fitted by EM for a fixed
  frailty variance ``theta`` and profile likelihood over ``theta`` (Nielsen et al. 1992;
  the approach of R ``frailtyEM``), so the reported likelihood is the marginal one.
- :class:`AalenJohansen` — cumulative incidence of competing causes;
  :func:`cause_specific_cox` — one Cox model per cause (other causes censored).
- :class:`LifespanForecaster` — survival probability and remaining-lifespan intervals
  for animals still alive (conditional parametric survival), with
  :func:`forecast_calibration` (coverage of the 50 % and 90 % intervals, estimated with a
  Kaplan-Meier on probability-integral-transform values so censored animals count).

The curves and bands of :class:`KaplanMeier` and :class:`NelsonAalen` are lifelines'
(``KaplanMeierFitter``, ``NelsonAalenFitter``); translocus adds the input checks, the event
table, the RMST and its Greenwood-type variance. The other estimators are translocus' own
where lifelines computes something else or much more slowly: the log-rank test (lifelines
has no strata and no observed/expected table), Weibull and Gompertz fits (lifelines'
Weibull stops short of the optimum; it has no Gompertz), Cox (lifelines has no Breslow
ties or offsets, its robust variance ignores Efron's weighting of tied deaths, and it is
10-45x slower), gamma frailty, Aalen-Johansen (lifelines jitters tied times at random)
and the lifespan forecasts. Every estimator is tested against R's ``survival`` package
(``tests/reference/survival``).

Times are in the caller's unit (days for the lifespan readers). ``event`` is 1 for a death
and 0 for a censored animal.

Examples
--------
>>> import numpy as np
>>> km = KaplanMeier().fit([5, 6, 6, 2.5, 4, 4], [1, 0, 0, 1, 1, 1])
>>> round(float(km.survival_at(4.5)[0]), 4)
0.5
>>> km.median_  # the curve sits at 0.5 from 4 to 5: R's midpoint
4.5
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
from translocus.core.intervals import POINT, as_levels, interval_columns, normal_quantile
from translocus.core.provenance import (
    LicenseDecision,
    LicensePolicy,
    Provenance,
)
from translocus.core.table import ProvenanceTable, licence_gate, provenance_for
from translocus.progression import _survival_cox as _cox
from translocus.progression import _survival_parametric as _par

__all__ = [
    "AalenJohansen",
    "CoxPH",
    "GammaFrailtyCox",
    "KaplanMeier",
    "LifespanForecaster",
    "LogRankResult",
    "NelsonAalen",
    "ParametricSurvival",
    "cause_specific_cox",
    "dummy_covariates",
    "fit_parametric_by",
    "forecast_backtest",
    "forecast_calibration",
    "logrank_test",
    "survival_table",
    "validate_time_to_event",
]


# ---------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------
def _rows(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(i + 1) for i in idx[:limit])
    return shown + (", ..." if idx.size > limit else "")


def _check_arrays(
    time: Any,
    event: Any = None,
    entry: Any = None,
    *,
    source: str = "data",
    time_name: str = "time",
    event_name: str = "event",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate time / event / entry vectors and return them as float arrays."""
    try:
        t = np.asarray(time, dtype=float).ravel()
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{source}, column '{time_name}': values are not numbers; give times as numbers."
        ) from exc
    if t.size == 0:
        raise InputError(f"{source}: no rows; give at least one animal with a time.")
    bad = ~np.isfinite(t)
    if bad.any():
        raise InputError(
            f"{source}, column '{time_name}': {int(bad.sum())} missing or infinite times "
            f"(rows {_rows(bad)}); drop these animals or fill in their times."
        )
    if (t < 0).any():
        neg = t < 0
        raise InputError(
            f"{source}, column '{time_name}': {int(neg.sum())} negative times (rows "
            f"{_rows(neg)}); a death or censoring cannot come before birth/entry, fix the dates."
        )
    if event is None:
        e = np.ones_like(t)
    else:
        try:
            e = np.asarray(event, dtype=float).ravel()
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{source}, column '{event_name}': values are not 0/1; code deaths 1, censored 0."
            ) from exc
        if e.shape != t.shape:
            raise InputError(f"{source}: '{event_name}' and '{time_name}' differ in length.")
        bad = ~np.isin(e, (0.0, 1.0))
        if bad.any():
            raise InputError(
                f"{source}, column '{event_name}': {int(bad.sum())} values are not 0 or 1 "
                f"(rows {_rows(bad)}); code deaths 1 and censored animals 0."
            )
    if entry is None:
        en = np.zeros_like(t)
    else:
        en = np.asarray(entry, dtype=float).ravel()
        if en.shape != t.shape or (~np.isfinite(en)).any() or (en < 0).any():
            raise InputError(
                f"{source}, entry column: entry ages must be finite, non-negative numbers, "
                "one per animal."
            )
        late = en >= t
        if (late & (t > 0)).any():
            raise InputError(
                f"{source}: {int(late.sum())} animals enter at or after their exit time (rows "
                f"{_rows(late)}); entry must be before death/censoring."
            )
    return t, e, en


def validate_time_to_event(
    data: pd.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    animal: str | None = "animal",
    birth: str | None = None,
    end: str | None = None,
    group: Sequence[str] = (),
    min_group_size: int = 1,
    source: str = "data",
) -> pd.DataFrame:
    """Check a time-to-event table and return it unchanged, or raise :class:`InputError`.

    Checks: the columns exist; times are finite and non-negative; events are 0/1; no
    animal appears twice; when ``birth`` and ``end`` date columns are given, no death or
    censoring date precedes the birth date; every ``group`` has at least
    ``min_group_size`` animals (a group of one animal is allowed by default: Kaplan-Meier
    and log-rank handle it, parametric fits refuse groups without enough deaths).

    >>> df = pd.DataFrame({"animal": ["a", "b"], "time": [3.0, 5.0], "event": [1, 0]})
    >>> len(validate_time_to_event(df))
    2
    """
    needed = [time, event, *group]
    needed += [c for c in (animal, birth, end) if c is not None]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(map(str, data.columns))}."
        )
    if birth is not None and end is not None:
        b = pd.to_datetime(data[birth], errors="coerce")
        e = pd.to_datetime(data[end], errors="coerce")
        before = (e < b).to_numpy()
        if before.any():
            raise InputError(
                f"{source}, columns '{birth}'/'{end}': {int(before.sum())} animals die or are "
                f"censored before they are born (rows {_rows(before)}); fix the dates."
            )
    _check_arrays(data[time], data[event], source=source, time_name=time, event_name=event)
    if animal is not None:
        dup = data[animal].duplicated(keep=False).to_numpy()
        if dup.any():
            first = data.loc[dup, animal].iloc[0]
            raise InputError(
                f"{source}, column '{animal}': {int(data[animal].duplicated().sum())} animals "
                f"appear more than once (first {first!r}, rows {_rows(dup)}); keep one row "
                "per animal."
            )
    if group and min_group_size > 1:
        sizes = data.groupby(list(group), observed=True).size()
        small = sizes[sizes < min_group_size]
        if len(small):
            raise InputError(
                f"{source}: group {small.index[0]!r} has {int(small.iloc[0])} animal(s), fewer "
                f"than {min_group_size}; merge it with another group or drop it."
            )
    return data


# ---------------------------------------------------------------------------------------
# Kaplan-Meier and Nelson-Aalen
# ---------------------------------------------------------------------------------------
def _event_table(t: np.ndarray, e: np.ndarray, entry: np.ndarray) -> pd.DataFrame:
    times = np.unique(t)
    ts = np.sort(t)
    at_risk = ts.size - np.searchsorted(ts, times, side="left")
    if np.any(entry > 0):
        # late entry: at risk at u when entry < u <= exit time
        en = np.sort(entry)
        at_risk = at_risk - (en.size - np.searchsorted(en, times, side="left"))
    idx = np.searchsorted(times, t)
    deaths = np.bincount(idx, weights=e, minlength=times.size)
    removed = np.bincount(idx, minlength=times.size).astype(float)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(float),
            "deaths": deaths,
            "censored": removed - deaths,
        }
    )


def _lifelines_fit(name: str, level: float, t: np.ndarray, e: np.ndarray, entry: np.ndarray) -> Any:
    """Fit lifelines' ``KaplanMeierFitter`` or ``NelsonAalenFitter`` to checked arrays.

    lifelines is imported here, not with this module, so that commands which never fit a
    curve do not pay for its import.
    """
    import lifelines

    kwargs = {"nelson_aalen_smoothing": False} if name == "NelsonAalenFitter" else {}
    fitter = getattr(lifelines, name)(alpha=1 - level, **kwargs)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # the log(-log) band is undefined where the curve is 1 or 0; set there by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        return fitter.fit(t, e, entry=entry if np.any(entry > 0) else None)


class KaplanMeier(Estimator):
    """Kaplan-Meier survival estimate with Greenwood variance (lifelines' curve and band).

    ``use = "analysis"``: the curve describes the animals it is fitted on.

    Parameters
    ----------
    level
        Probability of the two-sided intervals (0.95 gives 95 % intervals).

    Attributes
    ----------
    table_ : DataFrame
        One row per distinct time: ``time``, ``at_risk``, ``deaths``, ``censored``,
        ``survival``, ``se`` (Greenwood), ``lower``, ``upper`` (log-log interval).
    median_, median_ci_ : float, (float, float)
        Median survival and its interval (the times at which the lower / upper pointwise
        band crosses 0.5, Brookmeyer-Crowley style; ``inf`` when it never does).

    Examples
    --------
    >>> km = KaplanMeier().fit([1, 2, 3, 4], [1, 1, 1, 1])
    >>> km.rmst(4.0)["rmst"]
    2.5
    """

    use = "analysis"

    def __init__(self, *, level: float = 0.95) -> None:
        self.level = level

    def fit(
        self,
        time: Any,
        event: Any = None,
        *,
        entry: Any = None,
        label: str = "KM",
        source: str = "data",
    ) -> KaplanMeier:
        """Estimate the survival curve from times, events (1 death, 0 censored) and entry ages."""
        t, e, en = _check_arrays(time, event, entry, source=source)
        fitter = _lifelines_fit("KaplanMeierFitter", self.level, t, e, en)
        tab = _event_table(t, e, en)
        times = tab["time"].to_numpy()
        surv = fitter.survival_function_.iloc[:, 0].loc[times].to_numpy()
        band = fitter.confidence_interval_.loc[times].to_numpy()
        # Greenwood: var(log S) = sum d / (n (n - d)); infinite once the curve reaches 0
        n, d = tab["at_risk"].to_numpy(), tab["deaths"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            gw_terms = np.where(n - d > 0, d / (n * (n - d)), np.where(d > 0, np.inf, 0.0))
            se = surv * np.sqrt(np.cumsum(gw_terms))
        tab["survival"] = surv
        tab["se"] = np.where(np.isfinite(se), se, 0.0)
        for j, side in enumerate(("lower", "upper")):
            tab[side] = np.where(surv >= 1.0, 1.0, np.where(surv <= 0, 0.0, band[:, j]))
        self.table_ = tab
        self._greenwood = gw_terms
        self.label_ = label
        self.n_ = int(t.size)
        self.events_ = int(e.sum())
        self.median_ = self.quantile_time(0.5)
        self.median_ci_ = (
            self._crossing(tab["lower"].to_numpy(), 0.5),
            self._crossing(tab["upper"].to_numpy(), 0.5),
        )
        return self

    def _crossing(self, curve: np.ndarray, q: float) -> float:
        # R's survival::quantile.survfit: equality within sqrt(eps); a curve that sits at q
        # gives the midpoint between where it reaches q and where it drops below (or the
        # last time when it never does)
        tol = float(np.sqrt(np.finfo(float).eps))
        times = self.table_["time"].to_numpy(dtype=float)
        hit = np.flatnonzero(curve <= q + tol)
        if not hit.size:
            return float("inf")
        first = hit[0]
        if abs(curve[first] - q) >= tol:
            return float(times[first])
        below = np.flatnonzero(curve < q - tol)
        end = times[below[0]] if below.size else times[-1]
        return float((times[first] + end) / 2)

    def quantile_time(self, q: float) -> float:
        """Time at which survival reaches ``q``, as R's ``quantile.survfit`` (``inf`` if never).

        The first time survival is at or below ``q``; where the curve sits exactly at ``q``
        over an interval, the midpoint of that interval.
        """
        check_fitted(self)
        return self._crossing(self.table_["survival"].to_numpy(), q)

    def survival_at(self, times: Any) -> np.ndarray:
        """Survival probability at ``times`` (right-continuous step function)."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        grid = self.table_["time"].to_numpy()
        s = np.r_[1.0, self.table_["survival"].to_numpy()]
        return np.asarray(s[np.searchsorted(grid, tt, side="right")])

    predict = survival_at

    def rmst(self, tau: float) -> dict[str, float]:
        """Restricted mean survival time up to ``tau`` with its Greenwood-type interval.

        ``var = sum_j A_j^2 d_j / (n_j (n_j - d_j))`` over death times ``t_j <= tau``, with
        ``A_j`` the area under the curve between ``t_j`` and ``tau`` (Klein & Moeschberger
        4.5). Without censoring and ``tau`` past the last death this is the sample mean
        and its plug-in variance ``sum (x - mean)^2 / n^2``.
        """
        check_fitted(self)
        grid = self.table_["time"].to_numpy()
        surv = self.table_["survival"].to_numpy()
        keep = grid <= tau
        knots = np.r_[0.0, grid[keep], tau]
        levels = np.r_[1.0, surv[keep]]
        areas = levels * np.diff(knots)
        est = float(areas.sum())
        # area from each death time to tau
        tail = np.cumsum(areas[::-1])[::-1][1:]
        g = np.where(np.isfinite(self._greenwood[keep]), self._greenwood[keep], 0.0)
        var = float(np.sum(tail**2 * g))
        se = np.sqrt(var)
        z = normal_quantile(self.level)
        return {
            "tau": float(tau),
            "rmst": est,
            "se": se,
            "lower": est - z * se,
            "upper": est + z * se,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """One-row table: animals, deaths, median with interval."""
        check_fitted(self)
        return pd.DataFrame(
            {
                "label": [self.label_],
                "n": [self.n_],
                "deaths": [self.events_],
                "median": [self.median_],
                "median_lower": [self.median_ci_[0]],
                "median_upper": [self.median_ci_[1]],
            }
        )

    def plot(self, ax: Any = None, *, ci: bool = True, **kwargs: Any) -> Any:
        """Step plot of the survival curve (and its band) on a matplotlib axis."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = np.r_[0.0, self.table_["time"].to_numpy()]
        s = np.r_[1.0, self.table_["survival"].to_numpy()]
        (line,) = ax.step(t, s, where="post", label=kwargs.pop("label", self.label_), **kwargs)
        if ci:
            lo = np.r_[1.0, self.table_["lower"].to_numpy()]
            hi = np.r_[1.0, self.table_["upper"].to_numpy()]
            ax.fill_between(t, lo, hi, step="post", alpha=0.15, color=line.get_color())
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("survival")
        return ax


class NelsonAalen(Estimator):
    """Nelson-Aalen cumulative hazard with log-scale intervals (lifelines' estimate).

    The variance increments are ``d (n - d) / n^3`` (the binomial form lifelines uses);
    intervals are ``H exp(+-z se / H)``. ``use = "analysis"``: the estimate describes the
    animals it is fitted on.

    >>> na = NelsonAalen().fit([1, 2, 3], [1, 1, 1])
    >>> [round(v, 4) for v in na.table_["cumulative_hazard"]]
    [0.3333, 0.8333, 1.8333]
    """

    use = "analysis"

    def __init__(self, *, level: float = 0.95) -> None:
        self.level = level

    def fit(
        self, time: Any, event: Any = None, *, entry: Any = None, label: str = "NA"
    ) -> NelsonAalen:
        """Estimate the cumulative hazard from times, events and entry ages."""
        t, e, en = _check_arrays(time, event, entry)
        fitter = _lifelines_fit("NelsonAalenFitter", self.level, t, e, en)
        tab = _event_table(t, e, en)
        times = tab["time"].to_numpy()
        h = fitter.cumulative_hazard_.iloc[:, 0].loc[times].to_numpy()
        band = fitter.confidence_interval_.loc[times].to_numpy()
        n, d = tab["at_risk"].to_numpy(), tab["deaths"].to_numpy()
        tab["cumulative_hazard"] = h
        tab["variance"] = np.cumsum(np.where(n > 0, d * (n - d) / np.maximum(n, 1) ** 3, 0.0))
        tab["lower"] = np.where(h > 0, band[:, 0], 0.0)
        tab["upper"] = np.where(h > 0, band[:, 1], 0.0)
        self.table_ = tab
        self.label_ = label
        return self

    def predict(self, times: Any) -> np.ndarray:
        """Cumulative hazard at ``times`` (right-continuous step function)."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        h = np.r_[0.0, self.table_["cumulative_hazard"].to_numpy()]
        return np.asarray(h[np.searchsorted(self.table_["time"].to_numpy(), tt, side="right")])

    @property
    def summary(self) -> pd.DataFrame:
        """The event table with the cumulative hazard, its variance and interval."""
        check_fitted(self)
        return self.table_.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the cumulative hazard as a step function; return the axes."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = np.r_[0.0, self.table_["time"].to_numpy()]
        h = np.r_[0.0, self.table_["cumulative_hazard"].to_numpy()]
        ax.step(t, h, where="post", label=kwargs.pop("label", self.label_), **kwargs)
        ax.set_ylabel("cumulative hazard")
        return ax


# ---------------------------------------------------------------------------------------
# log-rank
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRankResult:
    """Result of :func:`logrank_test`.

    Chi-square statistic, degrees of freedom, p-value and observed / expected deaths per
    group (summed over strata).
    """

    statistic: float
    df: int
    p_value: float
    table: pd.DataFrame = field(repr=False)

    @property
    def summary(self) -> pd.DataFrame:
        """Statistic, degrees of freedom and p-value as a one-row table."""
        return pd.DataFrame(
            {"statistic": [self.statistic], "df": [self.df], "p_value": [self.p_value]}
        )


def logrank_test(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    source: str = "data",
) -> LogRankResult:
    """Log-rank test of equal hazards across ``k`` groups, optionally stratified.

    Observed minus expected deaths and their hypergeometric covariance are summed over
    strata; the statistic uses the first ``k - 1`` groups (chi-square, ``k - 1`` df).

    >>> r = logrank_test([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], ["a", "a", "a", "b", "b", "b"])
    >>> r.df
    1
    """
    t, e, _ = _check_arrays(time, event, source=source)
    g = np.asarray(group).ravel()
    if g.shape != t.shape:
        raise InputError(f"{source}: the group column differs in length from the times.")
    levels, gi = np.unique(g, return_inverse=True)
    k = levels.size
    if k < 2:
        raise InputError(
            f"{source}: the log-rank test needs at least two groups, found {k}; check the "
            "group column."
        )
    s = (
        np.zeros(t.size, dtype=int)
        if strata is None
        else np.unique(np.asarray(strata).ravel(), return_inverse=True)[1]
    )
    obs = np.zeros(k)
    exp = np.zeros(k)
    cov = np.zeros((k, k))
    for sv in np.unique(s):
        m = s == sv
        ts, es, gs = t[m], e[m], gi[m]
        times = np.unique(ts[es > 0])
        if times.size == 0:
            continue
        n_g = np.empty((times.size, k))
        d_g = np.empty((times.size, k))
        for j in range(k):
            tj = np.sort(ts[gs == j])
            n_g[:, j] = tj.size - np.searchsorted(tj, times, side="left")
            dj = ts[(gs == j) & (es > 0)]
            d_g[:, j] = np.bincount(np.searchsorted(times, dj), minlength=times.size)
        n = n_g.sum(axis=1)
        d = d_g.sum(axis=1)
        obs += d_g.sum(axis=0)
        exp += (n_g * (d / n)[:, None]).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            fac = np.where(n > 1, d * (n - d) / (n - 1), 0.0) / n
        frac = n_g / n[:, None]
        cov += np.einsum("t,ti,ij->ij", fac, n_g, np.eye(k)) - np.einsum(
            "t,ti,tj->ij", fac, n_g, frac
        )
    diff = (obs - exp)[:-1]
    v = cov[:-1, :-1]
    stat = float(diff @ np.linalg.pinv(v) @ diff)
    table = pd.DataFrame({"group": levels, "observed": obs, "expected": exp})
    return LogRankResult(stat, k - 1, float(stats.chi2.sf(stat, k - 1)), table)


# ---------------------------------------------------------------------------------------
# parametric ageing models
# ---------------------------------------------------------------------------------------
_DISTRIBUTIONS = ("gompertz", "weibull")


class ParametricSurvival(Estimator):
    """Gompertz or Weibull survival by maximum likelihood (right censoring, left truncation).

    ``use = "analysis"``: the fit describes the ageing of the animals it is fitted on
    (:class:`LifespanForecaster`, which forecasts other animals, is the training use). A
    likelihood that does not converge raises :class:`InputError` rather than warning.

    Parameters
    ----------
    distribution
        ``"gompertz"``: hazard ``h(t) = a exp(b t)`` (``a`` initial mortality per time unit,
        ``b`` rate of ageing; mortality-rate doubling time ``log 2 / b``).
        ``"weibull"``: ``S(t) = exp(-(t / lambda)^rho)`` (lifelines' ``lambda_``, ``rho_``).
    level
        Probability of the two-sided intervals (0.95 gives 95 % intervals).

    Attributes
    ----------
    params_ : Series
        ``a``, ``b`` (Gompertz) or ``lambda_``, ``rho_`` (Weibull).
    theta_, cov_ :
        Estimates on the fitting scale (``log a, b`` or ``log lambda, log rho``) and their
        covariance (inverse observed information).
    loglik_, aic_, n_, events_, median_, median_ci_

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> t = rng.exponential(10.0, 2000)
    >>> m = ParametricSurvival("weibull").fit(t)
    >>> bool(abs(m.params_["rho_"] - 1) < 0.05)
    True
    """

    use = "analysis"

    def __init__(self, distribution: str = "gompertz", *, level: float = 0.95) -> None:
        self.distribution = distribution
        self.level = level

    def fit(
        self,
        time: Any,
        event: Any = None,
        *,
        entry: Any = None,
        label: str = "",
        source: str = "data",
    ) -> ParametricSurvival:
        """Fit the distribution by maximum likelihood to times, events and entry ages."""
        if self.distribution not in _DISTRIBUTIONS:
            raise InputError(
                f"distribution {self.distribution!r} is not supported; use one of {_DISTRIBUTIONS}."
            )
        t, e, en = _check_arrays(time, event, entry, source=source)
        if e.sum() < 2:
            raise InputError(
                f"{source}{' group ' + repr(label) if label else ''}: {int(e.sum())} death(s); "
                f"a {self.distribution} fit needs at least 2, merge this group with another "
                "or drop it."
            )
        if self.distribution == "weibull" and (t <= 0).any():
            raise InputError(
                f"{source}: Weibull fits need positive times; {int((t <= 0).sum())} are zero."
            )
        scale = float(np.median(t[t > 0])) if (t > 0).any() else 1.0
        ts, es, ens = t / scale, e, en / scale
        if self.distribution == "gompertz":
            start = np.array([np.log(es.sum() / max(float((ts - ens).sum()), 1e-12)), 0.0])
        else:
            start = np.array([float(np.log(np.mean(ts))), 0.0])

        def nll(th: np.ndarray) -> float:
            v = _par.loglik(self.distribution, th, ts, es, ens)[0]
            return -v if np.isfinite(v) else 1e300

        def grad(th: np.ndarray) -> np.ndarray:
            return -_par.loglik(self.distribution, th, ts, es, ens)[1]

        def hess(th: np.ndarray) -> np.ndarray:
            return -_par.loglik(self.distribution, th, ts, es, ens)[2]

        try:
            res = optimize.minimize(
                nll, start, jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-10}
            )
            theta_s = res.x
            ll, g, h = _par.loglik(self.distribution, theta_s, ts, es, ens)
        except (ValueError, np.linalg.LinAlgError):  # the optimiser stepped to inf or NaN
            ll, g = np.nan, np.full(2, np.nan)
        if not np.isfinite(ll) or not np.max(np.abs(g)) <= 1e-4 * max(1.0, es.sum()):
            raise InputError(
                f"{source}{' group ' + repr(label) if label else ''}: the {self.distribution} "
                "likelihood did not converge; check that the group has enough deaths spread "
                "over time."
            )
        cov_s = np.linalg.inv(-h)
        theta, cov = _par.unscale(self.distribution, theta_s, cov_s, scale)
        # the likelihood on the original scale differs by the Jacobian of t -> t / s
        self.loglik_ = float(ll - e.sum() * np.log(scale))
        self.theta_ = theta
        self.cov_ = cov
        self.n_ = int(t.size)
        self.events_ = int(e.sum())
        self.aic_ = 2 * 2 - 2 * self.loglik_
        self.label_ = label
        if self.distribution == "gompertz":
            self.params_ = pd.Series({"a": float(np.exp(theta[0])), "b": float(theta[1])})
        else:
            self.params_ = pd.Series(
                {"lambda_": float(np.exp(theta[0])), "rho_": float(np.exp(theta[1]))}
            )
        self.median_, self.median_ci_ = self._quantile_with_ci(0.5)
        return self

    # -- model functions -------------------------------------------------------------------
    def cumulative_hazard(self, times: Any, theta: np.ndarray | None = None) -> np.ndarray:
        """Cumulative hazard at ``times`` (at ``theta`` on the fitting scale if given)."""
        check_fitted(self)
        th = self.theta_ if theta is None else theta
        tt = np.asarray(times, dtype=float)
        return np.asarray(_par.cumhaz(self.distribution, th, np.atleast_1d(tt)))

    def _inverse_cumhaz(self, h: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        th = self.theta_ if theta is None else theta
        h = np.asarray(h, dtype=float)
        if self.distribution == "gompertz":
            a, b = np.exp(th[0]), th[1]
            if abs(b) < 1e-12:
                return np.asarray(h / a)
            arg = 1 + b * h / a
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray(np.where(arg > 0, np.log(arg) / b, np.inf))
        lam, rho = np.exp(th)
        return np.asarray(lam * h ** (1.0 / rho))

    def quantile_time(self, q: Any, *, given_age: Any = 0.0) -> np.ndarray:
        """Time ``t`` with ``S(t) / S(given_age) = q`` (``q = 0.5``: median)."""
        check_fitted(self)
        q = np.asarray(q, dtype=float)
        h0 = self.cumulative_hazard(given_age)
        return self._inverse_cumhaz(h0 - np.log(q))

    def _quantile_with_ci(self, q: float) -> tuple[float, tuple[float, float]]:
        est = float(self.quantile_time(q)[0])
        if not np.isfinite(est) or est <= 0:
            return est, (float("nan"), float("nan"))
        grad = np.zeros(2)
        for i in range(2):
            step = 1e-6 * max(1.0, abs(self.theta_[i]))
            up, dn = self.theta_.copy(), self.theta_.copy()
            up[i] += step
            dn[i] -= step
            fu = np.log(self._inverse_cumhaz(np.array([-np.log(q)]), up)[0])
            fd = np.log(self._inverse_cumhaz(np.array([-np.log(q)]), dn)[0])
            grad[i] = (fu - fd) / (2 * step)
        se = float(np.sqrt(grad @ self.cov_ @ grad))
        z = normal_quantile(self.level)
        return est, (est * np.exp(-z * se), est * np.exp(z * se))

    def predict(self, times: Any) -> pd.DataFrame:
        """Survival at ``times`` with delta-method intervals (on log cumulative hazard)."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        h = self.cumulative_hazard(tt)
        if self.distribution == "gompertz":
            g, gb, _ = _par._gompertz_g(float(self.theta_[1]), tt)
            with np.errstate(divide="ignore", invalid="ignore"):
                jac = np.column_stack([np.ones_like(tt), gb / g])
        else:
            rho = np.exp(self.theta_[1])
            with np.errstate(divide="ignore"):
                jac = np.column_stack([-rho * np.ones_like(tt), np.log(h)])
        se = np.sqrt(np.einsum("ti,ij,tj->t", jac, self.cov_, jac))
        z = normal_quantile(self.level)
        with np.errstate(divide="ignore", invalid="ignore"):
            logh = np.log(h)
            lower = np.exp(-np.exp(logh + z * se))
            upper = np.exp(-np.exp(logh - z * se))
        return pd.DataFrame(
            {
                "time": tt,
                "survival": np.exp(-h),
                "lower": np.where(tt > 0, lower, 1.0),
                "upper": np.where(tt > 0, upper, 1.0),
            }
        )

    def hazard(self, times: Any) -> np.ndarray:
        """Hazard at ``times``."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        if self.distribution == "gompertz":
            return np.asarray(np.exp(self.theta_[0] + self.theta_[1] * tt))
        lam, rho = np.exp(self.theta_)
        return np.asarray((rho / lam) * (tt / lam) ** (rho - 1))

    @property
    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and intervals (plus MRDT for Gompertz, median)."""
        check_fitted(self)
        z = normal_quantile(self.level)
        se_t = np.sqrt(np.diag(self.cov_))
        rows = []
        if self.distribution == "gompertz":
            a = float(np.exp(self.theta_[0]))
            b = float(self.theta_[1])
            rows.append(("a", a, a * se_t[0], a * np.exp(-z * se_t[0]), a * np.exp(z * se_t[0])))
            rows.append(("b", b, se_t[1], b - z * se_t[1], b + z * se_t[1]))
            if b > 0:
                mrdt = np.log(2) / b
                rel = se_t[1] / b
                rows.append(
                    ("mrdt", mrdt, mrdt * rel, mrdt * np.exp(-z * rel), mrdt * np.exp(z * rel))
                )
        else:
            for i, name in enumerate(("lambda_", "rho_")):
                v = float(np.exp(self.theta_[i]))
                rows.append(
                    (name, v, v * se_t[i], v * np.exp(-z * se_t[i]), v * np.exp(z * se_t[i]))
                )
        lo, hi = self.median_ci_
        rows.append(("median", self.median_, float("nan"), lo, hi))
        out = pd.DataFrame(rows, columns=["parameter", "estimate", "se", "lower", "upper"])
        out.insert(0, "label", self.label_)
        return out

    def plot(self, ax: Any = None, *, t_max: float | None = None, **kwargs: Any) -> Any:
        """Draw the fitted survival curve with its pointwise interval; return the axes."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        top = t_max if t_max is not None else float(self.quantile_time(0.01)[0])
        grid = np.linspace(0, top, 200)
        p = self.predict(grid)
        (line,) = ax.plot(grid, p["survival"], label=kwargs.pop("label", self.label_), **kwargs)
        ax.fill_between(grid, p["lower"], p["upper"], alpha=0.15, color=line.get_color())
        ax.set_ylim(0, 1.02)
        return ax


def _group_label(key: Any) -> str:
    return " ".join(map(str, key)) if isinstance(key, tuple) else str(key)


def fit_parametric_by(
    data: pd.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    group: Sequence[str] = ("strain", "sex"),
    distribution: str = "gompertz",
    entry: str | None = None,
    level: float = 0.95,
    on_small_group: str = "raise",
    source: str = "data",
) -> tuple[pd.DataFrame, dict[str, ParametricSurvival]]:
    """Fit one parametric model per group; return the stacked summary and the models.

    ``on_small_group="raise"`` (default) raises :class:`InputError` for a group with fewer
    than two deaths; ``"skip"`` leaves it out (it is listed in ``table.attrs["skipped"]``).
    """
    models: dict[str, ParametricSurvival] = {}
    rows = []
    skipped = []
    keys = list(group)
    grouped = data.groupby(keys, observed=True, sort=True) if keys else [("all", data)]
    for key, sub in grouped:
        label = _group_label(key)
        if on_small_group == "skip" and sub[event].sum() < 2:
            skipped.append(label)
            continue
        m = ParametricSurvival(distribution, level=level).fit(
            sub[time],
            sub[event],
            entry=None if entry is None else sub[entry],
            label=label,
            source=source,
        )
        models[label] = m
        s = m.summary
        for k, v in zip(keys, key if isinstance(key, tuple) else (key,), strict=False):
            s[k] = v
        s["n"] = m.n_
        s["deaths"] = m.events_
        s["loglik"] = m.loglik_
        rows.append(s)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    table.attrs["skipped"] = skipped
    return table, models


# ---------------------------------------------------------------------------------------
# Cox proportional hazards
# ---------------------------------------------------------------------------------------
def dummy_covariates(
    data: pd.DataFrame, columns: Sequence[str], *, reference: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Numeric design columns for Cox fits: numbers kept, categories as 0/1 indicators.

    The reference level of a category is ``reference[column]`` or its first sorted level.

    >>> dummy_covariates(pd.DataFrame({"sex": ["F", "M", "M"]}), ["sex"]).columns.tolist()
    ['sex[M]']
    """
    out = {}
    for col in columns:
        v = data[col]
        if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
            out[col] = v.astype(float)
            continue
        levels = sorted(v.dropna().astype(str).unique())
        ref = str((reference or {}).get(col, levels[0]))
        for lev in levels:
            if lev != ref:
                out[f"{col}[{lev}]"] = (v.astype(str) == lev).astype(float)
    return pd.DataFrame(out, index=data.index)


def _design(
    data: pd.DataFrame,
    time: str,
    event: str,
    covariates: Sequence[str] | None,
    exclude: Sequence[str],
    source: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    missing = [c for c in (time, event) if c not in data.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {missing}; name the time and event columns.")
    if covariates is None:
        covariates = [c for c in data.columns if c not in {time, event, *exclude}]
    covariates = list(covariates)
    bad = [
        c for c in covariates if c not in data.columns or not pd.api.types.is_numeric_dtype(data[c])
    ]
    if bad:
        raise InputError(
            f"{source}: covariate column(s) {bad} are missing or not numeric; encode "
            "categories with dummy_covariates() first."
        )
    x = data[covariates].to_numpy(dtype=float)
    nan_rows = ~np.isfinite(x).all(axis=1)
    if nan_rows.any():
        raise InputError(
            f"{source}: {int(nan_rows.sum())} rows have missing covariates (rows "
            f"{_rows(nan_rows)}); drop or impute them."
        )
    t, e, _ = _check_arrays(
        data[time], data[event], source=source, time_name=time, event_name=event
    )
    return t, e, x, covariates


#: Newton-Raphson iterations of the Cox partial likelihood (R survival stops at 20)
_NEWTON_MAX_ITER = 100


class CoxPH(Estimator):
    """Cox proportional hazards model (Efron ties by default, like lifelines and R).

    ``use = "analysis"``: the hazard ratios describe the animals the model is fitted on;
    :meth:`predict_survival_function` reads the fitted baseline for given covariates.

    Parameters
    ----------
    ties
        ``"efron"`` or ``"breslow"``.
    level
        Probability of the two-sided intervals (0.95 gives 95 % intervals).
    robust
        Report sandwich (robust) standard errors as the primary ones; with ``cluster``
        given to ``fit`` they are cluster-robust.
    penalizer
        Ridge penalty ``penalizer / 2 * ||beta||^2`` (0 = ordinary partial likelihood).

    Attributes
    ----------
    params_, standard_errors_, model_standard_errors_, robust_standard_errors_ : Series
    variance_matrix_ : DataFrame
    loglik_, loglik_null_ : float
    baseline_cumulative_hazard_ : DataFrame
        Columns ``stratum``, ``time``, ``cumulative_hazard`` (for centred covariates).
    converged_ : bool
        Whether Newton-Raphson converged within its iterations (otherwise ``fit`` warns
        with :class:`ConvergenceWarning`).

    Examples
    --------
    >>> df = pd.DataFrame({"t": [5, 3, 9, 8, 7, 4, 6, 2], "e": [1, 1, 0, 1, 1, 1, 0, 1],
    ...                    "x": [0, 1, 0, 0, 1, 1, 0, 1]})
    >>> cph = CoxPH().fit(df, time="t", event="e")
    >>> round(float(cph.params_["x"]), 4)
    2.0629
    """

    def __init__(
        self,
        *,
        ties: str = "efron",
        level: float = 0.95,
        robust: bool = False,
        penalizer: float = 0.0,
    ) -> None:
        self.ties = ties
        self.level = level
        self.robust = robust
        self.penalizer = penalizer

    def fit(
        self,
        data: pd.DataFrame | ProvenanceTable,
        *,
        time: str = "time",
        event: str = "event",
        covariates: Sequence[str] | None = None,
        strata: str | Sequence[str] | None = None,
        cluster: str | None = None,
        offset: Any = None,
        source: str = "data",
        license: str | None = None,
        provenance: Provenance | None = None,
        policy: LicensePolicy | None = None,
    ) -> CoxPH:
        """Fit the hazard ratios of ``covariates`` (default: every other column).

        ``data`` is a plain frame, whose licence ``license=`` (SPDX, ``"MIT"``) or
        ``provenance=`` names, or a table with its provenance
        (:class:`~translocus.progression.lifespan_data.LifespanTable`; its id column is
        not a covariate). Fitting is analysis (``use = "analysis"``): the licence
        decision is recorded in ``licence_decision_`` under ``policy`` and never refuses.
        """
        if isinstance(data, ProvenanceTable):
            if license is not None or provenance is not None:
                raise OptionError(
                    "license" if license is not None else "provenance",
                    license if license is not None else provenance,
                    f"CoxPH.fit was given a {type(data).__name__}, which carries its own "
                    f"licence ({data.provenance.license}); license= and provenance= describe a "
                    "plain DataFrame",
                )
            prov = data.provenance
            if covariates is None:
                skip = {time, event, data.id_column, cluster}
                skip |= {strata} if isinstance(strata, str) else set(strata or [])
                covariates = [c for c in data.data.columns if c not in skip]
            data = data.data
        else:
            prov = provenance_for(license=license, provenance=provenance)
        self.licence_decision_: LicenseDecision = licence_gate(
            prov, policy, use=self.use, purpose="a Cox model", estimator="CoxPH.fit"
        )
        self.provenance_: Provenance = prov
        if self.ties not in ("efron", "breslow"):
            raise InputError(f"ties={self.ties!r} is not supported; use 'efron' or 'breslow'.")
        strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
        exclude = [*strata_cols, *([cluster] if cluster else [])]
        t, e, x, names = _design(data, time, event, covariates, exclude, source)
        if strata_cols:
            s = data[strata_cols].astype(str).agg("|".join, axis=1).to_numpy()
        else:
            s = np.zeros(t.size, dtype=int)
        self._fit_arrays(t, e, x, names, s, offset)
        if cluster is not None or self.robust:
            res = _cox.score_residuals(
                self.strata_, self._xc, self.params_.to_numpy(), self._offset, self.ties
            )
            if cluster is not None:
                cl = np.unique(data[cluster].astype(str).to_numpy(), return_inverse=True)[1]
                agg = np.zeros((cl.max() + 1, res.shape[1]))
                np.add.at(agg, cl, res)
                res = agg
            dfb = res @ self._cov_model
            robust = dfb.T @ dfb
            self.robust_standard_errors_ = pd.Series(np.sqrt(np.diag(robust)), index=names)
        else:
            robust = None
            self.robust_standard_errors_ = None
        use_robust = robust is not None
        self.variance_matrix_ = pd.DataFrame(
            robust if use_robust else self._cov_model, index=names, columns=names
        )
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(self.variance_matrix_)), index=names)
        self.strata_names_ = strata_cols
        return self

    def _fit_arrays(
        self,
        t: np.ndarray,
        e: np.ndarray,
        x: np.ndarray,
        names: list[str],
        s: np.ndarray,
        offset: Any = None,
        beta0: np.ndarray | None = None,
    ) -> None:
        self._mean = x.mean(axis=0) if x.size else np.zeros(x.shape[1])
        xc = x - self._mean
        off = np.zeros(t.size) if offset is None else np.asarray(offset, dtype=float)
        self.strata_ = _cox.build_strata(t, e, s)
        self._stratum_keys = [s[st.rows[0]] for st in self.strata_]
        beta, ll, h, it = _cox.fit_newton(
            self.strata_,
            xc,
            off,
            ties=self.ties,
            beta0=beta0,
            penalizer=self.penalizer,
            max_iter=_NEWTON_MAX_ITER,
        )
        self.converged_ = True
        if it >= _NEWTON_MAX_ITER:
            # at the limit, converged only if one more Newton step would not move beta
            _, g, hn = _cox.efron_terms(self.strata_, xc, beta, off, ties=self.ties)
            g = g - self.penalizer * beta
            hn = hn - self.penalizer * np.eye(len(beta))
            step = np.linalg.lstsq(-hn, g, rcond=None)[0]
            self.converged_ = bool(np.max(np.abs(step)) < 1e-6 * max(1.0, np.max(np.abs(beta))))
            if not self.converged_:
                warnings.warn(
                    f"CoxPH: Newton-Raphson stopped after {_NEWTON_MAX_ITER} iterations with the "
                    f"coefficients still moving (last step {np.max(np.abs(step)):.3g}); a "
                    "covariate may separate the deaths (infinite hazard ratio): drop or merge "
                    "it, or set penalizer > 0.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        ll0, _, _ = _cox.efron_terms(
            self.strata_, xc, np.zeros(len(names)), off, ties=self.ties, need_hess=False
        )
        self._xc = xc
        self._offset = off
        self._time, self._event, self._strata_codes = t, e, s
        self.params_ = pd.Series(beta, index=names, dtype=float)
        self._cov_model = np.linalg.inv(-h) if len(names) else np.zeros((0, 0))
        self.model_standard_errors_ = pd.Series(np.sqrt(np.diag(self._cov_model)), index=names)
        self.loglik_ = float(ll)
        self.loglik_null_ = float(ll0)
        self.n_iter_ = it
        self.n_ = int(t.size)
        self.events_ = int(e.sum())
        incs = _cox.baseline_increments(self.strata_, xc, beta, off, self.ties)
        frames = []
        for key, (bt, jump) in zip(self._stratum_keys, incs, strict=True):
            frames.append(
                pd.DataFrame({"stratum": key, "time": bt, "cumulative_hazard": np.cumsum(jump)})
            )
        self.baseline_cumulative_hazard_ = pd.concat(frames, ignore_index=True)

    @property
    def log_likelihood_ratio_test(self) -> tuple[float, int, float]:
        """Likelihood-ratio statistic against the null model, its df and p-value."""
        check_fitted(self)
        stat = 2 * (self.loglik_ - self.loglik_null_)
        df = len(self.params_)
        return stat, df, float(stats.chi2.sf(stat, df))

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficients, hazard ratios, intervals, z and p, one row per covariate."""
        check_fitted(self)
        z = normal_quantile(self.level)
        b = self.params_
        se = self.standard_errors_
        zz = b / se
        out = pd.DataFrame(
            {
                "coef": b,
                "exp(coef)": np.exp(b),
                "se(coef)": se,
                "coef lower": b - z * se,
                "coef upper": b + z * se,
                "exp(coef) lower": np.exp(b - z * se),
                "exp(coef) upper": np.exp(b + z * se),
                "z": zz,
                "p": 2 * stats.norm.sf(np.abs(zz)),
            }
        )
        out.index.name = "covariate"
        return out

    def predict_partial_hazard(self, data: pd.DataFrame) -> np.ndarray:
        """``exp((x - mean) beta)`` for new animals (same centring as the baseline)."""
        check_fitted(self)
        x = data[list(self.params_.index)].to_numpy(dtype=float) - self._mean
        return np.asarray(np.exp(x @ self.params_.to_numpy()))

    def predict_survival_function(
        self, data: pd.DataFrame, times: Any, *, stratum: Any = None
    ) -> pd.DataFrame:
        """Survival curves ``[time, animal]`` for new animals (one stratum's baseline)."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        base = self.baseline_cumulative_hazard_
        key = self._stratum_keys[0] if stratum is None else stratum
        b = base[base["stratum"] == key]
        if b.empty:
            raise InputError(f"stratum {stratum!r} was not in the fitted data.")
        h0 = np.r_[0.0, b["cumulative_hazard"].to_numpy()][
            np.searchsorted(b["time"].to_numpy(), tt, side="right")
        ]
        ph = self.predict_partial_hazard(data)
        return pd.DataFrame(np.exp(-np.outer(h0, ph)), index=tt, columns=data.index)

    predict = predict_survival_function

    def plot(self, ax: Any = None) -> Any:
        """Forest plot of log hazard ratios with intervals."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        s = self.summary
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.4 * len(s) + 1.2))
        y = np.arange(len(s))[::-1]
        coef = s["coef"].to_numpy()
        ax.errorbar(
            coef,
            y,
            xerr=np.vstack([coef - s["coef lower"].to_numpy(), s["coef upper"].to_numpy() - coef]),
            fmt="s",
            color="k",
            capsize=3,
        )
        ax.axvline(0, color="grey", lw=0.8, ls="--")
        ax.set_yticks(y, list(s.index))
        ax.set_xlabel("log hazard ratio")
        return ax


# ---------------------------------------------------------------------------------------
# shared gamma frailty
# ---------------------------------------------------------------------------------------
class GammaFrailtyCox(Estimator):
    """Cox model with a shared gamma frailty per cluster (cohort, site, litter, cage).

    ``use = "analysis"``: hazard ratios and frailties describe the animals and clusters the
    model is fitted on.

    The hazard of animal ``i`` in cluster ``c`` is ``Z_c h0(t) exp(x_i beta)`` with
    ``Z_c ~ Gamma(mean 1, variance theta)``. For a fixed ``theta`` the model is fitted by
    EM: the E-step sets ``w_c = (1/theta + D_c) / (1/theta + H_c)`` (``D_c`` deaths,
    ``H_c`` cumulative hazard of the cluster), the M-step refits the Cox partial
    likelihood with offset ``log w_c`` and the Efron-type baseline. With Efron ties a death
    in a block of tied deaths is exposed to Efron's share of that block's hazard (as R
    ``coxph``'s martingale residuals), so that theta agrees with R ``survival``'s
    ``frailty(method = "em")`` on tied data. ``theta`` maximises the
    marginal (profile) log likelihood, the approach of Nielsen et al. (1992) used by R
    ``frailtyEM``; its interval is the profile-likelihood interval and the test of
    ``theta = 0`` is the boundary likelihood-ratio test (half a chi-square with 1 df).
    Standard errors of ``beta`` are those of the Cox fit given the estimated frailties
    (they do not account for the uncertainty in ``theta``).

    Attributes
    ----------
    theta_ : float
        Variance of the gamma frailty.
    theta_ci_ : tuple of float
        Profile-likelihood interval of ``theta``.
    params_, standard_errors_ : Series
        Log hazard ratios and their standard errors given the estimated frailties.
    frailty_ : Series
        Estimated frailty per cluster.
    loglik_, loglik_no_frailty_ : float
        Marginal log likelihood, and that of the Cox fit without frailty.
    lrt_statistic_, lrt_p_value_ : float
        Boundary likelihood-ratio test of ``theta = 0``.
    converged_ : bool
        Whether the search over ``theta`` and the EM at the chosen ``theta`` converged
        (otherwise ``fit`` warns with :class:`ConvergenceWarning`).
    """

    use = "analysis"

    def __init__(
        self,
        *,
        ties: str = "efron",
        level: float = 0.95,
        theta_bounds: tuple[float, float] = (1e-5, 10.0),
        max_em_iter: int = 300,
        em_tol: float = 1e-6,
    ) -> None:
        self.ties = ties
        self.level = level
        self.theta_bounds = theta_bounds
        self.max_em_iter = max_em_iter
        self.em_tol = em_tol

    def fit(
        self,
        data: pd.DataFrame,
        *,
        time: str = "time",
        event: str = "event",
        cluster: str,
        covariates: Sequence[str] | None = None,
        strata: str | Sequence[str] | None = None,
        source: str = "data",
    ) -> GammaFrailtyCox:
        """Fit the Cox model with a gamma frailty per ``cluster`` to a table of animals."""
        if cluster not in data.columns:
            raise InputError(f"{source}: no cluster column {cluster!r}; name the cluster column.")
        strata_cols = [strata] if isinstance(strata, str) else list(strata or [])
        t, e, x, names = _design(data, time, event, covariates, [*strata_cols, cluster], source)
        s = (
            data[strata_cols].astype(str).agg("|".join, axis=1).to_numpy()
            if strata_cols
            else np.zeros(t.size, dtype=int)
        )
        labels, cl = np.unique(data[cluster].astype(str).to_numpy(), return_inverse=True)
        if labels.size < 2:
            raise InputError(
                f"{source}, column '{cluster}': one cluster only; a frailty needs at least two."
            )
        self._t, self._e, self._x, self._s, self._cl = t, e, x - x.mean(axis=0), s, cl
        self._strata = _cox.build_strata(t, e, s)
        self._nc = labels.size
        self._dc = np.bincount(cl, weights=e, minlength=self._nc)
        self._cache: dict[float, tuple[float, np.ndarray, np.ndarray, np.ndarray]] = {}
        self._em_unconverged: set[float] = set()

        lo, hi = np.log(self.theta_bounds[0]), np.log(self.theta_bounds[1])
        res = optimize.minimize_scalar(
            lambda lt: -self._profile(float(np.exp(lt)))[0],
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-3},
        )
        theta = float(np.exp(res.x))
        ll, beta, w, hess = self._profile(theta)
        ll0, beta0, _, _ = self._profile(0.0)
        if ll0 >= ll:
            theta, ll, beta, w, hess = 0.0, ll0, beta0, np.ones(self._nc), self._profile(0.0)[3]
        self.theta_ = theta
        self.loglik_ = ll
        self.loglik_no_frailty_ = ll0
        self.lrt_statistic_ = max(0.0, 2 * (ll - ll0))
        self.lrt_p_value_ = float(0.5 * stats.chi2.sf(self.lrt_statistic_, 1))
        self.params_ = pd.Series(beta, index=names, dtype=float)
        cov = np.linalg.inv(-hess) if len(names) else np.zeros((0, 0))
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.frailty_ = pd.Series(w, index=labels, name="frailty")
        self.theta_ci_ = self._profile_interval(theta, ll)
        self.cluster_ = cluster
        problems = []
        if not res.success:
            problems.append(
                f"the search for theta within theta_bounds={self.theta_bounds} did not "
                f"converge ({str(res.message).rstrip('.')}); check theta_bounds"
            )
        if theta > 0 and round(theta, 12) in self._em_unconverged:
            problems.append(
                f"the EM iterations at theta={theta:.4g} stopped at max_em_iter="
                f"{self.max_em_iter} with the estimates still changing by more than em_tol="
                f"{self.em_tol:g}; raise max_em_iter"
            )
        self.converged_ = not problems
        if problems:
            warnings.warn(
                "GammaFrailtyCox: " + "; ".join(problems) + ".", ConvergenceWarning, stacklevel=2
            )
        return self

    def _profile(self, theta: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        key = round(theta, 12)
        if key in self._cache:
            return self._cache[key]
        p = self._x.shape[1]
        # warm start from the nearest theta already profiled
        w = np.ones(self._nc)
        beta = np.zeros(p)
        if self._cache and theta > 0:
            near = min(self._cache, key=lambda k: abs(np.log(max(k, 1e-12)) - np.log(theta)))
            _, beta, w, _ = self._cache[near]
        if theta > 0:
            # overshooting extrapolations may overflow; they are rejected, not reported
            with np.errstate(all="ignore"):
                z, em_converged = self._squarem(np.r_[beta, np.log(w)], theta)
            if not em_converged:
                self._em_unconverged.add(key)
            beta, w = z[:p], np.exp(z[p:])
        off = np.log(w)[self._cl]
        with np.errstate(all="ignore"):
            beta, _, hess, _ = _cox.fit_newton(
                self._strata, self._x, off, ties=self.ties, beta0=beta
            )
            ll = self._marginal_loglik(theta, beta, off)
        if not np.isfinite(ll):
            ll = -np.inf
        out = (ll, beta, w, hess)
        self._cache[key] = out
        return out

    def _em_map(self, z: np.ndarray, theta: float) -> np.ndarray:
        """One ECM iteration on ``(beta, log w)``: a Newton step for beta, then the E-step."""
        p = self._x.shape[1]
        beta, logw = z[:p], z[p:]
        off = logw[self._cl]
        if p:
            _, g, h = _cox.efron_terms(self._strata, self._x, beta, off, ties=self.ties)
            step = np.linalg.lstsq(-h, g, rcond=None)[0]
            # a bounded step keeps far-from-optimum iterates (extrapolations) finite
            big = float(np.max(np.abs(step)))
            beta = beta + (step if big <= 1.0 else step / big)
        hc = self._cluster_hazard(beta, off)
        w_new = (1 / theta + self._dc) / (1 / theta + hc)
        # frailties beyond e^{+-30} only arise from overshooting extrapolations
        return np.r_[beta, np.clip(np.log(w_new), -30.0, 30.0)]

    def _squarem(self, z: np.ndarray, theta: float) -> tuple[np.ndarray, bool]:
        """Iterate the EM map to its fixed point with SQUAREM acceleration.

        SQUAREM is that of Varadhan & Roland (2008); a plain EM step replaces an
        extrapolation that overshoots.

        Returns the last iterate and ``False`` when ``max_em_iter`` iterations ran out.
        """
        for _ in range(self.max_em_iter):
            z1 = self._em_map(z, theta)
            if not np.all(np.isfinite(z1)):
                return z, True
            r = z1 - z
            if np.max(np.abs(r)) < self.em_tol:
                return z1, True
            z2 = self._em_map(z1, theta)
            if not np.all(np.isfinite(z2)):
                return z1, True
            v = z2 - 2 * z1 + z
            nv = float(np.sqrt(v @ v))
            alpha = -float(np.sqrt(r @ r)) / nv if nv > 0 else -1.0
            alpha = min(alpha, -1.0)
            zn = z - 2 * alpha * r + alpha**2 * v
            zn = self._em_map(np.clip(zn, -50.0, 50.0), theta)
            z = zn if bool(np.all(np.isfinite(zn))) else z2
        return z, False

    def _baseline_at_subjects(
        self, beta: np.ndarray, off: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative baseline hazard each subject was exposed to and the jump at its death."""
        return _cox.subject_cumulative_hazard(self._strata, self._x, beta, off, self.ties)

    def _cluster_hazard(self, beta: np.ndarray, off: np.ndarray) -> np.ndarray:
        cum, _ = self._baseline_at_subjects(beta, off)
        risk = np.exp(self._x @ beta) * cum
        return np.bincount(self._cl, weights=risk, minlength=self._nc)

    def _marginal_loglik(self, theta: float, beta: np.ndarray, off: np.ndarray) -> float:
        cum, jump = self._baseline_at_subjects(beta, off)
        eta = self._x @ beta
        d = self._e > 0
        ll = float(np.sum(eta[d] + np.log(jump[d])))
        hc = np.bincount(self._cl, weights=np.exp(eta) * cum, minlength=self._nc)
        dc = self._dc
        if theta <= 0:
            return ll - float(hc.sum())
        k = 1 / theta
        ll += float(
            np.sum(
                special.gammaln(k + dc)
                - special.gammaln(k)
                + dc * np.log(theta)
                - (k + dc) * np.log1p(theta * hc)
            )
        )
        return ll

    def _profile_interval(self, theta: float, ll: float) -> tuple[float, float]:
        drop = 0.5 * float(stats.chi2.ppf(self.level, 1))
        lo_b, hi_b = self.theta_bounds

        def f(lt: float) -> float:
            v = self._profile(float(np.exp(lt)))[0] - (ll - drop)
            return v if np.isfinite(v) else -drop

        base = np.log(max(theta, lo_b))
        if f(np.log(lo_b)) >= 0 or theta == 0:
            lower = 0.0
        else:
            lower = float(np.exp(optimize.brentq(f, np.log(lo_b), base, xtol=1e-3)))
        if f(np.log(hi_b)) >= 0:
            upper = float("inf")
        else:
            upper = float(np.exp(optimize.brentq(f, base, np.log(hi_b), xtol=1e-3)))
        return lower, upper

    @property
    def summary(self) -> pd.DataFrame:
        """Coefficients with intervals and p-values, and a last row for ``theta``.

        The row for ``theta`` has its profile interval and boundary likelihood-ratio p-value.
        """
        check_fitted(self)
        z = normal_quantile(self.level)
        b, se = self.params_, self.standard_errors_
        out = pd.DataFrame(
            {
                "coef": b,
                "exp(coef)": np.exp(b),
                "se(coef)": se,
                "coef lower": b - z * se,
                "coef upper": b + z * se,
                "p": 2 * stats.norm.sf(np.abs(b / se)),
            }
        )
        out.index.name = "covariate"
        extra = pd.DataFrame(
            {
                "coef": [self.theta_],
                "coef lower": [self.theta_ci_[0]],
                "coef upper": [self.theta_ci_[1]],
                "p": [self.lrt_p_value_],
            },
            index=pd.Index([f"theta ({self.cluster_})"], name="covariate"),
        )
        return pd.concat([out, extra])

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Estimated frailty of each row's cluster (1 for clusters not seen in the fit)."""
        check_fitted(self)
        return data[self.cluster_].astype(str).map(self.frailty_).fillna(1.0)

    def plot(self, ax: Any = None) -> Any:
        """Estimated cluster frailties, sorted."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3))
        f = self.frailty_.sort_values()
        ax.bar(range(len(f)), f.to_numpy(), color="#4a6fa5")
        ax.set_xticks(range(len(f)), list(f.index), rotation=90, fontsize=7)
        ax.axhline(1, color="grey", ls="--", lw=0.8)
        ax.set_ylabel(f"frailty (theta = {self.theta_:.3g})")
        return ax


# ---------------------------------------------------------------------------------------
# competing risks
# ---------------------------------------------------------------------------------------
class AalenJohansen(Estimator):
    """Cumulative incidence of competing causes (Aalen-Johansen estimator).

    ``use = "analysis"``: the curves describe the animals they are fitted on.

    ``cause`` is 0 for a censored animal and a cause label otherwise. The variance is the
    delta-method (Greenwood-type) formula of Collett, *Modelling Survival Data* 3rd ed.,
    p. 411 (the one lifelines uses); intervals are on the ``log(-log F)`` scale.

    Attributes (after ``fit``): ``table_`` (columns ``time``, ``at_risk``, ``deaths``,
    ``survival`` and per cause ``cif[<cause>]``, ``var[<cause>]``, ``lower[<cause>]``,
    ``upper[<cause>]``), ``causes_``.

    >>> aj = AalenJohansen().fit([1, 2, 3, 4], ["a", "b", "a", 0])
    >>> aj.cumulative_incidence("a").tolist()
    [0.25, 0.25, 0.5, 0.5]
    """

    use = "analysis"

    def __init__(self, *, level: float = 0.95) -> None:
        self.level = level

    def fit(self, time: Any, cause: Any, *, causes: Sequence[Any] | None = None) -> AalenJohansen:
        """Estimate each cause's cumulative incidence from times and causes (0 censored)."""
        c = pd.Series(np.asarray(cause, dtype=object).ravel())
        censored = c.isin([0, "0", None]) | c.isna()
        e = (~censored).astype(float).to_numpy()
        t, e, _ = _check_arrays(time, e)
        tab = _event_table(t, e, np.zeros_like(t))
        n, d = tab["at_risk"].to_numpy(), tab["deaths"].to_numpy()
        surv = np.cumprod(np.where(n > 0, 1 - d / np.maximum(n, 1), 1.0))
        lag = np.r_[1.0, surv[:-1]]
        tab["survival"] = surv
        self.causes_ = (
            list(causes) if causes is not None else sorted(c[~censored].astype(str).unique())
        )
        idx = np.searchsorted(tab["time"].to_numpy(), t)
        z = normal_quantile(self.level)
        with np.errstate(divide="ignore", invalid="ignore"):
            a1 = np.where(n - d > 0, d / (n * (n - d)), 0.0)
        for k in self.causes_:
            dk = np.bincount(
                idx,
                weights=(c.astype(str) == str(k)).to_numpy() & ~censored.to_numpy(),
                minlength=len(tab),
            )
            f = np.cumsum(lag * dk / n)
            # var(F(t)) = sum_j a_j (F(t) - F_j)^2 + b_j - 2 c_j (F(t) - F_j), expanded as
            # cumulative sums so that all times are done at once
            b = lag**2 * dk * (n - dk) / n**3
            cc = lag * dk / n**2
            var = (
                f**2 * np.cumsum(a1)
                - 2 * f * np.cumsum(a1 * f)
                + np.cumsum(a1 * f**2)
                + np.cumsum(b)
                - 2 * (f * np.cumsum(cc) - np.cumsum(cc * f))
            )
            var = np.maximum(var, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                se_t = np.sqrt(var) / (f * np.abs(np.log(f)))
                b1 = np.exp(-np.exp(np.log(-np.log(f)) + z * se_t))
                b2 = np.exp(-np.exp(np.log(-np.log(f)) - z * se_t))
            tab[f"cif[{k}]"] = f
            tab[f"var[{k}]"] = var
            tab[f"lower[{k}]"] = np.where(f > 0, np.minimum(b1, b2), 0.0)
            tab[f"upper[{k}]"] = np.where(f > 0, np.maximum(b1, b2), 0.0)
        self.table_ = tab
        return self

    def cumulative_incidence(self, cause: Any) -> pd.Series:
        """Cumulative incidence of ``cause`` at each distinct time."""
        check_fitted(self)
        return pd.Series(
            self.table_[f"cif[{cause}]"].to_numpy(), index=self.table_["time"].to_numpy()
        )

    def predict(self, times: Any, cause: Any) -> np.ndarray:
        """Cumulative incidence of ``cause`` at ``times``."""
        check_fitted(self)
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        f = np.r_[0.0, self.table_[f"cif[{cause}]"].to_numpy()]
        return np.asarray(f[np.searchsorted(self.table_["time"].to_numpy(), tt, side="right")])

    @property
    def summary(self) -> pd.DataFrame:
        """Cumulative incidence of each cause at the last time, with its interval."""
        check_fitted(self)
        last = self.table_.iloc[-1]
        return pd.DataFrame(
            {
                "cause": self.causes_,
                "cumulative_incidence": [last[f"cif[{k}]"] for k in self.causes_],
                "lower": [last[f"lower[{k}]"] for k in self.causes_],
                "upper": [last[f"upper[{k}]"] for k in self.causes_],
            }
        )

    def plot(self, ax: Any = None) -> Any:
        """Draw each cause's cumulative incidence as a step function; return the axes."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = np.r_[0.0, self.table_["time"].to_numpy()]
        for k in self.causes_:
            ax.step(t, np.r_[0.0, self.table_[f"cif[{k}]"].to_numpy()], where="post", label=str(k))
        ax.set_ylabel("cumulative incidence")
        ax.legend(fontsize=8)
        return ax


def cause_specific_cox(
    data: pd.DataFrame,
    *,
    time: str = "time",
    cause: str = "cause",
    covariates: Sequence[str],
    causes: Sequence[Any] | None = None,
    strata: str | Sequence[str] | None = None,
    source: str = "data",
) -> dict[Any, CoxPH]:
    """One Cox model of each cause-specific hazard (deaths from other causes censored).

    ``cause`` holds 0 (or missing) for censored animals and the cause label otherwise.
    """
    c = data[cause]
    censored = c.isna() | c.astype(str).isin(["0"])
    wanted = list(causes) if causes is not None else sorted(c[~censored].astype(str).unique())
    out = {}
    cols = [time, *covariates, *([strata] if isinstance(strata, str) else list(strata or []))]
    for k in wanted:
        frame = data[cols].copy()
        frame["_event"] = ((c.astype(str) == str(k)) & ~censored).astype(float)
        out[k] = CoxPH().fit(
            frame,
            time=time,
            event="_event",
            covariates=list(covariates),
            strata=strata,
            source=f"{source} (cause {k})",
        )
    return out


# ---------------------------------------------------------------------------------------
# group summaries
# ---------------------------------------------------------------------------------------
def survival_table(
    data: pd.DataFrame,
    *,
    time: str = "time",
    event: str = "event",
    group: Sequence[str] = ("strain", "sex"),
    tau: float | None = None,
    level: float = 0.95,
) -> tuple[pd.DataFrame, dict[str, KaplanMeier]]:
    """Kaplan-Meier per group: animals, deaths, median and RMST (to ``tau``) with intervals.

    ``tau`` defaults to the smallest of the groups' largest follow-up times, so that every
    RMST is defined over the same window.
    """
    keys = list(group)
    grouped = list(data.groupby(keys, observed=True, sort=True)) if keys else [("all", data)]
    if tau is None:
        tau = float(min(sub[time].max() for _, sub in grouped))
    rows = []
    models = {}
    for key, sub in grouped:
        label = _group_label(key)
        km = KaplanMeier(level=level).fit(sub[time], sub[event], label=label)
        models[label] = km
        r = km.rmst(tau)
        row: dict[str, Any] = dict(
            zip(keys, key if isinstance(key, tuple) else (key,), strict=False)
        )
        row.update(
            {
                "n": km.n_,
                "deaths": km.events_,
                "median": km.median_,
                "median_lower": km.median_ci_[0],
                "median_upper": km.median_ci_[1],
                "tau": tau,
                "rmst": r["rmst"],
                "rmst_lower": r["lower"],
                "rmst_upper": r["upper"],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows), models


# ---------------------------------------------------------------------------------------
# forecasts for animals still alive
# ---------------------------------------------------------------------------------------
class LifespanForecaster(Estimator):
    """Survival probability and remaining-lifespan intervals for animals still alive.

    One parametric ageing model per group (default Gompertz per strain x sex) is fitted
    with left truncation when ``entry`` is given. For an animal alive at age ``a`` the
    forecast is the conditional law ``S(x) / S(a)``: the probability of being alive at
    ``a + horizon``, the median age at death and the central prediction intervals of the
    age at death, one per probability in ``level`` (a float or a sequence of floats; by
    default 50 % and 90 %). ``fit`` learns from the data for prediction, so it calls
    :func:`~translocus.core.provenance.require_training_allowed` on the data's provenance
    (``use = "training"``: the fitted ageing models forecast other animals).
    """

    use = "training"

    def __init__(
        self,
        distribution: str = "gompertz",
        *,
        group: Sequence[str] = ("strain", "sex"),
        level: float | Sequence[float] = (0.5, 0.9),
    ) -> None:
        self.distribution = distribution
        self.group = group
        self.level = level

    def fit(
        self,
        data: pd.DataFrame | ProvenanceTable,
        *,
        provenance: Provenance | None = None,
        license: str | None = None,
        time: str = "time",
        event: str = "event",
        entry: str | None = None,
        policy: LicensePolicy | None = None,
    ) -> LifespanForecaster:
        """Fit one lifespan model per group, after the licence gate allows training on the data.

        ``data`` is a :class:`~translocus.progression.lifespan_data.LifespanTable` (it keeps
        its licence and its time unit, ``units_``) or a plain frame whose licence
        ``license=`` (SPDX, ``"MIT"``) or ``provenance=`` names; training on data whose
        licence ``policy`` does not allow is refused.
        """
        self.units_: dict[str, str] = {}
        if isinstance(data, ProvenanceTable):
            if license is not None or provenance is not None:
                raise OptionError(
                    "license" if license is not None else "provenance",
                    license if license is not None else provenance,
                    f"LifespanForecaster.fit was given a {type(data).__name__}, which carries "
                    f"its own licence ({data.provenance.license}); license= and provenance= "
                    "describe a plain DataFrame",
                )
            provenance = data.provenance
            self.units_ = dict(data.units)
            data = data.data
        else:
            provenance = provenance_for(license=license, provenance=provenance)
        self.licence_decision_: LicenseDecision = licence_gate(
            provenance,
            policy,
            use=self.use,
            purpose="lifespan forecast",
            estimator="LifespanForecaster.fit",
        )
        _, self.models_ = fit_parametric_by(
            data,
            time=time,
            event=event,
            group=list(self.group),
            distribution=self.distribution,
            entry=entry,
            on_small_group="skip",
            source=provenance.name,
        )
        self.provenance_ = provenance
        return self

    @property
    def license_decision_(self) -> LicenseDecision:
        """The licence decision of ``fit`` under its old name; use ``licence_decision_``."""
        check_fitted(self)
        return self.licence_decision_

    def _model_for(self, row: pd.Series) -> ParametricSurvival | None:
        key = tuple(row[g] for g in self.group)
        return self.models_.get(_group_label(key if len(key) > 1 else key[0]))

    def predict(
        self, data: pd.DataFrame, *, age: str = "age", horizon: float | None = None
    ) -> pd.DataFrame:
        """Forecast table of death ages, one row per animal, in the fit's time unit.

        Columns: ``age`` (now), ``point`` (median age at death given survival to ``age``),
        ``median_remaining`` (``point - age``), ``lower_<level>``/``upper_<level>`` (central
        interval of the death age, :mod:`translocus.core.intervals`) and, with ``horizon``,
        ``p_alive_horizon``.
        """
        check_fitted(self)
        out = []
        for idx, row in data.iterrows():
            m = self._model_for(row)
            a = float(row[age])
            rec: dict[str, Any] = {"index": idx, "age": a}
            if m is None:
                out.append(rec)
                continue
            rec[POINT] = float(m.quantile_time(0.5, given_age=a)[0])
            rec["median_remaining"] = rec[POINT] - a
            for lev in as_levels(self.level):
                lo_q, hi_q = 1 - (1 - lev) / 2, (1 - lev) / 2
                lo, hi = interval_columns(lev)
                rec[lo] = float(m.quantile_time(lo_q, given_age=a)[0])
                rec[hi] = float(m.quantile_time(hi_q, given_age=a)[0])
            if horizon is not None:
                h = m.cumulative_hazard([a, a + horizon])
                rec["p_alive_horizon"] = float(np.exp(-(h[1] - h[0])))
            out.append(rec)
        return pd.DataFrame(out).set_index("index")

    def pit(
        self, data: pd.DataFrame, *, age: str = "age", time: str = "time", event: str = "event"
    ) -> pd.DataFrame:
        """Probability-integral-transform value ``1 - S(T)/S(age)`` of each outcome."""
        check_fitted(self)
        u = np.full(len(data), np.nan)
        for i, (_, row) in enumerate(data.iterrows()):
            m = self._model_for(row)
            if m is None:
                continue
            h = m.cumulative_hazard([float(row[age]), float(row[time])])
            u[i] = 1 - np.exp(-(h[1] - h[0]))
        return pd.DataFrame({"pit": u, "event": data[event].to_numpy()}, index=data.index)

    @property
    def summary(self) -> pd.DataFrame:
        """The parameters of every group's ageing model (:attr:`ParametricSurvival.summary`)."""
        check_fitted(self)
        return pd.concat([m.summary for m in self.models_.values()], ignore_index=True)

    def plot(self, ax: Any = None) -> Any:
        """Draw the fitted survival curves of every group; return the axes."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for m in self.models_.values():
            m.plot(ax)
        ax.legend(fontsize=8)
        return ax


def forecast_calibration(
    pit: pd.DataFrame, *, level: float | Sequence[float] = (0.5, 0.9)
) -> pd.DataFrame:
    """Coverage of central prediction intervals, censoring included.

    A censored animal's PIT value is only known to exceed its value at censoring, so the
    distribution of PIT values is estimated by Kaplan-Meier; the coverage of the central
    ``level`` interval is ``F(hi) - F(lo)`` with ``lo, hi = (1 -/+ level) / 2``. A
    calibrated forecast covers ``level``.
    """
    p = pit.dropna(subset=["pit"])
    km = KaplanMeier().fit(np.clip(p["pit"].to_numpy(), 0, 1), p["event"].to_numpy())
    rows = []
    for lev in as_levels(level):
        lo, hi = (1 - lev) / 2, 1 - (1 - lev) / 2
        s_lo, s_hi = km.survival_at([lo, hi])
        rows.append(
            {
                "level": lev,
                "coverage": float(s_lo - s_hi),
                "below": float(1 - s_lo),
                "above": float(s_hi),
                "n": len(p),
                "deaths": int(p["event"].sum()),
            }
        )
    return pd.DataFrame(rows)


def forecast_backtest(
    data: pd.DataFrame,
    *,
    provenance: Provenance,
    cutoff: str | pd.Timestamp,
    birth: str = "birth_date",
    time: str = "time",
    event: str = "event",
    group: Sequence[str] = ("strain", "sex"),
    distribution: str = "gompertz",
    level: float | Sequence[float] = (0.5, 0.9),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit on what was known at a date, forecast, and score against what happened later.

    The model is fitted on what was known at ``cutoff`` (a calendar date) and forecasts the
    animals alive then.

    Returns the forecasts (one row per animal alive at the cutoff, with its later
    ``time``/``event``) and the calibration table of :func:`forecast_calibration`.
    """
    cut = pd.Timestamp(cutoff)
    born = pd.to_datetime(data[birth])
    known = data[born < cut].copy()
    age_cut = (cut - pd.to_datetime(known[birth])).dt.days.to_numpy(dtype=float)
    train = known.copy()
    train["time"] = np.minimum(known[time].to_numpy(dtype=float), age_cut)
    train["event"] = ((known[event].to_numpy() > 0) & (known[time].to_numpy() <= age_cut)).astype(
        float
    )
    train = train[train["time"] > 0]
    model = LifespanForecaster(distribution, group=group, level=level).fit(
        train, provenance=provenance
    )
    alive = known[known[time].to_numpy(dtype=float) > age_cut].copy()
    alive["age"] = age_cut[known[time].to_numpy(dtype=float) > age_cut]
    fc = model.predict(alive, age="age")
    pit = model.pit(alive, age="age", time=time, event=event)
    fc = alive[[*group, time, event]].join(fc).join(pit[["pit"]])
    return fc, forecast_calibration(pit, level=level)
