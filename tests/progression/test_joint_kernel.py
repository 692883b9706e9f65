"""The joint model's compiled likelihood against a plain computation, option by option.

The reference computes each animal's log-likelihood the long way: the marginal density of
its measurements from ``Z D Z' + sigma^2 I`` (scipy), the posterior of its random effects
from the marginal covariance (not the precision the kernel inverts), the product
Gauss-Hermite grid from :func:`itertools.product`, and at every node the hazard from its
definition (the fall from the peak by the roots of the course's derivative, the spline
from the truncated-power formula), its cumulative hazard by scipy's adaptive quadrature or
by the model's Gauss-Legendre rule in an explicit loop. Small random cases cover every
option: degree 0 to 3, one or two random-effect degrees, covariates by age, the spline
baseline, and each association.

The exact gradient (the longitudinal parameters move the marginal density, the course in
the hazard and the Gauss-Hermite nodes through the posterior's mean and Cholesky factor)
is checked against Richardson-extrapolated central differences of the likelihood (steps
``1e-4`` and ``5e-5``: ``(4 D(h / 2) - D(h)) / 3``, error ``O(h^4)``; steps of ``1e-3``
can straddle a node's kink in the fall from the peak) for the same options, with entry
ages before the first measurement, and the fit's Hessian (central differences of the
gradient) against second differences of the likelihood.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from numdiff import central_gradient
from translocus.progression._joint_numba import N_FIXED_FEATURES, survival_terms
from translocus.progression.joint import JointModel, _Data, _jacobian

CENTRE = 18.0

CASES: list[dict[str, Any]] = [
    dict(degree=2, random_degree=1, association=("value",)),
    dict(degree=0, random_degree=1, association=("slope",), covariates_by_age=True),
    dict(degree=1, random_degree=2, association=("value_by_age", "slope_by_age")),
    dict(degree=3, random_degree=2, association=("value", "slope", "value_by_age"),
         covariates_by_age=True, baseline_knots=4),
    dict(degree=2, random_degree=2, association=("value", "slope", "from_peak"),
         baseline_knots=3),
    dict(degree=1, random_degree=1, association=("from_peak", "slope_by_age"),
         covariates_by_age=True),
    dict(degree=0, random_degree=2, association=("from_peak",), baseline_knots=5),
    dict(degree=3, random_degree=1, association=("value", "slope", "value_by_age",
                                                  "slope_by_age")),
]  # fmt: skip


def _case(options: dict[str, Any], seed: int) -> tuple[JointModel, _Data, np.ndarray]:
    """A model with its fitted state set by hand, 7 animals and random parameters."""
    rng = np.random.default_rng(seed)
    model = JointModel(n_quadrature=3, n_legendre=12, **options)
    n, q = 7, 2
    model.centre_ = CENTRE
    knots = int(options.get("baseline_knots", 0))
    model.baseline_knots_ = sorted(rng.uniform(12.0, 30.0, knots).tolist())
    model._quadrature()  # 3 Gauss-Hermite nodes per effect, 12 Gauss-Legendre
    t0 = rng.uniform(6.0, 12.0, n)
    time = t0 + rng.uniform(8.0, 24.0, n)
    visits = rng.integers(2, 6, n)
    index = np.repeat(np.arange(n), visits)
    ages = np.concatenate(
        [np.sort(rng.uniform(a, b, k)) for a, b, k in zip(t0, time, visits, strict=True)]
    )
    ages[np.r_[0, np.cumsum(visits)[:-1]]] = t0  # entry at the first measurement
    data = _Data(
        animals=np.array([f"a{i}" for i in range(n)]),
        w=rng.normal(0.0, 1.0, (n, q)),
        t0=t0,
        time=time,
        event=(rng.uniform(size=n) < 0.6).astype(float),
        index=index,
        s=(ages - CENTRE) / 12.0,
        y=rng.normal(0.0, 1.0, index.size),
    )
    lay = model._layout(q)
    theta = rng.normal(0.0, 0.3, lay["alpha"].stop)
    theta[lay["log_sigma"]] = np.log(0.6)
    theta[lay["gompertz"]] = [-3.0, 0.8]
    theta[lay["alpha"]] = rng.normal(0.0, 0.8, lay["alpha"].stop - lay["alpha"].start)
    return model, data, theta


def _spline(s: float, knots: np.ndarray) -> np.ndarray:
    """Restricted cubic spline terms, truncated-power form (Harrell 2015, eq. 2.25)."""
    k = knots
    plus = lambda x: max(x, 0.0) ** 3  # noqa: E731
    return np.array([
        (plus(s - k[j]) - plus(s - k[-2]) * (k[-1] - k[j]) / (k[-1] - k[-2])
         + plus(s - k[-1]) * (k[-2] - k[j]) / (k[-1] - k[-2])) / (k[-1] - k[0]) ** 2
        for j in range(k.size - 2)
    ])  # fmt: skip


class _Animal:
    """One animal's hazard at given random effects, straight from the definitions."""

    def __init__(self, model: JointModel, theta: np.ndarray, w: np.ndarray, entry: float):
        self.model, self.w, self.entry = model, w, entry
        self.par = model._unpack(theta, w.size)
        self.knots = (np.asarray(model.baseline_knots_) - CENTRE) / 12.0

    def course(self, b: np.ndarray) -> np.polynomial.Polynomial:
        par = self.par
        coef = np.zeros(4)
        coef[: self.model.degree + 1] += par["beta"][: self.model.degree + 1]
        coef[0] += self.w @ par["beta"][self.model.degree + 1 :]
        coef[: b.size] += b
        return np.polynomial.Polynomial(coef)

    def log_hazard(self, age: float, b: np.ndarray) -> float:
        par, s = self.par, (age - CENTRE) / 12.0
        m = self.course(b)
        dm = m.deriv()
        out = par["g0"] + par["g1"] * s + self.w @ par["gamma"]
        if self.model.covariates_by_age:
            out += (self.w @ par["gamma_age"]) * s
        if self.knots.size:
            out += _spline(s, self.knots) @ par["spline"]
        out += (par["alpha"] + par["alpha_age"] * s) * m(s)
        out += (par["alpha_slope"] + par["alpha_slope_age"] * s) * dm(s)
        if "from_peak" in self.model.association:
            s_e = (self.entry - CENTRE) / 12.0
            roots = np.asarray(dm.roots(), dtype=complex)
            inside = [float(x.real) for x in roots if abs(x.imag) < 1e-12 and s_e < x.real < s]
            out += par["alpha_peak"] * (max(m(x) for x in [s_e, s, *inside]) - m(s))
        return float(out)

    def log_survival(self, start: float, stop: float, b: np.ndarray, how: str) -> float:
        """``-(H(stop) - H(start))``: ``how`` "quad" (adaptive) or "legendre" (the model's)."""
        hazard = lambda a: np.exp(min(self.log_hazard(a, b), 700.0))  # noqa: E731
        if how == "quad":
            breaks = [k * 12.0 + CENTRE for k in self.knots if start < k * 12.0 + CENTRE < stop]
            value = integrate.quad(hazard, start, stop, epsabs=0.0, epsrel=1e-13, limit=200,
                                   points=breaks or None)[0]  # fmt: skip
            return -value
        x, wl = self.model._gl
        half = (stop - start) / 2.0
        return -sum(
            half * wj * hazard(start + half * (xj + 1.0)) for xj, wj in zip(x, wl, strict=True)
        )


