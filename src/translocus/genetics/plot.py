"""LOD curves along the genome, and allele effects along a chromosome.

LOD curves come as a static matplotlib figure and an interactive plotly one.
Chromosomes are laid end to end along the x axis (alternately shaded, a small gap between
them); significance thresholds are horizontal lines and peaks are labelled with their
chromosome and position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from translocus.genetics.results import ScanResult

__all__ = [
    "CC_COLOURS",
    "genome_axis",
    "offline_html",
    "plot_coef",
    "plot_lod",
    "plot_lod_interactive",
]

_COLOURS = ["#1f4e79", "#c0392b", "#1e8449", "#7d3c98", "#b9770e", "#117a65"]


def genome_axis(result: ScanResult, map_name: str = "pos_Mbp", gap: float | None = None
                ) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:  # fmt: skip
    """Cumulative x positions of the markers, and each chromosome's ``(start, end)``."""
    positions = result.positions(map_name)
    lengths = {c: float(p.max() - p.min()) if len(p) else 0.0 for c, p in positions.items()}
    if gap is None:
        gap = 0.02 * max(1.0, sum(lengths.values()))
    x = np.empty(len(result.markers))
    spans: dict[str, tuple[float, float]] = {}
    chrom = np.asarray(result.data.coords["chr"].values).astype(str)
    start = 0.0
    for c, p in positions.items():
        idx = np.flatnonzero(chrom == c)
        x[idx] = start + (p.to_numpy() - (p.min() if len(p) else 0.0))
        spans[c] = (start, start + lengths[c])
        start += lengths[c] + gap
    return x, spans


def _thresholds(thresholds: float | Mapping[str, float] | Sequence[float] | None
                ) -> list[tuple[str, float]]:  # fmt: skip
    if thresholds is None:
        return []
    if isinstance(thresholds, Mapping):
        return [(str(k), float(v)) for k, v in thresholds.items()]
    if np.ndim(thresholds) == 0:
        return [("threshold", float(thresholds))]  # type: ignore[arg-type]
    values = np.atleast_1d(np.asarray(thresholds, dtype=float))
    return [(f"threshold {i + 1}", float(v)) for i, v in enumerate(values)]


def plot_lod(
    result: ScanResult,
    *,
    traits: Sequence[str] | None = None,
    map_name: str = "pos_Mbp",
    thresholds: float | Mapping[str, float] | Sequence[float] | None = None,
    peaks: pd.DataFrame | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """LOD curves (matplotlib); returns the figure.

    Parameters
    ----------
    traits
        Traits to draw (default: up to the first 6).
    thresholds
        A LOD threshold, several, or ``{label: value}``, drawn as dashed lines.
    peaks
        Output of :func:`~translocus.genetics.peaks.find_peaks` on the same map; each peak
        is marked and labelled ``chr@pos``.
    """
    import matplotlib.pyplot as plt

    traits = list(traits) if traits is not None else result.traits[:6]
    x, spans = genome_axis(result, map_name)
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 3.6))
    else:
        fig = ax.figure
    for i, (_c, (lo, hi)) in enumerate(spans.items()):
        if i % 2:
            ax.axvspan(lo, hi, color="#f0f2f5", zorder=0)
    chrom = np.asarray(result.data.coords["chr"].values).astype(str)
    lod = result.lod
    for k, trait in enumerate(traits):
        colour = _COLOURS[k % len(_COLOURS)]
        for c in spans:
            idx = np.flatnonzero(chrom == c)
            ax.plot(x[idx], lod[trait].to_numpy()[idx], color=colour, lw=1.0,
                    label=trait if c == next(iter(spans)) else None)  # fmt: skip
    for label, value in _thresholds(thresholds):
        ax.axhline(value, ls="--", lw=0.9, color="#555555")
        ax.text(x.max() if x.size else 0, value, f" {label} ({value:.2f})", va="bottom",
                ha="right", fontsize=7, color="#555555")  # fmt: skip
    if peaks is not None and len(peaks):
        marker_x = {}
        for c, (lo, _hi) in spans.items():
            pos = result.positions(map_name)[c]
            marker_x[c] = lo - (pos.min() if len(pos) else 0.0)
        for _, row in peaks.iterrows():
            if row["lodcolumn"] not in traits or str(row["chr"]) not in marker_x:
                continue
            px = marker_x[str(row["chr"])] + float(row["pos"])
            ax.plot([px], [row["lod"]], "v", color="black", ms=5)
            ax.annotate(f"{row['chr']}@{row['pos']:.1f}", (px, row["lod"]), xytext=(0, 6),
                        textcoords="offset points", ha="center", fontsize=7)  # fmt: skip
    ax.set_xticks([(lo + hi) / 2 for lo, hi in spans.values()])
    ax.set_xticklabels(list(spans), fontsize=8)
    ax.set_xlim(min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values()))
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(lod[traits].to_numpy())) if traits else 0.0))
    ax.set_xlabel("Chromosome")
    ax.set_ylabel("LOD score")
    if title:
        ax.set_title(title)
    if len(traits) > 1 or traits:
        ax.legend(fontsize=7, frameon=False, loc="upper right")
    fig.tight_layout()
    return fig


