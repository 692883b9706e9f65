"""F2 intercross (``f2``): genotypes AA, AB, BB; on the X, AA, AB, BA, BB (females) and AY, BY.

On the X a female from the A x B direction (``cross_info`` 0, A female grandmother) is AA or AB
and one from the B x A direction (``cross_info`` 1) is BA or BB. Observed codes on the X follow
R/qtl2: a call that is impossible for a genotype counts as no information.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel

__all__ = ["Intercross", "intercross_emission"]

_AA, _AB, _BB, _NOT_BB, _NOT_AA = 1, 2, 3, 4, 5


def _forward(cross_info: np.ndarray) -> bool:
    return cross_info.size < 1 or int(cross_info[0]) == 0


def intercross_emission(table: np.ndarray, error_prob: float) -> None:
    """Fill columns AA, AB, BB (the first three) of an emission table ``[code, genotype]``."""
    e = error_prob
    table[_AA, :3] = [1 - e, e / 2, e / 2]
    table[_AB, :3] = [e / 2, 1 - e, e / 2]
    table[_BB, :3] = [e / 2, e / 2, 1 - e]
    table[_NOT_BB, :3] = [1 - e / 2, 1 - e / 2, e]
    table[_NOT_AA, :3] = [e, 1 - e / 2, 1 - e / 2]


class Intercross(CrossModel):
    """F2 intercross; ``cross_info`` (0 = A x B, 1 = B x A) matters on the X only."""

    name = "f2"
    n_alleles = 2

    def n_genotypes(self, is_x: bool) -> int:
        return 6 if is_x else 3

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        a, b = alleles[0], alleles[1]
        if is_x:
            return [a + a, a + b, b + a, b + b, a + "Y", b + "Y"]
        return [a + a, a + b, b + b]

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.arange(3)
        if not is_female:
            return np.array([4, 5])
        return np.array([0, 1]) if _forward(cross_info) else np.array([2, 3])

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.array([0.25, 0.5, 0.25])
        p = np.zeros(6)
        p[self.possible(is_x=True, is_female=is_female, cross_info=cross_info)] = 0.5
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
        e = error_prob
        table = np.ones((N_OBS_CODES, self.n_genotypes(is_x)))
        if not is_x:
            intercross_emission(table, e)
        else:
            # (genotype column, codes giving 1 - e, codes giving e); other codes: no information
            rules = [
                (0, (_AA,), (_AB, _NOT_AA)),
                (1, (_AB, _NOT_AA), (_AA,)),
                (2, (_AB, _NOT_BB), (_BB,)),
                (3, (_BB,), (_AB, _NOT_BB)),
                (4, (_AA, _NOT_BB), (_BB, _NOT_AA)),
                (5, (_BB, _NOT_AA), (_AA, _NOT_BB)),
            ]
            for col, ok, bad in rules:
                table[list(ok), col] = 1 - e
                table[list(bad), col] = e
        return np.broadcast_to(table, (n_markers, *table.shape)).copy()

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        if is_x:
            poss = self.possible(is_x=True, is_female=is_female, cross_info=cross_info)
            out = np.zeros((r.shape[0], 6, 6))
            block = np.where(np.eye(2, dtype=bool), 1.0 - r, r)
            out[:, poss[:, None], poss[None, :]] = block
            return out
        s = 1.0 - r
        row_aa = np.concatenate([s * s, 2 * s * r, r * r], axis=2)
        row_ab = np.concatenate([s * r, s * s + r * r, s * r], axis=2)
        row_bb = np.concatenate([r * r, 2 * s * r, s * s], axis=2)
        return np.concatenate([row_aa, row_ab, row_bb], axis=1)

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        if is_x:
            return np.array([[1, 0], [0.5, 0.5], [0.5, 0.5], [0, 1], [1, 0], [0, 1]], dtype=float)
        return np.array([[1, 0], [0.5, 0.5], [0, 1]], dtype=float)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if any_x and cross_info.ndim == 2 and cross_info.shape[1] >= 1:
            bad = np.flatnonzero(~np.isin(cross_info[:, 0], (0, 1)))
            if bad.size:
                raise InputError(
                    "F2 cross_info (cross direction) must be 0 or 1 "
                    f"(individual rows {bad[:5].tolist()}); fix the cross_info column"
                )
