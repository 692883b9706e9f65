"""Allele effects of one trait on one chromosome, recomputed from a finished scan's run folder.

A scan keeps the effects of its highest peaks only (``peak_effects.csv``,
``effects_along.parquet``). For any other trait and chromosome this recomputes them from the
inputs its ``run.json`` records — the cross, the kinship (``loco``, ``overall`` or ``none``),
the covariates, the HMM's error probability and map function — as ``translocus snps`` does:
the allele probabilities of the one chromosome, R/qtl2's ``scan1coef`` (with SEs) along it at
:data:`~translocus.pipelines.scan.MAX_EFFECT_POSITIONS` positions at most, and ``scan1coef``
and ``scan1blup`` (with SEs) at the trait's highest marker there.

:class:`ScanInputs` holds what a run's requests share (the cross and, with a kinship, the
allele-sharing sums of every chromosome, from which a LOCO matrix is one subtraction), so the
viewer reads the cross and computes the kinship once per run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog, read_run, recorded_path

__all__ = ["MAX_BLUP_POSITIONS", "ScanEffects", "ScanInputs", "scan_effects"]

#: BLUPs along a chromosome at this many positions at most (each fits its own h²).
MAX_BLUP_POSITIONS = 200


@dataclass
class ScanInputs:
    """What effects of a scan run need, read once: the cross, covariates, kinship sums."""

    run: Path
    record: dict[str, Any]
    cross: Any
    pheno: pd.DataFrame
    addcovar: pd.DataFrame | None
    kinship: str
    error_prob: float
    map_function: str
    map_name: str
    _sharing: tuple[np.ndarray, dict[str, tuple[np.ndarray, int]]] | None = None
    _samples: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_run(cls, run: Path, log: RunLog | None = None) -> ScanInputs:
        """Read a ``scan`` run folder's record and its cross (an :class:`InputError` if gone)."""
        from translocus.genetics.scan import cross_covariates
        from translocus.pipelines.genoprob import cross_for

        log = log or RunLog()
        run = Path(run)
        record = read_run(run)
        if record is None or record.get("command") != "scan":
            raise InputError(f"{run}: not a translocus scan run folder; give one written by "
                             "`translocus scan`")  # fmt: skip
        options = record.get("options") or {}
        if options.get("probs"):
            log.warn("the scan read stored probabilities; they are recomputed from the cross")
        cross_path = recorded_path(record, options.get("cross"), run)
        if cross_path is None:
            raise InputError(f"{run}/run.json: the scan's cross {options.get('cross')!r} is not "
                             "found from here; serve the run from the folder the scan was run "
                             "in, or run the scan again")  # fmt: skip
        cross = cross_for(cross_path, log, intersection=bool(options.get("intersection")))
        pheno = cross.pheno.copy()
        pheno.index = [str(i) for i in pheno.index]
        addcovar, _ = cross_covariates(cross, [str(c) for c in options.get("covar") or []])
        summary = record.get("summary") or {}
        return cls(run=run, record=record, cross=cross, pheno=pheno, addcovar=addcovar,
                   kinship=str(options.get("kinship", "loco")),
                   error_prob=float(options.get("error_prob", 0.002)),
                   map_function=str(options.get("map_function", "c-f")),
                   map_name=str(summary.get("map", "pos_Mbp")))  # fmt: skip

    def alleles(self, chrom: str) -> Any:
        """Allele probabilities of one chromosome (a ``GenoProbs`` holding only it)."""
        from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob

        probs = calc_genoprob(self.cross, error_prob=self.error_prob,
                              map_function=self.map_function, chromosomes=[chrom])  # fmt: skip
        return genoprob_to_alleleprob(probs)

    def kinship_of(self, chrom: str) -> Any:
        """The kinship the scan used for ``chrom``: ``None``, the overall or the LOCO matrix."""
        if self.kinship == "none":
            return None
        with self._lock:
            if self._sharing is None:
                self._sharing = self._all_sharing()
        total, parts = self._sharing
        n_total = sum(n for _, n in parts.values())
        if self.kinship == "overall":
            values, n = total, n_total
        else:
            own, n_own = parts[chrom]
            values, n = total - own, n_total - n_own
        if n == 0:
            raise InputError(f"{self.run}: no chromosome besides {chrom} to compute the LOCO "
                             "kinship from")  # fmt: skip
        return pd.DataFrame(values / n, index=self._samples, columns=self._samples)

    def _all_sharing(self) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, int]]]:
        from translocus.genetics.kinship import calc_kinship

        parts: dict[str, tuple[np.ndarray, int]] = {}
        total: np.ndarray | None = None
        for chrom in (str(c) for c in self.cross.chromosomes):
            alleles = self.alleles(chrom)
            one = calc_kinship(alleles, type="chr")[chrom]
            n = int(one.attrs["n_pos"])
            product = np.asarray(one.values, dtype=float) * n
            parts[chrom] = (product, n)
            total = product.copy() if total is None else total + product
            self._samples = [str(s) for s in alleles.samples]
        assert total is not None
        return total, parts


