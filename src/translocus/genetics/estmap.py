"""Re-estimation of the genetic map by EM, as R/qtl2's ``est_map``.

For each chromosome, :func:`est_map` re-estimates the recombination fraction of every
interval between adjacent markers by the EM algorithm on the cross's hidden Markov model
(no crossover interference): the E step is the posterior probability of each pair of
genotypes at adjacent markers (:mod:`translocus.genetics._estmap_numba`), the M step the
cross type's closed-form estimate from those pairs, as R/qtl2 0.43-5 computes it:

- backcross, doubled haploids, haploids, and every X chromosome of an intercross:
  ``r = 1 - (expected non-recombinant pairs) / n``;
- intercross autosomes, on the phase-known genotypes ``AA, AB, BA, BB``:
  ``r = (expected recombinant haplotypes) / (2 n)``;
- RIL by selfing: ``r = R / (2 (1 - R))`` from the RIL's ``R`` above (``R = 2r / (1 + 2r)``);
- RIL by sib mating: ``r = R / (4 - 6 R)`` on autosomes, the root of R/qtl2's quadratic on
  the X;
- 4-way RIL: ``R / (3 - 2R)`` by selfing, ``R / (6 (1 - R))`` (X: ``R / (4 (1 - R))``) by
  sib mating; 8-way RIL by sib mating: ``R / (7 - 6R)`` on autosomes, on the X R/qtl2's root
  from the shares of pairs that stay with the funnel's third founder, stay with another or
  change; 19-way MAGIC by selfing: R/qtl2's closed-form root of its cubic in ``r`` (below);
  8- and 16-way RIL by selfing: R/qtl2's root from the shares of pairs of founders that met
  in the first, second (or later) generation of the funnel (each line's transitions are one
  matrix in its funnel order).

Iteration starts from the cross's map (Haldane's function, as R/qtl2 does whatever
``map_function`` is), keeps every fraction in ``[tol / 1000, 0.999]`` and stops when no
fraction moved more than ``tol * (r + 100 tol)``; the estimated map starts at the first
marker's position and adds the distances of ``map_function`` (a fraction at or above 0.5
counts as ``0.5 - 1e-14``, as in R/qtl2). Individuals typed at fewer than two markers of a
chromosome are left out of it, as in R/qtl2.

19-way MAGIC intervals without linkage: where the expected share of pairs of adjacent
markers that change founder reaches ``18/19`` (that of unlinked markers, ``r = 1`` in the
model), R/qtl2 0.43-5's closed form has no root: it returns NaN for that fraction, then for
every fraction and the log likelihood, and stops as if converged, with NaN positions and
no warning. Here the M step there gives ``r = 1``, the maximum of its expected log
likelihood on ``[0, 1]``, so the fraction stays at the upper bound ``0.999``, the EM goes
on for the other intervals, and :class:`UnlinkedIntervalWarning` names the interval: the
chromosome's two sides are then fitted almost independently (as R/qtl2 fits them when the
chromosome is cut there) and the gap between them is the map function's longest distance.

Examples
--------
Two backcross markers, one recombinant of four fully typed individuals:

>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> cross = Cross(crosstype="bc", individuals=("a", "b", "c", "d"),
...               geno={"1": np.array([[1, 1], [2, 2], [1, 1], [1, 2]], dtype=np.int8)},
...               gmap={"1": pd.Series([5.0, 10.0], index=["m1", "m2"])},
...               alleles=("A", "B"), x_chr=None)
>>> fit = est_map(cross, error_prob=0.0, map_function="morgan")
>>> fit["1"].round(6).tolist()
[5.0, 30.0]
>>> fit.converged
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.model import Cross
from translocus.genetics._estmap_numba import pair_posteriors_dense, pair_posteriors_serial
from translocus.genetics.crosstypes import CrossModel
from translocus.genetics.genoprob import (
    _threads,
    check_codes,
    hmm_setup,
    individual_groups,
)
from translocus.genetics.mapfunctions import interval_rf, rf_to_map

__all__ = ["EstimatedMap", "UnlinkedIntervalWarning", "est_map"]

#: Cross types whose M step is written here (R/qtl2 0.43-5 has none for ``do`` and ``hs``).
SUPPORTED = (
    "bc", "dh", "haploid", "f2", "riself", "risib", "riself4", "riself8", "riself16", "risib4",
    "risib8", "magic19",
)  # fmt: skip

#: Individuals per call of the E-step kernel: bounds the memory of the per-individual pair
#: probabilities; sums run in this fixed order whatever the number of threads.
_CHUNK = 256

#: Below this many multiply-adds per E step (individuals x intervals x states^2) the kernel
#: runs on one thread.
_SERIAL_WORK = 2_000_000

#: Multi-way RIL by selfing whose transitions are one matrix with rows and columns in each
#: line's funnel order (R/qtl2's ``est_map2_founderorder``).
_FUNNEL_ORDER = ("riself8", "riself16")

#: Largest recombination fraction the EM keeps (R/qtl2's ``rf_uptol``); the smallest is
#: ``tol / 1000``.
_RF_UPPER = 0.999


class UnlinkedIntervalWarning(UserWarning):
    """An interval's markers look unlinked: its fraction stayed at the upper bound 0.999."""


