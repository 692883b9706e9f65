"""Age trajectories: spline basis, marginal likelihood, onsets, bad input, MODEL-AD acceptance."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.interpolate import BSpline

from translocus.core.errors import InputError
from translocus.core.provenance import LicensePolicy
from translocus.progression.data import read_model_ad
from translocus.progression.trajectory import (
    AgeTrajectoryModel,
    _cell_loglik,
    _prior_precision,
    bspline_basis,
)


def test_bspline_basis_matches_scipy() -> None:
    """Reference: scipy.interpolate.BSpline.basis_element on the extended knot vector."""
    knots = np.linspace(2.0, 20.0, 7)
    x = np.linspace(2.0, 19.99, 41)
    ours = bspline_basis(x, knots)
    step = knots[1] - knots[0]
    full = np.r_[knots[0] - step * np.arange(3, 0, -1), knots, knots[-1] + step * np.arange(1, 4)]
    ref = np.stack(
        [
            np.nan_to_num(BSpline.basis_element(full[i : i + 5], extrapolate=False)(x))
            for i in range(len(full) - 4)
        ],
        axis=1,
    )
    assert np.allclose(ours, ref, atol=1e-9)
    assert np.allclose(bspline_basis(x, knots, degree=2).sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "knots",
    [
        1.0 + 2.0 * np.arange(12),  # trajectory: age_min + knot_spacing * arange(n + 1)
        np.linspace(-3.1, 41.7, 10),  # course model: linspace(min - 0.3 span, max + 0.3 span, 10)
    ],
)
def test_bspline_basis_closed_form_uniform_cubic(knots: np.ndarray) -> None:
    """On the knots the models use: the four uniform cubic pieces in closed form, to 1e-12,
    clamped outside the knots (the top just inside the last knot, as in the course kernel)."""
    rng = np.random.default_rng(3)
    step = knots[1] - knots[0]
    x = np.r_[rng.uniform(knots[0] - 5, knots[-1] + 5, 500), knots, knots[:-1] + 0.5 * step]
    xc = np.clip(x, knots[0], knots[-1] - 1e-9 * step)
    pos = (xc - knots[0]) / step
    j = np.minimum(np.floor(pos).astype(int), len(knots) - 2)
    u = pos - j
    pieces = [(1 - u) ** 3, 3 * u**3 - 6 * u**2 + 4, -3 * u**3 + 3 * u**2 + 3 * u + 1, u**3]
    ref = np.zeros((len(x), len(knots) + 2))
    for i, piece in enumerate(pieces):
        ref[np.arange(len(x)), j + i] = piece / 6.0
    got = bspline_basis(x, knots)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)
    at_knot = bspline_basis(knots[2:3], knots)[0, 2:5]  # u = 0 in interval 2
    np.testing.assert_allclose(at_knot, [1 / 6, 4 / 6, 1 / 6], rtol=0, atol=1e-12)
    assert bspline_basis(np.empty(0), knots).shape == (0, len(knots) + 2)


def test_cell_likelihood_equals_dense_gaussian() -> None:
    """The cell-mean factorisation equals the dense multivariate normal density."""
    rng = np.random.default_rng(1)
    knots = np.linspace(0.0, 24.0, 9)
    age = np.repeat([4.0, 8.0, 12.0], [3, 4, 2])
    y = rng.normal(size=len(age))
    w = rng.uniform(0.5, 1.0, len(age))
    s_e, s_c = 0.4, 0.3
    q = _prior_precision(len(knots) + 2, 3.0, 0.2, 5.0, 0.05)
    k = np.linalg.inv(q)
    ages_all = np.array([4.0, 8.0, 12.0])
    b_all = bspline_basis(ages_all, knots)
    got = _cell_loglik(
        age, y, w, ages_all, (b_all @ k @ b_all.T)[None], np.array([s_e**2]), np.array([s_c**2])
    )[0]
    basis = bspline_basis(age, knots)
    cells = (age[:, None] == ages_all[None, :]).astype(float)
    cov = basis @ k @ basis.T + s_c**2 * cells @ cells.T + np.diag(s_e**2 / w)
    yc = y - np.average(y, weights=w)
    ref = stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(yc)
    assert np.isclose(got, ref, rtol=1e-8)


def test_cell_likelihood_with_covariate_shifts_equals_dense_gaussian() -> None:
    """Cells split by covariate value (two study families share an age); their shift has
    prior variance v: the cell factorisation equals the dense normal density."""
    rng = np.random.default_rng(4)
    knots = np.linspace(0.0, 24.0, 9)
    age = np.array([4.0, 4.0, 4.0, 8.0, 8.0, 12.0, 12.0, 12.0, 4.0, 4.0, 12.0, 12.0])
    shift = np.r_[np.zeros(8), np.ones(4)][:, None]
    y = rng.normal(size=len(age)) + 2.0 * shift[:, 0]
    w = rng.uniform(0.5, 1.0, len(age))
    s_e, s_c, v = 0.5, 0.2, 4.0
    q = _prior_precision(len(knots) + 2, 3.0, 0.3, 5.0)
    k = np.linalg.inv(q)
    ages_all = np.array([4.0, 8.0, 12.0])
    b_all = bspline_basis(ages_all, knots)
    got = _cell_loglik(
        age, y, w, ages_all, (b_all @ k @ b_all.T)[None], np.array([s_e**2]),
        np.array([s_c**2]), shift, v,
    )[0]  # fmt: skip
    basis = bspline_basis(age, knots)
    keys = np.c_[age, shift]
    same_cell = (keys[:, None, :] == keys[None, :, :]).all(axis=2).astype(float)
    cov = basis @ k @ basis.T + v * shift @ shift.T + s_c**2 * same_cell + np.diag(s_e**2 / w)
    yc = y - np.average(y, weights=w)
    ref = stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(yc)
    assert np.isclose(got, ref, rtol=1e-8)


def test_all_zero_stratum_is_fitted() -> None:
    """A stratum whose values are all zero (controls without plaques) is a constant curve
    on the log scale, not an error."""
    frame = _simulated()
    zeros = frame.assign(measure="plaque", value=0.0)
    fit = AgeTrajectoryModel(n_boot=0).fit(
        pd.concat([frame, zeros]), group=["mouse_model", "sex"], control="ctrl"
    )
    pred = fit.predict([16.0], stratum=("plaque",), n_animals=4)
    # the SD is bounded by the smallest variances of the grid (spread 1: 0.02 and 1e-4)
    assert np.allclose(pred["point"], 0.0) and (pred["sd_analysis"] < 0.05).all()
    # hyper_ keeps one row per stratum (its log offset); variances_ one per group
    assert len(fit.hyper_) == 2 and len(fit.variances_) == 8
    assert fit.hyper_.set_index("measure").loc["plaque", "offset"] == 1.0


def test_effects_compare_within_study_family() -> None:
    """Model and control of two study families, family b 2 log units lower for both: with
    the family as a covariate the effect is that of the families' own controls."""
    frame = _simulated(n=6, seed=5)
    other = _simulated(n=6, seed=6)
    other = other[other["age"].isin([4.0, 12.0])].assign(
        animal=lambda f: "b" + f["animal"], value=lambda f: f["value"] * np.exp(-2.0)
    )
    both = pd.concat([frame.assign(family="a"), other.assign(family="b")], ignore_index=True)
    fit = AgeTrajectoryModel(n_boot=10).fit(
        both, group=["mouse_model", "sex"], control="ctrl", covariates=["family"]
    )
    eff = fit.effects_[np.isclose(fit.effects_["age"], 16.0)]
    assert np.allclose(eff["difference"], 0.45, atol=0.15)
    assert (fit.onsets_["status"] == "ok").all()


