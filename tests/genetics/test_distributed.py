"""Distributed scans and permutations (Dask LocalCluster) against the single-process functions.

Property checked: splitting traits or permutations over workers changes nothing. Haley-Knott
LODs and permutation maxima equal :func:`scan`/:func:`scan_perm` (to 1e-12); every LMM chunk
equals the single-process LMM scan of the same traits. Inputs are small simulated DO-like
allele probabilities so the cluster tests stay fast.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.store import Store
from translocus.genetics.distributed import (
    StoredProbs,
    permutations_distributed,
    scan_distributed,
)
from translocus.genetics.permute import scan_perm
from translocus.genetics.scan import TraitSkippedWarning, scan

distributed = pytest.importorskip("distributed")

N = 70


def _probs(seed: int = 11) -> GenoProbs:
    rng = np.random.default_rng(seed)
    ids = [f"s{i:02d}" for i in range(N)]
    chroms = {}
    for c, m in (("1", 25), ("2", 20), ("X", 10)):
        chroms[c] = xr.DataArray(
            rng.dirichlet(np.full(4, 0.7), size=(m, N)), dims=("marker", "sample", "founder"),
            coords={"marker": [f"c{c}m{i}" for i in range(m)], "sample": ids,
                    "founder": list("ABCD"), "pos_cM": ("marker", np.arange(m) * 4.0)},
        )  # fmt: skip
    return GenoProbs(probs=chroms, crosstype="do", alleles=tuple("ABCD"), kind="allele")


@pytest.fixture(scope="module")
def data():
    probs = _probs()
    ids = list(probs.samples)
    rng = np.random.default_rng(3)
    pheno = pd.DataFrame(rng.normal(size=(N, 9)), index=ids, columns=[f"t{i}" for i in range(9)])
    pheno.iloc[[2, 5], 3] = np.nan
    pheno.iloc[7, 6] = np.nan
    pheno.iloc[0, :4] = np.nan  # s00 not observed in the first chunk of 4 traits
    sex = pd.DataFrame({"sex": (np.arange(N) % 2).astype(float)}, index=ids)
    g = rng.normal(size=(N, 300))
    kin = pd.DataFrame(np.corrcoef(g) / 2, index=ids, columns=ids)
    return probs, pheno, sex, kin


def test_no_client_is_a_clear_error(data):
    probs, pheno, _, _ = data
    from distributed import default_client

    try:
        default_client()
        pytest.skip("a default Dask client is running in this process")
    except ValueError:
        pass
    with pytest.raises(InputError, match="no Dask client"):
        scan_distributed(pheno, probs)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                               dashboard_address=None)  # fmt: skip
    with Client(cluster) as c:
        yield c
    cluster.close()


def test_hk_scan_equals_single_process(data, client):
    probs, pheno, sex, _ = data
    single = scan(pheno, probs, addcovar=sex)
    dist = scan_distributed(pheno, probs, addcovar=sex, client=client, traits_per_task=2)
    assert dist.traits == single.traits and dist.markers == single.markers
    np.testing.assert_allclose(dist.lod.to_numpy(), single.lod.to_numpy(), rtol=0, atol=1e-12)
    assert (dist.sample_size == single.sample_size).all()
    # workers may run the backend scan instead
    acc = scan_distributed(pheno, probs, addcovar=sex, client=client, backend="numpy")
    assert acc.data.attrs["backend"] == "numpy"
    np.testing.assert_allclose(acc.lod.to_numpy(), single.lod.to_numpy(), rtol=0, atol=1e-10)


def test_lmm_chunks_equal_single_process_scans(data, client):
    probs, pheno, sex, kin = data
    dist = scan_distributed(pheno, probs, kinship=kin, addcovar=sex, client=client,
                            traits_per_task=4)  # fmt: skip
    assert dist.traits == list(pheno.columns)
    for start in range(0, 9, 4):
        chunk = pheno.iloc[:, start : start + 4]
        warnings.simplefilter("ignore", TraitSkippedWarning)  # the '_keep' helper column
        # the chunk's scan on the full scan's individuals (s00 lacks the first 4 traits)
        one = scan(chunk.assign(_keep=1.0), probs, kinship=kin, addcovar=sex) \
            if start == 0 else scan(chunk, probs, kinship=kin, addcovar=sex)  # fmt: skip
        sub = dist.subset(traits=list(chunk.columns))
        assert sub.hsq is not None and one.hsq is not None
        np.testing.assert_allclose(sub.lod.to_numpy(), one.lod[list(chunk.columns)].to_numpy(),
                                   rtol=0, atol=1e-12)  # fmt: skip
        np.testing.assert_allclose(sub.hsq.to_numpy(), one.hsq[list(chunk.columns)].to_numpy(),
                                   rtol=0, atol=1e-12)  # fmt: skip
    # and the whole scan agrees with the single-process one to the h² optimiser's tolerance
    single = scan(pheno, probs, kinship=kin, addcovar=sex)
    assert np.nanmax(np.abs(dist.lod.to_numpy() - single.lod.to_numpy())) < 1e-5


def test_permutations_equal_scan_perm(data, client):
    probs, pheno, sex, kin = data
    y = pheno[["t4"]]
    ref = scan_perm(y, probs, n_perm=30, seed=8)
    out = permutations_distributed(y, probs, n_perm=30, seed=8, client=client, perms_per_task=7)
    np.testing.assert_allclose(out.maxlod.to_numpy(), ref.maxlod.to_numpy(), rtol=0, atol=1e-12)
    assert out.method == "hk" and out.n_perm == 30
    # X-specific permutations within sex strata: the same two seeded runs as scan_perm
    ref = scan_perm(y, probs, addcovar=sex, Xcovar=sex, n_perm=5, seed=2, perm_Xsp=True)
    out = permutations_distributed(y, probs, addcovar=sex, Xcovar=sex, n_perm=5, seed=2,
                                   perm_Xsp=True, client=client)  # fmt: skip
    np.testing.assert_allclose(out.maxlod.to_numpy(), ref.maxlod.to_numpy(), rtol=0, atol=1e-12)
    assert out.maxlod_x is not None and ref.maxlod_x is not None
    assert out.maxlod_x.shape == ref.maxlod_x.shape and out.maxlod_x.shape[0] > 5
    np.testing.assert_allclose(out.maxlod_x.to_numpy(), ref.maxlod_x.to_numpy(), rtol=0,
                               atol=1e-12)  # fmt: skip
    # LMM permutations (probabilities permuted, h² fixed)
    ref = scan_perm(y, probs, kinship=kin, n_perm=4, seed=5)
    out = permutations_distributed(y, probs, kinship=kin, n_perm=4, seed=5, client=client)
    assert out.method == "lmm"
    np.testing.assert_allclose(out.maxlod.to_numpy(), ref.maxlod.to_numpy(), rtol=0, atol=1e-12)


def test_stored_probs_read_by_workers(data, client, tmp_path):
    probs, pheno, _, _ = data
    store = Store(tmp_path / "store")
    store.write_genoprobs("probs", probs)
    ref = StoredProbs(str(tmp_path / "store"), "probs")
    out = scan_distributed(pheno, ref, client=client, traits_per_task=5)
    single = scan(pheno, probs)
    np.testing.assert_allclose(out.lod.to_numpy(), single.lod.to_numpy(), rtol=0, atol=1e-12)
    perm = permutations_distributed(pheno[["t1"]], ref, n_perm=8, seed=1, client=client)
    np.testing.assert_allclose(perm.maxlod.to_numpy(),
                               scan_perm(pheno[["t1"]], probs, n_perm=8, seed=1).maxlod.to_numpy(),
                               rtol=0, atol=1e-12)  # fmt: skip


def test_bad_inputs(data, client, tmp_path):
    probs, pheno, _, _ = data
    with pytest.raises(InputError, match="traits_per_task"):
        scan_distributed(pheno, probs, client=client, traits_per_task=0)
    with pytest.raises(InputError, match="perms_per_task"):
        permutations_distributed(pheno, probs, client=client, perms_per_task=0)
    with pytest.raises(InputError, match="GenoProbs"):
        scan_distributed(pheno, {"1": None}, client=client)  # type: ignore[arg-type]
    Store(tmp_path / "empty")
    with pytest.raises(InputError, match="no item named"):
        scan_distributed(pheno, StoredProbs(str(tmp_path / "empty"), "x"), client=client)
    with pytest.raises(InputError, match="reserved"):
        scan_distributed(pheno.assign(__translocus_observed__=1.0), probs, client=client)