@dataclass(frozen=True)
class EstimatedMap:
    """A genetic map estimated by :func:`est_map`.

    Attributes
    ----------
    gmap
        Per chromosome a ``pandas.Series`` of positions (cM) indexed by marker name, like
        :attr:`Cross.gmap`; ``dataclasses.replace(cross, gmap=fit.gmap)`` uses it.
    rf
        Per chromosome the estimated recombination fraction of each interval.
    loglik
        Log likelihood (natural log) of each chromosome's data at the estimate.
    n_iterations
        EM iterations run on each chromosome.
    converged
        Whether every chromosome met the convergence rule within ``maxit`` iterations.
    """

    gmap: Mapping[str, pd.Series]
    rf: Mapping[str, np.ndarray]
    loglik: pd.Series
    n_iterations: pd.Series
    converged: bool

    def __getitem__(self, chrom: str) -> pd.Series:
        return self.gmap[chrom]

    @property
    def chromosomes(self) -> tuple[str, ...]:
        """Chromosome names, in order."""
        return tuple(self.gmap)


def est_map(
    cross: Cross,
    *,
    error_prob: float = 1e-4,
    map_function: str = "haldane",
    maxit: int = 10_000,
    tol: float = 1e-6,
    chromosomes: Sequence[str] | None = None,
    cores: int | None = None,
) -> EstimatedMap:
    """Re-estimate the genetic map from the marker data (R/qtl2 ``est_map``).

    Parameters
    ----------
    cross
        The cross, with a genetic map as the starting point; cross types ``bc``, ``dh``,
        ``haploid``, ``f2``, ``riself``, ``risib``, ``riself4``, ``riself8``, ``riself16``,
        ``risib4``, ``risib8`` and ``magic19``.
    error_prob
        Genotyping error probability, in ``[0, 1)`` (R/qtl2's default ``1e-4``).
    map_function
        Converts the estimated recombination fractions to cM: ``"haldane"`` (default),
        ``"kosambi"``, ``"c-f"`` or ``"morgan"``.
    maxit
        Largest number of EM iterations per chromosome; reaching it warns
        (:class:`~translocus.core.estimator.ConvergenceWarning`).
    tol
        Convergence tolerance (> 0), R/qtl2's rule (module docstring).
    chromosomes
        Subset of chromosomes, in the order given; default all.
    cores
        Number of threads; default numba's setting. Results do not depend on it.

    Returns
    -------
    EstimatedMap
        The map (per chromosome a ``Series`` of cM by marker), the recombination fractions,
        the log likelihoods and the iteration counts.

    Warns
    -----
    ConvergenceWarning
        A chromosome reached ``maxit`` iterations.
    UnlinkedIntervalWarning
        ``magic19`` only: an interval's markers change founder in 18/19 of the expected
        pairs or more, so its fraction is the upper bound 0.999 where R/qtl2 0.43-5 gives
        NaN positions for the whole chromosome (module docstring).

    Examples
    --------
    See the module docstring.
    """
    if cross.crosstype not in SUPPORTED:
        raise InputError(
            f"est_map does not support crosstype {cross.crosstype!r}; it supports "
            f"{', '.join(SUPPORTED)} (R/qtl2 0.43-5 has no est_map for do or hs either)"
        )
    if isinstance(maxit, bool) or not isinstance(maxit, (int, np.integer)) or maxit < 0:
        raise InputError(f"maxit={maxit!r} must be a whole number >= 0")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise InputError(f"tol={tol!r} must be a positive number")
    model, chroms, is_female, cross_info, _alleles = hmm_setup(
        cross, error_prob=error_prob, map_function=map_function, chromosomes=chromosomes
    )
    gmaps: dict[str, pd.Series] = {}
    rfs: dict[str, np.ndarray] = {}
    logliks: dict[str, float] = {}
    iterations: dict[str, int] = {}
    unconverged: list[str] = []
    unlinked: list[str] = []
    with _threads(cores):
        for chrom in chroms:
            rf, loglik, n_it, ok = _estimate_chromosome(
                cross, chrom, model, is_female, cross_info,
                error_prob=float(error_prob), maxit=int(maxit), tol=float(tol),
            )  # fmt: skip
            gmap = cross.gmap[chrom]
            start = float(gmap.iloc[0]) if len(gmap) else 0.0
            steps = rf_to_map(rf, map_function=map_function)
            positions = start + np.concatenate([[0.0], np.cumsum(steps)])[: len(gmap)]
            gmaps[chrom] = pd.Series(positions, index=gmap.index.copy(), name=gmap.name)
            rfs[chrom] = rf
            logliks[chrom] = loglik
            iterations[chrom] = n_it
            if not ok:
                unconverged.append(chrom)
            if cross.crosstype == "magic19":
                unlinked.extend(_unlinked_intervals(chrom, gmap.index, rf, steps))
    if unconverged:
        warnings.warn(
            f"est_map reached maxit={maxit} iterations without converging on chromosomes "
            f"{unconverged}; raise maxit or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    if unlinked:
        warnings.warn(
            f"est_map: the markers of {'; '.join(unlinked)} look unlinked (they change "
            "founder in 18/19 or more of the expected pairs): the recombination fraction "
            "stays at its upper bound 0.999 and the interval gets the map function's longest "
            "distance, where R/qtl2 0.43-5 returns NaN positions; check those markers' order "
            "and genotypes",
            UnlinkedIntervalWarning,
            stacklevel=2,
        )
    return EstimatedMap(
        gmap=gmaps,
        rf=rfs,
        loglik=pd.Series(logliks, dtype=float, name="loglik"),
        n_iterations=pd.Series(iterations, dtype=np.int64, name="n_iterations"),
        converged=not unconverged,
    )


def _unlinked_intervals(
    chrom: str, markers: pd.Index, rf: np.ndarray, steps: np.ndarray
) -> list[str]:
    """``magic19`` intervals whose fraction is at the upper bound, as text for the warning."""
    return [
        f"chromosome {chrom} interval {markers[k]}-{markers[k + 1]} ({steps[k]:.1f} cM)"
        for k in np.flatnonzero(rf >= _RF_UPPER)
    ]


@dataclass
class _Group:
    """Individuals sharing the HMM's tables, in the E step's genotype layout."""

    rows: np.ndarray
    emit: np.ndarray  # [marker, code, state] over the possible states
    init: np.ndarray
    transition: Callable[..., np.ndarray]  # rf -> [interval, state, state]
    states: np.ndarray  # column of each state in the M step's genotype layout
    forward: bool  # cross direction (RIL X chromosome)
    info: np.ndarray  # the group's cross information (funnel order of multi-way RIL)


def _haplotype_pairs(model: CrossModel, emission: np.ndarray) -> tuple[Any, ...]:
    """The phase-known intercross: states ``AA, AB, BA, BB`` with independent haplotypes."""
    emit = np.ascontiguousarray(emission[:, :, [0, 1, 1, 2]])

    def transition(rf: np.ndarray) -> np.ndarray:
        r = rf[:, None, None]
        one = np.concatenate(
            [np.concatenate([1 - r, r], 2), np.concatenate([r, 1 - r], 2)], 1
        )  # [interval, 2, 2]
        return np.ascontiguousarray(np.einsum("kac,kbd->kabcd", one, one).reshape(-1, 4, 4))

    return emit, np.full(4, 0.25), transition


def _groups(
    cross: Cross,
    chrom: str,
    model: CrossModel,
    rows_kept: np.ndarray,
    is_female: np.ndarray,
    cross_info: np.ndarray,
    *,
    is_x: bool,
    n_markers: int,
    error_prob: float,
) -> tuple[list[_Group], int]:
    founder = None
    if cross.founder_geno is not None and chrom in cross.founder_geno:
        founder = np.asarray(cross.founder_geno[chrom])
    phase_known = cross.crosstype == "f2" and not is_x
    n_layout = 4 if phase_known else model.n_genotypes(is_x)
    keys: list[tuple[object, ...]]
    if is_x:
        keys = [(bool(is_female[i]), tuple(cross_info[i].tolist())) for i in rows_kept]
    else:
        keys = [((), tuple(cross_info[i].tolist())) for i in rows_kept]
    groups = []
    # emission tables depend on sex and cross information on the X only (as in calc_genoprob);
    # groups that share one share the array
    emissions: dict[tuple[object, ...], np.ndarray] = {}
    for _key, members in individual_groups(keys):
        rows = rows_kept[members]
        info = cross_info[rows[0]]
        args = {"is_x": is_x, "is_female": bool(is_female[rows[0]]), "cross_info": info}
        ekey = (bool(is_female[rows[0]]), tuple(info.tolist())) if is_x else ()
        forward = info.size == 0 or int(info[0]) == 0
        if phase_known:
            emit, init, transition = _haplotype_pairs(model, _emission(emissions, ekey, model,
                                                                       founder, n_markers,
                                                                       error_prob, args))  # fmt: skip
            emit = emissions.setdefault(("pk", *ekey), emit)
            states = np.arange(4)
        else:
            states = np.asarray(model.possible(**args), dtype=np.int64)
            emit = emissions.setdefault(
                ("states", *ekey),
                np.ascontiguousarray(
                    _emission(emissions, ekey, model, founder, n_markers, error_prob, args)[
                        :, :, states
                    ]
                ),
            )
            init = np.ascontiguousarray(model.init(**args)[states])

            def transition(rf: np.ndarray, args: dict[str, Any] = args,
                           states: np.ndarray = states, plain_order: bool = False) -> np.ndarray:  # fmt: skip
                if plain_order:
                    args = {**args, "cross_info": np.arange(1, args["cross_info"].size + 1)}
                full = model.transition(rf, **args)
                return np.ascontiguousarray(full[:, states][:, :, states])

        groups.append(_Group(rows, emit, init, transition, states, forward, info))
    return groups, n_layout


@dataclass
class _Stack:
    """The groups' tables stacked for one kernel call per E step, states padded to ``n_state``."""

    emit: np.ndarray  # [emission table, marker, code, n_state]
    init: np.ndarray  # [group, n_state]
    rows: np.ndarray  # individuals, group by group
    table: np.ndarray  # group of each of them
    etable: np.ndarray  # emission table of each group
    n_state: int
    funnel: np.ndarray | None = None  # [group, founder] position in the funnel (_FUNNEL_ORDER)


def _stack(groups: list[_Group]) -> _Stack:
    n_state = max(g.states.size for g in groups)
    emits: list[np.ndarray] = []
    seen: dict[int, int] = {}
    etable = np.empty(len(groups), dtype=np.int64)
    init = np.zeros((len(groups), n_state))
    for k, group in enumerate(groups):
        # groups that share an emission table share the array (see _groups)
        if id(group.emit) not in seen:
            padded = np.ones((*group.emit.shape[:2], n_state))
            padded[:, :, : group.states.size] = group.emit
            seen[id(group.emit)] = len(emits)
            emits.append(padded)
        etable[k] = seen[id(group.emit)]
        init[k, : group.states.size] = group.init
    rows = np.concatenate([g.rows for g in groups])
    table = np.concatenate([np.full(g.rows.size, k, dtype=np.int64) for k, g in enumerate(groups)])
    return _Stack(np.ascontiguousarray(np.stack(emits)), init, rows, table, etable, n_state)


def _funnel_positions(groups: list[_Group]) -> np.ndarray:
    order = np.stack([g.info.astype(np.int64) - 1 for g in groups])  # founder at each position
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(order.shape[1])[None, :], axis=1)
    return pos


