"""The viewer's shared API: the run index, page shells, static files, tables and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi import HTTPException

from translocus.core.errors import InputError
from translocus.web.figures import figure_json
from translocus.web.runs import RunIndex
from translocus.web.sections import SECTIONS
from translocus.web.tables import table_json


def _fake_run(folder: Path, command: str, status: str = "complete") -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps(
        {"translocus_run": 1, "command": command, "status": status, "files": {}}))  # fmt: skip
    return folder


def test_index_of_a_demo_lists_its_parts(demo_run: Path) -> None:
    index = RunIndex([demo_run])
    commands = {r.id.split("/", 1)[-1]: r.command for r in index.runs()}
    assert commands["cause_lmm"] == "scan" and commands["cause_hk"] == "scan"
    assert commands["lifespan_slam"] == "survival"
    assert commands["study"] == "cross"
    assert index.runs("demo")[0].id == demo_run.name
    part = index.get(f"{demo_run.name}/cause_lmm")
    assert part.path == (demo_run / "cause_lmm").resolve()
    assert part.meta["command"] == "demo"


def test_index_of_a_folder_of_runs_and_unique_ids(tmp_path: Path) -> None:
    _fake_run(tmp_path / "runs" / "a b", "scan")
    _fake_run(tmp_path / "runs" / "half", "scan", status="running")
    _fake_run(tmp_path / "other" / "a b", "eqtl")
    index = RunIndex([tmp_path / "runs", tmp_path / "other" / "a b"])
    assert [(r.id, r.command) for r in index.runs()] == [("a_b", "scan"), ("a_b-2", "eqtl")]
    with pytest.raises(HTTPException) as caught:
        index.get("half")
    assert caught.value.status_code == 404


@pytest.mark.parametrize("what", ["missing", "file", "empty"])
def test_index_refuses_a_root_without_runs(tmp_path: Path, what: str) -> None:
    root = tmp_path / "root"
    if what == "file":
        root.write_text("x")
    elif what == "empty":
        root.mkdir()
    with pytest.raises(InputError, match=r"root: "):
        RunIndex([root])


def test_file_stays_inside_the_run(tmp_path: Path) -> None:
    run = _fake_run(tmp_path / "run", "scan")
    (run / "peaks.csv").write_text("a\n1\n")
    (tmp_path / "secret.txt").write_text("no")
    (run / "out.csv").symlink_to(tmp_path / "secret.txt")
    (run / "in.csv").symlink_to(run / "peaks.csv")
    index = RunIndex([run])
    info = index.get("run")
    assert index.file(info, "peaks.csv") == (run / "peaks.csv").resolve()
    assert index.file(info, "in.csv") == (run / "peaks.csv").resolve()
    assert index.file(info, "absent.csv") is None
    for bad in ("../secret.txt", "/etc/passwd", "out.csv", "a/../../x", "", "a\\b", "a//b"):
        with pytest.raises(HTTPException) as caught:
            index.file(info, bad)
        assert caught.value.status_code == 400, bad


def test_pages_static_and_runs(demo_run: Path, client_for: Any) -> None:
    client = client_for([demo_run])
    home = client.get("/", follow_redirects=False)
    assert home.status_code == 307 and home.headers["location"] == "/study"
    for section in SECTIONS:
        page = client.get(f"/{section}")
        assert page.status_code == 200
        assert f'<main id="app" data-section="{section}">' in page.text
        assert f'<script src="/static/{section}.js">' in page.text
    assert client.get("/nowhere").status_code == 404
    bundle = client.get("/static/vendor/plotly.min.js")
    assert bundle.status_code == 200 and b"plotly.js" in bundle.content[:200]
    assert client.get("/static/app.js").status_code == 200
    runs = client.get("/api/runs", params={"command": "scan"}).json()
    assert {r["id"] for r in runs} == {f"{demo_run.name}/cause_hk", f"{demo_run.name}/cause_lmm"}


def test_table_json_pages_and_nulls() -> None:
    frame = pd.DataFrame({"a": np.arange(5), "b": [0.1, np.nan, np.inf, 2.0, -1.5],
                          "c": list("vwxyz")})  # fmt: skip
    page = table_json(frame, offset=1, limit=2)
    assert page == {"columns": ["a", "b", "c"], "rows": [[1, None, "w"], [2, None, "x"]],
                    "total": 5, "offset": 1, "limit": 2}  # fmt: skip
    assert table_json(frame, offset=10, limit=2)["rows"] == []


def test_figure_json_is_plain() -> None:
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=np.arange(3), y=np.array([1.5, np.nan, 2.0])))
    data = figure_json(fig)
    assert data["data"][0]["x"] == [0, 1, 2]
    assert data["data"][0]["y"] == [1.5, None, 2.0]
    json.dumps(data, allow_nan=False)
