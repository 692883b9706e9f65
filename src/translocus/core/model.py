"""The data model: crosses, genotype probabilities and phenotype tables.

Arrays carry named dimensions (``marker``, ``sample``, ``genotype``/``founder``, ``trait``).
Objects are created by readers or simulators and are not mutated by the engines: functions
return new objects.

Conventions
-----------
- Genotype codes in :attr:`Cross.geno` are small integers: ``0`` is missing and ``1..k``
  follow the control file's ``genotypes`` table (R/qtl2's encoding: for a two-allele cross
  ``AA=1, AB=2, BB=3``; for DO SNP calls ``A=1, H=2, B=3``).
- :attr:`Cross.founder_geno` uses the same codes for the founders (``1`` or ``3``, ``0``
  missing) with shape ``[founder, marker]``.
- Chromosomes keep the order of the genetic map file; within a chromosome, markers are in
  increasing cM position.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.provenance import Provenance

__all__ = [
    "CROSS_TYPES",
    "Cross",
    "GenoProbs",
    "long_phenotypes",
    "wide_phenotypes",
]

#: Cross types translocus understands, with the number of founder alleles.
CROSS_TYPES: dict[str, int] = {
    "do": 8,
    "risib8": 8,
    "risib": 2,
    "riself": 2,
    "f2": 2,
    "bc": 2,
}


@dataclass(frozen=True)
class Cross:
    """An experimental cross as R/qtl2 describes it.

    Attributes
    ----------
    crosstype
        One of :data:`CROSS_TYPES` (``"do"``, ``"risib"``, ``"f2"``, …).
    geno
        Per chromosome, ``int8`` array ``[sample, marker]`` of genotype codes (0 = missing).
        Samples are :attr:`individuals` in order.
    gmap, pmap
        Per chromosome, ``pd.Series`` of marker positions (cM / Mbp) indexed by marker name,
        in the same marker order as ``geno``. ``pmap`` may be ``None``.
    founder_geno
        Per chromosome, ``int8`` array ``[founder, marker]`` or ``None`` (two-way crosses).
    pheno
        ``[sample, trait]`` float table indexed by individual ID.
    covar
        Individual covariates (any dtype), indexed by individual ID.
    phenocovar
        Per-trait descriptions (index = trait name), or ``None``.
    is_female
        Boolean per genotyped individual (index = individual ID).
    cross_info
        Integer cross information per genotyped individual (DO: generation number ``ngen``;
        F2: cross direction; RI: funnel order), index = individual ID.
    alleles
        Founder allele letters (``A``–``H`` for DO).
    genotypes
        The control file's code table, e.g. ``{"A": 1, "H": 2, "B": 3}``.
    x_chr
        Name of the X chromosome (``"X"``) or ``None``.
    """

    crosstype: str
    individuals: tuple[str, ...]
    geno: Mapping[str, np.ndarray]
    gmap: Mapping[str, pd.Series]
    pmap: Mapping[str, pd.Series] | None = None
    founder_geno: Mapping[str, np.ndarray] | None = None
    pheno: pd.DataFrame = field(default_factory=pd.DataFrame)
    covar: pd.DataFrame = field(default_factory=pd.DataFrame)
    phenocovar: pd.DataFrame | None = None
    is_female: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))
    cross_info: pd.DataFrame = field(default_factory=pd.DataFrame)
    alleles: tuple[str, ...] = ()
    genotypes: Mapping[str, int] = field(default_factory=dict)
    x_chr: str | None = "X"
    founders: tuple[str, ...] = ()
    description: str = ""
    provenance: Provenance = field(default_factory=lambda: Provenance(name="unnamed"))

    # -- sizes -----------------------------------------------------------------------------
    @property
    def chromosomes(self) -> tuple[str, ...]:
        """Chromosome names, in map order."""
        return tuple(self.gmap)

    @property
    def n_individuals(self) -> int:
        """Number of genotyped individuals."""
        return len(self.individuals)

    @property
    def n_markers(self) -> int:
        """Number of positions over all chromosomes."""
        return int(sum(len(m) for m in self.gmap.values()))

    @property
    def n_founders(self) -> int:
        """Number of founder strains (0 without founder genotypes)."""
        if self.founder_geno:
            return int(next(iter(self.founder_geno.values())).shape[0])
        return 0

    @property
    def n_phenotypes(self) -> int:
        """Number of phenotype columns."""
        return int(self.pheno.shape[1])

    @property
    def n_covariates(self) -> int:
        """Number of covariate columns."""
        return int(self.covar.shape[1])

    @property
    def marker_names(self) -> list[str]:
        """Marker IDs in map order, chromosome by chromosome."""
        return [m for chrom in self.gmap.values() for m in chrom.index]

    def is_x(self, chrom: str) -> bool:
        """Whether ``chrom`` is the X chromosome."""
        return self.x_chr is not None and chrom == self.x_chr

    def markers_per_chromosome(self) -> pd.Series:
        """Number of markers on each chromosome."""
        return pd.Series({c: len(m) for c, m in self.gmap.items()}, name="markers")

    def pheno_individuals_in_geno(self) -> tuple[list[str], list[str]]:
        """Return (phenotyped and genotyped, phenotyped but not genotyped) IDs."""
        geno_ids = set(self.individuals)
        both = [i for i in self.pheno.index if i in geno_ids]
        missing = [i for i in self.pheno.index if i not in geno_ids]
        return both, missing

    def missing_genotype_rate(self) -> float:
        """Fraction of genotype calls that are missing (code 0)."""
        total = sum(g.size for g in self.geno.values())
        missing = sum(int((g == 0).sum()) for g in self.geno.values())
        return missing / total if total else float("nan")

    def subset(
        self, *, chromosomes: list[str] | None = None, individuals: list[str] | None = None
    ) -> Cross:
        """Return a new cross restricted to some chromosomes and/or individuals."""
        chroms = list(chromosomes) if chromosomes is not None else list(self.chromosomes)
        unknown = [c for c in chroms if c not in self.gmap]
        if unknown:
            raise KeyError(f"chromosomes not in the cross: {unknown}")
        ids = list(individuals) if individuals is not None else list(self.individuals)
        pos = {ind: i for i, ind in enumerate(self.individuals)}
        missing = [i for i in ids if i not in pos]
        if missing:
            raise KeyError(f"individuals not genotyped in the cross: {missing[:5]}")
        rows = np.array([pos[i] for i in ids], dtype=np.intp)
        return replace(
            self,
            individuals=tuple(ids),
            geno={c: self.geno[c][rows] for c in chroms},
            gmap={c: self.gmap[c] for c in chroms},
            pmap={c: self.pmap[c] for c in chroms} if self.pmap is not None else None,
            founder_geno=(
                {c: self.founder_geno[c] for c in chroms} if self.founder_geno is not None else None
            ),
            pheno=self.pheno.loc[[i for i in ids if i in self.pheno.index]],
            covar=self.covar.loc[[i for i in ids if i in self.covar.index]],
            is_female=self.is_female.loc[ids] if len(self.is_female) else self.is_female,
            cross_info=self.cross_info.loc[ids] if len(self.cross_info) else self.cross_info,
        )

    def summary(self) -> dict[str, object]:
        """The numbers R/qtl2's ``summary()`` prints, as a dict."""
        both, _ = self.pheno_individuals_in_geno()
        n_female = int(self.is_female.sum()) if len(self.is_female) else 0
        return {
            "crosstype": self.crosstype,
            "individuals": self.n_individuals,
            "individuals_phenotyped": int(self.pheno.shape[0]),
            "individuals_both": len(both),
            "females": n_female,
            "males": (self.n_individuals - n_female) if len(self.is_female) else 0,
            "chromosomes": len(self.chromosomes),
            "markers": self.n_markers,
            "phenotypes": self.n_phenotypes,
            "covariates": self.n_covariates,
            "phenotype_covariates": 0 if self.phenocovar is None else self.phenocovar.shape[1],
            "founders": self.n_founders,
            "missing_genotypes": round(self.missing_genotype_rate(), 4),
            "total_cM": round(float(sum(m.iloc[-1] - m.iloc[0] for m in self.gmap.values())), 2),
        }


