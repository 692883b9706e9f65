"""Survival estimators against lifelines and closed forms.

Reference values come from lifelines 0.30 run in the same process, e.g.
``CoxPHFitter().fit(df, "t", "e", strata="s")``. Kaplan-Meier and Nelson-Aalen curves are
lifelines' own, so their comparisons here check translocus' wrapping (event table, RMST,
median interval); R's ``survival`` is the independent reference for every estimator
(test_survival_reference.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from translocus.core.errors import InputError
from translocus.core.provenance import LicenseRefusedError, Provenance
from translocus.progression import _survival_parametric as par
from translocus.progression.survival import (
    AalenJohansen,
    CoxPH,
    GammaFrailtyCox,
    KaplanMeier,
    LifespanForecaster,
    NelsonAalen,
    ParametricSurvival,
    cause_specific_cox,
    fit_parametric_by,
    forecast_backtest,
    logrank_test,
    survival_table,
    validate_time_to_event,
)

lifelines = pytest.importorskip("lifelines")


@pytest.fixture(scope="module")
def tied() -> pd.DataFrame:
    """Censored data with many ties (times rounded to integers), 3 strata."""
    rng = np.random.default_rng(1)
    n = 300
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 2, n).astype(float),
            "s": rng.integers(0, 3, n),
        }
    )
    t = np.round(rng.weibull(1.5, n) * np.exp(-0.5 * df.x1 - 0.3 * df.x2) * 10) + 1
    c = np.round(rng.uniform(0, 20, n)) + 1
    df["t"] = np.minimum(t, c)
    df["e"] = (t <= c).astype(float)
    return df


@pytest.fixture(scope="module")
def untied(tied: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return tied.assign(t=rng.exponential(5.0, len(tied)), cl=rng.integers(0, 30, len(tied)))


# -- Kaplan-Meier, Nelson-Aalen, RMST -------------------------------------------------------
def test_kaplan_meier_matches_lifelines(tied: pd.DataFrame) -> None:
    ours = KaplanMeier().fit(tied.t, tied.e)
    ref = lifelines.KaplanMeierFitter().fit(tied.t, tied.e)
    np.testing.assert_allclose(
        ours.table_["survival"], ref.survival_function_.iloc[1:, 0], atol=1e-12
    )
    ci = ref.confidence_interval_.iloc[1:]
    np.testing.assert_allclose(ours.table_["lower"], ci.iloc[:, 0], atol=1e-10)
    np.testing.assert_allclose(ours.table_["upper"], ci.iloc[:, 1], atol=1e-10)
    assert ours.median_ == ref.median_survival_time_
    ref_ci = lifelines.utils.median_survival_times(ref.confidence_interval_)
    assert ours.median_ci_ == (ref_ci.iloc[0, 0], ref_ci.iloc[0, 1])
    rm = ours.rmst(15.0)["rmst"]
    assert rm == pytest.approx(lifelines.utils.restricted_mean_survival_time(ref, 15.0), rel=1e-6)


def test_kaplan_meier_left_truncation_matches_lifelines(untied: pd.DataFrame) -> None:
    entry = untied.t * 0.3
    ours = KaplanMeier().fit(untied.t, untied.e, entry=entry)
    ref = lifelines.KaplanMeierFitter().fit(untied.t, untied.e, entry=entry)
    s = ref.survival_function_.loc[ours.table_["time"]].iloc[:, 0].to_numpy()
    np.testing.assert_allclose(ours.table_["survival"], s, atol=1e-12)


def test_rmst_closed_form_without_censoring() -> None:
    """No censoring, tau past the last death: RMST = mean, var = sum (x - mean)^2 / n^2."""
    x = np.array([3.0, 7.0, 7.0, 10.0, 12.0, 20.0])
    r = KaplanMeier().fit(x).rmst(25.0)
    assert r["rmst"] == pytest.approx(x.mean())
    assert r["se"] ** 2 == pytest.approx(np.sum((x - x.mean()) ** 2) / x.size**2)


def test_nelson_aalen_matches_lifelines(tied: pd.DataFrame) -> None:
    ours = NelsonAalen().fit(tied.t, tied.e)
    ref = lifelines.NelsonAalenFitter(nelson_aalen_smoothing=False).fit(tied.t, tied.e)
    np.testing.assert_allclose(ours.table_["cumulative_hazard"], ref.cumulative_hazard_.iloc[1:, 0])
    np.testing.assert_allclose(ours.table_["upper"], ref.confidence_interval_.iloc[1:, 1])


# -- log-rank ------------------------------------------------------------------------------
def test_logrank_two_and_k_groups_match_lifelines(tied: pd.DataFrame) -> None:
    from lifelines.statistics import logrank_test as ll_logrank
    from lifelines.statistics import multivariate_logrank_test

    g = np.where(tied.x2 > 0, "b", "a")
    ours = logrank_test(tied.t, tied.e, g)
    a, b = g == "a", g == "b"
    ref = ll_logrank(tied.t[a], tied.t[b], tied.e[a], tied.e[b])
    assert ours.statistic == pytest.approx(ref.test_statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(ref.p_value, rel=1e-8)
    ours3 = logrank_test(tied.t, tied.e, tied.s)
    ref3 = multivariate_logrank_test(tied.t, tied.s, tied.e)
    assert ours3.df == 2
    assert ours3.statistic == pytest.approx(ref3.test_statistic, rel=1e-10)


def test_stratified_logrank_sums_strata(tied: pd.DataFrame) -> None:
    g = np.where(tied.x2 > 0, "b", "a")
    strat = logrank_test(tied.t, tied.e, g, strata=tied.s)
    obs = sum(
        logrank_test(tied.t[tied.s == s], tied.e[tied.s == s], g[tied.s == s]).table["observed"]
        for s in range(3)
    )
    exp = sum(
        logrank_test(tied.t[tied.s == s], tied.e[tied.s == s], g[tied.s == s]).table["expected"]
        for s in range(3)
    )
    np.testing.assert_allclose(strat.table["observed"], obs)
    np.testing.assert_allclose(strat.table["expected"], exp)
    one = logrank_test(tied.t, tied.e, g, strata=np.zeros(len(tied)))
    assert one.statistic == pytest.approx(logrank_test(tied.t, tied.e, g).statistic)


# -- parametric ----------------------------------------------------------------------------
def test_weibull_matches_lifelines_with_left_truncation(untied: pd.DataFrame) -> None:
    for entry in (None, untied.t * 0.2):
        ours = ParametricSurvival("weibull").fit(untied.t, untied.e, entry=entry)
        ref = lifelines.WeibullFitter().fit(untied.t, untied.e, entry=entry)
        # lifelines stops a little short of the optimum (our log likelihood is >= its own)
        assert ours.params_["lambda_"] == pytest.approx(ref.lambda_, rel=1e-4)
        assert ours.params_["rho_"] == pytest.approx(ref.rho_, rel=1e-4)
        assert ours.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-8)
        assert ours.loglik_ >= ref.log_likelihood_ - 1e-9
        se = ours.summary.set_index("parameter")["se"]
        assert se["lambda_"] == pytest.approx(ref.summary.loc["lambda_", "se(coef)"], rel=1e-3)
        assert se["rho_"] == pytest.approx(ref.summary.loc["rho_", "se(coef)"], rel=1e-3)
        assert ours.median_ == pytest.approx(ref.median_survival_time_, rel=1e-4)


def test_gompertz_matches_scipy_mle_without_censoring() -> None:
    """scipy's gompertz(c, scale) is h(t) = (c/scale) exp(t/scale): a = c/scale, b = 1/scale."""
    t = stats.gompertz(0.02, scale=120.0).rvs(800, random_state=np.random.default_rng(3))
    c, _, scale = stats.gompertz.fit(t, floc=0)
    m = ParametricSurvival("gompertz").fit(t)
    assert m.params_["a"] == pytest.approx(c / scale, rel=2e-3)
    assert m.params_["b"] == pytest.approx(1 / scale, rel=2e-3)
    ll_scipy = stats.gompertz.logpdf(t, c, 0, scale).sum()
    assert m.loglik_ >= ll_scipy - 1e-6


