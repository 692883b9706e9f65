"""Genome scans of other cross types against R/qtl2: BXD (risib, heavy missing data) and F2.

References (qtl2 0.43-5)::

    # scripts/02_bxd.R: 5,806 traits, 908 missing-data patterns
    scan1(apr, pheno)            # lod_hk_subset50 (50 traits), maxlod_all_phenos
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


@pytest.fixture(scope="module")
def bxd_whole_genome():
    """BXD allele probabilities of the whole genome from our HMM (c-f map, error 0.002)."""
    from translocus.core.qtl2io import read_cross
    from translocus.genetics import calc_genoprob, genoprob_to_alleleprob

    path = data_dir() / "qtl2" / "BXD" / "bxd.zip"
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    with pytest.warns(UserWarning):  # BXD's undeclared 'H' calls become missing
        cross = read_cross(path)
    probs = calc_genoprob(cross, error_prob=0.002, map_function="c-f")
    return genoprob_to_alleleprob(probs)


def _perturbed(probs, scale: float, seed: int):
    """The probabilities moved by up to ``scale`` (uniform noise, kept non-negative)."""
    import dataclasses

    rng = np.random.default_rng(seed)
    moved = {c: probs[c].copy(data=np.clip(probs[c].values
                                           + scale * rng.uniform(-1, 1, probs[c].shape), 0, None))
             for c in probs}  # fmt: skip
    return dataclasses.replace(probs, probs=moved)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bxd_whole_genome_max_lod(bxd_pheno, bxd_whole_genome):
    """Genome-wide maximum LOD of all 5,806 traits, HK and LMM LOCO, against R/qtl2.

    Our probabilities agree with R/qtl2's to about 1e-14. A handful of traits have LOD
    curves that are not determined at that precision: a few strains measured where they
    are (almost) monomorphic, so the regression fits differences of 1e-10 in a probability,
    or a near-perfect fit whose residual sum of squares is rounding noise. Every trait whose
    maximum differs from R/qtl2's must be one of them: moving the probabilities by 1e-14
    moves its LOD at our or R/qtl2's maximum by more than the tolerance.
    """
    from translocus.genetics import calc_kinship

    ref = pd.read_csv(ref_path("BXD", "maxlod_all_phenos.csv.gz"), dtype={"pheno": str})
    ref = ref.set_index("pheno")
    kinship = calc_kinship(bxd_whole_genome, type="loco")
    moved = _perturbed(bxd_whole_genome, 1e-14, seed=1)
    for column, marker, kin in (("maxlod", "marker", None),
                                ("maxlod_lmm_loco", "marker_lmm_loco", kinship)):  # fmt: skip
        lod = scan(bxd_pheno, bxd_whole_genome, kinship=kin).lod
        best = lod.max(axis=0)
        expected = ref.loc[best.index, column]
        assert best.isna().sum() == expected.isna().sum() == 3  # n < 3 or no variance
        diff = (best - expected).abs()
        assert np.nanquantile(diff, 0.99) < 1e-6
        off = diff.index[diff > TOL].tolist()
        assert len(off) <= 10, off
        again = scan(bxd_pheno[off], moved, kinship=kin).lod
        for trait in off:
            at = [lod[trait].idxmax(), ref.loc[trait, marker]]
            assert np.abs(again.loc[at, trait] - lod.loc[at, trait]).max() > TOL, trait
