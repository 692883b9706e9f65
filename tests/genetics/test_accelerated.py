"""The backend genome scan against the CPU scan and R/qtl2 (DO_Recla chromosomes 19 and X).

References:
- :func:`translocus.genetics.scan.scan` on the same inputs (LODs to 1e-8, h² identical);
- R/qtl2 ``scan1`` of the throughput test's first 20 synthetic N(0,1) traits on DO_Recla
  allele probabilities (``ref/qtl2/scale/lod_hk_first20``, ``lod_lmm_loco_first20``), with
  R/qtl2's own allele probabilities and LOCO kinships as input.

Every comparison runs with the numpy backend (always available) and with torch when it is
installed; CUDA tests are marked ``gpu`` and skip without a CUDA device.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)
import xarray as xr

import backends  # tests/backends.py (on the pytest pythonpath)
from translocus.core.compute import cuda_available
from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics.accelerated import scan_accelerated
from translocus.genetics.scan import scan

BACKENDS = backends.BACKENDS
CHROMS = ["19", "X"]
TOL = 1e-8


@pytest.fixture(scope="module")
def ref_probs() -> GenoProbs:
    return scan_refs.load_ref_alleleprobs("DO_Recla", CHROMS)


@pytest.fixture(scope="module")
def kin_loco() -> dict[str, pd.DataFrame]:
    refs = scan_refs
    return {c: refs.read_ref_kinship(refs.ref_path("DO_Recla", "kinship_loco", f"chr{c}.csv.gz"))
            for c in CHROMS}  # fmt: skip


@pytest.fixture(scope="module")
def pheno() -> pd.DataFrame:
    path = scan_refs.ref_path("DO_Recla", "input_pheno.csv")
    df = pd.read_csv(path, dtype={"id": str}).set_index("id")
    df.index = [str(i) for i in df.index]
    return df


@pytest.fixture(scope="module")
def sex() -> pd.DataFrame:
    df = pd.read_csv(scan_refs.ref_path("DO_Recla", "covariates_used.csv"), dtype={"id": str})
    return pd.DataFrame({"sex": df.iloc[:, 1].to_numpy(float)}, index=df["id"].astype(str))


@pytest.fixture(scope="module")
def synthetic() -> pd.DataFrame:
    df = pd.read_csv(scan_refs.ref_path("scale", "synthetic_first20.csv"), dtype={"id": str})
    return df.set_index("id")


def _maxdiff(a, b) -> float:
    x, y = a.lod.to_numpy(), b.lod.to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y))
    return float(np.nanmax(np.abs(x - y)))


# ---- against the CPU scan ------------------------------------------------------------------

#: Traits with 0, 2 and 3 missing values (several missing-data batches).
TRAITS = ["OF_distance", "OF_immobile_pct", "LD_light_pct", "VC_top_velocity", "TS_time_immobile",
          "TS_latency_immobile", "bw"]  # fmt: skip


@pytest.fixture(scope="module")
def cpu_hk(ref_probs, pheno, sex):
    return scan(pheno[TRAITS], ref_probs, addcovar=sex, Xcovar=sex.rename(columns={"sex": "m"}))


@pytest.fixture(scope="module")
def cpu_lmm(ref_probs, pheno, sex, kin_loco):
    return scan(pheno[TRAITS], ref_probs, kinship=kin_loco, addcovar=sex)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hk_matches_cpu_scan_with_missing_values_and_covariates(backend, ref_probs, pheno, sex,
                                                                cpu_hk):  # fmt: skip
    acc = scan_accelerated(pheno[TRAITS], ref_probs, addcovar=sex,
                           Xcovar=sex.rename(columns={"sex": "m"}), backend=backend)  # fmt: skip
    assert acc.markers == cpu_hk.markers and acc.traits == cpu_hk.traits
    assert _maxdiff(acc, cpu_hk) <= TOL
    assert (acc.sample_size == cpu_hk.sample_size).all()
    assert acc.data.attrs["backend"] == backend and acc.data.attrs["method"] == "hk"


@pytest.mark.parametrize("backend", BACKENDS)
def test_lmm_loco_matches_cpu_scan(backend, ref_probs, pheno, sex, kin_loco, cpu_lmm):
    acc = scan_accelerated(pheno[TRAITS], ref_probs, kinship=kin_loco, addcovar=sex,
                           backend=backend)  # fmt: skip
    assert _maxdiff(acc, cpu_lmm) <= TOL
    assert acc.hsq is not None and cpu_lmm.hsq is not None
    np.testing.assert_array_equal(acc.hsq.to_numpy(), cpu_lmm.hsq.to_numpy())  # same null fits


# ---- against R/qtl2 (throughput test references) ----------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_hk_matches_qtl2_scale_reference(backend, ref_probs, synthetic):
    ref = pd.read_csv(scan_refs.ref_path("scale", "lod_hk_first20.csv.gz")).set_index("marker")
    acc = scan_accelerated(synthetic, ref_probs, backend=backend)
    expected = ref.loc[acc.markers, acc.traits].to_numpy()
    assert acc.lod.shape == (515, 20)
    assert np.max(np.abs(acc.lod.to_numpy() - expected)) <= TOL


@pytest.mark.parametrize("backend", BACKENDS)
def test_lmm_loco_matches_qtl2_scale_reference(backend, ref_probs, synthetic, kin_loco):
    ref = pd.read_csv(scan_refs.ref_path("scale", "lod_lmm_loco_first20.csv.gz"))
    ref = ref.set_index("marker")
    traits = list(synthetic.columns[:5])
    acc = scan_accelerated(synthetic[traits], ref_probs, kinship=kin_loco, backend=backend)
    expected = ref.loc[acc.markers, traits].to_numpy()
    # R/qtl2 and the CPU scan agree to the h² optimiser's tolerance (3.8e-7 here); the backend
    # adds only rounding to the CPU scan (checked above)
    assert np.max(np.abs(acc.lod.to_numpy() - expected)) <= 1e-6


# ---- guarded entries (rank-deficient blocks, near-perfect fits) fall back exactly -----------


def _toy_probs(n: int = 80, m: int = 12, seed: int = 5) -> GenoProbs:
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    raw = rng.dirichlet(np.full(4, 0.6), size=(m, n))
    raw[2, :, 3] = 0.0  # a founder absent at marker 2
    raw[2] /= raw[2].sum(axis=1, keepdims=True)
    raw[5, :, 2] = raw[5, :, 1]  # two identical columns at marker 5
    raw[5] /= raw[5].sum(axis=1, keepdims=True)
    raw[7, :, 1] = raw[7, :, 1] * 1e-9  # a nearly empty column at marker 7
    raw[7] /= raw[7].sum(axis=1, keepdims=True)
    chroms = {}
    for c, sl in (("1", slice(0, 8)), ("X", slice(8, m))):
        block = raw[sl]
        chroms[c] = xr.DataArray(
            block, dims=("marker", "sample", "founder"),
            coords={"marker": [f"m{c}_{i}" for i in range(block.shape[0])], "sample": ids,
                    "founder": list("ABCD"),
                    "pos_cM": ("marker", np.arange(block.shape[0], dtype=float) * 5)},
        )  # fmt: skip
    return GenoProbs(probs=chroms, crosstype="do", alleles=tuple("ABCD"), kind="allele")


@pytest.mark.parametrize("backend", BACKENDS)
def test_degenerate_markers_and_perfect_fit_match_cpu(backend):
    probs = _toy_probs()
    ids = list(probs.samples)
    rng = np.random.default_rng(1)
    g = probs["1"].values
    y = pd.DataFrame(rng.normal(size=(80, 3)), index=ids, columns=["a", "b", "c"])
    y["exact"] = 2.0 + g[4] @ np.array([0.0, 1.0, -2.0, 0.5])  # perfect fit at marker 4
    y.iloc[3, 1] = np.nan
    w = pd.Series(rng.uniform(0.5, 2.0, size=80), index=ids)
    ic = pd.DataFrame({"grp": (np.arange(80) % 2).astype(float)}, index=ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = [(scan(y, probs, **kw), scan_accelerated(y, probs, backend=backend, **kw))
                 for kw in ({}, {"weights": w}, {"intcovar": ic})]  # fmt: skip
        kin = pd.DataFrame(np.corrcoef(rng.normal(size=(80, 200))) / 2, index=ids, columns=ids)
        pairs.append((scan(y, probs, kinship=kin),
                      scan_accelerated(y, probs, kinship=kin, backend=backend)))  # fmt: skip
    for cpu, acc in pairs:
        # a perfect fit has RSS1 at rounding level: its LOD (> 100) is only defined that far
        exact = cpu.lod.to_numpy() > 100
        assert exact.sum() == 1 and np.all(acc.lod.to_numpy()[exact] > 100)
        diff = np.abs(acc.lod.to_numpy() - cpu.lod.to_numpy())[~exact]
        assert np.nanmax(diff) <= TOL


def test_fallback_entries_are_recomputed(monkeypatch):
    """The guards send the degenerate markers to the host kernels (and only those)."""
    import translocus.genetics._scan_torch as kernels

    seen: list[int] = []
    calls: list[int] = []
    real_hk, real_exact = kernels._hk_rss_host, kernels.exact_rss_weighted

    def spy_hk(geno, *args, **kwargs):
        seen.append(geno.shape[0])
        return real_hk(geno, *args, **kwargs)

    def spy_exact(*args, **kwargs):
        calls.append(1)
        return real_exact(*args, **kwargs)

    monkeypatch.setattr(kernels, "_hk_rss_host", spy_hk)
    monkeypatch.setattr(kernels, "exact_rss_weighted", spy_exact)
    probs = _toy_probs()
    ids = list(probs.samples)
    y = pd.DataFrame({"y": np.random.default_rng(2).normal(size=80)}, index=ids)
    scan_accelerated(y, probs, backend="numpy")
    assert 1 <= sum(seen) <= 3  # markers 2, 5 and 7 at most, none on X
    kin = pd.DataFrame(np.eye(80) / 2 + 0.05, index=ids, columns=ids)
    scan_accelerated(y, probs, kinship=kin, backend="numpy")
    assert 1 <= len(calls) <= 3


# ---- backends and errors ---------------------------------------------------------------------


def test_torch_missing_gives_install_hint(monkeypatch, ref_probs, synthetic):
    import translocus.core.compute as compute

    monkeypatch.setattr(compute, "_torch_installed", lambda: False)
    with pytest.raises(InputError, match=r"pip install torch==2\.13\.0"):
        scan_accelerated(synthetic, ref_probs, backend="torch")


def test_bad_backend_and_device(ref_probs, synthetic):
    with pytest.raises(InputError, match="unknown compute backend"):
        scan_accelerated(synthetic, ref_probs, backend="jax")
    with pytest.raises(InputError, match="CPU only"):
        scan_accelerated(synthetic, ref_probs, backend="numpy", device="cuda")
    with pytest.raises(InputError, match="float64"):
        from translocus.core.compute import get_backend

        scan_accelerated(synthetic, ref_probs, backend=get_backend("numpy", dtype="float32"))


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs torch with a CUDA device")
def test_cuda_scan_matches_cpu(ref_probs, synthetic, kin_loco):
    hk = scan_accelerated(synthetic, ref_probs, backend="torch", device="cuda")
    assert hk.data.attrs["device"].startswith("cuda")
    assert _maxdiff(hk, scan(synthetic, ref_probs)) <= TOL
    lmm = scan_accelerated(synthetic, ref_probs, kinship=kin_loco, backend="torch", device="cuda")
    assert _maxdiff(lmm, scan(synthetic, ref_probs, kinship=kin_loco)) <= TOL
