"""``kill -9`` during ``scan`` (with permutations) and ``genoprob``: DIR is never a mixture.

Each run is killed at a named checkpoint (``TRANSLOCUS_TEST_PAUSE_AT``), with and without an
earlier run in DIR. Afterwards DIR is absent (there was none), the earlier complete run, or
the new complete run (checked with run.json and file hashes); a rerun then succeeds and no
temporary folder is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers


@pytest.fixture(scope="module")
def cross(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated F2 cross (30 animals, 100 markers, 3 traits)."""
    folder = tmp_path_factory.mktemp("kill_cross") / "sim"
    result = invoke(["simulate", "--cross", "f2", "--n", "30", "--markers", "100", "-o", folder])
    assert result.exit_code == 0, result.output
    return folder / "sim.json"


def _scan(cross: Path, trait: str) -> list[str]:
    return ["scan", str(cross), "--pheno", trait, "--kinship", "none", "--perms", "20",
            "--assembly", "GRCm39"]  # fmt: skip


def _genoprob(cross: Path, map_function: str) -> list[str]:
    return ["genoprob", str(cross), "--map-function", map_function, "--assembly", "GRCm39"]


# (command, checkpoint, earlier run in DIR?, what DIR holds after the kill)
MATRIX = [
    ("scan", "permutations", False, "absent"),
    ("scan", "permutations", True, "previous"),
    ("scan", "written", False, "absent"),
    ("scan", "written", True, "previous"),
    ("scan", "swapped", True, "new"),
    ("genoprob", "genotype probabilities", False, "absent"),
    ("genoprob", "genotype probabilities", True, "previous"),
    ("genoprob", "written", False, "absent"),
    ("genoprob", "written", True, "previous"),
    ("genoprob", "swapped", True, "new"),
]


@pytest.mark.parametrize(
    ("command", "checkpoint", "previous", "after"),
    MATRIX,
    ids=[f"{c}-{k.replace(' ', '_')}-{'previous' if p else 'none'}" for c, k, p, _ in MATRIX],
)
def test_killed_run_leaves_a_whole_run(
    cross: Path, tmp_path: Path, command: str, checkpoint: str, previous: bool, after: str
) -> None:
    out = tmp_path / "run"
    old_args = _scan(cross, "trait1") if command == "scan" else _genoprob(cross, "haldane")
    new_args = _scan(cross, "trait2") if command == "scan" else _genoprob(cross, "c-f")
    option, old_value, new_value = (
        ("pheno", ["trait1"], ["trait2"])
        if command == "scan"
        else ("map_function", "haldane", "c-f")
    )
    old = None
    if previous:
        result = invoke([*old_args, "-o", out])
        assert result.exit_code == 0, result.output
        old = assert_complete_run(out)
        assert old["options"][option] == old_value

    assert run_killed([*new_args, "-o", out], checkpoint, cwd=tmp_path), "not killed"

    if after == "absent":
        assert not out.exists()
    elif after == "previous":
        assert assert_complete_run(out) == old
    else:
        assert assert_complete_run(out)["options"][option] == new_value

    result = invoke([*new_args, "-o", out])
    assert result.exit_code == 0, result.output
    record = assert_complete_run(out)
    assert record["options"][option] == new_value
    assert not temp_leftovers(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    if command == "scan":
        assert (out / "permutations.csv").is_file()
        assert [s["name"] for s in record["steps"]].count("permutations") == 1
