"""Genome scan on an array backend: the same results as the CPU scan, on a GPU too.

``scan(..., backend="torch")`` (or ``"numpy"``; :func:`~translocus.genetics.scan.scan`) runs
R/qtl2's ``scan1`` (Haley-Knott, or the LMM with one kinship or LOCO kinships) with the heavy
linear algebra as batched matrix products on a compute backend
(:mod:`translocus.core.compute`): torch on a CUDA device (or its CPU), or numpy.
:func:`scan_accelerated` is the same call under its older name.

What runs where
    The data handling is the CPU scan's own (``prepare`` of the scan's data module): the
    same individuals, covariate clean-up, missing-value batches and result object. The null
    models (h² per trait and per LOCO chromosome by REML/ML, with R's Brent minimiser) are fitted
    on the CPU by the public LMM code; the per-marker work (rotating the genotype blocks by the
    kinship eigenvectors, the weighted moments of all traits and the batched small solves, or
    the Haley-Knott bases and projections) runs on the backend.

Missing values
    Traits are analysed per pattern of missing values, exactly as on the CPU: Haley-Knott on
    each pattern's complete individuals; the LMM with the CPU scan's grouping (dummy
    covariates for a few missing individuals under REML, otherwise a separate decomposition).
    Many distinct patterns mean many small batches; the scan stays correct but the device gains
    less.

Accuracy
    In float64 the LODs equal the CPU scan's to rounding (≤ 1e-8 on DO_Recla). Markers or
    trait-marker pairs where the fast algebra could lose accuracy are recomputed with the CPU
    kernels (see :mod:`translocus.genetics._scan_torch`).

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from translocus.core.model import GenoProbs
>>> rng = np.random.default_rng(0)
>>> ids = [f"m{i}" for i in range(40)]
>>> g = rng.integers(0, 2, size=(40, 3)).astype(float)
>>> arr = xr.DataArray(np.stack([1 - g.T, g.T], axis=-1), dims=("marker", "sample", "founder"),
...                    coords={"marker": ["a", "b", "c"], "sample": ids,
...                            "founder": ["B", "D"], "pos_cM": ("marker", [0.0, 5.0, 10.0])})
>>> probs = GenoProbs(probs={"1": arr}, crosstype="risib", alleles=("B", "D"), kind="allele")
>>> pheno = pd.DataFrame({"y": 2.0 * g[:, 1] + rng.normal(size=40)}, index=ids)
>>> from translocus.genetics.scan import scan
>>> out = scan(pheno, probs, backend="numpy")
>>> out.lod["y"].idxmax()
'b'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from translocus.core.compute import ArrayBackend, get_backend
from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics._design import (
    Prepared,
    expand_intcovar,
    set_for_chrom,
)
from translocus.genetics._scan_hk import hk_null
from translocus.genetics._scan_kernels import (
    null_rss_weighted,
)
from translocus.genetics._scan_lmm import batch_design, kinship_eigen, lmm_groups, lmm_outputs
from translocus.genetics._scan_torch import (
    CHUNK_BYTES,
    hk_rss_backend,
    lmm_rss_backend,
    packed_pairs,
    rotate_blocks,
    unpack_matrix,
)
from translocus.genetics.lmm import KinshipEigen, fit_null_lmm, logdet_xpx
from translocus.genetics.results import ScanResult

__all__ = ["array_backend", "scan_accelerated", "scan_on_backend"]


def _hk_backend(
    prep: Prepared, be: ArrayBackend, chunk_bytes: int
) -> tuple[np.ndarray, np.ndarray]:
    n_all = len(prep.samples)
    total = sum(len(prep.markers[c]) for c in prep.chroms)
    lod = np.full((total, len(prep.traits)), np.nan)
    sizes = np.zeros(len(prep.traits), dtype=np.int64)
    for batch in prep.batches:
        rows = np.setdiff1d(np.arange(n_all), batch.omit)
        sizes[batch.cols] = rows.size
        if rows.size <= 2:
            continue
        sw, q_alt, ry, rss_alt0, rss_x0 = hk_null(prep, batch, rows)
        ry_dev = be.asarray(ry)
        start = 0
        for chrom in prep.chroms:
            m_count = len(prep.markers[chrom])
            block = prep.geno[chrom][:, rows, :]
            block = expand_intcovar(block, None if prep.intcovar is None else prep.intcovar[rows])
            if sw is not None:
                block = block * sw[None, :, None]
            if m_count and block.shape[2]:
                rss1 = hk_rss_backend(be, np.ascontiguousarray(block), q_alt, ry, rss_alt0,
                                      prep.tol, resid_y_dev=ry_dev,
                                      chunk_bytes=chunk_bytes)  # fmt: skip
            else:
                rss1 = np.repeat(rss_alt0[None, :], m_count, axis=0)
            rss0 = rss_x0 if prep.is_x[chrom] else rss_alt0
            with np.errstate(divide="ignore", invalid="ignore"):
                lod[start : start + m_count, batch.cols] = (
                    rows.size / 2 * (np.log10(rss0)[None, :] - np.log10(rss1))
                )
            start += m_count
    return lod, sizes


def _lmm_backend(
    prep: Prepared, be: ArrayBackend, reml: bool, chunk_bytes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sets, lod, hsq, sizes, offsets = lmm_outputs(prep)
    for group in lmm_groups(prep, reml):
        sw = prep.sqrt_w[group.rows] if prep.sqrt_w is not None else None
        n_g = group.rows.size
        ys = []
        for batch, missing in group.batches:
            y = prep.pheno[np.ix_(group.rows, batch.cols)].copy()
            y[missing, :] = 0.0
            if sw is not None:
                y = y * sw[:, None]
            ys.append(y)
        # null models on the CPU (public LMM code), one per h² set and batch
        eig_cache: dict[str, KinshipEigen] = {}
        fits: dict[tuple[int, int], np.ndarray] = {}
        for si, (name, with_x) in enumerate(sets):
            key = name if prep.loco else "overall"
            if key not in eig_cache:
                eig_cache[key] = kinship_eigen(prep, key, group.rows)
            for bi, (batch, missing) in enumerate(group.batches):
                if n_g - missing.size <= 2:
                    continue
                c0 = batch_design(prep, group, missing, with_x)
                fit = fit_null_lmm(eig_cache[key], ys[bi], c0, reml=reml, tol=prep.tol,
                                   xpx_logdet=logdet_xpx(c0))  # fmt: skip
                fits[(si, bi)] = fit.hsq
                hsq[si, batch.cols] = fit.hsq
        vt_dev: dict[str, Any] = {}
        for ci, chrom in enumerate(prep.chroms):
            si = set_for_chrom(prep, chrom, sets)
            key = sets[si][0] if prep.loco else "overall"
            eig = eig_cache[key]
            if key not in vt_dev:
                vt_dev = {key: be.asarray(eig.vectors_t)}  # one chromosome's U' at a time
            block = prep.geno[chrom][:, group.rows, :]
            block = expand_intcovar(
                block, None if prep.intcovar is None else prep.intcovar[group.rows]
            )
            if sw is not None:
                block = block * sw[None, :, None]
            m_count, _, p = block.shape
            if m_count == 0:
                continue
            pairs = packed_pairs(p)
            xr_dev, outer_dev = rotate_blocks(be, vt_dev[key], block, pairs)
            unpack = be.asarray(unpack_matrix(p, pairs))

            def host_blocks(block: np.ndarray = block, eig: KinshipEigen = eig) -> np.ndarray:
                m, n, q = block.shape
                flat = block.transpose(1, 0, 2).reshape(n, m * q)
                return (eig.vectors_t @ flat).reshape(n, m, q)

            for bi, (batch, missing) in enumerate(group.batches):
                if (si, bi) not in fits:
                    continue
                n_obs = n_g - missing.size
                h = fits[(si, bi)]
                w = 1.0 / (h[:, None] * eig.values[None, :] + 1.0 - h[:, None])
                c_alt = eig.vectors_t @ batch_design(prep, group, missing, False)
                y_r = eig.vectors_t @ ys[bi]
                rss1 = lmm_rss_backend(be, xr_dev, outer_dev, c_alt, y_r, w, pairs, prep.tol,
                                       unpack=unpack, host_blocks=host_blocks,
                                       chunk_bytes=chunk_bytes)  # fmt: skip
                c_null = c_alt
                if prep.is_x[chrom] and prep.xcovar is not None:
                    c_null = eig.vectors_t @ batch_design(prep, group, missing, True)
                rss0 = null_rss_weighted(c_null, y_r, w, prep.tol)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lod[offsets[ci] : offsets[ci + 1], batch.cols] = (
                        n_obs / 2 * (np.log10(rss0)[:, None] - np.log10(rss1))
                    ).T
    return lod, sizes, hsq


def array_backend(backend: str | ArrayBackend | None, device: str | None,
                  entry: str) -> ArrayBackend | None:  # fmt: skip
    """The array backend of ``backend=``/``device=``; ``None`` for the CPU kernels.

    ``"cpu"`` (or ``None``) selects the compiled CPU kernels; ``"torch"`` or ``"numpy"`` (or an
    :class:`~translocus.core.compute.ArrayBackend`) the batched products of this module.
    """
    if backend is None or (isinstance(backend, str) and backend == "cpu"):
        if device is not None:
            raise InputError(f"{entry}: device={device!r} needs backend='torch'")
        return None
    be = get_backend(backend, device)
    if be.dtype_name != "float64":
        raise InputError(f"{entry} computes in float64; pass a float64 backend")
    return be


def scan_on_backend(prep: Prepared, be: ArrayBackend, reml: bool, chunk_bytes: int | None
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:  # fmt: skip
    """LODs of prepared inputs (constant traits masked) with the per-marker algebra on ``be``.

    Returns the LOD, the sample sizes and, for the LMM, the h² estimates.
    """
    chunk = max(2**20, int(CHUNK_BYTES if chunk_bytes is None else chunk_bytes))
    if prep.kinship is None:
        lod, sizes = _hk_backend(prep, be, chunk)
        return lod, sizes, None
    return _lmm_backend(prep, be, reml, chunk)


def scan_accelerated(
    pheno: Any,
    probs: GenoProbs,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool = True,
    tol: float = 1e-12,
    backend: str | ArrayBackend = "torch",
    device: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ScanResult:
    """Genome scan on an array backend: the same as ``scan(..., backend="torch")``.

    Arguments and result are those of :func:`translocus.genetics.scan.scan`, whose
    ``backend=``, ``device=`` and ``chunk_bytes=`` this passes on.

    Parameters
    ----------
    backend
        ``"torch"`` (default; CUDA when available) or ``"numpy"``, or an
        :class:`~translocus.core.compute.ArrayBackend` from
        :func:`~translocus.core.compute.get_backend`. Computation is float64.
    device
        Torch device (``"cuda"``, ``"cuda:1"``, ``"cpu"``); ``None`` picks CUDA if present.
    chunk_bytes
        Size of the largest device temporary; traits are processed in chunks of this size.

    Returns
    -------
    ScanResult
        As :func:`~translocus.genetics.scan.scan`; ``data.attrs`` also record ``backend`` and
        ``device``.

    Raises
    ------
    InputError
        As :func:`~translocus.genetics.scan.scan`, and for an unavailable backend or device
        (torch not installed, no CUDA device).
    """
    # imported here: scan() itself runs its backend path through this module
    from translocus.genetics.scan import scan

    if isinstance(backend, str) and backend == "cpu":
        raise InputError("scan_accelerated runs on an array backend; use scan() for the CPU")
    return scan(pheno, probs, kinship=kinship, addcovar=addcovar, Xcovar=Xcovar,
                intcovar=intcovar, weights=weights, reml=reml, tol=tol, backend=backend,
                device=device, chunk_bytes=chunk_bytes)  # fmt: skip
