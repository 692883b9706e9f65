"""``translocus translate`` through the command line's entry point (``clirun.invoke``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot

WIDE = {"COLUMNS": "200"}


def scan_run(folder: Path, assembly: str | None, *, effects: bool = False) -> Path:
    """A run folder as ``translocus scan`` writes it: peaks.csv and run.json (whose summary
    records the genome build), built here so these tests do not depend on the scan."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {"lodindex": [1, 2], "lodcolumn": ["plaques", "weight"], "chr": ["7", "1"],
         "pos": [19.4, 32.0], "lod": [8.0, 6.3], "ci_lo": [18.9, 30.0], "ci_hi": [19.9, 35.0]}
    ).to_csv(folder / "peaks.csv", index=False)  # fmt: skip
    if effects:
        rows = [
            {"lodindex": 1, "lodcolumn": "plaques", "chr": "7", "coefficient": letter,
             "estimate": 3.0 if letter == "F" else 0.0, "se": 0.1}
            for letter in "ABCDEFGH"
        ] + [{"lodindex": 1, "lodcolumn": "plaques", "chr": "7", "coefficient": "intercept",
              "estimate": 10.0, "se": 0.1}]  # fmt: skip
        pd.DataFrame(rows).to_csv(folder / "peak_effects.csv", index=False)
    files = {
        p.name: {"size": p.stat().st_size, "sha256": ""} for p in folder.iterdir() if p.is_file()
    }
    record = {"translocus_run": 1, "status": "complete", "command": "scan",
              "summary": {"assembly": assembly}, "files": files}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(record))
    return folder


