"""The command-line contract of ``snps``: bad inputs and options, and a complete run.

Every bad case exits 2 with one ``error:`` line naming the problem, no traceback, nothing
created, changed or deleted, no temporary folder left.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.core.paths import data_dir
from translocus.genetics.snps import default_variant_db

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.json"
TRAIT = "OF_immobile_pct"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace: a DOex scan run (peaks on chr 2, 3 and X), other runs and non-runs."""
    if not DOEX.exists() or not default_variant_db().exists():
        pytest.skip("the shared DOex cross or the variant database is not available")
    root = tmp_path_factory.mktemp("snps_contract")
    paths = {"root": root, "scan": root / "scan", "sim": root / "sim"}
    done = invoke(["scan", DOEX, "--threshold", "3", "-o", paths["scan"]])
    assert done.exit_code == 0, done.output
    sim = ["simulate", "--cross", "f2", "--n", "20", "--markers", "40", "--seed", "1"]
    assert invoke([*sim, "-o", paths["sim"]]).exit_code == 0
    paths["no_peaks"] = root / "no_peaks"
    shutil.copytree(paths["scan"], paths["no_peaks"])
    (paths["no_peaks"] / "peaks.csv").unlink()
    paths["moved_cross"] = root / "moved_cross"
    shutil.copytree(paths["scan"], paths["moved_cross"])
    record = json.loads((paths["moved_cross"] / "run.json").read_text())
    record["options"]["cross"] = str(root / "gone" / "DOex.json")
    (paths["moved_cross"] / "run.json").write_text(json.dumps(record))
    paths["text"] = root / "notes.txt"
    paths["text"].write_text("these are my notes, not a database\n")
    paths["empty_db"] = root / "empty.sqlite"
    with sqlite3.connect(paths["empty_db"]) as con:
        con.execute("CREATE TABLE other (x INTEGER)")
    con.close()
    paths["foreign"] = root / "foreign"
    paths["foreign"].mkdir()
    (paths["foreign"] / "keep.txt").write_text("precious")
    return paths


PEAK = ["--peak", TRAIT]
CASES: list[tuple[str, list[str], str]] = [
    ("run-missing", ["{root}/no_such_run", *PEAK], "no such run folder"),
    ("run-is-a-file", ["{text}", *PEAK], "is a file, not a run folder"),
    ("run-foreign", ["{foreign}", *PEAK], "not a translocus run folder"),
    ("run-not-a-scan", ["{sim}", *PEAK], "is a `translocus simulate` run, not a scan"),
    ("run-without-peaks", ["{no_peaks}", *PEAK], "has no peaks.csv"),
    ("cross-moved", ["{moved_cross}", *PEAK], "DOex.json' is not found from here"),
    ("trait-unknown", ["{scan}", "--peak", "tail_length"], "'tail_length' is not a trait"),
    ("peak-empty", ["{scan}", "--peak", " "], "--peak"),
    ("chr-without-peak", ["{scan}", "--peak", f"{TRAIT}:5"], "no peak on chromosome 5"),
    ("region-outside-db", ["{scan}", "--peak", f"{TRAIT}:X"],
     "region chr X 38.539035-95.069663 Mbp lies outside the database, which covers chr 2 "
     "97.000027-97.999988 Mbp; chr 3 14.500126-15.499823 Mbp"),
    ("region-outside-db-chr3", ["{scan}", "--peak", f"{TRAIT}:3", "--start", "100", "--end",
                                "110"], "region chr 3 100.000000-110.000000 Mbp lies outside"),
    ("drop-negative", ["{scan}", *PEAK, "--drop", "-1"], "--drop -1.0: must be a LOD drop"),
    ("start-above-end", ["{scan}", *PEAK, "--start", "98", "--end", "97"],
     "--start 98.0: must be below --end"),
    ("start-alone", ["{scan}", *PEAK, "--start", "97"], "give both --start and --end"),
    ("start-not-a-number", ["{scan}", *PEAK, "--start", "ninety"], "--start"),
    ("variants-missing", ["{scan}", *PEAK, "--variants", "{root}/none.sqlite"],
     "--variants"),
    ("variants-not-sqlite", ["{scan}", *PEAK, "--variants", "{text}"],
     "is not an SQLite database"),
    ("variants-no-table", ["{scan}", *PEAK, "--variants", "{empty_db}"],
     "cannot be read as R/qtl2's variant database"),
    ("genes-missing", ["{scan}", *PEAK, "--genes", "{root}/none.sqlite"], "--genes"),
    ("out-inside-scan-run", ["{scan}", *PEAK, "-o", "{scan}/snps"], "lies inside"),
    ("out-foreign-folder", ["{scan}", *PEAK, "-o", "{foreign}"],
     "files translocus did not write"),
]  # fmt: skip


def _argv(template: list[str], ws: dict[str, Path]) -> list[str]:
    names = {k: str(v) for k, v in ws.items()}
    argv = ["snps", *(part.format(**names) for part in template)]
    if "-o" not in argv:
        argv += ["-o", f"{names['root']}/out"]
    return argv


@pytest.mark.parametrize(("case", "template", "expect"), CASES, ids=[c[0] for c in CASES])
def test_snps_bad_input(ws: dict[str, Path], case: str, template: list[str], expect: str) -> None:
    before = snapshot(ws["root"])
    result = invoke(_argv(template, ws))
    assert_user_error(result, before, ws["root"], expect=expect)


def test_snps_writes_a_complete_run(ws: dict[str, Path], tmp_path: Path) -> None:
    """The highest peak of the trait (chr 2) by default; a second run replaces the first."""
    out = tmp_path / "snps"
    for _ in range(2):
        result = invoke(["snps", ws["scan"], *PEAK, "--drop", "0.5", "-o", out])
        assert result.exit_code == 0, result.output
    assert "OF_immobile_pct: chr 2" in result.stdout
    assert "max LOD 5.70 at rs230537549" in result.stdout
    record = assert_complete_run(out)
    assert record["summary"]["chr"] == "2"
    assert record["summary"]["n_top_snps"] == 3
    assert {"snp_assoc.csv", "top_snps.csv", "genes.csv", "snp_assoc.png"} <= set(record["files"])
