"""Genotype quality control, as R/qtl2 computes it.

- :func:`calc_errorlod`: genotyping-error LOD score of every observed genotype
  (R/qtl2 ``calc_errorlod``); values above 2 are likely errors.
- :func:`compare_geno`: proportion of matching genotypes for every pair of individuals and
  the number of markers compared (``compare_geno``); pairs above 0.9 are duplicates or
  sample mix-ups (:meth:`GenoComparison.pairs`, R's ``summary.compare_geno``).
- :func:`calc_het`: heterozygosity of each individual or marker from genotype
  probabilities (``calc_het``).
- :func:`n_missing`, :func:`n_typed`, :func:`percent_missing`: missing-data counts and
  rates per individual or marker (``n_missing``, ``n_typed``).
- :func:`find_dup_markers`: groups of markers with identical genotypes
  (``find_dup_markers``).

Observed genotypes are the cross's codes (``0`` missing); the crossover counts of a
reconstruction are in :mod:`translocus.genetics.reconstruct`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> cross = Cross(crosstype="f2", individuals=("a", "b", "c"),
...               geno={"1": np.array([[1, 2, 3, 0], [1, 2, 3, 3], [3, 2, 1, 1]], dtype=np.int8)},
...               gmap={"1": pd.Series([0.0, 5.0, 10.0, 15.0], index=list("wxyz"))},
...               alleles=("A", "B"), x_chr=None)
>>> cg = compare_geno(cross)
>>> cg.pairs(threshold=0.9)[["ind1", "ind2", "prop_match", "n_compared"]].values.tolist()
[['a', 'b', 1.0, 3]]
>>> n_missing(cross).tolist(), percent_missing(cross, by="marker").tolist()
([1, 0, 0], [0.0, 0.0, 0.0, 33.33333333333333])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.genetics.crosstypes import get_cross_model

__all__ = [
    "GenoComparison",
    "calc_errorlod",
    "calc_het",
    "compare_geno",
    "find_dup_markers",
    "n_missing",
    "n_typed",
    "percent_missing",
]

#: The error probability R/qtl2 uses only to tell, from the emission probabilities, which
#: true genotypes would make an observed genotype an error (``Pr(obs | g) < 1/2``).
_ERRORLOD_EMISSION_ERROR = 0.01


def _chromosomes(cross: Cross, chromosomes: Sequence[str] | None) -> list[str]:
    chroms = list(cross.chromosomes) if chromosomes is None else [str(c) for c in chromosomes]
    unknown = [c for c in chroms if c not in cross.geno]
    if unknown:
        raise InputError(f"chromosomes {unknown} are not in the cross's genotypes")
    return chroms


def _geno(cross: Cross, chrom: str) -> np.ndarray:
    return np.asarray(cross.geno[chrom])


# -- genotyping-error LOD scores ---------------------------------------------------------------
def calc_errorlod(
    cross: Cross, probs: GenoProbs, *, chromosomes: Sequence[str] | None = None
) -> dict[str, pd.DataFrame]:
    """Genotyping-error LOD score of every observed genotype (R/qtl2 ``calc_errorlod``).

    For an observed genotype, the true genotypes ``g`` with ``Pr(obs | g) < 1/2`` (at an
    error probability of 0.01) would make it an error. The score is
    ``log10[(post_err / post_ok) / (prior_err / prior_ok)]``: the posterior odds of those
    genotypes (from ``probs``) over their prior odds. Missing genotypes score 0; when every
    possible genotype is an error the score is 5, when none is -5.

    Parameters
    ----------
    cross
        The cross.
    probs
        Its genotype probabilities at the markers (:func:`calc_genoprob` with ``step=0``).
    chromosomes
        Subset of chromosomes; default those of ``probs`` that the cross has.

    Returns
    -------
    dict of pandas.DataFrame
        Per chromosome a ``[sample, marker]`` frame of LOD scores.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.genetics.genoprob import calc_genoprob
    >>> cross = Cross(crosstype="bc", individuals=("a",),
    ...               geno={"1": np.array([[1, 1, 2, 1, 1]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0, 1.0, 2.0, 3.0, 4.0], index=list("vwxyz"))},
    ...               alleles=("A", "B"), x_chr=None)
    >>> lod = calc_errorlod(cross, calc_genoprob(cross, error_prob=0.01))["1"]
    >>> lod.loc["a"].round(2).tolist()  # the lone B is likely an error
    [-3.69, -3.69, 1.99, -3.69, -3.69]
    """
    from translocus.genetics.genoprob import individual_groups, individual_info

    if probs.kind != "genotype":
        raise InputError("calc_errorlod needs genotype probabilities, not allele probabilities")
    model = get_cross_model(cross.crosstype)
    if chromosomes is None:
        chroms = [c for c in probs.chromosomes if c in cross.geno]
        if not chroms:
            raise InputError("the cross and the probabilities have no chromosomes in common")
    else:
        chroms = _chromosomes(cross, chromosomes)
    any_x = model.handles_x and any(cross.is_x(c) for c in chroms)
    is_female, cross_info = individual_info(cross, any_x)
    ids = list(cross.individuals)
    out: dict[str, pd.DataFrame] = {}
    for chrom in chroms:
        if chrom not in probs.probs:
            raise InputError(f"the probabilities have no chromosome {chrom}; recompute them")
        geno = _geno(cross, chrom).astype(np.int64)
        markers = list(cross.gmap[chrom].index)
        arr = probs[chrom]
        missing = [m for m in markers if m not in arr.indexes["marker"]]
        if missing:
            raise InputError(
                f"the probabilities of chromosome {chrom} lack markers {missing[:3]}; "
                "compute them at the markers"
            )
        same = (
            list(arr.coords["marker"].values) == markers
            and list(arr.coords["sample"].values) == ids
        )
        pr = arr.values if same else arr.sel(marker=markers, sample=ids).values
        is_x = model.handles_x and cross.is_x(chrom)
        founder = None
        if cross.founder_geno is not None and chrom in cross.founder_geno:
            founder = np.asarray(cross.founder_geno[chrom])
        lod = np.zeros(geno.shape)
        keys = [
            (bool(f) if is_x else None, tuple(c))
            for f, c in zip(is_female, cross_info.tolist(), strict=True)
        ]
        for _key, rows in individual_groups(keys):
            args = {"is_x": is_x, "is_female": bool(is_female[rows[0]]),
                    "cross_info": cross_info[rows[0]]}  # fmt: skip
            poss = np.asarray(model.possible(**args), dtype=np.int64)
            emit = model.emission(error_prob=_ERRORLOD_EMISSION_ERROR, founder_geno=founder,
                                  n_markers=len(markers), **args)[:, :, poss]  # fmt: skip
            init = model.init(**args)[poss]
            error = emit < 0.5  # [marker, code, g]: true genotype g makes code an error
            n_err = error.sum(axis=2)  # [marker, code]
            n_ok = len(poss) - n_err
            init_err = error @ init
            init_ok = ~error @ init
            post = pr[:, rows][:, :, poss]  # [marker, ind, g]
            mask = error.astype(float).transpose(0, 2, 1)  # [marker, g, code]
            post_err = np.matmul(post, mask)  # [marker, ind, code]
            post_ok = np.matmul(post, 1.0 - mask)
            obs = geno[rows].T  # [marker, ind]
            at = np.arange(obs.shape[0])[:, None]
            ind = np.arange(obs.shape[1])[None, :]
            p_err, p_ok = post_err[at, ind, obs], post_ok[at, ind, obs]
            i_err, i_ok = init_err[at, obs], init_ok[at, obs]
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.log10((p_err * i_ok) / (p_ok * i_err))
            k_err, k_ok = n_err[at, obs], n_ok[at, obs]
            value = np.where(k_ok == 0, 5.0, np.where(k_err == 0, -5.0, value))
            value = np.where((obs == 0) | ((k_err == 0) & (k_ok == 0)), 0.0, value)
            lod[rows] = value.T
        out[chrom] = pd.DataFrame(
            lod, index=pd.Index(ids, name="sample"), columns=pd.Index(markers, name="marker")
        )
    return out


# -- pairs of individuals ----------------------------------------------------------------------
@dataclass(frozen=True)
class GenoComparison:
    """Matching genotypes for every pair of individuals (:func:`compare_geno`).

    Attributes
    ----------
    n_match
        ``[sample, sample]`` markers where both are typed and equal (diagonal: typed).
    n_compared
        ``[sample, sample]`` markers where both are typed (diagonal: typed).
    """

    n_match: pd.DataFrame
    n_compared: pd.DataFrame

    @property
    def proportion(self) -> pd.DataFrame:
        """``[sample, sample]`` proportion of matching genotypes.

        NaN on the diagonal and where no marker was compared.
        """
        with np.errstate(divide="ignore", invalid="ignore"):
            p = self.n_match.to_numpy(float) / self.n_compared.to_numpy(float)
        p[self.n_compared.to_numpy() == 0] = np.nan
        np.fill_diagonal(p, np.nan)
        return pd.DataFrame(p, index=self.n_match.index, columns=self.n_match.columns)

    def pairs(self, threshold: float = 0.9) -> pd.DataFrame:
        """Pairs matching at ``threshold`` or more, as R/qtl2's ``summary.compare_geno``.

        Columns ``ind1``, ``ind2``, ``prop_match``, ``n_mismatch``, ``n_compared`` (R's
        ``n_typed``), ``n_match``; largest proportion first.
        """
        p = self.proportion.to_numpy()
        i, j = np.nonzero(np.triu(np.nan_to_num(p, nan=-1.0) >= threshold, k=1))
        ids = np.asarray(self.n_match.index, dtype=object)
        n_match = self.n_match.to_numpy()[i, j]
        n_compared = self.n_compared.to_numpy()[i, j]
        table = pd.DataFrame(
            {
                "ind1": ids[i],
                "ind2": ids[j],
                "prop_match": p[i, j],
                "n_mismatch": n_compared - n_match,
                "n_compared": n_compared,
                "n_match": n_match,
            }
        )
        order = np.lexsort((j, i, -table["prop_match"].to_numpy()))
        return table.iloc[order].reset_index(drop=True)

    def max_match(self) -> pd.Series:
        """Per individual, the largest proportion of matches with any other individual."""
        return self.proportion.max(axis=1, skipna=True).rename("max_prop_match")


def compare_geno(
    cross: Cross, *, omit_x: bool = False, chromosomes: Sequence[str] | None = None
) -> GenoComparison:
    """Proportion of matching genotypes for every pair of individuals (R/qtl2 ``compare_geno``).

    Parameters
    ----------
    cross
        The cross; its observed genotype codes are compared (``0`` is missing).
    omit_x
        Leave out the X chromosome.
    chromosomes
        Subset of chromosomes; default all.

    Returns
    -------
    GenoComparison
        Counts of matches and of markers compared for each pair; ``.proportion`` and
        ``.pairs(threshold)``.

    Examples
    --------
    See the module docstring.
    """
    chroms = [c for c in _chromosomes(cross, chromosomes) if not (omit_x and cross.is_x(c))]
    n = cross.n_individuals
    typed = np.zeros((n, n))
    match = np.zeros((n, n))
    for chrom in chroms:
        g = _geno(cross, chrom)
        t = (g > 0).astype(np.float64)
        typed += t @ t.T
        for code in np.unique(g[g > 0]):
            one = (g == code).astype(np.float64)
            match += one @ one.T
    index = pd.Index(list(cross.individuals), name="sample")
    return GenoComparison(
        n_match=pd.DataFrame(np.rint(match).astype(np.int64), index=index, columns=index),
        n_compared=pd.DataFrame(np.rint(typed).astype(np.int64), index=index, columns=index),
    )


# -- heterozygosity ----------------------------------------------------------------------------
def calc_het(probs: GenoProbs, *, by: str = "individual", omit_x: bool = True) -> pd.Series:
    """Heterozygosity from genotype probabilities (R/qtl2 ``calc_het``).

    Parameters
    ----------
    probs
        Genotype probabilities; genotype names must be two letters (``AB``; ``AY`` is a male
        X genotype, never heterozygous).
    by
        ``"individual"``: the average over markers of each individual's probability of a
        heterozygous genotype; ``"marker"``: the average over individuals at each marker.
    omit_x
        Leave out the X chromosome (unless it is the only one).

    Returns
    -------
    pandas.Series
        Indexed by sample or by marker.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.core.model import Cross
    >>> from translocus.genetics.genoprob import calc_genoprob
    >>> cross = Cross(crosstype="f2", individuals=("a", "b"),
    ...               geno={"1": np.array([[2, 2], [1, 1]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0, 1.0], index=["m1", "m2"])},
    ...               alleles=("A", "B"), x_chr=None)
    >>> calc_het(calc_genoprob(cross, error_prob=0.0)).round(6).tolist()
    [1.0, 0.0]
    """
    if probs.kind != "genotype":
        raise InputError("calc_het needs genotype probabilities, not allele probabilities")
    if by not in ("individual", "marker"):
        raise InputError(f"by={by!r}: use 'individual' or 'marker'")
    chroms = list(probs.chromosomes)
    autosomes = [c for c in chroms if not probs.is_x(c)]
    if omit_x and autosomes:
        chroms = autosomes
    total = np.zeros(len(probs.samples))
    n_markers = 0
    per_marker: list[pd.Series] = []
    for chrom in chroms:
        arr = probs[chrom]
        names = [str(g) for g in arr.coords["genotype"].values]
        if any(len(g) != 2 for g in names):
            raise InputError("calc_het needs two-letter genotype names (such as AB)")
        het = np.asarray([g[0] != g[1] and not (probs.is_x(chrom) and g[1] == "Y") for g in names])
        values = arr.values[:, :, het].sum(axis=2)  # [marker, sample]
        total += values.sum(axis=0)
        n_markers += values.shape[0]
        per_marker.append(pd.Series(values.mean(axis=1), index=arr.coords["marker"].values))
    if by == "marker":
        out = pd.concat(per_marker) if per_marker else pd.Series(dtype=float)
        return out.rename_axis("marker").rename("het")
    values = total / n_markers if n_markers else np.full(total.shape, np.nan)
    return pd.Series(values, index=pd.Index(list(probs.samples), name="sample"), name="het")


# -- missing data ------------------------------------------------------------------------------
def n_missing(cross: Cross, *, by: str = "individual", summary: str = "count") -> pd.Series:
    """Missing genotypes per individual or per marker (R/qtl2 ``n_missing``).

    Parameters
    ----------
    cross
        The cross (code ``0`` is missing).
    by
        ``"individual"`` or ``"marker"``.
    summary
        ``"count"`` or ``"proportion"`` (of markers, or of individuals).

    Returns
    -------
    pandas.Series
        Indexed by sample or marker.

    Examples
    --------
    See the module docstring.
    """
    if by not in ("individual", "marker"):
        raise InputError(f"by={by!r}: use 'individual' or 'marker'")
    if summary not in ("count", "proportion"):
        raise InputError(f"summary={summary!r}: use 'count' or 'proportion'")
    chroms = list(cross.chromosomes)
    if by == "individual":
        counts = np.zeros(cross.n_individuals, dtype=np.int64)
        total = 0
        for chrom in chroms:
            g = _geno(cross, chrom)
            counts += (g == 0).sum(axis=1)
            total += g.shape[1]
        index = pd.Index(list(cross.individuals), name="sample")
    else:
        counts = np.concatenate(
            [(_geno(cross, c) == 0).sum(axis=0) for c in chroms] or [np.zeros(0, np.int64)]
        ).astype(np.int64)
        total = cross.n_individuals
        index = pd.Index([m for c in chroms for m in cross.gmap[c].index], name="marker")
    if summary == "proportion":
        return pd.Series(counts / total if total else np.nan, index=index, name="missing")
    return pd.Series(counts, index=index, name="n_missing")


def n_typed(cross: Cross, *, by: str = "individual", summary: str = "count") -> pd.Series:
    """Typed (non-missing) genotypes per individual or per marker (R/qtl2 ``n_typed``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.core.model import Cross
    >>> cross = Cross(crosstype="bc", individuals=("a", "b"),
    ...               geno={"1": np.array([[1, 0], [2, 2]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0, 1.0], index=["m1", "m2"])},
    ...               alleles=("A", "B"), x_chr=None)
    >>> n_typed(cross).tolist(), n_typed(cross, by="marker").tolist()
    ([1, 2], [2, 1])
    """
    missing = n_missing(cross, by=by, summary=summary)
    if summary == "proportion":
        return (1.0 - missing).rename("typed")
    total = cross.n_markers if by == "individual" else cross.n_individuals
    return (total - missing).rename("n_typed")


def percent_missing(cross: Cross, *, by: str = "individual") -> pd.Series:
    """Percentage of missing genotypes per individual or per marker.

    Examples
    --------
    See the module docstring.
    """
    return (100.0 * n_missing(cross, by=by, summary="proportion")).rename("percent_missing")


# -- duplicate markers -------------------------------------------------------------------------
def find_dup_markers(
    cross: Cross,
    *,
    chromosomes: Sequence[str] | None = None,
    exact_only: bool = True,
    adjacent_only: bool = False,
) -> dict[str, list[str]]:
    """Groups of markers with identical genotypes (R/qtl2 ``find_dup_markers``).

    Founder genotypes, when the cross has them, are part of each marker's pattern. With
    ``exact_only`` missing genotypes must be missing in the same individuals; otherwise a
    marker joins the group of a better-typed one when it is typed only where that one is and
    agrees with it there (markers taken from most to fewest typed, as R/qtl2).

    Parameters
    ----------
    cross
        The cross.
    chromosomes
        Subset of chromosomes; default all.
    exact_only
        Only identical patterns, missing genotypes included.
    adjacent_only
        Only group markers that are next to each other on a chromosome.

    Returns
    -------
    dict
        For each group, the marker kept -> the others. Exact groups keep their first marker
        (R/qtl2 keeps one chosen at random) and come in genome order; inexact ones keep the
        best-typed marker, as R/qtl2.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.core.model import Cross
    >>> cross = Cross(crosstype="bc", individuals=("a", "b"),
    ...               geno={"1": np.array([[1, 1, 2], [2, 2, 2]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0, 1.0, 2.0], index=["m1", "m2", "m3"])},
    ...               alleles=("A", "B"), x_chr=None)
    >>> find_dup_markers(cross)
    {'m1': ['m2']}
    """
    chroms = _chromosomes(cross, chromosomes)
    blocks = []
    names: list[str] = []
    location: list[int] = []
    start = 0
    for chrom in chroms:
        g = _geno(cross, chrom).astype(np.int64)
        if cross.founder_geno is not None and chrom in cross.founder_geno:
            g = np.vstack([g, np.nan_to_num(np.asarray(cross.founder_geno[chrom], float))])
        blocks.append(g.astype(np.int64))
        markers = list(cross.gmap[chrom].index)
        names += markers
        location += list(range(start, start + len(markers)))
        start += len(markers) + 10  # chromosomes are never adjacent
    if not names:
        return {}
    heights = {b.shape[0] for b in blocks}
    if len(heights) > 1:
        raise InputError("founder genotypes are missing on some chromosomes; add them")
    patterns = np.hstack(blocks).T  # [marker, individual]
    if not exact_only:
        return _contained_markers(cross, chroms, patterns, names, location, adjacent_only)
    _, group = np.unique(patterns, axis=0, return_inverse=True)
    group = np.asarray(group).reshape(-1)
    members: dict[int, list[int]] = {}
    for k, gid in enumerate(group):
        members.setdefault(int(gid), []).append(k)
    found: list[list[int]] = []
    for idx in members.values():
        if len(idx) < 2:
            continue
        if not adjacent_only:
            found.append(idx)
            continue
        run = [idx[0]]
        for a, b in zip(idx[:-1], idx[1:], strict=True):
            if location[b] - location[a] > 1:
                found.append(run)
                run = []
            run.append(b)
        found.append(run)
    found = sorted((f for f in found if len(f) > 1), key=lambda f: f[0])
    return {names[f[0]]: [names[k] for k in f[1:]] for f in found}


def _contained_markers(
    cross: Cross,
    chroms: list[str],
    patterns: np.ndarray,
    names: list[str],
    location: list[int],
    adjacent_only: bool,
) -> dict[str, list[str]]:
    from translocus.genetics._qc_numba import dup_markers_contained

    typed = np.concatenate([(_geno(cross, c) > 0).sum(axis=0) for c in chroms])
    order = np.argsort(-typed, kind="stable").astype(np.int64)
    result = dup_markers_contained(
        np.ascontiguousarray(patterns.T, dtype=np.int64),
        order,
        np.asarray(location, dtype=np.int64),
        bool(adjacent_only),
    )
    groups: dict[int, list[str]] = {}
    for k in np.flatnonzero(result):
        groups.setdefault(int(result[k]) - 1, []).append(names[k])
    return {names[kept]: others for kept, others in groups.items()}
