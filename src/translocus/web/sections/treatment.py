"""Treatment page: spider plots, waterfalls by mRECIST, growth fits, synergy, lifespan effects.

Reads ``respond`` runs (``metrics.csv``, ``categories.csv``, ``growth_fits.csv``,
``treatment_effects.csv``, ``synergy.csv``; ``volumes.parquet`` when the run wrote it) and
``lifespan`` runs (``lifespan_effects.csv``). A view whose file the run lacks says so.

>>> metrics = pd.DataFrame({"model": ["a", "b", "c"], "arm": "x", "animal": "1",
...                         "best_avg_response": [-40.0, 80.0, 5.0],
...                         "mrecist": ["PR", "PD", "SD"]})
>>> fig = waterfall_figure(metrics)
>>> [(t.name, list(t.y)) for t in fig.data]
[('PR', [-40.0]), ('SD', [5.0]), ('PD', [80.0])]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from translocus.web.figures import figure_json
from translocus.web.runs import RunIndex, RunInfo, get_index
from translocus.web.sections import Page, run_query, text_query
from translocus.web.sections._read import (
    clean,
    parquet_columns,
    read_csv,
    read_parquet,
    select_rows,
)
from translocus.web.tables import TableParams, table_params, table_response

__all__ = [
    "MRECIST_COLOURS",
    "effects_figure",
    "growth_figure",
    "growth_kind",
    "lifespan_figure",
    "page",
    "router",
    "spider_figure",
    "synergy_figure",
    "waterfall_figure",
]

#: Commands whose runs this page shows.
COMMANDS = ("respond", "lifespan")

page = Page(name="treatment", title="Treatment", commands=COMMANDS)
router = APIRouter(prefix="/api/treatment", tags=["treatment"])

#: Colours of the mRECIST classes (the matplotlib plots' colour-blind-safe palette).
MRECIST_COLOURS = {
    "CR": "#0072B2",
    "PR": "#56B4E9",
    "SD": "#E69F00",
    "PD": "#D55E00",
    "NA": "#999999",
}
_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip
#: Spider lines drawn at most (a model of the PDX Encyclopedia has about 20 arms).
MAX_SERIES = 400


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _mrecist(value: Any) -> str:
    return value if isinstance(value, str) and value in MRECIST_COLOURS else "NA"


# -- figures --------------------------------------------------------------------------------
def percent_change(volumes: pd.DataFrame) -> pd.DataFrame:
    """``volumes`` with ``change``: % volume change from each series' first measurement.

    A series is one (model, arm, animal) where those columns exist.
    """
    keys = [c for c in ("model", "arm", "animal") if c in volumes.columns]
    out = volumes.sort_values([*keys, "day"]).reset_index(drop=True)
    first = out.groupby(keys, sort=False)["volume"].transform("first") if keys else None
    base = first if first is not None else out["volume"].iloc[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change"] = 100.0 * (out["volume"].astype(float) - base) / base
    return out


def spider_figure(volumes: pd.DataFrame, *, colour_by: str = "arm", title: str = "") -> go.Figure:
    """% volume change from baseline over days, one line per animal.

    ``colour_by="arm"`` (one model's arms) or ``"mrecist"`` (one arm across models, coloured
    by each series' mRECIST class, a column of ``volumes.parquet``).
    """
    data = percent_change(volumes)
    keys = [c for c in ("model", "arm", "animal") if c in data.columns]
    if colour_by == "mrecist" and "mrecist" in data.columns:
        group = data["mrecist"].map(_mrecist)
        colour = dict(MRECIST_COLOURS)
    else:
        group = data["arm"].astype(str) if "arm" in data.columns else pd.Series("all", data.index)
        colour = {arm: _colour(i) for i, arm in enumerate(sorted(group.unique()))}
    data["_group"] = group
    fig = go.Figure()
    shown: set[str] = set()
    for i, (key, rows) in enumerate(data.groupby(keys, sort=True) if keys else [((), data)]):
        if i >= MAX_SERIES:
            break
        parts = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        name = str(rows["_group"].iloc[0])
        label = " ".join(str(parts[k]) for k in keys)
        fig.add_trace(
            go.Scatter(
                x=rows["day"].tolist(),
                y=[clean(v) for v in rows["change"].tolist()],
                mode="lines+markers",
                marker={"size": 4},
                line={"color": colour.get(name, "#999999"), "width": 1.5},
                name=name,
                legendgroup=name,
                showlegend=name not in shown,
                customdata=rows["volume"].tolist(),
                hovertemplate=f"{label}<br>day %{{x}}<br>%{{y:.1f}}% (%{{customdata:.0f}} mm³)"
                "<extra></extra>",
                meta={"series": label},
            )
        )
        shown.add(name)
    for y, dash in ((0, "solid"), (-30, "dot"), (20, "dot")):
        fig.add_hline(y=y, line_dash=dash, line_color="#666", line_width=1)
    changes = data["change"][np.isfinite(data["change"])]
    top = float(changes.max()) if len(changes) else 100.0
    fig.update_layout(
        title=title,
        xaxis_title="day",
        # Lines above 500 % run off the axis (the data keep their values), as in spider.png.
        yaxis={
            "title": "volume change from baseline (%)",
            "range": [-105.0, min(max(top, 50.0), 500.0) + 10.0],
        },
        template="plotly_white",
        margin={"t": 50},
    )
    return fig


def waterfall_figure(
    metrics: pd.DataFrame, *, value: str = "best_avg_response", title: str = ""
) -> go.Figure:
    """Bars of ``value`` (%) sorted from the largest, one trace per mRECIST class.

    Bars above 200 % run off the axis (the data keep their values): large growth would
    otherwise hide the responders.
    """
    rows = metrics[metrics[value].notna()].sort_values(value, ascending=False)
    rows = rows.reset_index(drop=True)
    label = rows["model"].astype(str) if "model" in rows.columns else rows.index.astype(str)
    if label.duplicated().any():
        extra = [c for c in ("arm", "animal") if c in rows.columns and rows[c].nunique() > 1]
        for column in extra:
            label = label + " " + rows[column].astype(str)
    rows["label"] = label
    fig = go.Figure()
    classes = rows["mrecist"].map(_mrecist) if "mrecist" in rows.columns else "NA"
    for cls in MRECIST_COLOURS:
        own = rows[classes == cls]
        if not len(own):
            continue
        fig.add_trace(
            go.Bar(
                x=own["label"].tolist(),
                y=own[value].tolist(),
                name=cls,
                marker={"color": MRECIST_COLOURS[cls]},
            )
        )
    for y, dash in ((-95, "dot"), (-50, "dash"), (-30, "dot"), (35, "dash")):
        fig.add_hline(y=y, line_dash=dash, line_color="#666", line_width=1)
    top = float(rows[value].max()) if len(rows) else 100.0
    low = float(rows[value].min()) if len(rows) else -100.0
    fig.update_layout(
        title=title,
        barmode="overlay",
        bargap=0.05,
        xaxis={"categoryorder": "array", "categoryarray": rows["label"].tolist(),
               "showticklabels": len(rows) <= 60, "title": f"{len(rows)} series, sorted"},
        yaxis={"title": f"{value.replace('_', ' ')} (%)",
               "range": [min(low, -100.0) - 5, min(max(top, 40.0), 200.0) + 5]},
        template="plotly_white",
        legend={"title": "mRECIST"},
        margin={"t": 50},
    )  # fmt: skip
    return fig


def growth_kind(fits: pd.DataFrame) -> str:
    """The growth model of a ``growth_fits.csv`` table, from its parameter columns."""
    from translocus.treatment.growth import GROWTH_MODELS

    for kind, names in GROWTH_MODELS.items():
        if set(names) <= set(fits.columns):
            return kind
    raise HTTPException(422, "growth_fits.csv has no known growth model's parameter columns")


def growth_curves(fits: pd.DataFrame, days: np.ndarray) -> np.ndarray:
    """Fitted volumes (mm³) ``[series, day]`` of the rows of ``growth_fits.csv``.

    The curves are the fitted model's own (:meth:`GrowthModel.predict`), rebuilt from the
    table's parameters (``lambda0``/``lambda1`` are stored on their natural scale).
    """
    from translocus.treatment.growth import GROWTH_MODELS, GrowthModel

    kind = growth_kind(fits)
    theta = fits[list(GROWTH_MODELS[kind])].to_numpy(float).copy()
    if kind == "exponential_linear":
        with np.errstate(divide="ignore", invalid="ignore"):
            theta[:, 1:] = np.log(theta[:, 1:])
    model = GrowthModel(kind)  # type: ignore[arg-type]
    model.kind_ = kind  # type: ignore[assignment]
    model.theta_ = theta
    model.params_ = fits.reset_index(drop=True)
    model.converged_ = True
    return model.predict(days)


def growth_figure(
    fits: pd.DataFrame,
    volumes: pd.DataFrame | None,
    *,
    last_day: float | None = None,
    title: str = "",
) -> go.Figure:
    """Each arm's fitted growth curve over its measured volumes (one model's series).

    The curves run over the measured days (``volumes``), else from the first series' start
    to ``last_day`` (the last measurement in ``metrics.csv``).
    """
    fig = go.Figure()
    rows = fits[fits["n_obs"].fillna(0) > 0].reset_index(drop=True)
    if volumes is not None and len(volumes):
        lo, hi = float(volumes["day"].min()), float(volumes["day"].max())
    else:
        lo = float(rows["t0"].min()) if len(rows) else 0.0
        hi = float(last_day) if last_day is not None and last_day > lo else lo + 30.0
    days = np.linspace(lo, hi, 60)
    curves = growth_curves(rows, days) if len(rows) else np.empty((0, len(days)))
    for i, (_, row) in enumerate(rows.iterrows()):
        arm = str(row.get("arm", "all"))
        colour = _colour(i)
        label = f"{arm} {row['animal']}" if "animal" in rows.columns else arm
        if volumes is not None and len(volumes):
            own = select_rows(volumes, {k: row[k] for k in ("arm", "animal") if k in row})
            if len(own):
                fig.add_trace(
                    go.Scatter(
                        x=own["day"].tolist(),
                        y=own["volume"].tolist(),
                        mode="markers",
                        marker={"color": colour, "size": 6},
                        name=f"{label} measured",
                        legendgroup=label,
                    )
                )
        start = float(row["t0"]) if pd.notna(row.get("t0")) else lo
        keep = days >= start
        fig.add_trace(
            go.Scatter(
                x=days[keep].tolist(),
                y=[clean(v) for v in curves[i][keep].tolist()],
                mode="lines",
                line={"color": colour, "width": 2},
                name=f"{label} fit",
                legendgroup=label,
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="day",
        yaxis={"title": "tumour volume (mm³)", "type": "log"},
        template="plotly_white",
        margin={"t": 50},
    )
    return fig


def _forest(
    labels: list[str],
    point: list[Any],
    low: list[Any],
    high: list[Any],
    *,
    name: str,
    colour: str,
) -> go.Scatter:
    pts = [clean(v) for v in point]
    return go.Scatter(
        x=pts,
        y=labels,
        mode="markers",
        marker={"size": 9, "color": colour},
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [
                None if p is None or h is None else h - p
                for p, h in zip(pts, (clean(v) for v in high), strict=True)
            ],
            "arrayminus": [
                None if p is None or lo is None else p - lo
                for p, lo in zip(pts, (clean(v) for v in low), strict=True)
            ],
        },  # fmt: skip
        name=name,
    )


def effects_figure(effects: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Treatment effects on the growth rate (treated − control, per day) with intervals."""
    rows = effects.sort_values("effect", ascending=False)
    fig = go.Figure(
        _forest(
            rows["arm"].astype(str).tolist(),
            rows["effect"].tolist(),
            rows["ci_low"].tolist(),
            rows["ci_high"].tolist(),
            name="effect on growth rate",
            colour=_colour(0),
        )
    )
    fig.add_vline(x=0.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=title,
        xaxis_title="growth rate, treated − control (per day; 95% interval)",
        template="plotly_white",
        margin={"t": 50, "l": 160},
        height=max(280, 26 * len(rows) + 120),
    )
    return fig


