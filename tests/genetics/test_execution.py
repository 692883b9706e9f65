"""One model, several places to run it: ``backend=``, ``device=``, ``client=`` and ``spec=``.

Property checked: where a scan or its permutations run changes nothing. The torch (CPU
build) and numpy backends, a Dask client and the old entry points (``scan_accelerated``,
``scan_distributed``, ``permutations_distributed``) give the CPU scan's LODs and maxima; the
effect estimates take the scan's ModelSpec (a LOCO kinship gives the chromosome's matrix) and
match R/qtl2's ``scan1coef`` output as the keyword form does.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics import (
    ModelSpec,
    calc_kinship,
    fit1,
    permutations_distributed,
    scan,
    scan1blup,
    scan1coef,
    scan_accelerated,
    scan_distributed,
    scan_perm,
)

N = 48


@pytest.fixture(scope="module")
def data() -> tuple[GenoProbs, ModelSpec]:
    rng = np.random.default_rng(21)
    ids = [f"s{i:02d}" for i in range(N)]

    def chrom(name: str, m: int) -> xr.DataArray:
        return xr.DataArray(
            rng.dirichlet(np.full(4, 0.7), size=(m, N)), dims=("marker", "sample", "founder"),
            coords={"marker": [f"{name}_{i}" for i in range(m)], "sample": ids,
                    "founder": list("ABCD"), "pos_cM": ("marker", np.arange(m) * 3.0)},
        )  # fmt: skip

    probs = GenoProbs(probs={"1": chrom("1", 12), "2": chrom("2", 9), "X": chrom("X", 6)},
                      crosstype="do", alleles=tuple("ABCD"), kind="allele")  # fmt: skip
    pheno = pd.DataFrame(rng.normal(size=(N, 4)), index=ids, columns=["a", "b", "c", "d"])
    pheno.iloc[[1, 7], 1] = np.nan
    pheno.iloc[3:20, 2] = np.nan  # a batch of its own (too many missing for dummies)
    sex = pd.DataFrame({"sex": (np.arange(N) % 2).astype(float)}, index=ids)
    spec = ModelSpec(phenotypes=pheno, addcovar=sex, Xcovar=sex,
                     kinship=calc_kinship(probs, type="loco"))  # fmt: skip
    return probs, spec


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                           dashboard_address=None)  # fmt: skip
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _close(a, b, atol: float) -> None:
    assert a.traits == b.traits and a.markers == b.markers
    np.testing.assert_allclose(a.lod.to_numpy(), b.lod.to_numpy(), rtol=0, atol=atol)
    assert (a.sample_size == b.sample_size).all()


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_backends_equal_the_cpu_scan(data, backend):
    if backend == "torch":
        pytest.importorskip("torch")
    probs, spec = data
    hk_spec = replace(spec, kinship=None)
    for model, atol in ((hk_spec, 1e-10), (spec, 1e-8)):
        cpu = scan(probs=probs, spec=model)
        out = scan(probs=probs, spec=model, backend=backend, device="cpu" if
                   backend == "torch" else None)  # fmt: skip
        _close(out, cpu, atol)
        assert out.data.attrs["backend"] == backend
        assert out.data.attrs["method"] == cpu.data.attrs["method"]
        if model.kinship is not None:
            np.testing.assert_allclose(out.hsq.to_numpy(), cpu.hsq.to_numpy(), atol=1e-10)
    # the old entry point is the same call
    old = scan_accelerated(spec.phenotypes, probs, addcovar=spec.addcovar, Xcovar=spec.Xcovar,
                           kinship=spec.kinship, backend=backend)  # fmt: skip
    _close(old, scan(probs=probs, spec=spec, backend=backend), 0.0)


def test_constant_trait_reports_the_same_sample_size_on_every_backend(data):
    probs, spec = data
    pheno = spec.phenotypes.assign(flat=1.0)
    with pytest.warns(UserWarning, match="could not be scanned"):
        cpu = scan(pheno, probs)
    with pytest.warns(UserWarning, match="could not be scanned"):
        out = scan(pheno, probs, backend="numpy")
    assert out.sample_size["flat"] == cpu.sample_size["flat"] == N


def test_permutation_backends_equal_the_cpu_maxima(data):
    pytest.importorskip("torch")
    probs, spec = data
    model = replace(spec, phenotypes=spec.phenotypes[["a", "b"]])
    for kinship in (None, model.kinship):
        m = replace(model, kinship=kinship)
        cpu = scan_perm(probs=probs, spec=m, n_perm=6, seed=4)
        for backend in ("numpy", "torch"):
            out = scan_perm(probs=probs, spec=m, n_perm=6, seed=4, backend=backend)
            np.testing.assert_allclose(out.maxlod.to_numpy(), cpu.maxlod.to_numpy(), atol=1e-8)


def test_client_equals_the_single_process_scan(data, client):
    probs, spec = data
    for model in (replace(spec, kinship=None), spec):
        single = scan(probs=probs, spec=model)
        dist = scan(probs=probs, spec=model, client=client)
        _close(dist, single, 1e-12)
    # the workers run the call's backend
    acc = scan(probs=probs, spec=replace(spec, kinship=None), client=client, backend="numpy")
    assert acc.data.attrs["backend"] == "numpy"
    _close(acc, scan(probs=probs, spec=replace(spec, kinship=None)), 1e-10)
    old = scan_distributed(spec.phenotypes, probs, addcovar=spec.addcovar, Xcovar=spec.Xcovar,
                           client=client, traits_per_task=1)  # fmt: skip
    _close(old, scan(probs=probs, spec=replace(spec, kinship=None)), 1e-12)


def test_client_permutations_equal_scan_perm(data, client):
    probs, spec = data
    model = replace(spec, phenotypes=spec.phenotypes[["a"]], kinship=None)
    ref = scan_perm(probs=probs, spec=model, n_perm=12, seed=9, perm_Xsp=True)
    seen: list[int] = []
    out = scan_perm(probs=probs, spec=model, n_perm=12, seed=9, perm_Xsp=True, client=client,
                    progress=seen.append)  # fmt: skip
    np.testing.assert_allclose(out.maxlod.to_numpy(), ref.maxlod.to_numpy(), rtol=0, atol=1e-12)
    assert out.maxlod_x is not None and ref.maxlod_x is not None
    np.testing.assert_allclose(out.maxlod_x.to_numpy(), ref.maxlod_x.to_numpy(), atol=1e-12)
    assert sum(seen) == 12 + ref.maxlod_x.shape[0]
    lmm = replace(model, Xcovar=None, kinship=spec.kinship)
    ref = scan_perm(probs=probs, spec=lmm, n_perm=4, seed=2)
    out = scan_perm(probs=probs, spec=lmm, n_perm=4, seed=2, client=client, backend="numpy")
    np.testing.assert_allclose(out.maxlod.to_numpy(), ref.maxlod.to_numpy(), atol=1e-8)
    old = permutations_distributed(model.phenotypes, probs, addcovar=model.addcovar, n_perm=5,
                                   seed=1, client=client)  # fmt: skip
    new = scan_perm(probs=probs, spec=replace(model, Xcovar=None), n_perm=5, seed=1)
    np.testing.assert_allclose(old.maxlod.to_numpy(), new.maxlod.to_numpy(), atol=1e-12)


def test_execution_arguments_are_checked(data):
    probs, spec = data
    with pytest.raises(InputError, match="device='cuda' needs backend='torch'"):
        scan(probs=probs, spec=spec, device="cuda")
    with pytest.raises(InputError, match="unknown compute backend"):
        scan_perm(probs=probs, spec=spec, n_perm=2, backend="jax")
    with pytest.raises(InputError, match="use scan"):
        scan_accelerated(spec.phenotypes, probs, backend="cpu")


TRAIT = "OF_immobile_pct"


def test_effects_take_the_scan_spec(do_ref_probs, do_ref_pheno, do_ref_kinship_loco):
    """``scan1coef(spec=...)`` with the LOCO kinship of the scan against R/qtl2's output.

    Reference (``scripts/01_do_recla.R``, ``DO_Recla/coef_lmm_<trait>_chr2.csv``)::

        scan1coef(apr[,"2"], pheno[,topphe], k_loco[["2"]], se=TRUE)
    """
    spec = ModelSpec(phenotypes=do_ref_pheno[[TRAIT]], kinship=do_ref_kinship_loco)
    ours = scan1coef(probs=do_ref_probs, spec=spec, chrom="2")
    ref = pd.read_csv(scan_refs.ref_path("DO_Recla", f"coef_lmm_{TRAIT}_chr2.csv"),
                      dtype={"marker": str}).set_index("marker")  # fmt: skip
    cols = list(ref.columns)
    assert np.nanmax(np.abs(ours.loc[ref.index, cols].to_numpy() - ref.to_numpy())) < 1e-5
    keyword = scan1coef(do_ref_pheno[TRAIT], do_ref_probs, chrom="2",
                        kinship=do_ref_kinship_loco["2"])  # fmt: skip
    pd.testing.assert_frame_equal(ours, keyword)
    position = do_ref_probs["2"].isel(marker=10)
    one = fit1(probs=position, spec=spec, chrom="2")
    assert one.lod == fit1(do_ref_pheno[TRAIT], position, kinship=do_ref_kinship_loco["2"]).lod
    blup_spec = replace(spec, kinship=None)
    sub = do_ref_probs["2"].isel(marker=slice(0, 4))
    pd.testing.assert_frame_equal(scan1blup(probs=sub, spec=blup_spec),
                                  scan1blup(do_ref_pheno[TRAIT], sub))  # fmt: skip
    pd.testing.assert_frame_equal(
        scan1blup(probs=sub, spec=spec, chrom="2"),
        scan1blup(do_ref_pheno[TRAIT], sub, chrom="2", kinship=do_ref_kinship_loco["2"]),
    )
    with pytest.raises(InputError, match="does not use weights"):
        scan1coef(probs=sub, spec=replace(blup_spec, weights=do_ref_pheno[[TRAIT]] * 0 + 1))
    with pytest.raises(InputError, match="chrom="):
        fit1(probs=position, spec=spec)
