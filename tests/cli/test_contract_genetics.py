"""The command-line contract of ``genoprob`` and ``scan``: bad inputs and options.

Every case exits 2 with one ``error:`` line naming the problem, no traceback, nothing created,
changed or deleted, no temporary folder left. Then: a second scan into the same folder
replaces the run as a whole, lod.html works offline, warnings of the cross reader reach
run.json, and the genome build of the physical map is never guessed.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.core.paths import data_dir

DOEX = data_dir() / "qtl2" / "DOex"
DOEX_ZIP = DOEX / "DOex.zip"
SIM = ["simulate", "--cross", "f2", "--n", "30", "--markers", "100"]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A workspace: two small simulated F2 crosses, a store of the second, a DOex folder,
    and things that are not crosses or stores."""
    if not DOEX_ZIP.exists():
        pytest.skip(f"{DOEX_ZIP} is not available")
    from translocus.core.simulate import simulate_cross
    from translocus.core.store import Store
    from translocus.pipelines.genoprob import GenoprobRequest, run_genoprob

    root = tmp_path_factory.mktemp("genetics_contract")
    paths = {"root": root, "sim": root / "sim", "other": root / "other"}
    assert invoke([*SIM, "--seed", "1", "-o", paths["sim"]]).exit_code == 0
    assert invoke([*SIM, "--seed", "2", "-o", paths["other"]]).exit_code == 0
    paths["other_probs"] = root / "other_probs"
    result = invoke(["genoprob", paths["other"] / "sim.json", "-o", paths["other_probs"]])
    assert result.exit_code == 0, result.output
    paths["doex"] = root / "doex"
    paths["doex"].mkdir()
    for name in ["DOex.json", *(p.name for p in DOEX.glob("DOex_*.csv"))]:
        shutil.copy(DOEX / name, paths["doex"] / name)
    paths["text"] = root / "notes.txt"
    paths["text"].write_text("these are my notes, not a cross\n")
    paths["fake_zip"] = root / "cross.zip"
    paths["fake_zip"].write_bytes(bytes(range(256)) * 4)
    paths["bad_json"] = root / "bad.json"
    paths["bad_json"].write_text('{"crosstype": "f2", ')
    paths["empty_dir"] = root / "empty_dir"
    paths["empty_dir"].mkdir()
    paths["foreign"] = root / "foreign"
    paths["foreign"].mkdir()
    (paths["foreign"] / "keep.txt").write_text("precious")
    paths["not_store"] = root / "not_store"
    paths["not_store"].mkdir()
    (paths["not_store"] / "table.csv").write_text("a,b\n1,2\n")
    # a store written before fingerprints (no attrs)
    paths["old_store"] = root / "old_store"
    cross = simulate_cross(cross_type="f2", n=30, n_markers=100, seed=1).cross
    probs = run_genoprob(GenoprobRequest(), cross=cross)
    Store(paths["old_store"]).write_genoprobs("alleleprob", probs.alleleprobs)
    return paths


OUT = "{root}/out"
SIM_JSON = "{sim}/sim.json"
DOEX_ARG = str(DOEX_ZIP)