def _posterior(model: JointModel, theta: np.ndarray, data: _Data, i: int) -> tuple[Any, ...]:
    """Marginal log density and posterior of one animal's random effects (no precisions)."""
    par = model._unpack(theta, data.w.shape[1])
    rows = data.index == i
    s = data.s[rows]
    d = model.degree
    fixed = np.vander(s, d + 1, increasing=True) @ par["beta"][: d + 1]
    fixed += data.w[i] @ par["beta"][d + 1 :]
    z = np.vander(s, model._n_random, increasing=True)
    cov_b = par["chol"] @ par["chol"].T
    v = z @ cov_b @ z.T + par["sigma"] ** 2 * np.eye(s.size)
    resid = data.y[rows] - fixed
    logpy = stats.multivariate_normal(fixed, v).logpdf(data.y[rows])
    gain = cov_b @ z.T @ np.linalg.inv(v)
    return logpy, gain @ resid, cov_b - gain @ z @ cov_b


def _grid(model: JointModel) -> list[tuple[np.ndarray, float]]:
    x, w = np.polynomial.hermite_e.hermegauss(3)
    w = w / w.sum()
    return [(x[list(k)], float(np.prod(w[list(k)])))
            for k in itertools.product(range(3), repeat=model._n_random)]  # fmt: skip


