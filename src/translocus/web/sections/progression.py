"""Progression page: trajectories against controls, one animal's forecast, survival.

Reads ``progress`` runs (``curves.csv``, ``effects.csv``, ``onsets.csv``, ``hyper.csv``; a
disease-course run's ``forecasts.csv``; ``measurements.parquet`` and ``forecast.csv`` when
the run wrote them) and ``survival`` runs (``km.csv`` when present, else ``km_summary.csv``;
``cox.csv``). A view whose file the run lacks says which file is missing instead of failing.

>>> fig = trajectory_figure(_example_curves(), trace="mouse_model")
>>> [t.name for t in fig.data if t.mode == "lines" and t.fill is None]
['5xFAD', 'C57BL/6J']
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from plotly.subplots import make_subplots

from translocus.web.figures import figure_json
from translocus.web.runs import RunIndex, RunInfo, get_index
from translocus.web.sections import Page, run_query, text_query
from translocus.web.sections._read import (
    clean,
    distinct,
    parquet_columns,
    read_csv,
    read_parquet,
    select_rows,
)
from translocus.web.tables import TableParams, table_params, table_response

__all__ = [
    "animal_figure",
    "hazard_figure",
    "page",
    "parse_where",
    "router",
    "survival_figure",
    "trajectory_figure",
]

#: Commands whose runs this page shows.
COMMANDS = ("progress", "survival")

page = Page(name="progression", title="Progression", commands=COMMANDS)
router = APIRouter(prefix="/api/progression", tags=["progression"])

#: Strata columns of a progress run's tables (a curve is one measure in one tissue).
STRATA = ("measure", "tissue")
#: Columns that are not group columns in a Kaplan-Meier table.
_KM_VALUES = ("time", "survival", "lower", "upper", "at_risk", "events", "censored")
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip


def _join(first: list[Any], second: list[Any]) -> list[Any]:
    """A closed band's outline: one edge forwards, the other backwards."""
    return [*first, *second]


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def parse_where(items: list[str], allowed: list[str]) -> dict[str, str]:
    """``["sex=Female"]`` -> ``{"sex": "Female"}``; a column not in ``allowed`` is a 422.

    >>> parse_where(["sex=Female"], ["sex"])
    {'sex': 'Female'}
    """
    out: dict[str, str] = {}
    for item in items:
        column, sep, value = item.partition("=")
        if not sep or column not in allowed:
            raise HTTPException(
                422,
                f"where={item[:80]!r}: write COLUMN=VALUE with a group column "
                f"({', '.join(allowed) or 'this run has none'})",
            )
        out[column] = value
    return out


# -- trajectories ---------------------------------------------------------------------------
def group_columns(curves: pd.DataFrame) -> list[str]:
    """The group columns of a curves table: those before ``age`` that are not strata."""
    if "age" not in curves.columns:
        return []
    before = list(curves.columns[: list(curves.columns).index("age")])
    return [c for c in before if c not in STRATA]


def trace_column(curves: pd.DataFrame, effects: pd.DataFrame | None) -> str | None:
    """The group column whose values are drawn as curves: the one holding the control.

    The effects table has every group but the control, so the column where the two tables'
    values differ holds it; the first group column otherwise.
    """
    groups = group_columns(curves)
    if effects is not None:
        for column in groups:
            if column in effects.columns and set(curves[column].astype(str)) != set(
                effects[column].astype(str)
            ):
                return column
    return groups[0] if groups else None


