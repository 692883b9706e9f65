"""QTL effects along a chromosome and single-position fits.

The R/qtl2 functions ``scan1coef``, ``scan1blup`` and ``fit1``:

- :func:`scan1coef` regresses the trait on *all* genotype/allele columns (no intercept, none
  dropped) plus covariates at each position; with ``zerosum`` the allele effects are centred
  and their mean is reported as ``intercept`` (its SE is the root mean square of the allele
  SEs). With a kinship matrix, h² is estimated once under the null (REML) and the fit is
  generalised least squares in the rotated, weighted space.
- :func:`scan1blup` treats the allele effects as random, with kinship ``Z Z'`` at each position
  (an LMM per position), and returns their BLUPs and the fixed covariate effects.
- :func:`fit1` fits one position and returns LOD, coefficients, SEs, fitted values and
  residuals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics._design import as_frame, drop_depcols
from translocus.genetics._null_numba import brent_fit_lmm, calc_loglik
from translocus.genetics._scan_kernels import RANK_CLEAR
from translocus.genetics.lmm import (
    KinshipEigen,
    as_kinship_frame,
    decompose_kinship,
    fit_null_lmm,
    logdet_xpx,
)
from translocus.genetics.spec import ModelSpec, resolve_spec

__all__ = ["EffectModel", "Fit1Result", "fit1", "peak_coefficients", "scan1blup", "scan1coef"]


def _one_chromosome(probs: GenoProbs | xr.DataArray, chrom: str | None) -> xr.DataArray:
    if isinstance(probs, xr.DataArray):
        return probs
    if chrom is None:
        if len(probs.probs) != 1:
            raise InputError("probs has several chromosomes; say which one with chrom=")
        chrom = probs.chromosomes[0]
    if chrom not in probs.probs:
        raise InputError(f"chromosome {chrom!r} is not in the probabilities")
    return probs[chrom]


def _model(pheno: Any, spec: ModelSpec | None, reml: bool | None, entry: str, *,
           kinship: Any = None, addcovar: Any = None, chrom: str | None = None,
           kinship_used: bool = True) -> ModelSpec:  # fmt: skip
    """The model of one effect estimate; a LOCO kinship gives the matrix of ``chrom``."""
    model = resolve_spec(pheno, spec, reml, entry, kinship=kinship, addcovar=addcovar)
    unused = [name for name in ("Xcovar", "intcovar", "weights")
              if getattr(model, name) is not None]  # fmt: skip
    if not kinship_used and model.kinship is not None:
        unused.append("kinship")
    if unused:
        raise InputError(f"{entry} does not use {', '.join(unused)} of the model; "
                         "drop them (dataclasses.replace(spec, ...))")  # fmt: skip
    if isinstance(model.kinship, Mapping):
        if chrom is None or chrom not in model.kinship:
            raise InputError(f"{entry}: the LOCO kinship needs the chromosome (chrom=) to pick "
                             "its matrix")  # fmt: skip
        model = replace(model, kinship=model.kinship[chrom])
    return model


def _decomposed(kin: pd.DataFrame) -> KinshipEigen:
    """:func:`decompose_kinship` of ``kin``, reused when the same matrix comes again.

    Effects at several peaks of one chromosome, BLUPs and effects along it use one kinship on
    one set of individuals: :func:`~translocus.genetics.lmm.eigen_2k` keeps its decomposition.
    """
    return decompose_kinship(kin)


def _need_probs(probs: Any, entry: str) -> Any:
    if probs is None:
        raise InputError(f"{entry}: give the genotype probabilities (probs=calc_genoprob(...))")
    return probs


def _chrom_of(probs: Any) -> str | None:
    """The one chromosome the probabilities name, to pick a LOCO kinship matrix (or ``None``)."""
    if isinstance(probs, GenoProbs):
        return probs.chromosomes[0] if len(probs.probs) == 1 else None
    if isinstance(probs, xr.DataArray) and "chr" in probs.coords:
        values = np.unique(np.asarray(probs.coords["chr"].values).astype(str))
        return str(values[0]) if values.size == 1 else None
    return None


def _individuals(samples: list[str], pheno: Any, addcovar: Any, kinship: Any
                 ) -> tuple[list[str], np.ndarray, np.ndarray, pd.DataFrame | None,
                            pd.DataFrame | None, str]:  # fmt: skip
    """Who enters one trait's model, and its data.

    The individuals (in the probabilities' order) with the trait, the covariates and a row of
    the kinship; their rows among ``samples``, the trait, the covariates (dependent columns
    dropped), the kinship on them and the trait's name.
    """
    ph = as_frame(pheno, "pheno", samples)
    if ph is None or ph.shape[1] == 0:
        raise InputError("pheno has no phenotype column")
    trait = str(ph.columns[0])
    ac = as_frame(addcovar, "addcovar", samples)
    kin = as_kinship_frame(kinship, samples) if kinship is not None else None
    values = ph[trait].reindex(samples).to_numpy(dtype=float)
    keep = [s for s, v in zip(samples, values, strict=True) if np.isfinite(v)]
    if ac is not None:
        ok = set(ac.dropna().index)
        keep = [s for s in keep if s in ok]
    if kin is not None:
        keep = [s for s in keep if s in kin.index]
    if len(keep) <= 2:
        raise InputError(f"only {len(keep)} individuals have the phenotype and the genotypes")
    position = {s: i for i, s in enumerate(samples)}
    rows = np.array([position[s] for s in keep], dtype=np.int64)
    y = ph.loc[keep, trait].to_numpy(dtype=float)
    ac = drop_depcols(ac.loc[keep] if ac is not None else None, add_intercept=True)
    return keep, rows, y, ac, kin.loc[keep, keep] if kin is not None else None, trait


def _with_intercept(ac: pd.DataFrame | None, n: int) -> np.ndarray:
    """``[n, c]``: a column of ones, then the covariates."""
    if ac is None:
        return np.ones((n, 1))
    return np.column_stack([np.ones(n), ac.to_numpy(dtype=float)])


def _genotypes(arr: xr.DataArray, rows: np.ndarray) -> np.ndarray:
    """The probabilities ``[M, n, k]`` of the individuals ``rows`` (in their order)."""
    geno = np.asarray(arr.values, dtype=float)  # [M, n, k]
    if rows.size != geno.shape[1]:  # (rows follow the probabilities' order)
        geno = geno[:, rows, :]
    return geno


def _align(arr: xr.DataArray, pheno: Any, addcovar: Any, kinship: Any
           ) -> tuple[list[str], np.ndarray, np.ndarray, pd.DataFrame | None,
                      pd.DataFrame | None, str]:  # fmt: skip
    samples = [str(s) for s in arr.coords["sample"].values]
    keep, rows, y, ac, kin, trait = _individuals(samples, pheno, addcovar, kinship)
    return keep, _genotypes(arr, rows), y, ac, kin, trait


@dataclass(frozen=True)
class EffectModel:
    """The model of one trait's QTL effects on one set of individuals, fitted once.

    :func:`scan1coef` and :func:`scan1blup` fit it at each call; the effects of one trait at a
    peak and along its chromosome (``translocus scan``) share it: with a kinship, the
    decomposition of ``2K`` on the individuals and the null model's h² (REML or ML) are made
    once. Make it with :meth:`fit`.

    Examples
    --------
    >>> from translocus.core.simulate import simulate_cross
    >>> from translocus.genetics.genoprob import calc_genoprob
    >>> from translocus.genetics.kinship import calc_kinship
    >>> cross = simulate_cross(cross_type="f2", n=40, n_markers=60, seed=3, n_traits=1).cross
    >>> probs = calc_genoprob(cross)
    >>> arr = probs[probs.chromosomes[0]]
    >>> kin = calc_kinship(probs)
    >>> model = EffectModel.fit(cross.pheno, arr, kinship=kin)
    >>> model.coef(arr).equals(scan1coef(cross.pheno, arr, kinship=kin))
    True
    >>> model.blup(arr.isel(marker=[0]), se=True).shape
    (1, 8)
    """

    samples: tuple[str, ...]  # the probabilities' individuals, in their order
    keep: list[str]
    rows: np.ndarray  # of ``keep`` among ``samples``
    y: np.ndarray
    ac: pd.DataFrame | None
    eig: KinshipEigen | None
    hsq: float | None
    reml: bool
    tol: float

    @classmethod
    def fit(cls, pheno: Any, probs: xr.DataArray, *, kinship: Any = None, addcovar: Any = None,
            reml: bool = True, tol: float = 1e-12,
            decompositions: dict[tuple[str, ...], KinshipEigen] | None = None
            ) -> EffectModel:  # fmt: skip
        """The model of the first trait of ``pheno`` on the individuals of ``probs``.

        ``probs`` is one chromosome's probabilities (nothing of them is read but their
        individuals); ``kinship`` one matrix (e.g. that chromosome's LOCO matrix).
        ``decompositions`` (by the individuals used, in order) gives the decomposition of
        ``kinship`` made for another trait with the same individuals, and keeps one made here.
        """
        samples = [str(s) for s in probs.coords["sample"].values]
        keep, rows, y, ac, kin, _ = _individuals(samples, pheno, addcovar, kinship)
        eig = hsq = None
        if kin is not None:  # the null LMM, fitted once for every estimate of the trait
            eig = decompositions.get(tuple(keep)) if decompositions is not None else None
            if eig is None:
                eig = _decomposed(kin)
                if decompositions is not None:
                    decompositions[tuple(keep)] = eig
            hsq = float(fit_null_lmm(eig, y[:, None], _with_intercept(ac, len(keep)),
                                     reml=reml, tol=tol).hsq[0])  # fmt: skip
        return cls(samples=tuple(samples), keep=keep, rows=rows, y=y, ac=ac, eig=eig,
                   hsq=hsq, reml=bool(reml), tol=float(tol))  # fmt: skip

    @property
    def x(self) -> np.ndarray:
        """``[n, c]``: the intercept and the covariates."""
        return _with_intercept(self.ac, len(self.keep))

    def _sqrt_weights(self) -> tuple[KinshipEigen, np.ndarray]:
        """The decomposition and ``1 / sqrt(h λ + 1 - h)`` of the null model's h²."""
        assert self.eig is not None and self.hsq is not None
        h = self.hsq
        return self.eig, 1.0 / np.sqrt(h * self.eig.values + 1.0 - h)

    def genotypes(self, probs: xr.DataArray) -> np.ndarray:
        """The probabilities ``[M, n, k]`` of the model's individuals (``probs`` read once)."""
        samples = tuple(str(s) for s in probs.coords["sample"].values)
        if samples != self.samples:
            raise InputError("the probabilities hold other individuals than the effect model; "
                             "fit it on these (EffectModel.fit)")  # fmt: skip
        return _genotypes(probs, self.rows)

    def _design(self, arr: xr.DataArray) -> np.ndarray:
        """``[M, q, n]``: each position's design (genotypes, covariates), transposed."""
        geno = self.genotypes(arr)
        m_count, n, k = geno.shape
        cov = np.zeros((n, 0)) if self.ac is None else self.ac.to_numpy(dtype=float)
        design_t = np.empty((m_count, k + cov.shape[1], n))
        design_t[:, :k, :] = geno.transpose(0, 2, 1)
        design_t[:, k:, :] = cov.T[None, :, :]
        return design_t

    def rotate(self, arr: xr.DataArray) -> np.ndarray:
        """The designs of the positions of ``arr`` rotated by the kinship's eigenvectors.

        ``[M, q, n]``, the rows of ``X'U`` (not yet weighted by the model's h²): traits with
        the same individuals and kinship share them (:meth:`coef` with ``rotated=``).
        """
        if self.eig is None:
            raise InputError("EffectModel.rotate: the model has no kinship; use coef(arr)")
        design_t = self._design(arr)
        m_count, q, n = design_t.shape
        return (design_t.reshape(m_count * q, n) @ self.eig.vectors_t.T).reshape(m_count, q, n)

    def coef(self, arr: xr.DataArray, *, se: bool = True, zerosum: bool = True,
             rotated: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
        """:func:`scan1coef` at the positions of ``arr`` (one chromosome's probabilities).

        ``rotated`` (:meth:`rotate` of the same positions, possibly made for another trait
        with the same individuals and kinship) saves the product with the eigenvectors: the
        rotated designs are weighted, ``(X'U) W^1/2`` instead of ``X' (U W^1/2)`` (equal but
        for rounding: the same estimates to about 1e-15 of their scale).
        """
        states = [str(s) for s in arr.coords[arr.dims[2]].values]
        k, ac, y = len(states), self.ac, self.y
        if rotated is not None:
            if self.eig is None or self.hsq is None:
                raise InputError("EffectModel.coef: rotated= needs a model with a kinship")
            if rotated.shape[0] != arr.sizes["marker"] or rotated.shape[2] != len(self.keep):
                raise InputError("EffectModel.coef: rotated= holds other positions or "
                                 "individuals than arr")  # fmt: skip
            eig, sw = self._sqrt_weights()
            design_t = rotated * sw
            y = (y @ eig.vectors_t.T) * sw
        else:
            design_t = self._design(arr)
            if self.eig is not None and self.hsq is not None:  # GLS: rotate and weight
                eig, sw = self._sqrt_weights()
                rot = eig.vectors_t.T * sw[None, :]  # rows of (W^1/2 U' X)' are X' U W^1/2
                m_count, q, n = design_t.shape
                design_t = (design_t.reshape(m_count * q, n) @ rot).reshape(m_count, q, n)
                y = y @ rot
        n = design_t.shape[2]
        coef, ses = _ols_batch(design_t, y, self.tol)
        names = states + ([] if ac is None else list(ac.columns))
        out = pd.DataFrame(coef, index=[str(m) for m in arr.coords["marker"].values], columns=names)
        se_out = pd.DataFrame(ses, index=out.index, columns=names)
        if zerosum:
            mu = np.nanmean(coef[:, :k], axis=1)
            out[states] = coef[:, :k] - mu[:, None]
            out["intercept"] = mu
            se_out["intercept"] = np.sqrt(np.nanmean(ses[:, :k] ** 2, axis=1))
        if se:
            se_out.columns = [f"SE_{c}" for c in se_out.columns]
            out = pd.concat([out, se_out], axis=1)
        out.attrs["sample_size"] = n
        return out

    def blup(self, arr: xr.DataArray, *, se: bool = False, hsq: Any = None) -> pd.DataFrame:
        """:func:`scan1blup` at the positions of ``arr`` (one chromosome's probabilities)."""
        geno = self.genotypes(arr)
        m_count, n, k = geno.shape
        x, y = self.x, self.y
        c = x.shape[1]
        polygenic = self.hsq
        if self.eig is not None and polygenic is not None:  # R/qtl2's scan1blup_pg
            eig, sw = self._sqrt_weights()
            rot = eig.vectors_t * sw[:, None]
            # one BLAS product for every position: (n, n) @ (n, m * k)
            flat = np.ascontiguousarray(geno.transpose(1, 0, 2)).reshape(n, m_count * k)
            geno = np.ascontiguousarray((rot @ flat).reshape(n, m_count, k).transpose(1, 0, 2))
            y = rot @ y
            x = rot @ x
        xy = np.column_stack([x, y])
        ldx = logdet_xpx(x)
        reml, tol = self.reml, self.tol
        coef = np.zeros((m_count, k + c))
        ses = np.full((m_count, k + c), np.nan)
        fixed = None if hsq is None else np.broadcast_to(np.asarray(hsq, dtype=float), (m_count,))
        h_all = np.empty(m_count)
        loglik = np.empty(m_count)
        for m in range(m_count):
            h_m = None if fixed is None else float(fixed[m])
            coef[m], h_all[m], loglik[m], se_m = blup_position(geno[m], xy, ldx, reml=reml,
                                                               tol=tol, hsq=h_m, se=se)  # fmt: skip
            if se_m is not None:
                ses[m] = se_m
        states = [str(s) for s in arr.coords[arr.dims[2]].values]
        ac = self.ac
        names = states + ["intercept"] + ([] if ac is None else list(ac.columns))
        markers = [str(mk) for mk in arr.coords["marker"].values]
        out = pd.DataFrame(coef, index=markers, columns=names)
        if se:
            out = pd.concat([out, pd.DataFrame(ses, index=markers,
                                               columns=[f"SE_{c}" for c in names])], axis=1)  # fmt: skip
        out.attrs["sample_size"] = n
        out.attrs["hsq"] = h_all
        out.attrs["loglik"] = loglik
        if polygenic is not None:
            out.attrs["hsq_polygenic"] = polygenic
        return out


#: Peaks whose designs :func:`peak_coefficients` holds at once.
PEAK_BATCH = 512
#: Positions whose unit-diagonal Gram matrix has a condition number below this are solved by
#: the normal equations (relative error about ``1e-16 * cond``); the others by QR.
GRAM_COND = 1e8


def _ols_batch(xt: np.ndarray, y: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and SEs of ``y ~ x_m`` for a stack of designs and one response each.

    The designs are transposed, ``xt`` ``[M, q, n]``; the response is ``y`` ``[n]`` (the same
    for all) or ``[M, n]`` (one per design).

    Positions clearly of full rank by R/qtl2's rule (every pivot of the column-pivoted QR above
    1e-12 of the first; checked with the margin ``RANK_CLEAR`` through the lower bound
    ``det(X'X) / max_j ||x_j||^(2q)`` of the smallest squared pivot ratio) and well conditioned
    go through the normal equations (batched products), the other full-rank ones through QR.
    The rest are fitted as R/qtl2 fits them (:func:`_ols_pivoted`): coefficients of the
    columns pivoted QR drops are NaN.
    """
    m_count, q, n = xt.shape
    coef = np.full((m_count, q), np.nan)
    se = np.full((m_count, q), np.nan)
    gram = xt @ xt.transpose(0, 2, 1)
    ym = np.broadcast_to(y, (m_count, n))  # one response per design
    xty = xt @ y if y.ndim == 1 else np.einsum("mqn,mn->mq", xt, y)
    d2 = np.einsum("mii->mi", gram)
    d = np.sqrt(d2)
    d = np.where(d > 0, d, 1.0)  # a zero column: left as it is, found by the eigenvalues
    ev = np.linalg.eigvalsh(gram / (d[:, :, None] * d[:, None, :]))
    top = np.max(d2, axis=1, keepdims=True)
    bound = np.prod(ev, axis=1) * np.prod(d2 / np.where(top > 0, top, 1.0), axis=1)
    full_rank = (bound > RANK_CLEAR) & (top[:, 0] > 0)
    easy = full_rank & (ev[:, 0] * GRAM_COND > ev[:, -1])
    pick = slice(None) if easy.all() else easy
    if np.any(easy):
        inv = np.linalg.inv(gram[pick])
        beta = (inv @ xty[pick][..., None])[..., 0]
        resid = ym[pick] - (beta[:, None, :] @ xt[pick])[:, 0, :]
        sigma = np.sqrt(np.sum(resid**2, axis=1) / (n - q))
        coef[pick] = beta
        se[pick] = sigma[:, None] * np.sqrt(np.einsum("mii->mi", inv))
    hard = np.flatnonzero(full_rank & ~easy)
    if hard.size:
        x = xt[hard].transpose(0, 2, 1)
        qmat, r = np.linalg.qr(x)
        qty = (qmat.transpose(0, 2, 1) @ ym[hard][..., None])[..., 0]
        beta = np.linalg.solve(r, qty[..., None])[..., 0]
        resid = ym[hard] - (x @ beta[..., None])[..., 0]
        sigma = np.sqrt(np.sum(resid**2, axis=1) / (n - q))
        rinv = np.linalg.inv(r)
        coef[hard] = beta
        se[hard] = sigma[:, None] * np.sqrt(np.sum(rinv**2, axis=2))
    for m in np.flatnonzero(~full_rank):
        coef[m], se[m] = _ols_pivoted(xt[m].T, np.ascontiguousarray(ym[m]), tol)
    return coef, se


def _ols_pivoted(xm: np.ndarray, ym: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """One position not clearly of full rank, fitted as R/qtl2 fits it.

    Column-pivoted Householder QR (LAPACK's, which pivots as Eigen's ``ColPivHouseholderQR``:
    largest remaining norm first); the leading columns whose ``|R_kk|`` exceed ``tol`` times
    ``|R_11|`` are kept, the others get NaN.
    """
    n, q = xm.shape
    coef = np.full(q, np.nan)
    se = np.full(q, np.nan)
    qmat, rmat, perm = scipy.linalg.qr(xm, mode="economic", pivoting=True)
    diag = np.abs(np.diag(rmat))
    rank = int(np.sum(diag > tol * diag[0])) if diag.size and diag[0] > 0 else 0
    if rank == 0:
        return coef, se
    r = rmat[:rank, :rank]
    beta = scipy.linalg.solve_triangular(r, qmat[:, :rank].T @ ym)
    resid = ym - xm[:, perm[:rank]] @ beta
    sigma = np.sqrt(float(resid @ resid) / (n - rank))
    rinv = scipy.linalg.solve_triangular(r, np.eye(rank))
    coef[perm[:rank]] = beta
    se[perm[:rank]] = sigma * np.sqrt(np.sum(rinv**2, axis=1))
    return coef, se


def scan1coef(
    pheno: Any = None,
    probs: GenoProbs | xr.DataArray | None = None,
    *,
    chrom: str | None = None,
    kinship: Any = None,
    addcovar: Any = None,
    se: bool = True,
    zerosum: bool = True,
    reml: bool | None = None,
    tol: float = 1e-12,
    spec: ModelSpec | None = None,
) -> pd.DataFrame:
    """Estimated QTL effects at each position of one chromosome.

    Parameters
    ----------
    pheno
        One trait (Series, or the first column of a table).
    probs
        Genotype/allele probabilities; ``chrom`` picks the chromosome.
    kinship
        Optional kinship matrix (e.g. the LOCO matrix of this chromosome) for the LMM; a LOCO
        mapping ``chromosome -> matrix`` uses the matrix of ``chrom``.
    addcovar
        Additive covariates, as for :func:`~translocus.genetics.scan.scan`.
    se
        Also return standard errors (columns ``SE_<coef>``).
    zerosum
        Centre the genotype effects and add their mean as ``intercept``.
    reml
        Estimate h² by REML (default) or ML.
    spec
        The model as one :class:`~translocus.genetics.spec.ModelSpec` (the scan's), instead
        of ``pheno``, ``kinship``, ``addcovar`` and ``reml``; its first phenotype is used.

    Returns
    -------
    pandas.DataFrame
        ``[marker, coefficient]``: one column per genotype/allele, then the covariates, then
        ``intercept`` (with ``zerosum``), then the ``SE_`` columns.
    """
    arr = _one_chromosome(_need_probs(probs, "scan1coef"), chrom)
    model = _model(pheno, spec, reml, "scan1coef", kinship=kinship, addcovar=addcovar,
                   chrom=chrom if chrom is not None else _chrom_of(probs))  # fmt: skip
    fitted = EffectModel.fit(model.phenotypes, arr, kinship=model.kinship,
                             addcovar=model.addcovar, reml=model.reml, tol=tol)  # fmt: skip
    return fitted.coef(arr, se=se, zerosum=zerosum)


def peak_coefficients(
    pheno: pd.DataFrame,
    probs: GenoProbs,
    peaks: pd.DataFrame,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    reml: bool = True,
    tol: float = 1e-12,
) -> pd.DataFrame:
    """:func:`scan1coef` (``zerosum``, with SEs) at many peaks of many traits at once.

    ``peaks`` has one row per peak with ``trait`` (a column of ``pheno``), ``chr`` and
    ``marker``; the result has the same index and :func:`scan1coef`'s columns at that marker
    (the allele effects, covariates, ``intercept`` and their ``SE_`` columns). The traits of a
    chromosome that miss the same individuals share one kinship decomposition; their null h²
    are fitted together and every peak's design is rotated in one product, so thousands of
    peaks (a molecular-trait scan) cost about as much as the scan of their chromosomes.
    ``kinship`` is one matrix or a LOCO mapping (the peak chromosome's matrix).
    """
    out: list[pd.DataFrame] = []
    for chrom, on_chr in peaks.groupby(peaks["chr"].astype(str), sort=False):
        arr = probs[chrom]
        kin_c = kinship.get(chrom) if isinstance(kinship, Mapping) else kinship
        states = [str(s) for s in arr.coords[arr.dims[2]].values]
        marker_of = {str(m): i for i, m in enumerate(arr.coords["marker"].values)}
        traits = list(dict.fromkeys(on_chr["trait"].astype(str)))
        present = pheno[traits].notna()
        patterns = present.T.groupby(list(present.index), sort=False).groups
        for members in patterns.values():
            names = [str(t) for t in members]
            keep, geno, _, ac, kin, _ = _align(arr, pheno[names[:1]], addcovar, kin_c)
            group = on_chr[on_chr["trait"].astype(str).isin(names)]
            y = pheno.loc[keep, names].to_numpy(dtype=float)  # [n, T]
            col = {t: j for j, t in enumerate(names)}
            n, k = geno.shape[1], geno.shape[2]
            cov = np.zeros((n, 0)) if ac is None else ac.to_numpy(dtype=float)
            q = k + cov.shape[1]
            sw = u = None
            if kin is not None:  # generalised least squares, each trait with its own h²
                eig = _decomposed(kin)
                x0 = np.column_stack([np.ones(n), cov])
                h = fit_null_lmm(eig, y, x0, reml=reml, tol=tol).hsq
                sw = 1.0 / np.sqrt(h[:, None] * eig.values[None, :] + 1.0 - h[:, None])
                u = eig.vectors_t.T
            names_c = states + ([] if ac is None else list(ac.columns))
            for s in range(0, len(group), PEAK_BATCH):  # bounded memory: designs of a batch
                rows = group.iloc[s : s + PEAK_BATCH]
                which = np.array([col[str(t)] for t in rows["trait"]], dtype=np.int64)
                at = np.array([marker_of[str(m)] for m in rows["marker"]], dtype=np.int64)
                design_t = np.empty((at.size, q, n))
                design_t[:, :k, :] = geno[at].transpose(0, 2, 1)
                design_t[:, k:, :] = cov.T[None, :, :]
                ys = y.T[which]  # [P, n]
                if sw is not None and u is not None:
                    design_t = (design_t.reshape(-1, n) @ u).reshape(at.size, q, n)
                    design_t *= sw[which][:, None, :]
                    ys = (ys @ u) * sw[which]
                coef, ses = _ols_batch(design_t, ys, tol)
                frame = pd.DataFrame(coef, index=rows.index, columns=names_c)
                se_frame = pd.DataFrame(ses, index=rows.index, columns=names_c)
                mu = np.nanmean(coef[:, :k], axis=1)
                frame[states] = coef[:, :k] - mu[:, None]
                frame["intercept"] = mu
                se_frame["intercept"] = np.sqrt(np.nanmean(ses[:, :k] ** 2, axis=1))
                se_frame.columns = [f"SE_{c}" for c in se_frame.columns]
                out.append(pd.concat([frame, se_frame], axis=1))
    if not out:
        return pd.DataFrame(index=peaks.index)
    return pd.concat(out).reindex(peaks.index)


def blup_position(
    z: np.ndarray,
    xy: np.ndarray,
    logdet_x: float,
    *,
    reml: bool = True,
    tol: float = 1e-12,
    hsq: float | None = None,
    se: bool = False,
) -> tuple[np.ndarray, float, float, np.ndarray | None]:
    """BLUPs at one position: the genotype effects are random with covariance ``h² ZZ'``.

    ``z`` is ``[n, k]`` (the probabilities), ``xy`` the covariates (intercept first) with the
    phenotype as last column. ``hsq`` fixes h² instead of estimating it.

    Returns the genotype BLUPs followed by the covariate effects, h², the REML (or ML)
    log-likelihood at h², and with ``se`` their standard errors as R/qtl2 gives them: the
    square roots of the diagonal of ``σ² (M'M / (1 - h²) + D)⁻¹``, ``M = [Z, X]``, ``D`` with
    ``1/h²`` for the genotype columns and 0 for the covariates, and ``σ²`` the weighted
    residual sum of squares over ``n - c`` (REML) or ``n`` (ML). At h² = 0 the BLUPs are 0
    with SE 0 and the covariates get their least-squares SEs.
    """
    n, k = z.shape
    c = xy.shape[1] - 1
    u, s, _ = np.linalg.svd(z, full_matrices=False)
    lam_top = s**2
    # the eigen-directions of ZZ' with eigenvalue 0 are represented by the projection of
    # [X, y] on the orthogonal complement of Z: QR rows carry exactly their sums
    top = u.T @ xy
    _, r = np.linalg.qr(xy - u @ top)
    rows = np.vstack([top, r])
    lam = np.concatenate([lam_top, np.zeros(r.shape[0])])
    n_extra = n - rows.shape[0]
    y_rot = np.ascontiguousarray(rows[:, [c]])
    x_rot = np.ascontiguousarray(rows[:, :c])
    if hsq is None:
        h = float(brent_fit_lmm(lam, y_rot, x_rot, bool(reml), logdet_x, float(tol), True,
                                int(n_extra))[0][0])  # fmt: skip
    else:
        h = float(hsq)
    loglik = float(calc_loglik(h, lam, y_rot[:, 0].copy(), x_rot, bool(reml), logdet_x,
                               int(n_extra))[0])  # fmt: skip
    sv = 1.0 / (h * lam + 1.0 - h)
    xs = rows[:, :c] * sv[:, None]
    beta = np.linalg.solve(xs.T @ rows[:, :c], xs.T @ rows[:, c])
    rr = top[:, c] - top[:, :c] @ beta
    w = h / (h * lam_top + 1.0 - h)
    coef = np.concatenate([(u.T @ z).T @ (rr * w), beta])
    if not se:
        return coef, h, loglik, None
    resid = rows[:, c] - rows[:, :c] @ beta
    sigmasq = float(np.sum(sv * resid**2)) / (n - c if reml else n)
    m = np.column_stack([z, xy[:, :c]])
    if h > 0:
        vinv = (m.T @ m) / (1.0 - h)
        vinv[np.arange(k), np.arange(k)] += 1.0 / h
        ses = np.sqrt(np.diag(np.linalg.inv(vinv)) * sigmasq)
    else:  # no genotype variance: the BLUPs are exactly 0
        x = xy[:, :c]
        ses = np.concatenate([np.zeros(k), np.sqrt(np.diag(np.linalg.inv(x.T @ x)) * sigmasq)])
    return coef, h, loglik, ses


def scan1blup(
    pheno: Any = None,
    probs: GenoProbs | xr.DataArray | None = None,
    *,
    chrom: str | None = None,
    kinship: Any = None,
    addcovar: Any = None,
    se: bool = False,
    reml: bool | None = None,
    tol: float = 1e-12,
    hsq: Any = None,
    spec: ModelSpec | None = None,
) -> pd.DataFrame:
    """BLUPs of the genotype effects at each position (random effects with kinship ``ZZ'``).

    ``hsq`` (one value, or one per position) fixes the share of variance of the genotype
    effects instead of estimating it by REML (or ML) at each position. With ``kinship`` (a
    matrix, or a LOCO mapping of which ``chrom``'s matrix is used) a residual polygenic effect
    enters as in R/qtl2: its h² is estimated once under the null model, the data are rotated by
    the eigenvectors of ``2K`` and weighted by ``1/sqrt(h² λ + 1 - h²)``, and the BLUPs are
    computed on the transformed data. The model may be given as ``spec`` (a
    :class:`~translocus.genetics.spec.ModelSpec`, its first phenotype used) instead of
    ``pheno``, ``kinship``, ``addcovar`` and ``reml``.

    Returns ``[marker, coefficient]``: the genotype/allele BLUPs, then ``intercept`` and the
    covariate effects (fixed), then with ``se`` the ``SE_`` columns. ``attrs`` carries
    ``sample_size``, per position ``hsq`` and ``loglik`` (the REML or ML log-likelihood at
    that h², constants dropped as R/qtl2 does), and with a kinship ``hsq_polygenic`` (the null
    model's h²).
    """
    arr = _one_chromosome(_need_probs(probs, "scan1blup"), chrom)
    model = _model(pheno, spec, reml, "scan1blup", kinship=kinship, addcovar=addcovar,
                   chrom=chrom if chrom is not None else _chrom_of(probs))  # fmt: skip
    fitted = EffectModel.fit(model.phenotypes, arr, kinship=model.kinship,
                             addcovar=model.addcovar, reml=model.reml, tol=tol)  # fmt: skip
    return fitted.blup(arr, se=se, hsq=hsq)


@dataclass(frozen=True)
class Fit1Result:
    """Fit of the single-QTL model at one position."""

    lod: float
    coef: pd.Series
    se: pd.Series
    fitted: pd.Series
    resid: pd.Series
    hsq: float | None
    n: int


def fit1(
    pheno: Any = None,
    probs: xr.DataArray | None = None,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    reml: bool | None = None,
    tol: float = 1e-12,
    spec: ModelSpec | None = None,
    chrom: str | None = None,
) -> Fit1Result:
    """Fit the QTL model at one position (R/qtl2 ``fit1``).

    ``probs`` is ``[sample, genotype]`` (one marker, e.g. ``probs["2"].sel(marker=m)``).
    The LOD is the Haley-Knott (or, with ``kinship``, the LMM at the null h²) likelihood
    ratio; coefficients are for all genotype columns plus covariates (no intercept). The
    model may be given as ``spec`` (a :class:`~translocus.genetics.spec.ModelSpec`, its first
    phenotype used) instead of ``pheno``, ``kinship``, ``addcovar`` and ``reml``; with a LOCO
    kinship, ``chrom`` names the position's chromosome.
    """
    probs = _need_probs(probs, "fit1")
    if not isinstance(probs, xr.DataArray) or probs.ndim != 2:
        raise InputError("fit1 needs the probabilities at one position: [sample, genotype]")
    model = _model(pheno, spec, reml, "fit1", kinship=kinship, addcovar=addcovar,
                   chrom=chrom if chrom is not None else _chrom_of(probs))  # fmt: skip
    reml = model.reml
    arr = probs.expand_dims(marker=["position"]).transpose("marker", "sample", probs.dims[1])
    keep, geno, y, ac, kin, _ = _align(arr, model.phenotypes, model.addcovar, model.kinship)
    n = len(keep)
    cov = np.zeros((n, 0)) if ac is None else ac.to_numpy(dtype=float)
    x_alt = np.column_stack([geno[0], cov])
    x_null = np.column_stack([np.ones(n), cov])
    h: float | None = None
    if kin is not None:
        eig = _decomposed(kin)
        fit = fit_null_lmm(eig, y[:, None], x_null, reml=reml, tol=tol)
        h = float(fit.hsq[0])
        sw = 1.0 / np.sqrt(h * eig.values + 1.0 - h)
        rot = eig.vectors_t * sw[:, None]
    else:
        rot = np.eye(n)
    ya, xa, xn = rot @ y, rot @ x_alt, rot @ x_null
    coef, ses = _ols_batch(np.ascontiguousarray(xa.T)[None], ya, tol)
    beta = np.nan_to_num(coef[0])
    rss1 = float(np.sum((ya - xa @ beta) ** 2))
    b0, *_ = np.linalg.lstsq(xn, ya, rcond=None)
    rss0 = float(np.sum((ya - xn @ b0) ** 2))
    names = [str(s) for s in arr.coords[arr.dims[2]].values] + (
        [] if ac is None else list(ac.columns)
    )
    fitted = x_alt @ beta
    return Fit1Result(
        lod=n / 2 * np.log10(rss0 / rss1),
        coef=pd.Series(coef[0], index=names),
        se=pd.Series(ses[0], index=names),
        fitted=pd.Series(fitted, index=keep),
        resid=pd.Series(y - fitted, index=keep),
        hsq=h,
        n=n,
    )
