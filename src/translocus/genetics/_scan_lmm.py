"""The linear mixed model of the genome scan (R/qtl2 ``scan1`` with a kinship).

The LOD compares RSS weighted by the null model's ``1/(h²λ + 1 - h²)`` after rotating by the
eigenvectors of 2K; h² is estimated once per trait (and per chromosome for a LOCO kinship) by
REML or ML. Individuals are grouped so that batches with a few missing values share the
decomposition of the complete data (dummy covariates, :data:`MAX_DUMMY`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from translocus.core.errors import InputError
from translocus.core.threads import parallel_map, worker_count
from translocus.genetics._design import Batch, Prepared, design, hsq_sets, set_for_chrom
from translocus.genetics._moments import Part, TraitSide, chromosome_lod, trait_side
from translocus.genetics._scan_kernels import rotate_traits
from translocus.genetics.lmm import (
    KinshipEigen,
    eigen_2k,
    fit_null_lmm,
    loco_label,
    logdet_xpx,
)

__all__ = [
    "Group",
    "MAX_DUMMY",
    "batch_design",
    "kinship_eigen",
    "lmm_groups",
    "lmm_outputs",
    "scan_lmm",
]

#: A batch may use dummy covariates for its missing individuals (sharing the rotation of the
#: complete data) when it lacks at most this many individuals (and at most 10% of them).
MAX_DUMMY = 16


@dataclass
class Group:
    """Individuals sharing one eigen-decomposition; batches analysed within it."""

    rows: np.ndarray
    batches: list[tuple[Batch, np.ndarray]]  # (batch, positions of its missing rows in `rows`)


def lmm_groups(prep: Prepared, reml: bool) -> list[Group]:
    n_all = len(prep.samples)
    full = Group(rows=np.arange(n_all), batches=[])
    groups = [full]
    for batch in prep.batches:
        d = batch.omit.size
        if n_all - d <= 2:
            continue
        if d == 0 or (reml and d <= MAX_DUMMY and d <= 0.1 * n_all):
            full.batches.append((batch, batch.omit))
        else:
            rows = np.setdiff1d(np.arange(n_all), batch.omit)
            groups.append(Group(rows=rows, batches=[(batch, np.zeros(0, dtype=np.int64))]))
    return [g for g in groups if g.batches]


def kinship_eigen(prep: Prepared, key: str, rows: np.ndarray) -> KinshipEigen:
    values, position = prep.kinship_arrays[key if prep.loco else "overall"]
    ids = [prep.samples[i] for i in rows]
    pos = position[rows]
    if np.any(pos < 0):  # prepare() keeps only individuals the kinship has
        lacking = [i for i, q in zip(ids, pos, strict=True) if q < 0][:3]
        raise InputError(f"kinship {key!r} lacks samples {lacking}; compute it for all of them")
    if pos.size == values.shape[0] and np.array_equal(pos, np.arange(pos.size)):
        k = values  # all individuals in the kinship's order: no copy (decomposed as it is)
    else:
        k = values[np.ix_(pos, pos)]
    if prep.sqrt_w is not None:
        sw = prep.sqrt_w[rows]
        k = k * np.outer(sw, sw)
    label = loco_label(key) if prep.loco else "kinship"
    return eigen_2k(k, tuple(ids), label=label)


def batch_design(prep: Prepared, group: Group, missing: np.ndarray, with_x: bool) -> np.ndarray:
    c = design(prep, group.rows, with_x=with_x)
    if missing.size:
        dummy = np.zeros((group.rows.size, missing.size))
        dummy[missing, np.arange(missing.size)] = 1.0
        c = np.column_stack([c, dummy])
    if prep.sqrt_w is not None:
        c = c * prep.sqrt_w[group.rows][:, None]
    return c


def _lmm_group(prep: Prepared, group: Group, reml: bool, hsq_fixed: np.ndarray | None,
               lod: np.ndarray, hsq: np.ndarray, offsets: np.ndarray) -> None:  # fmt: skip
    """Scan the batches of one group of individuals (fills ``lod`` and ``hsq``)."""
    sets = hsq_sets(prep)
    workers = worker_count()
    keys = list(dict.fromkeys(name if prep.loco else "overall" for name, _ in sets))
    sw = prep.sqrt_w[group.rows] if prep.sqrt_w is not None else None
    n_g = group.rows.size
    # y with zeros at missing entries (their dummies absorb them)
    ys = []
    for batch, missing in group.batches:
        y = prep.pheno[np.ix_(group.rows, batch.cols)].copy()
        y[missing, :] = 0.0
        if sw is not None:
            y = y * sw[:, None]
        ys.append(y)
    designs = {(bi, with_x): batch_design(prep, group, missing, with_x)
               for bi, (_, missing) in enumerate(group.batches)
               for with_x in {False, any(wx for _, wx in sets)}}  # fmt: skip
    usable = [bi for bi, (_, missing) in enumerate(group.batches) if n_g - missing.size > 2]

    def null_fit(si: int, bi: int, eig: KinshipEigen) -> tuple[np.ndarray, np.ndarray]:
        """The batch's h² and its phenotypes rotated (shared with the scan's trait side)."""
        batch = group.batches[bi][0]
        c0 = designs[(bi, sets[si][1])]
        n_y = ys[bi].shape[1]
        # phenotypes and covariates in one rotation: each column's bits are its own anyway
        both = rotate_traits(eig.vectors_t, np.column_stack([ys[bi], c0]))
        y_rot = np.ascontiguousarray(both[:, :n_y])
        if hsq_fixed is not None:
            return np.asarray(hsq_fixed[si, batch.cols], dtype=float), y_rot
        fit = fit_null_lmm(eig, y_rot, np.ascontiguousarray(both[:, n_y:]), reml=reml,
                           tol=prep.tol, rotated=True, xpx_logdet=logdet_xpx(c0))  # fmt: skip
        return fit.hsq, y_rot

    def chrom_parts(with_x: bool, fits: dict[int, tuple[np.ndarray, np.ndarray]]
                    ) -> list[Part]:  # fmt: skip
        parts = []
        for bi, (h, y_rot) in fits.items():
            batch, missing = group.batches[bi]
            c_alt = designs[(bi, False)]
            parts.append(Part(batch=batch, n_obs=n_g - missing.size, hsq=h, y=ys[bi],
                               c_alt=c_alt, c_null=designs[(bi, True)] if with_x else c_alt,
                               y_rot=y_rot))  # fmt: skip
        return parts

    def chrom_scan(ci: int, eig: KinshipEigen, fits: dict[int, tuple[np.ndarray, np.ndarray]],
                   sides: dict[tuple[int, bool], TraitSide] | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
        chrom = prep.chroms[ci]
        if not fits or not len(prep.markers[chrom]):
            return None
        with_x = prep.is_x[chrom] and prep.xcovar is not None
        parts = chrom_parts(with_x, fits)
        side = None if sides is None else sides[(set_for_chrom(prep, chrom, sets), with_x)]
        cols = np.concatenate([part.batch.cols for part in parts])
        return cols, chromosome_lod(prep, chrom, group.rows, eig, parts, side=side)

    # whole chromosomes in parallel, largest first
    order = sorted(range(len(prep.chroms)), key=lambda ci: -len(prep.markers[prep.chroms[ci]]))
    results: list[tuple[int, tuple[np.ndarray, np.ndarray] | None]] = []
    if prep.loco:
        # one kinship per chromosome: its decomposition, null fits and scan in one task

        def loco_task(ci: int) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], Any]:
            eig = kinship_eigen(prep, prep.chroms[ci], group.rows)
            fits = {bi: null_fit(ci, bi, eig) for bi in usable}
            return fits, chrom_scan(ci, eig, fits)

        for ci, (fits, res) in zip(order, parallel_map(loco_task, order, workers), strict=True):
            for bi, (h, _) in fits.items():
                hsq[ci, group.batches[bi][0].cols] = h
            results.append((ci, res))
    else:
        eigs = dict(zip(keys, parallel_map(lambda k: kinship_eigen(prep, k, group.rows), keys,
                                           workers), strict=True))  # fmt: skip
        tasks = [(si, bi) for si in range(len(sets)) for bi in usable]
        fitted = parallel_map(lambda task: null_fit(task[0], task[1], eigs[keys[0]]), tasks,
                              workers)  # fmt: skip
        by_set: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {
            si: {} for si in range(len(sets))}  # fmt: skip
        for (si, bi), fit in zip(tasks, fitted, strict=True):
            by_set[si][bi] = fit
            hsq[si, group.batches[bi][0].cols] = fit[0]
        # one kinship for all chromosomes: the trait side once per null model
        sides = {}
        for chrom in prep.chroms:
            key = (set_for_chrom(prep, chrom, sets), prep.is_x[chrom] and prep.xcovar is not None)
            if key not in sides and by_set[key[0]] and len(prep.markers[chrom]):
                sides[key] = trait_side(prep, eigs[keys[0]], chrom_parts(key[1], by_set[key[0]]))
        scans = parallel_map(
            lambda ci: chrom_scan(ci, eigs[keys[0]],
                                  by_set[set_for_chrom(prep, prep.chroms[ci], sets)], sides),
            order, workers)  # fmt: skip
        results = list(zip(order, scans, strict=True))
    for ci, res in results:
        if res is not None:
            cols, block = res
            lod[offsets[ci] : offsets[ci + 1], cols] = block


def lmm_outputs(
    prep: Prepared,
) -> tuple[list[tuple[str, bool]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What an LMM scan fills: h² sets, LOD ``[markers, traits]`` and h² ``[sets, traits]``
    (both NaN), sample sizes per trait, and each chromosome's first row in the LOD table."""
    sets = hsq_sets(prep)
    total = sum(len(prep.markers[c]) for c in prep.chroms)
    n_trait = len(prep.traits)
    lod = np.full((total, n_trait), np.nan)
    hsq = np.full((len(sets), n_trait), np.nan)
    sizes = np.zeros(n_trait, dtype=np.int64)
    offsets = np.cumsum([0] + [len(prep.markers[c]) for c in prep.chroms])
    for batch in prep.batches:
        sizes[batch.cols] = len(prep.samples) - batch.omit.size
    return sets, lod, hsq, sizes, offsets


def scan_lmm(
    prep: Prepared, reml: bool, hsq_fixed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, lod, hsq, sizes, offsets = lmm_outputs(prep)
    for group in lmm_groups(prep, reml):
        _lmm_group(prep, group, reml, hsq_fixed, lod, hsq, offsets)
    return lod, sizes, hsq
