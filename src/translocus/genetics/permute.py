"""Permutation tests for the genome scan (R/qtl2 ``scan1perm``): genome-wide LOD thresholds.

Each permutation yields the maximum LOD over all positions; the ``1 - alpha`` quantiles of
these maxima are the significance thresholds. Semantics follow R/qtl2 exactly, so a given
permutation matrix reproduces R/qtl2's maxima:

- Haley-Knott without covariates, weights or missing values permutes the *phenotypes*
  (``y[perm]``); otherwise the rows of the genotype probabilities are permuted
  (``probs[perm]``) while phenotypes and covariates stay in place.
- The LMM permutes the rows of the genotype probabilities and keeps the kinship matrix and the
  null-model h² fixed (estimated once).
- ``perm_strata`` permutes within strata (by default the rows of ``Xcovar``, i.e. within sex);
  ``perm_Xsp`` gives separate autosome and X thresholds, with ``n_perm * L_A / L_X`` X-chromosome
  permutations (R/qtl2's rule).

Speed: Haley-Knott permutations that reduce to permuted phenotypes are one matrix product of the
per-marker bases against all permuted columns; with covariates the permutations move, each
permutation of complete traits is a pseudo-trait (phenotypes and covariates reordered by its
inverse) and a pass of the scan kernel covers a block of them. An LMM permutation is the scan's own
chromosome kernel on the permuted probabilities (chromosomes in parallel); its cost is the
rotation ``U' P X`` of the whole genome, which no permutation can share. A block of
permutations is rotated by one product of the unpermuted probabilities with the stacked
``P' U`` (no gather), at about the machine's matrix-product speed. With ``backend=`` (torch
on a GPU) blocks of permutations are gathered, rotated and solved as batched matrix products.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from translocus.core.model import GenoProbs
>>> rng = np.random.default_rng(0)
>>> ids = [f"m{i}" for i in range(30)]
>>> g = rng.integers(0, 2, size=(30, 4)).astype(float)
>>> arr = xr.DataArray(np.stack([1 - g.T, g.T], -1), dims=("marker", "sample", "founder"),
...                    coords={"marker": list("abcd"), "sample": ids, "founder": ["B", "D"],
...                            "pos_cM": ("marker", [0.0, 1, 2, 3])})
>>> probs = GenoProbs(probs={"1": arr}, crosstype="risib", alleles=("B", "D"), kind="allele")
>>> y = pd.DataFrame({"y": rng.normal(size=30)}, index=ids)
>>> perm = scan_perm(y, probs, n_perm=20, seed=1)
>>> perm.maxlod.shape
(20, 1)
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.compute import ArrayBackend
from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.threads import parallel_map, worker_count
from translocus.genetics._design import (
    Batch,
    Prepared,
    batch_by_missing,
    design,
    expand_intcovar,
    hsq_sets,
    prepare,
    set_for_chrom,
)
from translocus.genetics._moments import (
    Part,
    TraitSide,
    chromosome_lod,
    genotype_columns,
    genotype_scales,
    trait_side,
)
from translocus.genetics._scan_hk import hk_uses_moments, scan_hk
from translocus.genetics._scan_kernels import (
    covariate_basis,
    explained_hk,
    null_rss_weighted,
    resid_on_basis,
)
from translocus.genetics._scan_lmm import kinship_eigen
from translocus.genetics._scan_numba import basis_batch
from translocus.genetics._scan_torch import (
    CHUNK_BYTES,
    exact_rss_entries,
    moment_rss_backend,
    packed_pairs,
    unpack_matrix,
)
from translocus.genetics._weight_basis import weights
from translocus.genetics.accelerated import array_backend
from translocus.genetics.lmm import (
    KinshipEigen,
    fit_null_lmm,
    logdet_xpx,
)
from translocus.genetics.results import PermutationResult
from translocus.genetics.spec import ModelSpec, resolve_spec, thread_limit

__all__ = ["permutation_matrix", "scan_perm"]

#: Permutations per round of the LMM permutations (each chromosome's probabilities are laid
#: out once per round; progress is reported per round).
PERM_BLOCK = 16
#: Default bytes of one block's temporaries for permutations on a CUDA device.
CUDA_CHUNK_BYTES = 4 * 2**30


def permutation_matrix(
    n: int, n_perm: int, *, strata: np.ndarray | None = None, seed: int | None = None
) -> np.ndarray:
    """``[n, n_perm]`` 0-based permutations of ``range(n)``, within strata when given.

    >>> p = permutation_matrix(6, 3, strata=np.array([0, 0, 0, 1, 1, 1]), seed=2)
    >>> bool(np.all(np.sort(p[:3], axis=0) == np.arange(3)[:, None]))
    True
    """
    rng = np.random.default_rng(seed)
    out = np.empty((n, n_perm), dtype=np.int64)
    if strata is None:
        for j in range(n_perm):
            out[:, j] = rng.permutation(n)
        return out
    groups = [np.flatnonzero(strata == s) for s in pd.unique(strata)]
    for j in range(n_perm):
        for idx in groups:
            out[idx, j] = idx[rng.permutation(idx.size)]
    return out


def check_perms(perms: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(perms)
    if arr.ndim != 2 or arr.shape[0] != n:
        raise InputError(
            f"the permutation matrix must have one row per analysed individual ({n}); "
            f"got shape {arr.shape}"
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputError("the permutation matrix must hold integer row indices (0-based)")
    srt = np.sort(arr, axis=0)
    if not np.all(srt == np.arange(n)[:, None]):
        bad = int(np.flatnonzero(~np.all(srt == np.arange(n)[:, None], axis=0))[0])
        raise InputError(
            f"column {bad} of the permutation matrix is not a permutation of 0..{n - 1} "
            "(indices are 0-based; subtract 1 from R's)"
        )
    return arr.astype(np.int64)


def _invariant(mat: np.ndarray | None, perms: np.ndarray) -> bool:
    if mat is None:
        return True
    return all(np.array_equal(mat[perms[:, j]], mat) for j in range(perms.shape[1]))


def _max_by_region(prep: Prepared, lod_fn: Callable[[str], np.ndarray], n_cols: int
                   ) -> np.ndarray:  # fmt: skip
    best = np.full(n_cols, -np.inf)
    for chrom in prep.chroms:
        lod = lod_fn(chrom)  # [M, cols]
        if lod.size:
            best = np.maximum(best, np.nanmax(lod, axis=0))
    return best


def _hk_fast(prep: Prepared, y_cols: np.ndarray) -> np.ndarray:
    """Max LOD of many phenotype columns (no missing values) over all positions."""
    n = y_cols.shape[0]
    rows = np.arange(n)
    c_alt = design(prep, rows, with_x=False)
    q_alt = covariate_basis(c_alt, prep.tol)
    ry = resid_on_basis(q_alt, y_cols)
    rss_alt0 = np.einsum("nt,nt->t", ry, ry)
    rss_x0 = rss_alt0
    if prep.xcovar is not None:
        r0 = resid_on_basis(covariate_basis(design(prep, rows, with_x=True), prep.tol), y_cols)
        rss_x0 = np.einsum("nt,nt->t", r0, r0)

    def lod_fn(chrom: str) -> np.ndarray:
        block = expand_intcovar(prep.geno[chrom], prep.intcovar)
        if block.shape[0] == 0:
            return np.zeros((0, y_cols.shape[1]))
        coef = np.einsum("nc,mnp->mcp", q_alt, block)
        rx = block - np.einsum("nc,mcp->mnp", q_alt, coef)
        basis, _ = basis_batch(np.ascontiguousarray(rx), prep.tol)
        rss1 = rss_alt0[None, :] - explained_hk(basis, ry)
        rss0 = rss_x0 if prep.is_x[chrom] else rss_alt0
        with np.errstate(divide="ignore", invalid="ignore"):
            return n / 2 * (np.log10(rss0)[None, :] - np.log10(rss1))

    return _max_by_region(prep, lod_fn, y_cols.shape[1])


def _no_covariates(prep: Prepared) -> bool:
    """No covariates of any kind and no weights: R/qtl2 then permutes the phenotypes."""
    return prep.addcovar is None and prep.xcovar is None and prep.intcovar is None \
        and prep.sqrt_w is None  # fmt: skip


def _hk_perm(prep: Prepared, perms: np.ndarray, progress: Callable[[int], None] | None
             ) -> np.ndarray:  # fmt: skip
    n_trait = len(prep.traits)
    n_perm = perms.shape[1]
    out = np.full((n_perm, n_trait), np.nan)
    complete = np.all(np.isfinite(prep.pheno), axis=0)
    plain = _no_covariates(prep)
    invariant = (
        _invariant(prep.addcovar, perms)
        and _invariant(prep.xcovar, perms)
        and _invariant(prep.intcovar, perms)
        and _invariant(prep.sqrt_w, perms)
    )
    fast_traits = np.flatnonzero(complete) if (np.all(complete) and (plain or invariant)) \
        else np.zeros(0, dtype=np.int64)  # fmt: skip
    if fast_traits.size:
        # R/qtl2 permutes the phenotype itself when there are no covariates; with covariates it
        # permutes the probabilities, which equals the inverse permutation of the phenotype
        # because the covariates are unchanged by these permutations.
        index = perms if plain else np.argsort(perms, axis=0)
        chunk = max(1, 2000 // max(1, fast_traits.size))
        for start in range(0, n_perm, chunk):
            cols = np.arange(start, min(n_perm, start + chunk))
            y_cols = np.column_stack([prep.pheno[index[:, j]][:, fast_traits] for j in cols])
            best = _hk_fast(prep, y_cols).reshape(len(cols), fast_traits.size)
            out[np.ix_(cols, fast_traits)] = best
            if progress is not None:
                progress(len(cols))
    slow = np.setdiff1d(np.arange(n_trait), fast_traits)
    if slow.size == n_trait and np.all(complete) and prep.intcovar is None \
            and prep.sqrt_w is None and hk_uses_moments(prep):  # fmt: skip
        return _hk_perm_moved(prep, perms, progress)
    if slow.size:
        sub = replace(prep, traits=[prep.traits[j] for j in slow], pheno=prep.pheno[:, slow])
        sub.batches = batch_by_missing(sub.pheno)
        for j in range(n_perm):
            geno = {c: np.ascontiguousarray(g[:, perms[:, j], :]) for c, g in prep.geno.items()}
            lod, _ = scan_hk(replace(sub, geno=geno))
            out[j, slow] = np.nanmax(lod, axis=0)
            if progress is not None and not fast_traits.size:
                progress(1)
    return out


#: Permutations per pass of :func:`_hk_perm_moved` (each is a pseudo-trait of the pass).
HK_PERM_BLOCK = 128


def _hk_perm_moved(prep: Prepared, perms: np.ndarray,
                   progress: Callable[[int], None] | None) -> np.ndarray:  # fmt: skip
    """Haley-Knott maxima with covariates that permutations move (complete traits).

    Permuting the probabilities' rows by ``perm`` gives the fit of the phenotypes and
    covariates reordered by its inverse against the probabilities as they are. So each
    permutation is a pseudo-trait with its own covariates, all against the same genotypes:
    a pass of the scan kernel (shared ``X'X``, one product for every ``C_b'X`` and ``X'y_b``)
    covers a block of permutations.
    """
    n, n_perm, n_trait = len(prep.samples), perms.shape[1], len(prep.traits)
    inv = np.argsort(perms, axis=0)
    rows = np.arange(n)
    with_x_needed = prep.xcovar is not None and any(prep.is_x[c] for c in prep.chroms)
    c_alt = design(prep, rows, with_x=False)
    c_x = design(prep, rows, with_x=True) if with_x_needed else c_alt
    chroms = [ci for ci, c in enumerate(prep.chroms) if len(prep.markers[c])]
    batch = Batch(cols=np.arange(n_trait), omit=np.zeros(0, dtype=np.int64))
    out = np.full((n_perm, n_trait), -np.inf)
    for start in range(0, n_perm, HK_PERM_BLOCK):
        cols = range(start, min(n_perm, start + HK_PERM_BLOCK))
        parts: dict[bool, list[Part]] = {False: [], True: []}
        for j in cols:
            idx = inv[:, j]
            y = prep.pheno[idx]
            for with_x in parts:
                parts[with_x].append(Part(batch=batch, n_obs=n, hsq=np.zeros(n_trait), y=y,
                                           c_alt=c_alt[idx],
                                           c_null=(c_x if with_x else c_alt)[idx]))  # fmt: skip
        sides = {with_x: trait_side(prep, None, parts[with_x])
                 for with_x in ({False, True} if with_x_needed else {False})}  # fmt: skip
        block = out[start : start + len(cols)]
        task = functools.partial(_moved_max_lod, prep, parts, sides)
        for best in parallel_map(task, chroms, worker_count()):
            np.maximum(block, best.reshape(len(cols), n_trait), out=block)
        if progress is not None:
            progress(len(cols))
    return out


def _moved_max_lod(prep: Prepared, parts: dict[bool, list[Part]],
                   sides: dict[bool, TraitSide], ci: int) -> np.ndarray:  # fmt: skip
    """Maximum LOD of one chromosome for every pseudo-trait of :func:`_hk_perm_moved`."""
    chrom = prep.chroms[ci]
    with_x = prep.is_x[chrom] and prep.xcovar is not None
    lod = chromosome_lod(prep, chrom, np.arange(len(prep.samples)), None, parts[with_x],
                     side=sides[with_x])  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        return np.nanmax(lod, axis=0)  # type: ignore[no-any-return]


def _lmm_perm(prep: Prepared, perms: np.ndarray, reml: bool,
              progress: Callable[[int], None] | None, be: ArrayBackend | None = None,
              chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:  # fmt: skip
    """Maxima of LMM scans with permuted genotype rows (h² fixed at the null estimates).

    On the CPU (``be=None``) each permutation and chromosome is the scan's own kernel
    (``chromosome_lod``) with the probabilities of the permuted individuals, chromosomes in
    parallel; on an array backend, blocks of permutations at once (:func:`_perm_batch_backend`;
    without a kinship that is Haley-Knott regression).
    """
    n_all = len(prep.samples)
    out = np.full((perms.shape[1], len(prep.traits)), -np.inf)
    for batch in prep.batches:
        rows = np.setdiff1d(np.arange(n_all), batch.omit)
        if rows.size <= 2:
            out[:, batch.cols] = np.nan
            continue
        report = progress if len(prep.batches) == 1 else None
        if be is None:
            out[:, batch.cols] = _lmm_perm_batch(prep, batch, rows, perms, reml, report)
        else:
            ps = _perm_setup(prep, batch, rows, perms, reml)
            out[:, batch.cols] = _perm_batch_backend(prep, ps, be, chunk_bytes, report)
    return out


@dataclass
class _PermSetup:
    """One missing-data batch ready for permutation: null models fitted, chromosomes ordered."""

    rows: np.ndarray  # the batch's individuals (positions in prep.samples)
    idx: np.ndarray  # [n, n_perm] source individual of each analysed row, per permutation
    chroms: list[int]  # chromosomes with markers, largest first
    chrom: dict[int, tuple[KinshipEigen, Part]]


def _identity_eigen(n: int) -> KinshipEigen:
    """The identity "kinship" of Haley-Knott regression (every h² is zero)."""
    return KinshipEigen(values=np.zeros(n), vectors_t=np.eye(n), samples=tuple(map(str, range(n))))


def _perm_setup(prep: Prepared, batch: Batch, rows: np.ndarray, perms: np.ndarray,
                reml: bool) -> _PermSetup:  # fmt: skip
    """Null models of one batch (h² by REML/ML with the LMM; zero for Haley-Knott)."""
    sets = hsq_sets(prep) if prep.kinship is not None else [("overall", False)]
    chroms = sorted((ci for ci, c in enumerate(prep.chroms) if len(prep.markers[c])),
                    key=lambda ci: -len(prep.markers[prep.chroms[ci]]))  # fmt: skip
    y = prep.pheno[np.ix_(rows, batch.cols)]
    sw = prep.sqrt_w[rows] if prep.sqrt_w is not None else None
    yw = y if sw is None else y * sw[:, None]
    designs = {}
    for with_x in (False, True):
        c = design(prep, rows, with_x=with_x)
        designs[with_x] = c if sw is None else c * sw[:, None]
    hsq = np.zeros((len(sets), batch.cols.size))
    if prep.kinship is None:
        eigs = {"overall": _identity_eigen(rows.size)}
    else:
        keys = list(dict.fromkeys(name if prep.loco else "overall" for name, _ in sets))
        eigs = dict(zip(keys, parallel_map(lambda k: kinship_eigen(prep, k, rows), keys,
                                           worker_count()), strict=True))  # fmt: skip
        for si, (name, with_x) in enumerate(sets):
            c0 = designs[with_x]
            hsq[si] = fit_null_lmm(eigs[name if prep.loco else "overall"], yw, c0, reml=reml,
                                   tol=prep.tol, xpx_logdet=logdet_xpx(c0)).hsq  # fmt: skip
    setup: dict[int, tuple[KinshipEigen, Part]] = {}
    for ci in chroms:
        chrom = prep.chroms[ci]
        si = set_for_chrom(prep, chrom, sets) if prep.kinship is not None else 0
        with_x = prep.is_x[chrom] and prep.xcovar is not None
        part = Part(batch=batch, n_obs=rows.size, hsq=hsq[si], y=yw, c_alt=designs[False],
                     c_null=designs[True] if with_x else designs[False])  # fmt: skip
        setup[ci] = (eigs[sets[si][0] if prep.loco else "overall"], part)
    # probs[perm] over the analysed individuals, then the batch's rows
    return _PermSetup(rows=rows, idx=np.ascontiguousarray(perms[rows, :]), chroms=chroms,
                      chrom=setup)  # fmt: skip


def _lmm_perm_batch(prep: Prepared, batch: Batch, rows: np.ndarray, perms: np.ndarray,
                    reml: bool, progress: Callable[[int], None] | None) -> np.ndarray:  # fmt: skip
    """``[n_perm, T_b]`` permutation maxima of one missing-data batch (on its own rows)."""
    n_perm = perms.shape[1]
    workers = worker_count()
    ps = _perm_setup(prep, batch, rows, perms, reml)
    # each chromosome's probabilities laid out once for all blocks of permutations
    layouts = dict(zip(ps.chroms, parallel_map(lambda ci: genotype_columns(prep, prep.chroms[ci]),
                                               ps.chroms, workers), strict=True))  # fmt: skip

    def max_lod(task: tuple[int, range]) -> np.ndarray:
        # one chromosome, a block of permutations rotated together (see chromosome_lod)
        ci, cols = task
        eig, part = ps.chrom[ci]
        lod = chromosome_lod(prep, prep.chroms[ci], rows, eig, [part],
                         geno_rows=np.ascontiguousarray(ps.idx[:, cols].T),
                         geno_t=layouts[ci])  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            return np.nanmax(lod, axis=1)  # type: ignore[no-any-return]

    out = np.full((n_perm, batch.cols.size), -np.inf)
    for start in range(0, n_perm, PERM_BLOCK):
        cols = range(start, min(n_perm, start + PERM_BLOCK))
        for best in parallel_map(max_lod, [(ci, cols) for ci in ps.chroms], workers):
            out[start : start + len(cols)] = np.maximum(out[start : start + len(cols)], best)
        if progress is not None:
            progress(len(cols))
    return out


@dataclass
class _DeviceChrom:
    """One chromosome's permutation-invariant pieces, host and device (see below)."""

    m: int  # markers
    p0: int  # probability columns
    p: int  # genotype columns with interactions
    pairs: tuple[np.ndarray, np.ndarray]
    n_obs: int
    w: np.ndarray  # [T, n] LMM weights
    y_r: np.ndarray  # [n, T] rotated phenotypes
    c_r: np.ndarray  # [n, c] rotated covariates
    rss0: np.ndarray  # [T] null RSS of the LOD (X covariates on the X chromosome)
    rss_none: np.ndarray  # [T] RSS with no genotype columns
    geno: Any  # device [n_all, M, p0], None without columns
    rot: Any  # device [J n, n]: U' diag(scale_j) stacked
    cov: Any
    w_dev: Any
    y_dev: Any  # device [T, n]
    unpack: Any


def _perm_batch_backend(prep: Prepared, ps: _PermSetup, be: ArrayBackend, chunk_bytes: int,
                        progress: Callable[[int], None] | None) -> np.ndarray:  # fmt: skip
    """``[n_perm, T_b]`` maxima of one batch: blocks of permutations, all chromosomes each.

    Per chromosome the probabilities ``[n_all, M, p]`` stay on the device. A block of ``B``
    permutations gathers its rows (``[B, n, M, p]``) and rotates them in one batched product
    by ``U'`` (stacked with ``U' diag(covariate)`` for interactive covariates; weights folded
    in the same way); :func:`moment_rss_backend` then gives every permutation's RSS.
    """
    rows, n_perm = ps.rows, ps.idx.shape[1]
    n = rows.size
    scales = genotype_scales(prep, rows)
    n_trait = ps.chrom[ps.chroms[0]][1].hsq.size
    chroms = []
    widest = 1
    for ci in ps.chroms:
        eig, part = ps.chrom[ci]
        block = prep.geno[prep.chroms[ci]]  # [M, n_all, p0]
        m_count, _, p0 = block.shape
        p = p0 * len(scales)
        hsq = part.hsq
        w = weights(hsq, eig.values)  # [T, n], h λ + (1 - h) as the scans sum it
        y_r = eig.vectors_t @ part.y
        c_r = eig.vectors_t @ part.c_alt
        c_null = c_r if part.c_null is part.c_alt else eig.vectors_t @ part.c_null
        pairs = packed_pairs(p)
        chroms.append(_DeviceChrom(
            m=m_count, p0=p0, p=p, pairs=pairs, n_obs=part.n_obs, w=w, y_r=y_r, c_r=c_r,
            rss0=null_rss_weighted(c_null, y_r, w, prep.tol),
            rss_none=null_rss_weighted(c_r, y_r, w, prep.tol),
            geno=be.asarray(np.ascontiguousarray(block.transpose(1, 0, 2))) if p0 else None,
            rot=be.asarray(np.concatenate([eig.vectors_t * s[None, :] for s in scales])),
            cov=be.asarray(c_r), w_dev=be.asarray(w),
            y_dev=be.asarray(np.ascontiguousarray(y_r.T)),
            unpack=be.asarray(unpack_matrix(p, pairs)),
        ))  # fmt: skip
        # largest temporaries of one permutation, in float64 cells
        cells = n * (p0 + 3 * p + 2 * pairs[0].size) + n_trait * (6 * p * p + 2 * p * c_r.shape[1])
        widest = max(widest, 8 * m_count * cells)
    block_size = max(1, int(chunk_bytes) // widest)
    out = np.full((n_perm, n_trait), -np.inf)
    for start in range(0, n_perm, block_size):
        cols = np.arange(start, min(n_perm, start + block_size))
        for d in chroms:
            if d.geno is None:  # no genotype columns: the null fit at every position
                rss1 = np.broadcast_to(d.rss_none[None, :, None], (cols.size, n_trait, d.m))
            else:
                rss1 = _rss_perm_block(be, d, ps.idx[:, cols].T, n, prep.tol)
            with np.errstate(divide="ignore", invalid="ignore"):
                lod = d.n_obs / 2 * (np.log10(d.rss0)[None, :, None] - np.log10(rss1))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
                out[cols] = np.maximum(out[cols], np.nanmax(lod, axis=2))
        if progress is not None:
            progress(cols.size)
    return out


def _rss_perm_block(be: ArrayBackend, d: _DeviceChrom, index: np.ndarray, n: int,
                    tol: float) -> np.ndarray:  # fmt: skip
    """``[B, T, M]`` alternative-model RSS of one chromosome for the permutations ``index``."""
    n_block = index.shape[0]
    x = be.take_rows(d.geno, index).reshape(n_block, n, d.m * d.p0)
    xr = be.matmul(d.rot, x)  # [B, J n, M p0]
    if d.p != d.p0:  # [B, J, n, M, p0] -> [B, n, M, J, p0]: interaction columns after the main
        xr = be.swapaxes(be.swapaxes(xr.reshape(n_block, d.p // d.p0, n, d.m, d.p0), 1, 2), 2, 3)
    xr = xr.reshape(n_block, n, d.m, d.p)
    pa, pb = d.pairs
    outer = (xr[..., pa] * xr[..., pb]).reshape(n_block, n, -1)
    rss, ok = moment_rss_backend(be, xr.reshape(n_block, n, d.m * d.p), outer, d.cov, d.w_dev,
                                 d.y_dev, d.unpack, d.p)  # fmt: skip
    for b in np.flatnonzero(~np.all(ok, axis=(1, 2))):
        entries = np.argwhere(~ok[b])
        rss[b][~ok[b]] = exact_rss_entries(be.to_numpy(xr[b]), d.c_r, d.y_r, d.w, entries, tol)
    return rss


def region_lengths(probs: GenoProbs, chr_lengths: Mapping[str, float] | None) -> dict[str, float]:
    lengths: dict[str, float] = {"A": 0.0, "X": 0.0}
    for chrom in probs.chromosomes:
        if chr_lengths is not None and chrom in chr_lengths:
            length = float(chr_lengths[chrom])
        else:
            pos = np.asarray(probs[chrom].coords["pos_cM"].values, dtype=float)
            length = float(pos.max() - pos.min()) if pos.size else 0.0
        lengths["X" if probs.is_x(chrom) else "A"] += length
    return lengths


def scan_perm(
    pheno: Any = None,
    probs: GenoProbs | None = None,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool | None = None,
    n_perm: int = 1000,
    perm_strata: Any = None,
    perm_Xsp: bool = False,
    chr_lengths: Mapping[str, float] | None = None,
    perms: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | None = None,
    tol: float = 1e-12,
    progress: Callable[[int], None] | None = None,
    backend: str | ArrayBackend | None = "cpu",
    device: str | None = None,
    chunk_bytes: int | None = None,
    spec: ModelSpec | None = None,
    threads: int | None = None,
    client: Any = None,
) -> PermutationResult:
    """Permutation maxima of the genome scan (arguments as :func:`~.scan.scan`).

    The model is given by the arguments ``pheno`` to ``reml`` or as one
    :class:`~translocus.genetics.spec.ModelSpec` (``spec=``, or in place of ``pheno``), as to
    :func:`~.scan.scan`; not both.

    Parameters
    ----------
    n_perm
        Number of permutations (autosomes, with ``perm_Xsp``).
    perm_strata
        Per-sample stratum labels (Series or one-column table); permutations stay within
        strata. Defaults to the distinct rows of ``Xcovar`` when that is given.
    perm_Xsp
        Separate autosome and X-chromosome maxima; X gets ``ceil(n_perm * L_A / L_X)``
        permutations, ``L`` being total lengths in cM (from the probabilities' ``pos_cM`` or
        ``chr_lengths``).
    perms
        A given permutation matrix ``[n_individuals_analysed, n_perm]`` of 0-based row indices
        into the analysed individuals (in the probabilities' sample order), or a pair
        ``(autosome, X)`` with ``perm_Xsp``. Overrides ``n_perm`` and ``seed``.
    seed
        Seed of the permutations.
    progress
        Called with the number of permutations completed since the last call.
    backend, device
        ``"cpu"`` (default): the compiled CPU kernels. ``"torch"`` (on a CUDA device when
        there is one) or ``"numpy"`` (see :func:`translocus.core.compute.get_backend`): blocks
        of permutations are gathered, rotated and solved as batched matrix products on that
        backend. The maxima equal the CPU path's to rounding (float64; entries the fast
        algebra could get inaccurate are recomputed on the host by pivoted QR).
    chunk_bytes
        With an array backend, the approximate size of one block's largest temporaries (more
        bytes, more permutations per block). Default: 256 MiB on the CPU, 4 GiB on a CUDA
        device.
    spec
        The model (phenotypes, covariates, weights, kinship, REML), shared with
        :func:`~.scan.scan`.
    threads
        At most this many kernel workers (and BLAS threads) for this call, restored after.
    client
        A ``dask.distributed.Client``: the permutation matrix is drawn here and its columns
        run in chunks on the workers (each with this ``backend``, ``device`` and ``threads``);
        the same ``seed`` gives the same maxima.
    """
    model = resolve_spec(pheno, spec, reml, "scan_perm", kinship=kinship, addcovar=addcovar,
                         Xcovar=Xcovar, intcovar=intcovar, weights=weights)  # fmt: skip
    if probs is None:
        raise InputError("scan_perm: give the genotype probabilities (probs=calc_genoprob(...))")
    if client is not None:
        # imported here: the workers' tasks call this function
        from translocus.genetics.distributed import permutations_on_client

        return permutations_on_client(model, probs, n_perm=n_perm, perm_strata=perm_strata,
                                      perm_Xsp=perm_Xsp, chr_lengths=chr_lengths, perms=perms,
                                      seed=seed, tol=tol, client=client, progress=progress,
                                      backend=backend, device=device, threads=threads,
                                      chunk_bytes=chunk_bytes)  # fmt: skip
    be = array_backend(backend, device, "scan_perm")
    if chunk_bytes is None:
        chunk_bytes = CUDA_CHUNK_BYTES if be is not None and be.device != "cpu" else CHUNK_BYTES
    with thread_limit(threads):
        return _scan_perm(model, probs, n_perm=n_perm, perm_strata=perm_strata,
                          perm_Xsp=perm_Xsp, chr_lengths=chr_lengths, perms=perms, seed=seed,
                          tol=tol, progress=progress, be=be, chunk_bytes=chunk_bytes)  # fmt: skip


def _scan_perm(
    model: ModelSpec,
    probs: GenoProbs,
    *,
    n_perm: int,
    perm_strata: Any,
    perm_Xsp: bool,
    chr_lengths: Mapping[str, float] | None,
    perms: np.ndarray | tuple[np.ndarray, np.ndarray] | None,
    seed: int | None,
    tol: float,
    progress: Callable[[int], None] | None,
    be: ArrayBackend | None,
    chunk_bytes: int,
) -> PermutationResult:
    if perm_Xsp:
        auto = [c for c in probs.chromosomes if not probs.is_x(c)]
        xs = [c for c in probs.chromosomes if probs.is_x(c)]
        if not auto or not xs:
            raise InputError("perm_Xsp needs both autosomes and an X chromosome in probs")
        lengths = region_lengths(probs, chr_lengths)
        if lengths["A"] < 1e-12 or lengths["X"] < 1e-12:
            raise InputError("perm_Xsp needs autosomes and X of positive length; skip perm_Xsp")
        n_perm_x = math.ceil(n_perm * lengths["A"] / lengths["X"])
        pa, px = perms if perms is not None else (None, None)
        seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=2)
        strata = default_strata(perm_strata, model.Xcovar)
        common = {"perm_strata": strata, "perm_Xsp": False, "chr_lengths": None, "tol": tol,
                  "progress": progress, "be": be, "chunk_bytes": chunk_bytes}  # fmt: skip
        # the autosomes without the X covariates, the X chromosome with them
        res_a = _scan_perm(replace(model, Xcovar=None, kinship=kinship_subset(model.kinship, auto)),
                           probs.subset(chromosomes=auto), n_perm=n_perm, perms=pa,
                           seed=int(seeds[0]), **common)  # fmt: skip
        res_x = _scan_perm(replace(model, kinship=kinship_subset(model.kinship, xs)),
                           probs.subset(chromosomes=xs), n_perm=n_perm_x, perms=px,
                           seed=int(seeds[1]), **common)  # fmt: skip
        return PermutationResult(maxlod=res_a.maxlod, maxlod_x=res_x.maxlod,
                                 chr_lengths=lengths, method=res_a.method)  # fmt: skip

    if n_perm < 1 and perms is None:
        raise InputError("n_perm must be a positive integer")
    strata_in = default_strata(perm_strata, model.Xcovar)
    prep = prepare(model.phenotypes, probs, kinship=model.kinship, addcovar=model.addcovar,
                   Xcovar=model.Xcovar, intcovar=model.intcovar, weights=model.weights,
                   tol=tol)  # fmt: skip
    strata = None
    if strata_in is not None:
        frame = strata_codes(strata_in, prep.samples)
        strata = frame
    n = len(prep.samples)
    if perms is None:
        mat = permutation_matrix(n, int(n_perm), strata=strata, seed=seed)
    else:
        mat = check_perms(np.asarray(perms), n)
    if prep.kinship is None and be is None:
        maxlod = _hk_perm(prep, mat, progress)
    elif prep.kinship is None:
        # R/qtl2 permutes the phenotypes when there are no covariates (see _hk_perm); that is
        # the inverse permutation of the genotype rows
        plain = _no_covariates(prep) and bool(np.all(np.isfinite(prep.pheno)))
        maxlod = _lmm_perm(prep, np.argsort(mat, axis=0) if plain else mat, model.reml,
                           progress, be, chunk_bytes)  # fmt: skip
    else:
        maxlod = _lmm_perm(prep, mat, model.reml, progress, be, chunk_bytes)
    method = "hk" if prep.kinship is None else "lmm"
    maxlod[~np.isfinite(maxlod)] = np.nan
    return PermutationResult(maxlod=pd.DataFrame(maxlod, columns=prep.traits), method=method)


def default_strata(perm_strata: Any, xcovar: Any) -> Any:
    if perm_strata is not None:
        return perm_strata
    return xcovar


def strata_codes(strata: Any, samples: list[str]) -> np.ndarray:
    if isinstance(strata, pd.DataFrame | pd.Series):
        frame = strata.to_frame() if isinstance(strata, pd.Series) else strata
        frame = frame.copy()
        frame.index = [str(i) for i in frame.index]
        missing = [s for s in samples if s not in frame.index]
        if missing:
            raise InputError(f"perm_strata has no value for samples {missing[:3]}; add them")
        labels = frame.loc[samples].astype(str).agg("|".join, axis=1).to_numpy()
    else:
        arr = np.asarray(strata)
        if arr.shape[0] != len(samples):
            raise InputError("perm_strata must have one value per analysed sample; pass a Series")
        labels = arr.astype(str) if arr.ndim == 1 else np.array(["|".join(r) for r in
                                                                 arr.astype(str)])  # fmt: skip
    return pd.factorize(labels)[0]


def kinship_subset(kinship: Any, chroms: list[str]) -> Any:
    if isinstance(kinship, Mapping):
        return {c: kinship[c] for c in chroms if c in kinship}
    return kinship
