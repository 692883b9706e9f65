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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.core.threads import parallel_map, worker_count
from translocus.genetics._scan_kernels import (
    MOMENT_GUARD,
    covariate_basis,
    hk_rss,
    null_rss_weighted,
    pair_index,
    resid_on_basis,
)
from translocus.genetics._scan_numba import (
    exact_rss_weighted,
    gather_columns,
    pair_products,
    rss_from_moment_rows,
    weighted_moments,
)
from translocus.genetics.lmm import (
    KinshipEigen,
    as_kinship_frame,
    eigen_2k,
    fit_null_lmm,
    kinship_ids,
    logdet_xpx,
)
from translocus.genetics.results import ScanResult
from translocus.genetics.spec import ModelSpec, resolve_spec, thread_limit

__all__ = [
    "TraitSkippedWarning",
    "batch_by_missing",
    "cross_covariates",
    "drop_depcols",
    "scan",
    "x_covar",
]

#: Genotype columns of the X chromosome whose mean probability is below this are dropped.
X_COL_TOL = 1e-8
#: A batch may use dummy covariates for its missing individuals (sharing the rotation of the
#: complete data) when it lacks at most this many individuals (and at most 10% of them).
MAX_DUMMY = 16


class TraitSkippedWarning(UserWarning):
    """Some traits could not be scanned (too few observations or no variance)."""


# ---------------------------------------------------------------------------------------------
# input normalisation


def _as_frame(obj: Any, label: str, samples: Sequence[str] | None = None) -> pd.DataFrame | None:
    """A numeric ``[sample, column]`` DataFrame indexed by string IDs (``None`` passes)."""
    if obj is None:
        return None
    if isinstance(obj, pd.Series):
        frame = obj.to_frame(name=obj.name if obj.name is not None else label)
    elif isinstance(obj, pd.DataFrame):
        frame = obj.copy()
    elif isinstance(obj, xr.DataArray):
        if obj.ndim == 1:
            frame = obj.to_series().to_frame(name=obj.name or label)
        elif obj.ndim == 2:
            frame = obj.to_pandas()
            if "sample" in obj.dims and obj.dims[0] != "sample":
                frame = frame.T
        else:
            raise InputError(f"{label}: expected 1-D or 2-D data, got dims {obj.dims}")
    else:
        arr = np.asarray(obj)
        if arr.ndim == 1:
            arr = arr[:, None]
        if samples is None or arr.shape[0] != len(samples):
            raise InputError(
                f"{label}: a bare array needs one row per sample in the probabilities' order; "
                "pass a DataFrame indexed by sample ID"
            )
        frame = pd.DataFrame(arr, index=list(samples),
                             columns=[f"{label}{i + 1}" for i in range(arr.shape[1])])  # fmt: skip
    frame.index = [str(i) for i in frame.index]
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputError(f"{label}: sample ID {dup!r} appears more than once; make IDs unique")
    frame.columns = [str(c) for c in frame.columns]
    bad = [c for c, dt in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dt)]
    if bad:
        converted = frame[bad].apply(pd.to_numeric, errors="coerce")
        lost = converted.isna() & frame[bad].notna()
        if lost.to_numpy().any():
            col = lost.any(axis=0).idxmax()
            rows = list(frame.index[lost[col]])[:3]
            raise InputError(
                f"{label}, column {col!r}: values are not numbers (samples {rows}); "
                "encode them as numbers (e.g. sex as 0/1) first"
            )
        frame[bad] = converted
    return frame.astype(float)


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


def _independent_columns(x: np.ndarray, tol: float) -> list[int]:
    """Greedy left-to-right set of linearly independent columns (LINPACK ``dqrdc2`` rule)."""
    keep: list[int] = []
    basis = np.zeros((x.shape[0], 0))
    for j in range(x.shape[1]):
        col = x[:, j]
        norm0 = float(np.linalg.norm(col))
        if norm0 == 0.0:
            continue
        r = col - basis @ (basis.T @ col)
        r = r - basis @ (basis.T @ r)
        norm = float(np.linalg.norm(r))
        if norm > tol * norm0 and norm > 1e-7 * norm0:
            keep.append(j)
            basis = np.column_stack([basis, r / norm])
    return keep


def drop_depcols(
    covar: pd.DataFrame | None, *, add_intercept: bool = True, tol: float = 1e-12
) -> pd.DataFrame | None:
    """Drop covariate columns that are linear combinations of earlier ones (and the intercept).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"a": [0.0, 1, 0, 1], "one": [1.0, 1, 1, 1], "b": [0.0, 2, 0, 2]})
    >>> list(drop_depcols(c).columns)
    ['a']
    """
    if covar is None or covar.shape[1] == 0:
        return None
    complete = covar.dropna()
    x = complete.to_numpy(dtype=float)
    if add_intercept:
        x = np.column_stack([np.ones(len(x)), x])
    keep = _independent_columns(x, tol)
    if add_intercept:
        keep = [k - 1 for k in keep if k > 0]
    if not keep:
        return None
    return covar.iloc[:, keep]


