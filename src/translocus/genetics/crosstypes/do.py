"""Diversity Outbred (``do``) mice: 8 founders, 36 unphased genotypes (44 on the X).

Transition probabilities follow Broman (2012) *Genetics* 190:403-412 and the 2011 technical
reports: the probability ``R`` that a haplotype is recombinant between two loci at DO generation
``ngen`` is derived from a mixture of pre-CC progenitor generations 4-12 (weights
``(21, 64, 24, 10, 5, 9, 5, 3, 3) / 144``). Given ``R``, each of the two haplotypes moves on its
own 8-state chain ``t = (1 - R) I + R/7 (J - I)``; the unphased genotype chain is the Kronecker
product ``t (x) t`` lumped over the two phases. :mod:`translocus.genetics._hmm_numba` uses that
structure to take a forward/backward step in ``O(36)`` instead of ``36 x 36`` operations.

Genotype ``k`` (0-based) of alleles ``a <= b`` (0-based) is ``b (b + 1) / 2 + a``, giving the
order AA, AB, BB, AC, BC, CC, AD, ... HH; on the X, the male genotypes AY ... HY follow.
"""

from __future__ import annotations

import numpy as np

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import N_OBS_CODES, CrossModel

__all__ = [
    "DiversityOutbred",
    "genotype_alleles",
    "recombinant_probability",
]

N_FOUNDERS = 8
N_DIPLOID = 36
_PRECC_GEN = np.arange(4, 13)
_PRECC_WEIGHT = np.array([21.0, 64.0, 24.0, 10.0, 5.0, 9.0, 5.0, 3.0, 3.0]) / 144.0


def genotype_alleles() -> np.ndarray:
    """``[36, 2]`` 0-based allele pair ``(a, b)``, ``a <= b``, of each diploid genotype."""
    pairs = [(a, b) for b in range(N_FOUNDERS) for a in range(b + 1)]
    return np.array(pairs, dtype=np.int64)


# -- haplotype probabilities in partially inbred 4-way RIL (Broman 2011, table 4) ----------
def _ri4way_auto_aa(r: np.ndarray, k: int | np.integer) -> np.ndarray:
    # the closed form is 0/0 at free recombination, where the limit is used instead
    free = r == 0.5
    rr = np.where(free, 0.25, r)
    s = np.sqrt(4.0 * rr * rr - 12.0 * rr + 5.0)
    den = (1.0 + 6.0 * rr) * s
    c1 = (6.0 * rr * rr - 7.0 * rr + 3.0 * rr * s) / den
    c2 = (6.0 * rr * rr - 7.0 * rr - 3.0 * rr * s) / den
    out = 0.25 * (
        1.0 / (1.0 + 6.0 * rr)
        + c1 * np.power((1.0 - 2.0 * rr - s) / 4.0, k)
        - c2 * np.power((1.0 - 2.0 * rr + s) / 4.0, k)
    )
    return np.where(free, np.where(k == 1, 1.0 / 8.0, 1.0 / 16.0), out)


def _ri4way_femx(r: np.ndarray, k: int | np.integer) -> tuple[np.ndarray, np.ndarray]:
    """Female X: probabilities of the AA and CC haplotypes at generation G1Fk."""
    r2 = r * r
    t = np.sqrt(r2 - 10.0 * r + 5.0)
    den = (8.0 * r2 + 10.0 * r + 2.0) * t
    up = np.power((1.0 - r + t) / 4.0, k)
    down = np.power((1.0 - r - t) / 4.0, k)
    alt = np.power(-0.5, k)
    aa = 0.5 * (
        2.0 / (12.0 * r + 3.0)
        + alt / (3.0 * r + 3.0)
        - (4.0 * r2 * r - t * (4.0 * r2 + 3.0 * r) + 3.0 * r2 - 5.0 * r) / den * up
        + (4.0 * r2 * r + t * (4.0 * r2 + 3.0 * r) + 3.0 * r2 - 5.0 * r) / den * down
    )
    cc = (
        1.0 / (12.0 * r + 3.0)
        - alt / (3.0 * r + 3.0)
        + (9.0 * r2 + 5.0 * r + r * t) / den * up
        - (9.0 * r2 + 5.0 * r - r * t) / den * down
    )
    return aa, cc


