"""Simulate a molecular (expression) data set on a simulated DO cross, with its truth table.

The genes are real mouse protein-coding genes (Ensembl 109, GRCm39, chromosomes 1-19 and X)
at their real positions, on a cross whose physical map spans the GRCm39 chromosomes (from
3 Mbp, where the assembled sequence of the acrocentric mouse chromosomes begins, to the
chromosome's end; the genetic map the mouse's sex-averaged one, ~0.57 cM/Mbp). Each gene's
expression is a sum of parts, all fixed by ``seed``:

local eQTL (``kind="local"``)
    A share ``cis_fraction`` of the genes has a QTL at its own transcription start: an
    additive effect per copy of each founder allele. Most patterns are biallelic, as the
    SNP-driven local eQTL of real DO data: one to four founders carry the other allele
    (the wild-derived CAST/EiJ, PWK/PhJ and WSB/EiJ twice as often as each other strain);
    one in seven has an effect per founder (``pattern="multi"``). The effect is scaled so that
    it explains a draw from ``cis_variance`` of the gene's variance in the sample, exactly.
hotspots (``kind="mediator"`` and ``"distal"``)
    ``n_hotspots`` mediator genes on different autosomes get a strong local eQTL (a draw from
    ``mediator_variance``); each drives a draw from ``hotspot_targets`` genes on other
    chromosomes: the target's expression contains the mediator's (centred) expression times a
    coefficient whose sign is random and whose size makes the mediator's local QTL explain a
    draw from ``trans_variance`` of the target's variance. Adding the mediator to a target's
    model removes its distal QTL: the planted mediation.
polygenic background
    Drawn from ``N(0, K)`` with ``K`` the realised kinship of the true founder dosages at
    every marker (R/qtl2's kinship of allele probabilities): every marker a small locus.
    Scaled so that background / (background + noise) is a draw from ``heritability`` (the
    share of the residual variance an LMM attributes to the kinship).
sex and batch
    A female-minus-male difference per gene drawn from ``N(0, sex_effect²)`` and a shift per
    gene and batch from ``N(0, batch_effect²)``; animals are spread evenly over
    ``n_batches`` batches at random.
noise
    Independent ``N(0, 1)``: every effect is in units of the noise SD. A baseline (log
    expression level) per gene from ``N(8, 1.5²)`` is added last.

The truth table has one row per gene (``kind``: local, distal, mediator or none) with the
QTL's chromosome and position (Mbp and cM), its share of the variance, the founder pattern and
effects, the hotspot and its mediator. The realised shares are exact in the sample; regressing
a gene on the true founder dosages at its QTL (:meth:`HaplotypeMosaic.allele_dosage` of
``sim.cross.mosaic``) recovers them up to the chance fit of the other parts.

Examples
--------
>>> sim = simulate_expression(
...     n=60, n_markers=400, n_genes=300, n_hotspots=1, hotspot_targets=(20, 30), seed=2
... )
>>> sim.expression.shape, sim.features["build"].iloc[0]
((60, 300), 'GRCm39')
>>> sorted(sim.truth["kind"].unique())
['distal', 'local', 'mediator', 'none']
>>> int(sim.hotspots["targets"].iloc[0]) == int((sim.truth["kind"] == "distal").sum())
True
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.simulate import MOUSE_CHROMOSOMES, SimulatedCross

if TYPE_CHECKING:
    from translocus.core.molecular import MolecularTraits

__all__ = [
    "GRCM39_LENGTHS",
    "SimulatedExpression",
    "mouse_map",
    "simulate_expression",
    "write_expression",
]

#: GRCm39 chromosome lengths (bp) of chromosomes 1-19 and X (Ensembl 109 assembly report).
GRCM39_LENGTHS: dict[str, int] = {
    "1": 195_154_279,
    "2": 181_755_017,
    "3": 159_745_316,
    "4": 156_860_686,
    "5": 151_758_149,
    "6": 149_588_044,
    "7": 144_995_196,
    "8": 130_127_694,
    "9": 124_359_700,
    "10": 130_530_862,
    "11": 121_973_369,
    "12": 120_092_757,
    "13": 120_883_175,
    "14": 125_139_656,
    "15": 104_073_951,
    "16": 98_008_968,
    "17": 95_294_699,
    "18": 90_720_763,
    "19": 61_420_004,
    "X": 169_476_592,
}

_BUILD = "GRCm39"
_GENES_FILE = Path("genes") / "mouse_genes_grcm39_ensembl109.csv"
_MAP_START_MBP = 3.0  # first marker: the assembled sequence of mouse chromosomes starts ~3 Mbp
_WILD = {"F", "G", "H"}  # CAST/EiJ, PWK/PhJ, WSB/EiJ: most private alleles in the DO founders
_MINOR_COUNTS = np.array([1, 2, 3, 4])
_MINOR_WEIGHTS = np.array([0.45, 0.30, 0.15, 0.10])
_MULTI_SHARE = 1.0 / 7.0
_UNNAMED = r"^Gm\d|Rik$|^Olfr|^Or\d|-ps"


@dataclass(frozen=True)
class SimulatedExpression:
    """A simulated molecular data set and the truth behind it.

    Attributes
    ----------
    cross
        The simulated DO cross (:class:`~translocus.core.simulate.SimulatedCross`, with its
        founder mosaic).
    expression
        ``[sample, feature]`` float64 expression values (log scale); the features are the
        genes' Ensembl IDs.
    features
        One row per gene, indexed by its Ensembl ID: ``gene_id, symbol, chr, start, end``
        (bp, 1-based as Ensembl) and ``build`` (``"GRCm39"``).
    covariates
        Per sample: ``sex`` (1 female, 0 male) and ``batch`` (``"batch1"`` …).
    truth
        One row per gene: ``gene_id, symbol, chr, start, end, kind`` (local, distal, mediator,
        none), ``qtl_chr, qtl_pos`` (Mbp), ``qtl_cM``, ``variance`` (share of the gene's
        sample variance explained by the QTL), ``pattern`` (founders carrying the other allele,
        e.g. ``"FG"``, or ``"multi"``), ``effect_A`` … ``effect_H`` (per allele copy; distal:
        the mediator's effects times the coefficient), ``hotspot``, ``mediator`` (gene ID),
        ``mediator_coef``, ``h2`` (background / (background + noise)), ``sex_effect``, ``mean``.
    hotspots
        One row per hotspot: ``hotspot, chr, pos`` (Mbp), ``pos_cM``, ``mediator``,
        ``mediator_symbol``, ``mediator_variance``, ``targets`` (number of distal genes).
    parameters
        The arguments of :func:`simulate_expression`.
    """

    cross: SimulatedCross
    expression: pd.DataFrame
    features: pd.DataFrame
    covariates: pd.DataFrame
    truth: pd.DataFrame
    hotspots: pd.DataFrame
    parameters: Mapping[str, object] = field(default_factory=dict)

    def to_traits(self) -> MolecularTraits:
        """The expression as :class:`~translocus.core.molecular.MolecularTraits` (annotated)."""
        from translocus.core.molecular import MolecularTraits

        features = self.features.assign(annotated_by="file")
        note = (
            f"simulated expression of {features.shape[0]:,} genes in "
            f"{self.expression.shape[0]:,} animals (seed {self.parameters.get('seed')})"
        )
        return MolecularTraits(
            values=self.expression.copy(),
            features=features,
            orientation="samples-x-features",
            notes=(note,),
        )


def mouse_map(
    *, n_markers: int = 6400, seed: int = 1
) -> tuple[dict[str, pd.Series], dict[str, pd.Series]]:
    """Genetic (cM) and physical (Mbp) maps over the GRCm39 chromosomes 1-19 and X.

    Markers are allotted in proportion to physical length (at least two each); the first sits
    at 3 Mbp and the last at the chromosome's end, the rest uniformly between. Centimorgans
    are linear in Mbp with each chromosome's sex-averaged length (``MOUSE_CHROMOSOMES``:
    0.42 cM/Mbp on the X to 0.95 on the short chromosome 19, 0.57 over the genome).

    >>> gmap, pmap = mouse_map(n_markers=100, seed=1)
    >>> sum(len(m) for m in pmap.values()), float(pmap["1"].iloc[-1])
    (100, 195.154279)
    """
    chroms = list(GRCM39_LENGTHS)
    if n_markers < 2 * len(chroms):
        raise OptionError("n_markers", n_markers, f"use at least {2 * len(chroms)}")
    rng = np.random.default_rng([seed, 39])
    mbp = np.array([GRCM39_LENGTHS[c] / 1e6 for c in chroms])
    share = mbp / mbp.sum() * (n_markers - 2 * len(chroms))
    per = 2 + np.floor(share).astype(int)
    rest = n_markers - int(per.sum())
    per[np.argsort(-(share - np.floor(share)))[:rest]] += 1
    gmap: dict[str, pd.Series] = {}
    pmap: dict[str, pd.Series] = {}
    for chrom, length, m in zip(chroms, mbp, per, strict=True):
        inner = np.sort(rng.uniform(_MAP_START_MBP, length, size=int(m) - 2))
        pos = np.round(np.concatenate([[_MAP_START_MBP], inner, [length]]), 6)
        rate = MOUSE_CHROMOSOMES[chrom][0] / (length - _MAP_START_MBP)
        names = [f"S{chrom}_{j + 1:05d}" for j in range(int(m))]
        pmap[chrom] = pd.Series(pos, index=names, name=chrom)
        gmap[chrom] = pd.Series(np.round((pos - _MAP_START_MBP) * rate, 6), index=names, name=chrom)
    return gmap, pmap


def _check_range(name: str, value: tuple[float, float], *, upper: float = 1.0) -> None:
    lo, hi = (float(v) for v in value)
    if not 0.0 <= lo <= hi < upper:
        raise OptionError(name, value, f"give (low, high) with 0 <= low <= high < {upper:g}")


def _gene_pool(genes: pd.DataFrame | None) -> pd.DataFrame:
    """Protein-coding genes on chromosomes 1-19 and X with a symbol, one row per ID and symbol."""
    if genes is None:
        from translocus.core.paths import data_dir

        path = data_dir() / _GENES_FILE
        if not path.is_file():
            raise InputError(
                f"{path}: the GRCm39 gene table is missing; set TRANSLOCUS_DATA to the folder "
                "that holds genes/mouse_genes_grcm39_ensembl109.csv"
            )
        genes = _read_genes(str(path), path.stat().st_mtime_ns)
    keep = (
        (genes["biotype"] == "protein_coding")
        & genes["chr"].astype(str).isin(list(GRCM39_LENGTHS))
        & genes["symbol"].notna()
    )
    pool = genes.loc[keep, ["ensgene", "symbol", "chr", "start", "end", "strand"]].copy()
    pool = pool.rename(columns={"ensgene": "gene_id"})
    pool["chr"] = pool["chr"].astype(str)
    pool = pool.drop_duplicates("gene_id").drop_duplicates("symbol")
    return pool.reset_index(drop=True)


@functools.lru_cache(maxsize=2)
def _read_genes(path: str, mtime_ns: int) -> pd.DataFrame:
    """The Ensembl gene table, read once per file version (callers copy what they keep)."""
    return pd.read_csv(path, dtype={"chr": str})


def _pattern(rng: np.random.Generator, alleles: tuple[str, ...]) -> tuple[str, np.ndarray]:
    """A founder effect pattern: (label, effect per allele copy before scaling)."""
    k = len(alleles)
    if rng.random() < _MULTI_SHARE:
        return "multi", rng.normal(0.0, 1.0, size=k)
    weights = np.array([2.0 if a in _WILD else 1.0 for a in alleles])
    n_minor = min(int(rng.choice(_MINOR_COUNTS, p=_MINOR_WEIGHTS)), k - 1)
    minor = rng.choice(k, size=n_minor, replace=False, p=weights / weights.sum())
    effects = np.zeros(k)
    effects[minor] = 1.0
    return "".join(alleles[i] for i in sorted(minor)), effects


def _scale_to_share(part: np.ndarray, rest: np.ndarray, share: float) -> float:
    """s > 0 with var(s·part) / var(s·part + rest) = share (sample variances)."""
    vg = float(np.var(part))
    vr = float(np.var(rest))
    c = float(np.mean((part - part.mean()) * (rest - rest.mean())))
    a = vg * (1.0 - share)
    return (share * c + np.sqrt((share * c) ** 2 + a * share * vr)) / a


def simulate_expression(
    *,
    n: int = 742,
    n_markers: int = 6400,
    n_genes: int = 20000,
    seed: int = 1,
    cis_fraction: float = 0.3,
    cis_variance: tuple[float, float] = (0.05, 0.30),
    n_hotspots: int = 3,
    hotspot_targets: tuple[int, int] = (100, 300),
    trans_variance: tuple[float, float] = (0.02, 0.10),
    mediator_variance: tuple[float, float] = (0.4, 0.6),
    heritability: tuple[float, float] = (0.2, 0.6),
    sex_effect: float = 0.3,
    n_batches: int = 4,
    batch_effect: float = 0.25,
    cross: SimulatedCross | None = None,
    genes: pd.DataFrame | None = None,
) -> SimulatedExpression:
    """Simulate expression of real mouse genes on a simulated DO cross; fixed by ``seed``.

    Parameters
    ----------
    n, n_markers
        DO mice and markers of the cross simulated when ``cross`` is not given (on
        :func:`mouse_map`, so that every gene lies inside the map).
    n_genes
        Genes, drawn from the protein-coding genes of chromosomes 1-19 and X.
    seed
        Seed of every random draw (the cross's too).
    cis_fraction
        Share of the genes with a local eQTL (mediators included).
    cis_variance
        Range of the share of a gene's variance its local eQTL explains.
    n_hotspots, hotspot_targets
        Trans hotspots, each a mediator gene driving between the two numbers of genes.
    trans_variance
        Range of the share of a target's variance explained by the hotspot's QTL.
    mediator_variance
        Range of the share explained by a mediator's own local eQTL (its low end must exceed
        the high end of ``trans_variance``: the target gets the QTL through the mediator).
    heritability
        Range of background / (background + noise).
    sex_effect, n_batches, batch_effect
        SDs (noise units) of the per-gene sex difference and batch shifts; batches.
    cross
        A simulated cross to use instead (with a physical map in Mbp on GRCm39 chromosome
        names); only genes inside its map are drawn.
    genes
        The gene table to draw from (columns of the Ensembl table: ensgene, symbol, chr,
        start, end, strand, biotype); default the GRCm39 table of the data folder.

    Returns
    -------
    SimulatedExpression
    """
    from translocus.core.simulate import simulate_cross

    if (n if cross is None else cross.cross.n_individuals) < 10:
        raise OptionError("n", n, "simulate at least 10 animals")
    if n_genes < 1:
        raise OptionError("n_genes", n_genes, "simulate at least 1 gene")
    if not 0.0 <= cis_fraction <= 1.0:
        raise OptionError("cis_fraction", cis_fraction, "give a share in [0, 1]")
    for name, value in (
        ("cis_variance", cis_variance),
        ("trans_variance", trans_variance),
        ("mediator_variance", mediator_variance),
        ("heritability", heritability),
    ):
        _check_range(name, value)
    if n_hotspots < 0:
        raise OptionError("n_hotspots", n_hotspots, "must be 0 or more")
    lo_t, hi_t = (int(v) for v in hotspot_targets)
    if not 0 <= lo_t <= hi_t:
        raise OptionError("hotspot_targets", hotspot_targets, "give (low, high), 0 <= low <= high")
    if n_hotspots and float(mediator_variance[0]) <= float(trans_variance[1]):
        raise OptionError(
            "mediator_variance",
            mediator_variance,
            "its low end must exceed the high end of {trans_variance} "
            f"({float(trans_variance[1])}): targets get the QTL through the mediator",
        )
    if n_batches < 1:
        raise OptionError("n_batches", n_batches, "use 1 or more batches")
    if sex_effect < 0 or batch_effect < 0:
        raise OptionError("sex_effect" if sex_effect < 0 else "batch_effect", None, "give SD >= 0")

    rng = np.random.default_rng([seed, 15])
    if cross is None:
        gmap, pmap = mouse_map(n_markers=n_markers, seed=seed)
        cross = simulate_cross(cross_type="do", n=n, seed=seed, gmap=gmap, pmap=pmap)
    if cross.cross.pmap is None:
        raise OptionError("cross", None, "needs a physical map (Mbp) to place the genes")
    sim_cross = cross.cross
    assert sim_cross.pmap is not None
    samples = list(sim_cross.individuals)
    n = len(samples)
    alleles = tuple(cross.mosaic.alleles)

    # -- the genes: inside the map, sorted by chromosome and position
    pool = _gene_pool(genes)
    tss = np.where(pool["strand"] < 0, pool["end"], pool["start"]) / 1e6
    inside = np.zeros(len(pool), dtype=bool)
    for chrom, positions in sim_cross.pmap.items():
        on = (pool["chr"] == str(chrom)).to_numpy()
        lo_p, hi_p = float(positions.min()), float(positions.max())
        inside |= (
            on & (pool["start"].to_numpy() / 1e6 >= lo_p) & (pool["end"].to_numpy() / 1e6 <= hi_p)
        )
    pool = pool.assign(tss=tss)[inside]
    if len(pool) < n_genes:
        names = ", ".join(list(sim_cross.pmap)[:3])
        raise OptionError(
            "n_genes",
            n_genes,
            f"only {len(pool)} protein-coding genes lie inside the map of {{cross}} (chromosomes "
            f"{names} ...; GRCm39 names 1-19 and X, positions in Mbp); ask for fewer genes",
        )
    chosen = pool.iloc[np.sort(rng.choice(len(pool), size=n_genes, replace=False))].copy()
    order = {c: i for i, c in enumerate(sim_cross.pmap)}
    chosen["_order"] = chosen["chr"].map(order)
    chosen = chosen.sort_values(["_order", "start", "gene_id"]).reset_index(drop=True)
    gene_ids = chosen["gene_id"].to_numpy()
    chrom_of = chosen["chr"].to_numpy()
    pos_mbp = chosen["tss"].to_numpy()
    pos_cm = np.empty(n_genes)
    for chrom in np.unique(chrom_of):
        on = chrom_of == chrom
        pos_cm[on] = np.interp(
            pos_mbp[on], sim_cross.pmap[chrom].to_numpy(), sim_cross.gmap[chrom].to_numpy()
        )

    # -- kinds: mediators (distinct autosomes), their targets (other chromosomes), local
    kind = np.full(n_genes, "none", dtype=object)
    hotspot_of = np.full(n_genes, "", dtype=object)
    mediator_of = np.full(n_genes, "", dtype=object)
    autosomes = [c for c in np.unique(chrom_of) if c != sim_cross.x_chr]
    if n_hotspots > len(autosomes):
        raise OptionError("n_hotspots", n_hotspots, f"at most {len(autosomes)} (one per autosome)")
    hot_chroms: list[str] = (
        [str(c) for c in rng.choice(autosomes, size=n_hotspots, replace=False)]
        if n_hotspots
        else []
    )
    n_targets = rng.integers(lo_t, hi_t + 1, size=n_hotspots)
    n_local = int(round(cis_fraction * n_genes))
    if n_hotspots + int(n_targets.sum()) + max(n_local - n_hotspots, 0) > n_genes:
        raise OptionError(
            "n_genes",
            n_genes,
            f"too few for {n_hotspots} hotspots of {lo_t}-{hi_t} targets and "
            f"{n_local} local eQTL; lower {{hotspot_targets}} or {{cis_fraction}}",
        )
    mediators: list[int] = []
    # a mediator is a named gene (not a predicted Gm/Rik model, not an olfactory receptor)
    named = ~chosen["symbol"].str.contains(_UNNAMED, regex=True).to_numpy()
    for h, chrom in enumerate(hot_chroms):
        candidates = np.flatnonzero((chrom_of == chrom) & named)
        if not len(candidates):
            candidates = np.flatnonzero(chrom_of == chrom)
        j = int(rng.choice(candidates))
        mediators.append(j)
        kind[j] = "mediator"
        hotspot_of[j] = f"hotspot{h + 1}"
    for h, j in enumerate(mediators):
        free = np.flatnonzero((kind == "none") & (chrom_of != chrom_of[j]))
        if len(free) < n_targets[h]:
            raise OptionError(
                "n_genes", n_genes, "too few genes off the hotspots' chromosomes for their targets"
            )
        targets = rng.choice(free, size=int(n_targets[h]), replace=False)
        kind[targets] = "distal"
        hotspot_of[targets] = f"hotspot{h + 1}"
        mediator_of[targets] = gene_ids[j]
        mediator_of[j] = gene_ids[j]
    free = np.flatnonzero(kind == "none")
    kind[rng.choice(free, size=max(n_local - n_hotspots, 0), replace=False)] = "local"

    # -- covariates
    female = sim_cross.is_female.reindex(samples).to_numpy(dtype=float)
    batch = rng.permutation(np.arange(n) % n_batches)
    covariates = pd.DataFrame(
        {"sex": female.astype(np.int64), "batch": [f"batch{b + 1}" for b in batch]},
        index=pd.Index(samples, name="sample"),
    )

    # -- residual parts: background + sex + batch + noise (gene columns)
    noise = rng.normal(0.0, 1.0, size=(n, n_genes))
    h2 = rng.uniform(heritability[0], heritability[1], size=n_genes)
    # background ~ N(0, K): the infinitesimal model on the realised kinship (every marker a
    # small locus), so that no few loci stand out as QTL of their own
    root = _cholesky(_true_kinship(cross))
    background = np.empty((n, n_genes))
    for start in range(0, n_genes, 4000):
        stop = min(start + 4000, n_genes)
        background[:, start:stop] = root @ rng.normal(0.0, 1.0, size=(n, stop - start))
    background -= background.mean(axis=0)
    sd = background.std(axis=0)
    sd[sd == 0] = 1.0
    background *= np.sqrt(h2 / (1.0 - h2)) / sd
    sex_diff = rng.normal(0.0, sex_effect, size=n_genes)
    batch_shift = rng.normal(0.0, batch_effect, size=(n_batches, n_genes))
    values = noise + background + female[:, None] * sex_diff[None, :] + batch_shift[batch]

    # -- local eQTL (mediators first: targets read their expression)
    variance = np.full(n_genes, np.nan)
    patterns = np.full(n_genes, "", dtype=object)
    effects = np.full((n_genes, len(alleles)), np.nan)
    qtl_genes = np.flatnonzero((kind == "local") | (kind == "mediator"))
    dosage_at = _dosages(cross, chrom_of[qtl_genes], pos_cm[qtl_genes])
    for j, dosage in zip(qtl_genes, dosage_at, strict=True):
        rangeset = mediator_variance if kind[j] == "mediator" else cis_variance
        share = float(rng.uniform(rangeset[0], rangeset[1]))
        for _ in range(100):
            label, eff = _pattern(rng, alleles)
            part = dosage @ eff
            if np.var(part) > 1e-8:
                break
        else:  # pragma: no cover - a founder absent from every animal at 100 draws
            raise InputError(f"gene {gene_ids[j]}: no founder pattern varies in the sample")
        scale = _scale_to_share(part, values[:, j], share) if share > 0 else 0.0
        values[:, j] += scale * part
        variance[j] = share
        patterns[j] = label
        effects[j] = scale * eff

    # -- hotspot targets: the mediator's expression times a coefficient
    coef = np.full(n_genes, np.nan)
    hotspot_rows = []
    for h, m in enumerate(mediators):
        dosage = _dosages(cross, chrom_of[[m]], pos_cm[[m]])[0]
        q = dosage @ effects[m]
        q = q - q.mean()
        expr = values[:, m] - values[:, m].mean()
        for j in np.flatnonzero(mediator_of == gene_ids[m]):
            if j == m:
                continue
            share = float(rng.uniform(trans_variance[0], trans_variance[1]))
            sign = 1.0 if rng.random() < 0.5 else -1.0
            b = sign * _coef_for_share(q * sign, expr * sign, values[:, j], share)
            values[:, j] += b * expr
            coef[j] = b
            variance[j] = share
            patterns[j] = patterns[m]
            effects[j] = b * effects[m]
        hotspot_rows.append(
            {
                "hotspot": f"hotspot{h + 1}",
                "chr": str(chrom_of[m]),
                "pos": round(float(pos_mbp[m]), 6),
                "pos_cM": round(float(pos_cm[m]), 6),
                "mediator": gene_ids[m],
                "mediator_symbol": chosen["symbol"].iloc[m],
                "mediator_variance": variance[m],
                "targets": int(n_targets[h]),
            }
        )

    mean = rng.normal(8.0, 1.5, size=n_genes)
    values += mean[None, :]

    features = pd.DataFrame(
        {
            "gene_id": gene_ids,
            "symbol": chosen["symbol"].to_numpy(),
            "chr": chrom_of.astype(str),
            "start": chosen["start"].to_numpy(dtype=np.int64),
            "end": chosen["end"].to_numpy(dtype=np.int64),
            "build": _BUILD,
        },
        index=pd.Index(gene_ids),
    )
    has_qtl = kind != "none"
    qtl_index = np.where(
        kind == "distal",
        np.array([mediators[int(s[len("hotspot") :]) - 1] if s else -1 for s in hotspot_of]),
        np.arange(n_genes),
    )
    truth = features.drop(columns="build").reset_index(drop=True)
    truth["kind"] = kind.astype(str)
    truth["qtl_chr"] = np.where(has_qtl, chrom_of[qtl_index], "")
    truth["qtl_pos"] = np.where(has_qtl, np.round(pos_mbp[qtl_index], 6), np.nan)
    truth["qtl_cM"] = np.where(has_qtl, np.round(pos_cm[qtl_index], 6), np.nan)
    truth["variance"] = variance
    truth["pattern"] = patterns.astype(str)
    for i, allele in enumerate(alleles):
        truth[f"effect_{allele}"] = effects[:, i]
    truth["hotspot"] = hotspot_of.astype(str)
    truth["mediator"] = mediator_of.astype(str)
    truth["mediator_coef"] = coef
    truth["h2"] = h2
    truth["sex_effect"] = sex_diff
    truth["mean"] = mean

    hotspots = pd.DataFrame(
        hotspot_rows,
        columns=[
            "hotspot", "chr", "pos", "pos_cM", "mediator", "mediator_symbol",
            "mediator_variance", "targets",
        ],
    )  # fmt: skip
    parameters: dict[str, object] = {
        "n": n,
        "n_markers": int(sum(len(s) for s in sim_cross.gmap.values())),
        "n_genes": n_genes,
        "seed": seed,
        "cis_fraction": cis_fraction,
        "cis_variance": tuple(cis_variance),
        "n_hotspots": n_hotspots,
        "hotspot_targets": (lo_t, hi_t),
        "trans_variance": tuple(trans_variance),
        "mediator_variance": tuple(mediator_variance),
        "heritability": tuple(heritability),
        "sex_effect": sex_effect,
        "n_batches": n_batches,
        "batch_effect": batch_effect,
        "build": _BUILD,
    }
    expression = pd.DataFrame(
        values,
        index=pd.Index(samples, name="sample"),
        columns=pd.Index(gene_ids, name="feature"),
    )
    return SimulatedExpression(
        cross=cross,
        expression=expression,
        features=features,
        covariates=covariates,
        truth=truth,
        hotspots=hotspots,
        parameters=parameters,
    )


def _true_kinship(cross: SimulatedCross) -> np.ndarray:
    """Mean over markers of the true allele-probability products ``[sample, sample]``.

    The probabilities are halves, so every sum is exact whatever the order of the products.
    """
    n = cross.cross.n_individuals
    k = len(cross.mosaic.alleles)
    kinship = np.zeros((n, n))
    total = 0
    for chrom, gmap in cross.cross.gmap.items():
        hap = cross.mosaic.founders_at(chrom=chrom, positions=gmap.to_numpy())
        m = hap.shape[2]
        probs = np.zeros((n, m, k))
        rows, cols = np.arange(n)[:, None], np.arange(m)[None, :]
        for h in range(2):
            np.add.at(probs, (rows, cols, hap[:, h, :]), 0.5)
        flat = probs.reshape(n, m * k)
        kinship += flat @ flat.T
        total += m
    return kinship / total


def _cholesky(kinship: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the kinship, with the least ridge that makes it definite.

    Unlike an eigendecomposition (whose vectors' signs are the library's choice), the factor
    is unique, so the background is the same on every machine.
    """
    scale = float(np.mean(np.diag(kinship)))
    for ridge in (0.0, 1e-10, 1e-8, 1e-6, 1e-4):
        try:
            return np.linalg.cholesky(kinship + ridge * scale * np.eye(len(kinship)))
        except np.linalg.LinAlgError:
            continue
    raise InputError("the realised kinship of the simulated cross is not positive definite")


