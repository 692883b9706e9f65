"""Two-way recombinant inbred lines by selfing (``riself``): genotypes AA and BB.

A doubled haploid with the map expanded by selfing to fixation, ``R = 2r / (1 + 2r)``.
Selfing plants have no sex chromosomes, so a chromosome named as the X is modelled like an
autosome.
"""

from __future__ import annotations

import numpy as np

from translocus.genetics.crosstypes.dh import DoubledHaploid

__all__ = ["RISelf"]


class RISelf(DoubledHaploid):
    """RI lines by selfing."""

    name = "riself"

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)
        return super().transition(
            2.0 * r / (1.0 + 2.0 * r), is_x=is_x, is_female=is_female, cross_info=cross_info
        )
