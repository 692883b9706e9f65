"""The joint course and survival model against closed-form truths and properties.

- simulated animals with a planted association between the course and the hazard: the
  association is recovered within its 95 % interval (and a null one is not found);
- with the association set to zero the dynamic risk is the Gompertz closed form
  ``1 - exp(-(H(t + h) - H(t)))``, whatever the history (checks both quadratures);
- time-dependent AUC and Brier score without censoring equal scikit-learn's AUC and the
  mean squared error of the animals alive at the landmark;
- course forecasts that account for drop-out lie below the longitudinal submodel's own
  when higher values carry a higher hazard;
- the fit of the planted fixture is where the numpy likelihood before the compiled kernels
  put it (to the optimiser's tolerance);
- the fall of the course below its own peak (``from_peak``): its closed form equals the
  running maximum on a dense grid, its exact gradient central differences, and a planted
  one is recovered;
- associations that change with age (``value_by_age``, ``slope_by_age``) and the natural
  spline baseline: exact gradients, the null risk equals the spline hazard's integral
  (scipy quadrature), the spline terms span scipy's natural cubic spline, and planted
  age-varying associations are recovered.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from estimator_contract import Case, check_estimator
from numdiff import central_gradient
from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import LicenseRefusedError
from translocus.progression.joint import (
    JointModel,
    brier_score,
    calibration_table,
    simulate_joint,
    time_dependent_auc,
)


@pytest.fixture(scope="module")
def planted() -> tuple[pd.DataFrame, pd.DataFrame, JointModel]:
    measures, lifespans = simulate_joint(220, association=0.3, random_state=3)
    model = JointModel(association=("value",)).fit(
        measures, lifespans, covariates=["sex"], license="CC0-1.0"
    )
    return measures, lifespans, model


def test_planted_association_is_recovered_within_its_interval(planted) -> None:
    _, lifespans, model = planted
    assert model.converged_
    row = model.association_.loc["association:value"]
    assert row["lower_0.95"] < 0.3 < row["upper_0.95"]
    assert row["std_error"] < 0.1
    # the covariate has no planted effect on either submodel
    summary = model.summary
    sex = summary.loc["survival:sex[M]"]
    assert sex["lower_0.95"] < 0.0 < sex["upper_0.95"]
    assert model.n_deaths_ == int(lifespans["event"].sum())


def test_planted_fit_is_where_the_numpy_likelihood_put_it(planted) -> None:
    """The compiled likelihood leaves the fit of the ``planted`` fixture where it was.

    The estimates and maximised log-likelihood below are those of the numpy implementation
    of the likelihood (commit 40dd1d9); the compiled one rounds differently, so the
    optimiser stops elsewhere within its tolerance (2e-6 apart at most when this was
    written). With the exact gradient in every parameter and tighter stopping the fit goes
    on to a log-likelihood 6e-9 higher, 2.1e-5 from these estimates.
    """
    _, _, model = planted
    numpy_fit = [
        0.061345548, 1.238808314, -0.378723684, -0.00147324, -1.380764903, -0.267056931,
        0.070711732, -0.979510616, -5.390208593, 1.191878912, 0.058974042, 1.255024043,
    ]  # fmt: skip
    np.testing.assert_allclose(model.params_.to_numpy(), numpy_fit, rtol=0.0, atol=1e-4)
    assert model.loglik_ == pytest.approx(-1146.3701153069915, abs=1e-6)


def test_no_association_is_found_when_none_is_planted() -> None:
    measures, lifespans = simulate_joint(150, association=0.0, random_state=5)
    model = JointModel(association=("value",)).fit(measures, lifespans, license="CC0-1.0")
    row = model.association_.loc["association:value"]
    assert row["lower_0.95"] < 0.0 < row["upper_0.95"]


def test_zero_association_risk_is_the_gompertz_closed_form(planted) -> None:
    measures, lifespans, model = planted
    params = model.params_.copy()
    model.params_ = params.copy()
    model.params_["association:value"] = 0.0
    try:
        risk = model.predict_risk(measures, lifespans, landmarks=[15.0, 24.0], horizons=[3.0, 6.0])
    finally:
        model.params_ = params
    g0 = params["survival:gompertz_log_level"]
    g1 = params["survival:gompertz_age"]
    male = lifespans.set_index("animal")["sex"].eq("M").astype(float)
    gamma = params["survival:sex[M]"]

    def cumulative(t: np.ndarray) -> np.ndarray:
        s = (t - model.centre_) / 12.0
        return np.exp(g0) * 12.0 / g1 * np.exp(g1 * s)

    lin = np.exp(gamma * male.loc[risk["animal"]].to_numpy())
    landmark, horizon = risk["landmark"].to_numpy(), risk["horizon"].to_numpy()
    expected = -np.expm1(-(cumulative(landmark + horizon) - cumulative(landmark)) * lin)
    np.testing.assert_allclose(risk["risk"], expected, rtol=1e-8)


def test_dynamic_risk_rises_with_horizon_and_the_course(planted) -> None:
    measures, lifespans, model = planted
    risk = model.predict_risk(measures, lifespans, landmarks=[24.0], horizons=[3.0, 6.0])
    wide = risk.pivot(index="animal", columns="horizon", values="risk")
    assert (wide[6.0] > wide[3.0]).all()
    three = risk[risk["horizon"] == 3.0]
    # higher current values carry a higher hazard (planted association > 0)
    assert np.corrcoef(three["value"], np.log(three["risk"]))[0, 1] > 0.8
    assert ((risk["risk"] > 0) & (risk["risk"] < 1)).all()


def test_course_forecast_accounts_for_informative_dropout(planted) -> None:
    measures, lifespans, model = planted
    course = model.predict_course(measures, lifespans, landmark=18.0, ages=[18.0, 30.0])
    now, later = course[course["age"] == 18.0], course[course["age"] == 30.0]
    # at the landmark the forecast is the current value given survival to it
    current = model.predict_risk(measures, lifespans, landmarks=[18.0], horizons=[3.0])
    np.testing.assert_allclose(now["point"], current["value"], rtol=1e-12)
    np.testing.assert_allclose(now["survival"], 1.0)
    assert (later["point"] < later["point_ignoring_dropout"]).all()
    assert (later["survival"] < 1.0).all()
    assert (later["lower_0.9"] < later["point"]).all() and (
        later["point"] < later["upper_0.9"]
    ).all()


def test_metrics_without_censoring_are_auc_and_mean_squared_error() -> None:
    rng = np.random.default_rng(0)
    time = rng.uniform(0, 20, 300)
    event = np.ones(300)
    risk = np.clip(1.2 - time / 20 + rng.normal(0, 0.2, 300), 0, 1)
    landmark, horizon = 5.0, 6.0
    alive = time > landmark
    case = time[alive] <= landmark + horizon
    expected = roc_auc_score(case, risk[alive])
    got = time_dependent_auc(risk, time, event, landmark=landmark, horizon=horizon)
    assert got == pytest.approx(expected, abs=1e-12)
    brier = brier_score(risk, time, event, landmark=landmark, horizon=horizon)
    assert brier == pytest.approx(np.mean((case - risk[alive]) ** 2), abs=1e-12)
    table = calibration_table(risk, time, event, landmark=landmark, horizon=horizon, bins=4)
    assert table["n"].sum() == alive.sum()
    # without censoring the observed risk of a group is its proportion of cases
    order = np.argsort(risk[alive], kind="stable")
    first = order[: table["n"].iloc[0]]
    assert table["observed"].iloc[0] == pytest.approx(case[first].mean())


def test_censored_auc_weights_cases_by_censoring() -> None:
    # perfectly ranked risks give 1 whatever the censoring
    time = np.array([1.0, 2.0, 3.0, 4.0, 8.0, 9.0, 10.0])
    event = np.array([1, 0, 1, 1, 0, 1, 0])
    risk = -time
    assert time_dependent_auc(risk, time, event, landmark=0.0, horizon=5.0) == 1.0
    assert np.isnan(time_dependent_auc(risk, time, event, landmark=20.0, horizon=5.0))


def test_estimator_contract_and_licence_gate() -> None:
    measures, lifespans = simulate_joint(60, association=0.3, random_state=2)
    check_estimator(
        Case(
            "JointModel",
            lambda: JointModel(association=("value",), n_quadrature=3),
            lambda m: m.fit(measures, lifespans, license="CC0-1.0"),
            lambda m: m.predict_risk(measures, lifespans, landmarks=[12.0]),
        )
    )
    with pytest.raises(LicenseRefusedError, match="license="):
        JointModel().fit(measures, lifespans)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        JointModel(association=("value",), max_iter=2, n_quadrature=3).fit(
            measures, lifespans, license="CC0-1.0"
        )


def test_bad_input_is_one_clear_error() -> None:
    measures, lifespans = simulate_joint(30, random_state=1)
    with pytest.raises(OptionError, match="association"):
        JointModel(association=("level",)).fit(measures, lifespans, license="CC0-1.0")
    with pytest.raises(InputError, match="no covariate column 'strain'"):
        JointModel().fit(measures, lifespans, covariates=["strain"], license="CC0-1.0")
    with pytest.raises(InputError, match="two lifespan rows"):
        JointModel().fit(measures, pd.concat([lifespans, lifespans]), license="CC0-1.0")
    with pytest.raises(InputError, match="at least 10 animals"):
        JointModel().fit(measures, lifespans.head(5), license="CC0-1.0")
    with pytest.raises(OptionError, match="from_peak needs degree=2"):
        JointModel(association=("from_peak",), degree=3).fit(measures, lifespans, license="CC0-1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="no column"):
            JointModel().fit(measures.drop(columns="value"), lifespans, license="CC0-1.0")


def test_random_curvature_keeps_the_closed_forms() -> None:
    """Three random effects: zero association gives the Gompertz risk; the posterior is exact."""
    measures, lifespans = simulate_joint(80, association=0.3, random_state=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = JointModel(association=("value",), random_degree=2, max_iter=5).fit(
            measures, lifespans, license="CC0-1.0"
        )
    assert model.params_.index.str.startswith("random:").sum() == 6
    model.params_["association:value"] = 0.0
    risk = model.predict_risk(measures, lifespans, landmarks=[20.0], horizons=[6.0])
    g0 = model.params_["survival:gompertz_log_level"]
    g1 = model.params_["survival:gompertz_age"]
    s0, s1 = (20.0 - model.centre_) / 12.0, (26.0 - model.centre_) / 12.0
    expected = -np.expm1(-np.exp(g0) * 12.0 / g1 * (np.exp(g1 * s1) - np.exp(g1 * s0)))
    np.testing.assert_allclose(risk["risk"], expected, rtol=1e-8)
    # with no hazard link the current value is the mixed model's best prediction (BLUP),
    # computed here from the marginal covariance Z D Z' + sigma^2 I of one animal
    par = model._unpack(model.params_.to_numpy(), 0)
    rows = measures[(measures["animal"] == "a3") & (measures["age"] <= 20.0)]
    s = (rows["age"].to_numpy() - model.centre_) / 12.0
    z = np.stack([s**0, s, s**2], 1)
    d = par["chol"] @ par["chol"].T
    fixed = np.stack([s**k for k in range(3)], 1) @ par["beta"]
    y = (rows["value"].to_numpy() - model.value_mean_) / model.value_sd_
    v = z @ d @ z.T + par["sigma"] ** 2 * np.eye(len(s))
    blup = d @ z.T @ np.linalg.solve(v, y - fixed)
    sl = (20.0 - model.centre_) / 12.0
    fixed_now = np.array([1.0, sl, sl**2]) @ par["beta"]
    value = (fixed_now + np.array([1.0, sl, sl**2]) @ blup) * model.value_sd_ + model.value_mean_
    got = risk.set_index("animal").loc["a3", "value"]
    assert got == pytest.approx(value, rel=1e-10)


def test_covariates_by_age_give_each_group_its_own_gompertz_rate() -> None:
    measures, lifespans = simulate_joint(80, association=0.3, random_state=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = JointModel(association=("value",), covariates_by_age=True, max_iter=5).fit(
            measures, lifespans, covariates=["sex"], license="CC0-1.0"
        )
    p = model.params_
    assert "survival:sex[M]:age" in p.index
    p["association:value"] = 0.0
    risk = model.predict_risk(measures, lifespans, landmarks=[20.0], horizons=[6.0])
    male = lifespans.set_index("animal").loc[risk["animal"], "sex"].eq("M").to_numpy(float)
    level = p["survival:gompertz_log_level"] + p["survival:sex[M]"] * male
    rate = p["survival:gompertz_age"] + p["survival:sex[M]:age"] * male
    s0, s1 = (20.0 - model.centre_) / 12.0, (26.0 - model.centre_) / 12.0
    expected = -np.expm1(-np.exp(level) * 12.0 / rate * (np.exp(rate * s1) - np.exp(rate * s0)))
    np.testing.assert_allclose(risk["risk"], expected, rtol=1e-8)


def test_fall_from_peak_is_the_running_maximum_and_its_gradient_is_exact() -> None:
    measures, lifespans = simulate_joint(60, association=0.3, random_state=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = JointModel(
            association=("value", "slope", "from_peak"), random_degree=2, max_iter=5
        ).fit(measures, lifespans, covariates=["sex"], license="CC0-1.0")
    data, _ = model._design(measures, lifespans, fitting=True, source="test")
    data.y = (data.y - model.value_mean_) / model.value_sd_
    theta = model.params_.to_numpy().copy()
    theta[-1] = 0.7
    par = model._unpack(theta, 1)
    # random effects wide enough for courses that rise, fall, or rise then fall
    b = np.random.default_rng(0).normal(0.0, 1.0, (data.animals.size, 3, 3))
    ages = data.t0[:, None] + np.array([[1.0, 6.0, 15.0]])
    fall = model._from_peak(par, ages, data.w, b, data.t0)
    grid = np.linspace(0.0, 1.0, 2001)
    for i in range(data.animals.size):
        for j in range(ages.shape[1]):
            s = (data.t0[i] + grid * (ages[i, j] - data.t0[i]) - model.centre_) / 12.0
            fixed, _ = model._fixed(par, s, data.w[i][None, :])
            course = fixed[None, :] + b[i, :, :1] + b[i, :, 1:2] * s + b[i, :, 2:] * s**2
            np.testing.assert_allclose(
                fall[i, :, j], course.max(1) - course[:, -1], atol=1e-6
            )  # fmt: skip
    assert (fall > 0).mean() > 0.1 and (fall == 0).mean() > 0.1
    value, grad = model._loglik_gradient(theta, data)
    lay = model._layout(1)
    idx = np.arange(lay["gompertz"].start, lay["alpha"].stop)

    def loglik(sub: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = sub
        return float(model._loglik(full, data))

    assert value == pytest.approx(loglik(theta[idx]), rel=1e-12)
    np.testing.assert_allclose(grad[idx], central_gradient(loglik, theta[idx]), rtol=1e-5)


def test_planted_fall_from_peak_is_recovered() -> None:
    measures, lifespans = simulate_joint(
        300, association=0.0, association_peak=4.0, random_state=11
    )
    model = JointModel(association=("value", "from_peak")).fit(
        measures, lifespans, license="CC0-1.0"
    )
    assert model.converged_
    table = model.association_
    peak = table.loc["association:from_peak"]
    assert peak["lower_0.95"] < 4.0 < peak["upper_0.95"]
    assert peak["lower_0.95"] > 0.0
    value = table.loc["association:value"]
    assert value["lower_0.95"] < 0.0 < value["upper_0.95"]


def test_a_vanishing_random_effect_is_named() -> None:
    """The simulated courses have no per-animal curvature (``b0 + b1 s`` only): fitted with
    one, its SD runs to zero and the fit says so, naming it and the fix."""
    measures, lifespans = simulate_joint(
        300, association=0.0, association_peak=4.0, random_state=11
    )
    with pytest.warns(ConvergenceWarning, match=r"per-animal curvature SD is near zero.*"
                      r"random_degree=1"):  # fmt: skip
        model = JointModel(association=("value", "from_peak"), random_degree=2).fit(
            measures, lifespans, license="CC0-1.0"
        )
    assert model.params_["random:log_sd_curvature"] < np.log(1e-3)
    assert model.params_["random:log_sd_slope"] > np.log(0.1)  # a real one is kept


def test_natural_spline_terms_span_scipys_natural_cubic_spline() -> None:
    """With ``1`` and ``s`` the terms reproduce any natural cubic spline on the same knots."""
    from scipy.interpolate import CubicSpline

    from translocus.progression.joint import _natural_spline

    knots = np.array([-1.2, -0.4, 0.1, 0.5, 1.3])
    values = np.random.default_rng(2).normal(0.0, 1.0, knots.size)
    spline = CubicSpline(knots, values, bc_type="natural")
    x = np.linspace(-1.2, 1.3, 401)
    design = np.c_[np.ones_like(x), x, _natural_spline(x, knots)]
    coef, *_ = np.linalg.lstsq(design, spline(x), rcond=None)
    np.testing.assert_allclose(design @ coef, spline(x), atol=1e-10)
    # linear beyond the outer knots
    outside = np.r_[np.linspace(-4.0, -1.2, 9), np.linspace(1.3, 4.0, 9)]
    basis = _natural_spline(outside, knots)
    for part in (basis[:9], basis[9:]):
        np.testing.assert_allclose(np.diff(part, 2, axis=0), 0.0, atol=1e-10)


def test_spline_baseline_risk_is_its_integral_and_gradients_are_exact() -> None:
    """Associations by age and a spline baseline: exact gradients, closed-form null risk."""
    from scipy import integrate

    from translocus.progression.joint import _natural_spline

    measures, lifespans = simulate_joint(60, association=0.3, random_state=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = JointModel(
            association=("value", "slope", "value_by_age", "slope_by_age"),
            random_degree=2,
            baseline_knots=4,
            covariates_by_age=True,
            max_iter=5,
        ).fit(measures, lifespans, covariates=["sex"], license="CC0-1.0")
    assert len(model.baseline_knots_) == 4
    assert model.params_.index.str.startswith("survival:baseline_spline_").sum() == 2
    data, _ = model._design(measures, lifespans, fitting=True, source="test")
    data.y = (data.y - model.value_mean_) / model.value_sd_
    lay = model._layout(1)
    idx = np.arange(lay["gompertz"].start, lay["alpha"].stop)
    theta = model.params_.to_numpy().copy()
    theta[idx] += np.random.default_rng(1).normal(0.0, 0.2, idx.size)
    value, grad = model._loglik_gradient(theta, data)

    def loglik(sub: np.ndarray) -> float:
        full = theta.copy()
        full[idx] = sub
        return float(model._loglik(full, data))

    assert value == pytest.approx(loglik(theta[idx]), rel=1e-12)
    np.testing.assert_allclose(grad[idx], central_gradient(loglik, theta[idx]), rtol=1e-5)
    # no association: the risk of a female is 1 - exp(-integral of the spline hazard)
    p = model.params_
    p[p.index.str.startswith("association:")] = 0.0
    p[["survival:baseline_spline_1", "survival:baseline_spline_2"]] = [1.5, -2.0]
    risk = model.predict_risk(measures, lifespans, landmarks=[20.0], horizons=[6.0])
    knots = (np.asarray(model.baseline_knots_) - model.centre_) / 12.0

    def hazard(age: float) -> float:
        s = (age - model.centre_) / 12.0
        spline = _natural_spline(np.array([s]), knots)[0]
        return float(np.exp(p["survival:gompertz_log_level"] + p["survival:gompertz_age"] * s
                            + spline @ [1.5, -2.0]))  # fmt: skip

    expected = -np.expm1(-integrate.quad(hazard, 20.0, 26.0, epsabs=1e-12)[0])
    female = lifespans.set_index("animal").loc[risk["animal"], "sex"].eq("F").to_numpy()
    np.testing.assert_allclose(risk["risk"][female], expected, rtol=1e-6)


def test_planted_associations_changing_with_age_are_recovered() -> None:
    measures, lifespans = simulate_joint(
        300, association=0.3, association_age=0.4, association_slope_age=-8.0, random_state=12
    )
    model = JointModel(association=("value", "slope", "value_by_age", "slope_by_age")).fit(
        measures, lifespans, license="CC0-1.0"
    )
    assert model.converged_
    table = model.association_
    for name, planted in (("value_by_age", 0.4), ("slope_by_age", -8.0)):
        row = table.loc[f"association:{name}"]
        assert row["lower_0.95"] < planted < row["upper_0.95"]
    # the value's association is the planted one at the model's centre age (not 18 months)
    value = table.loc["association:value"]
    at_centre = 0.3 + 0.4 * (model.centre_ - 18.0) / 12.0
    assert value["lower_0.95"] < at_centre < value["upper_0.95"]


def test_baseline_knots_must_be_zero_or_three_to_eight() -> None:
    measures, lifespans = simulate_joint(30, random_state=0)
    with pytest.raises(OptionError, match="baseline_knots"):
        JointModel(baseline_knots=2).fit(measures, lifespans, license="CC0-1.0")


def test_censoring_curve_is_the_kaplan_meier_of_the_censoring_times() -> None:
    """The numpy censoring curve of the metrics equals KaplanMeier (lifelines) on ties too."""
    from translocus.progression.joint import _censoring_survival
    from translocus.progression.survival import KaplanMeier

    rng = np.random.default_rng(5)
    for decimals in (0, 1, 3):
        t = np.round(rng.uniform(0.0, 30.0, 200), decimals)
        e = rng.integers(0, 2, 200).astype(float)
        e[np.argmax(t)] = 0.0  # the curve reaches 0 at the last time
        at = np.r_[t, rng.uniform(-1.0, 35.0, 50)]
        km = KaplanMeier().fit(t, 1.0 - e)
        expected = np.maximum(km.survival_at(at - 1e-9), 1e-12)
        np.testing.assert_allclose(_censoring_survival(t, e, at), expected, rtol=1e-12)
