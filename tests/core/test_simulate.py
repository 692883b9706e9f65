"""The cross simulator: the genetics must be right, not just the shapes.

Expected values are closed-form results of classical genetics:

- Poisson crossovers with mean d (Morgans) per meiosis (Haldane 1919, no interference);
- an F2 segregates 1:2:1;
- recombinant inbred lines by sibling mating are homozygous and carry 4 breakpoints per
  Morgan on autosomes (Haldane & Waddington 1931: R = 4r / (1 + 6r));
- founder alleles in a balanced eight-way cross have frequency 1/8.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.simulate import (
    MOUSE_CHROMOSOMES,
    QTL,
    simulate_cross,
    simulate_map,
    write_simulated,
)


@pytest.fixture(scope="module")
def do_sim():  # type: ignore[no-untyped-def]
    return simulate_cross(cross_type="do", n=400, n_markers=1000, seed=11, error_rate=0.01)


@pytest.fixture(scope="module")
def f2_sim():  # type: ignore[no-untyped-def]
    return simulate_cross(cross_type="f2", n=1000, n_markers=400, seed=5)


def test_same_seed_same_cross_other_seed_other_cross() -> None:
    a = simulate_cross(cross_type="do", n=30, n_markers=120, seed=3)
    b = simulate_cross(cross_type="do", n=30, n_markers=120, seed=3)
    c = simulate_cross(cross_type="do", n=30, n_markers=120, seed=4)
    assert a.cross.founder_geno is not None and b.cross.founder_geno is not None
    for chrom in a.cross.chromosomes:
        np.testing.assert_array_equal(a.cross.geno[chrom], b.cross.geno[chrom])
        np.testing.assert_array_equal(a.cross.founder_geno[chrom], b.cross.founder_geno[chrom])
    pd.testing.assert_frame_equal(a.cross.pheno, b.cross.pheno)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.cross.pheno.equals(c.cross.pheno)


def test_do_founder_frequencies_are_one_eighth(do_sim) -> None:  # type: ignore[no-untyped-def]
    freqs = []
    for chrom in do_sim.cross.chromosomes:
        if chrom == "X":
            continue
        hap = do_sim.mosaic.founders_at(chrom=chrom, positions=do_sim.cross.gmap[chrom])
        freqs.append(np.bincount(hap.ravel(), minlength=8) / hap.size)
    genome = np.mean(freqs, axis=0)
    # Drift in 175 breeding pairs over 12 generations moves whole-chromosome frequencies by
    # ~0.02 (sd); over 19 autosomes the genome-wide sd is ~0.005 per founder.
    np.testing.assert_allclose(genome, 1 / 8, atol=0.02)
    assert np.abs(genome - 1 / 8).mean() < 0.01
    assert np.all(np.asarray(freqs) > 0.03)


def test_do_is_outbred_and_carries_many_founder_switches(do_sim) -> None:  # type: ignore[no-untyped-def]
    hap = do_sim.mosaic.founders_at(chrom="1", positions=do_sim.cross.gmap["1"])
    heterozygous = (hap[:, 0, :] != hap[:, 1, :]).mean()
    assert 0.75 < heterozygous < 0.95  # 7/8 expected at equal founder frequencies
    # pre-CC funnels plus 12 generations of outbreeding: many junctions per haplotype
    switches = do_sim.mosaic.crossovers(chrom="1")[:, 0].mean()
    assert 5 < switches < 40


def test_do_genotypes_follow_founder_snps_and_error_rate(do_sim) -> None:  # type: ignore[no-untyped-def]
    cross = do_sim.cross
    assert cross.crosstype == "do" and cross.n_founders == 8
    assert cross.genotypes == {"A": 1, "H": 2, "B": 3}
    errors = np.concatenate([do_sim.genotype_errors[c].ravel() for c in cross.chromosomes])
    n = errors.size
    rate = errors.mean()
    assert abs(rate - 0.01) < 4 * np.sqrt(0.01 * 0.99 / n)
    # recompute the error-free calls from the mosaic and the founder SNPs
    chrom = "2"
    hap = do_sim.mosaic.founders_at(chrom=chrom, positions=cross.gmap[chrom])
    allele_b = (cross.founder_geno[chrom] == 3).astype(int)
    cols = np.arange(hap.shape[2])[None, :]
    expected = 1 + allele_b[hap[:, 0, :], cols] + allele_b[hap[:, 1, :], cols]
    observed = cross.geno[chrom]
    wrong = observed != expected
    np.testing.assert_array_equal(wrong, do_sim.genotype_errors[chrom])
    # each SNP is polymorphic among the founders
    for fg in cross.founder_geno.values():
        assert np.all((fg == 1).any(axis=0) & (fg == 3).any(axis=0))


def test_do_male_x_is_hemizygous(do_sim) -> None:  # type: ignore[no-untyped-def]
    cross = do_sim.cross
    males = ~cross.is_female.to_numpy()
    x_errors = do_sim.genotype_errors["X"][males]
    het_calls = cross.geno["X"][males] == 2
    assert not np.any(het_calls & ~x_errors)


def test_f2_crossovers_per_meiosis_equal_map_length(f2_sim) -> None:  # type: ignore[no-untyped-def]
    # an F2 haplotype is one meiosis of an A/B F1: every crossover shows as a switch
    for chrom in ("1", "6", "19"):
        switches = f2_sim.mosaic.crossovers(chrom=chrom).ravel()
        morgans = f2_sim.mosaic.lengths[chrom] / 100
        se = np.sqrt(morgans / switches.size)
        assert abs(switches.mean() - morgans) < 4 * se
        assert abs(switches.var() - morgans) < 0.15 * morgans + 4 * se  # Poisson


def test_f2_segregates_1_2_1(f2_sim) -> None:  # type: ignore[no-untyped-def]
    cross = f2_sim.cross
    autosomes = [c for c in cross.chromosomes if c != "X"]
    # true genotypes (without errors) at one marker per chromosome: independent-ish loci
    counts = np.zeros(3)
    for chrom in autosomes:
        hap = f2_sim.mosaic.founders_at(chrom=chrom, positions=cross.gmap[chrom].iloc[[0]])
        counts += np.bincount(hap[:, :, 0].sum(axis=1), minlength=3)
    expected = counts.sum() * np.array([0.25, 0.5, 0.25])
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 13.8  # chi-square, 2 df, p = 0.001


def test_bxd_strains_are_inbred_with_four_breakpoints_per_morgan() -> None:
    sim = simulate_cross(cross_type="bxd", n=150, n_markers=400, seed=8, error_rate=0.0)
    cross = sim.cross
    assert cross.crosstype == "risib" and cross.genotypes == {"B": 1, "D": 2}
    geno = np.concatenate([cross.geno[c] for c in cross.chromosomes], axis=1)
    assert (geno != 0).mean() > 0.999  # heterozygous calls would be coded missing
    for chrom in cross.chromosomes:
        hap = sim.mosaic.founders_at(chrom=chrom, positions=cross.gmap[chrom])
        assert (hap[:, 0, :] == hap[:, 1, :]).mean() > 0.999
    per_morgan = [
        sim.mosaic.crossovers(chrom=c)[:, 0].mean() / (sim.mosaic.lengths[c] / 100)
        for c in cross.chromosomes
        if c != "X"
    ]
    assert abs(np.mean(per_morgan) - 4.0) < 0.35
    allele_d = (geno == 2).mean()
    assert abs(allele_d - 0.5) < 0.05


def test_qtl_effects_are_recovered_from_true_dosages() -> None:
    effects = (0.0, 0.8, 0.0, 0.0, -0.6, 0.0, 0.3, 0.0)
    qtl = [QTL(trait="bw", chrom="4", pos_cM=40.0, effects=effects)]
    sim = simulate_cross(
        cross_type="do", n=600, n_markers=400, seed=21, qtl=qtl, polygenic_variance=0.1
    )
    row = sim.truth.iloc[0]
    assert (row["trait"], row["chrom"], row["pos_cM"]) == ("bw", "4", 40.0)
    assert [row[f"effect_{a}"] for a in "ABCDEFGH"] == list(effects)
    assert abs(row["variance_expected"] - 2 * np.var(effects)) < 1e-12
    dose = sim.mosaic.allele_dosage(chrom="4", pos_cM=40.0)
    assert dose.dims == ("sample", "founder")
    assert np.all(dose.sum("founder") == 2)
    sex = sim.cross.is_female.to_numpy().astype(float)
    design = np.column_stack([dose.to_numpy()[:, 1:], sex, np.ones(600)])
    coef, *_ = np.linalg.lstsq(design, sim.cross.pheno["bw"].to_numpy(), rcond=None)
    estimated = np.concatenate([[0.0], coef[:7]])  # contrasts against founder A
    np.testing.assert_allclose(estimated, np.asarray(effects) - effects[0], atol=0.25)
    assert abs(coef[7] - 0.5) < 0.2  # the sex effect


def test_random_qtl_explain_the_requested_variance() -> None:
    sim = simulate_cross(
        cross_type="f2", n=2000, n_markers=200, seed=2, n_traits=2, qtl_variance=0.3
    )
    assert list(sim.cross.pheno.columns) == ["trait1", "trait2"]
    np.testing.assert_allclose(sim.truth["variance_expected"], 0.3, rtol=1e-5)
    np.testing.assert_allclose(sim.truth["variance_realised"], 0.3, rtol=0.2)
    residual = sim.cross.pheno["trait1"] - 0.5 * sim.cross.is_female
    assert abs(residual.var() - 1.0) < 0.12  # QTL + polygenic + noise = 1


def test_simulate_on_a_given_map() -> None:
    gmap, pmap = simulate_map(n_markers=60, chromosomes={"1": (50.0, 100.0), "2": (30.0, 60.0)})
    sim = simulate_cross(cross_type="f2", n=20, gmap=gmap, pmap=pmap, seed=1, x_chr=None)
    assert sim.cross.chromosomes == ("1", "2")
    assert sim.cross.n_markers == 60
    assert sim.cross.x_chr is None
    assert set(MOUSE_CHROMOSOMES) >= {"1", "X"}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InputError, match="cross_type 'cc'"):
        simulate_cross(cross_type="cc")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="error_rate=0.7"):
        simulate_cross(cross_type="f2", n=10, error_rate=0.7)
    with pytest.raises(InputError, match="one per founder allele"):
        simulate_cross(cross_type="f2", n=10, n_markers=60, qtl=[QTL("t", "1", 5.0, (1.0,))])
    with pytest.raises(InputError, match="exceeds 1"):
        simulate_cross(cross_type="f2", n=10, n_markers=60, qtl=[QTL("t", "1", 5.0, (0.0, 2.0))])
    with pytest.raises(InputError, match="outside chromosome 1"):
        simulate_cross(cross_type="f2", n=10, n_markers=60, qtl=[QTL("t", "1", 500.0, (0, 1))])
    with pytest.raises(InputError, match="chromosome '21' is not in the map"):
        simulate_cross(cross_type="f2", n=10, n_markers=60, qtl=[QTL("t", "21", 5.0, (0, 1))])
    with pytest.raises(InputError, match="at least 2 of each"):
        simulate_cross(cross_type="do", n=10, n_markers=60, n_funnels=1)
    odd = simulate_cross(cross_type="do", n=10, n_markers=60, n_funnels=9, ngen=3)
    assert odd.cross.n_individuals == 10
    with pytest.raises(InputError, match="too few"):
        simulate_map(n_markers=5)


def test_written_files_read_back_with_qtl2io(tmp_path: Path) -> None:
    from translocus.core.qtl2io import read_cross

    sim = simulate_cross(cross_type="do", n=40, n_markers=150, seed=9)
    control = write_simulated(sim, tmp_path / "do", name="sim")
    back = read_cross(control)
    assert back.founder_geno is not None and sim.cross.founder_geno is not None
    assert back.crosstype == "do" and back.individuals == sim.cross.individuals
    for chrom in sim.cross.chromosomes:
        np.testing.assert_array_equal(back.geno[chrom], sim.cross.geno[chrom])
        np.testing.assert_array_equal(back.founder_geno[chrom], sim.cross.founder_geno[chrom])
    np.testing.assert_allclose(back.pheno.to_numpy(), sim.cross.pheno.to_numpy())
    assert back.cross_info["ngen"].tolist() == [12] * 40
    truth = pd.read_csv(tmp_path / "do" / "truth.csv", dtype={"chrom": str})
    pd.testing.assert_frame_equal(truth, sim.truth, check_dtype=False)


def test_true_allele_probs_match_the_mosaic() -> None:
    sim = simulate_cross(cross_type="bxd", n=12, n_markers=100, seed=6, error_rate=0.0)
    probs = sim.true_allele_probs()
    assert probs.kind == "allele" and probs.chromosomes == sim.cross.chromosomes
    arr = probs["3"]
    assert arr.dims == ("marker", "sample", "founder")
    np.testing.assert_allclose(arr.sum("founder"), 1.0)
    # inbred strains: probability 1 on the founder whose genotype was called
    called_d = sim.cross.geno["3"].T == 2
    np.testing.assert_array_equal(arr.sel(founder="D").to_numpy() == 1.0, called_d)
    dose = sim.mosaic.allele_dosage(chrom="3", pos_cM=float(sim.cross.gmap["3"].iloc[4]))
    np.testing.assert_array_equal(dose.to_numpy() / 2, arr.isel(marker=4).to_numpy())
