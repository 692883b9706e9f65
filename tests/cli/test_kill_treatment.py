"""kill -9 during ``respond``: the output folder is the previous complete run or the new
complete run (absent only when there was none), and a rerun succeeds cleanly.

The study is a small long table (two models, three arms, two animals each) so that each
killed subprocess takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers


def _study(path: Path) -> Path:
    days = np.arange(0, 25, 3.0)
    rows = [
        pd.DataFrame({"model": model, "arm": arm, "animal": f"{model}-{arm}-{i}", "day": days,
                      "volume": 110 * np.exp((0.09 - 0.04 * j) * days + 0.03 * np.cos(days + i))})
        for model in ("M1", "M2") for j, arm in enumerate(("vehicle", "A", "A + B")) for i in (1, 2)
    ]  # fmt: skip
    pd.concat(rows).to_csv(path, index=False)
    return path


def _state(out: Path) -> str | None:
    """``None`` when absent, else the growth model of the complete run that is there."""
    if not out.exists():
        return None
    record = assert_complete_run(out)
    return str(record["options"]["growth_model"])


@pytest.mark.parametrize("previous", [False, True], ids=["new", "replace"])
@pytest.mark.parametrize("checkpoint", ["prepared", "growth fits", "written", "swapped"])
def test_kill_respond(tmp_path: Path, checkpoint: str, previous: bool) -> None:
    if checkpoint == "swapped" and not previous:
        pytest.skip("a first run is renamed into place: there is no swap to interrupt")
    data = _study(tmp_path / "study.csv")
    out = tmp_path / "response"
    respond = ["respond", data, "-o", out, "--growth-model"]
    if previous:
        assert invoke([*respond, "exponential"]).exit_code == 0
        before = (out / "run.json").read_text()
    killed = run_killed([*respond, "gompertz"], checkpoint, cwd=tmp_path)
    assert killed
    state = _state(out)
    if checkpoint == "swapped":
        assert state == "gompertz"  # the new run is complete and in place
    else:
        assert temp_leftovers(tmp_path)  # the killed run's half-built folder, beside out
        assert state == ("exponential" if previous else None)
        if previous:
            assert (out / "run.json").read_text() == before  # untouched
    # the next run (even one that fails validation) cleans up first and changes nothing
    bad = invoke([*respond, "logistic"])
    assert bad.exit_code == 2
    assert _state(out) == state
    rerun = invoke([*respond, "exponential_linear"])
    assert rerun.exit_code == 0, rerun.output
    assert _state(out) == "exponential_linear"
    assert not temp_leftovers(tmp_path)
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["summary"]["control"] == "vehicle"
