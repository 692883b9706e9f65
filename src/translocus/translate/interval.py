"""Mouse QTL interval → mouse genes → human orthologs → human disease loci.

:class:`TranslationEngine` joins, once, every mouse gene (GRCm39 by default) with its
human orthologs, their GRCh38 positions and the nearest disease locus; an interval query
is then two binary searches and a gather, well under a millisecond.

Ranking of the candidate table
------------------------------
1. protein-coding orthologs within ``window_kb`` of a disease locus' lead SNP (*near*)
   come first, nearest first;
2. then by homology type (one2one, one2many, many2many), higher orthology confidence
   first, and smaller locus p-value;
3. the rest follow by homology type and mouse position.

Distance is measured on GRCh38 between the human gene body and the lead SNP (0 when the
SNP lies inside the gene). Lead SNPs reported on GRCh37 are moved to GRCh38 by gene
anchors (see :mod:`translocus.translate.loci`).

Examples
--------
>>> result = translate_interval(chr="7", start_mbp=18.9, end_mbp=19.2)  # doctest: +SKIP
>>> result.hits[["human_symbol", "locus_name", "distance_kb"]].head(1)  # doctest: +SKIP
  human_symbol locus_name  distance_kb
0         APOE       APOE          0.0
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.provenance import Provenance
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, normalize_chr
from translocus.translate.assembly import AssemblyCheck, check_mouse_interval
from translocus.translate.genes import GeneTable, load_genes
from translocus.translate.loci import DiseaseLoci, load_loci
from translocus.translate.orthology import HOMOLOGY_RANK, Orthology, load_orthology

__all__ = [
    "CANDIDATE_COLUMNS",
    "IntervalTranslation",
    "TranslationEngine",
    "default_engine",
    "parse_interval",
    "translate_interval",
]

CANDIDATE_COLUMNS = [
    "rank",
    "mouse_symbol",
    "mouse_gene_id",
    "mouse_chr",
    "mouse_start_mbp",
    "mouse_end_mbp",
    "mouse_biotype",
    "human_symbol",
    "human_gene_id",
    "homology_type",
    "confidence",
    "ortholog_source",
    "human_chr",
    "human_start",
    "human_end",
    "human_biotype",
    "locus_name",
    "locus_lead_snp",
    "locus_p",
    "distance_kb",
    "near_locus",
]

_INTERVAL = re.compile(
    r"^\s*(?:chr)?(?P<chr>[0-9]{1,2}|[XYxy]|MT|mt|M|m)\s*[:\s]\s*"
    r"(?P<start>[0-9][0-9_,]*(?:\.[0-9]+)?)\s*(?:-|\.\.|–)\s*"
    r"(?P<end>[0-9][0-9_,]*(?:\.[0-9]+)?)\s*(?P<unit>mbp|mb|bp|kb)?\s*$",
    re.IGNORECASE,
)


def parse_interval(text: str) -> tuple[str, float, float, str]:
    """Parse ``"2:160.5-164.2"`` (Mbp) into ``(chr, start_mbp, end_mbp, note)``.

    Accepts a ``chr`` prefix, ``..`` as the dash, thousands separators and a unit suffix
    (``Mbp`` default, ``kb``, ``bp``). Numbers above 10,000 without a unit are taken as bp
    and the note says so.

    >>> parse_interval("chr7:19.0-19.2")
    ('7', 19.0, 19.2, '')
    >>> parse_interval("2:160500000-164200000")[1:3]
    (160.5, 164.2)
    """
    match = _INTERVAL.match(text)
    if match is None:
        raise InputError(
            f"interval {text!r} is not of the form CHR:START-END in Mbp (e.g. 2:160.5-164.2)."
        )
    chr_ = normalize_chr(match["chr"])
    start = float(match["start"].replace(",", "").replace("_", ""))
    end = float(match["end"].replace(",", "").replace("_", ""))
    unit = (match["unit"] or "").lower()
    note = ""
    if unit == "bp" or (not unit and max(start, end) > 10_000):
        if not unit:
            note = f"interval {text!r} read as bp (numbers above 10,000), i.e. Mbp / 1e6."
        start, end = start / 1e6, end / 1e6
    elif unit == "kb":
        start, end = start / 1e3, end / 1e3
    if start > end:
        raise InputError(f"interval {text!r} starts after it ends; give START <= END.")
    return chr_, start, end, note


@dataclass
class IntervalTranslation:
    """Result of translating one mouse interval.

    The tables are built from the engine's arrays on first access, so a query that only
    needs counts or the top hit never pays for a DataFrame.

    Attributes
    ----------
    chr, start_mbp, end_mbp, assembly
        The query (mouse coordinates, Mbp).
    candidates
        Ranked table of (mouse gene, human ortholog) rows, columns
        :data:`CANDIDATE_COLUMNS` (human positions GRCh38 bp, ``distance_kb`` to the
        nearest locus lead SNP on GRCh38, ``near_locus`` = within ``window_kb``).
    genes
        Every mouse gene in the interval with its number of human orthologs and best
        homology type (``none`` when it has no ortholog).
    window_kb, loci_name
        The window and the disease-loci table used.
    messages
        Sentences for the user: build warnings, empty results.
    provenance
        Sources of every table used.
    """

    chr: str
    start_mbp: float
    end_mbp: float
    assembly: str
    candidate_columns: dict[str, np.ndarray] = field(repr=False)
    gene_columns: dict[str, np.ndarray] = field(repr=False)
    window_kb: float
    loci_name: str
    messages: list[str] = field(default_factory=list)
    provenance: tuple[Provenance, ...] = ()

    @functools.cached_property
    def candidates(self) -> pd.DataFrame:
        """Human candidate genes, one row each."""
        return pd.DataFrame(self.candidate_columns)

    @functools.cached_property
    def genes(self) -> pd.DataFrame:
        """Mouse genes in the interval with their best human homology, one row each."""
        inverse = {v: k for k, v in HOMOLOGY_RANK.items()}
        columns = dict(self.gene_columns)
        columns["best_homology"] = np.array(
            [inverse[int(b)] for b in columns["best_homology"]], dtype=object
        )
        return pd.DataFrame(columns)

    @property
    def n_near_locus(self) -> int:
        """Number of distinct human orthologs within the window of a locus."""
        near = self.candidate_columns["near_locus"]
        return len(set(self.candidate_columns["human_gene_id"][near].tolist()))

    @property
    def hits(self) -> pd.DataFrame:
        """Candidates within the window of a disease locus, best first."""
        return self.candidates[self.candidates["near_locus"]].reset_index(drop=True)

    @property
    def n_genes(self) -> int:
        """Number of mouse genes in the interval."""
        return len(self.gene_columns["gene_id"])

    @property
    def n_one2one(self) -> int:
        """Mouse genes in the interval with a one-to-one human ortholog."""
        return int((self.gene_columns["best_homology"] == HOMOLOGY_RANK["one2one"]).sum())

    @property
    def n_with_ortholog(self) -> int:
        """Mouse genes in the interval with at least one human ortholog."""
        return int((self.gene_columns["n_orthologs"] > 0).sum())

    def summary(self) -> str:
        """One sentence in the words a disease researcher would use."""
        coding = int((self.gene_columns["biotype"] == "protein_coding").sum())
        hits = self.hits
        head = (
            f"{self.chr}:{self.start_mbp:.3f}-{self.end_mbp:.3f} Mbp ({self.assembly}) holds "
            f"{self.n_genes} genes ({coding} protein-coding); {self.n_with_ortholog} have a human "
            f"ortholog, {self.n_one2one} one-to-one; "
        )
        if hits.empty:
            return head + (
                f"none lies within {self.window_kb:g} kb of a locus in {self.loci_name}."
            )
        genes = hits.drop_duplicates("human_gene_id")
        names = ", ".join(
            f"{r.human_symbol} ({r.distance_kb:.0f} kb from {r.locus_name})"
            for r in genes.head(5).itertuples()
        )
        more = "" if len(genes) <= 5 else f" and {len(genes) - 5} more"
        return head + (
            f"{len(genes)} protein-coding human ortholog(s) lie within {self.window_kb:g} kb "
            f"of a locus in {self.loci_name}: {names}{more}."
        )


class TranslationEngine:
    """Precomputed mouse gene → human ortholog → disease locus table for fast queries.

    Parameters
    ----------
    orthology
        Ortholog pairs (default: :func:`~translocus.translate.orthology.load_orthology`).
    loci
        Disease loci: a :class:`DiseaseLoci` or a built-in name (``"ad"`` default).
    window_kb
        A human ortholog is *near* a locus when its gene body lies within this distance of
        the lead SNP.
    mouse_assembly
        ``"GRCm39"`` (default, Ensembl 109 genes) or ``"GRCm38"`` (Ensembl 90 genes) —
        the assembly of the query coordinates.
    coding_only
        Only protein-coding human orthologs count as *near* a locus (default). Small-RNA
        and pseudogene "orthologs" (e.g. U6 snRNA copies) otherwise produce hits that
        mean nothing; they stay in the candidate table either way.
    """

    def __init__(
        self,
        *,
        orthology: Orthology | None = None,
        loci: DiseaseLoci | str = "ad",
        window_kb: float = 500.0,
        mouse_assembly: str = "GRCm39",
        coding_only: bool = True,
    ) -> None:
        if window_kb < 0:
            raise InputError(f"window_kb must be >= 0, not {window_kb}.")
        if mouse_assembly not in ("GRCm39", "GRCm38"):
            raise InputError(f"mouse assembly must be GRCm39 or GRCm38, not {mouse_assembly!r}.")
        self.orthology = orthology if orthology is not None else load_orthology()
        self.loci = load_loci(loci) if isinstance(loci, str) else loci
        self.window_kb = float(window_kb)
        self.mouse_assembly = mouse_assembly
        self.coding_only = bool(coding_only)
        self.mouse_genes: GeneTable = load_genes("mouse", mouse_assembly)
        self.human_genes: GeneTable = load_genes("human", "GRCh38")
        self._build()

    @property
    def provenance(self) -> tuple[Provenance, ...]:
        """Provenance of the orthology, gene and loci tables, each once."""
        seen = {p.name: p for p in self.orthology.provenance}
        seen[self.mouse_genes.provenance.name] = self.mouse_genes.provenance
        seen[self.loci.provenance.name] = self.loci.provenance
        return tuple(seen.values())

    # ------------------------------------------------------------------ precompute
    def _build(self) -> None:
        mouse = self.mouse_genes.genes
        pairs = self.orthology.pairs
        expanded = (
            pd.DataFrame({"mouse_row": np.arange(len(mouse)), "mouse_gene_id": mouse["gene_id"]})
            .merge(pairs, on="mouse_gene_id", how="inner")
            .assign(_rank=lambda d: d["homology_type"].map(HOMOLOGY_RANK))
            .sort_values(
                ["mouse_row", "_rank", "confidence", "gene_order_score"],
                ascending=[True, True, False, False],
                na_position="last",
                kind="stable",
            )
            .reset_index(drop=True)
        )
        rows = expanded["mouse_row"].to_numpy(np.int64)
        self._count = np.bincount(rows, minlength=len(mouse)).astype(np.int64)
        self._first = np.concatenate([[0], np.cumsum(self._count)[:-1]]).astype(np.int64)

        human = self.human_genes.genes
        hrow = self.human_genes.rows_of(expanded["human_gene_id"].to_numpy(object))
        known = hrow >= 0
        safe = np.where(known, hrow, 0)
        h_chr: np.ndarray = human["chr"].to_numpy(object)[safe]
        h_chr[~known] = None
        h_start = np.where(known, human["start"].to_numpy(np.float64)[safe], np.nan)
        h_end = np.where(known, human["end"].to_numpy(np.float64)[safe], np.nan)
        locus, distance = self._nearest_locus(h_chr, h_start, h_end)
        loci = self.loci.loci
        has_locus = locus >= 0
        lsafe = np.where(has_locus, locus, 0)

        def from_loci(column: str, fill: object) -> np.ndarray:
            out = np.full(len(has_locus), fill, dtype=object)
            if len(loci):
                out[has_locus] = loci[column].to_numpy(object)[lsafe[has_locus]]
            return out

        self._pair = {
            "mouse_row": rows,
            "human_symbol": expanded["human_symbol"].to_numpy(object),
            "human_gene_id": expanded["human_gene_id"].to_numpy(object),
            "homology_type": expanded["homology_type"].to_numpy(object),
            "homology_rank": expanded["_rank"].to_numpy(np.int64),
            "confidence": expanded["confidence"].to_numpy(np.float64),
            "ortholog_source": expanded["ortholog_source"].to_numpy(object),
            "human_chr": h_chr,
            "human_start": h_start,
            "human_end": h_end,
            "locus_name": from_loci("locus_name", None),
            "locus_lead_snp": from_loci("lead_snp", None),
            "locus_p": np.where(
                has_locus, loci["p"].to_numpy(np.float64)[lsafe] if len(loci) else np.nan, np.nan
            ),
            "distance_kb": distance / 1e3,
        }
        h_biotype: np.ndarray = human["biotype"].to_numpy(object)[safe]
        h_biotype[~known] = None
        self._pair["human_biotype"] = h_biotype
        near = np.asarray(self._pair["distance_kb"] <= self.window_kb)
        if self.coding_only:
            near &= h_biotype == "protein_coding"
        self._pair["near_locus"] = near
        # no locus on the human gene's chromosome (or no human position): distance unknown
        self._pair["distance_kb"] = np.where(
            np.isfinite(self._pair["distance_kb"]), self._pair["distance_kb"], np.nan
        )
        # sort keys without NaN, computed once
        self._locus_p_key = np.nan_to_num(self._pair["locus_p"], nan=1.0)
        self._confidence_key = -np.nan_to_num(self._pair["confidence"], nan=-1.0)
        self._mouse = {
            "mouse_symbol": mouse["symbol"].to_numpy(object),
            "mouse_gene_id": mouse["gene_id"].to_numpy(object),
            "mouse_chr": mouse["chr"].to_numpy(object),
            "mouse_start_mbp": mouse["start"].to_numpy(np.float64) / 1e6,
            "mouse_end_mbp": mouse["end"].to_numpy(np.float64) / 1e6,
            "mouse_biotype": mouse["biotype"].to_numpy(object),
        }
        best = np.full(len(mouse), HOMOLOGY_RANK["none"], dtype=np.int64)
        np.minimum.at(best, rows, self._pair["homology_rank"])
        self._best_rank = best

    def _nearest_locus(
        self, chrs: np.ndarray, starts: np.ndarray, ends: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest locus (same chromosome) and its distance in bp (inf if none)."""
        n = len(chrs)
        best = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        loci = self.loci.loci.dropna(subset=["pos"])
        for name, group in loci.groupby("chr", sort=False):
            order = np.argsort(group["pos"].to_numpy(np.float64), kind="stable")
            pos = group["pos"].to_numpy(np.float64)[order]
            index = group.index.to_numpy(np.int64)[order]
            rows = np.flatnonzero(chrs == name)
            if len(rows) == 0:
                continue
            s, e = starts[rows], ends[rows]
            # candidates: the last locus at or before the gene end, and the next one
            right = np.searchsorted(pos, e, side="right")
            for cand in (right - 1, right):
                ok = (cand >= 0) & (cand < len(pos))
                c = np.clip(cand, 0, len(pos) - 1)
                d = np.maximum(0.0, np.maximum(s - pos[c], pos[c] - e))
                d = np.where(ok, d, np.inf)
                better = d < dist[rows]
                dist[rows] = np.where(better, d, dist[rows])
                best[rows] = np.where(better, index[c], best[rows])
        return best, dist

    # ------------------------------------------------------------------ queries
    def _check(
        self, chr: str, start_mbp: float, end_mbp: float, expected_genes: list[str] | None
    ) -> tuple[str, list[str]]:
        name = normalize_chr(chr)
        if name not in CHROMOSOME_LENGTHS[self.mouse_assembly]:
            raise InputError(f"chromosome {chr!r} is not a mouse chromosome; use 1-19, X, Y or MT.")
        if not np.isfinite(start_mbp) or not np.isfinite(end_mbp):
            raise InputError("interval start and end must be finite numbers (Mbp).")
        if start_mbp > end_mbp:
            raise InputError(
                f"interval {name}:{start_mbp}-{end_mbp} starts after it ends; give start <= end."
            )
        if start_mbp < 0:
            raise InputError(f"interval {name}:{start_mbp}-{end_mbp} starts below 0 Mbp.")
        check: AssemblyCheck = check_mouse_interval(
            chr=name,
            start_bp=start_mbp * 1e6,
            end_bp=end_mbp * 1e6,
            assembly=self.mouse_assembly,
            expected_genes=expected_genes,
        )
        messages = [check.message] if check.message else []
        if check.likely not in (self.mouse_assembly, "either"):
            length = CHROMOSOME_LENGTHS[self.mouse_assembly][name]
            if end_mbp * 1e6 > length:
                raise InputError(check.message)
        return name, messages

    def interval(
        self,
        *,
        chr: str,
        start_mbp: float,
        end_mbp: float,
        expected_genes: list[str] | None = None,
    ) -> IntervalTranslation:
        """Translate the mouse interval ``chr:start_mbp-end_mbp`` (Mbp) to human.

        Parameters
        ----------
        chr, start_mbp, end_mbp
            The interval on :attr:`mouse_assembly`, in Mbp.
        expected_genes
            Optional mouse genes that should lie in the interval, used to detect GRCm38
            coordinates given as GRCm39 (see :func:`check_mouse_interval`).

        Raises
        ------
        InputError
            Unknown chromosome, start after end, or an interval past the chromosome's end
            (with a note when the coordinates fit GRCm38 instead).
        """
        name, messages = self._check(chr, start_mbp, end_mbp, expected_genes)
        mouse_rows = self.mouse_genes.interval_rows(name, start_mbp * 1e6, end_mbp * 1e6)
        pair_rows = self._pair_rows(mouse_rows)
        columns = self._columns(self._ranked(pair_rows))
        result = IntervalTranslation(
            chr=name,
            start_mbp=float(start_mbp),
            end_mbp=float(end_mbp),
            assembly=self.mouse_assembly,
            candidate_columns=columns,
            gene_columns=self._gene_columns(mouse_rows),
            window_kb=self.window_kb,
            loci_name=self.loci.name,
            messages=messages,
            provenance=self.provenance,
        )
        where = f"{name}:{start_mbp:.3f}-{end_mbp:.3f} Mbp"
        if len(mouse_rows) == 0:
            result.messages.append(
                f"no {self.mouse_assembly} gene overlaps {where}; widen the interval or check "
                "the coordinates."
            )
        elif len(pair_rows) == 0:
            result.messages.append(
                f"none of the {len(mouse_rows)} mouse genes in {where} has a human ortholog."
            )
        elif not bool(columns["near_locus"].any()):
            result.messages.append(
                f"no human ortholog of the genes in {where} lies within {self.window_kb:g} kb "
                f"of a locus in {self.loci.name}."
            )
        return result

    def _pair_rows(self, mouse_rows: np.ndarray) -> np.ndarray:
        counts = self._count[mouse_rows]
        total = int(counts.sum())
        starts = np.repeat(self._first[mouse_rows], counts)
        offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        return starts + offsets

    def _ranked(self, pair_rows: np.ndarray) -> np.ndarray:
        """``pair_rows`` in candidate order."""
        return pair_rows[self._rank_order(pair_rows, None)]

    def _rank_order(self, pair_rows: np.ndarray, group: np.ndarray | None) -> np.ndarray:
        """Permutation of ``pair_rows`` into candidate order (within ``group`` when given)."""
        pair = self._pair
        near = pair["near_locus"][pair_rows]
        keys = [
            self._mouse["mouse_start_mbp"][pair["mouse_row"][pair_rows]],
            np.where(near, self._locus_p_key[pair_rows], 0.0),
            self._confidence_key[pair_rows],
            pair["homology_rank"][pair_rows],
            np.where(near, pair["distance_kb"][pair_rows], 0.0),
            ~near,
        ]
        if group is not None:
            keys.append(group)
        return np.lexsort(keys)

    def _columns(self, take: np.ndarray) -> dict[str, np.ndarray]:
        mouse_row = self._pair["mouse_row"][take]
        data: dict[str, np.ndarray] = {"rank": np.arange(1, len(take) + 1)}
        for column in CANDIDATE_COLUMNS[1:]:
            if column in self._mouse:
                data[column] = self._mouse[column][mouse_row]
            else:
                data[column] = self._pair[column][take]
        return data

    def _gene_columns(self, mouse_rows: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "symbol": self._mouse["mouse_symbol"][mouse_rows],
            "gene_id": self._mouse["mouse_gene_id"][mouse_rows],
            "start_mbp": self._mouse["mouse_start_mbp"][mouse_rows],
            "end_mbp": self._mouse["mouse_end_mbp"][mouse_rows],
            "biotype": self._mouse["mouse_biotype"][mouse_rows],
            "n_orthologs": self._count[mouse_rows],
            "best_homology": self._best_rank[mouse_rows],
        }

    def intervals(self, queries: pd.DataFrame) -> pd.DataFrame:
        """Translate many intervals at once (columns ``chr, start_mbp, end_mbp``).

        Returns the candidates of every interval, with the query's row number in
        ``query``; each interval's rows are ranked as in :meth:`interval`.
        """
        missing = {"chr", "start_mbp", "end_mbp"} - set(queries.columns)
        if missing:
            raise InputError(
                f"interval table lacks column(s) {', '.join(sorted(missing))}; give chr, "
                "start_mbp and end_mbp."
            )
        pair_parts = []
        group_parts = []
        for i, (c, start, end) in enumerate(
            zip(queries["chr"], queries["start_mbp"], queries["end_mbp"], strict=True)
        ):
            name, _ = self._check(str(c), float(start), float(end), None)
            rows = self.mouse_genes.interval_rows(name, float(start) * 1e6, float(end) * 1e6)
            pair_rows = self._pair_rows(rows)
            pair_parts.append(pair_rows)
            group_parts.append(np.full(len(pair_rows), i, dtype=np.int64))
        if not pair_parts:
            return pd.DataFrame(columns=["query", *CANDIDATE_COLUMNS])
        pair_rows = np.concatenate(pair_parts)
        group = np.concatenate(group_parts)
        ranked_index = self._rank_order(pair_rows, group)
        take = pair_rows[ranked_index]
        group = group[ranked_index]
        columns = self._columns(take)
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        rank = np.arange(len(group)) - np.repeat(
            starts, np.diff(np.r_[starts, len(group)]).astype(np.int64)
        )
        columns["rank"] = rank + 1
        return pd.DataFrame({"query": group, **columns})


