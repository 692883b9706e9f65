"""The ``respond`` command on a small long table, the PDXE, the Iowa tables and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot


def _table(path: Path) -> Path:
    days = np.arange(0, 28, 3.0)
    rows = []
    for arm, rate in (("untreated", 0.1), ("A", 0.05), ("B", 0.06), ("A + B", 0.0)):
        for animal in ("1", "2"):
            v = 150 * np.exp(rate * days + 0.03 * np.sin(days + int(animal)))
            rows.append(
                pd.DataFrame(
                    {
                        "model": "PDX1",
                        "arm": arm,
                        "animal": f"{arm}{animal}",
                        "day": days,
                        "volume": v,
                    }
                )
            )
    pd.concat(rows).to_csv(path, index=False)
    return path


FILES = (
    "metrics.csv",
    "categories.csv",
    "treatment_effects.csv",
    "synergy.csv",
    "tgi.csv",
    "growth_fits.csv",
    "waterfall.png",
    "spider.png",
    "growth_fits.png",
)


def test_respond_writes_tables_and_plots(tmp_path: Path) -> None:
    data = _table(tmp_path / "study.csv")
    out = tmp_path / "out"
    args = ["respond", data, "--control", "untreated", "--out", out]
    res = invoke([*args, "--growth-model", "exponential"])
    assert res.exit_code == 0, res.output
    for name in FILES:
        assert (out / name).exists(), name
    assert not (out / "summary.json").exists()
    record = assert_complete_run(out)
    summary = record["summary"]
    assert summary["series"] == 8 and summary["treatment_effects"] == 3
    assert summary["control"] == "untreated" and summary["control_source"] == "--control"
    eff = pd.read_csv(out / "treatment_effects.csv").set_index("arm")
    assert eff.loc["A", "effect"] < 0 and eff.loc["A", "method"] == "mixed"
    assert len(pd.read_csv(out / "synergy.csv")) == 1
    # a short summary on the terminal, never a JSON dump
    assert "3 (3 with p < 0.05)" in res.stdout and "{" not in res.stdout
    assert len(res.stdout.splitlines()) < 12
    # an earlier run is replaced as a whole
    res = invoke([*args, "--growth-model", "gompertz", "-o", out])
    assert res.exit_code == 0, res.output
    assert assert_complete_run(out)["options"]["growth_model"] == "gompertz"


def test_respond_detects_the_control_arm(tmp_path: Path) -> None:
    """A long table without --control: the arm named untreated is the control (it used to
    report 0 treatment effects)."""
    data = _table(tmp_path / "study.csv")
    res = invoke(["respond", data, "-o", tmp_path / "out", "--growth-model", "exponential"])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "out" / "run.json").read_text())["summary"]
    assert summary["control"] == "untreated"
    assert summary["control_source"] == "detected by name"
    assert summary["treatment_effects"] == 3
    assert "control arm: untreated (detected by name)" in res.stdout


def test_respond_without_a_control_arm_says_which_arms(tmp_path: Path) -> None:
    frame = pd.read_csv(_table(tmp_path / "study.csv"))
    frame["arm"] = frame["arm"].replace({"untreated": "saline"})
    frame.to_csv(tmp_path / "nocontrol.csv", index=False)
    out = tmp_path / "out"
    res = invoke(["respond", tmp_path / "nocontrol.csv", "-o", out])
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "no control arm among A, A + B, B, saline" in text
    summary = assert_complete_run(out)["summary"]
    assert summary["control"] is None and summary["treatment_effects"] == 0
    assert any("no treatment effects" in n for n in summary["notes"])


def test_respond_iowa_tables_with_columns(pdx_dir: Path, tmp_path: Path) -> None:
    """The Iowa xenograft tables (ID, Day, Volume, Treatment; no model column; control arm
    A) analysed from the command line with --columns."""
    iowa = pdx_dir / "iowa"
    columns = "arm=Treatment,animal=ID,day=Day,volume=Volume"
    out = tmp_path / "melanoma1"
    args = ["respond", iowa / "melanoma1.csv", "--columns", columns, "--control", "A"]
    res = invoke([*args, "-o", out])
    assert res.exit_code == 0, res.output
    record = assert_complete_run(out)
    summary = record["summary"]
    assert summary["series"] == 35 and summary["models"] == 1
    assert summary["arms"] == ["A", "B", "C", "D"]
    assert summary["treatment_effects"] == 3  # B, C, D against A
    assert summary["measurements"] == 600
    assert record["options"]["columns"] == columns
    assert record["inputs"][0]["path"].endswith("melanoma1.csv")
    assert any("no model column" in n for n in summary["notes"])
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 35 and set(metrics["model"]) == {"melanoma1"}

    # melanoma2 has three series whose first volume is 0: an error naming the flag that
    # drops those measurements, then a run with it that counts them
    bad = [*args[:1], iowa / "melanoma2.csv", *args[2:]]
    before = snapshot(tmp_path)
    res = invoke([*bad, "-o", tmp_path / "melanoma2"])
    assert_user_error(res, before, tmp_path, expect="--zero-baseline drop")
    res = invoke([*bad, "--zero-baseline", "drop", "-o", tmp_path / "melanoma2"])
    assert res.exit_code == 0, res.output
    record = assert_complete_run(tmp_path / "melanoma2")
    assert record["summary"]["series"] == 47
    dropped = [r for r in record["rows"] if r["what"] == "rows dropped"]
    assert dropped and dropped[0]["n"] == 3
    assert "warning: 3 rows dropped" in res.stderr


def test_respond_pdxe_mrecist_counts(pdx_dir: Path, tmp_path: Path) -> None:
    """The PDXE folder: the same mRECIST counts as before the run-folder rewrite."""
    out = tmp_path / "pdxe"
    res = invoke(["respond", pdx_dir / "pdxe", "-o", out, "--growth-model", "exponential"])
    assert res.exit_code == 0, res.output
    summary = assert_complete_run(out)["summary"]
    assert summary["mrecist_counts"] == {"PD": 2154, "SD": 2013, "PR": 338, "CR": 142, "NA": 65}
    assert summary["series"] == 4712 and summary["control"] == "untreated"
    assert summary["treatment_effects"] == 3968 and summary["combinations_scored"] == 775
    record = json.loads((out / "run.json").read_text())
    counts = {r["what"]: r["n"] for r in record["rows"]}
    assert counts["rows read"] == 67445 and counts["body weights dropped"] == 5
    assert "warning: 5 body weights dropped" in res.stderr
    # the volume curves the study viewer draws, with the series' class joined
    volumes = pd.read_parquet(out / "volumes.parquet")
    assert len(volumes) == summary["measurements"]
    assert set(volumes["tumor_type"]) == {"BRCA", "CM", "CRC", "GC", "NSCLC", "PDAC"}
    series = volumes.drop_duplicates(["model", "arm", "animal"])
    assert series["mrecist"].fillna("NA").value_counts().to_dict() == summary["mrecist_counts"]


def test_respond_units(tmp_path: Path) -> None:
    """Volumes in cm³ and days in weeks give the same response as mm³ and days."""
    data = pd.read_csv(_table(tmp_path / "study.csv"))
    data.assign(volume=data["volume"] / 1000, day=data["day"] / 7).to_csv(
        tmp_path / "cm3.csv", index=False
    )
    base = ["--growth-model", "exponential", "--control", "untreated"]
    assert invoke(["respond", tmp_path / "study.csv", "-o", tmp_path / "a", *base]).exit_code == 0
    res = invoke(
        ["respond", tmp_path / "cm3.csv", "-o", tmp_path / "b", *base, "--volume-unit", "cm3"]
        + ["--day-unit", "week"]
    )
    assert res.exit_code == 0, res.output
    a = pd.read_csv(tmp_path / "a" / "metrics.csv")
    b = pd.read_csv(tmp_path / "b" / "metrics.csv")
    np.testing.assert_allclose(a["best_response"], b["best_response"], rtol=1e-9)
    np.testing.assert_allclose(a["baseline_volume"], b["baseline_volume"], rtol=1e-9)


def test_respond_help_has_example() -> None:
    res = invoke(["respond", "--help"])
    assert res.exit_code == 0 and "Example: translocus respond" in res.output
    assert "--columns" in res.output and "-o" in res.output


def test_respond_unknown_control_is_clear(tmp_path: Path) -> None:
    data = _table(tmp_path / "study.csv")
    before = snapshot(tmp_path)
    res = invoke(["respond", data, "--control", "vehicle", "--out", tmp_path / "o"])
    assert_user_error(res, before, tmp_path, expect="no control arm named 'vehicle'")
    assert "arms are A, A + B, B, untreated" in res.stderr
    assert not (tmp_path / "o").exists()


def test_respond_bad_volume_is_clear(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("model,arm,animal,day,volume\nM,untreated,1,0,100\nM,untreated,1,3,-4\n")
    before = snapshot(tmp_path)
    res = invoke(["respond", path, "--out", tmp_path / "o"])
    assert_user_error(res, before, tmp_path, expect="negative volume")


@pytest.mark.parametrize(
    ("body", "flag", "expect"),
    [
        ("M,untreated,1,0,100\nM,untreated,1,3,\nM,untreated,1,12,300\n", "--missing", "rows dropped"),
        ("M,untreated,1,0,100\nM,untreated,1,3,150\nM,untreated,1,3,170\nM,untreated,1,12,300\n", "--duplicates", "rows merged"),
    ],
)  # fmt: skip
def test_respond_counts_dropped_and_merged_rows(
    tmp_path: Path, body: str, flag: str, expect: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("model,arm,animal,day,volume\n" + body)
    res = invoke(["respond", path, "-o", tmp_path / "x"])
    assert res.exit_code == 2 and flag in res.stderr  # the message names the real flag
    value = "drop" if flag == "--missing" else "mean"
    res = invoke(["respond", path, "-o", tmp_path / "o", flag, value])
    assert res.exit_code == 0, res.output
    rows = {r["what"]: r["n"] for r in assert_complete_run(tmp_path / "o")["rows"]}
    assert rows[expect] == 1
    assert f"warning: 1 {expect.replace('rows', 'row')}" in res.stderr  # one row: singular


def _panel(path: Path, n_models: int = 12, seed: int = 0) -> Path:
    """Models x arms with one animal each and some arms missing (a sparse response matrix)."""
    rng = np.random.default_rng(seed)
    days = np.arange(0, 28, 3.0)
    effect = {"untreated": 0.0, "A": -0.06, "B": -0.03, "C": 0.0, "A + B": -0.08}
    rows = []
    for i in range(n_models):
        growth = rng.normal(0.08, 0.02)
        for j, (arm, eff) in enumerate(effect.items()):
            if arm != "untreated" and rng.random() < 0.3:
                continue
            rate = growth + eff + rng.normal(0, 0.01)
            rows.append(pd.DataFrame({
                "model": f"M{i}", "arm": arm, "animal": f"a{i}{j}", "day": days,
                "volume": 150 * np.exp(rate * days + rng.normal(0, 0.05, len(days))),
            }))  # fmt: skip
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_respond_predict_fills_the_response_matrix(tmp_path: Path) -> None:
    """--predict: every unobserved model x treated arm is predicted with an interval that
    holds the prediction, the mRECIST class of the predicted responses, and a validation
    table of every method on held-out pairs; the volume curves are written as parquet."""
    data = _panel(tmp_path / "panel.csv")
    out = tmp_path / "out"
    base = ["respond", data, "--growth-model", "exponential", "-o", out]
    before = snapshot(tmp_path)
    res = invoke([*base, "--predict"])  # a table without a licence: training is refused
    assert_user_error(res, before, tmp_path, expect="--allow-dataset panel")
    res = invoke([*base, "--predict", "--allow-dataset", "panel"])
    assert res.exit_code == 0, res.output
    record = assert_complete_run(out)
    metrics = pd.read_csv(out / "metrics.csv")
    treated = metrics.loc[metrics["arm"] != "untreated"]
    observed = set(zip(treated["model"], treated["arm"], strict=True))
    models, arms = sorted(treated["model"].unique()), sorted(treated["arm"].unique())
    pred = pd.read_csv(out / "predictions.csv")
    expect = {(m, a) for m in models for a in arms} - observed
    assert set(zip(pred["model"], pred["drug"], strict=True)) == expect
    for resp in ("best_avg_response", "best_response", "effect"):
        assert (pred[f"{resp}_low"] < pred[resp]).all() and (
            pred[resp] < pred[f"{resp}_high"]
        ).all()
    assert set(pred["mrecist"]) <= {"CR", "PR", "SD", "PD"}
    # the arms act through the growth rate: predicted effects keep the arms' order
    by_arm = pred.groupby("drug")["effect"].mean()
    assert by_arm["A + B"] < by_arm["B"] < by_arm["C"]
    scores = pd.read_csv(out / "prediction_validation.csv")
    assert set(scores["method"]) == {"drug mean", "model mean", "additive", "additive huber",
                                     "completion"}  # fmt: skip
    assert set(scores["split"]) == {"pairs", "new_model"}
    assert len(pd.read_csv(out / "prediction_gain.csv")) == 16
    summary = record["summary"]["prediction"]
    assert summary["pairs_predicted"] == len(pred) and summary["level"] == 0.9
    assert "predicted" in res.stdout and "completion" in res.stdout
    volumes = pd.read_parquet(out / "volumes.parquet")
    assert list(volumes.columns) == ["model", "arm", "animal", "day", "volume", "mrecist",
                                     "best_avg_response"]  # fmt: skip
    assert len(volumes) == record["summary"]["measurements"]
    joined = volumes.drop_duplicates(["model", "arm", "animal"]).merge(
        metrics, on=["model", "arm", "animal"], suffixes=("", "_m")
    )
    np.testing.assert_allclose(joined["best_avg_response"], joined["best_avg_response_m"])
