"""Interval levels and the columns of a forecast table, the same for every model.

Every ``forecast``/``predict`` that returns intervals writes them the same way:

``point``
    the point forecast, on the data's scale (grams, mm³, months: the unit of the values
    the model was fitted on);
``lower_<level>``, ``upper_<level>``
    the central interval of probability ``level`` on the same scale, one pair per level,
    the level written as ``f"{level:g}"`` (``lower_0.9``, ``upper_0.5``).

``level`` is always an interval probability (0.9 is a 90% interval); ``alpha`` is kept
for significance levels.

>>> interval_columns(0.9)
('lower_0.9', 'upper_0.9')
>>> as_levels((0.5, 0.9))
(0.5, 0.9)
>>> round(normal_quantile(0.95), 4)
1.96
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from translocus.core.errors import OptionError

POINT = "point"


def as_levels(level: float | Sequence[float], *, name: str = "level") -> tuple[float, ...]:
    """One interval probability or several, as a tuple of floats, each checked in (0, 1)."""
    values = (level,) if np.ndim(level) == 0 else tuple(level)  # type: ignore[arg-type]
    out = tuple(float(v) for v in values)  # type: ignore[arg-type]
    for v in out:
        if not 0.0 < v < 1.0:
            raise OptionError(
                name, v, "must be an interval probability strictly between 0 and 1, e.g. 0.9."
            )
    return out


def interval_columns(level: float) -> tuple[str, str]:
    """The names of the lower and upper bound columns of a ``level`` interval."""
    return f"lower_{level:g}", f"upper_{level:g}"


def normal_quantile(level: float) -> float:
    """Two-sided normal quantile of a central interval of probability ``level``."""
    return float(stats.norm.ppf(0.5 + level / 2))
