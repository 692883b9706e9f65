"""The report's "Human relevance" section.

The ``translate`` pipeline's answers for known AD genes, an interval around mouse Apoe and
the genome scan's peaks.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from translocus.core.provenance import Provenance
from translocus.pipelines.translate import PEAK_VIEW
from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]


def _synteny_figure(candidates: pd.DataFrame, loci: pd.DataFrame, title: str) -> str:
    import matplotlib.pyplot as plt

    placed = candidates.dropna(subset=["human_start"])
    chrom = placed["human_chr"].mode().iloc[0] if len(placed) else None
    placed = placed[placed["human_chr"] == chrom]
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    near = placed["near_locus"].astype(bool)
    ax.scatter(
        placed.loc[~near, "mouse_start_mbp"],
        placed.loc[~near, "human_start"] / 1e6,
        s=14,
        color="#8899aa",
        label="ortholog",
    )
    ax.scatter(
        placed.loc[near, "mouse_start_mbp"],
        placed.loc[near, "human_start"] / 1e6,
        s=22,
        color="#c0392b",
        label="within window of an AD locus",
    )
    for row in placed[near].drop_duplicates("human_symbol").head(6).itertuples():
        ax.annotate(
            str(row.human_symbol),
            (row.mouse_start_mbp, row.human_start / 1e6),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if chrom is not None:
        for locus in loci[loci["chr"] == chrom].itertuples():
            lo, hi = ax.get_ylim()
            if lo <= locus.pos / 1e6 <= hi:
                ax.axhline(locus.pos / 1e6, color="#c0392b", lw=0.8, ls="--")
                ax.text(
                    ax.get_xlim()[0], locus.pos / 1e6, f" {locus.locus_name} lead SNP", fontsize=7,
                    va="bottom", color="#c0392b",
                )  # fmt: skip
    ax.set_xlabel("mouse position (GRCm39, Mbp)")
    ax.set_ylabel(f"human chr {chrom} position (GRCh38, Mbp)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return figure_html(fig, alt=title)


def _provenance_table(provenance: tuple[Provenance, ...]) -> str:
    rows = [
        {"dataset": p.name, "licence": p.license, "source": p.source, "citation": p.citation}
        for p in provenance
    ]
    return table_html(pd.DataFrame(rows).drop_duplicates("dataset"))


def _columns(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return table[[c for c in columns if c in table.columns]]


def build_section(part: dict[str, Any]) -> ReportSection:
    """Render ``{"genes": ..., "interval": ..., "peaks": ..., "loci": ...}`` (translate outputs)."""
    genes, interval = part["genes"], part["interval"]
    parts: list[str] = [
        "<p>Mouse genes are mapped to human orthologs (Ensembl BioMart, with HCOP support), "
        "their human positions (GRCh38, Ensembl 109) matched against Alzheimer's disease "
        "GWAS lead SNPs (Schwartzentruber et al. 2021; GRCh37 positions moved to GRCh38 by "
        "gene anchors). Ranking: orthologs within the window of a locus first, nearest "
        "first; then one-to-one before one-to-many before many-to-many.</p>",
        "<h3>Known AD genes, mouse → human</h3>",
        table_html(
            _columns(
                genes.tables["orthologs"],
                [
                    "query",
                    "human_symbol",
                    "homology_type",
                    "confidence",
                    "gene_order_score",
                    "hcop_n_sources",
                    "is_best",
                ],
            )  # fmt: skip
        ),
    ]
    notes = "".join(f"<li>{html.escape(m)}</li>" for m in genes.messages)
    if notes:
        parts.append(f"<ul>{notes}</ul>")
    facts = interval.facts
    candidates = interval.tables["candidates"]
    where = f"{facts['chr']}:{facts['start_mbp']:g}-{facts['end_mbp']:g}"
    parts.append(f"<h3>An interval around mouse Apoe ({where} Mbp)</h3>")
    if interval.lines:
        parts.append(f"<p>{html.escape(interval.lines[0])}</p>")
    hits = candidates[candidates["near_locus"].astype(bool)]
    parts.append(
        table_html(
            _columns(
                hits,
                [
                    "rank",
                    "mouse_symbol",
                    "human_symbol",
                    "homology_type",
                    "human_chr",
                    "locus_name",
                    "locus_lead_snp",
                    "locus_p",
                    "distance_kb",
                ],
            ),
            max_rows=12,
        )  # fmt: skip
    )
    if "loci" in part:
        parts.append(_synteny_figure(candidates, part["loci"], f"mouse {where} Mbp vs human"))
    peaks = part.get("peaks")
    if peaks is not None:
        summary = peaks.tables["peak_summary"]
        parts.append("<h3>QTL peaks from the genome scan</h3>")
        parts.append(
            f"<p>Support intervals read as {html.escape(str(peaks.facts['assembly']))} "
            "coordinates (Mbp), the build the scan recorded.</p>"
            + table_html(_columns(summary, PEAK_VIEW))
        )
        if peaks.messages:
            items = "".join(f"<li>{html.escape(m)}</li>" for m in peaks.messages[:10])
            parts.append(f"<ul class='note'>{items}</ul>")
    ora = genes.tables.get("overrepresentation")
    if ora is not None:
        parts.append("<h3>Mouse phenotype systems over-represented among the AD genes</h3>")
        parts.append(
            "<p>Hypergeometric test of the 9 human orthologs against MGI mouse-phenotype system "
            "gene sets (universe: genes in any set), Benjamini–Hochberg FDR.</p>"
        )
        parts.append(
            table_html(
                _columns(
                    ora,
                    [
                        "gene_set",
                        "description",
                        "set_size",
                        "overlap",
                        "fold_enrichment",
                        "p",
                        "fdr",
                    ],
                ),
                max_rows=8,
            )  # fmt: skip
        )
    parts.append("<h3>Sources</h3>")
    parts.append(_provenance_table(tuple(interval.provenance) + tuple(genes.provenance)))
    return ReportSection(title="Human relevance", body="\n".join(parts))