@functools.lru_cache(maxsize=8)
def _engine_cached(
    loci: str, window_kb: float, mouse_assembly: str, coding_only: bool
) -> TranslationEngine:
    return TranslationEngine(
        loci=loci, window_kb=window_kb, mouse_assembly=mouse_assembly, coding_only=coding_only
    )


def default_engine(
    *,
    loci: str = "ad",
    window_kb: float = 500.0,
    mouse_assembly: str = "GRCm39",
    coding_only: bool = True,
) -> TranslationEngine:
    """A process-wide cached :class:`TranslationEngine` on the shared data tables."""
    if isinstance(loci, str) and Path(loci).is_file():
        raise InputError("pass a loci file through TranslationEngine(loci=read_loci(path)).")
    return _engine_cached(loci, float(window_kb), mouse_assembly, bool(coding_only))


def translate_interval(
    *,
    chr: str,
    start_mbp: float,
    end_mbp: float,
    loci: str = "ad",
    window_kb: float = 500.0,
    mouse_assembly: str = "GRCm39",
    expected_genes: list[str] | None = None,
) -> IntervalTranslation:
    """Translate one mouse interval with the default engine (see :class:`TranslationEngine`)."""
    engine = default_engine(loci=loci, window_kb=window_kb, mouse_assembly=mouse_assembly)
    return engine.interval(
        chr=chr, start_mbp=start_mbp, end_mbp=end_mbp, expected_genes=expected_genes
    )
