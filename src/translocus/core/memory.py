"""The memory budget of the steps that stream what does not fit.

``memory=`` or ``$TRANSLOCUS_MEMORY``: genotype probabilities formed in blocks of animals,
many-trait scans holding chromosomes and trait chunks.
"""

from __future__ import annotations

import os

from translocus.core.errors import OptionError

__all__ = ["DEFAULT_MEMORY", "memory_budget"]

#: The budget when neither ``memory=`` nor ``$TRANSLOCUS_MEMORY`` sets it (bytes): genotype
#: probabilities above it are formed chromosome by chromosome and streamed to a store.
DEFAULT_MEMORY = 2 << 30
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_budget(memory: int | str | None = None) -> int:
    """The memory budget in bytes: ``memory``, else ``$TRANSLOCUS_MEMORY``.

    Numbers of bytes or sizes such as ``"4G"`` or ``"512M"``; :data:`DEFAULT_MEMORY` when
    neither is given.

    >>> memory_budget("4G") == 4 << 30, memory_budget(1000)
    (True, 1000)
    """
    given = memory if memory is not None else os.environ.get("TRANSLOCUS_MEMORY") or None
    if given is None:
        return DEFAULT_MEMORY
    if isinstance(given, int) and not isinstance(given, bool):
        value = given
    else:
        text = str(given).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in _UNITS else ""
        try:
            value = int(float(text[: len(text) - len(unit)]) * _UNITS[unit])
        except ValueError:
            value = 0
    if value <= 0:
        raise OptionError("memory", given, "must be a size in bytes or such as 4G or 512M")
    return value
