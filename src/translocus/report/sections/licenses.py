"""The report's licence table: every dataset, its licence, and whether training is allowed."""

from __future__ import annotations

import html

import pandas as pd

from translocus.report.html import ReportSection

__all__ = ["licenses_section"]


def licenses_section(report: pd.DataFrame) -> ReportSection:
    """Render a licence report (``translocus.core.licenses.license_report``)."""
    rows = []
    for row in report.itertuples(index=False):
        cls = "allowed" if row.training == "allowed" else "refused"
        rows.append(
            f"<tr><td>{html.escape(str(row.dataset))}</td><td><code>{html.escape(str(row.license))}"
            f"</code></td><td class='{cls}'>{row.training}</td><td>{html.escape(str(row.reason))}"
            "</td></tr>"
        )
    n_refused = int((report["training"] == "refused").sum()) if len(report) else 0
    body = (
        "<p>Every dataset carries its SPDX licence; model training goes through one gate that "
        "refuses data whose terms are unknown or not open unless a person allows them "
        f"explicitly. Under the default policy, {n_refused} of {len(report)} datasets are "
        "refused for training.</p>"
        "<table class='table'><tr><th>dataset</th><th>licence</th><th>training</th>"
        "<th>why</th></tr>" + "".join(rows) + "</table>"
    )
    return ReportSection("Licences", body)
