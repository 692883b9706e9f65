"""The command-line contract of ``qc``: bad inputs and options, and a complete run.

Every bad case exits 2 with one ``error:`` line naming the problem, no traceback, nothing
created, changed or deleted, no temporary folder left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot

SIM = ["simulate", "--cross", "f2", "--n", "30", "--markers", "100"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace: a small simulated F2 cross and things that are not crosses."""
    root = tmp_path_factory.mktemp("qc_contract")
    paths = {"root": root, "sim": root / "sim"}
    assert invoke([*SIM, "--seed", "1", "-o", paths["sim"]]).exit_code == 0
    paths["text"] = root / "notes.txt"
    paths["text"].write_text("these are my notes, not a cross\n")
    paths["fake_zip"] = root / "cross.zip"
    paths["fake_zip"].write_bytes(bytes(range(256)) * 4)
    paths["bad_json"] = root / "bad.json"
    paths["bad_json"].write_text('{"crosstype": "f2", ')
    paths["empty_dir"] = root / "empty_dir"
    paths["empty_dir"].mkdir()
    paths["foreign"] = root / "foreign"
    paths["foreign"].mkdir()
    (paths["foreign"] / "keep.txt").write_text("precious")
    paths["bad_int"] = root / "bad_intensities.csv"
    paths["bad_int"].write_text("sample,x\n1,2\n")
    paths["no_y"] = root / "no_y.csv"
    paths["no_y"].write_text("marker,sample,chr,X,Y\nm1,1,X,0.5,0.5\n")
    return paths


SIM_JSON = "{sim}/sim.json"
CASES: list[tuple[str, list[str], str]] = [
    ("error-prob-high", [SIM_JSON, "--error-prob", "0.5"], "--error-prob 0.5"),
    ("error-prob-negative", [SIM_JSON, "--error-prob", "-0.1"], "--error-prob -0.1"),
    ("map-function-bad", [SIM_JSON, "--map-function", "cm"], "--map-function cm: use one of"),
    ("minprob-high", [SIM_JSON, "--minprob", "1.5"], "--minprob 1.5: must be a probability"),
    ("match-threshold-0", [SIM_JSON, "--match-threshold", "0"], "--match-threshold 0.0"),
    ("match-threshold-high", [SIM_JSON, "--match-threshold", "2"], "--match-threshold 2.0"),
    ("errorlod-nan", [SIM_JSON, "--errorlod-threshold", "nan"], "--errorlod-threshold nan"),
    ("outlier-mads-0", [SIM_JSON, "--outlier-mads", "0"], "--outlier-mads 0.0: must be > 0"),
    ("max-missing-high", [SIM_JSON, "--max-missing", "150"], "--max-missing 150.0"),
    ("max-marker-errors-neg", [SIM_JSON, "--max-marker-errors", "-1"], "--max-marker-errors -1"),
    ("minprob-not-a-number", [SIM_JSON, "--minprob", "high"], "--minprob"),
    ("cross-missing", ["{root}/no_such_cross.json"], "no such file or folder"),
    ("cross-text-file", ["{text}"], "expected a .json/.yaml control file"),
    ("cross-fake-zip", ["{fake_zip}"], "not a readable zip archive"),
    ("cross-bad-json", ["{bad_json}"], "not valid JSON"),
    ("cross-empty-folder", ["{empty_dir}"], "expected exactly one control file"),
    ("max-male-het-high", [SIM_JSON, "--max-male-het", "1.5"], "--max-male-het 1.5"),
    ("intensities-missing", [SIM_JSON, "--intensities", "{root}/none.csv"], "file not found"),
    ("intensities-columns", [SIM_JSON, "--intensities", "{bad_int}"], "needs columns marker"),
    ("intensities-no-y", [SIM_JSON, "--intensities", "{no_y}"], "no Y-chromosome markers"),
    ("out-is-a-file", [SIM_JSON, "-o", "{text}"], "is a file"),
    ("out-inside-sim-run", [SIM_JSON, "-o", "{sim}/qc"], "lies inside the input"),
    ("out-foreign-folder", [SIM_JSON, "-o", "{foreign}"], "files translocus did not write"),
    ("out-unwritable", [SIM_JSON, "-o", "/proc/translocus-test/out"], "cannot write there"),
]


def _argv(template: list[str], ws: dict[str, Path]) -> list[str]:
    names = {k: str(v) for k, v in ws.items()}
    argv = ["qc", *(part.format(**names) for part in template)]
    if "-o" not in argv:
        argv += ["-o", f"{names['root']}/out"]
    return argv


@pytest.mark.parametrize(("case", "template", "expect"), CASES, ids=[c[0] for c in CASES])
def test_qc_bad_input(ws: dict[str, Path], case: str, template: list[str], expect: str) -> None:
    before = snapshot(ws["root"])
    result = invoke(_argv(template, ws))
    assert_user_error(result, before, ws["root"], expect=expect)


def test_qc_writes_a_complete_run(ws: dict[str, Path], tmp_path: Path) -> None:
    """A run lists its tables and plots in run.json; a duplicated sample is found."""
    out = tmp_path / "qc"
    result = invoke(["qc", ws["sim"] / "sim.json", "-o", out])
    assert result.exit_code == 0, result.output
    assert "duplicate pairs (match >= 0.9): 0" in result.stdout
    record = assert_complete_run(out)
    expected = {"samples.csv", "duplicates.csv", "crossovers.csv", "errors.csv", "markers.csv",
                "duplicate_markers.csv", "crossovers.png", "missing.png", "heterozygosity.png",
                "errors.png", "compare_geno.png", "sex.csv", "sex.png"}  # fmt: skip
    assert expected <= set(record["files"])
    summary = json.loads((out / "run.json").read_text())["summary"]
    samples = pd.read_csv(out / "samples.csv")
    assert summary["individuals"] == len(samples) == 30
    assert (out / "crossovers.png").read_bytes()[:4] == b"\x89PNG"


def test_qc_sex_check_from_intensities(ws: dict[str, Path], tmp_path: Path) -> None:
    """--intensities: per-sample means, one sample's intensities those of the other sex."""
    recorded = pd.read_csv(ws["sim"] / "sim_sex.csv", dtype=str)
    ids = recorded.iloc[:, 0].tolist()
    female = (recorded.iloc[:, 1].str.lower() == "female").to_numpy()
    female_shown = female.copy()
    female_shown[0] = not female_shown[0]
    table = pd.DataFrame(
        {
            "sample": ids,
            "mean_x": [
                1.0 + 0.01 * (k % 5) if f else 0.5 + 0.01 * (k % 5)
                for k, f in enumerate(female_shown)
            ],
            "mean_y": [
                0.1 + 0.01 * (k % 3) if f else 0.9 + 0.01 * (k % 3)
                for k, f in enumerate(female_shown)
            ],
        }
    )
    table.to_csv(tmp_path / "intensities.csv", index=False)
    out = tmp_path / "qc"
    result = invoke(
        ["qc", ws["sim"] / "sim.json", "-o", out, "--intensities", tmp_path / "intensities.csv"]
    )
    assert result.exit_code == 0, result.output
    assert "sex differs from the recorded one (X genotypes and intensities): 1" in result.stdout
    record = assert_complete_run(out)
    assert {"sex.csv", "sex.png"} <= set(record["files"])
    sex = pd.read_csv(out / "sex.csv", dtype={"sample": str})
    assert sex.loc[sex["sex_mismatch"], "sample"].tolist() == [ids[0]]
