"""Probabilities streamed through a store: the numbers of the in-memory path, one chromosome held.

A memory budget far below the probabilities' size forces the streamed path (blocks of
animals per chromosome, allele probabilities written to a store and read back a chromosome
at a time); every result must equal the in-memory path's to 1e-12. The reference is the
in-memory path itself, which the R/qtl2 comparisons elsewhere check.
"""

from __future__ import annotations

import gc

import numpy as np
import pandas as pd
import pytest

from translocus.core.lazyprobs import LazyProbs
from translocus.core.runs import RunLog
from translocus.core.simulate import simulate_cross
from translocus.core.store import Store
from translocus.genetics import _design
from translocus.genetics.effects import scan1coef
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.permute import scan_perm
from translocus.genetics.scan import scan
from translocus.pipelines.genoprob import (
    GenoprobRequest,
    genotype_probabilities,
    probability_plan,
    run_genoprob,
)
from translocus.pipelines.scan import ScanRequest, run_scan

#: A budget that splits DO_Recla's largest chromosome into two blocks of animals.
SMALL = "64M"


@pytest.fixture(scope="module")
def streamed(do_recla_cross):
    log = RunLog()
    genoprobs, alleles = genotype_probabilities(do_recla_cross, 0.002, "c-f", log, memory=SMALL)
    return genoprobs, alleles, log


class _Recording(_design.ChromosomeBlocks):
    made: list[_design.ChromosomeBlocks] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _Recording.made.append(self)


def test_plan_splits_the_largest_chromosome(do_recla_cross, streamed):
    plan = probability_plan(do_recla_cross, SMALL)
    assert plan.stream and 1 < plan.block < do_recla_cross.n_individuals
    _, _, log = streamed
    (row,) = [r for r in log.rows if r["what"] == "animals per block of genotype probabilities"]
    assert row["n"] == plan.block and "memory budget is 0.06 GiB" in row["reason"]


def test_streamed_allele_probabilities_equal_in_memory(do_recla_alleleprob, streamed):
    _, alleles, _ = streamed
    assert isinstance(alleles.probs, LazyProbs)
    assert alleles.chromosomes == do_recla_alleleprob.chromosomes
    assert alleles.probs.reads == {}  # nothing read until values are used
    for chrom in do_recla_alleleprob:
        expected, got = do_recla_alleleprob[chrom], alleles[chrom]
        np.testing.assert_allclose(got.values, expected.values, rtol=0, atol=1e-12)
        for name in ("marker", "sample", "founder", "pos_cM", "pos_Mbp"):
            assert np.array_equal(got.coords[name].values, expected.coords[name].values)
    assert set(alleles.probs.reads.values()) == {1}


def test_a_chromosome_subset_stays_lazy(do_recla_alleleprob, streamed):
    _, alleles, _ = streamed
    alleles.probs.reads.clear()
    part = alleles.subset(chromosomes=["19", "2"])
    assert isinstance(part.probs, LazyProbs) and part.chromosomes == ("19", "2")
    assert dict(alleles.probs.reads) == {} and "1" not in part.probs
    np.testing.assert_array_equal(part["2"].values, do_recla_alleleprob["2"].values)
    assert dict(alleles.probs.reads) == {"2": 1}


def test_genotype_probabilities_are_computed_per_chromosome(do_recla_genoprob, streamed):
    genoprobs, _, _ = streamed
    assert not isinstance(genoprobs.probs, dict)
    np.testing.assert_allclose(genoprobs["X"].values, do_recla_genoprob["X"].values,
                               rtol=0, atol=1e-12)  # fmt: skip


def test_kinship_reads_each_chromosome_once(do_recla_alleleprob, streamed):
    _, alleles, _ = streamed
    alleles.probs.reads.clear()
    expected = calc_kinship(do_recla_alleleprob, type="loco")
    got = calc_kinship(alleles, type="loco")
    for chrom in expected:
        np.testing.assert_allclose(got[chrom].values, expected[chrom].values, rtol=0, atol=1e-12)
    assert dict(alleles.probs.reads) == {c: 1 for c in alleles.chromosomes}