def _ri4way_malx(r: np.ndarray, k: int | np.integer) -> tuple[np.ndarray, np.ndarray]:
    """Male X: probabilities of the AA and CC haplotypes at generation G1Fk."""
    r2 = r * r
    r3 = r2 * r
    r4 = r2 * r2
    t = np.sqrt(r2 - 10.0 * r + 5.0)
    den = 4.0 * r4 - 35.0 * r3 - 29.0 * r2 + 15.0 * r + 5.0
    up = np.power((1.0 - r + t) / 4.0, k)
    down = np.power((1.0 - r - t) / 4.0, k)
    alt = np.power(-0.5, k)
    aa = (
        1.0 / (12.0 * r + 3.0)
        - alt / (3.0 * r + 3.0)
        + (r3 - t * (8.0 * r3 + r2 - 3.0 * r) - 10.0 * r2 + 5.0 * r) / den / 2.0 * up
        + (r3 + t * (8.0 * r3 + r2 - 3.0 * r) - 10.0 * r2 + 5.0 * r) / den / 2.0 * down
    )
    cc = (
        1.0 / (12.0 * r + 3.0)
        + 2.0 * alt / (3.0 * r + 3.0)
        + (2.0 * r4 + t * (2.0 * r3 - r2 + r) - 19.0 * r3 + 5.0 * r) / den * up
        + (2.0 * r4 - t * (2.0 * r3 - r2 + r) - 19.0 * r3 + 5.0 * r) / den * down
    )
    return aa, cc


