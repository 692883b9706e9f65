"""Bad or degenerate inputs to the scan: clear errors or documented, tested results."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics.scan import TraitSkippedWarning, batch_by_missing, drop_depcols, scan


def _probs(n: int = 40, markers: int = 5, seed: int = 0, one_marker_chr: bool = False):
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    raw = rng.dirichlet(np.ones(4), size=(markers, n))
    arrays = {"1": xr.DataArray(raw, dims=("marker", "sample", "founder"),
                                coords={"marker": [f"m{i}" for i in range(markers)],
                                        "sample": ids, "founder": list("ABCD"),
                                        "pos_cM": ("marker", np.arange(markers) * 5.0)})}  # fmt: skip
    if one_marker_chr:
        arrays["2"] = xr.DataArray(rng.dirichlet(np.ones(4), size=(1, n)),
                                   dims=("marker", "sample", "founder"),
                                   coords={"marker": ["solo"], "sample": ids,
                                           "founder": list("ABCD"),
                                           "pos_cM": ("marker", [12.0])})  # fmt: skip
    return GenoProbs(probs=arrays, crosstype="do", alleles=tuple("ABCD"), kind="allele"), ids


def test_constant_and_all_missing_traits_are_skipped_with_warning():
    probs, ids = _probs()
    rng = np.random.default_rng(1)
    pheno = pd.DataFrame({"ok": rng.normal(size=40), "flat": 3.0, "empty": np.nan}, index=ids)
    with pytest.warns(TraitSkippedWarning, match="flat"):
        out = scan(pheno, probs)
    assert out.skipped == ("flat", "empty")
    assert np.isfinite(out.lod["ok"]).all()
    assert out.lod[["flat", "empty"]].isna().all().all()
    assert out.sample_size.to_dict() == {"ok": 40, "flat": 40, "empty": 0}


def test_covariate_collinear_with_intercept_is_dropped():
    probs, ids = _probs()
    rng = np.random.default_rng(2)
    pheno = pd.DataFrame({"y": rng.normal(size=40)}, index=ids)
    covar = pd.DataFrame({"const": 2.0, "twice": 4.0}, index=ids)
    assert drop_depcols(covar) is None
    plain = scan(pheno, probs).lod
    with_const = scan(pheno, probs, addcovar=covar).lod
    np.testing.assert_allclose(with_const.to_numpy(), plain.to_numpy(), atol=1e-10)


def test_all_missing_genotypes_give_zero_lod_and_one_marker_chromosome_works():
    probs, ids = _probs(one_marker_chr=True)
    arr = probs["1"].copy()
    arr[2] = 0.25  # a marker typed in nobody: the prior, identical for all
    probs = GenoProbs(probs={"1": arr, "2": probs["2"]}, crosstype="do", alleles=probs.alleles,
                      kind="allele")  # fmt: skip
    rng = np.random.default_rng(3)
    pheno = pd.DataFrame({"y": rng.normal(size=40)}, index=ids)
    out = scan(pheno, probs)
    assert abs(out.lod.loc["m2", "y"]) < 1e-10
    assert np.isfinite(out.lod.loc["solo", "y"])


def test_rank_deficient_marker_matches_reduced_model():
    """A founder absent at a marker: the LOD equals the fit without that column."""
    probs, ids = _probs()
    arr = probs["1"].values.copy()
    arr[1, :, 3] = 0.0
    arr[1] /= arr[1].sum(axis=1, keepdims=True)
    rng = np.random.default_rng(4)
    y = rng.normal(size=40)
    probs2 = GenoProbs(probs={"1": probs["1"].copy(data=arr)}, crosstype="do",
                       alleles=probs.alleles, kind="allele")  # fmt: skip
    out = scan(pd.DataFrame({"y": y}, index=ids), probs2).lod.loc["m1", "y"]
    x = np.column_stack([np.ones(40), arr[1, :, 1:3]])
    rss1 = np.sum((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2)
    rss0 = np.sum((y - y.mean()) ** 2)
    assert abs(out - 20 * np.log10(rss0 / rss1)) < 1e-10


def test_non_psd_kinship_and_missing_loco_chromosome():
    probs, ids = _probs()
    rng = np.random.default_rng(5)
    pheno = pd.DataFrame({"y": rng.normal(size=40)}, index=ids)
    bad = pd.DataFrame(np.eye(40) - 0.5, index=ids, columns=ids)
    with pytest.raises(InputError, match="not positive semi-definite"):
        scan(pheno, probs, kinship=bad)
    with pytest.raises(InputError, match="no matrix for chromosomes"):
        scan(pheno, probs, kinship={"2": pd.DataFrame(np.eye(40), index=ids, columns=ids)})


def test_mismatched_ids_and_text_covariates():
    probs, ids = _probs()
    pheno = pd.DataFrame({"y": np.arange(40.0)}, index=[f"other{i}" for i in range(40)])
    with pytest.raises(InputError, match="individuals"):
        scan(pheno, probs)
    pheno = pd.DataFrame({"y": np.arange(40.0)}, index=ids)
    with pytest.raises(InputError, match="column 'sex'"):
        scan(pheno, probs, addcovar=pd.DataFrame({"sex": ["male", "female"] * 20}, index=ids))


def test_weights_equal_duplicated_observations_rss():
    """Weight 2 scales RSS terms like a duplicated observation (HK, closed form)."""
    probs, ids = _probs(n=30)
    rng = np.random.default_rng(6)
    y = pd.DataFrame({"y": rng.normal(size=30)}, index=ids)
    w = pd.Series(np.ones(30), index=ids)
    w.iloc[:5] = 2.0
    out = scan(y, probs, weights=w).lod["y"]
    x = probs["1"].values[0]
    sw = np.sqrt(w.to_numpy())
    design = np.column_stack([np.ones(30), x[:, 1:]]) * sw[:, None]
    yw = y["y"].to_numpy() * sw
    rss1 = np.sum((yw - design @ np.linalg.lstsq(design, yw, rcond=None)[0]) ** 2)
    c = sw[:, None]
    rss0 = np.sum((yw - c @ np.linalg.lstsq(c, yw, rcond=None)[0]) ** 2)
    assert abs(out.iloc[0] - 15 * np.log10(rss0 / rss1)) < 1e-10


def test_interactive_covariate_adds_genotype_by_covariate_terms():
    probs, ids = _probs(n=60, seed=7)
    rng = np.random.default_rng(8)
    sex = pd.DataFrame({"sex": np.repeat([0.0, 1.0], 30)}, index=ids)
    y = pd.DataFrame({"y": rng.normal(size=60)}, index=ids)
    add = scan(y, probs, addcovar=sex).lod["y"]
    inter = scan(y, probs, addcovar=sex, intcovar=sex).lod["y"]
    assert (inter.to_numpy() >= add.to_numpy() - 1e-10).all()
    x = probs["1"].values[0][:, 1:]
    s = sex["sex"].to_numpy()
    full = np.column_stack([np.ones(60), s, x, x * s[:, None]])
    null = np.column_stack([np.ones(60), s])
    yy = y["y"].to_numpy()
    rss1 = np.sum((yy - full @ np.linalg.lstsq(full, yy, rcond=None)[0]) ** 2)
    rss0 = np.sum((yy - null @ np.linalg.lstsq(null, yy, rcond=None)[0]) ** 2)
    assert abs(inter.iloc[0] - 30 * np.log10(rss0 / rss1)) < 1e-10


def test_batches_follow_qtl2_order():
    y = np.array([[1.0, 2, np.nan, np.nan, 1], [np.nan, 1, 2, np.nan, 1], [1, 2, 3, 4, 5]])
    batches = batch_by_missing(y)
    # complete columns, then single-missing batches by the missing row, then the others
    assert [b.cols.tolist() for b in batches] == [[1, 4], [2], [0], [3]]
    assert [b.omit.tolist() for b in batches] == [[], [0], [1], [0, 1]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(batch_by_missing(np.ones((3, 2)))) == 1
