"""Report section: lifespan on SLAM (Kaplan-Meier, Gompertz, Cox, frailty, forecasts) and
the ITP rapamycin / acarbose effects."""

from __future__ import annotations

import html
import pathlib

import pandas as pd

from translocus.core.paths import data_dir
from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]

#: ITP arms shown: rapamycin (2005 and 2006 cohorts, 2009 dose study high dose) and
#: acarbose (2009 cohort; 2013 dose study).
ITP_ARMS = ("rapa05", "rapa06", "r09hi", "aca", "acahi")


def _slam_part(quick: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from translocus.progression.lifespan_data import read_slam_lifespans
    from translocus.progression.survival import (
        AalenJohansen,
        CoxPH,
        GammaFrailtyCox,
        dummy_covariates,
        fit_parametric_by,
        forecast_backtest,
        logrank_test,
        survival_table,
    )

    slam = read_slam_lifespans()
    d = slam.data
    km_table, kms = survival_table(d, group=["strain", "sex"])
    _, models = fit_parametric_by(d, group=["strain", "sex"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for (label, km), colour in zip(
        kms.items(), ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"], strict=False
    ):
        km.plot(axes[0], color=colour, label=label)
        km.plot(axes[1], ci=False, color=colour, label=f"{label} KM", lw=0.8, alpha=0.6)
        models[label].plot(axes[1], t_max=1300, color=colour, ls="--", label=f"{label} Gompertz")
    axes[0].set_title("Kaplan-Meier by strain x sex (95 % log-log bands)")
    axes[1].set_title("Gompertz fits (dashed) over Kaplan-Meier")
    for ax in axes:
        ax.set_xlabel("age (days)")
        ax.legend(fontsize=7)
    gomp = pd.concat(
        [m.summary.assign(n=m.n_, deaths=m.events_) for m in models.values()], ignore_index=True
    )
    x = dummy_covariates(d, ["strain", "sex"])
    frame = pd.concat([d[["time", "event", "cohort"]], x], axis=1)
    cox = CoxPH().fit(frame, duration="time", event="event", covariates=list(x.columns))
    frail = GammaFrailtyCox().fit(
        frame, duration="time", event="event", cluster="cohort", covariates=list(x.columns)
    )
    lr = logrank_test(d["time"], d["event"], d["strain"], strata=d["sex"])
    _, cal = forecast_backtest(d, provenance=slam.provenance, cutoff="2018-10-01")
    aj = AalenJohansen().fit(d["time"], d["competing_cause"])
    parts = [
        "<h3>SLAM lifespans (C57BL/6J and UM-HET3)</h3>",
        f"<p>{slam.n_animals} mice, {slam.n_deaths} deaths; "
        + html.escape("; ".join(slam.notes))
        + ".</p>",
        figure_html(fig, alt="SLAM survival"),
        "<h4>Median and restricted mean lifespan (days)</h4>",
        table_html(km_table),
        "<h4>Gompertz fits: h(t) = a exp(b t), t in days (MRDT = mortality doubling time)</h4>",
        table_html(gomp, float_format="{:.4g}"),
        f"<p>Log-rank HET3 vs B6 stratified by sex: chi2 = {lr.statistic:.2f}, "
        f"p = {lr.p_value:.2g}.</p>",
        "<h4>Cox model (Efron ties)</h4>",
        table_html(cox.summary.reset_index()),
        "<h4>Shared gamma frailty on cohort (EM + profile likelihood)</h4>",
        table_html(frail.summary.reset_index()),
        "<h4>Competing causes (Aalen-Johansen, at the last age)</h4>",
        table_html(aj.summary),
        "<h4>Forecast calibration (fit on data known on 2018-10-01, animals alive then)</h4>",
        table_html(cal),
    ]
    return "\n".join(parts)


def _itp_part(quick: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")

    from translocus.progression.lifespan_data import read_itp_lifespans
    from translocus.treatment.lifespan import LifespanInterventionEffects

    itp = read_itp_lifespans()
    model = LifespanInterventionEffects(arms=ITP_ARMS, n_boot=300 if quick else 2000).fit(itp)
    fig = model.plot()
    return "\n".join(
        [
            "<h3>ITP (UM-HET3): rapamycin and acarbose vs same-cohort controls</h3>",
            "<p>Cox hazard ratios stratified by site (and sex when pooled); median extension "
            "with bootstrap intervals; RMST difference stratified by site.</p>",
            figure_html(fig, alt="ITP forest plot"),
            table_html(model.summary),
        ]
    )


def build_section(workdir: pathlib.Path, *, quick: bool = True) -> ReportSection:
    """Lifespan section of the demo report (runs on the shared SLAM and ITP data)."""
    body = []
    base = data_dir()
    if (base / "slam" / "data_SLAM_census_c79b9c0.csv").exists():
        body.append(_slam_part(quick))
    else:
        body.append(f"<p class='note'>SLAM data not found under {html.escape(str(base))}.</p>")
    if (base / "itp" / "bodyweights" / "ITP_10003.csv").exists():
        body.append(_itp_part(quick))
    else:
        body.append(f"<p class='note'>ITP data not found under {html.escape(str(base))}.</p>")
    return ReportSection(title="Lifespan and interventions", body="\n".join(body))