def test_parametric_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(4)
    t = rng.uniform(0.5, 3, 50)
    d = (rng.random(50) < 0.7).astype(float)
    entry = t * rng.uniform(0, 0.5, 50)
    for dist, theta in (("gompertz", np.array([-1.0, 0.7])), ("weibull", np.array([0.3, 0.4]))):
        _, g, h = par.loglik(dist, theta, t, d, entry)
        eps = 1e-6
        for i in range(2):
            step = np.zeros(2)
            step[i] = eps
            lp, gp, _ = par.loglik(dist, theta + step, t, d, entry)
            lm, gm, _ = par.loglik(dist, theta - step, t, d, entry)
            assert g[i] == pytest.approx((lp - lm) / (2 * eps), rel=1e-5)
            np.testing.assert_allclose(h[:, i], (gp - gm) / (2 * eps), rtol=1e-5)


def test_gompertz_recovers_truth_and_predicts_with_intervals() -> None:
    rng = np.random.default_rng(5)
    a, b, n = 1e-4, 0.008, 3000
    u = rng.random(n)
    t = np.log1p(-b * np.log(u) / a) / b  # inverse of S(t) = exp(-a/b (e^{bt} - 1))
    c = rng.uniform(500, 1500, n)
    m = ParametricSurvival("gompertz").fit(np.minimum(t, c), (t <= c).astype(float))
    s = m.summary.set_index("parameter")
    assert s.loc["a", "lower"] < a < s.loc["a", "upper"]
    assert s.loc["b", "lower"] < b < s.loc["b", "upper"]
    true_median = np.log1p(b * np.log(2) / a) / b
    assert m.median_ci_[0] < true_median < m.median_ci_[1]
    p = m.predict([true_median])
    assert p.loc[0, "lower"] < 0.5 < p.loc[0, "upper"]


