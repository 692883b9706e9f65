"""Library hygiene: no backend switching, a silent library logger, one threads setting."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from translocus.core.threads import worker_count

SRC = Path(__file__).resolve().parents[2] / "src" / "translocus"


def test_library_code_never_switches_the_matplotlib_backend() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if re.search(r"matplotlib\.use\(", path.read_text())
    ]
    assert offenders == []


def test_the_library_logger_prints_nothing_by_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from translocus.core.provenance import Provenance, check_training

    check_training(Provenance(name="x", license="NOASSERTION"))
    logging.getLogger("translocus.runs").warning("not shown without a handler")
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_translocus_threads_sets_the_worker_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSLOCUS_THREADS", "3")
    assert worker_count() == 3
    monkeypatch.setenv("TRANSLOCUS_THREADS", "0")
    assert worker_count() >= 1
