"""The command-line contract of ``survival --dynamic`` (joint course and survival model).

Bad options are one ``error:`` line, exit code 2, nothing created (:func:`assert_user_error`).
Good runs: simulated tables through ``--longitudinal`` (the planted association is found),
and a 160-animal subset of the SLAM folder end to end (its body weights and lifespans read
in their own layout), whose run folder holds the dynamic predictions, the association, the
validation on held-out animals, the calibration plot and ``km.csv``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.progression.joint import simulate_joint

SLAM = Path("/work/shared/data/slam")
SLAM_FILES = ("census", "surv", "nmr", "gluc")


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dynamic")
    measures, lifespans = simulate_joint(120, association=0.3, random_state=4)
    files = {"long": folder / "long.csv", "life": folder / "life.csv"}
    measures.assign(measure="weight").to_csv(files["long"], index=False)
    lifespans.to_csv(files["life"], index=False)
    two = pd.concat([measures.assign(measure="weight"), measures.assign(measure="fat")])
    files["two"] = folder / "two.csv"
    two.to_csv(files["two"], index=False)
    return files


def _argv(tables: dict[str, Path], *extra: str) -> list[str]:
    return [
        "survival", str(tables["life"]), "--time-unit", "month", "--dynamic",
        "--longitudinal", str(tables["long"]), "--license", "CC0-1.0", "--random-degree", "1",
        *extra,
    ]  # fmt: skip


CASES = [
    (["--horizon", "0"], "--horizon"),
    (["--horizon", "three"], "--horizon three: give comma-separated months"),
    (["--landmarks", "-4"], "--landmarks"),
    (["--holdout", "0.9"], "--holdout 0.9"),
    (["--license", "bad("], "--license bad(: is not an SPDX"),
    (["--measure", "fat"], "--measure fat"),
    (["--landmarks", "200"], "no animal is alive and measured"),
    (["--random-degree", "3"], "--random-degree 3: use 1"),
    (["--association", "value,peak"], "--association value,peak: give comma-separated"),
    (["--baseline-knots", "2"], "--baseline-knots 2: use 0 (Gompertz baseline hazard) or 3"),
]


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_dynamic_option_is_one_line_and_changes_nothing(
    case: tuple[list[str], str], tables: dict[str, Path], tmp_path: Path
) -> None:
    args, expect = case
    before = snapshot(tmp_path)
    result = invoke([*_argv(tables, *args), "--out", str(tmp_path / "out")])
    assert_user_error(result, before, tmp_path, expect=expect)


def test_dynamic_needs_its_inputs(tables: dict[str, Path], tmp_path: Path) -> None:
    out = ["--out", str(tmp_path / "out")]
    life = str(tables["life"])
    for argv, expect in (
        (["survival", life, "--horizon", "3"], "--horizon 3.0: belongs to the joint model"),
        (
            ["survival", life, "--association", "from_peak"],
            "--association from_peak: belongs to the joint model",
        ),
        (
            ["survival", life, "--baseline-knots", "4"],
            "--baseline-knots 4: belongs to the joint model",
        ),
        (["survival", life, "--dynamic"], "--longitudinal TABLE"),
        (
            ["survival", life, "--dynamic", "--longitudinal", str(tmp_path / "no.csv")],
            "file not found",
        ),
        (
            [
                "survival",
                life,
                "--time-unit",
                "month",
                "--dynamic",
                "--longitudinal",
                str(tables["two"]),
                "--license",
                "CC0-1.0",
            ],
            "name one with --measure",
        ),  # fmt: skip
        (
            [
                "survival",
                life,
                "--time-unit",
                "month",
                "--dynamic",
                "--longitudinal",
                str(tables["long"]),
            ],
            "--license",
        ),  # fmt: skip
    ):
        before = snapshot(tmp_path)
        assert_user_error(invoke([*argv, *out]), before, tmp_path, expect=expect)


def test_dynamic_run_on_tables_finds_the_planted_association(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = _argv(tables, "--landmarks", "18,24", "--association", "value,from_peak")
    result = invoke([*argv, "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    for name in ("dynamic_predictions.csv", "joint_association.csv", "joint_validation.csv",
                 "joint_calibration.png", "km.csv"):  # fmt: skip
        assert name in record["files"], name
    assoc = pd.read_csv(out / "joint_association.csv").set_index("term")
    value = assoc.loc["association:value"]
    assert value["lower_0.95"] < 0.3 < value["upper_0.95"]
    pred = pd.read_csv(out / "dynamic_predictions.csv")
    assert set(pred["landmark"]) == {18.0, 24.0} and set(pred["horizon"]) == {3.0, 6.0}
    assert pred["risk"].between(0, 1).all()
    # every animal predicted at a landmark is alive then and measured before it
    assert (pred["age_at_end_months"] > pred["landmark"]).all()
    assert pred["held_out"].sum() > 0
    km = pd.read_csv(out / "km.csv")
    assert list(km.columns) == ["group", "time", "survival", "lower", "upper", "at_risk"]
    assert "association (value)" in result.stdout
    # the fall below the course's own peak is in the hazard too (none planted)
    peak = assoc.loc["association:from_peak"]
    assert peak["lower_0.95"] < 0.0 < peak["upper_0.95"]
    assert "association (from_peak)" in result.stdout


def test_dynamic_run_with_associations_by_age_and_a_spline_baseline(
    tables: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = _argv(
        tables, "--landmarks", "20", "--association", "value,slope,value_by_age,slope_by_age",
        "--baseline-knots", "3",
    )  # fmt: skip
    result = invoke([*argv, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert_complete_run(out)
    assoc = pd.read_csv(out / "joint_association.csv").set_index("term")
    for name in ("association:value_by_age", "association:slope_by_age",
                 "survival:baseline_spline_1"):  # fmt: skip
        assert name in assoc.index, name
    # none planted: the age-varying parts of the associations are not found
    by_age = assoc.loc["association:value_by_age"]
    assert by_age["lower_0.95"] < 0.0 < by_age["upper_0.95"]
    summary = json.loads((out / "run.json").read_text())
    assert "association (slope_by_age)" in result.stdout
    assert summary["status"] == "complete"


@pytest.fixture(scope="module")
def slam_subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not all((SLAM / f"data_SLAM_{n}_c79b9c0.csv").exists() for n in SLAM_FILES):
        pytest.skip("SLAM data not found (set TRANSLOCUS_DATA)")
    folder = tmp_path_factory.mktemp("slam") / "slam"
    folder.mkdir()
    census = pd.read_csv(SLAM / "data_SLAM_census_c79b9c0.csv", dtype=str)
    surv = pd.read_csv(SLAM / "data_SLAM_surv_c79b9c0.csv", dtype=str)
    nmr = pd.read_csv(SLAM / "data_SLAM_nmr_c79b9c0.csv", dtype=str)
    dead = census[census["tag"].isin(set(surv["tag"])) & census["idno"].isin(set(nmr["idno"]))]
    keep = dead.drop_duplicates("idno", keep=False).sample(n=160, random_state=0)
    # an idno on two census rows (SLAM has one) is left out of the joint model and counted
    keep = pd.concat([keep, census[census["idno"].duplicated(keep=False)]])
    census[census["idno"].isin(set(keep["idno"]))].to_csv(
        folder / "data_SLAM_census_c79b9c0.csv", index=False
    )
    surv[surv["tag"].isin(set(keep["tag"]))].to_csv(
        folder / "data_SLAM_surv_c79b9c0.csv", index=False
    )
    for name in ("nmr", "gluc"):
        frame = pd.read_csv(SLAM / f"data_SLAM_{name}_c79b9c0.csv", dtype=str)
        frame[frame["idno"].isin(set(keep["idno"]))].to_csv(
            folder / f"data_SLAM_{name}_c79b9c0.csv", index=False
        )
    return folder


def test_dynamic_run_on_a_slam_subset_end_to_end(slam_subset: Path, tmp_path: Path) -> None:
    out = tmp_path / "slam_dynamic"
    result = invoke(
        [
            "survival",
            str(slam_subset),
            "--dynamic",
            "--landmarks",
            "20,24",
            "--holdout",
            "0.3",
            "--out",
            str(out),
        ]  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    summary = json.loads((out / "run.json").read_text())
    assert "joint_calibration.png" in record["files"]
    pred = pd.read_csv(out / "dynamic_predictions.csv")
    assert {"current_body_weight", "slope_body_weight_per_month"} <= set(pred.columns)
    assert pred["current_body_weight"].between(10, 90).all()
    val = pd.read_csv(out / "joint_validation.csv")
    assert set(val["landmark"]) == {20.0, 24.0}
    assert (val["animals_scored"] == "held out").all()
    assert val["auc"].dropna().between(0, 1).all()
    assert "joint model of body_weight" in result.stdout
    assert "2 animals dropped from the joint model: their idno is on two rows" in " ".join(
        result.stderr.split()
    )
    assert summary["status"] == "complete"
