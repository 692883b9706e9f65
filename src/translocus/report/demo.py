"""The demo report: one self-contained ``report.html`` rendered from a ``DemoOutput``.

Each section module renders one part of the demo pipeline's output; nothing is computed
here that the pipeline did not compute.
"""

from __future__ import annotations

import html
import importlib
from pathlib import Path
from typing import Any

from translocus.report.html import ReportSection, write_report

__all__ = ["SECTIONS", "render_demo_sections", "write_demo_report"]

#: Demo part -> (section module, title shown when the part was skipped).
SECTIONS: dict[str, tuple[str, str]] = {
    "cause": ("translocus.report.sections.cause", "Cause: genome scan"),
    "progression": ("translocus.report.sections.progression", "Progression"),
    "onset": ("translocus.report.sections.onset", "Progression as a trait: onset loci"),
    "lifespan": ("translocus.report.sections.lifespan", "Lifespan and interventions"),
    "treatment": ("translocus.report.sections.treatment", "Treatment"),
    "translation": ("translocus.report.sections.translation", "Human relevance"),
}


def render_demo_sections(output: Any) -> list[ReportSection]:
    """The report's sections for a :class:`~translocus.pipelines.demo.DemoOutput`."""
    from translocus.report.sections.data import data_section
    from translocus.report.sections.licenses import licenses_section

    sim = output.sim
    sections = [
        data_section(sim.cross, truth=sim.truth, path=Path("study/demo_do.json")),
        licenses_section(output.licenses),
    ]
    for name, (module, title) in SECTIONS.items():
        if name in output.parts:
            build = importlib.import_module(module).build_section
            sections.append(build(output.parts[name]))
        else:
            reason = output.skipped.get(name, "not run")
            sections.append(
                ReportSection(title, f"<p class='note'>Skipped: {html.escape(reason)}.</p>")
            )
    return sections


def write_demo_report(output: Any, folder: Path) -> Path:
    """Write ``folder/report.html`` for a demo output (plotly.js inlined: works offline)."""
    return write_report(
        Path(folder) / "report.html",
        render_demo_sections(output),
        title="translocus demo report",
        with_plotly=True,
    )
