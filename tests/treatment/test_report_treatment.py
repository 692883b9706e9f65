"""The report section degrades to a note when the data folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from translocus.report.sections.treatment import build_section


def test_section_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLOCUS_DATA", str(tmp_path / "absent"))
    section = build_section(tmp_path)
    assert section.title == "Treatment" and "not available" in section.body
