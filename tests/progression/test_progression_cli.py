"""``translocus progress`` on small files: both model kinds, outputs and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.progression.course import DiseaseCourseModel


def _cross_sectional(path, control: str = "B6") -> None:
    rng = np.random.default_rng(0)
    rows = []
    for model in (control, "tg"):
        for sex in ("F", "M"):
            for age in (2, 6, 10):
                for i in range(4):
                    v = np.exp(1 + (0.2 * age if model == "tg" else 0) + rng.normal(0, 0.1))
                    rows.append((f"{model}{sex}{age}{i}", age, "plaque", v, model, sex))
    pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "mouse_model", "sex"]).to_csv(
        path, index=False
    )


def test_progress_trajectory(tmp_path) -> None:
    data = tmp_path / "cs.csv"
    _cross_sectional(data)
    out = tmp_path / "out"
    result = invoke(
        ["progress", str(data), "--control", "B6", "--out", str(out), "--n-boot", "20",
         "--license", "CC0-1.0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = assert_complete_run(out)["summary"]
    assert summary["model"] == "trajectory" and len(summary["onsets"]) == 2
    assert {"curves.csv", "onsets.csv", "trajectories.png"} <= {p.name for p in out.iterdir()}
    onsets = pd.read_csv(out / "onsets.csv")
    assert (onsets["onset_age"] < 10).all()


def test_progress_errors(tmp_path) -> None:
    data = tmp_path / "cs.csv"
    _cross_sectional(data)
    before = snapshot(tmp_path)
    result = invoke(["progress", str(data), "--out", str(tmp_path / "o")])
    assert_user_error(result, before, tmp_path, expect="control group 'C57BL/6J' is missing")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("animal,age,measure,value\na,4 months,w,1\nb,120 d,w,2\n")
    before = snapshot(tmp_path)
    result = invoke(["progress", str(mixed), "--out", str(tmp_path / "o")])
    assert_user_error(result, before, tmp_path, expect="mixed units")
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_progress_course_needs_licence(tmp_path) -> None:
    cohort = DiseaseCourseModel.example_cohort(n_animals=30, random_state=0).data
    data = tmp_path / "long.csv"
    cohort.to_csv(data, index=False)
    out = tmp_path / "course"
    args = ["progress", str(data), "--group", "sex", "--out", str(out)]
    before = snapshot(tmp_path)
    refused = invoke(args)
    assert_user_error(refused, before, tmp_path, expect="may not be used for training")
    assert "--allow-dataset long" in refused.stderr
    result = invoke([*args, "--allow-dataset", "long"])
    assert result.exit_code == 0, result.output
    assert assert_complete_run(out)["summary"]["model"] == "course"
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert len(forecasts) == 30 * 2 and (forecasts["upper_0.9"] > forecasts["lower_0.9"]).all()


def test_progress_course_says_when_it_stopped_early(tmp_path) -> None:
    cohort = DiseaseCourseModel.example_cohort(n_animals=30, random_state=0).data
    data = tmp_path / "long.csv"
    cohort.to_csv(data, index=False)
    args = ["progress", data, "--group", "sex", "--allow-dataset", "long", "--max-iter", "1"]
    result = invoke([*args, "-o", tmp_path / "course"])
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if "stopped after 1" in line]
    assert warning == [
        "warning: the disease-course fit stopped after 1 iterations with its objective still "
        "changing; give --max-iter 4 to fit longer"
    ]
    assert "max_iter" not in result.stderr
    record = assert_complete_run(tmp_path / "course")
    assert record["options"]["max_iter"] == 1
    before = snapshot(tmp_path)
    bad = invoke([*args[:-1], "0", "-o", tmp_path / "again"])
    assert_user_error(bad, before, tmp_path, expect="--max-iter 0")


def test_progress_forecast_from_a_table_of_animals(tmp_path) -> None:
    """--forecast-from TABLE --at AGES: each animal of TABLE, each measure, each age, with its
    calibrated interval; the fitted data kept for the viewer as measurements.parquet."""
    cohort = DiseaseCourseModel.example_cohort(n_animals=30, random_state=0).data
    data = tmp_path / "long.csv"
    cohort.to_csv(data, index=False)
    new = DiseaseCourseModel.example_cohort(n_animals=4, random_state=9).data
    new = new[new["age"] < 12].assign(animal="new" + new["animal"])
    table = tmp_path / "new.csv"
    new.to_csv(table, index=False)
    out = tmp_path / "fc"
    args = ["progress", data, "--group", "sex", "--allow-dataset", "long", "-o", out]
    result = invoke([*args, "--forecast-from", table, "--at", "18,15"])
    assert result.exit_code == 0, result.output
    assert (
        "forecast 4 animals of" in result.stdout and "intervals: split-conformal" in result.stdout
    )
    summary = assert_complete_run(out)["summary"]
    assert summary["forecast_rows"] == 4 * 2 * 2 and summary["forecast_ages"] == [15.0, 18.0]
    assert summary["calibration"].startswith("split-conformal at level 0.9")
    assert {"forecast.csv", "forecast.png", "measurements.parquet"} <= set(summary["files"])
    fc = pd.read_csv(out / "forecast.csv")
    assert list(fc.columns[:8]) == ["animal", "measure", "age", "point", "lower_0.5",
                                    "upper_0.5", "lower_0.9", "upper_0.9"]  # fmt: skip
    assert {"calibration", "interval_scale", "calibration_animals", "horizon"} <= set(fc.columns)
    assert (fc["calibration"] == "split-conformal").all()
    assert set(fc["animal"]) == set(new["animal"]) and set(fc["age"]) == {15.0, 18.0}
    assert ((fc["lower_0.9"] < fc["point"]) & (fc["point"] < fc["upper_0.9"])).all()
    last = new.groupby("animal")["age"].max()
    np.testing.assert_allclose(fc["horizon"], fc["age"] - fc["animal"].map(last))
    kept = pd.read_parquet(out / "measurements.parquet")
    assert list(kept.columns) == ["animal", "age", "measure", "value", "sex"]
    assert len(kept) == len(cohort)
    # a table without the model's group column: one line naming the file, the column and fix
    new.drop(columns="sex").to_csv(tmp_path / "nosex.csv", index=False)
    before = snapshot(tmp_path)
    bad = invoke([*args[:-1], tmp_path / "again", "--forecast-from", tmp_path / "nosex.csv",
                  "--at", "15"])  # fmt: skip
    assert_user_error(bad, before, tmp_path, expect="nosex.csv: no column 'sex'")
