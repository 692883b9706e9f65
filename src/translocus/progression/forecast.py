"""Forecast evaluation: held-out splits, reference forecasters and interval calibration.

Every progression model forecasts with intervals; this module holds what is needed to
judge those forecasts on the same animals and the same splits:

- :func:`horizon_split` holds animals out by ID and, for each, keeps its visits up to a
  cut-off and asks for its values about ``horizon`` months later;
- :func:`last_value_forecast` (last value carried forward) and :class:`LinearMixedModel`
  (random intercept and slope per animal, one model per measure) are the references; both
  write the forecast-table columns of :mod:`translocus.core.intervals` (``point``,
  ``lower_<level>``/``upper_<level>`` on the data's scale);
- :func:`forecast_metrics` reports the mean and median absolute error and the coverage of
  the 50% and 90% intervals.

Examples
--------
>>> import pandas as pd
>>> forecasts = pd.DataFrame({"measure": ["w", "w"], "value": [1.0, 2.0],
...                           "point": [1.5, 2.0], "lower_0.9": [0.0, 1.0],
...                           "upper_0.9": [2.0, 3.0], "lower_0.5": [1.2, 1.9],
...                           "upper_0.5": [1.8, 2.1]})
>>> float(forecast_metrics(forecasts).loc[0, "mae"])
0.25
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
from translocus.core.intervals import POINT, as_levels, interval_columns, normal_quantile
from translocus.core.mixed import MixedFit, fit_mixed
from translocus.core.provenance import LicenseDecision, LicensePolicy, Provenance
from translocus.core.table import as_table, licence_gate
from translocus.progression.data import MeasureTable, from_frame

__all__ = [
    "HorizonSplit",
    "select_by_forecast",
    "LinearMixedModel",
    "forecast_metrics",
    "horizon_split",
    "last_value_forecast",
]


@dataclass(frozen=True)
class HorizonSplit:
    """Training animals, and for held-out animals their history and forecast targets."""

    train: MeasureTable
    history: MeasureTable
    targets: pd.DataFrame  # animal, age, measure, value, last_age, horizon


def horizon_split(
    table: MeasureTable,
    *,
    horizon: float = 6.0,
    tolerance: float = 1.0,
    test_fraction: float = 0.2,
    min_history: int = 2,
    random_state: int = 0,
) -> HorizonSplit:
    """Hold animals out by ID; forecast each one ``horizon`` months past its last used visit.

    For a held-out animal the cut-off is the latest visit ``v`` with at least
    ``min_history`` visits up to ``v`` and a later visit within ``horizon ± tolerance``
    months of ``v`` (the one closest to ``v + horizon`` is the target). Held-out animals
    without such a pair are dropped from the test set (and not used for training).

    Parameters
    ----------
    table
        Long table with repeated visits.
    horizon, tolerance
        Forecast distance and its allowed slack (months).
    test_fraction
        Fraction of animals held out.
    min_history
        Visits needed before the cut-off.
    random_state
        Seed of the animal split.
    """
    data = table.data
    animals = np.array(sorted(data["animal"].unique()))
    rng = np.random.default_rng(random_state)
    n_test = int(round(test_fraction * len(animals)))
    if n_test < 1 or n_test >= len(animals):
        raise InputError(
            f"{table.source or table.provenance.name}: test_fraction={test_fraction} leaves no "
            "training or no test animals; use a value between 0 and 1."
        )
    test = set(rng.choice(animals, n_test, replace=False).tolist())
    train = data[~data["animal"].isin(test)]
    # held-out rows by animal (stable: each animal's rows keep their order)
    held = data[data["animal"].isin(test)].sort_values("animal", kind="stable")
    cuts: dict[object, tuple[float, float]] = {}
    for animal, age_values in held.groupby("animal")["age"]:
        ages = np.unique(age_values.to_numpy())
        for j in range(len(ages) - 1, min_history - 2, -1):
            if j + 1 < min_history:
                break
            later = ages[
                (ages > ages[j] + horizon - tolerance) & (ages < ages[j] + horizon + tolerance)
            ]
            if later.size:
                cuts[animal] = (ages[j], later[np.argmin(np.abs(later - ages[j] - horizon))])
                break
    if not cuts:
        raise InputError(
            f"{table.source or table.provenance.name}: no held-out animal has visits "
            f"{horizon}±{tolerance} months apart; lower the horizon."
        )
    cut = held["animal"].map({a: c for a, (c, _) in cuts.items()})
    target_age = held["animal"].map({a: t for a, (_, t) in cuts.items()})
    history = held[held["age"] <= cut].reset_index(drop=True)
    chosen = held["age"] == target_age
    targets = held.loc[chosen, ["animal", "age", "measure", "value"]].copy()
    targets["last_age"] = cut[chosen].to_numpy(dtype=float)
    targets["horizon"] = targets["age"].to_numpy(dtype=float) - targets["last_age"].to_numpy()
    # a target measure needs at least one earlier value of the same measure
    seen = history.groupby(["animal", "measure"]).size().rename("n").reset_index()
    targets = targets.merge(seen, on=["animal", "measure"]).drop(columns="n")
    return HorizonSplit(
        MeasureTable(train.reset_index(drop=True), table.provenance, table.source, table.notes),
        MeasureTable(history, table.provenance, table.source, table.notes),
        targets.reset_index(drop=True),
    )


def last_value_forecast(
    history: MeasureTable | pd.DataFrame,
    targets: pd.DataFrame,
    *,
    level: float | Sequence[float] = (0.5, 0.9),
    train: MeasureTable | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Carry each animal's last value of a measure forward (column ``point``).

    Intervals (when ``train`` is given) come from the empirical distribution of log
    ratios (or differences, for non-positive measures) between visits of the training
    animals about as far apart as the requested horizon; there is one central interval
    (``lower_<level>``/``upper_<level>``) per probability in ``level``, a float or a
    sequence of floats.
    """
    hist = history.data if isinstance(history, MeasureTable) else history
    last = hist.sort_values("age").groupby(["animal", "measure"]).tail(1)
    last = last[["animal", "measure", "value", "age"]].rename(
        columns={"value": POINT, "age": "last_age_used"}
    )
    out = targets.merge(last, on=["animal", "measure"], how="left")
    if train is not None:
        tr = train.data if isinstance(train, MeasureTable) else train
        for measure, rows in out.groupby("measure"):
            changes = _changes(
                tr[tr["measure"] == measure],
                float(rows["horizon"].median()) if "horizon" in rows else 6.0,
            )
            positive = bool((tr.loc[tr["measure"] == measure, "value"] > 0).all())
            for lev in as_levels(level):
                lo_q, hi_q = np.quantile(changes, [0.5 - lev / 2, 0.5 + lev / 2])
                base = rows[POINT].to_numpy()
                if positive:
                    lo, hi = base * np.exp(lo_q), base * np.exp(hi_q)
                else:
                    lo, hi = base + lo_q, base + hi_q
                lower, upper = interval_columns(lev)
                out.loc[rows.index, lower] = lo
                out.loc[rows.index, upper] = hi
    return out


