"""Cross types for the genotype HMM: initial, emission and transition probabilities.

One module per cross type, each defining a :class:`CrossModel` subclass. The model works on
probabilities (not logs) over the chromosome's full genotype list (R/qtl2's order), with zeros
for genotypes an individual cannot have (e.g. the other sex's X genotypes).

Observed genotype codes are ``0`` (missing), ``1`` (AA), ``2`` (AB), ``3`` (BB), ``4`` (not BB)
and ``5`` (not AA); emission tables therefore have :data:`N_OBS_CODES` rows per marker.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

import numpy as np

from translocus.core.errors import InputError

__all__ = ["N_OBS_CODES", "CrossModel", "get_cross_model", "registered_cross_types"]

#: Observed genotype codes 0..5 (missing, AA, AB, BB, not-BB, not-AA).
N_OBS_CODES = 6


class CrossModel(ABC):
    """Base class: the probability model of one cross type.

    Subclasses set :attr:`name`, :attr:`n_alleles` and override the methods below.
    ``cross_info`` is the individual's row of :attr:`Cross.cross_info` as an integer array
    (possibly empty); ``is_female`` is its sex.
    """

    name: str = ""
    n_alleles: int = 2
    #: Rows of ``founder_geno`` the model reads (more than ``n_alleles`` when a parent strain
    #: is not one of the alleles, as the father of ``dof1``/``hsf1``).
    n_founders: int | None = None
    needs_founder_geno: bool = False
    #: Whether the X chromosome has its own model (otherwise it is treated as an autosome).
    handles_x: bool = True

    # -- genotype lists --------------------------------------------------------------------
    def n_genotypes(self, is_x: bool) -> int:
        return 2

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        return [a + a for a in alleles[: self.n_alleles]]

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        """Indices of the genotypes this individual can have, in the chromosome's list."""
        return np.arange(self.n_genotypes(is_x))

    # -- probabilities ---------------------------------------------------------------------
    @abstractmethod
    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        """Prior probability of each genotype at one position (zeros where impossible)."""

    @abstractmethod
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
        """``Pr(observed code | genotype)``, array ``[marker, N_OBS_CODES, n_genotypes]``."""

    @abstractmethod
    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        """``Pr(right genotype | left genotype)``, array ``[interval, left, right]``."""

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        """``[n_genotypes, n_alleles]`` dosage weights: genotype probs @ matrix = allele probs."""
        n = self.n_genotypes(is_x)
        return np.eye(n, self.n_alleles)

    def allele_names(self, alleles: tuple[str, ...]) -> list[str]:
        return list(alleles[: self.n_alleles])

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        """Raise :class:`InputError` when ``cross_info`` (``[individual, column]``) is unusable."""
        return None


def _default_emission(
    n_markers: int, n_geno: int, error_prob: float, valid_codes: tuple[int, ...]
) -> np.ndarray:
    """Genotype ``g`` (0-based) is observed as code ``g + 1``; invalid codes carry no data."""
    e = np.ones((n_markers, N_OBS_CODES, n_geno))
    for code in valid_codes:
        for g in range(n_geno):
            e[:, code, g] = 1.0 - error_prob if code == g + 1 else error_prob
    return e


#: Cross types whose X chromosome model depends on the individual's sex (males hemizygous).
_SEX_DEPENDENT_X = ("bc", "f2", "do", "hs", "ail", "ail3", "dof1", "hsf1",
                    "f2pk", "ailpk", "ail3pk", "dopk", "hspk")  # fmt: skip


def x_depends_on_sex(crosstype: str) -> bool:
    """Whether the cross type's X chromosome model depends on the individual's sex.

    >>> x_depends_on_sex("do"), x_depends_on_sex("risib8"), x_depends_on_sex("genail4")
    (True, False, True)
    """
    return crosstype in _SEX_DEPENDENT_X or crosstype.startswith("genail")


def registered_cross_types() -> dict[str, type[CrossModel]]:
    """The cross types translocus knows, by their R/qtl2 name (``do``, ``f2``, ...).

    The general ``genril<N>`` and ``genail<N>`` types (``N`` founders) are not listed here;
    :func:`get_cross_model` builds them from the name. ``ail3`` reproduces R/qtl2's step,
    whose rows from a homozygote sum to ``1 - R + 3R²/4`` (see :class:`~.ail3.AIL3`).
    """
    from translocus.genetics.crosstypes.ail import AdvancedIntercross
    from translocus.genetics.crosstypes.ail3 import AIL3
    from translocus.genetics.crosstypes.bc import BackCross
    from translocus.genetics.crosstypes.dh import DoubledHaploid, Haploid
    from translocus.genetics.crosstypes.do import DiversityOutbred
    from translocus.genetics.crosstypes.f2 import Intercross
    from translocus.genetics.crosstypes.multiway import (
        DH6,
        Magic19,
        RISelf4,
        RISelf8,
        RISelf16,
        RISib4,
    )
    from translocus.genetics.crosstypes.outbred import HeterogeneousStock
    from translocus.genetics.crosstypes.outcross import DOF1, HSF1
    from translocus.genetics.crosstypes.phase_known import AIL3PK, AILPK, DOPK, F2PK, HSPK
    from translocus.genetics.crosstypes.riself import RISelf
    from translocus.genetics.crosstypes.risib import RISib
    from translocus.genetics.crosstypes.risib8 import RISib8

    return {
        "do": DiversityOutbred,
        "hs": HeterogeneousStock,
        "dof1": DOF1,
        "hsf1": HSF1,
        "risib": RISib,
        "risib4": RISib4,
        "risib8": RISib8,
        "riself": RISelf,
        "riself4": RISelf4,
        "riself8": RISelf8,
        "riself16": RISelf16,
        "magic19": Magic19,
        "dh": DoubledHaploid,
        "dh6": DH6,
        "haploid": Haploid,
        "f2": Intercross,
        "ail": AdvancedIntercross,
        "ail3": AIL3,
        "bc": BackCross,
        "f2pk": F2PK,
        "ailpk": AILPK,
        "ail3pk": AIL3PK,
        "dopk": DOPK,
        "hspk": HSPK,
    }


def _general_cross_model(crosstype: str) -> CrossModel | None:
    """``genril<N>`` / ``genail<N>`` with ``N`` founders, else ``None``."""
    match = re.fullmatch(r"(genril|genail)(\d+)", crosstype)
    if match is None:
        return None
    from translocus.genetics.crosstypes.multiway import GeneralRIL
    from translocus.genetics.crosstypes.outbred import GeneralAIL

    n_founders = int(match.group(2))
    if match.group(1) == "genril":
        return GeneralRIL(n_founders)
    return GeneralAIL(n_founders)


def get_cross_model(crosstype: str) -> CrossModel:
    """The model of ``crosstype``; :class:`InputError` if it is not supported.

    >>> get_cross_model("f2").n_genotypes(False)
    3
    >>> get_cross_model("genril5").n_alleles
    5
    """
    models = registered_cross_types()
    if crosstype in models:
        return models[crosstype]()
    general = _general_cross_model(crosstype)
    if general is not None:
        return general
    raise InputError(
        f"crosstype {crosstype!r} is not supported by calc_genoprob; "
        f"use one of {', '.join(sorted(models))}, genril<N> or genail<N>"
    )
