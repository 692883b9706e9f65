"""Mediation of a QTL by molecular traits: the drop in LOD when a mediator enters the model.

The approach of the R packages ``intermediate`` (``mediation_scan``) and ``qtl2mediate``: for a
target trait ``y`` with a QTL at one position (allele probabilities ``Q``), each candidate
mediator ``m`` is added as a covariate and the QTL's LOD computed again,

- ``lod``: ``y ~ covariates`` against ``y ~ Q + covariates``,
- ``lod_mediated``: ``y ~ covariates + m`` against ``y ~ Q + covariates + m``,
- ``lod_drop = lod - lod_mediated``.

A mediator that carries the QTL's effect to the target (``Q -> m -> y``) makes ``Q`` and ``y``
nearly independent given ``m``: a large drop. Both LODs of a mediator are computed on the same
individuals, those with the target, the genotypes, the covariates and that mediator (the
common complete set); mediators missing in some individuals are counted.

Haley-Knott regression without ``kinship``; with it the LMM as the genome scan fits it
(:mod:`translocus.genetics.lmm`): h² of the null model (``y ~ covariates``, and
``y ~ covariates + m`` for the mediated LOD, as a scan with ``m`` as a covariate would
estimate it) by REML, then the LOD of generalised least squares at that h². The HK update of
one added column is closed-form (``RSS(X, m) = RSS(X) - (r_y'r_m)² / r_m'r_m`` with ``r`` the
residuals on ``X``), so thousands of mediators cost one projection.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> ids = [f"s{i}" for i in range(200)]
>>> q = pd.DataFrame(rng.dirichlet([1, 1], 200), index=ids, columns=["A", "B"])
>>> m = pd.DataFrame({"med": q["A"] * 3 + rng.normal(0, 0.3, 200),
...                   "other": rng.normal(0, 1, 200)}, index=ids)
>>> y = pd.Series(m["med"] + rng.normal(0, 0.3, 200), index=ids, name="y")
>>> result = mediation_scan(y, q, m)
>>> result.table["mediator"].tolist()
['med', 'other']
>>> bool(result.table["lod_drop"].iloc[0] > 20)
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
import xarray as xr

from translocus.core.errors import InputError, OptionError
from translocus.core.threads import blas_threads
from translocus.genetics._scan_kernels import RANK_CLEAR
from translocus.genetics.lmm import as_kinship_frame, decompose_kinship, fit_null_lmm, logdet_xpx

__all__ = [
    "HotspotMediationResult",
    "MediationResult",
    "hotspot_mediation",
    "mediation_scan",
]

#: A mediator whose residual on the design is at most this share of its own spread adds
#: nothing to the design (it is a combination of the columns already there).
_COLLINEAR = 1e-10


@dataclass(frozen=True)
class MediationResult:
    """Mediation of one target's QTL, candidates ranked by LOD drop.

    Attributes
    ----------
    table
        One row per candidate, the largest drop first: ``rank``, ``mediator``, the feature
        annotation when given (``gene_id``, ``symbol``, ``chr``, ``start``, ``end``), ``lod``,
        ``lod_mediated``, ``lod_drop``, ``n`` (individuals of both fits), ``hsq`` and
        ``hsq_mediated`` (null-model h², NaN for Haley-Knott).
    target
        The target's name.
    method
        ``"hk"`` or ``"lmm"``.
    n_samples
        Individuals with the target, genotypes and covariates.
    n_dropped
        Individuals of the target left out (target, genotypes or covariates missing, or not
        in the kinship).
    n_incomplete
        Candidates missing in some of the ``n_samples`` individuals (fitted on fewer).
    at
        ``(chr, pos)`` of the QTL, when given.
    """

    table: pd.DataFrame
    target: str
    method: str
    n_samples: int
    n_dropped: int
    n_incomplete: int
    n_candidates: int
    at: tuple[str, float] | None = None
    window: float | None = None
    notes: tuple[str, ...] = field(default=())

    def figure(self, *, n_label: int = 10) -> Any:
        """Mediator position vs LOD drop (see :func:`~.plot_eqtl.plot_mediation`)."""
        from translocus.genetics.plot_eqtl import plot_mediation

        return plot_mediation(self.table, at=self.at, n_label=n_label,
                              title=f"{self.target}: mediation ({self.method.upper()})")  # fmt: skip


def _frame(obj: Any, label: str) -> pd.DataFrame:
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, xr.DataArray):
        if obj.ndim != 2:
            raise InputError(f"{label}: expected [sample, column], got dims {obj.dims}")
        obj = obj.to_pandas()
    if not isinstance(obj, pd.DataFrame):
        raise InputError(f"{label}: expected a DataFrame indexed by sample ID, got "
                         f"{type(obj).__name__}")  # fmt: skip
    frame = obj.copy()
    frame.index = [str(i) for i in frame.index]
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputError(f"{label}: sample {dup!r} appears more than once; keep one row each")
    try:
        return frame.astype(float)
    except (TypeError, ValueError) as exc:
        bad = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])][:3]
        raise InputError(f"{label}: columns {', '.join(map(str, bad))} are not numbers; give "
                         "numeric values (encode factors as indicator columns)") from exc  # fmt: skip


def _basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of ``x`` (pivoted QR, R/qtl2's rank rule)."""
    if x.shape[1] == 0:
        return np.zeros((x.shape[0], 0))
    q, r, _ = scipy.linalg.qr(x, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > RANK_CLEAR * diag[0])) if diag.size and diag[0] > 0 else 0
    return q[:, :rank]


