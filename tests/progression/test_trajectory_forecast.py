"""Age-trajectory forecasts: groups fitted apart, the course kept with three ages, study
family as a covariate, calibrated intervals, and the MODEL-AD oldest-age validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.progression.data import read_model_ad
from translocus.progression.trajectory import (
    AgeTrajectoryModel,
    oldest_age_backtest,
    summarise_backtest,
)

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
COLUMNS = ["animal", "age", "measure", "mouse_model", "sex", "family", "value"]


def _groups(
    courses: dict[tuple[str, str, str], tuple[list[float], float]],
    *,
    n: int = 6,
    sd: float = 0.1,
    cohort_sd: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Positive values (no log offset) around ``exp(level(age))`` for each (model, sex,
    family): ``courses[key] = (ages, slope)`` with level ``1 + slope * age`` plus a cohort
    offset per age."""
    rng = np.random.default_rng(seed)
    rows = []
    for (model, sex, family), (ages, slope) in courses.items():
        for age in ages:
            cohort = rng.normal(0, cohort_sd)
            for i in range(n):
                level = 1.0 + slope * age + cohort + rng.normal(0, sd)
                rows.append((f"{model}{sex}{family}{age}{i}", age, "m", model, sex, family,
                             float(np.exp(level))))  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def test_forecast_does_not_depend_on_other_groups() -> None:
    """Each group is fitted on its own rows: adding or removing groups (other models, other
    sexes, the matched control) leaves its forecast unchanged to rounding, and its SD up to
    the one calibration factor pooled over groups."""
    ages = [4.0, 8.0, 12.0]
    base = _groups({("tg", "F", "a"): (ages, 0.1), ("ctrl", "F", "a"): (ages, 0.0)}, seed=1)
    others = _groups(
        {("x", "M", "a"): (ages, -0.3), ("y", "F", "a"): ([4.0, 8.0, 12.0, 16.0], 0.5)},
        sd=0.6,
        seed=2,
    )
    options = {"n_boot": 0, "horizon": 24.0}
    group = ["mouse_model", "sex"]
    alone = AgeTrajectoryModel(**options).fit(
        base[base["mouse_model"] == "tg"], group=group, control=None, license="CC0-1.0"
    )
    crowded = AgeTrajectoryModel(**options).fit(
        pd.concat([base, others]), group=group, control="ctrl", license="CC0-1.0"
    )
    ask = {"group": ("tg", "F"), "stratum": ("m",), "n_animals": 6}
    one = alone.predict([12.0, 16.0, 24.0], **ask)
    two = crowded.predict([12.0, 16.0, 24.0], **ask)
    np.testing.assert_allclose(two["mean_analysis"], one["mean_analysis"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        two["sd_analysis"] / crowded.interval_scale_,
        one["sd_analysis"] / alone.interval_scale_,
        rtol=1e-10,
    )
    # the curves and onsets of the crowded fit are those of the group's own fit
    curve = crowded.curves_.query("mouse_model == 'tg'").set_index("age")["mean"]
    np.testing.assert_allclose(curve.loc[[12.0]], one["mean_analysis"].iloc[:1], atol=1e-10)


def test_three_ages_keep_the_course() -> None:
    """With three ages and cohort offsets, the per-age offsets are shrunk to the curve, not
    the reverse: a steady rise of 1 log unit per 4 months (4, 8, 12 months) is forecast at
    16 months near the 12-month level (random walk, the default), or beyond it along the
    slope (``trend=True``), never near the average of the three ages."""
    data = _groups({("tg", "F", "a"): ([4.0, 8.0, 12.0], 0.25)}, n=8, sd=0.1, seed=3)
    level_12, mean_3 = 1.0 + 0.25 * 12, 1.0 + 0.25 * 8
    for trend, low, high in ((False, level_12 - 0.3, level_12 + 0.3), (True, level_12, 5.5)):
        fit = AgeTrajectoryModel(n_boot=0, horizon=16.0, trend=trend).fit(
            data, group=["mouse_model", "sex"], control=None, license="CC0-1.0"
        )
        point = fit.predict([16.0])["mean_analysis"].item()
        assert low <= point <= high, (trend, point)
        assert point - mean_3 > 0.7


def test_study_family_as_covariate() -> None:
    """Family b is measured at 4 and 12 months only, 3 log units below family a (4 to 16
    months): with the family as a covariate its level is estimated and family a's forecast
    is right; pooled without it, the curve mixes the two levels."""
    a = _groups({("tg", "F", "a"): ([4.0, 8.0, 12.0, 16.0], 0.1)}, seed=4)
    b = _groups({("tg", "F", "b"): ([4.0, 12.0], 0.1)}, seed=5)
    b["value"] = b["value"] * np.exp(-3.0)
    data = pd.concat([a, b], ignore_index=True)
    options = {"n_boot": 0, "horizon": 20.0}
    fit = AgeTrajectoryModel(**options).fit(
        data, group=["mouse_model", "sex"], control=None, covariates=["family"], license="MIT"
    )
    both = fit.predict([16.0, 20.0])
    assert set(both["family"]) == {"a", "b"}
    at = both.set_index(["family", "age"])["mean_analysis"]
    assert abs(at[("a", 16.0)] - (1.0 + 0.1 * 16)) < 0.15
    assert abs((at[("a", 16.0)] - at[("b", 16.0)]) - 3.0) < 0.2
    only_b = fit.predict([16.0], covariates={"family": "b"})
    assert only_b["family"].tolist() == ["b"]
    assert "family" in fit.analysis_data_.columns
    pooled = AgeTrajectoryModel(**options).fit(
        data, group=["mouse_model", "sex"], control=None, license="MIT"
    )
    assert abs(pooled.predict([16.0])["mean_analysis"].item() - (1.0 + 0.1 * 16)) > 0.5
    with pytest.raises(InputError, match="covariates: batch not fitted"):
        fit.predict([16.0], covariates={"batch": "1"})
    with pytest.raises(InputError, match="both a group column and a covariate"):
        AgeTrajectoryModel(n_boot=0).fit(
            data, group=["mouse_model", "family"], covariates=["family"], control=None,
            license="MIT",
        )  # fmt: skip
    with pytest.raises(InputError, match="covariate column.*litter not found"):
        AgeTrajectoryModel(n_boot=0).fit(
            data, group=["mouse_model"], covariates=["litter"], control=None, license="MIT"
        )


def test_calibration_is_stated_and_only_scales_intervals() -> None:
    """Held-out oldest ages set one factor; it multiplies the SDs (the forecasts are those
    of the uncalibrated model) and is stated in the summary and the forecast table."""
    courses = {
        (f"m{k}", sex, "a"): ([4.0, 8.0, 12.0, 16.0], 0.02 * k)
        for k in range(6)
        for sex in ("F", "M")
    }
    data = _groups(courses, cohort_sd=0.3, seed=6)
    group = ["mouse_model", "sex"]
    calibrated = AgeTrajectoryModel(n_boot=0).fit(data, group=group, control=None, license="MIT")
    plain = AgeTrajectoryModel(n_boot=0, calibration="none").fit(
        data, group=group, control=None, license="MIT"
    )
    info = calibrated.calibration_
    assert info["n_held_out"] == 12 and info["method"] == "held-out-age"
    assert calibrated.interval_scale_ == pytest.approx(info["interval_scale"])
    assert info["coverage_after"] >= 0.9 - 1e-12
    assert (
        f"multiplied by {calibrated.interval_scale_:.3g}" in calibrated.summary.attrs["calibration"]
    )
    one = calibrated.predict([20.0], n_animals=6)
    two = plain.predict([20.0], n_animals=6)
    np.testing.assert_allclose(one["mean_analysis"], two["mean_analysis"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        one["sd_analysis"], calibrated.interval_scale_ * two["sd_analysis"], rtol=1e-12
    )
    assert (one["interval_scale"] == calibrated.interval_scale_).all()
    assert (two["interval_scale"] == 1.0).all() and plain.interval_scale_ == 1.0
    assert one.attrs["calibration"].startswith("held-out oldest age")
    assert two.attrs["calibration"].startswith("not calibrated (calibration='none')")
    few = AgeTrajectoryModel(n_boot=0).fit(
        data[data["mouse_model"] == "m0"], group=group, control=None, license="MIT"
    )
    assert few.interval_scale_ == 1.0
    assert "not calibrated: 2 held-out group mean(s)" in few.calibration_["procedure"]
    with pytest.raises(InputError, match="calibration='always'"):
        AgeTrajectoryModel(n_boot=0, calibration="always").fit(
            data, group=group, control=None, license="MIT"
        )


def test_backtest_baselines_closed_form() -> None:
    """Carry-forward and the linear trend are the last younger mean and the least-squares
    line through the younger means; the observed mean is that of the held-out ages."""
    data = _groups({("tg", "F", "a"): ([4.0, 8.0, 12.0, 18.0], 0.1)}, seed=7)
    table = oldest_age_backtest(data, group=["mouse_model", "sex"], license="MIT")
    row = table.iloc[0]
    logs = np.log(data["value"])
    means = logs.groupby(data["age"]).mean()
    assert row["age"] == 18.0 and row["n_animals"] == 6 and row["offset"] == 0.0
    assert row["observed"] == pytest.approx(means[18.0], abs=1e-12)
    assert row["carry_forward"] == pytest.approx(means[12.0], abs=1e-12)
    line = np.polyfit([4.0, 8.0, 12.0], means.loc[[4.0, 8.0, 12.0]], 1)
    assert row["linear_trend"] == pytest.approx(np.polyval(line, 18.0), abs=1e-10)
    assert row["error_model"] == pytest.approx(abs(row["forecast"] - row["observed"]))
    with pytest.raises(InputError, match="no group has 5 or more ages"):
        oldest_age_backtest(data, min_ages=5, license="MIT")


def test_model_ad_oldest_age_forecasts(shared_data) -> None:
    """Every study family x model x sex x tissue x measure with four ages in MODEL-AD (the
    5xFAD family's 5xFAD and C57BL/6J, 4/8/12/18 months): the 18-month mean forecast from
    the younger ages beats carrying the 12-month mean forward and the linear trend in median
    absolute log error (log(value + offset), offset half the smallest positive value of the
    measure and tissue in the training rows), and the calibrated 90% intervals cover 0.85 to
    0.95 of the held-out means. The per-measure table of benchmarks/modelad_forecast.py is
    this computation: its JSON equals what is computed here."""
    table = read_model_ad()
    result = oldest_age_backtest(table, group=["model_group", "mouse_model", "sex"])
    assert len(result) == 64
    assert set(result["model_group"]) == {"5xFAD"} and set(result["age"]) == {18.0}
    summary = summarise_backtest(result)
    overall = summary.set_index("measure").loc["all"]
    assert overall["error_model"] < overall["error_carry_forward"]
    assert overall["error_model"] < overall["error_linear_trend"]
    assert 0.85 <= overall["coverage_0.9"] <= 0.95
    assert overall["error_model"] == pytest.approx(np.median(result["error_model"]), abs=0)
    assert len(summary) == result["measure"].nunique() + 1
    saved = json.loads((RESULTS / "modelad_forecast.json").read_text())["family_as_group"]
    stored = pd.DataFrame(saved["per_measure"])
    pd.testing.assert_frame_equal(stored, summary, check_exact=False, rtol=1e-9, atol=1e-12)
