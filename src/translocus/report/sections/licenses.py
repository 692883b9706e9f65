"""The report's licence table: every dataset, its licence, and whether training is allowed."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from translocus.core.licenses import discover_datasets, license_report
from translocus.core.provenance import Provenance, default_policy
from translocus.report.html import ReportSection

__all__ = ["licenses_section"]


def licenses_section(data: Path | None, *, extra: list[Provenance] | None = None) -> ReportSection:
    """Licence table of the datasets under ``data`` plus any ``extra`` (e.g. simulated) ones."""
    frames = []
    if data is not None and data.is_dir():
        frames.append(license_report(discover_datasets(data), default_policy()))
    if extra:
        from translocus.core.licenses import DatasetEntry

        entries = [DatasetEntry(p.name, p, None, metadata=None) for p in extra]
        frames.append(license_report(entries, default_policy()))
    report = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
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
