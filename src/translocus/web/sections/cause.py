"""The Cause page: trait search, LOD profiles, peaks, allele effects, SNPs, eQTL maps.

Every answer is read from the run folder on request (:mod:`translocus.web._causes`) and sent
as plain JSON: figures as plotly ``{"data", "layout"}``, tables as pages of rows or CSV.
Each peak links to its human candidates: ``/human?run=RUN&chr=C&start=S&end=E&trait=T`` with
the support interval in Mbp (and ``assembly`` when the scan recorded its build).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from translocus.web._causes import EqtlReader, ScanReader, reader
from translocus.web.figures import plain
from translocus.web.runs import RunIndex, RunInfo, get_index
from translocus.web.sections import Page, run_query
from translocus.web.tables import TableParams, table_params, table_response

__all__ = [
    "GenomeAxis",
    "genome_axis",
    "genome_lod_figure",
    "genome_lod_json",
    "human_link",
    "page",
    "router",
]

router = APIRouter(prefix="/api/cause", tags=["cause"])
page = Page(name="cause", title="Cause")


# A new Query per parameter: FastAPI must not share one between parameters.


def _trait_query() -> Any:
    return Query(..., min_length=1, max_length=300, description="Trait (phenotype) name.")


def _chrom_query() -> Any:
    return Query(None, min_length=1, max_length=20, description="A chromosome; all when absent.")


#: Alternating colours of the chromosomes in a genome-wide plot.
_CHROM_COLOURS = ("#1f4e79", "#6c8ebf")
_THRESHOLD_COLOURS = ("#c0392b", "#e67e22", "#7d3c98", "#117a65")
CC_COLOURS = {
    "A": "#FFDC00", "B": "#888888", "C": "#F08080", "D": "#0064C9",
    "E": "#7FDBFF", "F": "#2ECC40", "G": "#FF4136", "H": "#B10DC9",
}  # fmt: skip


def _run(index: RunIndex, run_id: str) -> tuple[RunInfo, ScanReader | EqtlReader]:
    run = index.get(run_id)
    return run, reader(run, index)


def _json(value: Any) -> JSONResponse:
    return JSONResponse(plain(value))


def human_link(chrom: str, start: float, end: float, *, assembly: str | None, trait: str,
               run_id: str) -> str:  # fmt: skip
    """The Human page's URL of a mouse interval (Mbp): ``/human?run=&chr=&start=&end=...``."""
    from urllib.parse import urlencode

    params = {"run": run_id, "chr": chrom, "start": f"{start:.6g}", "end": f"{end:.6g}",
              "trait": trait}  # fmt: skip
    if assembly:
        params["assembly"] = assembly
    return "/human?" + urlencode(params)


# -- figures ------------------------------------------------------------------------------------
def _threshold_shapes(thresholds: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    shapes, notes = [], []
    for k, item in enumerate(thresholds):
        colour = _THRESHOLD_COLOURS[k % len(_THRESHOLD_COLOURS)]
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                       "y0": item["lod"], "y1": item["lod"],
                       "line": {"color": colour, "dash": "dash", "width": 1}})  # fmt: skip
        notes.append({"xref": "paper", "x": 1 - 0.13 * k, "xanchor": "right", "yref": "y",
                      "y": item["lod"], "yanchor": "bottom", "showarrow": False,
                      "text": item["label"], "font": {"size": 10, "color": colour}})  # fmt: skip
    return shapes, notes


@dataclass(frozen=True)
class GenomeAxis:
    """A run's genome-wide x axis, made once: chromosome offsets and each trace but its LODs.

    A genome-wide profile is thousands of points; the positions, marker names and styles of
    its traces are the same for every trait, so they are serialised once (``traces``: each
    chromosome's trace as JSON, open before its ``y``) and a request only writes its LODs.
    """

    chroms: list[str]
    offsets: dict[str, float]
    rows: list[np.ndarray]
    mids: list[float]
    traces: list[str]


