"""Building blocks of the self-contained HTML report.

A report is a list of :class:`ReportSection`; figures are embedded (PNG as base64 for
matplotlib, inline JSON for plotly) so one ``report.html`` file opens anywhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from translocus.core.atomic import atomic_write_text

__all__ = ["ReportSection", "figure_html", "plotly_html", "table_html", "write_report"]


@dataclass
class ReportSection:
    """One titled section of the report: an HTML body and optional artefact paths."""

    title: str
    body: str
    artefacts: list[Path] = field(default_factory=list)


def figure_html(fig: Any, *, alt: str = "", dpi: int = 110) -> str:
    """Embed a matplotlib figure as a base64 PNG ``<img>`` and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'


def plotly_html(fig: Any) -> str:
    """Embed a plotly figure as a ``<div>`` (plotly.js is loaded once by the page)."""
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


def table_html(df: pd.DataFrame, *, max_rows: int = 40, float_format: str = "{:.4g}") -> str:
    """Render a DataFrame as an HTML table, showing at most ``max_rows`` rows."""
    shown = df.head(max_rows)
    out = shown.to_html(
        index=False,
        border=0,
        classes="table",
        float_format=lambda v: float_format.format(v),
        na_rep="–",
    )
    if len(df) > max_rows:
        out += f"<p class='note'>{len(df) - max_rows} more rows not shown.</p>"
    return str(out)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.45}
h1{border-bottom:2px solid #345;padding-bottom:.2em}h2{color:#345;margin-top:2em}
table.table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
table.table th,table.table td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right}
table.table th{background:#f3f5f8}img{max-width:100%}.note{color:#666;font-size:.85em}
nav a{margin-right:1em}.allowed{color:#186a3b;font-weight:600}.refused{color:#a93226;font-weight:600}
"""


def write_report(
    path: Path,
    sections: Sequence[ReportSection],
    *,
    title: str = "translocus report",
    with_plotly: bool = False,
) -> Path:
    """Write a self-contained HTML report atomically and return its path."""
    head_js = ""
    if with_plotly:
        from plotly.offline import get_plotlyjs

        head_js = f"<script>{get_plotlyjs()}</script>"
    nav = " ".join(f'<a href="#s{i}">{html.escape(s.title)}</a>' for i, s in enumerate(sections))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'/>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>{head_js}</head><body>",
        f"<h1>{html.escape(title)}</h1><nav>{nav}</nav>",
    ]
    for i, section in enumerate(sections):
        parts.append(f'<section id="s{i}"><h2>{html.escape(section.title)}</h2>')
        parts.append(section.body)
        parts.append("</section>")
    parts.append("</body></html>")
    atomic_write_text(Path(path), "\n".join(parts))
    return Path(path)
