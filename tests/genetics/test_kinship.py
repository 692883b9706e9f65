"""Kinship matrices against R/qtl2 0.43-5 (``calc_kinship(apr, "overall")`` and ``"loco"``)
and algebraic identities between the overall, LOCO and per-chromosome forms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.model import Cross
from translocus.genetics.genoprob import calc_genoprob
from translocus.genetics.kinship import calc_kinship

TOL = 1e-8
CHROMS = [str(c) for c in range(1, 20)] + ["X"]


def _diff(k, ref: pd.DataFrame) -> float:
    got = k.sel(sample=list(ref.index), sample2=list(ref.columns)).values
    return float(np.abs(got - ref.to_numpy()).max())


@pytest.mark.parametrize("folder", ["DO_Recla", "BXD"])
def test_kinship_matches_qtl2(folder, request, qtl2_ref_tools):
    read_ref_kinship, ref_path = qtl2_ref_tools.read_ref_kinship, qtl2_ref_tools.ref_path
    probs = request.getfixturevalue(
        "do_recla_alleleprob" if folder == "DO_Recla" else "bxd_genoprob"
    )
    overall = calc_kinship(probs)
    assert overall.dims == ("sample", "sample2")
    assert _diff(overall, read_ref_kinship(ref_path(folder, "kinship_overall.csv.gz"))) < TOL
    loco = calc_kinship(probs, type="loco")
    assert list(loco) == CHROMS
    for chrom in CHROMS:
        ref = read_ref_kinship(ref_path(folder, "kinship_loco", f"chr{chrom}.csv.gz"))
        assert _diff(loco[chrom], ref) < TOL, chrom


def test_overall_loco_and_chr_identities(do_recla_alleleprob):
    probs = do_recla_alleleprob.subset(chromosomes=["1", "17", "18", "19", "X"])
    overall = calc_kinship(probs)
    by_chr = calc_kinship(probs, type="chr")
    loco = calc_kinship(probs, type="loco")
    n = {c: probs[c].sizes["marker"] for c in probs}
    total = sum(n.values())
    mean = sum(by_chr[c].values * n[c] for c in probs) / total
    np.testing.assert_allclose(overall.values, mean, atol=1e-12)
    for c in ("1", "X"):
        np.testing.assert_allclose(
            loco[c].values,
            (overall.values * total - by_chr[c].values * n[c]) / (total - n[c]),
            atol=1e-12,
        )
    k = overall.values
    np.testing.assert_allclose(k, k.T, atol=0)
    assert np.all(np.diag(k) >= 1 / 8) and np.all(np.diag(k) <= 1.0)
    assert overall.attrs["n_pos"] == total


def test_omit_x(do_recla_alleleprob):
    probs = do_recla_alleleprob.subset(chromosomes=["18", "19", "X"])
    auto = calc_kinship(probs.subset(chromosomes=["18", "19"]))
    without_x = calc_kinship(probs, omit_x=True)
    np.testing.assert_allclose(without_x.values, auto.values, atol=1e-13)
    loco = calc_kinship(probs, type="loco", omit_x=True)
    np.testing.assert_allclose(loco["X"].values, auto.values, atol=1e-13)


def test_genotype_probabilities_without_allele_conversion():
    """Two inbred lines identical at one of two loci: K = mean over loci of p_i . p_j."""
    cross = Cross(crosstype="riself", individuals=("a", "b"),
                  geno={"1": np.array([[1, 1], [1, 2]], dtype=np.int8)},
                  gmap={"1": pd.Series([0.0, 50.0], index=["m1", "m2"])},
                  alleles=("A", "B"), x_chr=None)  # fmt: skip
    pr = calc_genoprob(cross, error_prob=0.0)
    p = pr["1"].values
    expected = np.einsum("mig,mjg->ij", p, p) / 2
    got = calc_kinship(pr, use_allele_probs=False)
    np.testing.assert_allclose(got.values, expected, atol=1e-15)
    assert got.values[0, 1] == pytest.approx(0.5)


def test_bad_type():
    with pytest.raises(InputError, match="kinship type"):
        calc_kinship(calc_genoprob(Cross(crosstype="riself", individuals=("a",),
                     geno={"1": np.array([[1]], dtype=np.int8)},
                     gmap={"1": pd.Series([0.0], index=["m"])}, x_chr=None)), type="ibs")  # fmt: skip
