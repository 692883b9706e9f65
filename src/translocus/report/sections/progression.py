"""Report section "Progression": MODEL-AD 5xFAD age trajectories with onset ages, and a SLAM
disease-course model with held-out forecasts and their calibration."""

from __future__ import annotations

import html
import pathlib
import time
import warnings

import numpy as np
import pandas as pd

from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]

_MEASURES = [
    "Plaque Density (Thio-S)",
    "Insoluble Abeta42",
    "Astrocyte Cell Density (GFAP)",
    "Microglia Cell Density (IBA1)",
]


def _model_ad_part(quick: bool) -> list[str]:
    from translocus.progression.data import read_model_ad
    from translocus.progression.trajectory import AgeTrajectoryModel

    table = read_model_ad(model_group="5xFAD", measures=_MEASURES)
    group = ["mouse_model", "sex"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = AgeTrajectoryModel(n_boot=100 if quick else 400).fit(
            table, group=group, control="C57BL/6J"
        )
        early = AgeTrajectoryModel(horizon=18.0, n_boot=0).fit(
            table.select(age=[4.0, 8.0, 12.0]), group=group, control="C57BL/6J"
        )
    seconds = time.perf_counter() - t0
    parts = [
        "<h3>MODEL-AD 5xFAD: age trajectories against C57BL/6J</h3>",
        "<p>One animal per age (4, 8, 12, 18 months), both sexes, hippocampus and cortex. "
        "Curves are penalised splines on the log scale with 90% bands; the dotted line and "
        "shade mark the onset age (first age with |Cohen's d| &ge; 1 against the same-sex "
        "control) and its bootstrap interval. Describing these data is analysis, not model "
        f"training; MODEL-AD terms ({html.escape(table.provenance.license)}) are recorded. "
        f"Fit with bootstrap: {seconds:.1f} s.</p>",
        figure_html(fit.plot(ncols=4), alt="5xFAD trajectories"),
    ]
    onsets = fit.summary().drop(columns=["effect", "threshold"])
    parts.append(table_html(onsets.round(2)))
    observed = fit.analysis_data_
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
                "observed 18 mo (log)": obs["mean"],
                "forecast": pred["mean"],
                "90% interval": f"{pred['lower']:.2f} – {pred['upper']:.2f}",
                "12-month value": last.loc[(measure, tissue, sex)],
            }
        )
    frame = pd.DataFrame(rows)
    err_model = np.median(np.abs(frame["forecast"] - frame["observed 18 mo (log)"]))
    err_carry = np.median(np.abs(frame["12-month value"] - frame["observed 18 mo (log)"]))
    parts.append(
        "<p>Forecast of the 18-month group means from the 4, 8 and 12 month animals: median "
        f"absolute error {err_model:.3f} (log scale) against {err_carry:.3f} for carrying the "
        "12-month value forward.</p>"
    )
    parts.append(table_html(frame.round(3)))
    return parts


def _slam_part(quick: bool) -> list[str]:
    from translocus.core.provenance import LicensePolicy
    from translocus.progression.course import DiseaseCourseModel
    from translocus.progression.data import read_slam
    from translocus.progression.forecast import (
        forecast_metrics,
        horizon_split,
        last_value_forecast,
    )
    from translocus.progression.plot import plot_forecasts

    measures = ["body_weight", "fat_mass", "lean_mass"]
    table = read_slam(measures=tuple(measures))
    split = horizon_split(table, horizon=6.0, random_state=0)
    train = split.train
    if quick:
        train = train.select(animal=sorted(train.data["animal"].unique())[:200])
    policy = LicensePolicy()
    t0 = time.perf_counter()
    model = DiseaseCourseModel(onset_sd=0.5, speed_sd=0.02, max_iter=3 if quick else 8)
    model.fit(train, measures=measures, covariates=["strain", "sex"], policy=policy)
    seconds = time.perf_counter() - t0
    forecasts = model.forecast(split.history, split.targets, level=[0.5, 0.9])
    metrics = forecast_metrics(forecasts).assign(model="disease course")
    carry = forecast_metrics(last_value_forecast(split.history, split.targets, train=train))
    table_out = pd.concat([metrics, carry.assign(model="last value carried")])
    decision = model.licence_decision_
    parts = [
        "<h3>SLAM: disease-course model of body composition</h3>",
        f"<p>{train.n_animals} training animals (C57BL/6J and UM-HET3, both sexes); each animal "
        "has a time shift and a speed of a shared latent age, with strain and sex moving both. "
        f"Fit: {seconds:.1f} s ({model.n_iter_} iterations). Licence gate: "
        f"<span class='allowed'>{html.escape(decision.dataset)} ({html.escape(decision.license)})"
        f" allowed</span> for training. Held-out animals are forecast about six months past "
        "their last used visit, from their earlier visits only (no refitting).</p>",
        figure_html(model.plot(), alt="SLAM courses"),
        table_html(table_out.round(3)),
        table_html(model.summary().round(4)),
    ]
    shown = sorted(split.targets["animal"].unique())[:3]
    parts.append(
        figure_html(
            plot_forecasts(split.history.data, forecasts, animals=shown), alt="SLAM forecasts"
        )
    )
    return parts


def build_section(workdir: pathlib.Path, *, quick: bool = True) -> ReportSection:
    """Run the progression engine on MODEL-AD 5xFAD and SLAM and return the report section."""
    parts: list[str] = []
    for build in (_model_ad_part, _slam_part):
        try:
            parts.extend(build(quick))
        except FileNotFoundError as exc:
            parts.append(f"<p class='note'>Data not available ({html.escape(str(exc))}).</p>")
        except Exception as exc:  # a missing data folder raises InputError from the readers
            from translocus.core.errors import InputError

            if not isinstance(exc, InputError):
                raise
            parts.append(f"<p class='note'>Data not available ({html.escape(str(exc))}).</p>")
    return ReportSection("Progression", "\n".join(parts))