def _dosages(cross: SimulatedCross, chroms: np.ndarray, pos_cm: np.ndarray) -> list[np.ndarray]:
    """True founder dosages ``[sample, founder]`` (0, 1, 2) at each (chromosome, cM)."""
    out: list[np.ndarray] = [np.empty(0)] * len(chroms)
    k = len(cross.mosaic.alleles)
    for chrom in np.unique(chroms):
        idx = np.flatnonzero(chroms == chrom)
        hap = cross.mosaic.founders_at(chrom=str(chrom), positions=pos_cm[idx])
        n_samples = hap.shape[0]
        rows = np.arange(n_samples)
        for col, j in enumerate(idx):
            d = np.zeros((n_samples, k))
            np.add.at(d, (rows, hap[:, 0, col]), 1.0)
            np.add.at(d, (rows, hap[:, 1, col]), 1.0)
            out[j] = d
    return out


def _coef_for_share(q: np.ndarray, expr: np.ndarray, rest: np.ndarray, share: float) -> float:
    """b > 0 with var(b·q) / var(b·expr + rest) = share (q: the QTL part of ``expr``)."""
    vq = float(np.var(q))
    vm = float(np.var(expr))
    vr = float(np.var(rest))
    c = float(np.mean((expr - expr.mean()) * (rest - rest.mean())))
    a = vq - share * vm
    return (share * c + np.sqrt((share * c) ** 2 + a * share * vr)) / a