def _drop_matching(base: pd.DataFrame | None, extra: pd.DataFrame | None,
                   tol: float) -> pd.DataFrame | None:  # fmt: skip
    """Drop columns of ``extra`` equal (within ``tol``) to a column of ``base``."""
    if extra is None or base is None:
        return extra
    ids = base.dropna().index.intersection(extra.dropna().index)
    keep = []
    for col in extra.columns:
        v = extra.loc[ids, col].to_numpy()
        same = any(np.max(np.abs(v - base.loc[ids, b].to_numpy()), initial=0.0) < tol
                   for b in base.columns)  # fmt: skip
        if not same:
            keep.append(col)
    return extra[keep] if keep else None


@dataclass(frozen=True)
class Batch:
    """Phenotype columns sharing one pattern of missing values (``omit``: row positions)."""

    cols: np.ndarray
    omit: np.ndarray


def batch_by_missing(pheno: np.ndarray) -> list[Batch]:
    """Group phenotype columns by missing-value pattern, as R/qtl2's ``batch_cols``.

    Columns without missing values first, then one batch per single missing position, then one
    per distinct multi-value pattern (in order of first appearance).

    >>> y = np.array([[1.0, np.nan, 2.0], [2.0, 3.0, np.nan], [3.0, 1.0, 1.0]])
    >>> [(b.cols.tolist(), b.omit.tolist()) for b in batch_by_missing(y)]
    [([0], []), ([1], [0]), ([2], [1])]
    """
    miss = ~np.isfinite(pheno)
    n_na = miss.sum(axis=0)
    out: list[Batch] = []
    none = np.flatnonzero(n_na == 0)
    if none.size:
        out.append(Batch(cols=none, omit=np.zeros(0, dtype=np.int64)))
    one = np.flatnonzero(n_na == 1)
    if one.size:
        where = np.array([np.flatnonzero(miss[:, j])[0] for j in one])
        for pos in np.unique(where):
            out.append(Batch(cols=one[where == pos], omit=np.array([pos], dtype=np.int64)))
    patterns: dict[bytes, list[int]] = {}
    for j in np.flatnonzero(n_na > 1):
        patterns.setdefault(np.packbits(miss[:, j]).tobytes() + bytes([0]) +
                            str(miss.shape[0]).encode(), []).append(int(j))  # fmt: skip
    for cols in patterns.values():
        out.append(Batch(cols=np.array(cols, dtype=np.int64),
                         omit=np.flatnonzero(miss[:, cols[0]]).astype(np.int64)))  # fmt: skip
    return out


# ---------------------------------------------------------------------------------------------
# prepared data shared by scan, permutations and effects


@dataclass
class Prepared:
    """Inputs aligned to the analysed individuals (internal to the genetics engine)."""

    samples: list[str]
    traits: list[str]
    pheno: np.ndarray  # [n, T], NaN = missing
    addcovar: np.ndarray | None
    addcovar_names: list[str]
    xcovar: np.ndarray | None
    intcovar: np.ndarray | None
    sqrt_w: np.ndarray | None
    chroms: list[str]
    is_x: dict[str, bool]
    geno: dict[str, np.ndarray]  # [M, n, p]: first and empty X columns dropped
    markers: dict[str, list[str]]
    coords: dict[str, dict[str, np.ndarray]]
    batches: list[Batch]
    x_chr: str | None
    kinship: dict[str, pd.DataFrame] | pd.DataFrame | None = None
    loco: bool = False
    tol: float = 1e-12
    notes: list[str] = field(default_factory=list)
    #: each kinship as an array and the position of every analysed sample in it
    kinship_arrays: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _probs_block(arr: xr.DataArray, rows: np.ndarray, is_x: bool) -> np.ndarray:
    """``[M, n, p]`` block of one chromosome: empty X columns and the first column dropped.

    A view of the probabilities (no copy) when all individuals are kept; the kernels that
    need another layout copy it themselves.
    """
    values = np.asarray(arr.values, dtype=float)
    if values.ndim != 3:
        raise InputError(
            f"genotype probabilities must be [marker, sample, genotype]; got {arr.dims}"
        )
    # one pass (a sum is not finite when any value is not), the full check only to be sure
    if not np.isfinite(np.sum(values)) and not np.all(np.isfinite(values)):
        raise InputError("genotype probabilities contain missing values; recompute them")
    cols = np.arange(values.shape[2])
    if is_x and values.shape[0]:
        means = values.mean(axis=(0, 1))
        cols = cols[means >= X_COL_TOL]
    cols = cols[1:]
    if rows.size != values.shape[1] or not np.array_equal(rows, np.arange(rows.size)):
        values = values[:, rows, :]
    if cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        return values[:, :, cols[0] : cols[0] + cols.size]
    return values[:, :, cols]


