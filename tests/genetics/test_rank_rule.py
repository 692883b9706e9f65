"""R/qtl2's rank rule in every fitting path: a panel with a lost and a nearly lost founder.

R/qtl2 fits each position by Eigen's column-pivoted Householder QR and drops a column whose
pivot is at most 1e-12 of the largest. The reference (``tests/reference/qtl2/rank/rank.R``,
qtl2 0.43-5) is a simulated risib8 panel (``make_panel.py``) in which founder H is lost from
every line and G nearly lost, with H's probabilities on part of chromosome 3 set to values
between 1e-16 and 1e-13 that vary from line to line (dropped by the rule although not
collinear) and G's to values between 1e-16 and 1e-8 (kept)::

    pr <- calc_genoprob(x, error_prob=1e-8)        # then edited; genoprob.csv.gz
    scan1(pr, x$pheno)                             # lod_hk.csv
    scan1(pr, x$pheno, calc_kinship(pr, "loco"))   # lod_lmm_loco.csv, hsq_loco.csv
    scan1coef(pr[, "3"], x$pheno[, 1], zerosum=FALSE)  # coef_hk_3.csv (coef_lmm_3.csv: LOCO)

The scans here read exactly those probabilities.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.model import GenoProbs
from translocus.core.qtl2io import read_cross
from translocus.genetics.effects import scan1coef
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import scan

REF = Path(__file__).parents[1] / "reference" / "qtl2" / "rank"
LOD_TOL = 1e-5
BACKENDS = ["cpu", "numpy", "torch"]


@pytest.fixture(scope="module")
def panel() -> tuple[GenoProbs, pd.DataFrame]:
    cross = read_cross(REF / "cross" / "rank.json")
    ref = pd.read_csv(REF / "genoprob.csv.gz", dtype={"ind": str, "marker": str})
    inds = list(dict.fromkeys(ref["ind"]))
    states = list(ref.columns[2:])
    arrays = {}
    for chrom, gmap in cross.gmap.items():
        part = ref[ref["marker"].isin(gmap.index)]
        values = part[states].to_numpy(float).reshape(len(gmap), len(inds), len(states))
        arrays[chrom] = xr.DataArray(
            values, dims=("marker", "sample", "founder"),
            coords={"marker": list(gmap.index), "sample": inds, "founder": list("ABCDEFGH"),
                    "pos_cM": ("marker", gmap.to_numpy())},
        )  # fmt: skip
    probs = GenoProbs(probs=arrays, crosstype="risib8", alleles=tuple("ABCDEFGH"), kind="allele")
    return probs, cross.pheno.loc[inds]


def test_panel_has_columns_on_both_sides_of_the_rule(panel):
    """Some positions lose a column to the 1e-12 rule, others keep a column of 1e-8 or less."""
    probs, _ = panel
    ratios = []
    for arr in probs.probs.values():
        for x in arr.values:  # [line, founder]: centred, as R/qtl2 residualises on the intercept
            sv = np.linalg.svd(x - x.mean(axis=0), compute_uv=False)
            ratios.append(sv[6] / sv[0])  # the 8th is the sum-to-one direction
    ratios = np.array(ratios)
    assert np.sum(ratios < 1e-12) >= 20
    assert np.sum((ratios > 1e-11) & (ratios < 1e-7)) >= 10


def _compare(out, path: Path) -> None:
    ref = pd.read_csv(path, dtype={"marker": str}).set_index("marker")
    traits = list(ref.columns[2:])
    got = out.lod.loc[ref.index, traits].to_numpy()
    np.testing.assert_allclose(got, ref[traits].to_numpy(), rtol=0, atol=LOD_TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hk_matches_r_qtl2(panel, backend):
    probs, pheno = panel
    _compare(scan(pheno, probs, backend=backend), REF / "lod_hk.csv")


@pytest.mark.parametrize("backend", BACKENDS)
def test_lmm_loco_matches_r_qtl2(panel, backend):
    probs, pheno = panel
    out = scan(pheno, probs, kinship=calc_kinship(probs, type="loco"), backend=backend)
    _compare(out, REF / "lod_lmm_loco.csv")
    hsq = pd.read_csv(REF / "hsq_loco.csv", dtype={"chr": str}).set_index("chr")
    got = np.asarray(out.hsq.loc[hsq.index, hsq.columns], dtype=float)
    np.testing.assert_allclose(got, hsq.to_numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("lmm", [False, True], ids=["hk", "lmm"])
def test_effects_drop_the_columns_r_qtl2_drops(panel, lmm):
    """scan1coef on chromosome 3: H's coefficient is NA where its column is below the rule.

    Where two columns tie to rounding (G and H both nearly lost at one position) pivoted QR
    may keep either; there the fitted values and the number of dropped columns are compared.
    """
    probs, pheno = panel
    kin = calc_kinship(probs, type="loco") if lmm else None
    ref = pd.read_csv(REF / f"coef_{'lmm' if lmm else 'hk'}_3.csv", dtype={"marker": str})
    ref = ref.set_index("marker")
    got = scan1coef(pheno.iloc[:, 0], probs, chrom="3", kinship=kin, zerosum=False, se=False)
    g = got.loc[ref.index, list("ABCDEFGH")].to_numpy()
    r = ref.to_numpy()
    x = probs.probs["3"].sel(marker=list(ref.index)).values  # [M, n, 8]
    assert np.isnan(r[:20, 7]).all()  # the lost founder's column, dropped
    np.testing.assert_array_equal(np.isnan(g).sum(axis=1), np.isnan(r).sum(axis=1))
    fit_g = np.einsum("mnk,mk->mn", x, np.nan_to_num(g))
    fit_r = np.einsum("mnk,mk->mn", x, np.nan_to_num(r))
    # (ill-conditioned positions: both fits are accurate to about 1e-5 there)
    np.testing.assert_allclose(fit_g, fit_r, rtol=0, atol=1e-4)
    same = (np.isnan(g) == np.isnan(r)).all(axis=1)
    assert same.sum() >= 0.8 * same.size
    np.testing.assert_allclose(g[same], r[same], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(g[same, :6], r[same, :6], rtol=0, atol=1e-5)
