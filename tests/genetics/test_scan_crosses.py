"""Genome scans of other cross types against R/qtl2: BXD (risib, heavy missing data) and F2.

References (qtl2 0.43-5)::

    # scripts/02_bxd.R: 5,806 traits, 908 missing-data patterns
    scan1(apr, pheno)            # lod_hk_subset50 (50 traits)
    scan1(apr, pheno, k_loco)    # lod_lmm_loco_subset50, hsq_lmm_loco_all
    # scripts/03_f2.R: iron (Haldane, error 0.002)
    scan1(pr, pheno, Xcovar=get_x_covar(cr))   # lod_hk
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

from translocus.core.paths import data_dir
from translocus.genetics.scan import scan

load_ref_alleleprobs = scan_refs.load_ref_alleleprobs
read_ref_kinship = scan_refs.read_ref_kinship
read_ref_lod = scan_refs.read_ref_lod
ref_path = scan_refs.ref_path

TOL = 1e-5


def _zip_table(folder: str, zname: str, member: str) -> pd.DataFrame:
    path = data_dir() / "qtl2" / folder / zname
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    with zipfile.ZipFile(path) as zf:
        text = zf.read(member).decode()
    df = pd.read_csv(io.StringIO(text), comment="#", dtype={"id": str}, na_values=["-", "NA"])
    df = df.set_index(df.columns[0])
    df.index = [str(i) for i in df.index]
    df.columns = [str(c) for c in df.columns]
    return df


@pytest.fixture(scope="module")
def bxd_pheno() -> pd.DataFrame:
    return _zip_table("BXD", "bxd.zip", "bxd_pheno.csv").astype(float)


@pytest.fixture(scope="module")
def bxd_chr19():
    return load_ref_alleleprobs("BXD", ["19"], crosstype="risib", alleles=("B", "D"), x_chr=None)


@pytest.fixture(scope="module")
def bxd_subset() -> list[str]:
    return ref_path("BXD", "lod_subset_phenos.txt").read_text().split()


@pytest.mark.filterwarnings("ignore:3 trait")  # no variance in 3 BXD traits, as in R/qtl2
def test_bxd_hk_all_traits_chr19(bxd_pheno, bxd_chr19, bxd_subset):
    """All 5,806 traits (908 missing-data batches) at once; the 50 reference curves agree."""
    out = scan(bxd_pheno, bxd_chr19)
    ref = read_ref_lod("BXD", "lod_hk_subset50.csv.gz")
    ref = ref[ref["chr"] == "19"]
    ours = out.lod.loc[ref.index, bxd_subset].to_numpy()
    assert np.nanmax(np.abs(ours - ref[bxd_subset].to_numpy())) < TOL
    info = pd.read_csv(ref_path("BXD", "pheno_info.csv.gz"), dtype={"pheno": str})
    assert (out.sample_size.loc[info["pheno"]].to_numpy() == info["n"].to_numpy()).all()


def test_bxd_lmm_loco_chr19(bxd_pheno, bxd_chr19, bxd_subset):
    kin = {"19": read_ref_kinship(ref_path("BXD", "kinship_loco", "chr19.csv.gz"))}
    out = scan(bxd_pheno[bxd_subset], bxd_chr19, kinship=kin)
    ref = read_ref_lod("BXD", "lod_lmm_loco_subset50.csv.gz")
    ref = ref[ref["chr"] == "19"]
    assert np.nanmax(np.abs(out.lod.loc[ref.index, bxd_subset].to_numpy()
                            - ref[bxd_subset].to_numpy())) < TOL  # fmt: skip
    hsq = pd.read_csv(ref_path("BXD", "hsq_lmm_loco_all.csv.gz"), dtype={"chr": str})
    hsq = hsq.set_index("chr").loc["19", bxd_subset].to_numpy(dtype=float)
    assert np.abs(out.hsq.loc["19"].to_numpy() - hsq).max() < TOL


def test_f2_iron_hk_with_x_covariates():
    lod_ref = read_ref_lod("iron", "lod_hk.csv.gz")
    probs = load_ref_alleleprobs("iron", ["1", "X"], name="genoprob", crosstype="f2",
                                 alleles=("S", "B"), positions=lod_ref)  # fmt: skip
    pheno = _zip_table("iron", "iron.zip", "iron_pheno.csv").astype(float)
    xcov = pd.read_csv(ref_path("iron", "xcovar_used.csv"), dtype={"id": str}).set_index("id")
    out = scan(pheno, probs, Xcovar=xcov)
    ref = lod_ref.loc[out.lod.index, out.traits].to_numpy()
    assert np.abs(out.lod.to_numpy() - ref).max() < TOL
