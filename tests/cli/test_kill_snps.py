"""``kill -9`` during ``snps``: the output folder is never a mixture.

Each run is killed at a named checkpoint (``TRANSLOCUS_TEST_PAUSE_AT``), with and without an
earlier run in the folder. Afterwards it is absent (there was none), the earlier complete run
or the new complete run; a rerun then succeeds and no temporary folder is left.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers
from translocus.core.paths import data_dir
from translocus.genetics.snps import default_variant_db

DOEX = data_dir() / "qtl2" / "DOex" / "DOex.json"


@pytest.fixture(scope="module")
def scan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Haley-Knott scan of DOex (peak on chr 2)."""
    if not DOEX.exists() or not default_variant_db().exists():
        pytest.skip("the shared DOex cross or the variant database is not available")
    folder = tmp_path_factory.mktemp("kill_snps") / "scan"
    result = invoke(["scan", DOEX, "--kinship", "none", "-o", folder])
    assert result.exit_code == 0, result.output
    return folder


MATRIX = [
    ("SNP association", False, "absent"),
    ("written", True, "previous"),
    ("swapped", True, "new"),
]


@pytest.mark.parametrize(
    ("checkpoint", "previous", "after"),
    MATRIX,
    ids=[f"{k.replace(' ', '_')}-{'previous' if p else 'none'}" for k, p, _ in MATRIX],
)
def test_killed_snps_run_leaves_a_whole_run(
    scan_run: Path, tmp_path: Path, checkpoint: str, previous: bool, after: str
) -> None:
    out = tmp_path / "run"
    args = ["snps", str(scan_run), "--peak", "OF_immobile_pct"]
    old = None
    if previous:
        result = invoke([*args, "--drop", "0.5", "-o", out])
        assert result.exit_code == 0, result.output
        old = assert_complete_run(out)
    assert run_killed([*args, "--drop", "1", "-o", out], checkpoint, cwd=tmp_path), "not killed"
    if after == "absent":
        assert not out.exists()
    elif after == "previous":
        assert assert_complete_run(out) == old
    else:
        assert assert_complete_run(out)["options"]["drop"] == 1.0
    result = invoke([*args, "--drop", "1", "-o", out])
    assert result.exit_code == 0, result.output
    assert assert_complete_run(out)["options"]["drop"] == 1.0
    assert not temp_leftovers(tmp_path)