def _simulated(onset: float = 8.0, n: int = 8, seed: int = 0) -> pd.DataFrame:
    """Control flat; the model rises linearly from 4 months with slope 0.15 / (onset - 4)
    log units per month, so with residual SD 0.15 the effect |d| = 1 is reached at
    ``onset`` months."""
    rng = np.random.default_rng(seed)
    rows = []
    slope = 0.15 / (onset - 4.0)
    for model in ("ctrl", "tg"):
        for sex in ("F", "M"):
            for age in (4.0, 8.0, 12.0, 16.0):
                for i in range(n):
                    mean = 2.0 + (slope * (age - 4.0) if model == "tg" else 0.0)
                    value = np.exp(mean + rng.normal(0, 0.15))
                    rows.append((f"{model}{sex}{age}{i}", age, "m", model, sex, value))
    return pd.DataFrame(rows, columns=["animal", "age", "measure", "mouse_model", "sex", "value"])


def test_onset_recovered_with_interval() -> None:
    """One seeded replicate: the true onset (8 months) lies in both bootstrap intervals."""
    frame = _simulated(onset=8.0, seed=2)
    fit = AgeTrajectoryModel(n_boot=100, cohort_effects=False).fit(
        frame, group=["mouse_model", "sex"], control="ctrl"
    )
    onsets = fit.summary
    assert len(onsets) == 2
    for _, row in onsets.iterrows():
        assert row["status"] == "ok"
        assert 5.0 < row["onset_age"] < 12.0
        assert row["lower"] <= 8.0 <= row["upper"]
    # the effect curve at 16 months is close to the truth: 0.15 * 12 / 4 = 0.45 log units
    eff = fit.effects_[np.isclose(fit.effects_["age"], 16.0)]
    assert np.allclose(eff["difference"], 0.45, atol=0.15)


