"""Throughput of the genome scan next to R/qtl2's scale test (TIMINGS.md, "Throughput").

Synthetic iid N(0,1) traits on the DO_Recla allele probabilities (261 mice, 6,394 positions,
8 alleles): Haley-Knott with 1,000 and 5,000 traits, LMM with LOCO kinships with 100 and 1,000
traits. The first 20 traits are R/qtl2's own (``ref/qtl2/scale/synthetic_first20.csv``); the
others are drawn here (numpy, seed 20260104), as R's generator cannot be replayed. Each case runs
on the engines available:

- ``cpu``: :func:`translocus.genetics.scan.scan` (numpy + numba, all cores of this process);
- ``dask``: :func:`translocus.genetics.distributed.scan_distributed` on a LocalCluster of 2
  single-threaded worker processes (probabilities scattered once; start-up not timed);
- ``torch-cpu`` / ``torch-cuda``: :func:`translocus.genetics.accelerated.scan_accelerated`
  with torch on the CPU (when torch is installed) or a CUDA device (when present);
  ``torch-cpu-1t`` is torch on the CPU with one intra-op thread.

Printed per case: seconds, trait·markers per second and the speed ratio to R/qtl2's quiet
figures with ``cores=1`` and ``cores=2``, plus the largest |LOD difference| of the 20 reference
traits against R/qtl2 (our own genotype probabilities, so this includes their differences).

Engines run one after the other (the Dask cluster only during its own runs). On a shared
2-core machine, OpenMP pools that spin while waiting are costly: one torch thread was 2.3x
faster than two here (HK 1,000: 3.98 s against 9.22 s), hence the ``torch-cpu-1t`` rows.

Run: python benchmarks/scale.py [--quick] [--engines cpu,dask,torch-cpu] [--cases hk1000,...]
     [--cache DIR] [--out benchmarks/results/scale.json]

``--quick`` runs HK 1,000 and LMM 100 only. DO_Recla probabilities are computed once with
``calc_genoprob`` and cached in a :class:`~translocus.core.store.Store` (``--cache``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.compute import available_backends, cuda_available
from translocus.core.paths import data_dir, reference_dir
from translocus.core.store import Store

#: R/qtl2 0.43-5 quiet-machine figures (TIMINGS.md "Throughput"): case -> (s c=1, s c=2).
#: LMM 1,000 with cores=2 was only measured on a contended machine; TIMINGS.md estimates 330 s.
R_SECONDS: dict[str, tuple[float, float | None]] = {
    "hk1000": (8.75, 5.04),
    "hk5000": (71.7, 39.3),
    "lmm100": (65.0, 32.7),
    "lmm1000": (659.5, None),
}
CASES: dict[str, tuple[str, int]] = {
    "hk1000": ("hk", 1000),
    "hk5000": ("hk", 5000),
    "lmm100": ("lmm_loco", 100),
    "lmm1000": ("lmm_loco", 1000),
}
N_POS = 6394
SEED = 20260104
#: Dask workers run single-threaded (two workers on two cores).
SINGLE_THREADED = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1"}  # fmt: skip


def load_inputs(cache: Path) -> tuple[Any, dict[str, pd.DataFrame], float]:
    """DO_Recla allele probabilities (cached in a Store) and LOCO kinships; seconds to load."""
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
    from translocus.genetics.kinship import calc_kinship

    t0 = time.perf_counter()
    store = Store(cache)
    if "do_recla_alleleprob" in store:
        probs = store.read_genoprobs("do_recla_alleleprob")
    else:
        from translocus.core.qtl2io import read_cross

        cross = read_cross(data_dir() / "qtl2" / "DO_Recla" / "recla.zip")
        probs = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=0.002, map_function="c-f"))
        store.write_genoprobs("do_recla_alleleprob", probs)
    kin = calc_kinship(probs, type="loco")
    return probs, kin, time.perf_counter() - t0


def synthetic_traits(samples: list[str], n_traits: int) -> pd.DataFrame:
    """R/qtl2's first 20 traits, then seeded N(0,1) traits up to ``n_traits``."""
    first = pd.read_csv(reference_dir() / "qtl2" / "scale" / "synthetic_first20.csv",
                        dtype={"id": str}).set_index("id")  # fmt: skip
    first.index = [str(i) for i in first.index]
    first = first.reindex(samples)
    rng = np.random.default_rng(SEED)
    extra = rng.standard_normal((len(samples), max(0, n_traits - first.shape[1])))
    cols = [f"t{i:04d}" for i in range(first.shape[1] + 1, first.shape[1] + 1 + extra.shape[1])]
    out = pd.concat([first, pd.DataFrame(extra, index=samples, columns=cols)], axis=1)
    return out.iloc[:, :n_traits]


