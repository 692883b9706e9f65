"""Growth models, the REML mixed model, treatment effects and synergy.

References: closed-form least squares (numpy lstsq on the interaction model, scipy's t
distribution), the balanced-design REML solution (two-stage / ANOVA estimators) and
noise-free curves with known parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from translocus.treatment.growth import (
    GrowthModel,
    MixedGrowthModel,
    compare_growth_models,
    fit_lmm,
    synergy,
    treatment_effects,
)
from translocus.treatment.study import TreatmentStudy


def _study(curves: dict[str, np.ndarray], days: np.ndarray, control: str = "ctl") -> TreatmentStudy:
    frames = [
        pd.DataFrame({"model": "M", "arm": arm, "animal": "1", "day": days, "volume": vol})
        for arm, vol in curves.items()
    ]
    return TreatmentStudy.from_frame(pd.concat(frames), control=control, check_volume_range=False)


def test_gompertz_and_exponential_linear_recover_parameters() -> None:
    days = np.arange(0, 60, 3.0)
    v0, alpha, beta = 150.0, 0.12, 0.04
    gomp = v0 * np.exp(alpha / beta * (1 - np.exp(-beta * days))) - 1
    lam0, lam1 = 0.1, 40.0
    tau = np.log(lam1 / lam0 / v0) / lam0
    el = np.where(days <= tau, v0 * np.exp(lam0 * days), lam1 / lam0 + lam1 * (days - tau)) - 1
    study = _study({"g": gomp, "e": el}, days)
    g = GrowthModel("gompertz").fit(study).params_.set_index("arm")
    assert g.loc["g", ["alpha", "beta"]].tolist() == pytest.approx([alpha, beta], rel=1e-4)
    assert np.exp(g.loc["g", "log_v0"]) == pytest.approx(v0, rel=1e-4)
    e = GrowthModel("exponential_linear").fit(study)
    p = e.params_.set_index("arm")
    assert p.loc["e", ["lambda0", "lambda1"]].tolist() == pytest.approx([lam0, lam1], rel=1e-3)
    pred = e.predict(days, series=[0])[0]  # series 0 is arm "e" (sorted)
    np.testing.assert_allclose(pred, el, rtol=1e-3)
    best = compare_growth_models(study).set_index("arm")["best"]
    assert best["g"] == "gompertz"


def test_exponential_fit_is_least_squares() -> None:
    rng = np.random.default_rng(3)
    days = np.arange(0, 30, 3.0)
    vol = 120 * np.exp(0.07 * days + 0.1 * rng.standard_normal(len(days))) - 1
    fit = GrowthModel("exponential").fit(_study({"a": vol}, days)).params_.iloc[0]
    slope, intercept = np.polyfit(days, np.log(vol + 1), 1)
    assert fit["rate"] == pytest.approx(slope) and fit["log_v0"] == pytest.approx(intercept)


def test_treatment_effect_single_animals_matches_interaction_model() -> None:
    rng = np.random.default_rng(7)
    d_c, d_t = np.arange(0, 28, 3.0), np.arange(0, 35, 4.0)
    yc = np.log(200) + 0.08 * d_c + 0.1 * rng.standard_normal(len(d_c))
    yt = np.log(180) + 0.02 * d_t + 0.1 * rng.standard_normal(len(d_t))
    frames = pd.concat(
        [
            pd.DataFrame(
                {"model": "M", "arm": "ctl", "animal": "1", "day": d_c, "volume": np.exp(yc) - 1}
            ),
            pd.DataFrame(
                {"model": "M", "arm": "drug", "animal": "2", "day": d_t, "volume": np.exp(yt) - 1}
            ),
        ]
    )
    eff = treatment_effects(TreatmentStudy.from_frame(frames, control="ctl")).iloc[0]
    # Reference: y = a + r t + da T + dr T t by ordinary least squares.
    t_ind = np.r_[np.zeros(len(d_c)), np.ones(len(d_t))]
    day = np.r_[d_c, d_t]
    x = np.column_stack([np.ones_like(day), day, t_ind, t_ind * day])
    y = np.r_[yc, yt]
    beta, rss, _, _ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - 4
    cov = rss[0] / df * np.linalg.inv(x.T @ x)
    se = np.sqrt(cov[3, 3])
    assert eff["effect"] == pytest.approx(beta[3])
    assert eff["se"] == pytest.approx(se)
    assert eff["df"] == df
    q = stats.t.ppf(0.975, df)
    assert [eff["ci_low"], eff["ci_high"]] == pytest.approx([beta[3] - q * se, beta[3] + q * se])
    assert eff["p_value"] == pytest.approx(2 * stats.t.sf(abs(beta[3] / se), df))


def _balanced(seed: int, m: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    days = np.arange(0, 25, 3.0)
    animal = np.repeat(np.arange(m), len(days))
    t = np.tile(days, m)
    b0, b1 = 0.3 * rng.standard_normal(m), 0.02 * rng.standard_normal(m)
    y = 5 + 0.05 * t + b0[animal] + b1[animal] * t + 0.1 * rng.standard_normal(len(t))
    return y, t, animal, days


def test_reml_random_slopes_balanced_closed_form() -> None:
    """In a balanced design REML equals the two-stage estimator: mean of per-animal OLS
    coefficients, pooled within-animal variance, and cov(b) − σ²(Z'Z)⁻¹."""
    y, t, animal, days = _balanced(1)
    m = animal.max() + 1
    fit = fit_lmm(y, np.column_stack([np.ones_like(t), t]), t, animal)
    z = np.column_stack([np.ones_like(days), days])
    coefs, rss = [], 0.0
    for i in range(m):
        b, r, _, _ = np.linalg.lstsq(z, y[animal == i], rcond=None)
        coefs.append(b)
        rss += r[0]
    coefs_a = np.array(coefs)
    s2 = rss / (len(y) - 2 * m)
    cov_b = np.cov(coefs_a.T)
    np.testing.assert_allclose(fit.beta, coefs_a.mean(axis=0), rtol=1e-9)
    assert fit.sigma2 == pytest.approx(s2, rel=1e-4)
    np.testing.assert_allclose(fit.re_cov, cov_b - s2 * np.linalg.inv(z.T @ z), rtol=1e-3)
    np.testing.assert_allclose(
        np.sqrt(np.diag(fit.cov_beta)), np.sqrt(np.diag(cov_b) / m), rtol=1e-4
    )
    assert fit.df == m - 1


def test_reml_random_intercept_balanced_anova() -> None:
    y, t, animal, days = _balanced(2)
    m, n = animal.max() + 1, len(days)
    fit = fit_lmm(y, np.column_stack([np.ones_like(t), t]), t, animal, random_slope=False)
    # Within: animal intercepts + common slope; between: animal means.
    x = np.column_stack([np.eye(m)[animal], t])
    _, ssw, _, _ = np.linalg.lstsq(x, y, rcond=None)
    s2 = ssw[0] / (len(y) - m - 1)
    means = np.array([y[animal == i].mean() for i in range(m)])
    msb = n * np.var(means, ddof=1)
    assert fit.sigma2 == pytest.approx(s2, rel=1e-5)
    assert fit.re_cov[0, 0] == pytest.approx((msb - s2) / n, rel=1e-4)


def test_mixed_growth_model_and_replicate_effects() -> None:
    rng = np.random.default_rng(11)
    days = np.arange(0, 22, 3.0)
    rows = []
    for arm, rate in (("ctl", 0.09), ("drug", 0.03)):
        for a in range(6):
            r = rate + 0.01 * rng.standard_normal()
            v = 150 * np.exp(r * days + 0.05 * rng.standard_normal(len(days)))
            rows.append(
                pd.DataFrame(
                    {"model": "M", "arm": arm, "animal": f"{arm}{a}", "day": days, "volume": v}
                )
            )
    study = TreatmentStudy.from_frame(pd.concat(rows), control="ctl")
    fits = MixedGrowthModel().fit(study).fits_.set_index("arm")
    assert (fits["method"] == "mixed").all()
    assert fits.loc["ctl", "rate"] == pytest.approx(0.09, abs=0.015)
    eff = treatment_effects(study).iloc[0]
    assert eff["method"] == "mixed" and eff["df"] == 10
    assert eff["effect"] == pytest.approx(-0.06, abs=0.02) and eff["p_value"] < 1e-4
    assert eff["ci_low"] < eff["effect"] < eff["ci_high"]
    assert eff["effect"] == pytest.approx(
        fits.loc["drug", "rate"] - fits.loc["ctl", "rate"], abs=1e-3
    )


def test_synergy_closed_form() -> None:
    days = np.arange(0, 30, 3.0)
    noise = 0.02 * np.sin(days)  # deterministic, so the SEs are finite
    rates = {"ctl": 0.10, "A": 0.07, "B": 0.06, "A + B": 0.01}
    study = _study({arm: 100 * np.exp(r * days + noise) - 1 for arm, r in rates.items()}, days)
    syn = synergy(study).iloc[0]
    # Bliss: r_AB - r_A - r_B + r_C; HSA: r_AB - min(r_A, r_B).
    assert syn["bliss_excess"] == pytest.approx(0.01 - 0.07 - 0.06 + 0.10, abs=1e-10)
    assert syn["hsa_excess"] == pytest.approx(0.01 - 0.06, abs=1e-10)
    assert syn["best_single"] == "B"
    assert syn["bliss_ci_low"] < syn["bliss_excess"] < syn["bliss_ci_high"]
    # Volume form at day 27: T/C = exp((r - r_C) 27).
    vol = {k: 100 * np.exp(r * 27 + noise[-1]) - 1 for k, r in rates.items()}
    tc = {k: v / vol["ctl"] for k, v in vol.items()}
    expected = (1 - tc["A + B"]) - (1 - tc["A"] * tc["B"])
    assert syn["bliss_tgi_excess"] == pytest.approx(expected, rel=1e-6)


def test_pdxe_effects_every_pair_has_interval(pdxe: TreatmentStudy) -> None:
    sub = pdxe.subset(models=["X-1004", "X-1008", "X-025"])
    eff = treatment_effects(sub)
    n_pairs = sub.series().query("arm != 'untreated'").groupby(["model", "arm"]).ngroups
    assert len(eff) == n_pairs
    assert set(eff["method"]) == {"ols", "mixed"}  # X-025 has three untreated animals
    ok = eff.dropna(subset=["ci_low"])
    assert (ok["ci_low"] <= ok["effect"]).all() and (ok["effect"] <= ok["ci_high"]).all()
