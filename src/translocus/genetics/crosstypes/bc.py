"""Backcross (``bc``): genotypes AA and AB; on the X, AA, AB (females) and AY, BY (males)."""

from __future__ import annotations

import numpy as np

from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel

__all__ = ["BackCross"]


class BackCross(CrossModel):
    """Backcross to the A parent. Observed codes: 1 = AA, 2 = AB (males on X: 1 = A, 3 = B)."""

    name = "bc"
    n_alleles = 2

    def n_genotypes(self, is_x: bool) -> int:
        return 4 if is_x else 2

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        a, b = alleles[0], alleles[1]
        names = [a + a, a + b]
        return names + [a + "Y", b + "Y"] if is_x else names

    def _haploid(self, is_x: bool, is_female: bool) -> bool:
        return is_x and not is_female

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        return np.array([2, 3]) if self._haploid(is_x, is_female) else np.array([0, 1])

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        p = np.zeros(self.n_genotypes(is_x))
        p[self.possible(is_x=is_x, is_female=is_female, cross_info=cross_info)] = 0.5
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
        poss = self.possible(is_x=is_x, is_female=is_female, cross_info=cross_info)
        # valid observed codes, in the order of the possible genotypes
        codes = (1, 3) if self._haploid(is_x, is_female) else (1, 2)
        for code, g in zip(codes, poss, strict=True):
            table[code, poss] = e
            table[code, g] = 1 - e
        return np.broadcast_to(table, (n_markers, *table.shape)).copy()

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        n = self.n_genotypes(is_x)
        poss = self.possible(is_x=is_x, is_female=is_female, cross_info=cross_info)
        out = np.zeros((r.shape[0], n, n))
        out[:, poss[:, None], poss[None, :]] = np.where(np.eye(2, dtype=bool), 1.0 - r, r)
        return out

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        m = np.array([[1, 0], [0.5, 0.5]], dtype=float)
        return np.vstack([m, np.eye(2)]) if is_x else m