def test_lmm_loco_scan_holds_few_chromosomes(do_recla_alleleprob, do_ref_pheno, streamed,
                                            monkeypatch):  # fmt: skip
    _, alleles, _ = streamed
    pheno = do_ref_pheno.iloc[:, :4]
    kinship = calc_kinship(do_recla_alleleprob, type="loco")
    expected = scan(pheno, do_recla_alleleprob, kinship=kinship)
    _Recording.made.clear()
    monkeypatch.setattr(_design, "ChromosomeBlocks", _Recording)
    alleles.probs.reads.clear()
    got = scan(pheno, alleles, kinship=kinship, threads=1)
    np.testing.assert_allclose(got.lod.to_numpy(), expected.lod.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.hsq.to_numpy(), expected.hsq.to_numpy(), rtol=0, atol=1e-12)
    (blocks,) = _Recording.made
    assert dict(blocks.loads) == {c: 1 for c in alleles.chromosomes}
    assert dict(alleles.probs.reads) == {c: 1 for c in alleles.chromosomes}
    assert blocks.most_held <= 2 < len(alleles.chromosomes)


def test_hk_scan_and_lmm_permutations_equal(do_recla_alleleprob, do_ref_pheno, streamed):
    _, alleles, _ = streamed
    pheno = do_ref_pheno.iloc[:, :2]
    expected = scan(pheno, do_recla_alleleprob)
    got = scan(pheno, alleles)
    np.testing.assert_allclose(got.lod.to_numpy(), expected.lod.to_numpy(), rtol=0, atol=1e-12)
    kinship = calc_kinship(do_recla_alleleprob, type="loco")
    perm_a = scan_perm(pheno, do_recla_alleleprob, kinship=kinship, n_perm=3, seed=5)
    perm_b = scan_perm(pheno, alleles, kinship=kinship, n_perm=3, seed=5)
    np.testing.assert_allclose(perm_b.maxlod.to_numpy(), perm_a.maxlod.to_numpy(),
                               rtol=0, atol=1e-12)  # fmt: skip


def test_effects_at_a_marker_read_one_chromosome(do_recla_alleleprob, do_ref_pheno, streamed):
    _, alleles, _ = streamed
    marker = str(do_recla_alleleprob["2"].coords["marker"].values[100])
    pheno = do_ref_pheno.iloc[:, :1]
    expected = scan1coef(pheno, do_recla_alleleprob["2"].sel(marker=[marker]))
    alleles.probs.reads.clear()
    got = scan1coef(pheno, alleles["2"].sel(marker=[marker]))
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    assert set(alleles.probs.reads) == {"2"}


def test_scan_pipeline_streams_and_removes_its_store(monkeypatch):
    cross = simulate_cross(cross_type="do", n=90, n_markers=400, seed=7, n_traits=2).cross
    request = ScanRequest(kinship="loco", perms=4, threshold=3.0, assembly="GRCm39")
    expected = run_scan(request, cross=cross)
    monkeypatch.setenv("TRANSLOCUS_MEMORY", "2M")
    log = RunLog()
    got = run_scan(request, log, cross=cross)
    assert isinstance(got.alleles.probs, LazyProbs)
    np.testing.assert_allclose(got.result.lod.to_numpy(), expected.result.lod.to_numpy(),
                               rtol=0, atol=1e-12)  # fmt: skip
    pd.testing.assert_frame_equal(got.peaks, expected.peaks, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(got.peak_effects, expected.peak_effects, rtol=0, atol=1e-12)
    assert any(r["what"] == "animals per block of genotype probabilities" for r in log.rows)
    root = got.alleles.probs.scratch.path
    assert (root / "translocus-store.json").is_file()
    del got
    gc.collect()
    assert not root.exists()


def test_genoprob_pipeline_stores_the_same_items(tmp_path, monkeypatch):
    cross = simulate_cross(cross_type="do", n=40, n_markers=200, seed=8).cross
    expected = run_genoprob(GenoprobRequest(), cross=cross)
    monkeypatch.setenv("TRANSLOCUS_MEMORY", "1M")
    got = run_genoprob(GenoprobRequest(), cross=cross)
    assert got.summary() == expected.summary()
    got.write(tmp_path / "store")
    store = Store(tmp_path / "store", create=False)
    for name, probs in (("genoprob", expected.genoprobs), ("alleleprob", expected.alleleprobs)):
        back = store.read_genoprobs(name)
        assert back.chromosomes == probs.chromosomes and back.kind == probs.kind
        for chrom in probs:
            np.testing.assert_allclose(back[chrom].values, probs[chrom].values, rtol=0, atol=1e-12)
        assert store.fingerprint(name) == expected.fingerprint