def _emission(
    cache: dict[tuple[object, ...], np.ndarray],
    ekey: tuple[object, ...],
    model: CrossModel,
    founder: np.ndarray | None,
    n_markers: int,
    error_prob: float,
    args: dict[str, Any],
) -> np.ndarray:
    """``model.emission`` of a group, computed once per emission key."""
    key = ("model", *ekey)
    if key not in cache:
        cache[key] = model.emission(
            error_prob=error_prob, founder_geno=founder, n_markers=n_markers, **args
        )
    return cache[key]


def _e_step(
    geno: np.ndarray, groups: list[_Group], stack: _Stack, rf: np.ndarray, n_layout: int
) -> tuple[list[np.ndarray], float]:
    """Summed pair posteriors ``[interval, layout, layout]`` per group, and the log likelihood."""
    n_state = stack.n_state
    if stack.funnel is not None:
        # one matrix in the plain order 1..n; a line's rows and columns follow its funnel
        plain = groups[0].transition(rf, plain_order=True)
        pos = stack.funnel
        trans = np.ascontiguousarray(
            plain[:, pos[:, :, None], pos[:, None, :]].transpose(1, 0, 2, 3)
        )
    else:
        trans = np.zeros((len(groups), rf.size, n_state, n_state))
        for k, group in enumerate(groups):
            m = group.states.size
            trans[k, :, :m, :m] = group.transition(rf)
    kernel = (
        pair_posteriors_serial
        if stack.rows.size * rf.size * n_state * n_state < _SERIAL_WORK
        else pair_posteriors_dense
    )
    totals = np.zeros((len(groups), rf.size, n_state, n_state))
    loglik = 0.0
    for start in range(0, stack.rows.size, _CHUNK):
        rows = np.ascontiguousarray(stack.rows[start : start + _CHUNK])
        table = np.ascontiguousarray(stack.table[start : start + _CHUNK])
        pairs = np.empty((rows.size, rf.size, n_state, n_state))
        ll = np.empty(rows.size)
        kernel(geno, rows, table, stack.etable, stack.emit, stack.init, trans, pairs, ll)
        bounds = np.flatnonzero(np.diff(table)) + 1
        starts = np.concatenate([[0], bounds])
        totals[table[starts]] += np.add.reduceat(pairs, starts, axis=0)
        loglik += float(ll.sum())
    sums = []
    for k, group in enumerate(groups):
        m = group.states.size
        full = np.zeros((rf.size, n_layout, n_layout))
        full[:, group.states[:, None], group.states[None, :]] = totals[k, :, :m, :m]
        sums.append(full)
    return sums, loglik


