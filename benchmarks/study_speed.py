"""Speed of the cause engine at study size, side by side with R/qtl2 (cores=1) in the same run.

Shapes (simulated with :func:`~translocus.core.simulate.simulate_cross`, seed 1, 100 traits;
GigaMUGA-like density: 110,000 markers over mouse chromosomes 1-19 and X):

- ``do750``, ``do2000``: Diversity Outbred, 750 and 2,000 mice (36 genotypes);
- ``cc70``: a CC-like 8-way RIL panel by sib mating (``risib8``), 70 lines, each line its
  own funnel.

Ours, on the whole genome: ``calc_genoprob`` with 1 and 2 threads (``--threads``; in one
call where the probabilities fit in 2 GB, else chromosome by chromosome, so that a DO of
2,000 mice does not hold 60 GB of probabilities;
the thread counts' results compared), ``genoprob_to_alleleprob``; for ``do750`` and ``cc70``
(``--lmm-shapes``; do2000's allele probabilities alone are 14 GB) also ``calc_kinship`` LOCO
(for the DO shapes on every 10th marker, :data:`LMM_EVERY`)
with each thread count and the LMM LOCO scan (most threads; ``--backend torch --device cuda``
on a GPU) of 2 and 100 traits. The 20 kinship decompositions are timed inside the scan, and
the same 20 alone, single-threaded ``eigh`` side by side (LAPACK's speed on all the
threads): the table gives the scan's time on top of them.

R/qtl2 0.43-5 (``benchmarks/study_speed.R``, cores=1) would take hours on these shapes, so
it runs on a subset cross written from the same simulation (``write_cross``): the first
markers of chromosomes 18 and 19 (:data:`R_SUBSET`). Its times are scaled to the whole
genome: genotype and allele probabilities and the LOCO kinship per marker; the LMM scan as
20 times its cost per chromosome (a scan of one marker: the decomposition and null fits)
plus its cost per marker (the scan of the larger subset chromosome less that constant)
times the markers. Rows computed so say "R extrapolated".

Inputs are cached under ``/tmp/translocus_study`` (the cross as a pickle for Python, the R
subset as R/qtl2 files). The machine may be shared: the load average before and after is
recorded, with wall and CPU seconds of every step (one run each, after a warm-up), and the
ratios R / ours of both (on a busy machine the CPU ratio is the steadier one).

Run: python benchmarks/study_speed.py [--scale full|small] [--shapes do750,do2000,cc70]
     [--lmm-shapes do750,cc70] [--lmm-every N] [--threads 1,2] [--backend cpu|torch]
     [--device cuda]
     [--repeat N] [--no-r | --r-cached] [--out benchmarks/results/study_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import translocus.genetics._scan_lmm as scan_lmm_module
import translocus.genetics.lmm as lmm_module
from translocus.core.atomic import atomic_write_text
from translocus.core.model import Cross, GenoProbs
from translocus.core.qtl2io import write_cross
from translocus.core.simulate import simulate_cross
from translocus.core.threads import parallel_map, thread_limit
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.lmm import eigen_2k
from translocus.genetics.scan import scan

CACHE = Path("/tmp/translocus_study")
#: shape: (cross type, animals or lines, markers) at each scale
SHAPES: dict[str, dict[str, tuple[str, int, int]]] = {
    "full": {
        "do750": ("do", 750, 110_000),
        "do2000": ("do", 2000, 110_000),
        "cc70": ("risib8", 70, 110_000),
    },
    "small": {
        "do750": ("do", 150, 11_000),
        "do2000": ("do", 300, 11_000),
        "cc70": ("risib8", 70, 11_000),
    },
}
#: markers of chromosomes 18 and 19 in R/qtl2's subset cross, per shape
R_SUBSET: dict[str, tuple[int, int]] = {"do750": (150, 300), "do2000": (60, 120),
                                        "cc70": (1500, 3000)}  # fmt: skip
#: shapes whose kinship and LMM scans are timed by default (do2000's allele probabilities
#: alone would be 14 GB in memory at once)
LMM_SHAPES = ("do750", "cc70")
TRAITS = (2, 100)
#: allele probabilities of every n-th marker for the kinship and the LMM scans: the LMM of
#: 750 DO mice at 110,000 markers is 20 minutes here, and R/qtl2's would be 16 hours
LMM_EVERY: dict[str, dict[str, int]] = {"full": {"do750": 10, "do2000": 10}, "small": {}}
#: genotype probabilities computed for the whole genome at once below this size, else a
#: chromosome at a time
WHOLE_GENOME_BYTES = 2 * 2**30
SEED = 1


def _clock(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - w0, time.process_time() - c0, value


def study_cross(shape: str, scale: str) -> Cross:
    """The simulated cross of a shape (cached under :data:`CACHE`)."""
    crosstype, n, markers = SHAPES[scale][shape]
    path = CACHE / f"{shape}_{scale}" / "cross.pkl"
    if path.is_file():
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = simulate_cross(cross_type=crosstype, n=n, n_markers=markers, seed=SEED,
                             n_traits=max(TRAITS))  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
        pickle.dump(sim.cross, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(fh.name, path)
    return sim.cross


def r_subset_cross(cross: Cross, shape: str) -> Cross:
    """The first markers of chromosomes 18 and 19 (:data:`R_SUBSET`), 100 traits."""
    sizes = dict(zip(("18", "19"), R_SUBSET[shape], strict=True))
    sub = cross.subset(chromosomes=list(sizes))

    def cut(table: Any, k: int) -> Any:
        return table.iloc[:k] if isinstance(table, pd.Series) else table[..., :k]

    return replace(
        sub,
        geno={c: sub.geno[c][:, :k] for c, k in sizes.items()},
        gmap={c: cut(sub.gmap[c], k) for c, k in sizes.items()},
        pmap={c: cut(sub.pmap[c], k) for c, k in sizes.items()} if sub.pmap else None,
        founder_geno=(
            {c: sub.founder_geno[c][:, :k] for c, k in sizes.items()} if sub.founder_geno else None
        ),
        pheno=sub.pheno.iloc[:, : max(TRAITS)],
        x_chr=None,
    )


def r_times_file(shape: str, scale: str, *, with_lmm: bool) -> Path:
    """Where R/qtl2's subset timings of a shape are cached (with or without the LMM scans)."""
    return CACHE / f"{shape}_{scale}" / ("r_times.csv" if with_lmm else "r_times_genoprob.csv")


