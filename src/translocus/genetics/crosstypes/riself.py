"""Two-way recombinant inbred lines by selfing (``riself``): genotypes AA and BB.

Map expansion ``R = 2r / (1 + 2r)``. Selfing plants have no sex chromosomes, so a chromosome
named as the X is modelled like an autosome.
"""

from __future__ import annotations

import numpy as np

from translocus.genetics.crosstypes import CrossModel, _default_emission

__all__ = ["RISelf"]


class RISelf(CrossModel):
    """RI lines by selfing."""

    name = "riself"
    n_alleles = 2
    handles_x = False

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        return np.array([0.5, 0.5])

    def emission(
        self,
        *,
        error_prob: float,
        founder_geno: np.ndarray | None,
        n_markers: int,
        is_x: bool,
        is_female: bool,
        cross_info: np.ndarray,
    ) -> np.ndarray:
        return _default_emission(n_markers, 2, error_prob, (1, 2))

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None]
        rr = 2.0 * r / (1.0 + 2.0 * r)
        return np.stack([np.concatenate([1 - rr, rr], 1), np.concatenate([rr, 1 - rr], 1)], 1)