def _m_step(
    crosstype: str, is_x: bool, groups: list[_Group], sums: list[np.ndarray], n_ind: int
) -> np.ndarray:
    """R/qtl2's ``est_rec_frac`` of the cross type, every interval at once."""
    if crosstype == "f2" and not is_x:
        haplotypes = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        nrec = (haplotypes[:, None, :] != haplotypes[None, :, :]).sum(axis=2)
        return sum((s * (0.5 * nrec)).sum(axis=(1, 2)) for s in sums) / n_ind
    if crosstype == "risib" and is_x:
        denom = sum(s.sum(axis=(1, 2)) for s in sums)
        sum00 = sum(
            s[:, 0, 0] if g.forward else s[:, 1, 1] for g, s in zip(groups, sums, strict=True)
        )
        sum01 = sum(s[:, 0, 1] + s[:, 1, 0] for s in sums)
        root = np.sqrt(
            sum01 * sum01 + (-2.0 * sum00 - 4.0 * denom) * sum01 + sum00 * sum00
            - 4.0 * denom * sum00 + 4.0 * denom * denom
        )  # fmt: skip
        return (2.0 * denom - sum00 - 3.0 * sum01 - root) / 8.0 / (sum01 + sum00 - denom)
    if crosstype in _FUNNEL_ORDER:
        return _funnel_rf(crosstype, groups, sums)
    if crosstype == "risib8" and is_x:
        return _risib8_x_rf(groups, sums)
    diagonal = sum(np.trace(s, axis1=1, axis2=2) for s in sums)
    big_r = np.maximum(1.0 - diagonal / n_ind, 0.0)
    if crosstype == "riself":
        return 0.5 * big_r / (1.0 - big_r)
    if crosstype == "risib":
        return big_r / (4.0 - 6.0 * big_r)
    if crosstype == "riself4":
        return big_r / (3.0 - 2.0 * big_r)
    if crosstype == "risib4":
        return big_r / (4.0 if is_x else 6.0) / (1.0 - big_r)
    if crosstype == "risib8":  # autosome: R = 7r / (1 + 6r)
        return big_r / (7.0 - 6.0 * big_r)
    if crosstype == "magic19":
        return _magic19_rf(big_r)
    return big_r


