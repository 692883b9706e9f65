"""Simulate experimental crosses with known QTL: the built-in data for demos and tests.

Every design is built meiosis by meiosis over a genetic map (no crossover interference:
crossovers per meiosis are Poisson with mean the chromosome length in Morgans, placed
uniformly):

``"do"``
    Diversity Outbred. Eight inbred founders enter CC-like funnels (``A×B``, ``C×D`` …
    → four-way → eight-way G2:F1), each funnel is sib-mated for 4–12 generations (the
    pre-CC progenitors of the real DO, with the weights of Broman 2012), one animal per
    funnel founds the outbred colony, which is then randomly mated (sib matings avoided)
    for ``ngen`` generations with ``n_breeding_pairs`` pairs. SNP genotypes are biallelic
    with simulated founder genotypes, coded like GigaMUGA data in R/qtl2 (``A``/``H``/``B``
    with a ``founder_geno`` table).
``"bxd"``
    BXD-like recombinant inbred strains: C57BL/6J ♀ × DBA/2J ♂, F1 × F1, then sibling
    mating for ``inbreeding_generations`` generations; one female per strain (R/qtl2
    ``risib``; a residual heterozygous call is coded missing, as R/qtl2 expects).
``"f2"``
    An intercross: two inbred strains, F1 × F1 (two meioses per animal).
``"bc"``
    A backcross: (A × B) F1 females × A males.
Inbred lines (one R/qtl2 cross type each)
    ``"riself"``, ``"riself4"``, ``"riself8"``, ``"riself16"``: a funnel of 2-16 founders
    (``A×B``, ``C×D``, then the hybrids, the funnel order random per line and kept as
    ``cross_info``), then selfing for ``inbreeding_generations``; ``"risib4"``,
    ``"risib8"``: the same funnel with sexes (mother on the left), then sibling mating;
    ``"magic19"``: F1s of random pairs of 19 founders intermated to the F4, then selfing;
    ``"dh"``, ``"haploid"``: one gamete of the A × B F1, doubled; ``"dh6"`` and
    ``"genril<N>"``: doubled gametes or sib-mated lines from generation ``ngen`` of a
    randomly mated colony of 6 or ``N`` founders. Lines by selfing and doubled haploids
    have no sex chromosomes (the map's X is simulated as an autosome and not marked as the
    X). Two-founder lines are called AA/BB; the others by SNPs with founder genotypes.
Outbred colonies
    ``"hs"`` (8 founders), ``"ail"`` (2), ``"ail3"`` (3) and ``"genail<N>"``: the F1s of
    different founders found a colony that is randomly mated (sib matings avoided) with
    ``n_breeding_pairs`` pairs; the sample is generation ``ngen`` (the F1 is generation 1).
    ``"dof1"``, ``"hsf1"``: daughters of DO or HS mothers with a ninth, inbred strain.

Phenotypes are additive founder-allele QTL effects plus a polygenic background (many small
loci) plus noise, with a sex effect; everything is fixed by ``seed``. The founder mosaic of
every animal is kept (:class:`HaplotypeMosaic`), so later models (for example an onset age
shifted by a QTL) can read founder alleles and dosages at any position.

Examples
--------
>>> sim = simulate_cross(cross_type="f2", n=50, n_markers=200, seed=3)
>>> sim.cross.crosstype, sim.cross.n_individuals, sim.cross.n_markers
('f2', 50, 200)
>>> sorted(sim.truth.columns)[:4]
['chrom', 'effect_A', 'effect_B', 'nearest_marker']
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core._simulate_numba import drop_chromosome, founders_at
from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.core.provenance import Provenance

__all__ = [
    "DO_FOUNDERS",
    "MOUSE_CHROMOSOMES",
    "QTL",
    "HaplotypeMosaic",
    "SimulatedCross",
    "simulate_cross",
    "simulate_map",
    "write_simulated",
    "write_simulated_files",
]

CrossType = Literal[
    "do", "bxd", "f2", "bc", "riself", "dh", "haploid", "riself4", "riself8", "riself16",
    "risib4", "risib8", "magic19", "dh6", "hs", "ail", "ail3", "dof1", "hsf1",
]  # fmt: skip

#: Approximate mouse chromosome lengths: (sex-averaged cM, Mbp on GRCm38).
MOUSE_CHROMOSOMES: dict[str, tuple[float, float]] = {
    "1": (98.4, 195.5),
    "2": (103.7, 182.1),
    "3": (82.7, 160.0),
    "4": (85.9, 156.5),
    "5": (90.2, 151.8),
    "6": (75.9, 149.7),
    "7": (82.2, 145.4),
    "8": (73.5, 129.4),
    "9": (73.1, 124.6),
    "10": (75.0, 130.7),
    "11": (84.6, 122.1),
    "12": (66.3, 120.1),
    "13": (67.0, 120.4),
    "14": (65.5, 124.9),
    "15": (59.4, 104.0),
    "16": (57.0, 98.2),
    "17": (58.6, 95.3),
    "18": (54.0, 90.7),
    "19": (55.7, 61.4),
    "X": (69.6, 171.0),
}

#: The eight DO/CC founder strains, in R/qtl2 allele order A–H.
DO_FOUNDERS: tuple[str, ...] = (
    "A/J",
    "C57BL/6J",
    "129S1/SvImJ",
    "NOD/ShiLtJ",
    "NZO/HlLtJ",
    "CAST/EiJ",
    "PWK/PhJ",
    "WSB/EiJ",
)

# Pre-CC progenitors of the DO were at sib-mating generations 4..12 with these weights
# (Broman 2012, Genetics 190:403; also used by R/qtl2's DO transition matrices).
_PRECC_GENERATIONS = np.arange(4, 13)
_PRECC_WEIGHTS = np.array([21, 64, 24, 10, 5, 9, 5, 3, 3], dtype=float) / 144.0

_DESIGNS: dict[str, dict[str, object]] = {
    "do": {
        "crosstype": "do",
        "alleles": tuple("ABCDEFGH"),
        "founders": DO_FOUNDERS,
        "genotypes": {"A": 1, "H": 2, "B": 3},
    },
    "bxd": {
        "crosstype": "risib",
        "alleles": ("B", "D"),
        "founders": ("C57BL/6J", "DBA/2J"),
        "genotypes": {"B": 1, "D": 2},
    },
    "f2": {
        "crosstype": "f2",
        "alleles": ("A", "B"),
        "founders": ("P1", "P2"),
        "genotypes": {"AA": 1, "AB": 2, "BB": 3},
    },
    "bc": {
        "crosstype": "bc",
        "alleles": ("A", "B"),
        "founders": ("P1", "P2"),
        "genotypes": {"AA": 1, "AB": 2, "BB": 3},
    },
}


class _Lines(NamedTuple):
    """A design of inbred lines.

    Two-founder lines are called 1 = AA, 2 = BB; multi-founder lines by SNPs with founder
    genotypes (1 = AA, 3 = BB). A residual heterozygous call is coded missing, as R/qtl2
    expects.
    """

    crosstype: str  # R/qtl2's name
    n_founders: int
    mating: str  # after the funnel or colony: "self", "sib" or "double" (one doubled gamete)
    has_x: bool  # whether R/qtl2 models an X chromosome for the type
    intermated: bool = False  # from a randomly mated colony of ``ngen`` generations


_LINES: dict[str, _Lines] = {
    "riself": _Lines("riself", 2, "self", False),
    "dh": _Lines("dh", 2, "double", False),
    "haploid": _Lines("haploid", 2, "double", False),
    "riself4": _Lines("riself4", 4, "self", False),
    "riself8": _Lines("riself8", 8, "self", False),
    "riself16": _Lines("riself16", 16, "self", False),
    "risib4": _Lines("risib4", 4, "sib", True),
    "risib8": _Lines("risib8", 8, "sib", True),
    "magic19": _Lines("magic19", 19, "self", False),
    "dh6": _Lines("dh6", 6, "double", False, True),
}


#: F1s of outbred mothers (generation ``ngen`` of DO or HS) and a ninth, inbred strain.
_OUTCROSSES = ("dof1", "hsf1")

#: Outbred colonies of inbred founders, sampled at generation ``ngen``: founders per design.
_COLONIES: dict[str, int] = {"hs": 8, "ail": 2, "ail3": 3}


def _colony_founders(cross_type: str) -> int | None:
    match = re.fullmatch(r"genail([1-9]\d*)", cross_type)
    if match is not None and int(match.group(1)) >= 2:
        return int(match.group(1))
    return _COLONIES.get(cross_type)


def _design(cross_type: str) -> tuple[dict[str, object], _Lines | None]:
    """The design of ``cross_type`` (``genril<N>``: ``N``-way RIL from an intermated colony)."""
    match = re.fullmatch(r"genril([1-9]\d*)", cross_type)
    if match is not None and int(match.group(1)) >= 2:
        k = int(match.group(1))
        line = _Lines(cross_type, k, "sib", True, True)
        return _line_design(line), line
    if cross_type in _OUTCROSSES:
        eight = _line_design(_Lines(cross_type, 8, "", True))
        mothers = DO_FOUNDERS if cross_type == "dof1" else tuple(f"P{i + 1}" for i in range(8))
        eight["founders"] = (*mothers, "S")  # the father's inbred strain
        eight["genotypes"] = {"AA": 1, "AB": 2, "BB": 3}
        return eight, None
    founders = _colony_founders(cross_type)
    if founders is not None:
        outbred = _line_design(_Lines(cross_type, founders, "", True))
        outbred["genotypes"] = {"AA": 1, "AB": 2, "BB": 3}
        return outbred, None
    if cross_type not in _DESIGNS:
        raise InputError(
            f"cross_type {cross_type!r} is not simulated; use one of {', '.join(_DESIGNS)}, "
            "genril<N>, hs, ail, ail3, dof1, hsf1 or genail<N>"
        )
    return _DESIGNS[cross_type], _LINES.get(cross_type)


def _line_design(line: _Lines) -> dict[str, object]:
    k = line.n_founders
    letters = tuple(string.ascii_uppercase[:k]) if k <= 26 else tuple(f"F{i + 1}" for i in range(k))
    return {
        "crosstype": line.crosstype,
        "alleles": letters,
        "founders": tuple(f"P{i + 1}" for i in range(k)),
        "genotypes": {"AA": 1, "BB": 2} if k == 2 else {"AA": 1, "AB": 2, "BB": 3},
    }


for _name, _line in _LINES.items():
    _DESIGNS[_name] = _line_design(_line)


@dataclass(frozen=True)
class QTL:
    """A simulated QTL: additive effect per copy of each founder allele on one trait.

    Parameters
    ----------
    trait
        Phenotype column the QTL acts on.
    chrom, pos_cM
        Position on the genetic map.
    effects
        One effect per founder allele (phenotype units per copy), in allele order.
    """

    trait: str
    chrom: str
    pos_cM: float
    effects: tuple[float, ...]


@dataclass(frozen=True)
class HaplotypeMosaic:
    """The founder origin of both haplotypes of every simulated animal, per chromosome.

    ``ends[c]`` (float64 ``[sample, haplotype, segment]``, cM), ``labels[c]`` (int8 founder
    index) and ``counts[c]`` (int32 ``[sample, haplotype]``) describe segments
    ``[end_{j-1}, end_j)``; haplotype 0 is maternal, 1 paternal (a male's X: maternal on both).
    """

    samples: tuple[str, ...]
    alleles: tuple[str, ...]
    lengths: Mapping[str, float]
    ends: Mapping[str, np.ndarray]
    labels: Mapping[str, np.ndarray]
    counts: Mapping[str, np.ndarray]

    def _check(self, chrom: str) -> None:
        if chrom not in self.ends:
            raise KeyError(f"chromosome {chrom!r} not simulated; choose one of {list(self.ends)}")

    def founders_at(self, *, chrom: str, positions: Sequence[float] | np.ndarray) -> np.ndarray:
        """Founder index ``int8 [sample, haplotype, position]`` at positions (cM)."""
        self._check(chrom)
        pos = np.asarray(positions, dtype=np.float64).reshape(-1)
        if pos.size < 2 or bool(np.all(pos[1:] >= pos[:-1])):
            return founders_at(self.ends[chrom], self.labels[chrom], self.counts[chrom], pos)
        order = np.argsort(pos, kind="stable")
        out = founders_at(self.ends[chrom], self.labels[chrom], self.counts[chrom], pos[order])
        result = np.empty_like(out)
        result[:, :, order] = out
        return result

    def allele_dosage(self, *, chrom: str, pos_cM: float) -> xr.DataArray:
        """Copies (0, 1, 2) of each founder allele at one position: ``[sample, founder]``."""
        hap = self.founders_at(chrom=chrom, positions=[pos_cM])[:, :, 0]
        k = len(self.alleles)
        dosage = np.zeros((hap.shape[0], k), dtype=np.int8)
        rows = np.arange(hap.shape[0])
        np.add.at(dosage, (rows, hap[:, 0]), 1)
        np.add.at(dosage, (rows, hap[:, 1]), 1)
        return xr.DataArray(
            dosage,
            dims=("sample", "founder"),
            coords={"sample": list(self.samples), "founder": list(self.alleles)},
            attrs={"chrom": chrom, "pos_cM": float(pos_cM)},
        )

    def crossovers(self, *, chrom: str) -> np.ndarray:
        """Founder switches per haplotype ``[sample, haplotype]`` (segments − 1)."""
        self._check(chrom)
        return self.counts[chrom].astype(np.int64) - 1

    def segments(self, *, chrom: str) -> pd.DataFrame:
        """Long table ``sample, haplotype, start_cM, end_cM, founder`` of one chromosome."""
        self._check(chrom)
        ends, labels, counts = self.ends[chrom], self.labels[chrom], self.counts[chrom]
        rows = []
        for i, sample in enumerate(self.samples):
            for h in range(2):
                start = 0.0
                for j in range(int(counts[i, h])):
                    end = float(ends[i, h, j])
                    rows.append((sample, h, start, end, self.alleles[int(labels[i, h, j])]))
                    start = end
        return pd.DataFrame(rows, columns=["sample", "haplotype", "start_cM", "end_cM", "founder"])


@dataclass(frozen=True)
class SimulatedCross:
    """A simulated cross with the truth behind it.

    Attributes
    ----------
    cross
        The observed data (genotype calls with errors, phenotypes, covariates).
    truth
        One row per QTL: trait, chrom, pos_cM, pos_Mbp, nearest_marker,
        variance_expected, variance_realised and ``effect_<allele>`` columns.
    traits
        One row per trait: variance of the QTL, polygenic and noise parts and the sex effect.
    mosaic
        Founder haplotype mosaic of every animal (:class:`HaplotypeMosaic`).
    genotype_errors
        Per chromosome, bool ``[sample, marker]``: calls the simulated error changed.
    parameters
        The arguments of :func:`simulate_cross`.
    """

    cross: Cross
    truth: pd.DataFrame
    traits: pd.DataFrame
    mosaic: HaplotypeMosaic
    genotype_errors: Mapping[str, np.ndarray]
    parameters: Mapping[str, object] = field(default_factory=dict)

    def true_allele_probs(self) -> GenoProbs:
        """The true founder-allele dosages / 2 at every marker, as allele probabilities.

        Shape per chromosome ``[marker, sample, founder]`` (float32, rows sum to 1), the
        layout of :class:`~translocus.core.model.GenoProbs` with ``kind="allele"``: what a
        perfect genotype-probability HMM would return, for testing scans without one.
        """
        cross = self.cross
        probs: dict[str, xr.DataArray] = {}
        founders = self.mosaic.alleles  # the cross's alleles, plus the father's for dof1/hsf1
        k = len(founders)
        for chrom, gmap in cross.gmap.items():
            hap = self.mosaic.founders_at(chrom=chrom, positions=gmap.to_numpy())
            n, _, m = hap.shape
            values = np.zeros((m, n, k), dtype=np.float32)
            rows = np.arange(m)[None, :]
            cols = np.arange(n)[:, None]
            for h in range(2):
                values[rows, cols, hap[:, h, :]] += 0.5
            coords: dict[str, object] = {
                "marker": list(gmap.index),
                "sample": list(cross.individuals),
                "founder": list(founders),
                "pos_cM": ("marker", gmap.to_numpy()),
            }
            if cross.pmap is not None:
                coords["pos_Mbp"] = ("marker", cross.pmap[chrom].to_numpy())
            probs[chrom] = xr.DataArray(
                values, dims=("marker", "sample", "founder"), coords=coords, name=chrom
            )
        return GenoProbs(
            probs=probs,
            crosstype=cross.crosstype,
            alleles=founders,
            x_chr=cross.x_chr,
            kind="allele",
        )


# -- maps ---------------------------------------------------------------------------------


def simulate_map(
    *,
    n_markers: int = 2000,
    chromosomes: Mapping[str, tuple[float, float]] | None = None,
    seed: int = 0,
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Genetic (cM) and physical (Mbp) maps with ``n_markers`` spread over chromosomes.

    Markers are allotted in proportion to chromosome length (at least two each) at uniform
    random positions; the physical position is linear in the genetic one.

    >>> gmap, pmap = simulate_map(n_markers=100, seed=1)
    >>> sum(len(m) for m in gmap.values()), list(gmap)[-1]
    (100, 'X')
    """
    chroms = dict(chromosomes if chromosomes is not None else MOUSE_CHROMOSOMES)
    if n_markers < 2 * len(chroms):
        raise InputError(
            f"n_markers={n_markers} is too few for {len(chroms)} chromosomes; "
            f"use at least {2 * len(chroms)}"
        )
    rng = np.random.default_rng([seed, 7])
    lengths = np.array([cm for cm, _ in chroms.values()])
    share = lengths / lengths.sum() * (n_markers - 2 * len(chroms))
    per = 2 + np.floor(share).astype(int)
    rest = n_markers - per.sum()
    per[np.argsort(-(share - np.floor(share)))[:rest]] += 1
    gmap: dict[str, pd.Series] = {}
    pmap: dict[str, pd.Series] = {}
    for (chrom, (cm, mbp)), m in zip(chroms.items(), per, strict=True):
        pos = np.sort(rng.uniform(0.0, cm, size=int(m)))
        names = [f"S{chrom}_{j + 1:05d}" for j in range(int(m))]
        gmap[chrom] = pd.Series(np.round(pos, 4), index=names, name=chrom)
        pmap[chrom] = pd.Series(np.round(pos / cm * mbp, 6), index=names, name=chrom)
    return gmap, pmap


# -- pedigrees ----------------------------------------------------------------------------


class _Pedigree:
    """Parents-before-children list of animals (founders: inbred, labelled by founder)."""

    def __init__(self) -> None:
        self.mother: list[int] = []
        self.father: list[int] = []
        self.female: list[bool] = []
        self.label: list[int] = []

    def founder(self, label: int, *, female: bool) -> int:
        self.mother.append(-1)
        self.father.append(-1)
        self.female.append(female)
        self.label.append(label)
        return len(self.mother) - 1

    def child(self, mother: int, father: int, *, female: bool) -> int:
        self.mother.append(mother)
        self.father.append(father)
        self.female.append(female)
        self.label.append(-1)
        return len(self.mother) - 1

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return (
            np.asarray(self.mother, dtype=np.int64),
            np.asarray(self.father, dtype=np.int64),
            np.asarray(self.female, dtype=np.bool_),
            np.asarray(self.label, dtype=np.int8),
        )


def _random_pairs(
    females: list[int], males: list[int], family: dict[int, int], rng: np.random.Generator
) -> list[tuple[int, int]]:
    """Pair females with males at random, avoiding full siblings where possible."""
    order = rng.permutation(len(males))
    mates = [males[j] for j in order]
    for i in range(len(females)):
        if family[females[i]] != family[mates[i]]:
            continue
        for j in rng.permutation(len(mates)):
            ok_i = family[females[i]] != family[mates[j]]
            ok_j = family[females[j]] != family[mates[i]]
            if ok_i and ok_j:
                mates[i], mates[j] = mates[j], mates[i]
                break
    return list(zip(females, mates, strict=True))


def _do_pedigree(
    ped: _Pedigree,
    *,
    n: int,
    ngen: int,
    n_funnels: int,
    n_breeding_pairs: int,
    rng: np.random.Generator,
) -> list[int]:
    """Pre-CC funnels, then ``ngen`` generations of random outbreeding; return the sample."""
    progenitors: list[int] = []
    for f in range(n_funnels):
        order = rng.permutation(8)
        g1 = [
            ped.child(
                ped.founder(int(order[2 * k]), female=True),
                ped.founder(int(order[2 * k + 1]), female=False),
                female=k % 2 == 0,
            )
            for k in range(4)
        ]
        g2 = [ped.child(g1[0], g1[1], female=True), ped.child(g1[2], g1[3], female=False)]
        dam, sire = g2
        generations = int(rng.choice(_PRECC_GENERATIONS, p=_PRECC_WEIGHTS))
        for _ in range(generations):  # G2:F1 then sib mating up to G2:F<generations>
            dam, sire = ped.child(dam, sire, female=True), ped.child(dam, sire, female=False)
        progenitors.append(dam if f % 2 == 0 else sire)
    females = [p for p in progenitors if ped.female[p]]
    males = [p for p in progenitors if not ped.female[p]]
    family = {p: i for i, p in enumerate(progenitors)}  # unrelated funnels
    m = min(len(females), len(males))
    pairs = _random_pairs(females[:m], males[:m], family, rng)
    for _ in range(1, ngen):
        next_f, next_m = [], []
        family = {}
        for j in range(n_breeding_pairs):
            dam, sire = pairs[j % len(pairs)]
            kid_f = ped.child(dam, sire, female=True)
            kid_m = ped.child(dam, sire, female=False)
            family[kid_f] = family[kid_m] = j % len(pairs)
            next_f.append(kid_f)
            next_m.append(kid_m)
        pairs = _random_pairs(next_f, next_m, family, rng)
    sexes = rng.permutation(np.arange(n) % 2 == 0)
    return [ped.child(*pairs[i % len(pairs)], female=bool(sexes[i])) for i in range(n)]


def _bxd_pedigree(ped: _Pedigree, *, n: int, inbreeding_generations: int) -> list[int]:
    strains = []
    for _ in range(n):
        f1_f = ped.child(ped.founder(0, female=True), ped.founder(1, female=False), female=True)
        f1_m = ped.child(ped.founder(0, female=True), ped.founder(1, female=False), female=False)
        dam, sire = f1_f, f1_m
        for _ in range(inbreeding_generations):  # F2, F3, … by sibling mating
            dam, sire = ped.child(dam, sire, female=True), ped.child(dam, sire, female=False)
        strains.append(dam)
    return strains


def _funnel(ped: _Pedigree, order: np.ndarray) -> tuple[int, int]:
    """Cross the founders ``order`` pairwise, then the hybrids pairwise, down to two animals.

    In every cross the left animal is the mother (female) and the right the father (male),
    so the X of a line by sib mating comes from the funnel's founders 1-3 (four-way) or
    1-3, 5 and 6 (eight-way), as R/qtl2's models assume. Returns the last pair (dam, sire).
    """
    level = [ped.founder(int(f), female=j % 2 == 0) for j, f in enumerate(order)]
    while len(level) > 2:
        level = [
            ped.child(level[j], level[j + 1], female=(j // 2) % 2 == 0)
            for j in range(0, len(level), 2)
        ]
    return level[0], level[1]


def _line_pedigree(
    ped: _Pedigree,
    *,
    n: int,
    n_founders: int,
    mating: str,
    inbreeding_generations: int,
    rng: np.random.Generator,
    intermating: int = 0,
) -> tuple[list[int], np.ndarray]:
    """Inbred lines: a funnel (or intermating), then selfing, sib mating or one doubled gamete.

    With ``intermating`` > 0 every line starts from a breeding pair of that generation of a
    randomly mated colony of all founders. Returns the sampled animals and each line's
    funnel (founder numbers 1-based, in order; all founders in order without a funnel).
    """
    colony = (
        _intermated_pairs(
            ped, n_founders=n_founders, generations=intermating, n_pairs=max(n, 2 * n_founders),
            rng=rng,
        )
        if intermating > 0
        else []
    )  # fmt: skip
    sample, funnels = [], []
    for i in range(n):
        if colony:
            dam, sire = colony[i % len(colony)]
            funnels.append(np.arange(1, n_founders + 1))
        elif n_founders == 19:
            # MAGIC: F1s of random founder pairs, three generations of intermating (F4)
            pairs = [rng.choice(19, size=2, replace=False) for _ in range(8)]
            level = [ped.child(*(ped.founder(int(f), female=True) for f in pair), female=True)
                     for pair in pairs]  # fmt: skip
            while len(level) > 1:
                level = [ped.child(level[j], level[j + 1], female=True)
                         for j in range(0, len(level), 2)]  # fmt: skip
            dam = sire = level[0]
            funnels.append(np.arange(1, 20))
        else:
            order = rng.permutation(n_founders)
            funnels.append(order + 1)
            dam, sire = _funnel(ped, order)
        if mating == "double":  # one meiosis of the F1, doubled (or kept single) afterwards
            f1 = ped.child(dam, sire, female=True)
            sample.append(ped.child(f1, f1, female=True))
            continue
        if mating == "self":
            line = ped.child(dam, sire, female=True)
            for _ in range(inbreeding_generations):
                line = ped.child(line, line, female=True)
            sample.append(line)
            continue
        dam, sire = ped.child(dam, sire, female=True), ped.child(dam, sire, female=False)
        for _ in range(inbreeding_generations):
            dam, sire = ped.child(dam, sire, female=True), ped.child(dam, sire, female=False)
        sample.append(dam)
    return sample, np.asarray(funnels, dtype=np.int64)


def _intermated_pairs(
    ped: _Pedigree,
    *,
    n_founders: int,
    generations: int,
    n_pairs: int,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """Breeding pairs of generation ``generations`` of a randomly mated colony.

    Generation 1 are the offspring of ``n_pairs`` crosses of two different inbred founders
    (every founder equally often, as mother and as father); each pair has a daughter and a
    son, and the next generation's pairs are formed at random, avoiding full siblings.
    """
    females: list[int] = []
    males: list[int] = []
    family: dict[int, int] = {}
    for j in range(n_pairs):
        mother = j % n_founders
        father = (mother + 1 + (j // n_founders) % (n_founders - 1)) % n_founders
        dam = ped.founder(mother, female=True)
        sire = ped.founder(father, female=False)
        for female, group in ((True, females), (False, males)):
            kid = ped.child(dam, sire, female=female)
            family[kid] = j
            group.append(kid)
    pairs = _random_pairs(females, males, family, rng)
    for _ in range(1, generations):
        females, males, family = [], [], {}
        for j, (dam, sire) in enumerate(pairs):
            for female, group in ((True, females), (False, males)):
                kid = ped.child(dam, sire, female=female)
                family[kid] = j
                group.append(kid)
        pairs = _random_pairs(females, males, family, rng)
    return pairs


def _colony_sample(
    ped: _Pedigree,
    *,
    n: int,
    n_founders: int,
    ngen: int,
    n_pairs: int,
    rng: np.random.Generator,
) -> list[int]:
    """``n`` animals of generation ``ngen`` of a randomly mated colony (both sexes)."""
    sexes = rng.permutation(np.arange(n) % 2 == 0)
    if ngen == 1:
        pairs = []
        for _ in range(n):
            a, b = rng.choice(n_founders, size=2, replace=False)
            pairs.append((ped.founder(int(a), female=True), ped.founder(int(b), female=False)))
    else:
        pairs = _intermated_pairs(
            ped, n_founders=n_founders, generations=ngen - 1, n_pairs=n_pairs, rng=rng
        )
    return [ped.child(*pairs[i % len(pairs)], female=bool(sexes[i])) for i in range(n)]


def _bc_pedigree(ped: _Pedigree, *, n: int, rng: np.random.Generator) -> list[int]:
    """(A x B) F1 females backcrossed to A males."""
    f1 = ped.child(ped.founder(0, female=True), ped.founder(1, female=False), female=True)
    sire = ped.founder(0, female=False)
    sexes = rng.permutation(np.arange(n) % 2 == 0)
    return [ped.child(f1, sire, female=bool(sexes[i])) for i in range(n)]


def _f2_pedigree(ped: _Pedigree, *, n: int, rng: np.random.Generator) -> list[int]:
    f1_f = ped.child(ped.founder(0, female=True), ped.founder(1, female=False), female=True)
    f1_m = ped.child(ped.founder(0, female=True), ped.founder(1, female=False), female=False)
    sexes = rng.permutation(np.arange(n) % 2 == 0)
    return [ped.child(f1_f, f1_m, female=bool(sexes[i])) for i in range(n)]


# -- gene dropping ------------------------------------------------------------------------


def _drop(
    ped: _Pedigree,
    sample: list[int],
    *,
    lengths: Mapping[str, float],
    x_chr: str | None,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    mother, father, female, label = ped.arrays()
    n_all = mother.shape[0]
    rows = np.asarray(sample, dtype=np.int64)
    ends_out, labels_out, counts_out = {}, {}, {}
    for chrom, length in lengths.items():
        n_xo = rng.poisson(length / 100.0, size=2 * n_all)
        offsets = np.zeros(2 * n_all + 1, dtype=np.int64)
        np.cumsum(n_xo, out=offsets[1:])
        positions = rng.uniform(0.0, length, size=int(offsets[-1]))
        strand = rng.integers(0, 2, size=2 * n_all).astype(np.int64)
        room = 32
        while True:
            ends = np.empty((n_all, 2, room), dtype=np.float64)
            labels = np.empty((n_all, 2, room), dtype=np.int8)
            counts = np.zeros((n_all, 2), dtype=np.int32)
            status = drop_chromosome(
                mother,
                father,
                female,
                label,
                float(length),
                chrom == x_chr,
                offsets,
                positions,
                strand,
                ends,
                labels,
                counts,
            )
            if status == 0:
                break
            room *= 2
        width = int(counts[rows].max())
        ends_out[chrom] = np.ascontiguousarray(ends[rows, :, :width])
        labels_out[chrom] = np.ascontiguousarray(labels[rows, :, :width])
        counts_out[chrom] = counts[rows]
    return ends_out, labels_out, counts_out


# -- genotypes ----------------------------------------------------------------------------


def _founder_snps(n_markers: int, rng: np.random.Generator) -> np.ndarray:
    """Biallelic founder alleles ``[8, marker]`` (0/1), each SNP polymorphic."""
    minor = rng.choice([1, 2, 3, 4], size=n_markers, p=[0.4, 0.25, 0.2, 0.15])
    keys = rng.random((8, n_markers))
    ranks = keys.argsort(axis=0).argsort(axis=0)
    alleles = (ranks < minor[None, :]).astype(np.int8)
    flip = rng.random(n_markers) < 0.5
    alleles[:, flip] = 1 - alleles[:, flip]
    return alleles


def _founder_snps_k(n_founders: int, n_markers: int, rng: np.random.Generator) -> np.ndarray:
    """Biallelic founder alleles ``[n_founders, marker]`` (0/1), each SNP polymorphic."""
    minor = rng.integers(1, n_founders // 2 + 1, size=n_markers)
    ranks = rng.random((n_founders, n_markers)).argsort(axis=0).argsort(axis=0)
    alleles = (ranks < minor[None, :]).astype(np.int8)
    flip = rng.random(n_markers) < 0.5
    alleles[:, flip] = 1 - alleles[:, flip]
    return alleles


def _observe(
    true_codes: np.ndarray,
    n_codes: int,
    *,
    error_rate: float,
    missing_rate: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply genotyping errors (another code, uniformly) and missing calls (code 0)."""
    observed = true_codes.copy()
    errors = (rng.random(true_codes.shape) < error_rate) & (true_codes > 0)
    shift = rng.integers(1, n_codes, size=int(errors.sum()), dtype=np.int8)
    observed[errors] = ((true_codes[errors] - 1 + shift) % n_codes + 1).astype(np.int8)
    if missing_rate > 0:
        observed[rng.random(true_codes.shape) < missing_rate] = 0
    return observed, errors


# -- phenotypes ---------------------------------------------------------------------------


def _random_qtl(
    *,
    n_traits: int,
    qtl_per_trait: int,
    qtl_variance: float,
    lengths: Mapping[str, float],
    x_chr: str | None,
    n_alleles: int,
    inbred: bool,
    rng: np.random.Generator,
) -> list[QTL]:
    autosomes = [c for c in lengths if c != x_chr]
    weights = np.array([lengths[c] for c in autosomes])
    weights = weights / weights.sum()
    qtl = []
    for t in range(n_traits):
        for _ in range(qtl_per_trait):
            chrom = autosomes[int(rng.choice(len(autosomes), p=weights))]
            pos = float(np.round(rng.uniform(0.1, 0.9) * lengths[chrom], 2))
            raw = rng.normal(size=n_alleles)
            expected = _expected_variance(raw, inbred=inbred)
            scale = np.sqrt(qtl_variance / qtl_per_trait / expected) if expected > 0 else 0.0
            effects = tuple(float(v) for v in np.round(raw * scale, 6))
            qtl.append(QTL(trait=f"trait{t + 1}", chrom=chrom, pos_cM=pos, effects=effects))
    return qtl


def _expected_variance(effects: np.ndarray | Sequence[float], *, inbred: bool) -> float:
    """Genetic variance of an additive QTL with equally frequent founder alleles."""
    a = np.asarray(effects, dtype=float)
    per_allele = float(np.mean((a - a.mean()) ** 2))
    # two independent alleles in outbred / F2 animals; two identical ones in inbred strains
    return (4.0 if inbred else 2.0) * per_allele


def _phenotypes(
    *,
    mosaic: HaplotypeMosaic,
    qtl: Sequence[QTL],
    traits: list[str],
    polygenic_variance: float,
    n_polygenic: int,
    sex_effect: float,
    is_female: np.ndarray,
    inbred: bool,
    lengths: Mapping[str, float],
    x_chr: str | None,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, list[float], pd.DataFrame]:
    n = len(mosaic.samples)
    k = len(mosaic.alleles)
    pheno = pd.DataFrame(index=list(mosaic.samples))
    realised = []
    qtl_values: dict[str, np.ndarray] = {t: np.zeros(n) for t in traits}
    for q in qtl:
        if len(q.effects) != k:
            raise InputError(
                f"QTL on trait {q.trait!r} at chr {q.chrom} {q.pos_cM} cM has "
                f"{len(q.effects)} effects; give one per founder allele ({k})"
            )
        hap = mosaic.founders_at(chrom=q.chrom, positions=[q.pos_cM])[:, :, 0]
        effects = np.asarray(q.effects, dtype=float)
        value = effects[hap[:, 0]] + effects[hap[:, 1]]
        realised.append(float(value.var()))
        qtl_values[q.trait] += value
    autosomes = [c for c in lengths if c != x_chr]
    weights = np.array([lengths[c] for c in autosomes])
    rows = []
    for trait in traits:
        expected = sum(
            _expected_variance(q.effects, inbred=inbred) for q in qtl if q.trait == trait
        )
        noise_var = 1.0 - polygenic_variance - expected
        if noise_var < 0:
            raise InputError(
                f"trait {trait!r}: QTL variance {expected:.3f} plus polygenic variance "
                f"{polygenic_variance:.3f} exceeds 1; use smaller effects or polygenic_variance"
            )
        background = np.zeros(n)
        if polygenic_variance > 0 and n_polygenic > 0:
            picks = rng.choice(len(autosomes), size=n_polygenic, p=weights / weights.sum())
            for c in np.unique(picks):
                chrom = autosomes[int(c)]
                m = int((picks == c).sum())
                positions = np.sort(rng.uniform(0.0, lengths[chrom], size=m))
                hap = mosaic.founders_at(chrom=chrom, positions=positions)
                effects = rng.normal(size=(k, m))
                cols = np.arange(m)[None, :]
                background += (effects[hap[:, 0, :], cols] + effects[hap[:, 1, :], cols]).sum(1)
            sd = background.std()
            background = (background - background.mean()) / (sd if sd > 0 else 1.0)
            background *= np.sqrt(polygenic_variance)
        noise = rng.normal(scale=np.sqrt(noise_var), size=n)
        pheno[trait] = qtl_values[trait] + background + noise + sex_effect * is_female
        rows.append(
            {
                "trait": trait,
                "qtl_variance": expected,
                "polygenic_variance": polygenic_variance,
                "noise_variance": noise_var,
                "sex_effect": sex_effect,
            }
        )
    return pheno, realised, pd.DataFrame(rows)


# -- the simulator ------------------------------------------------------------------------


def simulate_cross(
    *,
    cross_type: CrossType | str = "do",
    n: int = 500,
    seed: int = 1,
    n_markers: int = 2000,
    gmap: Mapping[str, pd.Series] | None = None,
    pmap: Mapping[str, pd.Series] | None = None,
    x_chr: str | None = "X",
    ngen: int = 12,
    n_funnels: int = 144,
    n_breeding_pairs: int = 175,
    inbreeding_generations: int = 60,
    error_rate: float = 0.002,
    missing_rate: float = 0.0,
    n_traits: int = 3,
    qtl_per_trait: int = 1,
    qtl_variance: float = 0.2,
    qtl: Sequence[QTL] | None = None,
    polygenic_variance: float = 0.2,
    n_polygenic: int = 100,
    sex_effect: float = 0.5,
) -> SimulatedCross:
    """Simulate a cross or a panel of lines with known QTL; fully determined by ``seed``.

    Parameters
    ----------
    cross_type
        ``"do"``, ``"bxd"``, ``"f2"``, ``"bc"`` or a design of inbred lines (see the module
        docstring).
    n
        Animals (DO, F2, backcross) or lines.
    seed
        Seed of every random draw.
    n_markers
        Markers over the genome when ``gmap`` is not given (mouse chromosomes 1–19, X).
    gmap, pmap
        Marker maps (cM, Mbp) to simulate on instead, e.g. those of a real cross.
    x_chr
        Name of the X chromosome in the map (``None``: all autosomes).
    ngen
        DO generation of the sampled mice (outbreeding generations after the pre-CC); for
        ``dh6`` and ``genril<N>`` the generations of the randomly mated colony the lines
        come from.
    n_funnels, n_breeding_pairs
        DO colony: pre-CC funnels founding it and breeding pairs per generation.
    inbreeding_generations
        Lines: generations of sibling mating or selfing after the funnel (BXD: after the
        F1, F2 … F<n+1>).
    error_rate
        Probability that a genotype call is replaced by another call (uniformly).
    missing_rate
        Probability that a call is missing.
    n_traits, qtl_per_trait, qtl_variance
        Random QTL when ``qtl`` is not given: ``qtl_per_trait`` QTL per trait explaining
        ``qtl_variance`` of the phenotype variance together (expected, equal founder
        frequencies).
    qtl
        Explicit QTL (effects per founder allele copy, phenotype units); the traits are
        the ones they name.
    polygenic_variance, n_polygenic
        Variance of a polygenic background made of ``n_polygenic`` small additive loci.
    sex_effect
        Added to females' phenotypes (not used for BXD strains).

    Returns
    -------
    SimulatedCross
        ``.cross`` (R/qtl2-style :class:`~translocus.core.model.Cross`), ``.truth`` (QTL),
        ``.traits``, ``.mosaic`` (founder mosaic), ``.genotype_errors``.
    """
    design, line = _design(cross_type)
    if n < 2:
        raise InputError(f"n={n}: simulate at least 2 animals")
    for label, rate in (("error_rate", error_rate), ("missing_rate", missing_rate)):
        if not 0.0 <= rate < 0.5:
            raise InputError(f"{label}={rate}: give a probability in [0, 0.5)")
    intermated = cross_type in ("do", *_OUTCROSSES) or (line is not None and line.intermated)
    if (intermated or _colony_founders(cross_type) is not None) and ngen < 1:
        raise InputError(f"ngen={ngen}: the DO generation must be at least 1")
    if cross_type == "do" and (n_funnels < 2 or n_breeding_pairs < 2):
        raise InputError(
            f"n_funnels={n_funnels}, n_breeding_pairs={n_breeding_pairs}: the DO colony needs "
            "at least 2 of each"
        )
    if (cross_type == "bxd" or line is not None) and inbreeding_generations < 1:
        raise InputError(f"inbreeding_generations={inbreeding_generations}: use at least 1")
    alleles: tuple[str, ...] = design["alleles"]  # type: ignore[assignment]
    founders: tuple[str, ...] = design["founders"]  # type: ignore[assignment]
    genotypes: dict[str, int] = design["genotypes"]  # type: ignore[assignment]
    rng = np.random.default_rng(seed)

    if gmap is None:
        gmap, default_pmap = simulate_map(n_markers=n_markers, seed=seed)
        pmap = pmap if pmap is not None else default_pmap
    gmap = {str(c): s.astype(float) for c, s in gmap.items()}
    if x_chr is not None and (x_chr not in gmap or (line is not None and not line.has_x)):
        x_chr = None  # lines by selfing and doubled haploids have no sex chromosomes
    lengths = {c: float(s.max()) + 1e-6 for c, s in gmap.items()}

    ped = _Pedigree()
    funnels = np.zeros((n, 0), dtype=np.int64)
    colony = _colony_founders(cross_type)
    if cross_type in _OUTCROSSES:
        if cross_type == "dof1":
            mothers = _do_pedigree(
                ped, n=2 * n, ngen=ngen, n_funnels=n_funnels,
                n_breeding_pairs=n_breeding_pairs, rng=rng,
            )  # fmt: skip
        else:
            mothers = _colony_sample(
                ped, n=2 * n, n_founders=8, ngen=ngen, n_pairs=n_breeding_pairs, rng=rng
            )
        father = ped.founder(8, female=False)
        sexes = rng.permutation(np.arange(n) % 2 == 0)
        females = [m for m in mothers if ped.female[m]][:n]
        sample = [ped.child(m, father, female=bool(f)) for m, f in zip(females, sexes, strict=True)]
        prefix = cross_type.upper()
    elif colony is not None:
        sample = _colony_sample(
            ped, n=n, n_founders=colony, ngen=ngen, n_pairs=n_breeding_pairs, rng=rng
        )
        prefix = cross_type.upper()
    elif line is not None:
        sample, funnels = _line_pedigree(
            ped,
            n=n,
            n_founders=line.n_founders,
            mating=line.mating,
            inbreeding_generations=inbreeding_generations,
            rng=rng,
            intermating=ngen if line.intermated else 0,
        )
        prefix = cross_type.upper()
    elif cross_type == "bc":
        sample = _bc_pedigree(ped, n=n, rng=rng)
        prefix = "BC"
    elif cross_type == "do":
        sample = _do_pedigree(
            ped,
            n=n,
            ngen=ngen,
            n_funnels=n_funnels,
            n_breeding_pairs=n_breeding_pairs,
            rng=rng,
        )
        prefix = "DO"
    elif cross_type == "bxd":
        sample = _bxd_pedigree(ped, n=n, inbreeding_generations=inbreeding_generations)
        prefix = "BXD"
    else:
        sample = _f2_pedigree(ped, n=n, rng=rng)
        prefix = "F2_"
    width = len(str(n))
    ids = tuple(f"{prefix}{i + 1:0{width}d}" for i in range(n))
    is_female = np.asarray([ped.female[i] for i in sample], dtype=bool)

    ends, labels, counts = _drop(ped, sample, lengths=lengths, x_chr=x_chr, rng=rng)
    if line is not None and line.mating == "double":
        for chrom in ends:  # the gamete, doubled: both haplotypes are the maternal one
            ends[chrom][:, 1] = ends[chrom][:, 0]
            labels[chrom][:, 1] = labels[chrom][:, 0]
            counts[chrom][:, 1] = counts[chrom][:, 0]
    # the founders a haplotype can come from: for an F1 of an outbred mother, also the father's
    haplotypes = (*alleles, "S") if cross_type in _OUTCROSSES else alleles
    mosaic = HaplotypeMosaic(
        samples=ids, alleles=haplotypes, lengths=lengths, ends=ends, labels=labels, counts=counts
    )

    geno: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    with_snps = (
        cross_type in ("do", *_OUTCROSSES)
        or (line is not None and line.n_founders > 2)
        or (colony is not None and colony > 2)
    )
    founder_geno: dict[str, np.ndarray] | None = {} if with_snps else None
    for chrom, positions in gmap.items():
        hap = mosaic.founders_at(chrom=chrom, positions=positions.to_numpy())
        if line is not None and line.n_founders > 2:
            snp = _founder_snps_k(line.n_founders, len(positions), rng)
            assert founder_geno is not None
            founder_geno[chrom] = (1 + 2 * snp).astype(np.int8)
            idx = np.arange(len(positions))[None, :]
            a, b = snp[hap[:, 0, :], idx], snp[hap[:, 1, :], idx]
            true = np.where(a == b, 1 + 2 * a, 0).astype(np.int8)
            n_codes = 3
        elif (colony is not None and colony > 2) or cross_type in _OUTCROSSES:
            snp = _founder_snps_k(9 if colony is None else colony, len(positions), rng)
            assert founder_geno is not None
            founder_geno[chrom] = (1 + 2 * snp).astype(np.int8)
            idx = np.arange(len(positions))[None, :]
            true = (1 + snp[hap[:, 0, :], idx] + snp[hap[:, 1, :], idx]).astype(np.int8)
            n_codes = 3
        elif cross_type == "bc":
            # AA 1, AB 2; a male's X is A (1) or B (3): errors stay within the valid pair
            true = (1 + hap[:, 0, :] + hap[:, 1, :]).astype(np.int8)
            male_x = (~is_female)[:, None] & (chrom == x_chr)
            true = np.where(male_x & (true == 3), 2, true).astype(np.int8)
            n_codes = 2
        elif cross_type == "do":
            snp = _founder_snps(len(positions), rng)
            assert founder_geno is not None
            founder_geno[chrom] = (1 + 2 * snp).astype(np.int8)
            idx = np.arange(len(positions))[None, :]
            true = (1 + snp[hap[:, 0, :], idx] + snp[hap[:, 1, :], idx]).astype(np.int8)
            n_codes = 3
        elif cross_type in ("f2", "ail"):
            true = (1 + hap[:, 0, :] + hap[:, 1, :]).astype(np.int8)
            n_codes = 3
        else:
            true = np.where(hap[:, 0, :] == hap[:, 1, :], 1 + hap[:, 0, :], 0).astype(np.int8)
            n_codes = 2
        geno[chrom], errors[chrom] = _observe(
            true, n_codes, error_rate=error_rate, missing_rate=missing_rate, rng=rng
        )
        if cross_type == "bc" and chrom == x_chr:
            males = geno[chrom][~is_female]
            geno[chrom][~is_female] = np.where(males == 2, 3, males)

    inbred = cross_type == "bxd" or line is not None
    if qtl is None:
        qtl = _random_qtl(
            n_traits=n_traits,
            qtl_per_trait=qtl_per_trait,
            qtl_variance=qtl_variance,
            lengths=lengths,
            x_chr=x_chr,
            n_alleles=len(haplotypes),
            inbred=inbred,
            rng=rng,
        )
    traits = list(dict.fromkeys(q.trait for q in qtl)) or [f"trait{t + 1}" for t in range(n_traits)]
    for q in qtl:
        if q.chrom not in gmap:
            raise InputError(
                f"QTL on trait {q.trait!r}: chromosome {q.chrom!r} is not in the map; "
                f"use one of {list(gmap)}"
            )
        if not 0.0 <= q.pos_cM <= lengths[q.chrom]:
            raise InputError(
                f"QTL on trait {q.trait!r}: {q.pos_cM} cM is outside chromosome {q.chrom} "
                f"(0-{lengths[q.chrom]:.1f} cM); give a position on the map"
            )
    pheno, realised, trait_table = _phenotypes(
        mosaic=mosaic,
        qtl=qtl,
        traits=traits,
        polygenic_variance=polygenic_variance,
        n_polygenic=n_polygenic,
        sex_effect=0.0 if inbred else sex_effect,
        is_female=is_female.astype(float),
        inbred=inbred,
        lengths=lengths,
        x_chr=x_chr,
        rng=rng,
    )

    index = pd.Index(ids, name=None)
    covar = pd.DataFrame(index=index)
    cross_info = pd.DataFrame(index=index)
    if not inbred:
        covar["Sex"] = np.where(is_female, "female", "male")
    if line is not None:
        if line.intermated:
            cross_info["ngen"] = np.full(n, ngen, dtype=np.int64)
            if line.crosstype.startswith("genril"):
                for allele in alleles:  # founders in equal proportions
                    cross_info[f"weight_{allele}"] = np.ones(n, dtype=np.int64)
        elif line.mating != "double" and line.n_founders > 2 and line.n_founders != 19:
            for j in range(line.n_founders):
                cross_info[f"funnel{j + 1}"] = funnels[:, j]
    elif cross_type in _OUTCROSSES:
        # the generation of the haplotype from the mother: one meiosis after her own
        cross_info["ngen"] = np.full(n, ngen + 1, dtype=np.int64)
    elif colony is not None:
        cross_info["ngen"] = np.full(n, ngen, dtype=np.int64)
        if cross_type == "ail":  # founded by A x B and B x A crosses alike
            cross_info["direction"] = np.full(n, 2, dtype=np.int64)
        if cross_type.startswith("genail"):
            for allele in alleles:  # founders in equal proportions
                cross_info[f"weight_{allele}"] = np.ones(n, dtype=np.int64)
    elif cross_type == "bc":
        pass
    elif cross_type == "do":
        covar["ngen"] = ngen
        cross_info["ngen"] = np.full(n, ngen, dtype=np.int64)
    elif cross_type == "f2":
        cross_info["direction"] = np.zeros(n, dtype=np.int64)  # all (A×B)×(A×B)
    else:
        cross_info["BxD"] = np.zeros(n, dtype=np.int64)  # all lines from B ♀ × D ♂

    truth = _truth_table(
        qtl, gmap=gmap, pmap=pmap, lengths=lengths, alleles=haplotypes, inbred=inbred
    )
    truth["variance_realised"] = realised
    params: dict[str, object] = {
        "cross_type": cross_type,
        "n": n,
        "seed": seed,
        "n_markers": sum(len(s) for s in gmap.values()),
        "ngen": ngen,
        "n_funnels": n_funnels,
        "n_breeding_pairs": n_breeding_pairs,
        "inbreeding_generations": inbreeding_generations,
        "error_rate": error_rate,
        "missing_rate": missing_rate,
        "polygenic_variance": polygenic_variance,
        "sex_effect": sex_effect,
    }
    description = (
        f"Simulated {cross_type.upper()} cross (translocus simulate_cross, seed {seed}, "
        f"{n} {'strains' if inbred else 'animals'})"
    )
    cross = Cross(
        crosstype=str(design["crosstype"]),
        individuals=ids,
        geno=geno,
        gmap=gmap,
        pmap={c: pmap[c] for c in gmap} if pmap is not None else None,
        founder_geno=founder_geno,
        pheno=pheno,
        covar=covar,
        is_female=pd.Series(is_female, index=index),
        cross_info=cross_info,
        alleles=alleles,
        genotypes=genotypes,
        x_chr=x_chr,
        founders=founders if with_snps else (),
        description=description,
        provenance=Provenance(
            name=f"simulated_{cross_type}",
            license="CC0-1.0",
            source=f"translocus.core.simulate.simulate_cross(cross_type={cross_type!r}, "
            f"n={n}, seed={seed})",
            citation="translocus simulator",
            description=description,
        ),
    )
    return SimulatedCross(
        cross=cross,
        truth=truth,
        traits=trait_table,
        mosaic=mosaic,
        genotype_errors=errors,
        parameters=params,
    )


def _truth_table(
    qtl: Sequence[QTL],
    *,
    gmap: Mapping[str, pd.Series],
    pmap: Mapping[str, pd.Series] | None,
    lengths: Mapping[str, float],
    alleles: tuple[str, ...],
    inbred: bool,
) -> pd.DataFrame:
    rows = []
    for q in qtl:
        positions = gmap[q.chrom]
        j = int(np.argmin(np.abs(positions.to_numpy() - q.pos_cM)))
        if pmap is not None and q.chrom in pmap:
            mbp = float(np.interp(q.pos_cM, positions.to_numpy(), pmap[q.chrom].to_numpy()))
        else:
            mbp = float("nan")
        row: dict[str, object] = {
            "trait": q.trait,
            "chrom": q.chrom,
            "pos_cM": q.pos_cM,
            "pos_Mbp": round(mbp, 6),
            "nearest_marker": str(positions.index[j]),
            "variance_expected": _expected_variance(q.effects, inbred=inbred),
        }
        for allele, effect in zip(alleles, q.effects, strict=True):
            row[f"effect_{allele}"] = effect
        rows.append(row)
    columns = ["trait", "chrom", "pos_cM", "pos_Mbp", "nearest_marker", "variance_expected"]
    columns += [f"effect_{a}" for a in alleles]
    return pd.DataFrame(rows, columns=columns)


def write_simulated(sim: SimulatedCross, directory: Path | str, *, name: str = "sim") -> Path:
    """Write the cross as R/qtl2 files plus ``truth.csv`` and ``traits.csv``.

    Returns the control file's path. The folder is replaced as a whole (atomically), so it
    must be new, empty, or an earlier simulation written under the same ``name``.
    """
    from translocus.core.atomic import atomic_dir

    directory = Path(directory)
    if directory.exists() and (
        not directory.is_dir()
        or (any(directory.iterdir()) and not (directory / f"{name}.json").is_file())
    ):
        raise InputError(
            f"{directory}: exists and does not hold an earlier simulation named {name!r}; "
            "give a new or empty folder (the folder is replaced as a whole)"
        )
    with atomic_dir(directory) as tmp:
        write_simulated_files(sim, tmp, name=name)
    return directory / f"{name}.json"


def write_simulated_files(sim: SimulatedCross, folder: Path, *, name: str = "sim") -> Path:
    """Write the simulation's files straight into an existing ``folder`` (for run folders)."""
    from translocus.core.qtl2io import write_cross_files

    control = write_cross_files(sim.cross, folder, name=name)
    (Path(folder) / "truth.csv").write_text(sim.truth.to_csv(index=False), encoding="utf-8")
    (Path(folder) / "traits.csv").write_text(sim.traits.to_csv(index=False), encoding="utf-8")
    return control
