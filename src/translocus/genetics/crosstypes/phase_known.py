"""Phase-known cross types (``f2pk``, ``ailpk``, ``ail3pk``, ``dopk``, ``hspk``) and phase guessing.

R/qtl2 0.43-5 has a phase-known twin of each cross type whose individuals are not inbred:
the hidden state is the *ordered* pair of founders (first and second haplotype, which
:func:`guess_phase` calls ``mom`` and ``dad``), so ``AB`` and ``BA`` are different genotypes. The observed calls are
the same unphased codes as for the unphased type (``0``-``5``; the phase is never read from a
file), with the same emission probabilities; each haplotype moves on its own chain, so the
transition is the product of two haplotype chains.

How R/qtl2 uses them: only inside ``est_map`` (its EM counts recombinations on phased
states). ``read_cross2`` refuses them (their C++ classes answer
``crosstype_supported() == FALSE``), but R/qtl2's HMM runs them when a cross's ``crosstype`` is
set to one; that is how ``tests/reference/qtl2/crosstypes/crosstypes.R`` made the references
(genotype columns unnamed there; here they are named by the ordered pair).
:func:`is_phase_known` is R/qtl2's ``is_phase_known`` (true also for inbred lines and the
backcross, whose genotypes carry no phase).

Genotype order (R/qtl2's): ``f2pk`` and ``ailpk`` ``AA, AB, BA, BB`` (then ``AY, BY`` on the
X); ``ail3pk`` and ``dopk``/``hspk`` first the unphased order (``AA, AB, BB, AC, ...``, the
earlier founder first), then the pairs whose first founder is the later one (``BA, CA, CB, DA,
...``), then ``AY, BY, ...`` on the X.

Where R/qtl2's models differ from their unphased twins:

* ``hspk`` is ``dopk``: its step uses the Diversity Outbred chain (pre-CC progenitors at
  generations 4-12), not the heterogeneous-stock one of ``hs``; reproduced here.
* ``ail3pk`` is a proper Markov chain (rows sum to 1), unlike R/qtl2's ``ail3``
  (see :mod:`~.ail3`); R/qtl2 does not keep its X recombination fraction at 1e-8 or more as
  ``ail3`` does (its closed form is 0/0 at ``r = 0``); translocus does, so a zero-length X
  interval gives numbers rather than R/qtl2's NaN.
* ``f2pk`` on the X is the ``f2`` X model (its female genotypes are already phased; there
  R/qtl2's ``guess_phase`` reads ``AB`` as mother B, father A, and ``BA`` as the reverse).
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import Cross
from translocus.genetics.crosstypes import CrossModel, get_cross_model
from translocus.genetics.crosstypes.ail import AdvancedIntercross, haplotype_chain
from translocus.genetics.crosstypes.ail3 import AIL3
from translocus.genetics.crosstypes.do import DiversityOutbred
from translocus.genetics.crosstypes.f2 import Intercross
from translocus.genetics.crosstypes.multiway import allele_labels
from translocus.genetics.crosstypes.outbred import founder_pairs
from translocus.genetics.reconstruct import GenotypeCalls

__all__ = [
    "AIL3PK",
    "AILPK",
    "DOPK",
    "F2PK",
    "HSPK",
    "PhaseKnown",
    "guess_phase",
    "is_phase_known",
    "phase_known_crosstype",
    "phased_pairs",
]

#: R/qtl2's phase-known type of each cross type whose genotypes carry a phase.
_PHASE_KNOWN = {"f2": "f2pk", "ail": "ailpk", "ail3": "ail3pk", "do": "dopk", "hs": "hspk"}


def phase_known_crosstype(crosstype: str) -> str | None:
    """R/qtl2's phase-known twin of ``crosstype`` (``None`` where there is none).

    >>> phase_known_crosstype("do"), phase_known_crosstype("risib8")
    ('dopk', 'risib8')
    >>> phase_known_crosstype("genail4") is None
    True
    """
    if crosstype.startswith("genail"):
        return None  # R/qtl2 names "genailpk", which it does not have
    return _PHASE_KNOWN.get(crosstype, crosstype)


def is_phase_known(crosstype: str) -> bool:
    """Whether R/qtl2 treats ``crosstype`` as phase-known (R/qtl2 ``is_phase_known``).

    True for the ``*pk`` types and for every type whose genotypes have no phase to guess
    (inbred lines, doubled haploids, the backcross, ``dof1``/``hsf1``); false for ``f2``,
    ``ail``, ``ail3``, ``do``, ``hs`` and ``genail<N>``.

    >>> is_phase_known("f2"), is_phase_known("f2pk"), is_phase_known("riself")
    (False, True, True)
    """
    return phase_known_crosstype(crosstype) == crosstype or crosstype in _PHASE_KNOWN.values()


def phased_pairs(n_alleles: int) -> np.ndarray:
    """``[n^2, 2]`` 0-based (first, second haplotype) founder pairs in R/qtl2's phase-known order.

    >>> phased_pairs(3).tolist()
    [[0, 0], [0, 1], [1, 1], [0, 2], [1, 2], [2, 2], [1, 0], [2, 0], [2, 1]]
    """
    later = [(a, b) for a in range(1, n_alleles) for b in range(a)]
    return np.vstack([founder_pairs(n_alleles), np.array(later, dtype=np.int64).reshape(-1, 2)])


def _unphased_index(pairs: np.ndarray) -> np.ndarray:
    """Index of each ordered pair's unphased genotype in R/qtl2's order."""
    lo, hi = pairs.min(axis=1), pairs.max(axis=1)
    return hi * (hi + 1) // 2 + lo


class PhaseKnown(CrossModel):
    """Phase-known twin of an unphased model of two founder haplotypes.

    The unphased model (``self.unphased``) gives the emission (by the unordered pair) and
    the prior (an unphased heterozygote's probability split evenly over its two phases);
    :meth:`haplotype_chain` gives one haplotype's chain, ``[interval, left, right]`` (on a
    male X the chain of his one X). The unphased model's X genotypes must be its pairs, then
    the hemizygous ``AY, BY, ...``.
    """

    unphased: CrossModel
    pairs: np.ndarray

    def __init__(self) -> None:
        self.n_alleles = self.unphased.n_alleles
        self.needs_founder_geno = self.unphased.needs_founder_geno
        self._phased = self.pairs.shape[0]
        self._unphased_pairs = self.unphased.n_genotypes(False)
        self._index = _unphased_index(self.pairs)

    @staticmethod
    def _hemizygous(is_x: bool, is_female: bool) -> bool:
        return is_x and not is_female

    @abstractmethod
    def haplotype_chain(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        """One haplotype's chain, ``[interval, left, right]`` (each phase-known type's own)."""

    def n_genotypes(self, is_x: bool) -> int:
        return self._phased + (self.n_alleles if is_x else 0)

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        labels = allele_labels(alleles, self.n_alleles)
        names = [labels[a] + labels[b] for a, b in self.pairs]
        return names + [a + "Y" for a in labels] if is_x else names

    def allele_names(self, alleles: tuple[str, ...]) -> list[str]:
        return self.unphased.allele_names(alleles)

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if self._hemizygous(is_x, is_female):
            return np.arange(self._phased, self._phased + self.n_alleles)
        return np.arange(self._phased)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        prior = self.unphased.init(is_x=is_x, is_female=is_female, cross_info=cross_info)
        p = np.zeros(self.n_genotypes(is_x))
        if self._hemizygous(is_x, is_female):
            p[self._phased :] = prior[self._unphased_pairs :]
        else:
            het = self.pairs[:, 0] != self.pairs[:, 1]
            p[: self._phased] = prior[self._index] / np.where(het, 2.0, 1.0)
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
        table = self.unphased.emission(
            error_prob=error_prob,
            founder_geno=founder_geno,
            n_markers=n_markers,
            is_x=is_x,
            is_female=is_female,
            cross_info=cross_info,
        )
        columns = self._index
        if is_x:
            male = np.arange(self._unphased_pairs, self._unphased_pairs + self.n_alleles)
            columns = np.concatenate([columns, male])
        return np.ascontiguousarray(table[:, :, columns])

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        chain = self.haplotype_chain(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        n = self.n_genotypes(is_x)
        out = np.zeros((chain.shape[0], n, n))
        if self._hemizygous(is_x, is_female):
            out[:, self._phased :, self._phased :] = chain
            return out
        mother, father = self.pairs[:, 0], self.pairs[:, 1]
        out[:, : self._phased, : self._phased] = (
            chain[:, mother[:, None], mother[None, :]] * chain[:, father[:, None], father[None, :]]
        )
        return out

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        m = np.zeros((self.n_genotypes(is_x), self.n_alleles))
        for k, (a, b) in enumerate(self.pairs):
            m[k, a] += 0.5
            m[k, b] += 0.5
        if is_x:
            m[self._phased :] = np.eye(self.n_alleles)
        return m

    def check_cross_info(self, cross_info: np.ndarray, *, any_x: bool) -> None:
        self.unphased.check_cross_info(cross_info, any_x=any_x)


def _two_state(rec: np.ndarray) -> np.ndarray:
    return np.where(np.eye(2, dtype=bool), (1.0 - rec)[:, None, None], rec[:, None, None])


def _uniform_moves(rec: np.ndarray, n: int) -> np.ndarray:
    """Stay with probability ``1 - R``, move to each of the other ``n - 1`` with ``R/(n-1)``."""
    eye = np.eye(n, dtype=bool)[None]
    return np.where(eye, (1.0 - rec)[:, None, None], (rec / (n - 1))[:, None, None])


#: ``f2pk`` and ``ailpk`` order: AA, AB, BA, BB.
_TWO_WAY = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.int64)


class F2PK(PhaseKnown):
    """Phase-known F2 intercross (R/qtl2 ``f2pk``); the X is the ``f2`` model."""

    name = "f2pk"
    unphased = Intercross()
    pairs = _TWO_WAY

    def genotype_names(self, alleles: tuple[str, ...], is_x: bool) -> list[str]:
        if is_x:
            return self.unphased.genotype_names(alleles, True)
        return super().genotype_names(alleles, False)

    def n_genotypes(self, is_x: bool) -> int:
        return self.unphased.n_genotypes(True) if is_x else 4

    def possible(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if is_x:
            return self.unphased.possible(is_x=True, is_female=is_female, cross_info=cross_info)
        return np.arange(4)

    def init(self, *, is_x: bool, is_female: bool, cross_info: np.ndarray) -> np.ndarray:
        if is_x:
            return self.unphased.init(is_x=True, is_female=is_female, cross_info=cross_info)
        return np.full(4, 0.25)

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
        emission = self.unphased.emission if is_x else super().emission
        return emission(
            error_prob=error_prob,
            founder_geno=founder_geno,
            n_markers=n_markers,
            is_x=is_x,
            is_female=is_female,
            cross_info=cross_info,
        )

    def transition(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        if is_x:
            return self.unphased.transition(
                rf, is_x=True, is_female=is_female, cross_info=cross_info
            )
        return super().transition(rf, is_x=False, is_female=is_female, cross_info=cross_info)

    def haplotype_chain(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        return _two_state(np.asarray(rf, dtype=np.float64))

    def allele_matrix(self, is_x: bool) -> np.ndarray:
        return self.unphased.allele_matrix(True) if is_x else super().allele_matrix(False)


class AILPK(PhaseKnown):
    """Phase-known two-way AIL (R/qtl2 ``ailpk``); ``cross_info`` as for ``ail``."""

    name = "ailpk"
    unphased = AdvancedIntercross()
    pairs = _TWO_WAY

    def haplotype_chain(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        return haplotype_chain(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)


class AIL3PK(PhaseKnown):
    """Phase-known three-way AIL (R/qtl2 ``ail3pk``); ``cross_info`` is the generation."""

    name = "ail3pk"
    unphased = AIL3()
    pairs = phased_pairs(3)

    def haplotype_chain(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        rec = AIL3().recombinant(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        return _uniform_moves(rec, 3)


class DOPK(PhaseKnown):
    """Phase-known Diversity Outbred (R/qtl2 ``dopk``); ``cross_info`` is ``ngen``."""

    name = "dopk"
    unphased = DiversityOutbred()
    pairs = phased_pairs(8)

    def haplotype_chain(
        self, rf: np.ndarray, *, is_x: bool, is_female: bool, cross_info: np.ndarray
    ) -> np.ndarray:
        rec = DiversityOutbred().recombinant(
            rf, is_x=is_x, is_female=is_female, cross_info=cross_info
        )
        return _uniform_moves(rec, 8)


class HSPK(DOPK):
    """Phase-known heterogeneous stock (R/qtl2 ``hspk``): R/qtl2's ``dopk`` chain, as there."""

    name = "hspk"