def _magic19_rf(big_r: np.ndarray) -> np.ndarray:
    """19-way MAGIC by selfing: ``r`` from the share ``R`` of pairs that change founder.

    R/qtl2 0.43-5's closed-form root of its cubic, term for term, where ``R < 18/19``. The
    model's share ``R(r) = r (90 - 54r + 18r^2) / (19 (1 + 2r))`` rises from 0 at ``r = 0``
    to ``18/19`` (unlinked markers) at ``r = 1``; for ``R >= 18/19`` the expected log
    likelihood of the pairs rises on all of ``[0, 1]``, so its maximum is ``r = 1`` (clipped
    to the upper bound by the caller), where R/qtl2's closed form is NaN.
    """
    d = 18.0 - 19.0 * big_r
    rf = np.ones_like(big_r)
    root = d > 0.0
    d = d[root]
    e = np.sqrt(2475.0 - 304.0 * big_r[root]) * d / 4.0 / 3.0**4.5
    cube = np.power(e + d / 12.0, 1.0 / 3.0)
    rf[root] = 1.0 - cube + d / (27.0 * cube)
    return rf


def _risib8_x_rf(groups: list[_Group], sums: list[np.ndarray]) -> np.ndarray:
    """8-way RIL by sib mating, X chromosome: R/qtl2's root from three shares of pairs.

    ``c``: staying with the funnel's third founder (the one with prior 1/3); ``a``: staying
    with any other founder; ``b``: a change of founder.
    """
    n_int = sums[0].shape[0]
    a, b, c = np.zeros(n_int), np.zeros(n_int), np.zeros(n_int)
    for group, s in zip(groups, sums, strict=True):
        third = int(group.info[2]) - 1
        diagonal = np.diagonal(s, axis1=1, axis2=2)  # [interval, founder]
        c += diagonal[:, third]
        a += diagonal.sum(axis=1) - diagonal[:, third]
        b += s.sum(axis=(1, 2)) - diagonal.sum(axis=1)
    root = np.sqrt(16.0 * c * c + 8.0 * (5.0 * a - b) * c + b * b + 10.0 * a * b + 25.0 * a * a)
    return (4.0 * c + b + 5.0 * a - root) / 8.0 / c


