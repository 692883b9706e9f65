"""Molecular-trait scale: HK and LMM LOCO scans of 20,000 traits beside R/qtl2 and tensorQTL.

Shapes (a simulated DO, markers evenly dense over mouse chromosomes 1-19 and X, sex as the
additive covariate):

- default: 742 mice x 6,400 markers x 20,000 traits, all in memory;
- ``--large``: 2,000 mice x 70,000 markers x 2,000 traits, the allele probabilities streamed
  from a store a chromosome at a time (memory bound 4 GB);
- ``--quick``: 150 mice x 800 markers x 400 traits, a smoke test (write its JSON to /tmp).

``--mice``, ``--markers`` and ``--traits`` override the shape. The traits are expression
traits of real mouse genes from
:func:`translocus.core.simulate_molecular.simulate_expression` on its simulated DO (local
eQTL for 30% of the genes explaining 5-30% of their variance, 3 trans hotspots of 100-300
genes, fewer below 5,000 traits, a polygenic background with h² 0.2-0.6, sex and batch
effects); the scans take sex (male 1) as covariate, as ``translocus eqtl --covar sex``, and
leave the batches out. Where that simulator is missing, simple simulated traits stand in (a
local QTL for 30% of them, a polygenic part, a sex effect). Every tool scans the same traits.

Each step runs in its own child process (wall seconds and the child's own peak resident
memory: its ``VmHWM``, read by the child at its end, since the ``ru_maxrss`` that ``wait4``
gives also holds the parent's peak before the exec; R/qtl2's and tensorQTL's from
``ru_maxrss``, the parent kept light), with ``--threads`` (default 2) threads:

- ``genoprob``: genotype probabilities reduced to allele probabilities, written to a store;
- ``kinship``: LOCO kinship from the stored allele probabilities;
- ``hk``, ``lmm``: the eQTL scan of all traits (Haley-Knott; LMM with LOCO kinship), peaks
  above LOD 6 with 1.5-LOD support intervals and each trait's maximum LOD. It is
  :func:`translocus.genetics.eqtl.eqtl_scan` when that exists, else ``scan`` on chunks of
  :data:`TRAIT_CHUNK` traits followed by ``find_peaks`` (the table says which ran); allele
  effects at the peaks only with ``--effects``. The time is the scan's alone, after a
  warm-up of 2 traits on one chromosome (compiled kernels, device context). With
  ``--backend torch --device cuda`` the scan runs there and its per-trait maxima are compared
  with those of a CPU run in the same ``--cache`` (``benchmarks/device_check.sh``);
- ``check``: ``scan`` of the first :data:`CHECK_TRAITS` traits (one call: each trait's LODs
  do not depend on the traits beside it) and ``find_peaks``, compared with the eQTL scan's
  peaks (same trait, chromosome and marker) and maxima: the largest |LOD difference|;
- ``matmul``: this machine's FP64 matrix-product rate, ``numpy.dot`` of two 2,000 x 2,000
  matrices (2 * 2,000^3 flops) on 1 and ``--threads`` BLAS threads, best of 3;
- ``rqtl2``: R/qtl2 0.43-5 ``scan1`` (``benchmarks/eqtl_scale.R``, cores=1) of the first
  :data:`R_TRAITS` traits, HK and LMM LOCO, on the same allele probabilities and kinships
  (written by this script as binary files to a temporary folder); its times are extrapolated
  linearly in the number of traits to all of them (R/qtl2 scans trait by trait), and its
  LODs compared with ours;
- ``tensorqtl``: tensorQTL ``map_trans`` (``benchmarks/_tensorqtl_runner.py``, run by the
  interpreter given with ``--tensorqtl PYTHON``) on the same traits and sex covariate with
  its 1-df dosage model: one dosage per marker, twice the first founder's (A) allele
  probability. For scale only: a different, smaller model (1 df, not 7), in float32.

R/qtl2 and tensorQTL run on the default and ``--quick`` shapes, not with ``--large``.

The fraction of the matrix-product rate the scan reaches counts the flops of its moment
products (n mice, M markers, T traits, p = founders - 1 genotype columns, c covariate
columns with the intercept, L = LOCO chromosomes):

- LMM LOCO: each trait has its own weights after the rotation, so per marker and trait
  ``X' W X`` (p(p+1)/2 entries) and ``X' W [C y]`` (p(c+1) entries), 2n flops each:
  ``2 n M T (p(p+1)/2 + p(c+1))``, plus the rotations ``U' X`` (``2 n^2 p M``) and
  ``U' Y`` (``2 n^2 T L``);
- HK: ``X' y`` per marker and trait and the shared ``X' X``, ``X' C`` per marker:
  ``2 n M (T p + p(p+1)/2 + p c)``.

These are the *equivalent* flops (``moment_flops``: what the moments cost from the weights).
The LMM scan forms ``X' W X`` and ``C' W X`` through a basis of K columns of the weights in
the eigenvalues (``translocus.genetics._weight_basis``; K about 113 of n = 742 here), so the
flops it does (``flops_done``) are ``2 M T (K (p(p+1)/2 + p c) + n p)`` plus the
trait-independent ``2 n M K (p(p+1)/2 + p c)`` and the rotations, with K the mean over the
LOCO kinships (computed from the cached kinships); both rates are reported.

R/qtl2 and tensorQTL entries of an earlier run in ``--out`` are kept when those steps are not
run now (marked ``carried_from_earlier_run``), so a re-timing of the scans keeps them.

The load average before and after is recorded. Run (nice'd, on a quiet machine)::

    nice python benchmarks/eqtl_scale.py [--large] [--quick] [--traits N] [--mice N]
        [--markers N] [--tensorqtl /tmp/tqenv/bin/python] [--no-r] [--threads N]
        [--backend cpu|torch] [--device cuda] [--effects]
        [--steps genoprob,kinship,hk,lmm,check,matmul,rqtl2,tensorqtl]
        [--cache DIR] [--out benchmarks/results/eqtl_scale.json]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pickle
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 20261206
THRESHOLD = 6.0
DROP = 1.5
THREADS = 2
#: traits per ``scan`` call of the fallback eQTL scan
TRAIT_CHUNK = 2000
#: traits compared with per-trait ``scan`` and traits R/qtl2 scans
CHECK_TRAITS = 200
R_TRAITS = 20
MEMORY_BOUND_GB = 4.0
#: (mice, markers, traits) per shape
SHAPES = {"study": (742, 6400, 20000), "large": (2000, 70000, 2000), "quick": (150, 800, 400)}
#: acceptance targets in seconds for the study shape on 2 cores
TARGET_S = {"hk": 30.0, "lmm": 150.0}
STEPS = ("genoprob", "kinship", "hk", "lmm", "check", "matmul", "rqtl2", "tensorqtl")


# ---- the simulated data ------------------------------------------------------------------


def simulate(folder: Path, mice: int, markers: int, traits: int) -> None:
    """The cross (pickle), the traits and the sex covariate in ``folder`` (made once)."""
    from translocus.genetics.scan import cross_covariates

    if (folder / "cross.pkl").is_file():
        return
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from translocus.core.simulate_molecular import simulate_expression
    except ImportError:
        simulate_expression = None
    if simulate_expression is not None:
        targets = (100, 300) if traits >= 5000 else (max(1, traits // 100), max(2, traits // 40))
        sim = simulate_expression(n=mice, n_markers=markers, n_genes=traits, seed=SEED,
                                  hotspot_targets=targets)  # fmt: skip
        cross = sim.cross.cross
        addcovar, _ = cross_covariates(cross, ["sex"])
        pheno = sim.expression.copy()
        pheno.index = [str(i) for i in pheno.index]
        _write(folder, cross=cross, pheno=pheno, addcovar=addcovar, truth=sim.truth,
               source="translocus.core.simulate_molecular.simulate_expression")  # fmt: skip
        return
    _write(folder, **_simple_traits(mice, markers, traits), source="simple simulated traits")


def _write(folder: Path, **items: Any) -> None:
    for name, value in items.items():  # the cross last: it marks the folder complete
        if name != "cross":
            _dump(folder, name, value)
    _dump(folder, "cross", items["cross"])


def _dump(folder: Path, name: str, value: Any) -> None:
    with open(folder / f"{name}.tmp", "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(folder / f"{name}.tmp", folder / f"{name}.pkl")


def _simple_traits(mice: int, markers: int, traits: int) -> dict[str, Any]:
    """A DO cross and simple traits (local SNP QTL, polygenic part from 200 SNPs, sex)."""
    from translocus.core.simulate import simulate_cross
    from translocus.genetics.scan import cross_covariates

    sim = simulate_cross(cross_type="do", n=mice, n_markers=markers, seed=SEED, n_traits=1)
    cross = sim.cross
    ids = [str(s) for s in cross.pheno.index]
    addcovar, _ = cross_covariates(cross, ["sex"])
    assert addcovar is not None
    sex = addcovar["sex"].to_numpy()
    # SNP dosages 0/1/2 from the calls (1 AA, 2 AB, 3 BB; 0 missing -> 1)
    calls = np.concatenate([cross.geno[c] for c in cross.chromosomes], axis=1)
    rng = np.random.default_rng(SEED)
    n_snp = calls.shape[1]

    def dosage(cols: np.ndarray) -> np.ndarray:
        g = calls[:, cols].astype(np.float64)
        d = np.where(g == 0, 1.0, g - 1.0)
        return (d - d.mean(axis=0)) / np.maximum(d.std(axis=0), 1e-9)

    poly = dosage(rng.choice(n_snp, 200, replace=False)) @ rng.standard_normal((200, traits))
    poly /= poly.std(axis=0)
    h2 = rng.uniform(0.2, 0.5, traits)
    local = np.zeros((mice, traits))
    has_qtl = rng.random(traits) < 0.3
    qtl_snp = rng.integers(0, n_snp, traits)
    q2 = rng.uniform(0.05, 0.3, traits) * has_qtl
    for start in range(0, traits, 1000):  # in blocks: a dosage matrix of all traits is big
        sl = slice(start, min(traits, start + 1000))
        local[:, sl] = dosage(qtl_snp[sl])
    noise = rng.standard_normal((mice, traits))
    values = (np.sqrt(h2) * poly + np.sqrt(q2) * local + np.sqrt(1 - h2 - q2) * noise
              + rng.normal(0, 0.3, traits) * sex[:, None])  # fmt: skip
    names = [f"trait{i + 1:05d}" for i in range(traits)]
    pheno = pd.DataFrame(values, index=ids, columns=names)
    truth = pd.DataFrame({"trait": names, "h2": h2, "qtl_variance": q2,
                          "snp": np.where(has_qtl, qtl_snp, -1)})  # fmt: skip
    return {"cross": cross, "pheno": pheno, "addcovar": addcovar, "truth": truth}


def _load(folder: Path, name: str) -> Any:
    with open(folder / f"{name}.pkl", "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own cache


def _alleles(folder: Path, lazy: bool) -> Any:
    from translocus.core.store import Store

    return Store(folder / "probs", create=False).read_genoprobs("alleleprob", lazy=lazy)


def _kinship(folder: Path, ids: list[str]) -> dict[str, pd.DataFrame]:
    with np.load(folder / "kinship.npz") as saved:
        return {c: pd.DataFrame(saved[c], index=ids, columns=ids) for c in saved.files}


# ---- the eQTL scan (the engine's, or scan on trait chunks until it is there) ---------------


def eqtl_engine() -> str:
    try:
        from translocus.genetics.eqtl import eqtl_scan  # noqa: F401
    except ImportError:
        return "scan on chunks of traits + find_peaks"
    return "translocus.genetics.eqtl.eqtl_scan"


def _peak_table(result: Any, markers: pd.DataFrame) -> pd.DataFrame:
    """find_peaks' table as the eqtl peaks table's leading columns (trait, chr, marker ...)."""
    from translocus.genetics.peaks import find_peaks

    peaks = find_peaks(result, threshold=THRESHOLD, drop=DROP)
    peaks = peaks.rename(columns={"lodcolumn": "trait"})
    key = markers.set_index(["chr", "pos"])["marker"]
    peaks["marker"] = [key.get((c, p), "") for c, p in zip(peaks.chr, peaks.pos, strict=True)]
    return peaks[["trait", "chr", "marker", "pos", "lod", "ci_lo", "ci_hi"]]


def _maxima(lod: np.ndarray, traits: list[str], markers: pd.DataFrame) -> pd.DataFrame:
    at = np.nanargmax(np.where(np.isnan(lod), -np.inf, lod), axis=0)
    return pd.DataFrame({"trait": traits, "chr": markers.chr.to_numpy()[at],
                         "marker": markers.marker.to_numpy()[at],
                         "pos": markers.pos.to_numpy()[at],
                         "lod": lod[at, np.arange(lod.shape[1])]})  # fmt: skip


def _marker_table(result: Any) -> pd.DataFrame:
    data = result.data
    return pd.DataFrame({"marker": result.markers, "chr": data["chr"].values.astype(str),
                         "pos": data["pos_Mbp"].values})  # fmt: skip


def eqtl(pheno: pd.DataFrame, probs: Any, addcovar: pd.DataFrame, kinship: Any, *,
         where: dict[str, Any], effects: bool = False
         ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:  # fmt: skip
    """Peaks above :data:`THRESHOLD`, each trait's maximum (trait, chr, marker, pos, lod), facts.

    ``where`` holds ``threads``, ``backend`` and ``device``; ``effects``: the allele effects
    at the peaks too (the engine's option, when it has one).
    """
    try:
        from translocus.genetics.eqtl import eqtl_scan
    except ImportError:
        eqtl_scan = None
    if eqtl_scan is not None:
        extra = {"effects": effects} if "effects" in inspect.signature(eqtl_scan).parameters else {}
        res = eqtl_scan(pheno, probs, kinship=kinship, addcovar=addcovar, threshold=THRESHOLD,
                        drop=DROP, **where, **extra)  # fmt: skip
        return res.peaks, res.max_lod, dict(getattr(res, "info", {}) or {})
    from translocus.genetics.scan import scan

    peaks, maxima = [], []
    for start in range(0, pheno.shape[1], TRAIT_CHUNK):
        chunk = pheno.iloc[:, start : start + TRAIT_CHUNK]
        result = scan(chunk, probs, kinship=kinship, addcovar=addcovar, **where)
        markers = _marker_table(result)
        peaks.append(_peak_table(result, markers))
        maxima.append(_maxima(result.data["lod"].values, result.traits, markers))
        del result
    facts = {"chunks": len(peaks), "chunk_traits": TRAIT_CHUNK}
    return pd.concat(peaks, ignore_index=True), pd.concat(maxima, ignore_index=True), facts


def compare_with_scan(folder: Path, method: str, pheno: pd.DataFrame, probs: Any,
                      addcovar: pd.DataFrame, kinship: Any, threads: int
                      ) -> dict[str, Any]:  # fmt: skip
    """``scan`` + ``find_peaks`` of the first traits against the eQTL scan's saved results."""
    from translocus.genetics.scan import scan

    sub = pheno.iloc[:, :CHECK_TRAITS]
    result = scan(sub, probs, kinship=kinship, addcovar=addcovar, threads=threads)
    markers = _marker_table(result)
    ours = _peak_table(result, markers)
    maxima = _maxima(result.data["lod"].values, result.traits, markers)
    theirs = pd.read_parquet(folder / f"peaks_{method}.parquet")
    theirs = theirs[theirs.trait.isin(sub.columns)]
    theirs_max = pd.read_parquet(folder / f"max_lod_{method}.parquet").set_index("trait")
    key = ["trait", "chr", "marker"]
    both = ours.merge(theirs, on=key, how="outer", suffixes=("_scan", "_eqtl"), indicator=True)
    matched = both[both._merge == "both"]
    lod_diff = np.abs(maxima.lod.to_numpy() - theirs_max.loc[maxima.trait, "lod"].to_numpy())
    return {"traits": sub.shape[1], "peaks_scan": len(ours), "peaks_eqtl": len(theirs),
            "peaks_only_in_scan": int((both._merge == "left_only").sum()),
            "peaks_only_in_eqtl": int((both._merge == "right_only").sum()),
            "max_abs_lod_difference_peaks": float(np.abs(matched.lod_scan - matched.lod_eqtl).max())
            if len(matched) else 0.0,
            "max_abs_lod_difference_max_lod": float(np.nanmax(lod_diff)),
            "same_max_marker": bool((maxima.marker.to_numpy()
                                     == theirs_max.loc[maxima.trait, "marker"].to_numpy()).all())}  # fmt: skip


# ---- the steps (each in a child process) --------------------------------------------------


def run_step(step: str, folder: Path, opts: argparse.Namespace) -> dict[str, Any]:
    """One step in this process; the parent measures its time and memory."""
    from translocus.core.threads import thread_limit

    out: dict[str, Any] = {}
    lazy, tmp, threads = opts.lazy, opts.tmp, opts.threads
    if step == "simulate":
        simulate(folder, opts.mice, opts.markers, opts.traits)
        return out
    if step == "genoprob":
        from translocus.core.runs import RunLog
        from translocus.core.store import Store
        from translocus.pipelines.genoprob import genotype_probabilities

        cross = _load(folder, "cross")
        shutil.rmtree(folder / "probs", ignore_errors=True)
        t0 = time.perf_counter()
        with thread_limit(threads):
            genotype_probabilities(cross, 0.002, "c-f", RunLog(), store=Store(folder / "probs"))
        out["seconds"] = time.perf_counter() - t0
        return out
    if step == "kinship":
        from translocus.genetics.kinship import calc_kinship

        alleles = _alleles(folder, lazy=True)
        t0 = time.perf_counter()
        with thread_limit(threads):
            kinship = calc_kinship(alleles, type="loco")
        out["seconds"] = time.perf_counter() - t0
        np.savez(folder / "kinship.npz", **{c: k.values for c, k in kinship.items()})
        return out
    if step == "matmul":
        rng = np.random.default_rng(1)
        a, b = rng.standard_normal((2, 2000, 2000))
        for n in sorted({1, threads}):
            with thread_limit(n):
                np.dot(a, b)
                best = min(_seconds(lambda: np.dot(a, b)) for _ in range(3))
            out[f"gflops_{n}_threads"] = 2 * 2000**3 / best / 1e9
        return out
    pheno, addcovar = _load(folder, "pheno"), _load(folder, "addcovar")
    alleles = _alleles(folder, lazy=lazy)
    if step in ("hk", "lmm"):
        kinship = _kinship(folder, list(pheno.index)) if step == "lmm" else None
        where = {"threads": threads, "backend": opts.backend, "device": opts.device}
        # warm-up (compiled kernels, device context) on 2 traits and the last chromosome
        last = alleles.chromosomes[-1]
        eqtl(pheno.iloc[:, :2], alleles.subset(chromosomes=[last]), addcovar,
             None if kinship is None else {last: kinship[last]}, where=where)  # fmt: skip
        t0 = time.perf_counter()
        peaks, maxima, facts = eqtl(pheno, alleles, addcovar, kinship, where=where,
                                    effects=opts.effects)  # fmt: skip
        out["seconds"] = time.perf_counter() - t0
        out["peaks"] = len(peaks)
        out["engine"] = eqtl_engine()
        out["effects"] = opts.effects
        out["engine_info"] = facts
        out.update(where)
        tag = _tag(step, opts.backend)
        peaks.to_parquet(folder / f"peaks_{tag}.parquet")
        maxima.to_parquet(folder / f"max_lod_{tag}.parquet")
        if tag != step and (folder / f"max_lod_{step}.parquet").is_file():
            cpu = pd.read_parquet(folder / f"max_lod_{step}.parquet").set_index("trait")
            out["max_abs_lod_difference_vs_cpu"] = float(np.nanmax(np.abs(
                maxima.lod.to_numpy() - cpu.loc[maxima.trait, "lod"].to_numpy())))  # fmt: skip
        return out
    if step == "check":
        kinship = _kinship(folder, list(pheno.index))
        for method, kin in (("hk", None), ("lmm", kinship)):
            out[method] = compare_with_scan(folder, method, pheno, alleles, addcovar, kin,
                                            threads)  # fmt: skip
        return out
    if step == "export":
        assert tmp is not None
        export(folder, tmp, pheno, addcovar, alleles)
        return out
    raise SystemExit(f"unknown step {step!r}; use one of {', '.join(STEPS)}")


def _tag(step: str, backend: str) -> str:
    """The file tag of a scan's results: ``lmm`` on the CPU, ``lmm_torch`` on torch."""
    return step if backend == "cpu" else f"{step}_{backend}"


def _seconds(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def export(folder: Path, tmp: Path, pheno: pd.DataFrame, addcovar: pd.DataFrame,
           alleles: Any) -> None:  # fmt: skip
    """The inputs of R/qtl2 and tensorQTL, as binary float64 files and small CSVs, in ``tmp``.

    ``alleleprob_<chr>.bin`` is ``[marker, allele, mouse]`` in C order, that is R's
    ``[mouse, allele, marker]``; ``kinship_<chr>.bin`` the LOCO kinship; ``markers.csv``
    chr, marker, pos (Mbp) and is_x; ``pheno.csv`` the first :data:`R_TRAITS` traits;
    ``traits.bin`` every trait ``[trait, mouse]``; ``dosage.bin`` ``[marker, mouse]``.
    """
    ids = list(pheno.index)
    kinship = _kinship(folder, ids)
    rows, dosage = [], []
    for chrom in alleles.chromosomes:
        arr = alleles[chrom]
        values = np.ascontiguousarray(arr.transpose("marker", "founder", "sample").values)
        values.tofile(tmp / f"alleleprob_{chrom}.bin")
        dosage.append(2 * values[:, 0, :])
        kinship[chrom].to_numpy().tofile(tmp / f"kinship_{chrom}.bin")
        pos = arr.coords["pos_Mbp"].values if "pos_Mbp" in arr.coords else np.arange(
            values.shape[0], dtype=float)  # fmt: skip
        rows.append(pd.DataFrame({"chr": chrom, "marker": arr.coords["marker"].values,
                                  "pos": pos, "is_x": chrom == alleles.x_chr}))  # fmt: skip
    pd.concat(rows).to_csv(tmp / "markers.csv", index=False)
    pd.DataFrame({"allele": list(alleles.alleles)}).to_csv(tmp / "alleles.csv", index=False)
    pheno.iloc[:, :R_TRAITS].to_csv(tmp / "pheno.csv", index_label="id")
    addcovar.to_csv(tmp / "covar.csv", index_label="id")
    np.ascontiguousarray(pheno.to_numpy().T).tofile(tmp / "traits.bin")
    pd.DataFrame({"trait": pheno.columns}).to_csv(tmp / "traits.csv", index=False)
    np.concatenate(dosage).tofile(tmp / "dosage.bin")


def measure(args: list[str], label: str) -> dict[str, Any]:
    """Run a child process: wall seconds, peak resident memory (GB), its JSON line."""
    t0 = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    text = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"step {label} failed (exit {code}): {' '.join(args)}")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    inner = json.loads(lines[-1]) if lines else {}
    # our children report their own peak; another program's is ru_maxrss, which also holds
    # this (light) parent's peak
    peak = inner.pop("vmhwm_gb", None) or usage.ru_maxrss / 1e6
    return {"wall_s": round(wall, 2), "peak_rss_gb": round(peak, 3), **inner}


def child(step: str, folder: Path, opts: dict[str, Any], tmp: Path | None = None) -> list[str]:
    args = [sys.executable, __file__, "--child", step, "--cache", str(folder),
            "--threads", str(opts["threads"]), "--backend", opts["backend"],
            *(f"--{k}={opts[k]}" for k in ("mice", "markers", "traits"))]  # fmt: skip
    args += ["--device", opts["device"]] if opts["device"] else []
    args += ["--effects"] if opts["effects"] else []
    return args + (["--lazy"] if opts["lazy"] else []) + (["--tmp", str(tmp)] if tmp else [])


# ---- flops ---------------------------------------------------------------------------------


def moment_flops(method: str, n: int, markers: int, traits: int, founders: int,
                 covariates: int, chromosomes: int, basis: float | None = None
                 ) -> float:  # fmt: skip
    """Flops of the moment products (module docstring); ``basis``: the LMM's mean weight
    basis size K (None: the equivalent flops, from the weights)."""
    p, c = founders - 1, covariates + 1
    if method == "hk":
        return 2.0 * n * markers * (traits * p + p * (p + 1) / 2 + p * c)
    rotations = 2.0 * n**2 * p * markers + 2.0 * n**2 * traits * chromosomes
    if basis is None:
        return 2.0 * n * markers * traits * (p * (p + 1) / 2 + p * (c + 1)) + rotations
    weighted = p * (p + 1) / 2 + p * c  # X'WX and C'WX through the basis
    return (2.0 * markers * traits * (basis * weighted + n * p)
            + 2.0 * n * markers * basis * weighted + rotations)  # fmt: skip


def basis_sizes(folder: Path) -> dict[str, int]:
    """Each LOCO kinship's weight basis size K (n where the scan takes the weights)."""
    try:
        from translocus.genetics._weight_basis import weight_basis
    except ImportError:  # code from before the basis (an A/B run): the weights themselves
        return {}
    from translocus.core.threads import blas_threads

    out = {}
    with np.load(folder / "kinship.npz") as saved, blas_threads(1):  # as the scan decomposes
        for chrom in saved.files:
            values = np.linalg.eigvalsh(2.0 * saved[chrom])
            basis = weight_basis(values)
            out[chrom] = values.size if basis is None else basis.size
    return out


# ---- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true",
                        help="2,000 mice x 70,000 markers x 2,000 traits, streamed")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="a small shape (smoke test)")
    parser.add_argument("--mice", type=int)
    parser.add_argument("--markers", type=int)
    parser.add_argument("--traits", type=int)
    parser.add_argument("--steps", default=",".join(STEPS))
    parser.add_argument("--tensorqtl", default=None, metavar="PYTHON",
                        help="interpreter of a virtual environment with tensorqtl")  # fmt: skip
    parser.add_argument("--no-r", action="store_true", help="skip R/qtl2")
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--backend", default="cpu", help="scan backend: cpu or torch")
    parser.add_argument("--device", default=None, help="torch device, e.g. cuda")
    parser.add_argument("--effects", action="store_true",
                        help="time the allele effects at the peaks with the scans")  # fmt: skip
    parser.add_argument("--cache", type=Path, default=Path("/tmp/translocus-eqtl-scale"))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "eqtl_scale.json")  # fmt: skip
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lazy", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        out = run_step(args.child, args.cache, args)
        # this process's own high-water mark: a child's ru_maxrss from wait4 also holds the
        # parent's peak (Linux carries it over the exec)
        status = Path("/proc/self/status")
        if status.is_file():
            kb = re.search(r"VmHWM:\s+(\d+)", status.read_text())
            out["vmhwm_gb"] = int(kb.group(1)) / 1e6 if kb else None
        print(json.dumps(out, default=str))
        return
    shape = "large" if args.large else "quick" if args.quick else "study"
    mice, markers, traits = (a if a is not None else d for a, d in
                             zip((args.mice, args.markers, args.traits), SHAPES[shape],
                                 strict=True))  # fmt: skip
    lazy = shape == "large"
    steps = [s for s in args.steps.split(",") if s]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; use {', '.join(STEPS)}")
    folder = args.cache / f"do_{mice}x{markers}x{traits}"
    opts = {"lazy": lazy, "threads": args.threads, "backend": args.backend,
            "device": args.device, "effects": args.effects, "mice": mice, "markers": markers,
            "traits": traits}  # fmt: skip
    result = run(folder, steps, mice=mice, markers=markers, traits=traits, opts=opts,
                 tensorqtl=args.tensorqtl, with_r=not args.no_r, shape=shape, out=args.out)  # fmt: skip
    print_table(result)
    print(f"wrote {args.out}")


