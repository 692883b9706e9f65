"""Translation engine: mouse genes, QTL intervals and signatures → human genes and loci.

Offline, from the shared reference tables, with the source and release of every table
recorded as :class:`~translocus.core.provenance.Provenance`:

- :func:`load_orthology` — Ensembl BioMart + HCOP mouse↔human orthologs with homology type
  and confidence; :meth:`Orthology.mouse_to_human` resolves symbols, Ensembl/Entrez IDs
  and synonyms and reports ambiguous or unknown names.
- :func:`load_genes` — gene coordinates (GRCm39/GRCm38, GRCh38/GRCh37): genes in an
  interval, nearest genes.
- :func:`load_loci` — human disease loci (AD GWAS) placed on GRCh38.
- :func:`translate_interval` / :class:`TranslationEngine` — mouse interval → ranked human
  candidates near disease loci; :func:`translate_peaks` for the cause engine's peaks.
- :func:`translate_statistic`, :func:`overrepresentation` — signatures and gene sets.
"""

from translocus.translate.assembly import check_mouse_interval, gene_anchor_lift
from translocus.translate.genes import GeneTable, load_genes
from translocus.translate.genesets import (
    GeneSets,
    benjamini_hochberg,
    mgi_phenotype_gene_sets,
    overrepresentation,
    read_gene_sets,
    translate_genes,
    translate_statistic,
)
from translocus.translate.interval import (
    IntervalTranslation,
    TranslationEngine,
    default_engine,
    parse_interval,
    translate_interval,
)
from translocus.translate.loci import DiseaseLoci, load_loci, read_loci
from translocus.translate.orthology import GeneTranslation, Orthology, load_orthology
from translocus.translate.peaks import PeakTranslation, founder_pattern, read_peaks, translate_peaks

__all__ = [
    "DiseaseLoci",
    "GeneSets",
    "GeneTable",
    "GeneTranslation",
    "IntervalTranslation",
    "Orthology",
    "PeakTranslation",
    "TranslationEngine",
    "benjamini_hochberg",
    "check_mouse_interval",
    "default_engine",
    "founder_pattern",
    "gene_anchor_lift",
    "load_genes",
    "load_loci",
    "load_orthology",
    "mgi_phenotype_gene_sets",
    "overrepresentation",
    "parse_interval",
    "read_gene_sets",
    "read_loci",
    "read_peaks",
    "translate_genes",
    "translate_interval",
    "translate_peaks",
    "translate_statistic",
]
