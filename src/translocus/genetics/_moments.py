"""The moment kernel driver: LODs of one chromosome for many traits (HK and LMM alike).

:func:`chromosome_lod` scans one chromosome for the traits of some :class:`Part` objects
(missing-data batches ready for a chromosome) with one kinship eigen-decomposition, or with
none (Haley-Knott regression); with a block of permuted individuals it rotates all
permutations in one product. :func:`trait_side` is the part of that work without genotypes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from translocus.core.threads import blas_threads
from translocus.genetics._design import Batch, Prepared
from translocus.genetics._scan_kernels import (
    MOMENT_GUARD,
    RANK_CLEAR,
    covariate_basis,
    fixed_width_product,
    null_rss_weighted,
    pair_index,
    resid_on_basis,
    rotate_traits,
)
from translocus.genetics._scan_numba import (
    exact_rss_weighted,
    gather_columns,
    pair_products,
    rss_from_moment_rows,
    weighted_cov_gram,
    weighted_moments,
    weighted_squares,
)
from translocus.genetics._weight_basis import WeightBasis, weight_basis, weights
from translocus.genetics._wide_numba import covariate_factors, rss_lanes, rss_shared
from translocus.genetics.lmm import KinshipEigen

__all__ = [
    "Part",
    "TraitSide",
    "chromosome_lod",
    "column_blocks",
    "genotype_columns",
    "genotype_scales",
    "trait_side",
    "wide_traits",
]

#: Markers per chunk (at least): the chunk's genotype columns, their rotation and packed
#: products stay in cache through the matrix products that use them.
MARKER_CHUNK = 48
#: Cache budget of a chunk in values per marker times markers (48 DO markers of 7 columns and
#: 261 individuals): small problems (few individuals, columns and traits) take larger chunks,
#: so that a chromosome is a few calls rather than many small ones.
CHUNK_CELLS = 48 * 7 * 261
#: Rows times individuals of the pair products formed at once (:func:`pair_pieces`): with
#: :data:`BLOCK_COLUMNS` weight columns, 1.2 million multiply-adds per product.
PAIR_ROWS_N = 150_000
#: Up to this many traits and genotype columns the moments of a chunk come from one compiled
#: pass (``weighted_moments``); beyond, from pair products and matrix products over all traits.
FUSED_TRAITS = 3
#: Width of the products of genotype moments with trait columns (:func:`column_blocks`).
BLOCK_COLUMNS = 8
FUSED_COLUMNS = 8
#: From this many traits with their own weights (LMM), a chunk's small systems are solved
#: with the traits side by side in vectorised lanes (:class:`_LaneGroup`), same bits.
LANE_TRAITS = 4
#: A scan of at least this many traits takes the wide path (:func:`_chromosome_lod_wide`):
#: moments of whole blocks of :data:`WIDE_BLOCK` traits by wide matrix products.
WIDE_TRAITS = 256
WIDE_BLOCK = 512
#: Block width where the traits share one factorisation per marker (Haley-Knott).
WIDE_BLOCK_SHARED = 1024
#: Bytes of rotated genotype columns and their pair products held per marker chunk there.
WIDE_CHUNK_BYTES = 48 << 20
#: Whether the wide LMM path forms its weighted moments through the eigenvalues' weight
#: basis (:mod:`~translocus.genetics._weight_basis`) where one pays; else from the weights.
WEIGHT_BASIS = True


def _columns_t(prep: Prepared, chrom: str, rows: np.ndarray, m0: int, m1: int,
               out: np.ndarray) -> np.ndarray:  # fmt: skip
    """``[m1 - m0, p, n]`` genotype columns of some rows (interactions and weights applied)."""
    block = prep.geno[chrom]
    shape = (m1 - m0, block.shape[2], rows.size)
    res = out[: shape[0] * shape[1] * shape[2]].reshape(shape)
    gather_columns(block, rows, m0, res)
    if prep.intcovar is None and prep.sqrt_w is None:
        return res
    return np.concatenate([res * s[None, None, :] for s in genotype_scales(prep, rows)], axis=1)


def pair_pieces(mc: int, npair: int, n: int) -> list[tuple[int, int]]:
    """``(start, end)``: a chunk's ``mc`` markers in pieces for their pair products.

    The packed products of a whole chunk (``mc * npair * n`` values, 8 MB for 48 DO markers
    of 742 individuals) would go out to memory between being written and being read by the
    product with the weights; pieces of :data:`PAIR_ROWS_N` rows times individuals (about
    1.3 MB there) stay in a core's cache. Each piece is at least that size (the remainder
    joins the last piece), so its product with the weights keeps BLAS's general kernel, whose
    rows do not depend on how many come with them (a BLAS may take a small-matrix kernel
    below about a million multiply-adds, as OpenBLAS does, and round otherwise); a chunk
    smaller than one piece stays whole, as before.
    """
    size = max(1, -(-PAIR_ROWS_N // max(npair * n, 1)))
    count = max(1, mc // size)
    edges = [k * size for k in range(count)] + [mc]
    return list(zip(edges[:-1], edges[1:], strict=True))


def column_blocks(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a @ b`` by products of exactly :data:`BLOCK_COLUMNS` columns of ``b``.

    Each column of the result then has the same bits however many columns (traits) come
    with it (:func:`~translocus.genetics._scan_kernels.fixed_width_product`).
    """
    fixed_width_product(a, b, out, BLOCK_COLUMNS)