def run(folder: Path, steps: list[str], *, mice: int, markers: int, traits: int,
        opts: dict[str, Any], tensorqtl: str | None, with_r: bool, shape: str, out: Path
        ) -> dict[str, Any]:  # fmt: skip
    load_before = os.getloadavg()
    earlier = _earlier_steps(out)  # read now: each step below rewrites the file
    t0 = time.perf_counter()
    # in a child: this process stays light, as its peak would show in every child's ru_maxrss
    sim = measure(child("simulate", folder, opts), "simulate")
    result: dict[str, Any] = {
        "benchmark": "eqtl_scale", "shape": shape, "covariates": ["sex"], **opts,
        "traits_source": _load(folder, "source") if (folder / "source.pkl").is_file() else None,
        "simulate_peak_rss_gb": sim["peak_rss_gb"],
        "threshold": THRESHOLD, "drop": DROP,
        "simulate_s": round(time.perf_counter() - t0, 1), "engine": eqtl_engine(),
        "steps": {}, "load_average_before": load_before,
    }  # fmt: skip
    print(f"{mice:,} DO x {markers:,} markers x {traits:,} traits: data ready "
          f"({result['simulate_s']:.0f} s); eQTL scan: {result['engine']}")  # fmt: skip
    rows = result["steps"]
    for step in [s for s in steps if s in ("genoprob", "kinship", "hk", "lmm", "check",
                                           "matmul")]:  # fmt: skip
        rows[step] = measure(child(step, folder, opts), step)
        row = rows[step]
        print(f"  {step:10s} {row['wall_s']:9.1f} s  peak {row['peak_rss_gb']:6.2f} GB")
        _save(out, result)  # after each step: a long run stopped early keeps it
    if shape == "large":  # R/qtl2 would take days; its inputs alone would be 9 GB
        for tool in ("rqtl2", "tensorqtl"):
            if tool in steps:
                rows[tool] = {"note": "not run with --large (the default shape runs it)"}
        with_r, tensorqtl = False, None
        steps = [s for s in steps if s not in ("rqtl2", "tensorqtl")]
    needs_export = ("rqtl2" in steps and with_r) or ("tensorqtl" in steps and tensorqtl)
    if needs_export:
        with tempfile.TemporaryDirectory(prefix="eqtl_scale_") as tmp_name:
            tmp = Path(tmp_name)
            measure(child("export", folder, opts, tmp), "export")
            if "rqtl2" in steps and with_r:
                rows["rqtl2"] = run_r(folder, tmp, traits)
                _save(out, result)
            if "tensorqtl" in steps and tensorqtl:
                rows["tensorqtl"] = run_tensorqtl(tensorqtl, tmp)
                _save(out, result)
    if "tensorqtl" in steps and not tensorqtl:
        rows["tensorqtl"] = {"note": "not run: give --tensorqtl PYTHON (an environment with "
                                     "tensorqtl)"}  # fmt: skip
    if "rqtl2" in steps and not with_r:
        rows["rqtl2"] = {"note": "not run (--no-r)"}
    carried = _carry_over(earlier, rows)
    summarise(result, folder)
    if carried:
        result["notes"] += (f"; {', '.join(carried)} carried from the earlier run in this file "
                            "(not run now)")  # fmt: skip
    result["load_average_after"] = os.getloadavg()
    _save(out, result)
    return result