def synergy_figure(synergy: pd.DataFrame, *, title: str = "") -> go.Figure:
    """Bliss and HSA excess of each combination with their intervals (below 0: synergy)."""
    labels = synergy["arm"].astype(str).tolist()
    fig = go.Figure()
    for i, (score, name) in enumerate((("bliss", "Bliss excess"), ("hsa", "HSA excess"))):
        if f"{score}_excess" not in synergy.columns:
            continue
        fig.add_trace(
            _forest(
                labels,
                synergy[f"{score}_excess"].tolist(),
                synergy[f"{score}_ci_low"].tolist(),
                synergy[f"{score}_ci_high"].tolist(),
                name=name,
                colour=_colour(i),
            )
        )
    fig.add_vline(x=0.0, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=title,
        xaxis_title="excess growth rate over the expected (per day; below 0: synergy)",
        template="plotly_white",
        margin={"t": 50, "l": 180},
        height=max(280, 40 * len(labels) + 120),
    )
    return fig


#: Lifespan effects drawn: column -> (point, lower, upper, axis title, no-effect line).
LIFESPAN_VALUES = {
    "hr": ("hr", "hr_lower", "hr_upper", "hazard ratio, treated / control", 1.0),
    "median_ext_pct": (
        "median_ext_pct",
        "median_ext_pct_lower",
        "median_ext_pct_upper",
        "median lifespan extension (%)",
        0.0,
    ),
    "rmst_diff": (
        "rmst_diff",
        "rmst_diff_lower",
        "rmst_diff_upper",
        "restricted mean lifespan, treated − control (days)",
        0.0,
    ),
}