# -- guessing the phase of imputed genotypes ----------------------------------------------
def _phase_line(
    first: np.ndarray, second: np.ndarray, deterministic: bool, rng: np.random.Generator
) -> np.ndarray:
    """``[marker, 2]`` alleles (0 = none) of one individual, fewest switches first.

    ``first <= second`` are the unphased alleles (1-based, 0 = missing) at each marker, as
    R/qtl2's ``phase_geno``: the first heterozygote and every one that shares no allele
    with the current phase take the smaller allele first when ``deterministic`` (random
    otherwise); the others keep the allele they share on its haplotype.
    """
    out = np.zeros((first.size, 2), dtype=np.int16)
    cur1 = cur2 = 0  # 0: not yet set (R's NA, below every allele)
    for j, (g1, g2) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        if g1 == 0 or g2 == 0:
            continue
        if g1 == g2:
            out[j] = g1
            cur1 = cur2 = g1
            continue
        if cur1 != 0 and (cur1 == g1 or cur2 == g2):
            keep = True
        elif cur1 != 0 and (cur2 == g1 or cur1 == g2):
            keep = False
        else:
            keep = cur1 <= cur2 if deterministic else bool(rng.random() < 0.5)
        cur1, cur2 = (g1, g2) if keep else (g2, g1)
        out[j] = (cur1, cur2)
    return out


