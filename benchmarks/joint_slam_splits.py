"""SLAM joint model against its comparators over several held-out splits, not one.

``benchmarks/joint_slam.py`` holds out 30% of the animals by one seeded split, and its
bootstrap intervals describe the held-out animals of that split only. The differences between
methods move from split to split by more than those intervals suggest, so this script runs
``joint_slam.py`` for ``--seeds`` (each a different 70/30 split of whole animals) and
``--measures``, with the association and options committed in ``joint_slam.json`` (value and
slope, random curvature, a Gompertz rate of ageing per sex and strain; no re-selection per
split: ``--cv-folds 0``), and summarises the time-dependent AUC of death within 6 months:
per split and measure the joint model's AUC (and the association and baseline it used) and its
difference to each comparator with the
bootstrap interval, then per measure and comparator the mean difference over splits, its
standard deviation, the smallest and largest, and in how many splits the interval lies above
zero or below it.

With ``--cv-folds K`` each split chooses the joint model's association (among
``--candidates``: value and slope; both changing with age; with the fall from peak) and
baseline (Gompertz or a spline with ``--knots-candidates`` knots) by K-fold cross-validation
on its own training animals, as ``joint_slam.py`` does (about 4 minutes a split here).

Run: nice -n 5 python benchmarks/joint_slam_splits.py [--seeds 0,1,2,3,4]
     [--measures body_weight,lean_mass,fat_mass] [--n-boot 200] [--cv-folds 3]
     [--out benchmarks/results/joint_slam_splits.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from translocus.core.atomic import atomic_write_text

HORIZON = 6.0
COMPARATORS = ("landmark Cox (last value)", "landmark Cox (last value and change)",
               "course model + Cox")  # fmt: skip


def split_options(cv_folds: int, candidates: str, knots: str) -> list[str]:
    """``joint_slam.py``'s model options: the committed ones, or chosen by cross-validation."""
    fixed = ["--random-degree", "2", "--covariates-by-age"]
    if not cv_folds:
        return [*fixed, "--cv-folds", "0", "--association", "value,slope"]
    return [*fixed, "--cv-folds", str(cv_folds), "--candidates", candidates,
            "--knots-candidates", knots]  # fmt: skip


def one_split(measure: str, seed: int, n_boot: int, folder: Path, options: list[str]
              ) -> dict[str, Any]:  # fmt: skip
    """``joint_slam.py`` on one split; its results at :data:`HORIZON` months."""
    out = folder / f"{measure}_{seed}.json"
    cmd = [sys.executable, str(Path(__file__).with_name("joint_slam.py")), "--measure", measure,
           "--seed", str(seed), "--n-boot", str(n_boot), *options, "--out", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())
    rows = {r["method"]: r for r in result["results"] if r["horizon_months"] == HORIZON}
    joint = rows["joint"]
    row: dict[str, Any] = {"measure": measure, "seed": seed,
                           "test_animals": result["split"]["test_animals"],
                           "association": result["association"],
                           "baseline_knots": result["baseline_knots"],
                           "joint_auc": joint["auc"],
                           "joint_auc_interval": [joint["auc_lower"], joint["auc_upper"]]}  # fmt: skip
    for name in COMPARATORS:
        r = rows[name]
        row[name] = {"auc": r["auc"], "joint_minus_auc": r["joint_minus_auc"],
                     "interval": [r["joint_minus_auc_lower"], r["joint_minus_auc_upper"]]}  # fmt: skip
    return row


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for measure in dict.fromkeys(r["measure"] for r in rows):
        mine = [r for r in rows if r["measure"] == measure]
        for name in COMPARATORS:
            diff = np.array([r[name]["joint_minus_auc"] for r in mine])
            lows = np.array([r[name]["interval"][0] for r in mine])
            highs = np.array([r[name]["interval"][1] for r in mine])
            out.append({"measure": measure, "comparator": name, "splits": len(mine),
                        "joint_auc_mean": float(np.mean([r["joint_auc"] for r in mine])),
                        "comparator_auc_mean": float(np.mean([r[name]["auc"] for r in mine])),
                        "mean_difference": float(diff.mean()),
                        "sd_difference": float(diff.std(ddof=1)) if diff.size > 1 else None,
                        "min_difference": float(diff.min()),
                        "max_difference": float(diff.max()),
                        "splits_interval_above_zero": int(np.sum(lows > 0)),
                        "splits_interval_below_zero": int(np.sum(highs < 0))})  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--measures", default="body_weight,lean_mass,fat_mass")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/joint_slam_splits.json")
    parser.add_argument(
        "--cv-folds", type=int, default=0, help="choose the association and baseline in "
        "each split by this many folds of its training animals (0: the committed options)",
    )  # fmt: skip
    parser.add_argument("--candidates", default="value,slope;value,slope,value_by_age,"
                        "slope_by_age;value,slope,from_peak")  # fmt: skip
    parser.add_argument("--knots-candidates", default="0,5")
    args = parser.parse_args()
    options = split_options(args.cv_folds, args.candidates, args.knots_candidates)
    seeds = [int(s) for s in args.seeds.split(",")]
    measures = [m.strip() for m in args.measures.split(",") if m.strip()]
    load_before = os.getloadavg()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="joint-splits-") as tmp:
        for measure in measures:
            for seed in seeds:
                rows.append(one_split(measure, seed, args.n_boot, Path(tmp), options))
                r = rows[-1]
                print(f"{measure:12s} seed {seed}: joint {r['joint_auc']:.3f}  "
                      + "  ".join(f"{name}: {r[name]['joint_minus_auc']:+.3f} "
                                  f"({r[name]['interval'][0]:+.3f} to "
                                  f"{r[name]['interval'][1]:+.3f})" for name in COMPARATORS),
                      flush=True)  # fmt: skip
    summary = summarise(rows)
    print(f"\nAUC of death within {HORIZON:g} months, joint model minus comparator, over "
          f"{len(seeds)} splits (70/30 by animal)")  # fmt: skip
    print(f"{'measure':12s} {'comparator':38s} {'joint':>6s} {'comp':>6s} {'mean':>7s} "
          f"{'sd':>6s} {'min':>7s} {'max':>7s} {'>0':>3s} {'<0':>3s}")  # fmt: skip
    for s in summary:
        print(f"{s['measure']:12s} {s['comparator']:38s} {s['joint_auc_mean']:6.3f} "
              f"{s['comparator_auc_mean']:6.3f} {s['mean_difference']:+7.3f} "
              f"{s['sd_difference'] or 0:6.3f} {s['min_difference']:+7.3f} "
              f"{s['max_difference']:+7.3f} {s['splits_interval_above_zero']:3d} "
              f"{s['splits_interval_below_zero']:3d}")  # fmt: skip
    result = {"benchmark": "joint_slam_splits", "horizon_months": HORIZON, "seeds": seeds,
              "options": "joint_slam.py " + " ".join(options),
              "n_boot": args.n_boot, "splits": rows, "summary": summary,
              "seconds": time.perf_counter() - start, "load_average_before": load_before,
              "load_average_after": os.getloadavg(), "cpus": os.cpu_count(),
              "platform": platform.platform()}  # fmt: skip
    atomic_write_text(Path(args.out), json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
