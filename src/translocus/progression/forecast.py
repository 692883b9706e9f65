"""Forecast evaluation: held-out splits, reference forecasters and interval calibration.

Every progression model forecasts with intervals; this module holds what is needed to
judge those forecasts on the same animals and the same splits:

- :func:`horizon_split` holds animals out by ID and, for each, keeps its visits up to a
  cut-off and asks for its values about ``horizon`` months later;
- :func:`last_value_forecast` (last value carried forward) and :class:`LinearMixedModel`
  (random intercept and slope per animal, one model per measure) are the references;
- :func:`forecast_metrics` reports the mean and median absolute error and the coverage of
  the 50% and 90% intervals.

Examples
--------
>>> import pandas as pd
>>> forecasts = pd.DataFrame({"measure": ["w", "w"], "value": [1.0, 2.0],
...                           "median": [1.5, 2.0], "lower_0.9": [0.0, 1.0],
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
from scipy import optimize, stats

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
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


def _as_levels(level: float | Sequence[float]) -> tuple[float, ...]:
    """One interval probability or several, as a tuple of floats."""
    if np.ndim(level) == 0:
        return (float(level),)  # type: ignore[arg-type]
    return tuple(float(v) for v in level)  # type: ignore[union-attr]


def last_value_forecast(
    history: MeasureTable | pd.DataFrame,
    targets: pd.DataFrame,
    *,
    level: float | Sequence[float] = (0.5, 0.9),
    train: MeasureTable | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Carry each animal's last value of a measure forward.

    Intervals (when ``train`` is given) come from the empirical distribution of log
    ratios (or differences, for non-positive measures) between visits of the training
    animals about as far apart as the requested horizon; there is one central interval
    (``lower_<level>``/``upper_<level>``) per probability in ``level``, a float or a
    sequence of floats.
    """
    hist = history.data if isinstance(history, MeasureTable) else history
    last = hist.sort_values("age").groupby(["animal", "measure"]).tail(1)
    last = last[["animal", "measure", "value", "age"]].rename(
        columns={"value": "median", "age": "last_age_used"}
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
            for lev in _as_levels(level):
                lo_q, hi_q = np.quantile(changes, [0.5 - lev / 2, 0.5 + lev / 2])
                base = rows["median"].to_numpy()
                if positive:
                    lo, hi = base * np.exp(lo_q), base * np.exp(hi_q)
                else:
                    lo, hi = base + lo_q, base + hi_q
                out.loc[rows.index, f"lower_{lev:g}"] = lo
                out.loc[rows.index, f"upper_{lev:g}"] = hi
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

    A quadratic age trend, covariates, and a random intercept and slope per animal, fitted
    by maximum likelihood.

    Values are analysed on the log scale when positive. Forecasts for held-out animals
    use their best linear unbiased predictions (no refitting).

    ``use = "training"``: the fitted trends and variance components forecast other
    animals (:meth:`forecast`), so fitting goes through the licence gate.

    Parameters
    ----------
    scale
        ``"auto"``, ``"log"`` or ``"linear"``.
    level
        Probability of the central forecast intervals, a float or a sequence of floats
        (default 50 % and 90 %); :meth:`forecast` uses it unless given its own ``level``.

    Attributes
    ----------
    params_ : dict
        Per measure: fixed effects ``beta``, random-effect covariance ``D``, residual
        variance ``sigma2`` and the analysis ``scale``.
    converged_ : bool
        Whether the likelihood optimiser converged for every measure (otherwise ``fit``
        warns with :class:`ConvergenceWarning`).
    """

    use = "training"

    def __init__(self, *, scale: str = "auto", level: float | Sequence[float] = (0.5, 0.9)) -> None:
        self.scale = scale
        self.level = level

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
        frame = table.data
        self.measures_ = (
            list(measures) if measures is not None else sorted(frame["measure"].unique())
        )
        self.covariates_ = list(covariates)
        self.levels_ = {c: sorted(map(str, frame[c].unique())) for c in self.covariates_}
        self.age_center_ = float(frame["age"].mean())
        self.params_: dict[str, dict[str, np.ndarray | float | str]] = {}
        not_converged: list[str] = []
        for measure in self.measures_:
            rows = frame[frame["measure"] == measure]
            values = rows["value"].to_numpy(dtype=float)
            scale = self.scale
            if scale == "auto":
                scale = "log" if np.all(values > 0) else "linear"
            y = np.log(values) if scale == "log" else values
            x, z, groups = self._design(rows)
            beta, d, sigma2, success, message = _fit_lmm_checked(y, x, z, groups)
            self.params_[measure] = {"beta": beta, "D": d, "sigma2": sigma2, "scale": scale}
            if not success:
                not_converged.append(f"{measure} ({message.rstrip('.')})")
        self.converged_ = not not_converged
        if not_converged:
            warnings.warn(
                "LinearMixedModel: the Nelder-Mead likelihood optimiser did not converge for "
                f"measure(s) {'; '.join(not_converged)}; their variance components and "
                "forecasts may be off: check those measures for outliers and animals with few "
                "visits, or fit fewer covariates.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _design(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        age = rows["age"].to_numpy(dtype=float) - self.age_center_
        cols = [np.ones_like(age), age, age**2]
        for c in self.covariates_:
            values = rows[c].astype(str).to_numpy()
            for level in self.levels_[c][1:]:
                ind = (values == level).astype(float)
                cols += [ind, ind * age]
        x = np.stack(cols, axis=1)
        z = np.stack([np.ones_like(age), age], axis=1)
        groups = pd.factorize(rows["animal"])[0]
        return x, z, groups

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
        ``level``.
        """
        check_fitted(self)
        levels = _as_levels(self.level if level is None else level)
        hist = history.data if isinstance(history, MeasureTable) else history
        out = targets.reset_index(drop=True).copy()
        out["median"] = np.nan
        for lev in levels:
            out[f"lower_{lev:g}"] = np.nan
            out[f"upper_{lev:g}"] = np.nan
        for measure in self.measures_:
            p = self.params_[measure]
            beta, d, sigma2 = np.asarray(p["beta"]), np.asarray(p["D"]), float(p["sigma2"])
            rows_h = hist[hist["measure"] == measure]
            for animal, rows in out[out["measure"] == measure].groupby("animal"):
                past = rows_h[rows_h["animal"] == animal]
                if past.empty:
                    continue
                x_h, z_h, _ = self._design(past)
                values = past["value"].to_numpy(dtype=float)
                y_h = np.log(values) if p["scale"] == "log" else values
                covs = {c: past[c].iloc[0] for c in self.covariates_}
                x_t, z_t, _ = self._design(rows.assign(animal=animal, **covs))
                v = z_h @ d @ z_h.T + sigma2 * np.eye(len(y_h))
                c = z_t @ d @ z_h.T
                w = np.linalg.solve(v, (y_h - x_h @ beta))
                mean = x_t @ beta + c @ w
                var = (
                    np.diag(z_t @ d @ z_t.T)
                    + sigma2
                    - np.einsum("ij,ij->i", c, np.linalg.solve(v, c.T).T)
                )
                sd = np.sqrt(np.maximum(var, 1e-12))
                back = np.exp if p["scale"] == "log" else (lambda a: a)
                out.loc[rows.index, "median"] = back(mean)
                for lev in levels:
                    z = stats.norm.ppf(0.5 + lev / 2)
                    out.loc[rows.index, f"lower_{lev:g}"] = back(mean - z * sd)
                    out.loc[rows.index, f"upper_{lev:g}"] = back(mean + z * sd)
        return out

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


def _fit_lmm(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """ML fit of ``y = X b + Z u_g + e`` with ``u_g ~ N(0, D)`` (2x2), ``e ~ N(0, s2)``.

    Fixed effects are profiled out by GLS; the three parameters of ``D``'s Cholesky factor
    and ``log s2`` are optimised (groups processed as padded batches).
    """
    beta, d, s2, _, _ = _fit_lmm_checked(y, x, z, groups)
    return beta, d, s2


def _fit_lmm_checked(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float, bool, str]:
    """:func:`_fit_lmm` with whether the optimiser converged and its message."""
    order = np.argsort(groups, kind="stable")
    y, x, z, groups = y[order], x[order], z[order], groups[order]
    sizes = np.bincount(groups)
    n_g, n_max = len(sizes), int(sizes.max())
    pos = np.arange(len(y)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    yb = np.zeros((n_g, n_max))
    xb = np.zeros((n_g, n_max, x.shape[1]))
    zb = np.zeros((n_g, n_max, 2))
    mask = np.zeros((n_g, n_max), dtype=bool)
    yb[groups, pos], xb[groups, pos], zb[groups, pos], mask[groups, pos] = y, x, z, True
    eye = np.eye(n_max)

    def profile(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        low = np.array([[np.exp(theta[0]), 0.0], [theta[1], np.exp(theta[2])]])
        d = low @ low.T
        s2 = float(np.exp(theta[3]))
        v = np.einsum("gnp,pq,gmq->gnm", zb, d, zb) + s2 * eye
        pair = mask[:, :, None] & mask[:, None, :]
        v = np.where(pair, v, 0.0) + np.where(mask, 0.0, 1.0)[:, :, None] * eye
        inv = np.linalg.inv(v)
        vx = np.einsum("gnm,gmp->gnp", inv, xb)
        beta = np.linalg.solve(np.einsum("gnp,gnq->pq", xb, vx), np.einsum("gnp,gn->p", vx, yb))
        r = (yb - np.einsum("gnp,p->gn", xb, beta)) * mask
        _, logdet = np.linalg.slogdet(v)
        nll = 0.5 * (float(np.sum(logdet)) + float(np.einsum("gn,gnm,gm->", r, inv, r)))
        return nll, beta, d, s2

    var = float(np.var(y))
    start = np.array(
        [0.5 * np.log(0.5 * var), 0.0, 0.5 * np.log(0.01 * var + 1e-9), np.log(0.3 * var)]
    )
    res = optimize.minimize(
        lambda t: profile(t)[0],
        start,
        method="Nelder-Mead",
        options={"maxiter": 400, "xatol": 1e-4, "fatol": 1e-6},
    )
    _, beta, d, s2 = profile(res.x)
    return beta, d, s2, bool(res.success), str(res.message)


def forecast_metrics(forecasts: pd.DataFrame, *, by: str = "measure") -> pd.DataFrame:
    """Mean and median absolute error and interval coverage per ``by`` group.

    ``forecasts`` needs ``value`` (observed), ``median`` (forecast) and, when available,
    ``lower_0.5``/``upper_0.5`` and ``lower_0.9``/``upper_0.9``.
    """
    rows = []
    for key, f in forecasts.groupby(by):
        err = np.abs(f["median"] - f["value"])
        row = {by: key, "n": len(f), "mae": float(err.mean()), "median_ae": float(err.median())}
        for lev in (0.5, 0.9):
            lo, hi = f"lower_{lev:g}", f"upper_{lev:g}"
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
        err = np.abs(observed - fc["mean"].to_numpy())
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