# (id, argv template, expected text in the error line)
SCAN_CASES: list[tuple[str, list[str], str]] = [
    ("perms-negative", [SIM_JSON, "--perms", "-5"], "--perms -5: must be 0"),
    ("alpha-2", [SIM_JSON, "--alpha", "2"], "--alpha 2.0: must lie strictly between 0 and 1"),
    ("alpha-0", [SIM_JSON, "--alpha", "0"], "--alpha 0.0"),
    ("alpha-1", [SIM_JSON, "--alpha", "1"], "--alpha 1.0"),
    ("alpha-nan", [SIM_JSON, "--alpha", "nan"], "--alpha nan"),
    ("drop-negative", [SIM_JSON, "--drop", "-1"], "--drop -1.0: must be a LOD drop above 0"),
    ("drop-0", [SIM_JSON, "--drop", "0"], "--drop 0.0"),
    ("threshold-negative", [SIM_JSON, "--threshold", "-1"], "--threshold -1.0: must be a LOD"),
    ("threshold-inf", [SIM_JSON, "--threshold", "inf"], "--threshold inf"),
    ("seed-negative", [SIM_JSON, "--seed", "-1"], "--seed -1"),
    ("perms-not-a-number", [SIM_JSON, "--perms", "many"], "--perms"),
    ("kinship-bad", [SIM_JSON, "--kinship", "bad"], "--kinship bad: use loco, overall or none"),
    ("backend-bad", [SIM_JSON, "--backend", "bad"], "--backend bad: use cpu or torch"),
    ("map-function-bad", [SIM_JSON, "--map-function", "bad"], "--map-function bad: use one of"),
    ("error-prob-high", [SIM_JSON, "--error-prob", "0.7"], "--error-prob 0.7"),
    ("assembly-hg19", [SIM_JSON, "--assembly", "hg19"], "--assembly hg19: use GRCm38"),
    ("pheno-unknown", [SIM_JSON, "--pheno", "NOPE"], "--pheno NOPE: not in the cross's phenotypes"),
    ("pheno-one-unknown", [SIM_JSON, "--pheno", "trait1,NOPE"], "--pheno NOPE"),
    ("covar-unknown", [SIM_JSON, "--covar", "NOPE"], "--covar NOPE: not a covariate"),
    ("cross-missing", ["{root}/no_such_cross.json"], "no_such_cross.json: no such file or folder"),
    ("cross-text-file", ["{text}"], "notes.txt: expected a .json/.yaml control file"),
    ("cross-fake-zip", ["{fake_zip}"], "not a readable zip archive"),
    ("cross-bad-json", ["{bad_json}"], "not valid JSON"),
    ("cross-empty-folder", ["{empty_dir}"], "expected exactly one control file"),
    ("probs-other-cross", [SIM_JSON, "--probs", "{other_probs}"], "belong to another cross"),
    ("probs-other-crosstype", [DOEX_ARG, "--probs", "{other_probs}"], "cross type (f2, not do)"),
    ("probs-not-a-store", [SIM_JSON, "--probs", "{not_store}"], "is not a store of probabilities"),
    ("probs-missing", [SIM_JSON, "--probs", "{root}/nothing"], "does not exist"),
    ("probs-no-fingerprint", [SIM_JSON, "--probs", "{old_store}"], "carry no fingerprint"),
    (
        "out-is-probs",
        [SIM_JSON, "--probs", "{other_probs}", "-o", "{other_probs}"],
        "is the input",
    ),  # fmt: skip
    ("out-is-a-file", [SIM_JSON, "-o", "{text}"], "is a file"),
    ("out-is-cross-folder", ["{doex}", "-o", "{doex}"], "is the input"),
    ("out-inside-cross-folder", ["{doex}", "-o", "{doex}/results"], "lies inside the input"),
    ("out-contains-cross", ["{doex}/DOex.json", "-o", "{doex}"], "contains the input"),
    ("out-inside-sim-run", [SIM_JSON, "-o", "{sim}/results"], "lies inside the input"),
    ("out-foreign-folder", [SIM_JSON, "-o", "{foreign}"], "files translocus did not write"),
    ("out-unwritable", [SIM_JSON, "-o", "/proc/translocus-test/out"], "cannot write there"),
]

