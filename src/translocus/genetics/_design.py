"""The data handling of the genome scan, shared by scan, permutations, effects and backends.

Follows R/qtl2's ``scan1`` exactly: individuals common to all inputs with complete covariates
and at least one phenotype (:func:`prepare`); phenotypes batched by their pattern of missing
values (:func:`batch_by_missing`); dependent covariate columns dropped (:func:`drop_depcols`);
X covariates only in the null model of the X chromosome; all-zero X genotype columns and then
the first genotype column dropped. :func:`scan_result` lays LODs out as a
:class:`~translocus.genetics.results.ScanResult`.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.lazyprobs import LazyProbs
from translocus.core.model import GenoProbs
from translocus.core.threads import worker_count
from translocus.genetics.lmm import as_kinship_frame, kinship_ids, kinship_symmetric
from translocus.genetics.results import ScanResult

__all__ = [
    "Batch",
    "ChromosomeBlocks",
    "Prepared",
    "TraitSkippedWarning",
    "as_frame",
    "batch_by_missing",
    "design",
    "drop_depcols",
    "expand_intcovar",
    "hsq_sets",
    "kinship_arrays",
    "mask_constant_traits",
    "prepare",
    "scan_result",
    "set_for_chrom",
]

#: Genotype columns of the X chromosome whose mean probability is below this are dropped.
X_COL_TOL = 1e-8


class TraitSkippedWarning(UserWarning):
    """Some traits could not be scanned (too few observations or no variance)."""


# ---------------------------------------------------------------------------------------------
# input normalisation


def as_frame(obj: Any, label: str, samples: Sequence[str] | None = None) -> pd.DataFrame | None:
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
    #: [M, n, p]: first and empty X columns dropped; read per chromosome when the
    #: probabilities are read from a store (:class:`ChromosomeBlocks`)
    geno: Mapping[str, np.ndarray]
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
    need another layout copy it themselves. Outside the X chromosome the first column and the
    individuals left out are not read at all (probabilities in a store are read without them).
    """
    if arr.ndim != 3:
        raise InputError(
            f"genotype probabilities must be [marker, sample, genotype]; got {arr.dims}"
        )
    all_rows = rows.size == arr.shape[1] and np.array_equal(rows, np.arange(rows.size))
    if not is_x:
        part = arr[:, :, 1:] if all_rows else arr[:, rows, 1:]
        values = np.asarray(part.values, dtype=float)
        _check_finite(values)
        return values
    values = np.asarray(arr.values, dtype=float)
    _check_finite(values)
    cols = np.arange(values.shape[2])
    if values.shape[0]:
        means = values.mean(axis=(0, 1))
        cols = cols[means >= X_COL_TOL]
    cols = cols[1:]
    if not all_rows:
        values = values[:, rows, :]
    if cols.size and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size)):
        return values[:, :, cols[0] : cols[0] + cols.size]
    return values[:, :, cols]


def _check_finite(values: np.ndarray) -> None:
    # one pass (a sum is not finite when any value is not), the full check only to be sure
    if not np.isfinite(np.sum(values)) and not np.all(np.isfinite(values)):
        raise InputError("genotype probabilities contain missing values; recompute them")