def prepare(
    pheno: Any,
    probs: GenoProbs,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    tol: float = 1e-12,
) -> Prepared:
    """Align and clean the scan inputs exactly as R/qtl2's ``scan1`` does."""
    if not isinstance(probs, GenoProbs):
        raise InputError("probs must be a GenoProbs object (from calc_genoprob)")
    if len(probs.probs) == 0:
        raise InputError("probs has no chromosomes; compute genotype probabilities first")
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(f"tol={tol} must be a positive number")
    samples_all = [str(s) for s in probs.samples]
    ph = _as_frame(pheno, "pheno", samples_all)
    if ph is None or ph.shape[1] == 0:
        raise InputError("pheno has no phenotype columns; pass a [sample, trait] table")
    ac = _as_frame(addcovar, "addcovar", samples_all)
    xc = _as_frame(Xcovar, "Xcovar", samples_all)
    ic = _as_frame(intcovar, "intcovar", samples_all)
    wt = _as_frame(weights, "weights", samples_all)
    if wt is not None:
        w = wt.iloc[:, 0]
        if np.any(w.dropna() <= 0):
            raise InputError("weights must all be positive; drop or fix the non-positive ones")

    loco = isinstance(kinship, Mapping)
    kin: dict[str, pd.DataFrame] | pd.DataFrame | None
    if kinship is None:
        kin = None
    elif loco:
        kin = {str(c): as_kinship_frame(k, samples_all, label=f"kinship[{c!r}]")
               for c, k in kinship.items()}  # fmt: skip
        missing = [c for c in probs.chromosomes if c not in kin]
        if missing:
            raise InputError(
                f"the LOCO kinship has no matrix for chromosomes {missing}; "
                "compute it with calc_kinship(probs, type='loco')"
            )
    else:
        kin = as_kinship_frame(kinship, samples_all, label="kinship")

    keep = pd.Index(samples_all)
    keep = keep[keep.isin(ph.index[np.isfinite(ph.to_numpy()).any(axis=1)])]
    for frame in (ac, xc, ic, wt):
        if frame is not None:
            keep = keep[keep.isin(frame.dropna().index)]
    ids = kinship_ids(kin if not isinstance(kin, pd.DataFrame) else kin)
    if ids is not None:
        keep = keep[keep.isin(list(ids))]
    samples = [str(s) for s in keep]
    if len(samples) <= 2:
        raise InputError(
            f"only {len(samples)} individuals have genotype probabilities, a phenotype and "
            "complete covariates; check that the sample IDs match across inputs"
        )

    ac = drop_depcols(ac.loc[samples] if ac is not None else None, add_intercept=True, tol=tol)
    if ic is not None:
        ic = ic.loc[samples]
        ic = drop_depcols(ic, add_intercept=True, tol=tol)
        if ic is not None:
            extra = _drop_matching(ac, ic, tol) if ac is not None else ic
            if extra is not None:
                ac = extra if ac is None else pd.concat([ac, extra], axis=1)
    xc = _drop_matching(ac, xc.loc[samples] if xc is not None else None, tol)

    index_all = {s: i for i, s in enumerate(samples_all)}
    rows = np.array([index_all[s] for s in samples], dtype=np.int64)
    geno: dict[str, np.ndarray] = {}
    markers: dict[str, list[str]] = {}
    coords: dict[str, dict[str, np.ndarray]] = {}
    is_x: dict[str, bool] = {}
    for chrom in probs.chromosomes:
        arr = probs[chrom]
        is_x[chrom] = bool(probs.is_x(chrom))
        geno[chrom] = _probs_block(arr, rows, is_x[chrom])
        markers[chrom] = (arr.indexes["marker"] if "marker" in arr.indexes
                          else pd.Index(arr.coords["marker"].values)).astype(str).tolist()  # fmt: skip
        coords[chrom] = {
            name: np.asarray(arr.coords[name].values, dtype=float)
            for name in ("pos_cM", "pos_Mbp")
            if name in arr.coords
        }
    y = ph.reindex(samples).to_numpy(dtype=float)
    y[~np.isfinite(y)] = np.nan
    sqrt_w = None
    if wt is not None:
        wv = wt.loc[samples].iloc[:, 0].to_numpy(dtype=float)
        if not np.all(np.abs(wv - 1.0) < 1e-12):
            sqrt_w = np.sqrt(wv)
    return Prepared(
        samples=samples,
        traits=list(ph.columns),
        pheno=y,
        addcovar=None if ac is None else ac.to_numpy(dtype=float),
        addcovar_names=[] if ac is None else list(ac.columns),
        xcovar=None if xc is None else xc.to_numpy(dtype=float),
        intcovar=None if ic is None else ic.to_numpy(dtype=float),
        sqrt_w=sqrt_w,
        chroms=list(probs.chromosomes),
        is_x=is_x,
        geno=geno,
        markers=markers,
        coords=coords,
        batches=batch_by_missing(y),
        x_chr=probs.x_chr,
        kinship=kin,
        kinship_arrays=_kinship_arrays(kin, samples),
        loco=loco,
        tol=tol,
    )


