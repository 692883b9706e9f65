"""Human page: orthologs with type and confidence, candidates near human disease loci.

Reads ``translate`` runs (``orthologs.csv``, ``candidates.csv``, ``peak_summary.csv``,
``genes.csv``) and, for a mouse interval given in the URL (a peak's support interval linked
from the Cause page), translates it on request with :func:`translocus.translate.translate_interval`
(the engine's tables are parsed once per process; a query then takes milliseconds).

>>> frame = pd.DataFrame({"rank": [1, 2], "human_symbol": ["APOE", "TOMM40"],
...                       "mouse_symbol": ["Apoe", "Tomm40"], "distance_kb": [0.0, 5.0],
...                       "near_locus": [True, True], "locus_name": ["APOE", "APOE"]})
>>> [list(t.y) for t in candidates_figure(frame).data]
[['APOE (Apoe)', 'TOMM40 (Tomm40)']]
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from translocus.core.errors import InputError
from translocus.web.figures import figure_json
from translocus.web.runs import RunIndex, RunInfo, get_index
from translocus.web.sections import Page, run_query, text_query
from translocus.web.sections._read import clean, read_csv, select_rows
from translocus.web.tables import TableParams, table_params, table_response

__all__ = ["candidates_figure", "interval_candidates", "page", "router"]

#: Commands whose runs this page shows.
COMMANDS = ("translate",)

page = Page(name="human", title="Human", commands=COMMANDS)
router = APIRouter(prefix="/api/human", tags=["human"])

#: Widest mouse interval translated on request (Mbp); a support interval is a few Mbp.
MAX_INTERVAL_MBP = 100.0
#: Candidates drawn in the distance figure.
TOP = 30
_NEAR, _FAR = "#0072B2", "#BBBBBB"


def candidates_figure(candidates: pd.DataFrame, *, top: int = TOP, title: str = "") -> go.Figure:
    """Distance (kb) from the ``top`` ranked human candidates to their nearest disease locus.

    Candidates without a locus on their chromosome (no distance) are left out.

    Bars of candidates within the window of a disease locus are coloured; a bar's text names
    the locus. Distances of 0 kb (the lead SNP inside the gene) are drawn as 0.1 kb on the
    log axis (the table keeps 0).
    """
    rows = candidates.sort_values("rank") if "rank" in candidates else candidates
    rows = rows[rows["distance_kb"].notna()] if "distance_kb" in rows else rows.iloc[:0]
    rows = rows.head(top)
    labels = rows["human_symbol"].astype(str) + " (" + rows["mouse_symbol"].astype(str) + ")"
    near = rows["near_locus"].astype(bool) if "near_locus" in rows else pd.Series(False, rows.index)
    fig = go.Figure(
        go.Bar(
            x=[max(float(v), 0.1) for v in rows["distance_kb"]],
            y=labels.tolist(),
            orientation="h",
            marker={"color": [_NEAR if n else _FAR for n in near]},
            text=[str(v) if isinstance(v, str) else "" for v in rows.get("locus_name", [])],
            textposition="outside",
            customdata=[clean(v) for v in rows["distance_kb"]],
            hovertemplate="%{y}: %{customdata:.1f} kb from %{text}<extra></extra>",
            name="distance to the nearest disease locus",
        )
    )
    fig.update_layout(
        title=title,
        xaxis={"type": "log", "title": "distance to the nearest disease-locus lead SNP (kb)"},
        yaxis={"autorange": "reversed"},
        template="plotly_white",
        margin={"t": 50, "l": 170},
        height=max(300, 22 * len(rows) + 120),
    )
    return fig


def interval_candidates(
    *, chr: str, start: float, end: float, assembly: str = "GRCm39", window_kb: float = 500.0
) -> tuple[pd.DataFrame, list[str]]:
    """Ranked human candidates of the mouse interval ``chr:start-end`` (Mbp) and the notes.

    A bad interval (unknown chromosome, past the chromosome's end) is a 422 naming it.
    """
    from translocus.translate import translate_interval

    if end < start:
        raise HTTPException(422, f"start={start} lies after end={end}; give START <= END (Mbp)")
    if end - start > MAX_INTERVAL_MBP:
        raise HTTPException(
            422,
            f"{chr}:{start}-{end} spans {end - start:.0f} Mbp; give an interval of at most "
            f"{MAX_INTERVAL_MBP:.0f} Mbp (a support interval)",
        )
    try:
        result = translate_interval(
            chr=chr, start_mbp=start, end_mbp=end, mouse_assembly=assembly, window_kb=window_kb
        )
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    return result.candidates, list(result.messages)


# -- reading a run --------------------------------------------------------------------------


def _assembly(index: RunIndex, run_id: str | None) -> str:
    """The mouse build a linked run recorded (a scan's ``summary.assembly``), else GRCm39."""
    if not run_id:
        return "GRCm39"
    try:
        run = index.get(run_id)
    except HTTPException:
        return "GRCm39"  # a stale link: the interval is still worth translating
    summary = run.meta.get("summary") if run.command != "demo" else None
    recorded = summary.get("assembly") if isinstance(summary, dict) else None
    return recorded if recorded in ("GRCm39", "GRCm38") else "GRCm39"


def run_options(index: RunIndex, run: RunInfo) -> dict[str, Any]:
    """What a translate run holds: its tables and, for peaks, the peaks."""
    names = ("orthologs.csv", "candidates.csv", "peak_summary.csv", "genes.csv", "loci.csv")
    files = {name: index.file(run, name) is not None for name in names}
    out: dict[str, Any] = {"run": run.id, "command": run.command, "files": files, "messages": []}
    peaks = index.file(run, "peak_summary.csv")
    if peaks is not None:
        table = read_csv(peaks)
        out["peaks"] = [
            {k: clean(v) for k, v in row.items()}
            for row in table[
                [c for c in ("lodcolumn", "chr", "pos", "lod", "start_mbp", "end_mbp")
                 if c in table.columns]
            ].to_dict("records")
        ]  # fmt: skip
    if not any(files.values()):
        out["messages"].append("this translate run holds none of the tables this page shows")
    return out


# -- routes ---------------------------------------------------------------------------------
@router.get("/options")
def options(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """A translate run's tables and peaks."""
    info = page.run(index, run)
    return index.cached(info, "human.options", lambda: run_options(index, info))


@router.get("/orthologs")
def orthologs(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Orthologs of the run's mouse genes with homology type and confidence."""
    info = page.run(index, run)
    table = read_csv(index.need(info, "orthologs.csv"))
    return table_response(table, request=request, name="orthologs", params=params)


def _peak_rows(frame: pd.DataFrame, peak: int | None, lodcolumn: str | None) -> pd.DataFrame:
    return select_rows(frame, {"peak": peak, "lodcolumn": lodcolumn})


@router.get("/candidates")
def candidates(
    request: Request,
    run: str = run_query(),
    peak: int | None = Query(None, ge=0, le=10**7),
    lodcolumn: str | None = text_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Ranked human candidates with their distance to disease loci (``candidates.csv``)."""
    info = page.run(index, run)
    table = _peak_rows(read_csv(index.need(info, "candidates.csv")), peak, lodcolumn)
    return table_response(table, request=request, name="candidates", params=params)


@router.get("/candidates_figure")
def candidates_plot(
    run: str = run_query(),
    peak: int | None = Query(None, ge=0, le=10**7),
    lodcolumn: str | None = text_query(),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """The top candidates' distances to the nearest disease locus."""
    info = page.run(index, run)
    path = index.file(info, "candidates.csv")
    if path is None:
        return {"figure": None, "messages": [f"run {info.id!r} has no candidates.csv"]}
    table = _peak_rows(read_csv(path), peak, lodcolumn)
    if "peak" in table.columns and peak is None and table["peak"].nunique() > 1:
        first = table["peak"].iloc[0]
        table = select_rows(table, {"peak": first})
    title = "candidates" + (f" of peak {peak}" if peak is not None else "")
    return {"figure": figure_json(candidates_figure(table, title=title)), "messages": []}


@router.get("/peaks")
def peaks(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Translated scan peaks: interval, genes, one-to-one orthologs, the top candidate."""
    info = page.run(index, run)
    table = read_csv(index.need(info, "peak_summary.csv"))
    return table_response(table, request=request, name="peak_summary", params=params)


@router.get("/genes")
def genes(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Every mouse gene of a translated interval with its orthologs (``genes.csv``)."""
    info = page.run(index, run)
    table = read_csv(index.need(info, "genes.csv"))
    return table_response(table, request=request, name="genes", params=params)


def _interval_query(
    chr: str = Query(..., pattern=r"^(chr)?([1-9]|1[0-9]|X|Y|MT?)$", max_length=5,
                     description="Mouse chromosome, e.g. 7 or X."),
    start: float = Query(..., ge=0.0, le=1000.0, description="Start (Mbp)."),
    end: float = Query(..., ge=0.0, le=1000.0, description="End (Mbp)."),
    assembly: Literal["GRCm39", "GRCm38"] | None = Query(
        None, description="Mouse build of the interval; default: the linked run's, else GRCm39."
    ),
    window_kb: float = Query(500.0, gt=0.0, le=10_000.0,
                             description="A candidate is near a locus within this distance."),
    run: str | None = run_query(required=False),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:  # fmt: skip
    return {
        "chr": chr,
        "start": start,
        "end": end,
        "assembly": assembly or _assembly(index, run),
        "window_kb": window_kb,
    }


@router.get("/interval")
def interval(
    request: Request,
    query: dict[str, Any] = Depends(_interval_query),
    params: TableParams = Depends(table_params),
) -> Response:
    """Human candidates of a mouse interval (a peak's support interval), computed on request."""
    table, _ = interval_candidates(**query)
    name = f"candidates_chr{query['chr']}_{query['start']:g}-{query['end']:g}"
    return table_response(table, request=request, name=name, params=params)


@router.get("/interval_figure")
def interval_plot(query: dict[str, Any] = Depends(_interval_query)) -> dict[str, Any]:
    """The interval's top candidates and their distance to the nearest disease locus."""
    table, messages = interval_candidates(**query)
    title = f"chr{query['chr']}:{query['start']:g}-{query['end']:g} Mbp ({query['assembly']})"
    if not len(table):
        messages = [*messages, "no mouse gene with a human ortholog in this interval"]
    return {
        "figure": figure_json(candidates_figure(table, title=title)),
        "messages": messages,
        "query": query,
        "candidates": int(len(table)),
    }
