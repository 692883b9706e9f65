"""Genotype probabilities by a hidden Markov model, as R/qtl2's ``calc_genoprob``.

For each chromosome and individual the forward-backward equations give
``Pr(genotype at position | all marker data on the chromosome)`` under the cross's model
(:mod:`translocus.genetics.crosstypes`). Individuals that share sex and cross information
share their initial, emission and transition probabilities, which are computed once per
group. Diversity Outbred autosomes and female X chromosomes use a kernel that exploits the
Kronecker structure of the 36-genotype transition matrix.

Examples
--------
A two-marker backcross: with no errors the second marker's genotype follows the first one's
with probability ``1 - r``.

>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> cross = Cross(crosstype="bc", individuals=("a",),
...               geno={"1": np.array([[1, 0]], dtype=np.int8)},
...               gmap={"1": pd.Series([0.0, 10.0], index=["m1", "m2"])},
...               alleles=("A", "B"), x_chr=None)
>>> pr = calc_genoprob(cross, error_prob=0.0, map_function="morgan")
>>> pr["1"].sel(marker="m2", sample="a").values.round(6).tolist()
[0.9, 0.1]
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

import numba
import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.genetics._hmm_numba import (
    collapse_states,
    do_pair_prior,
    forward_backward_do,
    forward_backward_tables,
    forward_backward_uniform,
)
from translocus.genetics.crosstypes import (
    N_OBS_CODES,
    CrossModel,
    get_cross_model,
    x_depends_on_sex,
)
from translocus.genetics.crosstypes.do import DiversityOutbred
from translocus.genetics.mapfunctions import MAP_FUNCTIONS, interval_rf

__all__ = [
    "calc_genoprob",
    "genoprob_to_alleleprob",
    "insert_pseudomarkers",
]


# -- pseudomarker grids ---------------------------------------------------------------------
def _r_seq(start: float, stop: float, by: float) -> np.ndarray:
    """R's ``seq(start, stop, by=by)``."""
    n = math.floor((stop - start) / by + 1e-10)
    return start + np.arange(n + 1) * by


def _format_position(x: float, digits: int) -> str:
    text = f"{round(x, digits):.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pseudomarker_names(pos: np.ndarray, step: float, stem: str) -> list[str]:
    digits = max(0, math.ceil(-math.log10(step)))
    while True:
        names = [stem + _format_position(float(p), digits) for p in pos]
        if len(set(names)) == len(names) or digits > 15:
            return names
        digits += 1


def insert_pseudomarkers(
    gmap: pd.Series,
    *,
    step: float = 0.0,
    off_end: float = 0.0,
    stepwidth: str = "fixed",
    tol: float = 0.01,
    chromosome: str = "",
) -> pd.Series:
    """Marker positions with pseudomarkers added, as R/qtl2's ``insert_pseudomarkers``.

    Parameters
    ----------
    gmap
        Marker positions (cM) of one chromosome, indexed by marker name, sorted.
    step
        Grid spacing in cM; ``0`` returns the markers unchanged.
    off_end
        Distance (cM) to extend the grid beyond the terminal markers.
    stepwidth
        ``"fixed"``: a grid from the first marker - ``off_end`` in steps of ``step``, dropping
        grid points within ``tol`` of a marker. ``"max"``: the fewest pseudomarkers so that no
        gap exceeds ``step``.
    tol
        Grid points closer than this to a marker are omitted.
    chromosome
        Chromosome name, used to name pseudomarkers ``c{chromosome}.loc{position}``.

    Returns
    -------
    pandas.Series
        Positions (cM) indexed by marker/pseudomarker name, in increasing order.

    Examples
    --------
    >>> m = pd.Series([0.0, 2.5], index=["a", "b"])
    >>> insert_pseudomarkers(m, step=1.0, chromosome="1").index.tolist()
    ['a', 'c1.loc1', 'c1.loc2', 'b']
    """
    if step < 0 or off_end < 0 or tol < 0:
        raise InputError("insert_pseudomarkers: step, off_end and tol must be >= 0")
    if step == 0 or len(gmap) == 0:
        return gmap.astype(float)
    if tol >= step:
        raise InputError(f"insert_pseudomarkers: tol={tol} must be much smaller than step={step}")
    pos = gmap.to_numpy(dtype=float)
    stem = f"c{chromosome}.loc"
    if stepwidth == "fixed":
        grid = _r_seq(pos.min() - off_end, pos.max() + off_end, step)
        nearest = np.min(np.abs(pos[:, None] - grid[None, :]), axis=0)
        grid = grid[nearest >= tol]
    elif stepwidth == "max":
        if np.any(np.diff(pos) < 0):
            raise InputError("insert_pseudomarkers: marker positions must be sorted")
        left: Any = _r_seq(pos.min(), pos.min() - off_end, -step)[1:] if off_end > 0 else []
        right: Any = _r_seq(pos.max(), pos.max() + off_end, step)[1:] if off_end > 0 else []
        parts = [np.asarray(left, dtype=float), np.asarray(right, dtype=float)]
        for i in np.flatnonzero(np.diff(pos) > step):
            n = math.ceil((pos[i + 1] - pos[i]) / step) + 1
            parts.append(np.linspace(pos[i], pos[i + 1], n)[1:-1])
        grid = np.concatenate(parts)
    else:
        raise InputError(f"stepwidth={stepwidth!r} is not known; use 'fixed' or 'max'")
    if grid.size == 0:
        return gmap.astype(float)
    names = _pseudomarker_names(grid, step, stem)
    clash = set(names) & set(gmap.index)
    if clash:
        raise InputError(f"pseudomarker names clash with marker names: {sorted(clash)[:3]}")
    allpos = np.concatenate([pos, grid])
    order = np.argsort(allpos, kind="stable")
    return pd.Series(allpos[order], index=np.asarray([*gmap.index, *names], dtype=object)[order])