def _changes(rows: pd.DataFrame, horizon: float, tolerance: float = 1.0) -> np.ndarray:
    positive = bool((rows["value"] > 0).all())
    values = np.log(rows["value"]) if positive else rows["value"]
    frame = rows.assign(v=values).sort_values(["animal", "age"])
    out = []
    for _, r in frame.groupby("animal"):
        a, v = r["age"].to_numpy(), r["v"].to_numpy()
        gap = a[None, :] - a[:, None]
        i, j = np.nonzero(np.abs(gap - horizon) < tolerance)
        out.append(v[j] - v[i])
    return np.concatenate(out) if out else np.zeros(1)


class LinearMixedModel(Estimator):
    """Linear mixed model per measure, the reference for the disease-course model.

    A quadratic age trend, covariates (and their age interactions), and a random intercept
    and age slope per animal, fitted by REML (or ML) with
    :func:`translocus.core.mixed.fit_mixed`. Values are analysed on the log scale when
    positive.

    Forecasts for held-out animals use their best linear unbiased predictions from their
    history (no refitting); the intervals are those of the prediction error, which
    includes the uncertainty of the estimated fixed effects. An animal without history
    of a measure gets the population forecast of its covariate group (fixed effects) with
    the marginal variance (random effects, residual and fixed-effect uncertainty).

    ``use = "training"``: the fitted trends and variance components forecast other
    animals (:meth:`forecast`), so fitting goes through the licence gate.

    Parameters
    ----------
    scale
        ``"auto"``, ``"log"`` or ``"linear"``.
    level
        Probability of the central forecast intervals, a float or a sequence of floats
        (default 50 % and 90 %); :meth:`forecast` uses it unless given its own ``level``.
    method
        ``"reml"`` (default) or ``"ml"`` (to compare likelihoods of models with different
        fixed effects).

    Attributes
    ----------
    params_ : dict
        Per measure: fixed effects ``beta`` and their covariance ``cov_beta``,
        random-effect covariance ``D``, residual variance ``sigma2`` and the analysis
        ``scale``.
    fits_ : dict
        Per measure, the :class:`~translocus.core.mixed.MixedFit` (log-likelihood,
        optimiser message).
    converged_ : bool
        Whether the likelihood optimiser converged for every measure (otherwise ``fit``
        warns with :class:`ConvergenceWarning`).
    interval_scale_ : numpy.ndarray
        Factor on the forecast SD per measure (order of ``measures_``): 1 after ``fit``,
        set by :meth:`calibrate` from animals the model did not see.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ages = np.tile(np.arange(3.0, 27.0, 3.0), 30)
    >>> animal = np.repeat([f"m{i}" for i in range(30)], 8)
    >>> bump = np.repeat(rng.normal(0, 0.1, 30), 8)
    >>> frame = pd.DataFrame({"animal": animal, "age": ages, "measure": "w",
    ...                       "value": np.exp(3 + 0.02 * ages + bump)})
    >>> model = LinearMixedModel().fit(frame, license="CC0-1.0")
    >>> targets = pd.DataFrame({"animal": ["new"], "age": [12.0], "measure": ["w"]})
    >>> fc = model.forecast(frame.iloc[:0], targets)  # no history: the population forecast
    >>> round(float(fc["point"].iloc[0]), 1)
    25.2
    """

    use = "training"

    def __init__(
        self,
        *,
        scale: str = "auto",
        level: float | Sequence[float] = (0.5, 0.9),
        method: str = "reml",
    ) -> None:
        self.scale = scale
        self.level = level
        self.method = method

    def fit(
        self,
        data: MeasureTable | pd.DataFrame,
        *,
        measures: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        policy: LicensePolicy | None = None,
        license: str | None = None,
    ) -> LinearMixedModel:
        """Fit one model per measure (training: goes through the licence gate).

        ``data`` is a :class:`~translocus.progression.data.MeasureTable` (it keeps its
        licence) or a plain frame read by :func:`~translocus.progression.data.from_frame`
        with ``license`` (an SPDX licence, ``"MIT"``); data whose licence ``policy`` does
        not allow are refused with :class:`~translocus.core.provenance.LicenseRefusedError`.
        The decision is kept in ``licence_decision_``.
        """
        if self.method not in ("reml", "ml"):
            raise OptionError("method", self.method, "must be 'reml' or 'ml'.")
        table = as_table(
            data, MeasureTable, from_frame, license=license, estimator="LinearMixedModel.fit"
        )
        self.licence_decision_: LicenseDecision = licence_gate(
            table.provenance,
            policy,
            use=self.use,
            purpose="training a mixed model",
            estimator="LinearMixedModel.fit",
        )
        self.provenance_: Provenance = table.provenance
        self.units_: dict[str, str] = dict(table.units)
        frame = table.data
        self.measures_ = (
            list(measures) if measures is not None else sorted(frame["measure"].unique())
        )
        self.covariates_ = list(covariates)
        self.levels_ = {c: sorted(map(str, frame[c].unique())) for c in self.covariates_}
        self.age_center_ = float(frame["age"].mean())
        self.params_: dict[str, dict[str, np.ndarray | float | str]] = {}
        self.fits_: dict[str, MixedFit] = {}
        not_converged: list[str] = []
        for measure in self.measures_:
            rows = frame[frame["measure"] == measure]
            values = rows["value"].to_numpy(dtype=float)
            scale = self.scale
            if scale == "auto":
                scale = "log" if np.all(values > 0) else "linear"
            y = np.log(values) if scale == "log" else values
            x, z = self._design(rows, "data")
            fit = fit_mixed(y, x, z, rows["animal"].to_numpy(), method=self.method)
            self.fits_[measure] = fit
            self.params_[measure] = {
                "beta": fit.beta,
                "cov_beta": fit.cov_beta,
                "D": fit.re_cov,
                "sigma2": fit.sigma2,
                "scale": scale,
            }
            if not fit.converged:
                not_converged.append(f"{measure} ({fit.message.rstrip('.')})")
        self.converged_ = not not_converged
        self.interval_scale_ = np.ones(len(self.measures_))
        if not_converged:
            warnings.warn(
                f"LinearMixedModel: the {self.method.upper()} optimiser did not converge for "
                f"measure(s) {'; '.join(not_converged)}; their variance components and "
                "forecasts may be off: check those measures for outliers and animals with few "
                "visits, or fit fewer covariates.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _design(self, rows: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-effect ``(n, p)`` and random-effect ``(n, 2)`` designs of ``rows``.

        A covariate value not seen in training is refused by name (``source`` names the
        table in the message).
        """
        age = rows["age"].to_numpy(dtype=float) - self.age_center_
        cols = [np.ones_like(age), age, age**2]
        for c in self.covariates_:
            values = rows[c].astype(str).to_numpy()
            unknown = sorted(set(values) - set(self.levels_[c]))
            if unknown:
                raise InputError(
                    f"{source}, column {c!r}: value(s) {', '.join(unknown)} were not seen "
                    f"in training ({', '.join(self.levels_[c])})."
                )
            for level in self.levels_[c][1:]:
                ind = (values == level).astype(float)
                cols += [ind, ind * age]
        return np.stack(cols, axis=1), np.stack([np.ones_like(age), age], axis=1)

    def _covariates(self, hist: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
        """One row of covariate values per target animal.

        They come from ``targets`` when it has the column, else from the animal's history.
        """
        animals = pd.Index(targets["animal"].unique())
        out = pd.DataFrame(index=animals)
        for c in self.covariates_:
            source = targets if c in targets else hist
            if c not in source:
                raise InputError(f"history and targets: no column {c!r}, a covariate of the fit.")
            values = source.drop_duplicates("animal").set_index("animal")[c]
            out[c] = values.reindex(animals)
            missing = out.index[out[c].isna()]
            if len(missing):
                raise InputError(
                    f"targets, column {c!r}: animal(s) {', '.join(map(str, missing[:5]))} have "
                    "no value (no history to take it from); add the column to the targets."
                )
        return out

    def forecast(
        self,
        history: MeasureTable | pd.DataFrame,
        targets: pd.DataFrame,
        *,
        level: float | Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Forecast ``targets`` (animal, age, measure) from each animal's history.

        ``level`` is the probability of the central intervals, a float or a sequence of
        floats (columns ``lower_<level>``/``upper_<level>``); ``None`` uses the model's
        ``level``. ``point`` is the forecast on the data's scale (the median of the
        forecast distribution when the measure is analysed on the log scale). Covariate
        values come from ``targets`` when it has the columns, else from the history; a
        value not seen in training raises :class:`~translocus.core.errors.InputError`. A
        target animal without history of the measure gets the population forecast. The
        SDs are multiplied by ``interval_scale_`` (1 unless :meth:`calibrate` was run).
        """
        check_fitted(self)
        levels = as_levels(self.level if level is None else level)
        out, mean, sd, log = self._moments(history, targets)
        index = {m: i for i, m in enumerate(self.measures_)}
        sd = sd * self.interval_scale_[out["measure"].map(index).to_numpy(dtype=int)]

        def back(a: np.ndarray) -> np.ndarray:
            return np.where(log, np.exp(a), a)

        out[POINT] = back(mean)
        for lev in levels:
            lower, upper = interval_columns(lev)
            q = normal_quantile(lev)
            out[lower] = back(mean - q * sd)
            out[upper] = back(mean + q * sd)
        return out

    def calibrate(
        self, history: MeasureTable | pd.DataFrame, targets: pd.DataFrame, *, level: float = 0.9
    ) -> LinearMixedModel:
        """Rescale forecast SDs per measure so that held-out ``level`` intervals cover.

        Split-conformal calibration, as
        :meth:`~translocus.progression.course.DiseaseCourseModel.calibrate`: on animals not
        used for fitting (``targets`` with their observed ``value``), the factor is the
        ``level`` quantile of ``|observed - forecast| / sd`` on the analysis scale divided
        by the normal quantile (1 when the model's intervals are already right; measures
        with fewer than 20 targets keep 1). Sets ``interval_scale_``.
        """
        check_fitted(self)
        (level,) = as_levels(level)
        out, mean, sd, log = self._moments(history, targets)
        values = out["value"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(log, np.log(values), values)
        z = np.abs(y - mean) / sd
        normal = normal_quantile(level)
        scale = np.ones(len(self.measures_))
        for j, measure in enumerate(self.measures_):
            zj = z[(out["measure"] == measure).to_numpy() & np.isfinite(z)]
            if zj.size >= 20:
                scale[j] = float(np.quantile(zj, level) / normal)
        self.interval_scale_ = scale
        return self

    def _moments(
        self, history: MeasureTable | pd.DataFrame, targets: pd.DataFrame
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """Targets, and their forecast mean and SD on the analysis scale (log or not)."""
        hist = history.data if isinstance(history, MeasureTable) else history
        out = targets.reset_index(drop=True).copy()
        unknown = sorted(set(out["measure"]) - set(self.measures_))
        if unknown:
            raise InputError(
                f"targets, column 'measure': no model for {', '.join(map(str, unknown))}; "
                f"fitted: {', '.join(self.measures_)}."
            )
        mean = np.full(len(out), np.nan)
        sd = np.full(len(out), np.nan)
        covs = self._covariates(hist, out)
        animals = covs.index
        for measure in out["measure"].unique():
            fit = self.fits_[measure]
            rows_t = out[out["measure"] == measure]
            rows_h = hist[(hist["measure"] == measure) & hist["animal"].isin(animals)]
            frame_t = rows_t[["animal", "age"]].join(covs, on="animal")
            frame_h = rows_h[["animal", "age", "value"]].join(covs, on="animal")
            x_t, z_t = self._design(frame_t, "targets")
            x_h, z_h = self._design(frame_h, "history")
            values = frame_h["value"].to_numpy(dtype=float)
            y_h = np.log(values) if self.params_[measure]["scale"] == "log" else values
            m, v = fit.forecast(
                x_t,
                z_t,
                animals.get_indexer(frame_t["animal"]),
                x_history=x_h,
                z_history=z_h,
                y_history=y_h,
                group_history=animals.get_indexer(frame_h["animal"]),
            )
            mean[rows_t.index] = m
            sd[rows_t.index] = np.sqrt(v)
        log = out["measure"].map(lambda k: self.params_[k]["scale"] == "log").to_numpy(bool)
        return out, mean, sd, log

    @property
    def summary(self) -> pd.DataFrame:
        """Fixed effects and variance components per measure.

        Fixed effects are on the analysis scale, with ages centred at ``age_center_``;
        columns ``measure``, ``parameter``, ``term``, ``estimate``.
        """
        check_fitted(self)
        terms = ["intercept", "age", "age^2"]
        for c in self.covariates_:
            for level in self.levels_[c][1:]:
                terms += [f"{c}={level}", f"{c}={level}:age"]
        rows = []
        for measure in self.measures_:
            p = self.params_[measure]
            beta, d = np.asarray(p["beta"]), np.asarray(p["D"])
            for term, value in zip(terms, beta, strict=True):
                rows.append((measure, "fixed", term, float(value)))
            for term, value in (
                ("intercept_sd", np.sqrt(d[0, 0])),
                ("slope_sd_per_month", np.sqrt(d[1, 1])),
                ("intercept_slope_corr", d[0, 1] / np.sqrt(d[0, 0] * d[1, 1])),
                ("residual_sd", np.sqrt(float(p["sigma2"]))),
            ):
                rows.append((measure, "variance", term, float(value)))
        return pd.DataFrame(rows, columns=["measure", "parameter", "term", "estimate"])


def forecast_metrics(forecasts: pd.DataFrame, *, by: str = "measure") -> pd.DataFrame:
    """Mean and median absolute error and interval coverage per ``by`` group.

    ``forecasts`` needs ``value`` (observed), ``point`` (the forecast) and, when
    available, ``lower_0.5``/``upper_0.5`` and ``lower_0.9``/``upper_0.9``.
    """
    rows = []
    for key, f in forecasts.groupby(by):
        err = np.abs(f[POINT] - f["value"])
        row = {by: key, "n": len(f), "mae": float(err.mean()), "median_ae": float(err.median())}
        for lev in (0.5, 0.9):
            lo, hi = interval_columns(lev)
            if lo in f and hi in f and f[lo].notna().all():
                inside = (f["value"] >= f[lo]) & (f["value"] <= f[hi])
                row[f"coverage_{int(lev * 100)}"] = float(inside.mean())
        rows.append(row)
    return pd.DataFrame(rows)


def select_by_forecast(
    train: MeasureTable,
    candidates: Sequence[dict[str, object]],
    *,
    measures: Sequence[str],
    covariates: Sequence[str] = (),
    horizon: float = 6.0,
    tolerance: float = 1.0,
    policy: LicensePolicy | None = None,
    random_state: int = 0,
) -> tuple[Any, pd.DataFrame]:
    """Choose disease-course hyper-parameters by forecasting animals held out of ``train``.

    The training animals are split again (:func:`horizon_split`); each candidate is
    fitted on the inner training animals and scored by the mean absolute error of the
    standardised forecasts of the inner held-out animals. The best candidate is refitted
    on all of ``train``; its interval scale comes from calibrating the inner model on the
    inner held-out forecasts
    (:meth:`~translocus.progression.course.DiseaseCourseModel.calibrate`), animals that
    model did not see.

    Returns
    -------
    The fitted model and a table of the candidates' scores.
    """
    from translocus.progression.course import DiseaseCourseModel

    inner = horizon_split(train, horizon=horizon, tolerance=tolerance, random_state=random_state)
    rows = []
    fitted = []
    for params in candidates:
        model = DiseaseCourseModel(**params)  # type: ignore[arg-type]
        model.fit(inner.train, measures=measures, covariates=covariates, policy=policy)
        fc = model.forecast(inner.history, inner.targets)
        observed = model.standardise(fc["value"].to_numpy(), fc["measure"].to_numpy())
        err = np.abs(observed - fc["mean_analysis"].to_numpy())
        rows.append({**params, "score": float(err.mean())})
        fitted.append(model)
    scores = pd.DataFrame(rows)
    best = int(scores["score"].idxmin())
    # intervals are calibrated on animals the inner model did not see, then carried over
    scale = fitted[best].calibrate(inner.history, inner.targets).interval_scale_
    model = DiseaseCourseModel(**candidates[best])  # type: ignore[arg-type]
    model.fit(train, measures=measures, covariates=covariates, policy=policy)
    model.interval_scale_ = scale.copy()
    return model, scores
