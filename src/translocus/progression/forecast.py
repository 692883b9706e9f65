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
  the 50% and 90% intervals;
- :func:`calibration_split` and :class:`Calibration`: the held-out animals inside ``fit`` on
  which the models calibrate their intervals by default (split-conformal), and the record of
  it that every forecast table carries (:data:`CALIBRATION_COLUMNS`).

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

import dataclasses
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
    "CALIBRATION_COLUMNS",
    "Calibration",
    "HorizonSplit",
    "calibration_split",
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
    #: how the held-out animals' visits were cut (said in calibration records)
    procedure: str = ""


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


#: Columns of a forecast table that say how its intervals were calibrated: the method
#: (``split-conformal`` or ``none``), the factor on the predictive SD of the row's measure and
#: the number of held-out animals the factor was estimated on.
CALIBRATION_COLUMNS = ("calibration", "interval_scale", "calibration_animals")

#: Held-out values a measure needs before its interval factor is estimated (else 1).
MIN_CALIBRATION_VALUES = 20


@dataclass(frozen=True)
class Calibration:
    """How a model's forecast intervals were calibrated.

    ``method`` is ``"split-conformal"`` (factors from animals the model did not see) or
    ``"none"``; ``scale`` holds the factor on the predictive SD per measure, ``values`` the
    held-out values behind it per measure (a measure with fewer than
    :data:`MIN_CALIBRATION_VALUES` keeps 1), ``animals`` the held-out animals.

    >>> Calibration.none(["w"]).describe()
    'none (intervals from the fitted model alone)'
    """

    method: str
    level: float
    animals: int
    scale: dict[str, float]
    values: dict[str, int]
    random_state: int | None = None
    procedure: str = ""

    @classmethod
    def none(cls, measures: Sequence[str], reason: str = "") -> Calibration:
        """No calibration (factor 1 for every measure); ``reason`` says why, if not asked."""
        return cls(
            "none" if not reason else f"none ({reason})",
            0.9,
            0,
            {m: 1.0 for m in measures},
            {m: 0 for m in measures},
        )

    def for_measures(self, measures: Sequence[str]) -> Calibration:
        """The same record with every one of ``measures`` (those it lacks keep factor 1)."""
        return dataclasses.replace(
            self,
            scale={m: self.scale.get(m, 1.0) for m in measures},
            values={m: self.values.get(m, 0) for m in measures},
        )

    @property
    def calibrated(self) -> bool:
        """Whether the factors come from held-out animals."""
        return self.method == "split-conformal"

    def describe(self) -> str:
        """One sentence for a model's summary and a run's log."""
        if not self.calibrated:
            if self.method == "none":
                return "none (intervals from the fitted model alone)"
            return self.method
        factors = ", ".join(
            f"{m} x{f:.3g}"
            if self.values.get(m, 0) >= MIN_CALIBRATION_VALUES
            else f"{m} x1 (only {self.values.get(m, 0)} held-out values)"
            for m, f in self.scale.items()
        )
        how = f"{self.procedure}; " if self.procedure else ""
        return (
            f"split-conformal at level {self.level:g} on {self.animals} animals held out of the "
            f"training data ({how}seed {self.random_state}): predictive SD {factors}"
        )

    def columns(self, measures: pd.Series) -> pd.DataFrame:
        """The :data:`CALIBRATION_COLUMNS` of forecast rows of ``measures``."""
        return pd.DataFrame(
            {
                "calibration": "split-conformal" if self.calibrated else "none",
                "interval_scale": measures.map(lambda m: self.scale.get(m, 1.0)).to_numpy(
                    dtype=float
                ),
                "calibration_animals": self.animals,
            },
            index=measures.index,
        )

    def rows(self) -> list[dict[str, object]]:
        """``summary`` rows (parameter, term, estimate) describing the calibration."""
        out: list[dict[str, object]] = [
            {"parameter": "calibration", "term": self.method, "estimate": float(self.level)},
            {"parameter": "calibration_animals", "term": "all", "estimate": float(self.animals)},
        ]
        for measure, factor in self.scale.items():
            out.append({"parameter": "interval_scale", "term": measure, "estimate": factor})
            out.append(
                {
                    "parameter": "calibration_values",
                    "term": measure,
                    "estimate": float(self.values.get(measure, 0)),
                }
            )
        return out


