"""``kill -9`` during ``progress``, ``survival`` and ``lifespan`` never loses or mixes runs.

Each run is killed at a named checkpoint (:func:`clirun.run_killed`): when the temporary run
folder is ready ("prepared"), inside the computation (a step name), after ``run.json`` is
written but before the swap ("written") and, for ``survival``, after the swap ("swapped").
Afterwards the output folder is absent (no earlier run), the earlier run unchanged, or the
complete new run; a rerun succeeds and leaves no temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers


def _inputs(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(2)
    rows = []
    for model in ("B6", "tg"):
        for sex in ("F", "M"):
            for age in (2, 6, 10):
                for i in range(4):
                    v = np.exp(1 + (0.2 * age if model == "tg" else 0) + rng.normal(0, 0.1))
                    rows.append((f"{model}{sex}{age}{i}", age, "plaque", v, model, sex))
    progress = folder / "cs.csv"
    columns = ["animal", "age", "measure", "value", "mouse_model", "sex"]
    pd.DataFrame(rows, columns=columns).to_csv(progress, index=False)
    n = 150
    survival = folder / "surv.csv"
    pd.DataFrame(
        {
            "animal": [f"m{i}" for i in range(n)],
            "time": rng.gamma(20, 40, n).round(),
            "event": (rng.random(n) < 0.8).astype(int),
            "strain": rng.choice(["A", "B"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    ).to_csv(survival, index=False)
    life = []
    for arm, shift in (("control", 0), ("drugA", 80)):
        for sex in ("F", "M"):
            for _ in range(20):
                life.append((f"m{len(life)}", arm, sex, round(rng.normal(800 + shift, 120))))
    lifespan = folder / "life.csv"
    pd.DataFrame(life, columns=["animal", "arm", "sex", "time"]).to_csv(lifespan, index=False)
    return {"progress": progress, "survival": survival, "lifespan": lifespan}


#: command -> (arguments of the earlier run, arguments of the killed run)
ARGS = {
    "progress": (["--control", "B6", "--n-boot", "0"], ["--control", "B6", "--n-boot", "10"]),
    "survival": (["--group", "strain"], ["--group", "strain,sex"]),
    "lifespan": (["--sexes", "F", "--n-boot", "0"], ["--sexes", "F,M", "--n-boot", "20"]),
}
STEP = {"progress": "fit trajectories", "survival": "Cox model", "lifespan": "lifespan effects"}
CASES = [
    (command, checkpoint, previous)
    for command in ARGS
    for checkpoint in ("prepared", STEP[command], "written")
    for previous in (False, True)
] + [("survival", "swapped", True)]  # a first run's swap is one rename: nothing in between


@pytest.mark.parametrize(
    ("command", "checkpoint", "previous"),
    CASES,
    ids=[f"{c}-{k}-{'over-previous' if p else 'new'}" for c, k, p in CASES],
)
def test_kill_leaves_previous_or_new_run(
    command: str, checkpoint: str, previous: bool, tmp_path: Path
) -> None:
    data = _inputs(tmp_path)[command]
    out = tmp_path / "run"
    old_args, new_args = ARGS[command]
    old = [command, str(data), *old_args, "--out", str(out)]
    new = [command, str(data), *new_args, "--out", str(out)]
    before = None
    if previous:
        result = invoke(old)
        assert result.exit_code == 0, result.output
        before = assert_complete_run(out)
    assert run_killed(new, checkpoint, cwd=tmp_path), f"{command} did not reach {checkpoint}"
    if checkpoint == "swapped":
        assert assert_complete_run(out)["argv"][1:] == new  # the new run is in place
    elif before is not None:
        assert assert_complete_run(out) == before
    else:
        assert not out.exists()
    result = invoke(new)
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    assert record["argv"][1:] == new
    assert temp_leftovers(tmp_path) == []
