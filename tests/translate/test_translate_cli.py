"""``translocus translate`` through typer's CliRunner on a fresh app."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from translocus.cli.translate import register


@pytest.fixture(scope="module")
def app():
    application = typer.Typer()
    register(application)

    @application.callback()
    def _root() -> None:
        """Test root."""

    return application


runner = CliRunner()


def test_help_shows_example(app):
    result = runner.invoke(app, ["translate", "--help"])
    assert result.exit_code == 0
    assert "--interval" in result.output and "translocus translate --genes" in result.output


def test_genes_acceptance(app, orthology, tmp_path):
    out = tmp_path / "genes.json"
    result = runner.invoke(
        app,
        [
            "translate",
            "--genes",
            "App,Apoe,Trem2,Bin1,Picalm,Clu,Abca7,Sorl1,Cd33",
            "--out",
            str(out),
        ],
        terminal_width=200,
    )
    assert result.exit_code == 0, result.output
    for symbol in ["APP", "APOE", "TREM2", "BIN1", "PICALM", "CLU", "ABCA7", "SORL1", "CD33"]:
        assert symbol in result.output
    assert "not one-to-one (many2many)" in result.output
    payload = json.loads(out.read_text())
    assert {p["name"] for p in payload["provenance"]} >= {"ensembl_biomart_mouse_human_orthologs"}


def test_interval_writes_csv(app, engine, tmp_path):
    out = tmp_path / "apoe.csv"
    result = runner.invoke(
        app, ["translate", "--interval", "7:18.9-19.9", "--out", str(out)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert table.loc[0, "human_symbol"] == "APOE"
    meta = json.loads((tmp_path / "apoe.csv.provenance.json").read_text())
    assert meta["query"]["chr"] == "7"


def test_peaks_folder(app, engine, tmp_path):
    pd.DataFrame(
        {
            "lodindex": [1],
            "lodcolumn": ["t"],
            "chr": ["7"],
            "pos": [19.4],
            "lod": [8.0],
            "ci_lo": [18.9],
            "ci_hi": [19.9],
        }  # fmt: skip
    ).to_csv(tmp_path / "peaks.csv", index=False)
    result = runner.invoke(app, ["translate", "--peaks", str(tmp_path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "APOE" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["translate"], "exactly one of"),
        (["translate", "--genes", "App", "--interval", "7:1-2"], "exactly one of"),
        (["translate", "--interval", "seven:1-2"], "CHR:START-END"),
        (["translate", "--interval", "7:140-150"], "runs past the end"),
        (["translate", "--interval", "1:195.0-195.3"], "GRCm38"),
        (["translate", "--interval", "7:1-2", "--assembly", "mm9"], "GRCm39 or GRCm38"),
        (["translate", "--peaks", "/nonexistent/folder"], "does not exist"),
        (["translate", "--interval", "7:1-2", "--loci", "nosuch"], "not a built-in table"),
    ],
)
def test_bad_input(app, engine, args, message):
    result = runner.invoke(app, args, terminal_width=200)
    assert result.exit_code == 2
    assert message in result.output.replace("\n", " ")


def test_unknown_gene_suggestion(app, orthology):
    result = runner.invoke(app, ["translate", "--genes", "Trem22"], terminal_width=200)
    assert result.exit_code == 0
    assert "did you mean Trem2" in result.output


def test_statistic_file(app, orthology, tmp_path):
    path = tmp_path / "lfc.csv"
    path.write_text("gene,log2fc\nApoe,1.5\nTrem2,-2.0\nNosuch1,3.0\n")
    out = tmp_path / "human.csv"
    result = runner.invoke(
        app, ["translate", "--statistic", str(path), "--out", str(out)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out).set_index("human_symbol")["value"]
    assert table.to_dict() == {"APOE": 1.5, "TREM2": -2.0}
    bad = tmp_path / "bad.csv"
    bad.write_text("gene,log2fc\nApoe,high\n")
    result = runner.invoke(app, ["translate", "--statistic", str(bad)], terminal_width=200)
    assert result.exit_code == 2 and "not numbers" in result.output
