"""Two-way advanced intercross lines (``ail``): genotypes AA, AB, BB; on the X, AY and BY too.

``cross_info`` is the generation ``n`` (F2 = 2) and, optionally, the cross direction of the
colony's founding cross: 0 = A female x B male, 1 = B x A, 2 = balanced (both; the default).
On the autosomes each haplotype is recombinant with probability
``(1 - (1 - 2r)(1 - r)^(n - 2)) / 2``. On the X of a balanced colony the female and male
haplotype recombination probabilities follow a two-sex recursion solved in closed form; after
a single direction the X haplotype frequencies are unequal and the chain is run generation by
generation (Broman 2012, *Genetics* 190:403, appendix), as R/qtl2 does.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel
from translocus.genetics.crosstypes.f2 import intercross_emission

__all__ = ["AdvancedIntercross", "haplotype_chain"]

_AA, _AB, _BB, _NOT_BB, _NOT_AA = 1, 2, 3, 4, 5


def _generation(cross_info: np.ndarray) -> int:
    if cross_info.size < 1:
        raise InputError("AIL cross needs cross_info column 'ngen' (generation); add it")
    return int(cross_info[0])


def _direction(cross_info: np.ndarray) -> int:
    return int(cross_info[1]) if cross_info.size > 1 else 2


def _symmetric(r_hap: np.ndarray) -> np.ndarray:
    """``[interval, 2, 2]`` chain of a haplotype that switches founder with probability ``r_hap``."""
    stay = (1.0 - r_hap)[:, None, None]
    return np.where(np.eye(2, dtype=bool), stay, r_hap[:, None, None])


def _unphased(s: np.ndarray) -> np.ndarray:
    """AA/AB/BB chain of two haplotypes on the chain ``s`` (the heterozygote's first is A)."""
    s00, s01, s10, s11 = s[:, 0, 0], s[:, 0, 1], s[:, 1, 0], s[:, 1, 1]
    row_aa = np.stack([s00 * s00, 2 * s00 * s01, s01 * s01], 1)
    row_ab = np.stack([s00 * s10, s00 * s11 + s01 * s10, s01 * s11], 1)
    row_bb = np.stack([s10 * s10, 2 * s11 * s10, s11 * s11], 1)
    return np.stack([row_aa, row_ab, row_bb], 1)


def _one_way_x(rf: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that the A allele is kept along the female and male X (A x B colony)."""
    m_prev = np.ones_like(rf)
    f_prev = np.full_like(rf, 0.5)
    m11, f11 = m_prev, f_prev
    for i in range(2, n + 1):
        q_before = 2.0 / 3.0 + (-0.5) ** (i - 3) / 3.0
        q_now = 2.0 / 3.0 + (-0.5) ** (i - 2) / 3.0
        m11 = (1.0 - rf) * f_prev + rf * q_now * q_before
        f11 = m_prev / 2.0 + (1.0 - rf) / 2.0 * f_prev + rf / 2.0 * q_now * q_before
        m_prev, f_prev = m11, f11
    return f11, m11


def haplotype_chain(
    rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
) -> np.ndarray:
    """``[interval, left, right]`` founder (A, B) chain of one haplotype of an individual.

    For an individual of this sex and ``cross_info``. The unphased AIL chain (:class:`AdvancedIntercross`) and the phase-known one (``ailpk``)
    are both built from it.
    """
    r = np.asarray(rf, dtype=np.float64)
    n = _generation(cross_info)
    if not is_x:
        return _symmetric((1.0 - (1.0 - 2.0 * r) * np.power(1.0 - r, n - 2)) / 2.0)
    direction = _direction(cross_info)
    if direction == 2:
        z = np.sqrt((1.0 - r) * (9.0 - r))
        wk = np.power((1.0 - r + z) / 4.0, n - 2)
        yk = np.power((1.0 - r - z) / 4.0, n - 2)
        base = 2.0 + (1.0 - 2.0 * r) * (wk + yk)
        lead = (3.0 - 6.0 * r + r * r) if is_female else (3.0 - 5.0 * r + 2.0 * r * r)
        return _symmetric(1.0 - 0.25 * (base + lead / z * (wk - yk)))
    f11, m11 = _one_way_x(r, n)
    if is_female:
        q = 2.0 / 3.0 + (-0.5) ** n / 3.0
        kept = f11
    else:
        q = 2.0 / 3.0 + (-0.5) ** (n - 1) / 3.0
        kept = m11
    a_a = kept / q  # the A allele (the colony's maternal one) stays A
    b_a = (q - kept) / (1.0 - q)
    s = np.stack([np.stack([a_a, 1 - a_a], 1), np.stack([b_a, 1 - b_a], 1)], 1)
    return s[:, ::-1, ::-1] if direction == 1 else s  # B x A: the roles of A and B swap


class AdvancedIntercross(CrossModel):
    """Two-way AIL; ``cross_info`` = generation, optionally direction (0, 1 or 2)."""

    name = "ail"
    n_alleles = 2

    def n_genotypes(self, is_x: bool) -> int:
        return 5 if is_x else 3

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        a, b = alleles[0], alleles[1]
        names = [a + a, a + b, b + b]
        return names + [a + "Y", b + "Y"] if is_x else names

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        return np.array([3, 4]) if is_x and not is_female else np.arange(3)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.array([0.25, 0.5, 0.25])
        p = np.zeros(5)
        direction = _direction(cross_info)
        if direction == 2:
            f = m = 0.5
        else:
            n = _generation(cross_info)
            sign = 1.0 if n % 2 == 0 else -1.0
            f = 2.0 / 3.0 * (1.0 + sign * 0.5 ** (n + 1))
            m = 2.0 / 3.0 * (1.0 - sign * 0.5**n)
            if direction == 1:
                f, m = 1.0 - f, 1.0 - m
        if is_female:
            p[:3] = [f * f, 2.0 * f * (1.0 - f), (1.0 - f) ** 2]
        else:
            p[3:] = [m, 1.0 - m]
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
        intercross_emission(table, e)
        if is_x:  # males: a heterozygous call carries no information
            table[[_AA, _NOT_BB], 3:] = [[1 - e, e]]
            table[[_BB, _NOT_AA], 3:] = [[e, 1 - e]]
        return np.broadcast_to(table, (n_markers, *table.shape)).copy()

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        chain = haplotype_chain(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        out = np.zeros((chain.shape[0], self.n_genotypes(is_x), self.n_genotypes(is_x)))
        if is_x and not is_female:
            out[:, 3:, 3:] = chain
        else:
            out[:, :3, :3] = _unphased(chain)
        return out

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        m = np.array([[1, 0], [0.5, 0.5], [0, 1]], dtype=float)
        return np.vstack([m, np.eye(2)]) if is_x else m

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        ok = cross_info.ndim == 2 and cross_info.shape[1] in (1, 2)
        ok = ok and bool(np.all(cross_info[:, 0] >= 2))
        if ok and cross_info.shape[1] == 2:
            ok = bool(np.all(np.isin(cross_info[:, 1], (0, 1, 2))))
        if not ok:
            raise InputError(
                "AIL cross_info must be the generation (>= 2) and optionally the direction of "
                "the founding cross (0 = A x B, 1 = B x A, 2 = balanced); fix the cross_info file"
            )
