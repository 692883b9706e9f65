"""The linear mixed model against statsmodels ``MixedLM`` and against dense algebra.

Reference: statsmodels 0.14+ ``MixedLM(y, X, groups=animal, exog_re=Z @ S).fit(reml=...,
method=["lbfgs"])`` with ``S = diag(1, 1/sd(time))``: the same model (``D = S D_S S``), whose
random slope on the scale of months or days stops statsmodels' optimiser early otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import OptionError
from translocus.core.mixed import fit_mixed
from translocus.core.paths import data_dir

sm = pytest.importorskip("statsmodels.api")


def _statsmodels(
    y: np.ndarray, x: np.ndarray, z: np.ndarray, groups: np.ndarray, *, reml: bool
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """statsmodels' fit, its random slope on time divided by the time's SD (same model)."""
    s = np.diag([1.0, 1.0 / float(z[:, 1].std())])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.MixedLM(y, x, groups=groups, exog_re=z @ s).fit(reml=reml, method=["lbfgs"])
    return np.asarray(res.fe_params), s @ np.asarray(res.cov_re) @ s, res.scale, res.llf


def _slam(n_animals: int) -> pd.DataFrame:
    path = data_dir() / "slam"
    if not path.exists():
        pytest.skip(f"SLAM data not found at {path} (set TRANSLOCUS_DATA)")
    from translocus.progression.data import read_slam

    d = read_slam(measures=("body_weight",)).data
    return d[d["animal"].isin(sorted(d["animal"].unique())[:n_animals])]


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_slam_random_intercept_and_slope_matches_statsmodels(method: str) -> None:
    """log body weight ~ age + age² + sex, random intercept and age slope per animal."""
    d = _slam(250)
    age = d["age"].to_numpy() - d["age"].mean()
    y = np.log(d["value"].to_numpy())
    sex = (d["sex"] == "M").to_numpy(float)
    x = np.c_[np.ones_like(age), age, age**2, sex]
    z = x[:, :2]
    groups = d["animal"].to_numpy()
    fit = fit_mixed(y, x, z, groups, method=method)
    beta, re_cov, sigma2, loglik = _statsmodels(y, x, z, groups, reml=method == "reml")
    assert fit.converged and fit.method == method
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-4)
    np.testing.assert_allclose(fit.re_cov, re_cov, rtol=1e-3)
    assert fit.sigma2 == pytest.approx(sigma2, rel=1e-5)
    assert -1e-6 <= fit.loglik - loglik < 1e-5
    assert fit.n_groups == 250 and fit.n_obs == len(y)


@pytest.mark.parametrize("arm", ["B", "C"])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_pdx_growth_matches_statsmodels(arm: str, method: str) -> None:
    """ln(V + 1) ~ day, random intercept and growth rate per animal (Iowa melanoma study)."""
    path = data_dir() / "pdx" / "iowa" / "melanoma1.csv"
    if not path.exists():
        pytest.skip(f"PDX data not found at {path}")
    d = pd.read_csv(path)
    d = d[d["Treatment"] == arm]
    y = np.log(d["Volume"].to_numpy() + 1.0)
    day = d["Day"].to_numpy(float)
    x = np.c_[np.ones_like(day), day]
    fit = fit_mixed(y, x, x, d["ID"].to_numpy(), method=method)
    beta, re_cov, sigma2, loglik = _statsmodels(y, x, x, d["ID"].to_numpy(), reml=method == "reml")
    np.testing.assert_allclose(fit.beta, beta, rtol=2e-5)
    np.testing.assert_allclose(fit.re_cov, re_cov, rtol=5e-3)
    assert fit.sigma2 == pytest.approx(sigma2, rel=1e-4)
    # ours is the maximum: never below statsmodels', and within its optimiser's slack
    assert -1e-6 <= fit.loglik - loglik < 1e-4


def _simulated(
    n_groups: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_per = rng.integers(2, 9, n_groups)
    g = np.repeat(np.arange(n_groups), n_per)
    t = rng.uniform(0, 10, len(g))
    cov = np.array([[1.0, 0.1], [0.1, 0.04]])
    u = rng.multivariate_normal([0, 0], cov, n_groups)
    group_level = rng.integers(0, 2, n_groups).astype(float)[g]
    x = np.c_[np.ones_like(t), t, group_level]
    z = x[:, :2]
    y = x @ [2.0, 0.3, -0.5] + np.einsum("na,na->n", z, u[g]) + rng.normal(0, 0.5, len(g))
    return y, x, z, g, t


def test_gls_covariance_and_forecast_match_dense_algebra() -> None:
    y, x, z, g, _ = _simulated(40, 0)
    fit = fit_mixed(y, x, z, g)
    d, s2 = fit.re_cov, fit.sigma2
    xvx = sum(
        x[g == i].T
        @ np.linalg.solve(z[g == i] @ d @ z[g == i].T + s2 * np.eye((g == i).sum()), x[g == i])
        for i in range(40)
    )
    np.testing.assert_allclose(fit.cov_beta, np.linalg.inv(xvx), rtol=1e-8)
    # new groups 0 (three visits of history) and 1 (none): dense BLUP and its error variance
    hx, hz, hy = x[:3], z[:3], y[:3]
    tx, tz = np.array([[1.0, 12.0, 1.0], [1.0, 12.0, 0.0]]), np.array([[1.0, 12.0], [1.0, 12.0]])
    mean, var = fit.forecast(
        tx, tz, np.array([0, 1]), x_history=hx, z_history=hz, y_history=hy,
        group_history=np.zeros(3, dtype=int),
    )  # fmt: skip
    v = hz @ d @ hz.T + s2 * np.eye(3)
    c = tz[0] @ d @ hz.T
    a = tx[0] - c @ np.linalg.solve(v, hx)
    expected_var = tz[0] @ d @ tz[0] + s2 - c @ np.linalg.solve(v, c) + a @ fit.cov_beta @ a
    assert mean[0] == pytest.approx(tx[0] @ fit.beta + c @ np.linalg.solve(v, hy - hx @ fit.beta))
    assert var[0] == pytest.approx(expected_var, rel=1e-10)
    assert mean[1] == pytest.approx(tx[1] @ fit.beta)
    marginal = tz[1] @ d @ tz[1] + s2 + tx[1] @ fit.cov_beta @ tx[1]
    assert var[1] == pytest.approx(marginal, rel=1e-10)


def test_forecast_intervals_cover_new_groups() -> None:
    """90% intervals of new groups' next observation cover about 90% (simulated truth)."""
    y, x, z, g, t = _simulated(1200, 3)
    train = g < 400
    fit = fit_mixed(y[train], x[train], z[train], g[train])
    test = ~train
    codes = g[test] - 400
    last = np.zeros(len(codes), dtype=bool)
    last[np.r_[np.flatnonzero(np.diff(codes)), len(codes) - 1]] = True
    hist = ~last
    mean, var = fit.forecast(
        x[test][last], z[test][last], codes[last], x_history=x[test][hist],
        z_history=z[test][hist], y_history=y[test][hist], group_history=codes[hist],
    )  # fmt: skip
    inside = np.abs(y[test][last] - mean) <= 1.6449 * np.sqrt(var)
    assert 0.87 <= inside.mean() <= 0.93


def test_convergence_is_reported_and_method_checked() -> None:
    y, x, z, g, _ = _simulated(30, 1)
    assert fit_mixed(y, x, z, g).converged
    assert not fit_mixed(y, x, z, g, max_iter=1).converged
    with pytest.raises(OptionError, match="method"):
        fit_mixed(y, x, z, g, method="pql")
