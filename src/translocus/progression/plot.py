"""Plots of progression models: curves with bands, onset markers, courses and forecasts.

All functions return a matplotlib ``Figure`` (the Agg back end is used, so they work
without a display) and never write files; callers save or embed them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from translocus.progression.course import DiseaseCourseModel
    from translocus.progression.trajectory import AgeTrajectoryModel

__all__ = ["plot_course", "plot_forecasts", "plot_trajectories"]


def _pyplot() -> Any:
    # matplotlib chooses its backend itself (Agg without a display); a library that switched
    # it would break a notebook user's inline plots
    import matplotlib.pyplot as plt

    return plt


def plot_trajectories(
    model: AgeTrajectoryModel,
    *,
    stratum: Sequence[Any] | None = None,
    strata: Sequence[Sequence[Any]] | None = None,
    ncols: int = 2,
    show_points: bool = True,
) -> Any:
    """Mean curves with bands per group, observed animals and onset markers.

    Parameters
    ----------
    model
        A fitted :class:`~translocus.progression.trajectory.AgeTrajectoryModel`.
    stratum, strata
        One stratum or several (tuples in the order of ``model.strata_``); default all.
    ncols
        Panels per row.
    show_points
        Draw each animal's value (analysis scale).
    """
    plt = _pyplot()
    keys = list(model._fits) if strata is None else [tuple(s) for s in strata]
    if stratum is not None:
        keys = [tuple(stratum)]
    nrows = int(np.ceil(len(keys) / ncols))
    fig, axes = plt.subplots(
        nrows,
        min(ncols, len(keys)),
        figsize=(5.2 * min(ncols, len(keys)), 3.6 * nrows),
        squeeze=False,
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    curves, points = model.curves_, model.analysis_data_
    for ax, key in zip(axes.ravel(), keys, strict=False):
        sel = np.ones(len(curves), dtype=bool)
        psel = np.ones(len(points), dtype=bool)
        for col, value in zip(model.strata_, key, strict=True):
            sel &= (curves[col] == value).to_numpy()
            psel &= (points[col] == value).to_numpy()
        sub, pts = curves[sel], points[psel]
        for i, (gkey, g) in enumerate(sub.groupby(model.group_, sort=True)):
            gkey = gkey if isinstance(gkey, tuple) else (gkey,)
            colour = colours[i % len(colours)]
            label = " ".join(map(str, gkey))
            seen = g[g["observed"]]
            ahead = g[~g["observed"]]
            ax.fill_between(seen["age"], seen["lower"], seen["upper"], color=colour, alpha=0.2)
            ax.plot(seen["age"], seen["mean"], color=colour, label=label)
            if len(ahead):
                ax.fill_between(
                    ahead["age"], ahead["lower"], ahead["upper"], color=colour, alpha=0.08
                )
                ax.plot(ahead["age"], ahead["mean"], color=colour, linestyle="--")
            if show_points:
                gp = pts
                for col, value in zip(model.group_, gkey, strict=True):
                    gp = gp[gp[col] == value]
                jitter = (np.random.default_rng(i).random(len(gp)) - 0.5) * 0.4
                ax.scatter(gp["age"] + jitter, gp["y"], s=8, color=colour, alpha=0.5)
            onset = model.onsets_
            if len(onset):
                mine = onset.copy()
                for col, value in zip([*model.strata_, *model.group_], [*key, *gkey], strict=True):
                    mine = mine[mine[col] == value]
                if len(mine) and np.isfinite(float(mine["onset_age"].iloc[0])):
                    onset_age = float(mine["onset_age"].iloc[0])
                    lower, upper = float(mine["lower"].iloc[0]), float(mine["upper"].iloc[0])
                    ax.axvline(onset_age, color=colour, linestyle=":", linewidth=1)
                    if np.isfinite(lower) and np.isfinite(upper):
                        ax.axvspan(lower, upper, color=colour, alpha=0.07)
        scale = sub["scale"].iloc[0] if len(sub) else ""
        ax.set_title(" / ".join(map(str, key)), fontsize=9)
        ax.set_xlabel("age (months)")
        ax.set_ylabel("log value" if scale == "log" else "value")
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_course(model: DiseaseCourseModel, *, max_animals: int = 60, random_state: int = 0) -> Any:
    """Population course of each measure with a sample of the training animals' visits."""
    plt = _pyplot()
    k = len(model.measures_)
    fig, axes = plt.subplots(1, k, figsize=(4.6 * k, 3.4), squeeze=False)
    course = model.course_()
    batch = model._batch
    rng = np.random.default_rng(random_state)
    shown = rng.choice(len(batch.animals), min(max_animals, len(batch.animals)), replace=False)
    for j, measure in enumerate(model.measures_):
        ax = axes[0, j]
        for a in shown:
            m = batch.mask[a, j]
            if m.any():
                values = model._to_original(batch.y[a, j, m], np.full(int(m.sum()), j))
                ax.plot(batch.t[a, j, m], values, color="grey", alpha=0.3, linewidth=0.7)
        c = course[course["measure"] == measure]
        lo, hi = batch.t[batch.mask].min(), batch.t[batch.mask].max()
        c = c[(c["age"] >= lo) & (c["age"] <= hi)]
        ax.plot(c["age"], c["value"], color="C3", linewidth=2, label="course (reference group)")
        ax.set_title(measure, fontsize=9)
        ax.set_xlabel("age (months)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_forecasts(
    history: pd.DataFrame, forecasts: pd.DataFrame, *, animals: Sequence[str], level: float = 0.9
) -> Any:
    """Past visits and forecasts with ``level`` intervals for a few animals (one row each)."""
    plt = _pyplot()
    measures = sorted(forecasts["measure"].unique())
    fig, axes = plt.subplots(
        len(animals),
        len(measures),
        figsize=(4.2 * len(measures), 2.6 * len(animals)),
        squeeze=False,
    )
    lo, hi = f"lower_{level:g}", f"upper_{level:g}"
    for i, animal in enumerate(animals):
        for j, measure in enumerate(measures):
            ax = axes[i, j]
            h = history[(history["animal"] == animal) & (history["measure"] == measure)]
            f = forecasts[(forecasts["animal"] == animal) & (forecasts["measure"] == measure)]
            ax.plot(h["age"], h["value"], "o-", color="C0", markersize=3)
            if len(f):
                mid = f["point"].to_numpy(dtype=float)
                err = np.vstack(
                    [mid - f[lo].to_numpy(dtype=float), f[hi].to_numpy(dtype=float) - mid]
                )
                ax.errorbar(
                    f["age"].to_numpy(dtype=float),
                    mid,
                    yerr=err,
                    fmt="s",
                    color="C3",
                    capsize=3,
                    label=f"forecast ({int(level * 100)}%)",
                )
                if "value" in f:
                    ax.plot(f["age"], f["value"], "x", color="k", label="observed")
            ax.set_title(f"{animal}: {measure}", fontsize=8)
            if i == len(animals) - 1:
                ax.set_xlabel("age (months)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig
