"""QTL effects at the DO_Recla chromosome-2 peak against R/qtl2.

Reference (``scripts/01_do_recla.R``; trait ``OF_immobile_pct``)::

    scan1coef(apr[,"2"], pheno[,topphe], se=TRUE)                        # coef_hk_*
    scan1coef(apr[,"2"], pheno[,topphe], addcovar=sexm, se=TRUE)         # coef_hk_sex_*
    scan1coef(apr[,"2"], pheno[,topphe], k_loco[["2"]], se=TRUE)         # coef_lmm_*
    scan1blup(apr[,"2"], pheno[,topphe])                                 # coef_bl_*

and ``tests/reference/qtl2/effects/blup_se.R``: ``scan1blup(..., se=TRUE)`` without and with the
LOCO kinship, every 10th marker of chromosome 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)
import scipy.linalg

from translocus.core.errors import InputError
from translocus.genetics import lmm
from translocus.genetics.effects import fit1, scan1blup, scan1coef
from translocus.genetics.scan import scan

ref_path = scan_refs.ref_path
EFFECTS_REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "effects"

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


def _blup_ref(kind: str) -> pd.DataFrame:
    ref = pd.read_csv(EFFECTS_REF / f"blup_{kind}_{TRAIT}_chr2.csv", dtype={"marker": str})
    ref.columns = [c.strip() for c in ref.columns]
    return ref.set_index("marker")


def _henderson_se(z: np.ndarray, x: np.ndarray, y: np.ndarray, h: float) -> np.ndarray:
    """SEs of the BLUPs and fixed effects from the n-by-n covariance (Henderson's identities).

    ``V = σ²(h ZZ' + (1 - h) I)``; ``Var(β̂) = (X'V⁻¹X)⁻¹`` and the prediction error variance
    ``Var(û - u) = G - G Z' P Z G`` with ``G = h σ² I`` and ``P = V⁻¹ - V⁻¹X(X'V⁻¹X)⁻¹X'V⁻¹``;
    ``σ²`` is the REML estimate (GLS residual sum of squares over ``n - c``).
    """
    n, c = x.shape
    v1 = h * (z @ z.T) + (1 - h) * np.eye(n)  # V / σ²
    vinv = np.linalg.inv(v1)
    xvx = x.T @ vinv @ x
    beta = np.linalg.solve(xvx, x.T @ vinv @ y)
    resid = y - x @ beta
    sigmasq = float(resid @ vinv @ resid) / (n - c)
    p = vinv - vinv @ x @ np.linalg.solve(xvx, x.T @ vinv)
    pev = h * np.eye(z.shape[1]) - h * h * (z.T @ p @ z)
    return np.sqrt(np.concatenate([np.diag(pev), np.diag(np.linalg.inv(xvx))]) * sigmasq)


@pytest.mark.parametrize("kind", ["hk", "loco"])
def test_scan1blup_se(do_ref_probs, do_ref_pheno, do_ref_kinship_loco, kind):
    """BLUPs (with and without a residual kinship) against R/qtl2, their SEs against Henderson.

    The BLUPs match R/qtl2 within the flatness of the per-position h² (see test_scan1blup).
    The SEs follow R/qtl2's formula ``σ² (M'M/(1 - h²) + D)⁻¹`` with ``M = [Z, X]``, but R/qtl2
    0.43-5 pairs the rotated genotype rows with the *unrotated* covariate rows in ``M``
    (scan1blup.cpp uses ``ac`` where the rotated ``X`` belongs), so its SEs depend on the
    eigenvectors' arbitrary signs; ours are checked against the n-by-n mixed-model identities
    instead, at the same h², on the same (rotated and weighted, with a kinship) data.
    """
    y = do_ref_pheno[TRAIT]
    kin = do_ref_kinship_loco["2"] if kind == "loco" else None
    ref = _blup_ref(kind)
    coefs = [c for c in ref.columns if not c.startswith("SE_")]
    ours = scan1blup(y, do_ref_probs, chrom="2", kinship=kin, se=True)
    assert _maxdiff(ours[coefs], ref[coefs]) < 5e-5
    probs = do_ref_probs["2"].sel(marker=list(ref.index[::9]))
    samples = [str(s) for s in probs.coords["sample"].values]
    yv = y.reindex(samples).to_numpy(dtype=float)
    keep = np.isfinite(yv)
    x = np.ones((int(keep.sum()), 1))
    yk = yv[keep]
    geno = probs.values[:, keep, :]
    if kin is not None:  # the null LMM's rotation and weights, computed here on their own
        k2 = 2 * kin.loc[np.array(samples)[keep], np.array(samples)[keep]].to_numpy()
        lam, vec = scipy.linalg.eigh(k2)
        h0 = ours.attrs["hsq_polygenic"]
        rot = vec.T / np.sqrt(h0 * lam + 1 - h0)[:, None]
        x, yk, geno = rot @ x, rot @ yk, np.einsum("ij,mjk->mik", rot, geno)
    at = [list(ours.index).index(m) for m in probs.coords["marker"].values]
    for row, m in zip(at, range(geno.shape[0]), strict=True):
        expected = _henderson_se(geno[m], x, yk, float(ours.attrs["hsq"][row]))
        got = ours.iloc[row][[f"SE_{c}" for c in coefs]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-8)


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


def test_effects_reuse_the_kinship_decomposition(do_ref_probs, do_ref_pheno, do_ref_kinship_loco):
    """A second estimate on the same kinship and individuals reuses its decomposition."""
    y = do_ref_pheno[TRAIT]
    probs = do_ref_probs["2"].isel(marker=slice(0, 3))
    lmm._EIGEN_CACHE.clear()
    first = scan1coef(y, probs, kinship=do_ref_kinship_loco["2"])
    (eig,) = lmm._EIGEN_CACHE.values()
    blup = scan1blup(y, probs, kinship=do_ref_kinship_loco["2"], se=True)
    assert list(lmm._EIGEN_CACHE.values()) == [eig]
    pd.testing.assert_frame_equal(first, scan1coef(y, probs, kinship=do_ref_kinship_loco["2"]))
    assert np.isfinite(blup.to_numpy()).all()
