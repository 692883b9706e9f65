"""`translocus demo`: every engine runs and the report holds every section."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from translocus.cli.main import app


@pytest.mark.slow
def test_demo_writes_a_self_contained_report(tmp_path, shared_data):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--n", "200"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    titles = re.findall(r"<h2>([^<]+)</h2>", html)
    for expected in (
        "Data",
        "Licences",
        "Cause",
        "Progression",
        "onset loci",
        "Lifespan",
        "Treatment",
        "Human relevance",
    ):
        assert any(expected in t for t in titles), (expected, titles)
    assert html.count("data:image/png;base64,") >= 8
    assert "LicenseRef-AD-Knowledge-Portal-Terms" in html
    assert 'src="http' not in html  # nothing loaded from the network but plotly's inline js
    assert (out / "study" / "demo_do.json").is_file()