def genome_axis(markers: pd.DataFrame, unit: str) -> GenomeAxis:
    """The :class:`GenomeAxis` of ``markers`` (``marker``, ``chr``, ``pos`` in ``unit``)."""
    chroms = list(dict.fromkeys(markers["chr"]))
    ends = markers.groupby("chr", sort=False)["pos"].agg(["min", "max"])
    total = float((ends["max"] - ends["min"]).sum()) or 1.0
    gap = 0.015 * total
    offsets: dict[str, float] = {}
    at = 0.0
    for c in chroms:
        offsets[c] = at - float(ends.loc[c, "min"])
        at += float(ends.loc[c, "max"] - ends.loc[c, "min"]) + gap
    groups = markers.groupby("chr", sort=False).indices
    positions = markers["pos"].to_numpy(dtype=float)
    names = markers["marker"].to_numpy()
    rows, traces = [], []
    for k, c in enumerate(chroms):
        index = np.asarray(groups[c])
        pos = positions[index]
        trace = plain({
            "type": "scatter", "mode": "lines", "name": f"chr {c}", "meta": {"chr": c},
            "x": np.round(pos + offsets[c], 6), "customdata": pos, "text": names[index],
            "line": {"color": _CHROM_COLOURS[k % 2], "width": 1.5}, "showlegend": False,
            "hovertemplate": f"%{{text}}<br>chr {c} %{{customdata:.3f}} {unit}"
                             "<br>LOD %{y:.2f}<extra></extra>",
        })  # fmt: skip
        rows.append(index)
        traces.append(json.dumps(trace, allow_nan=False)[:-1])
    mids = [offsets[c] + float(ends.loc[c, "min"] + ends.loc[c, "max"]) / 2 for c in chroms]
    return GenomeAxis(chroms, offsets, rows, mids, traces)


def _floats(values: np.ndarray) -> str:
    """A JSON list of numbers (NaN and inf as null)."""
    if np.isfinite(values).all():
        return json.dumps(values.astype(float).tolist())
    return json.dumps([v if math.isfinite(v) else None for v in values.astype(float).tolist()])


def genome_lod_json(axis: GenomeAxis, lod: np.ndarray, *, trait: str, unit: str,
                    thresholds: list[dict[str, Any]], peaks: pd.DataFrame) -> str:  # fmt: skip
    """The genome-wide LOD profile as plotly JSON: a trace per chromosome, then the peaks."""
    parts = [f'{trace},"y":{_floats(lod[rows])}}}'
             for trace, rows in zip(axis.traces, axis.rows, strict=True)]  # fmt: skip
    if len(peaks):
        parts.append(json.dumps(plain({
            "type": "scatter", "mode": "markers", "name": "peaks",
            "x": [float(p.pos) + axis.offsets.get(str(p.chr), 0.0) for p in peaks.itertuples()],
            "y": peaks["lod"].to_numpy(dtype=float), "meta": {"peaks": True},
            "customdata": [[str(p.chr), float(p.pos)] for p in peaks.itertuples()],
            "marker": {"color": "#c0392b", "size": 8, "symbol": "diamond"},
            "hovertemplate": "peak chr %{customdata[0]} %{customdata[1]:.3f} " + unit
                             + "<br>LOD %{y:.2f}<extra></extra>", "showlegend": False,
        })))  # fmt: skip
    shapes, notes = _threshold_shapes(thresholds)
    layout = {
        "title": {"text": f"{trait}: LOD genome-wide (click a chromosome to zoom)"},
        "xaxis": {"tickmode": "array", "tickvals": axis.mids, "ticktext": axis.chroms,
                  "title": {"text": "chromosome"}, "showgrid": False, "zeroline": False},
        "yaxis": {"title": {"text": "LOD"}, "rangemode": "tozero"},
        "shapes": shapes, "annotations": notes, "hovermode": "closest",
    }  # fmt: skip
    return '{"data":[' + ",".join(parts) + '],"layout":' + json.dumps(plain(layout)) + "}"


def genome_lod_figure(markers: pd.DataFrame, lod: np.ndarray, *, trait: str, unit: str,
                      thresholds: list[dict[str, Any]], peaks: pd.DataFrame
                      ) -> dict[str, Any]:  # fmt: skip
    """The genome-wide LOD profile as a plotly ``{"data", "layout"}`` (see :func:`genome_lod_json`)."""
    text = genome_lod_json(genome_axis(markers, unit), lod, trait=trait, unit=unit,
                           thresholds=thresholds, peaks=peaks)  # fmt: skip
    return json.loads(text)  # type: ignore[no-any-return]


