"""Moving positions between assemblies by gene anchors, and telling GRCm38 from GRCm39.

No chain files are shipped with translocus, so positions move between assemblies through
*gene anchors*: genes present in both assemblies' Ensembl tables under the same stable
ID, on the same chromosome, with the same length (so the gene itself did not change).
A position inside an anchor moves by that anchor's offset exactly; a position between
anchors moves by the offset interpolated between the nearest anchor on each side, after
anchors whose offset disagrees with the local median by more than 100 kb (moved or
re-annotated genes) are set aside. ``spread_bp`` (the difference of the two flanking
offsets) bounds the error for a position between anchors. Across the human genome the
GRCh37→GRCh38 offsets change slowly outside assembly-gap fixes, so this is accurate to a
few kb for GWAS lead SNPs, which is far below the ±500 kb windows used to match loci.

Build detection answers "were these mouse coordinates GRCm38 (mm10) rather than GRCm39?"
from two signals: a position beyond the GRCm39 chromosome end but within GRCm38, and,
when the caller names genes that should lie in the interval, which assembly's gene
coordinates place them there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, normalize_chr
from translocus.translate.genes import GeneTable, load_genes

__all__ = [
    "AssemblyCheck",
    "GeneAnchorLift",
    "check_mouse_interval",
    "gene_anchor_lift",
]

_OUTLIER_BP = 100_000
_NEIGHBOURS = 10


@dataclass(frozen=True)
class LiftedPosition:
    """A position moved between assemblies (``pos`` is ``None`` when it cannot be)."""

    chr: str
    pos: int | None
    anchor: str
    spread_bp: int


class GeneAnchorLift:
    """Lift positions from ``source`` to ``target`` assembly through shared genes.

    Parameters
    ----------
    source, target
        Gene tables of the same species on two assemblies.
    """

    def __init__(self, source: GeneTable, target: GeneTable) -> None:
        if source.species != target.species:
            raise InputError(
                f"cannot lift between species ({source.species} -> {target.species}); "
                "use orthology to change species."
            )
        self.source_assembly = source.assembly
        self.target_assembly = target.assembly
        a = source.genes[["gene_id", "symbol", "chr", "start", "end"]]
        b = target.genes[["gene_id", "chr", "start", "end"]]
        both = a.merge(b, on="gene_id", suffixes=("", "_t"))
        same = (both["chr"] == both["chr_t"]) & (
            (both["end"] - both["start"]) == (both["end_t"] - both["start_t"])
        )
        anchors = both[same].copy()
        anchors["offset"] = anchors["start_t"] - anchors["start"]
        self.anchors: dict[str, pd.DataFrame] = {
            str(c): g.sort_values("start").reset_index(drop=True)
            for c, g in anchors.groupby("chr", sort=False)
        }

    @property
    def n_anchors(self) -> int:
        """Number of anchor genes over all chromosomes."""
        return int(sum(len(v) for v in self.anchors.values()))

    def lift(self, chr: str, pos: float) -> LiftedPosition:
        """Move one position; ``pos=None`` in the answer when the chromosome has no anchors."""
        name = normalize_chr(chr)
        table = self.anchors.get(name)
        if table is None or table.empty:
            return LiftedPosition(name, None, "", 0)
        starts = table["start"].to_numpy(np.int64)
        ends = table["end"].to_numpy(np.int64)
        offsets = table["offset"].to_numpy(np.int64)
        mid = (starts + ends) / 2.0
        nearest = np.argsort(np.abs(mid - pos), kind="stable")[:_NEIGHBOURS]
        median = float(np.median(offsets[nearest]))
        good = np.abs(offsets - median) <= _OUTLIER_BP
        inside = np.flatnonzero(good & (starts <= pos) & (ends >= pos))
        if len(inside):
            i = int(inside[0])
            return LiftedPosition(name, int(round(pos + offsets[i])), str(table["symbol"][i]), 0)
        left = np.flatnonzero(good & (ends < pos))
        right = np.flatnonzero(good & (starts > pos))
        if len(left) == 0 and len(right) == 0:
            return LiftedPosition(name, None, "", 0)
        if len(left) == 0 or len(right) == 0:
            i = int(right[0] if len(left) == 0 else left[-1])
            return LiftedPosition(name, int(round(pos + offsets[i])), str(table["symbol"][i]), 0)
        # the left anchor nearest by its end, the right one nearest by its start
        li = int(left[np.argmax(ends[left])])
        ri = int(right[0])
        span = starts[ri] - ends[li]
        weight = (pos - ends[li]) / span if span > 0 else 0.5
        offset = offsets[li] + weight * (offsets[ri] - offsets[li])
        anchor = f"{table['symbol'][li]}|{table['symbol'][ri]}"
        return LiftedPosition(
            name, int(round(pos + offset)), anchor, int(abs(offsets[ri] - offsets[li]))
        )

    def lift_many(self, chrs: Sequence[object], positions: Sequence[float]) -> pd.DataFrame:
        """Lift several positions: columns ``chr, pos, pos_lifted, anchor, spread_bp``."""
        rows = []
        for c, p in zip(chrs, positions, strict=True):
            lifted = self.lift(str(c), float(p))
            rows.append(
                {
                    "chr": lifted.chr,
                    "pos": p,
                    "pos_lifted": lifted.pos,
                    "anchor": lifted.anchor,
                    "spread_bp": lifted.spread_bp,
                }
            )
        return pd.DataFrame(rows)


@functools.lru_cache(maxsize=4)
def _lift_cached(species: str, source: str, target: str) -> GeneAnchorLift:
    return GeneAnchorLift(load_genes(species, source), load_genes(species, target))


def gene_anchor_lift(species: str, source: str, target: str) -> GeneAnchorLift:
    """The (cached) gene-anchor lift for ``species`` from ``source`` to ``target``.

    >>> lift = gene_anchor_lift("human", "GRCh37", "GRCh38")  # doctest: +SKIP
    >>> lift.lift("19", 45411941).pos  # rs429358 (APOE); dbSNP GRCh38: 44908684  # doctest: +SKIP
    44908684
    """
    return _lift_cached(species, source, target)


@dataclass(frozen=True)
class AssemblyCheck:
    """Verdict on which mouse assembly an interval's coordinates are on.

    ``likely`` is ``"GRCm39"``, ``"GRCm38"`` or ``"either"`` (no evidence either way);
    ``message`` is a sentence for the user (empty when nothing is suspicious).
    """

    likely: str
    message: str
    evidence: dict[str, object]


def check_mouse_interval(
    *,
    chr: str,
    start_bp: float,
    end_bp: float,
    assembly: str = "GRCm39",
    expected_genes: Sequence[str] | None = None,
) -> AssemblyCheck:
    """Say whether ``chr:start_bp-end_bp`` looks like GRCm38 coordinates given as GRCm39.

    Parameters
    ----------
    chr, start_bp, end_bp
        The interval in bp.
    assembly
        The assembly the caller says the coordinates are on.
    expected_genes
        Mouse gene symbols or Ensembl IDs that should lie in the interval (for example the
        genes a paper reports under the QTL). When they fall in the interval by one
        assembly's coordinates and not the other's, that decides.

    Raises
    ------
    InputError
        When the interval runs past the chromosome's end on both mouse assemblies.
    """
    name = normalize_chr(chr)
    other = "GRCm38" if assembly == "GRCm39" else "GRCm39"
    if assembly not in ("GRCm39", "GRCm38"):
        raise InputError(f"mouse assembly must be GRCm39 or GRCm38, not {assembly!r}.")
    stated = CHROMOSOME_LENGTHS[assembly].get(name)
    alternative = CHROMOSOME_LENGTHS[other].get(name)
    if stated is None:
        raise InputError(f"chromosome {chr!r} is not a mouse chromosome; use 1-19, X, Y or MT.")
    evidence: dict[str, object] = {f"{assembly}_length": stated, f"{other}_length": alternative}
    if end_bp > stated:
        if alternative is not None and end_bp <= alternative:
            return AssemblyCheck(
                other,
                f"{name}:{start_bp / 1e6:.3f}-{end_bp / 1e6:.3f} Mbp runs past the end of "
                f"chromosome {name} on {assembly} ({stated / 1e6:.3f} Mbp) but fits {other} "
                f"({alternative / 1e6:.3f} Mbp): these look like {other} coordinates; "
                f"pass assembly='{other}' (CLI: --assembly {other}).",
                evidence,
            )
        raise InputError(
            f"interval {name}:{start_bp / 1e6:.3f}-{end_bp / 1e6:.3f} Mbp runs past the end of "
            f"chromosome {name} ({stated / 1e6:.3f} Mbp on {assembly}); check the chromosome "
            "and that positions are in Mbp."
        )
    if expected_genes:
        counts: dict[str, int] = {}
        for asm in (assembly, other):
            table = load_genes("mouse", asm)
            inside = table.genes.iloc[table.interval_rows(name, start_bp, end_bp)]
            keys = set(inside["gene_id"]) | set(inside["symbol"].dropna().str.casefold())
            counts[asm] = sum(1 for g in expected_genes if g in keys or str(g).casefold() in keys)
        evidence["expected_genes_inside"] = counts
        n = len(expected_genes)
        if counts[other] > counts[assembly]:
            return AssemblyCheck(
                other,
                f"{counts[other]} of {n} expected gene(s) lie in the interval by {other} "
                f"coordinates but only {counts[assembly]} by {assembly}: the interval looks "
                f"like {other} coordinates; pass assembly='{other}' (CLI: --assembly {other}).",
                evidence,
            )
        if counts[assembly] == 0:
            return AssemblyCheck(
                "either",
                f"none of the {n} expected gene(s) lie in the interval on either assembly; "
                "check the chromosome and the positions.",
                evidence,
            )
        return AssemblyCheck(assembly, "", evidence)
    return AssemblyCheck("either", "", evidence)
