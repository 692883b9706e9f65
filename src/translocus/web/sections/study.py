"""Study page: the datasets with their licences and provenance, the runs and their contents.

Everything comes from the runs' ``run.json`` (command, versions, inputs with sizes and
SHA-256, provenance, licence decisions, steps, warnings, files) and, for the licences of the
data catalogue, a demo's ``licenses.csv`` or :func:`translocus.core.licenses.license_report`
over the package's Croissant catalogue.

>>> section_of("progress"), section_of("scan"), section_of("demo")
('progression', 'cause', 'study')
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from translocus.web.runs import RunIndex, RunInfo, get_index
from translocus.web.sections import Page, run_query
from translocus.web.sections._read import read_csv
from translocus.web.tables import TableParams, table_params, table_response

__all__ = ["SECTION_OF", "page", "router", "run_detail", "run_files", "section_of"]

page = Page(name="study", title="Study")
router = APIRouter(prefix="/api/study", tags=["study"])

#: The page that shows a command's runs.
SECTION_OF = {
    "scan": "cause",
    "eqtl": "cause",
    "snps": "cause",
    "mediate": "cause",
    "qc": "cause",
    "genoprob": "cause",
    "progress": "progression",
    "survival": "progression",
    "respond": "treatment",
    "lifespan": "treatment",
    "translate": "human",
}
#: The parts of run.json the run view shows (the rest is in the file itself).
RUN_FIELDS = (
    "command", "argv", "options", "version", "python", "platform", "started", "finished",
    "wall_s", "cpu_s", "inputs", "provenance", "licence_decisions", "steps", "rows",
    "warnings", "summary",
)  # fmt: skip
PROVENANCE_COLUMNS = [
    "name", "license", "source", "citation", "retrieved", "usage_terms", "description", "runs",
]  # fmt: skip


def section_of(command: str) -> str:
    """The page that shows runs of ``command`` (the Study page for the others)."""
    return SECTION_OF.get(command, "study")


def _link(run: RunInfo) -> str:
    return f"/{section_of(run.command)}?run={run.id}"


def _part_prefix(index: RunIndex, run: RunInfo) -> str:
    """``"part/"`` for a demo part (its files are listed in the demo's run.json), else ``""``."""
    if run.command != "demo" and run.meta.get("command") == "demo" and "/" in run.id:
        return run.path.name + "/"
    return ""


def run_files(index: RunIndex, run: RunInfo) -> pd.DataFrame:
    """The files of ``run`` as its ``run.json`` lists them: name, size, SHA-256, page link.

    A demo's own entry lists its top-level files and one row per part (linking to the
    part's page); a part lists the files under its folder.
    """
    listed: dict[str, Any] = run.meta.get("files") or {}
    prefix = _part_prefix(index, run)
    rows: list[dict[str, Any]] = []
    parts = {r.path.name: r for r in index.runs() if r.id.startswith(run.id + "/")}
    seen_parts: set[str] = set()
    for name, entry in sorted(listed.items()):
        entry = entry if isinstance(entry, dict) else {}
        if prefix:
            if not name.startswith(prefix):
                continue
            name = name[len(prefix) :]
        elif run.command == "demo" and "/" in name:
            part = name.split("/", 1)[0]
            if part in parts and part not in seen_parts:
                seen_parts.add(part)
                sub = parts[part]
                n = sum(1 for k in listed if k.startswith(part + "/"))
                size = sum(
                    int(v.get("size", 0))
                    for k, v in listed.items()
                    if k.startswith(part + "/") and isinstance(v, dict)
                )
                rows.append(
                    {"file": part + "/", "size": size, "sha256": f"{n} file{'s' if n != 1 else ''}",
                     "page": _link(sub)}
                )  # fmt: skip
            continue
        rows.append(
            {
                "file": name,
                "size": entry.get("size"),
                "sha256": entry.get("sha256"),
                "page": _link(run),
            }
        )
    return pd.DataFrame(rows, columns=["file", "size", "sha256", "page"])


def run_detail(index: RunIndex, run: RunInfo) -> dict[str, Any]:
    """A run's ``run.json`` fields that matter to a reader, with its page and files."""
    meta = run.meta
    out: dict[str, Any] = {
        "run": run.id,
        "command": run.command,
        "page": _link(run),
        "part_of": run.id.split("/", 1)[0] if _part_prefix(index, run) else None,
    }
    for key in RUN_FIELDS:
        if key in meta:
            out[key] = meta[key]
    out["command"] = run.command
    out["recorded_command"] = meta.get("command")
    out["files"] = run_files(index, run).to_dict("records")
    return out


def runs_table(index: RunIndex) -> pd.DataFrame:
    """One row per served run: id, command, version, when, time, files, warnings, page."""
    rows = []
    for run in index.runs():
        meta = run.meta
        part = bool(_part_prefix(index, run))
        files = meta.get("files") or {}
        n_files = sum(1 for k in files if k.startswith(run.path.name + "/")) if part else len(files)
        rows.append(
            {
                "run": run.id,
                "command": run.command,
                "version": meta.get("version"),
                "finished": meta.get("finished"),
                "wall_s": None if part else meta.get("wall_s"),
                "files": n_files,
                "warnings": None if part else len(meta.get("warnings") or []),
                "page": _link(run),
            }
        )
    columns = ["run", "command", "version", "finished", "wall_s", "files", "warnings", "page"]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def provenance_table(index: RunIndex) -> pd.DataFrame:
    """The datasets the runs used (each run's ``provenance``), one row per dataset."""
    found: dict[str, dict[str, Any]] = {}
    for run in index.runs():
        if _part_prefix(index, run):
            continue  # a part's provenance is its demo's
        for item in run.meta.get("provenance") or []:
            if not isinstance(item, dict):
                continue
            name = str(item.get("name") or item.get("source") or "?")
            row = found.setdefault(name, {c: item.get(c, "") for c in PROVENANCE_COLUMNS})
            row["name"] = name
            runs = row.get("runs") or ""
            row["runs"] = f"{runs}, {run.id}" if runs else run.id
    return pd.DataFrame(list(found.values()), columns=PROVENANCE_COLUMNS)


@functools.lru_cache(maxsize=1)
def catalogue_licences() -> pd.DataFrame:
    """Licence decisions for every dataset of the package's Croissant catalogue."""
    from translocus.core.licenses import discover_datasets, license_report
    from translocus.datasets import catalog_files

    files = catalog_files()
    if not files:
        return pd.DataFrame(columns=["dataset", "license", "training", "reason"])
    report = license_report(discover_datasets(files[0].parent))
    return report[["dataset", "license", "training", "reason"]]


def licences_table(index: RunIndex) -> tuple[pd.DataFrame, str]:
    """The licence table: a served demo's ``licenses.csv``, else the catalogue's."""
    for run in index.runs("demo"):
        path = index.file(run, "licenses.csv")
        if path is not None:
            table = read_csv(path)
            keep = [c for c in ("dataset", "license", "training", "reason") if c in table.columns]
            return table[keep], f"licenses.csv of run {run.id}"
    return catalogue_licences(), "the translocus data catalogue (translocus licenses)"


# -- routes ---------------------------------------------------------------------------------
@router.get("/runs")
def runs(
    request: Request,
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Every served run: command, version, when it finished, its files and warnings."""
    return table_response(runs_table(index), request=request, name="runs", params=params)


@router.get("/run")
def run(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """One run's record: command, versions, inputs, provenance, steps, warnings, files."""
    info = index.get(run)
    return run_detail(index, info)


@router.get("/files")
def files(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """A run's files with sizes and SHA-256, and the page that shows them."""
    info = index.get(run)
    name = f"files_{info.id.replace('/', '_')}"
    return table_response(run_files(index, info), request=request, name=name, params=params)


@router.get("/datasets")
def datasets(
    request: Request,
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """The datasets the runs used, with licence, source, citation and the runs using each."""
    return table_response(provenance_table(index), request=request, name="datasets",
                          params=params)  # fmt: skip


@router.get("/licenses")
def licenses(
    request: Request,
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Each dataset's licence and whether training on it is allowed (the licence gate)."""
    table, source = licences_table(index)
    response = table_response(table, request=request, name="licenses", params=params)
    response.headers["X-Translocus-Source"] = source
    return response


def _record_table(run: RunInfo, key: str, columns: list[str]) -> pd.DataFrame:
    items = [i for i in run.meta.get(key) or [] if isinstance(i, dict)]
    return pd.DataFrame([{c: i.get(c) for c in columns} for i in items], columns=columns,
                        dtype=object)  # fmt: skip


#: run.json lists shown as tables: key -> columns.
RECORD_TABLES = {
    "inputs": ["path", "size", "sha256"],
    "steps": ["name", "wall_s", "cpu_s"],
    "rows": ["what", "n", "reason"],
    "warnings": ["message", "count"],
    "licence_decisions": ["dataset", "license", "purpose", "allowed", "reason"],
}


@router.get("/record")
def record(
    request: Request,
    run: str = run_query(),
    key: Literal["inputs", "steps", "rows", "warnings", "licence_decisions"] = Query(
        "inputs", description="Which list of run.json."
    ),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """One list of a run's ``run.json`` as a table: inputs, steps, rows, warnings, licences."""
    info = index.get(run)
    table = _record_table(info, key, RECORD_TABLES[key])
    name = f"{key}_{info.id.replace('/', '_')}"
    return table_response(table, request=request, name=name, params=params)
