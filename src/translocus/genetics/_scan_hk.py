"""Haley-Knott regression of the genome scan (R/qtl2 ``scan1`` without kinship).

``LOD = n/2 (log10 RSS0 - log10 RSS1)`` per position and trait: by the moment kernel
(:func:`~translocus.genetics._moments.chromosome_lod` with the identity kinship) for few genotype
columns, by a pivoted-QR basis per marker for many.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from translocus.core.threads import parallel_map, worker_count
from translocus.genetics._design import Batch, Prepared, design, expand_intcovar
from translocus.genetics._moments import Part, chromosome_lod, trait_side
from translocus.genetics._scan_kernels import covariate_basis, hk_rss, resid_on_basis

__all__ = ["HK_MOMENT_COLUMNS", "HkNull", "hk_null", "hk_uses_moments", "scan_hk"]

#: Haley-Knott takes the moment kernel up to this many genotype columns (with interactions);
#: beyond, a pivoted-QR basis per marker costs less.
HK_MOMENT_COLUMNS = 12


def hk_uses_moments(prep: Prepared) -> bool:
    """Whether Haley-Knott goes through the moment kernel (:func:`_hk_moments`)."""
    width = max(g.shape[2] for g in prep.geno.values()) * (
        1 + (0 if prep.intcovar is None else prep.intcovar.shape[1])
    )
    return width <= HK_MOMENT_COLUMNS


def scan_hk(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Haley-Knott LOD ``[markers, traits]`` and sample sizes.

    With few genotype columns (allele dosages, F2/BC genotypes) this is the LMM kernel with the
    identity for kinship: moments from matrix products over all traits at once, missing values
    left out by 0/1 weights, inaccurate entries recomputed by pivoted QR. With many
    columns (36 DO genotypes) the moments cost more than a pivoted-QR basis per marker.
    """
    if hk_uses_moments(prep):
        return _hk_moments(prep)
    n_all = len(prep.samples)
    total = sum(len(prep.markers[c]) for c in prep.chroms)
    lod = np.full((total, len(prep.traits)), np.nan)
    sizes = np.zeros(len(prep.traits), dtype=np.int64)
    for batch in prep.batches:
        sizes[batch.cols] = n_all - batch.omit.size
        if n_all - batch.omit.size > 2:
            _hk_batch_qr(prep, batch, lod)
    return lod, sizes


