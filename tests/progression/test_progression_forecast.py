"""Forecast evaluation: held-out splits, reference forecasters, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.progression.data import from_frame
from translocus.progression.forecast import (
    LinearMixedModel,
    _fit_lmm,
    forecast_metrics,
    horizon_split,
    last_value_forecast,
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
    beta, d, s2 = _fit_lmm(y, x, z, pd.factorize(frame["animal"])[0])
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