def _funnel_rf(crosstype: str, groups: list[_Group], sums: list[np.ndarray]) -> np.ndarray:
    """8- and 16-way RIL by selfing: R/qtl2's root from the pair shares ``u``, ``v``, ``w``, ``y``.

    ``u``: no change of founder; ``v``: founders whose lines met in the funnel's first
    generation; ``w``: in the second (8-way: later); ``y``: later (16-way).
    """
    pos = _funnel_positions(groups)  # [group, founder]
    stacked = np.stack(sums)  # [group, interval, founder, founder]
    n_gen = stacked.shape[2]
    off = ~np.eye(n_gen, dtype=bool)[None]
    pair = off & (pos[:, :, None] // 2 == pos[:, None, :] // 2)
    quad = off & (pos[:, :, None] // 4 == pos[:, None, :] // 4)
    u = np.trace(stacked, axis1=2, axis2=3).sum(axis=0)
    v = np.einsum("gkab,gab->k", stacked, pair.astype(float))
    if crosstype == "riself8":
        w = np.einsum("gkab,gab->k", stacked, (off & ~pair).astype(float))
        n = u + v + w
        root = np.sqrt(
            4.0 * n * n + 4.0 * n * (2.0 * u - 2.0 * v - 3.0 * w) + 9.0 * w * w
            + 12.0 * w * (u + 2.0 * v) + 16.0 * v * v + 16.0 * u * v + 4.0 * u * u
        )  # fmt: skip
        rf = (2.0 * n + 2.0 * u - w - root) / 4.0 / (n - w - 2.0 * v - 2.0 * u)
    else:
        w = np.einsum("gkab,gab->k", stacked, (quad & ~pair).astype(float))
        y = np.einsum("gkab,gab->k", stacked, (off & ~quad).astype(float))
        n = u + v + w + y
        root = np.sqrt(
            9.0 * y * y + 6.0 * y * (3.0 * w + 5.0 * v + 3.0 * u - 2.0 * n) + 9.0 * w * w
            + 6.0 * w * (5.0 * v + 3.0 * u - 2.0 * n) + 25.0 * v * v
            + 2.0 * v * (15.0 * u - 2.0 * n) + 9.0 * u * u + 12.0 * n * u + 4.0 * n * n
        )  # fmt: skip
        rf = (root + y + w - v - 3.0 * u - 2.0 * n) / 4.0 / (y + w + 3.0 * v + 3.0 * u - n)
    return np.maximum(rf, 0.0)


def _estimate_chromosome(
    cross: Cross,
    chrom: str,
    model: CrossModel,
    is_female: np.ndarray,
    cross_info: np.ndarray,
    *,
    error_prob: float,
    maxit: int,
    tol: float,
) -> tuple[np.ndarray, float, int, bool]:
    gmap = cross.gmap[chrom]
    if gmap.isna().any() or np.any(np.diff(gmap.to_numpy(dtype=float)) < 0):
        raise InputError(
            f"genetic map of chromosome {chrom} has missing or unsorted positions; fix the map"
        )
    geno = np.ascontiguousarray(cross.geno[chrom], dtype=np.int8)
    if geno.shape != (len(cross.individuals), len(gmap)):
        raise InputError(
            f"genotypes of chromosome {chrom} have shape {geno.shape}, expected "
            f"({len(cross.individuals)} individuals, {len(gmap)} markers in the map); "
            "fix the genotype file"
        )
    check_codes(geno, chrom)
    # R/qtl2 starts from Haldane's fractions whatever the map function
    rf = interval_rf(gmap.to_numpy(dtype=float), map_function="haldane")
    rows_kept = np.flatnonzero((geno > 0).sum(axis=1) >= 2)
    if geno.shape[1] < 2:
        return rf, 0.0, 0, True
    if rows_kept.size == 0:
        raise InputError(
            f"chromosome {chrom}: no individual is typed at two or more markers, so its map "
            "cannot be estimated; leave it out with chromosomes="
        )
    is_x = model.handles_x and cross.is_x(chrom)
    groups, n_layout = _groups(
        cross, chrom, model, rows_kept, is_female, cross_info,
        is_x=is_x, n_markers=geno.shape[1], error_prob=error_prob,
    )  # fmt: skip
    stack = _stack(groups)
    if cross.crosstype in _FUNNEL_ORDER:
        stack.funnel = _funnel_positions(groups)
    low, high = tol / 1000.0, _RF_UPPER
    current = rf
    converged = False
    n_it = 0
    for n_it in range(1, maxit + 1):  # noqa: B007
        sums, _ = _e_step(geno, groups, stack, rf, n_layout)
        current = np.clip(_m_step(cross.crosstype, is_x, groups, sums, rows_kept.size), low, high)
        converged = bool(np.all(np.abs(rf - current) <= tol * (current + tol * 100.0)))
        if converged:
            break
        rf = current
    _, loglik = _e_step(geno, groups, stack, current, n_layout)
    return current, loglik, n_it, converged
