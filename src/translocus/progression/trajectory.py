"""Age trajectories for cross-sectional-by-age data (each animal measured once).

For every stratum (a measure, optionally in one tissue) and every group (for example
``mouse_model`` × ``sex``), :class:`AgeTrajectoryModel` fits a smooth mean curve over age,
compares it with the matched control group (same group values, control in the model
column) at every age, and reports the onset age: the first age at which the model departs
from its control by a chosen effect size, with a bootstrap interval over animals.

Model
-----
On the analysis scale (natural log where the measure is positive) an observation of
animal ``i`` in group ``g`` at age ``a`` is ``y = f_g(a) + c_{g,a} + e``, with
``e ~ N(0, sigma_e^2)`` and a cohort offset ``c_{g,a} ~ N(0, sigma_cohort^2)`` shared by
the animals of one group and age (they were bred, aged and assayed together). ``f_g`` is a
cubic B-spline with equally spaced knots whose coefficients follow a first-order random
walk, ``beta_{j+1} - beta_j ~ N(0, sigma_rw^2 * spacing)`` (a P-spline with a
first-difference penalty; ``trend=True`` adds a second-difference one). The cohort offsets
are shrunk towards the curve, so an age's mean moves the curve only as far as the other
ages allow, and the curve keeps its course through the measured ages instead of
flattening to their average. Beyond the oldest age the forecast stays at the curve's last
level while its interval widens with distance, the behaviour of a random walk: on
MODEL-AD, a trend extrapolated from three ages forecasts the 18-month means worse than
the last level (``oldest_age_backtest``).

Every group is fitted on its own rows: its variances maximise its own marginal
likelihood, so a group's curve and forecast do not change when other groups are added to
or removed from the table (given the knots, set by ``horizon`` and the youngest age, and
the log offset of the stratum). With three or four ages the variances are poorly
determined, so the forecast SD averages over them (see :meth:`AgeTrajectoryModel.fit`).
``covariates`` (study family, cohort) shift a group's curve by a constant per value.
Observations are down-weighted by Huber weights (k = 1.345), because failed assays
recorded as zeros are common in pathology tables.

Forecast intervals are calibrated by default on held-out data: every group with three or
more ages is refitted without its oldest age and forecasts that age's mean; one factor
for all groups (a split-conformal quantile) multiplies the SDs. It widens or narrows
intervals and never moves a forecast; ``calibration_`` and ``summary.attrs`` state it.

Descriptive curve fitting is analysis of a dataset, not the training of a model that is
then used on other data, so :meth:`AgeTrajectoryModel.fit` does not go through the licence
gate (MODEL-AD data, whose terms refuse training by default, can be described). The
decision is recorded as ``purpose="analysis"`` in ``licence_decision_``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> rows = []
>>> for model, shift in (("ctrl", 0.0), ("tg", 1.0)):
...     for age in (4, 8, 12):
...         for k in range(6):
...             rows.append((f"{model}{age}{k}", age, "m", model,
...                          np.exp(1 + shift * age / 8 + rng.normal(0, 0.1))))
>>> df = pd.DataFrame(rows, columns=["animal", "age", "measure", "mouse_model", "value"])
>>> fit = AgeTrajectoryModel(n_boot=20).fit(df, group=["mouse_model"], control="ctrl")
>>> bool(fit.onsets_["onset_age"].iloc[0] < 8)
True
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, stats
from scipy.interpolate import BSpline

from translocus.core.errors import InputError
from translocus.core.estimator import Estimator, check_fitted
from translocus.core.intervals import POINT, as_levels, interval_columns, normal_quantile
from translocus.core.provenance import LicenseDecision, LicensePolicy, Provenance, check_training
from translocus.core.table import as_table
from translocus.progression.data import MeasureTable, from_frame

__all__ = ["AgeTrajectoryModel", "bspline_basis", "oldest_age_backtest", "summarise_backtest"]

_HUBER_K = 1.345
#: Held-out group means needed before the forecast intervals are calibrated.
_MIN_CALIBRATION = 10


def bspline_basis(x: np.ndarray, knots: np.ndarray, degree: int = 3) -> np.ndarray:
    """B-spline basis ``[len(x), len(knots) + degree - 1]`` on equally spaced ``knots``.

    ``scipy.interpolate.BSpline.design_matrix`` on the knots extended by ``degree`` equal
    steps at each end. Values outside the knots are clamped, so a curve is constant beyond
    its ends; the top is clamped just inside the last knot, as in the course model's kernel.

    >>> b = bspline_basis(np.array([0.0, 0.5, 1.0]), np.linspace(0, 1, 3))
    >>> np.allclose(b.sum(axis=1), 1.0)
    True
    """
    x = np.asarray(x, dtype=float)
    knots = np.asarray(knots, dtype=float)
    step = float(knots[1] - knots[0])
    if x.size == 0:
        return np.zeros((0, len(knots) + degree - 1))
    full = np.concatenate(
        [
            knots[0] - step * np.arange(degree, 0, -1),
            knots,
            knots[-1] + step * np.arange(1, degree + 1),
        ]
    )
    xc = np.clip(x, knots[0], knots[-1] - 1e-9 * step)
    return np.asarray(BSpline.design_matrix(xc, full, degree).toarray())


@dataclass
class _GroupFit:
    key: tuple[Any, ...]
    age: np.ndarray
    y: np.ndarray
    animal: np.ndarray
    weight: np.ndarray
    mean: np.ndarray  # spline coefficients, then the covariate shifts
    cov: np.ndarray
    center: float
    design: np.ndarray  # [row, basis + shift + cell]
    prior: np.ndarray  # prior precision of the design's coefficients
    sigma_e: float
    sigma_rw: float
    sigma_trend: float
    sigma_cohort: float
    sigma_unit: float  # residual SD of one animal (scale-consistent), the effect-size unit
    levels: list[tuple[Any, ...]]  # covariate levels of the group; the first is the reference
    shift: np.ndarray  # [row, level - 1] indicator of the non-reference levels


@dataclass
class _StratumFit:
    key: tuple[Any, ...]
    scale: str
    offset: float
    groups: dict[tuple[Any, ...], _GroupFit]


def _prior_precision(
    n_basis: int, spacing: float, sigma_rw: float, sigma0: float, sigma_trend: float = 0.0
) -> np.ndarray:
    """Precision of the coefficients.

    First-difference (level) and second-difference (trend) penalties; with both, the curve's
    slope decays geometrically beyond the data.
    """
    diff = np.diff(np.eye(n_basis), axis=0)
    q = diff.T @ diff / (sigma_rw**2 * spacing)
    if sigma_trend > 0:
        diff2 = np.diff(np.eye(n_basis), n=2, axis=0)
        q += diff2.T @ diff2 / (sigma_trend**2 * spacing**3)
    q[0, 0] += 1.0 / sigma0**2
    q[1, 1] += 1.0 / sigma0**2
    return q


def _posterior_mean(
    basis: np.ndarray, y: np.ndarray, w: np.ndarray, sigma_e: float, q_prior: np.ndarray
) -> np.ndarray:
    bw = basis * w[:, None]
    return np.asarray(
        linalg.solve(q_prior + bw.T @ basis / sigma_e**2, bw.T @ y / sigma_e**2, assume_a="pos")
    )


def _posterior(
    basis: np.ndarray, y: np.ndarray, w: np.ndarray, sigma_e: float, q_prior: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """Posterior mean and covariance of the coefficients, and the log marginal likelihood."""
    bw = basis * w[:, None]
    q_post = q_prior + bw.T @ basis / sigma_e**2
    chol = linalg.cho_factor(q_post, lower=True)
    mean = linalg.cho_solve(chol, bw.T @ y / sigma_e**2)
    cov = linalg.cho_solve(chol, np.eye(len(mean)))
    logdet_post = 2.0 * np.sum(np.log(np.diag(chol[0])))
    sign, logdet_prior = np.linalg.slogdet(q_prior)
    quad = float(np.sum(w * y**2) / sigma_e**2 - mean @ (q_post @ mean))
    n = len(y)
    loglik = -0.5 * (
        n * np.log(2 * np.pi * sigma_e**2) - np.sum(np.log(w)) + logdet_post - logdet_prior + quad
    )
    return mean, cov, float(loglik)


def _huber_weights(resid: np.ndarray, scale: float) -> np.ndarray:
    r = np.abs(resid) / max(scale, 1e-12)
    return np.minimum(1.0, _HUBER_K / np.maximum(r, 1e-12))


class AgeTrajectoryModel(Estimator):
    """Smooth mean curves over age per group, effects against control, onset ages.

    ``use = "analysis"``: the curves, effects and onset ages describe the groups of these
    data (recorded by the licence policy, never refused); :meth:`predict` extends those
    group curves over age, it does not forecast new animals from their own visits.

    Parameters
    ----------
    scale
        ``"auto"`` (log when a stratum's values are non-negative, else linear), ``"log"``
        or ``"linear"``.
    nonpositive
        On the log scale, what to do with zeros: ``"offset"`` analyses ``log(x + c)`` with
        ``c`` half the smallest positive value of the stratum (zeros are "below detection");
        ``"auto"`` (default) does the same, except that a zero in a group-and-age cell whose
        values are mostly positive, or whose positive values have a median above 10 times
        the stratum's smallest positive value (far above detection), is treated as a failed
        measurement and left out (counted in ``notes_``); ``"drop"`` leaves out every zero; ``"error"`` raises
        :class:`~translocus.core.errors.InputError`. Negative values on the log scale are
        always an error.
    effect
        ``"standardized"``: difference from control divided by the residual SD of the
        stratum (Cohen's d); ``"difference"``: difference on the analysis scale (a log
        ratio on the log scale).
    threshold
        Effect size whose first crossing defines the onset age.
    direction
        ``"both"``, ``"up"`` or ``"down"``: which departures count as onset.
    knot_spacing
        Months between spline knots.
    horizon
        Oldest age (months) curves and forecasts cover; default 1.5 × the oldest age.
    level
        Level of the curve bands and intervals (0.9).
    n_boot
        Bootstrap replicates (animals resampled within group) for the onset interval.
    robust
        Down-weight outlying animals with Huber weights.
    min_animals
        Groups with fewer animals in a stratum are skipped (listed in ``skipped_``).
    grid_step
        Age resolution (months) of curves and onsets.
    trend
        Add a second-difference (trend) penalty to the first-difference one; beyond the
        data the curve then continues its slope with geometric damping instead of staying
        at its last level. Off by default: on MODEL-AD (every group with four ages, the
        oldest forecast from the younger ones) the continued slope has a median absolute
        log error of 0.32 against 0.21 for the last level.
    cohort_effects
        Give each group-and-age cell a random offset (``sigma_cohort``, estimated): animals
        of one age are one cohort, processed together, and share batch effects that a
        curve over age should not follow; a forecast for new animals adds a new cohort's
        offset to its interval.
    calibration
        ``"held-out-age"`` (default): forecast intervals are calibrated on held-out data,
        each group's oldest age forecast from its younger ages (``calibration_`` and
        ``summary.attrs["calibration"]`` state the procedure and factor); ``"none"``: the
        model's own intervals.
    random_state
        Seed of the bootstrap.
    """

    use = "analysis"

    def __init__(
        self,
        *,
        scale: str = "auto",
        nonpositive: str = "auto",
        effect: str = "standardized",
        threshold: float = 1.0,
        direction: str = "both",
        knot_spacing: float = 2.0,
        horizon: float | None = None,
        level: float = 0.9,
        n_boot: int = 200,
        robust: bool = True,
        min_animals: int = 2,
        grid_step: float = 0.25,
        trend: bool = False,
        cohort_effects: bool = True,
        calibration: str = "held-out-age",
        random_state: int = 0,
    ) -> None:
        self.scale = scale
        self.nonpositive = nonpositive
        self.effect = effect
        self.threshold = threshold
        self.direction = direction
        self.knot_spacing = knot_spacing
        self.horizon = horizon
        self.level = level
        self.n_boot = n_boot
        self.robust = robust
        self.min_animals = min_animals
        self.grid_step = grid_step
        self.trend = trend
        self.cohort_effects = cohort_effects
        self.calibration = calibration
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: MeasureTable | pd.DataFrame,
        *,
        group: Sequence[str] = ("mouse_model", "sex"),
        control: str | None = "C57BL/6J",
        strata: Sequence[str] | None = None,
        measures: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        policy: LicensePolicy | None = None,
        license: str | None = None,
    ) -> AgeTrajectoryModel:
        """Fit curves for every stratum and group.

        Each group on its own rows. Its variances are those of the largest marginal
        likelihood over a log-spaced grid; the SD of its curve is averaged over the grid
        (each point weighted by its marginal likelihood adds its posterior covariance and
        the squared distance of its curve from the chosen one), because three or four ages
        determine the variances poorly. ``variances_`` lists every group's variances,
        ``hyper_`` one row per stratum (scale, log offset, medians of the groups'
        variances), ``calibration_`` the interval calibration.

        Parameters
        ----------
        data
            A :class:`MeasureTable` or a long frame with ``animal``, ``age`` (months),
            ``measure``, ``value`` and the ``group`` columns.
        group
            Columns that define a group; the first is the model column in which
            ``control`` names the control (``mouse_model`` = ``C57BL/6J``).
        control
            The control value of the model column; ``None`` fits curves without effects.
        strata
            Columns that define separate analyses; default ``measure`` and ``tissue`` when
            present.
        measures
            Keep only these measures.
        covariates
            Columns whose values shift a group's curve by a constant on the analysis scale
            (study family or cohort: ``model_group`` in MODEL-AD, where the 5xFAD animals of
            the Abca7 and Trem2 study families lie 2-4 log units below the 5xFAD study's);
            the curve's shape is shared, each value gets its own level and its own age
            cohorts. Curves, effects and onsets are at a group's most common value;
            :meth:`predict` gives every value.
        policy
            Licence policy whose log records the ``analysis`` use of the data.
        license
            The SPDX licence of a plain DataFrame (``"MIT"``), recorded with the decision; a
            :class:`MeasureTable` carries its own.
        """
        table = as_table(
            data, MeasureTable, from_frame, license=license, estimator="AgeTrajectoryModel.fit"
        )
        frame = table.data
        source = table.source or table.provenance.name
        group = list(group)
        if not group:
            raise InputError(f"{source}: give at least one group column (e.g. mouse_model).")
        covariates = list(covariates)
        missing = [c for c in [*group, *covariates] if c not in frame.columns]
        if missing:
            raise InputError(
                f"{source}: group or covariate column(s) {', '.join(missing)} not found; "
                "columns are "
                f"{', '.join(map(str, frame.columns))}."
            )
        if strata is None:
            strata = ["measure"] + (["tissue"] if "tissue" in frame.columns else [])
        strata = list(strata)
        if measures is not None:
            unknown = sorted(set(measures) - set(frame["measure"].unique()))
            if unknown:
                raise InputError(
                    f"{source}, column 'measure': no measure(s) {', '.join(unknown)}; available: "
                    f"{', '.join(sorted(map(str, frame['measure'].unique())))}."
                )
            frame = frame[frame["measure"].isin(list(measures))]
        model_col = group[0]
        if control is not None and control not in set(frame[model_col].astype(str)):
            raise InputError(
                f"{source}, column {model_col!r}: control group {control!r} is missing; "
                f"values are {', '.join(sorted(map(str, frame[model_col].unique())))}; "
                "pass the matched control strain with --control."
            )
        if frame.empty:
            raise InputError(f"{source}: no rows left to fit.")
        self.licence_decision_: LicenseDecision = check_training(
            table.provenance, policy, purpose="analysis"
        )
        self.provenance_: Provenance = table.provenance
        self.units_: dict[str, str] = dict(table.units)
        self.group_ = group
        clash = sorted(set(covariates) & set(group))
        if clash:
            raise InputError(
                f"{source}: {', '.join(clash)} is both a group column and a covariate; "
                "give it in one of group= or covariates=."
            )
        self.covariates_ = covariates
        self.strata_ = strata
        self.control_ = control
        self.source_ = source
        self.notes_: list[str] = list(table.notes)
        self.skipped_ = pd.DataFrame(columns=[*strata, *group, "n_animals", "reason"])
        age_max = float(frame["age"].max())
        self.horizon_ = float(self.horizon if self.horizon is not None else 1.5 * age_max)
        if self.horizon_ < age_max:
            raise InputError(
                f"{source}: horizon {self.horizon_} is below the oldest age {age_max}."
            )
        age_min = max(0.0, float(frame["age"].min()) - self.knot_spacing)
        n_int = int(np.ceil((self.horizon_ - age_min) / self.knot_spacing))
        self.knots_ = age_min + self.knot_spacing * np.arange(n_int + 1)
        if self.calibration not in ("held-out-age", "none"):
            raise InputError(f"calibration={self.calibration!r}; use 'held-out-age' or 'none'.")
        self._fits: dict[tuple[Any, ...], _StratumFit] = {}
        self._z: list[float] = []
        self._grid: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        skipped: list[dict[str, Any]] = []
        for skey, sframe in frame.groupby(strata, sort=True):
            skey = skey if isinstance(skey, tuple) else (skey,)
            fit = self._fit_stratum(skey, sframe, skipped)
            if fit is not None:
                self._fits[skey] = fit
        if skipped:
            self.skipped_ = pd.DataFrame(skipped)
            warnings.warn(
                f"{len(skipped)} group(s) skipped (see skipped_): "
                + "; ".join(f"{s['reason']}" for s in skipped[:3]),
                stacklevel=2,
            )
        if not self._fits:
            raise InputError(
                f"{source}: no stratum has a group with at least {self.min_animals} animals; "
                "add animals or lower min_animals."
            )
        self._calibrate()
        self._summarise()
        return self

    def _held_out_z(self, gkey: tuple[Any, ...], gframe: pd.DataFrame) -> None:
        """Standardised errors of a group's mean at its oldest age.

        The forecast comes from the group refitted on its younger ages; only groups with at
        least three ages take part.
        """
        ages = np.unique(gframe["age"].to_numpy(dtype=float))
        if len(ages) < 3:
            return
        oldest = gframe["age"].to_numpy(dtype=float) == ages[-1]
        young = self._fit_group(gkey, gframe[~oldest])
        held = gframe[oldest]
        keys = (
            list(zip(*(held[c] for c in self.covariates_), strict=True))
            if self.covariates_
            else [()] * len(held)
        )
        for key in dict.fromkeys(keys):
            if key not in young.levels:
                continue
            rows = np.array([k == key for k in keys])
            y = held["_y"].to_numpy(dtype=float)[rows]
            mean, sd = self._forecast(young, ages[-1:], young.levels.index(key), len(y))
            self._z.append(float((y.mean() - mean[0]) / sd[0]))

    def _calibrate(self) -> None:
        """Split-conformal factor of the forecast SDs from the held-out oldest ages."""
        z = np.abs(np.asarray(self._z, dtype=float))
        normal = normal_quantile(self.level)
        factor, n = 1.0, int(z.size)
        if self.calibration == "none":
            text = "not calibrated (calibration='none'): model-based intervals"
        elif n < _MIN_CALIBRATION:
            text = (
                f"not calibrated: {n} held-out group mean(s), at least {_MIN_CALIBRATION} are "
                "needed (groups with three or more ages); model-based intervals"
            )
        else:
            # split-conformal quantile: the ceil((n + 1) level)-th smallest |z|
            rank = min(n, int(np.ceil((n + 1) * self.level)))
            factor = float(np.sort(z)[rank - 1] / normal)
            text = (
                f"held-out oldest age: each group with three or more ages was refitted without "
                f"its oldest age and forecast that age's mean; the SDs are multiplied by "
                f"{factor:.3g}, the {rank}-th smallest of the {n} held-out "
                f"|observed - forecast| / sd (the split-conformal {self.level:g} quantile) "
                f"divided by the normal quantile {normal:.3g} (one "
                f"factor for all groups: it moves intervals, never a group's forecast)"
            )
        self.interval_scale_ = factor
        self.calibration_: dict[str, Any] = {
            "method": self.calibration,
            "level": self.level,
            "n_held_out": n,
            "interval_scale": factor,
            "coverage_before": float(np.mean(z <= normal)) if n else float("nan"),
            "coverage_after": float(np.mean(z <= normal * factor)) if n else float("nan"),
            "procedure": text,
        }

    def _transform(
        self, skey: tuple[Any, ...], sframe: pd.DataFrame
    ) -> tuple[str, float, np.ndarray]:
        values = sframe["value"].to_numpy(dtype=float)
        label = " / ".join(map(str, skey))
        scale = self.scale
        if scale == "auto":
            scale = "log" if np.all(values >= 0) else "linear"
        if scale == "linear":
            return "linear", 0.0, values.astype(float)
        if scale != "log":
            raise InputError(f"scale={self.scale!r}; use 'auto', 'log' or 'linear'.")
        if np.any(values < 0):
            raise InputError(
                f"{self.source_}, column 'value': {int(np.sum(values < 0))} negative values in "
                f"{label} cannot be log-transformed; use scale='linear'."
            )
        n_zero = int(np.sum(values <= 0))
        if n_zero == 0:
            return "log", 0.0, np.log(values)
        if self.nonpositive == "error":
            raise InputError(
                f"{self.source_}, column 'value': {n_zero} zero values in {label} cannot be "
                "log-transformed; use nonpositive='offset' or 'drop', or scale='linear'."
            )
        if self.nonpositive == "drop":
            out = np.full(len(values), np.nan)
            out[values > 0] = np.log(values[values > 0])
            return "log", 0.0, out
        if self.nonpositive not in ("auto", "offset"):
            raise InputError(
                f"nonpositive={self.nonpositive!r}; use 'auto', 'offset', 'drop' or 'error'."
            )
        positive = values[values > 0]
        smallest = float(positive.min()) if positive.size else 2.0
        offset = 0.5 * smallest
        out = np.log(values + offset)
        if self.nonpositive == "auto":
            # A zero is a failed measurement when most values of its group-and-age cell are
            # positive, or when the cell's positive values lie far above the smallest
            # positive value of the stratum (detection); zeros in all-zero cells or in cells
            # near detection are "below detection".
            cells = [sframe[c] for c in [*self.group_, "age"]]
            positive_only = pd.Series(np.where(values > 0, values, np.nan), index=sframe.index)
            cell_median = positive_only.groupby(cells).transform("median").to_numpy()
            share = pd.Series(values > 0, index=sframe.index).groupby(cells).transform("mean")
            with np.errstate(invalid="ignore"):
                far = cell_median > 10.0 * smallest
                failed = (values <= 0) & (far | (share.to_numpy() > 0.5))
            if failed.any():
                self.notes_.append(
                    f"{label}: {int(failed.sum())} zero values among positive values of their "
                    "group and age treated as failed measurements"
                )
            out[failed] = np.nan
        return "log", offset, out

    def _fit_stratum(
        self, skey: tuple[Any, ...], sframe: pd.DataFrame, skipped: list[dict[str, Any]]
    ) -> _StratumFit | None:
        scale, offset, yall = self._transform(skey, sframe)
        sframe = sframe.assign(_y=yall).dropna(subset=["_y"])
        fits: dict[tuple[Any, ...], _GroupFit] = {}
        for gkey, gframe in sframe.groupby(self.group_, sort=True):
            gkey = gkey if isinstance(gkey, tuple) else (gkey,)
            n_animals = gframe["animal"].nunique()
            if n_animals < self.min_animals:
                skipped.append(
                    {
                        **dict(zip(self.strata_, skey, strict=True)),
                        **dict(zip(self.group_, gkey, strict=True)),
                        "n_animals": n_animals,
                        "reason": f"{'/'.join(map(str, gkey))} in {'/'.join(map(str, skey))} has "
                        f"{n_animals} animal(s); at least {self.min_animals} are needed",
                    }
                )
                continue
            fits[gkey] = self._fit_group(gkey, gframe)
            if self.calibration == "held-out-age":
                self._held_out_z(gkey, gframe)
        if not fits:
            return None
        return _StratumFit(skey, scale, offset, fits)

    def _fit_group(self, gkey: tuple[Any, ...], gframe: pd.DataFrame) -> _GroupFit:
        """One group's curve from its own rows only.

        Every variance is chosen by this group's marginal likelihood, so a group's curve
        and forecast do not depend on the other groups of the table (given the knots, set
        by ``horizon`` and the youngest age, and the stratum's log offset).
        """
        age = gframe["age"].to_numpy(dtype=float)
        y = gframe["_y"].to_numpy(dtype=float)
        animal = gframe["animal"].to_numpy()
        if self.covariates_:
            keys = list(zip(*(gframe[c] for c in self.covariates_), strict=True))
            counts = pd.Series(keys).value_counts(sort=False)
            # reference: the level with most rows (ties: first in sorted order)
            levels = sorted(counts.index, key=lambda k: (-counts[k], str(k)))
            code = np.array([levels.index(k) for k in keys])
            shift = (code[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
        else:
            levels, code = [()], np.zeros(len(y), dtype=int)
            shift = np.zeros((len(y), 0))
        # animals of one age (and covariate level) are one cohort
        cells = np.unique(np.c_[age, code], axis=0, return_inverse=True)[1].ravel()
        n_basis = len(self.knots_) + 2
        n_shift = shift.shape[1]
        design = np.hstack([bspline_basis(age, self.knots_), shift, np.eye(cells.max() + 1)[cells]])
        spread = float(np.std(y)) or 1.0
        sigma0 = 10.0 * spread
        w = np.ones(len(y))
        spacing = self.knot_spacing

        # The marginal likelihood is maximised over a log-spaced grid of the four variances,
        # all grid points at once (fast, and free of the local optima a gradient search
        # meets with three or four ages). The data enter through weighted cell means (one
        # cell per age and covariate level), whose covariance is B K B' + Z Z' sigma0^2 +
        # sigma_cohort^2 I + diag(sigma_e^2 / W).
        # every variance is proportional to the group's spread, so the prior precisions
        # and covariances of the grid are those of spread 1, scaled
        if self._grid is None:
            unit = _hyper_grid(1.0, self.trend, self.cohort_effects)
            sig_unit = np.exp(unit)
            q_unit = _prior_precision_batch(n_basis, spacing, sig_unit[:, 1], sig_unit[:, 2], 10.0)
            self._grid = (unit, q_unit, np.linalg.inv(q_unit))
        unit, q_unit, k_unit = self._grid
        grid = unit + np.log(spread)
        sig = np.exp(grid)
        q_all = q_unit / spread**2
        ages_all = np.unique(age)
        basis_all = bspline_basis(ages_all, self.knots_)
        prior_cov_ages = spread**2 * (basis_all @ k_unit @ basis_all.T)
        s2 = sig[:, 0] ** 2
        theta = grid[0]
        for _ in range(3 if self.robust else 1):
            loglik = _cell_loglik(
                age, y, w, ages_all, prior_cov_ages, s2, sig[:, 3] ** 2, shift, sigma0**2
            )
            theta = grid[int(np.argmax(loglik))]
            if not self.robust:
                break
            best = np.exp(theta)
            prior = _group_prior(
                n_basis, spacing, best, sigma0, n_shift, design.shape[1] - n_basis - n_shift
            )
            center = float(np.average(y, weights=w))
            mean = _posterior_mean(design, y - center, w, float(best[0]), prior)
            w = _huber_weights(y - center - design @ mean, float(best[0]))
        best = np.exp(theta)
        sigma_e = float(best[0])
        prior = _group_prior(
            n_basis, spacing, best, sigma0, n_shift, design.shape[1] - n_basis - n_shift
        )
        # Huber weights shrink the scale: E[min(z^2, k|z|)] = 2 Phi(k) - 1 for normal z, so
        # the residual SD used for effect sizes and predictions is corrected by that factor.
        sigma_unit = (
            sigma_e / np.sqrt(2.0 * stats.norm.cdf(_HUBER_K) - 1.0) if self.robust else sigma_e
        )
        center = float(np.average(y, weights=w))
        keep = n_basis + n_shift
        mean, _, _ = _posterior(design, y - center, w, sigma_e, prior)
        mean = mean[:keep]
        # With three or four ages the variances are poorly determined. The curve is the
        # one at the marginal-likelihood maximum, but its uncertainty is averaged over the
        # variances: each grid point, weighted by its marginal likelihood, adds its
        # posterior covariance and the squared distance of its curve from the chosen one,
        # and a new cohort's forecast adds the averaged cohort and residual variances.
        loglik = _cell_loglik(
            age, y, w, ages_all, prior_cov_ages, s2, sig[:, 3] ** 2, shift, sigma0**2
        )
        post = np.exp(loglik - loglik.max())
        post /= post.sum()
        top = np.flatnonzero(post > 1e-6 * post.max())
        size = design.shape[1]
        priors = np.zeros((len(top), size, size))
        priors[:, :n_basis, :n_basis] = q_all[top]
        diag = np.arange(n_basis, size)
        priors[:, diag, diag] = np.where(diag < keep, 1.0 / sigma0**2, 1.0 / sig[top, 3:4] ** 2)
        xw = design * w[:, None]
        q_post = priors + (xw.T @ design)[None] / s2[top, None, None]
        rhs = (xw.T @ (y - center))[None, :] / s2[top, None]
        cov_all = np.linalg.inv(q_post)
        mean_all = (cov_all @ rhs[:, :, None])[:, :keep, 0]
        gap = mean_all - mean[None, :]
        cov = np.tensordot(post[top], cov_all[:, :keep, :keep], axes=1)
        cov += (gap * post[top, None]).T @ gap
        sigma_unit = float(np.sqrt(post @ s2)) * sigma_unit / sigma_e
        sigma_cohort = float(np.sqrt(post @ sig[:, 3] ** 2))
        return _GroupFit(
            gkey,
            age,
            y,
            animal,
            w,
            mean,
            cov,
            center,
            design,
            prior,
            sigma_e,
            float(best[1]),
            float(best[2]),
            sigma_cohort,
            float(sigma_unit),
            levels,
            shift,
        )

    # ------------------------------------------------------------------ results
    def _control_key(self, gkey: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.control_ is None or str(gkey[0]) == str(self.control_):
            return None
        return (self.control_, *gkey[1:])

    def _curve(
        self, gfit: _GroupFit, ages: np.ndarray, level: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Curve mean and SD at ``ages`` for covariate level ``level`` (0: the reference)."""
        basis = bspline_basis(ages, self.knots_)
        shift = np.zeros((len(ages), len(gfit.levels) - 1))
        if level > 0:
            shift[:, level - 1] = 1.0
        x = np.hstack([basis, shift])
        mean = x @ gfit.mean + gfit.center
        var = np.einsum("ij,jk,ik->i", x, gfit.cov, x)
        return mean, np.sqrt(np.maximum(var, 0.0))

    def _onset(
        self, ages: np.ndarray, effect: np.ndarray, first: float, last: float
    ) -> tuple[float, str]:
        inside = (ages >= first - 1e-9) & (ages <= last + 1e-9)
        a, e = ages[inside], effect[inside]
        if self.direction == "up":
            hit = e >= self.threshold
        elif self.direction == "down":
            hit = e <= -self.threshold
        else:
            hit = np.abs(e) >= self.threshold
        if not hit.any():
            return float("nan"), "right"
        j = int(np.argmax(hit))
        if j == 0:
            return float(a[0]), "left"
        # linear interpolation of the crossing between grid points
        target = np.sign(e[j]) * self.threshold
        frac = (target - e[j - 1]) / (e[j] - e[j - 1]) if e[j] != e[j - 1] else 1.0
        return float(a[j - 1] + np.clip(frac, 0.0, 1.0) * (a[j] - a[j - 1])), "none"

    def _covariate_columns(self, g: _GroupFit) -> dict[str, list[Any]]:
        """The covariate values of a group's rows."""
        code = np.where(g.shift.any(axis=1), g.shift.argmax(axis=1) + 1, 0) if g.shift.size else 0
        code = np.broadcast_to(code, g.y.shape)
        return {c: [g.levels[i][j] for i in code] for j, c in enumerate(self.covariates_)}

    def _effect_scale(self, gfit: _GroupFit, cfit: _GroupFit) -> float:
        """Cohen's d unit: the pooled residual SD of the group and its control."""
        if self.effect != "standardized":
            return 1.0
        return float(np.sqrt(0.5 * (gfit.sigma_unit**2 + cfit.sigma_unit**2)))

    def _summarise(self) -> None:
        if self.effect not in ("standardized", "difference"):
            raise InputError(f"effect={self.effect!r}; use 'standardized' or 'difference'.")
        z = stats.norm.ppf(0.5 + self.level / 2)
        z50 = stats.norm.ppf(0.75)
        rng = np.random.default_rng(self.random_state)
        curve_rows, effect_rows, onset_rows = [], [], []
        for skey, sfit in self._fits.items():
            sdict = dict(zip(self.strata_, skey, strict=True))
            all_age = np.concatenate([g.age for g in sfit.groups.values()])
            grid = np.arange(all_age.min(), self.horizon_ + 1e-9, self.grid_step)
            first, last = float(all_age.min()), float(all_age.max())
            for gkey, gfit in sfit.groups.items():
                gdict = dict(zip(self.group_, gkey, strict=True))
                mean, sd = self._curve(gfit, grid)
                curve_rows.append(
                    pd.DataFrame(
                        {
                            **sdict,
                            **gdict,
                            "age": grid,
                            "mean": mean,
                            "lower": mean - z * sd,
                            "upper": mean + z * sd,
                            "lower50": mean - z50 * sd,
                            "upper50": mean + z50 * sd,
                            "observed": grid <= last + 1e-9,
                            "scale": sfit.scale,
                        }
                    )
                )
                ckey = self._control_key(gkey)
                if ckey is None:
                    continue
                base = {**sdict, **gdict, "threshold": self.threshold, "effect": self.effect}
                cfit = sfit.groups.get(ckey)
                if cfit is None:
                    onset_rows.append(
                        {
                            **base,
                            "onset_age": np.nan,
                            "lower": np.nan,
                            "upper": np.nan,
                            "censoring": "",
                            "status": "control missing for this measure",
                        }
                    )
                    continue
                # the control at the group's (reference) covariate value where it has it
                c_level = cfit.levels.index(gfit.levels[0]) if gfit.levels[0] in cfit.levels else 0
                cmean, csd = self._curve(cfit, grid, c_level)
                unit = self._effect_scale(gfit, cfit)
                diff = mean - cmean
                dsd = np.sqrt(sd**2 + csd**2)
                effect_rows.append(
                    pd.DataFrame(
                        {
                            **sdict,
                            **gdict,
                            "age": grid,
                            "difference": diff,
                            "difference_lower": diff - z * dsd,
                            "difference_upper": diff + z * dsd,
                            "effect_size": diff / unit,
                            "effect_lower": (diff - z * dsd) / unit,
                            "effect_upper": (diff + z * dsd) / unit,
                        }
                    )
                )
                g_first = max(first, float(min(gfit.age.min(), cfit.age.min())))
                g_last = float(min(gfit.age.max(), cfit.age.max()))
                onset, censoring = self._onset(grid, diff / unit, g_first, g_last)
                boots = self._bootstrap_onsets(gfit, cfit, c_level, grid, g_first, g_last, rng)
                lo, hi = _censored_percentiles(boots, self.level, g_first, g_last)
                onset_rows.append(
                    {
                        **base,
                        "onset_age": onset,
                        "lower": lo,
                        "upper": hi,
                        "censoring": censoring,
                        "status": "ok",
                    }
                )
        self.analysis_data_ = pd.concat(
            [
                pd.DataFrame(
                    {
                        **dict(zip(self.strata_, skey, strict=True)),
                        **dict(zip(self.group_, gkey, strict=True)),
                        **self._covariate_columns(g),
                        "animal": g.animal,
                        "age": g.age,
                        "y": g.y,
                        "weight": g.weight,
                    }
                )
                for skey, sfit in self._fits.items()
                for gkey, g in sfit.groups.items()
            ],
            ignore_index=True,
        )
        self.curves_ = pd.concat(curve_rows, ignore_index=True)
        self.effects_ = pd.concat(effect_rows, ignore_index=True) if effect_rows else pd.DataFrame()
        self.onsets_ = pd.DataFrame(onset_rows)
        # every group has its own variances (variances_); hyper_ keeps one row per stratum,
        # with the stratum's analysis scale and the median of its groups' variances
        self.variances_ = pd.DataFrame(
            [
                {
                    **dict(zip(self.strata_, k, strict=True)),
                    **dict(zip(self.group_, gkey, strict=True)),
                    "sigma_e": g.sigma_unit,
                    "sigma_rw": g.sigma_rw,
                    "sigma_trend": g.sigma_trend,
                    "sigma_cohort": g.sigma_cohort,
                    "n_animals": len(np.unique(g.animal)),
                }
                for k, f in self._fits.items()
                for gkey, g in f.groups.items()
            ]
        )
        sigmas = ["sigma_e", "sigma_rw", "sigma_trend", "sigma_cohort"]
        medians = self.variances_.groupby(self.strata_, sort=False)[sigmas].median()
        self.hyper_ = pd.DataFrame(
            [
                {
                    **dict(zip(self.strata_, k, strict=True)),
                    "scale": f.scale,
                    "offset": f.offset,
                    **medians.loc[k if len(k) > 1 else k[0]].to_dict(),
                    "n_groups": len(f.groups),
                }
                for k, f in self._fits.items()
            ]
        )

    def _bootstrap_onsets(
        self,
        gfit: _GroupFit,
        cfit: _GroupFit,
        c_level: int,
        grid: np.ndarray,
        first: float,
        last: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Onset ages refitted on animals resampled within group (variances held fixed)."""
        if self.n_boot <= 0:
            return np.empty(0)
        grid_basis = bspline_basis(grid, self.knots_)
        n_basis = grid_basis.shape[1]
        unit = self._effect_scale(gfit, cfit)
        curves = []
        for g, level in ((gfit, 0), (cfit, c_level)):
            # Row multiplicities of every replicate, so that all replicates are solved as
            # one batch of normal equations.
            counts = _bootstrap_counts(g.animal, g.age, self.n_boot, rng)
            cw = counts * g.weight[None, :]
            center = (cw @ g.y) / cw.sum(axis=1)
            yc = g.y[None, :] - center[:, None]
            lhs = g.prior[None] + np.einsum("bn,ni,nj->bij", cw, g.design, g.design) / (
                g.sigma_e**2
            )
            rhs = np.einsum("bn,ni->bi", cw * yc, g.design) / g.sigma_e**2
            coef = np.linalg.solve(lhs, rhs[..., None])[..., 0]
            shift = coef[:, n_basis + level - 1] if level > 0 else np.zeros(len(coef))
            curves.append(coef[:, :n_basis] @ grid_basis.T + (center + shift)[:, None])
        effect = (curves[0] - curves[1]) / unit
        out = np.array([self._onset(grid, e, first, last)[0] for e in effect])
        return out

    # ------------------------------------------------------------------ prediction
    def predict(
        self,
        ages: Sequence[float] | np.ndarray,
        *,
        group: Sequence[Any] | None = None,
        stratum: Sequence[Any] | None = None,
        n_animals: int | None = None,
        level: float | Sequence[float] | None = None,
        covariates: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Forecast group means at ``ages`` with intervals, in the forecast-table columns.

        Parameters
        ----------
        ages
            Ages in months, up to ``horizon_``.
        group, stratum
            Restrict to one group / stratum (tuples in the order of ``group_`` / ``strata_``).
        n_animals
            When given, the interval is for the observed mean of ``n_animals`` new animals
            of a new cohort (curve uncertainty, the cohort's offset and sampling noise);
            otherwise for the curve itself.
        level
            Interval probability, or several (default the model's ``level``).
        covariates
            With ``fit(covariates=...)``: the covariate values to forecast at, e.g.
            ``{"model_group": "5xFAD"}``; default every value the group was observed with.

        Returns
        -------
        DataFrame with stratum, group (and covariate) columns, ``age``, ``point`` and
        ``lower_<level>`` / ``upper_<level>`` on the data's scale
        (:mod:`translocus.core.intervals`; on the log scale the point is the
        back-transformed mean, a geometric mean), the analysis-scale ``mean_analysis``,
        ``sd_analysis`` and ``scale`` (``"log"``: ``log(value + offset)``), and
        ``interval_scale``, the calibration factor the SDs were multiplied by (see
        ``calibration_``; the table's ``attrs["calibration"]`` states the procedure).
        """
        check_fitted(self)
        ages_arr = np.asarray(ages, dtype=float)
        if np.any(ages_arr > self.horizon_ + 1e-9):
            raise InputError(
                f"ages up to {self.horizon_:g} months can be forecast; refit with a larger horizon."
            )
        levels = as_levels(self.level if level is None else level)
        wanted = None
        if covariates is not None:
            unknown = sorted(set(covariates) - set(self.covariates_))
            if unknown:
                raise InputError(
                    f"covariates: {', '.join(unknown)} not fitted; the model's covariates are "
                    f"{', '.join(self.covariates_) or 'none'} (fit(covariates=...))."
                )
            wanted = dict(covariates)
        rows = []
        for skey, sfit in self._fits.items():
            if stratum is not None and tuple(stratum) != skey:
                continue
            for gkey, gfit in sfit.groups.items():
                if group is not None and tuple(group) != gkey:
                    continue
                for index, values in enumerate(gfit.levels):
                    named = dict(zip(self.covariates_, values, strict=True))
                    if wanted is not None and any(
                        str(named[c]) != str(v) for c, v in wanted.items()
                    ):
                        continue
                    mean, sd = self._forecast(gfit, ages_arr, index, n_animals)
                    sd = sd * self.interval_scale_
                    out = {
                        **dict(zip(self.strata_, skey, strict=True)),
                        **dict(zip(self.group_, gkey, strict=True)),
                        **named,
                        "age": ages_arr,
                        POINT: self._to_data(mean, sfit),
                    }
                    for lev in levels:
                        lo, hi = interval_columns(lev)
                        z = normal_quantile(lev)
                        out[lo] = self._to_data(mean - z * sd, sfit)
                        out[hi] = self._to_data(mean + z * sd, sfit)
                    out.update(
                        {
                            "mean_analysis": mean,
                            "sd_analysis": sd,
                            "scale": sfit.scale,
                            "interval_scale": self.interval_scale_,
                        }
                    )
                    rows.append(pd.DataFrame(out))
        if not rows:
            raise InputError(
                f"no fitted curve for group={group} stratum={stratum} covariates={covariates}."
            )
        table = pd.concat(rows, ignore_index=True)
        table.attrs["calibration"] = self.calibration_["procedure"]
        return table

    def _forecast(
        self, gfit: _GroupFit, ages: np.ndarray, level: int, n_animals: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uncalibrated forecast mean and SD of a group's curve (analysis scale).

        With ``n_animals``, of the mean of that many new animals of a new cohort.
        """
        mean, sd = self._curve(gfit, ages, level)
        if n_animals is not None:
            sd = np.sqrt(sd**2 + gfit.sigma_cohort**2 + gfit.sigma_unit**2 / n_animals)
        return mean, sd

    @staticmethod
    def _to_data(values: np.ndarray, sfit: Any) -> np.ndarray:
        """Analysis-scale values back on the data's scale (inverse of :meth:`transform`)."""
        if sfit.scale == "linear":
            return np.asarray(values, dtype=float)
        return np.exp(values) - sfit.offset

    def transform(self, values: np.ndarray, stratum: Sequence[Any]) -> np.ndarray:
        """Map raw values of a stratum to the analysis scale used by the fit."""
        check_fitted(self)
        sfit = self._fits[tuple(stratum)]
        values = np.asarray(values, dtype=float)
        if sfit.scale == "linear":
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(values + sfit.offset)
        return np.where(values + sfit.offset > 0, out, np.nan)

    # ------------------------------------------------------------------ reporting
    @property
    def summary(self) -> pd.DataFrame:
        """Onset ages with bootstrap intervals, one row per stratum and non-control group.

        ``attrs["calibration"]`` states how the forecast intervals were calibrated.
        """
        check_fitted(self)
        out = self.onsets_.copy()
        out.attrs["calibration"] = self.calibration_["procedure"]
        return out

    def plot(self, stratum: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        """Curves with bands and onset markers (see :func:`translocus.progression.plot`)."""
        check_fitted(self)
        from translocus.progression.plot import plot_trajectories

        return plot_trajectories(self, stratum=stratum, **kwargs)


def oldest_age_backtest(
    data: MeasureTable | pd.DataFrame,
    *,
    group: Sequence[str] = ("mouse_model", "sex"),
    covariates: Sequence[str] = (),
    min_ages: int = 4,
    model: AgeTrajectoryModel | None = None,
    license: str | None = None,
) -> pd.DataFrame:
    """Forecast every group's mean at its oldest age from its younger ages.

    For every stratum × group (× covariate value) with at least ``min_ages`` ages, the rows
    at its oldest age are held out, ``model`` (default ``AgeTrajectoryModel(n_boot=0)``,
    without a control) is fitted on the rest of the table, and the forecast of the held-out
    group mean is compared with two baselines computed from the same group's younger
    means: carrying the last age's mean forward, and the least-squares line through the
    age means. Everything is on the model's analysis scale, ``log(value + offset)`` with
    the model's ``offset`` (half the smallest positive value of the stratum in the training
    rows; 0 when all values are positive). The held-out mean leaves out zeros the model
    would treat as failed measurements (a zero in a cell whose values are mostly
    positive).

    Returns
    -------
    One row per held-out group mean: stratum, group and covariate columns, ``age`` (the
    oldest age), ``n_animals``, ``offset``, ``observed``, ``forecast``, ``sd`` (calibrated
    forecast SD of the mean of ``n_animals`` animals), ``carry_forward``, ``linear_trend``,
    ``covered_0.9`` and the absolute errors ``error_model``, ``error_carry_forward`` and
    ``error_linear_trend``.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(f"{g}{a}{k}", a, "m", g, "F", np.exp(1 + 0.05 * a + rng.normal(0, 0.1)))
    ...         for g in ("a", "b") for a in (4, 8, 12, 18) for k in range(5)]
    >>> frame = pd.DataFrame(rows, columns=["animal", "age", "measure", "mouse_model", "sex",
    ...                                     "value"])
    >>> table = oldest_age_backtest(frame, license="CC0-1.0")
    >>> len(table), float(table["age"].iloc[0])
    (2, 18.0)
    """
    table = as_table(
        data, MeasureTable, from_frame, license=license, estimator="oldest_age_backtest"
    )
    frame = table.data
    group, covariates = list(group), list(covariates)
    strata = ["measure"] + (["tissue"] if "tissue" in frame.columns else [])
    unit = [*strata, *group, *covariates]
    n_ages = frame.groupby(unit, observed=True)["age"].nunique()
    oldest = frame.groupby(unit, observed=True)["age"].max()
    chosen = oldest[n_ages >= min_ages]
    if chosen.empty:
        raise InputError(
            f"{table.source or table.provenance.name}: no group has {min_ages} or more ages; "
            "lower min_ages."
        )
    template = model if model is not None else AgeTrajectoryModel(n_boot=0)
    rows: list[dict[str, Any]] = []
    key = pd.MultiIndex.from_frame(frame[unit])
    for age in sorted(chosen.unique()):
        held_units = chosen[chosen == age].index
        held = key.isin(held_units) & (frame["age"] == age).to_numpy()
        train = frame[~held]
        fitted = AgeTrajectoryModel(**{**template.get_params(), "horizon": float(age)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted.fit(
                dataclasses.replace(table, data=train),
                group=group,
                control=None,
                covariates=covariates,
            )
        analysis = fitted.analysis_data_
        for ukey in held_units:
            ukey = ukey if isinstance(ukey, tuple) else (ukey,)
            named = dict(zip(unit, ukey, strict=True))
            skey = tuple(named[c] for c in strata)
            if skey not in fitted._fits:
                continue
            sfit = fitted._fits[skey]
            gkey = tuple(named[c] for c in group)
            if gkey not in sfit.groups:
                continue
            cell = frame[held & (key == ukey)]
            values = cell["value"].to_numpy(dtype=float)
            if sfit.scale == "log" and (values <= 0).any() and np.mean(values > 0) > 0.5:
                values = values[values > 0]  # failed measurements, as in the fit
            y = fitted.transform(values, skey)
            y = y[np.isfinite(y)]
            mine = analysis[
                np.logical_and.reduce([(analysis[c] == named[c]).to_numpy() for c in unit])
            ]
            means = mine.groupby("age")["y"].mean()
            if y.size == 0 or len(means) < 2:
                continue
            cov_values = {c: named[c] for c in covariates}
            pred = fitted.predict(
                [float(age)],
                group=gkey,
                stratum=skey,
                n_animals=int(y.size),
                covariates=cov_values or None,
            ).iloc[0]
            slope, intercept = np.polyfit(means.index.to_numpy(dtype=float), means.to_numpy(), 1)
            observed = float(y.mean())
            z = normal_quantile(0.9) * float(pred["sd_analysis"])
            rows.append(
                {
                    **named,
                    "age": float(age),
                    "n_animals": int(y.size),
                    "offset": sfit.offset,
                    "observed": observed,
                    "forecast": float(pred["mean_analysis"]),
                    "sd": float(pred["sd_analysis"]),
                    "carry_forward": float(means.iloc[-1]),
                    "linear_trend": float(intercept + slope * age),
                    "covered_0.9": bool(abs(observed - pred["mean_analysis"]) <= z),
                }
            )
    out = pd.DataFrame(rows)
    for name in ("forecast", "carry_forward", "linear_trend"):
        label = "model" if name == "forecast" else name
        out[f"error_{label}"] = (out[name] - out["observed"]).abs()
    return out


def summarise_backtest(table: pd.DataFrame, by: Sequence[str] = ("measure",)) -> pd.DataFrame:
    """Median absolute errors and 90% coverage of an :func:`oldest_age_backtest` table.

    One row per value of ``by`` and a last row ``"all"``: ``n_groups``, the medians of
    ``error_model``, ``error_carry_forward`` and ``error_linear_trend``, and
    ``coverage_0.9`` (share of held-out means inside the forecast's 90% interval).

    >>> t = pd.DataFrame({"measure": ["a", "a", "b"], "error_model": [0.1, 0.3, 0.2],
    ...                   "error_carry_forward": [0.2, 0.4, 0.1],
    ...                   "error_linear_trend": [0.5, 0.5, 0.5], "covered_0.9": [1, 1, 0]})
    >>> summarise_backtest(t)["error_model"].round(2).tolist()
    [0.2, 0.2, 0.2]
    """
    by = list(by)
    columns = ["error_model", "error_carry_forward", "error_linear_trend"]

    def one(frame: pd.DataFrame) -> dict[str, Any]:
        return {
            "n_groups": len(frame),
            **{c: float(frame[c].median()) for c in columns},
            "coverage_0.9": float(frame["covered_0.9"].mean()),
        }

    rows = [{**dict(zip(by, k if isinstance(k, tuple) else (k,), strict=True)), **one(f)}
            for k, f in table.groupby(by, sort=True)]  # fmt: skip
    rows.append({**dict.fromkeys(by, "all"), **one(table)})
    return pd.DataFrame(rows)


def _hyper_grid(spread: float, trend: bool, cohort: bool) -> np.ndarray:
    """Log-spaced grid of log (sigma_e, sigma_rw, sigma_trend, sigma_cohort).

    ``sigma_trend = 0`` means no trend penalty; the smallest ``sigma_cohort`` is
    effectively no cohort effect.
    """
    sigma_e = spread * np.geomspace(0.02, 2.0, 12)
    sigma_rw = spread * np.geomspace(1e-3, 3.0, 12)
    sigma_trend = spread * np.r_[np.geomspace(1e-4, 1.0, 5), 0.0] if trend else np.array([0.0])
    sigma_cohort = spread * (np.r_[1e-4, np.geomspace(0.01, 1.0, 6)] if cohort else np.r_[1e-4])
    axes = np.meshgrid(sigma_e, sigma_rw, sigma_trend, sigma_cohort, indexing="ij")
    with np.errstate(divide="ignore"):
        return np.log(np.stack([a.ravel() for a in axes], axis=1))


def _prior_precision_batch(
    n_basis: int, spacing: float, sigma_rw: np.ndarray, sigma_trend: np.ndarray, sigma0: float
) -> np.ndarray:
    """:func:`_prior_precision` for many (sigma_rw, sigma_trend) at once, ``[grid, p, p]``."""
    d1 = np.diff(np.eye(n_basis), axis=0)
    d2 = np.diff(np.eye(n_basis), n=2, axis=0)
    q1, q2 = d1.T @ d1 / spacing, d2.T @ d2 / spacing**3
    corner = np.zeros((n_basis, n_basis))
    corner[0, 0] = corner[1, 1] = 1.0 / sigma0**2
    safe = np.where(sigma_trend > 0, sigma_trend, 1.0)
    inv_trend = np.where(sigma_trend > 0, 1.0 / safe**2, 0.0)
    return q1[None] / sigma_rw[:, None, None] ** 2 + q2[None] * inv_trend[:, None, None] + corner


def _group_prior(
    n_basis: int, spacing: float, sigmas: np.ndarray, sigma0: float, n_shift: int, n_cells: int
) -> np.ndarray:
    """Block-diagonal prior precision of (spline coefficients, covariate shifts, cohorts).

    ``sigmas`` is (sigma_e, sigma_rw, sigma_trend, sigma_cohort); shifts get the vague
    prior SD ``sigma0`` of the curve's level.
    """
    q = _prior_precision(n_basis, spacing, float(sigmas[1]), sigma0, float(sigmas[2]))
    size = n_basis + n_shift + n_cells
    out = np.zeros((size, size))
    out[:n_basis, :n_basis] = q
    idx = np.arange(n_basis, n_basis + n_shift)
    out[idx, idx] = 1.0 / sigma0**2
    idx = np.arange(n_basis + n_shift, size)
    out[idx, idx] = 1.0 / float(sigmas[3]) ** 2
    return out


def _cell_loglik(
    age: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    ages_all: np.ndarray,
    prior_cov_ages: np.ndarray,
    s2: np.ndarray,
    c2: np.ndarray,
    shift: np.ndarray | None = None,
    shift_var: float = 0.0,
) -> np.ndarray:
    """Log marginal likelihood of one group for every grid point ``[grid]``.

    Rows are summarised by weighted means per cell (an age, and a covariate level when
    ``shift`` ``[row, level - 1]`` marks the non-reference levels, whose shifts have prior
    variance ``shift_var``); the within-cell part of the likelihood is closed form and the
    cell means are jointly Gaussian.
    """
    yc = y - float(np.average(y, weights=w))
    if shift is None:
        shift = np.zeros((len(y), 0))
    keys = np.c_[age, shift]
    cell_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n_cells = len(cell_keys)
    wsum = np.bincount(inverse, weights=w, minlength=n_cells)
    ybar = np.bincount(inverse, weights=w * yc, minlength=n_cells) / wsum
    ssw = float(np.sum(w * (yc - ybar[inverse]) ** 2))
    idx = np.searchsorted(ages_all, cell_keys[:, 0])
    cov = prior_cov_ages[:, idx[:, None], idx[None, :]].copy()
    z = cell_keys[:, 1:]
    if z.shape[1]:
        cov += shift_var * (z @ z.T)[None]
    diag = np.arange(n_cells)
    cov[:, diag, diag] += c2[:, None] + s2[:, None] / wsum[None, :]
    chol = np.linalg.cholesky(cov)
    half = np.linalg.solve(chol, np.broadcast_to(ybar[:, None], (len(s2), n_cells, 1)))[..., 0]
    log_cells = -0.5 * (
        n_cells * np.log(2 * np.pi)
        + 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        + np.sum(half**2, axis=1)
    )
    within = (
        -0.5 * (len(y) - n_cells) * np.log(2 * np.pi * s2)
        + 0.5 * float(np.sum(np.log(w)))
        - 0.5 * float(np.sum(np.log(wsum)))
        - 0.5 * ssw / s2
    )
    return np.asarray(log_cells + within)


def _bootstrap_counts(
    animal: np.ndarray, age: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """How often each row enters each of ``n_boot`` replicates ``[replicate, row]``.

    Animals are resampled with replacement within each age (the design of a
    cross-sectional study is kept); all rows of a drawn animal enter together.
    """
    codes, first_row, inverse = np.unique(animal, return_index=True, return_inverse=True)
    animal_age = age[first_row]
    draws = np.zeros((n_boot, len(codes)))
    for a in np.unique(animal_age):
        members = np.flatnonzero(animal_age == a)
        picks = rng.integers(0, len(members), (n_boot, len(members)))
        for b in range(n_boot):
            np.add.at(draws[b], members[picks[b]], 1.0)
    return draws[:, inverse]


def _censored_percentiles(
    values: np.ndarray, level: float, first: float, last: float
) -> tuple[float, float]:
    """Percentile interval where "never reached" (NaN) counts as later than ``last``."""
    if values.size == 0:
        return float("nan"), float("nan")
    filled = np.where(np.isnan(values), np.inf, values)
    lo, hi = np.quantile(filled, [0.5 - level / 2, 0.5 + level / 2])
    return float(lo), float(hi) if np.isfinite(hi) else float("nan")
