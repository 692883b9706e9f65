"""Outbred multi-founder populations: heterogeneous stock (``hs``) and general AIL (``genail<N>``).

Genotypes are unphased founder pairs in R/qtl2's order (``AA, AB, BB, AC, BC, CC, ...``:
alleles ``a <= b`` have index ``b (b + 1) / 2 + a``); on the X the hemizygous male genotypes
``AY, BY, ...`` follow. A call is compared with the two founders' SNP alleles (founder
heterozygotes count as unknown), as for Diversity Outbred mice.

* ``genail<N>``: ``cross_info`` is the number of generations ``k`` of random mating, then
  ``N`` relative founder contributions ``a_g``. Each haplotype moves on its own chain, from
  founder ``g`` to ``h`` with probability ``(a_h + (1 - r)^k (sum(a) - a_h)) / sum(a)`` when
  ``g = h`` and ``a_h (1 - (1 - r)^k) / sum(a)`` otherwise (``2k/3`` generations on the X);
  the prior is Hardy-Weinberg in the ``a_g / sum(a)``.
* ``hs``: heterogeneous stock, the Diversity Outbred model whose colony founders are the
  F1s of the eight strains (one pre-CC generation): the haplotype at generation 1 is
  recombinant with probability ``1 - (1 - r)^3`` on an autosome; ``cross_info`` is ``ngen``.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel
from translocus.genetics.crosstypes.do import DiversityOutbred
from translocus.genetics.crosstypes.multiway import allele_labels, check_generation_weights

__all__ = ["GeneralAIL", "HeterogeneousStock", "founder_pairs", "outbred_emission"]


def founder_pairs(n_founders: int) -> np.ndarray:
    """``[n (n + 1) / 2, 2]`` 0-based founder pair ``(a, b)``, ``a <= b``, in R/qtl2's order.

    >>> founder_pairs(3).tolist()
    [[0, 0], [0, 1], [1, 1], [0, 2], [1, 2], [2, 2]]
    """
    return np.array([(a, b) for b in range(n_founders) for a in range(b + 1)], dtype=np.int64)


def outbred_emission(
    founder_geno: np.ndarray | None,
    *,
    n_founders: int,
    n_markers: int,
    error_prob: float,
    hemizygous: bool,
    name: str,
) -> np.ndarray:
    """``[marker, N_OBS_CODES, genotype]`` call probabilities given founder genotypes.

    ``hemizygous``: the genotypes are the ``n_founders`` single alleles of a male X.
    """
    if founder_geno is None:
        raise InputError(f"a {name} cross needs founder genotypes (founder_geno); add them")
    fg = np.asarray(founder_geno, dtype=np.int64).copy()
    if fg.shape[0] != n_founders:
        raise InputError(
            f"founder genotypes have {fg.shape[0]} founders, a {name} cross has {n_founders}; "
            "fix the founder genotype file"
        )
    fg[(fg != 1) & (fg != 3)] = 0  # founder hets and anything else carry no information
    e = error_prob
    if hemizygous:
        out = np.ones((n_markers, N_OBS_CODES, n_founders))
        for allele, ok, bad in ((1, (1, 4), (3, 5)), (3, (3, 5), (1, 4))):
            is_allele = (fg == allele).T  # [marker, founder]
            for c in ok:
                out[:, c, :][is_allele] = 1.0 - e
            for c in bad:
                out[:, c, :][is_allele] = e
        return out
    # rows: expected call AA / AB / BB, then "one founder allele known" A / B
    table = np.ones((6, N_OBS_CODES))
    table[1, 1:] = [1 - e, e / 2, e / 2, 1 - e / 2, e]
    table[2, 1:] = [e / 2, 1 - e, e / 2, 1 - e / 2, 1 - e / 2]
    table[3, 1:] = [e / 2, e / 2, 1 - e, e, 1 - e / 2]
    table[4, 1:] = [1 - e, 1.0, e, 1 - e, e]
    table[5, 1:] = [e, 1.0, 1 - e, e, 1 - e]
    ab = founder_pairs(n_founders)
    f1 = fg[ab[:, 0]]  # [genotype, marker]
    f2 = fg[ab[:, 1]]
    case = np.where((f1 > 0) & (f2 > 0), (f1 + f2) // 2, 0)
    one = (f1 > 0) ^ (f2 > 0)
    case = np.where(one, np.where(np.maximum(f1, f2) == 1, 4, 5), case)
    return table[case.T].transpose(0, 2, 1)


def _pair_transition(hap: np.ndarray, n_founders: int) -> np.ndarray:
    """Unphased genotype chain of two independent haplotype chains ``hap [interval, n, n]``."""
    ab = founder_pairs(n_founders)
    a, b = ab[:, 0], ab[:, 1]
    same = hap[:, a[:, None], a[None, :]] * hap[:, b[:, None], b[None, :]]
    swap = hap[:, a[:, None], b[None, :]] * hap[:, b[:, None], a[None, :]]
    return same + np.where((a != b)[None, None, :], swap, 0.0)


class GeneralAIL(CrossModel):
    """General ``N``-way advanced intercross (``genail<N>``)."""

    needs_founder_geno = True

    def __init__(self, n_founders: int) -> None:
        if n_founders < 2:
            raise InputError(f"genail{n_founders}: a general AIL needs at least 2 founders")
        self.n_alleles = int(n_founders)
        self.name = f"genail{n_founders}"
        self.n_pairs = self.n_alleles * (self.n_alleles + 1) // 2

    def n_genotypes(self, is_x: bool) -> int:
        return self.n_pairs + (self.n_alleles if is_x else 0)

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        labels = allele_labels(alleles, self.n_alleles)
        names = [labels[a] + labels[b] for a, b in founder_pairs(self.n_alleles)]
        return names + [a + "Y" for a in labels] if is_x else names

    def allele_names(self, alleles: tuple[str, ...]) -> list[str]:
        return allele_labels(alleles, self.n_alleles)

    def _hemizygous(self, is_x: bool, is_female: bool) -> bool:
        return is_x and not is_female

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if self._hemizygous(is_x, is_female):
            return np.arange(self.n_pairs, self.n_pairs + self.n_alleles)
        return np.arange(self.n_pairs)

    def _weights(self, cross_info: np.ndarray) -> np.ndarray:
        alpha = np.asarray(cross_info[1 : self.n_alleles + 1], dtype=np.float64)
        return alpha / alpha.sum()

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        p = np.zeros(self.n_genotypes(is_x))
        freq = self._weights(cross_info)
        if self._hemizygous(is_x, is_female):
            p[self.n_pairs :] = freq
            return p
        ab = founder_pairs(self.n_alleles)
        p[: self.n_pairs] = (
            np.where(ab[:, 0] == ab[:, 1], 1.0, 2.0) * freq[ab[:, 0]] * freq[ab[:, 1]]
        )
        return p

    def _haplotype_chain(self, rf: np.ndarray, is_x: bool, cross_info: np.ndarray) -> np.ndarray:
        r = np.asarray(rf, dtype=np.float64)[:, None, None]
        k = float(cross_info[0]) * (2.0 / 3.0 if is_x else 1.0)
        freq = self._weights(cross_info)[None, None, :]
        keep = np.power(1.0 - r, k)
        eye = np.eye(self.n_alleles, dtype=bool)[None]
        return np.where(eye, freq + keep * (1.0 - freq), freq * (1.0 - keep))

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
        hemi = self._hemizygous(is_x, is_female)
        table = outbred_emission(
            founder_geno,
            n_founders=self.n_alleles,
            n_markers=n_markers,
            error_prob=error_prob,
            hemizygous=hemi,
            name=self.name,
        )
        out = np.ones((n_markers, N_OBS_CODES, self.n_genotypes(is_x)))
        out[:, :, self.possible(is_x=is_x, is_female=is_female, cross_info=cross_info)] = table
        return out

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        hap = self._haplotype_chain(rf, is_x, cross_info)
        n = self.n_genotypes(is_x)
        out = np.zeros((hap.shape[0], n, n))
        if self._hemizygous(is_x, is_female):
            out[:, self.n_pairs :, self.n_pairs :] = hap
        else:
            out[:, : self.n_pairs, : self.n_pairs] = _pair_transition(hap, self.n_alleles)
        return out

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        m = np.zeros((self.n_genotypes(is_x), self.n_alleles))
        for k, (a, b) in enumerate(founder_pairs(self.n_alleles)):
            m[k, a] += 0.5
            m[k, b] += 0.5
        if is_x:
            m[self.n_pairs :] = np.eye(self.n_alleles)
        return m

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        check_generation_weights(self.name, self.n_alleles, cross_info, min_generations=1)


def hs_recombinant_probability(
    rf: np.ndarray, *, ngen: int, chromosome: str = "autosome"
) -> np.ndarray:
    """Probability that a heterogeneous-stock haplotype is recombinant between two loci.

    >>> r = hs_recombinant_probability(np.array([0.1]), ngen=1)
    >>> round(float(r[0]), 6)
    0.271
    """
    r = np.asarray(rf, dtype=np.float64)
    if ngen < 1:
        raise InputError(f"HS generation ngen={ngen} must be >= 1; fix cross_info column ngen")
    s = 1.0 - r
    if chromosome == "autosome":
        hap = s**3 / 8.0  # AA haplotype at generation 1
        if ngen > 1:
            hap = 1.0 / 64.0 + np.power(s, ngen - 1) * (hap - 1.0 / 64.0)
        return 1.0 - 8.0 * hap
    if chromosome not in ("female_x", "male_x"):
        raise ValueError(f"chromosome must be autosome, female_x or male_x, not {chromosome!r}")
    # generation 1 from the F1 colony founders (4-way haplotype frequencies at G1F2)
    f1 = (s * (3.0 - r) / 8.0 * (2.0 - r) + s / 4.0 * s) / 8.0
    m1 = (s * s / 4.0 * (2.0 - r) + s / 2.0 * s) / 8.0
    if ngen == 1:
        hap = f1 if chromosome == "female_x" else m1
    else:
        z = np.sqrt(s * (9.0 - r))
        ws = np.power((s + z) / 4.0, ngen - 1)
        ys = np.power((s - z) / 4.0, ngen - 1)
        if chromosome == "female_x":
            lead = (-64.0 * f1 * s - 128.0 * m1 + 3.0 - r) / z
            hap = (2.0 + lead * (ys - ws) - (1.0 - 64.0 * f1) * (ws + ys)) / 128.0
        else:
            lead = (64.0 * m1 - 256.0 * f1 + 3.0) * s / z
            hap = (2.0 + lead * (ys - ws) - (1.0 - 64.0 * m1) * (ws + ys)) / 128.0
    return 1.0 - 8.0 * hap


class HeterogeneousStock(DiversityOutbred):
    """Heterogeneous stock (R/qtl2 ``hs``); ``cross_info`` is ``ngen``."""

    name = "hs"

    def recombinant(self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray):
        kind = "autosome" if not is_x else ("female_x" if is_female else "male_x")
        if cross_info.size < 1:
            raise InputError("HS cross needs cross_info column 'ngen' (generation); add it")
        return hs_recombinant_probability(rf, ngen=int(cross_info[0]), chromosome=kind)
