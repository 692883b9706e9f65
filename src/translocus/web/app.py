"""The viewer's web application: pages, the JSON API under ``/api/`` and bundled scripts.

:func:`create_app` builds it over run folders; ``translocus serve`` runs it with uvicorn.
Every page is the same shell (navigation, ``<main id="app" data-section="...">``, the
shared ``/static/app.js`` and the section's own script); plotly comes from the installed
plotly package, so the viewer works with no internet.
"""

from __future__ import annotations

import contextlib
import html
import importlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from translocus import __version__
from translocus.web.runs import RunIndex, get_index
from translocus.web.sections import SECTIONS, TITLES, Page
from translocus.web.security import SecurityMiddleware

__all__ = ["STATIC", "THREADS", "create_app", "page_shell", "plotly_js"]

STATIC = Path(__file__).parent / "static"
#: Requests answered at once (the others wait their turn). The answers are short bursts of
#: Python; a few threads finish each in turn, where 40 (the default) share the interpreter
#: lock and all finish late: with 50 clients on 2 busy cores, median latency 67 ms instead of
#: 256 ms and the 95th percentile 674 ms instead of 932 ms (benchmarks/viewer_load.py).
THREADS = 4


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
    yield


def plotly_js() -> Path:
    """The ``plotly.min.js`` bundled with the installed plotly package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def page_shell(page: Page, pages: Sequence[Page]) -> str:
    """The HTML of a section's page (the same for every section but its name)."""
    links = "".join(
        f'<a href="/{p.name}" data-section="{p.name}"'
        f"{' aria-current=page' if p.name == page.name else ''}>{html.escape(p.title)}</a>"
        for p in pages
    )
    name = html.escape(page.name)
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>translocus · {html.escape(page.title)}</title>"
        "<link rel=\"icon\" href=\"/static/favicon.svg\" type=\"image/svg+xml\">"
        "<link rel=\"stylesheet\" href=\"/static/app.css\"></head><body>"
        f"<nav id=\"nav\"><span class=\"brand\">translocus</span>{links}"
        "<span class=\"spacer\"></span><label class=\"run-picker\">run "
        "<select id=\"run-picker\"></select></label></nav>"
        f"<main id=\"app\" data-section=\"{name}\"></main>"
        "<script src=\"/static/vendor/plotly.min.js\"></script>"
        "<script src=\"/static/app.js\"></script>"
        f"<script src=\"/static/{name}.js\"></script>"
        "</body></html>\n"
    )  # fmt: skip


def _section_modules() -> list[Any]:
    """The section modules present (a section without one gets an empty page)."""
    found = []
    for name in SECTIONS:
        try:
            found.append(importlib.import_module(f"translocus.web.sections.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"translocus.web.sections.{name}":
                raise
    return found


def create_app(
    roots: Sequence[Path], *, token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> FastAPI:  # fmt: skip
    """The viewer over the runs in ``roots`` (see :class:`~translocus.web.runs.RunIndex`).

    Parameters
    ----------
    roots
        Run folders or folders of run folders; one without a complete run raises
        :class:`~translocus.core.errors.InputError`.
    token
        When given, every request must carry it (see :mod:`translocus.web.security`).
    allowed_hosts
        When given, the ``Host`` names the viewer answers to.
    """
    index = RunIndex(roots)
    app = FastAPI(
        title="translocus viewer",
        version=__version__,
        description="Read-only JSON API over translocus run folders.",
        docs_url=None,  # the interactive docs load scripts from the internet
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.index = index

    pages: list[Page] = []
    modules = {m.__name__.rsplit(".", 1)[1]: m for m in _section_modules()}
    for name in SECTIONS:
        module = modules.get(name)
        if module is not None:
            app.include_router(module.router)
        pages.append(getattr(module, "page", None) or Page(name=name, title=TITLES[name]))
    shells = {p.name: page_shell(p, pages) for p in pages}

    @app.get("/api/runs", tags=["runs"])
    def list_runs(
        command: str | None = Query(None, max_length=40, description="Only runs of this command."),
        runs: RunIndex = Depends(get_index),
    ) -> list[dict[str, Any]]:
        """The served runs: id, command, folder name, status, version and times."""
        return [
            {"id": r.id, "command": r.command, "folder": r.path.name,
             "run_command": r.meta.get("command"), "version": r.meta.get("version"),
             "started": r.meta.get("started"), "finished": r.meta.get("finished")}
            for r in runs.runs(command)
        ]  # fmt: skip

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/study", status_code=307)

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle() -> FileResponse:
        return FileResponse(plotly_js(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/{section}", include_in_schema=False)
    def section_page(section: str) -> HTMLResponse:
        if section not in shells:
            raise HTTPException(404, f"no page {section!r}; the pages are {', '.join(SECTIONS)}")
        return HTMLResponse(shells[section])

    app.add_middleware(SecurityMiddleware, token=token, allowed_hosts=allowed_hosts)
    return app