def write_expression(
    sim: SimulatedExpression,
    folder: Path | str,
    *,
    formats: tuple[str, ...] = ("parquet",),
    name: str = "sim",
) -> Path:
    """Write the cross and the molecular files into a new folder (replaced as a whole).

    Writes the cross as R/qtl2 files (``<name>.json`` …, its QTL in ``truth.csv``), then
    ``expression.parquet`` (``sample`` column, then one column per gene ID; also
    ``expression.csv`` and, when ``anndata`` is installed, ``expression.h5ad`` if asked in
    ``formats``), ``features.csv``, ``expression_covar.csv`` (sample, sex, batch),
    ``expression_truth.csv`` and ``hotspots.csv``. Returns the folder.
    """
    from translocus.core.atomic import atomic_dir

    folder = Path(folder)
    _check_formats(formats)
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not (folder / f"{name}.json").is_file())
    ):
        raise InputError(
            f"{folder}: exists and does not hold an earlier simulation named {name!r}; "
            "give a new or empty folder (the folder is replaced as a whole)"
        )
    with atomic_dir(folder) as tmp:
        write_expression_files(sim, tmp, formats=formats, name=name)
    return folder


_FORMATS = ("parquet", "csv", "h5ad")


def _check_formats(formats: tuple[str, ...]) -> None:
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown or not formats:
        raise OptionError("formats", formats, f"choose from {', '.join(_FORMATS)}")
    if "h5ad" in formats:
        try:
            import anndata  # noqa: F401
        except ImportError:
            raise OptionError(
                "formats", formats, "h5ad needs anndata: pip install 'translocus[h5ad]'"
            ) from None


