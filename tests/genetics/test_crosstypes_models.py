"""Cross-type models: closed forms from the literature and properties of the chains."""

from __future__ import annotations

import numpy as np
import pytest

from translocus.core.errors import InputError
from translocus.genetics.crosstypes import get_cross_model
from translocus.genetics.crosstypes.ail3 import ail3_recombinant
from translocus.genetics.crosstypes.multiway import allele_labels

RF = np.array([1e-12, 0.01, 0.1, 0.3, 0.5])


def test_riself8_is_teuscher_broman_2007():
    """Funnel (A x B) x (C x D) x ((E x F) x (G x H)), r = 0.1: equation 1 x 8."""
    r = 0.1
    t = get_cross_model("riself8").transition(
        np.array([r]), is_x=False, is_female=True, cross_info=np.arange(1, 9)
    )[0]
    d = 1 + 2 * r
    assert t[0, 0] == pytest.approx((1 - r) ** 2 / d)
    assert t[0, 1] == pytest.approx(r * (1 - r) / d)  # crossed with A at the first generation
    assert t[0, 2] == pytest.approx(r / 2 / d)
    assert t[0, 7] == pytest.approx(r / 2 / d)


def test_riself16_levels_follow_the_funnel():
    r = 0.2
    funnel = np.array([5, 9, 1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16])
    t = get_cross_model("riself16").transition(
        np.array([r]), is_x=False, is_female=True, cross_info=funnel
    )[0]
    d = 1 + 2 * r
    a, partner, same_four, other = 4, 8, 0, 2  # founders 5, 9 (first cross), 1, 3 (0-based)
    assert t[a, a] == pytest.approx((1 - r) ** 3 / d)
    assert t[a, partner] == pytest.approx(r * (1 - r) ** 2 / d)
    assert t[a, same_four] == pytest.approx(r * (1 - r) / 2 / d)
    assert t[a, other] == pytest.approx(r / 4 / d)


@pytest.mark.parametrize("name", ["riself4", "riself8", "riself16", "magic19", "risib4", "dh6"])
def test_uniform_prior_is_stationary(name):
    """Lines are equally likely to carry each founder at every locus: init @ T = init."""
    model = get_cross_model(name)
    n = model.n_alleles
    info = np.array([4]) if name == "dh6" else np.arange(1, n + 1)[::-1]
    args = {"is_x": False, "is_female": True, "cross_info": info}
    init = model.init(**args)
    trans = model.transition(RF, **args)
    np.testing.assert_allclose(trans.sum(axis=2), 1.0, atol=1e-14)
    np.testing.assert_allclose(init @ trans, np.broadcast_to(init, (RF.size, n)), atol=1e-14)


def test_magic19_free_recombination():
    """At r = 1/2 a line's founder at one locus says little about the next: (17/4)/38 stay."""
    t = get_cross_model("magic19").transition(
        np.array([0.5]), is_x=False, is_female=True, cross_info=np.zeros(0)
    )[0]
    assert t[0, 0] == pytest.approx(4.25 / 38)
    assert t[0, 1] == pytest.approx(0.5 * 67.5 / (19 * 18 * 2))


def test_risib4_x_has_the_funnels_first_three_founders():
    model = get_cross_model("risib4")
    info = np.array([3, 1, 4, 2])
    args = {"is_x": True, "is_female": True, "cross_info": info}
    assert model.possible(**args).tolist() == [0, 2, 3]
    np.testing.assert_allclose(model.init(**args), [1 / 3, 0, 1 / 3, 1 / 3])
    t = model.transition(np.array([0.1]), **args)[0]
    assert t[2, 2] == pytest.approx(1 / 1.4) and t[2, 0] == pytest.approx(0.2 / 1.4)
    assert t[2, 1] == 0


def test_genril_weights_are_the_stationary_distribution():
    model = get_cross_model("genril3")
    info = np.array([10, 1, 2, 5])
    for is_x in (False, True):
        args = {"is_x": is_x, "is_female": True, "cross_info": info}
        init = model.init(**args)
        np.testing.assert_allclose(init, [1 / 8, 2 / 8, 5 / 8])
        trans = model.transition(RF, **args)
        np.testing.assert_allclose(trans.sum(axis=2), 1.0, atol=1e-14)
        np.testing.assert_allclose(init @ trans, np.broadcast_to(init, (RF.size, 3)), atol=1e-14)
    # the X goes through 2/3 as many effective generations
    auto = model.transition(np.array([0.1]), is_x=False, is_female=True, cross_info=info)
    x = model.transition(np.array([0.1]), is_x=True, is_female=True, cross_info=info)
    assert x[0, 0, 0] == pytest.approx((1 + 0.9 ** (20 / 3) * 7) / 8)
    assert auto[0, 0, 0] == pytest.approx((1 + 0.9**10 * 7) / 8)


def test_founder_emission_compares_the_call_with_the_founder_allele():
    model = get_cross_model("riself4")
    founders = np.array([[1, 0], [3, 3], [1, 2], [3, 1]])  # [founder, marker]
    e = model.emission(
        error_prob=0.01, founder_geno=founders, n_markers=2, is_x=False, is_female=True,
        cross_info=np.arange(1, 5),
    )  # fmt: skip
    np.testing.assert_allclose(e[0, 1], [0.99, 0.01, 0.99, 0.01])  # call AA at marker 1
    np.testing.assert_allclose(e[0, 3], [0.01, 0.99, 0.01, 0.99])
    np.testing.assert_allclose(e[1, 1], [1.0, 0.01, 1.0, 0.99])  # founders 1, 3 unknown


