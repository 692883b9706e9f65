"""Multi-parent inbred lines whose genotypes are the founders themselves.

R/qtl2 cross types ``riself4``, ``riself8``, ``riself16`` (funnel RIL by selfing),
``risib4`` (four-way RIL by sib mating), ``magic19`` (Arabidopsis MAGIC), ``dh6`` (six-way
doubled haploids) and ``genril<N>`` (general ``N``-way RIL). Genotype ``g`` is "homozygous
for founder ``g``"; a call is compared with the founder's SNP allele (``founder_geno`` codes
1 or 3): equal gives ``1 - error_prob``, any other non-missing call ``error_prob``, and a
founder with an unknown allele carries no information.

Transition probabilities (conditional on the left genotype):

* ``riself4``: ``(1 - r) / (1 + 2r)`` to stay, ``r / (1 + 2r)`` to each other founder
  (Broman 2005, *Genetics* 169:1133).
* ``riself8``: stay ``(1 - r)^2 / (1 + 2r)``; to the founder crossed with it first
  ``r (1 - r) / (1 + 2r)``; to the others ``r / (2 (1 + 2r))`` (Teuscher & Broman 2007,
  *Genetics* 175:1267). ``riself16`` adds one level: stay ``(1 - r)^3 / (1 + 2r)``, first-cross
  partner ``r (1 - r)^2 / (1 + 2r)``, same four-way group ``r (1 - r) / (2 (1 + 2r))``, others
  ``r / (4 (1 + 2r))``. ``cross_info`` is the funnel: the founder numbers (1-based) in the
  order of the crosses.
* ``risib4``: autosomes stay ``1 / (1 + 6r)``, move ``2r / (1 + 6r)``; on the X only the first
  three founders of the funnel (``cross_info``) occur, each with prior 1/3, stay
  ``1 / (1 + 4r)``, move ``2r / (1 + 4r)``.
* ``magic19``: 19 founders, stay ``(19 - 52r + 54r^2 - 18r^3) / (19 (1 + 2r))``, move
  ``r (90 - 54r + 18r^2) / (19 * 18 (1 + 2r))`` (Kover et al. 2009, *PLoS Genet* 5:e1000551).
* ``dh6``: with ``k`` = ``cross_info`` generations, stay
  ``p = (1 + (5 - 6r)(1 - r)^(k - 2)) / 6`` and move ``(1 - p) / 5``.
* ``genril<N>``: ``cross_info`` is the number of generations ``k`` then ``N`` relative founder
  contributions ``a_g``; prior ``a_g / sum(a)``, stay ``(a_g + (1 - r)^k (sum(a) - a_g)) /
  sum(a)``, move to ``h`` ``a_h (1 - (1 - r)^k) / sum(a)``; on the X ``k`` is replaced by
  ``2k/3``.

Lines by selfing, ``magic19`` and ``dh6`` have no sex chromosomes: a chromosome named as the X
is modelled as an autosome, as R/qtl2 does.
"""

from __future__ import annotations

import string

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel

__all__ = [
    "DH6",
    "GeneralRIL",
    "Magic19",
    "RISelf4",
    "RISelf8",
    "RISelf16",
    "RISib4",
    "allele_labels",
    "founder_emission",
]


def allele_labels(alleles: tuple[str, ...], n: int) -> list[str]:
    """``n`` allele names: those given, then capital letters not yet used (R/qtl2's rule).

    >>> allele_labels(("A", "C"), 4)
    ['A', 'C', 'B', 'D']
    """
    given = list(alleles[:n])
    spare = [c for c in string.ascii_uppercase if c not in given]
    return given + spare[: n - len(given)]


