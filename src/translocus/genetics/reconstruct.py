"""Genotype reconstruction, as R/qtl2's ``maxmarg``, ``viterbi`` and ``count_xo``.

A reconstruction is one genotype call per individual and marker (:class:`GenotypeCalls`):
the genotype of largest marginal probability (:func:`maxmarg`) or the most probable
sequence along the chromosome (:func:`viterbi`). :func:`count_xo` counts the crossovers a
reconstruction implies, the usual check for sample mix-ups and bad arrays.

Calls are R/qtl2's integer codes: ``k`` is the ``k``-th genotype of the chromosome's list
(``GenotypeCalls.genotypes``, 1-based) and ``0`` means no call (R's ``NA``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> from translocus.genetics.genoprob import calc_genoprob
>>> cross = Cross(crosstype="bc", individuals=("a", "b"),
...               geno={"1": np.array([[1, 1, 2], [2, 0, 1]], dtype=np.int8)},
...               gmap={"1": pd.Series([0.0, 10.0, 20.0], index=["m1", "m2", "m3"])},
...               alleles=("A", "B"), x_chr=None)
>>> calls = maxmarg(calc_genoprob(cross, error_prob=0.002), minprob=0.95)
>>> calls["1"].values.tolist()
[[1, 1, 2], [2, 0, 1]]
>>> count_xo(calls)["1"].tolist()
[1, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.genetics._reconstruct_numba import viterbi_dense

__all__ = ["GenotypeCalls", "count_xo", "maxmarg", "viterbi"]


@dataclass(frozen=True)
class GenotypeCalls:
    """One genotype call per individual and marker, chromosome by chromosome.

    Attributes
    ----------
    calls
        Per chromosome an ``xr.DataArray`` ``[sample, marker]`` of int16 codes: ``k`` is the
        ``k``-th name of ``genotypes[chrom]`` (1-based), ``0`` no call.
    crosstype, alleles, x_chr
        As the cross the calls were made for.
    genotypes
        Per chromosome the genotype names, in R/qtl2's order.
    """

    calls: Mapping[str, xr.DataArray]
    crosstype: str
    alleles: tuple[str, ...]
    x_chr: str | None
    genotypes: Mapping[str, tuple[str, ...]]

    def __getitem__(self, chrom: str) -> xr.DataArray:
        return self.calls[chrom]

    @property
    def chromosomes(self) -> tuple[str, ...]:
        """Chromosome names, in order."""
        return tuple(self.calls)

    @property
    def samples(self) -> tuple[str, ...]:
        """Individual IDs (the same on every chromosome)."""
        first = next(iter(self.calls.values()), None)
        return () if first is None else tuple(first.coords["sample"].values.tolist())

    def is_x(self, chrom: str) -> bool:
        """Whether ``chrom`` is the X chromosome."""
        return self.x_chr is not None and str(chrom) == str(self.x_chr)

    def names(self, chrom: str) -> pd.DataFrame:
        """The calls of ``chrom`` as genotype names (``None`` for no call), like ``return_char``.

        ``[sample, marker]`` frame of strings.
        """
        arr = self.calls[chrom]
        lookup = np.asarray([None, *self.genotypes[chrom]], dtype=object)
        return pd.DataFrame(
            lookup[arr.values.astype(np.int64)],
            index=pd.Index(arr.coords["sample"].values, name="sample"),
            columns=pd.Index(arr.coords["marker"].values, name="marker"),
        )


def maxmarg(probs: GenoProbs, *, minprob: float = 0.95, tol: float = 1e-13) -> GenotypeCalls:
    """The genotype of largest marginal probability at each marker (R/qtl2 ``maxmarg``).

    Parameters
    ----------
    probs
        Genotype probabilities (:func:`~translocus.genetics.genoprob.calc_genoprob`).
    minprob
        A call needs a probability above ``minprob`` (within ``tol``); otherwise no call
        (``0``). R/qtl2's default 0.95.
    tol
        Probabilities within ``tol`` of each other are tied.

    Returns
    -------
    GenotypeCalls
        ``[sample, marker]`` int16 calls per chromosome.

    Notes
    -----
    Ties can only happen when ``minprob < 0.5``; R/qtl2 then draws one of the tied genotypes
    at random, this function takes the first.

    Examples
    --------
    See the module docstring.
    """
    if probs.kind != "genotype":
        raise InputError("maxmarg needs genotype probabilities, not allele probabilities")
    if not minprob >= 0 or not tol >= 0:
        raise InputError(f"minprob={minprob} and tol={tol} must be non-negative numbers")
    out: dict[str, xr.DataArray] = {}
    names: dict[str, tuple[str, ...]] = {}
    for chrom, arr in probs.probs.items():
        values = np.asarray(arr.values, dtype=float)  # [marker, sample, genotype]
        if values.shape[2] == 0:
            best = np.zeros(values.shape[:2], dtype=np.int16)
        else:
            top = values.max(axis=2)
            first = np.argmax(values >= (top - tol)[:, :, None], axis=2)
            best = np.where(top > minprob - tol, first + 1, 0).astype(np.int16)
        out[chrom] = _calls_array(best.T, arr.coords["sample"].values, arr, chrom)
        names[chrom] = tuple(str(g) for g in arr.coords["genotype"].values)
    return GenotypeCalls(out, probs.crosstype, tuple(probs.alleles), probs.x_chr, names)


def _calls_array(
    values: np.ndarray, samples: np.ndarray, like: xr.DataArray, chrom: str
) -> xr.DataArray:
    coords: dict[str, object] = {
        "sample": pd.Index(samples, dtype=object, name="sample"),
        "marker": pd.Index(like.coords["marker"].values, dtype=object, name="marker"),
    }
    for extra in ("pos_cM", "pos_Mbp"):
        if extra in like.coords:
            coords[extra] = ("marker", like.coords[extra].values)
    return xr.DataArray(
        np.ascontiguousarray(values, dtype=np.int16),
        dims=("sample", "marker"),
        coords=coords,
        name=f"calls_{chrom}",
    )


def viterbi(
    cross: Cross,
    *,
    error_prob: float = 1e-4,
    map_function: str = "haldane",
    chromosomes: Sequence[str] | None = None,
) -> GenotypeCalls:
    """The most probable sequence of genotypes along each chromosome (R/qtl2 ``viterbi``).

    Parameters
    ----------
    cross
        The cross; every cross type :func:`~translocus.genetics.genoprob.calc_genoprob`
        supports.
    error_prob
        Genotyping error probability (R/qtl2's default ``1e-4``).
    map_function
        ``"haldane"`` (R/qtl2's default), ``"kosambi"``, ``"c-f"`` or ``"morgan"``.
    chromosomes
        Subset of chromosomes, in the order given; default all.

    Returns
    -------
    GenotypeCalls
        ``[sample, marker]`` int16 calls per chromosome, at the markers.

    Notes
    -----
    Paths of equal probability (within rounding) are broken towards the lowest genotype
    code; R/qtl2 breaks them at random, so the two differ only where the data cannot tell
    genotypes apart.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> cross = Cross(crosstype="bc", individuals=("a",),
    ...               geno={"1": np.array([[1, 2, 1, 1]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0, 1.0, 2.0, 3.0], index=list("wxyz"))},
    ...               alleles=("A", "B"), x_chr=None)
    >>> viterbi(cross, error_prob=0.01)["1"].values.tolist()  # a lone B is an error
    [[1, 1, 1, 1]]
    """
    from translocus.genetics.genoprob import (
        check_codes,
        hmm_setup,
        individual_groups,
        marker_layout,
    )

    model, chroms, is_female, cross_info, alleles = hmm_setup(
        cross, error_prob=error_prob, map_function=map_function, chromosomes=chromosomes
    )
    samples = np.asarray(list(cross.individuals), dtype=object)
    out: dict[str, xr.DataArray] = {}
    names: dict[str, tuple[str, ...]] = {}
    for chrom in chroms:
        layout = marker_layout(
            cross, chrom, step=0.0, off_end=0.0, stepwidth="fixed", map_function=map_function
        )
        geno = np.ascontiguousarray(cross.geno[chrom], dtype=np.int8)
        check_codes(geno, chrom)
        is_x = model.handles_x and cross.is_x(chrom)
        n_mar = geno.shape[1]
        result = np.zeros((len(samples), n_mar), dtype=np.int16)
        founder = None
        if cross.founder_geno is not None and chrom in cross.founder_geno:
            founder = np.asarray(cross.founder_geno[chrom])
        keys: list[tuple[object, ...]]
        if is_x:
            keys = [
                (bool(f), tuple(c)) for f, c in zip(is_female, cross_info.tolist(), strict=True)
            ]
        else:
            keys = [((), tuple(c)) for c in cross_info.tolist()]
        if n_mar > 0:
            for _key, rows in individual_groups(keys):
                args = {"is_x": is_x, "is_female": bool(is_female[rows[0]]),
                        "cross_info": cross_info[rows[0]]}  # fmt: skip
                poss = np.asarray(model.possible(**args), dtype=np.int64)
                emit = model.emission(error_prob=float(error_prob), founder_geno=founder,
                                      n_markers=n_mar, **args)[:, :, poss]  # fmt: skip
                init = model.init(**args)[poss]
                trans = model.transition(layout.rf, **args)[:, poss][:, :, poss]
                with np.errstate(divide="ignore"):
                    viterbi_dense(
                        geno, rows, np.ascontiguousarray(np.log(emit)),
                        np.ascontiguousarray(np.log(init)), np.ascontiguousarray(np.log(trans)),
                        result, poss,
                    )  # fmt: skip
        like = xr.DataArray(
            np.zeros(n_mar),
            dims=("marker",),
            coords={
                "marker": layout.positions.index,
                "pos_cM": ("marker", layout.positions.values),
            },
        )
        out[chrom] = _calls_array(result, samples, like, chrom)
        names[chrom] = tuple(model.genotype_names(alleles, is_x))
    x_chr = cross.x_chr if model.handles_x else None
    return GenotypeCalls(out, cross.crosstype, alleles, x_chr, names)


#: Cross types whose crossovers are counted on allele pairs (R/qtl2's ``nrec`` of ``do``, ``ail3``,
#: ``hs`` and ``genail<N>`` everywhere, of ``f2`` and ``ail`` on autosomes); every other type
#: (and the male X) counts one crossover for any change of genotype.
_PAIR_COUNTED = ("do", "hs", "ail3")


def _nrec_table(crosstype: str, genotypes: Sequence[str], is_x: bool) -> np.ndarray:
    """Crossovers between each pair of genotypes, ``[n + 1, n + 1]`` (row/column 0: no call).

    As R/qtl2's ``nrec`` (with ``count_xo``'s ``is_female=FALSE``): for the cross types that
    count on allele pairs, two diploid genotypes differ by the alleles one does not share
    with the other (0, 1 or 2) and two hemizygous ones (``AY``) by 1; otherwise any change is
    one crossover.
    """
    pairs = crosstype in _PAIR_COUNTED or crosstype.startswith("genail")
    pairs = pairs or (crosstype in ("f2", "ail") and not is_x)
    n = len(genotypes)
    table = np.zeros((n + 1, n + 1), dtype=np.int64)
    for i, left in enumerate(genotypes, start=1):
        for j, right in enumerate(genotypes, start=1):
            if left == right:
                continue
            hemizygous = is_x and left.endswith("Y") and right.endswith("Y")
            if not pairs or hemizygous or len(left) != 2 or len(right) != 2:
                table[i, j] = 1
                continue
            rest = list(right)
            shared = 0
            for allele in left:
                if allele in rest:
                    rest.remove(allele)
                    shared += 1
            table[i, j] = 2 - shared
    return table


def count_xo(calls: GenotypeCalls) -> pd.DataFrame:
    """Crossovers per individual and chromosome implied by genotype calls (R/qtl2 ``count_xo``).

    Consecutive called markers (no-calls skipped) with different genotypes add the fewest
    crossovers that turn one into the other.

    Parameters
    ----------
    calls
        From :func:`maxmarg` or :func:`viterbi`.

    Returns
    -------
    pandas.DataFrame
        ``[sample, chromosome]`` integer counts (columns in the calls' chromosome order).

    Examples
    --------
    See the module docstring.
    """
    columns: dict[str, np.ndarray] = {}
    for chrom, arr in calls.calls.items():
        table = _nrec_table(calls.crosstype, calls.genotypes[chrom], calls.is_x(chrom))
        values = arr.values.astype(np.int64)
        counts = np.zeros(values.shape[0], dtype=np.int64)
        for i, row in enumerate(values):
            called = row[row > 0]
            if called.size > 1:
                counts[i] = int(table[called[:-1], called[1:]].sum())
        columns[chrom] = counts
    return pd.DataFrame(columns, index=pd.Index(list(calls.samples), name="sample"))
