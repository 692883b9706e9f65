"""The command-line contract of ``serve``: bad folders and options, and the host/token rule.

A bad case exits 2 with one ``error:`` line and changes nothing. The server itself is not
started here: ``uvicorn.run`` is replaced by a recorder, so the test sees the app and the
address ``serve`` would listen on.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from clirun import assert_user_error, invoke, snapshot
from translocus.core.runs import RUN_FORMAT


@pytest.fixture
def ws(tmp_path: Path) -> dict[str, Path]:
    run = tmp_path / "scan_run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps(
        {"translocus_run": RUN_FORMAT, "command": "scan", "status": "complete", "files": {}}))  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("mine")
    return {"root": tmp_path, "run": run, "empty": empty}


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls of uvicorn.run (the server is not started)."""
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run",
                        lambda app, **kw: calls.append({"app": app, **kw}))  # fmt: skip
    return calls


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CASES = [
    ("missing-folder", ["{root}/nothing"], "nothing: no such folder"),
    ("a-file", ["{root}/empty/notes.txt"], "is a file, not a run folder"),
    ("no-runs", ["{empty}"], "holds no complete translocus run"),
    ("port-zero", ["{run}", "--port", "0"], "--port 0: must lie between 1 and 65535"),
    ("short-token", ["{run}", "--token", "abc"], "--token"),
    ("unknown-host", ["{run}", "--host", "no-such-host.invalid"], "--host no-such-host.invalid"),
]


@pytest.mark.parametrize(("name", "template", "expect"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    ws: dict[str, Path], started: list[dict[str, Any]], name: str, template: list[str],
    expect: str,
) -> None:  # fmt: skip
    argv = ["serve", "--no-browser", *(part.format(**ws) for part in template)]
    before = snapshot(ws["root"])
    result = invoke(argv)
    assert_user_error(result, before, ws["root"], expect=expect)
    assert not started


def test_port_in_use(ws: dict[str, Path], started: list[dict[str, Any]]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = snapshot(ws["root"])
        result = invoke(["serve", str(ws["run"]), "--port", str(port), "--no-browser"])
    assert_user_error(result, before, ws["root"], expect=f"--port {port}: is already in use")
    assert not started


def test_local_by_default(ws: dict[str, Path], started: list[dict[str, Any]]) -> None:
    from fastapi.testclient import TestClient

    port = _free_port()
    result = invoke(["serve", str(ws["run"]), "--port", str(port), "--no-browser"])
    assert result.exit_code == 0, result.output
    assert f"serving 1 run at http://127.0.0.1:{port}/ " in result.stdout
    (call,) = started
    assert call["host"] == "127.0.0.1" and call["port"] == port
    client = TestClient(call["app"], base_url=f"http://127.0.0.1:{port}")
    assert client.get("/api/runs").status_code == 200
    # another Host (a page elsewhere reaching the viewer through DNS rebinding) is refused
    assert client.get("/api/runs", headers={"Host": "evil.example"}).status_code == 400


def test_open_host_without_token_generates_one(
    ws: dict[str, Path], started: list[dict[str, Any]]
) -> None:
    from fastapi.testclient import TestClient

    port = _free_port()
    result = invoke(["serve", str(ws["run"]), "--host", "0.0.0.0", "--port", str(port),
                     "--no-browser"])  # fmt: skip
    assert result.exit_code == 0, result.output
    (call,) = started
    assert call["host"] == "0.0.0.0"
    token = result.stdout.split("?token=", 1)[1].split()[0]
    assert len(token) >= 16 and f"needs the token {token}" in " ".join(result.stdout.split())
    client = TestClient(call["app"])
    assert client.get("/api/runs").status_code == 401
    assert client.get("/api/runs", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_open_host_with_given_token(ws: dict[str, Path], started: list[dict[str, Any]]) -> None:
    from fastapi.testclient import TestClient

    result = invoke(["serve", str(ws["run"]), "--host", "0.0.0.0", "--port", str(_free_port()),
                     "--token", "s3cret-token", "--no-browser"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "?token=s3cret-token" in result.stdout and "needs the token" not in result.stdout
    client = TestClient(started[0]["app"])
    assert client.get("/api/runs", params={"token": "wrong-token"}).status_code == 401
    assert client.get("/api/runs", params={"token": "s3cret-token"}).status_code == 200