def chromosome_lod_figure(markers: pd.DataFrame, lod: np.ndarray, *, trait: str, chrom: str,
                          unit: str, thresholds: list[dict[str, Any]], peaks: pd.DataFrame
                          ) -> dict[str, Any]:  # fmt: skip
    """The LOD profile along one chromosome, its peaks and their support intervals."""
    rows = np.flatnonzero(markers["chr"].to_numpy() == chrom)
    data: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "name": "LOD", "meta": {"chr": chrom},
        "x": markers["pos"].to_numpy(dtype=float)[rows], "y": lod[rows],
        "text": markers["marker"].to_numpy()[rows], "line": {"color": _CHROM_COLOURS[0]},
        "hovertemplate": f"%{{text}}<br>%{{x:.3f}} {unit}<br>LOD %{{y:.2f}}<extra></extra>",
        "showlegend": False,
    }]  # fmt: skip
    shapes, notes = _threshold_shapes(thresholds)
    here = peaks[peaks["chr"].astype(str) == chrom] if len(peaks) else peaks
    if len(here):
        data.append({
            "type": "scatter", "mode": "markers", "name": "peaks", "meta": {"peaks": True},
            "x": here["pos"].to_numpy(dtype=float), "y": here["lod"].to_numpy(dtype=float),
            "error_x": {"type": "data", "symmetric": False,
                        "array": (here["ci_hi"] - here["pos"]).to_numpy(dtype=float),
                        "arrayminus": (here["pos"] - here["ci_lo"]).to_numpy(dtype=float)},
            "marker": {"color": "#c0392b", "size": 9, "symbol": "diamond"},
            "hovertemplate": "peak %{x:.3f} " + unit + "<br>LOD %{y:.2f}<extra></extra>",
            "showlegend": False,
        })  # fmt: skip
        for p in here.itertuples():
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": float(p.ci_lo),
                           "x1": float(p.ci_hi), "y0": 0, "y1": 1, "line": {"width": 0},
                           "fillcolor": "rgba(192,57,43,0.08)", "layer": "below"})  # fmt: skip
    layout = {
        "title": {"text": f"{trait}: LOD on chr {chrom}"},
        "xaxis": {"title": {"text": f"chr {chrom} ({unit})"}},
        "yaxis": {"title": {"text": "LOD"}, "rangemode": "tozero"},
        "shapes": shapes, "annotations": notes, "hovermode": "closest",
    }  # fmt: skip
    return {"data": data, "layout": layout}


def effects_along_figure(along: pd.DataFrame, *, trait: str, chrom: str, unit: str,
                         peak: dict[str, Any] | None, method: str = "coef"
                         ) -> dict[str, Any]:  # fmt: skip
    """Founder effects (``coef`` or ``blup``) along a chromosome: a line per founder, SEs on hover."""
    data = []
    for name, rows in along.groupby("coefficient", sort=False):
        rows = rows.sort_values("pos", kind="stable")
        data.append({
            "type": "scatter", "mode": "lines", "name": str(name),
            "x": rows["pos"].to_numpy(dtype=float), "y": rows["estimate"].to_numpy(dtype=float),
            "customdata": rows["se"].to_numpy(dtype=float),
            "line": {"color": CC_COLOURS.get(str(name)), "width": 1.8},
            "hovertemplate": f"{name}: %{{y:.3f}} (SE %{{customdata:.3f}})<br>%{{x:.3f}} {unit}"
                             "<extra></extra>",
        })  # fmt: skip
    shapes = []
    if peak is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": peak["pos"],
                       "x1": peak["pos"], "y0": 0, "y1": 1,
                       "line": {"color": "#555", "dash": "dot", "width": 1}})  # fmt: skip
        if peak.get("ci_lo") is not None and peak.get("ci_hi") is not None:
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": peak["ci_lo"],
                           "x1": peak["ci_hi"], "y0": 0, "y1": 1, "line": {"width": 0},
                           "fillcolor": "rgba(0,0,0,0.06)", "layer": "below"})  # fmt: skip
    return {"data": data, "layout": {
        "title": {"text": f"{trait}: founder allele effects ({method}) along chr {chrom}"},
        "xaxis": {"title": {"text": f"chr {chrom} ({unit})"}},
        "yaxis": {"title": {"text": f"effect ({method})"}}, "shapes": shapes,
        "legend": {"orientation": "h"}, "hovermode": "closest",
    }}  # fmt: skip