def expand_intcovar(block: np.ndarray, intcovar: np.ndarray | None) -> np.ndarray:
    """Append genotype x interactive-covariate columns to ``[.., n, p]`` blocks."""
    if intcovar is None:
        return block
    parts = [block] + [block * intcovar[:, j][None, :, None] for j in range(intcovar.shape[1])]
    return np.ascontiguousarray(np.concatenate(parts, axis=-1))


def design(prep: Prepared, rows: np.ndarray, *, with_x: bool) -> np.ndarray:
    """``[1, addcovar(, Xcovar)]`` for some rows, independent columns only."""
    parts = [np.ones((rows.size, 1))]
    if prep.addcovar is not None:
        parts.append(prep.addcovar[rows])
    if with_x and prep.xcovar is not None:
        parts.append(prep.xcovar[rows])
    c = np.column_stack(parts)
    if c.shape[1] > 1:
        keep = _independent_columns(c, prep.tol)
        if 0 not in keep:
            keep = [0] + keep
        c = c[:, keep]
    return c


# ---------------------------------------------------------------------------------------------
# Haley-Knott


#: Haley-Knott takes the moment kernel up to this many genotype columns (with interactions);
#: beyond, a pivoted-QR basis per marker costs less.
HK_MOMENT_COLUMNS = 12


def hk_uses_moments(prep: Prepared) -> bool:
    """Whether Haley-Knott goes through the moment kernel (:func:`_hk_moments`)."""
    width = max(g.shape[2] for g in prep.geno.values()) * (
        1 + (0 if prep.intcovar is None else prep.intcovar.shape[1])
    )
    return width <= HK_MOMENT_COLUMNS