# -- helpers ----------------------------------------------------------------------------------
@contextmanager
def _threads(cores: int | None):
    if cores is None:
        yield
        return
    if cores < 1:
        raise InputError(f"cores={cores} must be >= 1")
    before = numba.get_num_threads()
    numba.set_num_threads(min(int(cores), numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        yield
    finally:
        numba.set_num_threads(before)


def individual_info(cross: Cross, any_x: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each individual's sex (``True`` = female) and cross information, checked."""
    ids = list(cross.individuals)
    if len(cross.is_female):
        missing = [i for i in ids if i not in cross.is_female.index]
        if missing:
            raise InputError(f"is_female has no value for individuals {missing[:5]}; add them")
        fem = cross.is_female.reindex(ids)
        if fem.isna().any():
            bad = fem.index[fem.isna()].tolist()[:5]
            raise InputError(f"is_female is missing for individuals {bad}; fill in the sex")
        is_female = fem.to_numpy(dtype=bool)
    else:
        # As R/qtl2 does: without sex information every individual is taken as female.
        is_female = np.ones(len(ids), dtype=bool)
        if any_x and x_depends_on_sex(cross.crosstype):
            warnings.warn(
                f"no sex information for this {cross.crosstype} cross: every individual is "
                "taken as female on the X chromosome, as R/qtl2 does; give the control file a "
                "'sex' entry if the cross has males.",
                UserWarning,
                stacklevel=3,
            )
    if cross.cross_info is not None and cross.cross_info.shape[1] > 0:
        ci = cross.cross_info.reindex(ids)
        if ci.isna().to_numpy().any():
            bad = ci.index[ci.isna().any(axis=1)].tolist()[:5]
            raise InputError(f"cross_info is missing for individuals {bad}; fill it in")
        cross_info = ci.to_numpy(dtype=np.int64)
    else:
        cross_info = np.zeros((len(ids), 0), dtype=np.int64)
    return is_female, cross_info


def individual_groups(keys: list[Any]) -> list[tuple[Any, np.ndarray]]:
    """Rows of the individuals that share a key (sex, cross information), key by key."""
    index: dict[Any, list[int]] = {}
    for i, k in enumerate(keys):
        index.setdefault(k, []).append(i)
    return [(k, np.asarray(v, dtype=np.int64)) for k, v in index.items()]


def _interp_pmap(gmap: pd.Series, pmap: pd.Series, positions: pd.Series) -> np.ndarray:
    """Physical positions of (pseudo)markers by linear interpolation of the two maps."""
    g = gmap.to_numpy(dtype=float)
    p = pmap.reindex(gmap.index).to_numpy(dtype=float)
    if positions.index.equals(gmap.index):  # markers only
        return p
    x = positions.to_numpy(dtype=float)
    known = positions.index.isin(gmap.index)
    out = np.empty(x.size)
    lookup = pd.Series(p, index=gmap.index)
    out[known] = lookup.reindex(positions.index[known]).to_numpy()
    if (~known).any():
        if g.size >= 2 and g[-1] > g[0]:
            slope = (p[-1] - p[0]) / (g[-1] - g[0])
            inner = np.interp(x[~known], g, p)
            inner = np.where(x[~known] < g[0], p[0] + (x[~known] - g[0]) * slope, inner)
            inner = np.where(x[~known] > g[-1], p[-1] + (x[~known] - g[-1]) * slope, inner)
            out[~known] = inner
        else:
            out[~known] = np.nan
    return out


def check_codes(geno: np.ndarray, chrom: str) -> None:
    """Refuse genotype codes outside ``0 .. N_OBS_CODES - 1`` (one :class:`InputError`)."""
    if geno.size and (geno.min() < 0 or geno.max() >= N_OBS_CODES):
        bad = np.argwhere((geno < 0) | (geno >= N_OBS_CODES))[0]
        raise InputError(
            f"genotypes of chromosome {chrom}: code {int(geno[tuple(bad)])} at individual row "
            f"{int(bad[0])}, marker column {int(bad[1])} is not in 0-5; recode the genotypes"
        )


# -- main entry point ------------------------------------------------------------------------
class HmmSetup(NamedTuple):
    """What every HMM over a cross needs, checked once (:func:`hmm_setup`)."""

    model: CrossModel
    chromosomes: list[str]
    is_female: np.ndarray
    cross_info: np.ndarray
    alleles: tuple[str, ...]


def hmm_setup(
    cross: Cross,
    *,
    error_prob: float,
    map_function: str,
    chromosomes: Sequence[str] | None = None,
) -> HmmSetup:
    """Check the HMM's arguments against ``cross`` and gather what every HMM pass needs.

    Shared by :func:`calc_genoprob` and the reconstructions (``viterbi``): the cross type's
    model, the chromosomes, each individual's sex and cross information, and the allele names.
    Bad arguments are one :class:`InputError` each.
    """
    model: CrossModel = get_cross_model(cross.crosstype)
    if not 0.0 <= float(error_prob) < 1.0:
        raise InputError(f"error_prob={error_prob} must be in [0, 1)")
    if map_function not in MAP_FUNCTIONS:
        raise InputError(
            f"map_function={map_function!r} is not known; use one of {', '.join(MAP_FUNCTIONS)}"
        )
    chroms = list(cross.chromosomes) if chromosomes is None else [str(c) for c in chromosomes]
    unknown = [c for c in chroms if c not in cross.gmap]
    if unknown:
        raise InputError(f"chromosomes {unknown} are not in the cross's genetic map")
    if model.needs_founder_geno and not cross.founder_geno:
        raise InputError(f"a {cross.crosstype} cross needs founder genotypes; add founder_geno")
    any_x = model.handles_x and any(cross.is_x(c) for c in chroms)
    is_female, cross_info = individual_info(cross, any_x)
    model.check_cross_info(cross_info, any_x=any_x)
    alleles = tuple(cross.alleles) or tuple("ABCDEFGH"[: model.n_alleles])
    return HmmSetup(model, chroms, is_female, cross_info, alleles)


def calc_genoprob(
    cross: Cross,
    *,
    error_prob: float = 0.002,
    map_function: str = "haldane",
    step: float = 0.0,
    off_end: float = 0.0,
    stepwidth: str = "fixed",
    chromosomes: Sequence[str] | None = None,
    cores: int | None = None,
) -> GenoProbs:
    """Conditional genotype probabilities given all marker data (R/qtl2 ``calc_genoprob``).

    Parameters
    ----------
    cross
        The cross, of any R/qtl2 cross type
        (:func:`~translocus.genetics.crosstypes.registered_cross_types`, ``genril<N>``,
        ``genail<N>``).
    error_prob
        Genotyping error probability, in ``[0, 1)``.
    map_function
        ``"haldane"``, ``"kosambi"``, ``"c-f"`` (Carter-Falconer) or ``"morgan"``; converts
        the genetic map (cM) to recombination fractions.
    step, off_end, stepwidth
        Pseudomarker grid (see :func:`insert_pseudomarkers`); ``step=0`` means markers only.
    chromosomes
        Subset of chromosomes, in the order given; default all.
    cores
        Number of threads; default numba's setting. Results do not depend on it.

    Returns
    -------
    GenoProbs
        Per chromosome an ``xr.DataArray`` ``[marker, sample, genotype]`` of float64
        probabilities summing to 1 over ``genotype``, with coordinates ``pos_cM`` (and
        ``pos_Mbp`` when the cross has a physical map) on ``marker``. X chromosomes carry
        both the female and male genotype columns, zero where they do not apply.

    Notes
    -----
    A marker genotyped in nobody, or a pseudomarker, gets the probabilities implied by its
    neighbours and the transition model; a chromosome with one marker gets the prior
    times that marker's emission probabilities; a chromosome with no markers gets an empty
    array.

    Examples
    --------
    See the module docstring.
    """
    model, chroms, is_female, cross_info, alleles = hmm_setup(
        cross, error_prob=error_prob, map_function=map_function, chromosomes=chromosomes
    )
    samples = pd.Index(list(cross.individuals), dtype=object, name="sample")

    layouts = {
        chrom: marker_layout(cross, chrom, step=float(step), off_end=float(off_end),
                       stepwidth=stepwidth, map_function=map_function)
        for chrom in chroms
    }  # fmt: skip
    recombinant = _RecombinantCache(model, layouts, cross, handles_x=model.handles_x)
    lines = _FunnelTables(model)
    out: dict[str, xr.DataArray] = {}
    with _threads(cores):
        for chrom in chroms:
            out[chrom] = _genoprob_chromosome(
                cross,
                chrom,
                model,
                layouts[chrom],
                recombinant,
                lines,
                is_female=is_female,
                cross_info=cross_info,
                error_prob=float(error_prob),
                alleles=alleles,
                samples=samples,
            )
    return GenoProbs(
        probs=out,
        crosstype=cross.crosstype,
        alleles=alleles,
        x_chr=cross.x_chr if model.handles_x else None,
        kind="genotype",
    )


class _Layout(NamedTuple):
    positions: pd.Series  # cM, indexed by (pseudo)marker name
    marker_index: np.ndarray  # column of the genotype matrix at each position, or -1
    rf: np.ndarray  # recombination fraction of each interval


def marker_layout(
    cross: Cross, chrom: str, *, step: float, off_end: float, stepwidth: str, map_function: str
) -> _Layout:
    """The positions of one chromosome (markers and pseudomarkers) and their recombination fractions."""
    gmap = cross.gmap[chrom]
    if gmap.isna().any():
        raise InputError(f"genetic map of chromosome {chrom} has missing positions; fill them")
    if np.any(np.diff(gmap.to_numpy(dtype=float)) < 0):
        raise InputError(f"genetic map of chromosome {chrom} is not sorted by position; sort it")
    positions = insert_pseudomarkers(
        gmap, step=step, off_end=off_end, stepwidth=stepwidth, chromosome=chrom
    )
    marker_col = pd.Series(np.arange(len(gmap)), index=gmap.index)
    marker_index = marker_col.reindex(positions.index).fillna(-1).to_numpy(dtype=np.int64)
    rf = interval_rf(positions.to_numpy(), map_function=map_function)
    return _Layout(positions, marker_index, rf)


class _RecombinantCache:
    """DO haplotype recombination probabilities.

    Computed once per (chromosome kind, ngen) over all chromosomes of that kind together.
    """

    def __init__(
        self, model: CrossModel, layouts: dict[str, _Layout], cross: Cross, *, handles_x: bool
    ) -> None:
        self.model = model
        self.layouts = layouts
        self.is_x = {c: handles_x and cross.is_x(c) for c in layouts}
        self.cache: dict[tuple[bool, bool, tuple[int, ...]], dict[str, np.ndarray]] = {}

    def get(self, chrom: str, *, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        is_x = self.is_x[chrom]
        key = (is_x, is_female and is_x, tuple(int(v) for v in cross_info))
        if key not in self.cache:
            chroms = [c for c in self.layouts if self.is_x[c] == is_x]
            rf = np.concatenate([self.layouts[c].rf for c in chroms])
            assert isinstance(self.model, DiversityOutbred)
            rec = self.model.recombinant(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
            bounds = np.cumsum([0] + [self.layouts[c].rf.size for c in chroms])
            self.cache[key] = {c: rec[bounds[i] : bounds[i + 1]] for i, c in enumerate(chroms)}
        return self.cache[key][chrom]


#: Recombination fractions at which a line's transition matrices are compared with those of
#: the canonical funnel: arbitrary values, so that no two different formulas agree by chance.
_PROBE_RF = np.array([0.0, 1.0e-4, 0.0123456789, 0.0987654321, 0.2718281828, 0.5])

#: Markers of the probe founder genotypes on which lines' emission tables are compared.
_PROBE_MARKERS = 64

#: Transition tables (bytes) one kernel call may hold; more are split into several calls.
_TABLE_BYTES = 256 * 2**20


#: Per cross model: funnel relabellings, line set-ups and emission keys already worked out.
_FUNNEL_KNOWLEDGE: dict[tuple[Any, ...], dict[str, dict[Any, Any]]] = {}
#: Entries of each kind kept per model before the store is emptied.
_FUNNELS_KEPT = 20_000


class _LineSetup(NamedTuple):
    cols: np.ndarray  # genotype column of each state of the transition table
    init: np.ndarray  # prior of each state
    shared: bool  # whether the table is the canonical funnel's


class _FunnelTables:
    """Transition matrices of lines that differ only by the order of their funnel.

    In a multi-parent RIL (``risib8``, ``riself8``, CC) each line has its own funnel
    (``cross_info``, the founders in the order they were crossed), and its transition
    matrices are those of the funnel ``1, 2, ..., n`` with the founders relabelled by their
    place in the funnel. One table per chromosome then serves every line, indexed through
    the relabelling, instead of one table (and one kernel call) per line. The relabelling is
    used only where the model's matrices at :data:`_PROBE_RF` are exactly the relabelled
    canonical ones; other lines keep their own tables.
    """

    def __init__(self, model: CrossModel) -> None:
        self.model = model
        self.tables: dict[tuple[Any, ...], np.ndarray] = {}
        # what depends on the model and a line's funnel only is kept for later calls too
        # (a study computed chromosome by chromosome asks again for every chromosome)
        known = _FUNNEL_KNOWLEDGE.setdefault((type(model), model.name, model.n_alleles), {})
        if any(len(part) > _FUNNELS_KEPT for part in known.values()):
            known.clear()
        self.relabellings: dict[tuple[bool, bool, tuple[int, ...]], np.ndarray | None] = (
            known.setdefault("relabellings", {})
        )
        self.setups: dict[tuple[bool, bool, bytes], _LineSetup] = known.setdefault("setups", {})
        self.emission_keys: dict[tuple[Any, ...], tuple[int, ...]] = known.setdefault(
            "emission_keys", {}
        )
        self.probe_tables: dict[tuple[Any, ...], np.ndarray] = known.setdefault("probes", {})

    def setup(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> _LineSetup:
        """A line's states (genotype columns and prior) in the order of its transition table."""
        key = (is_x, is_female, cross_info.tobytes())
        if key not in self.setups:
            args: dict[str, Any] = {"is_x": is_x, "is_female": is_female, "cross_info": cross_info}
            poss = np.asarray(self.model.possible(**args), dtype=np.int64)
            init = np.asarray(self.model.init(**args), dtype=np.float64)[poss]
            relabel = self.relabelling(is_x=is_x, is_female=is_female, cross_info=cross_info)
            if relabel is None:
                self.setups[key] = _LineSetup(poss, init, shared=False)
            else:
                # the kernel runs in the table's states: table state relabel[s] is our state s
                mine = np.empty_like(relabel)
                mine[relabel] = np.arange(relabel.size)
                self.setups[key] = _LineSetup(poss[mine], init[mine], shared=True)
        return self.setups[key]

    def emission_key(
        self, *, is_x: bool, is_female: bool, cross_info: np.ndarray, founder_rows: int | None
    ) -> tuple[int, ...]:
        """The cross information that decides a line's emission table.

        The canonical funnel's where the model's emission tables of both agree on probe
        founder genotypes (every code at every founder), so that lines share one table.
        """
        info = tuple(int(v) for v in cross_info)
        key = (is_x, is_female, info, founder_rows)
        if key not in self.emission_keys:
            canon = self._canonical_info(cross_info)
            self.emission_keys[key] = info
            if canon is not None:
                fg = None
                if founder_rows is not None:
                    rng = np.random.default_rng(0)
                    fg = rng.integers(0, N_OBS_CODES, size=(founder_rows, _PROBE_MARKERS))
                args: dict[str, Any] = {
                    "error_prob": 0.01,
                    "founder_geno": fg,
                    "n_markers": _PROBE_MARKERS,
                    "is_x": is_x,
                    "is_female": is_female,
                }
                ref_key = (is_x, is_female, founder_rows)
                if ref_key not in self.probe_tables:
                    self.probe_tables[ref_key] = self.model.emission(**args, cross_info=canon)
                mine = self.model.emission(**args, cross_info=cross_info)
                if np.array_equal(mine, self.probe_tables[ref_key]):
                    self.emission_keys[key] = tuple(int(v) for v in canon)
        return self.emission_keys[key]

    def _canonical_info(self, cross_info: np.ndarray) -> np.ndarray | None:
        n = cross_info.size
        if n < 2 or n != self.model.n_alleles:
            return None
        if not np.array_equal(np.sort(cross_info), np.arange(1, n + 1)):
            return None
        return np.arange(1, n + 1, dtype=np.int64)

    def relabelling(
        self, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray | None:
        """For each state of this line, the state of the canonical funnel's tables (or ``None``)."""
        key = (is_x, is_female and is_x, tuple(int(v) for v in cross_info))
        if key not in self.relabellings:
            self.relabellings[key] = self._relabel(is_x, is_female, cross_info)
        return self.relabellings[key]

    def _relabel(self, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray | None:
        canon = self._canonical_info(cross_info)
        if canon is None:
            return None
        model = self.model
        line: dict[str, Any] = {"is_x": is_x, "is_female": is_female, "cross_info": cross_info}
        ref: dict[str, Any] = {"is_x": is_x, "is_female": is_female, "cross_info": canon}
        poss = np.asarray(model.possible(**line), dtype=np.int64)
        poss_ref = np.asarray(model.possible(**ref), dtype=np.int64)
        place = np.empty(cross_info.size, dtype=np.int64)  # founder -> place in the funnel
        place[np.asarray(cross_info, dtype=np.int64) - 1] = np.arange(cross_info.size)
        where = {int(g): i for i, g in enumerate(poss_ref)}
        if poss.size != poss_ref.size or any(int(place[g]) not in where for g in poss):
            return None
        relabel = np.array([where[int(place[g])] for g in poss], dtype=np.int64)
        mine = model.transition(_PROBE_RF, **line)[:, poss][:, :, poss]
        theirs = model.transition(_PROBE_RF, **ref)[:, poss_ref][:, :, poss_ref]
        if not np.array_equal(mine, theirs[:, relabel][:, :, relabel]):
            return None
        return relabel

    def canonical(
        self, key: tuple[Any, ...], rf: np.ndarray, *, is_x: bool, is_female: bool
    ) -> np.ndarray:
        """The canonical funnel's transition matrices ``[interval, state, state]`` (cached)."""
        if key not in self.tables:
            canon = np.arange(1, self.model.n_alleles + 1, dtype=np.int64)
            args: dict[str, Any] = {"is_x": is_x, "is_female": is_female, "cross_info": canon}
            poss = np.asarray(self.model.possible(**args), dtype=np.int64)
            self.tables = {k: v for k, v in self.tables.items() if k[0] == key[0]}
            table = self.model.transition(rf, **args)
            if not np.array_equal(poss, np.arange(table.shape[1])):
                table = table[:, poss][:, :, poss]
            self.tables[key] = table
        return self.tables[key]


class _TableBatch:
    """Groups of individuals gathered for :func:`forward_backward_tables`, run together.

    Groups with the same number of states go into one call (so the threads split the lines,
    not the work of one line); emission and transition tables are stored once each.
    """

    def __init__(self, geno: np.ndarray, marker_index: np.ndarray, out: np.ndarray) -> None:
        self.geno, self.marker_index, self.out = geno, marker_index, out
        self.pending: dict[int, list[tuple[Any, ...]]] = {}

    def add(
        self, rows: np.ndarray, emit: np.ndarray, setup: _LineSetup, trans: np.ndarray, *, key: Any
    ) -> None:
        """Individuals ``rows`` with these tables; ``key`` names a shared ``trans``, or ``None``."""
        self.pending.setdefault(setup.cols.size, []).append((rows, emit, setup, trans, key))

    def run(self) -> None:
        for groups in self.pending.values():
            chunk: list[tuple[Any, ...]] = []
            held = 0
            for group in groups:
                size = group[3].nbytes if group[4] is None else 0
                if chunk and held + size > _TABLE_BYTES:
                    self._call(chunk)
                    chunk, held = [], 0
                chunk.append(group)
                held += size
            self._call(chunk)
        self.pending = {}

    def _call(self, groups: list[tuple[Any, ...]]) -> None:
        emits: dict[int, int] = {}
        tables: dict[Any, int] = {}
        emit_list: list[np.ndarray] = []
        trans_list: list[np.ndarray] = []
        emit_of, trans_of = [], []
        for _rows, emit, _setup, trans, key in groups:
            if id(emit) not in emits:
                emits[id(emit)] = len(emit_list)
                emit_list.append(emit)
            tkey = key if key is not None else ("own", len(trans_list))
            if tkey not in tables:
                tables[tkey] = len(trans_list)
                trans_list.append(trans)
            emit_of.append(emits[id(emit)])
            trans_of.append(tables[tkey])
        counts = [g[0].size for g in groups]
        rows = np.concatenate([g[0] for g in groups])
        emit = np.ascontiguousarray(np.stack(emit_list))
        emit_idx = np.repeat(np.asarray(emit_of, dtype=np.int64), counts)
        init = np.repeat(np.stack([g[2].init for g in groups]), counts, axis=0)
        trans_idx = np.repeat(np.asarray(trans_of, dtype=np.int64), counts)
        cols = np.repeat(np.stack([g[2].cols for g in groups]), counts, axis=0)
        n_geno = emit.shape[-1]
        uniform = [_stay_move(t) for t in trans_list]
        every_column = cols.shape[1] == n_geno and np.array_equal(
            np.sort(cols, axis=1), np.broadcast_to(np.arange(n_geno), cols.shape)
        )
        if every_column and all(u is not None for u in uniform):
            # the uniform kernel runs in genotype columns: only the prior follows the funnel
            init_cols = np.empty((rows.size, n_geno))
            np.put_along_axis(init_cols, cols, init, axis=1)
            stay = np.ascontiguousarray(np.stack([u[0] for u in uniform if u is not None]))
            move = np.ascontiguousarray(np.stack([u[1] for u in uniform if u is not None]))
            forward_backward_uniform(self.geno, rows, self.marker_index, emit, emit_idx,
                                     init_cols, stay, move, trans_idx, self.out)  # fmt: skip
            return
        trans = np.ascontiguousarray(np.stack(trans_list), dtype=np.float64)
        forward_backward_tables(self.geno, rows, self.marker_index, emit, emit_idx, init, trans,
                                trans_idx, cols, self.out)  # fmt: skip


def _stay_move(trans: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(diagonal, off-diagonal)`` per interval when each matrix is ``(s - m) I + m J``."""
    n_state = trans.shape[1]
    if n_state < 2 or trans.shape[0] == 0:
        return None
    stay = trans[:, 0, 0].astype(np.float64)
    move = trans[:, 0, 1].astype(np.float64)
    flat = np.ascontiguousarray(trans).reshape(trans.shape[0], n_state * n_state)
    # row-major, the cells between two diagonal ones are n_state contiguous off-diagonal ones
    between = flat[:, 1:].reshape(trans.shape[0], n_state - 1, n_state + 1)[:, :, :n_state]
    if not (
        np.all(flat[:, :: n_state + 1] == stay[:, None]) and np.all(between == move[:, None, None])
    ):
        return None
    return stay, move


def _genoprob_chromosome(
    cross: Cross,
    chrom: str,
    model: CrossModel,
    layout: _Layout,
    recombinant: _RecombinantCache,
    lines: _FunnelTables,
    *,
    is_female: np.ndarray,
    cross_info: np.ndarray,
    error_prob: float,
    alleles: tuple[str, ...],
    samples: pd.Index,
) -> xr.DataArray:
    gmap = cross.gmap[chrom]
    geno = np.ascontiguousarray(cross.geno[chrom], dtype=np.int8)
    n_ind = len(samples)
    if geno.shape != (n_ind, len(gmap)):
        raise InputError(
            f"genotypes of chromosome {chrom} have shape {geno.shape}, expected "
            f"({n_ind} individuals, {len(gmap)} markers in the map); fix the genotype file"
        )
    check_codes(geno, chrom)
    is_x = model.handles_x and cross.is_x(chrom)
    positions, marker_index, rf = layout
    n_pos = len(positions)
    n_geno = model.n_genotypes(is_x)
    probs = np.zeros((n_pos, n_ind, n_geno))
    founder = None
    if cross.founder_geno is not None and chrom in cross.founder_geno:
        founder = np.asarray(cross.founder_geno[chrom])
        if model.needs_founder_geno and founder.shape[0] != model.n_alleles:
            raise InputError(
                f"founder genotypes of chromosome {chrom} have {founder.shape[0]} founders, "
                f"a {model.name} cross has {model.n_alleles}; fix the founder genotype file"
            )
        if founder.shape[1] != len(gmap):
            raise InputError(
                f"founder genotypes of chromosome {chrom} have {founder.shape[1]} markers, "
                f"the map has {len(gmap)}; fix the founder genotype file"
            )
    if n_pos > 0 and n_ind > 0:
        keys: list[tuple[Any, ...]]
        if is_x:
            keys = [
                (bool(f), tuple(c)) for f, c in zip(is_female, cross_info.tolist(), strict=True)
            ]
        else:
            keys = [((), tuple(c)) for c in cross_info.tolist()]
        rows_of_founders = None if founder is None else int(founder.shape[0])
        emissions: dict[Any, np.ndarray] = {}
        distinct: dict[tuple[Any, bytes], np.ndarray] = {}
        ordered: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
        batch = _TableBatch(geno, marker_index, probs)
        for _key, rows in individual_groups(keys):
            female = bool(is_female[rows[0]])
            info = cross_info[rows[0]]
            args = {"is_x": is_x, "is_female": female, "cross_info": info}
            ekey: tuple[Any, ...] = (None, ())
            if is_x:
                ekey = (female, lines.emission_key(is_x=True, is_female=female, cross_info=info,
                                                   founder_rows=rows_of_founders))  # fmt: skip
            if ekey not in emissions:
                table = np.ascontiguousarray(
                    model.emission(
                        error_prob=error_prob, founder_geno=founder, n_markers=len(gmap), **args
                    )
                )
                if is_x:
                    # lines of different funnels often share one table: keep a single copy
                    digest = hashlib.blake2b(table.tobytes(), digest_size=16).digest()
                    table = distinct.setdefault((table.shape, digest), table)
                emissions[ekey] = table
            emit = emissions[ekey]
            if isinstance(model, DiversityOutbred) and not model.is_haploid(
                is_x=is_x, is_female=female
            ):
                init = model.init(**args)
                rec = recombinant.get(chrom, is_female=female, cross_info=info)
                stay = np.ascontiguousarray(1.0 - 8.0 * rec / 7.0)
                move = np.ascontiguousarray(rec / 7.0)
                if ekey not in ordered:
                    ordered[ekey] = (
                        np.ascontiguousarray(emit[:, :, :36]),
                        do_pair_prior(init[:36]),
                    )
                emit36, init36 = ordered[ekey]
                forward_backward_do(
                    geno, rows, marker_index, emit36, init36, stay, move, probs, 0
                )  # fmt: skip
                continue
            setup = lines.setup(**args)
            if setup.shared:
                tkey = (chrom, is_x, female if is_x else None)
                trans = lines.canonical(tkey, rf, is_x=is_x, is_female=female)
                batch.add(rows, emit, setup, trans, key=tkey)
            else:
                trans = model.transition(rf, **args)[:, setup.cols][:, :, setup.cols]
                batch.add(rows, emit, setup, trans, key=None)
        batch.run()
    coords: dict[str, Any] = {
        "marker": pd.Index(positions.index, dtype=object, name="marker"),
        "pos_cM": ("marker", positions.to_numpy(dtype=float)),
        "sample": samples,
        "genotype": pd.Index(model.genotype_names(alleles, is_x), dtype=object, name="genotype"),
    }
    if cross.pmap is not None and chrom in cross.pmap:
        coords["pos_Mbp"] = ("marker", _interp_pmap(gmap, cross.pmap[chrom], positions))
    return xr.DataArray(
        probs, dims=("marker", "sample", "genotype"), coords=coords, name=f"genoprob_{chrom}"
    )


# -- allele dosages ---------------------------------------------------------------------------
def genoprob_to_alleleprob(probs: GenoProbs) -> GenoProbs:
    """Founder-allele probabilities from genotype probabilities (R/qtl2 ``genoprob_to_alleleprob``).

    Genotype ``ab`` contributes 1/2 to allele ``a`` and 1/2 to ``b``; a male X genotype ``aY``
    contributes 1 to ``a``. Crosses whose genotypes are already single alleles (RI lines) are
    relabelled only: their allele probabilities share the genotype probabilities' memory
    instead of copying it (neither is ever changed in place).

    Parameters
    ----------
    probs
        Genotype probabilities from :func:`calc_genoprob`. Allele probabilities are returned
        unchanged.

    Returns
    -------
    GenoProbs
        ``kind="allele"``, arrays ``[marker, sample, founder]``; rows sum to 1.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from translocus.core.model import Cross
    >>> cross = Cross(crosstype="f2", individuals=("a",),
    ...               geno={"1": np.array([[2]], dtype=np.int8)},
    ...               gmap={"1": pd.Series([0.0], index=["m1"])}, alleles=("A", "B"), x_chr=None)
    >>> ap = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=0.0))
    >>> ap["1"].values[0, 0].tolist()
    [0.5, 0.5]
    """
    if probs.kind == "allele":
        return probs
    model = get_cross_model(probs.crosstype)
    alleles = tuple(probs.alleles) or tuple("ABCDEFGH"[: model.n_alleles])
    names = model.allele_names(alleles)
    out: dict[str, xr.DataArray] = {}
    for chrom, arr in probs.probs.items():
        is_x = model.handles_x and probs.is_x(chrom)
        weights = model.allele_matrix(is_x)
        values = arr.values
        if weights.shape[0] != values.shape[2]:
            raise InputError(
                f"genotype probabilities of chromosome {chrom} have {values.shape[2]} columns, "
                f"a {probs.crosstype} cross has {weights.shape[0]}; recompute them"
            )
        if weights.shape[0] == weights.shape[1] and np.array_equal(weights, np.eye(len(weights))):
            allele_values = values
        else:
            n_pos, n_ind, n_geno = values.shape
            n_entries = max(1, int((weights != 0).sum(axis=1).max()))
            target = np.full((n_geno, n_entries), -1, dtype=np.int64)
            share = np.zeros((n_geno, n_entries))
            for g in range(n_geno):
                cols = np.flatnonzero(weights[g])
                target[g, : cols.size] = cols
                share[g, : cols.size] = weights[g, cols]
            flat = np.ascontiguousarray(values, dtype=np.float64).reshape(n_pos * n_ind, n_geno)
            allele_values = collapse_states(flat, target, share, weights.shape[1]).reshape(
                n_pos, n_ind, weights.shape[1]
            )
        coords = {k: v for k, v in arr.coords.items() if k != "genotype"}
        out[chrom] = xr.DataArray(
            allele_values,
            dims=("marker", "sample", "founder"),
            coords={**coords, "founder": names},
            name=f"alleleprob_{chrom}",
        )
    return GenoProbs(
        probs=out, crosstype=probs.crosstype, alleles=alleles, x_chr=probs.x_chr, kind="allele"
    )
