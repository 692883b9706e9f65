"""Progression benchmark: fit time and forecast error, side by side, on the same splits.

1. MODEL-AD 5xFAD (cross-sectional by age): age-trajectory curves fitted on the 4, 8 and
   12 month animals forecast each group's 18-month mean (log scale), against carrying
   the 12-month mean forward and a linear trend through 4-12 months.
2. SLAM (repeated body composition): animals held out by ID are forecast about 6 months
   past their last used visit by the disease-course model, last value carried forward,
   a linear mixed model and Leaspy (linear model, MCMC-SAEM) fitted on the same
   training animals. Leaspy runs in benchmarks/.venv-leaspy, created with
   ``pip install leaspy`` when absent; when that fails the other rows are still reported.

Usage::

    python benchmarks/progression.py [--quick] [--leaspy-iter 2000] [--no-leaspy]
                                     [--out benchmarks/results/progression.json]

Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.core.intervals import normal_quantile
from translocus.core.provenance import LicensePolicy
from translocus.progression.data import read_model_ad, read_slam
from translocus.progression.forecast import (
    LinearMixedModel,
    forecast_metrics,
    horizon_split,
    last_value_forecast,
    select_by_forecast,
)
from translocus.progression.trajectory import AgeTrajectoryModel

HERE = Path(__file__).resolve().parent
LEASPY_VENV = HERE / ".venv-leaspy"
MODEL_AD_MEASURES = [
    "Plaque Density (Thio-S)",
    "Insoluble Abeta42",
    "Astrocyte Cell Density (GFAP)",
    "Microglia Cell Density (IBA1)",
]
SLAM_MEASURES = ["body_weight", "fat_mass", "lean_mass"]
COURSE_CANDIDATES: list[dict[str, object]] = [
    {},
    {"onset_sd": 1.0, "speed_sd": 0.05},
    {"onset_sd": 0.5, "speed_sd": 0.02},
    {"onset_sd": 0.25, "speed_sd": 0.01},
]


def _covers(pred: pd.Series, level: float, truth: float) -> bool:
    """Whether the analysis-scale ``level`` interval of one forecast row holds ``truth``."""
    half = normal_quantile(level) * pred["sd_analysis"]
    return bool(pred["mean_analysis"] - half <= truth <= pred["mean_analysis"] + half)


def model_ad_benchmark() -> dict[str, object]:
    table = read_model_ad(model_group="5xFAD", measures=MODEL_AD_MEASURES)
    group = ["mouse_model", "sex"]
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    full = AgeTrajectoryModel().fit(table, group=group, control="C57BL/6J")
    full_seconds = time.perf_counter() - start
    start = time.perf_counter()
    early = AgeTrajectoryModel(horizon=18.0, n_boot=0).fit(
        table.select(age=[4.0, 8.0, 12.0]), group=group, control="C57BL/6J"
    )
    early_seconds = time.perf_counter() - start
    observed = full.analysis_data_
    observed = observed[(observed["mouse_model"] == "5xFAD")]
    keys = ["measure", "tissue", "sex"]
    cells = observed.groupby([*keys, "age"])["y"].agg(["mean", "size"]).reset_index()
    wide = cells.pivot_table(index=keys, columns="age", values="mean")
    n18 = cells[cells["age"] == 18.0].set_index(keys)["size"]
    # the baselines use the same analysis values (failed zeros removed, same log offset)
    early_data = early.analysis_data_[early.analysis_data_["mouse_model"] == "5xFAD"]
    early_means = early_data.groupby([*keys, "age"])["y"].mean().unstack()
    design = np.c_[np.ones(3), [4.0, 8.0, 12.0]]
    linear = early_means[[4.0, 8.0, 12.0]].to_numpy() @ np.linalg.pinv(design).T @ [1.0, 18.0]
    rows = []
    for i, key in enumerate(early_means.index):
        measure, tissue, sex = key
        pred = {}
        for level in (0.5, 0.9):
            pred[level] = early.predict(
                [18.0],
                group=("5xFAD", sex),
                stratum=(measure, tissue),
                n_animals=int(n18[key]),
                level=level,
            ).iloc[0]
        truth = float(wide.loc[key, 18.0])
        rows.append(
            {
                "measure": measure,
                "tissue": tissue,
                "sex": sex,
                "observed_18": truth,
                "trajectory": float(pred[0.9]["mean_analysis"]),
                "carry_12": float(early_means.loc[key, 12.0]),
                "linear_trend": float(linear[i]),
                "covered_50": _covers(pred[0.5], 0.5, truth),
                "covered_90": _covers(pred[0.9], 0.9, truth),
            }
        )
    frame = pd.DataFrame(rows)
    errors = {
        name: float(np.median(np.abs(frame[name] - frame["observed_18"])))
        for name in ("trajectory", "carry_12", "linear_trend")
    }
    onsets = full.summary
    return {
        "series": frame.to_dict(orient="records"),
        "median_abs_error_log": errors,
        "coverage_50": float(frame["covered_50"].mean()),
        "coverage_90": float(frame["covered_90"].mean()),
        "fit_seconds_full_with_bootstrap": full_seconds,
        "fit_seconds_4_8_12": early_seconds,
        "onsets": onsets.to_dict(orient="records"),
    }


def ensure_leaspy() -> Path | None:
    python = LEASPY_VENV / "bin" / "python"
    check = [str(python), "-c", "import leaspy"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print("Leaspy not found: installing it into", LEASPY_VENV, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LEASPY_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "leaspy"], check=True, timeout=1800
        )
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"Leaspy could not be installed ({exc}); reporting the other models only.")
        return None
    if subprocess.run(check, capture_output=True).returncode != 0:
        print("Leaspy installed but does not import; reporting the other models only.")
        return None
    return python


def run_leaspy(
    python: Path, model, train, history, targets, n_iter: int
) -> tuple[pd.DataFrame, dict[str, float]] | None:
    def wide(data: pd.DataFrame) -> pd.DataFrame:
        y = model.standardise(data["value"].to_numpy(), data["measure"].to_numpy())
        frame = data.assign(y=y).pivot_table(index=["animal", "age"], columns="measure", values="y")
        frame = frame.reindex(columns=SLAM_MEASURES).reset_index()
        return frame.rename(columns={"animal": "ID", "age": "TIME"})

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        wide(train.data).to_csv(work / "train.csv", index=False)
        wide(history.data).to_csv(work / "history.csv", index=False)
        targets.rename(columns={"animal": "ID", "age": "TIME"})[["ID", "TIME"]].to_csv(
            work / "targets.csv", index=False
        )
        proc = subprocess.run(
            [str(python), str(HERE / "_leaspy_runner.py"), str(work), str(n_iter)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print("Leaspy run failed:", proc.stderr[-2000:])
            return None
        pred = pd.read_csv(work / "leaspy_predictions.csv", dtype={"ID": str})
        timing = json.loads((work / "leaspy_timing.json").read_text())
    long = pred.melt(id_vars=["ID", "TIME"], var_name="measure", value_name="y")
    long = long.rename(columns={"ID": "animal", "TIME": "age"})
    # ages make a round trip through CSV and Leaspy's float32: match them on 1e-4 months
    long["age_key"] = long["age"].round(4)
    out = targets.assign(age_key=targets["age"].round(4)).merge(
        long.drop(columns="age"), on=["animal", "age_key", "measure"], how="left"
    )
    meas = out["measure"].map({m: i for i, m in enumerate(model.measures_)}).to_numpy()
    out["point"] = model._to_original(out["y"].to_numpy(), meas)
    return out, timing


def slam_benchmark(quick: bool, leaspy_iter: int, use_leaspy: bool) -> dict[str, object]:
    table = read_slam(measures=tuple(SLAM_MEASURES))
    split = horizon_split(table, horizon=6.0, random_state=0)
    train = split.train
    if quick:
        keep = sorted(train.data["animal"].unique())[:600]
        train = train.select(animal=keep)
    covariates = ["strain", "sex"]
    policy = LicensePolicy()
    results: dict[str, pd.DataFrame] = {}
    seconds: dict[str, float] = {}

    start = time.perf_counter()
    model, scores = select_by_forecast(
        train, COURSE_CANDIDATES, measures=SLAM_MEASURES, covariates=covariates, policy=policy
    )
    seconds["disease_course (selection + fit)"] = time.perf_counter() - start
    best = {k: v for k, v in model.get_params().items() if k in ("onset_sd", "speed_sd")}
    from translocus.progression.course import DiseaseCourseModel

    start = time.perf_counter()
    DiseaseCourseModel(**best).fit(train, measures=SLAM_MEASURES, covariates=covariates)
    seconds["disease_course"] = time.perf_counter() - start
    results["disease_course"] = model.forecast(split.history, split.targets, level=[0.5, 0.9])

    results["last_value"] = last_value_forecast(split.history, split.targets, train=train)
    seconds["last_value"] = 0.0

    start = time.perf_counter()
    lmm = LinearMixedModel().fit(
        train, measures=SLAM_MEASURES, covariates=covariates, policy=policy
    )
    seconds["linear_mixed_model"] = time.perf_counter() - start
    results["linear_mixed_model"] = lmm.forecast(split.history, split.targets)

    leaspy_note = "not run (--no-leaspy)"
    if use_leaspy:
        python = ensure_leaspy()
        if python is None:
            leaspy_note = "not installable here"
        else:
            ran = run_leaspy(python, model, train, split.history, split.targets, leaspy_iter)
            if ran is None:
                leaspy_note = "failed (see output)"
            else:
                results["leaspy"], timing = ran
                seconds["leaspy"] = float(timing["fit_seconds"])
                leaspy_note = f"LinearModel, MCMC-SAEM {leaspy_iter} iterations"

    rows = []
    for name, forecasts in results.items():
        metrics = forecast_metrics(forecasts.dropna(subset=["point"]))
        for record in metrics.to_dict(orient="records"):
            rows.append({"model": name, "fit_seconds": seconds[name], **record})
    table_out = pd.DataFrame(rows)
    return {
        "n_train_animals": train.n_animals,
        "n_test_animals": int(split.targets["animal"].nunique()),
        "n_targets": len(split.targets),
        "horizon_months_median": float(split.targets["horizon"].median()),
        "selection_scores": scores.to_dict(orient="records"),
        "chosen": best,
        "interval_scale": model.interval_scale_.tolist(),
        "fit_seconds": seconds,
        "leaspy": leaspy_note,
        "metrics": table_out.to_dict(orient="records"),
        "course_summary": model.summary.to_dict(orient="records"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 SLAM training animals")
    parser.add_argument("--leaspy-iter", type=int, default=2000)
    parser.add_argument("--no-leaspy", action="store_true")
    parser.add_argument("--skip-model-ad", action="store_true")
    parser.add_argument("--skip-slam", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "progression.json")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    # sections not rerun keep their previous results
    report: dict[str, object] = json.loads(args.out.read_text()) if args.out.exists() else {}
    if not args.skip_model_ad:
        ad = model_ad_benchmark()
        report["model_ad_5xfad"] = ad
        print("\nMODEL-AD 5xFAD: forecast of the 18-month group mean from 4, 8, 12 months")
        print(pd.DataFrame(ad["series"]).round(3).to_string(index=False))
        print(
            "median |error| (log scale):",
            {k: round(v, 3) for k, v in ad["median_abs_error_log"].items()},
        )
        print(f"interval coverage: 50% {ad['coverage_50']:.2f}, 90% {ad['coverage_90']:.2f}")
    if not args.skip_slam:
        slam = slam_benchmark(args.quick, args.leaspy_iter, not args.no_leaspy)
        report["slam"] = slam
        print(
            f"\nSLAM: {slam['n_test_animals']} held-out animals, {slam['n_targets']} values, "
            f"~{slam['horizon_months_median']:.1f} months ahead; Leaspy: {slam['leaspy']}"
        )
        print("selection:", pd.DataFrame(slam["selection_scores"]).round(4).to_string(index=False))
        print(pd.DataFrame(slam["metrics"]).round(3).to_string(index=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1, default=float))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
