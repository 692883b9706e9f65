"""Genome scans against R/qtl2 (DO_Recla, chromosomes with reference probabilities).

Reference commands (qtl2 0.43-5, ``scripts/01_do_recla.R``)::

    scan1(apr, pheno)                                        # lod_hk
    scan1(apr, pheno, addcovar=sexm, Xcovar=Xcovar)          # lod_hk_sex
    scan1(apr, pheno, k_loco)                                # lod_lmm_loco, hsq_lmm_loco
    scan1(apr, pheno, k_loco, reml=FALSE)                    # lod_lmm_loco_ml
    scan1(apr, pheno, k_loco, addcovar=sexm, Xcovar=Xcovar)  # lod_lmm_loco_sex
    scan1(apr, pheno, k_overall)                             # lod_lmm_overall
    scan1(pr[,"19"], pheno)                                  # lod_hk_genoprob36_chr19

The R/qtl2 allele probabilities of chromosomes 1, 2, 19 and X are used as input, so these
comparisons test the scan alone, position by position and trait by trait.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

from translocus.genetics.scan import scan

load_ref_alleleprobs = scan_refs.load_ref_alleleprobs
read_ref_lod = scan_refs.read_ref_lod
ref_path = scan_refs.ref_path

CHROMS = ["1", "2", "19", "X"]
TOL = 1e-5


def _compare(result, ref_name: str) -> float:
    ref = read_ref_lod("DO_Recla", ref_name)
    ours = result.lod
    expected = ref.loc[ours.index, ours.columns].to_numpy(dtype=float)
    diff = np.abs(ours.to_numpy() - expected)
    assert np.isfinite(ours.to_numpy()).all()
    return float(diff.max())


def _hsq_ref(name: str, rows: list[str]) -> pd.DataFrame:
    df = pd.read_csv(ref_path("DO_Recla", name), dtype={"chr": str}).set_index("chr")
    return df.loc[rows]


@pytest.fixture(scope="module")
def loco(do_ref_kinship_loco):
    return {c: do_ref_kinship_loco[c] for c in CHROMS}


def test_hk_matches_qtl2(do_ref_probs, do_ref_pheno):
    out = scan(do_ref_pheno, do_ref_probs)
    assert _compare(out, "lod_hk.csv.gz") < TOL
    sizes = pd.read_csv(ref_path("DO_Recla", "sample_size.csv")).set_index("pheno")
    assert (out.sample_size == sizes.loc[out.traits, "n"]).all()
    assert out.data["lod"].dims == ("marker", "trait")
    assert list(out.data.coords["chr"].values[:1]) == ["1"]


def test_hk_sex_with_x_covariates_matches_qtl2(do_ref_probs, do_ref_pheno, do_ref_sex):
    out = scan(do_ref_pheno, do_ref_probs, addcovar=do_ref_sex, Xcovar=do_ref_sex)
    assert _compare(out, "lod_hk_sex.csv.gz") < TOL


def test_lmm_loco_reml_matches_qtl2(do_ref_probs, do_ref_pheno, loco):
    out = scan(do_ref_pheno, do_ref_probs, kinship=loco)
    assert _compare(out, "lod_lmm_loco.csv.gz") < TOL
    hsq = _hsq_ref("hsq_lmm_loco.csv", CHROMS)
    assert np.abs(out.hsq.to_numpy() - hsq[out.traits].to_numpy()).max() < TOL


def test_lmm_loco_ml_matches_qtl2(do_ref_probs, do_ref_pheno, loco):
    out = scan(do_ref_pheno, do_ref_probs, kinship=loco, reml=False)
    assert _compare(out, "lod_lmm_loco_ml.csv.gz") < TOL
    hsq = _hsq_ref("hsq_lmm_loco_ml.csv", CHROMS)
    assert np.abs(out.hsq.to_numpy() - hsq[out.traits].to_numpy()).max() < TOL


def test_lmm_loco_sex_matches_qtl2(do_ref_probs, do_ref_pheno, do_ref_sex, loco):
    out = scan(do_ref_pheno, do_ref_probs, kinship=loco, addcovar=do_ref_sex, Xcovar=do_ref_sex)
    assert _compare(out, "lod_lmm_loco_sex.csv.gz") < TOL
    hsq = _hsq_ref("hsq_lmm_loco_sex.csv", CHROMS)
    assert np.abs(out.hsq.to_numpy() - hsq[out.traits].to_numpy()).max() < TOL


@pytest.mark.parametrize("ref_name", ["lod_hk.csv.gz", "lod_lmm_loco.csv.gz"])
def test_few_traits_one_pass_moments_match_qtl2(do_ref_probs, do_ref_pheno, loco, ref_name):
    # up to FUSED_TRAITS traits take the compiled one-pass moments, not the matrix products
    traits = ["OF_immobile_pct", "LD_light_pct", str(do_ref_pheno.columns[22])]  # 0, 3, 2 NA
    kinship = loco if "lmm" in ref_name else None
    assert _compare(scan(do_ref_pheno[traits], do_ref_probs, kinship=kinship), ref_name) < TOL
    for trait in traits[:2]:
        out = scan(do_ref_pheno[[trait]], do_ref_probs, kinship=kinship)
        assert _compare(out, ref_name) < TOL


def test_lmm_overall_matches_qtl2(do_ref_probs, do_ref_pheno, do_ref_kinship_overall):
    out = scan(do_ref_pheno, do_ref_probs, kinship=do_ref_kinship_overall)
    assert _compare(out, "lod_lmm_overall.csv.gz") < TOL
    hsq = pd.read_csv(ref_path("DO_Recla", "hsq_lmm_overall.csv"))
    assert np.abs(out.hsq.to_numpy()[0] - hsq[out.traits].to_numpy()[0]).max() < TOL
    assert list(out.hsq.index) == ["overall"]


def test_hk_on_36_state_genotype_probabilities(do_ref_pheno):
    probs = load_ref_alleleprobs("DO_Recla", ["19"], name="genoprob")
    out = scan(do_ref_pheno, probs)
    ref = pd.read_csv(ref_path("DO_Recla", "lod_hk_genoprob36_chr19.csv"),
                      dtype={"marker": str}).set_index("marker")  # fmt: skip
    diff = np.abs(out.lod.to_numpy() - ref.loc[out.lod.index, out.traits].to_numpy())
    assert diff.max() < TOL


def test_x_chromosome_36_plus_8_columns_with_sex(do_ref_pheno, do_ref_sex):
    """X genotype probabilities (44 columns, half zero per sex) scan like allele dosages do."""
    probs = load_ref_alleleprobs("DO_Recla", ["X"], name="genoprob")
    out = scan(do_ref_pheno.iloc[:, :3], probs, addcovar=do_ref_sex, Xcovar=do_ref_sex)
    assert np.isfinite(out.lod.to_numpy()).all()
    assert (out.lod.to_numpy() > -1e-8).all()
