"""The command-line contract of ``mediate``: bad inputs and options.

Every bad case exits 2 with one ``error:`` line naming the problem, no traceback, nothing
created, changed or deleted, no temporary folder left. (A complete run:
tests/pipelines/test_mediate.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_user_error, invoke, snapshot
from translocus.core.paths import data_dir
from translocus.core.runs import RUN_FORMAT

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.json"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace: a good traits file, bad ones and a folder translocus did not write."""
    if not DOEX.exists():
        pytest.skip("the shared DOex cross is not available")
    from translocus.core.qtl2io import read_cross

    root = tmp_path_factory.mktemp("mediate_contract")
    ids = [str(s) for s in read_cross(DOEX).individuals]
    rng = np.random.default_rng(1)
    good = pd.DataFrame(rng.normal(size=(len(ids), 3)), index=pd.Index(ids, name="mouse"),
                        columns=["Hnf1a", "Apoa2", "expr3"])  # fmt: skip
    paths = {"root": root, "traits": root / "expr.csv"}
    good.to_csv(paths["traits"])
    words = good.astype(object)
    words.iloc[[4, 9], 1] = "high"
    paths["words"] = root / "words.csv"
    words.to_csv(paths["words"])
    paths["strangers"] = root / "strangers.csv"
    good.set_axis([f"x{i}" for i in range(len(ids))]).to_csv(paths["strangers"])
    paths["twice"] = root / "twice.csv"
    pd.concat([good, good.iloc[:1]]).to_csv(paths["twice"])
    for name, command, status in (
        ("scan_run", "scan", "complete"),
        ("eqtl_unfinished", "eqtl", "running"),
    ):
        paths[name] = root / name
        paths[name].mkdir()
        (paths[name] / "run.json").write_text(
            json.dumps({"translocus_run": RUN_FORMAT, "command": command, "status": status})
        )
    paths["foreign"] = root / "foreign"
    paths["foreign"].mkdir()
    (paths["foreign"] / "keep.txt").write_text("precious")
    return paths


GOOD = ["--traits", "{traits}", "--target", "OF_immobile_pct", "--at", "2:97.5"]
CASES: list[tuple[str, list[str], str]] = [
    ("cross-missing", ["{root}/no_such_cross.json", *GOOD], "no_such_cross.json: no such file"),
    ("traits-missing", [str(DOEX), "--traits", "{root}/none.csv", "--target", "x", "--at",
                        "2:97.5"], "--traits"),
    ("traits-not-numbers", [str(DOEX), "--traits", "{words}", "--target", "OF_immobile_pct",
                            "--at", "2:97.5"], "column 'Apoa2': 2 values are not numbers"),
    ("traits-other-samples", [str(DOEX), "--traits", "{strangers}", "--target",
                              "OF_immobile_pct", "--at", "2:97.5"],
     "no sample ID is in the cross"),
    ("traits-duplicate-sample", [str(DOEX), "--traits", "{twice}", "--target",
                                 "OF_immobile_pct", "--at", "2:97.5"], "sample ID '1' appears 2 times"),
    ("target-unknown", [str(DOEX), "--traits", "{traits}", "--target", "tail", "--at", "2:97.5"],
     "--target tail: is neither a phenotype of the cross"),
    ("target-empty", [str(DOEX), "--traits", "{traits}", "--target", " ", "--at", "2:97.5"],
     "--target"),
    ("at-not-chr-pos", [str(DOEX), *GOOD[:4], "--at", "2-97.5"],
     "--at 2-97.5: give the QTL as CHR:POS"),
    ("at-not-a-number", [str(DOEX), *GOOD[:4], "--at", "2:far"], "--at 2:far"),
    ("at-unknown-chr", [str(DOEX), *GOOD[:4], "--at", "5:10"],
     "chromosome 5 is not in the cross"),
    ("window-negative", [str(DOEX), *GOOD, "--window", "-1"], "--window -1.0: must be a distance"),
    ("orientation-unknown", [str(DOEX), *GOOD, "--orientation", "rows"],
     "--orientation rows: must be one of auto"),
    ("kinship-unknown", [str(DOEX), *GOOD, "--kinship", "overall"],
     "--kinship overall: must be one of loco, none"),
    ("covar-unknown", [str(DOEX), *GOOD, "--covar", "age"], "'age' is not a covariate"),
    ("no-target", [str(DOEX), "--traits", "{traits}", "--at", "2:97.5"],
     "give the target: a phenotype of the cross or a feature of --traits"),
    ("target-and-hotspot", [str(DOEX), *GOOD, "--hotspot", "{foreign}"],
     "give either --target or --hotspot"),
    ("hotspot-missing", [str(DOEX), "--traits", "{traits}", "--at", "2:97.5", "--hotspot",
                         "{root}/no_run"], "no_run: no such run folder"),
    ("hotspot-not-a-run", [str(DOEX), "--traits", "{traits}", "--at", "2:97.5", "--hotspot",
                           "{foreign}"], "not a translocus run folder"),
    ("hotspot-a-scan-run", [str(DOEX), "--traits", "{traits}", "--at", "2:97.5", "--hotspot",
                            "{scan_run}"], "is a `translocus scan` run, not an eqtl run"),
    ("hotspot-unfinished", [str(DOEX), "--traits", "{traits}", "--at", "2:97.5", "--hotspot",
                            "{eqtl_unfinished}"], "the eqtl run did not complete"),
    ("out-foreign-folder", [str(DOEX), *GOOD, "-o", "{foreign}"], "files translocus did not write"),
]  # fmt: skip


def _argv(template: list[str], ws: dict[str, Path]) -> list[str]:
    names = {k: str(v) for k, v in ws.items()}
    argv = ["mediate", *(part.format(**names) for part in template)]
    if "-o" not in argv:
        argv += ["-o", f"{names['root']}/out"]
    return argv


@pytest.mark.parametrize(("case", "template", "expect"), CASES, ids=[c[0] for c in CASES])
def test_mediate_bad_input(ws: dict[str, Path], case: str, template: list[str],
                           expect: str) -> None:  # fmt: skip
    before = snapshot(ws["root"])
    result = invoke(_argv(template, ws))
    assert_user_error(result, before, ws["root"], expect=expect)
