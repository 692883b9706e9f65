"""The report's "Progression" section.

MODEL-AD 5xFAD age trajectories with onset ages (the ``progress`` pipeline) and their early
forecast, and a SLAM disease-course model with held-out forecasts (the demo's evaluations).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]


def _model_ad_part(trajectories: Any, early: Any) -> list[str]:
    fit = trajectories.model
    table = trajectories.table
    parts = [
        "<h3>MODEL-AD 5xFAD: age trajectories against C57BL/6J</h3>",
        "<p>One animal per age (4, 8, 12, 18 months), both sexes, hippocampus and cortex. "
        "Curves are penalised splines on the log scale with 90% bands; the dotted line and "
        "shade mark the onset age (first age with |Cohen's d| &ge; 1 against the same-sex "
        "control) and its bootstrap interval. Describing these data is analysis, not model "
        f"training; MODEL-AD terms ({html.escape(table.provenance.license)}) are recorded.</p>",
        figure_html(fit.plot(ncols=4), alt="5xFAD trajectories"),
    ]
    onsets = fit.summary.drop(columns=["effect", "threshold"])
    parts.append(table_html(onsets.round(2)))
    err_model = float(np.median(np.abs(early["forecast"] - early["observed_18mo_log"])))
    err_carry = float(np.median(np.abs(early["value_12mo"] - early["observed_18mo_log"])))
    parts.append(
        "<p>Forecast of the 18-month group means from the 4, 8 and 12 month animals: median "
        f"absolute error {err_model:.3f} (log scale) against {err_carry:.3f} for carrying the "
        "12-month value forward.</p>"
    )
    parts.append(table_html(early.round(3)))
    return parts


def _slam_part(course: Any) -> list[str]:
    from translocus.progression.plot import plot_forecasts

    model = course.model
    decision = model.licence_decision_
    parts = [
        "<h3>SLAM: disease-course model of body composition</h3>",
        f"<p>{course.n_train} training animals (C57BL/6J and UM-HET3, both sexes); each animal "
        "has a time shift and a speed of a shared latent age, with strain and sex moving both. "
        f"Fit: {course.seconds:.1f} s ({model.n_iter_} iterations). Licence gate: "
        f"<span class='allowed'>{html.escape(decision.dataset)} ({html.escape(decision.license)})"
        f" allowed</span> for training. Held-out animals are forecast about six months past "
        "their last used visit, from their earlier visits only (no refitting).</p>",
        figure_html(model.plot(), alt="SLAM courses"),
        table_html(course.metrics.round(3)),
        table_html(model.summary.round(4)),
    ]
    split = course.split
    shown = sorted(split.targets["animal"].unique())[:3]
    parts.append(
        figure_html(
            plot_forecasts(split.history.data, course.forecasts, animals=shown),
            alt="SLAM forecasts",
        )
    )
    return parts


def build_section(part: dict[str, Any]) -> ReportSection:
    """Render ``{"model_ad": ProgressOutput, "early_forecast": ..., "slam_course": ...}``."""
    parts = _model_ad_part(part["model_ad"], part["early_forecast"])
    parts += _slam_part(part["slam_course"])
    return ReportSection("Progression", "\n".join(parts))
