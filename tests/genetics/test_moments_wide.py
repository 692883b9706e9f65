"""The wide scan path (>= 256 traits) against the per-trait path (fewer traits per call).

Scans of many traits take ``_chromosome_lod_wide``: Haley-Knott with one factorisation per
marker shared by the traits, the LMM through the weight basis. Scans of fewer traits take
the moment path that the R/qtl2 comparisons check; a trait's LODs must not depend on which
of the two ran, nor on the traits scanned beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.model import GenoProbs
from translocus.genetics._moments import WIDE_TRAITS
from translocus.genetics.scan import scan

N_TRAIT = 300
#: LOD = n/2 log10(RSS0/RSS1) scales the rounding of either path's RSS by n / (2 ln 10)
ATOL, RTOL = 1e-12, 1e-13


@pytest.fixture(scope="module")
def cross() -> tuple[pd.DataFrame, GenoProbs, pd.DataFrame, pd.DataFrame]:
    """Founder-allele probabilities (two chromosomes), traits with missing values in three
    patterns, sex, and a kinship of the probabilities."""
    rng = np.random.default_rng(2)
    n = 400
    ids = [f"m{i}" for i in range(n)]
    founders = list("ABCDEFGH")
    probs = {}
    for chrom, m_count in (("1", 30), ("2", 20)):
        p = rng.dirichlet(np.full(8, 0.3), size=(m_count, n))
        pos = np.arange(m_count, dtype=float) * 3.0
        probs[chrom] = xr.DataArray(
            p, dims=("marker", "sample", "founder"),
            coords={"marker": [f"c{chrom}_{k}" for k in range(m_count)], "sample": ids,
                    "founder": founders, "pos_cM": ("marker", pos),
                    "pos_Mbp": ("marker", pos)})  # fmt: skip
    genoprobs = GenoProbs(probs=probs, crosstype="do", alleles=tuple(founders), x_chr=None,
                          kind="allele")  # fmt: skip
    flat = np.concatenate([probs[c].values.transpose(1, 0, 2).reshape(n, -1) for c in probs], 1)
    kin = pd.DataFrame(flat @ flat.T / 50, index=ids, columns=ids)
    sex = pd.DataFrame({"sex": rng.integers(0, 2, size=n).astype(float)}, index=ids)
    poly = np.linalg.cholesky(kin.to_numpy() + 1e-6 * np.eye(n)) @ rng.normal(size=(n, N_TRAIT))
    dose = probs["1"].values[12] @ rng.normal(size=8)
    y = rng.normal(size=(n, N_TRAIT)) + poly * rng.uniform(0, 2, size=N_TRAIT)
    y += np.outer(dose, rng.uniform(0, 1.5, size=N_TRAIT))
    y += np.outer(sex["sex"].to_numpy(), rng.normal(size=N_TRAIT))
    pheno = pd.DataFrame(y, index=ids, columns=[f"t{k}" for k in range(N_TRAIT)])
    pheno.iloc[:5, :30] = np.nan  # three missing-data patterns
    pheno.iloc[7:9, 200:210] = np.nan
    return pheno, genoprobs, kin, sex


@pytest.mark.parametrize("method", ["hk", "lmm"])
def test_wide_scan_equals_per_trait_path(cross, method):
    pheno, probs, kin, sex = cross
    assert pheno.shape[1] >= WIDE_TRAITS
    kinship = kin if method == "lmm" else None
    wide = scan(pheno, probs, kinship=kinship, addcovar=sex).data["lod"].values
    narrow = np.column_stack([
        scan(pheno.iloc[:, s : s + 100], probs, kinship=kinship, addcovar=sex).data["lod"].values
        for s in range(0, N_TRAIT, 100)])  # fmt: skip
    assert np.isfinite(narrow).all() and narrow.max() > 5
    np.testing.assert_allclose(wide, narrow, rtol=RTOL, atol=ATOL)
