"""Joint model of a repeated measure and survival: the course enters the hazard.

Longitudinal submodel (one measure, e.g. body weight, on the scale of the data)::

    y_ij = m_i(t_ij) + e_ij,   e_ij ~ N(0, sigma^2)
    m_i(t) = sum_d beta_d s^d + beta_w' w_i + b_i0 + b_i1 s [+ b_i2 s^2],   s = (t - centre) / 12

with ``t`` the age in months, a polynomial age trend of ``degree`` (2: rise and fall),
covariates ``w_i`` (sex, strain, ...) and per-animal random intercept and slope (and
curvature with ``random_degree=2``: each animal's own rise and fall) ``b_i ~ N(0, D)``.
Survival submodel (Gompertz baseline in age, proportional hazards)::

    h_i(t | b_i) = exp(g0 + g1 s + sum_j g_j B_j(s) + gamma' w_i + (alpha + alpha_age s) m_i(t)
                       + (alpha_slope + alpha_slope_age s) dm_i/ds(t)
                       + alpha_peak (max_{t0_i<=u<=t} m_i(u) - m_i(t)))

The log baseline hazard is Gompertz (linear in age) or, with ``baseline_knots = K``, a
natural (restricted) cubic spline in age: the Gompertz line plus ``K - 2`` terms
``B_j`` with knots at quantiles of the ages at death, linear beyond the outer knots.
The current value and slope of the animal's own course enter its hazard (``association``;
``"value_by_age"`` and ``"slope_by_age"`` let their log hazard ratios change linearly with
age, ``alpha_age`` and ``alpha_slope_age``, as a landmark model refitted at each age would;
``"from_peak"`` adds how far the course has fallen below its own peak since the animal's
entry ``t0_i``, zero while it still rises: with a course quadratic in age the peak is the
largest of the values at ``t0_i``, at ``t`` and, for a concave course, at its vertex
``-c1 / (2 c2)`` when that lies between them, so the fall is
``max(0, m(t0) - m(t), -c2 (s - vertex)^2)``).
The parameters are fitted by maximum likelihood with the random effects integrated out:
``p(y_i) p(b | y_i)`` is Gaussian in closed form, so each animal's likelihood is
``p(y_i) E_{b | y_i}[h_i(T_i | b)^delta_i S_i(T_i | b) / S_i(t0_i | b)]``, the expectation by
Gauss-Hermite quadrature on the Gaussian posterior of the longitudinal submodel (centred
and scaled per animal, Rizopoulos 2012 section 4.6) and the cumulative hazards by
Gauss-Legendre quadrature. Animals enter the risk set at their first measurement (or
``entry``): the likelihood conditions on survival to entry given ``b``. Compiled kernels
(:mod:`translocus.progression._joint_numba`) compute each animal's posterior and its
survival terms, animals in parallel, without the (animals, nodes, ages) arrays numpy
would build. L-BFGS-B maximises it with its exact gradient: the survival parameters leave
the quadrature nodes where they are, while the longitudinal ones (``beta``, ``sigma`` and
the Cholesky factor of ``D``) move ``p(y_i)``, the course in the hazard and the nodes
``b_k = mu_i + C_i u_k`` themselves, through the posterior mean ``mu_i`` and Cholesky
factor ``C_i`` (``dC = C Phi(C^-1 dSigma C^-T)``). The standard errors come from the
Hessian as central differences of that gradient.

Dynamic predictions (Rizopoulos 2011) use the posterior of ``b`` given the measurements
up to a landmark ``t`` and survival to ``t``::

    P(T <= t + h | T > t, y(<= t)) = 1 - E_b[S(t + h | b)] / E_b[S(t | b)]

and course forecasts weight each value of ``b`` by the probability of surviving to the
forecast age (informative drop-out), instead of the longitudinal submodel's posterior
alone. Predictions plug in the estimates (parameter uncertainty is not propagated).

Examples
--------
>>> measures, lifespans = simulate_joint(150, association=0.8, random_state=1)
>>> model = JointModel(association=("value",)).fit(measures, lifespans, license="CC0-1.0")
>>> bool(model.converged_)
True
>>> risk = model.predict_risk(measures, lifespans, landmarks=[12.0], horizons=[6.0])
>>> list(risk.columns[:4])
['animal', 'landmark', 'horizon', 'risk']
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import ConvergenceWarning, Estimator, check_fitted
from translocus.core.intervals import POINT, as_levels, interval_columns, normal_quantile
from translocus.core.provenance import LicensePolicy, Provenance
from translocus.core.table import ProvenanceTable, licence_gate, provenance_for
from translocus.core.threads import blas_threads
from translocus.progression._joint_numba import (
    HAZARD_FIELDS,
    N_FIXED_FEATURES,
    fall_from_peak,
    natural_spline,
    posterior,
    posterior_gradient,
    product_grid,
    survival_terms,
)

__all__ = [
    "ASSOCIATIONS",
    "JointModel",
    "brier_score",
    "calibration_table",
    "simulate_joint",
    "time_dependent_auc",
]

#: Features of the course that may enter the hazard.
ASSOCIATIONS = ("value", "slope", "value_by_age", "slope_by_age", "from_peak")
#: What one unit of each association's feature is, on the measure's own scale.
_PER = {
    "value": "unit of the measure",
    "slope": "unit per month of its slope",
    "value_by_age": "unit of the measure, per year of age past centre_",
    "slope_by_age": "unit per month of its slope, per year of age past centre_",
    "from_peak": "unit of the measure below the course's own peak since entry",
}
#: Months per unit of the scaled age ``s`` (slopes are per year in the model).
_AGE_SCALE = 12.0
#: A per-animal effect whose log SD (on the standardised measure) falls below this has
#: vanished: its SD is under 1/1000 of the measure's.
_LOG_SD_VANISHING = float(np.log(1e-3))
#: Names of the random effects (per-animal intercept, slope and curvature in age).
_RANDOM_NAMES = ("intercept", "slope", "curvature")


@dataclass
class _Data:
    """The arrays of one fit or prediction (animals in one order, measurements flat)."""

    animals: np.ndarray  # (n,) ids
    w: np.ndarray  # (n, q) covariates
    t0: np.ndarray  # (n,) entry age, months
    time: np.ndarray  # (n,) age at death or censoring, months
    event: np.ndarray  # (n,) 1 death, 0 censored
    index: np.ndarray  # (m,) animal of each measurement
    s: np.ndarray  # (m,) scaled age of each measurement
    y: np.ndarray  # (m,) standardised value


@functools.lru_cache
def _hermite(k: int) -> tuple[np.ndarray, np.ndarray]:
    """``k`` probabilists' Gauss-Hermite nodes and their weights summing to 1."""
    x, w = np.polynomial.hermite_e.hermegauss(k)
    return x, w / w.sum()


