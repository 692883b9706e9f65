"""Gene coordinates: genes in an interval and nearest genes, for mouse and human assemblies.

Tables (``/work/shared/data/genes``, from the annotables package): mouse GRCm39 (Ensembl
109) and GRCm38 (Ensembl 90), human GRCh38 (Ensembl 109) and GRCh37. Positions are 1-based
inclusive bp as Ensembl gives them. Only genes on the primary chromosomes (1–19/22, X, Y,
MT) are indexed; genes on scaffolds and alternative haplotypes are left out, because an
interval on a chromosome can never hold them.

Examples
--------
>>> mouse = load_genes("mouse", "GRCm39")  # doctest: +SKIP
>>> mouse.in_interval(chr="7", start_bp=19_000_000, end_bp=19_100_000).symbol.tolist()  # doctest: +SKIP
['Apoc4', 'Apoc2', 'Apoc1', 'Apoe', ...]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, chromosome_length, normalize_chr
from translocus.translate._tables import derived_cached

__all__ = ["GENE_TABLES", "GeneTable", "load_genes"]

#: (species, assembly) -> (file name, Ensembl release, source repository @ commit).
GENE_TABLES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("mouse", "GRCm39"): (
        "mouse_genes_grcm39_ensembl109.csv",
        "Ensembl 109",
        "stephenturner/annotables @ d2e86c7 (grcm39)",
    ),
    ("mouse", "GRCm38"): (
        "mouse_genes_grcm38_ensembl90.csv",
        "Ensembl 90",
        "stephenturner/annotables @ 897db3d (grcm38)",
    ),
    ("human", "GRCh38"): (
        "human_genes_grch38_ensembl109.csv",
        "Ensembl 109",
        "stephenturner/annotables @ d2e86c7 (grch38)",
    ),
    ("human", "GRCh37"): (
        "human_genes_grch37.csv",
        "Ensembl GRCh37 archive",
        "stephenturner/annotables (grch37)",
    ),
}


def _parse_gene_csv(path: Path) -> pd.DataFrame:
    table = pd.read_csv(
        path,
        dtype={
            "ensgene": "string",
            "symbol": "string",
            "chr": "string",
            "biotype": "string",
            "description": "string",
        },
    )
    table["entrez"] = pd.to_numeric(table["entrez"], errors="coerce").astype("Int64")
    table["start"] = table["start"].astype("int64")
    table["end"] = table["end"].astype("int64")
    table["strand"] = table["strand"].fillna(0).astype("int8")
    table["description"] = table["description"].str.replace(r"\s*\[Source:.*\]$", "", regex=True)
    return table


@dataclass(frozen=True)
class _ChrIndex:
    rows: np.ndarray  # int64 row numbers of the gene table, sorted by start
    starts: np.ndarray
    ends: np.ndarray
    max_length: int


@dataclass
class GeneTable:
    """Gene positions of one species and assembly, indexed for interval queries.

    Attributes
    ----------
    species, assembly, release
        ``"mouse"``/``"human"``, ``"GRCm39"``…, ``"Ensembl 109"``….
    genes
        One row per Ensembl gene: ``gene_id, symbol, entrez, chr, start, end, strand,
        biotype, description`` (positions in bp, 1-based inclusive), sorted by chromosome
        then start. The row number is the gene's position in every index array.
    entrez
        Every (Entrez ID, gene_id) pair of the source table (a gene may have several).
    provenance
        Source, release and licence of the table.
    """

    species: str
    assembly: str
    release: str
    genes: pd.DataFrame
    entrez: pd.DataFrame
    provenance: Provenance
    _index: dict[str, _ChrIndex] = field(init=False, repr=False)
    _row_of_id: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        starts = self.genes["start"].to_numpy(np.int64)
        ends = self.genes["end"].to_numpy(np.int64)
        chrs = self.genes["chr"].to_numpy(object)
        index: dict[str, _ChrIndex] = {}
        for name in pd.unique(chrs):
            rows = np.flatnonzero(chrs == name)
            rows = rows[np.argsort(starts[rows], kind="stable")]
            lengths = ends[rows] - starts[rows]
            index[str(name)] = _ChrIndex(
                rows=rows,
                starts=starts[rows],
                ends=ends[rows],
                max_length=int(lengths.max()) if len(rows) else 0,
            )
        self._index = index
        self._row_of_id = {gid: i for i, gid in enumerate(self.genes["gene_id"].tolist())}

    def __len__(self) -> int:
        return len(self.genes)

    @property
    def chromosomes(self) -> list[str]:
        """Chromosomes of the assembly, in karyotype order."""
        return list(CHROMOSOME_LENGTHS[self.assembly])

    def chromosome_length(self, chr: str) -> int:
        """Length of ``chr`` in bp."""
        return chromosome_length(self.assembly, chr)

    def rows_of(self, gene_ids: object) -> np.ndarray:
        """Row numbers of Ensembl gene IDs (``-1`` where the ID is not in the table)."""
        ids = pd.Series(gene_ids, dtype="object").astype(str).str.split(".").str[0]
        return np.array([self._row_of_id.get(g, -1) for g in ids], dtype=np.int64)

    def interval_rows(self, chr: str, start_bp: float, end_bp: float) -> np.ndarray:
        """Row numbers (sorted by start) of genes overlapping ``[start_bp, end_bp]``."""
        idx = self._index.get(normalize_chr(chr))
        if idx is None:
            return np.empty(0, dtype=np.int64)
        lo = int(np.searchsorted(idx.starts, start_bp - idx.max_length, side="left"))
        hi = int(np.searchsorted(idx.starts, end_bp, side="right"))
        window = slice(lo, hi)
        keep = idx.ends[window] >= start_bp
        return idx.rows[window][keep]

    def in_interval(self, *, chr: str, start_bp: float, end_bp: float) -> pd.DataFrame:
        """Genes overlapping ``chr:start_bp-end_bp`` (bp, inclusive), sorted by start.

        Raises :class:`~translocus.core.errors.InputError` for an unknown chromosome, an
        interval whose start exceeds its end, or one past the chromosome's end.
        """
        self._check_interval(chr, start_bp, end_bp)
        return self.genes.iloc[self.interval_rows(chr, start_bp, end_bp)].reset_index(drop=True)

    def nearest(
        self, *, chr: str, pos_bp: float, n: int = 5, protein_coding_only: bool = False
    ) -> pd.DataFrame:
        """The ``n`` genes nearest to ``chr:pos_bp`` with their ``distance_bp``.

        Distance is 0 for genes whose body contains the position, otherwise the gap to
        the nearer end of the gene.
        """
        length = self.chromosome_length(chr)
        if not 0 <= pos_bp <= length:
            raise InputError(
                f"position {pos_bp:,.0f} is outside chromosome {chr} of {self.assembly} "
                f"(length {length:,} bp); give a position between 0 and {length:,}."
            )
        idx = self._index.get(normalize_chr(chr))
        if idx is None or n <= 0:
            return self.genes.iloc[[]].assign(distance_bp=pd.Series(dtype="int64"))
        distance = np.maximum(0, np.maximum(idx.starts - pos_bp, pos_bp - idx.ends))
        rows = idx.rows
        if protein_coding_only:
            coding = (self.genes["biotype"].to_numpy(object)[rows] == "protein_coding").astype(bool)
            rows, distance = rows[coding], distance[coding]
        order = np.argsort(distance, kind="stable")[:n]
        out = self.genes.iloc[rows[order]].reset_index(drop=True)
        out["distance_bp"] = distance[order].astype(np.int64)
        return out

    def _check_interval(self, chr: str, start_bp: float, end_bp: float) -> None:
        length = self.chromosome_length(chr)
        if start_bp > end_bp:
            raise InputError(
                f"interval {chr}:{start_bp:,.0f}-{end_bp:,.0f} starts after it ends; give "
                "start <= end."
            )
        if start_bp < 0:
            raise InputError(
                f"interval {chr}:{start_bp:,.0f}-{end_bp:,.0f} starts before 0; give a "
                "non-negative start."
            )
        if end_bp > length:
            raise InputError(
                f"interval {chr}:{start_bp:,.0f}-{end_bp:,.0f} runs past the end of "
                f"chromosome {normalize_chr(chr)} of {self.assembly} ({length:,} bp); check "
                "the chromosome, the units (Mbp) and the assembly, or end the interval at "
                f"{length:,}."
            )


def _parse_gene_csv_plain(path: Path) -> pd.DataFrame:
    table = _parse_gene_csv(path)
    for column in ("ensgene", "symbol", "chr", "biotype", "description"):
        table[column] = table[column].astype(object).where(table[column].notna(), None)
    return table


def _processed_genes(raw: pd.DataFrame, assembly: str) -> pd.DataFrame:
    primary = set(CHROMOSOME_LENGTHS[assembly])
    raw = raw[raw["ensgene"].notna()]
    genes = raw.drop_duplicates("ensgene").rename(columns={"ensgene": "gene_id"})
    genes = genes[genes["chr"].isin(primary)]
    order = {name: i for i, name in enumerate(CHROMOSOME_LENGTHS[assembly])}
    genes = (
        genes.assign(_order=genes["chr"].map(order))
        .sort_values(["_order", "start", "gene_id"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    return genes


def _entrez_pairs(raw: pd.DataFrame) -> pd.DataFrame:
    raw = raw[raw["ensgene"].notna() & raw["entrez"].notna()]
    return (
        raw[["entrez", "ensgene"]]
        .drop_duplicates()
        .rename(columns={"ensgene": "gene_id"})
        .reset_index(drop=True)
    )


@functools.lru_cache(maxsize=8)
def _load_genes_cached(species: str, assembly: str, folder: str) -> GeneTable:
    file_name, release, source = GENE_TABLES[(species, assembly)]
    path = Path(folder) / "genes" / file_name
    if not path.is_file():
        raise FileNotFoundError(
            f"gene table {path} is missing; set TRANSLOCUS_DATA to the folder holding "
            "genes/ (see the data MANIFEST)."
        )
    parsed: dict[str, pd.DataFrame] = {}

    def raw() -> pd.DataFrame:  # parse the CSV at most once, and only on a cache miss
        if "raw" not in parsed:
            parsed["raw"] = _parse_gene_csv_plain(path)
        return parsed["raw"]

    genes = derived_cached(
        f"{file_name}.genes", [path], lambda: _processed_genes(raw(), assembly), version="g2"
    )
    entrez = derived_cached(
        f"{file_name}.entrez", [path], lambda: _entrez_pairs(raw()), version="e2"
    )
    provenance = Provenance(
        name=f"{species}_genes_{assembly.lower()}",
        license="GPL-3.0-only",
        source=f"{source}; {release} gene annotation",
        citation="Ensembl (Cunningham et al. 2022, Nucleic Acids Res 50:D988)",
        usage_terms="Ensembl data are free to use; the annotables package is GPL-3.0-only.",
        description=f"{species} gene coordinates, {assembly}, {release} ({len(genes):,} genes "
        "on primary chromosomes)",
    )
    return GeneTable(
        species=species,
        assembly=assembly,
        release=release,
        genes=genes,
        entrez=entrez,
        provenance=provenance,
    )


def load_genes(species: str = "mouse", assembly: str | None = None) -> GeneTable:
    """Load the gene-coordinate table of ``species`` on ``assembly``.

    Parameters
    ----------
    species
        ``"mouse"`` or ``"human"``.
    assembly
        ``"GRCm39"`` (default for mouse), ``"GRCm38"``, ``"GRCh38"`` (default for human)
        or ``"GRCh37"``.

    Returns
    -------
    GeneTable
        Cached per process; the parsed CSV is also cached as parquet on disk.
    """
    assembly = assembly or ("GRCm39" if species == "mouse" else "GRCh38")
    if (species, assembly) not in GENE_TABLES:
        choices = ", ".join(f"{s}/{a}" for s, a in GENE_TABLES)
        raise InputError(f"no gene table for {species}/{assembly}; use one of {choices}.")
    return _load_genes_cached(species, assembly, str(data_dir()))