def genotype_columns(prep: Prepared, chrom: str) -> np.ndarray:
    """The chromosome's probabilities (first/empty columns dropped) as ``[M, p, n_all]``."""
    block = prep.geno[chrom]
    out = np.empty((block.shape[0], block.shape[2], block.shape[1]))
    gather_columns(block, np.arange(block.shape[1], dtype=np.int64), 0, out)
    return out


@dataclass
class Part:
    """One missing-data batch within a group, ready for the scan of one chromosome."""

    batch: Batch
    n_obs: int
    hsq: np.ndarray  # [T_b]
    y: np.ndarray  # [n_g, T_b] weighted phenotypes, zeros at missing entries
    c_alt: np.ndarray  # [n_g, c] weighted alternative-model design (dummies included)
    c_null: np.ndarray  # [n_g, c'] weighted null design of this chromosome
    #: [n_g, T_b] 0/1 weights leaving missing values out (identity kinship only; None: all 1)
    present: np.ndarray | None = None
    #: ``y`` rotated by the eigenvectors when already done (the null fit's), else None
    y_rot: np.ndarray | None = None


@dataclass
class TraitSide:
    """The trait side of a chromosome scan (no genotypes).

    Each trait's weights, the moments of its covariates and phenotype, its null RSS and the
    matrix the genotype chunks meet.
    """

    w: np.ndarray  # [n, T] weights
    wt: np.ndarray  # [T, n]
    part_w: np.ndarray | None  # [n, parts] one weight column per part (identity only)
    part_of: np.ndarray | None  # [T] each trait's part (identity only)
    y_r: np.ndarray  # [n, T] rotated phenotypes
    trait_cov: list[np.ndarray]  # each trait's rotated covariates
    cov_gram: np.ndarray  # [T, c, c]
    cov_y: np.ndarray  # [T, c]
    cov_cnt: np.ndarray
    cov_row: np.ndarray
    y_row: np.ndarray
    yty: np.ndarray
    rss0: np.ndarray  # [T] null RSS of the LOD
    n_obs: np.ndarray
    lhs: np.ndarray | None  # [n, K] weighted covariates and phenotypes of all traits
    lhs_t: np.ndarray | None  # (None on the wide path, which forms them block by block)
    share: np.ndarray


def wide_traits(n_trait: int) -> bool:
    """Whether a scan of ``n_trait`` traits takes the wide path (:data:`WIDE_TRAITS`)."""
    return n_trait >= WIDE_TRAITS


def trait_side(prep: Prepared, eig: KinshipEigen | None, parts: list[Part],
               lhs: bool | None = None) -> TraitSide:  # fmt: skip
    """Everything of :func:`chromosome_lod` that does not involve the genotypes.

    For Haley-Knott it is the same on every chromosome of one null model, so computed once.
    Its products run on a single BLAS thread, which rounds them the same way however many
    threads the scan was given. ``lhs``: whether to form the matrix of all traits' weighted
    covariates and phenotypes (default: unless the traits take the wide path).
    """
    with blas_threads(1):
        return _trait_side(prep, eig, parts, lhs)