def founder_emission(
    founder_geno: np.ndarray | None,
    *,
    n_founders: int,
    n_markers: int,
    error_prob: float,
    name: str,
) -> np.ndarray:
    """``[marker, N_OBS_CODES, founder]`` probabilities of a call given an inbred founder."""
    if founder_geno is None:
        raise InputError(f"a {name} cross needs founder genotypes (founder_geno); add them")
    fg = np.asarray(founder_geno, dtype=np.int64)
    if fg.shape[0] != n_founders:
        raise InputError(
            f"founder genotypes have {fg.shape[0]} founders, a {name} cross has {n_founders}; "
            "fix the founder genotype file"
        )
    # one row of call probabilities per founder genotype code: a founder typed 1 or 3 gives
    # its own code with 1 - error_prob and every other call with error_prob; a missing call
    # (code 0), and any call at an untyped founder, is uninformative
    by_code = np.ones((N_OBS_CODES, N_OBS_CODES))
    for f in (1, 3):
        by_code[f, 1:] = error_prob
        by_code[f, f] = 1.0 - error_prob
    typed = np.where((fg == 1) | (fg == 3), fg, 0)
    return np.ascontiguousarray(by_code[typed.T].transpose(0, 2, 1))


def _funnel_position(cross_info: np.ndarray) -> np.ndarray:
    """Position in the funnel (0-based) of each founder (0-based)."""
    order = np.asarray(cross_info, dtype=np.int64) - 1
    pos = np.empty(order.size, dtype=np.int64)
    pos[order] = np.arange(order.size)
    return pos


def _check_funnels(cross_info: np.ndarray, n: int, name: str) -> None:
    ok = cross_info.ndim == 2 and cross_info.shape[1] == n
    if ok:
        ok = bool(np.all(np.sort(cross_info, axis=1) == np.arange(1, n + 1)))
    if not ok:
        raise InputError(
            f"{name} cross_info must have {n} columns per line, a permutation of 1-{n} giving "
            "the funnel order; fix the cross_info file"
        )


class _FounderLines(CrossModel):
    """Inbred lines: one genotype per founder, emission from the founder genotypes."""

    needs_founder_geno = True
    handles_x = False

    def n_genotypes(self, is_x: bool) -> int:
        return self.n_alleles

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        return [a + a for a in allele_labels(alleles, self.n_alleles)]

    def allele_names(self, alleles: tuple[str, ...]) -> list[str]:
        return allele_labels(alleles, self.n_alleles)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        return np.full(self.n_alleles, 1.0 / self.n_alleles)

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
            founder_geno,
            n_founders=self.n_alleles,
            n_markers=n_markers,
            error_prob=error_prob,
            name=self.name,
        )

    def _stay_move(self, stay: np.ndarray, move: np.ndarray) -> np.ndarray:
        eye = np.eye(self.n_alleles, dtype=bool)
        return np.where(eye, stay[:, None, None], move[:, None, None])


class RISelf4(_FounderLines):
    """Four-way RIL by selfing; ``cross_info`` = 4 columns with the funnel order."""

    name = "riself4"
    n_alleles = 4

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)
        d = 1.0 + 2.0 * r
        return self._stay_move((1.0 - r) / d, r / d)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        _check_funnels(cross_info, self.n_alleles, self.name)


class RISelf8(RISelf4):
    """Eight-way RIL by selfing; ``cross_info`` = 8 columns with the funnel order."""

    name = "riself8"
    n_alleles = 8

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        d = 1.0 + 2.0 * r
        pos = _funnel_position(cross_info)
        bits = int(np.log2(self.n_alleles))
        # meet[i, j]: the funnel generation at which founders i and j are first crossed
        meet = np.zeros((self.n_alleles, self.n_alleles), dtype=np.int64)
        for level in range(bits, 0, -1):
            meet[(pos[:, None] >> level) == (pos[None, :] >> level)] = level
        inbreeding = bits - 1  # generations of crossing before the last one
        s = 1.0 - r
        out = np.empty((r.shape[0], self.n_alleles, self.n_alleles))
        out[:] = r / 2.0 ** (inbreeding - 1) / d
        for level in range(1, inbreeding):
            value = r * s ** (inbreeding - level) / 2.0 ** (level - 1) / d
            out[:, meet == level] = value[:, :, 0]
        out[:, np.eye(self.n_alleles, dtype=bool)] = (s**inbreeding / d)[:, :, 0]
        return out


class RISelf16(RISelf8):
    """Sixteen-way RIL by selfing; ``cross_info`` = 16 columns with the funnel order."""

    name = "riself16"
    n_alleles = 16


