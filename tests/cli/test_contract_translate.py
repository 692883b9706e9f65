"""The command-line contract of ``translate``: bad inputs and options.

Every case exits 2 with one ``error:`` line naming the problem (the file, column or flag
and the fix), no traceback, nothing created, changed or deleted, no temporary folder left —
and none of them loads the gene and orthology tables first. A scan whose genome build is
unknown is an error asking for ``--assembly``, never a silent GRCm39.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clirun import assert_user_error, invoke, snapshot

PEAKS = "lodindex,lodcolumn,chr,pos,lod,ci_lo,ci_hi\n1,t,7,19.4,8.0,18.9,19.9\n"


def _run_folder(folder: Path, command: str, summary: dict[str, object]) -> Path:
    """A run folder as translocus writes it (peaks.csv + run.json), made by hand."""
    folder.mkdir()
    (folder / "peaks.csv").write_text(PEAKS)
    size = (folder / "peaks.csv").stat().st_size
    record = {"translocus_run": 1, "status": "complete", "command": command,
              "summary": summary, "files": {"peaks.csv": {"size": size, "sha256": ""}}}  # fmt: skip
    (folder / "run.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("translate_contract")
    p: dict[str, Path] = {"root": root}
    p["scan"] = _run_folder(root / "scan", "scan", {"assembly": "GRCm39"})
    p["scan_unknown"] = _run_folder(root / "scan_unknown", "scan", {"assembly": None})
    p["respond_run"] = _run_folder(root / "respond_run", "respond", {"series": 8})
    p["scan_binary"] = _run_folder(root / "scan_binary", "scan", {"assembly": "GRCm38"})
    (p["scan_binary"] / "peaks.csv").write_bytes(bytes(range(256)) * 4)
    p["no_peaks"] = root / "no_peaks"
    p["no_peaks"].mkdir()
    (p["no_peaks"] / "lod.csv").write_text("marker,t\nm1,3.2\n")
    p["stat"] = root / "lfc.csv"
    p["stat"].write_text("gene,log2fc\nApoe,1.5\nTrem2,-2.0\n")
    for name, text in {
        "stat_header": "gene,log2fc\n",
        "stat_empty": "",
        "stat_text": "gene,log2fc\nApoe,1.5\nTrem2,high\n",
        "stat_inf": "gene,log2fc\nApoe,inf\nTrem2,-2.0\n",
        "stat_repeat": "gene,log2fc\nApoe,1.5\nTrem2,-2.0\nApoe,0.3\n",
        "stat_one_column": "gene\nApoe\nTrem2\n",
        "genes_empty": "# no genes here\n",
        "loci_header": "chr,pos\n",
    }.items():
        p[name] = root / f"{name}.csv"
        p[name].write_text(text)
    p["stat_binary"] = root / "stat_binary.csv"
    p["stat_binary"].write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)) * 4)
    p["genes_binary"] = root / "genes.txt"
    p["genes_binary"].write_bytes(bytes(range(256)) * 4)
    p["a_file"] = root / "a_file.txt"
    p["a_file"].write_text("results go elsewhere\n")
    p["foreign"] = root / "foreign"
    p["foreign"].mkdir()
    (p["foreign"] / "keep.txt").write_text("precious")
    return p


Case = tuple[Callable[[dict[str, Path]], list[object]], str]

CASES: dict[str, Case] = {
    "no query": (lambda p: [], "exactly one of"),
    "two queries": (lambda p: ["--genes", "App", "--interval", "7:1-2"], "exactly one of"),
    "peaks and statistic": (
        lambda p: ["--peaks", p["scan"], "--statistic", p["stat"]], "exactly one of"),
    "interval not CHR:START-END": (lambda p: ["--interval", "seven:1-2"], "CHR:START-END"),
    "interval ends before it starts": (
        lambda p: ["--interval", "7:20-19"], "--interval 7:20-19: starts after it ends"),
    "--window-kb negative": (
        lambda p: ["--interval", "7:19-20", "--window-kb", "-1"], "--window-kb -1: must be"),
    "--window-kb zero": (lambda p: ["--interval", "7:19-20", "--window-kb", "0"], "above 0 kb"),
    "--top zero": (lambda p: ["--genes", "App", "--top", "0"], "--top 0: must be 1 or more"),
    "--assembly unknown": (
        lambda p: ["--interval", "7:19-20", "--assembly", "mm9"], "--assembly mm9: use GRCm39"),
    "--loci unknown": (lambda p: ["--interval", "7:19-20", "--loci", "nosuch"], "not a built-in"),
    "--loci header-only file": (
        lambda p: ["--interval", "7:19-20", "--loci", p["loci_header"]], "has a header but no"),
    "--loci-assembly unknown": (
        lambda p: ["--interval", "7:19-20", "--loci-assembly", "GRCh36"], "--loci-assembly"),
    "--one-to-many unknown": (
        lambda p: ["--statistic", p["stat"], "--one-to-many", "all"], "--one-to-many all"),
    "--many-to-one unknown": (
        lambda p: ["--statistic", p["stat"], "--many-to-one", "sum"], "--many-to-one sum"),
    "--one-to-many with --genes": (
        lambda p: ["--genes", "App", "--one-to-many", "copy"], "applies to --statistic only"),
    "--gene-sets with --interval": (
        lambda p: ["--interval", "7:19-20", "--gene-sets", "mgi"], "applies to --genes only"),
    "--gene-sets file missing": (
        lambda p: ["--genes", "App", "--gene-sets", p["root"] / "sets.gmt"], "file not found"),
    "--expect with --genes": (
        lambda p: ["--genes", "App", "--expect", "Apoe"], "applies to --interval only"),
    "--columns without --statistic": (
        lambda p: ["--genes", "App", "--columns", "gene=symbol"], "applies to --statistic"),
    "--genes binary file": (lambda p: ["--genes", p["genes_binary"]], "binary file"),
    "--genes file missing": (
        lambda p: ["--genes", p["root"] / "signature.txt"], "file not found"),
    "--genes file without genes": (lambda p: ["--genes", p["genes_empty"]], "lists no genes"),
    "--genes empty": (lambda p: ["--genes", ",;"], "is empty"),
    "--statistic binary file": (lambda p: ["--statistic", p["stat_binary"]], "binary file"),
    "--statistic header-only": (
        lambda p: ["--statistic", p["stat_header"]], "has a header but no rows"),
    "--statistic empty file": (lambda p: ["--statistic", p["stat_empty"]], "the file is empty"),
    "--statistic missing file": (
        lambda p: ["--statistic", p["root"] / "nosuch.csv"], "file not found"),
    "--statistic a folder": (lambda p: ["--statistic", p["no_peaks"]], "is a folder"),
    "--statistic not numbers": (lambda p: ["--statistic", p["stat_text"]], "not numbers (rows 3)"),
    "--statistic infinite": (lambda p: ["--statistic", p["stat_inf"]], "infinite values"),
    "--statistic repeated gene": (
        lambda p: ["--statistic", p["stat_repeat"]], "rows repeat a gene (rows 2, 4"),
    "--statistic one column": (
        lambda p: ["--statistic", p["stat_one_column"]], "--columns gene=NAME,statistic=NAME"),
    "--columns unknown role": (
        lambda p: ["--statistic", p["stat"], "--columns", "symbol=gene"],
        "'symbol' is not a role of translate"),
    "--columns missing column": (
        lambda p: ["--statistic", p["stat"], "--columns", "statistic=lfc"], "has no column 'lfc'"),
    "--peaks folder missing": (lambda p: ["--peaks", p["root"] / "nosuch"], "does not exist"),
    "--peaks folder without peaks": (
        lambda p: ["--peaks", p["no_peaks"]], "holds no peaks.csv"),
    "--peaks with unknown build": (
        lambda p: ["--peaks", p["scan_unknown"]], "recorded no genome build"),
    "--peaks of another command": (
        lambda p: ["--peaks", p["respond_run"]],
        "run folder of `translocus respond`"),
    "--peaks binary peaks.csv": (lambda p: ["--peaks", p["scan_binary"]], "binary file"),
    "--out a file": (lambda p: ["--genes", "App", "--out", p["a_file"]], "is a file"),
    "--out a foreign folder": (
        lambda p: ["--genes", "App", "--out", p["foreign"]], "give a new or empty folder"),
    "--out the peaks folder": (
        lambda p: ["--peaks", p["scan"], "--out", p["scan"]], "is the input"),
    "--out inside the peaks folder": (
        lambda p: ["--peaks", p["scan"], "--out", p["scan"] / "human"], "lies inside the input"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("with_out", [False, True], ids=["print", "out"])
def test_translate_bad_input(ws: dict[str, Path], name: str, with_out: bool) -> None:
    build, expect = CASES[name]
    argv = build(ws)
    if with_out and "--out" not in argv:
        argv = [*argv, "--out", ws["root"] / "out"]
    elif not with_out and "--out" in argv:
        pytest.skip("an --out case")
    before = snapshot(ws["root"])
    result = invoke(["translate", *argv])
    assert_user_error(result, before, ws["root"], expect=expect)


def test_bad_input_loads_no_tables(ws: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case is refused before the orthology and gene tables are loaded."""
    import translocus.translate.orthology as orthology

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tables loaded before the input was checked")

    monkeypatch.setattr(orthology, "load_orthology", refuse)
    for name, (build, _) in CASES.items():
        result = invoke(["translate", *build(ws)])
        assert result.exit_code == 2, (name, result.output)
        assert "tables loaded" not in result.output, name
