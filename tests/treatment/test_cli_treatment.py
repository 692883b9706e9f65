"""The ``respond`` command on a small long table, the JAX example and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from typer.testing import CliRunner

from translocus.cli.treatment import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        """translocus"""

    return app


def _table(path: Path) -> Path:
    days = np.arange(0, 28, 3.0)
    rows = []
    for arm, rate in (("untreated", 0.1), ("A", 0.05), ("B", 0.06), ("A + B", 0.0)):
        for animal in ("1", "2"):
            v = 150 * np.exp(rate * days + 0.03 * np.sin(days + int(animal)))
            rows.append(
                pd.DataFrame(
                    {
                        "model": "PDX1",
                        "arm": arm,
                        "animal": f"{arm}{animal}",
                        "day": days,
                        "volume": v,
                    }
                )
            )
    pd.concat(rows).to_csv(path, index=False)
    return path


def test_respond_writes_tables_and_plots(tmp_path: Path) -> None:
    data = _table(tmp_path / "study.csv")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        _app(),
        [
            "respond",
            str(data),
            "--control",
            "untreated",
            "--out",
            str(out),
            "--growth-model",
            "exponential",
        ],
    )
    assert res.exit_code == 0, res.output
    for name in (
        "metrics.csv",
        "treatment_effects.csv",
        "synergy.csv",
        "tgi.csv",
        "waterfall.png",
        "spider.png",
        "growth_fits.png",
        "summary.json",
    ):
        assert (out / name).exists(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["series"] == 8 and summary["treatment_effects"] == 3
    eff = pd.read_csv(out / "treatment_effects.csv").set_index("arm")
    assert eff.loc["A", "effect"] < 0 and eff.loc["A", "method"] == "mixed"
    assert len(pd.read_csv(out / "synergy.csv")) == 1


def test_respond_help_has_example() -> None:
    res = CliRunner().invoke(_app(), ["respond", "--help"])
    assert res.exit_code == 0 and "Example: translocus respond" in res.output


def test_respond_unknown_control_is_clear(tmp_path: Path) -> None:
    data = _table(tmp_path / "study.csv")
    res = CliRunner().invoke(
        _app(), ["respond", str(data), "--control", "vehicle", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2
    assert "no control arm named 'vehicle'" in res.output
    assert not (tmp_path / "o").exists()


def test_respond_bad_volume_is_clear(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("model,arm,animal,day,volume\nM,untreated,1,0,100\nM,untreated,1,3,-4\n")
    res = CliRunner().invoke(_app(), ["respond", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "negative volume" in res.output
