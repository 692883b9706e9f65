"""Eight-way recombinant inbred lines by sibling mating (``risib8``), e.g. Collaborative Cross.

Genotypes AA ... HH (homozygous lines). Autosomes: ``Pr(stay) = (1 - r) / (1 + 6r)`` and
``r / (1 + 6r)`` to each other founder (Broman 2005, *Genetics* 169:1133). On the X only five
founders can contribute; ``cross_info`` is the funnel order (founder numbers 1-8 in the order
of the crosses), and the third founder of the funnel has prior 1/3, the others 1/6.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import CrossModel
from translocus.genetics.crosstypes.multiway import founder_emission

__all__ = ["RISib8"]


class RISib8(CrossModel):
    """Eight-way RI by sib mating; ``cross_info`` = 8 columns with the funnel order."""

    name = "risib8"
    n_alleles = 8
    needs_founder_geno = True

    def n_genotypes(self, is_x: bool) -> int:
        return 8

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.arange(8)
        order = np.asarray(cross_info, dtype=np.int64) - 1
        return np.sort(order[[0, 1, 2, 4, 5]])

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.full(8, 1.0 / 8.0)
        p = np.zeros(8)
        p[self.possible(is_x=True, is_female=is_female, cross_info=cross_info)] = 1.0 / 6.0
        p[int(cross_info[2]) - 1] = 1.0 / 3.0
        return p

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
        return founder_emission(
            founder_geno, n_founders=8, n_markers=n_markers, error_prob=error_prob, name=self.name
        )

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        eye = np.eye(8, dtype=bool)
        if not is_x:
            d = 1.0 + 6.0 * r
            return np.where(eye, (1.0 - r) / d, r / d)
        poss = self.possible(is_x=True, is_female=is_female, cross_info=cross_info)
        third = int(cross_info[2]) - 1
        d = 1.0 + 4.0 * r
        block = np.broadcast_to(r / d, (r.shape[0], 8, 8)).copy()
        block[:, :, third] = 2.0 * r[:, :, 0] / d[:, :, 0]
        diag = np.where(np.arange(8) == third, 1.0 / d[:, 0, :], (1.0 - r[:, 0, :]) / d[:, 0, :])
        block[:, eye] = diag
        mask = np.zeros((8, 8), dtype=bool)
        mask[poss[:, None], poss[None, :]] = True
        return np.where(mask, block, 0.0)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        ok = cross_info.ndim == 2 and cross_info.shape[1] == 8
        if ok:
            ok = bool(np.all(np.sort(cross_info, axis=1) == np.arange(1, 9)))
        if not ok:
            raise InputError(
                "risib8 cross_info must have 8 columns per line, a permutation of 1-8 "
                "giving the funnel order; fix the cross_info file"
            )
