"""Errors a user can act on: one sentence naming the file, the row or column, and the fix."""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """Bad input data. The message names the file, the row/column and how to fix it."""