def peak_effects_figure(effects: pd.DataFrame, *, trait: str, label: str) -> dict[str, Any]:
    """Founder effects at a peak marker with ±1 SE: ``coef`` and ``blup`` side by side."""
    data = []
    founders = effects[effects["coefficient"].astype(str).isin(list(CC_COLOURS))]
    for method, rows in founders.groupby("method", sort=False):
        data.append({
            "type": "scatter", "mode": "markers", "name": str(method),
            "x": rows["coefficient"].astype(str).to_numpy(),
            "y": rows["estimate"].to_numpy(dtype=float),
            "error_y": {"type": "data", "array": rows["se"].to_numpy(dtype=float),
                        "visible": True},
            "marker": {"size": 9, "symbol": "circle" if method == "coef" else "diamond"},
            "hovertemplate": f"{method} %{{x}}: %{{y:.3f}} ± %{{error_y.array:.3f}}"
                             "<extra></extra>",
        })  # fmt: skip
    return {"data": data, "layout": {
        "title": {"text": f"{trait}: founder effects at the peak ({label})"},
        "xaxis": {"title": {"text": "founder"}, "type": "category"},
        "yaxis": {"title": {"text": "effect ± SE"}}, "scattermode": "group",
        "legend": {"orientation": "h"},
    }}  # fmt: skip


# -- routes -------------------------------------------------------------------------------------
@router.get("/summary")
def cause_summary(run: str = run_query(), index: RunIndex = Depends(get_index)) -> JSONResponse:
    """What a scan or eqtl run holds: traits, markers, chromosomes, map, related runs."""
    info, data = _run(index, run)
    traits = data.trait_table()
    top = traits.sort_values("max_lod", ascending=False, na_position="last").head(10)
    facts: dict[str, Any] = {
        "run": info.id, "kind": data.kind, "n_traits": len(traits),
        "n_peaks": len(data.peaks()), "map": data.map_name, "unit": data.unit,
        "assembly": data.assembly, "top_traits": top.to_dict(orient="records"),
        "snps_runs": [{"id": r.id, **{k: (r.meta.get("summary") or {}).get(k)
                                       for k in ("trait", "chr", "start", "end")}}
                      for r in _related(index, info, "snps")],
        "mediate_runs": [r.id for r in _related(index, info, "mediate")],
    }  # fmt: skip
    if isinstance(data, EqtlReader):
        facts["has_profiles"] = data.store_path is not None
        _warm_eqtl(index, info, data)
        facts["has_hotspots"] = data.hotspots() is not None
        facts["method"] = data.summary.get("method")
    else:
        facts["has_profiles"] = True
        facts["method"] = data.summary.get("method")
        if info.meta.get("command") == "scan":
            _warm(index, info)
    if facts["has_profiles"]:
        markers = data.markers()
        facts["n_markers"] = len(markers)
        facts["chromosomes"] = data.chromosomes()
        facts["unit"] = data.unit
    return _json(facts)


@router.get("/traits")
def cause_traits(
    run: str = run_query(),
    q: str = Query("", max_length=200, description="Text to find in trait names (any case)."),
    limit: int = Query(20, ge=1, le=200, description="At most this many traits."),
    index: RunIndex = Depends(get_index),
) -> JSONResponse:
    """Type-ahead: traits whose name (or gene symbol) starts with, then contains, ``q``."""
    info, data = _run(index, run)
    table = data.trait_table()
    symbols = data.symbols()

    def labels() -> tuple[list[str], list[str]]:
        names = table["trait"].astype(str).tolist()
        keys = [f"{n} {symbols.get(n, '')}".lower() for n in names]
        return names, keys

    names, keys = index.cached(info, "cause:search", labels)
    text = q.strip().lower()
    if not text:
        order = table["max_lod"].fillna(-math.inf).to_numpy(dtype=float).argsort()[::-1]
        picked = [int(i) for i in order[:limit]]
        total = len(names)
    else:
        first = [i for i, k in enumerate(keys) if k.startswith(text)]
        seen = set(first)
        second = [i for i, k in enumerate(keys) if i not in seen and text in k]
        if symbols:
            sym = [i for i in second if symbols.get(names[i], "").lower().startswith(text)]
            second = sym + [i for i in second if i not in set(sym)]
        picked = (first + second)[:limit]
        total = len(first) + len(second)
    rows = table.iloc[picked]
    return _json({
        "query": q, "total": total,
        "traits": [{"trait": str(r.trait), "symbol": symbols.get(str(r.trait)),
                    "max_lod": r.max_lod, "n_peaks": int(r.n_peaks)}
                   for r in rows.itertuples()],
    })  # fmt: skip