def test_fit_parametric_by_small_group_raises_or_skips() -> None:
    df = pd.DataFrame(
        {"time": [5.0, 6, 7, 8, 9, 4], "event": [1.0, 1, 1, 1, 1, 1], "g": list("aaaaab")}
    )
    with pytest.raises(InputError, match="group 'b'"):
        fit_parametric_by(df, group=["g"], distribution="weibull")
    table, models = fit_parametric_by(
        df, group=["g"], distribution="weibull", on_small_group="skip"
    )
    assert list(models) == ["a"]
    assert table.attrs["skipped"] == ["b"]
    # Kaplan-Meier and log-rank accept a one-animal group (documented behaviour)
    tab, _ = survival_table(df, group=["g"])
    assert tab.loc[tab["g"] == "b", "median"].item() == 4.0
    assert logrank_test(df.time, df.event, df.g).df == 1


# -- Cox -----------------------------------------------------------------------------------
@pytest.mark.parametrize("strata", [None, "s"])
def test_cox_efron_matches_lifelines(tied: pd.DataFrame, strata: str | None) -> None:
    cols = ["t", "e", "x1", "x2"] + ([strata] if strata else [])
    ref = lifelines.CoxPHFitter().fit(
        tied[cols], "t", "e", strata=strata, fit_options={"precision": 1e-12}
    )
    ours = CoxPH().fit(tied[cols], time="t", event="e", strata=strata)
    np.testing.assert_allclose(ours.params_, ref.params_, atol=1e-6)
    np.testing.assert_allclose(ours.standard_errors_, ref.standard_errors_, rtol=1e-5)
    assert ours.loglik_ == pytest.approx(ref.log_likelihood_, rel=1e-9)


