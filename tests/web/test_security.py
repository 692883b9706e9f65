"""The viewer's safety rules: read-only, bounded requests, files only from inside run folders,
the token, the Host check and the security headers (see translocus.web.security)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from translocus.web.security import CSP, MAX_PARAMS, MAX_PATH, MAX_QUERY


@pytest.fixture
def client(demo_run: Path, client_for: Any) -> Any:
    return client_for([demo_run])


def test_headers_on_every_kind_of_answer(client: Any, demo_run: Path) -> None:
    for path in ("/cause", "/api/runs", "/static/app.js", "/api/cause/lod?run=x&trait=y",
                 "/nowhere", "/openapi.json"):  # fmt: skip
        response = client.get(path)
        headers = response.headers
        assert headers["content-security-policy"] == CSP, path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
    assert "'unsafe-eval'" not in CSP and "script-src 'self';" in CSP


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_read_only(client: Any, demo_run: Path, method: str) -> None:
    before = sorted(p.name for p in demo_run.rglob("*"))
    for path in ("/api/runs", "/cause", "/static/app.js", f"/api/cause/peaks?run={demo_run.name}"):
        response = client.request(method, path, content=b"x")
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET, HEAD"
    assert sorted(p.name for p in demo_run.rglob("*")) == before


def test_head_is_allowed(client: Any) -> None:
    assert client.head("/api/runs").status_code == 200


@pytest.mark.parametrize("path", [
    "/static/../pyproject.toml", "/static/%2e%2e/%2e%2e/pyproject.toml",
    "/static/..%2f..%2fapp.py", "/static/vendor/../../app.py", "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
])  # fmt: skip
def test_static_files_stay_in_their_folder(client: Any, path: str) -> None:
    response = client.get(path)
    assert 400 <= response.status_code < 500, path
    assert b"translocus" not in response.content.lower() or response.status_code == 404


@pytest.mark.parametrize("run", ["../../etc", "/etc/passwd", "..", "demo/../../x", "%00"])
def test_run_ids_are_not_paths(client: Any, run: str) -> None:
    response = client.get("/api/cause/peaks", params={"run": run})
    assert response.status_code == 404


def test_absurd_requests(client: Any, demo_run: Path) -> None:
    run = f"{demo_run.name}/cause_lmm"
    long_query = client.get("/api/cause/traits", params={"run": run, "q": "x" * (MAX_QUERY + 1)})
    assert long_query.status_code == 414
    assert client.get("/api/cause/traits", params={"run": run, "q": "x" * 201}).status_code == 422
    assert client.get("/api/cause/traits", params={"run": run, "limit": 10**9}).status_code == 422
    assert client.get("/api/cause/peaks", params={"run": run, "offset": -1}).status_code == 422
    assert client.get("/" + "a" * (MAX_PATH + 1)).status_code == 414
    many = "&".join(f"p{i}=1" for i in range(MAX_PARAMS + 1))
    assert client.get(f"/api/runs?{many}").status_code == 400
    assert client.get("/api/cause/lod", params={"run": run, "trait": "t" * 301}).status_code == 422


def test_token(demo_run: Path, client_for: Any) -> None:
    client = client_for([demo_run], token="a-long-token")
    assert client.get("/api/runs").status_code == 401
    assert client.get("/cause").status_code == 401
    assert client.get("/api/runs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert (
        client.get("/api/runs", headers={"Authorization": "Bearer a-long-token"}).status_code == 200
    )
    # ?token= once: the page is opened again without it, and a cookie carries it from then on
    first = client.get("/cause?run=r&token=a-long-token", follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/cause?run=r"
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/api/runs").status_code == 200  # the client kept the cookie
    client.cookies.clear()
    assert client.get("/api/runs").status_code == 401


def test_host_check(demo_run: Path, client_for: Any) -> None:
    client = client_for([demo_run], allowed_hosts=["127.0.0.1", "localhost"])
    assert client.get("http://127.0.0.1:8765/api/runs").status_code == 200
    assert client.get("http://localhost/api/runs").status_code == 200
    refused = client.get("http://attacker.example/api/runs")
    assert refused.status_code == 400 and "Host" in json.loads(refused.text)["detail"]