def run_r(cross: Cross, shape: str, scale: str, *, cached: bool = False,
          with_lmm: bool = True) -> pd.DataFrame | None:  # fmt: skip
    """R/qtl2's timings on the subset cross (None when Rscript is missing).

    ``cached``: the timings of an earlier run (``r_times.csv`` in the cache) where there are
    some, instead of running R again. ``with_lmm=False`` leaves out the LMM scans.
    """
    out = r_times_file(shape, scale, with_lmm=with_lmm)
    if cached and out.is_file():
        return pd.read_csv(out)
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    folder = CACHE / f"{shape}_{scale}" / "r_subset"
    if not (folder / "cross.json").is_file():
        write_cross(r_subset_cross(cross, shape), folder, name="cross")
    script = Path(__file__).with_name("study_speed.R")
    env = {**os.environ, "R_LIBS": os.environ.get("R_LIBS", "/opt/rlib")}
    traits = TRAITS if with_lmm else ()
    subprocess.run([rscript, str(script), str(folder / "cross.json"), str(out),
                    *map(str, traits)], check=True, env=env)  # fmt: skip
    return pd.read_csv(out)


def r_extrapolated(times: pd.DataFrame, n_markers: int, n_chrom: int
                   ) -> dict[str, tuple[float, float]]:  # fmt: skip
    """R/qtl2's whole-genome (elapsed, CPU) seconds from the subset's (module docstring)."""
    out = {}
    for step in ("calc_genoprob", "genoprob_to_alleleprob", "calc_kinship_loco"):
        row = times[times.step == step].iloc[0]
        scale = n_markers / float(row.markers)
        out[step] = (float(row.seconds) * scale, float(row.cpu_seconds) * scale)
    for t in TRAITS:
        if not ((times.step == "scan1_lmm_loco_chromosome") & (times.traits == t)).any():
            continue  # R ran without the LMM scans
        whole = times[(times.step == "scan1_lmm_loco_chromosome") & (times.traits == t)].iloc[0]
        one = times[(times.step == "scan1_lmm_loco_one_marker") & (times.traits == t)].iloc[0]
        pair = []
        for col in ("seconds", "cpu_seconds"):
            per_marker = max(float(whole[col] - one[col]), 0.0) / float(whole.markers - 1)
            pair.append(n_chrom * float(one[col]) + n_markers * per_marker)
        out[f"scan1_lmm_loco_{t}"] = (pair[0], pair[1])
    return out


