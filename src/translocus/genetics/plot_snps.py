"""SNP association plots: LOD at each founder variant with the genes underneath.

Like R/qtl2's ``plot_snpasso(..., genes=)``: the top panel shows the LOD score of every variant
by position (each variant takes the LOD of its index SNP), those within ``drop_hilit`` of the
maximum highlighted; the bottom panel draws the genes of the region as bars in rows that do
not overlap, labelled with their names and strand.

>>> import pandas as pd
>>> table = pd.DataFrame({"snp": ["a", "b", "c"], "chr": "2", "pos": [97.0, 97.2, 97.5],
...                       "lod": [1.0, 4.0, 3.5]})
>>> genes = pd.DataFrame({"Name": ["Lrrc4c"], "start": [96.9], "stop": [97.3], "strand": ["+"]})
>>> fig = plot_snpasso(table, lodcolumn="lod", genes=genes, drop_hilit=1.0)
>>> len(fig.axes)
2
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["arrange_genes", "plot_genes", "plot_snpasso"]

#: R/qtl2's colours: variants, highlighted variants, and the gene colours in turn.
SNP_COLOR = "darkslateblue"
HILIT_COLOR = "mediumvioletred"
GENE_COLORS = ("black", "#CD0000", "#008B00", "#0000CD", "orange")


def arrange_genes(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Row (1, 2, ...) of each gene so that genes in one row do not overlap (greedy, by start).

    >>> arrange_genes(np.array([0.0, 1.0, 5.0]), np.array([2.0, 3.0, 6.0])).tolist()
    [1, 2, 1]
    """
    rows = np.zeros(len(start), dtype=np.int64)
    ends: list[float] = []
    for i in np.argsort(start, kind="stable"):
        for row, last in enumerate(ends):
            if start[i] > last:
                rows[i] = row + 1
                ends[row] = float(end[i])
                break
        else:
            ends.append(float(end[i]))
            rows[i] = len(ends)
    return rows


def plot_genes(ax: Any, genes: pd.DataFrame, *, xlim: tuple[float, float],
               minrow: int = 4) -> None:  # fmt: skip
    """Draw ``genes`` (``Name``, ``start``, ``stop`` in Mbp, ``strand``) on ``ax``."""
    ax.set_xlim(*xlim)
    ax.set_yticks([])
    ax.set_facecolor("0.92")
    if genes is None or len(genes) == 0:
        ax.set_ylim(minrow + 0.5, 0.5)
        ax.text(0.5, 0.5, "no genes in the region", transform=ax.transAxes, ha="center",
                va="center", color="0.4")  # fmt: skip
        return
    start = genes["start"].to_numpy(dtype=float)
    stop = genes["stop"].to_numpy(dtype=float)
    names = genes["Name"].astype(str).to_numpy() if "Name" in genes else np.full(len(genes), "")
    strand = (
        genes["strand"].astype(str).to_numpy() if "strand" in genes else np.full(len(genes), "")
    )
    arrows = np.where(np.isin(strand, ["+", "1", "+1"]), " →",
                      np.where(np.isin(strand, ["-", "-1"]), " ←", ""))  # fmt: skip
    char = (xlim[1] - xlim[0]) / 110.0  # width of a label character, roughly, in Mbp
    label_end = stop + char * np.array([len(n) + len(a) + 1 for n, a in zip(names, arrows,
                                                                              strict=True)])  # fmt: skip
    rows = arrange_genes(start, label_end)
    n_rows = max(int(rows.max()), minrow)
    for i in range(len(genes)):
        color = GENE_COLORS[i % len(GENE_COLORS)]
        ax.add_patch(_bar(start[i], stop[i], rows[i], color))
        ax.text(max(stop[i], xlim[0]) + char / 2, rows[i], f"{names[i]}{arrows[i]}",
                va="center", ha="left", fontsize=7, color=color, clip_on=True)  # fmt: skip
    ax.set_ylim(n_rows + 0.6, 0.4)