@router.get("/lod")
def cause_lod(
    run: str = run_query(),
    trait: str = _trait_query(),
    chr: str | None = _chrom_query(),  # noqa: A002 - the URL's word
    index: RunIndex = Depends(get_index),
) -> Response:
    """A trait's LOD profile (genome-wide, or on ``chr``) with thresholds and peaks."""
    info, data = _run(index, run)
    data.check_trait(trait)
    markers = data.markers()
    if chr is not None and chr not in set(markers["chr"]):
        raise HTTPException(404, f"no chromosome {chr!r} in run {info.id}")
    lod = data.profile(trait)
    thresholds = data.thresholds(trait)
    peaks = data.trait_peaks(trait)
    if chr is None:
        axis = index.cached(info, f"cause:axis:{data.unit}",
                            lambda: genome_axis(markers, data.unit))  # fmt: skip
        fig = genome_lod_json(axis, lod, trait=trait, unit=data.unit, thresholds=thresholds,
                              peaks=peaks)  # fmt: skip
    else:
        fig = json.dumps(plain(chromosome_lod_figure(
            markers, lod, trait=trait, chrom=chr, unit=data.unit, thresholds=thresholds,
            peaks=peaks)))  # fmt: skip
    head = json.dumps(plain({
        "run": info.id, "trait": trait, "chr": chr, "unit": data.unit, "map": data.map_name,
        "thresholds": thresholds, "peaks": _peak_records(info, data, peaks, trait),
    }))  # fmt: skip
    return Response(head[:-1] + ',"figure":' + fig + "}", media_type="application/json")


def _peak_records(info: RunInfo, data: ScanReader | EqtlReader, peaks: pd.DataFrame,
                  trait: str) -> list[dict[str, Any]]:  # fmt: skip
    keep = [c for c in ("trait", "chr", "pos", "lod", "ci_lo", "ci_hi", "marker", "class",
                        "symbol") if c in peaks.columns]  # fmt: skip
    records = peaks[keep].to_dict(orient="records")
    for record in records:
        record["human"] = (
            human_link(str(record["chr"]), float(record["ci_lo"]), float(record["ci_hi"]),
                       assembly=data.assembly, trait=trait, run_id=info.id)
            if data.unit == "Mbp" else None
        )  # fmt: skip
    return records


@router.get("/peaks")
def cause_peaks(
    request: Request,
    run: str = run_query(),
    trait: str | None = Query(None, min_length=1, max_length=300,
                              description="Only this trait's peaks."),
    params: TableParams = Depends(table_params),
    index: RunIndex = Depends(get_index),
) -> Response:  # fmt: skip
    """The peak table (support intervals), highest first; one trait's with ``trait``."""
    info, data = _run(index, run)

    def ranked(peaks: pd.DataFrame) -> pd.DataFrame:
        keep = [c for c in ("trait", "symbol", "chr", "pos", "lod", "ci_lo", "ci_hi", "marker",
                            "class", "gene_chr", "gene_start", "hsq") if c in peaks.columns]  # fmt: skip
        return peaks[keep].sort_values("lod", ascending=False, kind="stable")

    if trait is not None:
        data.check_trait(trait)
        table = ranked(data.trait_peaks(trait))
    else:  # a study's peaks (173,764 in a 20,000-trait eqtl run) ranked once
        table = index.cached(info, "cause:ranked_peaks", lambda: ranked(data.peaks()))
    name = f"{info.id.replace('/', '_')}_peaks" + (f"_{trait}" if trait else "")
    return table_response(table, request=request, name=name, params=params)


