"""Helpers of the viewer's browser tests (Playwright driving Debian's chromium).

Imported directly, so a machine without Playwright fails the browser tests loudly instead of
skipping them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from playwright.sync_api import sync_playwright

__all__ = ["launch", "open_pages", "plot_data", "wait_js"]


def wait_js(page: Any, expression: str, timeout: float = 30.0) -> Any:
    """Poll ``expression`` until truthy (``wait_for_function`` evals, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


def plot_data(page: Any, element: str) -> list[dict[str, Any]]:
    """The traces a plotly element draws: name, meta, x, y and customdata of each."""
    expression = f"""() => (document.getElementById({element!r}).data || []).map(d => ({{
        name: d.name, meta: d.meta || null, x: Array.from(d.x || []), y: Array.from(d.y || []),
        customdata: Array.from(d.customdata || [])}}))"""
    return page.evaluate(expression)  # type: ignore[no-any-return]


def launch(chromium: str) -> Iterator[Any]:
    """A chromium browser from the executable at ``chromium`` (generator for a fixture)."""
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


def open_pages(browser: Any) -> Iterator[Callable[[str], Any]]:
    """Pages that record console errors and policy violations, asserted empty at the end."""
    pages: list[tuple[Any, list[str]]] = []

    def make(url: str) -> Any:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        pages.append((page, problems))
        page.goto(url)
        return page

    yield make
    for page, problems in pages:
        page.context.close()
        assert not problems, problems