class ChromosomeBlocks(Mapping[str, np.ndarray]):
    """``Prepared.geno`` of probabilities read from a store: each chromosome's block is read
    when a scan reaches it, and at most ``keep`` blocks are held, the one being read included.

    A scan reads a chromosome's block once per chunk of markers, and whole chromosomes run
    in parallel (one per worker thread), so ``keep`` is at least the number of worker
    threads. Room for a new block is made *before* it is read: first by dropping blocks that
    no thread works on any more (a thread that asks for another chromosome is done with its
    last one), then the least recently used. Two threads that move on to new chromosomes at
    once thus hold two blocks and read two, not four. A block is formed exactly as
    :func:`prepare` forms it from probabilities in memory (same values).
    """

    def __init__(self, probs: GenoProbs, rows: np.ndarray, is_x: Mapping[str, bool],
                 keep: int) -> None:  # fmt: skip
        self._probs = probs
        self._rows = rows
        self._is_x = dict(is_x)
        self._keep = max(1, int(keep))
        self._held: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._current: dict[int, str] = {}  # the chromosome each thread asked for last
        self._reading = 0
        #: blocks formed per chromosome (a chromosome formed twice was dropped in between)
        self.loads: Counter[str] = Counter()
        #: the most blocks held at once (those being read included)
        self.most_held = 0

    def __len__(self) -> int:
        return len(self._is_x)

    def __iter__(self) -> Iterator[str]:
        return iter(self._is_x)

    def __contains__(self, chrom: object) -> bool:
        return chrom in self._is_x

    def _make_room(self) -> None:
        """Drop blocks (under the lock) until one more fits: idle ones first, then LRU."""
        busy = set(self._current.values())
        for chrom in [c for c in self._held if c not in busy]:
            if len(self._held) + self._reading < self._keep:
                return
            del self._held[chrom]
        while self._held and len(self._held) + self._reading >= self._keep:
            self._held.popitem(last=False)

    def __getitem__(self, chrom: str) -> np.ndarray:
        with self._lock:
            self._current[threading.get_ident()] = chrom
            block = self._held.get(chrom)
            if block is not None:
                self._held.move_to_end(chrom)
                return block
            if chrom not in self._is_x:
                raise KeyError(chrom)
            self._make_room()
            self._reading += 1
            self.most_held = max(self.most_held, len(self._held) + self._reading)
        try:
            block = _probs_block(self._probs[chrom], self._rows, self._is_x[chrom])
        finally:
            with self._lock:
                self._reading -= 1
        with self._lock:
            self.loads[chrom] += 1
            self._held[chrom] = block
            self._held.move_to_end(chrom)
            while len(self._held) + self._reading > self._keep:
                self._held.popitem(last=False)
        return block


def _kinship_frame(kinship: Any, samples: Sequence[str], *, label: str) -> pd.DataFrame:
    """:func:`~translocus.genetics.lmm.as_kinship_frame` without copying a float64 DataFrame
    whose rows and columns are the same string IDs in the same order (the scan only reads it;
    twenty LOCO matrices of 2,000 mice are 640 MB). The same checks run on its values, in one
    compiled pass (:func:`~translocus.genetics.lmm.kinship_symmetric`); where they
    fail, ``as_kinship_frame`` says why. A 2-D ``xr.DataArray`` with the same string IDs on
    both axes becomes such a frame first (as ``as_kinship_frame`` makes it).
    """
    if isinstance(kinship, xr.DataArray) and kinship.ndim == 2 and kinship.dtype == np.float64:
        axes = [kinship.indexes.get(dim) for dim in kinship.dims]
        if (axes[0] is not None and axes[1] is not None and axes[0].equals(axes[1])
                and axes[0].inferred_type == "string"):  # fmt: skip
            kinship = pd.DataFrame(kinship.values, index=axes[0], columns=axes[1])
    if (
        isinstance(kinship, pd.DataFrame)
        and kinship.shape[0] == kinship.shape[1]
        and len(kinship.dtypes.unique()) == 1
        and kinship.dtypes.iloc[0] == np.float64
        and kinship.index.equals(kinship.columns)
        and kinship.index.inferred_type == "string"
    ):
        if not kinship_symmetric(kinship.to_numpy()):
            as_kinship_frame(kinship.to_numpy(), list(kinship.index), label=label)  # raises
        return kinship
    return as_kinship_frame(kinship, samples, label=label)


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
    ph = as_frame(pheno, "pheno", samples_all)
    if ph is None or ph.shape[1] == 0:
        raise InputError("pheno has no phenotype columns; pass a [sample, trait] table")
    ac = as_frame(addcovar, "addcovar", samples_all)
    xc = as_frame(Xcovar, "Xcovar", samples_all)
    ic = as_frame(intcovar, "intcovar", samples_all)
    wt = as_frame(weights, "weights", samples_all)
    if wt is not None:
        w = wt.iloc[:, 0]
        if np.any(w.dropna() <= 0):
            raise InputError("weights must all be positive; drop or fix the non-positive ones")

    loco = isinstance(kinship, Mapping)
    kin: dict[str, pd.DataFrame] | pd.DataFrame | None
    if kinship is None:
        kin = None
    elif loco:
        kin = {str(c): _kinship_frame(k, samples_all, label=f"kinship[{c!r}]")
               for c, k in kinship.items()}  # fmt: skip
        missing = [c for c in probs.chromosomes if c not in kin]
        if missing:
            raise InputError(
                f"the LOCO kinship has no matrix for chromosomes {missing}; "
                "compute it with calc_kinship(probs, type='loco')"
            )
    else:
        kin = _kinship_frame(kinship, samples_all, label="kinship")

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
    stored = isinstance(probs.probs, LazyProbs)
    geno: dict[str, np.ndarray] = {}
    markers: dict[str, list[str]] = {}
    coords: dict[str, dict[str, np.ndarray]] = {}
    is_x: dict[str, bool] = {}
    for chrom in probs.chromosomes:
        arr = probs[chrom]
        is_x[chrom] = bool(probs.is_x(chrom))
        if not stored:
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
        geno=ChromosomeBlocks(probs, rows, is_x, keep=worker_count()) if stored else geno,
        markers=markers,
        coords=coords,
        batches=batch_by_missing(y),
        x_chr=probs.x_chr,
        kinship=kin,
        kinship_arrays=kinship_arrays(kin, samples),
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