def conformal_factors(
    z: np.ndarray, measures: np.ndarray, names: Sequence[str], level: float
) -> tuple[dict[str, float], dict[str, int]]:
    """Split-conformal factors on the predictive SD, per measure.

    ``z`` holds ``|observed - forecast| / sd`` of held-out values (analysis scale); a
    measure's factor is their conformal ``level`` quantile (the ``ceil((n + 1) level)``-th
    smallest of ``n``) over the normal quantile, so that ``level`` intervals cover at least
    ``level`` of exchangeable new values. Measures with fewer than
    :data:`MIN_CALIBRATION_VALUES` finite values keep 1.

    >>> z = np.abs(np.random.default_rng(0).normal(0, 2.0, 4000))
    >>> f, n = conformal_factors(z, np.zeros(4000, int), ["w"], 0.9)
    >>> round(f["w"], 1), n["w"]
    (2.0, 4000)
    """
    normal = normal_quantile(level)
    scale: dict[str, float] = {}
    counts: dict[str, int] = {}
    for j, name in enumerate(names):
        zj = np.sort(z[(measures == j) & np.isfinite(z)])
        counts[name] = int(zj.size)
        if zj.size < MIN_CALIBRATION_VALUES:
            scale[name] = 1.0
            continue
        rank = min(int(np.ceil((zj.size + 1) * level)), zj.size)
        scale[name] = float(zj[rank - 1] / normal)
    return scale, counts


def calibration_split(
    table: MeasureTable,
    *,
    fraction: float = 0.2,
    horizon: float | None = 6.0,
    tolerance: float = 1.0,
    random_state: int = 0,
) -> HorizonSplit | None:
    """Hold animals out of a training table to calibrate forecast intervals on them.

    With ``horizon`` (months) this is :func:`horizon_split`: a seeded ``fraction`` of the
    animals is held out and each is forecast ``horizon ± tolerance`` months past its latest
    visit that has such a later visit, as a model forecasts an animal past its last visit.
    Without ``horizon``, or when no held-out animal has visits that far apart, each held-out
    animal (among those with two visit ages or more) is cut after a visit drawn at random
    among all but its last, and all its later values of measures seen before the cut are
    the targets. ``procedure`` of the result says which. Returns ``None`` when the table is
    too small (fewer than 3 training animals or no held-out animal).

    >>> from translocus.progression.course import DiseaseCourseModel
    >>> cohort = DiseaseCourseModel.example_cohort(40)
    >>> split = calibration_split(cohort, horizon=None, random_state=1)
    >>> split.train.n_animals, split.targets["animal"].nunique()
    (32, 8)
    >>> calibration_split(cohort, horizon=6.0).procedure
    'each held-out animal forecast 6±1 months past its latest visit with a visit that far on'
    """
    n_animals = table.data["animal"].nunique()
    if horizon is not None and 1 <= round(fraction * n_animals) <= n_animals - 3:
        try:
            split = horizon_split(
                table,
                horizon=horizon,
                tolerance=tolerance,
                test_fraction=fraction,
                random_state=random_state,
            )
        except InputError:
            pass  # no visits that far apart: the random cut below
        else:
            if not split.targets.empty:
                return dataclasses.replace(
                    split,
                    procedure=(
                        f"each held-out animal forecast {horizon:g}±{tolerance:g} months past "
                        "its latest visit with a visit that far on"
                    ),
                )
    return _random_cut_split(table, fraction=fraction, random_state=random_state)


def _random_cut_split(
    table: MeasureTable, *, fraction: float, random_state: int
) -> HorizonSplit | None:
    data = table.data
    animals = np.array(sorted(data["animal"].unique()))
    n_hold = int(round(fraction * len(animals)))
    ages = data.groupby("animal")["age"].unique()
    eligible = np.array([a for a in animals if len(ages[a]) >= 2])
    n_hold = min(n_hold, len(eligible))
    if n_hold < 1 or len(animals) - n_hold < 3:
        return None
    rng = np.random.default_rng(random_state)
    held = sorted(rng.choice(eligible, n_hold, replace=False).tolist())
    cut = {}
    for animal in held:
        visits = np.sort(ages[animal])
        cut[animal] = float(visits[rng.integers(0, len(visits) - 1)])
    held_rows = data[data["animal"].isin(held)]
    cut_age = held_rows["animal"].map(cut).to_numpy(dtype=float)
    history = held_rows[held_rows["age"].to_numpy() <= cut_age].reset_index(drop=True)
    later = held_rows[held_rows["age"].to_numpy() > cut_age]
    targets = later[["animal", "age", "measure", "value"]].copy()
    targets["last_age"] = later["animal"].map(cut).to_numpy(dtype=float)
    targets["horizon"] = targets["age"].to_numpy(dtype=float) - targets["last_age"].to_numpy()
    seen = history.groupby(["animal", "measure"]).size().rename("n").reset_index()
    targets = targets.merge(seen, on=["animal", "measure"]).drop(columns="n")
    train = data[~data["animal"].isin(held)].reset_index(drop=True)
    return HorizonSplit(
        MeasureTable(train, table.provenance, table.source, table.notes),
        MeasureTable(history, table.provenance, table.source, table.notes),
        targets.reset_index(drop=True),
        "each held-out animal cut after a random visit, its later visits forecast",
    )


