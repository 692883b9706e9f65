"""Benchmark genotype probabilities, allele probabilities and kinship against R/qtl2's timings.

Times ``calc_genoprob`` on DO_Recla (261 mice, 6,394 markers, 36/44 states, Carter-Falconer,
error 0.002) with 1 and 2 threads, ``genoprob_to_alleleprob``, ``calc_kinship`` overall and LOCO,
and ``calc_genoprob`` on BXD, next to R/qtl2 0.43-5's elapsed seconds on this machine
(``/work/shared/ref/qtl2/TIMINGS.md``, quiet-machine values). Prints a table of ratios and
writes JSON.

Run: python benchmarks/genoprob.py [--out benchmarks/results/genoprob.json] [--repeat 3]

Each step is run ``repeat`` times after a warm-up (numba compilation / cache load, done once
per process, is reported separately); the table shows the fastest wall time and the CPU time of
that run. The machine may be shared: the load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numba

from translocus.core.atomic import atomic_write_text
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship

#: R/qtl2 0.43-5 elapsed seconds (TIMINGS.md, "Main numbers", quiet machine): (cores=1, cores=2)
R_SECONDS: dict[str, tuple[float | None, float | None]] = {
    "DO_Recla calc_genoprob": (176.4, 123.9),
    "DO_Recla genoprob_to_alleleprob": (0.98, 1.05),
    "DO_Recla calc_kinship overall": (1.51, 0.95),
    "DO_Recla calc_kinship loco": (1.53, 0.91),
    "BXD calc_genoprob": (0.44, 1.02),
}


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best_wall, best_cpu, value = float("inf"), float("inf"), None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, value


def run(json_path: str | Path | None = "benchmarks/results/genoprob.json", *, repeat: int = 3):
    """Run the benchmark; return the results dict (and write it as JSON unless ``None``)."""
    qtl2 = data_dir() / "qtl2"
    load0 = os.getloadavg()
    do = read_cross(qtl2 / "DO_Recla" / "recla.zip")
    w0 = time.perf_counter()
    calc_genoprob(do, error_prob=0.002, map_function="c-f", chromosomes=["19", "X"])
    warmup = time.perf_counter() - w0
    threads = numba.get_num_threads()

    rows: list[dict[str, Any]] = []

    def add(step: str, cores: int, wall: float, cpu: float) -> None:
        r = R_SECONDS.get(step, (None, None))[0 if cores == 1 else 1]
        rows.append({
            "step": step, "cores": cores, "seconds": wall, "cpu_seconds": cpu,
            "r_qtl2_seconds": r, "speedup_vs_r": (r / wall) if r else None,
        })  # fmt: skip

    def genoprob(cores: int):
        return calc_genoprob(do, error_prob=0.002, map_function="c-f", cores=cores)

    probs: Any = None
    for cores in sorted({1, threads}):
        wall, cpu, probs = _time(partial(genoprob, cores), repeat)
        add("DO_Recla calc_genoprob", cores, wall, cpu)
    wall, cpu, alleles = _time(partial(genoprob_to_alleleprob, probs), repeat)
    add("DO_Recla genoprob_to_alleleprob", threads, wall, cpu)
    for kind in ("overall", "loco"):
        wall, cpu, _ = _time(partial(calc_kinship, alleles, type=kind), repeat)
        add(f"DO_Recla calc_kinship {kind}", threads, wall, cpu)
    del probs, alleles

    bxd_path = qtl2 / "BXD" / "bxd.zip"
    if bxd_path.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bxd = read_cross(bxd_path)
        for cores in sorted({1, threads}):
            fn = partial(calc_genoprob, bxd, error_prob=0.002, map_function="c-f", cores=cores)
            wall, cpu, _ = _time(fn, repeat)
            add("BXD calc_genoprob", cores, wall, cpu)

    result = {
        "benchmark": "genoprob",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "numba_threads": threads,
        },  # fmt: skip
        "load_average_before": load0,
        "load_average_after": os.getloadavg(),
        "warmup_seconds": warmup,
        "repeat": repeat,
        "rows": rows,
    }
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    return result


def _print(result: dict[str, Any]) -> None:
    print(
        f"{'step':38s} {'cores':>5s} {'seconds':>9s} {'cpu s':>8s} {'R/qtl2 s':>9s} {'x faster':>9s}"
    )
    for r in result["rows"]:
        ref = f"{r['r_qtl2_seconds']:9.2f}" if r["r_qtl2_seconds"] else f"{'-':>9s}"
        ratio = f"{r['speedup_vs_r']:9.1f}" if r["speedup_vs_r"] else f"{'-':>9s}"
        print(f"{r['step']:38s} {r['cores']:5d} {r['seconds']:9.3f} {r['cpu_seconds']:8.3f} "
              f"{ref} {ratio}")  # fmt: skip
    print(f"warm-up (numba cache load / compile): {result['warmup_seconds']:.2f} s; load average "
          f"before {result['load_average_before'][0]:.2f}, after {result['load_average_after'][0]:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/genoprob.json"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    _print(run(args.out, repeat=args.repeat))


if __name__ == "__main__":
    main()