def trajectory_figure(
    curves: pd.DataFrame,
    *,
    trace: str | None,
    onsets: pd.DataFrame | None = None,
    points: pd.DataFrame | None = None,
    title: str = "",
) -> go.Figure:
    """Mean curves with their intervals per group, onset ages and the measurements.

    Parameters
    ----------
    curves
        Rows of ``curves.csv`` of one panel (one measure, tissue and other groups).
    trace
        The group column drawn as one curve per value (``None``: one curve).
    onsets
        Rows of ``onsets.csv`` of the panel: an onset age with its interval per group.
    points
        Measurements of the panel (``age``, ``y`` on the curves' scale, the trace column).
    """
    fig = go.Figure()
    keys = [None] if trace is None else sorted(curves[trace].astype(str).unique())
    for i, key in enumerate(keys):
        colour = _colour(i)
        rows = curves if key is None else curves[curves[trace].astype(str) == key]
        rows = rows.sort_values("age")
        name = "all" if key is None else key
        if {"lower", "upper"} <= set(rows.columns):
            fig.add_trace(
                go.Scatter(
                    x=_join(rows["age"].tolist(), rows["age"].tolist()[::-1]),
                    y=_join(rows["upper"].tolist(), rows["lower"].tolist()[::-1]),
                    fill="toself",
                    fillcolor=_rgba(colour, 0.15),
                    line={"width": 0},
                    hoverinfo="skip",
                    legendgroup=name,
                    showlegend=False,
                    name=f"{name} interval",
                    mode="lines",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=rows["age"].tolist(),
                y=rows["mean"].tolist(),
                mode="lines",
                name=name,
                legendgroup=name,
                line={"color": colour, "width": 2.5},
            )
        )
        if points is not None and len(points):
            own = points if key is None else points[points[trace].astype(str) == key]
            if len(own):
                fig.add_trace(
                    go.Scatter(
                        x=own["age"].tolist(),
                        y=own["y"].tolist(),
                        mode="markers",
                        name=f"{name} animals",
                        legendgroup=name,
                        marker={"color": colour, "size": 5, "opacity": 0.45},
                    )
                )
        if onsets is not None and key is not None and trace in onsets.columns:
            onset = onsets[onsets[trace].astype(str) == key]
            for _, row in onset.iterrows():
                age = clean(row.get("onset_age"))
                if age is None:
                    continue
                low, high = clean(row.get("lower")), clean(row.get("upper"))
                fig.add_trace(
                    go.Scatter(
                        x=[age],
                        y=[float(rows["mean"].max())],
                        mode="markers",
                        marker={"symbol": "triangle-down", "size": 12, "color": colour},
                        error_x={
                            "type": "data",
                            "symmetric": False,
                            "array": [max(0.0, (high if high is not None else age) - age)],
                            "arrayminus": [max(0.0, age - (low if low is not None else age))],
                            "color": colour,
                        },
                        name=f"{name} onset",
                        legendgroup=name,
                    )
                )
    if "observed" in curves.columns and len(curves):
        seen = curves.loc[curves["observed"].astype(str) == "True", "age"]
        last, end = (float(seen.max()) if len(seen) else None), float(curves["age"].max())
        if last is not None and last < end:
            # The curves go on past the oldest measured age: say where the data stop.
            fig.add_vrect(x0=last, x1=end, fillcolor="#888", opacity=0.08, line_width=0,
                          annotation_text="past the data", annotation_position="top left")  # fmt: skip
    scale = str(curves["scale"].iloc[0]) if "scale" in curves.columns and len(curves) else ""
    fig.update_layout(
        title=title,
        xaxis_title="age (months)",
        yaxis_title="log(value + offset)" if scale == "log" else "value",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "r": 20},
    )
    return fig


def _example_curves() -> pd.DataFrame:
    age = np.arange(4.0, 7.0)
    return pd.DataFrame(
        {
            "measure": "m",
            "mouse_model": ["5xFAD"] * 3 + ["C57BL/6J"] * 3,
            "age": np.r_[age, age],
            "mean": [1.0, 2.0, 3.0, 1.0, 1.0, 1.0],
            "lower": 0.0,
            "upper": 4.0,
        }
    )


# -- one animal -----------------------------------------------------------------------------
def interval_columns(frame: pd.DataFrame) -> tuple[str | None, str | None]:
    """The widest ``lower_<level>``/``upper_<level>`` pair of a forecast table."""
    levels = sorted(
        (c[len("lower_") :] for c in frame.columns if c.startswith("lower_")),
        key=lambda s: float(s) if s.replace(".", "", 1).isdigit() else -1.0,
    )
    for level in reversed(levels):
        if f"upper_{level}" in frame.columns:
            return f"lower_{level}", f"upper_{level}"
    return None, None