class RISib4(RISelf4):
    """Four-way RIL by sib mating; ``cross_info`` = 4 columns with the funnel order."""

    name = "risib4"
    n_alleles = 4
    handles_x = True

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.arange(4)
        return np.sort(np.asarray(cross_info, dtype=np.int64)[:3] - 1)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if not is_x:
            return np.full(4, 0.25)
        p = np.zeros(4)
        p[self.possible(is_x=True, is_female=is_female, cross_info=cross_info)] = 1.0 / 3.0
        return p

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)
        d = 1.0 + (4.0 if is_x else 6.0) * r
        out = self._stay_move(1.0 / d, 2.0 * r / d)
        if is_x:
            poss = self.possible(is_x=True, is_female=is_female, cross_info=cross_info)
            mask = np.zeros((4, 4), dtype=bool)
            mask[poss[:, None], poss[None, :]] = True
            out = np.where(mask, out, 0.0)
        return out


class Magic19(_FounderLines):
    """The 19-way Arabidopsis MAGIC lines (full diallel, 3 generations of intermating, selfing)."""

    name = "magic19"
    n_alleles = 19

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)
        d = 19.0 * (1.0 + 2.0 * r)
        stay = (19.0 - 52.0 * r + 54.0 * r * r - 18.0 * r**3) / d
        move = r * (90.0 - 54.0 * r + 18.0 * r * r) / d / 18.0
        return self._stay_move(stay, move)


class DH6(_FounderLines):
    """Six-way doubled haploids; ``cross_info`` = the number of generations (>= 2)."""

    name = "dh6"
    n_alleles = 6

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)
        k = float(cross_info[0])
        stay = (1.0 + (5.0 - 6.0 * r) * np.power(1.0 - r, k - 2.0)) / 6.0
        return self._stay_move(stay, (1.0 - stay) / 5.0)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if cross_info.ndim != 2 or cross_info.shape[1] != 1 or np.any(cross_info[:, 0] < 2):
            raise InputError(
                "dh6 cross_info must be one column, the number of generations (>= 2); "
                "fix the cross_info file"
            )


class GeneralRIL(_FounderLines):
    """General ``N``-way RIL (``genril<N>``); ``cross_info`` = generations, then ``N`` weights."""

    handles_x = True

    def __init__(self, n_founders: int) -> None:
        if n_founders < 2:
            raise InputError(f"genril{n_founders}: a general RIL needs at least 2 founders")
        self.n_alleles = int(n_founders)
        self.name = f"genril{n_founders}"

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        alpha = np.asarray(cross_info[1 : self.n_alleles + 1], dtype=np.float64)
        return alpha / alpha.sum()

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        k = float(cross_info[0]) * (2.0 / 3.0 if is_x else 1.0)
        alpha = np.asarray(cross_info[1 : self.n_alleles + 1], dtype=np.float64)
        total = alpha.sum()
        keep = np.power(1.0 - r, k)
        move = alpha[None, None, :] * (1.0 - keep) / total
        stay = (alpha[None, None, :] + keep * (total - alpha[None, None, :])) / total
        eye = np.eye(self.n_alleles, dtype=bool)[None]
        return np.where(eye, stay, move)

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        check_generation_weights(self.name, self.n_alleles, cross_info, min_generations=2)


def check_generation_weights(
    name: str, n_founders: int, cross_info: np.ndarray, *, min_generations: int
) -> None:
    """Refuse ``cross_info`` that is not a generation count and ``n_founders`` weights per row."""
    ok = cross_info.ndim == 2 and cross_info.shape[1] == n_founders + 1
    if ok:
        ok = bool(
            np.all(cross_info[:, 0] >= min_generations)
            and np.all(cross_info[:, 1:] >= 0)
            and np.all(cross_info[:, 1:].sum(axis=1) > 0)
        )
    if not ok:
        raise InputError(
            f"{name} cross_info must have {n_founders + 1} columns per line: the number of "
            f"generations (>= {min_generations}), then {n_founders} non-negative founder "
            "weights, not all zero; fix the cross_info file"
        )
