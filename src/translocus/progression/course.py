"""Disease-course model for repeated measures: a shared latent disease age per animal.

Each animal ``i`` has a time shift ``tau_i`` (months; positive = later onset) and a speed
``alpha_i = exp(xi_i)`` that map its age ``t`` to a latent disease age

    psi_i(t) = t0 + alpha_i * (t - t0 - tau_i),

shared by all its measures (as in Leaspy's mixed-effects disease-course models). On the
analysis scale (log for positive measures, standardised per measure) measure ``k`` of
animal ``i`` at visit ``t`` is

    y = f_k(psi_i(t)) + x_i' delta_k + b_ik + c_ik (t - t0) + u_ik(t) + e,

with ``f_k`` a cubic B-spline with a second-difference penalty (the population course),
``x_i`` the animal's group covariates (model, strain, sex, treatment; treatment coding),
``(b_ik, c_ik)`` a correlated random level and slope per animal and measure, ``u_ik`` an
Ornstein-Uhlenbeck drift (covariance ``s_u^2 exp(-|t - t'| / ell)``) that lets an animal
wander from its course and widens forecast intervals with the horizon, and
``e ~ N(0, sigma_k^2)``; all variances are per measure. The covariates move onset and speed inside the model:
``tau_i ~ N(x_i' gamma_tau, sigma_tau^2)`` and ``xi_i ~ N(x_i' gamma_xi, sigma_xi^2)``.

Fitting alternates closed-form and vectorised steps (seconds for thousands of animals):
the per-animal modes of ``(tau_i, xi_i)`` by batched Gauss-Newton with a Laplace
approximation of their posterior, the course coefficients and level effects by
generalised least squares, the variance components by L-BFGS on the Gaussian marginal
likelihood with analytic gradients, and ``gamma``/``sigma`` of the random effects by
their Laplace-EM updates. A new animal is personalised from its first visits without
refitting (:meth:`DiseaseCourseModel.personalize`), and virtual cohorts are drawn from
the fitted model (:meth:`DiseaseCourseModel.simulate`).

Training goes through the licence gate: :meth:`DiseaseCourseModel.fit` refuses data whose
licence the policy does not allow (:func:`~translocus.core.provenance.require_training_allowed`).

Examples
--------
>>> model = DiseaseCourseModel(max_iter=40)
>>> cohort = model.example_cohort(n_animals=40, random_state=1)
>>> fitted = model.fit(cohort, measures=["a", "b"], covariates=["sex"])
>>> fitted.animal_effects_().shape[0]
40
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
from translocus.core.intervals import POINT, as_levels, interval_columns, normal_quantile
from translocus.core.provenance import (
    LicenseDecision,
    LicensePolicy,
    Provenance,
)
from translocus.core.table import as_table, licence_gate
from translocus.core.threads import blas_threads
from translocus.progression._course_numba import (
    covariance_inverse,
    gls_moments,
    loglik_gradient,
    spline_values,
)
from translocus.progression.data import MeasureTable, from_frame
from translocus.progression.forecast import (
    Calibration,
    HorizonSplit,
    calibration_split,
    conformal_factors,
    known_animals,
)

__all__ = ["SELECT_PRIOR_SD", "DiseaseCourseModel"]

#: L-BFGS steps on the covariance parameters per outer iteration: a partial M-step, as
#: the modes and course coefficients move again after it (25 steps change the SLAM forecast
#: errors by under 1 % and take half as long again)
_COVARIANCE_STEPS = 10

#: The fixed prior SDs (onset shift in months, log speed) that ``"select"`` weighs against
#: estimated ones: the choice of :func:`~translocus.progression.forecast.select_by_forecast`
#: on SLAM body composition
SELECT_PRIOR_SD = (0.5, 0.02)

#: Values of ``calibration``: split-conformal factors from held-out animals, or none
CALIBRATIONS = ("split-conformal", "none")


def _spline_values(
    psi: np.ndarray, knots: np.ndarray, coef: np.ndarray, *, derivative: bool
) -> np.ndarray:
    """Uniform cubic spline ``sum_j coef[k, j] B_j(psi)`` (or its derivative) ``[A, K, T]``.

    Same curve as ``trajectory.bspline_basis(psi) @ coef[k]`` (clamped, so constant beyond the
    knots), evaluated from the four non-zero basis functions without building a design.
    """
    step = float(knots[1] - knots[0])
    flat = np.ascontiguousarray(psi, dtype=float).reshape(psi.shape[0], psi.shape[1], -1)
    out = spline_values(flat, float(knots[0]), step, len(knots),
                        np.ascontiguousarray(coef, dtype=float), derivative)  # fmt: skip
    return np.asarray(out).reshape(psi.shape)


def _settled(history: list[float], previous: float, tol: float) -> bool:
    """Whether the objective has stopped moving: its relative change below ``tol``.

    The alternating steps can settle into a small two-step oscillation (with fixed prior
    SDs the modes and the covariance take turns); the mean of the last two objectives
    against the mean of the two before then stands still while single steps do not.
    """
    current = history[-1]
    scale = tol * abs(current)
    if abs(previous - current) < scale:
        return True
    if len(history) >= 4:
        return bool(abs(np.mean(history[-2:]) - np.mean(history[-4:-2])) < scale)
    return False


def _as_sd(value: float | str | None) -> float | None:
    return None if value is None else float(value)


@dataclass
class _Batch:
    """Visits of many animals, per measure, padded ``[animal, measure, visit]``."""

    animals: np.ndarray  # [A] animal ids
    y: np.ndarray  # [A, K, T] standardised analysis-scale values (0 where padded)
    t: np.ndarray  # [A, K, T] ages in months (padded visits repeat the last age)
    mask: np.ndarray  # [A, K, T] True for real observations
    x: np.ndarray  # [A, q] covariate design (no intercept)


class DiseaseCourseModel(Estimator):
    """Latent disease age per animal (time shift and speed) shared by several measures.

    ``use = "training"``: the fitted course, covariance and covariate effects are applied to
    new animals (:meth:`personalize`, :meth:`forecast`, :meth:`simulate`), so fitting goes
    through the licence gate.

    Parameters
    ----------
    scale
        ``"auto"`` (log for measures whose values are all positive), ``"log"`` or
        ``"linear"``.
    n_knots
        Knots of each measure's course over disease age.
    smoothing
        Weight of the second-difference penalty on the course coefficients.
    max_iter
        Most outer iterations of the alternating fit (on SLAM body composition the fit
        reaches ``tol`` in 20 to 40; ``fit`` warns with :class:`ConvergenceWarning` when it
        stops before).
    tol
        Stop when the relative change of the objective is below ``tol``.
    level
        Default interval level of forecasts.
    calibration
        ``"split-conformal"`` (the default) calibrates the forecast intervals on animals held
        out of the training data: a seeded ``calibration_fraction`` of the animals is held out, a model
        fitted on the others forecasts each held-out animal's later visits from its earlier
        ones, and the predictive SD of each measure is scaled by the split-conformal factor
        that makes those ``level`` intervals cover (:attr:`calibration_`); the model is then
        fitted on all animals. ``"none"`` keeps the fitted model's intervals.
    calibration_fraction
        Fraction of the animals held out for calibration (and for choosing ``"select"``
        prior SDs).
    calibration_horizon
        Months past a held-out animal's latest visit that calibration forecasts (as
        :func:`~translocus.progression.forecast.horizon_split`; intervals then cover at that
        distance, where forecasts are asked for); ``None``, or data without visits that far
        apart, forecast all visits after a random cut
        (:func:`~translocus.progression.forecast.calibration_split`).
    latent_time
        Estimate the per-animal time shift and speed; ``False`` fixes them at their group
        means (a mixed model over age with the same course and covariance, for ablation).
    random_slope
        Give each animal and measure a random slope over age (besides its random level);
        ``False`` leaves individual rates to the speed of the latent disease age.
    onset_sd, speed_sd
        Prior SD across animals of the time shift (months) and of the log speed, i.e. how
        far an animal's course may move from its group's. ``None`` estimates them by
        Laplace-EM; a number fixes them (stronger shrinkage of per-animal estimates, chosen
        for example by :func:`translocus.progression.forecast.select_by_forecast`).
        ``"select"`` (the default) chooses between estimating them and the fixed
        :data:`SELECT_PRIOR_SD` (0.5 months, 0.02) by the error of the held-out animals'
        forecasts (:attr:`prior_sd_`); estimated SDs fit each animal's history closely, and
        on SLAM the fixed ones forecast body composition 15-20 % better.
    random_state
        Seed of the calibration split and of :meth:`simulate` (fitting is otherwise
        deterministic).

    Attributes
    ----------
    converged_ : bool
        Whether the relative change of the objective fell below ``tol`` within ``max_iter``
        outer iterations (otherwise ``fit`` warns with :class:`ConvergenceWarning`).
    n_iter_, history_ :
        Outer iterations run and the objective after each.
    units_ : dict
        The units of the fitted table's columns (``{"age": "month"}``); forecasts use them.
    interval_scale_ : numpy.ndarray
        Factor on the forecast SD per measure (order of ``measures_``).
    calibration_ : Calibration
        How the intervals were calibrated (method, factors, held-out animals); stated in
        :attr:`summary` and carried in every forecast table (``calibration``,
        ``interval_scale``, ``calibration_animals``).
    prior_sd_ : dict
        The prior SDs used (``onset_sd``, ``speed_sd``: a number, or ``None`` when
        estimated) and how they were set (``"given"`` or ``"selected"``).
    selection_ : pandas.DataFrame
        With ``"select"``: each candidate's mean absolute standardised error on the
        held-out animals.
    """

    use = "training"

    def __init__(
        self,
        *,
        scale: str = "auto",
        n_knots: int = 10,
        smoothing: float = 1.0,
        max_iter: int = 60,
        tol: float = 1e-4,
        level: float = 0.9,
        latent_time: bool = True,
        random_slope: bool = True,
        onset_sd: float | str | None = "select",
        speed_sd: float | str | None = "select",
        calibration: str = "split-conformal",
        calibration_fraction: float = 0.2,
        calibration_horizon: float | None = 6.0,
        random_state: int = 0,
    ) -> None:
        self.scale = scale
        self.onset_sd = onset_sd
        self.speed_sd = speed_sd
        self.latent_time = latent_time
        self.random_slope = random_slope
        self.n_knots = n_knots
        self.smoothing = smoothing
        self.max_iter = max_iter
        self.tol = tol
        self.level = level
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.calibration_horizon = calibration_horizon
        self.random_state = random_state

    # ------------------------------------------------------------------ data
    def _prepare(self, table: MeasureTable, *, training: bool) -> tuple[_Batch, pd.DataFrame]:
        frame = table.data
        source = table.source or table.provenance.name
        frame = frame[frame["measure"].isin(self.measures_)].copy()
        if frame.empty:
            raise InputError(
                f"{source}, column 'measure': none of {', '.join(self.measures_)} found."
            )
        missing = [c for c in self.covariates_ if c not in frame.columns]
        if missing:
            raise InputError(
                f"{source}: covariate column(s) {', '.join(missing)} not found; columns are "
                f"{', '.join(map(str, frame.columns))}."
            )
        dup = frame.duplicated(["animal", "age", "measure"])
        if dup.any():
            raise InputError(
                f"{source}: {int(dup.sum())} duplicated visits (same animal, age and measure); "
                "read the table with duplicates='mean' or remove them."
            )
        y = np.empty(len(frame))
        for k, measure in enumerate(self.measures_):
            sel = (frame["measure"] == measure).to_numpy()
            values = frame.loc[sel, "value"].to_numpy(dtype=float)
            if training:
                scale = self.scale
                if scale == "auto":
                    scale = "log" if np.all(values > 0) else "linear"
                if scale not in ("log", "linear"):
                    raise InputError(f"scale={self.scale!r}; use 'auto', 'log' or 'linear'.")
                self.scales_[measure] = scale
            if self.scales_[measure] == "log":
                if np.any(values <= 0):
                    bad = int(np.sum(values <= 0))
                    raise InputError(
                        f"{source}, column 'value': {bad} values of {measure!r} are zero or "
                        "negative and cannot be log-transformed; use scale='linear' or remove "
                        "them."
                    )
                values = np.log(values)
            if training:
                self.center_[k] = float(np.mean(values))
                self.spread_[k] = float(np.std(values)) or 1.0
            y[sel] = (values - self.center_[k]) / self.spread_[k]
        frame["_y"] = y
        frame["_m"] = frame["measure"].map({m: i for i, m in enumerate(self.measures_)})
        frame = frame.sort_values(["animal", "_m", "age"])
        animals_frame = frame.groupby("animal", sort=True).first()
        x = self._design(animals_frame, source, training=training)
        a_idx = pd.Index(animals_frame.index).get_indexer(frame["animal"])
        m_idx = frame["_m"].to_numpy()
        n_animals, k = len(animals_frame), len(self.measures_)
        cell = a_idx * k + m_idx
        sizes = np.bincount(cell, minlength=n_animals * k)
        starts = np.cumsum(sizes) - sizes
        pos = np.arange(len(frame)) - starts[cell]
        t_max = max(int(sizes.max()), 1)
        batch = _Batch(
            animals=animals_frame.index.to_numpy(),
            y=np.zeros((n_animals, k, t_max)),
            t=np.zeros((n_animals, k, t_max)),
            mask=np.zeros((n_animals, k, t_max), dtype=bool),
            x=x,
        )
        batch.y[a_idx, m_idx, pos] = frame["_y"].to_numpy()
        batch.t[a_idx, m_idx, pos] = frame["age"].to_numpy(dtype=float)
        batch.mask[a_idx, m_idx, pos] = True
        # padded visits repeat the last real age of the animal so differences stay finite
        last_age = frame.groupby("animal", sort=True)["age"].max().to_numpy()
        batch.t = np.where(batch.mask, batch.t, last_age[:, None, None])
        return batch, animals_frame

    def _design(self, animals: pd.DataFrame, source: str, *, training: bool) -> np.ndarray:
        if training:
            self.levels_: dict[str, list[str]] = {}
            for column in self.covariates_:
                values = sorted(map(str, animals[column].dropna().unique()))
                if len(values) < 2:
                    raise InputError(
                        f"{source}, column {column!r}: one value only ({values}); a covariate "
                        "needs at least two groups, drop it from covariates."
                    )
                self.levels_[column] = values
        columns = []
        names = []
        for column in self.covariates_:
            values = animals[column].astype(str).to_numpy()
            unknown = sorted(set(values) - set(self.levels_[column]))
            if unknown:
                raise InputError(
                    f"{source}, column {column!r}: value(s) {', '.join(unknown)} were not seen "
                    f"in training ({', '.join(self.levels_[column])})."
                )
            for level in self.levels_[column][1:]:
                columns.append((values == level).astype(float))
                names.append(f"{column}={level}")
        if training:
            self.covariate_names_ = names
        if not columns:
            return np.zeros((len(animals), 0))
        return np.stack(columns, axis=1)

    # ------------------------------------------------------------------ covariance
    def _unpack(self, params: np.ndarray) -> dict[str, np.ndarray]:
        """Per-measure variance components from the unconstrained parameters.

        Rows of ``params.reshape(6, K)``: log l11, l21, log l22 (Cholesky factor of the
        intercept/slope covariance), log drift SD, log noise SD, log drift time scale.
        """
        k = len(self.measures_)
        p = params.reshape(6, k)
        l11, l21, l22 = np.exp(p[0]), p[1], np.exp(p[2])
        return {
            "l11": l11,
            "l21": l21,
            "l22": l22,
            "sb2": l11**2,
            "cbs": l11 * l21,
            "ss2": l21**2 + l22**2,
            "su2": np.exp(2 * p[3]),
            "se2": np.exp(2 * p[4]),
            "ell": np.exp(p[5]),
        }

    def _block(
        self, v: dict[str, np.ndarray], k: np.ndarray, t1: np.ndarray, t2: np.ndarray
    ) -> np.ndarray:
        """Covariance of animal deviations of measure(s) ``k`` at ages t1 and t2 (no noise)."""
        s1, s2 = t1 - self.t0_, t2 - self.t0_
        return np.asarray(
            v["sb2"][k]
            + v["cbs"][k] * (s1 + s2)
            + v["ss2"][k] * s1 * s2
            + v["su2"][k] * np.exp(-np.abs(t1 - t2) / v["ell"][k])
        )

    def _covariance(self, batch: _Batch, params: np.ndarray) -> np.ndarray:
        """Residual covariance ``[A, K, T, T]`` (unit diagonal at padded visits)."""
        v = self._unpack(params)
        kk = np.arange(len(self.measures_))[None, :, None, None]
        cov = self._block(v, kk, batch.t[..., :, None], batch.t[..., None, :])
        t_max = batch.t.shape[2]
        idx = np.arange(t_max)
        cov[..., idx, idx] += v["se2"][None, :, None]
        pair = batch.mask[..., :, None] & batch.mask[..., None, :]
        cov = np.where(pair, cov, 0.0)
        cov[..., idx, idx] = np.where(batch.mask, cov[..., idx, idx], 1.0)
        return np.asarray(cov)

    def _inverse(self, batch: _Batch, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse ``[A, K, T, T]`` and log-determinant ``[A, K]`` of the residual covariance."""
        v = self._unpack(params)
        inv, logdet = covariance_inverse(
            batch.t,
            batch.mask,
            self.t0_,
            v["sb2"],
            v["cbs"],
            v["ss2"],
            v["su2"],
            v["se2"],
            v["ell"],
        )
        return np.asarray(inv), np.asarray(logdet)

    def _neg_loglik_and_grad(
        self,
        params: np.ndarray,
        batch: _Batch,
        resid: np.ndarray,
        jac: np.ndarray | None = None,
        prior_prec: np.ndarray | None = None,
    ) -> tuple[float, np.ndarray]:
        """Negative Laplace log marginal likelihood and its analytic gradient.

        With ``jac`` (d mean / d (tau, xi) at the animals' modes) the term
        ``-1/2 log |J' V^-1 J + P^-1|`` integrates each animal's (tau, xi) out; without it
        (no latent time) this is the Gaussian likelihood of the residuals. Omitting the
        term would fit the variances to residuals that the modes have already shrunk,
        and the forecast intervals would be too narrow.
        """
        v = self._unpack(params)
        k_meas = len(self.measures_)
        laplace = jac is not None and prior_prec is not None
        chunk_loglik, chunk_grad = loglik_gradient(
            batch.t,
            batch.mask,
            resid,
            jac if jac is not None else np.zeros((*batch.t.shape, 2)),
            prior_prec if prior_prec is not None else np.ones(2),
            laplace,
            self.t0_,
            v["sb2"],
            v["cbs"],
            v["ss2"],
            v["su2"],
            v["se2"],
            v["ell"],
        )
        # summed here, in a fixed order: the same rounding with any number of threads
        loglik = float(np.sum(chunk_loglik))
        g_j, g_s, g_p, g_u, g_e, g_ell = np.sum(chunk_grad, axis=0)
        l11, l21, l22 = v["l11"], v["l21"], v["l22"]
        grad = np.concatenate(
            [
                (2 * l11 * g_j + l21 * g_s) * l11,
                l11 * g_s + 2 * l21 * g_p,
                2 * l22 * g_p * l22,
                g_u * 2 * v["su2"],
                g_e * 2 * v["se2"],
                g_ell * v["ell"],
            ]
        )
        if not self.random_slope:
            grad[k_meas : 3 * k_meas] = 0.0
        return -loglik, -grad

    # ------------------------------------------------------------------ course
    def _psi(self, t: np.ndarray, tau: np.ndarray, xi: np.ndarray) -> np.ndarray:
        shape = (-1,) + (1,) * (t.ndim - 1)
        return np.asarray(
            self.t0_ + np.exp(xi).reshape(shape) * (t - self.t0_ - tau.reshape(shape))
        )

    def _mean(
        self, batch: _Batch, tau: np.ndarray, xi: np.ndarray, beta: np.ndarray | None = None
    ) -> np.ndarray:
        """Course plus covariate effects at every visit ``[A, K, T]`` (0 where masked)."""
        coef = self.beta_ if beta is None else beta  # [K, P]
        nb = self.n_knots + 2
        psi = self._psi(batch.t, tau, xi)
        value = _spline_values(psi, self.knots_, coef[:, :nb], derivative=False)
        if batch.x.shape[1]:
            value = value + (batch.x @ coef[:, nb:].T)[:, :, None]
        return np.asarray(value * batch.mask)

    def _slope(self, batch: _Batch, tau: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Derivative ``d f_k / d psi`` of the spline at every visit ``[A, K, T]``."""
        psi = self._psi(batch.t, tau, xi)
        nb = self.n_knots + 2
        return _spline_values(psi, self.knots_, self.beta_[:, :nb], derivative=True)

    def _jacobian(self, batch: _Batch, tau: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Derivative ``d mean / d (tau, xi)`` at every visit ``[A, K, T, 2]``."""
        slope = self._slope(batch, tau, xi) * batch.mask
        alpha = np.exp(xi)[:, None, None]
        # psi = t0 + alpha (t - t0 - tau): d psi/d tau = -alpha, d psi/d xi = psi - t0
        j_tau = -slope * alpha
        j_xi = slope * alpha * (batch.t - self.t0_ - tau[:, None, None])
        return np.stack([j_tau, j_xi], axis=3)

    def _modes(
        self,
        batch: _Batch,
        inv: np.ndarray,
        tau: np.ndarray,
        xi: np.ndarray,
        n_steps: int = 8,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior modes of (tau, xi) per animal and their Laplace covariances [A, 2, 2]."""
        mu_tau = batch.x @ self.gamma_tau_
        mu_xi = batch.x @ self.gamma_xi_
        prec = np.array([1.0 / self.sigma_tau_**2, 1.0 / self.sigma_xi_**2])
        limit = 0.5 * (self.knots_[-1] - self.knots_[0])

        def objective(tau_: np.ndarray, xi_: np.ndarray) -> np.ndarray:
            r = (batch.y - self._mean(batch, tau_, xi_)) * batch.mask
            quad = np.sum((inv @ r[..., None])[..., 0] * r, axis=(1, 2))
            return np.asarray(
                0.5 * quad
                + 0.5 * prec[0] * (tau_ - mu_tau) ** 2
                + 0.5 * prec[1] * (xi_ - mu_xi) ** 2
            )

        current = objective(tau, xi)
        hess = np.zeros((len(tau), 2, 2))
        damping = np.full(len(tau), 1e-3)
        if not self.latent_time:
            # no per-animal time: the animal sits at its group mean, without uncertainty
            return mu_tau, mu_xi, np.zeros((len(tau), 2, 2))
        for _ in range(n_steps):
            r = (batch.y - self._mean(batch, tau, xi)) * batch.mask
            jac = self._jacobian(batch, tau, xi)
            vj = inv @ jac
            hess = np.einsum("aknp,aknq->apq", jac, vj, optimize=True)
            hess[:, 0, 0] += prec[0]
            hess[:, 1, 1] += prec[1]
            grad = -np.einsum("aknp,akn->ap", vj, r, optimize=True)
            grad[:, 0] += prec[0] * (tau - mu_tau)
            grad[:, 1] += prec[1] * (xi - mu_xi)
            scale = np.trace(hess, axis1=1, axis2=2)[:, None, None]
            lhs = hess + damping[:, None, None] * scale * np.eye(2)
            step = np.linalg.solve(lhs, grad[..., None])[..., 0]
            step[:, 0] = np.clip(step[:, 0], -limit, limit)
            step[:, 1] = np.clip(step[:, 1], -0.5, 0.5)
            new_tau, new_xi = tau - step[:, 0], xi - step[:, 1]
            new = objective(new_tau, new_xi)
            better = new <= current
            tau = np.where(better, new_tau, tau)
            xi = np.where(better, new_xi, xi)
            current = np.where(better, new, current)
            damping = np.where(better, damping * 0.3, damping * 10.0)
            if np.all(better) and np.abs(step).max() < 1e-8:
                break  # every animal at its mode
        return tau, xi, np.linalg.inv(hess)

    def _gls(self, batch: _Batch, inv: np.ndarray, tau: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """Course and covariate coefficients ``[K, P]``: one penalised GLS per measure."""
        psi = self._psi(batch.t, tau, xi)
        step = float(self.knots_[1] - self.knots_[0])
        lhs, rhs = gls_moments(psi, batch.mask, batch.y, np.ascontiguousarray(inv),
                               np.ascontiguousarray(batch.x, dtype=float),
                               float(self.knots_[0]), step, len(self.knots_))  # fmt: skip
        lhs = lhs + self._penalty[None]
        return np.asarray(np.linalg.solve(lhs, rhs[..., None])[..., 0])

    # ------------------------------------------------------------------ fitting
    @blas_threads(1)
    def fit(
        self,
        data: MeasureTable | pd.DataFrame,
        *,
        measures: Sequence[str] | None = None,
        covariates: Sequence[str] = (),
        policy: LicensePolicy | None = None,
        license: str | None = None,
    ) -> DiseaseCourseModel:
        """Fit the model to repeated measures of many animals.

        Parameters
        ----------
        data
            Long table (``animal``, ``age`` in months, ``measure``, ``value`` and the
            covariate columns); a :class:`~translocus.progression.data.MeasureTable` keeps
            its licence, a plain frame is read by
            :func:`~translocus.progression.data.from_frame` with ``license``.
        measures
            Measures modelled jointly (default: all in the table).
        covariates
            Columns whose groups shift onset, speed and level (``strain``, ``sex``, ...).
        policy
            Licence policy for the training gate (default: open licences only).
        license
            SPDX licence of a plain ``data`` frame (``"MIT"``). Fitting is training
            (``use = "training"``): a frame without a licence the policy allows is refused
            with :class:`~translocus.core.provenance.LicenseRefusedError`.
        """
        table = as_table(
            data, MeasureTable, from_frame, license=license, estimator="DiseaseCourseModel.fit"
        )
        self.licence_decision_: LicenseDecision = licence_gate(
            table.provenance,
            policy,
            use=self.use,
            purpose="training a disease-course model",
            estimator="DiseaseCourseModel.fit",
        )
        self._check_options()
        candidates = self._prior_candidates()
        split = None
        if self.calibration != "none" or len(candidates) > 1:
            split = calibration_split(
                table,
                fraction=self.calibration_fraction,
                horizon=self.calibration_horizon,
                random_state=self.random_state,
            )
        chosen, calibration, selection, start = candidates[0], None, None, None
        if split is not None:
            chosen, calibration, selection, start = self._held_out(
                split, candidates, measures, covariates
            )
        # the held-out fit of the chosen prior SDs starts the fit on all animals: on SLAM it
        # then converges in 10 iterations instead of 22, to the same forecasts
        self._fit_table(table, measures, covariates, chosen, start=start)
        given = len(candidates) == 1
        self.prior_sd_ = {
            "onset_sd": chosen[0],
            "speed_sd": chosen[1],
            "set_by": "given" if given else ("selected" if selection is not None else "default"),
        }
        self.selection_ = selection if selection is not None else pd.DataFrame()
        if self.calibration == "none":
            calibration = Calibration.none(self.measures_)
        elif calibration is None:
            calibration = Calibration.none(self.measures_, "too few animals to hold any out")
        self._set_calibration(calibration)
        return self

    def _check_options(self) -> None:
        for name in ("onset_sd", "speed_sd"):
            value = getattr(self, name)
            if isinstance(value, str) and value != "select":
                raise OptionError(name, value, "use a number, None (estimate it) or 'select'.")
            if value is not None and not isinstance(value, str) and not float(value) > 0:
                raise OptionError(name, value, "must be a positive SD, None or 'select'.")
        if self.calibration not in CALIBRATIONS:
            raise OptionError(
                "calibration", self.calibration, f"use one of {', '.join(CALIBRATIONS)}."
            )
        if not 0.0 < self.calibration_fraction < 1.0:
            raise OptionError(
                "calibration_fraction",
                self.calibration_fraction,
                "must be between 0 and 1 (the fraction of animals held out), e.g. 0.2.",
            )

    def _prior_candidates(self) -> list[tuple[float | None, float | None]]:
        """(onset_sd, speed_sd) pairs to fit: one, or two when either is ``"select"``."""
        onset, speed = self.onset_sd, self.speed_sd
        if onset != "select" and speed != "select":
            return [(_as_sd(onset), _as_sd(speed))]
        fixed_onset = SELECT_PRIOR_SD[0] if onset == "select" else _as_sd(onset)
        fixed_speed = SELECT_PRIOR_SD[1] if speed == "select" else _as_sd(speed)
        estimated = (
            None if onset == "select" else _as_sd(onset),
            None if speed == "select" else _as_sd(speed),
        )
        return [estimated, (fixed_onset, fixed_speed)]

    def _held_out(
        self,
        split: HorizonSplit,
        candidates: list[tuple[float | None, float | None]],
        measures: Sequence[str] | None,
        covariates: Sequence[str],
    ) -> tuple[
        tuple[float | None, float | None],
        Calibration | None,
        pd.DataFrame | None,
        DiseaseCourseModel | None,
    ]:
        """Fit each candidate on the training animals of ``split``; score and calibrate.

        The held-out animals' later visits are forecast from their earlier ones; the
        candidate with the smallest mean absolute standardised error is chosen and its
        forecasts give the split-conformal factors. Each candidate is fitted from scratch
        (started from another's fit, the fixed-SD candidate ends elsewhere and forecasts
        worse). Returns the chosen prior SDs, the calibration, the candidates' scores and the
        chosen candidate's fit.
        """
        rows: list[dict[str, Any]] = []
        fitted: list[tuple[DiseaseCourseModel, pd.DataFrame, np.ndarray]] = []
        for onset, speed in candidates:
            inner = DiseaseCourseModel(
                **{**self.get_params(), "onset_sd": onset, "speed_sd": speed, "calibration": "none"}
            )
            try:
                with warnings.catch_warnings():
                    # the inner fits are a means; convergence is reported for the final fit
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    inner._fit_table(split.train, measures, covariates, (onset, speed))
            except InputError as refused:
                # e.g. a covariate group all of whose animals were held out
                reason = f"the animals left after holding some out cannot be fitted: {refused}"
                return candidates[0], Calibration.none(list(measures or ()), reason), None, None
            history, targets = known_animals(split, inner.measures_, inner.levels_)
            if targets.empty:
                return candidates[0], None, None, None
            fc = inner._forecast_table(history, targets, level=self.level)
            observed = inner.standardise(
                fc["value"].to_numpy(dtype=float), fc["measure"].to_numpy()
            )
            error = np.abs(observed - fc["mean_analysis"].to_numpy())
            rows.append({"onset_sd": onset, "speed_sd": speed, "score": float(np.nanmean(error))})
            fitted.append((inner, fc, observed))
        selection = pd.DataFrame(rows)
        best = int(selection["score"].idxmin())
        inner, fc, observed = fitted[best]
        meas = fc["measure"].map({m: i for i, m in enumerate(inner.measures_)}).to_numpy()
        z = np.abs(observed - fc["mean_analysis"].to_numpy()) / fc["sd_analysis"].to_numpy()
        level = as_levels(self.level)[0]
        scale, counts = conformal_factors(z, meas, inner.measures_, level)
        calibration = Calibration(
            "split-conformal",
            level,
            int(fc["animal"].nunique()),
            scale,
            counts,
            self.random_state,
            split.procedure,
        )
        selected = selection if len(candidates) > 1 else None
        return candidates[best], calibration, selected, inner

    def _set_calibration(self, calibration: Calibration) -> None:
        self.calibration_ = calibration.for_measures(self.measures_)
        self.interval_scale_ = np.array([self.calibration_.scale[m] for m in self.measures_])

    def _fit_table(
        self,
        table: MeasureTable,
        measures: Sequence[str] | None,
        covariates: Sequence[str],
        prior_sd: tuple[float | None, float | None],
        start: DiseaseCourseModel | None = None,
    ) -> None:
        """The alternating fit itself, with the prior SDs ``prior_sd`` (``None``: estimated).

        ``start``, a model fitted with the same options on part of the animals, gives the
        starting values (variance components, random-effect distribution, the animals' time
        shifts and speeds).
        """
        self._onset_fixed, self._speed_fixed = prior_sd
        self.provenance_: Provenance = table.provenance
        self.units_: dict[str, str] = dict(table.units)
        source = table.source or table.provenance.name
        available = sorted(table.data["measure"].unique())
        self.measures_ = list(measures) if measures is not None else available
        unknown = sorted(set(self.measures_) - set(available))
        if unknown:
            raise InputError(
                f"{source}, column 'measure': no measure(s) {', '.join(unknown)}; available: "
                f"{', '.join(available)}."
            )
        self.covariates_ = list(covariates)
        k = len(self.measures_)
        self.scales_: dict[str, str] = {}
        self.center_ = np.zeros(k)
        self.spread_ = np.ones(k)
        batch, animals = self._prepare(table, training=True)
        n_animals = len(batch.animals)
        if n_animals < 3:
            raise InputError(f"{source}: {n_animals} animals; at least 3 are needed.")
        ages = batch.t[batch.mask]
        self.t0_ = float(np.median(ages))
        span = float(ages.max() - ages.min()) or 1.0
        self.knots_ = np.linspace(ages.min() - 0.3 * span, ages.max() + 0.3 * span, self.n_knots)
        nb = self.n_knots + 2
        q = batch.x.shape[1]
        d2 = np.diff(np.eye(nb), n=2, axis=0)
        pen = np.zeros((nb + q, nb + q))
        pen[:nb, :nb] = self.smoothing * d2.T @ d2
        self._penalty = pen + 1e-8 * np.eye(nb + q)
        self.gamma_tau_ = np.zeros(q)
        self.gamma_xi_ = np.zeros(q)
        self.sigma_tau_ = self._onset_fixed if self._onset_fixed else 0.25 * span
        self.sigma_xi_ = self._speed_fixed if self._speed_fixed else 0.3
        tau = np.zeros(n_animals)
        xi = np.zeros(n_animals)
        t_max = batch.t.shape[2]
        eye = np.broadcast_to(np.eye(t_max), (n_animals, k, t_max, t_max))
        self.beta_ = self._gls(batch, eye * batch.mask[..., None], tau, xi)
        resid = (batch.y - self._mean(batch, tau, xi)) * batch.mask
        var = np.array([np.var(resid[:, j][batch.mask[:, j]]) for j in range(k)]) + 1e-6
        slope_sd = 0.02 * np.sqrt(var) if self.random_slope else np.full(k, 1e-8)
        self._params = np.concatenate(
            [
                0.5 * np.log(0.5 * var),
                np.zeros(k),
                np.log(slope_sd),
                0.5 * np.log(0.1 * var),
                0.5 * np.log(0.2 * var),
                np.full(k, np.log(0.1 * span)),
            ]
        )
        if start is not None:
            tau, xi = self._warm_start(start, batch)
        previous = np.inf
        self.history_: list[float] = []
        self.converged_ = False
        post = np.zeros((n_animals, 2, 2))
        for _ in range(self.max_iter):
            resid = (batch.y - self._mean(batch, tau, xi)) * batch.mask
            if self.latent_time:
                jac: np.ndarray | None = self._jacobian(batch, tau, xi)
                prior_prec: np.ndarray | None = np.array(
                    [1.0 / self.sigma_tau_**2, 1.0 / self.sigma_xi_**2]
                )
            else:
                jac = prior_prec = None
            res = optimize.minimize(
                self._neg_loglik_and_grad,
                self._params,
                args=(batch, resid, jac, prior_prec),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": _COVARIANCE_STEPS},
            )
            self._params = res.x
            inv, _ = self._inverse(batch, self._params)
            tau, xi, post = self._modes(batch, inv, tau, xi)
            self.beta_ = self._gls(batch, inv, tau, xi)
            tau, xi, post = self._modes(batch, inv, tau, xi, n_steps=3)
            self._update_random_effects(batch, tau, xi, post)
            objective = float(res.fun)
            self.history_.append(objective)
            if _settled(self.history_, previous, self.tol):
                self.converged_ = True
                break
            previous = objective
        self.n_iter_ = len(self.history_)
        if not self.converged_:
            self._warn_not_converged()
        self.interval_scale_ = np.ones(k)
        self.calibration_ = Calibration.none(self.measures_)
        self._tau, self._xi, self._post = tau, xi, post
        self._animals = animals
        self._batch = batch

    def _warm_start(
        self, start: DiseaseCourseModel, batch: _Batch
    ) -> tuple[np.ndarray, np.ndarray]:
        """Take ``start``'s fitted state as starting values; returns the animals' (tau, xi)."""
        self._params = start._params.copy()
        if start.covariate_names_ == self.covariate_names_:
            self.gamma_tau_ = start.gamma_tau_.copy()
            self.gamma_xi_ = start.gamma_xi_.copy()
        if not self._onset_fixed:
            self.sigma_tau_ = start.sigma_tau_
        if not self._speed_fixed:
            self.sigma_xi_ = start.sigma_xi_
        known = {a: i for i, a in enumerate(start._batch.animals)}
        rows = np.array([known.get(a, -1) for a in batch.animals])
        seen = rows >= 0
        tau = np.where(seen, start._tau[rows], batch.x @ self.gamma_tau_)
        xi = np.where(seen, start._xi[rows], batch.x @ self.gamma_xi_)
        inv, _ = self._inverse(batch, self._params)
        self.beta_ = self._gls(batch, inv, tau, xi)
        return tau, xi

    def _warn_not_converged(self) -> None:
        if len(self.history_) < 2:
            state = "before the objective's change could be checked against tol"
        else:
            change = self.history_[-2] - self.history_[-1]
            trend = "still falling" if change > 0 else "still moving"
            relative = abs(change) / max(abs(self.history_[-1]), 1e-300)
            state = (
                f"with the objective {trend} by {abs(change):.3g} (relative {relative:.2g}, "
                f"tol={self.tol:g})"
            )
        # stacklevel: this method, _fit_table, fit, the blas_threads wrapper, the caller
        warnings.warn(
            f"DiseaseCourseModel stopped after max_iter={self.max_iter} iterations {state}; "
            "raise max_iter for a converged fit.",
            ConvergenceWarning,
            stacklevel=5,
        )

    def _update_random_effects(
        self, batch: _Batch, tau: np.ndarray, xi: np.ndarray, post: np.ndarray
    ) -> None:
        x = batch.x
        for name, values, var_index in (("tau", tau, 0), ("xi", xi, 1)):
            if x.shape[1]:
                gamma = np.linalg.lstsq(x - x.mean(axis=0), values - values.mean(), rcond=None)[0]
            else:
                gamma = np.zeros(0)
            centre = values - x @ gamma
            # The reference group's mean stays at zero (absorbed by the course), so the
            # residual mean is not removed before the variance update.
            sigma2 = float(np.mean(centre**2 + post[:, var_index, var_index]))
            floor = 1e-3 if name == "xi" else 1e-2
            if name == "tau":
                self.gamma_tau_ = gamma
                fixed = self._onset_fixed
                self.sigma_tau_ = float(fixed) if fixed else max(np.sqrt(sigma2), floor)
            else:
                self.gamma_xi_ = gamma
                fixed = self._speed_fixed
                self.sigma_xi_ = float(fixed) if fixed else max(np.sqrt(sigma2), floor)

    # ------------------------------------------------------------------ prediction
    @blas_threads(1)
    def personalize(self, data: MeasureTable | pd.DataFrame) -> pd.DataFrame:
        """Estimate onset shift and speed of new animals from their visits, without refitting.

        Returns one row per animal: ``tau`` (months), ``tau_sd``, ``xi``, ``xi_sd``,
        ``speed`` (``exp(xi)``), ``n_observations``.
        """
        check_fitted(self)
        table = data if isinstance(data, MeasureTable) else from_frame(data, name="data")
        batch, _ = self._prepare(table, training=False)
        tau, xi, post, _ = self._personalize_batch(batch)
        return self._effects_frame(batch, tau, xi, post)

    def _personalize_batch(
        self, batch: _Batch
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        inv, _ = self._inverse(batch, self._params)
        tau0 = batch.x @ self.gamma_tau_
        xi0 = batch.x @ self.gamma_xi_
        tau, xi, post = self._modes(batch, inv, tau0, xi0, n_steps=12)
        return tau, xi, post, inv

    def _effects_frame(
        self, batch: _Batch, tau: np.ndarray, xi: np.ndarray, post: np.ndarray
    ) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "animal": batch.animals,
                "tau": tau,
                "tau_sd": np.sqrt(post[:, 0, 0]),
                "xi": xi,
                "xi_sd": np.sqrt(post[:, 1, 1]),
                "speed": np.exp(xi),
                "n_observations": batch.mask.sum(axis=(1, 2)),
            }
        )

    def animal_effects_(self) -> pd.DataFrame:
        """Onset shift and speed of each training animal.

        Columns: onset shift ``tau`` (months, positive = later), speed ``exp(xi)``, their
        posterior SDs and the animal's covariates.
        """
        check_fitted(self)
        frame = self._effects_frame(self._batch, self._tau, self._xi, self._post)
        covs = self._animals[self.covariates_].reset_index(drop=True) if self.covariates_ else None
        return pd.concat([frame, covs], axis=1) if covs is not None else frame

    @blas_threads(1)
    def forecast(
        self,
        history: MeasureTable | pd.DataFrame,
        targets: pd.DataFrame,
        *,
        level: float | Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """Forecast measures of animals at new ages from their past visits (no refitting).

        Parameters
        ----------
        history
            Past visits of the animals (the fit's columns).
        targets
            Rows with ``animal``, ``age`` (months) and ``measure`` to forecast.
        level
            Interval level(s); default the model's ``level``. For each level ``L`` the
            columns ``lower_L`` and ``upper_L`` are added (the data's scale).

        An animal of ``targets`` without visits in ``history`` gets the population forecast of
        its group (its onset shift and speed at their prior, with their prior uncertainty in
        the interval); ``targets`` then needs the model's covariate columns.

        Returns
        -------
        ``targets`` with the forecast-table columns (:mod:`translocus.core.intervals`):
        ``point`` (the data's scale: the back-transformed mean, a median) and
        ``lower_<level>``/``upper_<level>``; ``mean_analysis``, ``sd_analysis`` on the
        model's standardised analysis scale; and the calibration of the intervals
        (``calibration``, ``interval_scale``, ``calibration_animals``; see
        :attr:`calibration_`).
        """
        check_fitted(self)
        out = self._forecast_table(history, targets, level=level)
        calibration = self.calibration_.columns(out["measure"])
        table = pd.concat([out, calibration], axis=1)
        table.attrs["calibration"] = self.calibration_.describe()
        return table

    def _forecast_table(
        self,
        history: MeasureTable | pd.DataFrame,
        targets: pd.DataFrame,
        *,
        level: float | Sequence[float] | None = None,
    ) -> pd.DataFrame:
        table = history if isinstance(history, MeasureTable) else from_frame(history, name="data")
        batch, _ = self._prepare(table, training=False)
        targets = targets.reset_index(drop=True)
        batch = self._with_new_animals(batch, targets)
        tau, xi, post, inv = self._personalize_batch(batch)
        index = {a: i for i, a in enumerate(batch.animals)}
        rows = targets["animal"].astype(str).map(index).to_numpy()
        unknown = sorted(set(targets["measure"]) - set(self.measures_))
        if unknown:
            raise InputError(f"targets, column 'measure': unknown measure(s) {unknown}.")
        meas = targets["measure"].map({m: i for i, m in enumerate(self.measures_)}).to_numpy()
        ages = targets["age"].to_numpy(dtype=float)
        mean, var = self._conditional(batch, inv, tau, xi, post, rows, ages, meas)
        out = targets.copy()
        sd = np.sqrt(var) * self.interval_scale_[meas]
        out[POINT] = self._to_original(mean, meas)
        for lev in as_levels(self.level if level is None else level):
            z = normal_quantile(lev)
            lo, hi = interval_columns(lev)
            out[lo] = self._to_original(mean - z * sd, meas)
            out[hi] = self._to_original(mean + z * sd, meas)
        out["mean_analysis"] = mean
        out["sd_analysis"] = sd
        return out

    def _with_new_animals(self, batch: _Batch, targets: pd.DataFrame) -> _Batch:
        """``batch`` plus one visit-less entry per target animal it lacks (population forecast)."""
        known = set(map(str, batch.animals))
        new = targets[~targets["animal"].astype(str).isin(known)]
        if new.empty:
            return batch
        missing = [c for c in self.covariates_ if c not in new.columns]
        if missing:
            names = sorted(set(map(str, new["animal"])))
            raise InputError(
                f"targets: animal(s) {', '.join(names[:5])} have no visits in the history; their "
                f"population forecast needs the covariate column(s) {', '.join(missing)} in "
                "targets."
            )
        animals = new.assign(animal=new["animal"].astype(str)).groupby("animal", sort=True)
        first = animals.first()
        x_new = self._design(first, "targets", training=False)
        n_new, k, t_max = len(first), batch.y.shape[1], batch.y.shape[2]
        # padded visits repeat an age of the animal, as for animals with visits
        ages = animals["age"].min().to_numpy(dtype=float)
        return _Batch(
            animals=np.concatenate([batch.animals, first.index.to_numpy()]),
            y=np.concatenate([batch.y, np.zeros((n_new, k, t_max))]),
            t=np.concatenate([batch.t, np.broadcast_to(ages[:, None, None], (n_new, k, t_max))]),
            mask=np.concatenate([batch.mask, np.zeros((n_new, k, t_max), dtype=bool)]),
            x=np.concatenate([batch.x, x_new]),
        )

    @blas_threads(1)
    def calibrate(
        self, history: MeasureTable | pd.DataFrame, targets: pd.DataFrame, *, level: float = 0.9
    ) -> DiseaseCourseModel:
        """Rescale forecast SDs per measure so that held-out ``level`` intervals cover.

        Split-conformal calibration: on animals not used for fitting (``targets`` with their
        observed ``value``), the factor is the conformal ``level`` quantile of
        ``|observed - forecast| / sd`` divided by the normal quantile (1 when the model's
        intervals are already right; measures with fewer than 20 targets keep 1). Replaces
        the calibration made in ``fit``: sets ``interval_scale_`` and ``calibration_``.
        """
        check_fitted(self)
        (level,) = as_levels(level)
        self.interval_scale_ = np.ones(len(self.measures_))
        fc = self._forecast_table(history, targets, level=level)
        meas = fc["measure"].map({m: i for i, m in enumerate(self.measures_)}).to_numpy()
        y = self.standardise(fc["value"].to_numpy(dtype=float), fc["measure"].to_numpy())
        z = np.abs(y - fc["mean_analysis"].to_numpy()) / fc["sd_analysis"].to_numpy()
        scale, counts = conformal_factors(z, meas, self.measures_, level)
        self._set_calibration(
            Calibration("split-conformal", level, int(fc["animal"].nunique()), scale, counts)
        )
        return self

    def standardise(self, values: np.ndarray, measures: np.ndarray) -> np.ndarray:
        """Map raw values of the given measures to the model's standardised analysis scale."""
        check_fitted(self)
        index = {m: i for i, m in enumerate(self.measures_)}
        meas = np.array([index[m] for m in measures], dtype=int)
        values = np.asarray(values, dtype=float)
        logs = np.array([self.scales_[m] == "log" for m in self.measures_])[meas]
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(logs, np.log(values), values)
        return np.asarray((y - self.center_[meas]) / self.spread_[meas])

    def _to_original(self, standardised: np.ndarray, meas: np.ndarray) -> np.ndarray:
        values = standardised * self.spread_[meas] + self.center_[meas]
        logs = np.array([self.scales_[m] == "log" for m in self.measures_])[meas]
        return np.where(logs, np.exp(values), values)

    def _conditional(
        self,
        batch: _Batch,
        inv: np.ndarray,
        tau: np.ndarray,
        xi: np.ndarray,
        post: np.ndarray,
        rows: np.ndarray,
        ages: np.ndarray,
        meas: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance (standardised scale) at target ages.

        The course at the target's disease age plus the conditional mean of the animal's
        level offset and drift given its past residuals (Gaussian conditioning); the
        variance adds the uncertainty of the animal's (tau, xi) by the delta method.
        """
        v = self._unpack(self._params)
        k = len(self.measures_)
        n = len(rows)
        target = _Batch(
            animals=batch.animals[rows],
            y=np.zeros((n, k, 1)),
            t=np.broadcast_to(ages[:, None, None], (n, k, 1)).copy(),
            mask=(np.arange(k)[None, :] == meas[:, None])[..., None],
            x=batch.x[rows],
        )
        past_t = batch.t[rows, meas]  # [R, T]
        past_mask = batch.mask[rows, meas]
        cross = self._block(v, meas[:, None], ages[:, None], past_t) * past_mask
        weights = np.einsum("rn,rnm->rm", cross, inv[rows, meas])

        def point(tau_: np.ndarray, xi_: np.ndarray) -> np.ndarray:
            resid = (batch.y - self._mean(batch, tau_, xi_)) * batch.mask
            course = self._mean(target, tau_[rows], xi_[rows])[np.arange(n), meas, 0]
            return np.asarray(course + np.sum(weights * resid[rows, meas], axis=1))

        mean = point(tau, xi)
        own = self._block(v, meas, ages, ages) + v["se2"][meas]
        var = own - np.sum(weights * cross, axis=1)
        h = np.array([0.05 * (self.knots_[1] - self.knots_[0]), 0.01])
        grads = []
        for j in range(2):
            shift = np.zeros(2)
            shift[j] = h[j]
            up = point(tau + shift[0], xi + shift[1])
            down = point(tau - shift[0], xi - shift[1])
            grads.append((up - down) / (2 * h[j]))
        g = np.stack(grads, axis=1)
        var = var + np.einsum("rp,rpq,rq->r", g, post[rows], g)
        return mean, np.maximum(var, 1e-12)

    # ------------------------------------------------------------------ simulation
    def simulate(
        self,
        n_animals: int,
        ages: Sequence[float],
        *,
        covariates: dict[str, str] | None = None,
        random_state: int | None = None,
    ) -> pd.DataFrame:
        """Draw a virtual cohort from the fitted model.

        Parameters
        ----------
        n_animals
            Animals to draw.
        ages
            Visit ages (months), the same for every animal.
        covariates
            The cohort's group (``{"strain": "HET3", "sex": "F"}``); default the reference
            group.
        random_state
            Seed (default the model's).

        Returns
        -------
        Long frame ``animal, age, measure, value`` (original scale) with ``tau`` and
        ``speed`` of each virtual animal and the covariate columns.
        """
        check_fitted(self)
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        covariates = dict(covariates or {})
        unknown = sorted(set(covariates) - set(self.covariates_))
        if unknown:
            raise InputError(f"simulate: unknown covariate(s) {unknown}; use {self.covariates_}.")
        group = {c: covariates.get(c, self.levels_[c][0]) for c in self.covariates_}
        frame = pd.DataFrame([group] * n_animals)
        x = (
            self._design(frame, "simulate", training=False)
            if self.covariates_
            else np.zeros((n_animals, 0))
        )
        tau = x @ self.gamma_tau_ + self.sigma_tau_ * rng.standard_normal(n_animals)
        xi = x @ self.gamma_xi_ + self.sigma_xi_ * rng.standard_normal(n_animals)
        ages_arr = np.asarray(ages, dtype=float)
        k, n_t = len(self.measures_), len(ages_arr)
        batch = _Batch(
            animals=np.array([f"sim{i}" for i in range(n_animals)]),
            y=np.zeros((n_animals, k, n_t)),
            t=np.broadcast_to(ages_arr, (n_animals, k, n_t)).copy(),
            mask=np.ones((n_animals, k, n_t), dtype=bool),
            x=x,
        )
        cov = self._covariance(batch, self._params)
        noise = np.einsum(
            "aknm,akm->akn", np.linalg.cholesky(cov), rng.standard_normal(batch.t.shape)
        )
        y = self._mean(batch, tau, xi) + noise
        meas = np.broadcast_to(np.arange(k)[None, :, None], y.shape)
        out = pd.DataFrame(
            {
                "animal": np.repeat(batch.animals, k * n_t),
                "age": batch.t.ravel(),
                "measure": np.array(self.measures_)[meas.ravel()],
                "value": self._to_original(y.ravel(), meas.ravel()),
                "tau": np.repeat(tau, k * n_t),
                "speed": np.repeat(np.exp(xi), k * n_t),
            }
        ).sort_values(["animal", "age", "measure"], ignore_index=True)
        for column, value in group.items():
            out[column] = value
        return out

    # ------------------------------------------------------------------ reporting
    @property
    def summary(self) -> pd.DataFrame:
        """Covariate effects on onset and speed, variance components and calibration.

        Onset effects are in months, speed effects on the log scale; the ``prior_sd`` rows say
        how the prior SDs were set, the ``calibration``, ``calibration_animals``,
        ``interval_scale`` and ``calibration_values`` rows how the intervals were calibrated
        (``summary.attrs["calibration"]`` says it in a sentence).
        """
        check_fitted(self)
        rows = []
        x = self._batch.x
        for name, gamma, sigma in (
            ("onset_shift_months", self.gamma_tau_, self.sigma_tau_),
            ("log_speed", self.gamma_xi_, self.sigma_xi_),
        ):
            if x.shape[1]:
                xc = x - x.mean(axis=0)
                se = sigma * np.sqrt(np.diag(np.linalg.pinv(xc.T @ xc)))
            else:
                se = np.zeros(0)
            for j, cov_name in enumerate(self.covariate_names_):
                rows.append(
                    {"parameter": name, "term": cov_name, "estimate": gamma[j], "se": se[j]}
                )
            rows.append(
                {"parameter": name, "term": "sd (animals)", "estimate": sigma, "se": np.nan}
            )
        v = self._unpack(self._params)
        for j, measure in enumerate(self.measures_):
            for name, value in (
                ("level_sd", np.sqrt(v["sb2"][j])),
                ("slope_sd_per_month", np.sqrt(v["ss2"][j])),
                ("level_slope_corr", v["cbs"][j] / np.sqrt(v["sb2"][j] * v["ss2"][j])),
                ("drift_sd", np.sqrt(v["su2"][j])),
                ("noise_sd", np.sqrt(v["se2"][j])),
                ("drift_timescale_months", v["ell"][j]),
            ):
                rows.append(
                    {"parameter": name, "term": measure, "estimate": float(value), "se": np.nan}
                )
        set_by = getattr(self, "prior_sd_", {}).get("set_by", "given")
        for name, value in (("onset_sd", self._onset_fixed), ("speed_sd", self._speed_fixed)):
            term = f"{name} ({'estimated' if value is None else 'fixed'}, {set_by})"
            estimate = self.sigma_tau_ if name == "onset_sd" else self.sigma_xi_
            rows.append({"parameter": "prior_sd", "term": term, "estimate": estimate, "se": np.nan})
        for row in self.calibration_.rows():
            rows.append({**row, "se": np.nan})
        table = pd.DataFrame(rows)
        table.attrs["calibration"] = self.calibration_.describe()
        return table

    def course_(self, ages: Sequence[float] | None = None) -> pd.DataFrame:
        """Population course of every measure (reference group, tau = xi = 0), original scale."""
        check_fitted(self)
        grid = np.asarray(
            ages if ages is not None else np.linspace(self.knots_[0], self.knots_[-1], 100),
            dtype=float,
        )
        k = len(self.measures_)
        batch = _Batch(
            animals=np.array(["course"]),
            y=np.zeros((1, k, len(grid))),
            t=np.broadcast_to(grid, (1, k, len(grid))).copy(),
            mask=np.ones((1, k, len(grid)), dtype=bool),
            x=np.zeros((1, self._batch.x.shape[1])),
        )
        y = self._mean(batch, np.zeros(1), np.zeros(1))[0]
        meas = np.broadcast_to(np.arange(k)[:, None], y.shape)
        return pd.DataFrame(
            {
                "age": batch.t[0].ravel(),
                "measure": np.array(self.measures_)[meas.ravel()],
                "value": self._to_original(y.ravel(), meas.ravel()),
            }
        )

    def plot(self, **kwargs: Any) -> Any:
        """Population courses with the training animals (see :mod:`translocus.progression.plot`)."""
        check_fitted(self)
        from translocus.progression.plot import plot_course

        return plot_course(self, **kwargs)

    # ------------------------------------------------------------------ example data
    @staticmethod
    def example_cohort(n_animals: int = 60, random_state: int = 0) -> MeasureTable:
        """A small simulated cohort (two measures, two sexes) for examples and tests."""
        rng = np.random.default_rng(random_state)
        rows = []
        for i in range(n_animals):
            sex = "F" if i % 2 else "M"
            tau = rng.normal(2.0 if sex == "F" else 0.0, 1.5)
            speed = np.exp(rng.normal(0.0, 0.15))
            level = rng.normal(0, 0.1, 2)
            for age in np.arange(4.0, 22.0, 3.0) + rng.uniform(0, 1):
                psi = 12 + speed * (age - 12 - tau)
                a = 3.0 + 0.8 / (1 + np.exp(-(psi - 12) / 2.0)) + level[0]
                b = 2.0 + 0.05 * psi + level[1]
                rows.append((str(i), age, "a", np.exp(a + rng.normal(0, 0.03)), sex))
                rows.append((str(i), age, "b", np.exp(b + rng.normal(0, 0.03)), sex))
        frame = pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "sex"])
        return from_frame(frame, name="example", license="CC0-1.0")