def animal_figure(
    measurements: pd.DataFrame | None, forecast: pd.DataFrame | None, *, title: str = ""
) -> go.Figure:
    """One animal's measurements (line and points) and its forecast with the interval.

    Measurements of several tissues (one measure) are drawn as one trace per tissue.
    """
    fig = go.Figure()
    if measurements is not None and len(measurements):
        tissues = (
            measurements["tissue"].fillna("").astype(str)
            if "tissue" in measurements.columns
            else pd.Series("", index=measurements.index)
        )
        for i, tissue in enumerate(sorted(tissues.unique())):
            rows = measurements[tissues == tissue].sort_values("age")
            fig.add_trace(
                go.Scatter(
                    x=rows["age"].tolist(),
                    y=rows["value"].tolist(),
                    mode="lines+markers",
                    name=f"measured ({tissue})" if tissue else "measured",
                    line={"color": _colour(0 if i == 0 else i + 1)},
                )
            )
    if forecast is not None and len(forecast):
        rows = forecast.sort_values("age")
        low, high = interval_columns(rows)
        if low and high:
            level = low[len("lower_") :]
            fig.add_trace(
                go.Scatter(
                    x=_join(rows["age"].tolist(), rows["age"].tolist()[::-1]),
                    y=_join(rows[high].tolist(), rows[low].tolist()[::-1]),
                    fill="toself",
                    fillcolor=_rgba(_colour(1), 0.18),
                    line={"width": 0},
                    mode="lines",
                    name=f"{level}% interval",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=rows["age"].tolist(),
                y=rows["point"].tolist(),
                mode="lines+markers",
                name="forecast",
                line={"color": _colour(1), "dash": "dash"},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="age (months)",
        yaxis_title="value",
        template="plotly_white",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 50, "r": 20},
    )
    return fig


# -- survival -------------------------------------------------------------------------------
def km_groups(km: pd.DataFrame) -> list[str]:
    """The group columns of a ``km.csv`` table (everything but the curve's values)."""
    return [c for c in km.columns if c not in _KM_VALUES]


def _labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if not columns:
        return pd.Series("all", index=frame.index)
    return frame[columns].astype(str).agg(" ".join, axis=1)


def survival_figure(km: pd.DataFrame, *, at_risk_times: int = 6, title: str = "") -> go.Figure:
    """Kaplan-Meier step curves with their bands, and the numbers at risk underneath.

    ``km`` has the columns of ``km.csv``: group columns, ``time``, ``survival``, and
    ``lower``, ``upper``, ``at_risk`` when known.
    """
    groups = km_groups(km)
    label = _labels(km, groups)
    has_risk = "at_risk" in km.columns
    fig = make_subplots(
        rows=2 if has_risk else 1,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.78, 0.22] if has_risk else [1.0],
        vertical_spacing=0.06,
    )
    t_max = float(km["time"].max()) if len(km) else 1.0
    ticks = np.linspace(0.0, t_max, at_risk_times) if t_max > 0 else np.zeros(1)
    for i, name in enumerate(sorted(label.unique())):
        colour = _colour(i)
        rows = km[label == name].sort_values("time")
        if {"lower", "upper"} <= set(rows.columns):
            t = rows["time"].tolist()
            x_up, y_up = _steps(t, rows["upper"].tolist())
            x_low, y_low = _steps(t, rows["lower"].tolist())
            fig.add_trace(
                go.Scatter(
                    x=_join(x_up, x_low[::-1]),
                    y=_join(y_up, y_low[::-1]),
                    fill="toself",
                    fillcolor=_rgba(colour, 0.12),
                    line={"width": 0},
                    mode="lines",
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                    name=f"{name} interval",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=rows["time"].tolist(),
                y=rows["survival"].tolist(),
                mode="lines",
                line={"shape": "hv", "color": colour, "width": 2},
                name=name,
                legendgroup=name,
            ),
            row=1,
            col=1,
        )
        if has_risk:
            times = rows["time"].to_numpy()
            risk = rows["at_risk"].to_numpy()
            counts = [_at_risk(times, risk, float(t)) for t in ticks]
            fig.add_trace(
                go.Scatter(
                    x=ticks.tolist(),
                    y=[name] * len(ticks),
                    mode="text",
                    text=[str(c) for c in counts],
                    textfont={"color": colour},
                    showlegend=False,
                    name=f"{name} at risk",
                    customdata=counts,
                    hoverinfo="skip",
                ),
                row=2,
                col=1,
            )
    fig.update_yaxes(title_text="survival", range=[0, 1.02], row=1, col=1)
    if has_risk:
        fig.update_yaxes(title_text="at risk", row=2, col=1, autorange="reversed")
        fig.update_xaxes(title_text="time", row=2, col=1)
    else:
        fig.update_xaxes(title_text="time", row=1, col=1)
    fig.update_layout(
        title=title, template="plotly_white", legend={"orientation": "h"}, margin={"t": 50}
    )
    return fig


