"""QTL effects at the DO_Recla chromosome-2 peak against R/qtl2.

Reference (``scripts/01_do_recla.R``; trait ``OF_immobile_pct``)::

    scan1coef(apr[,"2"], pheno[,topphe], se=TRUE)                        # coef_hk_*
    scan1coef(apr[,"2"], pheno[,topphe], addcovar=sexm, se=TRUE)         # coef_hk_sex_*
    scan1coef(apr[,"2"], pheno[,topphe], k_loco[["2"]], se=TRUE)         # coef_lmm_*
    scan1blup(apr[,"2"], pheno[,topphe])                                 # coef_bl_*
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

from translocus.core.errors import InputError
from translocus.genetics.effects import fit1, scan1blup, scan1coef
from translocus.genetics.scan import scan

ref_path = scan_refs.ref_path

TRAIT = "OF_immobile_pct"
TOL = 1e-5


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(ref_path("DO_Recla", name), dtype={"marker": str}).set_index("marker")


def _maxdiff(ours: pd.DataFrame, ref: pd.DataFrame) -> float:
    cols = list(ref.columns)
    return float(np.nanmax(np.abs(ours.loc[ref.index, cols].to_numpy() - ref.to_numpy())))


def test_scan1coef_hk(do_ref_probs, do_ref_pheno):
    ours = scan1coef(do_ref_pheno[TRAIT], do_ref_probs, chrom="2")
    assert _maxdiff(ours, _ref(f"coef_hk_{TRAIT}_chr2.csv")) < TOL


def test_scan1coef_hk_sex(do_ref_probs, do_ref_pheno, do_ref_sex):
    ours = scan1coef(do_ref_pheno[TRAIT], do_ref_probs, chrom="2", addcovar=do_ref_sex)
    assert _maxdiff(ours, _ref(f"coef_hk_sex_{TRAIT}_chr2.csv")) < TOL


def test_scan1coef_lmm(do_ref_probs, do_ref_pheno, do_ref_kinship_loco):
    ours = scan1coef(do_ref_pheno[TRAIT], do_ref_probs, chrom="2",
                     kinship=do_ref_kinship_loco["2"])  # fmt: skip
    assert _maxdiff(ours, _ref(f"coef_lmm_{TRAIT}_chr2.csv")) < TOL


def test_scan1blup(do_ref_probs, do_ref_pheno):
    """BLUPs against R/qtl2, and where they differ, why.

    The BLUPs scale with the h² estimated at each position, and that likelihood is so flat
    that optimisers stop at slightly different h² (R/qtl2's BLUPs differ from ours by up
    to ~2e-5). At each position we find the h² that reproduces R/qtl2's BLUPs (Gauss-Newton
    on h²) and check two things: our formula gives R/qtl2's BLUPs at that h² (to 1e-7),
    and our h² has a log-likelihood at least as high as R/qtl2's (to 1e-10).
    """
    y = do_ref_pheno[TRAIT]
    ours = scan1blup(y, do_ref_probs, chrom="2")
    ref = _ref(f"coef_bl_{TRAIT}_chr2.csv")
    cols = list(ref.columns)
    assert _maxdiff(ours, ref) < 5e-5
    rows = [list(ours.index).index(m) for m in ref.index]
    h0 = ours.attrs["hsq"][rows]
    probs = do_ref_probs["2"].sel(marker=list(ref.index))
    target = ref.to_numpy()

    def coef_at(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = scan1blup(y, probs, hsq=h)
        return out[cols].to_numpy(), out.attrs["loglik"]

    h = h0.copy()
    step = 1e-7
    for _ in range(3):  # Gauss-Newton on h² per position
        now, _ = coef_at(h)
        slope = (coef_at(h + step)[0] - now) / step
        h = h + np.sum(slope * (target - now), axis=1) / np.sum(slope * slope, axis=1)
    at_r, loglik_r = coef_at(h)
    assert np.abs(at_r - target).max() < 1e-7
    assert (ours.attrs["loglik"][rows] - loglik_r).min() > -1e-10


def test_fit1_reproduces_scan_lod_and_coefficients(do_ref_probs, do_ref_pheno):
    marker = "backupUNC021331957"
    probs = do_ref_probs["2"].sel(marker=marker)
    fit = fit1(do_ref_pheno[TRAIT], probs)
    lod = scan(do_ref_pheno[[TRAIT]], do_ref_probs.subset(chromosomes=["2"])).lod
    assert abs(fit.lod - lod.loc[marker, TRAIT]) < 1e-8
    coef = scan1coef(do_ref_pheno[TRAIT], do_ref_probs, chrom="2", zerosum=False)
    np.testing.assert_allclose(fit.coef.to_numpy(), coef.loc[marker, list("ABCDEFGH")], atol=1e-8)
    np.testing.assert_allclose(fit.fitted + fit.resid, do_ref_pheno[TRAIT].loc[fit.fitted.index])


def test_effects_need_one_chromosome(do_ref_probs, do_ref_pheno):
    with pytest.raises(InputError, match="chrom="):
        scan1coef(do_ref_pheno[TRAIT], do_ref_probs)


def test_scan1coef_ill_conditioned_and_rank_deficient_positions():
    # position 0: well conditioned (normal equations); 1: two nearly equal columns (QR);
    # 2: a column that is zero (pivoted QR drops it: NaN, as R/qtl2); each against lstsq
    import xarray as xr

    rng = np.random.default_rng(11)
    n = 60
    base = rng.dirichlet(np.ones(3), size=(3, n))  # [marker, sample, 3]
    base[1, :, 2] = base[1, :, 1] + 1e-5 * rng.normal(size=n)
    base[2, :, 2] = 0.0
    ids = [f"s{i}" for i in range(n)]
    arr = xr.DataArray(base, dims=("marker", "sample", "allele"),
                       coords={"marker": ["m0", "m1", "m2"], "sample": ids,
                               "allele": ["A", "B", "C"]})  # fmt: skip
    y = pd.Series(base[0] @ [1.0, -2.0, 0.5] + rng.normal(size=n), index=ids, name="y")
    out = scan1coef(y, arr, zerosum=False)
    for m, cols in ((0, [0, 1, 2]), (1, [0, 1, 2]), (2, [0, 1])):
        x = base[m][:, cols]
        beta, *_ = np.linalg.lstsq(x, y.to_numpy(), rcond=None)
        resid = y.to_numpy() - x @ beta
        se = np.sqrt(resid @ resid / (n - len(cols)) * np.diag(np.linalg.inv(x.T @ x)))
        got = out.iloc[m]
        np.testing.assert_allclose(got[["A", "B", "C"]].to_numpy()[cols], beta, rtol=1e-7)
        np.testing.assert_allclose(got[["SE_A", "SE_B", "SE_C"]].to_numpy()[cols], se,
                                   rtol=1e-7)  # fmt: skip
    assert np.isnan(out.loc["m2", "C"]) and np.isnan(out.loc["m2", "SE_C"])