def test_help_shows_example() -> None:
    result = invoke(["translate", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--interval" in text and "translocus translate --genes" in text
    assert "Example: translocus translate" in text


def test_genes_acceptance(orthology, tmp_path: Path) -> None:
    out = tmp_path / "genes"
    result = invoke(
        ["translate", "--genes", "App,Apoe,Trem2,Bin1,Picalm,Clu,Abca7,Sorl1,Cd33", "--out", out],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    for symbol in ["APP", "APOE", "TREM2", "BIN1", "PICALM", "CLU", "ABCA7", "SORL1", "CD33"]:
        assert symbol in result.output
    assert "not one-to-one (many2many)" in " ".join(result.output.split())
    record = assert_complete_run(out)
    assert set(record["files"]) == {"orthologs.csv"}
    assert {p["name"] for p in record["provenance"]} >= {"ensembl_biomart_mouse_human_orthologs"}
    assert record["summary"]["query"] == "genes" and record["summary"]["genes"] == 9
    assert "APOE" in set(pd.read_csv(out / "orthologs.csv")["human_symbol"])


def test_without_out_nothing_is_written(engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["translate", "--interval", "7:18.9-19.9"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "APOE" in result.output
    assert list(tmp_path.iterdir()) == []


def test_interval_writes_a_run_folder(engine, tmp_path: Path) -> None:
    out = tmp_path / "apoe"
    result = invoke(["translate", "--interval", "7:18.9-19.9", "--out", out], env=WIDE)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "candidates.csv")
    assert table.loc[0, "human_symbol"] == "APOE"
    record = assert_complete_run(out)
    assert set(record["files"]) == {"candidates.csv", "genes.csv"}
    summary = record["summary"]
    assert summary["chr"] == "7" and summary["assembly"] == "GRCm39"
    assert summary["assembly_source"] == "default"
    # an earlier run is replaced as a whole; a folder of other files is refused
    again = invoke(["translate", "--interval", "7:18.9-19.9", "--window-kb", "100", "-o", out])
    assert again.exit_code == 0, again.output
    assert assert_complete_run(out)["options"]["window_kb"] == 100


def test_peaks_run_folder_with_recorded_build(engine, tmp_path: Path) -> None:
    scan = scan_run(tmp_path / "scan", "GRCm39", effects=True)
    out = tmp_path / "translated"
    result = invoke(["translate", "--peaks", scan, "-o", out], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "APOE" in result.output
    record = assert_complete_run(out)
    assert record["summary"]["assembly"] == "GRCm39"
    assert record["summary"]["assembly_source"] == "recorded by the scan"
    assert set(record["files"]) == {"peak_summary.csv", "candidates.csv"}
    summary = pd.read_csv(out / "peak_summary.csv")
    assert summary.loc[0, "founder_pattern"] == "high: CAST"  # from peak_effects.csv
    assert summary.loc[0, "top_candidate"].startswith("APOE")
    # the scan folder is an input: never an output
    before = snapshot(tmp_path)
    result = invoke(["translate", "--peaks", scan, "-o", scan / "translated"])
    assert_user_error(result, before, tmp_path, expect="lies inside the input")


def test_peaks_with_unknown_build_need_assembly(engine, tmp_path: Path) -> None:
    """A scan that recorded no build (``"assembly": null``) is not assumed to be GRCm39."""
    scan = scan_run(tmp_path / "scan", None)
    before = snapshot(tmp_path)
    result = invoke(["translate", "--peaks", scan])
    assert_user_error(result, before, tmp_path, expect="recorded no genome build")
    assert "--assembly GRCm39 or GRCm38" in result.stderr
    result = invoke(["translate", "--peaks", scan, "--assembly", "GRCm38"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "(GRCm38)" in result.output


def test_peaks_of_an_older_scan_folder(engine, tmp_path: Path) -> None:
    """A scan folder from before run folders: peaks.csv and summary.json."""
    scan = tmp_path / "old"
    scan.mkdir()
    pd.DataFrame({"chr": ["7"], "pos": [19.4], "ci_lo": [18.9], "ci_hi": [19.9]}).to_csv(
        scan / "peaks.csv", index=False
    )
    (scan / "summary.json").write_text(json.dumps({"assembly": "GRCm39"}))
    result = invoke(["translate", "--peaks", scan], env=WIDE)
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
def test_bad_input(engine, tmp_path: Path, args: list[str], message: str) -> None:
    before = snapshot(tmp_path)
    result = invoke(args, env=WIDE)
    assert_user_error(result, before, tmp_path, expect=message)


def test_unknown_gene_suggestion(orthology) -> None:
    result = invoke(["translate", "--genes", "Trem22"], env=WIDE)
    assert result.exit_code == 0
    assert "did you mean Trem2" in result.output


def test_statistic_file(orthology, tmp_path: Path) -> None:
    path = tmp_path / "lfc.csv"
    path.write_text("gene,log2fc\nApoe,1.5\nTrem2,-2.0\nNosuch1,3.0\n")
    out = tmp_path / "human"
    result = invoke(["translate", "--statistic", path, "--out", out], env=WIDE)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "human_values.csv").set_index("human_symbol")["value"]
    assert table.to_dict() == {"APOE": 1.5, "TREM2": -2.0}
    record = assert_complete_run(out)
    assert {r["what"]: r["n"] for r in record["rows"]}["genes skipped"] == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("gene,log2fc\nApoe,high\n")
    before = snapshot(tmp_path)
    result = invoke(["translate", "--statistic", bad])
    assert_user_error(result, before, tmp_path, expect="not numbers")


def test_statistic_columns(orthology, tmp_path: Path) -> None:
    """A table in another layout: the columns named by role with --columns."""
    path = tmp_path / "de.tsv"
    path.write_text("padj\tlog2fc\tsymbol\n0.01\t1.5\tApoe\n0.2\t-2.0\tTrem2\n")
    args = ["translate", "--statistic", path, "--columns", "gene=symbol,statistic=log2fc"]
    result = invoke([*args, "-o", tmp_path / "out"], env=WIDE)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "out" / "human_values.csv").set_index("human_symbol")
    assert table["value"].to_dict() == {"APOE": 1.5, "TREM2": -2.0}
