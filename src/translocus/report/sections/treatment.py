"""Report section "Treatment": PDX Encyclopedia response (mRECIST, waterfall, spider), growth
fits, growth-rate treatment effects and synergy, and response prediction on the breast panel."""

from __future__ import annotations

import html
import pathlib
import time

import pandas as pd

from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]


def build_section(workdir: pathlib.Path, *, quick: bool = True) -> ReportSection:
    """Run the treatment engine on the PDXE and return the report section.

    ``quick`` uses one cross-validation repeat and fewer bootstrap draws for the prediction.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from translocus.treatment.growth import GrowthModel, synergy, treatment_effects
    from translocus.treatment.metrics import (
        category_counts,
        response_metrics,
        tumor_growth_inhibition,
    )
    from translocus.treatment.plot import (
        effects_forest,
        example_series,
        growth_fit_plot,
        spider_plot,
        waterfall_plot,
    )
    from translocus.treatment.predict import (
        cross_validate_response,
        read_xeva_drug_targets,
        read_xeva_molecular,
        response_table,
    )
    from translocus.treatment.study import read_pdxe

    try:
        study = read_pdxe()
    except Exception as exc:  # the data folder may be absent on a bare checkout
        return ReportSection(
            "Treatment", f"<p class='note'>PDXE data not available ({html.escape(str(exc))}).</p>"
        )
    parts: list[str] = []
    t0 = time.perf_counter()
    metrics = response_metrics(study)
    t_metrics = time.perf_counter() - t0
    counts = category_counts(metrics)
    parts.append(
        f"<p>Novartis PDX Encyclopedia (Gao et al. 2015, {study.provenance.license}): "
        f"{study.n_series:,} animal series, {study.n_models} models, {len(study.arms)} arms, "
        f"{len(study.records):,} measurements. mRECIST as Gao et al. define it (volume change "
        "from day 0; BestResponse = minimum change from day 10; BestAvgResponse = minimum "
        "running mean of the change from day 10; CR: BR &lt; −95 % and BAR &lt; −40 %; PR: "
        "BR &lt; −50 % and BAR &lt; −20 %; SD: BR &lt; 35 % and BAR &lt; 30 %; else PD). "
        f"All series computed in {t_metrics * 1000:.0f} ms. Series with no measurement from "
        "day 10 have no category (NA).</p>"
    )
    parts.append("<h3>mRECIST categories per tumour type (all arms)</h3>")
    parts.append(table_html(counts.reset_index().rename(columns={"index": "tumor_type"})))

    treated = metrics.loc[metrics["arm"] != study.control]
    fig, ax = plt.subplots(figsize=(9, 3.3))
    waterfall_plot(
        treated, ax=ax, title="Best average response of treated series (capped at 200 %)"
    )
    parts.append(figure_html(fig, alt="waterfall of best average response"))

    per_model = treated.groupby("model")["arm"].nunique().sort_values(ascending=False)
    shown_models = list(per_model.index[:2])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, model in zip(axes, shown_models, strict=True):
        spider_plot(study, model=model, metrics=metrics, ax=ax)
        ax.set_title(f"{model}: {per_model[model]} treated arms, coloured by mRECIST")
    parts.append(figure_html(fig, alt="spider plots"))

    # Growth models on three well-measured series.
    small = example_series(study)
    fits = [GrowthModel(k).fit(small) for k in ("exponential", "gompertz", "exponential_linear")]  # type: ignore[arg-type]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    growth_fit_plot(small, fits, series=range(small.n_series), ax=ax)
    ax.set_title("Growth fits: exponential (—), Gompertz (--), exponential-linear (:)")
    parts.append(figure_html(fig, alt="growth fits"))
    gomp_t = time.perf_counter()
    gomp = GrowthModel("gompertz").fit(study)
    gomp_s = time.perf_counter() - gomp_t
    parts.append(
        f"<p>Gompertz fits of all {study.n_series:,} series (batched Levenberg–Marquardt): "
        f"{gomp_s:.1f} s, {gomp.params_['converged'].mean():.1%} converged.</p>"
    )

    effects = treatment_effects(study)
    tgi = tumor_growth_inhibition(study)
    syn = synergy(study, tgi=tgi)
    sig = effects["p_value"] < 0.05
    parts.append("<h3>Growth-rate treatment effects (treated − untreated, per day)</h3>")
    parts.append(
        f"<p>{len(effects):,} model × drug pairs against their own untreated arm "
        f"({len(study.models_without_control())} models have no untreated arm). Effect = "
        "difference in the least-squares slope of ln(volume + 1) on day, 95 % t interval "
        "(pooled residual variance; mixed model with animal random effects where the control "
        f"has replicates). Slower growth at p &lt; 0.05: {int((sig & (effects['effect'] < 0)).sum()):,}; "
        f"faster: {int((sig & (effects['effect'] > 0)).sum()):,}. Median TGI (1 − T/C) "
        f"{tgi['tgi_tc'].median():.1f} %, median ΔT/ΔC-based TGI {tgi['tgi_delta'].median():.1f} %.</p>"
    )
    fig, ax = plt.subplots(figsize=(6.5, 6))
    effects_forest(effects, top=25, ax=ax)
    ax.set_title("Strongest 25 growth-rate effects")
    parts.append(figure_html(fig, alt="treatment effects forest plot"))
    cols = [
        "model",
        "arm",
        "rate_treated",
        "rate_control",
        "effect",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    parts.append(table_html(effects.sort_values("effect")[cols], max_rows=10))
    if len(syn):
        n_syn = int((syn["bliss_ci_high"] < 0).sum())
        parts.append(
            f"<h3>Combination synergy</h3><p>{len(syn)} model × combination arms with all single "
            f"agents and control. Bliss excess (r_AB − r_A − r_B + r_C; negative = synergy) "
            f"with its 95 % interval below zero: {n_syn}; HSA excess below zero: "
            f"{int((syn['hsa_ci_high'] < 0).sum())}.</p>"
        )
        scols = ["model", "arm", "bliss_excess", "bliss_ci_low", "bliss_ci_high", "hsa_excess"]
        parts.append(table_html(syn.sort_values("bliss_excess")[scols], max_rows=8))

    # Response prediction on the breast panel.
    try:
        profile = read_xeva_molecular()
        targets = read_xeva_drug_targets()
    except Exception as exc:
        parts.append(
            f"<p class='note'>Breast molecular panel not available ({html.escape(str(exc))}).</p>"
        )
        return ReportSection("Treatment", "\n".join(parts))
    brca = metrics.loc[metrics["tumor_type"] == "BRCA"]
    rows = []
    verdicts: list[str] = []
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
        sc = cv.scores.assign(
            responder=label, rows=cv.n_rows, models=cv.n_models, responders=cv.n_responders
        )
        rows.append(sc)
        for comp in cv.comparisons.itertuples(index=False):
            verdict = (
                "better than"
                if comp.ci_low > 0
                else "worse than"
                if comp.ci_high < 0
                else "not distinguishable from"
            )
            verdicts.append(
                f"{label}: {comp.features} is {verdict} the drug-only baseline (AUC difference "
                f"{comp.auc_difference:+.3f}, 95 % interval {comp.ci_low:+.3f} to "
                f"{comp.ci_high:+.3f})"
            )
        if "SD" in cats:
            importance = cv.importance.head(8)
    scores = pd.concat(rows, ignore_index=True)
    parts.append(
        "<h3>Response prediction, breast PDX (model-held-out cross-validation)</h3>"
        "<p>Logistic regression on drug (one-hot), the 51-feature molecular panel (expression, "
        "copy number, functional mutations of 22/20/9 genes) and the drug's target genes; "
        "Platt-calibrated; folds hold out whole PDX models; AUC interval: bootstrap over models. "
        f"The panel is small (41 profiled models); {'; '.join(verdicts)}.</p>"
    )
    parts.append(
        table_html(
            scores[
                [
                    "responder",
                    "features",
                    "auc",
                    "auc_ci_low",
                    "auc_ci_high",
                    "brier",
                    "rows",
                    "models",
                    "responders",
                ]
            ]
        )
    )
    parts.append("<p>Genes whose permutation most lowers held-out AUC (disease control):</p>")
    parts.append(table_html(importance))
    return ReportSection("Treatment", "\n".join(parts))