def _steps(x: list[Any], y: list[Any]) -> tuple[list[Any], list[Any]]:
    """The corners of a right-continuous step function through ``(x, y)``.

    >>> _steps([0, 1, 2], [1.0, 0.5, 0.25])
    ([0, 1, 1, 2, 2], [1.0, 1.0, 0.5, 0.5, 0.25])
    """
    xs, ys = x[:1], y[:1]
    for i in range(1, len(x)):
        xs += [x[i], x[i]]
        ys += [y[i - 1], y[i]]
    return xs, ys


def _at_risk(times: np.ndarray, risk: np.ndarray, t: float) -> int:
    """Animals at risk just before ``t``: the count of the first row at or after ``t``."""
    later = np.flatnonzero(times >= t)
    if len(later):
        return int(risk[later[0]])
    return 0


def hazard_figure(cox: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Hazard ratios with their intervals (log axis), one row per covariate of ``cox.csv``."""
    rows = cox.dropna(subset=["exp(coef)"]).iloc[::-1]
    low = rows.get("exp(coef) lower", rows["exp(coef)"])
    high = rows.get("exp(coef) upper", rows["exp(coef)"])
    fig = go.Figure(
        go.Scatter(
            x=rows["exp(coef)"].tolist(),
            y=rows["covariate"].astype(str).tolist(),
            mode="markers",
            marker={"size": 10, "color": _colour(0)},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (high - rows["exp(coef)"]).tolist(),
                "arrayminus": (rows["exp(coef)"] - low).tolist(),
            },
            name="hazard ratio",
        )
    )
    fig.add_vline(x=1.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=title,
        xaxis={"type": "log", "title": "hazard ratio (95% interval)"},
        template="plotly_white",
        margin={"t": 50, "l": 140},
        height=max(260, 60 * len(rows) + 120),
    )
    return fig


# -- reading a run --------------------------------------------------------------------------


def _file(index: RunIndex, run: RunInfo, *names: str) -> Path | None:
    for name in names:
        path = index.file(run, name)
        if path is not None:
            return path
    return None


def _offset(index: RunIndex, run: RunInfo, measure: str, tissue: str | None) -> float | None:
    path = _file(index, run, "hyper.csv")
    if path is None:
        return None
    hyper = select_rows(read_csv(path), {"measure": measure, "tissue": tissue})
    if not len(hyper) or "offset" not in hyper.columns:
        return None
    value = clean(hyper["offset"].iloc[0])
    return float(value) if value is not None else None


def _forecast_table(index: RunIndex, run: RunInfo) -> pd.DataFrame | None:
    path = _file(index, run, "forecast.csv", "forecasts.csv")
    return None if path is None else read_csv(path)


def _measurement_filters(names: list[str], filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None and k in names}


def run_options(index: RunIndex, run: RunInfo) -> dict[str, Any]:
    """What a run offers the page: its panels, groups, animals and the files it lacks."""
    files = {
        name: index.file(run, name) is not None
        for name in (
            "curves.csv",
            "effects.csv",
            "onsets.csv",
            "measurements.parquet",
            "forecast.csv",
            "forecasts.csv",
            "km.csv",
            "km_summary.csv",
            "cox.csv",
        )
    }
    out: dict[str, Any] = {"run": run.id, "command": run.command, "files": files, "messages": []}
    if run.command == "progress":
        curves_path = index.file(run, "curves.csv")
        if curves_path is not None:
            curves = read_csv(curves_path)
            effects_path = index.file(run, "effects.csv")
            effects = read_csv(effects_path) if effects_path is not None else None
            trace = trace_column(curves, effects)
            groups = group_columns(curves)
            keys = [c for c in (*STRATA, *groups) if c in curves.columns and c != trace]
            panels = distinct(curves_path, keys)
            out.update(
                kind="trajectory",
                trace=trace,
                groups=groups,
                panels=[{k: clean(v) for k, v in row.items()} for row in panels.to_dict("records")],
            )
            if trace is not None and effects is not None and trace in effects.columns:
                controls = sorted(set(curves[trace].astype(str)) - set(effects[trace].astype(str)))
                out["control"] = controls[0] if controls else None
        else:
            out["kind"] = "course"
            out["messages"].append(
                "this progress run has no curves.csv (a disease-course run): no group "
                "trajectories; pick an animal to see its forecast"
            )
        out["animals"] = _animals(index, run)
        if not files["measurements.parquet"]:
            out["messages"].append(
                "this run has no measurements.parquet: the animals' measurements are not "
                "drawn (runs written by older versions of translocus progress lack it)"
            )
        if not (files["forecast.csv"] or files["forecasts.csv"]):
            out["messages"].append(
                "this run has no forecast.csv: no forecasts to draw (write one with "
                "translocus progress --forecast-from TABLE --at AGES)"
            )
    else:
        out["kind"] = "survival"
        if not files["km.csv"]:
            out["messages"].append(
                "this survival run has no km.csv: the curves cannot be drawn; its "
                "km_summary.csv (medians and restricted means per group) is shown instead"
            )
        if not files["cox.csv"]:
            out["messages"].append("this survival run has no cox.csv: no hazard ratios")
    return out


def _animals(index: RunIndex, run: RunInfo) -> list[Any]:
    def make() -> list[Any]:
        found: set[str] = set()
        path = index.file(run, "measurements.parquet")
        if path is not None and "animal" in parquet_columns(path):
            found |= set(distinct(path, ["animal"])["animal"].astype(str))
        forecast = _forecast_table(index, run)
        if forecast is not None and "animal" in forecast.columns:
            found |= set(forecast["animal"].astype(str))
        return sorted(found, key=_natural)

    return index.cached(run, "progression.animals", make)


def _natural(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, math.inf, text)


# -- routes ---------------------------------------------------------------------------------
@router.get("/options")
def options(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """A run's panels (measure, tissue, groups), animals, and the files it lacks."""
    info = page.run(index, run)
    return index.cached(info, "progression.options", lambda: run_options(index, info))


def _panel(
    index: RunIndex, info: RunInfo, measure: str, tissue: str | None, where: list[str]
) -> tuple[pd.DataFrame, dict[str, Any], str | None]:
    path = index.need(info, "curves.csv")
    curves = read_csv(path)
    groups = group_columns(curves)
    filters: dict[str, Any] = {"measure": measure, "tissue": tissue, **parse_where(where, groups)}
    rows = select_rows(curves, filters)
    if not len(rows):
        raise HTTPException(
            404, f"curves.csv of run {info.id!r} has no rows for {_describe(filters)}"
        )
    effects_path = index.file(info, "effects.csv")
    trace = trace_column(curves, read_csv(effects_path) if effects_path else None)
    return rows, filters, trace


def _describe(filters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)


@router.get("/trajectory")
def trajectory(
    run: str = run_query(),
    measure: str = Query(..., max_length=200),
    tissue: str | None = text_query(),
    where: list[str] = Query([], max_length=8, description="Group filters: COLUMN=VALUE."),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """Group trajectories against the control with onset ages (and measurements if kept)."""
    info = page.run(index, run)
    if any(len(w) > 200 for w in where):
        raise HTTPException(422, "where: each COLUMN=VALUE must be at most 200 characters")
    rows, filters, trace = _panel(index, info, measure, tissue, where)
    messages: list[str] = []
    onsets_path = index.file(info, "onsets.csv")
    onsets = select_rows(read_csv(onsets_path), filters) if onsets_path else None
    points = None
    meas_path = index.file(info, "measurements.parquet")
    if meas_path is None:
        messages.append("no measurements.parquet in this run: only the fitted curves are drawn")
    else:
        names = parquet_columns(meas_path)
        keep = ["age", "value", *[c for c in names if c in (trace, *filters)]]
        points = read_parquet(meas_path, columns=keep, filters=_measurement_filters(names, filters))
        scale = str(rows["scale"].iloc[0]) if "scale" in rows.columns else ""
        if scale == "log":
            offset = _offset(index, info, measure, tissue) or 0.0
            with np.errstate(invalid="ignore", divide="ignore"):
                points["y"] = np.log(points["value"].astype(float) + offset)
            points = points[np.isfinite(points["y"])]
        else:
            points["y"] = points["value"].astype(float)
    title = " · ".join(str(v) for v in filters.values() if v is not None)
    fig = trajectory_figure(rows, trace=trace, onsets=onsets, points=points, title=title)
    return {"figure": figure_json(fig), "messages": messages, "trace": trace}


@router.get("/curves")
def curves_table(
    request: Request,
    run: str = run_query(),
    measure: str | None = text_query(),
    tissue: str | None = text_query(),
    where: list[str] = Query([], max_length=8),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Rows of ``curves.csv`` (mean and intervals per group and age), optionally one panel."""
    info = page.run(index, run)
    curves = read_csv(index.need(info, "curves.csv"))
    filters = {"measure": measure, "tissue": tissue, **parse_where(where, group_columns(curves))}
    return table_response(select_rows(curves, filters), request=request, name="curves",
                          params=params)  # fmt: skip


@router.get("/effects")
def effects_table(
    request: Request,
    run: str = run_query(),
    measure: str | None = text_query(),
    tissue: str | None = text_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Rows of ``effects.csv``: differences and effect sizes against the control by age."""
    info = page.run(index, run)
    effects = read_csv(index.need(info, "effects.csv"))
    rows = select_rows(effects, {"measure": measure, "tissue": tissue})
    return table_response(rows, request=request, name="effects", params=params)


@router.get("/onsets")
def onsets_table(
    request: Request,
    run: str = run_query(),
    measure: str | None = text_query(),
    tissue: str | None = text_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Rows of ``onsets.csv``: onset ages with their bootstrap intervals."""
    info = page.run(index, run)
    onsets = read_csv(index.need(info, "onsets.csv"))
    rows = select_rows(onsets, {"measure": measure, "tissue": tissue})
    return table_response(rows, request=request, name="onsets", params=params)


@router.get("/animal")
def animal(
    run: str = run_query(),
    animal: str = Query(..., max_length=200),
    measure: str | None = text_query(),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """One animal's measurements with its forecast and interval (where the run has them)."""
    info = page.run(index, run)
    messages: list[str] = []
    measurements = None
    meas_path = index.file(info, "measurements.parquet")
    if meas_path is None:
        messages.append("no measurements.parquet in this run: the measurements are not drawn")
    else:
        names = parquet_columns(meas_path)
        measurements = read_parquet(
            meas_path,
            columns=["animal", "measure", "tissue", "age", "value"],
            filters=_measurement_filters(names, {"animal": animal, "measure": measure}),
            order=["age"],
        )
    forecast = _forecast_table(index, info)
    if forecast is None:
        messages.append(
            "no forecast.csv in this run: write one with translocus progress "
            "--forecast-from TABLE --at AGES"
        )
    else:
        forecast = select_rows(forecast, {"animal": animal, "measure": measure})
    measures = sorted(
        {
            str(m)
            for frame in (measurements, forecast)
            if frame is not None and "measure" in frame.columns
            for m in frame["measure"].unique()
        }
    )
    if measure is None and len(measures) > 1:
        # One measure per figure: the first, with the others offered to the page.
        measure = measures[0]
        measurements = (
            select_rows(measurements, {"measure": measure}) if measurements is not None else None
        )
        forecast = select_rows(forecast, {"measure": measure}) if forecast is not None else None
    if not any(f is not None and len(f) for f in (measurements, forecast)):
        known = (measurements is not None) or (forecast is not None)
        if known:
            raise HTTPException(404, f"run {info.id!r} has no rows for animal {animal!r}")
    title = f"animal {animal}" + (f" · {measure}" if measure else "")
    fig = animal_figure(measurements, forecast, title=title)
    return {
        "figure": figure_json(fig),
        "messages": messages,
        "measure": measure,
        "measures": measures,
    }


@router.get("/forecast")
def forecast_table(
    request: Request,
    run: str = run_query(),
    animal: str | None = text_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Rows of the run's forecast table (``forecast.csv`` or a course run's ``forecasts.csv``)."""
    info = page.run(index, run)
    forecast = _forecast_table(index, info)
    if forecast is None:
        raise HTTPException(404, f"run {info.id!r} has no forecast.csv or forecasts.csv")
    rows = select_rows(forecast, {"animal": animal})
    return table_response(rows, request=request, name="forecast", params=params)


@router.get("/survival")
def survival(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """Kaplan-Meier curves with numbers at risk (``km.csv``); a message when it is missing."""
    info = page.run(index, run)
    path = index.file(info, "km.csv")
    if path is None:
        return {
            "figure": None,
            "messages": [
                f"run {info.id!r} has no km.csv, so its curves cannot be drawn; "
                "km_summary.csv (medians, restricted means) is in the table below"
            ],
        }
    fig = survival_figure(read_csv(path), title="Kaplan-Meier survival")
    return {"figure": figure_json(fig), "messages": []}


@router.get("/km")
def km_table(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """The curves (``km.csv``), or where the run lacks it the summary (``km_summary.csv``)."""
    info = page.run(index, run)
    path = index.need(info, "km.csv", "km_summary.csv")
    return table_response(read_csv(path), request=request, name=path.stem, params=params)


@router.get("/km_summary")
def km_summary_table(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Medians and restricted mean survival per group (``km_summary.csv``)."""
    info = page.run(index, run)
    path = index.need(info, "km_summary.csv")
    return table_response(read_csv(path), request=request, name="km_summary", params=params)


@router.get("/hazards")
def hazards(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """Hazard ratios with their intervals from the run's Cox model (``cox.csv``)."""
    info = page.run(index, run)
    path = index.file(info, "cox.csv")
    if path is None:
        return {"figure": None, "messages": [f"run {info.id!r} has no cox.csv (no Cox model)"]}
    cox = read_csv(path)
    if "covariate" not in cox.columns:
        cox = cox.rename(columns={cox.columns[0]: "covariate"})
    if "exp(coef)" not in cox.columns:
        return {"figure": None, "messages": ["cox.csv has no exp(coef) column"]}
    return {"figure": figure_json(hazard_figure(cox, title="Hazard ratios")), "messages": []}


@router.get("/cox")
def cox_table(
    request: Request,
    run: str = run_query(),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """The Cox model's coefficients, hazard ratios and intervals (``cox.csv``)."""
    info = page.run(index, run)
    path = index.need(info, "cox.csv")
    return table_response(read_csv(path), request=request, name="cox", params=params)