def _ref_diff(lod: pd.DataFrame, kind: str) -> float:
    name = "lod_hk_first20.csv.gz" if kind == "hk" else "lod_lmm_loco_first20.csv.gz"
    ref = pd.read_csv(reference_dir() / "qtl2" / "scale" / name).set_index("marker")
    cols = [c for c in ref.columns if c in lod.columns]
    ours = lod.loc[ref.index, cols].to_numpy()
    return float(np.nanmax(np.abs(ours - ref[cols].to_numpy())))


def _scan_with(engine: str, pheno: pd.DataFrame, probs: Any, kinship: Any, client: Any) -> Any:
    """One scan on an engine (``cpu``, ``dask``, ``torch-cpu[-1t]``, ``torch-cuda``)."""
    from translocus.genetics.accelerated import scan_accelerated
    from translocus.genetics.distributed import scan_distributed
    from translocus.genetics.scan import scan

    if engine == "cpu":
        return scan(pheno, probs, kinship=kinship)
    if engine == "dask":
        return scan_distributed(pheno, probs, kinship=kinship, client=client)
    device = "cuda" if engine == "torch-cuda" else "cpu"
    if engine != "torch-cpu-1t":
        return scan_accelerated(pheno, probs, kinship=kinship, backend="torch", device=device)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return scan_accelerated(pheno, probs, kinship=kinship, backend="torch", device="cpu")
    finally:
        torch.set_num_threads(threads)


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - w0, time.process_time() - c0, value


