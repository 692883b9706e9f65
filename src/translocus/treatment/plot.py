"""Plots of tumour response: waterfall, spider and growth-curve fits (matplotlib).

Every function takes an optional ``ax`` and returns the axes (or the figure for grids),
so callers can embed them in reports or save them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from translocus.treatment.study import TreatmentStudy

__all__ = [
    "MRECIST_COLORS",
    "effects_forest",
    "example_series",
    "growth_fit_plot",
    "spider_plot",
    "waterfall_plot",
]

#: Colours of the mRECIST categories (colour-blind-safe palette).
MRECIST_COLORS: dict[str, str] = {
    "CR": "#0072B2",
    "PR": "#56B4E9",
    "SD": "#E69F00",
    "PD": "#D55E00",
    "NA": "#999999",
}


def _axes(ax: Any, figsize: tuple[float, float]) -> Any:
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def waterfall_plot(
    metrics: pd.DataFrame,
    *,
    value: str = "best_avg_response",
    clip: float = 200.0,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Waterfall of ``value`` (default BestAvgResponse, %) sorted, coloured by mRECIST.

    Bars above ``clip`` % are cut at ``clip`` (large growth would hide the responders).
    """
    from matplotlib.patches import Patch

    df = metrics.loc[metrics[value].notna()].sort_values(value, ascending=False)
    ax = _axes(ax, (9, 3.5))
    vals = np.minimum(df[value].to_numpy(float), clip)
    colors = [
        MRECIST_COLORS.get(str(c) if c is not None else "NA", "#999999") for c in df["mrecist"]
    ]
    ax.bar(np.arange(len(df)), vals, width=1.0, color=colors, linewidth=0)
    for y, style in ((-95, ":"), (-50, "--"), (-30, ":"), (0, "-"), (35, "--")):
        ax.axhline(y, color="#444", lw=0.6, ls=style)
    ax.set_xlim(-0.5, len(df) - 0.5)
    ax.set_xticks([])
    ax.set_ylabel(f"{value.replace('_', ' ')} (%)")
    ax.set_xlabel(f"{len(df)} series, sorted")
    present = [c for c in MRECIST_COLORS if c in set(df["mrecist"].fillna("NA"))]
    ax.legend(
        handles=[Patch(color=MRECIST_COLORS[c], label=c) for c in present],
        loc="upper right",
        frameon=False,
        ncol=len(present),
    )
    if title:
        ax.set_title(title)
    return ax


def spider_plot(
    study: TreatmentStudy,
    *,
    model: str | None = None,
    arms: Sequence[str] | None = None,
    metrics: pd.DataFrame | None = None,
    max_series: int = 400,
    ax: Any = None,
) -> Any:
    """Spider plot: % volume change from baseline over days, one line per series.

    Lines are coloured by the series' mRECIST category when ``metrics`` is given.
    """
    rec = study.records
    if model is not None:
        rec = rec.loc[rec["model"] == model]
    if arms is not None:
        rec = rec.loc[rec["arm"].isin(list(arms))]
    ax = _axes(ax, (6, 4))
    cat: dict[tuple[str, str, str], str] = {}
    if metrics is not None:
        for m, a, an, c in metrics[["model", "arm", "animal", "mrecist"]].itertuples(index=False):
            cat[(m, a, an)] = c if isinstance(c, str) else "NA"
    for i, ((m, a, an), grp) in enumerate(rec.groupby(["model", "arm", "animal"], sort=False)):
        if i >= max_series:
            break
        v = grp["volume"].to_numpy(float)
        change = 100.0 * (v - v[0]) / v[0]
        color = MRECIST_COLORS.get(cat.get((m, a, an), "NA"), "#999999") if cat else None
        ax.plot(grp["day"].to_numpy(float), np.minimum(change, 500), lw=0.8, alpha=0.7, color=color)
    ax.axhline(0, color="#444", lw=0.6)
    ax.axhline(-30, color="#444", lw=0.5, ls=":")
    ax.axhline(20, color="#444", lw=0.5, ls=":")
    ax.set_xlabel("day")
    ax.set_ylabel("volume change from baseline (%)")
    if model is not None:
        ax.set_title(str(model))
    return ax


def example_series(study: TreatmentStudy, n: int = 3, *, min_obs: int = 6) -> TreatmentStudy:
    """A small study of ``n`` growing, well-measured series to illustrate growth fits.

    Control-arm series come first (they grow), then by number of measurements; series that
    shrink overall (last volume below the first) are skipped.
    """
    from dataclasses import replace

    info = study.series()
    rec = study.records
    codes = study.series_codes()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)] - 1
    vol = rec["volume"].to_numpy(float)
    info["grows"] = vol[ends] > vol[starts]
    info["is_control"] = info["arm"] == study.control
    pool = info.loc[info["grows"] & (info["n_obs"] >= min_obs)]
    if pool.empty:
        pool = info
    order = pool.sort_values(["is_control", "n_obs"], ascending=False, kind="stable").index[:n]
    return replace(study, records=rec.loc[np.isin(codes, order)].reset_index(drop=True))


def growth_fit_plot(
    study: TreatmentStudy,
    fits: Sequence[Any],
    *,
    series: Sequence[int] = (0,),
    ax: Any = None,
) -> Any:
    """Data (points) and fitted growth curves (lines) of the given series numbers.

    ``fits`` are fitted :class:`~translocus.treatment.growth.GrowthModel` objects on the
    same study; one line style per model kind.
    """
    ax = _axes(ax, (6, 4))
    rec = study.records
    codes = study.series_codes()
    styles = ["-", "--", ":", "-."]
    for s_idx in series:
        rows = rec.loc[codes == s_idx]
        (pts,) = ax.plot(rows["day"], rows["volume"], "o", ms=3.5)
        grid = np.linspace(rows["day"].min(), rows["day"].max(), 100)
        for j, fit in enumerate(fits):
            pred = fit.predict(grid, series=[s_idx])[0]
            label = fit.kind_ if s_idx == series[0] else None
            ax.plot(grid, pred, styles[j % 4], color=pts.get_color(), lw=1.2, label=label)
    ax.set_xlabel("day")
    ax.set_ylabel("tumour volume (mm³)")
    ax.legend(frameon=False, fontsize=8)
    return ax


def effects_forest(effects: pd.DataFrame, *, top: int = 30, ax: Any = None) -> Any:
    """Forest plot of growth-rate treatment effects (treated − control, per day) with CIs."""
    df = effects.dropna(subset=["ci_low", "ci_high"]).sort_values("effect").head(top)
    ax = _axes(ax, (6, 0.22 * len(df) + 1))
    y = np.arange(len(df))
    ax.errorbar(
        df["effect"],
        y,
        xerr=[df["effect"] - df["ci_low"], df["ci_high"] - df["effect"]],
        fmt="o",
        ms=3,
        lw=0.8,
    )
    ax.axvline(0, color="#444", lw=0.6)
    ax.set_yticks(
        y, [f"{m} · {a}" for m, a in zip(df["model"], df["arm"], strict=True)], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel("growth-rate difference, treated − control (1/day)")
    return ax