GENOPROB_CASES: list[tuple[str, list[str], str]] = [
    ("error-prob-high", [SIM_JSON, "--error-prob", "0.5"], "--error-prob 0.5"),
    ("error-prob-negative", [SIM_JSON, "--error-prob", "-0.1"], "--error-prob -0.1"),
    ("map-function-bad", [SIM_JSON, "--map-function", "cm"], "--map-function cm: use one of"),
    ("assembly-hg19", [SIM_JSON, "--assembly", "hg19"], "--assembly hg19"),
    ("cross-missing", ["{root}/no_such_cross.json"], "no such file or folder"),
    ("cross-text-file", ["{text}"], "expected a .json/.yaml control file"),
    ("cross-fake-zip", ["{fake_zip}"], "not a readable zip archive"),
    ("cross-bad-json", ["{bad_json}"], "not valid JSON"),
    ("cross-empty-folder", ["{empty_dir}"], "expected exactly one control file"),
    ("out-is-a-file", [SIM_JSON, "-o", "{text}"], "is a file"),
    ("out-is-cross-folder", ["{doex}", "-o", "{doex}"], "is the input"),
    ("out-inside-cross-folder", ["{doex}", "-o", "{doex}/probs"], "lies inside the input"),
    ("out-contains-cross", ["{doex}/DOex.json", "-o", "{doex}"], "contains the input"),
    ("out-foreign-folder", [SIM_JSON, "-o", "{foreign}"], "files translocus did not write"),
    ("out-unwritable", [SIM_JSON, "-o", "/proc/translocus-test/out"], "cannot write there"),
]


def _argv(command: str, template: list[str], ws: dict[str, Path]) -> list[str]:
    names = {k: str(v) for k, v in ws.items()}
    argv = [command, *(part.format(**names) for part in template)]
    if "-o" not in argv:
        argv += ["-o", OUT.format(**names)]
    return argv


@pytest.mark.parametrize(("case", "template", "expect"), SCAN_CASES, ids=[c[0] for c in SCAN_CASES])
def test_scan_bad_input(ws: dict[str, Path], case: str, template: list[str], expect: str) -> None:
    before = snapshot(ws["root"])
    result = invoke(_argv("scan", template, ws))
    assert_user_error(result, before, ws["root"], expect=expect)


@pytest.mark.parametrize(
    ("case", "template", "expect"), GENOPROB_CASES, ids=[c[0] for c in GENOPROB_CASES]
)
def test_genoprob_bad_input(ws: dict[str, Path], case: str, template: list[str], expect: str
                            ) -> None:  # fmt: skip
    before = snapshot(ws["root"])
    result = invoke(_argv("genoprob", template, ws))
    assert_user_error(result, before, ws["root"], expect=expect)


def test_alpha_fails_before_anything_is_read(ws: dict[str, Path], monkeypatch: pytest.MonkeyPatch
                                             ) -> None:  # fmt: skip
    """``--perms 1000 --alpha 2`` fails at once: the cross is not even read."""
    import translocus.core.qtl2io

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cross was read before the options were checked")

    monkeypatch.setattr(translocus.core.qtl2io, "read_cross", never)
    before = snapshot(ws["root"])
    started = time.perf_counter()
    result = invoke(["scan", DOEX_ARG, "--perms", "1000", "--alpha", "2", "-o", ws["root"] / "o"])
    assert time.perf_counter() - started < 5
    assert_user_error(result, before, ws["root"], expect="--alpha 2.0")