def _trait_side(prep: Prepared, eig: KinshipEigen | None, parts: list[Part],
                with_lhs: bool | None) -> TraitSide:  # fmt: skip
    tol = prep.tol
    n = parts[0].y.shape[0]
    hsq = np.concatenate([part.hsq for part in parts])
    n_trait = hsq.size
    if with_lhs is None:
        with_lhs = not wide_traits(n_trait)
    identity = eig is None
    share = np.zeros(n_trait, dtype=np.bool_)
    part_w = part_of = None
    if eig is None:
        w = np.column_stack([np.ones((n, part.hsq.size)) if part.present is None
                             else part.present for part in parts])  # fmt: skip
        # one weight column per part (one for all when nothing is missing), each trait's part
        if all(part.present is None for part in parts):
            part_w, part_of = np.ones((n, 1)), np.zeros(n_trait, dtype=np.int64)
        else:
            part_w = np.column_stack([np.ones(n) if part.present is None
                                      else part.present[:, 0] for part in parts])  # fmt: skip
            part_of = np.repeat(np.arange(len(parts)), [part.hsq.size for part in parts])

        def rotate(a: np.ndarray) -> np.ndarray:
            return a
    else:
        vt = eig.vectors_t
        # h λ + (1 - h): exact to rounding where λ is tiny and h near 1 (the sum taken left to
        # right would lose the digits of h λ), as the weight basis reproduces it
        w = weights(hsq, eig.values).T  # [n, T]

        def rotate(a: np.ndarray) -> np.ndarray:
            return np.asarray(vt @ a)

    wt = np.ascontiguousarray(w.T)  # [T, n]
    given = [part.y_rot for part in parts]
    rotated = eig is not None and all(y is not None for y in given)
    y_all = np.column_stack([y for y in given if y is not None] if rotated
                            else [part.y for part in parts])  # fmt: skip
    # each trait rotated on its own: its LODs do not depend on the traits scanned beside it
    y_r = y_all if eig is None or rotated else rotate_traits(eig.vectors_t, y_all)
    wy = w * y_r
    cmax = max(part.c_alt.shape[1] for part in parts)
    cov_gram = np.zeros((n_trait, cmax, cmax))
    cov_y = np.zeros((n_trait, cmax))
    cov_cnt = np.zeros(n_trait, dtype=np.int64)
    cov_row = np.zeros(n_trait, dtype=np.int64)
    trait_cov = []
    blocks = []
    rss0 = np.empty(n_trait)
    n_obs = np.empty(n_trait)
    t0 = 0
    row = 0
    for part in parts:
        tb = part.hsq.size
        sl = slice(t0, t0 + tb)
        ca = rotate(part.c_alt)
        trait_cov.extend([ca] * tb)
        c = ca.shape[1]
        if identity:  # one block for the part: its traits share weights and covariates
            if with_lhs:
                blocks.append(w[:, t0, None] * ca)
            share[t0 + 1 : t0 + tb] = True
        elif with_lhs:
            blocks.append((w[:, sl, None] * ca[:, None, :]).reshape(n, tb * c))
        # per trait, in products whose shapes do not depend on the other traits
        # each trait's C'WC summed over the individuals in one order (not by BLAS), so it
        # does not depend on the traits beside it
        gram_part = np.empty((tb, c, c))
        weighted_cov_gram(wt[sl], np.ascontiguousarray(ca), gram_part)
        cov_gram[sl, :c, :c] = gram_part
        cov_y_t = np.empty((c, tb))
        column_blocks(np.ascontiguousarray(ca.T), wy[:, sl], cov_y_t)
        cov_y[sl, :c] = cov_y_t.T
        cov_cnt[sl] = c
        cov_row[sl] = row if identity else row + c * np.arange(tb)
        cn = ca if part.c_null is part.c_alt else rotate(part.c_null)
        rss0[sl] = null_rss_weighted(cn, y_r[:, sl], wt[sl], tol)
        n_obs[sl] = part.n_obs
        row += c if identity else tb * c
        t0 += tb
    lhs = np.concatenate(blocks + [wy], axis=1) if with_lhs else None  # [n, K]
    return TraitSide(w=w, wt=wt, part_w=part_w, part_of=part_of, y_r=y_r,
                      trait_cov=trait_cov, cov_gram=cov_gram, cov_y=cov_y, cov_cnt=cov_cnt,
                      cov_row=cov_row, y_row=row + np.arange(n_trait, dtype=np.int64),
                      yty=weighted_squares(wy, y_r), rss0=rss0, n_obs=n_obs, lhs=lhs,
                      lhs_t=None if lhs is None else np.ascontiguousarray(lhs.T),
                      share=share)  # fmt: skip