def lifespan_figure(effects: pd.DataFrame, *, value: str = "hr", title: str = "") -> go.Figure:
    """Lifespan effects per drug (arm and cohort) with their intervals, one trace per sex."""
    point, low, high, axis, null = LIFESPAN_VALUES[value]
    labels = effects.apply(
        lambda r: f"{r.get('drug', r.get('arm'))} ({r.get('arm')}, {r.get('cohort')})", axis=1
    )
    fig = go.Figure()
    sexes = effects["sex"].astype(str) if "sex" in effects.columns else pd.Series("all")
    for i, sex in enumerate(sorted(sexes.unique())):
        own = effects[sexes == sex]
        fig.add_trace(
            _forest(
                labels[own.index].tolist(),
                own[point].tolist(),
                own[low].tolist(),
                own[high].tolist(),
                name=sex,
                colour=_colour(i),
            )
        )
    fig.add_vline(x=null, line_dash="dot", line_color="grey")
    fig.update_layout(
        title=title,
        xaxis={"title": axis, "type": "log" if value == "hr" else "linear"},
        yaxis={"autorange": "reversed"},
        template="plotly_white",
        margin={"t": 50, "l": 240},
        height=max(300, 30 * labels.nunique() + 140),
        legend={"title": "sex"},
    )
    return fig