def _independent(x: np.ndarray) -> np.ndarray:
    """The columns of ``x`` that are linearly independent (pivoted QR, in their order)."""
    _, r, piv = scipy.linalg.qr(x, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > RANK_CLEAR * diag[0])) if diag.size and diag[0] > 0 else 0
    return x[:, np.sort(piv[:rank])]


def _resid(basis: np.ndarray, v: np.ndarray) -> np.ndarray:
    return v - basis @ (basis.T @ v)


def _rss_added(ry: np.ndarray, rm: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """RSS of ``y`` on the design plus each column ``m``, from the residuals on the design."""
    rss = float(ry @ ry)
    mm = np.einsum("ij,ij->j", rm, rm)
    ym = ry @ rm
    useful = mm > _COLLINEAR * spread
    out = np.full(rm.shape[1], rss)
    out[useful] = rss - ym[useful] ** 2 / mm[useful]
    return out


def _hk(y: np.ndarray, q: np.ndarray, cov: np.ndarray, med: np.ndarray
        ) -> tuple[float, np.ndarray]:  # fmt: skip
    n = len(y)
    x0 = np.column_stack([np.ones(n), cov])
    x1 = np.column_stack([q, cov])
    b0, b1 = _basis(x0), _basis(x1)
    spread = np.einsum("ij,ij->j", med - med.mean(0), med - med.mean(0))
    ry0, ry1 = _resid(b0, y), _resid(b1, y)
    rss0, rss1 = float(ry0 @ ry0), float(ry1 @ ry1)
    rss0m = _rss_added(ry0, _resid(b0, med), spread)
    rss1m = _rss_added(ry1, _resid(b1, med), spread)
    lod = n / 2 * math.log10(rss0 / rss1)
    return lod, n / 2 * np.log10(rss0m / rss1m)


def _gls_lod(eig: Any, h: float, y: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> float:
    """LOD of ``x1`` against ``x0`` by GLS at heritability ``h`` (rotated inputs)."""
    w = 1.0 / np.sqrt(h * eig.values + 1.0 - h)
    yw = y * w
    r0 = _resid(_basis(x0 * w[:, None]), yw)
    r1 = _resid(_basis(x1 * w[:, None]), yw)
    return len(y) / 2 * math.log10(float(r0 @ r0) / float(r1 @ r1))


def _lmm(y: np.ndarray, q: np.ndarray, cov: np.ndarray, med: np.ndarray, kin: np.ndarray,
         samples: list[str], reml: bool) -> tuple[float, float, np.ndarray, np.ndarray]:  # fmt: skip
    n = len(y)
    eig = decompose_kinship(pd.DataFrame(kin, index=samples, columns=samples))
    vt = eig.vectors_t
    x0 = _independent(np.column_stack([np.ones(n), cov]))
    x1 = np.column_stack([q, cov])
    yr, x0r, x1r, mr = vt @ y, vt @ x0, vt @ x1, vt @ med
    fit = fit_null_lmm(eig, yr[:, None], x0r, reml=reml, rotated=True,
                       xpx_logdet=logdet_xpx(x0))  # fmt: skip
    h = float(fit.hsq[0])
    lod = _gls_lod(eig, h, yr, x0r, x1r)
    spread = np.einsum("ij,ij->j", med - med.mean(0), med - med.mean(0))
    b0 = _basis(x0)
    lods = np.empty(med.shape[1])
    hs = np.empty(med.shape[1])
    with blas_threads(1):  # small products per candidate: a thread pool only thrashes
        for j in range(med.shape[1]):
            rm = _resid(b0, med[:, j])
            if float(rm @ rm) <= _COLLINEAR * spread[j]:  # nothing new in the null model
                hs[j], lods[j] = h, lod
                continue
            x0m = np.column_stack([x0, med[:, j]])
            x0mr = np.column_stack([x0r, mr[:, j]])
            fit_m = fit_null_lmm(eig, yr[:, None], x0mr, reml=reml, rotated=True,
                                 xpx_logdet=logdet_xpx(x0m))  # fmt: skip
            hs[j] = float(fit_m.hsq[0])
            lods[j] = _gls_lod(eig, hs[j], yr, x0mr, np.column_stack([x1r, mr[:, j]]))
    return lod, h, lods, hs


def _within(features: pd.DataFrame, names: list[str], at: tuple[str, float], window: float
            ) -> list[str]:  # fmt: skip
    """Candidates whose gene lies within ``window`` Mbp of ``at`` (same chromosome)."""
    from translocus.genetics.cistrans import _chrom_name

    ann = features.reindex(names)
    chrom = np.array([_chrom_name(c) for c in ann["chr"]], dtype=object)
    start = pd.to_numeric(ann["start"], errors="coerce").to_numpy(dtype=float) / 1e6
    end = pd.to_numeric(ann["end"], errors="coerce").to_numpy(dtype=float) / 1e6
    pos = float(at[1])
    gap = np.maximum(0.0, np.maximum(np.fmin(start, end) - pos, pos - np.fmax(start, end)))
    near = (chrom == _chrom_name(at[0])) & (gap <= window)
    return [n for n, ok in zip(names, near, strict=True) if ok]


def _annotation(features: pd.DataFrame | None, names: list[str]) -> pd.DataFrame:
    columns = ["gene_id", "symbol", "chr", "start", "end"]
    if features is None:
        return pd.DataFrame(index=names)
    ann = features.reindex(names)
    return ann[[c for c in columns if c in ann.columns]]


def mediation_scan(
    target: pd.Series,
    qtl_probs: pd.DataFrame,
    mediators: pd.DataFrame,
    *,
    addcovar: pd.DataFrame | None = None,
    kinship: Any = None,
    features: pd.DataFrame | None = None,
    window: float | None = None,
    at: tuple[str, float] | None = None,
    reml: bool = True,
) -> MediationResult:
    """LOD of a QTL for ``target`` without and with each candidate mediator as a covariate.

    Parameters
    ----------
    target
        ``[sample]`` the target trait (named), indexed by sample ID.
    qtl_probs
        ``[sample x allele]`` genotype or allele probabilities at the QTL's marker.
    mediators
        ``[sample x feature]`` candidate mediators (e.g. expression); missing values allowed.
    addcovar
        ``[sample x covariate]`` additive covariates (numeric; no intercept).
    kinship
        ``[sample x sample]`` kinship matrix for the LMM (or a LOCO ``{chr: matrix}``, the
        matrix of ``at``'s chromosome used); ``None`` for Haley-Knott.
    features
        Annotation of the mediators, indexed by feature ID (``gene_id``, ``symbol``, ``chr``,
        ``start``, ``end`` in bp), joined to the table; needed for ``window``.
    window
        Only the candidates whose gene lies within this many Mbp of ``at`` (same chromosome).
    at
        ``(chr, pos)`` of the QTL in Mbp.
    reml
        h² by REML (as the scan) or ML.

    Returns
    -------
    MediationResult
    """
    name = str(target.name) if target.name is not None else "target"
    y_all = _frame(target, "target").iloc[:, 0]
    probs = _frame(qtl_probs, "qtl_probs")
    med = _frame(mediators, "mediators")
    cov = _frame(addcovar, "addcovar") if addcovar is not None else None
    if window is not None:
        if not (math.isfinite(float(window)) and float(window) >= 0):
            raise OptionError("window", window, "must be a distance in Mbp of 0 or more, e.g. 10")
        if at is None:
            raise OptionError("window", window, "a window needs the QTL's position: give {at} "
                                                "as (chr, pos)")  # fmt: skip
        if features is None:
            raise OptionError("window", window, "a window needs the mediators' positions: give "
                                                "{features} (chr, start, end)")  # fmt: skip
    if features is not None:
        features = features.copy()
        features.index = [str(i) for i in features.index]
    kin: pd.DataFrame | None = None
    if kinship is not None:
        if isinstance(kinship, Mapping):
            chrom = None if at is None else str(at[0])
            if chrom is None or chrom not in kinship:
                raise OptionError("kinship", "LOCO", "a LOCO kinship needs the QTL's chromosome "
                                                     "among its matrices: give {at}")  # fmt: skip
            kinship = kinship[chrom]
        kin = as_kinship_frame(kinship)

    samples = list(y_all.index[np.isfinite(y_all.to_numpy(dtype=float))])
    ok = set(probs.index[np.isfinite(probs.to_numpy()).all(axis=1)])
    keep = [s for s in samples if s in ok]
    if cov is not None:
        ok = set(cov.index[np.isfinite(cov.to_numpy()).all(axis=1)])
        keep = [s for s in keep if s in ok]
    if kin is not None:
        ok = set(kin.index)
        keep = [s for s in keep if s in ok]
    if len(keep) <= probs.shape[1] + 2:
        raise InputError(f"only {len(keep)} individuals have {name}, the genotypes"
                         + (", the covariates" if cov is not None else "")
                         + (" and are in the kinship" if kin is not None else "")
                         + "; check that the sample IDs of the inputs match")  # fmt: skip

    names = [str(c) for c in med.columns]
    med.columns = names
    notes: list[str] = []
    if window is not None:
        assert at is not None and features is not None
        names = _within(features, names, at, float(window))
        notes.append(f"{len(names)} of {med.shape[1]} candidates within {float(window):g} Mbp "
                     f"of chr {at[0]} {float(at[1]):g} Mbp")  # fmt: skip
    values = med.reindex(index=keep, columns=names).to_numpy(dtype=float)
    present = np.isfinite(values)
    rows = []
    n_incomplete = int((~present.all(axis=0)).sum())
    # one fit per pattern of missing individuals (the common complete set of each mediator)
    complete = present.all(axis=0)
    patterns: dict[bytes, list[int]] = {}
    if complete.any():
        patterns[b"complete"] = np.flatnonzero(complete).tolist()
    for j in np.flatnonzero(~complete):
        patterns.setdefault(np.packbits(present[:, j]).tobytes(), []).append(int(j))
    for cols in patterns.values():
        use = present[:, cols[0]]
        idx = np.flatnonzero(use)
        ids = [keep[i] for i in idx]
        if len(ids) <= probs.shape[1] + 2:
            for j in cols:
                rows.append((names[j], np.nan, np.nan, len(ids), np.nan, np.nan))
            continue
        y = y_all.loc[ids].to_numpy(dtype=float)
        q = probs.loc[ids].to_numpy(dtype=float)
        c = cov.loc[ids].to_numpy(dtype=float) if cov is not None else np.zeros((len(ids), 0))
        m = values[np.ix_(idx, np.asarray(cols, dtype=np.int64))]
        if kin is None:
            lod, lods = _hk(y, q, c, m)
            h, hs = np.nan, np.full(len(cols), np.nan)
        else:
            lod, h, lods, hs = _lmm(y, q, c, m, kin.loc[ids, ids].to_numpy(dtype=float),
                                    ids, reml)  # fmt: skip
        for k, j in enumerate(cols):
            rows.append((names[j], lod, lods[k], len(ids), h, hs[k]))
    table = pd.DataFrame(rows, columns=["mediator", "lod", "lod_mediated", "n", "hsq",
                                        "hsq_mediated"])  # fmt: skip
    table["lod_drop"] = table["lod"] - table["lod_mediated"]
    ann = _annotation(features, table["mediator"].tolist())
    for k, col in enumerate(ann.columns):
        table.insert(1 + k, col, ann[col].to_numpy())
    order = ["mediator", *ann.columns, "lod", "lod_mediated", "lod_drop", "n", "hsq",
             "hsq_mediated"]  # fmt: skip
    table = table[order].sort_values(["lod_drop", "mediator"], ascending=[False, True],
                                     na_position="last", kind="stable")  # fmt: skip
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return MediationResult(
        table=table.reset_index(drop=True),
        target=name,
        method="hk" if kin is None else "lmm",
        n_samples=len(keep),
        n_dropped=len(y_all) - len(keep),
        n_incomplete=n_incomplete,
        n_candidates=len(names),
        at=None if at is None else (str(at[0]), float(at[1])),
        window=None if window is None else float(window),
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class HotspotMediationResult:
    """Mediation of a hotspot's targets, candidates ranked by their median LOD drop.

    Attributes
    ----------
    table
        One row per candidate: ``rank``, ``mediator``, annotation, ``median_drop``,
        ``mean_drop``, ``n_top`` (targets where it is the top mediator), ``n_targets`` (targets
        with a drop computed).
    drops
        ``[candidate x target]`` LOD drops.
    """

    table: pd.DataFrame
    drops: pd.DataFrame
    method: str
    at: tuple[str, float] | None = None

    def figure(self, *, n_label: int = 10) -> Any:
        """Candidate position vs median LOD drop over the targets."""
        from translocus.genetics.plot_eqtl import plot_mediation

        return plot_mediation(self.table, at=self.at, n_label=n_label, column="median_drop",
                              title=f"hotspot mediation over {self.drops.shape[1]} targets "
                                    f"({self.method.upper()})")  # fmt: skip


def hotspot_mediation(
    targets: pd.DataFrame,
    qtl_probs: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    addcovar: pd.DataFrame | None = None,
    kinship: Any = None,
    features: pd.DataFrame | None = None,
    window: float | None = None,
    at: tuple[str, float] | None = None,
    reml: bool = True,
) -> HotspotMediationResult:
    """Mediation of a trans hotspot: each candidate's LOD drop over all its target traits.

    Every target (``[sample x target]``, e.g. the traits with a distal peak in the hotspot) is
    scanned with :func:`mediation_scan`; a candidate's summary is its median and mean drop and
    the number of targets where it ranks first. The other arguments are those of
    :func:`mediation_scan`.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> ids = [f"s{i}" for i in range(150)]
    >>> q = pd.DataFrame(rng.dirichlet([1, 1], 150), index=ids, columns=["A", "B"])
    >>> m = pd.DataFrame({"hub": 3 * q["A"] + rng.normal(0, 0.3, 150),
    ...                   "bystander": rng.normal(0, 1, 150)}, index=ids)
    >>> t = pd.DataFrame({f"g{k}": m["hub"] + rng.normal(0, 0.5, 150) for k in range(5)})
    >>> top = hotspot_mediation(t, q, m).table.iloc[0]
    >>> top["mediator"], int(top["n_top"])
    ('hub', 5)
    """
    frame = _frame(targets, "targets")
    if frame.shape[1] == 0:
        raise InputError("targets: no target trait; give the traits of the hotspot")
    drops = {}
    method = "hk"
    for name in frame.columns:
        result = mediation_scan(frame[name].rename(str(name)), qtl_probs, candidates,
                                addcovar=addcovar, kinship=kinship, features=features,
                                window=window, at=at, reml=reml)  # fmt: skip
        method = result.method
        drops[str(name)] = result.table.set_index("mediator")["lod_drop"]
    matrix = pd.DataFrame(drops)
    tops = matrix.idxmax(axis=0, skipna=True).dropna() if len(matrix) else pd.Series(dtype=object)
    top_count = tops.value_counts()
    table = pd.DataFrame({
        "mediator": matrix.index.astype(str),
        "median_drop": matrix.median(axis=1, skipna=True).to_numpy(),
        "mean_drop": matrix.mean(axis=1, skipna=True).to_numpy(),
        "n_top": [int(top_count.get(m, 0)) for m in matrix.index],
        "n_targets": matrix.notna().sum(axis=1).to_numpy(),
    })  # fmt: skip
    if features is not None:
        feats = features.copy()
        feats.index = [str(i) for i in feats.index]
        ann = _annotation(feats, table["mediator"].tolist())
        for k, col in enumerate(ann.columns):
            table.insert(1 + k, col, ann[col].to_numpy())
    table = table.sort_values(["median_drop", "mediator"], ascending=[False, True],
                              na_position="last", kind="stable").reset_index(drop=True)  # fmt: skip
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return HotspotMediationResult(table=table, drops=matrix, method=method,
                                  at=None if at is None else (str(at[0]), float(at[1])))  # fmt: skip
