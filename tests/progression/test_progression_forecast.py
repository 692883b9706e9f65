"""Forecast evaluation: held-out splits, reference forecasters, metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.mixed import fit_mixed
from translocus.progression.data import from_frame
from translocus.progression.forecast import (
    LinearMixedModel,
    forecast_metrics,
    horizon_split,
    last_value_forecast,
    select_by_forecast,
)


def _panel(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Random intercept (SD 0.2) and slope (SD 0.01/month) around log value 3 + 0.02 age."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        b0, b1 = rng.normal(0, 0.2), rng.normal(0, 0.01)
        group = "A" if i % 2 else "B"
        for age in np.arange(3.0, 27.0, 2.0):
            mean = 3.0 + 0.02 * age + b0 + b1 * (age - 15) + (0.1 if group == "B" else 0.0)
            rows.append((f"m{i}", age, "w", float(np.exp(mean + rng.normal(0, 0.05))), group))
    return pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "group"])


def test_horizon_split_properties() -> None:
    table = from_frame(_panel(), name="panel", license="CC0-1.0")
    split = horizon_split(table, horizon=6.0, tolerance=1.0, test_fraction=0.25)
    test_animals = set(split.targets["animal"])
    assert test_animals and not test_animals & set(split.train.data["animal"])
    assert ((split.targets["horizon"] > 5.0) & (split.targets["horizon"] < 7.0)).all()
    hist_last = split.history.data.groupby("animal")["age"].max()
    assert np.allclose(hist_last[split.targets["animal"]].to_numpy(), split.targets["last_age"])
    with pytest.raises(InputError, match="test_fraction"):
        horizon_split(table, test_fraction=0.0)


def test_lmm_recovers_variance_components() -> None:
    """Closed-form truth: intercept SD 0.2, slope SD 0.01, residual SD 0.05."""
    frame = _panel(n=200, seed=1)
    y = np.log(frame["value"].to_numpy())
    age = frame["age"].to_numpy() - 15.0
    x = np.c_[np.ones_like(age), age]
    z = np.c_[np.ones_like(age), age]
    fit = fit_mixed(y, x, z, frame["animal"].to_numpy())
    beta, d, s2 = fit.beta, fit.re_cov, fit.sigma2
    assert np.isclose(np.sqrt(s2), 0.05, rtol=0.1)
    assert np.isclose(np.sqrt(d[0, 0]), 0.2, rtol=0.2)
    assert np.isclose(np.sqrt(d[1, 1]), 0.01, rtol=0.25)
    assert np.isclose(beta[1], 0.02, atol=0.003)


def test_forecasters_and_metrics() -> None:
    table = from_frame(_panel(seed=2), name="panel", license="CC0-1.0")
    split = horizon_split(table, horizon=6.0, test_fraction=0.3)
    lmm = LinearMixedModel().fit(split.train, covariates=["group"])
    fc = lmm.forecast(split.history, split.targets)
    carry = last_value_forecast(split.history, split.targets, train=split.train)
    m_lmm, m_carry = forecast_metrics(fc), forecast_metrics(carry)
    assert m_lmm.loc[0, "mae"] < m_carry.loc[0, "mae"]
    assert 0.75 <= m_lmm.loc[0, "coverage_90"] <= 1.0
    assert {"coverage_50", "coverage_90", "median_ae"} <= set(m_carry.columns)


def test_forecast_columns_and_dense_prediction() -> None:
    """``point``/``lower_``/``upper_`` on the data's scale; the point is the BLUP forecast
    computed densely per animal (V = Z D Z' + σ²I) with the fitted parameters."""
    table = from_frame(_panel(seed=3), name="panel", license="CC0-1.0")
    split = horizon_split(table, horizon=6.0, test_fraction=0.3)
    model = LinearMixedModel().fit(split.train, covariates=["group"])
    fc = model.forecast(split.history, split.targets, level=0.8)
    assert {"point", "lower_0.8", "upper_0.8"} <= set(fc.columns) and "median" not in fc
    assert (fc["lower_0.8"] < fc["point"]).all() and (fc["point"] < fc["upper_0.8"]).all()
    p = model.params_["w"]
    beta, d, s2 = np.asarray(p["beta"]), np.asarray(p["D"]), float(p["sigma2"])
    hist = split.history.data
    for i in (0, len(fc) - 1):
        row = fc.iloc[i]
        past = hist[(hist["animal"] == row["animal"]) & (hist["measure"] == "w")]
        b = (past["group"].iloc[0] == "B") * 1.0
        age_h = past["age"].to_numpy() - model.age_center_
        x_h = np.c_[np.ones_like(age_h), age_h, age_h**2, b + 0 * age_h, b * age_h]
        z_h = x_h[:, :2]
        a = row["age"] - model.age_center_
        x_t, z_t = np.array([1, a, a * a, b, b * a]), np.array([1, a])
        v = z_h @ d @ z_h.T + s2 * np.eye(len(age_h))
        r = np.log(past["value"].to_numpy()) - x_h @ beta
        mean = x_t @ beta + z_t @ d @ z_h.T @ np.linalg.solve(v, r)
        assert row["point"] == pytest.approx(np.exp(mean), rel=1e-9)


def test_unseen_level_is_refused_and_new_animals_get_the_population_forecast() -> None:
    frame = _panel(seed=4)
    model = LinearMixedModel(calibration="none").fit(frame, covariates=["group"], license="CC0-1.0")
    targets = pd.DataFrame({"animal": ["x"], "age": [12.0], "measure": ["w"], "group": ["C"]})
    with pytest.raises(InputError, match=r"column 'group': value\(s\) C were not seen"):
        model.forecast(frame, targets)
    with pytest.raises(InputError, match="'group'.*no value"):
        model.forecast(frame.iloc[:0], targets.drop(columns="group"))
    fc = model.forecast(frame.iloc[:0], targets.assign(group="B"), level=0.9)
    p = model.params_["w"]
    a = 12.0 - model.age_center_
    x, z = np.array([1, a, a * a, 1, a]), np.array([1, a])
    beta, cov = np.asarray(p["beta"]), np.asarray(p["cov_beta"])
    sd = np.sqrt(z @ np.asarray(p["D"]) @ z + float(p["sigma2"]) + x @ cov @ x)
    assert fc["point"].iloc[0] == pytest.approx(np.exp(x @ beta), rel=1e-10)
    assert fc["upper_0.9"].iloc[0] == pytest.approx(np.exp(x @ beta + 1.6448536 * sd), rel=1e-6)


def test_calibrate_rescales_intervals_to_cover_held_out_animals() -> None:
    """Split-conformal: after calibrating on held-out animals their 90% intervals cover 90%."""
    table = from_frame(_panel(n=300, seed=5), name="panel", license="CC0-1.0")
    split = horizon_split(table, horizon=6.0, test_fraction=0.5)
    model = LinearMixedModel(calibration="none").fit(split.train, covariates=["group"])
    assert model.interval_scale_.tolist() == [1.0]
    assert model.calibration_.method == "none"
    model.calibrate(split.history, split.targets)
    assert model.calibration_.method == "split-conformal"
    fc = model.forecast(split.history, split.targets, level=0.9)
    inside = (fc["value"] >= fc["lower_0.9"]) & (fc["value"] <= fc["upper_0.9"])
    assert inside.mean() == pytest.approx(0.9, abs=0.02)
    # the simulated model is the fitted one: its intervals were right already
    assert model.interval_scale_[0] == pytest.approx(1.0, abs=0.2)


def test_ml_and_reml_differ_only_in_the_variance_components() -> None:
    frame = _panel(n=80, seed=6)
    reml = LinearMixedModel().fit(frame, license="CC0-1.0")
    ml = LinearMixedModel(method="ml").fit(frame, license="CC0-1.0")
    assert reml.fits_["w"].method == "reml" and ml.fits_["w"].method == "ml"
    np.testing.assert_allclose(reml.params_["w"]["beta"], ml.params_["w"]["beta"], atol=1e-3)
    assert float(ml.params_["w"]["sigma2"]) < float(reml.params_["w"]["sigma2"])


def test_select_by_forecast_scores_candidates_on_inner_held_out_animals() -> None:
    table = from_frame(_panel(n=40, seed=7), name="panel", license="CC0-1.0")
    candidates = [{"max_iter": 2, "onset_sd": 0.5}, {"max_iter": 2, "onset_sd": 2.0}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model, scores = select_by_forecast(table, candidates, measures=["w"])
    assert len(scores) == 2 and np.isfinite(scores["score"]).all()
    assert model.onset_sd == candidates[int(scores["score"].idxmin())]["onset_sd"]
    assert model.interval_scale_.shape == (1,) and model.interval_scale_[0] > 0
