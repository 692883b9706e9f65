"""Scan speed with R/qtl2's rank rule checked in every fit (moment kernel, effects).

A simulated Diversity Outbred cross (500 mice, 4,000 markers, 8 allele dosages, 20 traits):
Haley-Knott and LMM-LOCO scans of all traits and of one, 100 Haley-Knott permutations and the chromosome-1 effects
(scan1coef, HK and LMM). Each step runs on one thread ``--repeat`` times and the smallest
CPU time is kept (seconds).

Run: python benchmarks/scan_rank.py [--label after] [--out benchmarks/results/scan_rank.json]
     [--repeat 5]

Run it once on the code before a change (``PYTHONPATH=<old checkout>/src``) with
``--label before`` and once after with ``--label after``: the JSON keeps one entry per label,
and the table printed compares the two when both are there. The machine may be shared: the
load average before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from translocus.core.atomic import atomic_write_text
from translocus.core.simulate import simulate_cross
from translocus.core.threads import thread_limit
from translocus.genetics.effects import scan1coef
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.permute import scan_perm
from translocus.genetics.scan import scan


def _best(fn: Callable[[], Any], repeat: int) -> float:
    """The smallest CPU time of the process over ``repeat`` runs (on one thread, so that a
    busy machine changes it less than the elapsed time)."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        with thread_limit(1):
            fn()
        times.append(time.process_time() - t0)
    return min(times)


def run(repeat: int) -> dict[str, float]:
    sim = simulate_cross(cross_type="do", n=500, seed=7, n_markers=4000, n_traits=20)
    apr = genoprob_to_alleleprob(calc_genoprob(sim.cross, error_prob=0.002))
    pheno = sim.cross.pheno
    k_loco = calc_kinship(apr, type="loco")
    scan(pheno.iloc[:, :2], apr, kinship=k_loco)  # compile and warm up
    steps: dict[str, Callable[[], Any]] = {
        "scan HK (20 traits)": lambda: scan(pheno, apr),
        "scan HK (1 trait)": lambda: scan(pheno.iloc[:, :1], apr),
        "scan LMM LOCO (20 traits)": lambda: scan(pheno, apr, kinship=k_loco),
        "scan LMM LOCO (1 trait)": lambda: scan(pheno.iloc[:, :1], apr, kinship=k_loco),
        "scan_perm HK 100 (1 trait)": lambda: scan_perm(
            pheno.iloc[:, :1], apr, n_perm=100, seed=1
        ),  # fmt: skip
        "scan1coef HK chr 1": lambda: scan1coef(pheno.iloc[:, 0], apr, chrom="1"),
        "scan1coef LMM chr 1": lambda: scan1coef(
            pheno.iloc[:, 0], apr, chrom="1", kinship=k_loco
        ),  # fmt: skip
    }
    return {name: _best(fn, repeat) for name, fn in steps.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--label", default="after")
    ap.add_argument("--out", default="benchmarks/results/scan_rank.json")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    path = Path(args.out)
    result = json.loads(path.read_text()) if path.exists() else {}
    load = os.getloadavg()[0]
    seconds = run(args.repeat)
    result[args.label] = {"seconds": seconds, "load_before": load,
                          "load_after": os.getloadavg()[0], "cpus": os.cpu_count()}  # fmt: skip
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    labels = [lab for lab in ("before", "after") if lab in result] or [args.label]
    print(f"{'step':32s}" + "".join(f"{lab:>10s}" for lab in labels)
          + ("   after/before" if len(labels) == 2 else ""))  # fmt: skip
    for step in seconds:
        vals = [result[lab]["seconds"].get(step) for lab in labels]
        ratio = f"{vals[1] / vals[0]:15.3f}" if len(vals) == 2 and all(vals) else ""
        print(f"{step:32s}" + "".join(f"{v:10.3f}" for v in vals) + ratio)


if __name__ == "__main__":
    main()