@pytest.mark.parametrize(
    ("name", "info", "message"),
    [
        ("riself8", np.array([[1, 2, 3, 4, 5, 6, 7, 7]]), "permutation of 1-8"),
        ("risib4", np.array([[1, 2, 3]]), "4 columns"),
        ("dh6", np.array([[1]]), "generations"),
        ("genril4", np.array([[5, 0, 0, 0, 0]]), "not all zero"),
    ],
)
def test_bad_cross_info_is_an_input_error(name, info, message):
    with pytest.raises(InputError, match=message):
        get_cross_model(name).check_cross_info(info, any_x=False)


def test_names_and_unknown_types():
    assert get_cross_model("magic19").genotype_names(("A", "B"), False)[:3] == ["AA", "BB", "CC"]
    assert allele_labels(("Bur", "Can"), 3) == ["Bur", "Can", "A"]
    assert get_cross_model("haploid").genotype_names(("A", "B"), False) == ["A", "B"]
    with pytest.raises(InputError, match="genril1"):
        get_cross_model("genril1")
    with pytest.raises(InputError, match="crosstype 'genail'"):
        get_cross_model("genail")


@pytest.mark.parametrize("is_x", [False, True])
def test_genail_prior_is_stationary_and_rows_sum_to_one(is_x):
    model = get_cross_model("genail3")
    info = np.array([12, 1, 2, 3])
    for female in (True, False):
        args = {"is_x": is_x, "is_female": female, "cross_info": info}
        poss = model.possible(**args)
        init = model.init(**args)
        trans = model.transition(RF, **args)[:, poss][:, :, poss]
        np.testing.assert_allclose(trans.sum(axis=2), 1.0, atol=1e-14)
        np.testing.assert_allclose(
            init[poss] @ trans, np.broadcast_to(init[poss], (RF.size, poss.size)), atol=1e-14
        )
    auto = model.init(is_x=False, is_female=True, cross_info=info)
    np.testing.assert_allclose(auto[:3], [1 / 36, 2 * 2 / 36, 4 / 36])  # AA, AB, BB


def test_hs_haplotypes_recombine_like_a_do_without_pre_cc_generations():
    from translocus.genetics.crosstypes.outbred import hs_recombinant_probability

    r = np.array([1e-10, 0.5])
    for chrom in ("autosome", "female_x", "male_x"):
        rec = hs_recombinant_probability(r, ngen=40, chromosome=chrom)
        assert rec[0] < 1e-7
        assert rec[1] == pytest.approx(7 / 8, abs=1e-6)  # unlinked: any of the other 7
    # one meiosis of each of three ancestors at generation 1
    assert hs_recombinant_probability(np.array([0.1]), ngen=1)[0] == pytest.approx(1 - 0.9**3)


@pytest.mark.parametrize("ngen", [2, 6, 20])
def test_ail3_rows_sum_as_in_r_qtl2(ngen):
    """R/qtl2 0.43-5's ail3 step is not a Markov chain: a homozygote's row sums to
    ``1 - R + 3R²/4`` (R: the haplotype recombination probability), a heterozygote's to 1;
    translocus keeps R/qtl2's step (its probabilities are the reference; see ail3.py)."""
    model = get_cross_model("ail3")
    info = np.array([ngen])
    for is_x, is_female, kind in ((False, True, "autosome"), (True, True, "female_x")):
        trans = model.transition(RF, is_x=is_x, is_female=is_female, cross_info=info)
        rec = ail3_recombinant(RF, ngen=ngen, chromosome=kind)
        sums = trans.sum(axis=2)[:, :6]
        hom = np.array([0, 2, 5])  # AA, BB, CC
        expected = np.repeat((1 - rec + 0.75 * rec**2)[:, None], 3, axis=1)
        np.testing.assert_allclose(sums[:, hom], expected, atol=1e-14)
        np.testing.assert_allclose(np.delete(sums, hom, axis=1), 1.0, atol=1e-14)
        assert np.all(rec[1:] > 0.001) and np.all(sums[1:, hom] < 1.0)  # visibly short of 1
    male = model.transition(RF, is_x=True, is_female=False, cross_info=info)
    np.testing.assert_allclose(male.sum(axis=2)[:, 6:], 1.0, atol=1e-14)


def test_ail3_f2_generation_is_one_meiosis():
    """At generation 2 (the F2 of the three F1 hybrids) a haplotype is recombinant with
    probability r; with many generations R tends to 2/3 (three founders in equal shares)."""
    np.testing.assert_allclose(ail3_recombinant(RF, ngen=2), RF, atol=1e-15)
    assert ail3_recombinant(np.array([0.5]), ngen=50)[0] == pytest.approx(2 / 3)
    for kind in ("female_x", "male_x"):
        rec = ail3_recombinant(np.array([0.0, 0.2]), ngen=30, chromosome=kind)
        assert np.all(np.isfinite(rec)) and 0 < rec[0] < 1e-6 < rec[1] < 2 / 3