@router.get("/effects")
def cause_effects(
    run: str = run_query(), trait: str = _trait_query(),
    chr: str = Query(..., min_length=1, max_length=20, description="The peak's chromosome."),  # noqa: A002
    method: Literal["coef", "blup"] = Query(
        "coef", description="Along the chromosome: coef (fixed effects) or blup (computed)."),
    index: RunIndex = Depends(get_index),
) -> JSONResponse:  # fmt: skip
    """Founder allele effects on ``chr``: along the chromosome and at the peak (coef, BLUP).

    ``coef`` along the chromosome is the run's when kept, else computed from the scan's
    inputs, as BLUPs (``method=blup``) always are (scan runs only).
    """
    info, data = _run(index, run)
    data.check_trait(trait)
    peaks = data.trait_peaks(trait)
    here = peaks[peaks["chr"].astype(str) == chr] if len(peaks) else peaks
    peak = None
    if len(here):
        best = here.sort_values("lod", ascending=False).iloc[0]
        peak = {k: best[k] for k in ("trait", "chr", "pos", "lod", "ci_lo", "ci_hi", "marker")
                if k in best.index}  # fmt: skip
    at_peak = data.peak_effects(trait)
    at_peak = at_peak[at_peak["chr"].astype(str) == chr] if len(at_peak) else at_peak
    along = data.effects_along(trait, chr) if method == "coef" else None
    source = "precomputed" if along is not None or len(at_peak) else "none"
    answer: dict[str, Any] = {"run": info.id, "trait": trait, "chr": chr, "unit": data.unit,
                              "source": source, "peak": peak, "method": method}  # fmt: skip
    recomputable = isinstance(data, ScanReader) and info.meta.get("command") == "scan"
    if along is None and recomputable and isinstance(data, ScanReader):
        computed = _compute_effects(index, info, data, trait, chr, method)
        if isinstance(computed, str):
            answer["message"] = computed
        else:
            along = computed.along
            at_peak = computed.at_peak.assign(marker=computed.marker)
            answer["source"] = "computed"
            answer["marker"] = computed.marker
            if peak is None:
                peak = {"trait": trait, "chr": chr, "pos": computed.pos, "marker": computed.marker}
                answer["peak"] = peak
    if along is not None:
        answer["along"] = effects_along_figure(along, trait=trait, chrom=chr, unit=data.unit,
                                               peak=peak, method=method)  # fmt: skip
    if len(at_peak):
        marker = str(at_peak["marker"].iloc[0]) if "marker" in at_peak else ""
        answer["at_peak"] = peak_effects_figure(at_peak, trait=trait, label=marker)
        answer["table"] = at_peak[["method", "coefficient", "estimate", "se"]].to_dict(
            orient="records")  # fmt: skip
    if method == "blup" and not recomputable:
        answer["message"] = ("BLUPs along the chromosome are computed from a scan run's inputs; "
                             f"run {info.id} records none")  # fmt: skip
    if answer["source"] == "none" and "message" not in answer:
        answer["message"] = (f"no allele effects were kept for {trait} on chr {chr} "
                             "(effects are kept at the highest peaks)")  # fmt: skip
    return _json(answer)


@router.get("/peak_effects")
def cause_peak_effects(
    request: Request, run: str = run_query(),
    trait: str | None = Query(None, min_length=1, max_length=300,
                              description="Only this trait's effects."),
    params: TableParams = Depends(table_params), index: RunIndex = Depends(get_index),
) -> Response:  # fmt: skip
    """The allele effects at the peaks (coef and BLUP with SEs), as a table."""
    info, data = _run(index, run)
    if trait is not None:
        data.check_trait(trait)
        table = data.peak_effects(trait)
    elif isinstance(data, ScanReader):
        table = data.all_peak_effects()
    else:
        table = data.effects_of(data.peaks())
    name = f"{info.id.replace('/', '_')}_peak_effects" + (f"_{trait}" if trait else "")
    return table_response(table, request=request, name=name, params=params)


def _scan_inputs(index: RunIndex, info: RunInfo) -> Any:
    from translocus.pipelines.effects import ScanInputs

    return index.cached(info, "cause:scan_inputs", lambda: ScanInputs.from_run(info.path))


_warming: set[tuple[int, str]] = set()  # (the index, run id) already warmed
_warming_lock = threading.Lock()


def _warm(index: RunIndex, info: RunInfo) -> None:
    """Read a scan run's cross (and kinship) in the background, for effects on request."""
    with _warming_lock:
        if (id(index), info.id) in _warming:
            return
        _warming.add((id(index), info.id))

    def work() -> None:
        with contextlib.suppress(Exception):  # the request itself reports what went wrong
            _scan_inputs(index, info).kinship_of(str(info.meta.get("summary", {}).get(
                "chromosomes", ["1"])[0]))  # fmt: skip

    threading.Thread(target=work, daemon=True, name=f"warm {info.id}").start()


def _warm_eqtl(index: RunIndex, info: RunInfo, data: EqtlReader) -> None:
    """Group an eqtl run's peaks by trait and read its map in the background."""
    with _warming_lock:
        if (id(index), info.id) in _warming:
            return
        _warming.add((id(index), info.id))

    def work() -> None:
        with contextlib.suppress(Exception):  # the request itself reports what went wrong
            data.trait_peaks("")
            if data.store_path is not None:
                index.cached(info, f"cause:axis:{data.unit}",
                             lambda: genome_axis(data.markers(), data.unit))  # fmt: skip

    threading.Thread(target=work, daemon=True, name=f"warm {info.id}").start()