def genoprob_by_chromosome(cross: Cross, threads: list[int], *, keep_alleles: bool,
                           every: int = 1, repeat: int = 1) -> dict[str, Any]:  # fmt: skip
    """calc_genoprob per thread count; allele probabilities (of every ``every``-th marker).

    ``repeat``: each chromosome group is computed that many times with each thread count in
    turn, and the fastest wall time of each (with its CPU time) counts, which damps the noise
    of a shared machine.
    """
    for cores in threads:  # load the compiled kernels, start the threads
        calc_genoprob(cross, chromosomes=list(cross.chromosomes[-2:]), cores=cores)
    wall = dict.fromkeys(threads, 0.0)
    cpu = dict.fromkeys(threads, 0.0)
    apr_wall = apr_cpu = 0.0
    worst = 0.0
    alleles: dict[str, Any] = {}
    # a chromosome at a time where the whole genome's probabilities would not fit in memory
    n_states = {"do": 36}.get(cross.crosstype, 8)
    whole = cross.n_individuals * cross.n_markers * n_states * 8 < WHOLE_GENOME_BYTES
    groups = [list(cross.chromosomes)] if whole else [[c] for c in cross.chromosomes]
    for chroms in groups:
        # only the last run is kept whole (a DO chromosome of 2,000 mice is 5 GB): the
        # earlier ones are compared with it on their first 100 samples
        kept: list[np.ndarray] = []
        pr: Any = None
        best: dict[int, tuple[float, float]] = {}
        for rep in range(repeat):
            for cores in threads:
                pr = None
                w, c, pr = _clock(partial(calc_genoprob, cross, error_prob=0.002,
                                          chromosomes=chroms, cores=cores))  # fmt: skip
                if cores not in best or w < best[cores][0]:
                    best[cores] = (w, c)
                if rep == 0 and cores != threads[-1]:
                    kept.append([pr[c].values[:, :100].copy() for c in chroms])
        for cores, (w, c) in best.items():
            wall[cores] += w
            cpu[cores] += c
        for part in kept:
            for chrom, values in zip(chroms, part, strict=True):
                worst = max(worst, float(np.abs(pr[chrom].values[:, :100] - values).max()))
        with thread_limit(threads[-1]):
            w, c, apr = _clock(partial(genoprob_to_alleleprob, pr))
        apr_wall += w
        apr_cpu += c
        if keep_alleles:
            alleles.update({c: apr[c].isel(marker=slice(None, None, every)) for c in chroms})
        del pr, apr, kept
    probs = GenoProbs(probs=alleles, crosstype=cross.crosstype, alleles=tuple(cross.alleles),
                      x_chr=cross.x_chr, kind="allele") if keep_alleles else None  # fmt: skip
    return {"wall": wall, "cpu": cpu, "apr": (apr_wall, apr_cpu), "max_diff_threads": worst,
            "repeat": repeat, "alleles": probs}  # fmt: skip


def fresh_decompositions() -> None:
    """Empty the decompositions kept by :func:`eigen_2k`, so that a timed step makes them all."""
    lmm_module._EIGEN_CACHE.clear()


