"""Disease-course model: kernels against dense linear algebra, gradients, licence gate,
recovery of simulated covariate effects, personalisation and calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import LicensePolicy, LicenseRefusedError, Provenance
from translocus.progression._course_numba import covariance_inverse
from translocus.progression.course import DiseaseCourseModel
from translocus.progression.data import MeasureTable


@pytest.fixture(scope="module")
def cohort() -> MeasureTable:
    return DiseaseCourseModel.example_cohort(n_animals=80, random_state=3)


@pytest.fixture(scope="module")
def fitted(cohort: MeasureTable) -> DiseaseCourseModel:
    # six iterations are enough for the checks that use it; the model says it stopped early.
    # Estimated prior SDs and the model's own intervals: the recovery checks are about them
    # (the defaults, selection and calibration, are tested in test_calibration.py)
    model = DiseaseCourseModel(max_iter=6, onset_sd=None, speed_sd=None, calibration="none")
    with pytest.warns(ConvergenceWarning, match="max_iter=6"):
        return model.fit(cohort, measures=["a", "b"], covariates=["sex"])


def test_covariance_kernel_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(3, 30, (4, 2, 6)), axis=2)
    mask = rng.random((4, 2, 6)) > 0.3
    mask[:, :, 0] = True
    par = [np.array([0.5, 0.2]), np.array([0.01, -0.02]), np.array([0.003, 0.004]),
           np.array([0.3, 0.1]), np.array([0.05, 0.2]), np.array([4.0, 8.0])]  # fmt: skip
    inv, logdet = covariance_inverse(t, mask, 12.0, *par)
    sb2, cbs, ss2, su2, se2, ell = par
    for a in range(4):
        for k in range(2):
            tt = t[a, k, mask[a, k]] - 12.0
            cov = (sb2[k] + cbs[k] * (tt[:, None] + tt[None, :]) + ss2[k] * np.outer(tt, tt)
                   + su2[k] * np.exp(-np.abs(tt[:, None] - tt[None, :]) / ell[k])
                   + se2[k] * np.eye(len(tt)))  # fmt: skip
            sel = np.ix_(mask[a, k], mask[a, k])
            assert np.allclose(inv[a, k][sel], np.linalg.inv(cov))
            assert np.isclose(logdet[a, k], np.linalg.slogdet(cov)[1])
            assert np.all(inv[a, k][~mask[a, k]] == 0.0)


def test_gradient_matches_finite_differences(fitted: DiseaseCourseModel) -> None:
    batch = fitted._batch
    tau, xi = fitted._tau, fitted._xi
    resid = (batch.y - fitted._mean(batch, tau, xi)) * batch.mask
    jac = fitted._jacobian(batch, tau, xi)
    prec = np.array([1.0 / fitted.sigma_tau_**2, 1.0 / fitted.sigma_xi_**2])
    params = fitted._params.copy()
    _, grad = fitted._neg_loglik_and_grad(params, batch, resid, jac, prec)
    h = 1e-5
    numeric = np.array(
        [
            (fitted._neg_loglik_and_grad(params + h * e, batch, resid, jac, prec)[0]
             - fitted._neg_loglik_and_grad(params - h * e, batch, resid, jac, prec)[0]) / (2 * h)
            for e in np.eye(len(params))
        ]
    )  # fmt: skip
    assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_recovers_simulated_onset_shift(fitted: DiseaseCourseModel) -> None:
    """example_cohort: females start 2 months later (tau +2) than males; sexes share speed."""
    summary = fitted.summary.set_index(["parameter", "term"])
    shift = summary.loc[("onset_shift_months", "sex=M"), "estimate"]
    assert -3.5 < shift < -0.8
    effects = fitted.animal_effects_()
    assert {"animal", "tau", "tau_sd", "xi", "speed", "sex"} <= set(effects.columns)
    assert len(effects) == 80
    by_sex = effects.groupby("sex")["tau"].mean()
    assert by_sex["F"] > by_sex["M"]


def test_personalize_and_forecast_without_refit(
    cohort: MeasureTable, fitted: DiseaseCourseModel
) -> None:
    new = DiseaseCourseModel.example_cohort(n_animals=30, random_state=11).data
    new["animal"] = "new" + new["animal"]
    last = new.groupby("animal")["age"].transform("max")
    history = new[new["age"] < last - 5]
    targets = new[new["age"] == last][["animal", "age", "measure", "value"]]
    beta = fitted.beta_.copy()
    effects = fitted.personalize(history)
    assert np.allclose(fitted.beta_, beta)  # the population fit is untouched
    assert len(effects) == 30 and np.isfinite(effects["tau"]).all()
    fc = fitted.forecast(history, targets, level=[0.5, 0.9])
    assert (fc["lower_0.9"] < fc["point"]).all() and (fc["point"] < fc["upper_0.9"]).all()
    inside = ((fc["value"] >= fc["lower_0.9"]) & (fc["value"] <= fc["upper_0.9"])).mean()
    assert inside > 0.75
    rel = np.abs(fc["point"] / fc["value"] - 1.0).median()
    assert rel < 0.1


def test_animal_without_visits_gets_the_population_forecast(
    fitted: DiseaseCourseModel,
) -> None:
    new = DiseaseCourseModel.example_cohort(n_animals=30, random_state=11).data
    new["animal"] = "new" + new["animal"]
    last = new.groupby("animal")["age"].transform("max")
    history = new[new["age"] < last - 5]
    targets = new[new["age"] == last][["animal", "age", "measure", "value", *fitted.covariates_]]
    lone = str(targets["animal"].iloc[0])
    full = fitted.forecast(history, targets, level=0.9).set_index(["animal", "measure"])
    without = fitted.forecast(history[history["animal"] != lone], targets, level=0.9)
    without = without.set_index(["animal", "measure"])
    # the lone animal's forecast is its group's: wider, and the same whoever else is forecast
    assert (without.loc[lone, "sd_analysis"] > full.loc[lone, "sd_analysis"]).all()
    another = history[history["animal"] == str(targets["animal"].iloc[-1])]
    alone = fitted.forecast(another, targets[targets["animal"] == lone], level=0.9)
    assert np.allclose(alone["point"], without.loc[lone, "point"], rtol=1e-10)
    # the other animals are untouched by its absence
    others = full.drop(index=lone, level="animal")
    assert np.allclose(others["point"], without.loc[others.index, "point"], rtol=1e-10)
    # with a covariate, a visit-less animal needs it in targets
    if fitted.covariates_:
        with pytest.raises(InputError, match=r"have no visits in the history; .* needs the"):
            fitted.forecast(another, targets[["animal", "age", "measure"]])


def test_simulate_virtual_cohort(fitted: DiseaseCourseModel) -> None:
    sim = fitted.simulate(50, [6.0, 12.0, 18.0], covariates={"sex": "F"}, random_state=1)
    assert len(sim) == 50 * 3 * 2
    assert (sim["sex"] == "F").all() and (sim["value"] > 0).all()
    males = fitted.simulate(50, [6.0], covariates={"sex": "M"}, random_state=2)
    # virtual animals inherit the fitted onset shift of their group (males earlier)
    gap = (
        sim.groupby("animal")["tau"].first().mean() - males.groupby("animal")["tau"].first().mean()
    )
    assert abs(gap + fitted.gamma_tau_[0]) < 4 * fitted.sigma_tau_ / np.sqrt(25)
    with pytest.raises(InputError, match="unknown covariate"):
        fitted.simulate(2, [6.0], covariates={"strain": "B6"})


def test_licence_gate_refuses_and_allows(cohort: MeasureTable) -> None:
    refused = MeasureTable(
        cohort.data, Provenance(name="model_ad", license="LicenseRef-AD-Knowledge-Portal-Terms")
    )
    with pytest.raises(LicenseRefusedError, match="model_ad"):
        DiseaseCourseModel(max_iter=1).fit(refused, measures=["a"])
    policy = LicensePolicy(allowed_datasets=frozenset({"model_ad"}))
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        model = DiseaseCourseModel(max_iter=1).fit(refused, measures=["a"], policy=policy)
    assert model.licence_decision_.allowed
    assert policy.log[-1].purpose == "training a disease-course model"


def test_bad_input(cohort: MeasureTable) -> None:
    data = cohort.data.copy()
    dup = pd.concat([data, data.iloc[:1]])
    with pytest.raises(InputError, match="duplicated visits"):
        DiseaseCourseModel(max_iter=1).fit(MeasureTable(dup, cohort.provenance), measures=["a"])
    zero = data.copy()
    zero.loc[zero.index[0], "value"] = 0.0
    with pytest.raises(InputError, match="zero or negative"):
        DiseaseCourseModel(max_iter=1, scale="log").fit(
            MeasureTable(zero, cohort.provenance), measures=["a", "b"]
        )
    with pytest.raises(InputError, match="one value only"):
        one = data.assign(sex="F")
        DiseaseCourseModel(max_iter=1).fit(
            MeasureTable(one, cohort.provenance), measures=["a"], covariates=["sex"]
        )


def test_compiled_spline_kernels_match_the_dense_basis():
    """The course's compiled spline and GLS kernels against the dense B-spline design."""
    from translocus.progression._course_numba import gls_moments
    from translocus.progression.course import _spline_values
    from translocus.progression.trajectory import bspline_basis

    rng = np.random.default_rng(3)
    knots = np.linspace(2.0, 30.0, 8)
    a, k, t, q = 40, 3, 5, 2
    psi = rng.uniform(-5.0, 36.0, size=(a, k, t))  # also beyond both ends (clamped)
    coef = rng.normal(size=(k, len(knots) + 2))
    dense = bspline_basis(psi.ravel(), knots).reshape(a, k, t, -1)
    np.testing.assert_allclose(_spline_values(psi, knots, coef, derivative=False),
                               np.einsum("aktp,kp->akt", dense, coef), atol=1e-12)  # fmt: skip
    h = 1e-6
    up = np.einsum(
        "aktp,kp->akt", bspline_basis((psi + h).ravel(), knots).reshape(dense.shape), coef
    )
    down = np.einsum(
        "aktp,kp->akt", bspline_basis((psi - h).ravel(), knots).reshape(dense.shape), coef
    )
    np.testing.assert_allclose(_spline_values(psi, knots, coef, derivative=True),
                               (up - down) / (2 * h), atol=1e-6)  # fmt: skip
    mask = rng.uniform(size=(a, k, t)) < 0.8
    x = rng.normal(size=(a, q))
    y = rng.normal(size=(a, k, t))
    root = rng.normal(size=(a, k, t, t))
    inv = root @ np.swapaxes(root, -1, -2) + np.eye(t)
    design = np.concatenate([dense, np.broadcast_to(x[:, None, None, :], (a, k, t, q))], axis=3)
    design = design * mask[..., None]
    lhs, rhs = gls_moments(psi, mask, y, inv, x, knots[0], knots[1] - knots[0], len(knots))
    np.testing.assert_allclose(lhs, np.einsum("aknp,aknm,akmq->kpq", design, inv, design),
                               rtol=1e-10, atol=1e-9)  # fmt: skip
    np.testing.assert_allclose(rhs, np.einsum("aknp,aknm,akm->kp", design, inv, y * mask),
                               rtol=1e-10, atol=1e-9)  # fmt: skip
