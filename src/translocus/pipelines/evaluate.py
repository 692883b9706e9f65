"""Held-out evaluations the demo reports beside the command pipelines.

Each answers "does the engine predict what it has not seen?" on a public dataset:

- :func:`model_ad_early_forecast` — MODEL-AD 5xFAD group means at 18 months forecast from
  the 4–12 month animals, against carrying the 12-month mean forward;
- :func:`slam_course_forecast` — the disease-course model's held-out forecasts of SLAM body
  composition (its default, calibrated intervals), against the last value carried forward;
- :func:`slam_lifespan_extras` — competing causes of death and forecast calibration;
- :func:`pdx_response_prediction` — response prediction on the PDXE breast panel with
  model-held-out cross-validation (through the licence gate).

The HTML report renders their results; nothing here draws or formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from translocus.core.intervals import normal_quantile

__all__ = [
    "CourseForecast",
    "ResponsePrediction",
    "model_ad_early_forecast",
    "pdx_response_prediction",
    "slam_course_forecast",
    "slam_lifespan_extras",
]

MODEL_AD_MEASURES = (
    "Plaque Density (Thio-S)",
    "Insoluble Abeta42",
    "Astrocyte Cell Density (GFAP)",
    "Microglia Cell Density (IBA1)",
)


def model_ad_early_forecast(table: Any, *, group: list[str], control: str) -> pd.DataFrame:
    """Forecast 18-month 5xFAD group means from the 4, 8 and 12 month animals.

    Returns one row per measure × tissue × sex: observed log mean at 18 months, forecast,
    90% interval and the 12-month mean (the carry-forward baseline).
    """
    from translocus.progression.trajectory import AgeTrajectoryModel

    early = AgeTrajectoryModel(horizon=18.0, n_boot=0).fit(
        table.select(age=[4.0, 8.0, 12.0]), group=group, control=control
    )
    full = AgeTrajectoryModel(n_boot=0).fit(table, group=group, control=control)
    observed = full.analysis_data_
    observed = observed[(observed["mouse_model"] == "5xFAD") & (observed["age"] == 18.0)]
    truth = observed.groupby(["measure", "tissue", "sex"])["y"].agg(["mean", "size"])
    early_data = early.analysis_data_[early.analysis_data_["mouse_model"] == "5xFAD"]
    last = early_data[early_data["age"] == 12.0].groupby(["measure", "tissue", "sex"])["y"].mean()
    rows = []
    for (measure, tissue, sex), obs in truth.iterrows():
        pred = early.predict(
            [18.0], group=("5xFAD", sex), stratum=(measure, tissue), n_animals=int(obs["size"])
        ).iloc[0]
        rows.append(
            {
                "measure": measure,
                "tissue": tissue,
                "sex": sex,
                "observed_18mo_log": obs["mean"],
                "forecast": pred["mean_analysis"],
                "lower_90": pred["mean_analysis"] - normal_quantile(0.9) * pred["sd_analysis"],
                "upper_90": pred["mean_analysis"] + normal_quantile(0.9) * pred["sd_analysis"],
                "value_12mo": last.loc[(measure, tissue, sex)],
            }
        )
    return pd.DataFrame(rows)


@dataclass
class CourseForecast:
    """Held-out forecasts of the SLAM disease-course model."""

    model: Any
    split: Any
    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    n_train: int
    seconds: float


def slam_course_forecast(*, quick: bool) -> CourseForecast:
    """Fit the course model on SLAM training animals; forecast held-out animals 6 months on."""
    import time

    from translocus.core.provenance import LicensePolicy
    from translocus.progression.course import DiseaseCourseModel
    from translocus.progression.data import read_slam
    from translocus.progression.forecast import (
        forecast_metrics,
        horizon_split,
        last_value_forecast,
    )

    measures = ["body_weight", "fat_mass", "lean_mass"]
    table = read_slam(measures=tuple(measures))
    split = horizon_split(table, horizon=6.0, random_state=0)
    train = split.train
    if quick:
        train = train.select(animal=sorted(train.data["animal"].unique())[:200])
    start = time.perf_counter()
    # the defaults: prior SDs chosen and intervals calibrated on animals held out of the
    # training animals, fitted to convergence; quick runs fix the SDs SLAM chooses (and still
    # fit to convergence: under a second on 200 animals)
    model = DiseaseCourseModel(onset_sd=0.5, speed_sd=0.02) if quick else DiseaseCourseModel()
    model.fit(train, measures=measures, covariates=["strain", "sex"], policy=LicensePolicy())
    seconds = time.perf_counter() - start
    forecasts = pd.DataFrame(model.forecast(split.history, split.targets, level=[0.5, 0.9]))
    course = forecast_metrics(forecasts).assign(model="disease course")
    carry = forecast_metrics(last_value_forecast(split.history, split.targets, train=train))
    metrics = pd.concat([course, carry.assign(model="last value carried")], ignore_index=True)
    return CourseForecast(model, split, forecasts, metrics, train.n_animals, seconds)


def slam_lifespan_extras(lifespans: Any) -> dict[str, pd.DataFrame]:
    """Competing causes (Aalen–Johansen at the last age) and forecast calibration on SLAM."""
    from translocus.progression.survival import AalenJohansen, forecast_backtest

    d = lifespans.data
    _, calibration = forecast_backtest(d, provenance=lifespans.provenance, cutoff="2018-10-01")
    competing = AalenJohansen().fit(d["time"], d["competing_cause"]).summary
    return {"competing_causes": competing, "forecast_calibration": calibration}


@dataclass
class ResponsePrediction:
    """Model-held-out cross-validation of response prediction on the PDXE breast panel."""

    scores: pd.DataFrame
    comparisons: pd.DataFrame
    importance: pd.DataFrame


def pdx_response_prediction(
    study: Any, metrics: pd.DataFrame, *, quick: bool
) -> ResponsePrediction:
    """Objective response and disease control from drug, molecular panel and drug targets."""
    from translocus.treatment.predict import (
        cross_validate_response,
        read_xeva_drug_targets,
        read_xeva_molecular,
        response_table,
    )

    profile = read_xeva_molecular()
    targets = read_xeva_drug_targets()
    brca = metrics.loc[metrics["tumor_type"] == "BRCA"]
    scores, comparisons = [], []
    importance = pd.DataFrame()
    for label, cats in (
        ("objective response (CR/PR)", ("CR", "PR")),
        ("disease control (CR/PR/SD)", ("CR", "PR", "SD")),
    ):
        table = response_table(brca, control=study.control, responder=cats)
        table = table.loc[table["model"].isin(profile.features.index)]
        sets = {"drug only": ["drug"], "drug + molecular + target": ["drug", "molecular", "target"]}
        if not quick:
            sets = {**sets, "drug + molecular": ["drug", "molecular"]}
        cv = cross_validate_response(
            table,
            profile,
            provenance=study.provenance,
            targets=targets,
            feature_sets=sets,
            n_repeats=1 if quick else 5,
            n_boot=200 if quick else 1000,
            importance="SD" in cats,
        )
        scores.append(
            cv.scores.assign(
                responder=label, rows=cv.n_rows, models=cv.n_models, responders=cv.n_responders
            )
        )
        comparisons.append(cv.comparisons.assign(responder=label))
        if "SD" in cats:
            importance = cv.importance.head(8)
    return ResponsePrediction(
        pd.concat(scores, ignore_index=True), pd.concat(comparisons, ignore_index=True), importance
    )