def _compute_effects(index: RunIndex, info: RunInfo, data: ScanReader, trait: str,
                     chrom: str, method: str) -> Any:  # fmt: skip
    """Effects recomputed from the scan's inputs, or the reason they cannot be (a string)."""
    from translocus.core.errors import UserError
    from translocus.pipelines.effects import scan_effects

    try:
        inputs = _scan_inputs(index, info)
        markers = data.markers()
        rows = np.flatnonzero(markers["chr"].to_numpy() == chrom)
        lod = data.profile(trait)[rows]
        return scan_effects(inputs, trait, chrom, lod=lod, method=method,
                            markers=list(markers["marker"].to_numpy()[rows]))  # fmt: skip
    except UserError as exc:
        return f"effects cannot be computed here: {exc}"


def _related(index: RunIndex, info: RunInfo, command: str) -> list[RunInfo]:
    """Served runs of ``command`` (snps, mediate) made from this run's folder."""
    found = []
    for other in index.runs(command):
        options = other.meta.get("options") or {}
        for key in ("run", "hotspot"):
            value = options.get(key)
            if value and Path(str(value)).name == info.path.name:
                found.append(other)
                break
    return found


def _chrom_key(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1000, name)


@router.get("/cistrans")
def cause_cistrans(run: str = run_query(), index: RunIndex = Depends(get_index)) -> Response:
    """eqtl runs: each peak's position against its trait's gene position (local/distal).

    At most :data:`MAX_CISTRANS_POINTS` peaks, the highest (a browser draws no more at ease);
    the title says so when there are more.
    """
    info, data = _run(index, run)
    if not isinstance(data, EqtlReader):
        raise HTTPException(400, f"run {info.id} is not an eqtl run; the cis/trans map needs one")
    body = index.cached(info, "cause:cistrans", lambda: _cistrans_json(info, data))
    return Response(body, media_type="application/json")


#: The cis/trans map shows this many peaks at most (the highest).
MAX_CISTRANS_POINTS = 20_000


def _cistrans_json(info: RunInfo, data: EqtlReader) -> str:
    peaks = data.peaks()
    shown = ""
    if len(peaks) > MAX_CISTRANS_POINTS:
        shown = f" (the {MAX_CISTRANS_POINTS:,} highest of {len(peaks):,} peaks)"
        peaks = peaks.sort_values("lod", ascending=False, kind="stable").head(MAX_CISTRANS_POINTS)
    if "gene_chr" not in peaks.columns or "gene_start" not in peaks.columns:
        raise HTTPException(404, f"run {info.id}: its peaks carry no gene positions (features "
                                 "without annotation); the cis/trans map needs them")  # fmt: skip
    genes = peaks.dropna(subset=["gene_chr", "gene_start"])
    gene_chr = genes["gene_chr"].astype(str)
    gene_pos = genes["gene_start"].to_numpy(dtype=float) / 1e6  # bp -> Mbp
    lengths: dict[str, float] = {}
    for chrom, pos in [*zip(peaks["chr"].astype(str), peaks["ci_hi"].astype(float), strict=True),
                       *zip(gene_chr, gene_pos, strict=True)]:  # fmt: skip
        if math.isfinite(pos):
            lengths[chrom] = max(lengths.get(chrom, 0.0), pos)
    chroms = sorted(lengths, key=_chrom_key)
    offsets, at = {}, 0.0
    for c in chroms:
        offsets[c] = at
        at += lengths[c] * 1.02
    x = np.array(
        [p + offsets[c] for c, p in zip(genes["chr"].astype(str), genes["pos"], strict=True)]
    )
    y = np.array([p + offsets[c] for c, p in zip(gene_chr, gene_pos, strict=True)])
    classes = (
        genes["class"].astype(str).to_numpy() if "class" in genes else np.full(len(genes), "peak")
    )
    labels = (
        genes["symbol"].fillna(genes["trait"]) if "symbol" in genes else genes["trait"]
    ).astype(str)
    colours = {"local": "#c0392b", "distal": "#1f4e79"}
    data_traces = []
    for cls in dict.fromkeys(classes):
        pick = classes == cls
        data_traces.append({
            "type": "scatter", "mode": "markers", "name": str(cls), "x": x[pick], "y": y[pick],
            "text": labels.to_numpy()[pick], "customdata": genes["trait"].to_numpy()[pick],
            "marker": {"size": 5, "color": colours.get(str(cls), "#888"), "opacity": 0.7},
            "hovertemplate": "%{text}<br>%{customdata}<extra>" + str(cls) + "</extra>",
        })  # fmt: skip
    ticks = [offsets[c] + lengths[c] / 2 for c in chroms]
    axis = {"tickmode": "array", "tickvals": ticks, "ticktext": chroms, "showgrid": False,
            "zeroline": False}  # fmt: skip
    return json.dumps(plain({"data": data_traces, "layout": {
        "title": {"text": f"{info.id}: peak position against gene position{shown}"},
        "xaxis": {**axis, "title": {"text": "QTL position"}},
        "yaxis": {**axis, "title": {"text": "gene position"}},
        "legend": {"orientation": "h"}, "hovermode": "closest", "height": 560,
    }}))  # fmt: skip


