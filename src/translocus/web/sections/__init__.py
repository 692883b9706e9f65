"""The viewer's pages: one module per section, each with a ``router`` and a ``page``.

A section module exposes ``router = APIRouter(prefix="/api/<section>")`` (its JSON API) and
``page = Page(name="<section>", title="...")``; the page shell at ``/<section>`` loads
``/static/<section>.js``, which draws into ``<main id="app">``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SECTIONS", "TITLES", "Page"]

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
    """A section's page: its URL name (``/<name>``) and title."""

    name: str
    title: str
