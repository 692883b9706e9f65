"""Doubled haploids (``dh``) and haploids (``haploid``): two genotypes, no map expansion.

Each line carries the product of one meiosis of an A x B hybrid (doubled, for ``dh``), so the
founder changes between two loci with probability ``r``. As in R/qtl2 the X chromosome gets no
model of its own (it is treated as an autosome), and the observed codes are ``1`` (A) and
``2`` (B); other codes carry no information.
"""

from __future__ import annotations

import numpy as np

from translocus.genetics.crosstypes import CrossModel, _default_emission

__all__ = ["DoubledHaploid", "Haploid"]


class DoubledHaploid(CrossModel):
    """Doubled haploid lines: genotypes AA and BB."""

    name = "dh"
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
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        return np.where(np.eye(2, dtype=bool), 1.0 - r, r)


class Haploid(DoubledHaploid):
    """Haploids (e.g. yeast segregants): genotypes A and B."""

    name = "haploid"

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        return list(alleles[:2])
