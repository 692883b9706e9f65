"""One model specification for the scan and its permutations, and a per-call thread limit."""

from __future__ import annotations

import os
import threading
from dataclasses import FrozenInstanceError, replace

import numba
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from threadpoolctl import threadpool_info

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.threads import worker_count
from translocus.genetics import ModelSpec, calc_kinship, scan, scan_perm
from translocus.genetics.spec import thread_limit


@pytest.fixture(scope="module")
def data() -> tuple[GenoProbs, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    n = 36
    ids = [f"s{i}" for i in range(n)]

    def chrom(name: str, m: int) -> xr.DataArray:
        return xr.DataArray(
            rng.dirichlet(np.ones(4), size=(m, n)),
            dims=("marker", "sample", "founder"),
            coords={"marker": [f"{name}_{i}" for i in range(m)], "sample": ids,
                    "founder": list("ABCD"), "pos_cM": ("marker", np.arange(m) * 4.0)},
        )  # fmt: skip

    probs = GenoProbs(probs={"1": chrom("1", 4), "2": chrom("2", 3), "X": chrom("X", 3)},
                      crosstype="do", alleles=tuple("ABCD"), kind="allele")  # fmt: skip
    pheno = pd.DataFrame({"BW": rng.normal(size=n), "Hb": rng.normal(size=n)}, index=ids)
    pheno.iloc[:3, 1] = np.nan
    sex = pd.DataFrame({"sex": rng.integers(0, 2, size=n).astype(float)}, index=ids)
    return probs, pheno, sex


def test_spec_gives_the_same_lods_as_keyword_arguments(data):
    probs, pheno, sex = data
    loco = calc_kinship(probs, type="loco")
    weights = pd.Series(np.linspace(0.5, 2.0, len(pheno)), index=pheno.index)
    cases = [
        ({"addcovar": sex, "intcovar": sex, "weights": weights}, {}),
        ({"kinship": loco, "addcovar": sex, "Xcovar": sex}, {"reml": False}),
    ]
    for model, extra in cases:
        old = scan(pheno, probs, **model, **extra)
        spec = ModelSpec(phenotypes=pheno, **model, **extra)
        for new in (scan(probs=probs, spec=spec, threads=1), scan(spec, probs)):
            np.testing.assert_array_equal(new.lod.to_numpy(), old.lod.to_numpy())
            xr.testing.assert_identical(new.data, old.data)


def test_spec_gives_the_same_permutation_maxima(data):
    probs, pheno, sex = data
    kinship = calc_kinship(probs)
    old = scan_perm(pheno, probs, kinship=kinship, addcovar=sex, Xcovar=sex, n_perm=3,
                    perm_Xsp=True, seed=11)  # fmt: skip
    spec = ModelSpec(phenotypes=pheno, kinship=kinship, addcovar=sex, Xcovar=sex)
    new = scan_perm(probs=probs, spec=spec, n_perm=3, perm_Xsp=True, seed=11, threads=2)
    pd.testing.assert_frame_equal(new.maxlod, old.maxlod)
    assert new.maxlod_x is not None and old.maxlod_x is not None
    pd.testing.assert_frame_equal(new.maxlod_x, old.maxlod_x)


def test_model_given_twice_or_not_at_all_is_an_error(data):
    probs, pheno, sex = data
    spec = ModelSpec(phenotypes=pheno)
    with pytest.raises(InputError, match="addcovar given both"):
        scan(probs=probs, spec=spec, addcovar=sex)
    with pytest.raises(InputError, match="pheno, reml given both"):
        scan_perm(pheno, probs, spec=spec, reml=True)
    with pytest.raises(InputError, match="once"):
        scan(spec, probs, spec=spec)
    with pytest.raises(InputError, match="give the phenotypes"):
        scan(probs=probs)
    with pytest.raises(InputError, match="genotype probabilities"):
        scan(spec=spec)
    with pytest.raises(InputError, match="reml"):
        ModelSpec(phenotypes=pheno, reml="yes")  # type: ignore[arg-type]


def test_spec_is_frozen_and_replace_changes_a_copy(data):
    _, pheno, sex = data
    spec = ModelSpec(phenotypes=pheno)
    with pytest.raises(FrozenInstanceError):
        spec.addcovar = sex  # type: ignore[misc]
    changed = replace(spec, addcovar=sex, reml=False)
    assert changed.addcovar is sex and not changed.reml and spec.addcovar is None


def _blas_limits() -> list[int]:
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_threads_limit_the_call_and_are_restored(data, monkeypatch):
    probs, pheno, _ = data
    monkeypatch.setenv("TRANSLOCUS_THREADS", "3")
    numba_before = numba.get_num_threads()
    blas_before = _blas_limits()
    seen: list[int] = []
    scan_perm(pheno, probs, n_perm=2, seed=1, threads=1,
              progress=lambda _: seen.append(worker_count()))  # fmt: skip
    assert seen and set(seen) == {1}
    assert os.environ["TRANSLOCUS_THREADS"] == "3" and worker_count() == 3
    assert numba.get_num_threads() == numba_before and _blas_limits() == blas_before
    monkeypatch.delenv("TRANSLOCUS_THREADS")
    with thread_limit(2):
        assert worker_count() == 2 and "TRANSLOCUS_THREADS" not in os.environ
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
        assert all(n <= 2 for n in _blas_limits())
        with thread_limit(1):
            assert worker_count() == 1
        assert worker_count() == 2
    assert numba.get_num_threads() == numba_before and _blas_limits() == blas_before
    with pytest.raises(InputError, match="threads=0"):
        scan(pheno, probs, threads=0)


def test_thread_limit_is_per_thread():
    # another thread keeps its own worker count while one thread runs under a limit
    outside: list[int] = []
    inside = threading.Event()
    done = threading.Event()

    def other() -> None:
        inside.wait()
        outside.append(worker_count())
        done.set()

    worker = threading.Thread(target=other)
    worker.start()
    with thread_limit(1):
        inside.set()
        done.wait()
    worker.join()
    assert outside == [worker_count()]


def test_results_do_not_depend_on_threads(data):
    probs, pheno, sex = data
    kin = calc_kinship(probs)
    one = scan(pheno, probs, kinship=kin, addcovar=sex, threads=1)
    two = scan(pheno, probs, kinship=kin, addcovar=sex, threads=2)
    np.testing.assert_allclose(one.lod.to_numpy(), two.lod.to_numpy(), rtol=0, atol=1e-12)
    perm_one = scan_perm(pheno, probs, addcovar=sex, n_perm=4, seed=3, threads=1)
    perm_two = scan_perm(pheno, probs, addcovar=sex, n_perm=4, seed=3, threads=2)
    np.testing.assert_allclose(perm_one.maxlod.to_numpy(), perm_two.maxlod.to_numpy(), atol=1e-12)
