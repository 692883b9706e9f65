"""The structured forward-backward kernels against the plain one with explicit matrices.

:func:`forward_backward_do` (the 36 DO genotypes held as the cells ``a <= b`` of a symmetric
haplotype-pair matrix) and :func:`forward_backward_uniform` (stay/move transitions run in
genotype columns, a line's funnel only permuting its prior) must give what
:func:`forward_backward_dense` gives with the model's full transition matrices, with
pseudomarkers and missing calls, and the same numbers with one and two threads. The founder
emission table is checked against its definition.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from translocus.core.simulate import simulate_cross
from translocus.genetics._hmm_numba import forward_backward_dense
from translocus.genetics.crosstypes import N_OBS_CODES
from translocus.genetics.crosstypes.do import DiversityOutbred
from translocus.genetics.crosstypes.multiway import founder_emission
from translocus.genetics.crosstypes.risib8 import RISib8
from translocus.genetics.genoprob import calc_genoprob, marker_layout

TOL = 1e-12


def _simulated(cross_type: str, n: int, seed: int) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross = simulate_cross(cross_type=cross_type, n=n, n_markers=240, seed=seed,
                               missing_rate=0.05, n_traits=1).cross  # fmt: skip
    return cross.subset(chromosomes=["1"])


def _dense(cross: Any, model: Any, *, step: float, infos: np.ndarray) -> np.ndarray:
    """Line by line with the model's full transition matrices (the plain kernel)."""
    layout = marker_layout(cross, "1", step=step, off_end=0.0, stepwidth="fixed",
                           map_function="haldane")  # fmt: skip
    geno = np.ascontiguousarray(cross.geno["1"], dtype=np.int8)
    n_geno = model.n_genotypes(False)
    out = np.zeros((len(layout.positions), geno.shape[0], n_geno))
    for i, info in enumerate(infos):
        args: dict[str, Any] = {"is_x": False, "is_female": True, "cross_info": info}
        emit = model.emission(error_prob=0.002, founder_geno=cross.founder_geno["1"],
                              n_markers=geno.shape[1], **args)  # fmt: skip
        forward_backward_dense(geno, np.array([i]), layout.marker_index, emit, model.init(**args),
                               model.transition(layout.rf, **args), out,
                               np.arange(n_geno))  # fmt: skip
    return out


@pytest.mark.parametrize("step", [0.0, 1.0])
def test_do_kernel_equals_the_36_by_36_matrices(step):
    cross = _simulated("do", 12, seed=3)
    ngen = np.array([4, 7, 12] * 4)  # generations differ between mice: several groups
    cross = replace(cross, cross_info=cross.cross_info.assign(ngen=ngen))
    want = _dense(cross, DiversityOutbred(), step=step, infos=ngen[:, None])
    one = calc_genoprob(cross, error_prob=0.002, step=step, cores=1)["1"].values
    two = calc_genoprob(cross, error_prob=0.002, step=step, cores=2)["1"].values
    np.testing.assert_allclose(one, want, atol=TOL)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("step", [0.0, 1.0])
def test_uniform_kernel_follows_each_lines_funnel(step):
    cross = _simulated("risib8", 9, seed=4)
    assert cross.crosstype == "risib8"
    infos = cross.cross_info.to_numpy(dtype=np.int64)
    assert len({tuple(r) for r in infos}) > 1
    want = _dense(cross, RISib8(), step=step, infos=infos)
    one = calc_genoprob(cross, error_prob=0.002, step=step, cores=1)["1"].values
    two = calc_genoprob(cross, error_prob=0.002, step=step, cores=2)["1"].values
    np.testing.assert_allclose(one, want, atol=TOL)
    np.testing.assert_array_equal(one, two)


def test_founder_emission_is_its_definition():
    rng = np.random.default_rng(7)
    founders = rng.integers(-1, 8, size=(8, 50))  # untyped and odd codes included
    got = founder_emission(founders, n_founders=8, n_markers=50, error_prob=0.01, name="risib8")
    for m in range(50):
        for code in range(N_OBS_CODES):
            for f in range(8):
                allele = founders[f, m]
                want = 1.0
                if code > 0 and allele in (1, 3):
                    want = 0.99 if code == allele else 0.01
                assert got[m, code, f] == want