def _bar(start: float, stop: float, row: int, color: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((start, row - 0.3), max(stop - start, 1e-6), 0.6, color=color, lw=0.5)


def plot_snpasso(
    table: pd.DataFrame,
    *,
    lodcolumn: str,
    genes: pd.DataFrame | None = None,
    drop_hilit: float | None = 1.5,
    minlod: float = 0.0,
    title: str | None = None,
    xlim: tuple[float, float] | None = None,
    top_panel_prop: float = 0.65,
) -> Any:
    """Plot the LOD of every variant by position, with the genes of the region underneath.

    Parameters
    ----------
    table
        One row per variant: ``chr``, ``pos`` (Mbp) and the LOD column (as
        :meth:`translocus.genetics.snps.SnpScan.to_frame` gives). Several chromosomes are
        drawn side by side (genes then left out).
    lodcolumn
        The column of LODs to plot.
    genes
        Genes of the region (``Name``, ``start``, ``stop``, ``strand``), as
        :func:`~translocus.genetics.snps.create_gene_query_func` returns; ``None`` for the
        LOD panel alone.
    drop_hilit
        Highlight the variants within this LOD of the maximum (``None``: none).
    minlod
        Variants below this LOD are not drawn.
    title
        Title of the plot.
    xlim
        Range of positions (Mbp); default the variants' range.
    top_panel_prop
        Share of the height taken by the LOD panel when genes are drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot.
    """
    from matplotlib.figure import Figure

    pos = table["pos"].to_numpy(dtype=float)
    lod = table[lodcolumn].to_numpy(dtype=float)
    shown = np.isfinite(lod) & (lod >= minlod)
    chroms = pd.unique(table["chr"].astype(str)) if "chr" in table else np.array([])
    centres: list[float] = []
    if len(chroms) > 1:
        # one block per chromosome, side by side with a gap, as R/qtl2's plot_scan1 draws them
        if genes is not None:
            warnings.warn("genes are drawn for one chromosome only; left out", stacklevel=2)
            genes = None
        chr_of = table["chr"].astype(str).to_numpy()
        spans = [(float(pos[chr_of == c].min()), float(pos[chr_of == c].max())) for c in chroms]
        gap = max(sum(hi - lo for lo, hi in spans) / 50.0, 1e-3)
        shifted = pos.copy()
        start = 0.0
        for c, (lo, hi) in zip(chroms, spans, strict=True):
            shifted[chr_of == c] = pos[chr_of == c] - lo + start
            centres.append(start + (hi - lo) / 2.0)
            start += hi - lo + gap
        pos = shifted
    if xlim is None:
        lo, hi = (float(pos.min()), float(pos.max())) if len(pos) else (0.0, 1.0)
        pad = max(hi - lo, 1e-3) * 0.02
        xlim = (lo - pad, hi + pad)
    fig = Figure(figsize=(9, 6 if genes is not None else 4))
    if genes is not None:
        grid = fig.add_gridspec(2, 1, height_ratios=[top_panel_prop, 1 - top_panel_prop],
                                hspace=0.04)  # fmt: skip
        ax = fig.add_subplot(grid[0])
        gene_ax = fig.add_subplot(grid[1], sharex=ax)
    else:
        ax = fig.add_subplot()
        gene_ax = None
    best = float(np.nanmax(lod)) if np.isfinite(lod).any() else 0.0
    hilit = np.zeros(len(lod), dtype=bool)
    if drop_hilit is not None and np.isfinite(lod).any():
        hilit = shown & (lod >= best - float(drop_hilit))
    base = shown & ~hilit
    ax.scatter(pos[base], lod[base], s=6, color=SNP_COLOR, linewidths=0)
    if hilit.any():
        ax.scatter(pos[hilit], lod[hilit], s=9, color=HILIT_COLOR, linewidths=0,
                   label=f"within {drop_hilit:g} of the maximum")  # fmt: skip
        ax.legend(loc="upper right", frameon=False, fontsize=8)
    ax.set_facecolor("0.9")
    ax.set_ylim(0, max(best, 1.0) * 1.05)
    ax.set_xlim(*xlim)
    ax.set_ylabel("LOD score")
    xlabel = f"Chr {chroms[0]} position (Mbp)" if len(chroms) == 1 else "Position (Mbp)"
    if centres:
        ax.set_xticks(centres, [str(c) for c in chroms])
        xlabel = "Chromosome"
    if title:
        ax.set_title(title)
    if gene_ax is not None:
        ax.tick_params(labelbottom=False)
        plot_genes(gene_ax, genes, xlim=xlim)
        gene_ax.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return fig