def plot_lod_interactive(
    result: ScanResult,
    *,
    traits: Sequence[str] | None = None,
    map_name: str = "pos_Mbp",
    thresholds: float | Mapping[str, float] | Sequence[float] | None = None,
    peaks: pd.DataFrame | None = None,
    title: str | None = None,
) -> Any:
    """The same LOD plot as an interactive plotly figure (hover shows marker and position)."""
    import plotly.graph_objects as go

    traits = list(traits) if traits is not None else result.traits[:6]
    x, spans = genome_axis(result, map_name)
    chrom = np.asarray(result.data.coords["chr"].values).astype(str)
    pos = np.asarray(result.data.coords[map_name].values, dtype=float)
    markers = np.asarray(result.markers)
    fig = go.Figure()
    for i, (_c, (lo, hi)) in enumerate(spans.items()):
        if i % 2:
            fig.add_vrect(x0=lo, x1=hi, fillcolor="#f0f2f5", line_width=0, layer="below")
    lod = result.lod
    for k, trait in enumerate(traits):
        ys = []
        xs = []
        text = []
        for c in spans:  # a gap (None) between chromosomes
            idx = np.flatnonzero(chrom == c)
            xs += list(x[idx]) + [None]
            ys += list(lod[trait].to_numpy()[idx]) + [None]
            text += [f"{m}<br>chr {c}: {p:.3f}" for m, p in zip(markers[idx], pos[idx],
                                                                  strict=True)] + [""]  # fmt: skip
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=trait, text=text,
                                 hovertemplate="%{text}<br>LOD %{y:.2f}",
                                 line={"color": _COLOURS[k % len(_COLOURS)], "width": 1.2}))  # fmt: skip
    for label, value in _thresholds(thresholds):
        fig.add_hline(y=value, line_dash="dash", line_color="#555555",
                      annotation_text=f"{label} ({value:.2f})")  # fmt: skip
    if peaks is not None and len(peaks):
        offsets = {c: lo - float(result.positions(map_name)[c].min()) for c, (lo, _) in
                   spans.items()}  # fmt: skip
        sel = peaks[peaks["lodcolumn"].isin(traits)]
        fig.add_trace(go.Scatter(
            x=[offsets[str(c)] + float(p) for c, p in zip(sel["chr"], sel["pos"], strict=True)],
            y=sel["lod"], mode="markers+text", name="peaks", marker={"symbol": "triangle-down"},
            text=[f"{c}@{p:.1f}" for c, p in zip(sel["chr"], sel["pos"], strict=True)],
            textposition="top center"))  # fmt: skip
    fig.update_layout(
        title=title or "Genome scan",
        xaxis={"tickmode": "array", "tickvals": [(lo + hi) / 2 for lo, hi in spans.values()],
               "ticktext": list(spans), "title": "Chromosome"},
        yaxis={"title": "LOD score"},
        template="simple_white",
        height=380,
    )  # fmt: skip
    return fig


