"""Permutation tests: R/qtl2's semantics with its own permutation matrix, and thresholds.

Reference (``scripts/01_do_recla.R``, trait ``OF_immobile_pct``)::

    set.seed(20260101); perms <- qtl2:::gen_strat_perm(1000, ind2keep, NULL)  # perm_indices_*
    scan1perm(apr, ph1, n_perm=1000)            # perm_hk_*_1000 (permutes the phenotype)
    scan1perm(apr, ph1, k_loco, n_perm=100)     # perm_lmm_loco_*_100 (permutes probs rows)
    summary(perm, alpha=c(0.2, 0.1, 0.05, 0.01))  # perm_thresholds_*

The whole-genome maxima are compared in ``test_scan_genome.py``; here each permutation's maximum
on chromosomes 19 and X is checked against a direct scan of the permuted data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

import backends  # tests/backends.py (on the pytest pythonpath)
from translocus.core.compute import get_backend
from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics.permute import permutation_matrix, scan_perm
from translocus.genetics.results import PermutationResult
from translocus.genetics.scan import scan

ref_path = scan_refs.ref_path
TRAIT = "OF_immobile_pct"


@pytest.fixture(scope="module")
def ref_perms() -> np.ndarray:
    idx = pd.read_csv(ref_path("DO_Recla", "perm_indices_1000_seed20260101.csv.gz"))
    return idx.pivot(index="row", columns="perm", values="index").to_numpy() - 1


@pytest.fixture(scope="module")
def small_probs(do_ref_probs) -> GenoProbs:
    return do_ref_probs.subset(chromosomes=["19", "X"])


def _permuted_probs(probs: GenoProbs, order: np.ndarray) -> GenoProbs:
    samples = list(probs.samples)
    arrays = {c: probs[c].isel(sample=order).assign_coords(sample=samples)
              for c in probs.chromosomes}  # fmt: skip
    return GenoProbs(probs=arrays, crosstype=probs.crosstype, alleles=probs.alleles,
                     x_chr=probs.x_chr, kind=probs.kind)  # fmt: skip


def test_individual_order_matches_reference(do_ref_probs):
    keep = ref_path("DO_Recla", "perm_ind2keep.txt").read_text().split()
    assert keep == list(do_ref_probs.samples)


def test_hk_permutes_the_phenotype(small_probs, do_ref_pheno, ref_perms):
    y = do_ref_pheno[[TRAIT]]
    perm = scan_perm(y, small_probs, perms=ref_perms[:, :12])
    for j in (0, 1, 11):
        yp = y.copy()
        yp[TRAIT] = y[TRAIT].to_numpy()[ref_perms[:, j]]
        assert abs(perm.maxlod.iloc[j, 0] - scan(yp, small_probs).lod.max().iloc[0]) < 1e-9


@pytest.mark.parametrize("second", ["LD_light_pct", "OF_distance"])
def test_hk_with_covariates_permutes_probabilities(small_probs, do_ref_pheno, do_ref_sex, second):
    # LD_light_pct has missing values (a full scan per permutation); with complete traits each
    # permutation is a pseudo-trait with reordered covariates, many per pass of the kernel
    y = do_ref_pheno[[TRAIT, second]]
    assert y.notna().all().all() == (second != "LD_light_pct")  # each path is taken
    mat = permutation_matrix(len(small_probs.samples), 3, seed=4)
    perm = scan_perm(y, small_probs, addcovar=do_ref_sex, Xcovar=do_ref_sex, perms=mat)
    for j in range(3):
        direct = scan(y, _permuted_probs(small_probs, mat[:, j]), addcovar=do_ref_sex,
                      Xcovar=do_ref_sex).lod.max()  # fmt: skip
        np.testing.assert_allclose(perm.maxlod.iloc[j].to_numpy(), direct.to_numpy(), atol=1e-9)


def test_lmm_permutes_probabilities_with_fixed_hsq(small_probs, do_ref_pheno,
                                                   do_ref_kinship_loco, ref_perms):  # fmt: skip
    y = do_ref_pheno[[TRAIT]]
    kin = {c: do_ref_kinship_loco[c] for c in ("19", "X")}
    perm = scan_perm(y, small_probs, kinship=kin, perms=ref_perms[:, :3])
    for j in range(3):
        direct = scan(y, _permuted_probs(small_probs, ref_perms[:, j]), kinship=kin)
        assert abs(perm.maxlod.iloc[j, 0] - direct.lod.max().iloc[0]) < 1e-7


BACKENDS = backends.BACKENDS


@pytest.fixture(scope="module")
def backend_cases(small_probs, do_ref_pheno, do_ref_sex, do_ref_kinship_loco):
    """Inputs and CPU-path maxima: traits with 0, 3 and 2 missing values (separate batches);
    covariates, X covariates, interactive covariates, weights, ML, permutations within sex."""
    y = do_ref_pheno[[TRAIT, "LD_light_pct", do_ref_pheno.columns[22]]]
    kin = {c: do_ref_kinship_loco[c] for c in ("19", "X")}
    weights = pd.Series(np.linspace(0.5, 2.0, len(small_probs.samples)),
                        index=list(small_probs.samples))  # fmt: skip
    mat = permutation_matrix(
        len(small_probs.samples),
        3,
        seed=7,
        strata=do_ref_sex.loc[list(small_probs.samples)].to_numpy()[:, 0],
    )
    cases = [{}, {"addcovar": do_ref_sex, "Xcovar": do_ref_sex},
             {"weights": weights}, {"kinship": kin}, {"kinship": kin, "reml": False},
             {"kinship": kin, "addcovar": do_ref_sex, "Xcovar": do_ref_sex,
              "intcovar": do_ref_sex, "weights": weights}]  # fmt: skip
    return y, mat, [(kw, scan_perm(y, small_probs, perms=mat, **kw).maxlod) for kw in cases]


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_permutations_equal_the_cpu_path(small_probs, backend_cases, backend):
    y, mat, cases = backend_cases
    device = "cpu" if backend == "torch" else None
    for kwargs, cpu in cases:
        acc = scan_perm(
            y, small_probs, perms=mat, backend=backend, device=device, chunk_bytes=2**21, **kwargs
        ).maxlod  # small blocks: several per run
        np.testing.assert_allclose(
            acc.to_numpy(), cpu.to_numpy(), rtol=0, atol=1e-9, err_msg=str(sorted(kwargs))
        )


def test_backend_permutations_x_specific_and_errors(small_probs, do_ref_pheno, do_ref_sex):
    y = do_ref_pheno[[TRAIT]]
    kwargs = {"addcovar": do_ref_sex, "Xcovar": do_ref_sex, "n_perm": 4, "perm_Xsp": True,
              "seed": 5}  # fmt: skip
    cpu = scan_perm(y, small_probs, **kwargs)
    acc = scan_perm(y, small_probs, backend="numpy", **kwargs)
    assert acc.maxlod_x is not None and cpu.maxlod_x is not None
    np.testing.assert_allclose(acc.maxlod.to_numpy(), cpu.maxlod.to_numpy(), atol=1e-9)
    np.testing.assert_allclose(acc.maxlod_x.to_numpy(), cpu.maxlod_x.to_numpy(), atol=1e-9)
    with pytest.raises(InputError, match="float64"):
        scan_perm(y, small_probs, n_perm=2, backend=get_backend("numpy", dtype="float32"))
    with pytest.raises(InputError, match="unknown compute backend"):
        scan_perm(y, small_probs, n_perm=2, backend="nonsense")


def test_thresholds_match_qtl2_summary():
    hk = pd.read_csv(ref_path("DO_Recla", f"perm_hk_{TRAIT}_1000.csv"))
    lmm = pd.read_csv(ref_path("DO_Recla", f"perm_lmm_loco_{TRAIT}_100.csv"))
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_thresholds_{TRAIT}.csv"))
    alphas = ref["alpha"].to_numpy()
    ours_hk = PermutationResult(maxlod=hk[["maxlod"]]).thresholds(alphas)["maxlod"]
    ours_lmm = PermutationResult(maxlod=lmm[["maxlod"]]).thresholds(alphas)["maxlod"]
    np.testing.assert_allclose(ours_hk, ref["hk_1000"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours_lmm, ref["lmm_loco_100"], rtol=0, atol=1e-12)


def test_x_specific_permutations(small_probs, do_ref_pheno, do_ref_sex):
    y = do_ref_pheno[[TRAIT]]
    perm = scan_perm(y, small_probs, addcovar=do_ref_sex, Xcovar=do_ref_sex, n_perm=6,
                     perm_Xsp=True, seed=3)  # fmt: skip
    la = float(np.ptp(small_probs["19"].coords["pos_cM"].values))
    lx = float(np.ptp(small_probs["X"].coords["pos_cM"].values))
    assert perm.maxlod_x is not None
    assert perm.maxlod.shape[0] == 6
    assert perm.maxlod_x.shape[0] == math.ceil(6 * la / lx)
    thr = perm.thresholds([0.05])
    level_a = 1 - 0.95 ** (la / (la + lx))
    expected = np.quantile(perm.maxlod[TRAIT], 1 - level_a)
    assert abs(thr.loc[thr["region"] == "A", TRAIT].iloc[0] - expected) < 1e-12


def test_stratified_permutation_matrix():
    strata = np.array([0, 0, 1, 1, 1, 2])
    mat = permutation_matrix(6, 50, strata=strata, seed=1)
    assert np.all(strata[mat] == strata[:, None])
    assert len({tuple(c) for c in mat.T}) > 1


def test_bad_permutation_matrix(small_probs, do_ref_pheno):
    y = do_ref_pheno[[TRAIT]]
    n = len(small_probs.samples)
    with pytest.raises(InputError, match="one row per analysed individual"):
        scan_perm(y, small_probs, perms=np.zeros((n - 1, 2), dtype=int))
    bad = np.tile(np.arange(n)[:, None], (1, 2))
    bad[0, 1] = 1
    with pytest.raises(InputError, match="not a permutation"):
        scan_perm(y, small_probs, perms=bad)
