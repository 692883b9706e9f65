"""The command-line contract of ``eqtl``: bad inputs and options, and a complete run.

Every bad case exits 2 with one ``error:`` line naming the problem, no traceback, nothing
created, changed or deleted, no temporary or checkpoint folder left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("eqtl_contract")
    sim = root / "sim"
    done = invoke(["simulate", "--cross", "do", "--n", "60", "--markers", "300", "--seed", "3",
                   "-o", sim])  # fmt: skip
    assert done.exit_code == 0, done.output
    cross = next(p for p in sim.glob("*.json") if p.name != "run.json")
    ids = pd.read_csv(next(sim.glob("*_pheno.csv")))
    samples = [str(s) for s in ids.iloc[:, 0]]
    rng = np.random.default_rng(1)
    genes = ["ENSMUSG00000000001", "ENSMUSG00000000028", "ENSMUSG00000000031"]
    values = pd.DataFrame(rng.normal(size=(len(samples), 3)), index=samples, columns=genes)
    values.index.name = "mouse"
    traits = root / "expr.csv"
    values.to_csv(traits)
    strangers = root / "strangers.csv"
    other = values.copy()
    other.index = [f"X{i}" for i in range(len(other))]
    other.index.name = "mouse"
    other.to_csv(strangers)
    mine = root / "my_results"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own notes\n")
    return {"root": root, "cross": cross, "traits": traits, "strangers": strangers,
            "mine": mine}  # fmt: skip


def _bad(ws: dict[str, Path], extra: list[str], expect: str) -> None:
    out = ws["root"] / "out"
    before = snapshot(ws["root"])
    argv = ["eqtl", ws["cross"], "--traits", ws["traits"], "-o", out, *extra]
    assert_user_error(invoke(argv), before, ws["root"], expect=expect)


@pytest.mark.parametrize(("extra", "expect"), [
    (["--transform", "log"], "--transform"),
    (["--threshold", "0"], "--threshold"),
    (["--kinship", "sometimes"], "--kinship"),
    (["--covar", "height"], "--covar"),
    (["--workers", "0"], "--workers"),
    (["--workers", "2", "--scheduler", "tcp://localhost:1"], "--workers"),
    (["--orientation", "diagonal"], "--orientation"),
    (["--window", "-1"], "--window"),
    (["--perms", "-3"], "--perms"),
    (["--alpha", "2"], "--alpha"),
])  # fmt: skip
def test_bad_options(ws: dict[str, Path], extra: list[str], expect: str) -> None:
    _bad(ws, extra, expect)


def test_missing_traits_file(ws: dict[str, Path]) -> None:
    before = snapshot(ws["root"])
    argv = ["eqtl", ws["cross"], "--traits", ws["root"] / "nope.csv", "-o", ws["root"] / "o"]
    assert_user_error(invoke(argv), before, ws["root"], expect="nope.csv")


def test_no_common_samples(ws: dict[str, Path]) -> None:
    before = snapshot(ws["root"])
    argv = ["eqtl", ws["cross"], "--traits", ws["strangers"], "-o", ws["root"] / "o"]
    assert_user_error(invoke(argv), before, ws["root"], expect="sample")


def test_never_overwrites_a_users_folder(ws: dict[str, Path]) -> None:
    before = snapshot(ws["root"])
    argv = ["eqtl", ws["cross"], "--traits", ws["traits"], "-o", ws["mine"]]
    assert_user_error(invoke(argv), before, ws["root"])


def test_complete_run(ws: dict[str, Path]) -> None:
    out = ws["root"] / "done"
    argv = ["eqtl", ws["cross"], "--traits", ws["traits"], "--kinship", "none", "--build",
            "GRCm39", "--threshold", "2", "--hotspot-perms", "20", "-o", out]  # fmt: skip
    done = invoke(argv)
    assert done.exit_code == 0, done.output + done.stderr
    record = assert_complete_run(out)
    assert record["summary"]["traits"] == 3
    assert not list(ws["root"].glob(".*translocus-checkpoint"))