def known_animals(
    split: HorizonSplit, measures: Sequence[str], levels: dict[str, list[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History and targets of the held-out animals a model fitted on the others can forecast.

    Kept: animals whose covariate values are all in ``levels`` (column -> values seen in
    training), and targets of ``measures``.
    """
    history = split.history.data
    keep = pd.Series(True, index=history.index)
    for column, values in levels.items():
        keep &= history[column].astype(str).isin(values)
    animals = set(history.loc[keep, "animal"]) - set(history.loc[~keep, "animal"])
    targets = split.targets[split.targets["animal"].isin(animals)]
    targets = targets[targets["measure"].isin(measures)]
    return history[history["animal"].isin(animals)], targets.reset_index(drop=True)


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
    calibration
        ``"split-conformal"`` (the default): a seeded ``calibration_fraction`` of the animals
        is held out, a model fitted on the others forecasts each held-out animal's later
        visits from its earlier ones (:func:`calibration_split`), and each measure's
        predictive SD is scaled by the split-conformal factor that makes those intervals of
        the largest ``level`` cover (:attr:`calibration_`); the model is then fitted on all
        animals. ``"none"`` keeps the model's own prediction-error intervals.
    calibration_fraction
        Fraction of the animals held out for calibration.
    calibration_horizon
        Months past a held-out animal's latest visit that calibration forecasts (as in
        :func:`horizon_split`); ``None`` forecasts all visits after a random cut
        (:func:`calibration_split`).
    random_state
        Seed of the calibration split.

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
        Factor on the forecast SD per measure (order of ``measures_``), from animals the
        model did not see (in ``fit``, or by :meth:`calibrate`); 1 without calibration.
    calibration_ : Calibration
        How the intervals were calibrated; stated in :attr:`summary` (its ``attrs``) and
        carried in every forecast table (``calibration``, ``interval_scale``,
        ``calibration_animals``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ages = np.tile(np.arange(3.0, 27.0, 3.0), 30)
    >>> animal = np.repeat([f"m{i}" for i in range(30)], 8)
    >>> bump = np.repeat(rng.normal(0, 0.1, 30), 8)
    >>> frame = pd.DataFrame({"animal": animal, "age": ages, "measure": "w",
    ...                       "value": np.exp(3 + 0.02 * ages + bump)})
    >>> model = LinearMixedModel(calibration="none").fit(frame, license="CC0-1.0")
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
        calibration: str = "split-conformal",
        calibration_fraction: float = 0.2,
        calibration_horizon: float | None = 6.0,
        random_state: int = 0,
    ) -> None:
        self.scale = scale
        self.level = level
        self.method = method
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.calibration_horizon = calibration_horizon
        self.random_state = random_state

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
        if self.calibration not in ("split-conformal", "none"):
            raise OptionError("calibration", self.calibration, "use split-conformal or none.")
        if not 0.0 < self.calibration_fraction < 1.0:
            raise OptionError(
                "calibration_fraction",
                self.calibration_fraction,
                "must be between 0 and 1 (the fraction of animals held out), e.g. 0.2.",
            )
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
        calibration = None
        split = None
        if self.calibration != "none":
            split = calibration_split(
                table,
                fraction=self.calibration_fraction,
                horizon=self.calibration_horizon,
                random_state=self.random_state,
            )
        if split is not None:
            inner = LinearMixedModel(**{**self.get_params(), "calibration": "none"})
            try:
                with warnings.catch_warnings():
                    # the inner fit is a means; convergence is reported for the final fit
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    inner._fit_table(split.train, measures, covariates)
            except InputError as refused:
                reason = f"the animals left after holding some out cannot be fitted: {refused}"
                calibration = Calibration.none(list(measures or ()), reason)
                split = None
        if split is not None:
            history, targets = known_animals(split, inner.measures_, inner.levels_)
            if not targets.empty:
                calibration = inner._conformal(history, targets, max(as_levels(self.level)))
                calibration = dataclasses.replace(
                    calibration, random_state=self.random_state, procedure=split.procedure
                )
        self._fit_table(table, measures, covariates)
        if calibration is None:
            reason = "" if self.calibration == "none" else "too few animals to hold any out"
            calibration = Calibration.none(self.measures_, reason)
        self._set_calibration(calibration)
        return self

    def _set_calibration(self, calibration: Calibration) -> None:
        self.calibration_ = calibration.for_measures(self.measures_)
        self.interval_scale_ = np.array([self.calibration_.scale[m] for m in self.measures_])

    def _fit_table(
        self, table: MeasureTable, measures: Sequence[str] | None, covariates: Sequence[str]
    ) -> None:
        """One mixed model per measure on ``table`` (already through the licence gate)."""
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
        self._set_calibration(Calibration.none(self.measures_))
        if not_converged:
            warnings.warn(
                f"LinearMixedModel: the {self.method.upper()} optimiser did not converge for "
                f"measure(s) {'; '.join(not_converged)}; their variance components and "
                "forecasts may be off: check those measures for outliers and animals with few "
                "visits, or fit fewer covariates.",
                ConvergenceWarning,
                stacklevel=3,
            )

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
        SDs are multiplied by ``interval_scale_``, and the table carries the calibration
        (``calibration``, ``interval_scale``, ``calibration_animals`` and
        ``attrs["calibration"]``).
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
        out = pd.concat([out, self.calibration_.columns(out["measure"])], axis=1)
        out.attrs["calibration"] = self.calibration_.describe()
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
        with fewer than 20 targets keep 1). Replaces the calibration made in ``fit``: sets
        ``interval_scale_`` and ``calibration_``.
        """
        check_fitted(self)
        (level,) = as_levels(level)
        self._set_calibration(self._conformal(history, targets, level))
        return self

    def _conformal(
        self, history: MeasureTable | pd.DataFrame, targets: pd.DataFrame, level: float
    ) -> Calibration:
        out, mean, sd, log = self._moments(history, targets)
        values = out["value"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(log, np.log(values), values)
        z = np.abs(y - mean) / sd
        meas = out["measure"].map({m: i for i, m in enumerate(self.measures_)}).to_numpy()
        scale, counts = conformal_factors(z, meas, self.measures_, level)
        return Calibration("split-conformal", level, int(out["animal"].nunique()), scale, counts)

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
        columns ``measure``, ``parameter``, ``term``, ``estimate``. The ``calibration`` rows
        give each measure's interval factor (term ``interval_scale``) and the held-out values
        and animals behind it; ``attrs["calibration"]`` states the procedure.
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
            cal = self.calibration_
            rows.append((measure, "calibration", "interval_scale", cal.scale.get(measure, 1.0)))
            rows.append(
                (measure, "calibration", "held_out_values", float(cal.values.get(measure, 0)))
            )
            rows.append((measure, "calibration", "held_out_animals", float(cal.animals)))
        table = pd.DataFrame(rows, columns=["measure", "parameter", "term", "estimate"])
        table.attrs["calibration"] = cal.describe() if self.measures_ else ""
        return table


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
    model did not see. A candidate's unnamed parameters are the model's own, except that
    the prior SDs are estimated (``onset_sd=None``, ``speed_sd=None``) and no calibration is
    made inside each fit (``calibration="none"``): this function does both.

    Returns
    -------
    The fitted model and a table of the candidates' scores.
    """
    from translocus.progression.course import DiseaseCourseModel

    inner = horizon_split(train, horizon=horizon, tolerance=tolerance, random_state=random_state)
    rows = []
    fitted = []
    base: dict[str, object] = {"onset_sd": None, "speed_sd": None, "calibration": "none"}
    for params in candidates:
        model = DiseaseCourseModel(**{**base, **params})  # type: ignore[arg-type]
        model.fit(inner.train, measures=measures, covariates=covariates, policy=policy)
        fc = model.forecast(inner.history, inner.targets)
        observed = model.standardise(fc["value"].to_numpy(), fc["measure"].to_numpy())
        err = np.abs(observed - fc["mean_analysis"].to_numpy())
        rows.append({**params, "score": float(err.mean())})
        fitted.append(model)
    scores = pd.DataFrame(rows)
    best = int(scores["score"].idxmin())
    # intervals are calibrated on animals the inner model did not see, then carried over
    calibration = fitted[best].calibrate(inner.history, inner.targets).calibration_
    model = DiseaseCourseModel(**{**base, **candidates[best]})  # type: ignore[arg-type]
    model.fit(train, measures=measures, covariates=covariates, policy=policy)
    model._set_calibration(
        dataclasses.replace(
            calibration,
            random_state=random_state,
            procedure="the inner held-out animals of select_by_forecast",
        )
    )
    return model, scores
