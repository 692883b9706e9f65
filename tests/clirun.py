"""Run the ``translocus`` command line in tests, and check its contract.

- :func:`invoke` runs it in-process through :func:`translocus.cli.main.run_cli` (the same
  entry point as the console script, with its error contract) and captures stdout/stderr.
- :func:`snapshot` / :func:`assert_user_error` check the contract for a bad input: exit 2,
  one ``error:`` line on stderr, no traceback, nothing created, changed or deleted outside
  the run folder and no partial run folder.
- :func:`run_killed` starts the real console script in a subprocess, lets it run to a named
  checkpoint (``TRANSLOCUS_TEST_PAUSE_AT``) and kills it with SIGKILL there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from translocus.cli.main import run_cli

__all__ = [
    "Result",
    "assert_complete_run",
    "assert_user_error",
    "invoke",
    "run_killed",
    "snapshot",
    "temp_leftovers",
]


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def invoke(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Result:
    """Run ``translocus ARGV`` in-process; return its exit code and captured output."""
    out, err = io.StringIO(), io.StringIO()
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run_cli([str(a) for a in argv])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Result(code, out.getvalue(), err.getvalue())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(*roots: Path) -> dict[str, str]:
    """Every file and folder under ``roots``: path -> content hash (``dir`` for folders)."""
    state: dict[str, str] = {}
    for root in roots:
        root = Path(root)
        if not root.exists():
            continue
        if root.is_file():
            state[str(root)] = _digest(root)
            continue
        state[str(root)] = "dir"
        for path in sorted(root.rglob("*")):
            state[str(path)] = "dir" if path.is_dir() else _digest(path)
    return state


def temp_leftovers(*roots: Path) -> list[str]:
    """Temporary folders of run folders (``.NAME.translocus-tmp-*`` / ``-old``) under roots."""
    found: list[str] = []
    for root in roots:
        if Path(root).is_dir():
            found += [str(p) for p in Path(root).rglob(".*translocus-*")]
    return found


def assert_user_error(
    result: Result, before: Mapping[str, str], *roots: Path, expect: str | None = None
) -> None:
    """The contract for a user's mistake (see the module docstring)."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    if expect is not None:
        assert expect.lower() in lines[0].lower(), (expect, lines[0])
    after = snapshot(*roots)
    assert after == dict(before), {
        "created": sorted(set(after) - set(before)),
        "deleted": sorted(set(before) - set(after)),
        "changed": sorted(k for k in before if k in after and before[k] != after[k]),
    }
    assert not temp_leftovers(*roots)


def assert_complete_run(folder: Path) -> dict:
    """``folder`` is a complete run: run.json says so and lists exactly its files, by hash."""
    record = json.loads((folder / "run.json").read_text())
    assert record["status"] == "complete"
    files = {
        p.relative_to(folder).as_posix(): p
        for p in folder.rglob("*")
        if p.is_file() and p.name != "run.json"
    }
    assert set(files) == set(record["files"]), set(files) ^ set(record["files"])
    for name, path in files.items():
        assert record["files"][name]["sha256"] == _digest(path), name
    return record


def run_killed(
    argv: Sequence[str],
    checkpoint: str,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 240.0,
) -> bool:
    """Run ``translocus ARGV`` until it reaches ``checkpoint``, then SIGKILL it.

    Returns ``True`` when the kill landed at the checkpoint and ``False`` when the run
    finished (or failed) before reaching it.
    """
    flag = Path(cwd) / f".pause-{checkpoint}-{time.monotonic_ns()}"
    full_env = {
        **os.environ,
        **(env or {}),
        "TRANSLOCUS_TEST_PAUSE_AT": checkpoint,
        "TRANSLOCUS_TEST_PAUSE_FILE": str(flag),
    }
    code = "import sys; from translocus.cli.main import main; sys.argv[0] = 'translocus'; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, argv)],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if flag.exists() and flag.read_text().strip():
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(30)
                return True
            if proc.poll() is not None:
                return False
            time.sleep(0.05)
        raise AssertionError(f"{' '.join(argv)} did not reach {checkpoint} in {timeout} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        if proc.stderr is not None:
            proc.stderr.close()
        flag.unlink(missing_ok=True)
