"""Two-way recombinant inbred lines by sibling mating (``risib``), e.g. the BXD strains.

Genotypes AA and BB. Autosomal map expansion ``R = 4r / (1 + 6r)`` (Haldane & Waddington 1931);
on the X the line's cross direction (``cross_info`` 0: A female x B male) sets the prior 2/3 : 1/3
and the asymmetric transitions of Broman (2005) *Genetics* 169:1133.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import CrossModel, _default_emission

__all__ = ["RISib"]


def _forward(cross_info: np.ndarray) -> bool:
    return cross_info.size < 1 or int(cross_info[0]) == 0


class RISib(CrossModel):
    """RI lines by sib mating; ``cross_info`` (0 = A x B, 1 = B x A) matters on the X only."""

    name = "risib"
    n_alleles = 2

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.array([0.5, 0.5])
        p = np.array([2.0 / 3.0, 1.0 / 3.0])
        return p if _forward(cross_info) else p[::-1].copy()

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
        if not is_x:
            rr = 4.0 * r / (1.0 + 6.0 * r)
            return np.stack(
                [np.concatenate([1 - rr, rr], 1), np.concatenate([rr, 1 - rr], 1)], axis=1
            )
        d = 1.0 + 4.0 * r
        # from the grandmother's allele (A when forward) and from the other allele
        from_maternal = np.concatenate([(1.0 + 2.0 * r) / d, 2.0 * r / d], 1)
        from_paternal = np.concatenate([4.0 * r / d, 1.0 / d], 1)
        if _forward(cross_info):
            return np.stack([from_maternal, from_paternal], axis=1)
        return np.stack([from_paternal[:, ::-1], from_maternal[:, ::-1]], axis=1)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if any_x and cross_info.ndim == 2 and cross_info.shape[1] >= 1:
            bad = np.flatnonzero(~np.isin(cross_info[:, 0], (0, 1)))
            if bad.size:
                raise InputError(
                    "RI cross_info (cross direction) must be 0 or 1 "
                    f"(individual rows {bad[:5].tolist()}); fix the cross_info column"
                )
