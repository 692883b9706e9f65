"""The command-line contract of ``respond``: bad inputs and options.

Every case exits 2 with one ``error:`` line naming the problem (the file, column or flag
and the fix), no traceback, nothing created, changed or deleted, no temporary folder left.
In particular ``respond my_pdx --out my_pdx`` — which used to delete the input data — is
refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_user_error, invoke, snapshot


def _long(arms: tuple[str, ...] = ("untreated", "A", "B")) -> pd.DataFrame:
    days = np.arange(0, 22, 3.0)
    rows = [
        pd.DataFrame({"model": model, "arm": arm, "animal": f"{model}{arm}{i}", "day": days,
                      "volume": 120 * np.exp((0.08 - 0.03 * j) * days + 0.02 * i)})
        for model in ("M1", "M2") for j, arm in enumerate(arms) for i in (1, 2)
    ]  # fmt: skip
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and bad inputs in one folder that every case snapshots."""
    root = tmp_path_factory.mktemp("respond_contract")
    p: dict[str, Path] = {"root": root}
    good = _long()
    p["study"] = root / "study.csv"
    good.to_csv(p["study"], index=False)
    # a PDXE-layout folder, as `respond my_pdx --out my_pdx` would be given
    p["my_pdx"] = root / "my_pdx"
    p["my_pdx"].mkdir()
    pdxe = good.rename(columns={"model": "Tumor", "animal": "ID", "arm": "Arms",
                                "day": "Times", "volume": "Volume"})  # fmt: skip
    pdxe.assign(Type="BRCA").to_csv(p["my_pdx"] / "TAone.volume.data.csv", index=False)
    p["header_only"] = root / "header_only.csv"
    p["header_only"].write_text("model,arm,animal,day,volume\n")
    p["empty"] = root / "empty.csv"
    p["empty"].write_text("")
    p["binary"] = root / "binary.csv"
    p["binary"].write_bytes(bytes(range(256)) * 8)
    p["folder"] = root / "some_folder"
    p["folder"].mkdir()
    (p["folder"] / "readme.txt").write_text("not a study\n")
    p["inf"] = root / "inf.csv"
    good.assign(volume=good["volume"].where(good.index != 3, np.inf)).to_csv(p["inf"], index=False)
    p["text_volume"] = root / "text_volume.csv"
    good.astype({"volume": object}).assign(
        volume=lambda d: d["volume"].where(d.index != 5, "big")
    ).to_csv(p["text_volume"], index=False)
    p["no_volume"] = root / "no_volume.csv"
    good.assign(volume=good["volume"].where(good.index != 7)).to_csv(p["no_volume"], index=False)
    p["all_missing"] = root / "all_missing.csv"
    good.assign(volume=np.nan).to_csv(p["all_missing"], index=False)
    p["duplicated"] = root / "duplicated.csv"
    pd.concat([good, good.iloc[[4]]]).to_csv(p["duplicated"], index=False)
    p["weights"] = root / "weights.csv"
    good.assign(volume=24 + good["day"] / 10).to_csv(p["weights"], index=False)
    p["other_layout"] = root / "other_layout.csv"
    good.rename(columns={"arm": "Treatment", "day": "Day", "volume": "Vol"}).to_csv(
        p["other_layout"], index=False
    )
    p["two_controls"] = root / "two_controls.csv"
    _long(("control", "vehicle", "A")).to_csv(p["two_controls"], index=False)
    p["unpaired"] = root / "unpaired.csv"
    unpaired = good[~((good["model"] == "M1") & (good["arm"] == "untreated"))]
    unpaired = unpaired[~((unpaired["model"] == "M2") & (unpaired["arm"] != "untreated"))]
    unpaired.to_csv(p["unpaired"], index=False)
    p["a_file"] = root / "a_file.txt"
    p["a_file"].write_text("results go elsewhere\n")
    p["foreign"] = root / "foreign"
    p["foreign"].mkdir()
    (p["foreign"] / "keep.txt").write_text("precious")
    return p


Case = tuple[Callable[[dict[str, Path]], list[object]], str]