def guess_phase(
    cross: Cross,
    calls: GenotypeCalls,
    *,
    deterministic: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> GenotypeCalls | dict[str, xr.DataArray]:
    """Phase imputed genotypes into a mother's and a father's haplotype (R/qtl2 ``guess_phase``).

    Parameters
    ----------
    cross
        The cross the genotypes were imputed for (its type, and its sexes on the X).
    calls
        :class:`~translocus.genetics.reconstruct.GenotypeCalls`, e.g. from ``maxmarg`` or
        ``viterbi``.
    deterministic
        Where the phase is arbitrary (the first heterozygote of a chromosome, and one that
        shares no allele with the phase so far) put the smaller allele first, as R/qtl2 with
        ``deterministic=TRUE`` (equal to it); otherwise draw it at random.
    random_state
        Seed or generator of those draws (``deterministic=False`` only).

    Returns
    -------
    GenotypeCalls or dict of xr.DataArray
        For a phase-known cross (:func:`is_phase_known`) ``calls`` unchanged; otherwise per
        chromosome an int16 array ``[sample, marker, haplotype]`` (haplotypes ``mom``, ``dad``)
        of 1-based founder alleles, ``0`` where unknown (a missing call; the second of a
        male X).

    Examples
    --------
    AA, AB, AB, BB, AB: the last heterozygote keeps the father's B of the homozygote before.

    >>> cross = Cross(crosstype="f2", individuals=("a",), geno={}, gmap={})
    >>> calls = GenotypeCalls(
    ...     {"1": xr.DataArray([[1, 2, 2, 3, 2]], dims=("sample", "marker"))},
    ...     "f2", ("A", "B"), None, {"1": ("AA", "AB", "BB")})
    >>> guess_phase(cross, calls)["1"].values[0].T.tolist()
    [[1, 1, 1, 2, 1], [1, 2, 2, 2, 2]]
    """
    if not isinstance(calls, GenotypeCalls):
        raise InputError("guess_phase needs genotype calls (maxmarg or viterbi output)")
    if calls.crosstype != cross.crosstype:
        raise InputError(
            f"the calls are of a {calls.crosstype} cross, the cross is {cross.crosstype}; "
            "give the cross they were imputed for"
        )
    if is_phase_known(cross.crosstype):
        return calls
    model = get_cross_model(cross.crosstype)
    rng = np.random.default_rng(random_state)
    unphased = founder_pairs(model.n_alleles) + 1
    n_pairs = unphased.shape[0]
    out: dict[str, xr.DataArray] = {}
    for chrom in calls.chromosomes:
        arr = calls[chrom]
        codes = np.asarray(arr.values, dtype=np.int64)  # [sample, marker]
        is_x = calls.x_chr is not None and chrom == calls.x_chr
        female = _females(cross, arr, is_x)
        phased = np.zeros((*codes.shape, 2), dtype=np.int16)
        for i in range(codes.shape[0]):
            row = codes[i]
            if is_x and cross.crosstype == "f2":
                phased[i] = _f2_x(row)
                continue
            if is_x and not female[i]:
                phased[i, :, 0] = np.where(row > 0, row - n_pairs, 0)
                continue
            valid = (row > 0) & (row <= n_pairs)
            idx = np.where(valid, row - 1, 0)
            first = np.where(valid, unphased[idx, 0], 0)
            second = np.where(valid, unphased[idx, 1], 0)
            phased[i] = _phase_line(first, second, deterministic, rng)
        coords = {k: v for k, v in arr.coords.items() if k in ("sample", "marker", "pos_cM")}
        out[chrom] = xr.DataArray(
            phased,
            dims=("sample", "marker", "haplotype"),
            coords={**coords, "haplotype": ["mom", "dad"]},
            name=f"phased_{chrom}",
        )
    return out


def _f2_x(row: np.ndarray) -> np.ndarray:
    """R/qtl2's F2 X: AA, AB (mother B, father A), BA (A, B), BB, AY, BY; no guessing."""
    table = np.array([[0, 0], [1, 1], [2, 1], [1, 2], [2, 2], [1, 0], [2, 0]], dtype=np.int16)
    return table[np.where((row >= 0) & (row <= 6), row, 0)]


def _females(cross: Cross, arr: xr.DataArray, is_x: bool) -> np.ndarray:
    if not is_x:
        return np.ones(arr.shape[0], dtype=bool)
    samples = [str(s) for s in arr.coords["sample"].values] if "sample" in arr.coords else []
    if not len(cross.is_female) or not samples:
        return np.ones(arr.shape[0], dtype=bool)
    missing = [s for s in samples if s not in cross.is_female.index]
    if missing:
        raise InputError(f"is_female has no value for individuals {missing[:5]}; add them")
    return cross.is_female.reindex(samples).to_numpy(dtype=bool)
