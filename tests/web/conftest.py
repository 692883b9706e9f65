"""Fixtures of the viewer's tests: run folders to serve, a live server, and chromium.

- ``demo_run``: a ``translocus demo`` run folder, built once for the whole test session
  (shared by the xdist workers through a lock), or the one ``$TRANSLOCUS_VIEWER_DEMO`` names.
- ``bxd_scan_run``: a Haley-Knott ``translocus scan`` of the 5,806 BXD phenotypes (built the
  same way, or ``$TRANSLOCUS_VIEWER_BXD``); skipped when the public data are absent.
- ``eqtl_run``: ``translocus eqtl --keep-lod`` of a small simulated molecular study (300
  genes, 120 DO mice, 400 markers), built once the same way.
- ``client_for(roots, token=None)``: an in-process ``TestClient``.
- ``live_server(roots, **kwargs)``: a context manager running uvicorn in a thread on a free
  port; yields its base URL.
- ``chromium`` (fixture) / ``chromium_path()``: Debian's chromium (``$TRANSLOCUS_CHROMIUM`` or ``chromium`` on the
  PATH); fails loudly when missing — ``make test`` installs it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from translocus.core.paths import data_dir
from translocus.core.runs import read_run

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)

BXD = data_dir() / "qtl2" / "BXD" / "bxd.zip"


def chromium_path() -> str:
    """The chromium executable the browser tests drive; fails (never skips) when missing."""
    given = os.environ.get("TRANSLOCUS_CHROMIUM") or shutil.which("chromium")
    if not given or not Path(given).exists():
        pytest.fail(
            "the viewer's browser tests need Debian's chromium: run `make browser` (or "
            "apt-get install chromium), or set TRANSLOCUS_CHROMIUM to a chromium executable",
            pytrace=False,
        )
    return str(given)


def _shared_run(tmp_path_factory: pytest.TempPathFactory, name: str,
                build: Callable[[Path], None]) -> Path:  # fmt: skip
    """A run folder built once per test session, whichever xdist worker gets there first."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            record = read_run(folder)
            if record is None or record.get("status") != "complete":
                build(folder)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def _invoke(argv: Sequence[str]) -> None:
    from clirun import invoke

    result = invoke(argv)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("TRANSLOCUS_VIEWER_DEMO")
    if given:
        return Path(given)
    return _shared_run(tmp_path_factory, "viewer_demo",
                       lambda out: _invoke(["demo", "--out", str(out)]))  # fmt: skip


@pytest.fixture(scope="session")
def bxd_scan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("TRANSLOCUS_VIEWER_BXD")
    if given:
        return Path(given)
    if not BXD.exists():
        pytest.skip(f"the shared BXD cross is not available at {BXD}")
    return _shared_run(
        tmp_path_factory, "viewer_bxd_scan",
        lambda out: _invoke(["scan", str(BXD), "--kinship", "none", "--threads", "2",
                             "-o", str(out)]),
    )  # fmt: skip


@pytest.fixture(scope="session")
def eqtl_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated molecular study's ``translocus eqtl --keep-lod`` run (Haley-Knott)."""

    def build(out: Path) -> None:
        sim = out.parent / f"{out.name}_sim"
        if read_run(sim) is None:
            _invoke(["simulate", "--cross", "do", "--n", "120", "--markers", "400", "--genes",
                     "300", "--seed", "2", "--out", str(sim)])  # fmt: skip
        _invoke(["eqtl", str(sim / "sim.json"), "--traits", str(sim / "expression.parquet"),
                 "--kinship", "none", "--covar", "Sex", "--keep-lod", "--threshold", "5",
                 "-o", str(out)])  # fmt: skip

    return _shared_run(tmp_path_factory, "viewer_eqtl", build)


@pytest.fixture
def client_for() -> Callable[..., Any]:
    from fastapi.testclient import TestClient

    from translocus.web import create_app

    def make(roots: Sequence[Path], **kwargs: Any) -> TestClient:
        return TestClient(create_app(list(roots), **kwargs))

    return make


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(roots: Sequence[Path], **kwargs: Any) -> Iterator[str]:
    """uvicorn in a thread over ``roots``; yields the base URL, stops on exit."""
    import uvicorn

    from translocus.web import create_app

    port = free_port()
    config = uvicorn.Config(create_app(list(roots), **kwargs), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the viewer did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable (:func:`chromium_path`): fails when missing, never skips."""
    return chromium_path()


@pytest.fixture
def live_server() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with live_server(roots, token=None) as base_url:`` — uvicorn in a thread."""
    return serving