@dataclass
class ScanEffects:
    """Effects of one trait on one chromosome: along it (``coef``) and at its best marker."""

    trait: str
    chromosome: str
    marker: str
    pos: float
    along: pd.DataFrame  # marker, pos, coefficient, estimate, se
    at_peak: pd.DataFrame  # method (coef|blup), coefficient, estimate, se
    method: str  # of the scan: hk or lmm
    along_method: str = "coef"


def scan_effects(inputs: ScanInputs, trait: str, chromosome: str, *, lod: np.ndarray | None = None,
                 markers: list[str] | None = None, max_positions: int | None = None,
                 method: str = "coef") -> ScanEffects:  # fmt: skip
    """Effects of ``trait`` on ``chromosome`` as the scan's model gives them.

    ``lod`` (with ``markers``, the chromosome's LODs of the scan) picks the peak marker; without
    it the marker in the middle of the chromosome is used. ``method`` is what is estimated
    along the chromosome: ``coef`` (``scan1coef``, at up to ``max_positions`` positions, by
    default :data:`~translocus.pipelines.scan.MAX_EFFECT_POSITIONS`) or ``blup``
    (``scan1blup`` with SEs, an h² fitted per position: at up to :data:`MAX_BLUP_POSITIONS`).
    """
    from translocus.genetics.effects import scan1blup, scan1coef
    from translocus.pipelines.scan import MAX_EFFECT_POSITIONS

    if trait not in inputs.pheno.columns:
        raise InputError(f"{inputs.run}: the trait {trait!r} is not in the scan's cross; has "
                         "the cross changed since the scan?")  # fmt: skip
    if chromosome not in [str(c) for c in inputs.cross.chromosomes]:
        raise InputError(f"{inputs.run}: no chromosome {chromosome!r} in the scan's cross")
    alleles = inputs.alleles(chromosome)
    arr = alleles[chromosome]
    names = [str(m) for m in arr.coords["marker"].values]
    if lod is not None and markers is not None and np.isfinite(lod).any():
        best = str(markers[int(np.nanargmax(lod))])
        peak_marker = best if best in names else names[len(names) // 2]
    else:
        peak_marker = names[len(names) // 2]
    kin = inputs.kinship_of(chromosome)
    pheno = inputs.pheno[[trait]]
    if method not in ("coef", "blup"):
        raise OptionError("method", method, "use coef (fixed effects) or blup")
    limit = max_positions or (MAX_EFFECT_POSITIONS if method == "coef" else MAX_BLUP_POSITIONS)
    keep = np.unique(np.r_[np.linspace(0, len(names) - 1, min(len(names), limit)).round()
                           .astype(int), names.index(peak_marker)])  # fmt: skip
    some = arr if keep.size == len(names) else arr.isel(marker=keep)
    if method == "coef":
        coef = scan1coef(pheno, some, kinship=kin, addcovar=inputs.addcovar)
    else:
        coef = scan1blup(pheno, some, kinship=kin, addcovar=inputs.addcovar, se=True)
    map_name = inputs.map_name if inputs.map_name in some.coords else "pos_cM"
    positions = np.asarray(some.coords[map_name].values, dtype=float)
    states = list(alleles.alleles) or [str(s) for s in arr.coords[arr.dims[2]].values]
    along = pd.concat([pd.DataFrame({
        "marker": list(coef.index), "pos": positions, "coefficient": name,
        "estimate": coef[name].to_numpy(dtype=float),
        "se": coef[f"SE_{name}"].to_numpy(dtype=float)}) for name in states],
        ignore_index=True)  # fmt: skip
    one = arr.sel(marker=[peak_marker])
    rows = []
    fits = {"coef": scan1coef(pheno, one, kinship=kin, addcovar=inputs.addcovar),
            "blup": scan1blup(pheno, one, kinship=kin, addcovar=inputs.addcovar, se=True)}  # fmt: skip
    for method, fit in fits.items():
        first = fit.iloc[0]
        for name in (c for c in fit.columns if not str(c).startswith("SE_")):
            se = first.get(f"SE_{name}")
            rows.append({"method": method, "coefficient": str(name),
                         "estimate": float(first[name]),
                         "se": float(se) if se is not None else np.nan})  # fmt: skip
    pos = float(positions[list(coef.index).index(peak_marker)])
    return ScanEffects(trait=trait, chromosome=chromosome, marker=peak_marker, pos=pos,
                       along=along, at_peak=pd.DataFrame(rows),
                       method="hk" if inputs.kinship == "none" else "lmm",
                       along_method=method)  # fmt: skip