def test_cox_robust_and_cluster_se_match_lifelines(untied: pd.DataFrame) -> None:
    """lifelines' score residuals ignore ties, so compare on untied times."""
    cols = ["t", "e", "x1", "x2"]
    ref = lifelines.CoxPHFitter().fit(untied[cols], "t", "e", robust=True)
    ours = CoxPH(robust=True).fit(untied[cols], time="t", event="e")
    np.testing.assert_allclose(ours.standard_errors_, ref.standard_errors_, rtol=1e-6)
    ref_c = lifelines.CoxPHFitter().fit(untied[[*cols, "cl"]], "t", "e", cluster_col="cl")
    ours_c = CoxPH().fit(untied[[*cols, "cl"]], time="t", event="e", cluster="cl")
    np.testing.assert_allclose(ours_c.standard_errors_, ref_c.standard_errors_, rtol=1e-6)


def test_cox_breslow_baseline_and_prediction(untied: pd.DataFrame) -> None:
    cols = ["t", "e", "x1", "x2"]
    ours = CoxPH().fit(untied[cols], time="t", event="e")
    ref = lifelines.CoxPHFitter().fit(untied[cols], "t", "e")
    ph = ours.predict_partial_hazard(untied.head(3))
    np.testing.assert_allclose(ph, ref.predict_partial_hazard(untied.head(3)), rtol=1e-5)
    # at death times (lifelines interpolates the baseline between them)
    times = np.sort(untied.t[untied.e > 0].to_numpy())[[10, 80, 150]]
    sf = ours.predict_survival_function(untied.head(3), times)
    ref_sf = ref.predict_survival_function(untied.head(3), times=times)
    np.testing.assert_allclose(sf.to_numpy(), ref_sf.to_numpy(), rtol=1e-4)


def test_cox_bad_input() -> None:
    df = pd.DataFrame({"t": [1.0, -2.0, 3.0], "e": [1, 1, 0], "x": [0.0, 1.0, 0.0]})
    with pytest.raises(InputError, match="negative times"):
        CoxPH().fit(df, time="t", event="e")
    df2 = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 2], "x": [0.0, 1.0]})
    with pytest.raises(InputError, match="not 0 or 1"):
        CoxPH().fit(df2, time="t", event="e")
    df3 = pd.DataFrame({"t": [1.0, 2.0], "e": [1, 1], "x": ["a", "b"]})
    with pytest.raises(InputError, match="dummy_covariates"):
        CoxPH().fit(df3, time="t", event="e")


# -- frailty -------------------------------------------------------------------------------
def test_gamma_frailty_recovers_theta_and_reduces_to_cox() -> None:
    rng = np.random.default_rng(6)
    n_cl, per = 40, 20
    theta = 0.8
    z = rng.gamma(1 / theta, theta, n_cl)
    cl = np.repeat(np.arange(n_cl), per)
    x = rng.normal(size=n_cl * per)
    t = rng.exponential(1 / (z[cl] * np.exp(0.5 * x)))
    c = rng.exponential(2.0, t.size)
    df = pd.DataFrame({"t": np.minimum(t, c), "e": (t <= c).astype(float), "x": x, "cl": cl})
    fr = GammaFrailtyCox().fit(df, time="t", event="e", cluster="cl")
    assert fr.theta_ci_[0] < theta < fr.theta_ci_[1]
    assert fr.lrt_p_value_ < 1e-3
    assert abs(fr.params_["x"] - 0.5) < 3 * fr.standard_errors_["x"]
    # without a frailty the marginal model is the Cox model
    t0 = rng.exponential(1 / np.exp(0.5 * x))
    df_none = df.assign(t=np.minimum(t0, c), e=(t0 <= c).astype(float))
    fr0 = GammaFrailtyCox().fit(df_none, time="t", event="e", cluster="cl")
    cox = CoxPH().fit(df_none[["t", "e", "x"]], time="t", event="e")
    assert fr0.theta_ < 0.1
    assert fr0.lrt_p_value_ > 0.01
    assert fr0.params_["x"] == pytest.approx(cox.params_["x"], abs=0.02)


