"""The viewer's pages: one module per section, each with a ``router`` and a ``page``.

A section module exposes ``router = APIRouter(prefix="/api/<section>")`` (its JSON API) and
``page = Page(name="<section>", title="...")``; the page shell at ``/<section>`` loads
``/static/<section>.js``, which draws into ``<main id="app">``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Query

if TYPE_CHECKING:
    from translocus.web.runs import RunIndex, RunInfo

__all__ = ["SECTIONS", "TITLES", "Page", "run_query", "text_query"]

#: The sections, in the order of the navigation bar.
SECTIONS = ("study", "cause", "progression", "treatment", "human")
#: Navigation titles of the sections (a section's ``page.title`` is the same).
TITLES = {
    "study": "Study",
    "cause": "Cause",
    "progression": "Progression",
    "treatment": "Treatment",
    "human": "Human",
}


@dataclass(frozen=True)
class Page:
    """A section's page: its URL name (``/<name>``), title and the commands whose runs it shows.

    >>> page = Page(name="human", title="Human", commands=("translate",))
    >>> page.refusal("a", "scan", page.commands)
    "run 'a' is a scan run; the Human page shows translate runs"
    """

    name: str
    title: str
    commands: tuple[str, ...] = ()

    def refusal(self, run_id: str, command: str, commands: tuple[str, ...]) -> str:
        """Why a run of ``command`` is not shown here (the 422's detail)."""
        return (
            f"run {run_id!r} is a {command} run; the {self.title} page shows "
            f"{' and '.join(commands)} runs"
        )

    def run(self, index: RunIndex, run_id: str, *only: str) -> RunInfo:
        """The run ``run_id`` of ``index``, shown by this page (or with ``only``, this view).

        A 404 when ``index`` has no such run, a 422 when its command's runs are not shown here.
        """
        run = index.get(run_id)
        allowed = only or self.commands
        if allowed and run.command not in allowed:
            raise HTTPException(422, self.refusal(run_id, run.command, allowed))
        return run


def run_query(required: bool = True) -> Any:
    """The ``run`` query parameter: a run id from ``/api/runs``."""
    return Query(
        ... if required else None,
        min_length=1,
        max_length=300,
        description="Run id (from /api/runs).",
    )


def text_query() -> Any:
    """An optional short text query parameter (a measure, group or gene name)."""
    return Query(None, max_length=200)
