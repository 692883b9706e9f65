"""A trait's LODs and heritabilities do not depend on how the work is split.

The same numbers, to 1e-12, for one or two threads, for three groupings of the traits into
separate scans, and for two Dask chunkings of the traits. Each trait's rotation and null fit
are computed on their own (Brent's search for h² moves by its tolerance, about 1e-7, on
inputs a unit in the last place apart), the products of genotype moments with the traits go
in blocks of one width, the marker chunks do not depend on the traits or the threads, and
BLAS runs on one thread while any scan holds it there, whichever thread asked (a Dask worker's
tasks run in threads of their own).

The groupings keep the individuals of the scan (each group has a fully observed trait): a
scan leaves out individuals no trait of it observes, and a model on other individuals is
another fit. The Dask chunks keep them by construction.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.simulate import simulate_cross
from translocus.core.threads import _controller, blas_threads
from translocus.genetics.distributed import scan_distributed
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import scan

TOL = 1e-12
N_TRAIT = 7
#: three ways to split the traits into separate scans (each group has trait 0 or 1: complete)
GROUPINGS = [
    [[0, 1, 2, 3, 4, 5, 6]],
    [[0, 2, 3], [1, 4, 5, 6]],
    [[0, 2], [1, 3], [0, 4, 5], [1, 6]],
]
MODELS = ["hk", "lmm_loco", "lmm_overall"]


@pytest.fixture(scope="module")
def cross():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = simulate_cross(cross_type="do", n=120, seed=5, n_markers=250, n_traits=N_TRAIT)
        apr = genoprob_to_alleleprob(calc_genoprob(sim.cross, error_prob=0.002))
    pheno = sim.cross.pheno.copy()
    pheno.iloc[[1, 7, 20], 2] = np.nan  # few missing: dummy covariates in the full group
    pheno.iloc[3::4, 4] = np.nan  # many missing: a group of its own
    pheno.iloc[[5], 6] = np.nan
    kin = {"hk": None, "lmm_loco": calc_kinship(apr, type="loco"),
           "lmm_overall": calc_kinship(apr)}  # fmt: skip
    return apr, pheno, kin


def _combine(outs, pheno):
    lod = pd.concat([o.lod for o in outs], axis=1)
    lod = lod.loc[:, ~lod.columns.duplicated()][pheno.columns]
    if outs[0].hsq is None:
        return lod.to_numpy(), None
    hsq = pd.concat([o.hsq for o in outs], axis=1)
    return lod.to_numpy(), hsq.loc[:, ~hsq.columns.duplicated()][pheno.columns].to_numpy()


def _check(got, ref, lod_tol=TOL):
    if ref[1] is not None:
        np.testing.assert_allclose(got[1], ref[1], rtol=0, atol=TOL)
    np.testing.assert_allclose(got[0], ref[0], rtol=0, atol=lod_tol)


@pytest.fixture(scope="module")
def reference(cross):
    apr, pheno, kin = cross
    return {m: _combine([scan(pheno, apr, kinship=kin[m], threads=1)], pheno) for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_threads(cross, reference, model):
    apr, pheno, kin = cross
    _check(_combine([scan(pheno, apr, kinship=kin[model], threads=2)], pheno), reference[model])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("grouping", range(len(GROUPINGS)))
def test_trait_groupings(cross, reference, model, grouping):
    apr, pheno, kin = cross
    outs = [scan(pheno.iloc[:, g], apr, kinship=kin[model], threads=1 + grouping % 2)
            for g in GROUPINGS[grouping]]  # fmt: skip
    _check(_combine(outs, pheno), reference[model])


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


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("per_task", [1, 3])
def test_dask_chunkings(cross, reference, client, model, per_task):
    apr, pheno, kin = cross
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = scan_distributed(pheno, apr, kinship=kin[model], client=client,
                               traits_per_task=per_task)  # fmt: skip
    _check(_combine([out], pheno), reference[model])


def test_blas_limit_holds_in_other_threads():
    """A one-thread BLAS asked for in a worker thread holds there, after the main thread set one."""

    def blas_counts():
        return [lib.get_num_threads() for lib in _controller().lib_controllers
                if lib.user_api == "blas"]  # fmt: skip

    with blas_threads(1):
        assert set(blas_counts()) == {1}
    seen = {}

    def worker():
        with blas_threads(1):
            seen["inside"] = blas_counts()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert set(seen["inside"]) == {1}
