"""Three-way advanced intercross lines (``ail3``): founders A, B, C, six unphased genotypes.

All F1 hybrids of the three strains found a colony that is then randomly mated;
``cross_info`` is the generation ``n`` (one column, ``n >= 2``). Genotypes are
``AA, AB, BB, AC, BC, CC`` and, on the X, the hemizygous ``AY, BY, CY`` of males; calls are
SNP calls compared with the founders' genotypes, as for :mod:`~.outbred` ``genail3``.

Each haplotype is recombinant between two loci with probability ``R = 1 - 3 p_AA``, where
``p_AA`` is the frequency of the AA two-locus haplotype at generation ``n``: on an autosome
``p_AA = (1 - (3r - 2)(1 - r)^(n - 2)) / 9``; on the X the two-sex recursion of Broman (2012,
*Genetics* 190:403, appendix) solved in closed form (:func:`ail3_recombinant`). A recombinant
haplotype moves to each other founder with probability ``R / 2``.

**Where R/qtl2 0.43-5 is not a Markov chain.** R/qtl2's step for the autosomes and the
female X gives, from a homozygote ``AA``,

==============  ================  ===========================
to              R/qtl2            two independent haplotypes
==============  ================  ===========================
``AA``          ``(1 - R)^2``     ``(1 - R)^2``
``AB``, ``AC``  ``(1 - R) R/2``   ``(1 - R) R``
``BB``, ``CC``  ``(R/2)^2``       ``(R/2)^2``
``BC``          ``(R/2)^2``       ``2 (R/2)^2``
==============  ================  ===========================

so a homozygote's row sums to ``1 - R + 3R^2/4`` instead of 1 (the two phases of the
heterozygote a homozygote moves to are counted once). The rows from a heterozygote are
right and sum to 1; the male X chain is right too. translocus reproduces R/qtl2's step,
because its genotype probabilities are the reference: the HMM normalises every forward and
backward vector, so the rows' deficit acts as a down-weighting of leaving a homozygote, not
as lost probability. ``tests/genetics/test_crosstypes_models.py`` checks the row sums
(``test_ail3_rows_sum_as_in_r_qtl2``), so the choice stays visible. The phase-known
``ail3pk`` (:mod:`~.phase_known`) has no such deficit.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes.outbred import GeneralAIL, founder_pairs

__all__ = ["AIL3", "ail3_recombinant", "ail3_transition"]

N_FOUNDERS = 3
N_PAIRS = 6
#: R/qtl2 keeps the X recombination fraction at 1e-8 or more (its closed form is 0/0 at 0).
X_MIN_RF = 1e-8


def _generation(cross_info: np.ndarray) -> int:
    if cross_info.size < 1:
        raise InputError("ail3 cross needs cross_info column 'ngen' (generation); add it")
    return int(cross_info[0])


def ail3_recombinant(rf: np.ndarray, *, ngen: int, chromosome: str = "autosome") -> np.ndarray:
    """Probability ``R`` that a 3-way AIL haplotype is recombinant between two loci.

    Parameters
    ----------
    rf
        Recombination fractions of the intervals.
    ngen
        Generation of the colony (``>= 2``).
    chromosome
        ``"autosome"``, ``"female_x"`` or ``"male_x"``.

    >>> r = ail3_recombinant(np.array([0.1, 0.5]), ngen=2)
    >>> [round(float(x), 6) for x in r]  # the F2: one meiosis of the F1 hybrids
    [0.1, 0.5]
    """
    r = np.asarray(rf, dtype=np.float64)
    k = float(ngen - 2)
    if chromosome == "autosome":
        p_aa = (1.0 - (3.0 * r - 2.0) * np.power(1.0 - r, k)) / 9.0
        return 1.0 - 3.0 * p_aa
    if chromosome not in ("female_x", "male_x"):
        raise ValueError(f"chromosome must be autosome, female_x or male_x, not {chromosome!r}")
    r = np.maximum(r, X_MIN_RF)
    z = np.sqrt((1.0 - r) * (9.0 - r))
    down = np.power((1.0 - r - z) / 4.0, k)
    up = np.power((1.0 - r + z) / 4.0, k)
    if chromosome == "female_x":
        c_down, c_up = -1.0 / z, 1.0 / z
    else:
        c_down = (1.0 - r + z) / (2.0 * z)
        c_up = (-1.0 + r + z) / (2.0 * z)
    p_aa = (
        (1.0 - r) / 3.0 * (c_down * down + c_up * up)
        + (2.0 - r) / 6.0 * ((1.0 - r - z) / 2.0 * c_down * down + (1.0 - r + z) / 2.0 * c_up * up)
        + (r * r + r * (z - 5.0)) / (9.0 * (3.0 + r + z)) * c_down * down
        + (r * r - r * (z + 5.0)) / (9.0 * (3.0 + r - z)) * c_up * up
        + 1.0 / 9.0
    )
    return 1.0 - 3.0 * p_aa


def ail3_transition(rec: np.ndarray) -> np.ndarray:
    """R/qtl2's step between the six unphased genotypes, ``[interval, left, right]``.

    ``rec`` is the haplotype recombination probability ``R`` of each interval; the rows from
    homozygotes sum to ``1 - R + 3R^2/4`` (see the module docstring).
    """
    r = np.asarray(rec, dtype=np.float64)[:, None, None]
    ab = founder_pairs(N_FOUNDERS)
    a, b = ab[:, 0], ab[:, 1]
    hom = a == b
    shared = (
        (a[:, None] == a[None, :]).astype(int)
        + (a[:, None] == b[None, :])
        + (b[:, None] == a[None, :])
        + (b[:, None] == b[None, :])
    )
    both_hom = hom[:, None] & hom[None, :]
    both_het = ~hom[:, None] & ~hom[None, :]
    same = ab[:, None, :] == ab[None, :, :]
    identical = same.all(axis=2)[None]
    keep, half = 1.0 - r, r / 2.0
    one_shared = (shared > 0)[None]
    # a homozygote against a heterozygote, or two heterozygotes sharing one allele
    out = np.where(one_shared, keep * half, half * half)
    out = np.where(both_hom[None], np.where(identical, keep * keep, half * half), out)
    het = np.where(identical, keep * keep + half * half, half * (1.0 - half))
    return np.where(both_het[None], het, out)


class AIL3(GeneralAIL):
    """Three-way advanced intercross (R/qtl2 ``ail3``); ``cross_info`` is the generation."""

    def __init__(self) -> None:
        super().__init__(N_FOUNDERS)
        self.name = "ail3"

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        p = np.zeros(self.n_genotypes(is_x))
        if self._hemizygous(is_x, is_female):
            p[N_PAIRS:] = 1.0 / N_FOUNDERS
            return p
        ab = founder_pairs(N_FOUNDERS)
        p[:N_PAIRS] = np.where(ab[:, 0] == ab[:, 1], 1.0, 2.0) / 9.0
        return p

    def recombinant(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        """Per-interval haplotype recombination probability ``R`` for this individual."""
        kind = "autosome" if not is_x else ("female_x" if is_female else "male_x")
        return ail3_recombinant(rf, ngen=_generation(cross_info), chromosome=kind)

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        rec = self.recombinant(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        n = self.n_genotypes(is_x)
        out = np.zeros((rec.size, n, n))
        if self._hemizygous(is_x, is_female):
            eye = np.eye(N_FOUNDERS, dtype=bool)[None]
            out[:, N_PAIRS:, N_PAIRS:] = np.where(
                eye, (1.0 - rec)[:, None, None], (rec / 2.0)[:, None, None]
            )
        else:
            out[:, :N_PAIRS, :N_PAIRS] = ail3_transition(rec)
        return out

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if cross_info.ndim != 2 or cross_info.shape[1] != 1:
            raise InputError(
                "ail3 cross_info must be one column, the number of generations (>= 2); "
                "fix the cross_info file"
            )
        bad = np.flatnonzero(cross_info[:, 0] < 2)
        if bad.size:
            raise InputError(
                f"ail3 cross_info: the number of generations must be >= 2 (individual rows "
                f"{bad[:5].tolist()}); fix the cross_info file"
            )