def kinship_arrays(kin: dict[str, pd.DataFrame] | pd.DataFrame | None, samples: list[str]
                    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    frames = {} if kin is None else kin if isinstance(kin, dict) else {"overall": kin}
    return {key: (frame.to_numpy(dtype=float), frame.index.get_indexer(samples))
            for key, frame in frames.items()}  # fmt: skip


def hsq_sets(prep: Prepared) -> list[tuple[str, bool]]:
    """The null models needing an h²: ``(name, with_Xcovar)`` in R/qtl2's row order."""
    if prep.loco:
        return [(c, prep.is_x[c] and prep.xcovar is not None) for c in prep.chroms]
    has_x = any(prep.is_x.values())
    has_a = not all(prep.is_x.values())
    if prep.xcovar is not None and has_x and has_a:
        return [("autosomes", False), (str(prep.x_chr), True)]
    return [("overall", prep.xcovar is not None and has_x and not has_a)]


def set_for_chrom(prep: Prepared, chrom: str, sets: list[tuple[str, bool]]) -> int:
    if prep.loco:
        return prep.chroms.index(chrom)
    if len(sets) == 2:
        return 1 if prep.is_x[chrom] else 0
    return 0


def mask_constant_traits(prep: Prepared) -> np.ndarray:
    """Mark constant phenotypes missing everywhere (they cannot be scanned) and rebatch.

    Returns each trait's count of observed values before (the sample size a trait that could
    not be scanned reports).
    """
    observed = np.sum(np.isfinite(prep.pheno), axis=0)
    for j in range(prep.pheno.shape[1]):
        col = prep.pheno[:, j]
        fin = col[np.isfinite(col)]
        if fin.size and np.ptp(fin) <= 1e-12 * max(1.0, float(np.max(np.abs(fin)))):
            prep.notes.append(prep.traits[j])
    if prep.notes:
        prep.pheno[:, [prep.traits.index(t) for t in prep.notes]] = np.nan
        prep.batches = batch_by_missing(prep.pheno)
    return observed


# ---------------------------------------------------------------------------------------------
# the result


def scan_result(prep: Prepared, lod: np.ndarray, sizes: np.ndarray, *, method: str,
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