# -- competing risks -----------------------------------------------------------------------
def test_aalen_johansen_matches_lifelines_and_closed_forms() -> None:
    rng = np.random.default_rng(7)
    t = rng.exponential(10, 200)
    cause = rng.choice([0, 1, 2], 200)
    ours = AalenJohansen().fit(t, cause)
    ref = lifelines.AalenJohansenFitter(calculate_variance=True).fit(t, cause, event_of_interest=1)
    np.testing.assert_allclose(
        ours.table_["cif[1]"], ref.cumulative_density_.iloc[1:, 0], atol=1e-12
    )
    np.testing.assert_allclose(ours.table_["var[1]"], ref.variance_.iloc[1:], atol=1e-12)
    # one cause only: CIF = 1 - KM
    e = (cause > 0).astype(float)
    one = AalenJohansen().fit(t, np.where(e > 0, 1, 0))
    km = KaplanMeier().fit(t, e)
    np.testing.assert_allclose(one.table_["cif[1]"], 1 - km.table_["survival"], atol=1e-12)
    # no censoring: CIF at the end = share of deaths from each cause
    full = AalenJohansen().fit(t, np.where(cause == 0, 2, cause))
    assert full.summary.set_index("cause").loc["1", "cumulative_incidence"] == pytest.approx(
        np.mean(cause == 1)
    )


def test_cause_specific_cox_censors_other_causes(tied: pd.DataFrame) -> None:
    cause = pd.Series(np.where(tied.x1 > 0, "a", "b"), dtype=object).where(tied.e > 0, 0)
    df = tied.assign(cause=cause)
    models = cause_specific_cox(df, time="t", cause="cause", covariates=["x2"])
    ref = lifelines.CoxPHFitter().fit(
        df.assign(ea=(df.cause == "a").astype(float))[["t", "ea", "x2"]],
        "t",
        "ea",
        fit_options={"precision": 1e-12},
    )
    assert models["a"].params_["x2"] == pytest.approx(ref.params_["x2"], abs=1e-6)


# -- forecasts -----------------------------------------------------------------------------
def _simulated_colony(seed: int = 8, n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = 5e-5, 0.007
    life = np.log1p(-b * np.log(rng.random(n)) / a) / b
    birth = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    freeze = pd.Timestamp("2019-10-01")
    follow = (freeze - birth).days.to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "animal": np.arange(n),
            "strain": "X",
            "sex": rng.choice(["F", "M"], n),
            "birth_date": birth,
            "time": np.minimum(life, follow),
            "event": (life <= follow).astype(float),
        }
    )


def test_forecast_backtest_is_calibrated_on_simulated_colony() -> None:
    df = _simulated_colony()
    prov = Provenance(name="sim", license="CC0-1.0")
    fc, cal = forecast_backtest(df, provenance=prov, cutoff="2017-06-01")
    assert len(fc) > 300
    assert (fc["lower_0.5"] >= fc["age"]).all()
    assert (fc["lower_0.9"] <= fc["lower_0.5"]).all() and (fc["upper_0.5"] <= fc["upper_0.9"]).all()
    assert (fc["lower_0.5"] <= fc["point"]).all() and (fc["point"] <= fc["upper_0.5"]).all()
    cov = cal.set_index("level")["coverage"]
    assert cov[0.5] == pytest.approx(0.5, abs=0.08)
    assert cov[0.9] == pytest.approx(0.9, abs=0.06)


def test_forecaster_refuses_unlicensed_data() -> None:
    df = _simulated_colony(n=200)
    with pytest.raises(LicenseRefusedError):
        LifespanForecaster().fit(df, provenance=Provenance(name="x", license="NOASSERTION"))


