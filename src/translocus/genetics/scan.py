"""Single-QTL genome scan: Haley-Knott regression or a linear mixed model (R/qtl2 ``scan1``).

The LOD score at a position compares the model with the genotype (allele) probabilities there
to the null model with covariates only:

- Haley-Knott: ``LOD = n/2 (log10 RSS0 - log10 RSS1)``.
- LMM (kinship given): the same with RSS weighted by the null model's ``1/(h²λ + 1 - h²)``
  after rotating by the eigenvectors of 2K; h² is estimated once per trait (and per chromosome
  for a LOCO kinship) by REML, as R/qtl2 does. This equals R/qtl2's ML log-likelihood ratio.

Data handling follows R/qtl2 exactly: individuals common to all inputs with complete covariates
and at least one phenotype; phenotypes batched by their pattern of missing values, each batch
analysed on its own complete subset; dependent covariate columns dropped; X covariates only in
the null model of the X chromosome; all-zero X genotype columns and then the first genotype
column dropped; rank-deficient positions handled with pivoted QR (``tol``).

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
>>> out = scan(pheno, probs)
>>> out.lod["y"].idxmax()
'b'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from translocus.core.compute import ArrayBackend
from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.genetics._design import (
    TraitSkippedWarning,
    batch_by_missing,
    drop_depcols,
    mask_constant_traits,
    prepare,
    scan_result,
)
from translocus.genetics._scan_hk import scan_hk
from translocus.genetics._scan_lmm import scan_lmm
from translocus.genetics.accelerated import array_backend, scan_on_backend
from translocus.genetics.results import ScanResult
from translocus.genetics.spec import ModelSpec, resolve_spec, thread_limit

if TYPE_CHECKING:
    from translocus.genetics.distributed import StoredProbs

__all__ = [
    "TraitSkippedWarning",
    "batch_by_missing",
    "cross_covariates",
    "drop_depcols",
    "scan",
    "x_covar",
]


def x_covar(cross: Cross) -> pd.DataFrame | None:
    """The X-chromosome covariates R/qtl2's ``get_x_covar`` builds for a cross.

    A sex indicator (``1`` = male) when both sexes are present; for an F2, the cross direction
    among females too (``sex``, ``direction``). ``None`` when nothing varies.

    Examples
    --------
    >>> import pandas as pd
    >>> from translocus.core.model import Cross
    >>> c = Cross(crosstype="do", individuals=("a", "b"), geno={}, gmap={},
    ...           is_female=pd.Series([True, False], index=["a", "b"]))
    >>> x_covar(c)["sex"].tolist()
    [0.0, 1.0]
    """
    if len(cross.is_female) == 0:
        return None
    ids = [str(i) for i in cross.is_female.index]
    female = cross.is_female.to_numpy(dtype=bool)
    n_female = int(female.sum())
    sex = (~female).astype(float)
    if cross.crosstype != "f2":
        if n_female in (0, len(female)):
            return None
        return pd.DataFrame({"sex": sex}, index=ids)
    info = (cross.cross_info.iloc[:, 0].reindex(cross.is_female.index).to_numpy()
            if cross.cross_info.shape[1] else np.zeros(len(female)))  # fmt: skip
    n_forward = int(np.sum(info == 0))
    one_direction = n_forward in (0, len(female))
    if n_female == 0:
        return None
    if n_female == len(female):
        if one_direction:
            return None
        return pd.DataFrame({"direction": (info != 0).astype(float)}, index=ids)
    if one_direction:
        return pd.DataFrame({"sex": sex}, index=ids)
    direction = (female & (info == 1)).astype(float)
    return pd.DataFrame({"sex": sex, "direction": direction}, index=ids)


# ---------------------------------------------------------------------------------------------
# public entry point


def scan(
    pheno: Any = None,
    probs: GenoProbs | StoredProbs | None = None,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool | None = None,
    tol: float = 1e-12,
    spec: ModelSpec | None = None,
    backend: str | ArrayBackend | None = "cpu",
    device: str | None = None,
    client: Any = None,
    threads: int | None = None,
    chunk_bytes: int | None = None,
) -> ScanResult:
    """Genome scan with a single-QTL model (R/qtl2 ``scan1``).

    The model is given either by the arguments ``pheno`` to ``reml`` or as one
    :class:`~translocus.genetics.spec.ModelSpec` (``spec=``, or in place of ``pheno``), not
    both. Where it runs is chosen by ``backend``, ``device``, ``client`` and ``threads``; the
    LODs are the same everywhere (to rounding).

    Parameters
    ----------
    pheno
        ``[sample, trait]`` numeric table (DataFrame indexed by sample ID, Series or
        ``xr.DataArray``). Each trait keeps its own non-missing individuals.
    probs
        Genotype or allele probabilities (:class:`~translocus.core.model.GenoProbs`); with
        ``client``, also :class:`~translocus.genetics.distributed.StoredProbs`.
    kinship
        ``None`` for Haley-Knott regression; a kinship matrix (samples x samples, as from
        ``calc_kinship``) for an LMM with one h² (two with ``Xcovar``); or a mapping
        ``chromosome -> matrix`` (``calc_kinship(type="loco")``) for LOCO with one h² per
        chromosome.
    addcovar
        ``[sample, covariate]`` numeric additive covariates (e.g. sex as 0/1).
    Xcovar
        Covariates added to the null model of the X chromosome only (e.g. :func:`x_covar`).
    intcovar
        Interactive covariates (genotype x covariate terms in the alternative model); they are
        also added to ``addcovar``.
    weights
        Positive per-sample weights (residual variance ``∝ 1/weight``).
    reml
        Estimate h² by REML (``True``, the default, as R/qtl2) or ML.
    tol
        Rank tolerance of the pivoted QR and of the dependent-covariate check.
    spec
        The model (phenotypes, covariates, weights, kinship, REML) in one object, shared with
        :func:`~translocus.genetics.permute.scan_perm` and the effect estimates.
    backend
        ``"cpu"`` (default): the compiled CPU kernels. ``"torch"`` (a CUDA device when there
        is one, else torch's CPU build) or ``"numpy"``, or an
        :class:`~translocus.core.compute.ArrayBackend`: the per-marker algebra as batched
        float64 matrix products on that backend (:mod:`~translocus.genetics.accelerated`).
    device
        Torch device (``"cuda"``, ``"cuda:1"``, ``"cpu"``) with ``backend="torch"``; ``None``
        picks CUDA if present.
    client
        A ``dask.distributed.Client``: the traits are scanned in chunks on its workers
        (:mod:`~translocus.genetics.distributed`), each with this ``backend``, ``device``
        and ``threads``.
    threads
        At most this many kernel workers (and BLAS threads) for this call, restored after;
        default ``$TRANSLOCUS_THREADS`` or the usable cores
        (:func:`translocus.core.threads.worker_count`).
    chunk_bytes
        With an array backend, the size of the largest device temporary (default 256 MiB).

    Returns
    -------
    ScanResult
        ``lod [marker, trait]`` with ``chr``/``pos_cM``/``pos_Mbp`` coordinates,
        ``sample_size [trait]`` and, for the LMM, ``hsq [hsq_set, trait]``; with an array
        backend ``data.attrs`` also record ``backend`` and ``device``.

    Raises
    ------
    InputError
        Mismatched or malformed inputs (non-numeric covariates, a kinship that is not
        positive semi-definite or lacks a LOCO chromosome, fewer than 3 usable individuals),
        the model given both as ``spec`` and as arguments, or an unavailable backend or
        device (torch not installed, no CUDA device).
    """
    model = resolve_spec(pheno, spec, reml, "scan", kinship=kinship, addcovar=addcovar,
                         Xcovar=Xcovar, intcovar=intcovar, weights=weights)  # fmt: skip
    if probs is None:
        raise InputError("scan: give the genotype probabilities (probs=calc_genoprob(...))")
    if client is not None:
        # imported here: the workers' tasks call this function
        from translocus.genetics.distributed import scan_on_client

        return scan_on_client(model, probs, tol=tol, client=client, backend=backend,
                              device=device, threads=threads, chunk_bytes=chunk_bytes)  # fmt: skip
    if not isinstance(probs, GenoProbs):
        raise InputError("probs must be a GenoProbs object (from calc_genoprob); stored "
                         "probabilities (StoredProbs) need a client=")  # fmt: skip
    be = array_backend(backend, device, "scan")
    with thread_limit(threads):
        prep = prepare(model.phenotypes, probs, kinship=model.kinship, addcovar=model.addcovar,
                       Xcovar=model.Xcovar, intcovar=model.intcovar, weights=model.weights,
                       tol=tol)  # fmt: skip
        observed = mask_constant_traits(prep)
        if be is not None:
            lod, sizes, hsq = scan_on_backend(prep, be, model.reml, chunk_bytes)
        elif prep.kinship is None:
            (lod, sizes), hsq = scan_hk(prep), None
        else:
            lod, sizes, hsq = scan_lmm(prep, model.reml)
    sizes = np.where(sizes > 0, sizes, observed)
    kind = "none" if prep.kinship is None else "loco" if prep.loco else "overall"
    out = scan_result(prep, lod, sizes, method="hk" if hsq is None else "lmm", kinship=kind,
                      reml=model.reml, hsq=hsq)  # fmt: skip
    if be is not None:
        out.data.attrs.update(backend=be.name, device=be.device)
    return out


def cross_covariates(
    cross: Cross, names: Sequence[str]
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Numeric additive covariates of a cross, and with ``sex`` its X covariates.

    ``sex`` becomes a male indicator; a numeric covariate is used as is; a text covariate
    becomes indicators of its levels after the first. Returns ``(addcovar, Xcovar)``.
    """
    if not names:
        return None, None
    cols: dict[str, pd.Series] = {}
    xc = None
    for name in names:
        if name.lower() == "sex":
            if len(cross.is_female) == 0:
                raise InputError("covariate sex: the cross has no sex information; drop it")
            cols["sex"] = (~cross.is_female.astype(bool)).astype(float)
            cols["sex"].index = [str(i) for i in cols["sex"].index]
            xc = x_covar(cross)
            continue
        if name not in cross.covar.columns:
            raise InputError(
                f"covariate {name!r} is not a covariate of the cross; use one of "
                f"{', '.join(['sex', *map(str, cross.covar.columns)])}"
            )
        col = cross.covar[name]
        if pd.api.types.is_numeric_dtype(col):
            cols[name] = col.astype(float)
        else:
            levels = pd.unique(col.dropna())
            for level in levels[1:]:
                cols[f"{name}={level}"] = (col == level).astype(float).where(col.notna())
    frame = pd.DataFrame(cols)
    frame.index = [str(i) for i in frame.index]
    return frame, xc