def _gauss_hermite(k: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Product grid of ``k**dim`` probabilists' nodes (K, dim) and weights summing to 1.

    The last dimension varies fastest (the order of the likelihood kernel's grid).
    """
    x, w = _hermite(k)
    index, nodes = product_grid(x, dim)
    return nodes, np.prod(w[index], axis=1)


def _natural_spline(s: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Nonlinear terms of a natural cubic spline (Harrell's restricted cubic spline).

    ``len(knots) - 2`` columns (last axis added), each cubic between the knots and linear
    beyond the outer ones, scaled by ``(k_K - k_1)^2``; with ``1`` and ``s`` they span the
    natural cubic splines with these knots.

    >>> x = np.linspace(-3.0, 3.0, 7)
    >>> basis = _natural_spline(x, np.array([-1.0, 0.0, 1.0]))
    >>> basis.shape, bool(np.allclose(np.diff(basis[-3:, 0], 2), 0.0))
    ((7, 1), True)
    """
    k = np.asarray(knots, dtype=float)
    x = np.asarray(s, dtype=float)
    flat = natural_spline(np.ascontiguousarray(x.ravel()), np.ascontiguousarray(k))
    return flat.reshape(*x.shape, max(k.size - 2, 0))


def _polynomial(s: np.ndarray, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Powers ``s^0..s^degree`` and their derivatives in ``s`` (last axis added)."""
    powers = np.stack([s**d for d in range(degree + 1)], axis=-1)
    deriv = np.stack(
        [d * s ** (d - 1) if d else np.zeros_like(s) for d in range(degree + 1)], axis=-1
    )
    return powers, deriv


class JointModel(Estimator):
    """Shared random-effects joint model of one repeated measure and survival.

    ``use = "training"``: the fitted model predicts other animals, so ``fit`` passes the
    licence gate (:func:`~translocus.core.table.licence_gate`).

    Parameters
    ----------
    degree
        Degree of the fixed polynomial age trend of the measure (2: rise and fall).
    association
        Features of the animal's course in its hazard: ``"value"`` (current value),
        ``"value_by_age"`` (its association changing linearly with age),
        ``"slope"`` (current slope), ``"slope_by_age"`` (its association changing linearly
        with age), ``"from_peak"`` (the course's decline from its own peak since the
        animal's first measurement; needs ``degree`` at most 2), or several.
    random_degree
        Per-animal random effects: 1 an intercept and a slope in age, 2 also a curvature
        (each animal's own rise and fall).
    baseline_knots
        0: Gompertz baseline hazard (log hazard linear in age); 3 to 8: a natural cubic
        spline in age for the log baseline hazard with that many knots at quantiles of the
        ages at death (``baseline_knots_``, months; rows ``survival:baseline_spline_<j>``).
    covariates_by_age
        Let each covariate's log hazard ratio change linearly with age (each group its own
        Gompertz rate of ageing; rows ``survival:<covariate>:age``, per year).
    n_quadrature
        Gauss-Hermite nodes per random effect (``n_quadrature ** (random_degree + 1)`` in
        all); ``None``: 7 for two random effects, 5 for three.
    n_legendre
        Gauss-Legendre nodes of each cumulative hazard.
    level
        Probability of the intervals of :attr:`summary`.
    max_iter
        Iterations of the L-BFGS optimiser; a fit that stops before warns
        (:class:`~sklearn.exceptions.ConvergenceWarning`).

    Attributes
    ----------
    params_ : Series
        Estimates on the internal scale (standardised measure, age in years from
        ``centre_``).
    association_ : DataFrame
        The association parameters on the measure's own scale with intervals.
    converged_, n_iter_, loglik_ :
        Optimiser outcome and the maximised log-likelihood.
    """

    use = "training"

    def __init__(
        self,
        *,
        degree: int = 2,
        association: Sequence[str] = ("value", "slope"),
        random_degree: int = 1,
        covariates_by_age: bool = False,
        baseline_knots: int = 0,
        n_quadrature: int | None = None,
        n_legendre: int = 15,
        level: float = 0.95,
        max_iter: int = 500,
    ) -> None:
        self.degree = degree
        self.association = association
        self.random_degree = random_degree
        self.covariates_by_age = covariates_by_age
        self.baseline_knots = baseline_knots
        self.n_quadrature = n_quadrature
        self.n_legendre = n_legendre
        self.level = level
        self.max_iter = max_iter

    # ---------------------------------------------------------------- parameters
    def _check_options(self) -> None:
        if not isinstance(self.degree, int | np.integer) or not 0 <= self.degree <= 3:
            raise OptionError("degree", self.degree, "use 0, 1, 2 or 3")
        assoc = tuple(self.association)
        bad = [a for a in assoc if a not in ASSOCIATIONS]
        if bad or len(set(assoc)) != len(assoc):
            raise OptionError(
                "association", self.association, f"use some of {', '.join(ASSOCIATIONS)}, once"
            )
        if "from_peak" in assoc and self.degree > 2:
            raise OptionError(
                "association",
                self.association,
                "from_peak needs degree=2 or less (a course "
                "quadratic in age has its peak in closed form)",
            )
        if self.random_degree not in (1, 2):
            raise OptionError("random_degree", self.random_degree, "use 1 or 2")
        knots = self.baseline_knots
        if not isinstance(knots, int | np.integer) or not (knots == 0 or 3 <= knots <= 8):
            raise OptionError(
                "baseline_knots", knots, "use 0 (Gompertz) or 3 to 8 knots of a spline in age"
            )
        for name in ("n_quadrature", "n_legendre", "max_iter"):
            value = getattr(self, name)
            if name == "n_quadrature" and value is None:
                continue
            if not isinstance(value, int | np.integer) or value < 1:
                raise OptionError(name, value, "use a positive whole number")
        as_levels(self.level)

    @property
    def _n_random(self) -> int:
        return int(self.random_degree) + 1

    def _layout(self, q: int) -> dict[str, slice]:
        r = self._n_random
        names = [
            ("beta", self.degree + 1 + q),
            ("log_sigma", 1),
            ("chol", r * (r + 1) // 2),
            ("gompertz", 2),
            ("spline", max(int(self.baseline_knots) - 2, 0)),
            ("gamma", q),
            ("gamma_age", q if self.covariates_by_age else 0),
            ("alpha", len(tuple(self.association))),
        ]
        out, start = {}, 0
        for name, size in names:
            out[name] = slice(start, start + size)
            start += size
        return out

    def _names(self) -> list[str]:
        terms = [f"age^{d}" for d in range(self.degree + 1)]
        effects = _RANDOM_NAMES[: self._n_random]
        chol = [
            f"random:log_sd_{effects[i]}" if i == j else f"random:chol_{i + 1}{j + 1}"
            for i in range(self._n_random)
            for j in range(i + 1)
        ]
        return (
            [f"longitudinal:{t}" for t in [*terms, *self.covariates_]]
            + ["longitudinal:log_sigma", *chol]
            + ["survival:gompertz_log_level", "survival:gompertz_age"]
            + [f"survival:baseline_spline_{j + 1}" for j in range(max(self.baseline_knots - 2, 0))]
            + [f"survival:{c}" for c in self.covariates_]
            + [f"survival:{c}:age" for c in (self.covariates_ if self.covariates_by_age else [])]
            + [f"association:{a}" for a in self.association]
        )

    # ---------------------------------------------------------------- likelihood pieces
    def _unpack(self, theta: np.ndarray, q: int) -> dict[str, Any]:
        lay = self._layout(q)
        r = self._n_random
        lower = np.zeros((r, r))
        lower[np.tril_indices(r)] = theta[lay["chol"]]
        log_sd = np.diag(lower).copy()
        lower[np.diag_indices(r)] = np.exp(log_sd)
        alpha = dict(zip(self.association, theta[lay["alpha"]], strict=True))
        return {
            "beta": theta[lay["beta"]],
            "sigma": float(np.exp(theta[lay["log_sigma"]][0])),
            "chol": lower,
            "log_sd": log_sd,  # log|D| = 2 sum(log_sd), finite where exp(log_sd) underflows
            "g0": float(theta[lay["gompertz"]][0]),
            "g1": float(theta[lay["gompertz"]][1]),
            "spline": theta[lay["spline"]],
            "gamma": theta[lay["gamma"]],
            "gamma_age": theta[lay["gamma_age"]],
            "alpha": float(alpha.get("value", 0.0)),
            "alpha_slope": float(alpha.get("slope", 0.0)),
            "alpha_age": float(alpha.get("value_by_age", 0.0)),
            "alpha_slope_age": float(alpha.get("slope_by_age", 0.0)),
            "alpha_peak": float(alpha.get("from_peak", 0.0)),
        }

    def _fixed(
        self, par: dict[str, Any], s: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fixed part of the course and its slope at scaled ages ``s`` (w broadcasts)."""
        powers, deriv = _polynomial(s, self.degree)
        d1 = self.degree + 1
        level = powers @ par["beta"][:d1] + w @ par["beta"][d1:]
        return level, deriv @ par["beta"][:d1]

    def _posterior(
        self, par: dict[str, Any], data: _Data
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closed-form ``log p(y_i)`` and the Gaussian ``b | y_i``: mean and Cholesky factor.

        With ``P_i = D^-1 + Z_i'Z_i / sigma^2`` and ``c_i = Z_i'r_i / sigma^2`` (``r_i`` the
        residuals from the fixed course): ``b | y_i ~ N(P_i^-1 c_i, P_i^-1)`` and
        ``log p(y_i) = -(n_i log(2 pi sigma^2) + log|D| + log|P_i| + r'r / sigma^2
        - c'P^-1 c) / 2`` (Woodbury and the determinant lemma); compiled
        (:func:`~translocus.progression._joint_numba.posterior`). Raises ``LinAlgError`` when
        some ``P_i`` is not positive definite.
        """
        resid, d_inv = self._residuals(par, data)
        log_det_d = 2.0 * float(np.sum(par["log_sd"]))
        logpy, mean, chol, ok = posterior(
            data.index, data.s, resid, data.animals.size, d_inv, par["sigma"] ** 2, log_det_d
        )
        if not ok:
            raise np.linalg.LinAlgError("a posterior precision is not positive definite")
        return logpy, mean, chol

    def _residuals(self, par: dict[str, Any], data: _Data) -> tuple[np.ndarray, np.ndarray]:
        """Residuals of the measurements from the fixed course (m,) and ``D^-1`` (r, r)."""
        lower = par["chol"]
        mean_fixed, _ = self._fixed(par, data.s, data.w[data.index])
        return data.y - mean_fixed, np.linalg.inv(lower @ lower.T)

    def _longitudinal_gradient(
        self,
        par: dict[str, Any],
        data: _Data,
        mean: np.ndarray,
        chol: np.ndarray,
        course: np.ndarray | None = None,
    ) -> np.ndarray:
        """Gradient of the log-likelihood in ``beta``, ``log_sigma`` and ``chol`` (summed).

        ``course``: the course columns of the survival kernel (how each animal's survival
        term moves with its course and its posterior); None for the longitudinal submodel
        alone. Compiled (:func:`~translocus.progression._joint_numba.posterior_gradient`).
        """
        r = self._n_random
        d1 = self.degree + 1
        if course is None:
            course = np.zeros((mean.shape[0], max(d1, r, 3) + r * r))
        lower = par["chol"]
        rows, cols = np.tril_indices(r)
        slopes = np.empty((rows.size, r, r))
        for c, (a, b) in enumerate(zip(rows, cols, strict=True)):
            step = np.zeros((r, r))
            step[a, b] = lower[a, b] if a == b else 1.0  # the diagonal is exp(theta)
            slopes[c] = step @ lower.T + lower @ step.T
        resid, d_inv = self._residuals(par, data)
        per_animal = posterior_gradient(
            data.index, data.s, resid, d_inv, slopes, par["sigma"] ** 2, mean, chol, d1,
            np.ascontiguousarray(course),
        )  # fmt: skip
        total = per_animal.sum(axis=0)
        return np.concatenate(
            [total[:d1], data.w.T @ per_animal[:, 0], total[d1:]]  # beta_w: w times beta_0's
        )

    def _nodes(self, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
        """Random effects at the quadrature nodes (n, K, r)."""
        u, _ = self._gh
        return mean[:, None, :] + np.matmul(u[None, :, :], np.swapaxes(chol, 1, 2))

    def _random_terms(self, b: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The random part of the course and of its slope at ``s`` (n, L): each (n, K, L)."""
        r = self._n_random
        powers = np.stack([s**k for k in range(r)], -1)  # (n, L, r)
        deriv = np.stack([k * s ** (k - 1) if k else np.zeros_like(s) for k in range(r)], -1)
        return np.einsum("nkr,nlr->nkl", b, powers), np.einsum("nkr,nlr->nkl", b, deriv)

    def _from_peak(
        self, par: dict[str, Any], t: np.ndarray, w: np.ndarray, b: np.ndarray, entry: np.ndarray
    ) -> np.ndarray:
        """How far the course at ages ``t`` (n, L) is below its peak since ``entry`` (n,).

        The course is ``c0 + c1 s + c2 s^2`` per animal and node (degree and random degree
        at most 2); its largest value on ``[entry, t]`` is at an end or, when concave, at the
        vertex ``v = -c1 / (2 c2)`` inside, where ``m(v) - m(t) = -c2 (s - v)^2``. (n, K, L):
        the likelihood kernel's own fall (``_joint_numba.fall_from_peak``) at the nodes ``b``
        (n, K, r).
        """
        beta = par["beta"]
        d1 = self.degree + 1
        c1 = (beta[1] if d1 > 1 else 0.0) + b[..., 1]
        c2 = (beta[2] if d1 > 2 else 0.0) + (b[..., 2] if b.shape[-1] > 2 else 0.0)
        c2 = np.broadcast_to(c2, c1.shape)
        s = (np.asarray(t, dtype=float) - self.centre_) / _AGE_SCALE
        s_e = (np.asarray(entry, dtype=float) - self.centre_) / _AGE_SCALE
        return fall_from_peak(
            np.ascontiguousarray(c1), np.ascontiguousarray(c2), np.ascontiguousarray(s), s_e
        )

    def _survival_terms(
        self,
        par: dict[str, Any],
        w: np.ndarray,
        mean: np.ndarray,
        chol: np.ndarray,
        start: np.ndarray,
        stop: np.ndarray,
        entry: np.ndarray,
        event: np.ndarray | None = None,
        *,
        gradient: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per animal and node ``-(H(stop | b) - H(start | b)) + event log h(stop | b)``.

        The nodes ``b`` are those of the posterior ``mean``/``chol``; the course's peak is
        taken from ``entry``; ``event`` None: no hazard term. Returns the terms (n, K),
        their log Gauss-Hermite means (n,) and, with ``gradient``, the gradient columns
        (n, 7 + spline terms) of :func:`~translocus.progression._joint_numba.survival_terms`.
        """
        _, wk = self._gh
        hermite, _ = _hermite(self._n_hermite)
        x, wl = self._gl
        d1 = self.degree + 1
        beta = par["beta"]
        n = mean.shape[0]
        hazard = np.array([self.centre_ if f == "centre" else par[f] for f in HAZARD_FIELDS],
                          dtype=float)  # fmt: skip
        knots = (np.asarray(self.baseline_knots_, dtype=float) - self.centre_) / _AGE_SCALE
        by_age = w @ par["gamma_age"] if self.covariates_by_age else np.zeros(n)
        return survival_terms(
            mean, chol, hermite, np.log(wk), x, wl,
            np.ascontiguousarray(start, dtype=float), np.ascontiguousarray(stop, dtype=float),
            np.ascontiguousarray(entry, dtype=float),
            np.zeros(n) if event is None else np.ascontiguousarray(event, dtype=float),
            w @ beta[d1:], w @ par["gamma"], by_age, np.ascontiguousarray(beta[:d1]), hazard,
            np.ascontiguousarray(par["spline"], dtype=float), knots,
            "from_peak" in self.association, gradient,
        )  # fmt: skip

    def _log_survival(
        self,
        par: dict[str, Any],
        start: np.ndarray,
        stop: np.ndarray,
        w: np.ndarray,
        mean: np.ndarray,
        chol: np.ndarray,
        entry: np.ndarray | None = None,
    ) -> np.ndarray:
        """``-(H(stop | b) - H(start | b))`` per animal and node (n, K).

        ``entry``: the age the course's peak is taken from (``start`` when not given).
        """
        entry = start if entry is None else entry
        return self._survival_terms(par, w, mean, chol, start, stop, entry)[0]

    def _loglik(self, theta: np.ndarray, data: _Data, per_animal: bool = False) -> Any:
        par = self._unpack(theta, data.w.shape[1])
        try:
            logpy, mean, chol = self._posterior(par, data)
        except np.linalg.LinAlgError:  # a random-effects covariance too close to singular
            return np.full(data.animals.size, -np.inf) if per_animal else -np.inf
        _, log_mean, _ = self._survival_terms(
            par, data.w, mean, chol, data.t0, data.time, data.t0, data.event
        )
        ll = logpy + log_mean
        if per_animal:
            return ll
        total = float(ll.sum())
        return total if np.isfinite(total) else -np.inf

    def _loglik_gradient(self, theta: np.ndarray, data: _Data) -> tuple[float, np.ndarray]:
        """Log-likelihood and its exact gradient in every parameter.

        The survival submodel's parameters leave the quadrature nodes (the posterior of
        the longitudinal submodel) unchanged, so ``d log L_i = sum_k pi_ik d a_ik`` with
        ``pi_ik`` the normalised integrand at node ``k`` (summed per animal by the kernel).
        The longitudinal ones move ``log p(y_i)``, the course in the hazard and the nodes
        ``b_k = mean_i + chol_i u_k`` through the posterior's mean and Cholesky factor
        (:meth:`_longitudinal_gradient`). The value is that of :meth:`_loglik`, bit for bit.
        """
        q = data.w.shape[1]
        par = self._unpack(theta, q)
        lay = self._layout(q)
        try:
            logpy, mean, chol = self._posterior(par, data)
        except np.linalg.LinAlgError:
            return -np.inf, np.zeros(theta.size)
        _, log_mean, columns = self._survival_terms(
            par, data.w, mean, chol, data.t0, data.time, data.t0, data.event, gradient=True
        )
        ll = logpy + log_mean
        n_spline = max(int(self.baseline_knots) - 2, 0)
        first = 2 + n_spline  # the association columns follow the baseline's
        parts = [columns[:, j] for j in range(first)]
        parts += [data.w[:, j] * columns[:, 0] for j in range(q)]
        if self.covariates_by_age:
            parts += [data.w[:, j] * columns[:, 1] for j in range(q)]
        offset = {"value": 0, "slope": 1, "value_by_age": 2, "slope_by_age": 3, "from_peak": 4}
        parts += [columns[:, first + offset[name]] for name in self.association]
        grad = np.empty(theta.size)
        grad[lay["gompertz"].start :] = [float(np.sum(part)) for part in parts]
        course = columns[:, first + N_FIXED_FEATURES - 2 :]
        grad[: lay["chol"].stop] = self._longitudinal_gradient(par, data, mean, chol, course)
        total = float(ll.sum())
        return (total if np.isfinite(total) else -np.inf), grad

    # ---------------------------------------------------------------- data
    def _design(
        self,
        measures: pd.DataFrame,
        lifespans: pd.DataFrame,
        *,
        fitting: bool,
        source: str,
    ) -> tuple[_Data, dict[str, int]]:
        cols = self.columns_
        for frame, need, what in (
            (measures, [cols["animal"], cols["age"], cols["value"]], "measures"),
            (lifespans, [cols["animal"], *self.covariate_columns_], "lifespans"),
        ):
            missing = [c for c in need if c not in frame.columns]
            if missing:
                raise InputError(
                    f"{source}: the {what} table has no column(s) {missing}; its columns are "
                    f"{', '.join(map(str, frame.columns[:15]))}"
                )
        if fitting:
            for c in (cols["time"], cols["event"]):
                if c not in lifespans.columns:
                    raise InputError(f"{source}: the lifespans table has no column {c!r}")
        counts: dict[str, int] = {}
        life = lifespans.copy()
        life["_animal"] = life[cols["animal"]].astype(str)
        dup = life["_animal"].duplicated()
        if dup.any():
            raise InputError(
                f"{source}: {int(dup.sum())} animals are on two lifespan rows (first "
                f"{life.loc[dup, '_animal'].iloc[0]!r}); keep one row per animal"
            )
        meas = measures[[cols["animal"], cols["age"], cols["value"]]].copy()
        meas.columns = ["_animal", "age", "value"]
        meas["_animal"] = meas["_animal"].astype(str)
        meas["age"] = pd.to_numeric(meas["age"], errors="coerce")
        meas["value"] = pd.to_numeric(meas["value"], errors="coerce")
        blank = meas[["age", "value"]].isna().any(axis=1)
        if blank.any():
            counts["measurements dropped: no age or value"] = int(blank.sum())
            meas = meas.loc[~blank]
        x = self._covariates(life, source=source)
        keep = np.isfinite(x).all(axis=1)
        if fitting:
            time = pd.to_numeric(life[cols["time"]], errors="coerce").to_numpy(float)
            event = pd.to_numeric(life[cols["event"]], errors="coerce").to_numpy(float)
            bad = ~np.isfinite(time) | ~np.isin(event, (0.0, 1.0))
            if bad.any():
                counts["animals dropped: no time or event"] = int(bad.sum())
            keep &= ~bad
        else:
            time = np.full(len(life), np.inf)
            event = np.zeros(len(life))
        if (~np.isfinite(x).all(axis=1)).any():
            counts["animals dropped: missing covariates"] = int((~np.isfinite(x).all(1)).sum())
        animals = life["_animal"].to_numpy()
        pos = pd.Series(np.arange(len(life)), index=animals)
        known = meas["_animal"].isin(pos.index)
        meas = meas.loc[known]
        index = pos.loc[meas["_animal"]].to_numpy()
        ages = meas["age"].to_numpy(float)
        after = ages > time[index]
        if after.any():
            counts["measurements dropped: after death or censoring"] = int(after.sum())
        first = np.full(len(life), np.inf)
        np.minimum.at(first, index[~after], ages[~after])
        if cols["entry"] is not None:
            t0 = pd.to_numeric(life[cols["entry"]], errors="coerce").to_numpy(float)
            t0 = np.where(np.isfinite(t0), np.minimum(t0, first), first)
        else:
            t0 = first
        if fitting:
            none = ~np.isfinite(first) & keep
            if none.any():
                counts["animals dropped: no measurement before death or censoring"] = int(
                    none.sum()
                )
            keep &= np.isfinite(first)
            same = keep & (time <= t0)
            if same.any():
                counts["animals dropped: death or censoring at entry"] = int(same.sum())
            keep &= time > t0
        new = np.cumsum(keep) - 1
        use = keep[index] & ~after
        data = _Data(
            animals=animals[keep],
            w=x[keep],
            t0=t0[keep],
            time=time[keep],
            event=event[keep],
            index=new[index[use]],
            s=(ages[use] - (self.centre_ if hasattr(self, "centre_") else 0.0)) / _AGE_SCALE,
            y=meas["value"].to_numpy(float)[use],
        )
        return data, counts

    def _covariates(self, life: pd.DataFrame, *, source: str) -> np.ndarray:
        """The covariate design of ``life`` (levels learned in ``fit``)."""
        out = []
        for col, levels in self.covariate_levels_.items():
            v = life[col]
            if levels is None:
                out.append(pd.to_numeric(v, errors="coerce").to_numpy(float))
                continue
            text = v.astype(str)
            unknown = sorted(set(text[v.notna()]) - set(levels))
            if unknown:
                raise InputError(
                    f"{source}, column {col!r}: level(s) {', '.join(unknown[:5])} were not in "
                    f"the fitted data (levels {', '.join(levels)})"
                )
            for lev in levels[1:]:
                out.append(np.where(v.notna(), (text == lev).astype(float), np.nan))
        return np.column_stack(out) if out else np.zeros((len(life), 0))

    # ---------------------------------------------------------------- fit
    def fit(
        self,
        measures: pd.DataFrame | ProvenanceTable,
        lifespans: pd.DataFrame | ProvenanceTable,
        *,
        covariates: Sequence[str] = (),
        animal: str = "animal",
        age: str = "age",
        value: str = "value",
        time: str = "time",
        event: str = "event",
        entry: str | None = None,
        license: str | None = None,
        provenance: Provenance | None = None,
        policy: LicensePolicy | None = None,
        source: str = "data",
    ) -> JointModel:
        """Fit both submodels by maximum likelihood.

        ``measures``: one row per measurement (``animal``, ``age`` in months, ``value``) of
        one measure. ``lifespans``: one row per animal (``animal``, ``time`` = age at death
        or censoring in months, ``event`` 1/0, the ``covariates``). Tables that carry
        their licence (:class:`~translocus.core.table.ProvenanceTable`) pass the licence
        gate with it; plain frames with ``license=`` or ``provenance=``.
        """
        self._check_options()
        provs: list[Provenance | None] = []
        frames: list[pd.DataFrame] = []
        for table in (measures, lifespans):
            if isinstance(table, ProvenanceTable):
                provs.append(table.provenance)
                frames.append(table.data)
            else:
                provs.append(None)
                frames.append(table)
        if all(p is None for p in provs) or license is not None or provenance is not None:
            provs = [provenance_for(license=license, provenance=provenance)]
        self.licence_decisions_ = [
            licence_gate(
                p,
                policy,
                use=self.use,
                purpose="joint course and survival model",
                estimator="JointModel.fit",
            )  # fmt: skip
            for p in dict.fromkeys(x for x in provs if x is not None)
        ]
        measures, lifespans = frames
        self.columns_ = {
            "animal": animal, "age": age, "value": value, "time": time, "event": event,
            "entry": entry,
        }  # fmt: skip
        self.covariate_columns_ = list(covariates)
        levels: dict[str, list[str] | None] = {}
        for col in covariates:
            if col not in lifespans.columns:
                raise InputError(
                    f"{source}: the lifespans table has no covariate column {col!r}; its "
                    f"columns are {', '.join(map(str, lifespans.columns[:15]))}"
                )
            v = lifespans[col]
            if pd.api.types.is_numeric_dtype(v) and not pd.api.types.is_bool_dtype(v):
                levels[col] = None
            else:
                levels[col] = sorted(v.dropna().astype(str).unique())
        self.covariate_levels_ = levels
        self.covariates_ = [
            name
            for col, levs in levels.items()
            for name in ([col] if levs is None else [f"{col}[{lev}]" for lev in levs[1:]])
        ]
        self._quadrature()
        ages = pd.to_numeric(measures[age], errors="coerce") if age in measures else None
        self.centre_ = float(np.nanmedian(ages)) if ages is not None and ages.notna().any() else 0
        data, counts = self._design(measures, lifespans, fitting=True, source=source)
        self.counts_ = counts
        if data.animals.size < 10 or data.event.sum() < 5 or data.y.size < 20:
            raise InputError(
                f"{source}: {data.animals.size} animals with measurements, "
                f"{int(data.event.sum())} deaths and {data.y.size} measurements; a joint model "
                "needs at least 10 animals, 5 deaths and 20 measurements"
            )
        deaths = data.time[data.event == 1]
        if self.baseline_knots:
            if deaths.size < 5 * self.baseline_knots:
                raise InputError(
                    f"{source}: {deaths.size} deaths are too few for a baseline spline with "
                    f"{self.baseline_knots} knots (at least {5 * self.baseline_knots}); use "
                    "fewer knots or baseline_knots=0"
                )
            probs = np.linspace(0.05, 0.95, int(self.baseline_knots))
            self.baseline_knots_ = np.quantile(deaths, probs).tolist()
        else:
            self.baseline_knots_ = []
        self.value_mean_ = float(data.y.mean())
        self.value_sd_ = float(data.y.std()) or 1.0
        data.y = (data.y - self.value_mean_) / self.value_sd_
        self.n_animals_ = int(data.animals.size)
        self.n_deaths_ = int(data.event.sum())
        self.n_measurements_ = int(data.y.size)
        # many small products: a threaded BLAS would only spin next to the kernels' threads
        with blas_threads(1):
            theta = self._start(data)
            self.params_, self.converged_, self.n_iter_, self.loglik_ = self._optimise(theta, data)
            self._covariance(data)
        return self

    def _quadrature(self) -> None:
        """The Gauss-Hermite grid of the random effects and the Gauss-Legendre rule."""
        self._n_hermite = int(self.n_quadrature or (7 if self._n_random == 2 else 5))
        self._gh = _gauss_hermite(self._n_hermite, self._n_random)
        self._gl = np.polynomial.legendre.leggauss(int(self.n_legendre))

    def _start(self, data: _Data) -> np.ndarray:
        """Starting values: the longitudinal submodel alone, then the survival one alone."""
        q = data.w.shape[1]
        lay = self._layout(q)
        theta = np.zeros(lay["alpha"].stop)
        powers, _ = _polynomial(data.s, self.degree)
        x = np.c_[powers, data.w[data.index]]
        beta = np.linalg.lstsq(x, data.y, rcond=None)[0]
        resid = float(np.std(data.y - x @ beta)) or 1.0
        theta[lay["beta"]] = beta
        theta[lay["log_sigma"]] = np.log(0.5 * resid)
        start_chol = np.zeros((self._n_random, self._n_random))
        start_chol[np.diag_indices(self._n_random)] = np.log(
            [0.8 * resid, 0.3, 0.1][: self._n_random]
        )
        theta[lay["chol"]] = start_chol[np.tril_indices(self._n_random)]
        # longitudinal only: the survival part with no association does not depend on b
        idx = np.r_[np.arange(lay["beta"].start, lay["chol"].stop)]
        self._fit_subset(theta, idx, self._longitudinal_loglik(data))
        deaths = max(data.event.sum(), 1.0)
        exposure = float(np.sum(data.time - data.t0)) or 1.0
        theta[lay["gompertz"]] = [np.log(deaths / exposure), 0.5]
        idx = np.r_[np.arange(lay["gompertz"].start, lay["gamma_age"].stop)]
        self._fit_subset(theta, idx, lambda th: self._loglik_gradient(th, data))
        return theta

    def _longitudinal_loglik(self, data: _Data) -> Any:
        """The longitudinal submodel's log-likelihood and its gradient (its parameters)."""
        q = data.w.shape[1]
        n_long = self._layout(q)["chol"].stop

        def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
            par = self._unpack(theta, q)
            grad = np.zeros(theta.size)
            try:
                logpy, mean, chol = self._posterior(par, data)
            except np.linalg.LinAlgError:
                return -np.inf, grad
            grad[:n_long] = self._longitudinal_gradient(par, data, mean, chol)
            return float(logpy.sum()), grad

        return loglik

    def _fit_subset(self, theta: np.ndarray, idx: np.ndarray, loglik: Any) -> None:
        """Maximise ``loglik`` (value and full gradient) in the parameters ``idx`` only."""

        def objective(sub: np.ndarray) -> tuple[float, np.ndarray]:
            full = theta.copy()
            full[idx] = sub
            value, grad = loglik(full)
            if not np.isfinite(value):
                return 1e300, np.zeros(sub.size)
            return -value, -grad[idx]

        res = optimize.minimize(objective, theta[idx], method="L-BFGS-B", jac=True,
                                options={"maxiter": 200})  # fmt: skip
        theta[idx] = res.x

    def _optimise(self, theta: np.ndarray, data: _Data) -> tuple[pd.Series, bool, int, float]:
        n = data.animals.size

        def value_and_gradient(th: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self._loglik_gradient(th, data)
            if not np.isfinite(value):
                return 1e300, np.zeros_like(th)
            return -value / n, -grad / n

        # the gradient is exact, so the optimiser can stop close to the optimum (within
        # ~1e-5 on SLAM where ftol 1e-12 left 1e-4) for a few more iterations
        res = optimize.minimize(
            value_and_gradient,
            theta,
            method="L-BFGS-B",
            jac=True,
            options={"maxiter": int(self.max_iter), "ftol": 1e-14, "gtol": 1e-8},
        )
        _, grad = value_and_gradient(res.x)
        converged = bool(res.success) or float(np.max(np.abs(grad))) < 1e-4
        if not converged:
            warnings.warn(
                f"JointModel: the likelihood did not converge in {res.nit} iterations "
                f"({res.message}); raise max_iter or simplify association/degree",
                ConvergenceWarning,
                stacklevel=3,
            )
        params = pd.Series(res.x, index=self._names())
        return params, converged, int(res.nit), -float(res.fun) * data.animals.size

    def _covariance(self, data: _Data) -> None:
        theta = self.params_.to_numpy()

        def gradient(th: np.ndarray) -> np.ndarray:
            value, grad = self._loglik_gradient(th, data)
            return -grad if np.isfinite(value) else np.full_like(grad, np.nan)

        hess = _jacobian(gradient, theta)
        try:
            cov = np.linalg.inv(hess)
            ok = bool(np.all(np.diag(cov) > 0))
        except np.linalg.LinAlgError:
            ok = False
        vanishing = self._vanishing_random_effects()
        if not ok:
            warnings.warn(
                "JointModel: the information matrix is not positive definite at the optimum; "
                "standard errors are not given (a parameter may not be identified"
                + (f": {vanishing})" if vanishing else ")"),
                ConvergenceWarning,
                stacklevel=3,
            )
            cov = np.full_like(hess, np.nan)
        elif vanishing:
            warnings.warn(f"JointModel: {vanishing}", ConvergenceWarning, stacklevel=3)
        self.covariance_ = pd.DataFrame(cov, index=self.params_.index, columns=self.params_.index)

    def _vanishing_random_effects(self) -> str:
        """Which per-animal effects have an SD at the boundary (near zero), as advice; or ''.

        Their log SD runs towards minus infinity: the fit stops on the tolerance, not at an
        optimum, and the other parameters' standard errors are those of a boundary.
        """
        names = [
            name.removeprefix("random:log_sd_")
            for name, value in self.params_.items()
            if name.startswith("random:log_sd_") and value < _LOG_SD_VANISHING
        ]
        if not names:
            return ""
        advice = "; fit with random_degree=1" if self.random_degree == 2 else ""
        return (
            f"the per-animal {' and '.join(names)} SD is near zero (below "
            f"{np.exp(_LOG_SD_VANISHING):g} of the measure's SD): the data do not support "
            f"it{advice}"
        )

    # ---------------------------------------------------------------- results
    @property
    def summary(self) -> pd.DataFrame:
        """Every parameter with standard error and interval; associations on the data's scale.

        ``association:value`` is the log hazard ratio per unit of the measure (at age
        ``centre_`` when ``value_by_age`` is also given: that row is its change per year of
        age), ``association:slope`` per unit per month of its slope; the other rows are on the
        internal scale (measure standardised by ``value_mean_``/``value_sd_``, age in years
        from ``centre_`` months).
        """
        check_fitted(self)
        se = np.sqrt(np.diag(self.covariance_.to_numpy()))
        est = self.params_.to_numpy().copy()
        scale = np.ones_like(est)
        for j, name in enumerate(self.params_.index):
            if name in ("association:value", "association:value_by_age", "association:from_peak"):
                scale[j] = 1.0 / self.value_sd_
            elif name in ("association:slope", "association:slope_by_age"):
                scale[j] = _AGE_SCALE / self.value_sd_
        z = normal_quantile(self.level)
        est, se = est * scale, se * scale
        lower, upper = interval_columns(self.level)
        return pd.DataFrame(
            {"estimate": est, "std_error": se, lower: est - z * se, upper: est + z * se},
            index=self.params_.index,
        )

    @property
    def association_(self) -> pd.DataFrame:
        """The association rows of :attr:`summary` with their hazard ratios."""
        table = self.summary.loc[[f"association:{a}" for a in self.association]].copy()
        table["hazard_ratio"] = np.exp(table["estimate"])
        table["per"] = [_PER[a] for a in self.association]
        return table

    def _history(
        self, measures: pd.DataFrame, animals: pd.DataFrame, landmark: float, source: str
    ) -> tuple[_Data, dict[str, Any]]:
        cols = self.columns_
        meas = measures.loc[pd.to_numeric(measures[cols["age"]], errors="coerce") <= landmark]
        data, _ = self._design(meas, animals, fitting=False, source=source)
        data.y = (data.y - self.value_mean_) / self.value_sd_
        data.time = np.full(data.animals.size, float(landmark))
        data.t0 = np.where(np.isfinite(data.t0), np.minimum(data.t0, landmark), landmark)
        par = self._unpack(self.params_.to_numpy(), data.w.shape[1])
        return data, par

    def predict_risk(
        self,
        measures: pd.DataFrame | ProvenanceTable,
        animals: pd.DataFrame | ProvenanceTable,
        *,
        landmarks: Sequence[float],
        horizons: Sequence[float] = (3.0, 6.0),
        source: str = "data",
    ) -> pd.DataFrame:
        """Probability of death within each horizon for animals alive at each landmark.

        Uses each animal's measurements up to the landmark (months) and its survival to it.
        Returns one row per animal, landmark and horizon: ``risk``, the course's current
        ``value`` and ``slope`` (per month) given the history and survival, and
        ``n_measurements`` used.
        """
        check_fitted(self)
        measures = measures.data if isinstance(measures, ProvenanceTable) else measures
        animals = animals.data if isinstance(animals, ProvenanceTable) else animals
        rows = []
        _, wk = self._gh
        for landmark in landmarks:
            data, par = self._history(measures, animals, float(landmark), source)
            _, mean, chol = self._posterior(par, data)
            b = self._nodes(mean, chol)
            log_s = self._log_survival(par, data.t0, data.time, data.w, mean, chol)
            log_w = np.log(wk)[None, :] + log_s
            norm = special.logsumexp(log_w, axis=1)
            post = np.exp(log_w - norm[:, None])
            s_l = np.full(data.animals.size, (landmark - self.centre_) / _AGE_SCALE)
            level, slope = self._fixed(par, s_l, data.w)
            rand_level, rand_slope = self._random_terms(b, s_l[:, None])
            value = level[:, None] + rand_level[:, :, 0]
            cur = (post * value).sum(1) * self.value_sd_ + self.value_mean_
            cur_slope = (post * (slope[:, None] + rand_slope[:, :, 0])).sum(1)
            cur_slope = cur_slope * self.value_sd_ / _AGE_SCALE
            n_meas = np.bincount(data.index, minlength=data.animals.size)
            for h in horizons:
                later = self._log_survival(
                    par, data.time, data.time + float(h), data.w, mean, chol, data.t0
                )
                surv = special.logsumexp(log_w + later, axis=1) - norm
                rows.append(
                    pd.DataFrame(
                        {
                            "animal": data.animals,
                            "landmark": float(landmark),
                            "horizon": float(h),
                            "risk": -np.expm1(surv),
                            "value": cur,
                            "slope": cur_slope,
                            "n_measurements": n_meas,
                        }
                    )
                )
        return pd.concat(rows, ignore_index=True)

    def predict_course(
        self,
        measures: pd.DataFrame | ProvenanceTable,
        animals: pd.DataFrame | ProvenanceTable,
        *,
        landmark: float,
        ages: Sequence[float],
        level: float | Sequence[float] = 0.9,
        source: str = "data",
    ) -> pd.DataFrame:
        """Forecasts of the measure at ``ages`` from the history up to ``landmark``.

        The forecast at age ``a`` is for an animal alive at ``a``: each value of the random
        effects is weighted by the probability of surviving to ``a`` (informative
        drop-out). Columns ``animal``, ``landmark``, ``age``, ``point`` (mean),
        ``lower_<level>``/``upper_<level>`` (central intervals of a new measurement),
        ``point_ignoring_dropout`` (the longitudinal submodel's own forecast) and
        ``survival`` (probability of being alive at ``a`` given alive at ``landmark``).
        """
        check_fitted(self)
        measures = measures.data if isinstance(measures, ProvenanceTable) else measures
        animals = animals.data if isinstance(animals, ProvenanceTable) else animals
        levels = as_levels(level)
        data, par = self._history(measures, animals, float(landmark), source)
        _, mean, chol = self._posterior(par, data)
        b = self._nodes(mean, chol)
        _, wk = self._gh
        log_s = self._log_survival(par, data.t0, data.time, data.w, mean, chol)
        log_w = np.log(wk)[None, :] + log_s
        norm = special.logsumexp(log_w, axis=1)
        rows = []
        for a in ages:
            later = (
                self._log_survival(
                    par, data.time, np.maximum(data.time, a), data.w, mean, chol, data.t0
                )
                if a > landmark
                else np.zeros_like(log_w)
            )
            lw = log_w + later
            lnorm = special.logsumexp(lw, axis=1)
            post = np.exp(lw - lnorm[:, None])
            s_a = np.full(data.animals.size, (a - self.centre_) / _AGE_SCALE)
            level_a, _ = self._fixed(par, s_a, data.w)
            m = level_a[:, None] + self._random_terms(b, s_a[:, None])[0][:, :, 0]
            frame = {
                "animal": data.animals,
                "landmark": float(landmark),
                "age": float(a),
                POINT: (post * m).sum(1) * self.value_sd_ + self.value_mean_,
            }
            for lev in levels:
                lo, hi = interval_columns(lev)
                frame[lo] = _mixture_quantile(m, post, par["sigma"], (1 - lev) / 2)
                frame[hi] = _mixture_quantile(m, post, par["sigma"], (1 + lev) / 2)
                frame[lo] = frame[lo] * self.value_sd_ + self.value_mean_
                frame[hi] = frame[hi] * self.value_sd_ + self.value_mean_
            frame["point_ignoring_dropout"] = (m * wk[None, :]).sum(1) * self.value_sd_ + (
                self.value_mean_
            )
            frame["survival"] = np.exp(lnorm - norm)
            rows.append(pd.DataFrame(frame))
        return pd.concat(rows, ignore_index=True)

    def plot(self, ax: Any = None) -> Any:
        """Forest plot of the association log hazard ratios with intervals."""
        check_fitted(self)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 2.5))
        table = self.association_
        lower, upper = interval_columns(self.level)
        y = np.arange(len(table))
        ax.errorbar(
            table["estimate"], y,
            xerr=[table["estimate"] - table[lower], table[upper] - table["estimate"]],
            fmt="o",
        )  # fmt: skip
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_yticks(y, [f"{i.split(':')[1]} (per {p})" for i, p in zip(
            table.index, table["per"], strict=True)])  # fmt: skip
        ax.set_xlabel("log hazard ratio")
        return ax


def _mixture_quantile(m: np.ndarray, weights: np.ndarray, sigma: float, p: float) -> np.ndarray:
    """Quantile ``p`` of the normal mixture ``sum_k weights_k N(m_k, sigma^2)`` per row."""
    from scipy import stats

    lo = (m.min(1) - 8 * sigma).copy()
    hi = (m.max(1) + 8 * sigma).copy()
    for _ in range(60):
        mid = (lo + hi) / 2
        cdf = (weights * stats.norm.cdf((mid[:, None] - m) / sigma)).sum(1)
        below = cdf < p
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return (lo + hi) / 2


def _jacobian(grad: Any, x: np.ndarray) -> np.ndarray:
    """Symmetrised central-difference Jacobian of a gradient: a Hessian in ``2 k`` gradients.

    A gradient exact to rounding takes steps of ``1e-5`` (truncation ``~1e-10``) where
    second differences of the function itself need ``O(k^2)`` evaluations and larger ones.
    """
    k = x.size
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        hess[i] = (grad(x + e) - grad(x - e)) / (2 * h[i])
    return (hess + hess.T) / 2


# ---------------------------------------------------------------------------------------
# validation: time-dependent AUC, Brier score, calibration
# ---------------------------------------------------------------------------------------
def _at_risk(time: Any, event: Any, risk: Any, landmark: float) -> tuple[np.ndarray, ...]:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    r = np.asarray(risk, dtype=float)
    if not (t.shape == e.shape == r.shape):
        raise InputError("time, event and risk must have one value per animal")
    keep = (t > landmark) & np.isfinite(r)
    return t[keep], e[keep], r[keep]


def _censoring_survival(t: np.ndarray, e: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Kaplan-Meier of the censoring times just before ``at`` (``G(at-)``).

    The product ``prod_{c <= u} (1 - d_c / n_c)`` over the censoring times ``c`` (``d_c``
    censored at ``c``, ``n_c`` with time at or after it), in numpy: the metrics are
    recomputed for every bootstrap sample.
    """
    censored = e == 0
    if not np.any(censored):
        return np.ones_like(at)
    times, count = np.unique(t[censored], return_counts=True)
    ordered = np.sort(t)
    at_risk = ordered.size - np.searchsorted(ordered, times, side="left")
    with np.errstate(divide="ignore"):  # all censored at the last time: the curve ends at 0
        curve = np.r_[1.0, np.exp(np.cumsum(np.log1p(-count / at_risk)))]
    return np.maximum(curve[np.searchsorted(times, at - 1e-9, side="right")], 1e-12)


def time_dependent_auc(
    risk: Any, time: Any, event: Any, *, landmark: float, horizon: float
) -> float:
    """Cumulative/dynamic AUC at ``landmark + horizon`` with inverse censoring weights.

    Among animals alive at ``landmark``, cases die by ``landmark + horizon`` and controls
    live past it; cases are weighted by ``1 / G(T-)``, the Kaplan-Meier of censoring (Uno
    et al. 2007; Blanche et al. 2013). Without censoring it is the Mann-Whitney AUC.

    >>> round(time_dependent_auc([0.9, 0.2, 0.6, 0.1], [2, 9, 4, 8], [1, 1, 1, 0],
    ...                          landmark=0, horizon=5), 3)
    1.0
    """
    t, e, r = _at_risk(time, event, risk, landmark)
    end = landmark + horizon
    case = (t <= end) & (e == 1)
    control = t > end
    if not case.any() or not control.any():
        return float("nan")
    weight = 1.0 / _censoring_survival(t, e, t[case])
    ctrl = np.sort(r[control])
    below = np.searchsorted(ctrl, r[case], side="left")
    ties = np.searchsorted(ctrl, r[case], side="right") - below
    conc = (below + 0.5 * ties) / ctrl.size
    return float(np.sum(weight * conc) / np.sum(weight))


def brier_score(risk: Any, time: Any, event: Any, *, landmark: float, horizon: float) -> float:
    """Inverse-censoring-weighted Brier score of death by ``landmark + horizon`` (Graf 1999).

    >>> brier_score([1.0, 0.0], [2.0, 9.0], [1, 0], landmark=0, horizon=5)
    0.0
    """
    t, e, r = _at_risk(time, event, risk, landmark)
    end = landmark + horizon
    case = (t <= end) & (e == 1)
    control = t > end
    if not t.size:
        return float("nan")
    loss = np.zeros(t.size)
    loss[case] = (1.0 - r[case]) ** 2 / _censoring_survival(t, e, t[case])
    loss[control] = r[control] ** 2 / _censoring_survival(t, e, np.array([end]))[0]
    return float(loss.mean())


def calibration_table(
    risk: Any, time: Any, event: Any, *, landmark: float, horizon: float, bins: int = 5
) -> pd.DataFrame:
    """Predicted against observed risk by risk group (Kaplan-Meier within each group).

    One row per group of animals alive at ``landmark`` (equal-sized groups by predicted
    risk): ``n``, ``predicted`` (mean risk), ``observed`` (1 - Kaplan-Meier survival at
    ``landmark + horizon``) with its interval ``observed_lower``/``observed_upper``.

    >>> calibration_table([0.1, 0.2, 0.8, 0.9], [9.0, 8.0, 2.0, 3.0], [0, 0, 1, 1],
    ...                   landmark=0.0, horizon=5.0, bins=2)[["n", "predicted", "observed"]]
       n  predicted  observed
    0  2       0.15       0.0
    1  2       0.85       1.0
    """
    from translocus.progression.survival import KaplanMeier

    t, e, r = _at_risk(time, event, risk, landmark)
    order = np.argsort(r, kind="stable")
    rows = []
    for group, part in enumerate(np.array_split(order, max(1, min(bins, t.size)))):
        if not part.size:
            continue
        km = KaplanMeier().fit(t[part] - landmark, e[part])
        tab = km.table_
        at = np.searchsorted(tab["time"].to_numpy(), horizon, side="right")
        surv, lo, hi = (
            (1.0, 1.0, 1.0)
            if at == 0
            else tuple(tab[c].iloc[at - 1] for c in ("survival", "lower", "upper"))
        )
        rows.append(
            {
                "group": group + 1,
                "n": int(part.size),
                "predicted": float(r[part].mean()),
                "observed": 1.0 - surv,
                "observed_lower": 1.0 - hi,
                "observed_upper": 1.0 - lo,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# simulation with a planted association
# ---------------------------------------------------------------------------------------
def simulate_joint(
    n_animals: int,
    *,
    association: float = 0.8,
    association_slope: float = 0.0,
    association_peak: float = 0.0,
    association_age: float = 0.0,
    association_slope_age: float = 0.0,
    visit_every: float = 3.0,
    entry: float = 6.0,
    random_state: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Animals from the joint model with a known association (the measure in its own units).

    Course ``m(t) = 30 + 4 s - 1.5 s^2 + b0 + b1 s`` (s in years from 18 months; ``b0`` sd
    3, ``b1`` sd 1.5, correlation 0.3), residual sd 1; Gompertz hazard
    ``exp(-4.5 + 1.5 s + association (m(t) - 30) + association_slope dm/dt)`` per month with
    ``association`` per unit of the measure and ``association_slope`` per unit per month,
    plus ``association_peak`` per unit the course lies below its running maximum since
    ``entry`` (taken on the simulation grid); ``association_age`` and
    ``association_slope_age`` add ``s (m(t) - 30)`` and ``s dm/dt`` (associations that
    change per year of age);
    visits every ``visit_every`` months from ``entry``; censoring uniform between 24 and 40
    months. Returns (measures, lifespans) with ``sex`` as a covariate (no effect).

    >>> m, life = simulate_joint(20, random_state=0)
    >>> sorted(life.columns)
    ['animal', 'event', 'sex', 'time']
    """
    rng = np.random.default_rng(random_state)
    centre = 18.0
    cov = np.array([[9.0, 0.3 * 3 * 1.5], [0.3 * 3 * 1.5, 2.25]])
    b = rng.multivariate_normal([0.0, 0.0], cov, size=n_animals)
    grid = np.linspace(entry, 48.0, 2001)
    s = (grid - centre) / _AGE_SCALE
    course = 30 + 4 * s[None, :] - 1.5 * s[None, :] ** 2 + b[:, :1] + b[:, 1:] * s[None, :]
    slope = (4 - 3 * s[None, :] + b[:, 1:]) / _AGE_SCALE
    fall = np.maximum.accumulate(course, axis=1) - course
    log_h = (
        -4.5
        + 1.5 * s[None, :]
        + association * (course - 30)
        + association_slope * slope
        + association_peak * fall
        + s[None, :] * (association_age * (course - 30) + association_slope_age * slope)
    )
    h = np.exp(log_h)
    cum = np.concatenate(
        [np.zeros((n_animals, 1)), np.cumsum((h[:, 1:] + h[:, :-1]) / 2 * np.diff(grid), 1)],
        axis=1,
    )
    target = -np.log(rng.uniform(size=n_animals))
    death = np.array(
        [np.interp(target[i], cum[i], grid) if target[i] < cum[i, -1] else np.inf
         for i in range(n_animals)]
    )  # fmt: skip
    censor = rng.uniform(24.0, 40.0, size=n_animals)
    time = np.minimum(death, censor)
    event = (death <= censor).astype(float)
    rows = []
    for i in range(n_animals):
        ages = np.arange(entry, time[i], visit_every)
        sa = (ages - centre) / _AGE_SCALE
        mean = 30 + 4 * sa - 1.5 * sa**2 + b[i, 0] + b[i, 1] * sa
        values = mean + rng.normal(0.0, 1.0, size=ages.size)
        rows.append(pd.DataFrame({"animal": f"a{i}", "age": ages, "value": values}))
    lifespans = pd.DataFrame(
        {
            "animal": [f"a{i}" for i in range(n_animals)],
            "time": time,
            "event": event,
            "sex": rng.choice(["F", "M"], size=n_animals),
        }
    )
    return pd.concat(rows, ignore_index=True), lifespans
