"""The report's first section: what the study holds (a cross summary, like R/qtl2's)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from translocus.core.model import Cross
from translocus.report.html import ReportSection, figure_html, table_html

__all__ = ["data_section"]


def data_section(
    cross: Cross, *, truth: pd.DataFrame | None = None, path: Path | None = None
) -> ReportSection:
    """Summarise a cross: sizes, markers per chromosome, phenotype distributions."""
    summary = pd.DataFrame(
        {"quantity": list(cross.summary()), "value": [str(v) for v in cross.summary().values()]}
    )
    per_chr = cross.markers_per_chromosome().rename_axis("chromosome").reset_index()
    lengths = pd.Series(
        {c: float(m.iloc[-1] - m.iloc[0]) for c, m in cross.gmap.items()}, name="length_cM"
    )
    per_chr["length_cM"] = lengths.to_numpy()

    traits = list(cross.pheno.columns[:6])
    fig, axes = plt.subplots(1, max(len(traits), 1), figsize=(2.6 * max(len(traits), 1), 2.4))
    for ax, trait in zip(np.atleast_1d(axes), traits, strict=False):
        values = cross.pheno[trait].dropna()
        ax.hist(values, bins=25, color="#4a6fa5")
        ax.set_title(trait, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Phenotype distributions", fontsize=10)

    body = [
        f"<p>{cross.description or 'Cross'} — source <code>{path or cross.provenance.source}</code>, "
        f"licence <code>{cross.provenance.license}</code>.</p>",
        table_html(summary, max_rows=50),
        "<h3>Markers per chromosome</h3>",
        table_html(per_chr, max_rows=25),
        figure_html(fig, alt="phenotype histograms"),
    ]
    if truth is not None and len(truth):
        body += ["<h3>Simulated truth</h3>", table_html(truth)]
    return ReportSection("Data", "\n".join(body))