def offline_html(fig: Any) -> str:
    """A plotly figure as a whole HTML page that works offline (plotly.js inlined, no CDN)."""
    return str(fig.to_html(include_plotlyjs=True, full_html=True))


#: R/qtl2's colours of the eight Collaborative Cross / Diversity Outbred founders (A-H).
CC_COLOURS = {
    "A": "#FFDC00",  # A/J
    "B": "#888888",  # C57BL/6J
    "C": "#F08080",  # 129S1/SvImJ
    "D": "#0064C9",  # NOD/ShiLtJ
    "E": "#7FDBFF",  # NZO/HlLtJ
    "F": "#2ECC40",  # CAST/EiJ
    "G": "#FF4136",  # PWK/PhJ
    "H": "#B10DC9",  # WSB/EiJ
}


def plot_coef(
    coef: pd.DataFrame,
    positions: Sequence[float] | np.ndarray,
    *,
    lod: Sequence[float] | np.ndarray | None = None,
    columns: Sequence[str] | None = None,
    peak: float | None = None,
    interval: tuple[float, float] | None = None,
    xlabel: str = "position",
    title: str | None = None,
) -> Any:
    """Allele effects along a chromosome, with the LOD curve underneath (R/qtl2's plot_coefCC).

    ``coef`` is :func:`~translocus.genetics.effects.scan1coef` (or ``scan1blup``) of one
    chromosome; ``positions`` its markers' positions. ``columns`` are the effects drawn (default: every
    column but ``SE_*`` and ``intercept``; name the alleles when there are covariates); the
    eight letters A-H get the founders' colours. ``peak`` draws a vertical line,
    ``interval`` shades the support interval. Returns a matplotlib figure (close it after use).
    """
    import matplotlib.pyplot as plt

    pos = np.asarray(positions, dtype=float)
    if len(pos) != len(coef):
        raise ValueError(f"{len(pos)} positions for {len(coef)} rows of coefficients")
    if columns is None:
        columns = [str(c) for c in coef.columns if not str(c).startswith("SE_")
                   and str(c) != "intercept"]  # fmt: skip
    panels = 2 if lod is not None else 1
    fig, axes = plt.subplots(panels, 1, figsize=(9, 5.5 if panels == 2 else 3.5), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [3, 2][:panels]})  # fmt: skip
    ax = axes[0, 0]
    palette = CC_COLOURS if set(columns) <= set(CC_COLOURS) else {}
    for i, name in enumerate(columns):
        colour = palette.get(name, _COLOURS[i % len(_COLOURS)])
        ax.plot(pos, coef[name].to_numpy(dtype=float), lw=1.4, color=colour, label=name)
    ax.axhline(0.0, color="#999999", lw=0.6)
    ax.set_ylabel("effect")
    ax.legend(ncol=min(8, len(columns)), fontsize=8, frameon=False, loc="upper left")
    if title:
        ax.set_title(title)
    for a in axes[:, 0]:
        if interval is not None:
            a.axvspan(interval[0], interval[1], color="#fdebd0", zorder=0)
        if peak is not None:
            a.axvline(peak, color="#555555", lw=0.8, ls="--")
    if lod is not None:
        axes[1, 0].plot(pos, np.asarray(lod, dtype=float), color="#1f4e79", lw=1.2)
        axes[1, 0].set_ylabel("LOD")
        axes[1, 0].set_ylim(bottom=0)
    axes[-1, 0].set_xlabel(xlabel)
    fig.tight_layout()
    return fig
