"""SLAM forecasts of the linear mixed model: error, 90% coverage and forecast time.

The split is the one the evaluation pipeline and the progression benchmark use
(``horizon_split(read_slam(...), horizon=6.0, random_state=0)``), here on the three body
composition measures: 1,073 targets of the held-out animals, 6 months past their last used
visit. The model is fitted on all
training animals with ``strain`` and ``sex`` as covariates; the forecast of every target
is timed (best of ``--repeat`` runs). Per measure the table gives the mean absolute error
(grams), the coverage of the 50% and 90% intervals, and the fit time; then the coverage once
the intervals are calibrated (``calibrate``) on the held-out animals of an inner split of the
training animals (fitted on the inner training animals; the factor is carried over to the
model fitted on all of them, as ``select_by_forecast`` does for the course model).

Run: python benchmarks/forecast_lmm.py [--out benchmarks/results/forecast_lmm.json]
     [--repeat 3] [--label after]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import LicensePolicy
from translocus.progression.data import read_slam
from translocus.progression.forecast import LinearMixedModel, forecast_metrics, horizon_split

MEASURES = ["body_weight", "fat_mass", "lean_mass"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/forecast_lmm.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="current", help="name of this run in the JSON")
    args = parser.parse_args()

    table = read_slam(measures=tuple(MEASURES))
    split = horizon_split(table, horizon=6.0, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = LinearMixedModel().fit(
            split.train, measures=MEASURES, covariates=["strain", "sex"], policy=LicensePolicy()
        )
    fit_seconds = time.perf_counter() - start
    times = []
    forecasts = pd.DataFrame()
    for _ in range(max(args.repeat, 1)):
        start = time.perf_counter()
        forecasts = model.forecast(split.history, split.targets, level=(0.5, 0.9))
        times.append(time.perf_counter() - start)
    metrics = forecast_metrics(forecasts)
    metrics["fit_seconds"] = fit_seconds
    print(f"SLAM: {split.train.n_animals} training animals, {len(split.targets)} targets")
    print(metrics.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    calibrated = None
    if hasattr(model, "calibrate"):
        inner = horizon_split(split.train, horizon=6.0, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            inner_model = LinearMixedModel().fit(
                inner.train, measures=MEASURES, covariates=["strain", "sex"], policy=LicensePolicy()
            )
        inner_model.calibrate(inner.history, inner.targets)
        model.interval_scale_ = inner_model.interval_scale_.copy()
        calibrated = forecast_metrics(model.forecast(split.history, split.targets))
        calibrated["interval_scale"] = model.interval_scale_
        print("calibrated on an inner split of the training animals:")
        print(calibrated.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"forecast of {len(split.targets)} targets: {min(times):.3f} s (best of {len(times)})")
    print(f"converged: {model.converged_} ({len(caught)} convergence warnings)")

    out = Path(args.out)
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous[args.label] = {
        "n_train_animals": split.train.n_animals,
        "n_targets": len(split.targets),
        "metrics": metrics.to_dict(orient="records"),
        "metrics_calibrated": None if calibrated is None else calibrated.to_dict(orient="records"),
        "forecast_seconds": float(min(times)),
        "fit_seconds": fit_seconds,
        "converged": bool(model.converged_),
        "mae_all": float((metrics["mae"] * metrics["n"]).sum() / metrics["n"].sum()),
        "machine": platform.platform(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(previous, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