def run(
    json_path: str | Path | None = "benchmarks/results/scale.json",
    *,
    cases: list[str] | None = None,
    engines: list[str] | None = None,
    cache: Path | None = None,
) -> dict[str, Any]:
    """Run the benchmark; return the results dict (and write it as JSON unless ``None``)."""
    from translocus.genetics.scan import scan

    cases = cases or list(CASES)
    if engines is None:
        engines = ["cpu", "dask"]
        if "torch" in available_backends():
            engines += ["torch-cuda"] if cuda_available() else ["torch-cpu", "torch-cpu-1t"]
    cache = cache or Path(tempfile.gettempdir()) / "translocus-scale-cache"
    load0 = os.getloadavg()
    probs, kin, load_s = load_inputs(cache)
    samples = list(probs.samples)
    pheno_all = synthetic_traits(samples, max(CASES[c][1] for c in cases))
    warnings.simplefilter("ignore")
    # warm-up: numba cache load / compilation and torch start-up, outside the timings
    small = probs.subset(chromosomes=["19"])
    w0 = time.perf_counter()
    scan(pheno_all.iloc[:, :2], small)
    scan(pheno_all.iloc[:, :2], small, kinship={"19": kin["19"]})
    for eng in engines:
        if eng.startswith("torch"):
            _scan_with(eng, pheno_all.iloc[:, :2], small, {"19": kin["19"]}, None)
    warmup = time.perf_counter() - w0

    rows: list[dict[str, Any]] = []
    dask_start = None
    # engine by engine, so that no idle thread pool or worker process of one engine competes
    # with the next (spin-waiting pools on a 2-core machine cost several-fold)
    for eng in engines:
        client = cluster = None
        try:
            if eng == "dask":
                from distributed import Client, LocalCluster

                d0 = time.perf_counter()
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, env=SINGLE_THREADED)  # fmt: skip
                client = Client(cluster)
                _scan_with("dask", pheno_all.iloc[:, :2], small, {"19": kin["19"]}, client)
                dask_start = time.perf_counter() - d0
            for case in cases:
                kind, n_traits = CASES[case]
                pheno = pheno_all.iloc[:, :n_traits]
                kinship = kin if kind == "lmm_loco" else None
                fn = partial(_scan_with, eng, pheno, probs, kinship, client)
                wall, cpu, out = _timed(fn)
                r1, r2 = R_SECONDS[case]
                rows.append({
                    "case": case, "method": kind, "traits": n_traits, "engine": eng,
                    "seconds": wall, "cpu_seconds_main_process": cpu,
                    "trait_markers_per_s": n_traits * N_POS / wall,
                    "r_qtl2_seconds_c1": r1, "r_qtl2_seconds_c2": r2,
                    "speedup_vs_r_c1": r1 / wall, "speedup_vs_r_c2": (r2 / wall) if r2 else None,
                    "max_abs_diff_vs_r_first20": _ref_diff(out.lod, kind),
                    "load_average_1min": os.getloadavg()[0],
                })  # fmt: skip
                _print_row(rows[-1])
                del out
        finally:
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()

    result = {
        "benchmark": "scale",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "engines": engines,
        "load_average_before": load0,
        "load_average_after": os.getloadavg(),
        "inputs_seconds": load_s,
        "warmup_seconds": warmup,
        "dask_startup_seconds": dask_start,
        "rows": rows,
    }
    if json_path is not None:
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    return result


HEADER = (f"{'case':8s} {'engine':10s} {'seconds':>9s} {'trait·mk/s':>12s} {'R c=1 s':>8s} "
          f"{'x R c=1':>8s} {'R c=2 s':>8s} {'x R c=2':>8s} {'|dLOD| R':>9s}")  # fmt: skip


def _print_row(r: dict[str, Any]) -> None:
    r2 = f"{r['r_qtl2_seconds_c2']:8.2f}" if r["r_qtl2_seconds_c2"] else f"{'-':>8s}"
    x2 = f"{r['speedup_vs_r_c2']:8.2f}" if r["speedup_vs_r_c2"] else f"{'-':>8s}"
    print(f"{r['case']:8s} {r['engine']:10s} {r['seconds']:9.2f} {r['trait_markers_per_s']:12,.0f} "
          f"{r['r_qtl2_seconds_c1']:8.2f} {r['speedup_vs_r_c1']:8.2f} {r2} {x2} "
          f"{r['max_abs_diff_vs_r_first20']:9.2g}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.json"))
    parser.add_argument("--quick", action="store_true", help="HK 1,000 and LMM 100 only")
    parser.add_argument("--cases", default=None, help=f"comma list of {list(CASES)}")
    parser.add_argument(
        "--engines", default=None, help="comma list of cpu,dask,torch-cpu,torch-cpu-1t,torch-cuda"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="Store folder for the probabilities"
    )
    args = parser.parse_args()
    cases = args.cases.split(",") if args.cases else (["hk1000", "lmm100"] if args.quick else None)
    engines = args.engines.split(",") if args.engines else None
    print(HEADER, flush=True)
    result = run(args.out, cases=cases, engines=engines, cache=args.cache)
    print(f"inputs {result['inputs_seconds']:.1f} s, warm-up {result['warmup_seconds']:.1f} s, "
          f"dask start {result['dask_startup_seconds'] or 0:.1f} s; load average before "
          f"{result['load_average_before'][0]:.2f}, after {result['load_average_after'][0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
