"""The "Human relevance" section of the demo report (translation engine)."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from translocus.core.provenance import Provenance
from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]

AD_GENES = ["App", "Apoe", "Trem2", "Bin1", "Picalm", "Clu", "Abca7", "Sorl1", "Cd33"]
APOE_INTERVAL = ("7", 18.9, 19.9)


def _find_peaks(workdir: Path) -> Path | None:
    if not workdir.is_dir():
        return None
    for name in ("peaks.parquet", "peaks.csv"):
        found = sorted(workdir.rglob(name))
        if found:
            return found[0]
    return None


def _synteny_figure(candidates: pd.DataFrame, loci: pd.DataFrame, title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
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


def build_section(workdir: Path, *, quick: bool = True) -> ReportSection:
    """Run the translation engine on the AD gene list, the Apoe interval and any scan peaks.

    Parameters
    ----------
    workdir
        The report's working folder; ``peaks.csv``/``peaks.parquet`` found under it (from
        the cause engine) are translated too.
    quick
        Translate at most the 5 strongest peaks (all peaks when ``False``).
    """
    from translocus.translate.genesets import mgi_phenotype_gene_sets, overrepresentation
    from translocus.translate.interval import TranslationEngine, default_engine
    from translocus.translate.orthology import load_orthology
    from translocus.translate.peaks import peaks_assembly, read_peaks, translate_peaks

    parts: list[str] = []
    orthology = load_orthology()
    genes = orthology.mouse_to_human(AD_GENES)
    parts.append(
        "<p>Mouse genes are mapped to human orthologs (Ensembl BioMart, with HCOP support), "
        "their human positions (GRCh38, Ensembl 109) matched against Alzheimer's disease "
        "GWAS lead SNPs (Schwartzentruber et al. 2021; GRCh37 positions moved to GRCh38 by "
        "gene anchors). Ranking: orthologs within the window of a locus first, nearest "
        "first; then one-to-one before one-to-many before many-to-many.</p>"
    )
    parts.append("<h3>Known AD genes, mouse → human</h3>")
    parts.append(
        table_html(
            genes.table[
                [
                    "query",
                    "human_symbol",
                    "homology_type",
                    "confidence",
                    "gene_order_score",
                    "hcop_n_sources",
                    "is_best",
                ]
            ]  # fmt: skip
        )
    )
    notes = "".join(f"<li>{html.escape(m)}</li>" for m in genes.messages())
    if notes:
        parts.append(f"<ul>{notes}</ul>")

    engine = default_engine()
    chr_, start, end = APOE_INTERVAL
    result = engine.interval(chr=chr_, start_mbp=start, end_mbp=end)
    parts.append(f"<h3>An interval around mouse Apoe ({chr_}:{start}-{end} Mbp)</h3>")
    parts.append(f"<p>{html.escape(result.summary())}</p>")
    parts.append(
        table_html(
            result.hits[
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
                ]
            ],  # fmt: skip
            max_rows=12,
        )
    )
    parts.append(
        _synteny_figure(
            result.candidates, engine.loci.loci, f"mouse {chr_}:{start}-{end} Mbp vs human"
        )
    )

    peaks_path = _find_peaks(workdir)
    if peaks_path is not None:
        table, effects, path = read_peaks(peaks_path)
        if "map" in table.columns:  # R/qtl2-style tables mix genetic- and physical-map peaks
            physical = table["map"].astype(str).str.contains("Mbp|pmap", case=False)
            table = table[physical] if physical.any() else table
        keys = [c for c in ("lodcolumn", "chr", "pos") if c in table.columns]
        table = table.drop_duplicates(keys)
        if "lod" in table.columns and quick:
            table = table.sort_values("lod", ascending=False).head(5)
        assembly = peaks_assembly(peaks_path) or "GRCm39"
        peak_engine = engine if assembly == "GRCm39" else TranslationEngine(mouse_assembly=assembly)
        try:
            peaks = translate_peaks(table, effects=effects, engine=peak_engine)
        except ValueError as exc:  # InputError: report it instead of failing the report
            parts.append(f"<p>Peaks in {html.escape(path)} could not be translated: "
                         f"{html.escape(str(exc))}</p>")  # fmt: skip
        else:
            parts.append(f"<h3>QTL peaks from the genome scan ({html.escape(path)})</h3>")
            parts.append(
                f"<p>Support intervals read as {assembly} coordinates (Mbp).</p>"
                + table_html(
                    peaks.peaks[
                        [
                            c
                            for c in [
                                "lodcolumn",
                                "chr",
                                "pos",
                                "lod",
                                "start_mbp",
                                "end_mbp",
                                "n_genes",
                                "n_one2one",
                                "n_near_locus",
                                "top_candidate",
                                "founder_pattern",
                            ]
                            if c in peaks.peaks.columns
                        ]
                    ]  # fmt: skip
                )
            )
            if peaks.messages:
                items = "".join(f"<li>{html.escape(m)}</li>" for m in peaks.messages[:10])
                parts.append(f"<ul class='note'>{items}</ul>")

    sets = mgi_phenotype_gene_sets()
    human = genes.table.loc[genes.table["status"] == "ok", "human_symbol"].dropna().unique()
    ora = overrepresentation(human, sets)
    parts.append("<h3>Mouse phenotype systems over-represented among the AD genes</h3>")
    parts.append(
        "<p>Hypergeometric test of the 9 human orthologs against MGI mouse-phenotype system "
        "gene sets (universe: genes in any set), Benjamini–Hochberg FDR.</p>"
    )
    parts.append(
        table_html(
            ora[["gene_set", "description", "set_size", "overlap", "fold_enrichment", "p", "fdr"]],
            max_rows=8,
        )
    )
    parts.append("<h3>Sources</h3>")
    parts.append(_provenance_table(result.provenance + (sets.provenance,)))
    return ReportSection(title="Human relevance", body="\n".join(parts))