def write_expression_files(
    sim: SimulatedExpression,
    folder: Path,
    *,
    formats: tuple[str, ...] = ("parquet",),
    name: str = "sim",
    cross: bool = True,
) -> list[Path]:
    """Write the files of :func:`write_expression` straight into an existing ``folder``.

    ``cross=False`` leaves the cross's files out (a run folder that already has them); the
    control file of ``name`` gets the genes' build as ``assembly`` either way.
    Returns the paths written.
    """
    from translocus.core.simulate import write_simulated_files

    _check_formats(formats)
    folder = Path(folder)
    written: list[Path] = []
    if cross:
        written.append(write_simulated_files(sim.cross, folder, name=name))
    control = folder / f"{name}.json"
    builds = sim.features["build"].dropna().unique() if "build" in sim.features else []
    if control.exists() and len(builds) == 1:
        # the map is on the genes' build: the control file says so (``assembly``), so that
        # peaks and gene positions are compared on one build without --build
        record = json.loads(control.read_text(encoding="utf-8"))
        record["assembly"] = str(builds[0])
        control.write_text(json.dumps(record, indent=2), encoding="utf-8")
    table = sim.expression.reset_index()
    table.columns = [str(c) for c in table.columns]
    if "parquet" in formats:
        path = folder / "expression.parquet"
        table.to_parquet(path, index=False)
        written.append(path)
    if "csv" in formats:
        path = folder / "expression.csv"
        table.to_csv(path, index=False, float_format="%.10g")
        written.append(path)
    if "h5ad" in formats:
        written.append(_write_h5ad(sim, folder / "expression.h5ad"))
    tables: dict[str, pd.DataFrame] = {
        "features.csv": sim.features.reset_index(drop=True),
        "expression_covar.csv": sim.covariates.reset_index(),
        "expression_truth.csv": sim.truth,
        "hotspots.csv": sim.hotspots,
    }
    for file_name, frame in tables.items():
        path = folder / file_name
        path.write_text(frame.to_csv(index=False), encoding="utf-8")
        written.append(path)
    return written


def _write_h5ad(sim: SimulatedExpression, path: Path) -> Path:
    import anndata

    obs = sim.covariates.copy()
    obs.index = obs.index.astype(str)
    var = sim.features.drop(columns="gene_id").copy()
    var.index = var.index.astype(str)
    adata: Any = anndata.AnnData(
        X=sim.expression.to_numpy(dtype=np.float64),
        obs=obs,
        var=var,
        uns={"build": _BUILD, "source": "translocus simulate_expression"},
    )
    adata.write_h5ad(path)
    return path