@dataclass(frozen=True)
class GenoProbs:
    """Genotype (or founder-allele) probabilities, one array per chromosome.

    Each value of :attr:`probs` is an ``xr.DataArray`` with dims
    ``("marker", "sample", "genotype")`` (or ``"founder"`` for allele probabilities),
    coordinates ``marker`` (names), ``pos_cM``/``pos_Mbp`` (on ``marker``), ``sample``
    (individual IDs) and the state names on the last axis.
    """

    probs: Mapping[str, xr.DataArray]
    crosstype: str
    alleles: tuple[str, ...] = ()
    x_chr: str | None = "X"
    kind: str = "genotype"  # "genotype" or "allele"

    def __getitem__(self, chrom: str) -> xr.DataArray:
        return self.probs[chrom]

    def __iter__(self) -> Iterator[str]:
        return iter(self.probs)

    def __len__(self) -> int:
        return len(self.probs)

    @property
    def chromosomes(self) -> tuple[str, ...]:
        """Chromosome names, in map order."""
        return tuple(self.probs)

    @property
    def samples(self) -> tuple[str, ...]:
        """Sample IDs (the same on every chromosome)."""
        first = next(iter(self.probs.values()))
        return tuple(str(s) for s in first.coords["sample"].values)

    @property
    def n_markers(self) -> int:
        """Number of positions over all chromosomes."""
        return int(sum(p.sizes["marker"] for p in self.probs.values()))

    def is_x(self, chrom: str) -> bool:
        """Whether ``chrom`` is the X chromosome."""
        return self.x_chr is not None and chrom == self.x_chr

    def subset(
        self, *, chromosomes: list[str] | None = None, samples: list[str] | None = None
    ) -> GenoProbs:
        """The probabilities of some chromosomes and/or samples (all when ``None``).

        Probabilities read lazily from a store stay so when only chromosomes are chosen.
        """
        chroms = chromosomes if chromosomes is not None else list(self.probs)
        if samples is None and hasattr(self.probs, "subset"):  # a LazyProbs view: nothing read
            return replace(self, probs=self.probs.subset(chroms))
        out = {}
        for c in chroms:
            arr = self.probs[c]
            out[c] = arr.sel(sample=list(samples)) if samples is not None else arr
        return replace(self, probs=out)


