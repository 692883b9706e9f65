"""Age trajectories for cross-sectional-by-age data (each animal measured once).

For every stratum (a measure, optionally in one tissue) and every group (for example
``mouse_model`` × ``sex``), :class:`AgeTrajectoryModel` fits a smooth mean curve over age,
compares it with the matched control group (same group values, control in the model
column) at every age, and reports the onset age: the first age at which the model departs
from its control by a chosen effect size, with a bootstrap interval over animals.

Model
-----
On the analysis scale (natural log where the measure is positive) an observation of
animal ``i`` in group ``g`` at age ``a`` is ``y = f_g(a) + e``, ``e ~ N(0, sigma_e^2)``.
``f_g`` is a cubic B-spline with equally spaced knots whose coefficients follow a
first-order random walk, ``beta_{j+1} - beta_j ~ N(0, sigma_rw^2 * spacing)`` (a P-spline
with a first-difference penalty). The two variances are shared by the groups of a stratum
and chosen by maximising the marginal likelihood. The first-difference prior shrinks the
curve toward a constant, so beyond the oldest observed age the forecast stays at the
boundary value while its interval widens with distance, the behaviour of a random walk:
pathology in transgenic models plateaus, and a trend extrapolated from three or four ages
is unstable. Observations are down-weighted by Huber weights (k = 1.345), because failed
assays recorded as zeros are common in pathology tables.

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

import warnings
from collections.abc import Sequence
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

__all__ = ["AgeTrajectoryModel", "bspline_basis"]

_HUBER_K = 1.345


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
    mean: np.ndarray  # spline coefficients
    cov: np.ndarray
    center: float
    design: np.ndarray  # [row, basis + age cell]
    prior: np.ndarray  # prior precision of the design's coefficients


@dataclass
class _StratumFit:
    key: tuple[Any, ...]
    scale: str
    offset: float
    sigma_e: float
    sigma_rw: float
    sigma_trend: float
    sigma_cohort: float
    spread: float
    prior: np.ndarray
    groups: dict[tuple[Any, ...], _GroupFit]
    sigma_unit: float  # residual SD of one animal (scale-consistent), the effect-size unit


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
        flat.
    cohort_effects
        Give each group-and-age cell a random offset (``sigma_cohort``): animals of one age
        are one cohort, processed together, and share batch effects that a curve over age
        should not follow.
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
        trend: bool = True,
        cohort_effects: bool = True,
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
        policy: LicensePolicy | None = None,
        license: str | None = None,
    ) -> AgeTrajectoryModel:
        """Fit curves for every stratum and group.

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
        missing = [c for c in group if c not in frame.columns]
        if missing:
            raise InputError(
                f"{source}: group column(s) {', '.join(missing)} not found; columns are "
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
        self._fits: dict[tuple[Any, ...], _StratumFit] = {}
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
        self._summarise()
        return self

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
        offset = 0.5 * float(positive.min()) if positive.size else 1.0
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
                far = cell_median > 10.0 * float(positive.min())
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
        groups: list[tuple[tuple[Any, ...], pd.DataFrame]] = []
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
            groups.append((gkey, gframe))
        if not groups:
            return None
        data = []
        for gkey, gframe in groups:
            age = gframe["age"].to_numpy(dtype=float)
            y = gframe["_y"].to_numpy(dtype=float)
            cells = np.unique(age, return_inverse=True)[1]
            design = np.hstack([bspline_basis(age, self.knots_), np.eye(cells.max() + 1)[cells]])
            data.append((gkey, age, y, gframe["animal"].to_numpy(), design))
        spread = float(np.std(np.concatenate([d[2] for d in data]))) or 1.0
        n_basis = len(self.knots_) + 2
        weights = [np.ones(len(d[2])) for d in data]
        spacing = self.knot_spacing

        # The marginal likelihood is maximised over a log-spaced grid of the four variances,
        # all grid points at once (fast, and free of the local optima a gradient search
        # meets with three or four ages). The data enter through weighted cell means (one
        # cell per group and age), whose covariance is B K B' + sigma_cohort^2 I +
        # diag(sigma_e^2 / W): small matrices, one batch per group.
        grid = _hyper_grid(spread, self.trend, self.cohort_effects)
        sig = np.exp(grid)
        q_all = _prior_precision_batch(n_basis, spacing, sig[:, 1], sig[:, 2], 10.0 * spread)
        ages_all = np.unique(np.concatenate([d[1] for d in data]))
        basis_all = bspline_basis(ages_all, self.knots_)
        k_all = np.linalg.solve(
            q_all, np.broadcast_to(basis_all.T, (len(grid), *basis_all.T.shape))
        )
        prior_cov_ages = np.einsum("ap,mpb->mab", basis_all, k_all)
        s2 = sig[:, 0] ** 2
        theta = grid[0]
        for _ in range(3 if self.robust else 1):
            total = np.zeros(len(grid))
            for i, (_, age, y, _, _) in enumerate(data):
                total += _cell_loglik(
                    age, y, weights[i], ages_all, prior_cov_ages, s2, sig[:, 3] ** 2
                )
            theta = grid[int(np.argmax(total))]
            if not self.robust:
                break
            best = np.exp(theta)
            q = _prior_precision(n_basis, spacing, best[1], 10.0 * spread, float(best[2]))
            for i, (_, _, y, _, design) in enumerate(data):
                q_aug1 = _augment_batch(q[None], design.shape[1] - n_basis, best[3:4])[0]
                center = float(np.average(y, weights=weights[i]))
                mean = _posterior_mean(design, y - center, weights[i], float(best[0]), q_aug1)
                weights[i] = _huber_weights(y - center - design @ mean, float(best[0]))
        best = np.exp(theta)
        sigma_e = float(best[0])
        q = _prior_precision(n_basis, spacing, best[1], 10.0 * spread, float(best[2]))
        # Huber weights shrink the scale: E[min(z^2, k|z|)] = 2 Phi(k) - 1 for normal z, so
        # the residual SD used for effect sizes and predictions is corrected by that factor.
        sigma_unit = (
            sigma_e / np.sqrt(2.0 * stats.norm.cdf(_HUBER_K) - 1.0) if self.robust else sigma_e
        )
        fits: dict[tuple[Any, ...], _GroupFit] = {}
        for (gkey, age, y, animal, design), w in zip(data, weights, strict=True):
            q_aug1 = _augment_batch(q[None], design.shape[1] - n_basis, best[3:4])[0]
            center = float(np.average(y, weights=w))
            mean, cov, _ = _posterior(design, y - center, w, sigma_e, q_aug1)
            fits[gkey] = _GroupFit(
                gkey,
                age,
                y,
                animal,
                w,
                mean[:n_basis],
                cov[:n_basis, :n_basis],
                center,
                design,
                q_aug1,
            )
        return _StratumFit(
            skey,
            scale,
            offset,
            sigma_e,
            float(best[1]),
            float(best[2]),
            float(best[3]),
            spread,
            q,
            fits,
            float(sigma_unit),
        )

    # ------------------------------------------------------------------ results
    def _control_key(self, gkey: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.control_ is None or str(gkey[0]) == str(self.control_):
            return None
        return (self.control_, *gkey[1:])

    def _curve(self, gfit: _GroupFit, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        basis = bspline_basis(ages, self.knots_)
        mean = basis @ gfit.mean + gfit.center
        var = np.einsum("ij,jk,ik->i", basis, gfit.cov, basis)
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

    def _effect_scale(self, sfit: _StratumFit) -> float:
        return sfit.sigma_unit if self.effect == "standardized" else 1.0

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
                cmean, csd = self._curve(cfit, grid)
                unit = self._effect_scale(sfit)
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
                boots = self._bootstrap_onsets(sfit, gfit, cfit, grid, g_first, g_last, rng)
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
        self.hyper_ = pd.DataFrame(
            [
                {
                    **dict(zip(self.strata_, k, strict=True)),
                    "scale": f.scale,
                    "offset": f.offset,
                    "sigma_e": f.sigma_unit,
                    "sigma_rw": f.sigma_rw,
                    "sigma_trend": f.sigma_trend,
                    "sigma_cohort": f.sigma_cohort,
                    "n_groups": len(f.groups),
                }
                for k, f in self._fits.items()
            ]
        )

    def _bootstrap_onsets(
        self,
        sfit: _StratumFit,
        gfit: _GroupFit,
        cfit: _GroupFit,
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
        unit = self._effect_scale(sfit)
        curves = []
        for g in (gfit, cfit):
            # Row multiplicities of every replicate, so that all replicates are solved as
            # one batch of normal equations.
            counts = _bootstrap_counts(g.animal, g.age, self.n_boot, rng)
            cw = counts * g.weight[None, :]
            center = (cw @ g.y) / cw.sum(axis=1)
            yc = g.y[None, :] - center[:, None]
            lhs = g.prior[None] + np.einsum("bn,ni,nj->bij", cw, g.design, g.design) / (
                sfit.sigma_e**2
            )
            rhs = np.einsum("bn,ni->bi", cw * yc, g.design) / sfit.sigma_e**2
            coef = np.linalg.solve(lhs, rhs[..., None])[..., 0]
            curves.append(coef[:, :n_basis] @ grid_basis.T + center[:, None])
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
            (curve uncertainty plus sampling noise); otherwise for the curve itself.
        level
            Interval probability, or several (default the model's ``level``).

        Returns
        -------
        DataFrame with stratum and group columns, ``age``, ``point`` and ``lower_<level>`` /
        ``upper_<level>`` on the data's scale (:mod:`translocus.core.intervals`; on the log
        scale the point is the back-transformed mean, a geometric mean), and the analysis-scale
        ``mean_analysis``, ``sd_analysis`` and ``scale`` (``"log"``: ``log(value + offset)``).
        """
        check_fitted(self)
        ages_arr = np.asarray(ages, dtype=float)
        if np.any(ages_arr > self.horizon_ + 1e-9):
            raise InputError(
                f"ages up to {self.horizon_:g} months can be forecast; refit with a larger horizon."
            )
        levels = as_levels(self.level if level is None else level)
        rows = []
        for skey, sfit in self._fits.items():
            if stratum is not None and tuple(stratum) != skey:
                continue
            for gkey, gfit in sfit.groups.items():
                if group is not None and tuple(group) != gkey:
                    continue
                mean, sd = self._curve(gfit, ages_arr)
                if n_animals is not None:
                    sd = np.sqrt(sd**2 + sfit.sigma_cohort**2 + sfit.sigma_unit**2 / n_animals)
                out = {
                    **dict(zip(self.strata_, skey, strict=True)),
                    **dict(zip(self.group_, gkey, strict=True)),
                    "age": ages_arr,
                    POINT: self._to_data(mean, sfit),
                }
                for lev in levels:
                    lo, hi = interval_columns(lev)
                    z = normal_quantile(lev)
                    out[lo] = self._to_data(mean - z * sd, sfit)
                    out[hi] = self._to_data(mean + z * sd, sfit)
                out.update({"mean_analysis": mean, "sd_analysis": sd, "scale": sfit.scale})
                rows.append(pd.DataFrame(out))
        if not rows:
            raise InputError(f"no fitted curve for group={group} stratum={stratum}.")
        return pd.concat(rows, ignore_index=True)

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
        """Onset ages with bootstrap intervals, one row per stratum and non-control group."""
        check_fitted(self)
        return self.onsets_.copy()

    def plot(self, stratum: Sequence[Any] | None = None, **kwargs: Any) -> Any:
        """Curves with bands and onset markers (see :func:`translocus.progression.plot`)."""
        check_fitted(self)
        from translocus.progression.plot import plot_trajectories

        return plot_trajectories(self, stratum=stratum, **kwargs)


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


def _augment_batch(q_beta: np.ndarray, n_cells: int, sigma_cohort: np.ndarray) -> np.ndarray:
    """Block-diagonal prior precision of (spline coefficients, age-cohort effects)."""
    m, p, _ = q_beta.shape
    out = np.zeros((m, p + n_cells, p + n_cells))
    out[:, :p, :p] = q_beta
    idx = np.arange(p, p + n_cells)
    out[:, idx, idx] = (1.0 / np.broadcast_to(sigma_cohort, (m,)) ** 2)[:, None]
    return out


def _cell_loglik(
    age: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    ages_all: np.ndarray,
    prior_cov_ages: np.ndarray,
    s2: np.ndarray,
    c2: np.ndarray,
) -> np.ndarray:
    """Log marginal likelihood of one group for every grid point ``[grid]``.

    Rows are summarised by weighted means per age cell; the within-cell part of the
    likelihood is closed form and the cell means are jointly Gaussian.
    """
    yc = y - float(np.average(y, weights=w))
    cell_ages, inverse = np.unique(age, return_inverse=True)
    n_cells = len(cell_ages)
    wsum = np.bincount(inverse, weights=w, minlength=n_cells)
    ybar = np.bincount(inverse, weights=w * yc, minlength=n_cells) / wsum
    ssw = float(np.sum(w * (yc - ybar[inverse]) ** 2))
    idx = np.searchsorted(ages_all, cell_ages)
    cov = prior_cov_ages[:, idx[:, None], idx[None, :]].copy()
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
