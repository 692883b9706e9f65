"""Speed of the LMM genome scan on DO_Recla against R/qtl2 0.43-5 on this machine.

DO_Recla: 261 mice, 6,394 markers, 8 allele dosages, 26 phenotypes (0-3 missing values each).
The allele probabilities and the LOCO kinship are computed once (not timed); then

- ``scan`` Haley-Knott, all 26 phenotypes,
- ``scan`` LMM with the LOCO kinship (REML h² per chromosome and phenotype), all 26,
- ``scan_perm`` LMM LOCO for ``OF_immobile_pct`` with ``--perms`` permutations (R/qtl2's
  permutation matrix when the reference has it), scaled to 1,000 (marked as such),

each the best of ``--repeat`` runs by wall time, with the CPU seconds of that run
(``time.process_time``: all threads of this process). R/qtl2's elapsed seconds come from
``/work/shared/ref/qtl2/TIMINGS.md`` (quiet machine, cores=1); ratios are R / ours. The LMM LODs
are also compared with R/qtl2's (``lod_lmm_loco.csv.gz``) when the reference is present.

The machine may be shared: the load average before and after is recorded, and on a busy
machine the wall times are those of a process that got a share of the cores; the CPU seconds
are the better measure of the work done then.

With ``--backend torch`` the scans run through ``scan_accelerated`` and the permutations through
``scan_perm(backend=...)`` (a CUDA device when present, else torch's CPU build); the first
permutation maxima are compared with R/qtl2's (``perm_lmm_loco_*_100.csv``) either way.

Run: python benchmarks/lmm_speed.py [--out benchmarks/results/lmm_speed.json] [--repeat 3]
     [--perms 20] [--backend cpu|torch] [--device cuda]
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

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.compute import get_backend
from translocus.core.paths import data_dir, reference_dir
from translocus.core.qtl2io import read_cross
from translocus.core.threads import worker_count
from translocus.genetics.accelerated import scan_accelerated
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.permute import permutation_matrix, scan_perm
from translocus.genetics.scan import scan

#: R/qtl2 elapsed seconds (TIMINGS.md, quiet machine): (cores=1, cores=2)
R_SECONDS: dict[str, tuple[float, float]] = {
    "scan HK (26 traits)": (1.21, 0.99),
    "scan LMM LOCO (26 traits)": (17.17, 11.38),
    "scan_perm LMM LOCO 1000 (1 trait)": (782.3, 434.3),
}
TRAIT = "OF_immobile_pct"


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best_wall, best_cpu, value = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, value


def _max_diff_vs_r(result: Any) -> float | None:
    path = reference_dir() / "qtl2" / "DO_Recla" / "lod_lmm_loco.csv.gz"
    if not path.exists():
        return None
    ref = pd.read_csv(path, dtype={"marker": str, "chr": str}).set_index("marker")
    ours = result.lod
    common = [c for c in ours.columns if c in ref.columns]
    ref = ref.loc[ours.index, common].to_numpy(dtype=float)
    return float(np.nanmax(np.abs(ours[common].to_numpy() - ref)))


def _permutations(n_samples: int, n_perm: int) -> tuple[np.ndarray, str]:
    path = reference_dir() / "qtl2" / "DO_Recla" / "perm_indices_1000_seed20260101.csv.gz"
    if path.exists():
        idx = pd.read_csv(path)
        perms = idx.pivot(index="row", columns="perm", values="index").to_numpy() - 1
        return perms[:, :n_perm].astype(np.int64), "R/qtl2's permutation matrix"
    return permutation_matrix(n_samples, n_perm, seed=20260101), "seeded permutations"


def _perm_diff_vs_r(maxlod: np.ndarray, source: str) -> float | None:
    path = reference_dir() / "qtl2" / "DO_Recla" / f"perm_lmm_loco_{TRAIT}_100.csv"
    if not path.exists() or not source.startswith("R/qtl2"):
        return None
    ref = pd.read_csv(path)["maxlod"].to_numpy()
    k = min(ref.size, maxlod.size)
    return float(np.abs(maxlod[:k] - ref[:k]).max())


def run(
    json_path: str | Path | None = "benchmarks/results/lmm_speed.json",
    *,
    repeat: int = 3,
    n_perm: int = 20,
    backend: str = "cpu",
    device: str | None = None,
) -> dict[str, Any]:
    """Run the benchmark; return the results (and write them as JSON unless ``None``)."""
    load_before = os.getloadavg()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross = read_cross(data_dir() / "qtl2" / "DO_Recla" / "recla.zip")
    pheno = cross.pheno.copy()
    pheno.index = [str(i) for i in pheno.index]
    apr = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=0.002, map_function="c-f"))
    k_loco = calc_kinship(apr, type="loco")
    if backend == "cpu":
        be = None
        scan_fn: Callable[..., Any] = scan
    else:
        be = get_backend(backend, device)
        scan_fn = partial(scan_accelerated, backend=be)
    scan_fn(pheno.iloc[:, :2], apr.subset(chromosomes=["19", "X"]), kinship=k_loco)  # warm up

    rows: list[dict[str, Any]] = []

    def add(step: str, wall: float, cpu: float, note: str = "") -> None:
        r1, r2 = R_SECONDS.get(step, (None, None))
        rows.append({"step": step, "seconds": wall, "cpu_seconds": cpu, "r_cores1": r1,
                     "r_cores2": r2, "ratio_vs_r_cores1": (r1 / wall) if r1 else None,
                     "ratio_vs_r_cores2": (r2 / wall) if r2 else None,
                     "ratio_cpu_vs_r_cores1": (r1 / cpu) if r1 else None,
                     "note": note})  # fmt: skip

    wall, cpu, _ = _time(lambda: scan_fn(pheno, apr), repeat)
    add("scan HK (26 traits)", wall, cpu)
    wall, cpu, lmm = _time(lambda: scan_fn(pheno, apr, kinship=k_loco), repeat)
    add("scan LMM LOCO (26 traits)", wall, cpu)
    max_diff = _max_diff_vs_r(lmm)

    perms, note = _permutations(len(apr.samples), n_perm)
    trait = pheno[[TRAIT]]
    scan_perm(trait, apr.subset(chromosomes=["19"]), kinship={"19": k_loco["19"]},
              perms=perms[:, :2], backend=be)  # fmt: skip
    wall, cpu, perm = _time(lambda: scan_perm(trait, apr, kinship=k_loco, perms=perms,
                                              backend=be), 1)  # fmt: skip
    add(f"scan_perm LMM LOCO {perms.shape[1]} (1 trait)", wall, cpu, note)
    if perms.shape[1] != 1000:
        add("scan_perm LMM LOCO 1000 (1 trait)", wall * 1000 / perms.shape[1],
            cpu * 1000 / perms.shape[1], f"scaled from {perms.shape[1]} permutations")  # fmt: skip
    perm_diff = _perm_diff_vs_r(perm.maxlod[TRAIT].to_numpy(), note)

    result = {
        "dataset": "DO_Recla (261 mice, 6,394 markers, 8 alleles, 26 phenotypes, LOCO kinship)",
        "rows": rows,
        "lmm_max_abs_lod_diff_vs_r": max_diff,
        "perm_max_abs_diff_vs_r": perm_diff,
        "backend": "cpu" if be is None else f"{be.name} ({be.device})",
        "workers": worker_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "r_reference": "R/qtl2 0.43-5, TIMINGS.md quiet-machine values",
    }
    if json_path is not None:
        atomic_write_text(Path(json_path), json.dumps(result, indent=2, default=float))
    return result


def _print(result: dict[str, Any]) -> None:
    def fmt(v: Any, w: int, d: int = 2) -> str:
        return f"{v:{w}.{d}f}" if isinstance(v, int | float) else " " * (w - 1) + "-"

    print(f"{'step':38s} {'wall s':>8s} {'cpu s':>8s} {'R c=1':>8s} {'R c=2':>8s} "
          f"{'R1/wall':>8s} {'R2/wall':>8s} {'R1/cpu':>8s}  note")  # fmt: skip
    for r in result["rows"]:
        print(f"{r['step'][:38]:38s} {fmt(r['seconds'], 8, 3)} {fmt(r['cpu_seconds'], 8, 3)} "
              f"{fmt(r['r_cores1'], 8)} {fmt(r['r_cores2'], 8)} "
              f"{fmt(r['ratio_vs_r_cores1'], 8, 1)} {fmt(r['ratio_vs_r_cores2'], 8, 1)} "
              f"{fmt(r['ratio_cpu_vs_r_cores1'], 8, 1)}  {r['note']}")  # fmt: skip
    diff = result["lmm_max_abs_lod_diff_vs_r"]
    print(f"LMM LOCO max |LOD - R/qtl2| = {diff:.2e}" if diff is not None else
          "LMM LOCO: R/qtl2 reference not found")  # fmt: skip
    pdiff = result["perm_max_abs_diff_vs_r"]
    if pdiff is not None:
        print(f"permutation maxima: max |ours - R/qtl2| = {pdiff:.2e} (R/qtl2's first 100)")
    print(f"backend {result['backend']}; workers {result['workers']}; load average before {result['load_average_before']}, "
          f"after {result['load_average_after']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/lmm_speed.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--perms", type=int, default=20)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "torch"])
    parser.add_argument("--device", default=None, help="torch device (default: CUDA if present)")
    args = parser.parse_args()
    _print(run(args.out, repeat=args.repeat, n_perm=args.perms, backend=args.backend,
               device=args.device))  # fmt: skip


if __name__ == "__main__":
    main()
