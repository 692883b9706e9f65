"""The viewer's API against its own OpenAPI schema (schemathesis, in-process ASGI app).

Every operation is called with generated parameters — valid and invalid — and must never
answer 5xx. A generated ``run`` is often replaced by a served run's id (and ``trait`` by one
of its traits) so that the calls reach past the run lookup. Path traversal in a
parameter naming a run, trait, chromosome or file is a 4xx (in any other it never reads a
file outside the runs), and an oversized query is a 414.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytest.importorskip("schemathesis")

#: Generated cases per operation (valid and invalid parameters).
EXAMPLES = 8


@pytest.fixture(scope="module")
def viewer(demo_run: Path, eqtl_run: Path) -> Any:
    from translocus.web import create_app

    return create_app([demo_run, eqtl_run])


@pytest.fixture(scope="module")
def api_schema(viewer: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", viewer)


@pytest.fixture(scope="module")
def real(viewer: Any) -> dict[str, list[str]]:
    """Served run ids, and a few traits of each Cause run."""
    from fastapi.testclient import TestClient

    client = TestClient(viewer)
    runs = [r["id"] for r in client.get("/api/runs").json()]
    traits: dict[str, list[str]] = {}
    for run in runs:
        answer = client.get("/api/cause/traits", params={"run": run, "limit": 3})
        if answer.status_code == 200:
            traits[run] = [t["trait"] for t in answer.json()["traits"]]
    return {"runs": runs, **{f"traits:{k}": v for k, v in traits.items()}}


def _pick(options: list[str], seed: str) -> str | None:
    """One of ``options`` or ``None`` (keep the generated value), chosen by the case itself."""
    k = int(hashlib.sha1(seed.encode()).hexdigest(), 16) % (len(options) + 1)
    return options[k] if k < len(options) else None


def _aim(case: Any, real: dict[str, list[str]]) -> None:
    """Point a generated case at a served run (and one of its traits) now and then."""
    query = case.query if isinstance(case.query, dict) else None
    if query is None or "run" not in query:
        return
    run = _pick(real["runs"], repr(sorted(query.items(), key=str)))
    if run is None:
        return
    query["run"] = run
    traits = real.get(f"traits:{run}", [])
    if "trait" in query and traits:
        query["trait"] = _pick(traits, str(query.get("trait"))) or query["trait"]


def test_no_server_errors(api_schema: Any, real: dict[str, list[str]]) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 10
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: Any) -> None:
            _aim(case, real)
            case.call_and_validate(checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n".join(failures)


#: Parameters that name a run, trait, chromosome or file: a path there is a 4xx.
NAMES = ("run", "trait", "chr", "file", "name", "table", "part")
TRAVERSAL = ["../../../../etc/passwd", "/etc/passwd", "..%2f..%2fetc%2fpasswd", "a/../../b",
             "\\..\\..\\windows", "%00", "." * 300]  # fmt: skip


def test_traversal_and_oversized_queries_are_4xx(viewer: Any, real: dict[str, list[str]]) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(viewer)
    paths = client.get("/openapi.json").json()["paths"]
    run = next(r for r in real["runs"] if f"traits:{r}" in real)
    checked = 0
    for path, operations in paths.items():
        if "{" in path or "get" not in operations:
            continue
        names = [p["name"] for p in operations["get"].get("parameters", []) if p["in"] == "query"]
        for name in names:
            for bad in TRAVERSAL:
                params = {n: run for n in names if n == "run"}
                params[name] = bad
                response = client.get(path, params=params)
                status = response.status_code
                assert status < 500 and "root:x:0:0" not in response.text, (path, name, bad)
                if name in NAMES:  # a run, trait or chromosome that is a path is not found
                    assert 400 <= status < 500, (path, name, bad, status)
                checked += 1
            huge = client.get(path, params={name: "x" * 5000})
            assert huge.status_code == 414, (path, name)
    assert checked > 50