@router.get("/hotspots")
def cause_hotspots(request: Request, run: str = run_query(),
                   params: TableParams = Depends(table_params),
                   index: RunIndex = Depends(get_index)) -> Response:  # fmt: skip
    """eqtl runs: the trans hotspots (windows with more distal peaks than chance)."""
    info, data = _run(index, run)
    table = data.hotspots() if isinstance(data, EqtlReader) else None
    if table is None:
        raise HTTPException(404, f"run {info.id} has no hotspots.csv (an eqtl run writes it)")
    return table_response(table, request=request, name=f"{info.id.replace('/', '_')}_hotspots",
                          params=params)  # fmt: skip


def _run_of(index: RunIndex, run_id: str, command: str) -> RunInfo:
    info = index.get(run_id)
    if info.command != command:
        raise HTTPException(400, f"run {info.id} is a {info.command} run, not a {command} run")
    return info


def _csv_of(index: RunIndex, info: RunInfo, name: str) -> pd.DataFrame:
    path = index.file(info, name)
    if path is None:
        raise HTTPException(404, f"run {info.id} has no {name}")
    return index.cached(info, f"cause:{name}", lambda: pd.read_csv(path, dtype={"chr": str}))


@router.get("/mediation")
def cause_mediation(request: Request, run: str = run_query(),
                    params: TableParams = Depends(table_params),
                    index: RunIndex = Depends(get_index)) -> Response:  # fmt: skip
    """A ``mediate`` run's candidates, ranked by their LOD drop."""
    info = _run_of(index, run, "mediate")
    table = _csv_of(index, info, "mediation.csv")
    return table_response(table, request=request, name=f"{info.id.replace('/', '_')}_mediation",
                          params=params)  # fmt: skip


@router.get("/snps")
def cause_snps(run: str = run_query(), index: RunIndex = Depends(get_index)) -> JSONResponse:
    """A ``snps`` run's association: LOD of every variant in the interval."""
    import pyarrow.parquet as pq

    info = _run_of(index, run, "snps")
    path = index.file(info, "snp_assoc.parquet")
    if path is None:
        raise HTTPException(404, f"run {info.id} has no snp_assoc.parquet")
    names = set(pq.ParquetFile(path).schema_arrow.names)
    columns = [c for c in ("snp", "pos", "lod") if c in names]
    table = pq.read_table(path, columns=columns).to_pandas()
    summary = info.meta.get("summary") or {}
    figure = {"data": [{
        "type": "scatter", "mode": "markers", "name": "variants",
        "x": table["pos"].to_numpy(dtype=float), "y": table["lod"].to_numpy(dtype=float),
        "text": table["snp"].astype(str).to_numpy() if "snp" in table else None,
        "marker": {"size": 4, "color": "#1f4e79"},
        "hovertemplate": "%{text}<br>%{x:.4f} Mbp<br>LOD %{y:.2f}<extra></extra>",
    }], "layout": {
        "title": {"text": f"{summary.get('trait', '')}: SNP association on chr "
                          f"{summary.get('chr', '')}"},
        "xaxis": {"title": {"text": f"chr {summary.get('chr', '')} (Mbp)"}},
        "yaxis": {"title": {"text": "LOD"}, "rangemode": "tozero"},
    }}  # fmt: skip
    return _json({"run": info.id, "summary": summary, "figure": figure})


@router.get("/top_snps")
def cause_top_snps(request: Request, run: str = run_query(),
                   params: TableParams = Depends(table_params),
                   index: RunIndex = Depends(get_index)) -> Response:  # fmt: skip
    """A ``snps`` run's top variants (within the LOD drop of the best)."""
    info = _run_of(index, run, "snps")
    table = _csv_of(index, info, "top_snps.csv")
    return table_response(table, request=request, name=f"{info.id.replace('/', '_')}_top_snps",
                          params=params)  # fmt: skip