def _hk_moments(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Haley-Knott scan of all traits in one group: the LMM kernel with the identity kinship.

    A missing value is a 0 weight on its row (exactly the regression on the trait's own rows),
    so however many missing-data patterns there are, each chromosome takes one pass.
    """
    n_all = len(prep.samples)
    rows = np.arange(n_all)
    sizes = np.zeros(len(prep.traits), dtype=np.int64)
    offsets = np.cumsum([0] + [len(prep.markers[c]) for c in prep.chroms])
    # written once: each column is scanned below or set to NaN
    lod = np.empty((int(offsets[-1]), len(prep.traits)))
    sw = prep.sqrt_w
    designs = {}
    for with_x in {False, prep.xcovar is not None and any(prep.is_x.values())}:
        c = design(prep, rows, with_x=with_x)
        designs[with_x] = c if sw is None else c * sw[:, None]
    parts: dict[bool, list[Part]] = {with_x: [] for with_x in designs}
    for batch in prep.batches:
        sizes[batch.cols] = n_all - batch.omit.size
        if n_all - batch.omit.size <= 2:
            continue
        y = prep.pheno[:, batch.cols].copy()
        y[batch.omit, :] = 0.0
        if sw is not None:
            y = y * sw[:, None]
        present = None
        if batch.omit.size:
            present = np.ones((n_all, batch.cols.size))
            present[batch.omit, :] = 0.0
        for with_x, c_null in designs.items():
            parts[with_x].append(Part(batch=batch, n_obs=n_all - batch.omit.size,
                                       hsq=np.zeros(batch.cols.size), y=y, c_alt=designs[False],
                                       c_null=c_null, present=present))  # fmt: skip
    cols = np.concatenate([part.batch.cols for part in parts[False]] + [np.zeros(0, np.int64)])
    lod[:, np.setdiff1d(np.arange(len(prep.traits)), cols)] = np.nan
    if not parts[False]:
        return lod, sizes
    # the trait side is the same on every chromosome (but the X one's null model)
    needed = {prep.is_x[c] and prep.xcovar is not None for c in prep.chroms if prep.markers[c]}
    sides = {with_x: trait_side(prep, None, parts[with_x]) for with_x in needed}

    def chrom_scan(ci: int) -> np.ndarray | None:
        chrom = prep.chroms[ci]
        if not len(prep.markers[chrom]):
            return None
        with_x = prep.is_x[chrom] and prep.xcovar is not None
        return chromosome_lod(prep, chrom, rows, None, parts[with_x], side=sides[with_x])

    order = sorted(range(len(prep.chroms)), key=lambda ci: -len(prep.markers[prep.chroms[ci]]))
    # all traits in their order (no missing-data batches): rows copied whole, not scattered
    where: slice | np.ndarray = (slice(None) if np.array_equal(cols, np.arange(lod.shape[1]))
                                 else cols)  # fmt: skip
    for ci, block in zip(order, parallel_map(chrom_scan, order, worker_count()), strict=True):
        if block is not None:
            lod[offsets[ci] : offsets[ci + 1], where] = block
    return lod, sizes


class HkNull(NamedTuple):
    """The null model of one missing-data batch, weighted (``sqrt_w``) where weights apply."""

    sqrt_w: np.ndarray | None
    basis: np.ndarray  # orthonormal basis of the covariates (autosome model)
    resid: np.ndarray  # [rows, traits] phenotypes residualised on it
    rss: np.ndarray  # [traits] null RSS, autosomes
    rss_x: np.ndarray  # [traits] null RSS on the X (with the X covariates)


def hk_null(prep: Prepared, batch: Batch, rows: np.ndarray) -> HkNull:
    """Null-model fit of one batch's traits on its rows, for the autosomes and the X."""
    sw = prep.sqrt_w[rows] if prep.sqrt_w is not None else None
    y = prep.pheno[np.ix_(rows, batch.cols)]
    c_alt = design(prep, rows, with_x=False)
    if sw is not None:
        y = y * sw[:, None]
        c_alt = c_alt * sw[:, None]
    q_alt = covariate_basis(c_alt, prep.tol)
    ry = resid_on_basis(q_alt, y)
    rss_alt0 = np.einsum("nt,nt->t", ry, ry)
    rss_x0 = rss_alt0
    if prep.xcovar is not None and any(prep.is_x.values()):
        c0 = design(prep, rows, with_x=True)
        if sw is not None:
            c0 = c0 * sw[:, None]
        r0 = resid_on_basis(covariate_basis(c0, prep.tol), y)
        rss_x0 = np.einsum("nt,nt->t", r0, r0)
    return HkNull(sw, q_alt, ry, rss_alt0, rss_x0)


def _hk_batch_qr(prep: Prepared, batch: Batch, lod: np.ndarray) -> None:
    """One batch on its own rows: a pivoted-QR basis per marker, one matrix product."""
    rows = np.setdiff1d(np.arange(len(prep.samples)), batch.omit)
    sw, q_alt, ry, rss_alt0, rss_x0 = hk_null(prep, batch, rows)
    start = 0
    full = rows.size == len(prep.samples)
    for chrom in prep.chroms:
        m_count = len(prep.markers[chrom])
        block = prep.geno[chrom] if full else prep.geno[chrom][:, rows, :]
        ic = None if prep.intcovar is None else prep.intcovar[rows]
        block = expand_intcovar(block, ic)
        if sw is not None:
            block = block * sw[None, :, None]
        if m_count and block.shape[2]:
            rss1 = hk_rss(np.ascontiguousarray(block), q_alt, ry, rss_alt0, prep.tol)
        else:
            rss1 = np.repeat(rss_alt0[None, :], m_count, axis=0)
        rss0 = rss_x0 if prep.is_x[chrom] else rss_alt0
        with np.errstate(divide="ignore", invalid="ignore"):
            lod[start : start + m_count, batch.cols] = (
                rows.size / 2 * (np.log10(rss0)[None, :] - np.log10(rss1))
            )
        start += m_count
