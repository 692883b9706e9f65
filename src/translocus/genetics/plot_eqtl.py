"""Plots of molecular-trait QTL: the cis/trans map, the hotspot track and mediation.

- :func:`plot_cistrans`: each peak at (peak position, the trait's gene position) along the
  whole genome, chromosome boundaries as grid lines, coloured by LOD; local peaks lie on the
  diagonal, a trans hotspot is a vertical band.
- :func:`plot_hotspots`: distal peaks per window along the genome with the permutation
  threshold, the hotspots labelled.
- :func:`plot_mediation`: each candidate mediator's position against its LOD drop, the top
  ones labelled by symbol, the QTL's position marked.

Figures are matplotlib ``Figure`` objects not attached to pyplot (safe in threads and servers).

>>> import pandas as pd
>>> peaks = pd.DataFrame({"chr": ["1", "2"], "pos": [10.0, 50.0], "lod": [8.0, 12.0],
...                       "gene_chr": ["1", "1"], "gene_start": [10_100_000, 80_000_000]})
>>> fig = plot_cistrans(peaks, chromosomes={"1": 100.0, "2": 90.0})
>>> fig.axes[0].get_xlabel()
'QTL position (chromosome)'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from translocus.genetics.cistrans import HotspotResult, _chrom_name, chromosome_order

__all__ = ["genome_offsets", "plot_cistrans", "plot_hotspots", "plot_mediation"]

#: Colours as in the LOD and SNP plots.
TRACK_COLOR = "darkslateblue"
THRESHOLD_COLOR = "#555555"
HIGHLIGHT_COLOR = "mediumvioletred"


def genome_offsets(chromosomes: Mapping[str, Any], gap: float = 0.0
                   ) -> dict[str, tuple[float, float, float]]:  # fmt: skip
    """``{chr: (offset, lo, hi)}``: chromosome ``chr`` spans ``offset + [lo, hi]`` on one axis.

    ``chromosomes`` maps a chromosome to its length or its ``(start, end)`` (Mbp); they are
    laid end to end in genome order.

    >>> genome_offsets({"2": 50.0, "1": (0.0, 100.0)})
    {'1': (0.0, 0.0, 100.0), '2': (100.0, 0.0, 50.0)}
    """
    spans = {}
    for name, span in chromosomes.items():
        lo, hi = (0.0, float(span)) if np.ndim(span) == 0 else (float(span[0]), float(span[1]))
        spans[_chrom_name(name)] = (lo, hi)
    out = {}
    cursor = 0.0
    for chrom in chromosome_order(spans):
        lo, hi = spans[chrom]
        out[chrom] = (cursor - lo, lo, hi)
        cursor += hi - lo + gap
    return out


def _on_genome(offsets: Mapping[str, tuple[float, float, float]], chrom: Any, pos: np.ndarray
               ) -> np.ndarray:  # fmt: skip
    names = np.array([_chrom_name(c) for c in chrom], dtype=object)
    shift = np.array([offsets[c][0] if c in offsets else np.nan for c in names], dtype=float)
    return shift + pos


def _chromosome_axis(ax: Any, offsets: Mapping[str, tuple[float, float, float]], *,
                     axis: str = "x", shade: bool = False) -> None:  # fmt: skip
    ticks, labels = [], []
    for k, (chrom, (off, lo, hi)) in enumerate(offsets.items()):
        a, b = off + lo, off + hi
        ticks.append((a + b) / 2)
        labels.append(chrom)
        if shade and k % 2:
            ax.axvspan(a, b, color="#f0f2f5", zorder=0)
        if k:
            (ax.axvline if axis == "x" else ax.axhline)(a, color="0.8", lw=0.6, zorder=0)
    first = next(iter(offsets.values()))
    last = list(offsets.values())[-1]
    limits = (first[0] + first[1], last[0] + last[2])
    if axis == "x":
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, fontsize=7)
        ax.set_xlim(*limits)
    else:
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_ylim(*limits)


def plot_cistrans(peaks: pd.DataFrame, *, chromosomes: Mapping[str, Any],
                  title: str | None = None) -> Any:  # fmt: skip
    """The cis/trans map: peak position (x) against the trait's gene position (y), genome-wide.

    ``peaks`` has ``chr``, ``pos`` (Mbp), ``lod``, ``gene_chr`` and ``gene_start`` (bp); peaks
    without a gene, or with one on a chromosome outside ``chromosomes``, are left out (the
    title says how many).
    """
    from matplotlib.figure import Figure

    offsets = genome_offsets(chromosomes)
    x = _on_genome(offsets, peaks["chr"], pd.to_numeric(peaks["pos"]).to_numpy(dtype=float))
    gene = pd.to_numeric(peaks["gene_start"], errors="coerce").to_numpy(dtype=float) / 1e6
    y = _on_genome(offsets, peaks["gene_chr"].fillna(""), gene)
    lod = pd.to_numeric(peaks["lod"], errors="coerce").to_numpy(dtype=float)
    shown = np.isfinite(x) & np.isfinite(y)
    fig = Figure(figsize=(7.5, 7))
    ax = fig.add_subplot()
    order = np.argsort(lod[shown], kind="stable")  # the strongest drawn last, on top
    dots = ax.scatter(x[shown][order], y[shown][order], c=lod[shown][order], s=6,
                      cmap="viridis", linewidths=0)  # fmt: skip
    _chromosome_axis(ax, offsets, axis="x")
    _chromosome_axis(ax, offsets, axis="y")
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("QTL position (chromosome)")
    ax.set_ylabel("gene position (chromosome)")
    left = int((~shown).sum())
    ax.set_title((title or "cis/trans map") + (f" ({left} peaks without a placed gene left out)"
                                               if left else ""), fontsize=10)  # fmt: skip
    fig.colorbar(dots, ax=ax, label="LOD", shrink=0.7)
    fig.tight_layout()
    return fig


def plot_hotspots(result: HotspotResult, *, title: str | None = None) -> Any:
    """Peaks per window along the genome, the permutation threshold dashed, hotspots labelled."""
    from matplotlib.figure import Figure

    track = result.track
    spans = {c: (float(part["start"].min()), float(part["end"].max()))
             for c, part in track.groupby("chr", sort=False)}  # fmt: skip
    offsets = genome_offsets(spans)
    mid = _on_genome(offsets, track["chr"],
                     (track["start"] + result.window / 2).to_numpy(dtype=float))  # fmt: skip
    fig = Figure(figsize=(11, 3.6))
    ax = fig.add_subplot()
    _chromosome_axis(ax, offsets, axis="x", shade=True)
    for chrom in offsets:
        rows = (track["chr"] == chrom).to_numpy()
        ax.plot(mid[rows], track["n_peaks"].to_numpy()[rows], color=TRACK_COLOR, lw=0.9)
    ax.axhline(result.threshold, ls="--", lw=0.9, color=THRESHOLD_COLOR)
    ax.text(ax.get_xlim()[1], result.threshold,
            f" {1 - result.alpha:.0%} threshold ({result.threshold:g})", va="bottom", ha="right",
            fontsize=7, color=THRESHOLD_COLOR)  # fmt: skip
    for row in result.hotspots.itertuples():
        px = offsets[row.chr][0] + row.pos
        ax.annotate(f"{row.id}: chr {row.chr} {row.pos:.1f} ({row.n_peaks})",
                    (px, track["n_peaks"].max() if len(track) else 0), fontsize=7,
                    ha="center", va="bottom", color=HIGHLIGHT_COLOR)  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Chromosome")
    ax.set_ylabel(f"peaks per {result.window:g} Mbp")
    counted = "distal peaks" if result.null.startswith("distal") else "peaks"
    ax.set_title(title or f"hotspots of {result.n_peaks} {counted}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_mediation(table: pd.DataFrame, *, at: tuple[str, float] | None = None,
                   column: str = "lod_drop", n_label: int = 10,
                   title: str | None = None) -> Any:  # fmt: skip
    """Each candidate mediator's position against its LOD drop; the top ones labelled.

    ``table`` is :attr:`MediationResult.table` (or a hotspot summary, ``column`` naming the
    drop). With ``chr`` and ``start`` (bp) the x axis is the position: along one chromosome when
    every candidate lies on it, else along the genome; without them, the rank.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4))
    ax = fig.add_subplot()
    value = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
    label_col = next((c for c in ("symbol", "mediator") if c in table.columns), None)
    labels = table[label_col].astype(str).to_numpy() if label_col else np.array([])
    if label_col == "symbol":
        labels = np.where(table["symbol"].isna(), table["mediator"].astype(str), labels)
    has_pos = {"chr", "start"} <= set(table.columns)
    pos = (pd.to_numeric(table["start"], errors="coerce").to_numpy(dtype=float) / 1e6
           if has_pos else np.arange(1, len(table) + 1, dtype=float))  # fmt: skip
    chroms = {_chrom_name(c) for c in table["chr"] if _chrom_name(c)} if has_pos else set()
    if has_pos and len(chroms) == 1:
        x = pos
        ax.set_xlabel(f"mediator position on chr {next(iter(chroms))} (Mbp)")
        if at is not None and _chrom_name(at[0]) in chroms:
            ax.axvline(float(at[1]), color=HIGHLIGHT_COLOR, ls=":", lw=1)
    elif has_pos and chroms:
        spans: dict[str, tuple[float, float]] = {}
        for c, p in zip(table["chr"], pos, strict=True):
            c = _chrom_name(c)
            if c and np.isfinite(p):
                lo, hi = spans.get(c, (p, p))
                spans[c] = (min(lo, p, 0.0), max(hi, p))
        offsets = genome_offsets(spans)
        x = _on_genome(offsets, table["chr"].fillna(""), pos)
        _chromosome_axis(ax, offsets, axis="x", shade=True)
        ax.set_xlabel("mediator position (chromosome)")
        if at is not None and _chrom_name(at[0]) in offsets:
            ax.axvline(offsets[_chrom_name(at[0])][0] + float(at[1]), color=HIGHLIGHT_COLOR,
                       ls=":", lw=1)  # fmt: skip
    else:
        x = pos
        ax.set_xlabel("rank")
    ok = np.isfinite(x) & np.isfinite(value)
    ax.scatter(x[ok], value[ok], s=10, color=TRACK_COLOR, linewidths=0)
    top = np.argsort(-np.where(ok, value, -np.inf), kind="stable")[: max(0, n_label)]
    for i in top:
        if ok[i] and label_col:
            ax.scatter([x[i]], [value[i]], s=18, color=HIGHLIGHT_COLOR)
            ax.annotate(str(labels[i]), (x[i], value[i]), xytext=(3, 3),
                        textcoords="offset points", fontsize=7)  # fmt: skip
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_ylabel("LOD drop" if column == "lod_drop" else column.replace("_", " "))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
