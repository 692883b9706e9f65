"""Benchmark the cause engine on DO_Recla against R/qtl2's timings on this machine.

Steps (261 DO mice, 6,394 markers, 8 allele dosages, 26 phenotypes): genotype probabilities
(through ``benchmarks/genoprob.py``'s ``run()`` when present), allele dosages, kinship (overall,
LOCO), Haley-Knott scans (plain and with sex + X covariates), LMM scans (LOCO, overall, LOCO
with ML), heritability, 1,000 Haley-Knott permutations, LMM-LOCO permutations, peaks, and the
chromosome-2 effects (scan1coef HK/LMM, scan1blup). R/qtl2 0.43-5's elapsed seconds come from
``/work/shared/ref/qtl2/TIMINGS.md`` (quiet machine, cores=1 and cores=2); ratios are R / ours.

Run: python benchmarks/genetics.py [--out benchmarks/results/genetics.json] [--repeat 3]
     [--lmm-perms 100] [--skip-genoprob]

LMM permutations cost one rotation of the whole genome each (n² x markers x alleles flops);
``--lmm-perms`` permutations are timed and the 1,000-permutation time is also reported,
scaled linearly and marked as such. The machine may be shared: the load average before and
after is recorded.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.paths import data_dir, reference_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics.effects import scan1blup, scan1coef
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.herit import est_herit
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.peaks import find_peaks
from translocus.genetics.permute import permutation_matrix, scan_perm
from translocus.genetics.scan import scan, x_covar

#: R/qtl2 elapsed seconds (TIMINGS.md quiet-machine values): (cores=1, cores=2)
R_SECONDS: dict[str, tuple[float | None, float | None]] = {
    "calc_genoprob": (176.4, 123.9),
    "genoprob_to_alleleprob": (0.98, 1.05),
    "calc_kinship overall": (1.51, 0.95),
    "calc_kinship loco": (1.53, 0.91),
    "scan HK (26 traits)": (1.21, 0.99),
    "scan HK + sex/Xcovar (26 traits)": (1.16, 0.97),
    "scan LMM LOCO (26 traits)": (17.17, 11.38),
    "scan LMM LOCO + sex/Xcovar (26 traits)": (17.22, 11.91),
    "scan LMM overall (26 traits)": (16.50, 9.95),
    "scan LMM LOCO ML (26 traits)": (17.33, None),
    "est_herit overall (26 traits)": (0.08, 0.08),
    "scan_perm HK 1000 (1 trait)": (9.37, 5.31),
    "scan_perm LMM LOCO 1000 (1 trait)": (782.3, 434.3),
    "find_peaks (26 traits, thr 6, drop 1.5)": (0.06, None),
    "scan1coef HK chr2 (se)": (0.01, None),
    "scan1coef LMM chr2 (LOCO K, se)": (0.061, None),
    "scan1blup HK chr2": (7.34, None),
}


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best_wall, best_cpu, value = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        value = fn()
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, value


def _genoprob_rows(repeat: int) -> list[dict[str, Any]]:
    path = Path(__file__).with_name("genoprob.py")
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("translocus_bench_genoprob", path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.run(None, repeat=repeat)
    return [dict(r, source="benchmarks/genoprob.py") for r in result.get("rows", [])]


def run(
    json_path: str | Path | None = "benchmarks/results/genetics.json",
    *,
    repeat: int = 3,
    lmm_perms: int = 100,
    skip_genoprob: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; return the results (and write them as JSON unless ``None``)."""
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []

    def add(step: str, wall: float, cpu: float, note: str = "") -> None:
        r1, r2 = R_SECONDS.get(step, (None, None))
        rows.append({"step": step, "seconds": wall, "cpu_seconds": cpu, "r_cores1": r1,
                     "r_cores2": r2, "ratio_vs_r_cores1": (r1 / wall) if r1 else None,
                     "ratio_vs_r_cores2": (r2 / wall) if r2 else None, "note": note})  # fmt: skip

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross = read_cross(data_dir() / "qtl2" / "DO_Recla" / "recla.zip")
    pheno = cross.pheno.copy()
    pheno.index = [str(i) for i in pheno.index]
    sex = pd.DataFrame({"sex": (~cross.is_female.astype(bool)).astype(float).to_numpy()},
                       index=[str(i) for i in cross.is_female.index])  # fmt: skip
    xcov = x_covar(cross)

    genoprob_rows = [] if skip_genoprob else _genoprob_rows(1)
    rows.extend(genoprob_rows)
    wall, cpu, probs = _time(lambda: calc_genoprob(cross, error_prob=0.002,
                                                   map_function="c-f"), 1)  # fmt: skip
    add("calc_genoprob", wall, cpu, "single run")
    wall, cpu, apr = _time(lambda: genoprob_to_alleleprob(probs), repeat)
    add("genoprob_to_alleleprob", wall, cpu)
    wall, cpu, k_overall = _time(lambda: calc_kinship(apr, type="overall"), repeat)
    add("calc_kinship overall", wall, cpu)
    wall, cpu, k_loco = _time(lambda: calc_kinship(apr, type="loco"), repeat)
    add("calc_kinship loco", wall, cpu)

    scan(pheno.iloc[:, :2], apr.subset(chromosomes=["19", "X"]), kinship=k_loco)  # warm-up
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("scan HK (26 traits)", lambda: scan(pheno, apr)),
        ("scan HK + sex/Xcovar (26 traits)", lambda: scan(pheno, apr, addcovar=sex, Xcovar=xcov)),
        ("scan LMM LOCO (26 traits)", lambda: scan(pheno, apr, kinship=k_loco)),
        ("scan LMM LOCO + sex/Xcovar (26 traits)",
         lambda: scan(pheno, apr, kinship=k_loco, addcovar=sex, Xcovar=xcov)),
        ("scan LMM overall (26 traits)", lambda: scan(pheno, apr, kinship=k_overall)),
        ("scan LMM LOCO ML (26 traits)", lambda: scan(pheno, apr, kinship=k_loco, reml=False)),
        ("est_herit overall (26 traits)", lambda: est_herit(pheno, k_overall)),
    ]  # fmt: skip
    results: dict[str, Any] = {}
    for name, fn in steps:
        wall, cpu, value = _time(fn, repeat)
        results[name] = value
        add(name, wall, cpu)

    trait = pheno[["OF_immobile_pct"]]
    ref_idx = reference_dir() / "qtl2" / "DO_Recla" / "perm_indices_1000_seed20260101.csv.gz"
    if ref_idx.exists():
        idx = pd.read_csv(ref_idx)
        perms = idx.pivot(index="row", columns="perm", values="index").to_numpy() - 1
        note = "R/qtl2's permutation matrix"
    else:
        perms = permutation_matrix(len(apr.samples), 1000, seed=20260101)
        note = "seeded permutations"
    wall, cpu, _ = _time(lambda: scan_perm(trait, apr, perms=perms), 1)
    add("scan_perm HK 1000 (1 trait)", wall, cpu, note)
    n_lmm = max(1, int(lmm_perms))
    wall, cpu, _ = _time(lambda: scan_perm(trait, apr, kinship=k_loco, perms=perms[:, :n_lmm]),
                         1)  # fmt: skip
    add(f"scan_perm LMM LOCO {n_lmm} (1 trait)", wall, cpu, note)
    if n_lmm != 1000:
        add("scan_perm LMM LOCO 1000 (1 trait)", wall * 1000 / n_lmm, cpu * 1000 / n_lmm,
            f"scaled from {n_lmm} permutations")  # fmt: skip

    lmm = results["scan LMM LOCO (26 traits)"]
    wall, cpu, _ = _time(lambda: find_peaks(lmm, threshold=6, drop=1.5), repeat)
    add("find_peaks (26 traits, thr 6, drop 1.5)", wall, cpu)
    y = pheno["OF_immobile_pct"]
    wall, cpu, _ = _time(lambda: scan1coef(y, apr, chrom="2"), repeat)
    add("scan1coef HK chr2 (se)", wall, cpu)
    wall, cpu, _ = _time(lambda: scan1coef(y, apr, chrom="2", kinship=k_loco["2"]), repeat)
    add("scan1coef LMM chr2 (LOCO K, se)", wall, cpu)
    wall, cpu, _ = _time(lambda: scan1blup(y, apr, chrom="2"), 1)
    add("scan1blup HK chr2", wall, cpu)

    result = {
        "dataset": "DO_Recla (261 mice, 6,394 markers, 26 phenotypes)",
        "rows": rows,
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
    print(f"{'step':48s} {'ours s':>9s} {'cpu s':>8s} {'R c=1':>8s} {'R c=2':>8s} "
          f"{'x c=1':>7s} {'x c=2':>7s}  note")  # fmt: skip
    for r in result["rows"]:

        def fmt(v: Any, w: int, d: int = 2) -> str:
            return f"{v:{w}.{d}f}" if isinstance(v, int | float) and v is not None else " " * (
                w - 1) + "-"  # fmt: skip

        print(f"{r['step'][:48]:48s} {fmt(r.get('seconds'), 9, 3)} "
              f"{fmt(r.get('cpu_seconds'), 8)} {fmt(r.get('r_cores1'), 8)} "
              f"{fmt(r.get('r_cores2'), 8)} {fmt(r.get('ratio_vs_r_cores1'), 7, 1)} "
              f"{fmt(r.get('ratio_vs_r_cores2'), 7, 1)}  {r.get('note', '')}")  # fmt: skip
    print(f"load average before {result['load_average_before']}, "
          f"after {result['load_average_after']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/genetics.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lmm-perms", type=int, default=100)
    parser.add_argument("--skip-genoprob", action="store_true",
                        help="do not run benchmarks/genoprob.py first")  # fmt: skip
    args = parser.parse_args()
    _print(run(args.out, repeat=args.repeat, lmm_perms=args.lmm_perms,
               skip_genoprob=args.skip_genoprob))  # fmt: skip


if __name__ == "__main__":
    main()
