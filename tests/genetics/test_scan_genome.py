"""Whole-genome checks with the project's own genotype probabilities and kinship.

DO_Recla from its parsed inputs -> ``calc_genoprob`` (c-f, error 0.002) -> allele dosages ->
``calc_kinship`` -> scans, peaks and permutations, compared with R/qtl2's whole-genome outputs
(``scripts/01_do_recla.R``, ``scripts/02_bxd.R``). The genotype probabilities are computed once
per test session (shared fixture).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

import backends  # tests/backends.py (on the pytest pythonpath)
from translocus.core.compute import cuda_available
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.peaks import find_peaks
from translocus.genetics.permute import scan_perm
from translocus.genetics.scan import scan

read_ref_lod = scan_refs.read_ref_lod
ref_path = scan_refs.ref_path
TOL = 1e-5
TRAIT = "OF_immobile_pct"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loco(do_recla_alleleprob):
    return calc_kinship(do_recla_alleleprob, type="loco")


@pytest.fixture(scope="module")
def lmm_scan(do_recla_alleleprob, do_ref_pheno, loco):
    return scan(do_ref_pheno, do_recla_alleleprob, kinship=loco)


def _maxdiff(result, name: str) -> float:
    ref = read_ref_lod("DO_Recla", name)
    ours = result.lod
    return float(np.abs(ours.to_numpy() - ref.loc[ours.index, ours.columns].to_numpy()).max())


def test_whole_genome_hk_and_lmm_loco(do_recla_alleleprob, do_ref_pheno, lmm_scan):
    assert _maxdiff(scan(do_ref_pheno, do_recla_alleleprob), "lod_hk.csv.gz") < TOL
    assert _maxdiff(lmm_scan, "lod_lmm_loco.csv.gz") < TOL
    hsq = pd.read_csv(ref_path("DO_Recla", "hsq_lmm_loco.csv"), dtype={"chr": str})
    hsq = hsq.set_index("chr").loc[lmm_scan.hsq.index, lmm_scan.traits]
    assert np.abs(lmm_scan.hsq.to_numpy() - hsq.to_numpy()).max() < TOL


def test_whole_genome_peaks_identical(lmm_scan):
    ref = pd.read_csv(ref_path("DO_Recla", "peaks.csv"), dtype={"chr": str})
    ref = ref[(ref["scan"] == "lmm_loco") & (ref["map"] == "pmap_Mbp")].reset_index(drop=True)
    ours = find_peaks(lmm_scan, map_name="pos_Mbp", threshold=6, drop=1.5)
    assert ours[["lodcolumn", "chr"]].values.tolist() == ref[["lodcolumn", "chr"]].values.tolist()
    for col in ("pos", "ci_lo", "ci_hi"):
        np.testing.assert_allclose(ours[col], ref[col], atol=1e-10)
    np.testing.assert_allclose(ours["lod"], ref["lod"], atol=TOL)


@pytest.fixture(scope="module")
def ref_perms() -> np.ndarray:
    idx = pd.read_csv(ref_path("DO_Recla", "perm_indices_1000_seed20260101.csv.gz"))
    return idx.pivot(index="row", columns="perm", values="index").to_numpy() - 1


def test_hk_permutation_maxima_with_qtl2_indices(do_recla_alleleprob, do_ref_pheno, ref_perms):
    perm = scan_perm(do_ref_pheno[[TRAIT]], do_recla_alleleprob, perms=ref_perms)
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_hk_{TRAIT}_1000.csv"))
    assert np.abs(perm.maxlod[TRAIT].to_numpy() - ref["maxlod"].to_numpy()).max() < TOL


def test_lmm_permutation_maxima_with_qtl2_indices(do_recla_alleleprob, do_ref_pheno, loco,
                                                  ref_perms):  # fmt: skip
    n = 6  # each LMM permutation rotates the whole genome; a few keep the test lean
    perm = scan_perm(do_ref_pheno[[TRAIT]], do_recla_alleleprob, kinship=loco,
                     perms=ref_perms[:, :n])  # fmt: skip
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_lmm_loco_{TRAIT}_100.csv"))
    assert np.abs(perm.maxlod[TRAIT].to_numpy() - ref["maxlod"].to_numpy()[:n]).max() < TOL


@pytest.mark.parametrize("backend", backends.BACKENDS)
def test_backend_permutation_maxima_with_qtl2_indices(do_recla_alleleprob, do_ref_pheno, loco,
                                                     ref_perms, backend):  # fmt: skip
    # the batched path on the CPU: Haley-Knott (R/qtl2 permutes the phenotype there) and LMM
    y = do_ref_pheno[[TRAIT]]
    hk = scan_perm(y, do_recla_alleleprob, perms=ref_perms[:, :4], backend=backend,
                   device="cpu" if backend == "torch" else None)  # fmt: skip
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_hk_{TRAIT}_1000.csv"))["maxlod"].to_numpy()
    assert np.abs(hk.maxlod[TRAIT].to_numpy() - ref[:4]).max() < TOL
    lmm = scan_perm(y, do_recla_alleleprob, kinship=loco, perms=ref_perms[:, :2],
                    backend=backend, device="cpu" if backend == "torch" else None)  # fmt: skip
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_lmm_loco_{TRAIT}_100.csv"))["maxlod"]
    assert np.abs(lmm.maxlod[TRAIT].to_numpy() - ref.to_numpy()[:2]).max() < TOL


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs torch with a CUDA device")
def test_cuda_lmm_permutations_match_qtl2(do_recla_alleleprob, do_ref_pheno, loco, ref_perms):
    perm = scan_perm(do_ref_pheno[[TRAIT]], do_recla_alleleprob, kinship=loco,
                     perms=ref_perms[:, :100], backend="torch", device="cuda")  # fmt: skip
    ref = pd.read_csv(ref_path("DO_Recla", f"perm_lmm_loco_{TRAIT}_100.csv"))
    assert np.abs(perm.maxlod[TRAIT].to_numpy() - ref["maxlod"].to_numpy()).max() < TOL
