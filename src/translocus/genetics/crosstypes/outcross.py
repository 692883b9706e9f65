"""F1 of an outbred mother and an inbred father: ``dof1`` (DO mother) and ``hsf1`` (HS).

Only the haplotype from the outbred mother varies, so the genotypes are its eight founders
(named by the founder, ``A`` ... ``H``); the founder genotypes hold a ninth row, the inbred
father's strain, which is the other allele of every autosome and of a daughter's X. A son's
X is his mother's alone. The haplotype moves on the Diversity Outbred (or heterogeneous
stock) chain of the mother's generation ``ngen`` (``cross_info``): it stays with probability
``1 - R`` and moves to each other founder with ``R / 7``.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel
from translocus.genetics.crosstypes.do import recombinant_probability
from translocus.genetics.crosstypes.outbred import hs_recombinant_probability

__all__ = ["DOF1", "HSF1"]

N_FOUNDERS = 8


class DOF1(CrossModel):
    """Diversity Outbred x inbred strain F1 (R/qtl2 ``dof1``); ``cross_info`` is ``ngen``."""

    name = "dof1"
    n_alleles = N_FOUNDERS
    n_founders = N_FOUNDERS + 1
    # the founder genotypes have a ninth row (the father's strain): checked in emission()
    needs_founder_geno = False

    def n_genotypes(self, is_x: bool) -> int:
        return N_FOUNDERS

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        return list(alleles[:N_FOUNDERS])

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        return np.full(N_FOUNDERS, 1.0 / N_FOUNDERS)

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
        if founder_geno is None:
            raise InputError(
                f"a {self.name} cross needs founder genotypes (founder_geno); add them"
            )
        fg = np.asarray(founder_geno, dtype=np.int64).copy()
        if fg.shape[0] != N_FOUNDERS + 1:
            raise InputError(
                f"founder genotypes have {fg.shape[0]} founders, a {self.name} cross has 9 "
                "(the eight founders, then the father's strain); fix the founder genotype file"
            )
        fg[(fg != 1) & (fg != 3)] = 0  # founder hets and anything else carry no information
        e = error_prob
        # rows: expected call AA / AB / BB, then "one founder allele known" A / B
        table = np.ones((6, N_OBS_CODES))
        table[1, 1:] = [1 - e, e / 2, e / 2, 1 - e / 2, e]
        table[2, 1:] = [e / 2, 1 - e, e / 2, 1 - e / 2, 1 - e / 2]
        table[3, 1:] = [e / 2, e / 2, 1 - e, e, 1 - e / 2]
        table[4, 1:] = [1 - e, 1.0, e, 1 - e, e]
        table[5, 1:] = [e, 1.0, 1 - e, e, 1 - e]
        mother = fg[:N_FOUNDERS]  # [founder, marker]
        father = mother if is_x and not is_female else np.broadcast_to(fg[N_FOUNDERS], mother.shape)
        case = np.where((mother > 0) & (father > 0), (mother + father) // 2, 0)
        one = (mother > 0) ^ (father > 0)
        case = np.where(one, np.where(np.maximum(mother, father) == 1, 4, 5), case)
        return table[case.T].transpose(0, 2, 1)

    def recombinant(self, rf: np.ndarray, *, is_x: bool, is_female: bool, ngen: int) -> np.ndarray:
        kind = "autosome" if not is_x else ("female_x" if is_female else "male_x")
        return recombinant_probability(rf, ngen=ngen, chromosome=kind)

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        if cross_info.size < 1:
            raise InputError(f"{self.name} cross needs cross_info column 'ngen'; add it")
        rec = self.recombinant(
            np.asarray(rf, dtype=np.float64), is_x=is_x, is_female=is_female,
            ngen=int(cross_info[0]),
        )  # fmt: skip
        eye = np.eye(N_FOUNDERS, dtype=bool)
        return np.where(eye, (1.0 - rec)[:, None, None], (rec / 7.0)[:, None, None])

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if cross_info.ndim != 2 or cross_info.shape[1] < 1 or np.any(cross_info[:, 0] < 1):
            raise InputError(
                f"{self.name} cross_info must hold the generation ngen (>= 1) of the outbred "
                "mother; fix the cross_info file"
            )


class HSF1(DOF1):
    """Heterogeneous stock x inbred strain F1 (R/qtl2 ``hsf1``); ``cross_info`` is ``ngen``."""

    name = "hsf1"

    def recombinant(self, rf: np.ndarray, *, is_x: bool, is_female: bool, ngen: int) -> np.ndarray:
        kind = "autosome" if not is_x else ("female_x" if is_female else "male_x")
        return hs_recombinant_probability(rf, ngen=ngen, chromosome=kind)