def test_forecaster_conditional_survival_closed_form() -> None:
    df = _simulated_colony(n=600)
    model = LifespanForecaster(group=("strain",)).fit(
        df, provenance=Provenance(name="sim", license="MIT")
    )
    m = model.models_["X"]
    pred = model.predict(pd.DataFrame({"strain": ["X"], "age": [700.0]}), horizon=100.0)
    a, b = m.params_["a"], m.params_["b"]
    expected = np.exp(-a / b * (np.exp(b * 800) - np.exp(b * 700)))
    assert pred["p_alive_horizon"].iloc[0] == pytest.approx(expected, rel=1e-9)
    h_med = a / b * np.expm1(b * 700) + np.log(2)
    assert pred["point"].iloc[0] == pytest.approx(np.log1p(b * h_med / a) / b)


# -- input checks --------------------------------------------------------------------------
def test_validate_time_to_event_errors() -> None:
    ok = pd.DataFrame(
        {
            "animal": ["a", "b", "c"],
            "time": [3.0, 5.0, 4.0],
            "event": [1, 0, 1],
            "birth": pd.to_datetime(["2020-01-01"] * 3),
            "end": pd.to_datetime(["2020-01-04", "2020-01-06", "2020-01-05"]),
            "g": ["x", "x", "y"],
        }
    )
    validate_time_to_event(ok, birth="birth", end="end")
    with pytest.raises(InputError, match="before they are born"):
        validate_time_to_event(
            ok.assign(end=pd.to_datetime(["2019-12-01"] * 3)), birth="birth", end="end"
        )
    with pytest.raises(InputError, match="more than once"):
        validate_time_to_event(ok.assign(animal=["a", "a", "c"]))
    with pytest.raises(InputError, match="negative times"):
        validate_time_to_event(ok.assign(time=[-1.0, 5.0, 4.0]))
    with pytest.raises(InputError, match="missing or infinite"):
        validate_time_to_event(ok.assign(time=[np.nan, 5.0, 4.0]))
    with pytest.raises(InputError, match="group 'y' has 1 animal"):
        validate_time_to_event(ok, group=["g"], min_group_size=2)
    with pytest.raises(InputError, match="missing column"):
        validate_time_to_event(ok, time="age")
    with pytest.raises(InputError, match="at least 2"):
        ParametricSurvival().fit([5.0], [1])


def test_estimator_contract(tied: pd.DataFrame) -> None:
    """Every estimator: fit returns self, learned state ends in '_', summary, plot, predict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cause = pd.Series(np.where(tied.x1 > 0, "a", "b"), dtype=object).where(tied.e > 0, 0)
    fitted = [
        (KaplanMeier(), KaplanMeier().fit(tied.t, tied.e), lambda m: m.predict([5.0])),
        (NelsonAalen(), NelsonAalen().fit(tied.t, tied.e), lambda m: m.predict([5.0])),
        (None, ParametricSurvival("weibull").fit(tied.t, tied.e), lambda m: m.predict([5.0])),
        (None, CoxPH().fit(tied[["t", "e", "x1"]], time="t", event="e"),
         lambda m: m.predict(tied.head(2), [5.0])),
        (None, AalenJohansen().fit(tied.t, cause), lambda m: m.predict([5.0], "a")),
        (None, GammaFrailtyCox().fit(tied[["t", "e", "x1", "s"]], time="t", event="e",
                                     cluster="s"), lambda m: m.predict(tied.head(2))),
    ]  # fmt: skip
    model: Any
    for fresh, model, predict in fitted:
        if fresh is not None:
            assert not [k for k in vars(fresh) if k.endswith("_")]
        assert [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
        assert isinstance(model.summary, pd.DataFrame) and len(model.summary)
        assert len(np.atleast_1d(predict(model))) > 0
        ax = model.plot()
        plt.close("all")
        assert ax is not None