def _x_first_generation(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AA-haplotype probability on the female and male X at DO generation 1."""
    fem = np.zeros_like(r)
    mal = np.zeros_like(r)
    for gen, w in zip(_PRECC_GEN, _PRECC_WEIGHT, strict=True):
        faa, fcc = _ri4way_femx(r, np.int64(gen + 1))
        maa, mcc = _ri4way_malx(r, np.int64(gen + 1))
        fem += w * (faa * (2.0 - r) + fcc * (1.0 - r))
        mal += w * (maa * (2.0 - r) + mcc * (1.0 - r))
    return fem / 8.0, mal / 8.0


def recombinant_probability(
    rf: np.ndarray, *, ngen: int, chromosome: str = "autosome"
) -> np.ndarray:
    """Probability that a DO haplotype is recombinant between loci ``rf`` apart.

    Parameters
    ----------
    rf
        Recombination fractions of the intervals.
    ngen
        DO generation of the individual (``cross_info`` column ``ngen``), >= 1.
    chromosome
        ``"autosome"``, ``"female_x"`` or ``"male_x"``.

    Examples
    --------
    >>> r = recombinant_probability(np.array([1e-12, 0.5]), ngen=1)
    >>> bool(r[0] < 1e-9), round(float(r[1]), 6)
    (True, 0.875)
    """
    r = np.asarray(rf, dtype=np.float64)
    if ngen < 1:
        raise InputError(f"DO generation ngen={ngen} must be >= 1; fix cross_info column ngen")
    if chromosome == "autosome":
        hap = np.zeros_like(r)
        # summed in this order on purpose: for tightly linked loci R = 1 - 8 hap is dominated
        # by rounding, and R/qtl2 accumulates the pre-CC generations in this order
        for gen, w in zip(_PRECC_GEN, _PRECC_WEIGHT, strict=True):
            hap += w * _ri4way_auto_aa(r, np.int64(gen + 1)) * (1.0 - r) / 2.0
        if ngen > 1:
            hap = 1.0 / 64.0 + np.power(1.0 - r, ngen - 1) * (hap - 1.0 / 64.0)
        return 1.0 - 8.0 * hap
    if chromosome not in ("female_x", "male_x"):
        raise ValueError(f"chromosome must be autosome, female_x or male_x, not {chromosome!r}")
    f1, m1 = _x_first_generation(r)
    if ngen == 1:
        hap = f1 if chromosome == "female_x" else m1
    else:
        z = np.sqrt((1.0 - r) * (9.0 - r))
        ws = np.power((1.0 - r + z) / 4.0, ngen - 1)
        ys = np.power((1.0 - r - z) / 4.0, ngen - 1)
        if chromosome == "female_x":
            lead = (-64.0 * f1 * (1.0 - r) - 128.0 * m1 + 3.0 - r) / z
            hap = (2.0 + lead * (ys - ws) - (1.0 - 64.0 * f1) * (ws + ys)) / 128.0
        else:
            lead = (64.0 * m1 - 256.0 * f1 + 3.0) * (1.0 - r) / z
            hap = (2.0 + lead * (ys - ws) - (1.0 - 64.0 * m1) * (ws + ys)) / 128.0
    return 1.0 - 8.0 * hap


def _ngen(cross_info: np.ndarray) -> int:
    if cross_info.size < 1:
        raise InputError("DO cross needs cross_info column 'ngen' (generation); add it")
    return int(cross_info[0])


class DiversityOutbred(CrossModel):
    """Diversity Outbred mice (R/qtl2 crosstype ``do``); ``cross_info`` is ``ngen``."""

    name = "do"
    n_alleles = N_FOUNDERS
    needs_founder_geno = True

    def n_genotypes(self, is_x: bool) -> int:
        return N_DIPLOID + N_FOUNDERS if is_x else N_DIPLOID

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        names = [alleles[a] + alleles[b] for a, b in genotype_alleles()]
        if is_x:
            names += [a + "Y" for a in alleles[:N_FOUNDERS]]
        return names

    def is_haploid(self, *, is_x: bool, is_female: bool) -> bool:
        return is_x and not is_female

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if self.is_haploid(is_x=is_x, is_female=is_female):
            return np.arange(N_DIPLOID, N_DIPLOID + N_FOUNDERS)
        return np.arange(N_DIPLOID)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        p = np.zeros(self.n_genotypes(is_x))
        if self.is_haploid(is_x=is_x, is_female=is_female):
            p[N_DIPLOID:] = 1.0 / N_FOUNDERS
        else:
            ab = genotype_alleles()
            p[:N_DIPLOID] = np.where(ab[:, 0] == ab[:, 1], 1.0 / 64.0, 1.0 / 32.0)
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
        if founder_geno is None:
            raise InputError("DO cross needs founder genotypes (founder_geno); add them")
        fg = np.asarray(founder_geno, dtype=np.int64).copy()
        fg[(fg != 1) & (fg != 3)] = 0  # founder hets and anything else carry no information
        e = error_prob
        out = np.ones((n_markers, N_OBS_CODES, self.n_genotypes(is_x)))
        if self.is_haploid(is_x=is_x, is_female=is_female):
            for a in range(N_FOUNDERS):
                f = fg[a]
                col = out[:, :, N_DIPLOID + a]
                for allele, ok, bad in ((1, (1, 4), (3, 5)), (3, (3, 5), (1, 4))):
                    m = f == allele
                    for c in ok:
                        col[m, c] = 1.0 - e
                    for c in bad:
                        col[m, c] = e
            return out
        # rows: expected call AA / AB / BB, then "one founder allele known" A / B
        table = np.ones((6, N_OBS_CODES))
        table[1, 1:] = [1 - e, e / 2, e / 2, 1 - e / 2, e]
        table[2, 1:] = [e / 2, 1 - e, e / 2, 1 - e / 2, 1 - e / 2]
        table[3, 1:] = [e / 2, e / 2, 1 - e, e, 1 - e / 2]
        table[4, 1:] = [1 - e, 1.0, e, 1 - e, e]
        table[5, 1:] = [e, 1.0, 1 - e, e, 1 - e]
        ab = genotype_alleles()
        f1 = fg[ab[:, 0]]  # [36, marker]
        f2 = fg[ab[:, 1]]
        case = np.where((f1 > 0) & (f2 > 0), (f1 + f2) // 2, 0)
        one = (f1 > 0) ^ (f2 > 0)
        case = np.where(one, np.where(np.maximum(f1, f2) == 1, 4, 5), case)
        out[:, :, :N_DIPLOID] = table[case.T].transpose(0, 2, 1)
        return out

    def recombinant(self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray):
        """Per-interval haplotype recombination probability ``R`` for this individual."""
        kind = "autosome" if not is_x else ("female_x" if is_female else "male_x")
        return recombinant_probability(rf, ngen=_ngen(cross_info), chromosome=kind)

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        rec = self.recombinant(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        n = self.n_genotypes(is_x)
        out = np.zeros((rec.size, n, n))
        stay = (1.0 - rec)[:, None, None]
        move = (rec / 7.0)[:, None, None]
        if self.is_haploid(is_x=is_x, is_female=is_female):
            eye = np.eye(N_FOUNDERS, dtype=bool)
            out[:, N_DIPLOID:, N_DIPLOID:] = np.where(eye, stay, move)
            return out
        ab = genotype_alleles()
        i, j = ab[:, 0][:, None], ab[:, 1][:, None]
        k, l = ab[:, 0][None, :], ab[:, 1][None, :]
        same = (i == k).astype(int) + (j == l).astype(int)
        swap = (i == l).astype(int) + (j == k).astype(int)
        trans = stay**same * move ** (2 - same)
        trans = trans + np.where(k != l, stay**swap * move ** (2 - swap), 0.0)
        out[:, :N_DIPLOID, :N_DIPLOID] = trans
        return out

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        m = np.zeros((self.n_genotypes(is_x), N_FOUNDERS))
        for k, (a, b) in enumerate(genotype_alleles()):
            m[k, a] += 0.5
            m[k, b] += 0.5
        if is_x:
            m[N_DIPLOID:, :] = np.eye(N_FOUNDERS)
        return m

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        if cross_info.ndim != 2 or cross_info.shape[1] < 1:
            raise InputError("DO cross needs cross_info column 'ngen' (generation); add it")
        bad = np.flatnonzero(cross_info[:, 0] < 1)
        if bad.size:
            raise InputError(
                f"DO cross_info column ngen must be >= 1 (individual rows {bad[:5].tolist()})"
            )