def chromosome_lod(prep: Prepared, chrom: str, rows: np.ndarray, eig: KinshipEigen | None,
               parts: list[Part], geno_rows: np.ndarray | None = None,
               side: TraitSide | None = None, geno_t: np.ndarray | None = None
               ) -> np.ndarray:  # fmt: skip
    """LOD ``[M, T]`` of one chromosome for the traits of ``parts`` (in their order).

    ``rows`` are the individuals analysed; ``geno_rows`` (default ``rows``) the individuals
    whose genotype probabilities take their places (a permutation, for permutation tests), or
    ``[B, n]``, a block of permutations: the LOD is then ``[B, M, T]``. One product per chunk
    rotates the unpermuted probabilities for all of them at once (:func:`_permuted_rotation`).

    Markers go in chunks. A matrix product rotates a chunk (``U' X``); the trait-specific
    metrics enter through two more products over all traits: the weighted covariates and
    phenotypes against the rotated genotypes give ``C_t' W_t X_m`` and ``X_m' W_t y_t``, and
    the weights against the packed genotype products give every ``X_m' W_t X_m``. The small
    systems are solved in numba, and entries the moments would get inaccurate by pivoted QR.
    A chunk's pair products are formed in cache-sized pieces (:func:`pair_pieces`). For a
    block of permutations with few traits and columns (``FUSED_TRAITS``, ``FUSED_COLUMNS``)
    one compiled pass gives the moments instead; scans keep the products, whose rounding
    does not depend on the number of traits.

    ``eig=None`` is the identity (all h² zero): Haley-Knott regression, with no rotation and
    the parts' ``present`` weights (0 at a missing value). The traits of a part then share
    ``X_m' X_m`` and ``C' X_m``: both are computed once per part and the small systems are
    factorised once per part and marker. ``side`` is :func:`trait_side` of ``eig`` and
    ``parts``, and ``geno_t`` :func:`genotype_columns` of the chromosome, when already
    computed.
    """
    tol = prep.tol
    m_count = len(prep.markers[chrom])
    n = rows.size
    n_traits = sum(part.hsq.size for part in parts)
    wide = geno_rows is None and wide_traits(n_traits)
    ts = side if side is not None else trait_side(prep, eig, parts, lhs=not wide)
    if wide:
        return _chromosome_lod_wide(prep, chrom, rows, eig, parts, ts)
    assert ts.lhs is not None and ts.lhs_t is not None
    w, wt, part_w, part_of = ts.w, ts.wt, ts.part_w, ts.part_of
    y_r, trait_cov, share, lhs, lhs_t = ts.y_r, ts.trait_cov, ts.share, ts.lhs, ts.lhs_t
    n_trait = wt.shape[0]
    n_rows = lhs.shape[1]
    p0 = prep.geno[chrom].shape[2]
    n_scale = 1 + (0 if prep.intcovar is None else prep.intcovar.shape[1])
    p = p0 * n_scale
    pa, pb = pair_index(p)
    npair = pa.size
    perm_given = geno_rows is not None
    # the chunk depends on the genotype block alone (not on the traits nor the threads), so a
    # marker's rotated columns, and every product formed from them, are the same in any batch
    per_marker = p * n + npair * n
    chunk = max(1, min(m_count, max(MARKER_CHUNK, CHUNK_CELLS // max(per_marker, 1))))
    # one compiled pass for few traits, but only for permutations: a scan's traits go through
    # the same fixed-width products however many there are (their LODs then do not depend on
    # the traits beside them; the compiled sums round otherwise, which moves the LOD of a
    # marker whose genotype columns are nearly collinear with the covariates by up to 1e-7)
    fused = perm_given and n_trait <= FUSED_TRAITS and p <= FUSED_COLUMNS
    perm = None if geno_rows is None else np.atleast_2d(np.asarray(geno_rows, dtype=np.int64))
    n_block = 1 if perm is None else perm.shape[0]
    rot = None
    if perm is not None:
        if geno_t is None:
            geno_t = genotype_columns(prep, chrom)
        rot = _permuted_rotation(prep, rows, eig, perm)
        big_buf = np.empty(chunk * p0 * rot.shape[1])
    rows64 = np.ascontiguousarray(rows, dtype=np.int64)
    geno_buf = np.empty(chunk * p * n)
    rot_buf = np.empty(chunk * p * n)
    fx_buf = np.empty(chunk * p * n_rows)
    pair_buf = np.empty(0 if fused else chunk * npair * n)
    gram_buf = np.empty(chunk * npair * n_trait)
    rss1 = np.zeros((n_block, n_trait, m_count))
    ok = np.zeros((n_block, n_trait, m_count), dtype=np.bool_)
    fallback: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    u_mat = None if eig is None else eig.vectors_t.T  # rows of U' X are (columns of X)' U
    lanes = _lane_groups(ts) if n_trait >= LANE_TRAITS and not share.any() else None
    for m0 in range(0, m_count, chunk):
        mc = min(chunk, m_count - m0)
        if rot is not None:  # every permutation of the block in one product
            assert geno_t is not None
            big = big_buf[: mc * p0 * rot.shape[1]].reshape(mc * p0, rot.shape[1])
            np.dot(geno_t[m0 : m0 + mc].reshape(mc * p0, -1), rot, out=big)
            big5 = big.reshape(mc, p0, n_block, n_scale, n)
        else:
            geno = _columns_t(prep, chrom, rows64, m0, m0 + mc, geno_buf)
            if u_mat is None:
                xr = np.ascontiguousarray(geno.reshape(mc * p, n))
            else:
                xr = rot_buf[: mc * p * n].reshape(mc * p, n)
                np.dot(geno.reshape(mc * p, n), u_mat, out=xr)
        gram = gram_buf[: mc * npair * n_trait].reshape(mc, npair, n_trait)
        fx = fx_buf[: mc * p * n_rows].reshape(mc, p, n_rows)
        for bi in range(n_block):
            if rot is None:
                xr4, at = xr.reshape(mc, p, 1, n), 0
            elif n_scale == 1:
                xr4, at = big5.reshape(mc, p, n_block, n), bi
            else:  # interaction columns after the main ones
                xr4 = np.ascontiguousarray(big5[:, :, bi].transpose(0, 2, 1, 3)).reshape(
                    mc, p, 1, n)  # fmt: skip
                at = 0
            xr3 = xr4[:, :, at, :]
            if fused:
                weighted_moments(xr4, at, wt, lhs_t, gram, fx)
            else:
                xr2 = np.ascontiguousarray(xr3).reshape(mc * p, n)
                column_blocks(xr2, lhs, fx.reshape(mc * p, n_rows))
                gram2 = gram.reshape(mc * npair, n_trait)
                # the pair products in pieces that stay in a core's cache until the product
                # with the weights reads them (a marker's rows come out the same: see
                # :func:`pair_pieces`)
                for s0, s1 in pair_pieces(mc, npair, n):
                    pairs = pair_buf[: (s1 - s0) * npair * n].reshape(s1 - s0, npair, n)
                    pair_products(xr2.reshape(mc, p, n)[s0:s1], pairs)
                    rows2 = pairs.reshape((s1 - s0) * npair, n)
                    out = gram2[s0 * npair : s1 * npair]
                    if part_w is not None and part_of is not None:  # one X_m' X_m per part
                        by_part = np.empty(((s1 - s0) * npair, part_w.shape[1]))
                        column_blocks(rows2, part_w, by_part)
                        np.take(by_part, part_of, axis=1, out=out)
                    else:
                        column_blocks(rows2, w, out)
            if lanes is None:
                rss_from_moment_rows(gram, fx, m0, ts.cov_row, ts.cov_cnt, ts.y_row,
                                     ts.cov_gram, ts.cov_y, ts.yty, pa, pb, MOMENT_GUARD,
                                     rss1[bi], ok[bi], share, RANK_CLEAR)  # fmt: skip
            else:
                for group in lanes:
                    group.solve(gram, fx, pa, pb, rss1[bi, :, m0 : m0 + mc],
                                ok[bi, :, m0 : m0 + mc])  # fmt: skip
            if ok[bi, :, m0 : m0 + mc].all():
                continue
            bad_t, bad_m = np.nonzero(~ok[bi, :, m0 : m0 + mc])
            for t, j in zip(bad_t.tolist(), bad_m.tolist(), strict=True):
                if t not in fallback:
                    sw = np.sqrt(w[:, t])
                    q = np.ascontiguousarray(covariate_basis(trait_cov[t] * sw[:, None], tol))
                    fallback[t] = (sw, q, resid_on_basis(q, (y_r[:, t] * sw)[:, None])[:, 0])
                sw, q, ry = fallback[t]
                rss1[bi, t, m0 + j] = exact_rss_weighted(np.ascontiguousarray(xr3[j].T), sw, q,
                                                         ry, tol)  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):  # in place: no temporaries
        lod = np.log10(rss1, out=rss1)
        lod -= np.log10(ts.rss0)[None, :, None]
        lod *= -(ts.n_obs / 2)[None, :, None]
    lod = lod.transpose(0, 2, 1)  # [B, M, T]
    return lod if geno_rows is not None and np.ndim(geno_rows) == 2 else lod[0]


class _LaneGroup:
    """Traits with the same number of covariates, solved side by side (:func:`rss_lanes`).

    Each trait has its own weights (LMM), so every (trait, marker) is its own ``p x p``
    system; :func:`rss_lanes` factorises them with the arithmetic of
    :func:`rss_from_moment_rows` with the traits in the innermost, vectorised loop, so each
    entry has the same bits either way and does not depend on the traits beside it.
    """

    def __init__(self, ts: TraitSide, traits: np.ndarray, c: int) -> None:
        self.traits = traits
        lanes = traits.size
        # C'WX and X'Wy of the group's traits are these columns of the chunk's moments
        self.cov_cols = ts.cov_row[traits][None, :] + np.arange(c)[:, None]  # [c, L]
        self.y_cols = ts.y_row[traits]
        # traits in a row, each one's covariate columns after the previous one's and their
        # phenotypes side by side (as trait_side lays them out within and across batches of
        # one design): the solves read and write views, no copies
        step = np.arange(lanes)
        self.regular = bool(
            np.array_equal(traits, traits[0] + step)
            and np.array_equal(self.cov_cols[0], self.cov_cols[0, 0] + c * step)
            and np.array_equal(self.y_cols, self.y_cols[0] + step)
        )
        self.c = c
        self.low = np.zeros((c, c, lanes))
        self.z = np.zeros((c, lanes))
        self.rss0 = np.zeros(lanes)
        self.usable = np.zeros(lanes, dtype=np.bool_)
        covariate_factors(np.ascontiguousarray(ts.cov_gram[traits][:, :c, :c].transpose(1, 2, 0)),
                          np.ascontiguousarray(ts.cov_y[traits][:, :c].T), ts.yty[traits],
                          self.low, self.z, self.rss0, self.usable)  # fmt: skip

    def solve(self, gram: np.ndarray, fx: np.ndarray, pa: np.ndarray, pb: np.ndarray,
              rss: np.ndarray, ok: np.ndarray) -> None:  # fmt: skip
        """RSS of the group's traits at a chunk's markers into ``rss``/``ok`` (``[T, mc]``)."""
        mc, p, lanes = gram.shape[0], fx.shape[1], self.traits.size
        if self.regular:
            t0, c0, y0 = int(self.traits[0]), int(self.cov_cols[0, 0]), int(self.y_cols[0])
            fxc = fx[:, :, c0 : c0 + self.c * lanes].reshape(mc, p, lanes, self.c)
            rss_lanes(gram[:, :, t0 : t0 + lanes], fxc.transpose(0, 1, 3, 2),
                      fx[:, :, y0 : y0 + lanes], self.low, self.z, self.rss0, self.usable, pa,
                      pb, MOMENT_GUARD, RANK_CLEAR, rss[t0 : t0 + lanes].T,
                      ok[t0 : t0 + lanes].T)  # fmt: skip
            return
        out_rss = np.empty((mc, lanes))
        out_ok = np.zeros((mc, lanes), dtype=np.bool_)
        rss_lanes(np.ascontiguousarray(gram[:, :, self.traits]),
                  np.ascontiguousarray(fx[:, :, self.cov_cols]),
                  np.ascontiguousarray(fx[:, :, self.y_cols]), self.low, self.z, self.rss0,
                  self.usable, pa, pb, MOMENT_GUARD, RANK_CLEAR, out_rss, out_ok)  # fmt: skip
        rss[self.traits] = out_rss.T
        ok[self.traits] = out_ok.T


def _lane_groups(ts: TraitSide) -> list[_LaneGroup]:
    """The scan's traits by number of covariates, for :class:`_LaneGroup` solves."""
    return [_LaneGroup(ts, np.flatnonzero(ts.cov_cnt == c), int(c))
            for c in np.unique(ts.cov_cnt)]  # fmt: skip


def genotype_scales(prep: Prepared, rows: np.ndarray) -> list[np.ndarray]:
    """Row scales of the genotype columns.

    ``[1, ic_1, ...]`` for the main columns and each interactive covariate, times the
    square-root weights.
    """
    scales = [np.ones(rows.size)]
    if prep.intcovar is not None:
        scales += [prep.intcovar[rows, j] for j in range(prep.intcovar.shape[1])]
    if prep.sqrt_w is not None:
        scales = [s * prep.sqrt_w[rows] for s in scales]
    return scales


def _permuted_rotation(prep: Prepared, rows: np.ndarray, eig: KinshipEigen | None,
                       perm: np.ndarray) -> np.ndarray:  # fmt: skip
    """``[n_all, B * J * n]``: the rotation of each permutation's genotype columns.

    Block ``(b, j)`` maps the probabilities of all individuals (``[.., n_all]``) to the rotated
    columns of permutation ``b`` (``U' P_b X``, scaled by interactive covariate ``j - 1`` and
    the weights): row ``perm[b, i]`` holds ``s_j[i] U[i, :]``. So one product of the unpermuted
    probabilities with it rotates a whole block of permutations, with no gather.
    """
    n = rows.size
    n_all = len(prep.samples)
    u = np.eye(n) if eig is None else eig.vectors_t.T
    scales = genotype_scales(prep, rows)
    n_block, n_scale = perm.shape[0], len(scales)
    out = np.zeros((n_all, n_block, n_scale, n))
    for bi in range(n_block):
        for j, sc in enumerate(scales):
            out[perm[bi], bi, j, :] = sc[:, None] * u
    return out.reshape(n_all, n_block * n_scale * n)


def _trait_blocks(n_trait: int, widest: int) -> list[tuple[int, int, int]]:
    """``(start, end, width)``: blocks of ``widest`` traits, then of halves of it down to
    :data:`BLOCK_COLUMNS` (the last zero-padded to ``width``)."""
    out = []
    s = 0
    width = widest
    while width >= BLOCK_COLUMNS:
        while n_trait - s >= width:
            out.append((s, s + width, width))
            s += width
        width //= 2
    if s < n_trait:
        out.append((s, n_trait, BLOCK_COLUMNS))
    return out


def _padded(a: np.ndarray, width: int) -> np.ndarray:
    """``a`` (``[n, k]``, ``k <= width``) as a C-contiguous ``[n, width]`` with zero columns."""
    if a.shape[1] == width:
        return np.ascontiguousarray(a)
    out = np.zeros((a.shape[0], width))
    out[:, : a.shape[1]] = a
    return out


def _projected_moments(pairs2: np.ndarray, xr3: np.ndarray, parts: list[Part], ts: TraitSide,
                       starts: np.ndarray, part_basis: list[bool],
                       basis: WeightBasis) -> list[np.ndarray | None]:  # fmt: skip
    """Per part, ``[mc * (npair + p c), K]``: the chunk's pair products (rows ``m, pair``) and
    genotype-covariate products (rows ``m, a, covariate``) summed against the weight basis.

    The same for all traits of the part: a block's ``X'WX`` and ``C'WX`` are its product
    with the block's node weights (:meth:`WeightBasis.coefficients`).
    """
    mc, p, n = xr3.shape
    npair = pairs2.shape[0] // mc
    pair_part = pairs2 @ basis.basis  # the same for every part (and its traits)
    out: list[np.ndarray | None] = []
    for pi, use in enumerate(part_basis):
        if not use:
            out.append(None)
            continue
        ca = ts.trait_cov[int(starts[pi])]
        c = ca.shape[1]
        cov_rows = xr3[:, :, None, :] * ca.T[None, None, :, :]  # [mc, p, c, n]
        res = np.empty((mc * (npair + p * c), basis.size))
        res[: mc * npair] = pair_part
        np.dot(cov_rows.reshape(mc * p * c, n), basis.basis, out=res[mc * npair :])
        out.append(res)
    return out


def _chromosome_lod_wide(prep: Prepared, chrom: str, rows: np.ndarray,
                         eig: KinshipEigen | None, parts: list[Part],
                         ts: TraitSide) -> np.ndarray:  # fmt: skip
    """:func:`chromosome_lod` of many traits: blocks of traits against chunks of markers.

    A chunk of markers (as many as :data:`WIDE_CHUNK_BYTES` of rotated columns and pair
    products allow) is rotated once; then each block of :data:`WIDE_BLOCK` traits
    (:data:`WIDE_BLOCK_SHARED` for Haley-Knott; then halves of it) meets it
    in a few wide matrix products (``X'WX`` packed, ``C'WX``, ``X'Wy``; Haley-Knott traits of
    one missing-data pattern share ``X'WX`` and ``C'WX``), and the small systems of the block
    are solved with the traits in the innermost loop (``_wide_numba``). A trait's moments
    depend on its block's width, not on the traits beside it.
    """
    tol = prep.tol
    m_count = len(prep.markers[chrom])
    n = rows.size
    n_trait = ts.wt.shape[0]
    p0 = prep.geno[chrom].shape[2]
    n_scale = 1 + (0 if prep.intcovar is None else prep.intcovar.shape[1])
    p = p0 * n_scale
    pa, pb = pair_index(p)
    npair = pa.size
    per_marker = (p + npair) * n * 8
    chunk = max(1, min(m_count, max(MARKER_CHUNK, WIDE_CHUNK_BYTES // max(per_marker, 1))))
    rows64 = np.ascontiguousarray(rows, dtype=np.int64)
    geno_buf = np.empty(chunk * p * n)
    pair_buf = np.empty(0 if eig is None else chunk * npair * n)
    rss1 = np.zeros((m_count, n_trait))  # markers first: the LOD table's layout
    ok = np.zeros((m_count, n_trait), dtype=np.bool_)
    u_mat = None if eig is None else eig.vectors_t.T
    starts = np.cumsum([0] + [part.hsq.size for part in parts])
    basis = None if eig is None or not WEIGHT_BASIS else weight_basis(eig.values)
    # the basis reproduces the weights of h² in [0, 1] only
    part_basis = [basis is not None and bool(np.all((part.hsq >= 0) & (part.hsq <= 1)))
                  for part in parts]  # fmt: skip
    fallback: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for m0 in range(0, m_count, chunk):
        mc = min(chunk, m_count - m0)
        geno = _columns_t(prep, chrom, rows64, m0, m0 + mc, geno_buf)
        xr = (np.ascontiguousarray(geno.reshape(mc * p, n)) if u_mat is None
              else geno.reshape(mc * p, n) @ u_mat)  # fmt: skip
        pairs2 = None
        if eig is not None:  # each trait weighs the pair products its own way
            pairs = pair_buf[: mc * npair * n].reshape(mc, npair, n)
            pair_products(xr.reshape(mc, p, n), pairs)
            pairs2 = pairs.reshape(mc * npair, n)
        xr3 = xr.reshape(mc, p, n)
        projected = None
        if basis is not None and pairs2 is not None and any(part_basis):
            projected = _projected_moments(pairs2, xr3, parts, ts, starts, part_basis, basis)
        for pi, part in enumerate(parts):
            t0 = int(starts[pi])
            ca = ts.trait_cov[t0]
            c = ca.shape[1]
            widest = WIDE_BLOCK_SHARED if eig is None else WIDE_BLOCK
            shared: tuple[np.ndarray, np.ndarray] | None = None
            if eig is None:  # Haley-Knott: the part's traits share weights and covariates,
                wv = ts.w[:, t0]  # so one packed X'WX and C'WX per marker serve them all
                shared = (
                    np.ascontiguousarray(
                        np.matmul(xr3 * wv[None, None, :], xr3.transpose(0, 2, 1))[:, pa, pb]),
                    np.ascontiguousarray(
                        (xr @ (wv[:, None] * ca)).reshape(mc, p, c).transpose(2, 0, 1)),
                )  # fmt: skip
            for s, e, width in _trait_blocks(part.hsq.size, widest):
                sl = slice(t0 + s, t0 + e)
                lanes = e - s
                cov_gram = np.zeros((c, c, width))
                cov_gram[:, :, :lanes] = ts.cov_gram[sl, :c, :c].transpose(1, 2, 0)
                cov_y = np.zeros((c, width))
                cov_y[:, :lanes] = ts.cov_y[sl, :c].T
                yty = np.zeros(width)
                yty[:lanes] = ts.yty[sl]
                low = np.zeros((c, c, width))
                z = np.zeros((c, width))
                rss0 = np.zeros(width)
                usable = np.zeros(width, dtype=np.bool_)
                covariate_factors(cov_gram, cov_y, yty, low, z, rss0, usable)
                wy = _padded(ts.w[:, sl] * ts.y_r[:, sl], width)
                out_rss = np.empty((mc, width))
                out_ok = np.zeros((mc, width), dtype=np.bool_)
                if shared is not None:
                    gram, fxc = shared
                    fxy = (xr @ wy).reshape(mc, p, width)
                    rss_shared(gram, fxc, fxy, np.ascontiguousarray(low[:, :, 0]),
                               bool(usable[0]), z, rss0, pa, pb, MOMENT_GUARD, RANK_CLEAR,
                               out_rss, out_ok)  # fmt: skip
                elif projected is not None and basis is not None and part_basis[pi]:
                    # X'WX and C'WX of the block from the chunk's moments against the basis:
                    # K nodes instead of n individuals per trait (``_weight_basis``)
                    coef = _padded(basis.coefficients(part.hsq[s:e]), width)
                    both = projected[pi] @ coef
                    gram = both[: mc * npair].reshape(mc, npair, width)
                    fxc = both[mc * npair :].reshape(mc, p, c, width)
                    fxy = (xr @ wy).reshape(mc, p, width)
                    rss_lanes(gram, fxc, fxy, low, z, rss0, usable, pa, pb, MOMENT_GUARD,
                              RANK_CLEAR, out_rss, out_ok)  # fmt: skip
                else:
                    assert pairs2 is not None
                    wb = _padded(ts.w[:, sl], width)
                    gram = (pairs2 @ wb).reshape(mc, npair, width)
                    # C'WX and X'Wy of the block in one product: [mc, p, c + 1, width]
                    rhs = np.empty((n, c + 1, width))
                    rhs[:, :c, :] = ca[:, :, None] * wb[:, None, :]
                    rhs[:, c, :] = wy
                    fx = (xr @ rhs.reshape(n, (c + 1) * width)).reshape(mc, p, c + 1, width)
                    rss_lanes(gram, fx[:, :, :c, :], fx[:, :, c, :], low, z, rss0, usable, pa,
                              pb, MOMENT_GUARD, RANK_CLEAR, out_rss, out_ok)  # fmt: skip
                rss1[m0 : m0 + mc, sl] = out_rss[:, :lanes]
                ok[m0 : m0 + mc, sl] = out_ok[:, :lanes]
        # entries the moments would get inaccurate: pivoted QR
        bad_m, bad_t = np.nonzero(~ok[m0 : m0 + mc])
        for t, j in zip(bad_t.tolist(), bad_m.tolist(), strict=True):
            if t not in fallback:
                sw = np.sqrt(ts.w[:, t])
                q = np.ascontiguousarray(covariate_basis(ts.trait_cov[t] * sw[:, None], tol))
                fallback[t] = (sw, q, resid_on_basis(q, (ts.y_r[:, t] * sw)[:, None])[:, 0])
            sw, q, ry = fallback[t]
            rss1[m0 + j, t] = exact_rss_weighted(np.ascontiguousarray(xr3[j].T), sw, q, ry, tol)
    with np.errstate(divide="ignore", invalid="ignore"):  # in place: no temporaries
        lod = np.log10(rss1, out=rss1)
        lod -= np.log10(ts.rss0)[None, :]
        lod *= -(ts.n_obs / 2)[None, :]
    return lod  # [M, T]