def test_predict_interval_and_horizon() -> None:
    fit = AgeTrajectoryModel(n_boot=0, horizon=20.0).fit(
        _simulated(), group=["mouse_model", "sex"], control="ctrl"
    )
    pred = fit.predict([18.0, 20.0], group=("tg", "F"), stratum=("m",), n_animals=8)
    assert (pred["lower_0.9"] < pred["point"]).all() and (pred["point"] < pred["upper_0.9"]).all()
    # the data's scale: the point is the back-transformed analysis mean
    assert pred["scale"].eq("log").all()
    back = np.exp(fit.transform(pred["point"].to_numpy(), ("m",)))
    assert np.allclose(back, np.exp(pred["mean_analysis"]), rtol=1e-12)
    # beyond the data the interval widens with distance
    assert pred["sd_analysis"].iloc[1] > pred["sd_analysis"].iloc[0]
    two = fit.predict([18.0], group=("tg", "F"), stratum=("m",), level=(0.5, 0.9))
    assert two["lower_0.9"].item() < two["lower_0.5"].item() < two["upper_0.5"].item()
    with pytest.raises(InputError, match="refit with a larger horizon"):
        fit.predict([30.0])


def test_missing_control_and_single_animal_group() -> None:
    frame = _simulated()
    with pytest.raises(InputError, match="control group 'C57BL/6J' is missing"):
        AgeTrajectoryModel(n_boot=0).fit(frame, group=["mouse_model", "sex"])
    lonely = pd.DataFrame([("x1", 4.0, "m", "solo", "F", 3.0)], columns=frame.columns)
    with pytest.warns(UserWarning, match="skipped"):
        fit = AgeTrajectoryModel(n_boot=0).fit(
            pd.concat([frame, lonely]), group=["mouse_model", "sex"], control="ctrl"
        )
    assert fit.skipped_["mouse_model"].tolist() == ["solo"]
    assert "1 animal" in fit.skipped_["reason"].iloc[0]


def test_zero_and_negative_values() -> None:
    frame = _simulated()
    frame.loc[0, "value"] = 0.0
    with pytest.raises(InputError, match="zero values.*nonpositive='offset'"):
        AgeTrajectoryModel(n_boot=0, nonpositive="error").fit(
            frame, group=["mouse_model", "sex"], control="ctrl"
        )
    fit = AgeTrajectoryModel(n_boot=0).fit(frame, group=["mouse_model", "sex"], control="ctrl")
    assert any("treated as failed measurements" in n for n in fit.notes_)
    assert len(fit.analysis_data_) == len(frame) - 1
    offset = AgeTrajectoryModel(n_boot=0, nonpositive="offset").fit(
        frame, group=["mouse_model", "sex"], control="ctrl"
    )
    assert len(offset.analysis_data_) == len(frame)
    frame.loc[1, "value"] = -1.0
    with pytest.raises(InputError, match="negative values"):
        AgeTrajectoryModel(n_boot=0, scale="log").fit(
            frame, group=["mouse_model", "sex"], control="ctrl"
        )
    # on the linear scale negative values are fine
    AgeTrajectoryModel(n_boot=0, scale="linear").fit(
        frame, group=["mouse_model", "sex"], control="ctrl"
    )


def test_model_ad_acceptance(shared_data) -> None:
    """5xFAD, both sexes, four measures: curves, onsets, and the 18-month forecast from 4, 8
    and 12 months beats carrying 12 months forward and a linear trend (median |error|, log)."""
    measures = [
        "Plaque Density (Thio-S)",
        "Insoluble Abeta42",
        "Astrocyte Cell Density (GFAP)",
        "Microglia Cell Density (IBA1)",
    ]
    table = read_model_ad(model_group="5xFAD", measures=measures)
    group = ["mouse_model", "sex"]
    policy = LicensePolicy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = AgeTrajectoryModel(n_boot=30).fit(table, group=group, control="C57BL/6J",
                                                 policy=policy)  # fmt: skip
        early = AgeTrajectoryModel(horizon=18.0, n_boot=0).fit(
            table.select(age=[4.0, 8.0, 12.0]), group=group, control="C57BL/6J"
        )
    # describing MODEL-AD is analysis: recorded, not refused
    assert policy.log[-1].purpose == "analysis"
    onsets = full.summary
    plaque = onsets[onsets["measure"] == "Plaque Density (Thio-S)"]
    assert (plaque["onset_age"] <= 4.0).all()  # plaques are present at the first age
    assert (onsets[onsets["measure"] == "Insoluble Abeta42"]["status"] != "ok").all()
    obs = full.analysis_data_
    obs = obs[(obs["mouse_model"] == "5xFAD")]
    truth = obs[obs["age"] == 18.0].groupby(["measure", "tissue", "sex"])["y"].mean()
    ed = early.analysis_data_[early.analysis_data_["mouse_model"] == "5xFAD"]
    means = ed.groupby(["measure", "tissue", "sex", "age"])["y"].mean().unstack()
    design = np.c_[np.ones(3), [4.0, 8.0, 12.0]]
    linear = means[[4.0, 8.0, 12.0]].to_numpy() @ np.linalg.pinv(design).T @ [1.0, 18.0]
    pred = early.predict([18.0]).query("mouse_model == '5xFAD'")
    pred = pred.set_index(["measure", "tissue", "sex"])["mean_analysis"].reindex(truth.index)
    err_model = np.median(np.abs(pred - truth))
    err_carry = np.median(np.abs(means[12.0].reindex(truth.index) - truth))
    err_linear = np.median(np.abs(pd.Series(linear, means.index).reindex(truth.index) - truth))
    assert err_model < err_carry < err_linear
