"""The demo: simulate a study, run every engine, and write one self-contained report.

Each engine contributes a report section (``translocus.report.sections.<name>``). Sections
that need the public datasets say so in the report when those are absent instead of failing.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.console import Console

from translocus.core.paths import data_dir
from translocus.report.html import ReportSection, write_report

__all__ = ["DEMO_SECTIONS", "run_demo"]


@dataclass(frozen=True)
class _SectionSpec:
    module: str
    title: str
    needs_shared_data: bool
    analyses_study: bool = False  # the section is given the simulated cross


#: Engine sections, in report order; each module exposes ``build_section(workdir, *, quick)``.
DEMO_SECTIONS: tuple[_SectionSpec, ...] = (
    _SectionSpec("translocus.report.sections.cause", "Cause", False, analyses_study=True),
    _SectionSpec("translocus.report.sections.progression", "Progression", True),
    _SectionSpec("translocus.report.sections.onset", "Onset loci", False),
    _SectionSpec("translocus.report.sections.lifespan", "Lifespan and survival", True),
    _SectionSpec("translocus.report.sections.treatment", "Treatment", True),
    _SectionSpec("translocus.report.sections.translation", "Human relevance", True),
)


def run_demo(
    out: Path,
    *,
    n: int = 300,
    seed: int = 1,
    quick: bool = True,
    console: Console | None = None,
) -> Path:
    """Simulate a Diversity Outbred study, run the engines and write ``out/report.html``."""
    from translocus.core.simulate import simulate_cross
    from translocus.report.sections.data import data_section
    from translocus.report.sections.licenses import licenses_section

    console = console or Console()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def step(title: str, fn: Callable[[], ReportSection]) -> ReportSection:
        start = time.perf_counter()
        with console.status(f"[bold]{title}[/bold] …"):
            section = fn()
        timings[title] = time.perf_counter() - start
        console.print(f"[green]✓[/green] {title} ({timings[title]:.1f} s)")
        return section

    sim = simulate_cross(cross_type="do", n=n, seed=seed)
    from translocus.core.qtl2io import write_cross

    control = write_cross(sim.cross, out / "study", name="demo_do")
    sections = [
        step("Data", lambda: data_section(sim.cross, truth=sim.truth, path=control)),
        step(
            "Licences",
            lambda: licenses_section(data_dir(), extra=[sim.cross.provenance]),
        ),
    ]
    shared = data_dir().is_dir()
    for spec in DEMO_SECTIONS:
        if spec.needs_shared_data and not shared:
            sections.append(
                ReportSection(
                    spec.title,
                    f"<p class='note'>Skipped: the public datasets were not found at "
                    f"<code>{data_dir()}</code> (set TRANSLOCUS_DATA).</p>",
                )
            )
            continue
        build = importlib.import_module(spec.module).build_section
        workdir = out / spec.title.lower().split()[0]
        workdir.mkdir(parents=True, exist_ok=True)
        extra = {"cross": sim.cross} if spec.analyses_study else {}
        sections.append(step(spec.title, partial(build, workdir, quick=quick, **extra)))
    report = write_report(
        out / "report.html", sections, title="translocus demo report", with_plotly=True
    )
    console.print(f"report written to [bold]{report}[/bold]")
    return report
