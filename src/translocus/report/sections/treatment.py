"""The report's "Treatment" section.

PDX Encyclopedia response (mRECIST, waterfall, spider), growth fits, growth-rate treatment
effects and synergy (the ``respond`` pipeline), and response prediction on the breast panel
(the demo's held-out evaluation).
"""

from __future__ import annotations

from typing import Any

from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["build_section"]


def build_section(part: dict[str, Any]) -> ReportSection:
    """Render ``{"pdxe": RespondOutput, "prediction": ResponsePrediction}``."""
    import matplotlib.pyplot as plt

    from translocus.treatment.plot import (
        effects_forest,
        growth_fit_plot,
        spider_plot,
        waterfall_plot,
    )

    pdx = part["pdxe"]
    study, metrics, counts = pdx.study, pdx.metrics, pdx.counts
    parts: list[str] = []
    parts.append(
        f"<p>Novartis PDX Encyclopedia (Gao et al. 2015, {study.provenance.license}): "
        f"{study.n_series:,} animal series, {study.n_models} models, {len(study.arms)} arms, "
        f"{len(study.records):,} measurements. mRECIST as Gao et al. define it (volume change "
        "from day 0; BestResponse = minimum change from day 10; BestAvgResponse = minimum "
        "running mean of the change from day 10; CR: BR &lt; −95 % and BAR &lt; −40 %; PR: "
        "BR &lt; −50 % and BAR &lt; −20 %; SD: BR &lt; 35 % and BAR &lt; 30 %; else PD). "
        "Series with no measurement from day 10 have no category (NA).</p>"
    )
    parts.append("<h3>mRECIST categories per tumour type (all arms)</h3>")
    parts.append(table_html(counts.reset_index().rename(columns={"index": "tumor_type"})))

    treated = metrics.loc[metrics["arm"] != pdx.control]
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

    fig, ax = plt.subplots(figsize=(6.5, 4))
    growth_fit_plot(pdx.examples, pdx.example_fits, series=range(pdx.examples.n_series), ax=ax)
    ax.set_title("Growth fits: exponential (—), Gompertz (--), exponential-linear (:)")
    parts.append(figure_html(fig, alt="growth fits"))
    gomp = pdx.growth
    parts.append(
        f"<p>{pdx.request.growth_model.capitalize()} fits of all {study.n_series:,} series "
        f"(batched Levenberg–Marquardt): {gomp.params_['converged'].mean():.1%} converged.</p>"
    )

    effects, tgi, syn = pdx.effects, pdx.tgi, pdx.synergy
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
    cols = ["model", "arm", "rate_treated", "rate_control", "effect", "ci_low", "ci_high",
            "p_value"]  # fmt: skip
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
    prediction = part.get("prediction")
    if prediction is None:
        parts.append("<p class='note'>Breast molecular panel not available.</p>")
    else:
        parts.extend(_prediction(prediction))
    return ReportSection("Treatment", "\n".join(parts))


def _prediction(prediction: Any) -> list[str]:
    verdicts = []
    for comp in prediction.comparisons.itertuples(index=False):
        verdict = (
            "better than" if comp.ci_low > 0
            else "worse than" if comp.ci_high < 0
            else "not distinguishable from"
        )  # fmt: skip
        verdicts.append(
            f"{comp.responder}: {comp.features} is {verdict} the drug-only baseline (AUC "
            f"difference {comp.auc_difference:+.3f}, 95 % interval {comp.ci_low:+.3f} to "
            f"{comp.ci_high:+.3f})"
        )
    columns = ["responder", "features", "auc", "auc_ci_low", "auc_ci_high", "brier", "rows",
               "models", "responders"]  # fmt: skip
    return [
        "<h3>Response prediction, breast PDX (model-held-out cross-validation)</h3>"
        "<p>Logistic regression on drug (one-hot), the 51-feature molecular panel (expression, "
        "copy number, functional mutations of 22/20/9 genes) and the drug's target genes; "
        "sigmoid-calibrated on model-held-out folds; folds hold out whole PDX models; AUC interval: bootstrap over models. "
        f"The panel is small (41 profiled models); {'; '.join(verdicts)}.</p>",
        table_html(prediction.scores[columns]),
        "<p>Genes whose permutation most lowers held-out AUC (disease control):</p>",
        table_html(prediction.importance),
    ]