def _hk(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
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
    parts: dict[bool, list[_Part]] = {with_x: [] for with_x in designs}
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
            parts[with_x].append(_Part(batch=batch, n_obs=n_all - batch.omit.size,
                                       hsq=np.zeros(batch.cols.size), y=y, c_alt=designs[False],
                                       c_null=c_null, present=present))  # fmt: skip
    cols = np.concatenate([part.batch.cols for part in parts[False]] + [np.zeros(0, np.int64)])
    lod[:, np.setdiff1d(np.arange(len(prep.traits)), cols)] = np.nan
    if not parts[False]:
        return lod, sizes
    # the trait side is the same on every chromosome (but the X one's null model)
    needed = {prep.is_x[c] and prep.xcovar is not None for c in prep.chroms if prep.markers[c]}
    sides = {with_x: _trait_side(prep, None, parts[with_x]) for with_x in needed}

    def chrom_scan(ci: int) -> np.ndarray | None:
        chrom = prep.chroms[ci]
        if not len(prep.markers[chrom]):
            return None
        with_x = prep.is_x[chrom] and prep.xcovar is not None
        return _lmm_chrom(prep, chrom, rows, None, parts[with_x], side=sides[with_x])

    order = sorted(range(len(prep.chroms)), key=lambda ci: -len(prep.markers[prep.chroms[ci]]))
    for ci, block in zip(order, parallel_map(chrom_scan, order, worker_count()), strict=True):
        if block is not None:
            lod[offsets[ci] : offsets[ci + 1], cols] = block
    return lod, sizes


def _hk_batch_qr(prep: Prepared, batch: Batch, lod: np.ndarray) -> None:
    """One batch on its own rows: a pivoted-QR basis per marker, one matrix product."""
    rows = np.setdiff1d(np.arange(len(prep.samples)), batch.omit)
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


# ---------------------------------------------------------------------------------------------
# linear mixed model


@dataclass
class _Group:
    """Individuals sharing one eigen-decomposition; batches analysed within it."""

    rows: np.ndarray
    batches: list[tuple[Batch, np.ndarray]]  # (batch, positions of its missing rows in `rows`)


def _lmm_groups(prep: Prepared, reml: bool) -> list[_Group]:
    n_all = len(prep.samples)
    full = _Group(rows=np.arange(n_all), batches=[])
    groups = [full]
    for batch in prep.batches:
        d = batch.omit.size
        if n_all - d <= 2:
            continue
        if d == 0 or (reml and d <= MAX_DUMMY and d <= 0.1 * n_all):
            full.batches.append((batch, batch.omit))
        else:
            rows = np.setdiff1d(np.arange(n_all), batch.omit)
            groups.append(_Group(rows=rows, batches=[(batch, np.zeros(0, dtype=np.int64))]))
    return [g for g in groups if g.batches]


def _kinship_arrays(kin: dict[str, pd.DataFrame] | pd.DataFrame | None, samples: list[str]
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    frames = {} if kin is None else kin if isinstance(kin, dict) else {"overall": kin}
    return {key: (frame.to_numpy(dtype=float), frame.index.get_indexer(samples))
            for key, frame in frames.items()}  # fmt: skip


def _kinship_for(prep: Prepared, key: str, rows: np.ndarray) -> KinshipEigen:
    values, position = prep.kinship_arrays[key if prep.loco else "overall"]
    ids = [prep.samples[i] for i in rows]
    pos = position[rows]
    if np.any(pos < 0):  # prepare() keeps only individuals the kinship has
        lacking = [i for i, q in zip(ids, pos, strict=True) if q < 0][:3]
        raise InputError(f"kinship {key!r} lacks samples {lacking}; compute it for all of them")
    k = values[np.ix_(pos, pos)]
    if prep.sqrt_w is not None:
        sw = prep.sqrt_w[rows]
        k = k * np.outer(sw, sw)
    label = f"kinship for chromosome {key}" if prep.loco else "kinship"
    return eigen_2k(k, tuple(ids), label=label)


def hsq_sets(prep: Prepared) -> list[tuple[str, bool]]:
    """The null models needing an h²: ``(name, with_Xcovar)`` in R/qtl2's row order."""
    if prep.loco:
        return [(c, prep.is_x[c] and prep.xcovar is not None) for c in prep.chroms]
    has_x = any(prep.is_x.values())
    has_a = not all(prep.is_x.values())
    if prep.xcovar is not None and has_x and has_a:
        return [("autosomes", False), (str(prep.x_chr), True)]
    return [("overall", prep.xcovar is not None and has_x and not has_a)]


def _set_for_chrom(prep: Prepared, chrom: str, sets: list[tuple[str, bool]]) -> int:
    if prep.loco:
        return prep.chroms.index(chrom)
    if len(sets) == 2:
        return 1 if prep.is_x[chrom] else 0
    return 0


def _batch_design(prep: Prepared, group: _Group, missing: np.ndarray, with_x: bool) -> np.ndarray:
    c = design(prep, group.rows, with_x=with_x)
    if missing.size:
        dummy = np.zeros((group.rows.size, missing.size))
        dummy[missing, np.arange(missing.size)] = 1.0
        c = np.column_stack([c, dummy])
    if prep.sqrt_w is not None:
        c = c * prep.sqrt_w[group.rows][:, None]
    return c


#: Markers per chunk (at least): the chunk's genotype columns, their rotation and packed
#: products stay in cache through the matrix products that use them.
MARKER_CHUNK = 48
#: Cache budget of a chunk in values per marker times markers (48 DO markers of 7 columns and
#: 261 individuals): small problems (few individuals, columns and traits) take larger chunks,
#: so that a chromosome is a few calls rather than many small ones.
CHUNK_CELLS = 48 * 7 * 261
#: Up to this many traits and genotype columns the moments of a chunk come from one compiled
#: pass (``weighted_moments``); beyond, from pair products and matrix products over all traits.
FUSED_TRAITS = 3
FUSED_COLUMNS = 8


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


def genotype_columns(prep: Prepared, chrom: str) -> np.ndarray:
    """The chromosome's probabilities (first/empty columns dropped) as ``[M, p, n_all]``."""
    block = prep.geno[chrom]
    out = np.empty((block.shape[0], block.shape[2], block.shape[1]))
    gather_columns(block, np.arange(block.shape[1], dtype=np.int64), 0, out)
    return out


@dataclass
class _Part:
    """One missing-data batch within a group, ready for the scan of one chromosome."""

    batch: Batch
    n_obs: int
    hsq: np.ndarray  # [T_b]
    y: np.ndarray  # [n_g, T_b] weighted phenotypes, zeros at missing entries
    c_alt: np.ndarray  # [n_g, c] weighted alternative-model design (dummies included)
    c_null: np.ndarray  # [n_g, c'] weighted null design of this chromosome
    #: [n_g, T_b] 0/1 weights leaving missing values out (identity kinship only; None: all 1)
    present: np.ndarray | None = None


@dataclass
class _TraitSide:
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
    lhs: np.ndarray  # [n, K] weighted covariates and phenotypes of all traits
    lhs_t: np.ndarray
    share: np.ndarray


def _trait_side(prep: Prepared, eig: KinshipEigen | None, parts: list[_Part]) -> _TraitSide:
    """Everything of :func:`_lmm_chrom` that does not involve the genotypes.

    For Haley-Knott it is the same on every chromosome of one null model, so computed once.
    """
    tol = prep.tol
    n = parts[0].y.shape[0]
    hsq = np.concatenate([part.hsq for part in parts])
    n_trait = hsq.size
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
        w = 1.0 / (hsq[None, :] * eig.values[:, None] + 1.0 - hsq[None, :])  # [n, T]

        def rotate(a: np.ndarray) -> np.ndarray:
            return np.asarray(vt @ a)

    wt = np.ascontiguousarray(w.T)  # [T, n]
    y_r = rotate(np.column_stack([part.y for part in parts]))
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
            blocks.append(w[:, t0, None] * ca)
            share[t0 + 1 : t0 + tb] = True
        else:
            blocks.append((w[:, sl, None] * ca[:, None, :]).reshape(n, tb * c))
        cov_gram[sl, :c, :c] = np.einsum("nt,nc,nd->tcd", w[:, sl], ca, ca)
        cov_y[sl, :c] = wy[:, sl].T @ ca
        cov_cnt[sl] = c
        cov_row[sl] = row if identity else row + c * np.arange(tb)
        cn = ca if part.c_null is part.c_alt else rotate(part.c_null)
        rss0[sl] = null_rss_weighted(cn, y_r[:, sl], wt[sl], tol)
        n_obs[sl] = part.n_obs
        row += c if identity else tb * c
        t0 += tb
    lhs = np.concatenate(blocks + [wy], axis=1)  # [n, K]
    return _TraitSide(w=w, wt=wt, part_w=part_w, part_of=part_of, y_r=y_r,
                      trait_cov=trait_cov, cov_gram=cov_gram, cov_y=cov_y, cov_cnt=cov_cnt,
                      cov_row=cov_row, y_row=row + np.arange(n_trait, dtype=np.int64),
                      yty=np.einsum("nt,nt->t", wy, y_r), rss0=rss0, n_obs=n_obs, lhs=lhs,
                      lhs_t=np.ascontiguousarray(lhs.T), share=share)  # fmt: skip


def _lmm_chrom(prep: Prepared, chrom: str, rows: np.ndarray, eig: KinshipEigen | None,
               parts: list[_Part], geno_rows: np.ndarray | None = None,
               side: _TraitSide | None = None, geno_t: np.ndarray | None = None
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
    With few traits and columns (``FUSED_TRAITS``, ``FUSED_COLUMNS``) one compiled pass
    gives the moments instead.

    ``eig=None`` is the identity (all h² zero): Haley-Knott regression, with no rotation and
    the parts' ``present`` weights (0 at a missing value). The traits of a part then share
    ``X_m' X_m`` and ``C' X_m``: both are computed once per part and the small systems are
    factorised once per part and marker. ``side`` is :func:`_trait_side` of ``eig`` and
    ``parts``, and ``geno_t`` :func:`genotype_columns` of the chromosome, when already
    computed.
    """
    tol = prep.tol
    m_count = len(prep.markers[chrom])
    n = rows.size
    ts = side if side is not None else _trait_side(prep, eig, parts)
    w, wt, part_w, part_of = ts.w, ts.wt, ts.part_w, ts.part_of
    y_r, trait_cov, share, lhs, lhs_t = ts.y_r, ts.trait_cov, ts.share, ts.lhs, ts.lhs_t
    n_trait = wt.shape[0]
    n_rows = lhs.shape[1]
    p0 = prep.geno[chrom].shape[2]
    n_scale = 1 + (0 if prep.intcovar is None else prep.intcovar.shape[1])
    p = p0 * n_scale
    pa, pb = pair_index(p)
    npair = pa.size
    per_marker = p * n + npair * n_trait + p * n_rows
    chunk = max(1, min(m_count, max(MARKER_CHUNK, CHUNK_CELLS // max(per_marker, 1))))
    fused = n_trait <= FUSED_TRAITS and p <= FUSED_COLUMNS
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
                np.dot(xr2, lhs, out=fx.reshape(mc * p, n_rows))
                pairs = pair_buf[: mc * npair * n].reshape(mc, npair, n)
                pair_products(xr2.reshape(mc, p, n), pairs)
                if part_w is not None and part_of is not None:  # one X_m' X_m per part
                    np.take(pairs.reshape(mc * npair, n) @ part_w, part_of, axis=1,
                            out=gram.reshape(mc * npair, n_trait))  # fmt: skip
                else:
                    np.dot(pairs.reshape(mc * npair, n), w, out=gram.reshape(mc * npair, n_trait))
            rss_from_moment_rows(gram, fx, m0, ts.cov_row, ts.cov_cnt, ts.y_row, ts.cov_gram,
                                 ts.cov_y, ts.yty, pa, pb, MOMENT_GUARD, rss1[bi], ok[bi],
                                 share)  # fmt: skip
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


def _lmm_group(prep: Prepared, group: _Group, reml: bool, hsq_fixed: np.ndarray | None,
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
    designs = {(bi, with_x): _batch_design(prep, group, missing, with_x)
               for bi, (_, missing) in enumerate(group.batches)
               for with_x in {False, any(wx for _, wx in sets)}}  # fmt: skip
    usable = [bi for bi, (_, missing) in enumerate(group.batches) if n_g - missing.size > 2]

    def null_fit(si: int, bi: int, eig: KinshipEigen) -> np.ndarray:
        batch = group.batches[bi][0]
        if hsq_fixed is not None:
            return np.asarray(hsq_fixed[si, batch.cols], dtype=float)
        c0 = designs[(bi, sets[si][1])]
        return fit_null_lmm(eig, ys[bi], c0, reml=reml, tol=prep.tol,
                            xpx_logdet=logdet_xpx(c0)).hsq  # fmt: skip

    def chrom_parts(with_x: bool, fits: dict[int, np.ndarray]) -> list[_Part]:
        parts = []
        for bi, h in fits.items():
            batch, missing = group.batches[bi]
            c_alt = designs[(bi, False)]
            parts.append(_Part(batch=batch, n_obs=n_g - missing.size, hsq=h, y=ys[bi],
                               c_alt=c_alt, c_null=designs[(bi, True)] if with_x else c_alt))  # fmt: skip
        return parts

    def chrom_scan(ci: int, eig: KinshipEigen, fits: dict[int, np.ndarray],
                   sides: dict[tuple[int, bool], _TraitSide] | None = None
                   ) -> tuple[np.ndarray, np.ndarray] | None:  # fmt: skip
        chrom = prep.chroms[ci]
        if not fits or not len(prep.markers[chrom]):
            return None
        with_x = prep.is_x[chrom] and prep.xcovar is not None
        parts = chrom_parts(with_x, fits)
        side = None if sides is None else sides[(_set_for_chrom(prep, chrom, sets), with_x)]
        cols = np.concatenate([part.batch.cols for part in parts])
        return cols, _lmm_chrom(prep, chrom, group.rows, eig, parts, side=side)

    # whole chromosomes in parallel, largest first
    order = sorted(range(len(prep.chroms)), key=lambda ci: -len(prep.markers[prep.chroms[ci]]))
    results: list[tuple[int, tuple[np.ndarray, np.ndarray] | None]] = []
    if prep.loco:
        # one kinship per chromosome: its decomposition, null fits and scan in one task

        def loco_task(ci: int) -> tuple[dict[int, np.ndarray], Any]:
            eig = _kinship_for(prep, prep.chroms[ci], group.rows)
            fits = {bi: null_fit(ci, bi, eig) for bi in usable}
            return fits, chrom_scan(ci, eig, fits)

        for ci, (fits, res) in zip(order, parallel_map(loco_task, order, workers), strict=True):
            for bi, h in fits.items():
                hsq[ci, group.batches[bi][0].cols] = h
            results.append((ci, res))
    else:
        eigs = dict(zip(keys, parallel_map(lambda k: _kinship_for(prep, k, group.rows), keys,
                                           workers), strict=True))  # fmt: skip
        tasks = [(si, bi) for si in range(len(sets)) for bi in usable]
        fitted = parallel_map(lambda task: null_fit(task[0], task[1], eigs[keys[0]]), tasks,
                              workers)  # fmt: skip
        by_set: dict[int, dict[int, np.ndarray]] = {si: {} for si in range(len(sets))}
        for (si, bi), h in zip(tasks, fitted, strict=True):
            by_set[si][bi] = h
            hsq[si, group.batches[bi][0].cols] = h
        # one kinship for all chromosomes: the trait side once per null model
        sides = {}
        for chrom in prep.chroms:
            key = (_set_for_chrom(prep, chrom, sets), prep.is_x[chrom] and prep.xcovar is not None)
            if key not in sides and by_set[key[0]] and len(prep.markers[chrom]):
                sides[key] = _trait_side(prep, eigs[keys[0]], chrom_parts(key[1], by_set[key[0]]))
        scans = parallel_map(
            lambda ci: chrom_scan(ci, eigs[keys[0]],
                                  by_set[_set_for_chrom(prep, prep.chroms[ci], sets)], sides),
            order, workers)  # fmt: skip
        results = list(zip(order, scans, strict=True))
    for ci, res in results:
        if res is not None:
            cols, block = res
            lod[offsets[ci] : offsets[ci + 1], cols] = block


def _lmm(
    prep: Prepared, reml: bool, hsq_fixed: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sets = hsq_sets(prep)
    total = sum(len(prep.markers[c]) for c in prep.chroms)
    n_trait = len(prep.traits)
    lod = np.full((total, n_trait), np.nan)
    hsq = np.full((len(sets), n_trait), np.nan)
    sizes = np.zeros(n_trait, dtype=np.int64)
    offsets = np.cumsum([0] + [len(prep.markers[c]) for c in prep.chroms])
    for batch in prep.batches:
        sizes[batch.cols] = len(prep.samples) - batch.omit.size
    for group in _lmm_groups(prep, reml):
        _lmm_group(prep, group, reml, hsq_fixed, lod, hsq, offsets)
    return lod, sizes, hsq


# ---------------------------------------------------------------------------------------------
# public entry point


def _result(prep: Prepared, lod: np.ndarray, sizes: np.ndarray, *, method: str,
            kinship: str, reml: bool, hsq: np.ndarray | None) -> ScanResult:  # fmt: skip
    markers = [m for c in prep.chroms for m in prep.markers[c]]
    chrom = np.concatenate([[c] * len(prep.markers[c]) for c in prep.chroms]).astype(str)
    coords: dict[str, Any] = {"marker": markers, "trait": prep.traits, "chr": ("marker", chrom)}
    for name in ("pos_cM", "pos_Mbp"):
        if all(name in prep.coords[c] for c in prep.chroms):
            coords[name] = ("marker", np.concatenate([prep.coords[c][name] for c in prep.chroms]))
    bad = (sizes <= 2) | ~np.isfinite(lod).all(axis=0)
    lod[:, bad] = np.nan
    skipped = [trait for trait, b in zip(prep.traits, bad, strict=True) if b]
    data_vars: dict[str, Any] = {
        "lod": (("marker", "trait"), lod),
        "sample_size": (("trait",), sizes.astype(np.int64)),
    }
    if hsq is not None:
        sets = [s for s, _ in hsq_sets(prep)]
        data_vars["hsq"] = (("hsq_set", "trait"), hsq)
        coords["hsq_set"] = sets
    data = xr.Dataset(data_vars, coords=coords)
    data.attrs.update(method=method, kinship=kinship, reml=int(reml), x_chr=prep.x_chr or "",
                      covariates=",".join(prep.addcovar_names))  # fmt: skip
    if skipped:
        warnings.warn(
            f"{len(skipped)} trait(s) could not be scanned (fewer than 3 observations or no "
            f"variance after the covariates): {skipped[:10]}; their LOD is missing. Drop them "
            "or check their values.",
            TraitSkippedWarning,
            stacklevel=3,
        )
    return ScanResult(data=data, skipped=tuple(skipped))


def _check_variance(prep: Prepared) -> None:
    """Mark constant phenotypes as missing everywhere (they cannot be scanned)."""
    for j in range(prep.pheno.shape[1]):
        col = prep.pheno[:, j]
        fin = col[np.isfinite(col)]
        if fin.size and np.ptp(fin) <= 1e-12 * max(1.0, float(np.max(np.abs(fin)))):
            prep.notes.append(prep.traits[j])


def scan(
    pheno: Any = None,
    probs: GenoProbs | None = None,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool | None = None,
    tol: float = 1e-12,
    spec: ModelSpec | None = None,
    threads: int | None = None,
) -> ScanResult:
    """Genome scan with a single-QTL model (R/qtl2 ``scan1``).

    The model is given either by the arguments ``pheno`` to ``reml`` or as one
    :class:`~translocus.genetics.spec.ModelSpec` (``spec=``, or in place of ``pheno``), not
    both.

    Parameters
    ----------
    pheno
        ``[sample, trait]`` numeric table (DataFrame indexed by sample ID, Series or
        ``xr.DataArray``). Each trait keeps its own non-missing individuals.
    probs
        Genotype or allele probabilities (:class:`~translocus.core.model.GenoProbs`).
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
        :func:`~translocus.genetics.permute.scan_perm`.
    threads
        At most this many kernel workers (and BLAS threads) for this call, restored after;
        default ``$TRANSLOCUS_THREADS`` or the usable cores
        (:func:`translocus.core.threads.worker_count`).

    Returns
    -------
    ScanResult
        ``lod [marker, trait]`` with ``chr``/``pos_cM``/``pos_Mbp`` coordinates,
        ``sample_size [trait]`` and, for the LMM, ``hsq [hsq_set, trait]``.

    Raises
    ------
    InputError
        Mismatched or malformed inputs (non-numeric covariates, a kinship that is not
        positive semi-definite or lacks a LOCO chromosome, fewer than 3 usable individuals),
        or the model given both as ``spec`` and as arguments.
    """
    model = resolve_spec(pheno, spec, reml, "scan", kinship=kinship, addcovar=addcovar,
                         Xcovar=Xcovar, intcovar=intcovar, weights=weights)  # fmt: skip
    if probs is None:
        raise InputError("scan: give the genotype probabilities (probs=calc_genoprob(...))")
    with thread_limit(threads):
        prep = prepare(model.phenotypes, probs, kinship=model.kinship, addcovar=model.addcovar,
                       Xcovar=model.Xcovar, intcovar=model.intcovar, weights=model.weights,
                       tol=tol)  # fmt: skip
        reml = model.reml
        observed = np.sum(np.isfinite(prep.pheno), axis=0)
        _check_variance(prep)
        if prep.notes:
            idx = [prep.traits.index(t) for t in prep.notes]
            prep.pheno[:, idx] = np.nan
            prep.batches = batch_by_missing(prep.pheno)
        if prep.kinship is None:
            lod, sizes = _hk(prep)
            sizes = np.where(sizes > 0, sizes, observed)
            return _result(prep, lod, sizes, method="hk", kinship="none", reml=reml, hsq=None)
        lod, sizes, hsq = _lmm(prep, reml)
        sizes = np.where(sizes > 0, sizes, observed)
        return _result(prep, lod, sizes, method="lmm", kinship="loco" if prep.loco else "overall",
                       reml=reml, hsq=hsq)  # fmt: skip


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