# -- reading a run --------------------------------------------------------------------------


def _control(metrics: pd.DataFrame, effects: pd.DataFrame | None) -> str | None:
    if effects is None or "arm" not in effects.columns:
        return None
    extra = sorted(set(metrics["arm"].astype(str)) - set(effects["arm"].astype(str)))
    # The control is the arm without effects that most models have.
    if not extra:
        return None
    counts = metrics["arm"].astype(str).value_counts()
    return max(extra, key=lambda a: counts.get(a, 0))


def run_options(index: RunIndex, run: RunInfo) -> dict[str, Any]:
    """What a run offers the page: models, arms (most measured first), files it lacks."""
    names = (
        "metrics.csv",
        "categories.csv",
        "growth_fits.csv",
        "treatment_effects.csv",
        "synergy.csv",
        "volumes.parquet",
        "lifespan_effects.csv",
    )
    files = {name: index.file(run, name) is not None for name in names}
    out: dict[str, Any] = {"run": run.id, "command": run.command, "files": files, "messages": []}
    if run.command == "lifespan":
        out["kind"] = "lifespan"
        path = index.file(run, "lifespan_effects.csv")
        if path is None:
            out["messages"].append("this lifespan run has no lifespan_effects.csv")
        else:
            effects = read_csv(path)
            out["drugs"] = sorted(effects["drug"].astype(str).unique()) if "drug" in effects else []
        out["values"] = list(LIFESPAN_VALUES)
        return out
    out["kind"] = "respond"
    metrics_path = index.file(run, "metrics.csv")
    if metrics_path is None:
        out["messages"].append("this respond run has no metrics.csv")
        return out
    metrics = read_csv(metrics_path)
    effects_path = index.file(run, "treatment_effects.csv")
    effects = read_csv(effects_path) if effects_path is not None else None
    control = _control(metrics, effects)
    counts = metrics["arm"].astype(str).value_counts()
    arms = sorted(counts.index, key=lambda a: (a == control, -counts[a], a))
    models = metrics["model"].astype(str).value_counts()
    synergy_path = index.file(run, "synergy.csv")
    synergy_models = (
        sorted(read_csv(synergy_path)["model"].astype(str).unique())
        if synergy_path is not None
        else []
    )
    out.update(
        control=control,
        arms=arms,
        models=sorted(models.index, key=lambda m: (-models[m], m)),
        tumor_types=sorted(metrics["tumor_type"].dropna().astype(str).unique())
        if "tumor_type" in metrics.columns
        else [],
        synergy_models=synergy_models,
        values=[c for c in ("best_avg_response", "best_response") if c in metrics.columns],
    )
    if not files["volumes.parquet"]:
        out["messages"].append(
            "this run has no volumes.parquet: no spider plots and no measured volumes under "
            "the growth fits (runs written by older versions of translocus respond lack it)"
        )
    return out


