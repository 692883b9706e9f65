"""Calibrated forecasts by default: SLAM body composition held out by a seeded split.

Animals are held out by ID (``horizon_split``, seed 0 unless ``--seed``); each held-out
animal is forecast about 6 months past its last used visit from its earlier visits. Rows:

- ``course (before: max_iter 8, estimated SDs, no calibration)`` — the disease-course
  model's defaults before calibration by default;
- ``course (default)`` — today's defaults: prior SDs chosen and intervals calibrated on
  animals held out of the training animals, fitted to convergence;
- ``course (default, calibration none)`` — the same fit with its own intervals;
- ``LMM (calibration none)`` and ``LMM (default)`` — the linear mixed model before and
  with calibration by default;
- ``last value`` — carried forward, intervals from training changes.

Acceptance: the default course model's 90% intervals cover 0.85-0.95 of the held-out
values of body weight, fat and lean mass, and its MAE is no worse than before. Fit times
of the rows are measured in the same run, as wall and CPU seconds: on a shared machine the
wall time moves with its load (run with ``NUMBA_NUM_THREADS=1`` there, so that the compiled
likelihood's threads do not wait for busy cores).

Usage::

    python benchmarks/forecast_calibration.py [--quick] [--seed 0]
                                              [--out benchmarks/results/forecast_calibration.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numba
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import LicensePolicy
from translocus.progression.course import DiseaseCourseModel
from translocus.progression.data import read_slam
from translocus.progression.forecast import (
    Calibration,
    LinearMixedModel,
    forecast_metrics,
    horizon_split,
    last_value_forecast,
)

HERE = Path(__file__).resolve().parent
MEASURES = ["body_weight", "fat_mass", "lean_mass"]
COVARIATES = ["strain", "sex"]
BEFORE = "course (before: max_iter 8, estimated SDs, no calibration)"
DEFAULT = "course (default)"


def _timed(make: Any, train: Any) -> tuple[Any, float, list[str]]:
    start = time.perf_counter()
    cpu = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = make().fit(train, measures=MEASURES, covariates=COVARIATES, policy=LicensePolicy())
    said = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    _CPU.append(time.process_time() - cpu)
    return model, time.perf_counter() - start, said


_CPU: list[float] = []


def run(quick: bool, seed: int) -> dict[str, Any]:
    table = read_slam(measures=tuple(MEASURES))
    split = horizon_split(table, horizon=6.0, random_state=seed)
    train = split.train
    if quick:
        train = train.select(animal=sorted(train.data["animal"].unique())[:600])
    rows: list[dict[str, Any]] = []
    models: dict[str, dict[str, Any]] = {}

    def record(name: str, forecasts: pd.DataFrame, seconds: float, info: dict[str, Any]) -> None:
        cpu = _CPU.pop() if _CPU else 0.0
        for metric in forecast_metrics(forecasts.dropna(subset=["point"])).to_dict("records"):
            rows.append(
                {"model": name, "fit_seconds": round(seconds, 2), "fit_cpu_seconds": round(cpu, 2),
                 **metric}
            )  # fmt: skip
        models[name] = {"fit_seconds": seconds, "fit_cpu_seconds": cpu, **info}

    def course_info(model: DiseaseCourseModel, said: list[str]) -> dict[str, Any]:
        return {
            "iterations": model.n_iter_,
            "converged": bool(model.converged_),
            "convergence_warnings": said,
            "prior_sd": model.prior_sd_,
            "selection": model.selection_.to_dict(orient="records"),
            "calibration": model.calibration_.describe(),
            "interval_scale": dict(
                zip(model.measures_, model.interval_scale_.tolist(), strict=True)
            ),
        }

    before, seconds, said = _timed(
        lambda: DiseaseCourseModel(max_iter=8, onset_sd=None, speed_sd=None, calibration="none"),
        train,
    )
    record(BEFORE, before.forecast(split.history, split.targets, level=[0.5, 0.9]), seconds,
           course_info(before, said))  # fmt: skip
    default, seconds, said = _timed(DiseaseCourseModel, train)
    record(DEFAULT, default.forecast(split.history, split.targets, level=[0.5, 0.9]), seconds,
           course_info(default, said))  # fmt: skip
    own = copy.copy(default)
    own._set_calibration(Calibration.none(own.measures_))
    record("course (default, calibration none)",
           own.forecast(split.history, split.targets, level=[0.5, 0.9]), 0.0,
           {"note": "the default fit with its own intervals"})  # fmt: skip
    for name, make in (
        ("LMM (calibration none)", lambda: LinearMixedModel(calibration="none")),
        ("LMM (default)", LinearMixedModel),
    ):
        lmm, seconds, said = _timed(make, train)
        record(name, lmm.forecast(split.history, split.targets), seconds,
               {"calibration": lmm.calibration_.describe(), "converged": lmm.converged_})  # fmt: skip
    record("last value", last_value_forecast(split.history, split.targets, train=train), 0.0, {})
    metrics = pd.DataFrame(rows)
    course = metrics[metrics["model"] == DEFAULT].set_index("measure")
    old = metrics[metrics["model"] == BEFORE].set_index("measure")
    lmm = metrics[metrics["model"] == "LMM (default)"].set_index("measure")
    acceptance = {
        "course_coverage_90_in_0.85_0.95": bool(course["coverage_90"].between(0.85, 0.95).all()),
        "course_mae_no_worse_than_before": bool((course["mae"] <= old["mae"]).all()),
        "lmm_coverage_90_in_0.85_0.95": bool(lmm["coverage_90"].between(0.85, 0.95).all()),
    }
    return {
        "numba_threads": numba.get_num_threads(),
        "seed": seed,
        "quick": quick,
        "n_train_animals": train.n_animals,
        "n_test_animals": int(split.targets["animal"].nunique()),
        "n_targets": len(split.targets),
        "horizon_months_median": float(split.targets["horizon"].median()),
        "metrics": metrics.to_dict(orient="records"),
        "models": models,
        "acceptance": acceptance,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 SLAM training animals")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "forecast_calibration.json")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    report = run(args.quick, args.seed)
    print(
        f"SLAM: {report['n_train_animals']} training animals; {report['n_test_animals']} "
        f"held-out animals (seed {report['seed']}), {report['n_targets']} values "
        f"~{report['horizon_months_median']:.1f} months ahead"
    )
    print(pd.DataFrame(report["metrics"]).round(3).to_string(index=False))
    for name, info in report["models"].items():
        if "calibration" in info:
            print(f"{name}: {info['calibration']}")
        if "prior_sd" in info:
            print(f"  prior SDs {info['prior_sd']}, {info['iterations']} iterations, "
                  f"converged {info['converged']}")  # fmt: skip
    print("acceptance:", report["acceptance"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1, default=float))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
