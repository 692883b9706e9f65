"""``translocus licenses`` and ``translocus simulate``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from clirun import assert_complete_run, assert_user_error, invoke, snapshot


def _rows(output: str) -> dict[str, str]:
    """dataset -> 'allowed' / 'refused' from the rich table."""
    out = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and cells[3] in ("allowed", "refused"):
            out[cells[1]] = cells[3]
    return out


def test_licenses_on_the_shared_data_folder(shared_data: Path) -> None:
    result = invoke(["licenses", str(shared_data)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = _rows(result.output)
    assert rows["model_ad"] == "refused"
    assert rows["DO_Recla"] == "refused"  # NOASSERTION
    assert rows["slam"] == "allowed"
    assert rows["iron"] == "allowed"
    assert len(rows) == 21
    assert "LicenseRef-AD-Knowledge-Portal-Terms" in result.output
    assert "11 of 21 datasets may be used for training" in " ".join(result.output.split())


def test_licenses_allow_option_and_single_file() -> None:
    from translocus.datasets import catalog_files

    ad = next(p for p in catalog_files() if p.name == "model_ad.croissant.json")
    result = invoke(["licenses", str(ad)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert _rows(result.output) == {"model_ad": "refused"}
    result = invoke(["licenses", str(ad), "--allow", "model_ad"], env={"COLUMNS": "200"})
    assert _rows(result.output) == {"model_ad": "allowed"}


def test_licenses_without_licence_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.croissant.json"
    bad.write_text(json.dumps({"@type": "sc:Dataset", "name": "x"}))
    result = invoke(["licenses", str(bad)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "has no licence" in text and 'add a "license" property' in text
    assert "x.croissant.json" in text
    assert "Traceback" not in result.output
    result = invoke(["licenses", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_simulate_writes_qtl2_files_and_truth(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--cross", "f2", "--n", "40", "--seed", "3", "--markers", "100"]
    result = invoke([*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    control = json.loads((out / "sim.json").read_text())
    assert control["crosstype"] == "f2"
    geno = pd.read_csv(out / control["geno"], index_col=0)
    assert geno.shape == (100, 40)
    truth = pd.read_csv(out / "truth.csv")
    assert list(truth["trait"]) == ["trait1", "trait2", "trait3"]
    assert {"chrom", "pos_cM", "effect_A", "effect_B"} <= set(truth.columns)
    # same seed, same files
    again = tmp_path / "again"
    assert invoke([*args, "--out", str(again)]).exit_code == 0
    assert (again / "sim_pheno.csv").read_text() == (out / "sim_pheno.csv").read_text()
    record = assert_complete_run(out)
    assert record["command"] == "simulate" and record["options"]["n"] == 40
    # an earlier run folder is replaced as a whole
    assert invoke([*args, "--traits", "1", "--out", str(out)]).exit_code == 0
    assert assert_complete_run(out)["options"]["traits"] == 1


def test_simulate_bad_input(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    args = ["simulate", "--cross", "f2", "--n", "10", "--error-rate", "0.9", "--out"]
    assert_user_error(invoke([*args, tmp_path / "x"]), before, tmp_path, expect="--error-rate 0.9")
    result = invoke(["simulate", "--cross", "cc", "--out", str(tmp_path / "x")])
    assert_user_error(result, before, tmp_path, expect="--cross cc")
    # a folder with other content is never replaced
    (tmp_path / "keep.txt").write_text("precious")
    before = snapshot(tmp_path)
    args = ["simulate", "--cross", "f2", "--n", "10", "--markers", "60", "--out", str(tmp_path)]
    assert_user_error(invoke(args), before, tmp_path, expect="give a new or empty folder")


def test_help_shows_an_example() -> None:
    for command in ("licenses", "simulate"):
        result = invoke([command, "--help"])
        assert result.exit_code == 0
        assert "Example: translocus " + command in " ".join(result.output.split())


def test_out_home_is_refused_and_nothing_is_deleted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("# mine")
    before = snapshot(tmp_path)
    args = ["simulate", "--cross", "f2", "--n", "10", "--markers", "60", "--out", home]
    result = invoke(args, env={"HOME": str(home)})
    assert_user_error(result, before, tmp_path, expect="home or root folder")
    result = invoke([*args[:-1], "~"], env={"HOME": str(home)})
    assert_user_error(result, before, tmp_path, expect="home or root folder")


def test_a_simulated_run_folder_reads_as_a_cross(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    args = ["simulate", "--cross", "f2", "--n", "20", "--markers", "60", "-o", out]
    assert invoke(args).exit_code == 0
    result = invoke(["info", out])
    assert result.exit_code == 0, result.output
    assert "phenotypes (--pheno): trait1, trait2, trait3" in result.stdout
