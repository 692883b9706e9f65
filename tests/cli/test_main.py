"""The top-level CLI: `translocus info` on the shared crosses."""

from __future__ import annotations

from typer.testing import CliRunner

from translocus.cli.main import app

runner = CliRunner()


def test_info_do_recla(shared_data):
    result = runner.invoke(app, ["info", str(shared_data / "qtl2" / "DO_Recla" / "recla.zip")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for expected in (
        "individuals (genotyped) │ 261",
        "chromosomes │ 20",
        "markers │ 6,394",
        "phenotypes │ 26",
        "founders │ 8",
    ):
        assert expected in text


def test_info_bad_path_is_one_clear_line(tmp_path):
    result = runner.invoke(app, ["info", str(tmp_path / "nope.zip")])
    assert result.exit_code == 2
    assert "no such file or folder" in result.output
    assert "Traceback" not in result.output


def test_every_command_has_an_example_in_help():
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, f"`translocus {name} --help` shows no example"