def wide_phenotypes(
    long: pd.DataFrame,
    *,
    animal: str = "animal",
    measure: str = "measure",
    value: str = "value",
) -> pd.DataFrame:
    """Pivot a long ``animal, measure, value`` table into a wide ``[animal, trait]`` table.

    The animal IDs become the index, which the genetics engine matches to the cross's
    individuals (its arrays call that dimension ``sample``, as R/qtl2 does); a long table
    whose subject column has another name gives it as ``animal=``.

    >>> long = pd.DataFrame({"animal": ["a", "a", "b"], "measure": ["x", "y", "x"],
    ...                      "value": [1.0, 2.0, 3.0]})
    >>> float(wide_phenotypes(long).loc["b", "x"])
    3.0
    """
    missing = [c for c in (animal, measure, value) if c not in long.columns]
    if missing:
        raise InputError(
            f"long phenotype table: column(s) {', '.join(map(repr, missing))} not found; columns "
            f"are {', '.join(map(str, long.columns))}; name the subject column with animal=, "
            "the trait column with measure= and the values with value=."
        )
    dup = long.duplicated([animal, measure])
    if dup.any():
        first = long[dup].iloc[0]
        raise InputError(
            f"long phenotype table: {int(dup.sum())} duplicated ({animal}, {measure}) rows, "
            f"first ({first[animal]}, {first[measure]}); aggregate them or keep one age first."
        )
    wide = long.pivot(index=animal, columns=measure, values=value)
    wide.columns.name = None
    wide.index.name = None
    return wide.astype(float)


def long_phenotypes(
    wide: pd.DataFrame, *, animal: str = "animal", measure: str = "measure", value: str = "value"
) -> pd.DataFrame:
    """Melt a wide ``[animal, trait]`` table into ``animal, measure, value`` rows (NAs dropped)."""
    out = (
        wide.rename_axis(animal)
        .reset_index()
        .melt(id_vars=animal, var_name=measure, value_name=value)
    )
    return out.dropna(subset=[value]).reset_index(drop=True)