CASES: dict[str, Case] = {
    "out is the input folder": (
        lambda p: [p["my_pdx"], "--out", p["my_pdx"]], "is the input"),
    "out inside the input folder": (
        lambda p: [p["my_pdx"], "--out", p["my_pdx"] / "results"], "lies inside the input"),
    "out contains the input": (
        lambda p: [p["study"], "--out", p["root"]], "contains the input"),
    "out is a file": (lambda p: [p["study"], "--out", p["a_file"]], "is a file"),
    "out is a foreign folder": (
        lambda p: [p["study"], "--out", p["foreign"]], "give a new or empty folder"),
    "input missing": (lambda p: [p["root"] / "nosuch.csv"], "not found"),
    "input empty": (lambda p: [p["empty"]], "the file is empty"),
    "input binary": (lambda p: [p["binary"]], "binary file"),
    "input a folder of no layout": (lambda p: [p["folder"]], "neither a PDXE"),
    "header-only table": (lambda p: [p["header_only"]], "has a header but no rows"),
    "infinite volume": (lambda p: [p["inf"]], "infinite value"),
    "text volume": (lambda p: [p["text_volume"]], "not numbers (rows 7)"),
    "missing volume": (lambda p: [p["no_volume"]], "--missing drop"),
    "every volume missing": (
        lambda p: [p["all_missing"], "--missing", "drop"], "no measurements left"),
    "duplicated rows": (lambda p: [p["duplicated"]], "--duplicates mean"),
    "volumes that are body weights": (lambda p: [p["weights"]], "looks like body weight"),
    "columns of another layout": (
        lambda p: [p["other_layout"]], "--columns: " ),
    "--min-day beyond every series": (
        lambda p: [p["study"], "--min-day", "1000"], "--min-day 1000: no series"),
    "--min-day negative": (lambda p: [p["study"], "--min-day", "-1"], "--min-day -1"),
    "--spider-model unknown": (
        lambda p: [p["study"], "--spider-model", "NOPE"], "--spider-model NOPE: no model"),
    "--growth-model unknown": (
        lambda p: [p["study"], "--growth-model", "logistic"], "--growth-model logistic"),
    "--duplicates unknown": (
        lambda p: [p["study"], "--duplicates", "maybe"], "--duplicates maybe"),
    "--missing unknown": (lambda p: [p["study"], "--missing", "keep"], "--missing keep"),
    "--zero-baseline unknown": (
        lambda p: [p["study"], "--zero-baseline", "keep"], "--zero-baseline keep"),
    "--volume-unit unknown": (
        lambda p: [p["study"], "--volume-unit", "litre"], "--volume-unit litre"),
    "--day-unit unknown": (lambda p: [p["study"], "--day-unit", "month"], "--day-unit month"),
    "--volume-unit on a fixed layout": (
        lambda p: [p["my_pdx"], "--volume-unit", "cm3"], "units apply to long tables"),
    "--control unknown": (
        lambda p: [p["study"], "--control", "NOPE"], "no control arm named 'NOPE'"),
    "--control with no treated arm beside it": (
        lambda p: [p["unpaired"], "--control", "untreated"], "has both this arm"),
    "two arms look like controls": (
        lambda p: [p["two_controls"]], "both look like a control arm"),
    "--columns unknown role": (
        lambda p: [p["study"], "--columns", "mouse=animal"], "'mouse' is not a role of respond"),
    "--columns missing column": (
        lambda p: [p["study"], "--columns", "volume=vol"], "has no column 'vol'"),
    "--columns not ROLE=COLUMN": (
        lambda p: [p["study"], "--columns", "arm"], "is not ROLE=COLUMN"),
    "--columns with a folder": (
        lambda p: [p["my_pdx"], "--columns", "arm=Arms"], "maps the columns of a table file"),
    "--allow-dataset without --predict": (
        lambda p: [p["study"], "--allow-dataset", "study"],
        "--allow-dataset study: only applies to training; add --predict"),
    "--predict on a table without a licence": (
        lambda p: [p["study"], "--predict"], "give --allow-dataset study"),
    "--allow-dataset naming another dataset": (
        lambda p: [p["study"], "--predict", "--allow-dataset", "other"],
        "--allow-dataset other: this run reads only dataset 'study'"),
    "--predict with too few pairs": (
        lambda p: [p["study"], "--predict", "--allow-dataset", "study"],
        "4 treated (model, arm) pairs"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
def test_respond_bad_input(ws: dict[str, Path], name: str) -> None:
    build, expect = CASES[name]
    argv = build(ws)
    if "--out" not in argv:
        argv = [*argv, "--out", ws["root"] / "out"]
    before = snapshot(ws["root"])
    result = invoke(["respond", *argv])
    assert_user_error(result, before, ws["root"], expect=expect)


def test_messages_name_real_flags(ws: dict[str, Path]) -> None:
    """No message sends the user to a Python-only call or option."""
    python_only = ("read_long_table(", "missing='drop'", "duplicates='mean'",
                   "check_volume_range", "--animal")  # fmt: skip
    for name, (build, _) in CASES.items():
        result = invoke(["respond", *build(ws), "--out", ws["root"] / "out"])
        for text in python_only:
            assert text not in result.stderr, (name, result.stderr)


def test_other_layout_error_says_how_to_map(ws: dict[str, Path]) -> None:
    result = invoke(["respond", ws["other_layout"], "--out", ws["root"] / "out"])
    line = " ".join(result.stderr.split())
    assert "has no column for arm, day, volume" in line
    assert "--columns arm=COLUMN,day=COLUMN,volume=COLUMN" in line
    result = invoke(
        ["respond", ws["other_layout"], "--columns", "arm=Treatment,day=Day,volume=Vol"]
        + ["--growth-model", "exponential", "--out", ws["root"] / "mapped"]
    )
    assert result.exit_code == 0, result.output