def _reference_loglik(model: JointModel, theta: np.ndarray, data: _Data, how: str) -> np.ndarray:
    out = []
    for i in range(data.animals.size):
        logpy, mean, cov = _posterior(model, theta, data, i)
        root = np.linalg.cholesky(cov)
        animal = _Animal(model, theta, data.w[i], data.t0[i])
        terms = []
        for u, weight in _grid(model):
            b = mean + root @ u
            a = animal.log_survival(data.t0[i], data.time[i], b, how)
            a += data.event[i] * animal.log_hazard(data.time[i], b)
            terms.append(np.log(weight) + a)
        out.append(logpy + np.logaddexp.reduce(terms))
    return np.array(out)


def _name(options: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("options", CASES, ids=_name)
def test_loglik_per_animal_equals_the_long_way_round(options: dict[str, Any]) -> None:
    model, data, theta = _case(options, seed=len(_name(options)))
    got = model._loglik(theta, data, per_animal=True)
    expected = _reference_loglik(model, theta, data, "legendre")
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("options", [c for c in CASES if "from_peak" not in c["association"]],
                         ids=_name)  # fmt: skip
def test_cumulative_hazard_is_the_integral_of_the_hazard(options: dict[str, Any]) -> None:
    """With enough Gauss-Legendre ages the kernel's likelihood is scipy's adaptive integral.

    (The fall from the peak has a kink in its second derivative where the course turns,
    which Gauss-Legendre only approaches slowly: those options are checked above against
    the same rule.)
    """
    model, data, theta = _case(options, seed=3)
    model._gl = np.polynomial.legendre.leggauss(40)
    got = model._loglik(theta, data, per_animal=True)
    tol = 1e-10 if not model.baseline_knots_ else 1e-7  # a cubic spline's knots are kinks too
    np.testing.assert_allclose(got, _reference_loglik(model, theta, data, "quad"), rtol=tol)


@pytest.mark.parametrize("options", CASES, ids=_name)
def test_survival_from_a_landmark_node_by_node(options: dict[str, Any]) -> None:
    """The prediction path: from a landmark to a horizon, the peak still taken from entry."""
    model, data, theta = _case(options, seed=11)
    par = model._unpack(theta, data.w.shape[1])
    _, mean, chol = model._posterior(par, data)
    landmark = (data.t0 + data.time) / 2.0
    got = model._log_survival(par, landmark, landmark + 6.0, data.w, mean, chol, data.t0)
    for i in range(data.animals.size):
        _, mean_i, cov = _posterior(model, theta, data, i)
        animal = _Animal(model, theta, data.w[i], data.t0[i])
        expected = [
            animal.log_survival(landmark[i], landmark[i] + 6.0, mean_i + np.linalg.cholesky(cov) @ u,
                                "legendre")
            for u, _ in _grid(model)
        ]  # fmt: skip
        np.testing.assert_allclose(got[i], expected, rtol=1e-10)


@pytest.mark.parametrize("options", CASES, ids=_name)
def test_survival_gradient_is_the_derivative_of_the_reference(options: dict[str, Any]) -> None:
    model, data, theta = _case(options, seed=5)
    lay = model._layout(data.w.shape[1])
    idx = np.arange(lay["gompertz"].start, lay["alpha"].stop)
    value, grad = model._loglik_gradient(theta, data)

    def reference(sub: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = sub
        return float(_reference_loglik(model, full, data, "legendre").sum())

    assert value == pytest.approx(reference(theta[idx]), rel=1e-10)
    np.testing.assert_allclose(grad[idx], central_gradient(reference, theta[idx]),
                               rtol=1e-6, atol=1e-8)  # fmt: skip


def test_capped_hazards_take_the_node_by_node_path_and_agree() -> None:
    """A log hazard past 700 is capped; the product of exponentials is not used there."""
    options = dict(degree=2, random_degree=2, association=("value", "slope"))
    model, data, theta = _case(options, seed=2)
    lay = model._layout(data.w.shape[1])
    theta[lay["gompertz"]] = [702.0, 0.5]  # past the cap at most ages
    got = model._loglik(theta, data, per_animal=True)
    np.testing.assert_allclose(got, _reference_loglik(model, theta, data, "legendre"), rtol=1e-10)


def test_product_and_node_by_node_paths_agree() -> None:
    """The factorised hazards equal the node-by-node ones (forced by an inert peak term)."""
    options = dict(degree=2, random_degree=2, association=("value", "slope", "from_peak"))
    model, data, theta = _case(options, seed=4)
    theta[-1] = 0.0  # alpha_peak: the fall changes nothing, but forces node by node
    par = model._unpack(theta, data.w.shape[1])
    _, mean, chol = model._posterior(par, data)
    args = (par, data.w, mean, chol, data.t0, data.time, data.t0, data.event)
    direct = model._survival_terms(*args, gradient=True)
    model.association = ("value", "slope")
    product = model._survival_terms(*args, gradient=True)
    np.testing.assert_allclose(direct[0], product[0], rtol=1e-12)
    np.testing.assert_allclose(direct[1], product[1], rtol=1e-12)
    # every gradient column but the fall's (zero on the product path), the course's too
    keep = np.arange(direct[2].shape[1]) != N_FIXED_FEATURES - 1
    np.testing.assert_allclose(direct[2][:, keep], product[2][:, keep], rtol=1e-10, atol=1e-14)


def test_kernel_returns_minus_infinity_for_an_impossible_death() -> None:
    """A zero hazard at the death age gives -inf, not NaN (the plain sum of the terms)."""
    model, data, theta = _case(dict(degree=1, random_degree=1, association=("value",)), 1)
    par = model._unpack(theta, data.w.shape[1])
    _, mean, chol = model._posterior(par, data)
    u, wk = model._gh
    hermite = np.polynomial.hermite_e.hermegauss(3)[0]
    x, wl = model._gl
    n = data.animals.size
    hazard = np.array([CENTRE, -np.inf, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    a, log_mean, _ = survival_terms(
        mean, chol, hermite, np.log(wk), x, wl, data.t0, data.time, data.t0, np.ones(n),
        np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(2), hazard, np.zeros(0), np.zeros(0),
        False, False,
    )  # fmt: skip
    assert np.all(a == -np.inf) and np.all(log_mean == -np.inf)


def _richardson(f: Callable[[np.ndarray], float], x: np.ndarray, h: float) -> np.ndarray:
    """Central differences with steps ``h`` and ``h / 2``, extrapolated to a zero step."""

    def central(step: float) -> np.ndarray:
        out = np.empty_like(x)
        for j in range(x.size):
            e = np.zeros_like(x)
            e[j] = step
            out[j] = (f(x + e) - f(x - e)) / (2.0 * step)
        return out

    return (4.0 * central(h / 2.0) - central(h)) / 3.0


@pytest.mark.parametrize("options", CASES, ids=_name)
def test_gradient_is_the_derivative_of_the_likelihood(options: dict[str, Any]) -> None:
    model, data, theta = _case(options, seed=len(_name(options)))
    value, grad = model._loglik_gradient(theta, data)
    assert value == model._loglik(theta, data)  # the same value, bit for bit
    expected = _richardson(lambda th: float(model._loglik(th, data)), theta, 1e-4)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


@pytest.mark.parametrize("options", [CASES[0], CASES[4]], ids=_name)
def test_gradient_with_entry_before_the_first_measurement(options: dict[str, Any]) -> None:
    """Survival conditioned on an entry age of its own (the peak taken from there too)."""
    model, data, theta = _case(options, seed=21)
    data.t0 = data.t0 - np.linspace(0.5, 4.0, data.t0.size)
    _, grad = model._loglik_gradient(theta, data)
    expected = _richardson(lambda th: float(model._loglik(th, data)), theta, 1e-4)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_longitudinal_gradient_alone_is_the_marginal_densitys() -> None:
    """Without the survival part the gradient is that of ``sum_i log p(y_i)``."""
    model, data, theta = _case(CASES[2], seed=8)
    n_long = model._layout(data.w.shape[1])["chol"].stop
    loglik = model._longitudinal_loglik(data)
    _, grad = loglik(theta)
    expected = _richardson(lambda th: loglik(th)[0], theta, 1e-4)
    np.testing.assert_allclose(grad[:n_long], expected[:n_long], rtol=1e-6, atol=1e-9)
    assert np.all(grad[n_long:] == 0.0)


def test_hessian_from_the_gradient_is_the_second_derivative() -> None:
    """Central differences of the exact gradient against second differences of the value."""
    model, data, theta = _case(CASES[3], seed=9)
    hess = _jacobian(lambda th: model._loglik_gradient(th, data)[1], theta)
    f = lambda th: float(model._loglik(th, data))  # noqa: E731
    h = 1e-3
    rng = np.random.default_rng(0)
    for _ in range(6):
        i, j = rng.integers(0, theta.size, 2)
        ei, ej = np.eye(theta.size)[i] * h, np.eye(theta.size)[j] * h
        second = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej)
                  + f(theta - ei - ej)) / (4 * h * h)  # fmt: skip
        assert hess[i, j] == pytest.approx(second, rel=1e-4, abs=1e-6 * np.abs(hess).max())
    np.testing.assert_array_equal(hess, hess.T)
