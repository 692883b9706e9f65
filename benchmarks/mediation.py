"""Mediation scan speed at study size: 742 DO-like mice, 8 founder alleles, sex as covariate.

Steps (each run ``--repeat`` times, the smallest elapsed time kept, seconds):

- ``mediation_scan`` by Haley-Knott over 20,000 candidates (50 of them missing in 3 mice, so a
  second complete set is fitted);
- ``mediation_scan`` by LMM over 1,000 candidates (a REML fit of h² per candidate), with the
  time per candidate and the 20,000-candidate time it extrapolates to;
- ``hotspot_mediation`` by Haley-Knott: 200 targets x 200 candidates.

The data are random (allele probabilities from a Dirichlet, a kinship from random founder
dosages at 300 loci): the cost does not depend on the values. The load average at the start is
recorded, since the machine is shared.

Run: python benchmarks/mediation.py [--repeat 3] [--out benchmarks/results/mediation.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.genetics.mediation import hotspot_mediation, mediation_scan

N, ALLELES, CANDIDATES, LMM_CANDIDATES, TARGETS, HOT_CANDIDATES = 742, 8, 20_000, 1_000, 200, 200


def _best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results/mediation.json")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    ids = [f"m{i}" for i in range(N)]
    probs = pd.DataFrame(rng.dirichlet([0.5] * ALLELES, N), index=ids)
    sex = pd.DataFrame({"sex": rng.integers(0, 2, N).astype(float)}, index=ids)
    mediators = pd.DataFrame(rng.normal(size=(N, CANDIDATES)), index=ids)
    mediators.iloc[:3, :50] = np.nan
    target = pd.Series(probs.to_numpy() @ rng.normal(size=ALLELES) + rng.normal(size=N),
                       index=ids, name="target")  # fmt: skip
    dosage = rng.dirichlet([0.5] * ALLELES, size=(N, 300)).reshape(N, -1)
    kinship = pd.DataFrame(dosage @ dosage.T / 300, index=ids, columns=ids)
    targets = pd.DataFrame(rng.normal(size=(N, TARGETS)), index=ids)
    rows = [
        ("HK, 20,000 candidates", CANDIDATES,
         _best(lambda: mediation_scan(target, probs, mediators, addcovar=sex), args.repeat)),
        ("LMM, 1,000 candidates", LMM_CANDIDATES,
         _best(lambda: mediation_scan(target, probs, mediators.iloc[:, :LMM_CANDIDATES],
                                      addcovar=sex, kinship=kinship), args.repeat)),
        ("hotspot HK, 200 targets x 200 candidates", TARGETS * HOT_CANDIDATES,
         _best(lambda: hotspot_mediation(targets, probs, mediators.iloc[:, :HOT_CANDIDATES],
                                         addcovar=sex), args.repeat)),
    ]  # fmt: skip
    print(f"mediation, {N} mice, {ALLELES} alleles, sex covariate (load average {load:.1f})")
    print(f"{'step':45s} {'fits':>8s} {'seconds':>9s} {'us/fit':>8s}")
    results = []
    for name, fits, seconds in rows:
        print(f"{name:45s} {fits:8,d} {seconds:9.3f} {1e6 * seconds / fits:8.1f}")
        results.append({"step": name, "fits": fits, "seconds": seconds})
    lmm_all = rows[1][2] / LMM_CANDIDATES * CANDIDATES
    print(f"LMM over 20,000 candidates, extrapolated: {lmm_all:.1f} s")
    record = {"benchmark": "mediation", "n": N, "alleles": ALLELES, "repeat": args.repeat,
              "load_average": load, "steps": results,
              "lmm_20000_extrapolated_seconds": lmm_all}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(record, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
