"""The report's "Cause" section.

The ``scan`` pipeline's LMM and Haley–Knott outputs: LOD curves with permutation
thresholds, peaks, heritability and founder allele effects.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from translocus.report.html import ReportSection, figure_html, plotly_html, table_html

__all__ = ["build_section"]


def build_section(part: dict[str, Any]) -> ReportSection:
    """Render ``{"lmm": ScanOutput, "hk": ScanOutput}`` from the demo pipeline."""
    from translocus.genetics.plot import plot_lod, plot_lod_interactive

    lmm, hk = part["lmm"], part["hk"]
    result = lmm.result
    name = result.traits[0]
    covariates = list(lmm.request.covar)
    shown: dict[str, float] = {}
    if lmm.thresholds is not None:
        for alpha, value in zip(lmm.thresholds["alpha"], lmm.thresholds[name], strict=True):
            shown[f"{int(alpha * 100)}% ({lmm.request.perms} perms)"] = float(value)
    else:
        shown["threshold"] = float(lmm.request.threshold)
    fig = plot_lod(result, thresholds=shown, peaks=lmm.peaks, map_name=lmm.map_name,
                   title=f"{name}: LMM (LOCO) genome scan")  # fmt: skip
    body = [
        f"<p>Cross: <b>{html.escape(lmm.crosstype)}</b>, {lmm.n_samples} individuals, "
        f"{len(result.markers)} markers; trait <b>{html.escape(name)}</b>"
        f"{' with sex as covariate (X-chromosome covariates in the X null model)' if covariates else ''}"
        ". Genotype probabilities by the HMM (error 0.002, Carter-Falconer map), allele "
        "dosages, leave-one-chromosome-out kinship, then Haley-Knott and linear-mixed-model "
        "scans; thresholds from permutations of the genotype probabilities (kinship and h² "
        "fixed, as R/qtl2).</p>",
        figure_html(fig, alt="LOD curve"),
        plotly_html(
            plot_lod_interactive(
                result,
                thresholds=shown,
                peaks=lmm.peaks,
                map_name=lmm.map_name,
                title=f"{name} (interactive)",
            )
        ),  # fmt: skip
    ]
    compare = pd.DataFrame({"HK max LOD": hk.result.lod.max(), "LMM max LOD": result.lod.max(),
                            "n": result.sample_size})  # fmt: skip
    body.append("<h3>Scans and thresholds</h3>")
    body.append(table_html(compare.reset_index(names="trait")))
    if lmm.thresholds is not None:
        body.append(table_html(lmm.thresholds))
    if result.hsq is not None:
        body.append("<p>Heritability of the null model per LOCO kinship:</p>")
        body.append(table_html(result.hsq.T.reset_index(names="trait")))
    body.append(f"<h3>Peaks (LOD support intervals, drop {lmm.request.drop:g})</h3>")
    body.append(
        table_html(lmm.peaks) if len(lmm.peaks) else "<p>No peak above the 5% threshold.</p>"
    )
    if len(lmm.peak_effects):
        body.append("<h3>Founder allele effects at each peak (LMM, with standard errors)</h3>")
        body.append(table_html(lmm.peak_effects, max_rows=24))
    effects = part.get("top_peak_effects")
    if effects is not None and len(effects):
        body.append(figure_html(_effects_figure(effects), alt="allele effects"))
    return ReportSection(title="Cause: genome scan", body="\n".join(body))


def _effects_figure(effects: pd.DataFrame) -> Any:
    """Founder allele effects along the top peak's chromosome (columns: pos, then alleles)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 3))
    pos = effects["pos"].to_numpy()
    for allele in [c for c in effects.columns if c not in ("pos", "marker", "ci_lo", "ci_hi")]:
        ax.plot(pos, effects[allele].to_numpy(), lw=1, label=allele)
    if "ci_lo" in effects:
        ax.axvspan(effects["ci_lo"].iloc[0], effects["ci_hi"].iloc[0], color="#fdebd0", zorder=0)
    ax.set_xlabel(str(effects.attrs.get("xlabel", "position")))
    ax.set_ylabel("allele effect")
    ax.legend(ncol=8, fontsize=7, frameon=False)
    ax.set_title("Founder allele effects (LMM, centred) along the top peak's chromosome")
    return fig
