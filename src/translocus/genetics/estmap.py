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
  the X.

Iteration starts from the cross's map (Haldane's function, as R/qtl2 does whatever
``map_function`` is), keeps every fraction in ``[tol / 1000, 0.999]`` and stops when no
fraction moved more than ``tol * (r + 100 tol)``; the estimated map starts at the first
marker's position and adds the distances of ``map_function``. Individuals typed at fewer
than two markers of a chromosome are left out of it, as in R/qtl2.

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
from translocus.genetics._estmap_numba import pair_posteriors_dense
from translocus.genetics.crosstypes import CrossModel
from translocus.genetics.genoprob import (
    _threads,
    check_codes,
    hmm_setup,
    individual_groups,
)
from translocus.genetics.mapfunctions import interval_rf, rf_to_map

__all__ = ["EstimatedMap", "est_map"]

#: Cross types whose M step is written here (R/qtl2 0.43-5 has none for ``do`` and ``hs``).
SUPPORTED = ("bc", "dh", "haploid", "f2", "riself", "risib")

#: Individuals per call of the E-step kernel: bounds the memory of the per-individual pair
#: probabilities; sums run in this fixed order whatever the number of threads.
_CHUNK = 256


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
        ``haploid``, ``f2``, ``riself`` and ``risib``.
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
    if unconverged:
        warnings.warn(
            f"est_map reached maxit={maxit} iterations without converging on chromosomes "
            f"{unconverged}; raise maxit or tol",
            ConvergenceWarning,
            stacklevel=2,
        )
    return EstimatedMap(
        gmap=gmaps,
        rf=rfs,
        loglik=pd.Series(logliks, dtype=float, name="loglik"),
        n_iterations=pd.Series(iterations, dtype=np.int64, name="n_iterations"),
        converged=not unconverged,
    )


@dataclass
class _Group:
    """Individuals sharing the HMM's tables, in the E step's genotype layout."""

    rows: np.ndarray
    emit: np.ndarray  # [marker, code, state] over the possible states
    init: np.ndarray
    transition: Callable[[np.ndarray], np.ndarray]  # rf -> [interval, state, state]
    states: np.ndarray  # column of each state in the M step's genotype layout
    forward: bool  # cross direction (RIL X chromosome)


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
    for _key, members in individual_groups(keys):
        rows = rows_kept[members]
        info = cross_info[rows[0]]
        args = {"is_x": is_x, "is_female": bool(is_female[rows[0]]), "cross_info": info}
        emission = model.emission(
            error_prob=error_prob, founder_geno=founder, n_markers=n_markers, **args
        )
        forward = info.size == 0 or int(info[0]) == 0
        if phase_known:
            emit, init, transition = _haplotype_pairs(model, emission)
            states = np.arange(4)
        else:
            states = np.asarray(model.possible(**args), dtype=np.int64)
            emit = np.ascontiguousarray(emission[:, :, states])
            init = np.ascontiguousarray(model.init(**args)[states])

            def transition(rf: np.ndarray, args: dict[str, Any] = args,
                           states: np.ndarray = states) -> np.ndarray:  # fmt: skip
                full = model.transition(rf, **args)
                return np.ascontiguousarray(full[:, states][:, :, states])

        groups.append(_Group(rows, emit, init, transition, states, forward))
    return groups, n_layout


def _e_step(
    geno: np.ndarray, groups: list[_Group], rf: np.ndarray, n_layout: int
) -> tuple[list[np.ndarray], float]:
    """Summed pair posteriors ``[interval, layout, layout]`` per group, and the log likelihood."""
    sums = []
    loglik = 0.0
    for group in groups:
        trans = group.transition(rf)
        n_state = group.states.size
        total = np.zeros((rf.size, n_state, n_state))
        for start in range(0, group.rows.size, _CHUNK):
            rows = np.ascontiguousarray(group.rows[start : start + _CHUNK])
            pairs = np.empty((rows.size, rf.size, n_state, n_state))
            ll = np.empty(rows.size)
            pair_posteriors_dense(geno, rows, group.emit, group.init, trans, pairs, ll)
            total += pairs.sum(axis=0)
            loglik += float(ll.sum())
        full = np.zeros((rf.size, n_layout, n_layout))
        full[:, group.states[:, None], group.states[None, :]] = total
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
    diagonal = sum(np.trace(s, axis1=1, axis2=2) for s in sums)
    big_r = np.maximum(1.0 - diagonal / n_ind, 0.0)
    if crosstype == "riself":
        return 0.5 * big_r / (1.0 - big_r)
    if crosstype == "risib":
        return big_r / (4.0 - 6.0 * big_r)
    return big_r


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
    low, high = tol / 1000.0, 0.999
    current = rf
    converged = False
    n_it = 0
    for n_it in range(1, maxit + 1):  # noqa: B007
        sums, _ = _e_step(geno, groups, rf, n_layout)
        current = np.clip(_m_step(cross.crosstype, is_x, groups, sums, rows_kept.size), low, high)
        converged = bool(np.all(np.abs(rf - current) <= tol * (current + tol * 100.0)))
        if converged:
            break
        rf = current
    _, loglik = _e_step(geno, groups, current, n_layout)
    return current, loglik, n_it, converged