def _earlier_steps(out: Path) -> dict[str, Any]:
    """The steps of the earlier run in ``out`` (empty when there is none)."""
    if not out.is_file():
        return {}
    try:
        return dict(json.loads(out.read_text()).get("steps", {}))
    except (OSError, ValueError):
        return {}


def _carry_over(earlier: dict[str, Any], rows: dict[str, Any]) -> list[str]:
    """R/qtl2 and tensorQTL entries of the earlier run for the steps not run now."""
    carried = []
    for tool in ("rqtl2", "tensorqtl"):
        if tool not in rows and tool in earlier:
            rows[tool] = {**earlier[tool], "carried_from_earlier_run": True}
            carried.append(tool)
    return carried


def run_r(folder: Path, tmp: Path, traits: int) -> dict[str, Any]:
    """R/qtl2 scan1 of the first traits (cores=1), timed, extrapolated and compared."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        return {"note": "not run: no Rscript on PATH"}
    script = Path(__file__).with_name("eqtl_scale.R")
    os.environ.setdefault("R_LIBS", "/opt/rlib")
    row = measure([rscript, str(script), str(tmp)], "rqtl2")
    times = pd.read_csv(tmp / "r_times.csv")
    n_r = min(R_TRAITS, traits)
    for _, t in times.iterrows():
        row[f"{t.step}_s"] = float(t.seconds)
        row[f"{t.step}_cpu_s"] = float(t.cpu_seconds)
        # R/qtl2 scans one trait after another: linear in the traits
        row[f"{t.step}_extrapolated_s"] = float(t.seconds) * traits / n_r
    row["traits_run"] = n_r
    markers = pd.read_csv(tmp / "markers.csv")
    for method in ("hk", "lmm"):
        r_lod = np.fromfile(tmp / f"r_lod_{method}.bin").reshape(n_r, len(markers))
        if (folder / f"max_lod_{method}.parquet").is_file():
            ours = pd.read_parquet(folder / f"max_lod_{method}.parquet").iloc[:n_r]
            row[f"max_abs_max_lod_difference_{method}"] = float(
                np.abs(r_lod.max(axis=1) - ours.lod.to_numpy()).max())  # fmt: skip
    return row


def run_tensorqtl(python: str, tmp: Path) -> dict[str, Any]:
    runner = Path(__file__).with_name("_tensorqtl_runner.py")
    return measure([python, str(runner), str(tmp)], "tensorqtl")


def summarise(result: dict[str, Any], folder: Path) -> None:
    """Flop counts, the fraction of the measured rate, targets and R/qtl2 ratios."""
    steps = result["steps"]
    founders, chromosomes = 8, 20
    threads = result["threads"]
    rate = steps.get("matmul", {}).get(f"gflops_{threads}_threads")
    summary: dict[str, Any] = {}
    for method in ("hk", "lmm"):
        if method not in steps:
            continue
        flops = moment_flops(method, result["mice"], result["markers"], result["traits"],
                             founders, 1, chromosomes)  # fmt: skip
        seconds = steps[method]["seconds"]
        entry = {"seconds": seconds, "wall_s": steps[method]["wall_s"],
                 "peak_rss_gb": steps[method]["peak_rss_gb"], "moment_flops": flops,
                 "gflops_reached": flops / seconds / 1e9}  # fmt: skip
        if rate:
            entry["fraction_of_matmul_rate"] = flops / seconds / 1e9 / rate
        lmm = method == "lmm" and (folder / "kinship.npz").is_file()
        sizes = basis_sizes(folder) if lmm else {}
        if sizes:
            k_mean = float(np.mean(list(sizes.values())))
            done = moment_flops(method, result["mice"], result["markers"], result["traits"],
                                founders, 1, chromosomes, basis=k_mean)  # fmt: skip
            entry.update(weight_basis_size=sizes, weight_basis_mean=k_mean, flops_done=done,
                         gflops_done=done / seconds / 1e9)  # fmt: skip
            if rate:
                entry["fraction_of_matmul_rate_done"] = done / seconds / 1e9 / rate
        if result["shape"] == "study":
            entry["target_s"] = TARGET_S[method]
        r = steps.get("rqtl2", {}).get(f"scan1_{method}_extrapolated_s")
        if r:
            entry["rqtl2_extrapolated_s"] = r
            entry["ratio_rqtl2_over_ours"] = r / seconds
        summary[method] = entry
    peaks = [s["peak_rss_gb"] for k, s in steps.items()
             if k in ("genoprob", "kinship", "hk", "lmm") and "peak_rss_gb" in s]  # fmt: skip
    if peaks:
        summary["peak_rss_gb"] = max(peaks)
        summary["memory_bound_gb"] = MEMORY_BOUND_GB
    result["summary"] = summary
    result["flops_formula"] = (
        "LMM LOCO: 2 n M T (p(p+1)/2 + p(c+1)) + 2 n^2 p M + 2 n^2 T L (equivalent, from the "
        "weights); done through the weight basis of K columns: 2 M T (K (p(p+1)/2 + p c) + "
        "n p) + 2 n M K (p(p+1)/2 + p c) + the same rotations; "
        "HK: 2 n M (T p + p(p+1)/2 + p c); n mice, M markers, T traits, p = founders - 1, "
        "c = covariate columns with the intercept, L = LOCO chromosomes"
    )
    result["notes"] = (
        "each step a child process (peak RSS = its ru_maxrss); R/qtl2 scan1 cores=1 on the "
        f"first {R_TRAITS} traits, extrapolated linearly to all traits; tensorQTL map_trans "
        "with its 1-df dosage model (2 x the founder A allele probability) for scale; "
        "traits: see traits_source; batch effects simulated but not in the scans' model"
    )


def _save(path: Path, result: dict[str, Any]) -> None:
    from translocus.core.atomic import atomic_write_text

    result["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                         "python": platform.python_version()}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=1, default=float) + "\n")


def print_table(result: dict[str, Any]) -> None:
    steps, summary = result["steps"], result.get("summary", {})
    print(f"\n{result['mice']:,} DO mice x {result['markers']:,} markers x "
          f"{result['traits']:,} traits, sex covariate, {result['threads']} threads, "
          f"{result['backend']} {result['device'] or ''}; {result['engine']}")  # fmt: skip
    print(f"{'step':<34} {'wall s':>9} {'peak GB':>8} {'GFLOP/s':>8} {'of rate':>8} "
          f"{'target s':>8} {'R/qtl2 s':>10} {'R/ours':>8}")  # fmt: skip

    def cell(value: Any, width: int, fmt: str) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:{width}{fmt}}"

    names = {"genoprob": "genotype + allele probabilities", "kinship": "kinship LOCO",
             "hk": "eQTL scan HK", "lmm": "eQTL scan LMM LOCO",
             "check": f"scan of {CHECK_TRAITS} traits (check)", "matmul": "FP64 dot 2,000^3"}  # fmt: skip
    for key, label in names.items():
        if key not in steps:
            continue
        s, m = steps[key], summary.get(key, {})
        print(f"{label:<34} {cell(s.get('seconds', s['wall_s']), 9, '.1f')} "
              f"{cell(s['peak_rss_gb'], 8, '.2f')} {cell(m.get('gflops_reached'), 8, '.1f')} "
              f"{cell(m.get('fraction_of_matmul_rate'), 8, '.2f')} "
              f"{cell(m.get('target_s'), 8, '.0f')} {cell(m.get('rqtl2_extrapolated_s'), 10, '.0f')} "
              f"{cell(m.get('ratio_rqtl2_over_ours'), 8, '.0f')}")  # fmt: skip
    if "matmul" in steps:
        mm = steps["matmul"]
        most = result["threads"]
        print(f"  FP64 matrix product: {mm['gflops_1_threads']:.1f} GFLOP/s on 1 thread, "
              f"{mm[f'gflops_{most}_threads']:.1f} on {most}")  # fmt: skip
    lmm = summary.get("lmm", {})
    if "flops_done" in lmm:
        print(f"  LMM through the weight basis (mean K {lmm['weight_basis_mean']:.0f} of "
              f"{result['mice']}): {lmm['flops_done']:.3g} flops done of "
              f"{lmm['moment_flops']:.3g} equivalent, {lmm['gflops_done']:.1f} GFLOP/s done"
              + (f", {lmm['fraction_of_matmul_rate_done']:.2f} of the rate"
                 if "fraction_of_matmul_rate_done" in lmm else ""))  # fmt: skip
    for method in ("hk", "lmm"):
        if method in steps.get("check", {}):
            c = steps["check"][method]
            print(f"  {method}: {c['peaks_eqtl']} peaks vs scan's {c['peaks_scan']} on "
                  f"{c['traits']} traits ({c['peaks_only_in_scan']} only in scan, "
                  f"{c['peaks_only_in_eqtl']} only in the eQTL scan); max |LOD diff| at peaks "
                  f"{c['max_abs_lod_difference_peaks']:.2g}, of maxima "
                  f"{c['max_abs_lod_difference_max_lod']:.2g}")  # fmt: skip
    for method in ("hk", "lmm"):
        diff = steps.get(method, {}).get("max_abs_lod_difference_vs_cpu")
        if diff is not None:
            print(f"  {method} on {result['backend']}: max |LOD - CPU LOD| of the per-trait "
                  f"maxima {diff:.2g}")  # fmt: skip
    r = steps.get("rqtl2", {})
    if "scan1_hk_s" in r:
        print(f"  R/qtl2 scan1 cores=1 on {r['traits_run']} traits: HK {r['scan1_hk_s']:.1f} s, "
              f"LMM LOCO {r['scan1_lmm_s']:.1f} s (extrapolated linearly to "
              f"{result['traits']:,} traits); max |max LOD R - ours| HK "
              f"{r.get('max_abs_max_lod_difference_hk', float('nan')):.2g}, LMM "
              f"{r.get('max_abs_max_lod_difference_lmm', float('nan')):.2g}")  # fmt: skip
    elif r:
        print(f"  R/qtl2: {r.get('note')}")
    t = steps.get("tensorqtl", {})
    if "seconds" in t:
        print(f"  tensorQTL map_trans (1-df dosage, {t.get('device')}): {t['seconds']:.1f} s, "
              f"peak {t['peak_rss_gb']:.2f} GB, {t.get('hits')} hits at p < "
              f"{t.get('pval_threshold')}")  # fmt: skip
    elif t:
        print(f"  tensorQTL: {t.get('note')}")
    if "peak_rss_gb" in summary:
        print(f"  peak memory {summary['peak_rss_gb']:.2f} GB (bound "
              f"{summary['memory_bound_gb']:.0f} GB)")  # fmt: skip
    print(f"  moment flops: {result['flops_formula']}")
    print(f"  load average before {result['load_average_before']}, "
          f"after {result.get('load_average_after')}")  # fmt: skip


if __name__ == "__main__":
    main()
