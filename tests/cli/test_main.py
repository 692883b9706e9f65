"""The top-level CLI: the error contract, ``--version`` and ``translocus info``."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import invoke
from translocus import __version__
from translocus.cli.main import app


def test_info_do_recla(shared_data: Path) -> None:
    result = invoke(["info", shared_data / "qtl2" / "DO_Recla" / "recla.zip"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    for expected in (
        "individuals (genotyped) │ 261",
        "chromosomes │ 20",
        "markers │ 6,394",
        "phenotypes │ 26",
        "founders │ 8",
        "phenotypes (--pheno): OF_distance_first4, ",
        "covariates (--covar): ",
    ):
        assert expected in text, expected
    assert "OF_immobile_pct" in text and "sex" in text.split("covariates (--covar):")[1]


def test_info_bad_path_is_one_clear_line(tmp_path: Path) -> None:
    result = invoke(["info", tmp_path / "nope.zip"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "not found" in result.stderr
    assert "Traceback" not in result.output


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"translocus {__version__}"


@pytest.mark.parametrize(
    ("argv", "expect"),
    [
        (["nope"], "No such command 'nope'"),
        (["scan"], "Missing argument"),
        (["simulate", "--n", "abc", "--out", "x"], "Invalid value for '--n'"),
        (["simulate", "--bogus"], "No such option: --bogus"),
    ],
)
def test_usage_errors_are_one_line(argv: list[str], expect: str) -> None:
    result = invoke(argv)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], lines


def test_unexpected_error_is_one_line_and_a_log_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import translocus.core.qtl2io as qtl2io

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(qtl2io, "read_cross", broken)
    cross = tmp_path / "cross.json"
    cross.write_text("{}")
    result = invoke(["info", cross], env={"TRANSLOCUS_LOG_DIR": str(tmp_path / "logs")})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unexpected ZeroDivisionError: a bug" in lines[0]
    logs = list((tmp_path / "logs").glob("translocus-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback" in text and "ZeroDivisionError: a bug" in text and "info" in text


def test_warnings_are_one_line_each(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import warnings

    import translocus.core.qtl2io as qtl2io

    def noisy(*args: object, **kwargs: object) -> None:
        warnings.warn("first line\nsecond line", UserWarning, stacklevel=1)
        raise qtl2io.InputError("cross.json: a problem")

    monkeypatch.setattr(qtl2io, "read_cross", noisy)
    cross = tmp_path / "cross.json"
    cross.write_text("{}")
    result = invoke(["info", cross])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: cross.json: a problem",
        "warning: first line second line",
    ]


def test_every_command_has_an_example_in_help() -> None:
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        result = invoke([name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.stdout, f"`translocus {name} --help` shows no example"


def test_every_writing_command_has_short_out() -> None:
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        text = invoke([name, "--help"]).stdout
        if "--out" in text:
            assert "-o" in text.replace("--out", ""), f"`translocus {name}` has no -o"
