"""The command-line contract of ``progress``, ``survival`` and ``lifespan``.

Every bad input or option is one ``error:`` line on stderr, exit code 2, no traceback and
nothing created, changed or deleted (:func:`clirun.assert_user_error`). The good runs check
what the commands now report: rows dropped and merged, generic tables through
``--columns``, and ``--n-boot 0``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot

SLAM = Path("/work/shared/data/slam")
MODEL_AD = Path("/work/shared/data/model_ad/pathology_long.csv")


def _cross_sectional(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for model in ("B6", "tg"):
        for sex in ("F", "M"):
            for age in (2, 6, 10):
                for i in range(4):
                    v = np.exp(1 + (0.2 * age if model == "tg" else 0) + rng.normal(0, 0.1))
                    rows.append((f"{model}{sex}{age}{i}", age, "plaque", v, model, sex))
    return pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "mouse_model", "sex"])


def _lifespans(rng: np.random.Generator, n: int = 150) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "animal": [f"m{i}" for i in range(n)],
            "time": rng.gamma(20, 40, n).round(),
            "event": (rng.random(n) < 0.8).astype(int),
            "strain": rng.choice(["A", "B"], n),
            "sex": rng.choice(["F", "M"], n),
            "cohort": rng.choice([1, 2, 3], n),
        }
    )


def _arms(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for arm, shift in (("Control", 0), ("drugA", 80), ("drugB", 0)):
        for sex in ("female", "male"):
            for site in ("S1", "S2"):
                for _ in range(15):
                    t = rng.normal(800 + shift, 120)
                    rows.append(
                        (f"m{len(rows)}", arm, sex, site, round(t), int(rng.random() < 0.85))
                    )
    return pd.DataFrame(rows, columns=["mouse", "treatment", "Sex", "lab", "days", "dead"])


LIFE_COLUMNS = "animal=mouse,arm=treatment,sex=Sex,site=lab,time=days,event=dead"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Small good and bad tables in tmp_path/in."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    folder.mkdir()
    paths: dict[str, Path] = {}

    def put(name: str, frame: pd.DataFrame) -> None:
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)

    cs = _cross_sectional(rng)
    put("cs", cs)
    put("cs_inf", cs.assign(value=cs["value"].where(cs.index != 4, np.inf)))
    put("cs_inf_age", cs.assign(age=cs["age"].astype(float).where(cs.index != 2, np.inf)))
    put("cs_text", cs.assign(value=cs["value"].astype(object).where(cs.index != 1, "oops")))
    put("cs_renamed", cs.rename(columns={"animal": "mouse_id", "age": "age_days"}))
    put("cs_dup", pd.concat([cs, cs.iloc[[3]]], ignore_index=True))
    surv = _lifespans(rng)
    put("surv", surv)
    put("surv_censored", surv.assign(event=0))
    put("surv_inf", surv.assign(time=surv["time"].where(surv.index != 3, np.inf)))
    put("surv_neg", surv.assign(time=surv["time"].where(surv.index != 6, -5.0)))
    put("surv_event", surv.assign(event=surv["event"].where(surv.index != 2, 2)))
    put("surv_dup", pd.concat([surv, surv.iloc[[5]]], ignore_index=True))
    changed = surv.iloc[[7]].assign(time=1.0)
    put("surv_dup_animal", pd.concat([surv, changed], ignore_index=True))
    put("surv_one_cohort", surv.assign(cohort=1))
    put("surv_zero", surv.assign(time=surv["time"].where(surv.index != 4, 0.0)))
    put(
        "surv_dates",
        pd.DataFrame(
            {
                "mouse": ["a", "b", "c"],
                "dob": ["2020-01-01", "2020-02-01", "2020-01-05"],
                "dod": ["2022-01-01", "2021-12-01", "2019-01-01"],
                "dead": [1, 1, 0],
            }
        ),
    )
    put("surv_baddate", pd.DataFrame({"birth": ["2020-01-01", "soon"], "death": ["2021-01-01"] * 2, "event": [1, 1]}))  # fmt: skip
    life = _arms(rng)
    put("life", life)
    put("life_noctl", life.assign(treatment=life["treatment"].replace("Control", "ref")))
    put("life_sex", life.assign(Sex="x"))
    put("life_inf", life.assign(days=life["days"].astype(float).where(life.index != 8, np.inf)))
    put("life_dup", pd.concat([life, life.iloc[[9]]], ignore_index=True))
    put("life_cohort", life.assign(cohort="early"))
    paths["empty"] = folder / "empty.csv"
    paths["empty"].write_text("")
    paths["binary"] = folder / "binary.csv"
    paths["binary"].write_bytes(b"PK\x03\x04\x00\x00binary\x00junk")
    paths["header_progress"] = folder / "header_progress.csv"
    paths["header_progress"].write_text("animal,age,measure,value\n")
    paths["header_surv"] = folder / "header_surv.csv"
    paths["header_surv"].write_text("animal,time,event\n")
    paths["mixed"] = folder / "mixed.csv"
    paths["mixed"].write_text("animal,age,measure,value\na,4 months,w,1\nb,120 d,w,2\n")
    paths["folder"] = folder / "sub"
    paths["folder"].mkdir()
    (paths["folder"] / "keep.txt").write_text("not a table")
    paths["missing"] = folder / "missing.csv"
    paths["in"] = folder
    return paths


def _argv(template: list[str], files: dict[str, Path], out: Path) -> list[str]:
    def fill(item: str) -> str:
        if item.startswith("@"):
            name, _, rest = item[1:].partition("/")
            path = files[name] if name != "out" else out
            return str(path / rest) if rest else str(path)
        return item

    return [fill(item) for item in template]


P, S, L = "progress", "survival", "lifespan"
CS = ["@cs", "--control", "B6"]
LIFE = ["@life", "--columns", LIFE_COLUMNS]

#: (command, arguments without --out, expected words of the one error line)
CASES: list[tuple[str, list[str], str]] = [
    # progress: tables
    (P, ["@missing"], "file not found"),
    (P, ["@empty"], "the file is empty"),
    (P, ["@binary"], "binary file"),
    (P, ["@folder"], "is a folder"),
    (P, ["@header_progress"], "header but no rows"),
    (P, ["@cs_inf", "--control", "B6"], "column 'value': 1 infinite values (rows 6)"),
    (P, ["@cs_inf_age", "--control", "B6"], "column 'age': 1 infinite ages (rows 4)"),
    (P, ["@cs_text", "--control", "B6"], "values are not numbers (rows 3)"),
    (P, ["@mixed"], "mixed units"),
    (P, ["@cs_renamed", "--control", "B6"], "--columns animal=COLUMN,age=COLUMN"),
    (P, ["@cs_dup", "--control", "B6", "--duplicates", "error"], "--duplicates mean"),
    # progress: options
    (P, [*CS, "--n-boot", "-5"], "--n-boot -5: must be 0 or more"),
    (P, [*CS, "--threshold", "0"], "--threshold 0.0: must be a positive"),
    (P, [*CS, "--threshold", "-1"], "--threshold -1.0"),
    (P, [*CS, "--horizon", "0"], "--horizon 0.0"),
    (P, [*CS, "--effect", "nope"], "--effect nope: use one of standardized, difference"),
    (P, [*CS, "--model", "nope"], "--model nope"),
    (P, [*CS, "--duplicates", "nope"], "--duplicates nope"),
    (P, [*CS, "--age-unit", "parsec"], "--age-unit parsec: use one of day, week, month, year"),
    (P, [*CS, "--columns", "mouse=animal"], "'mouse' is not a role of progress"),
    (P, [*CS, "--columns", "animal"], "is not ROLE=COLUMN"),
    (P, [*CS, "--columns", "animal=nosuch"], "has no column 'nosuch'"),
    (P, [*CS, "--measure", "nosuch"], "--measure nosuch: is not a measure"),
    (P, [*CS, "--select", "nosuch=1"], "--select nosuch"),
    (P, [*CS, "--select", "sex=Q"], "column 'sex' has no value Q; values are F, M"),
    (P, [*CS, "--select", "sex"], "write COLUMN=VALUE"),
    (P, [*CS, "--group", "nosuch"], "--group nosuch"),
    (P, ["@cs", "--control", "nope"], "--control nope: control group 'nope' is missing"),
    (P, [*CS, "--license", "bad("], "--license bad(: is not an SPDX"),
    (P, [*CS, "--allow-dataset", "other"], "--allow-dataset other"),
    (P, ["model_ad", "--columns", "animal=x"], "--columns is for table files"),
    (P, ["@cs", "--group", "sex", "--model", "course"], "--allow-dataset cs"),
    (P, [*CS, "--calibration", "isotonic"], "--calibration isotonic: use one of"),
    (P, [*CS, "--at", "12"], "--at 12: --forecast-from TABLE and --at AGES go together"),
    (P, [*CS, "--forecast-from", "@cs"], "--forecast-from"),
    (P, [*CS, "--forecast-from", "@cs", "--at", "12,soon"], "--at 12,soon: ages are numbers"),
    (P, [*CS, "--forecast-from", "@cs", "--at", "-3"], "--at -3: age -3 is not a finite age"),
    (P, [*CS, "--forecast-from", "@missing", "--at", "12"], "file not found"),
    (P, [*CS, "--forecast-from", "@folder", "--at", "12"], "is a folder"),
    (P, [*CS, "--forecast-from", "@cs", "--at", "12"], "needs repeated visits"),
    # survival: tables
    (S, ["@missing"], "file not found"),
    (S, ["@empty"], "the file is empty"),
    (S, ["@binary"], "binary file"),
    (S, ["@folder"], "is a folder; give a table file or the SLAM data folder"),
    (S, ["@header_surv"], "header but no rows"),
    (S, ["@surv_censored"], "no deaths (all 150 animals are censored)"),
    (S, ["@surv_inf"], "column 'time': 1 infinite times (rows 5)"),
    (S, ["@surv_neg"], "negative times (rows 8)"),
    (S, ["@surv_event"], "not 0 or 1 (rows 4)"),
    (S, ["@surv_dup"], "repeat another row exactly"),
    (S, ["@surv_dup_animal"], "more than one row"),
    (
        S,
        ["@surv_dates", "--columns", "animal=mouse,birth=dob,death=dod,event=dead"],
        "before they are born (rows 4)",
    ),  # fmt: skip
    (S, ["@surv_dates", "--columns", "birth=dob,event=dead"], "give a death column"),
    (S, ["@surv_baddate"], "column 'birth': 1 values are not dates (rows 3)"),
    # survival: options
    (S, ["@surv", "--frailty", "nope"], "--frailty nope: "),
    (S, ["@surv", "--strata", "nope"], "--strata nope: "),
    (S, ["@surv", "--group", "strain,nope"], "--group nope: "),
    (S, ["@surv", "--time", "nope"], "--time nope: "),
    (S, ["@surv", "--event", "nope"], "--event nope: "),
    (S, ["@surv", "--time", "time", "--columns", "time=event"], "disagrees with --columns"),
    (S, ["@surv", "--distribution", "lognormal"], "--distribution lognormal"),
    (S, ["@surv_zero", "--distribution", "weibull"], "1 animals of"),
    (S, ["@surv", "--columns", "weight=time"], "'weight' is not a role of survival"),
    (S, ["@surv", "--columns", "event=nope"], "--columns event=nope"),
    (S, ["@surv", "--time-unit", "parsec"], "--time-unit parsec"),
    (S, ["@surv", "--duplicates", "mean"], "--duplicates mean: use one of error, first"),
    (S, ["@surv", "--frailty", "sex", "--strata", "sex"], "cannot be both"),
    (
        S,
        ["@surv_one_cohort", "--frailty", "cohort"],
        "--frailty cohort: that column holds one value",
    ),  # fmt: skip
    # lifespan
    (L, [*LIFE, "--n-boot", "-5"], "--n-boot -5: must be 0 or more"),
    (L, [*LIFE, "--sexes", "F,X"], "'X' is not one of F, M, pooled"),
    (L, [*LIFE, "--sexes", ","], "--sexes"),
    (L, [*LIFE, "--arms", "nope"], "--arms nope: 'nope' is not a treated arm"),
    (L, [*LIFE, "--seed", "-1"], "--seed -1"),
    (L, [*LIFE, "--time-unit", "parsec"], "--time-unit parsec"),
    (L, [*LIFE, "--duplicates", "x"], "--duplicates x"),
    (L, [*LIFE, "--control", "nope"], "--control nope: is not an arm"),
    (L, ["@life_noctl", "--columns", LIFE_COLUMNS], "no arm named control"),
    (L, ["@life_sex", "--columns", LIFE_COLUMNS], "are not F/M"),
    (L, ["@life_inf", "--columns", LIFE_COLUMNS], "1 infinite times (rows 10)"),
    (L, ["@life_dup", "--columns", LIFE_COLUMNS], "repeat another row exactly"),
    (L, ["@life_cohort", "--columns", LIFE_COLUMNS], "column 'cohort'"),
    (L, ["@life"], "has no column for arm, sex"),
    (L, ["@life", "--columns", "arm=nosuch"], "--columns arm=nosuch"),
    (L, ["@missing"], "file not found"),
    (L, ["@empty"], "the file is empty"),
    (L, ["@binary"], "binary file"),
    (L, ["@folder"], "is a folder"),
    (L, ["@header_surv", "--columns", "arm=animal,sex=animal"], "header but no rows"),
]


def _case_id(case: tuple[str, list[str], str]) -> str:
    command, args, _ = case
    return command + ":" + " ".join(a.lstrip("@") for a in args)[:60]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    case: tuple[str, list[str], str], files: dict[str, Path], tmp_path: Path
) -> None:
    command, args, expect = case
    argv = [command, *_argv(args, files, tmp_path / "out"), "--out", str(tmp_path / "out")]
    before = snapshot(tmp_path)
    assert_user_error(invoke(argv), before, tmp_path, expect=expect)


#: Where --out may not go: (command, input, out, expected words)
OUT_CASES = [
    (P, "@cs", "@cs", "is a file"),  # progress X --out X
    (P, "@cs", "@in", "contains the input"),
    (P, "@cs", "@in/keep.txt", "is a file"),
    (P, "@cs", "@folder", "files translocus did not write"),
    (S, "@surv", "@surv", "is a file"),
    (S, "@surv", "@in", "contains the input"),
    (S, "@surv", "@folder", "files translocus did not write"),
    (L, "@life", "@life", "is a file"),
    (L, "@life", "@folder", "files translocus did not write"),
]


@pytest.mark.parametrize("case", OUT_CASES, ids=[f"{c[0]}:{c[2]}" for c in OUT_CASES])
def test_out_is_refused(
    case: tuple[str, str, str, str], files: dict[str, Path], tmp_path: Path
) -> None:
    command, data, out, expect = case
    (files["in"] / "keep.txt").write_text("a file of the user")
    extra = {P: ["--control", "B6"], S: [], L: ["--columns", LIFE_COLUMNS]}[command]
    argv = [
        command,
        *_argv([data], files, tmp_path),
        *extra,
        "--out",
        *_argv([out], files, tmp_path),
    ]
    before = snapshot(tmp_path)
    assert_user_error(invoke(argv), before, tmp_path, expect=expect)


@pytest.fixture(scope="module")
def slam_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SLAM.is_dir():
        pytest.skip("SLAM data not found")
    folder = tmp_path_factory.mktemp("data") / "slam"
    folder.mkdir()
    for name in ("census", "surv", "nmr", "gluc"):
        shutil.copy(SLAM / f"data_SLAM_{name}_c79b9c0.csv", folder)
    return folder


@pytest.mark.parametrize("where", ["same", "inside"])
def test_out_in_the_input_folder_is_refused(slam_copy: Path, where: str) -> None:
    out = slam_copy if where == "same" else slam_copy / "results"
    before = snapshot(slam_copy)
    result = invoke(["survival", str(slam_copy), "--out", str(out)])
    expect = "is the input" if where == "same" else "lies inside the input"
    assert_user_error(result, before, slam_copy, expect=expect)


def test_survival_on_slam_counts_every_animal_it_leaves_out(
    slam_copy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "slam"
    result = invoke(["survival", str(slam_copy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "200 animals dropped: no birth date" in text
    assert "4 survival records dropped" in text
    assert "9 animals dropped" in text
    record = assert_complete_run(out)
    dropped = {(r["what"], r["reason"][:12]): r["n"] for r in record["rows"]}
    assert dropped[("animals dropped", "no birth dat")] == 200
    assert sum(n for (what, _), n in dropped.items() if "dropped" in what) == 213
    assert record["summary"]["animals"] == 2574 and record["summary"]["groups"] == ["strain", "sex"]
    assert "log-rank chi2 = 20.285 on 3 df" in result.stdout
    assert "{" not in result.stdout  # a summary, not a JSON dump
    before = snapshot(tmp_path)
    result = invoke(["survival", str(slam_copy), "--columns", "time=x", "--out", str(out)])
    assert_user_error(result, before, tmp_path, expect="read in its own layout")


def test_progress_reports_dropped_and_merged_rows(files: dict[str, Path], tmp_path: Path) -> None:
    cs = pd.read_csv(files["cs"])
    cs.loc[[0, 5], "age"] = np.nan
    cs.loc[9, "value"] = np.nan
    cs = pd.concat([cs, cs.iloc[[20]]], ignore_index=True)
    data = tmp_path / "in" / "gaps.csv"
    cs.rename(columns={"animal": "mouse_id", "age": "age_days"}).assign(
        age_days=cs["age"] * 30.4375
    ).to_csv(data, index=False)
    out = tmp_path / "run"
    result = invoke(
        ["progress", str(data), "--columns", "animal=mouse_id,age=age_days", "--age-unit", "day",
         "--control", "B6", "--n-boot", "0", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.stderr.split())
    assert "2 rows dropped: no age (column 'age_days' blank)" in text
    assert "1 row dropped: no value" in text
    assert "1 duplicate visit merged" in text
    assert "RuntimeWarning" not in result.output and "Traceback" not in result.output
    assert "onset ages (months)" in result.stdout and "{" not in result.stdout
    record = assert_complete_run(out)
    assert record["options"]["age_unit"] == "day"
    assert {r["what"] for r in record["rows"]} >= {"rows dropped", "duplicate visits merged"}
    assert sorted(record["files"]) == sorted(
        ["curves.csv", "effects.csv", "onsets.csv", "hyper.csv", "skipped.csv", "trajectories.png",
         "measurements.parquet"]
    )  # fmt: skip
    kept = pd.read_parquet(out / "measurements.parquet")  # the fitted rows, for the viewer
    assert list(kept.columns) == ["animal", "age", "measure", "value", "mouse_model", "sex"]
    assert len(kept) == len(cs) - 3 - 1  # three rows dropped, one duplicate merged
    onsets = pd.read_csv(out / "onsets.csv")
    assert len(onsets) == 2 and (onsets["onset_age"] < 10).all()


def test_survival_from_birth_and_death_dates(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 80
    birth = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    days = rng.gamma(20, 40, n).round()
    table = pd.DataFrame(
        {
            "mouse": [f"m{i}" for i in range(n)],
            "dob": birth.strftime("%Y-%m-%d"),
            "dod": (birth + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
            "dead": (rng.random(n) < 0.8).astype(int),
            "genotype": rng.choice(["wt", "ko"], n),
        }
    )
    table.loc[3, "dod"] = ""
    table = pd.concat([table, table.iloc[[10]]], ignore_index=True)
    data = tmp_path / "dates.csv"
    table.to_csv(data, index=False)
    args = ["survival", str(data), "--columns", "animal=mouse,birth=dob,death=dod,event=dead,group=genotype"]  # fmt: skip
    before = snapshot(tmp_path)
    assert_user_error(invoke([*args, "--out", str(tmp_path / "x")]), before, tmp_path, expect="--duplicates first")  # fmt: skip
    out = tmp_path / "run"
    result = invoke([*args, "--duplicates", "first", "--out", str(out)])
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    rows = {r["what"]: r["n"] for r in record["rows"]}
    assert rows["duplicate rows dropped"] == 1 and rows["animals dropped"] == 1
    assert record["summary"]["animals"] == n - 1 and record["summary"]["groups"] == ["group"]
    km = pd.read_csv(out / "km_summary.csv")
    expected = table.drop_duplicates().drop(index=3)
    expected_days = pd.to_datetime(expected["dod"]) - pd.to_datetime(expected["dob"])
    assert km["n"].sum() == n - 1
    assert km["deaths"].sum() == expected["dead"].sum()
    assert km["tau"].max() <= expected_days.dt.days.max()


def test_lifespan_generic_table_with_and_without_intervals(
    files: dict[str, Path], tmp_path: Path
) -> None:
    args = ["lifespan", str(files["life"]), "--columns", LIFE_COLUMNS, "--sexes", "F,pooled"]
    result = invoke([*args, "--n-boot", "100", "--out", str(tmp_path / "boot")])
    assert result.exit_code == 0, result.output
    result = invoke([*args, "--n-boot", "0", "--out", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert "intervals: none (--n-boot 0)" in result.stdout
    boot = pd.read_csv(tmp_path / "boot" / "lifespan_effects.csv")
    none = pd.read_csv(tmp_path / "none" / "lifespan_effects.csv")
    assert list(boot["arm"]) == ["drugA", "drugA", "drugB", "drugB"]
    assert boot["median_ext_pct_lower"].notna().all()
    assert none["median_ext_pct_lower"].isna().all() and none["median_ext_upper"].isna().all()
    pd.testing.assert_series_equal(boot["hr"], none["hr"])
    drug_a = boot[(boot["arm"] == "drugA") & (boot["sex"] == "pooled")].iloc[0]
    assert drug_a["median_ext_pct"] > 5 and drug_a["hr"] < 1 and drug_a["sites"] == "S1,S2"
    record = assert_complete_run(tmp_path / "none")
    assert "control arm: Control" in record["summary"]["notes"]


def test_lifespan_table_without_event_column_warns(files: dict[str, Path], tmp_path: Path) -> None:
    columns = "animal=mouse,arm=treatment,sex=Sex,time=days"
    result = invoke(
        ["lifespan", str(files["life"]), "--columns", columns, "--n-boot", "0", "-o", str(tmp_path / "r")]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no event column: every animal is counted as a death" in " ".join(result.stderr.split())
    effects = pd.read_csv(tmp_path / "r" / "lifespan_effects.csv")
    assert (effects["deaths_treated"] == effects["n_treated"]).all()


def test_a_previous_run_is_replaced_whole(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["survival", str(files["surv"]), "--out", str(out)]
    assert invoke(base).exit_code == 0
    assert (out / "logrank.csv").exists()
    result = invoke([*base, "--group", "strain", "--frailty", "cohort"])
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    assert "cox_frailty.csv" in record["files"] and record["options"]["frailty"] == "cohort"
    assert json.loads((out / "run.json").read_text())["summary"]["groups"] == ["strain"]


def test_help_shows_an_example() -> None:
    for command in ("progress", "survival", "lifespan"):
        result = invoke([command, "--help"])
        assert result.exit_code == 0
        assert "Example: translocus " + command in " ".join(result.output.split())
        assert "-o" in result.output and "--columns" in result.output


def test_survival_skips_a_group_whose_fit_does_not_converge(
    files: dict[str, Path], tmp_path: Path
) -> None:
    surv = pd.read_csv(files["surv"])
    odd = pd.DataFrame(
        {"animal": ["x1", "x2", "x3"], "time": 500.0, "event": 1, "strain": "C", "sex": "F", "cohort": 1}
    )  # fmt: skip
    data = tmp_path / "odd.csv"
    pd.concat([surv, odd], ignore_index=True).to_csv(data, index=False)
    out = tmp_path / "run"
    result = invoke(["survival", str(data), "--group", "strain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 group skipped: the gompertz likelihood did not converge: C" in " ".join(
        result.stderr.split()
    )
    assert list(pd.read_csv(out / "gompertz.csv")["strain"].unique()) == ["A", "B"]
    assert len(pd.read_csv(out / "km_summary.csv")) == 3