class _EigenTimer:
    """Wraps the scan's kinship decompositions to add up their seconds (thread-safe)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.lock = threading.Lock()
        self.original = scan_lmm_module.eigen_2k

    def __enter__(self) -> _EigenTimer:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            value = self.original(*args, **kwargs)
            with self.lock:
                self.seconds += time.perf_counter() - t0
                self.calls += 1
            return value

        scan_lmm_module.eigen_2k = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        scan_lmm_module.eigen_2k = self.original  # type: ignore[assignment]


def lmm_steps(cross: Cross, alleles: GenoProbs, threads: list[int], *, backend: str,
              device: str | None) -> dict[str, Any]:  # fmt: skip
    """Kinship LOCO per thread count and LMM LOCO scans of 2 and 100 traits (most threads)."""
    out: dict[str, Any] = {}
    kin: dict[int, Any] = {}
    first = {c: alleles[c] for c in list(alleles)[:2]}
    for n in threads:  # start the pools and the BLAS limits once before timing
        with thread_limit(n):
            calc_kinship(GenoProbs(probs=first, crosstype=alleles.crosstype,
                                   alleles=alleles.alleles, kind="allele"), type="loco")  # fmt: skip
    for n in threads:
        with thread_limit(n):
            w, c, kin[n] = _clock(lambda: calc_kinship(alleles, type="loco"))
        out[f"kinship_loco_{n}"] = (w, c)
    out["kinship_max_diff_threads"] = max(
        float(np.abs(kin[n][k].values - kin[threads[0]][k].values).max())
        for n in threads
        for k in kin[n]
    )
    most = threads[-1]
    loco = kin[most]
    pheno = cross.pheno.select_dtypes("number")
    where = {"backend": backend, "device": device, "threads": most}
    small = GenoProbs(probs={"19": alleles["19"]}, crosstype=alleles.crosstype,
                      alleles=alleles.alleles, kind="allele")  # fmt: skip
    scan(pheno.iloc[:, :2], small, kinship={"19": loco["19"]}, **where)  # warm-up
    for t in TRAITS:
        fresh_decompositions()
        with _EigenTimer() as timer:
            w, c, _ = _clock(lambda t=t: scan(pheno.iloc[:, :t], alleles, kinship=loco, **where))
        out[f"scan_lmm_loco_{t}"] = (w, c)
        out[f"scan_lmm_loco_{t}_eig_calls"] = (timer.seconds, timer.calls)
    matrices = [(k, loco[k].values) for k in loco]
    ids = tuple(str(s) for s in loco[matrices[0][0]].coords["sample"].values)
    fresh_decompositions()
    w, c, _ = _clock(lambda: parallel_map(lambda km: eigen_2k(km[1], ids), matrices, most))
    out["eigh_20_side_by_side"] = (w, c)
    return out


def run(shapes: list[str], *, scale: str, with_r: bool, json_path: Path | None,
        threads: list[int], lmm_shapes: list[str], backend: str = "cpu",
        device: str | None = None, lmm_every: int = 0, r_cached: bool = False,
        repeat: int = 1) -> dict:  # fmt: skip
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    most = threads[-1]

    def row(case: str, ours: tuple[float, float], r: tuple[float, float] | None, note: str):
        rows.append({"case": case, "ours_s": ours[0], "ours_cpu_s": ours[1],
                     "r_s": None if r is None else r[0], "r_cpu_s": None if r is None else r[1],
                     "ratio": None if r is None else r[0] / ours[0],
                     "cpu_ratio": None if r is None else r[1] / ours[1], "note": note})  # fmt: skip

    for shape in shapes:
        crosstype, n, markers = SHAPES[scale][shape]
        cross = study_cross(shape, scale)
        n_chrom = len(cross.chromosomes)
        label = f"{shape} ({crosstype}, {n} x {markers:,} markers)"
        with_lmm = shape in lmm_shapes
        r_file = r_times_file(shape, scale, with_lmm=with_lmm)
        reused = r_cached and with_r and r_file.is_file()
        r_times = (run_r(cross, shape, scale, cached=r_cached, with_lmm=with_lmm)
                   if with_r else None)  # fmt: skip
        r = r_extrapolated(r_times, cross.n_markers, n_chrom) if r_times is not None else {}
        note_r = (f"R/qtl2 cores=1 extrapolated from the chr 18+19 subset {R_SUBSET[shape]} "
                  "markers" if r else "R/qtl2 not run")  # fmt: skip
        if r and reused:
            stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(r_file.stat().st_mtime))
            note_r += f" (R/qtl2 timed in an earlier run, {stamp}, not in this one)"
        every = lmm_every or LMM_EVERY[scale].get(shape, 1)
        gp = genoprob_by_chromosome(cross, threads, keep_alleles=shape in lmm_shapes,
                                    every=every, repeat=repeat)  # fmt: skip
        details[shape] = {"genoprob": {k: v for k, v in gp.items() if k != "alleles"},
                          "r_subset_times": None if r_times is None
                          else r_times.to_dict(orient="records"),
                          "r_whole_genome": r}  # fmt: skip
        note_gp = note_r + (f"; ours the fastest of {repeat} runs per chromosome group"
                            if repeat > 1 else "")  # fmt: skip
        for cores in threads:
            row(f"{label} calc_genoprob {cores} thread(s)", (gp["wall"][cores], gp["cpu"][cores]),
                r.get("calc_genoprob"), note_gp)  # fmt: skip
        row(f"{label} genoprob_to_alleleprob", gp["apr"], r.get("genoprob_to_alleleprob"),
            note_r)  # fmt: skip
        if gp["alleles"] is None:
            continue
        n_lmm = sum(gp["alleles"][c].sizes["marker"] for c in gp["alleles"])
        if r_times is not None:
            r = r_extrapolated(r_times, n_lmm, n_chrom)
        label = f"{shape} ({crosstype}, {n} x {n_lmm:,} markers)"
        if every > 1:
            note_r += f"; kinship and LMM on one marker in {every}"
        lmm = lmm_steps(cross, gp["alleles"], threads, backend=backend, device=device)
        details[shape]["lmm"] = lmm
        for n_threads in threads:
            row(f"{label} calc_kinship loco {n_threads} thread(s)",
                lmm[f"kinship_loco_{n_threads}"], r.get("calc_kinship_loco"), note_r)  # fmt: skip
        eig_alone = lmm["eigh_20_side_by_side"][0]
        for t in TRAITS:
            w, c = lmm[f"scan_lmm_loco_{t}"]
            eig_sum, calls = lmm[f"scan_lmm_loco_{t}_eig_calls"]
            note = (f"{note_r}; {backend} {device or ''}; {calls} eigh in the scan "
                    f"{eig_sum:.2f} s summed over threads, the {calls} alone {most}-wide "
                    f"{eig_alone:.2f} s, the rest of the scan {w - eig_alone:.2f} s "
                    f"({100 * (w - eig_alone) / eig_alone:.0f}% on top)")  # fmt: skip
            row(f"{label} scan1 LMM LOCO {t} traits ({most} threads)", (w, c),
                r.get(f"scan1_lmm_loco_{t}"), note)  # fmt: skip
        del gp
    result = {
        "benchmark": "study_speed",
        "scale": scale,
        "threads": threads,
        "backend": backend,
        "device": device,
        "rows": rows,
        "details": details,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    if json_path is not None:
        atomic_write_text(Path(json_path), json.dumps(result, indent=2, default=float))
    return result


def print_table(result: dict) -> None:
    head = f"{'case':<70} {'ours s':>8} {'cpu s':>8} {'R/qtl2 s':>9} {'R cpu s':>9}"
    print(f"{head} {'ratio':>7} {'cpu ratio':>9}")

    def cell(value: float | None, width: int, digits: int) -> str:
        return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"

    for r in result["rows"]:
        print(f"{r['case']:<70} {cell(r['ours_s'], 8, 2)} {cell(r['ours_cpu_s'], 8, 2)} "
              f"{cell(r['r_s'], 9, 1)} {cell(r['r_cpu_s'], 9, 1)} {cell(r['ratio'], 7, 1)} "
              f"{cell(r['cpu_ratio'], 9, 1)}")  # fmt: skip
        print(f"    {r['note']}")
    print(f"load average before {result['load_average_before']}, "
          f"after {result['load_average_after']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SHAPES), default="full")
    parser.add_argument("--shapes", default="do750,do2000,cc70")
    parser.add_argument("--lmm-shapes", default=",".join(LMM_SHAPES),
                        help="shapes whose kinship and LMM scans are timed")  # fmt: skip
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2 or 16")
    parser.add_argument("--backend", default="cpu", help="scan backend: cpu or torch")
    parser.add_argument("--device", default=None, help="torch device, e.g. cuda")
    parser.add_argument("--lmm-every", type=int, default=0,
                        help="kinship and LMM on every n-th marker (default: LMM_EVERY)")  # fmt: skip
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="genotype probabilities: fastest of this many runs per thread count",
    )
    parser.add_argument("--no-r", action="store_true", help="skip R/qtl2")
    parser.add_argument("--r-cached", action="store_true",
                        help="reuse R/qtl2's subset timings of an earlier run where cached "
                        "(the rows say so) instead of running R again")  # fmt: skip
    parser.add_argument("--out", default="benchmarks/results/study_speed.json")
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES[args.scale]]
    if unknown:
        parser.error(f"unknown shapes {unknown}; use {', '.join(SHAPES[args.scale])}")
    threads = [int(t) for t in args.threads.split(",") if t]
    result = run(shapes, scale=args.scale, with_r=not args.no_r, json_path=Path(args.out),
                 threads=threads, lmm_shapes=[s for s in args.lmm_shapes.split(",") if s],
                 backend=args.backend, device=args.device, lmm_every=args.lmm_every,
                 r_cached=args.r_cached, repeat=args.repeat)  # fmt: skip
    print_table(result)


if __name__ == "__main__":
    main()
