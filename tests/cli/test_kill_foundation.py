"""kill -9 during ``simulate`` and ``demo``: the output folder is the previous complete run or
the new complete run (absent only when there was none), and a rerun succeeds cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers

SIM = ["simulate", "--cross", "f2", "--n", "30", "--markers", "80", "--traits", "1"]


def _state(out: Path) -> str | None:
    """``None`` when absent, else the run's seed (which run is there)."""
    if not out.exists():
        return None
    record = assert_complete_run(out)
    return str(record["options"]["seed"])


@pytest.mark.parametrize("previous", [False, True], ids=["new", "replace"])
@pytest.mark.parametrize(
    ("checkpoint", "two_renames"),
    [
        ("prepared", False),
        ("simulate cross", False),
        ("written", False),
        ("swapped", False),
        ("swapping", True),
        ("swapped", True),
    ],
)
def test_kill_simulate(tmp_path: Path, checkpoint: str, two_renames: bool, previous: bool) -> None:
    out = tmp_path / "sim"
    env = {"TRANSLOCUS_TEST_TWO_RENAMES": "1"} if two_renames else {}
    if not previous and checkpoint == "swapping":
        pytest.skip("the two-rename swap only happens over an earlier run")
    if previous:
        assert invoke([*SIM, "--seed", "1", "-o", out]).exit_code == 0
    killed = run_killed([*SIM, "--seed", "2", "-o", out], checkpoint, cwd=tmp_path, env=env)
    assert killed
    state = _state(out) if not (two_renames and checkpoint == "swapping") else None
    if checkpoint in ("prepared", "simulate cross", "written"):
        assert state == ("1" if previous else None)
    elif checkpoint == "swapped":
        assert state == "2"
    # the next run (even one that fails validation) restores an interrupted swap first
    bad = invoke([*SIM, "--n", "1", "-o", out])
    assert bad.exit_code == 2
    if previous:
        assert _state(out) in ("1", "2")
    rerun = invoke([*SIM, "--seed", "3", "-o", out], env=env)
    assert rerun.exit_code == 0, rerun.output
    assert _state(out) == "3"
    assert not temp_leftovers(tmp_path)
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
