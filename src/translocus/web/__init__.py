"""The study viewer: a read-only web app over run folders (``translocus serve``).

:func:`~translocus.web.app.create_app` builds the FastAPI application; each page
(:data:`~translocus.web.sections.SECTIONS`) has a module under ``web/sections`` with its JSON
API, and a script under ``web/static``. Needs the ``web`` extra (FastAPI, uvicorn).
"""

from __future__ import annotations

from translocus.web.app import create_app

__all__ = ["create_app"]
