"""The report's "Lifespan" section.

Lifespan on SLAM (the ``survival`` pipeline: Kaplan-Meier, Gompertz, Cox, frailty; plus
competing causes and forecast calibration) and the ITP rapamycin / acarbose effects (the
``lifespan`` pipeline).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]


def _slam_part(part: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    slam = part["slam"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    for (label, km), colour in zip(slam.km.items(), colours, strict=False):
        km.plot(axes[0], color=colour, label=label)
        km.plot(axes[1], ci=False, color=colour, label=f"{label} KM", lw=0.8, alpha=0.6)
        if label in slam.parametric_models:
            slam.parametric_models[label].plot(
                axes[1], t_max=1300, color=colour, ls="--", label=f"{label} Gompertz"
            )
    axes[0].set_title("Kaplan-Meier by strain x sex (95 % log-log bands)")
    axes[1].set_title("Gompertz fits (dashed) over Kaplan-Meier")
    for ax in axes:
        ax.set_xlabel("age (days)")
        ax.legend(fontsize=7)
    gomp = pd.concat(
        [m.summary.assign(n=m.n_, deaths=m.events_) for m in slam.parametric_models.values()],
        ignore_index=True,
    )
    table = slam.table
    parts = [
        "<h3>SLAM lifespans (C57BL/6J and UM-HET3)</h3>",
        f"<p>{table.n_animals} mice, {table.n_deaths} deaths; "
        + html.escape("; ".join(table.notes))
        + ".</p>",
        figure_html(fig, alt="SLAM survival"),
        "<h4>Median and restricted mean lifespan (days)</h4>",
        table_html(slam.km_table),
        "<h4>Gompertz fits: h(t) = a exp(b t), t in days (MRDT = mortality doubling time)</h4>",
        table_html(gomp, float_format="{:.4g}"),
    ]
    if slam.logrank is not None:
        lr = slam.logrank
        parts.append(
            f"<p>Log-rank across strain x sex groups: chi2 = {lr.statistic:.2f} on {lr.df} df, "
            f"p = {lr.p_value:.2g}.</p>"
        )
    if slam.cox is not None:
        parts += ["<h4>Cox model (Efron ties)</h4>", table_html(slam.cox.summary.reset_index())]
    if slam.frailty is not None:
        parts += [
            "<h4>Shared gamma frailty on cohort (EM + profile likelihood)</h4>",
            table_html(slam.frailty.summary.reset_index()),
        ]
    parts += [
        "<h4>Competing causes (Aalen-Johansen, at the last age)</h4>",
        table_html(part["competing_causes"]),
        "<h4>Forecast calibration (fit on data known on 2018-10-01, animals alive then)</h4>",
        table_html(part["forecast_calibration"]),
    ]
    return "\n".join(parts)


def _itp_part(itp: Any) -> str:
    fig = itp.model.plot(arms=itp.shown_arms) if itp.shown_arms else itp.model.plot()
    return "\n".join(
        [
            "<h3>ITP (UM-HET3): rapamycin and acarbose vs same-cohort controls</h3>",
            "<p>Cox hazard ratios stratified by site (and sex when pooled); median extension "
            "with bootstrap intervals; RMST difference stratified by site.</p>",
            figure_html(fig, alt="ITP forest plot"),
            table_html(itp.model.summary),
        ]
    )


def build_section(part: dict[str, Any]) -> ReportSection:
    """Render ``{"slam": SurvivalOutput, "itp": LifespanOutput, ...}`` from the demo."""
    body = [_slam_part(part), _itp_part(part["itp"])]
    return ReportSection(title="Lifespan and interventions", body="\n".join(body))
