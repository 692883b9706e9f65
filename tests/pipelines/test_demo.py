"""`translocus demo`: every pipeline runs and the report holds every section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clirun import assert_complete_run, invoke, run_killed, temp_leftovers


@pytest.mark.slow
def test_demo_writes_a_self_contained_report(tmp_path: Path, shared_data: Path) -> None:
    out = tmp_path / "demo"
    result = invoke(["demo", "--out", out, "--n", "200"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
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
    assert "Skipped" not in html
    assert 'src="http' not in html  # nothing loaded from the network but plotly's inline js
    assert (out / "study" / "demo_do.json").is_file()
    record = assert_complete_run(out)
    assert record["summary"]["skipped"] == {}
    # every part wrote the same files its pipeline writes on the command line
    for files in (("cause_lmm", "peaks.csv"), ("treatment_pdxe", "metrics.csv"),
                  ("lifespan_slam", "km_summary.csv"), ("translation_genes", "orthologs.csv")):  # fmt: skip
        assert (out / files[0] / files[1]).is_file(), files


def test_demo_without_the_public_data_says_what_it_skipped(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = {"TRANSLOCUS_DATA": str(tmp_path / "no-data")}
    result = invoke(["demo", "-o", out, "--n", "60"], env=env)
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert html.count("Skipped: the public datasets were not found") == 4
    assert "Cause: genome scan" in html and "onset loci" in html
    record = assert_complete_run(out)
    assert sorted(record["summary"]["skipped"]) == [
        "lifespan", "progression", "translation", "treatment"
    ]  # fmt: skip


@pytest.mark.parametrize("checkpoint", ["cause", "written"])
def test_kill_demo(tmp_path: Path, checkpoint: str) -> None:
    out = tmp_path / "demo"
    env = {"TRANSLOCUS_DATA": str(tmp_path / "no-data")}
    args = ["demo", "-o", out, "--n", "60"]
    assert invoke([*args, "--seed", "1"], env=env).exit_code == 0
    before = assert_complete_run(out)
    assert run_killed([*args, "--seed", "2"], checkpoint, cwd=tmp_path, env=env)
    after = assert_complete_run(out)
    assert after["options"]["seed"] == before["options"]["seed"] == 1
    assert invoke([*args, "--seed", "3"], env=env).exit_code == 0
    assert assert_complete_run(out)["options"]["seed"] == 3
    assert not temp_leftovers(tmp_path)
