"""Run folders: what may be replaced, the swap, recovery after a kill, and run.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from translocus.core import runs
from translocus.core.errors import OptionError
from translocus.core.runs import RunFolder, RunLog, check_out, folder_state, read_run, recover


def _run(out: Path, files: dict[str, str], *, inputs: tuple[Path, ...] = ()) -> Path:
    with RunFolder(out, command="test", options={"x": 1}, inputs=inputs) as run:
        for name, text in files.items():
            path = run.path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return run.commit({"n": len(files)})


def test_new_folder_gets_files_and_run_json_last(tmp_path: Path) -> None:
    data = tmp_path / "input.csv"
    data.write_text("a\n1\n")
    out = _run(tmp_path / "out", {"a.csv": "1", "sub/b.txt": "22"}, inputs=(data,))
    record = read_run(out)
    assert record is not None and record["status"] == "complete"
    assert set(record["files"]) == {"a.csv", "sub/b.txt"}
    assert record["files"]["sub/b.txt"]["size"] == 2
    assert record["inputs"][0]["path"] == str(data) and record["inputs"][0]["size"] == 4
    assert record["inputs"][0]["sha256"] == runs.sha256_file(data)
    assert record["options"] == {"x": 1} and record["summary"] == {"n": 2}
    assert folder_state(out).kind == "run"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_earlier_run_is_replaced_as_a_whole(tmp_path: Path) -> None:
    out = _run(tmp_path / "out", {"old.csv": "1", "shared.csv": "1"})
    _run(out, {"shared.csv": "2"})
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "shared.csv"]
    assert (out / "shared.csv").read_text() == "2"


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_swap_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    if not exchange:
        monkeypatch.setenv("TRANSLOCUS_TEST_TWO_RENAMES", "1")
    out = _run(tmp_path / "out", {"a": "1"})
    _run(out, {"b": "2"})
    assert sorted(p.name for p in out.iterdir()) == ["b", "run.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize(
    ("setup", "expect"),
    [
        (lambda d: (d / "notes.txt").write_text("mine"), r"did not write \(notes\.txt\)"),
        (lambda d: (d / "run.json").write_text("{}"), "did not write"),
    ],
    ids=["foreign-file", "fake-run-json"],
)
def test_foreign_folders_are_refused(tmp_path: Path, setup, expect: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    setup(out)
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(OptionError, match=expect) as info:
        RunFolder(out, command="test")
    assert info.value.cli_message().startswith(f"--out {out}:")
    assert sorted(p.name for p in out.iterdir()) == before


def test_a_run_folder_with_an_extra_or_changed_file_is_refused(tmp_path: Path) -> None:
    out = _run(tmp_path / "out", {"a.csv": "1"})
    (out / "mine.txt").write_text("user file")
    with pytest.raises(OptionError, match=r"mine\.txt"):
        RunFolder(out, command="test")
    (out / "mine.txt").unlink()
    (out / "a.csv").write_text("edited by hand")
    with pytest.raises(OptionError, match=r"a\.csv"):
        RunFolder(out, command="test")
    (out / "a.csv").unlink()
    with pytest.raises(OptionError):  # a listed file is missing
        RunFolder(out, command="test")


def test_out_and_inputs_may_not_overlap(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "x.csv").write_text("a\n1\n")
    for out, word in ((folder, "is the input"), (folder / "sub", "lies inside"),
                      (tmp_path, "contains")):  # fmt: skip
        with pytest.raises(OptionError, match=word):
            check_out(out, [folder])
    with pytest.raises(OptionError, match="is a file"):
        check_out(folder / "x.csv", [])
    with pytest.raises(OptionError, match="home or root"):
        check_out(Path.home(), [])
    with pytest.raises(OptionError, match="home or root"):
        check_out(Path("/"), [])
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(OptionError, match="symbolic link"):
        check_out(link, [])


def test_unwritable_out_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OptionError, match="is a file, not a folder"):
        RunFolder(blocker / "sub" / "out", command="test")
    with pytest.raises(OptionError, match="cannot write there"):
        RunFolder(Path("/proc/translocus-test/out"), command="test").open()


def test_failure_leaves_target_and_no_temp(tmp_path: Path) -> None:
    out = _run(tmp_path / "out", {"a": "1"})
    before = (out / "run.json").read_text()
    with pytest.raises(ZeroDivisionError), RunFolder(out, command="test") as run:
        (run.path / "a").write_text("half")
        _ = 1 / 0
    assert (out / "run.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_recover_restores_an_interrupted_two_rename_swap(tmp_path: Path) -> None:
    out = _run(tmp_path / "out", {"a": "1"})
    old = tmp_path / ".out.translocus-old"
    os.rename(out, old)  # as if killed between the two renames
    assert recover(out) == ["restored out from an interrupted swap"]
    assert folder_state(out).kind == "run" and not old.exists()


def test_recover_removes_stale_temporary_folders_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    live = RunFolder(out, command="test")
    live.open()  # a live run holds its lock: never removed
    stale = tmp_path / ".out.translocus-tmp-abc"
    stale.mkdir()
    (stale / "half.csv").write_text("1")
    mine = tmp_path / ".other.translocus-tmp-abc"  # another run's place: not ours to touch
    mine.mkdir()
    user = tmp_path / ".out.backup"
    user.mkdir()
    try:
        assert recover(out) == ["removed .out.translocus-tmp-abc left by a killed run"]
        assert live.path.exists() and mine.exists() and user.exists()
    finally:
        live.abort()


def test_runlog_counts_warnings_and_steps() -> None:
    import warnings

    log = RunLog()
    with log.step("fit"):
        pass
    log.count("rows read", 10, "from data.csv")
    log.count("animals dropped", 3, "no age")
    log.count("animals dropped", 0, "no sex")
    with log.capture_warnings():
        warnings.warn("divide by zero", RuntimeWarning, stacklevel=1)
        warnings.warn("divide by zero", RuntimeWarning, stacklevel=1)
    assert [s["name"] for s in log.steps] == ["fit"]
    assert [w["message"] for w in log.warnings] == [
        "3 animals dropped: no age",
        "RuntimeWarning: divide by zero",
    ]
    assert log.warnings[1]["count"] == 2


def test_run_json_is_valid_json_without_nan(tmp_path: Path) -> None:
    with RunFolder(tmp_path / "out", command="test", options={"v": float("nan")}) as run:
        run.commit({"lod": float("nan"), "path": tmp_path})
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["options"]["v"] is None and record["summary"]["path"] == str(tmp_path)


def test_a_run_is_never_written_inside_another_run(tmp_path: Path) -> None:
    outer = _run(tmp_path / "outer", {"a.csv": "1"})
    for out in (outer / "inner", outer / "deeper" / "inner"):
        with pytest.raises(OptionError, match="lies inside the run folder"):
            RunFolder(out, command="test")
    assert folder_state(outer).kind == "run"


def test_a_file_added_during_the_run_stops_the_swap(tmp_path: Path) -> None:
    out = _run(tmp_path / "out", {"a.csv": "1"})
    with RunFolder(out, command="test") as run:
        (run.path / "a.csv").write_text("2")
        (out / "notes.txt").write_text("written by the user meanwhile")
        with pytest.raises(OptionError, match=r"gained files .*notes\.txt"):
            run.commit()
    assert (out / "notes.txt").read_text() == "written by the user meanwhile"
    assert (out / "a.csv").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_relative_inputs_are_found_from_the_folder_the_command_ran_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "cross.zip").write_text("x")
    monkeypatch.chdir(work)
    out = _run(tmp_path / "runs" / "scan1", {"a.csv": "1"}, inputs=(Path("data/cross.zip"),))
    record = read_run(out)
    assert record is not None and record["cwd"] == str(work)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither the run's parent nor the current folder has data/
    found = runs.recorded_path(record, "data/cross.zip", out)
    assert found == (work / "data" / "cross.zip").resolve()
    assert runs.recorded_path(record, "data/other.zip", out) is None
    assert runs.recorded_path({}, None, out) is None