# -- routes ---------------------------------------------------------------------------------
@router.get("/options")
def options(run: str = run_query(), index: RunIndex = Depends(get_index)) -> dict[str, Any]:
    """A run's models, arms, tumour types and the files it lacks."""
    info = page.run(index, run)
    return index.cached(info, "treatment.options", lambda: run_options(index, info))


@router.get("/spider")
def spider(
    run: str = run_query(),
    model: str | None = text_query(),
    arm: str | None = text_query(),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """% volume change over days (``volumes.parquet``): one model's arms, or one arm's models.

    With ``model`` the lines are coloured by arm; with ``arm`` alone, by mRECIST class.
    """
    info = page.run(index, run, "respond")
    if model is None and arm is None:
        raise HTTPException(422, "give model= (its arms) or arm= (its models), or both")
    path = index.file(info, "volumes.parquet")
    if path is None:
        return {
            "figure": None,
            "messages": [
                f"run {info.id!r} has no volumes.parquet, so no spider plot; its "
                "spider.png (one model) is among the run's files on the Study page"
            ],
        }
    names = parquet_columns(path)
    filters = {k: v for k, v in (("model", model), ("arm", arm)) if v is not None}
    columns = [c for c in ("model", "arm", "animal", "day", "volume", "mrecist") if c in names]
    volumes = read_parquet(path, columns=columns, filters=filters, order=["model", "arm", "day"])
    if not len(volumes):
        raise HTTPException(
            404, f"volumes.parquet of run {info.id!r} has no rows for {_describe(filters)}"
        )
    colour_by = "arm" if model is not None else "mrecist"
    title = " · ".join(v for v in (model, arm) if v)
    messages = []
    series = volumes.groupby([c for c in ("model", "arm", "animal") if c in columns]).ngroups
    if series > MAX_SERIES:
        messages.append(f"the first {MAX_SERIES} of {series} series are drawn")
    figure = spider_figure(volumes, colour_by=colour_by, title=title)
    return {"figure": figure_json(figure), "messages": messages}


def _describe(filters: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items())


@router.get("/waterfall")
def waterfall(
    run: str = run_query(),
    arm: str | None = text_query(),
    model: str | None = text_query(),
    tumor_type: str | None = text_query(),
    value: Literal["best_avg_response", "best_response"] = "best_avg_response",
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """Best (average) response per series, sorted, coloured by mRECIST (``metrics.csv``)."""
    info = page.run(index, run, "respond")
    metrics = read_csv(index.need(info, "metrics.csv"))
    rows = select_rows(metrics, {"arm": arm, "model": model, "tumor_type": tumor_type})
    messages = [] if len(rows) else ["no series match this selection"]
    title = " · ".join(str(v) for v in (arm, model, tumor_type) if v) or "all series"
    fig = waterfall_figure(rows, value=value, title=title)
    return {"figure": figure_json(fig), "messages": messages}


def _table_route(name: str, doc: str, *filters: str) -> None:
    """Register ``/api/treatment/<name>``: the rows of ``<file>`` matching the filters."""
    stem = {"effects": "treatment_effects"}.get(name, name)

    def endpoint(
        request: Request,
        run: str = run_query(),
        model: str | None = text_query(),
        arm: str | None = text_query(),
        tumor_type: str | None = text_query(),
        index: RunIndex = Depends(get_index),
        params: TableParams = Depends(table_params),
    ) -> Response:
        info = page.run(index, run, "respond")
        frame = read_csv(index.need(info, f"{stem}.csv"))
        given = {"model": model, "arm": arm, "tumor_type": tumor_type}
        rows = select_rows(frame, {k: v for k, v in given.items() if k in filters})
        return table_response(rows, request=request, name=stem, params=params)

    endpoint.__doc__ = doc
    endpoint.__name__ = f"{name}_table"
    router.add_api_route(f"/{name}", endpoint, methods=["GET"], summary=doc.split(":")[0])


_table_route(
    "metrics",
    "Response metrics per series: mRECIST, best (average) response, AUC, growth rate",
    "model", "arm", "tumor_type",
)  # fmt: skip
_table_route("categories", "mRECIST counts per tumour type")
_table_route("growth_fits", "Growth-model parameters per series", "model", "arm")
_table_route("effects", "Treatment effects on the growth rate with intervals", "model", "arm")
_table_route("synergy", "Bliss and HSA synergy of combinations", "model", "arm")
_table_route("tgi", "Tumour growth inhibition (T/C, ΔT/ΔC) per arm", "model", "arm")


@router.get("/fits")
def fits(
    run: str = run_query(),
    model: str = Query(..., max_length=200),
    arm: str | None = text_query(),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """One model's growth fits over its measured volumes, and its treatment effects."""
    info = page.run(index, run, "respond")
    growth = select_rows(read_csv(index.need(info, "growth_fits.csv")), {"model": model})
    if arm is not None:
        growth = select_rows(growth, {"arm": arm})
    if not len(growth):
        raise HTTPException(404, f"growth_fits.csv of run {info.id!r} has no rows for {model!r}")
    messages: list[str] = []
    volumes = None
    path = index.file(info, "volumes.parquet")
    if path is None:
        messages.append("no volumes.parquet in this run: the fitted curves are drawn alone")
    else:
        filters = {k: v for k, v in (("model", model), ("arm", arm)) if v is not None}
        volumes = read_parquet(path, filters=filters, order=["arm", "day"])
    growth = growth.head(len(_PALETTE) * 3)
    last_day = None
    metrics_path = index.file(info, "metrics.csv")
    if metrics_path is not None:
        days = select_rows(read_csv(metrics_path), {"model": model})
        if "last_day" in days.columns and days["last_day"].notna().any():
            last_day = float(days["last_day"].max())
    figure = growth_figure(
        growth, volumes, last_day=last_day, title=f"{model}: {growth_kind(growth)} fits"
    )
    out: dict[str, Any] = {"figure": figure_json(figure), "messages": messages}
    effects_path = index.file(info, "treatment_effects.csv")
    if effects_path is not None:
        effects = select_rows(read_csv(effects_path), {"model": model})
        if len(effects):
            out["effects"] = figure_json(effects_figure(effects, title=f"{model}: effects"))
    return out


@router.get("/synergy_figure")
def synergy_plot(
    run: str = run_query(),
    model: str = Query(..., max_length=200),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """Bliss and HSA excess of one model's combinations with their intervals."""
    info = page.run(index, run, "respond")
    synergy = select_rows(read_csv(index.need(info, "synergy.csv")), {"model": model})
    if not len(synergy):
        return {"figure": None, "messages": [f"model {model!r} has no combination arms"]}
    return {"figure": figure_json(synergy_figure(synergy, title=f"{model}: synergy")),
            "messages": []}  # fmt: skip


@router.get("/lifespan")
def lifespan(
    run: str = run_query(),
    value: Literal["hr", "median_ext_pct", "rmst_diff"] = "hr",
    drug: str | None = text_query(),
    index: RunIndex = Depends(get_index),
) -> dict[str, Any]:
    """Lifespan effects per drug and sex with their intervals (``lifespan_effects.csv``)."""
    info = page.run(index, run, "lifespan")
    effects = select_rows(read_csv(index.need(info, "lifespan_effects.csv")), {"drug": drug})
    if not len(effects):
        raise HTTPException(404, f"no lifespan effects for drug {drug!r}")
    fig = lifespan_figure(effects.reset_index(drop=True), value=value, title="Lifespan effects")
    return {"figure": figure_json(fig), "messages": []}


@router.get("/lifespan_effects")
def lifespan_table(
    request: Request,
    run: str = run_query(),
    drug: str | None = text_query(),
    sex: str | None = Query(None, max_length=20),
    index: RunIndex = Depends(get_index),
    params: TableParams = Depends(table_params),
) -> Response:
    """Rows of ``lifespan_effects.csv``: median, RMST and hazard-ratio effects per arm and sex."""
    info = page.run(index, run, "lifespan")
    rows = select_rows(
        read_csv(index.need(info, "lifespan_effects.csv")), {"drug": drug, "sex": sex}
    )
    return table_response(rows, request=request, name="lifespan_effects", params=params)
