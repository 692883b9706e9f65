"""The simulator's lines and crosses carry the founders R/qtl2's models say they can."""

from __future__ import annotations

import numpy as np
import pytest

from translocus.core.errors import InputError
from translocus.core.simulate import simulate_cross, simulate_map

CHROMOSOMES = {"1": (80.0, 100.0), "X": (60.0, 90.0)}


def _sim(cross_type: str, n: int = 30, **kw):
    gmap, pmap = simulate_map(n_markers=60, chromosomes=CHROMOSOMES, seed=2)
    return simulate_cross(
        cross_type=cross_type, n=n, seed=4, gmap=gmap, pmap=pmap, n_traits=1, **kw
    )


@pytest.mark.parametrize(("cross_type", "x_slots"), [("risib4", [0, 1, 2]),
                                                      ("risib8", [0, 1, 2, 4, 5])])  # fmt: skip
def test_sib_mated_lines_carry_the_funnels_x_founders(cross_type, x_slots):
    sim = _sim(cross_type)
    funnel = sim.cross.cross_info.to_numpy() - 1
    allowed = funnel[:, x_slots]
    labels = sim.mosaic.labels["X"]
    counts = sim.mosaic.counts["X"]
    for i in range(funnel.shape[0]):
        seen = {int(v) for h in range(2) for v in labels[i, h, : counts[i, h]]}
        assert seen <= set(allowed[i].tolist())
    assert sim.cross.x_chr == "X"


@pytest.mark.parametrize("cross_type", ["dh", "haploid", "dh6"])
def test_doubled_haploids_are_one_gamete(cross_type):
    sim = _sim(cross_type, ngen=5)
    for chrom in ("1", "X"):
        np.testing.assert_array_equal(
            sim.mosaic.labels[chrom][:, 0], sim.mosaic.labels[chrom][:, 1]
        )
        assert set(np.unique(sim.cross.geno[chrom])) <= (
            {0, 1, 2} if cross_type != "dh6" else {0, 1, 2, 3}
        )
    assert sim.cross.x_chr is None  # no sex chromosomes, as in R/qtl2


@pytest.mark.parametrize("cross_type", ["riself", "riself4", "riself8", "riself16", "magic19"])
def test_selfed_lines_are_inbred_and_use_their_founders(cross_type):
    sim = _sim(cross_type, inbreeding_generations=30)
    hap = sim.mosaic.founders_at(chrom="1", positions=np.linspace(0, 80, 41))
    assert np.mean(hap[:, 0] == hap[:, 1]) > 0.99
    n_founders = len(sim.cross.alleles)
    if cross_type != "riself":
        assert sim.cross.founder_geno["1"].shape == (n_founders, len(sim.cross.gmap["1"]))
    assert set(np.unique(hap)) <= set(range(n_founders))


def test_backcross_males_carry_one_x():
    """Males are A or B on the X (codes 1, 3), females AA or AB (1, 2), errors included."""
    for error_rate in (0.0, 0.05):
        sim = _sim("bc", n=40, error_rate=error_rate)
        male = ~sim.cross.is_female.to_numpy()
        geno = sim.cross.geno["X"]
        assert set(np.unique(geno[male])) == {1, 3}
        assert set(np.unique(geno[~male])) == {1, 2}
        assert set(np.unique(sim.cross.geno["1"])) == {1, 2}


def test_general_ril_comes_from_an_intermated_colony():
    sim = _sim("genril5", ngen=6, inbreeding_generations=30)
    info = sim.cross.cross_info
    assert info.columns.tolist() == ["ngen"] + [f"weight_{a}" for a in "ABCDE"]
    assert (info["ngen"] == 6).all() and (info.iloc[:, 1:] == 1).all().all()
    hap = sim.mosaic.founders_at(chrom="X", positions=np.linspace(0, 60, 31))
    assert np.mean(hap[:, 0] == hap[:, 1]) > 0.99 and sim.cross.x_chr == "X"
    assert len(np.unique(hap)) == 5


@pytest.mark.parametrize("cross_type", ["hs", "genail3", "ail3"])
def test_outbred_colonies_have_both_sexes_and_one_x_in_males(cross_type):
    sim = _sim(cross_type, n=40, ngen=4, n_breeding_pairs=20)
    female = sim.cross.is_female.to_numpy()
    assert 0 < female.sum() < female.size
    hap_x = sim.mosaic.founders_at(chrom="X", positions=np.linspace(0, 60, 31))
    np.testing.assert_array_equal(hap_x[~female, 0], hap_x[~female, 1])
    hap = sim.mosaic.founders_at(chrom="1", positions=np.linspace(0, 80, 41))
    assert np.mean(hap[:, 0] != hap[:, 1]) > 0.3  # outbred
    assert (sim.cross.cross_info["ngen"] == 4).all()


@pytest.mark.parametrize("cross_type", ["dof1", "hsf1"])
def test_outcross_f1_has_the_fathers_strain_and_a_maternal_x_in_sons(cross_type):
    sim = _sim(cross_type, n=30, ngen=3, n_funnels=10, n_breeding_pairs=20)
    hap = sim.mosaic.founders_at(chrom="1", positions=np.linspace(0, 80, 21))
    assert (hap[:, 1] == 8).all() and (hap[:, 0] < 8).all()  # paternal: the ninth strain
    male = ~sim.cross.is_female.to_numpy()
    hap_x = sim.mosaic.founders_at(chrom="X", positions=np.linspace(0, 60, 21))
    assert (hap_x[male] < 8).all() and (hap_x[~male, 1] == 8).all()
    assert len(sim.cross.founders) == 9 and len(sim.cross.alleles) == 8
    assert (sim.cross.cross_info["ngen"] == 4).all()  # the maternal haplotype's generation
    assert sim.true_allele_probs()["1"].sizes["founder"] == 9


def test_unknown_design_names_the_choices():
    with pytest.raises(InputError, match="magic19"):
        simulate_cross(cross_type="magic20", n=5)  # type: ignore[arg-type]


def test_advanced_intercross_is_balanced_and_outbred():
    sim = _sim("ail", n=40, ngen=5, n_breeding_pairs=20)
    assert sim.cross.cross_info.columns.tolist() == ["ngen", "direction"]
    assert (sim.cross.cross_info["direction"] == 2).all()
    assert set(np.unique(sim.cross.geno["1"])) <= {0, 1, 2, 3}
    male = ~sim.cross.is_female.to_numpy()
    assert set(np.unique(sim.cross.geno["X"][male])) <= {0, 1, 2, 3}