def test_torch_backend_without_torch(ws: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import translocus.core.compute

    monkeypatch.setattr(translocus.core.compute, "available_backends", lambda: ["numpy"])
    before = snapshot(ws["root"])
    result = invoke(["scan", ws["sim"] / "sim.json", "--backend", "torch", "-o", ws["root"] / "o"])
    assert_user_error(result, before, ws["root"], expect="install the gpu extra")


# -- what a good run leaves -----------------------------------------------------------------------
def test_second_scan_replaces_the_run_as_a_whole(ws: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "scan"
    cross = ws["sim"] / "sim.json"
    first = invoke(["scan", cross, "--pheno", "trait1", "--kinship", "none", "--perms", "5",
                    "--assembly", "GRCm39", "-o", out])  # fmt: skip
    assert first.exit_code == 0, first.output
    assert {"thresholds.csv", "permutations.csv"} <= {p.name for p in out.iterdir()}
    assert "fewer than 100 permutations" in first.stderr
    second = invoke(["scan", cross, "--pheno", "trait2", "--kinship", "none", "--assembly",
                     "GRCm39", "-o", out])  # fmt: skip
    assert second.exit_code == 0, second.output
    record = assert_complete_run(out)
    assert record["options"]["pheno"] == ["trait2"]
    assert not (out / "thresholds.csv").exists() and not (out / "permutations.csv").exists()
    assert "trait2" in (out / "lod.csv").read_text().splitlines()[0]
    assert "trait1" not in (out / "lod.csv").read_text().splitlines()[0]
    assert record["summary"]["thresholds"]["trait2"]["source"] == "threshold"
    assert [p.name for p in tmp_path.iterdir()] == ["scan"]


def test_lod_html_works_offline(ws: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "scan"
    result = invoke(["scan", ws["sim"] / "sim.json", "--kinship", "none", "-o", out])
    assert result.exit_code == 0, result.output
    page = (out / "lod.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", page, re.IGNORECASE)
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js is inlined


def _cross_copy(ws: dict[str, Path], folder: Path, edit: Callable[[dict], None] | None = None,
                geno: Callable[[str], str] | None = None) -> Path:  # fmt: skip
    folder.mkdir()
    for path in ws["sim"].iterdir():
        if path.name != "run.json":
            shutil.copy(path, folder / path.name)
    control = json.loads((folder / "sim.json").read_text())
    if edit is not None:
        edit(control)
    (folder / "sim.json").write_text(json.dumps(control))
    if geno is not None:
        (folder / "sim_geno.csv").write_text(geno((folder / "sim_geno.csv").read_text()))
    return folder / "sim.json"


def test_undeclared_genotype_codes_reach_the_terminal_and_run_json(ws: dict[str, Path],
                                                                   tmp_path: Path) -> None:  # fmt: skip
    def spoil(text: str) -> str:
        lines = text.splitlines()
        cells = lines[1].split(",")
        cells[1] = "ZZ"
        lines[1] = ",".join(cells)
        return "\n".join(lines) + "\n"

    cross = _cross_copy(ws, tmp_path / "cross", geno=spoil)
    for command in ("genoprob", "scan"):
        out = tmp_path / command
        args = ["--kinship", "none"] if command == "scan" else []
        result = invoke([command, cross, *args, "--assembly", "GRCm39", "-o", out])
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
        assert len(warnings) == 1 and "'ZZ' is not declared" in warnings[0], result.stderr
        record = json.loads((out / "run.json").read_text())
        assert any("'ZZ' is not declared" in w["message"] for w in record["warnings"])


@pytest.mark.parametrize(
    ("field", "value", "assembly", "warning"),
    [
        (None, None, None, "physical map build unknown; give --assembly GRCm38 or GRCm39"),
        ("genome", "mm10", "GRCm38", None),
        ("assembly", "GRCm39", "GRCm39", None),
        ("build", "TAIR10", None, "control file field 'build' is 'TAIR10'"),
    ],
)
def test_assembly_comes_from_the_user_never_a_guess(
    ws: dict[str, Path], tmp_path: Path, field: str | None, value: str | None,
    assembly: str | None, warning: str | None,
) -> None:  # fmt: skip
    cross = _cross_copy(ws, tmp_path / "cross",
                        edit=(lambda c: c.update({field: value})) if field else None)  # fmt: skip
    out = tmp_path / "scan"
    result = invoke(["scan", cross, "--kinship", "none", "-o", out])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "run.json").read_text())["summary"]
    assert summary["assembly"] == assembly
    if warning is None:
        assert "warning:" not in result.stderr
        assert summary["assembly_source"] == f"control file field '{field}'"
    else:
        assert warning in result.stderr
    # --assembly wins, and genoprob records it for scan --probs
    probs = tmp_path / "probs"
    assert invoke(["genoprob", cross, "--assembly", "GRCm39", "-o", probs]).exit_code == 0
    again = tmp_path / "again"
    result = invoke(["scan", cross, "--probs", probs, "--kinship", "none", "-o", again])
    assert result.exit_code == 0, result.output
    summary = json.loads((again / "run.json").read_text())["summary"]
    assert (summary["assembly"], summary["assembly_source"]) == (
        "GRCm39",
        "stored with the probabilities",
    )
