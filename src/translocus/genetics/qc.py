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
- Sex checks (no R/qtl2 counterpart; the practice of Diversity Outbred QC):
  :func:`sex_check_genotypes` (heterozygous X genotypes of males, Y typing where present)
  and :func:`sex_check_intensities` (two clusters of mean X and Y array intensity, from
  :func:`read_intensities`), each against the recorded sex (:func:`recorded_sex`).

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
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.genetics.crosstypes import get_cross_model, x_depends_on_sex

__all__ = [
    "GenoComparison",
    "calc_errorlod",
    "calc_het",
    "compare_geno",
    "find_dup_markers",
    "n_missing",
    "n_typed",
    "percent_missing",
    "read_intensities",
    "recorded_sex",
    "sex_check_genotypes",
    "sex_check_intensities",
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


# -- sex checks --------------------------------------------------------------------------------
#: Cross types whose males carry one X (hemizygous), so that a heterozygous X genotype in a
#: male is a sex or sample error.
def recorded_sex(cross: Cross) -> pd.Series:
    """The sex recorded in the cross: ``"female"``, ``"male"`` or missing, indexed by sample."""
    ids = pd.Index(list(cross.individuals), name="sample")
    if not len(cross.is_female):
        return pd.Series(pd.NA, index=ids, dtype=object, name="recorded_sex")
    fem = cross.is_female.reindex(ids)
    out = pd.Series(pd.NA, index=ids, dtype=object, name="recorded_sex")
    known = fem.notna()
    out[known] = np.where(fem[known].astype(bool), "female", "male")
    return out


def _y_chromosome(cross: Cross) -> str | None:
    for chrom in cross.chromosomes:
        if str(chrom).upper() == "Y":
            return str(chrom)
    return None


def sex_check_genotypes(
    cross: Cross, *, max_male_het: float = 0.05, min_x_markers: int = 20
) -> pd.DataFrame:
    """Each sample's sex as its X (and Y) genotypes show it, against the recorded sex.

    A male has one X, so apart from genotyping errors his X genotypes are homozygous. The
    rule: a sample heterozygous at more than ``max_male_het`` of its typed X markers is
    female; one heterozygous at no more than that, typed at ``min_x_markers`` X markers or
    more, is male; otherwise its X does not tell. Where the cross has a Y chromosome and the
    X does not tell, a sample typed at half its Y markers or more is male, one typed at
    fewer is female (females have no Y, so their Y genotypes are missing).

    Parameters
    ----------
    cross
        The cross; the check needs an X chromosome and a cross type whose males are
        hemizygous (``bc``, ``f2``, ``do``, ``hs``, ``ail``, ``genail<N>`` ...); for other
        types the inferred sex is missing.
    max_male_het
        Largest share of heterozygous X genotypes of a male (genotyping errors).
    min_x_markers
        Fewest typed X markers to call a sample male from its X.

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``sample``, ``recorded_sex``, ``x_typed`` (typed X markers),
        ``x_het`` (share of them heterozygous), ``y_typed`` (share of Y markers typed; NaN
        without a Y), ``inferred_sex`` (``female``, ``male`` or missing) and
        ``sex_mismatch`` (inferred and recorded both known and different).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.core.model import Cross
    >>> cross = Cross(crosstype="f2", individuals=("f", "m"), x_chr="X",
    ...               geno={"X": np.array([[1, 2, 2, 1], [1, 2, 3, 3]], dtype=np.int8)},
    ...               gmap={"X": pd.Series([0.0, 5.0, 10.0, 15.0], index=list("abcd"))},
    ...               alleles=("A", "B"), is_female=pd.Series([True, False], index=["f", "m"]),
    ...               cross_info=pd.DataFrame({"dir": [0, 0]}, index=["f", "m"]))
    >>> check = sex_check_genotypes(cross, min_x_markers=2)
    >>> check[["x_het", "inferred_sex", "sex_mismatch"]].values.tolist()
    [[0.5, 'female', False], [0.25, 'female', True]]
    """
    if not 0.0 <= float(max_male_het) < 1.0:
        raise InputError(f"max_male_het={max_male_het} must be a share in [0, 1), e.g. 0.05")
    ids = pd.Index(list(cross.individuals), name="sample")
    n = len(ids)
    x_chr = cross.x_chr if cross.x_chr in cross.geno else None
    if x_chr is not None:
        geno = _geno(cross, x_chr)
        x_typed = (geno > 0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            x_het = np.where(x_typed > 0, (geno == 2).sum(axis=1) / np.maximum(x_typed, 1), np.nan)
    else:
        x_typed = np.zeros(n, dtype=np.int64)
        x_het = np.full(n, np.nan)
    y_chr = _y_chromosome(cross)
    if y_chr is not None and cross.geno[y_chr].shape[1] > 0:
        y_typed = (_geno(cross, y_chr) > 0).mean(axis=1)
    else:
        y_typed = np.full(n, np.nan)
    inferred = np.full(n, None, dtype=object)
    if x_depends_on_sex(cross.crosstype):
        female = x_het > max_male_het
        male = (x_het <= max_male_het) & (x_typed >= min_x_markers)
        inferred[female] = "female"
        inferred[male] = "male"
        undecided = ~female & ~male & np.isfinite(y_typed)
        inferred[undecided & (y_typed >= 0.5)] = "male"
        inferred[undecided & (y_typed < 0.5)] = "female"
    recorded = recorded_sex(cross)
    out = pd.DataFrame(
        {
            "sample": ids,
            "recorded_sex": recorded.to_numpy(),
            "x_typed": x_typed,
            "x_het": x_het,
            "y_typed": y_typed,
            "inferred_sex": inferred,
        }
    )
    out["sex_mismatch"] = _mismatch(out["recorded_sex"], out["inferred_sex"])
    return out


def _mismatch(recorded: pd.Series, inferred: pd.Series) -> pd.Series:
    both = recorded.notna() & inferred.notna()
    return (both & (recorded.astype(object) != inferred.astype(object))).astype(bool)


def read_intensities(path: str | Path, *, cross: Cross | None = None) -> pd.DataFrame:
    """Each sample's mean X- and Y-chromosome array intensity, from an intensity table.

    R/qtl2 has no file for array intensities; this reads a CSV/TSV/parquet table in one of
    two layouts:

    - per marker: columns ``marker``, ``sample``, ``X`` and ``Y`` (the two allele
      intensities of the SNP) and optionally ``chr``; a marker's intensity is ``X + Y``. The
      chromosome of a marker comes from ``chr``, else from the cross's map. A sample's
      ``mean_x`` is the mean intensity of its X-chromosome markers, ``mean_y`` that of its
      Y-chromosome markers; other markers are not used.
    - per sample: columns ``sample``, ``mean_x`` and ``mean_y``.

    Returns
    -------
    pandas.DataFrame
        ``sample``, ``mean_x``, ``mean_y`` (and ``n_x``, ``n_y``: markers averaged, per
        marker layout only), one row per sample.
    """
    from translocus.core.tables import read_table

    path = Path(path)
    frame = read_table(path, option="intensities")
    lower = {str(c).lower(): c for c in frame.columns}
    if {"sample", "mean_x", "mean_y"} <= set(lower):
        out = frame[[lower["sample"], lower["mean_x"], lower["mean_y"]]].copy()
        out.columns = ["sample", "mean_x", "mean_y"]
        out["sample"] = out["sample"].astype(str)
        _check_numbers(out, ["mean_x", "mean_y"], path)
        if out["sample"].duplicated().any():
            dup = out.loc[out["sample"].duplicated(), "sample"].tolist()[:5]
            raise InputError(
                f"{path}, column 'sample': samples {dup} appear twice; keep one row each"
            )
        return out.reset_index(drop=True)
    if not {"marker", "sample", "x", "y"} <= set(lower):
        raise InputError(
            f"{path}: needs columns marker, sample, X, Y (allele intensities, per marker) or "
            f"sample, mean_x, mean_y (per sample); it has {', '.join(map(str, frame.columns))}"
        )
    table = pd.DataFrame(
        {
            "marker": frame[lower["marker"]].astype(str),
            "sample": frame[lower["sample"]].astype(str),
            "X": frame[lower["x"]],
            "Y": frame[lower["y"]],
        }
    )
    _check_numbers(table, ["X", "Y"], path)
    if "chr" in lower:
        chrom = frame[lower["chr"]].astype(str).str.upper()
    else:
        if cross is None:
            raise InputError(f"{path}: has no 'chr' column; add one or give the cross")
        where = {m: str(c).upper() for c in cross.chromosomes for m in cross.gmap[c].index}
        if cross.x_chr is not None:
            where.update({m: "X" for m in cross.gmap.get(str(cross.x_chr), pd.Series()).index})
        chrom = table["marker"].map(where).fillna("")
    intensity = table["X"].astype(float) + table["Y"].astype(float)
    x_name = "X" if cross is None or cross.x_chr is None else str(cross.x_chr).upper()
    parts = {}
    for label, chosen in (("x", chrom.isin([x_name, "X"])), ("y", chrom == "Y")):
        if not chosen.any():
            raise InputError(
                f"{path}: no {label.upper()}-chromosome markers; give a 'chr' column naming "
                f"the X and Y markers"
            )
        grouped = intensity[chosen].groupby(table["sample"][chosen])
        parts[f"mean_{label}"] = grouped.mean()
        parts[f"n_{label}"] = grouped.size()
    out = pd.DataFrame(parts)
    out.index.name = "sample"
    return out.reset_index()


def _check_numbers(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    for col in columns:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() | ~np.isfinite(values.to_numpy(float)))
        if bad.size:
            rows = ", ".join(str(r + 2) for r in bad[:3])  # file line numbers (header = 1)
            raise InputError(
                f"{path}, column '{col}': {bad.size} values are not finite numbers "
                f"(lines {rows}); fix or remove them"
            )
        frame[col] = values.astype(float)


#: Smallest distance between the two intensity clusters' centres, in pooled within-cluster
#: standard deviations, for them to be taken as the two sexes.
SEX_CLUSTER_SEPARATION = 3.0


def sex_check_intensities(intensities: pd.DataFrame, recorded: pd.Series) -> pd.DataFrame:
    """Each sample's sex from its mean X and Y intensities, against the recorded sex.

    The rule: the samples' ``(mean_x, mean_y)`` points, each coordinate standardised
    (mean 0, standard deviation 1), are split into two clusters by k-means
    (``sklearn.cluster.KMeans``, 2 clusters, 10 starts, ``random_state=0``). The cluster
    whose centre has the larger ``mean_y - mean_x`` is male (a Y and one X), the other
    female (two X, no Y). When the centres are closer than
    :data:`SEX_CLUSTER_SEPARATION` pooled within-cluster standard deviations there are not
    two clusters, and no sex is inferred.

    Parameters
    ----------
    intensities
        ``sample``, ``mean_x``, ``mean_y`` (:func:`read_intensities`).
    recorded
        Recorded sex (``"female"``/``"male"``/missing) by sample (:func:`recorded_sex`).

    Returns
    -------
    pandas.DataFrame
        ``sample``, ``recorded_sex``, ``mean_x``, ``mean_y``, ``inferred_sex``,
        ``sex_mismatch``, in the order of ``intensities``.

    Examples
    --------
    >>> table = pd.DataFrame({"sample": list("abcdef"),
    ...                       "mean_x": [1.0, 1.1, 0.9, 0.5, 0.52, 1.02],
    ...                       "mean_y": [0.1, 0.12, 0.09, 0.8, 0.82, 0.11]})
    >>> sex = pd.Series(["female"] * 3 + ["male"] * 3, index=list("abcdef"))
    >>> check = sex_check_intensities(table, sex)
    >>> check["inferred_sex"].tolist(), check["sex_mismatch"].tolist()
    (['female', 'female', 'female', 'male', 'male', 'female'], [False, False, False, False, False, True])
    """
    from sklearn.cluster import KMeans

    out = intensities[["sample", "mean_x", "mean_y"]].copy().reset_index(drop=True)
    out.insert(1, "recorded_sex", recorded.reindex(out["sample"]).to_numpy())
    points = out[["mean_x", "mean_y"]].to_numpy(float)
    inferred = np.full(len(out), None, dtype=object)
    sd = points.std(axis=0)
    if len(out) >= 3 and np.all(sd > 0):
        z = (points - points.mean(axis=0)) / sd
        km = KMeans(n_clusters=2, n_init=10, random_state=0).fit(z)
        centres = km.cluster_centers_
        labels = km.labels_
        within = np.sqrt(km.inertia_ / max(len(z) - 2, 1) / 2.0)
        distance = float(np.linalg.norm(centres[0] - centres[1]))
        if within == 0 or distance > SEX_CLUSTER_SEPARATION * within:
            male = int(np.argmax(centres[:, 1] - centres[:, 0]))
            inferred = np.where(labels == male, "male", "female").astype(object)
    out["inferred_sex"] = inferred
    out["sex_mismatch"] = _mismatch(out["recorded_sex"], out["inferred_sex"])
    return out
