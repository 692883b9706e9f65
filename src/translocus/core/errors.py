"""Errors a user can act on: one sentence naming the file, the row or column, and the fix.

Two kinds reach a user:

- :class:`InputError` — bad input data: the message names the file, the row/column and how
  to fix it.
- :class:`OptionError` — a bad argument value. It keeps the argument's Python name so that
  the message can be said in the terms the user typed: ``perms=-5: ...`` from Python,
  ``--perms -5: ...`` on the command line (:meth:`OptionError.cli_message`).

Both are :class:`UserError`; the command line turns them into exit code 2 and one line.

>>> err = OptionError("n_boot", -5, "must be 0 or more")
>>> str(err)
'n_boot=-5: must be 0 or more'
>>> err.cli_message()
'--n-boot -5: must be 0 or more'
>>> OptionError("alpha", 2, "must lie between 0 and 1; {perms} sets the permutations").cli_message()
'--alpha 2: must lie between 0 and 1; --perms sets the permutations'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["InputError", "OptionError", "UserError", "cli_flag"]

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class UserError(Exception):
    """A mistake the user can fix: reported as one line, exit code 2 on the command line."""

    def cli_message(self, flags: Mapping[str, str] | None = None) -> str:
        """The message in command-line terms (the same text unless a subclass says otherwise)."""
        return str(self)


class InputError(UserError, ValueError):
    """Bad input data. The message names the file, the row/column and how to fix it."""


def cli_flag(option: str, flags: Mapping[str, str] | None = None) -> str:
    """The command-line spelling of a Python argument name: ``n_boot`` -> ``--n-boot``."""
    if flags and option in flags:
        return flags[option]
    return "--" + option.replace("_", "-")


class OptionError(InputError):
    """A bad argument value, said in Python or command-line terms.

    Parameters
    ----------
    option
        The argument's Python name (``n_boot``); the command line spells it ``--n-boot``.
    value
        The value given (shown as typed; ``None`` leaves it out).
    reason
        What is wrong and the fix. ``{name}`` placeholders name other arguments and are
        spelled in the same terms as the message (``{perms}`` -> ``perms`` or ``--perms``).
    """

    def __init__(self, option: str, value: Any, reason: str) -> None:
        self.option = option
        self.value = value
        self.reason = reason
        super().__init__(self._render(python=True))

    def _render(self, *, python: bool, flags: Mapping[str, str] | None = None) -> str:
        def name(match: re.Match[str]) -> str:
            return match.group(1) if python else cli_flag(match.group(1), flags)

        reason = _PLACEHOLDER.sub(name, self.reason)
        if python:
            head = self.option if self.value is None else f"{self.option}={self.value!r}"
        else:
            flag = cli_flag(self.option, flags)
            head = flag if self.value is None else f"{flag} {_cli_value(self.value)}"
        return f"{head}: {reason}"

    def cli_message(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with command-line flags (``--n-boot -5: ...``)."""
        return self._render(python=False, flags=flags)


def _cli_value(value: Any) -> str:
    text = str(value)
    if isinstance(value, list | tuple):
        text = ",".join(map(str, value))
    return text if text and not any(c.isspace() for c in text) else repr(text)
