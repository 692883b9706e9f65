"""Panels of lines with their own funnels: one batched kernel call gives the per-line results.

Each line of a multi-parent RIL panel (``risib8``, ``riself8``, ``risib4``, a CC) has its own
funnel (``cross_info``) and so its own transition matrices. :func:`calc_genoprob` runs all
lines in one call of :func:`forward_backward_tables`, with one transition table per
chromosome relabelled per funnel. The reference here is the HMM run line by line with each
line's own tables (:func:`forward_backward_dense`, the model's ``transition``, ``emission``
and ``init`` for that line): equal to 1e-12, and equal across one and two threads.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from translocus.core.simulate import simulate_cross
from translocus.genetics._hmm_numba import forward_backward_dense
from translocus.genetics.crosstypes import get_cross_model
from translocus.genetics.crosstypes.multiway import RISelf8
from translocus.genetics.crosstypes.risib8 import RISib8
from translocus.genetics.genoprob import _FunnelTables, calc_genoprob, marker_layout

TOL = 1e-12
CROSSES = {  # cross type: (lines, markers)
    "risib8": (14, 300),
    "riself8": (14, 300),
    "risib4": (10, 200),
    "riself16": (8, 200),
    "genril8": (8, 200),  # no funnels: every line keeps its own tables
}


def _line_by_line(cross, *, step: float) -> dict[str, np.ndarray]:
    """Genotype probabilities with each line's own tables, one kernel call per line."""
    model = get_cross_model(cross.crosstype)
    ids = list(cross.individuals)
    infos = cross.cross_info.reindex(ids).to_numpy(dtype=np.int64)
    females = (
        cross.is_female.reindex(ids).to_numpy(dtype=bool)
        if len(cross.is_female)
        else np.ones(len(ids), dtype=bool)
    )
    out = {}
    for chrom in cross.chromosomes:
        layout = marker_layout(cross, chrom, step=step, off_end=0.0, stepwidth="fixed",
                               map_function="haldane")  # fmt: skip
        is_x = model.handles_x and cross.is_x(chrom)
        geno = np.ascontiguousarray(cross.geno[chrom], dtype=np.int8)
        probs = np.zeros((len(layout.positions), len(ids), model.n_genotypes(is_x)))
        for i, (info, female) in enumerate(zip(infos, females, strict=True)):
            args: dict[str, Any] = {"is_x": is_x, "is_female": bool(female), "cross_info": info}
            poss = np.asarray(model.possible(**args), dtype=np.int64)
            emit = model.emission(error_prob=0.002, founder_geno=cross.founder_geno[chrom],
                                  n_markers=geno.shape[1], **args)  # fmt: skip
            trans = model.transition(layout.rf, **args)[:, poss][:, :, poss]
            forward_backward_dense(
                geno, np.array([i]), layout.marker_index,
                np.ascontiguousarray(emit[:, :, poss]), np.ascontiguousarray(model.init(**args)[poss]),
                np.ascontiguousarray(trans), probs, poss,
            )  # fmt: skip
        out[chrom] = probs
    return out


@pytest.fixture(scope="module", params=sorted(CROSSES))
def panel(request):
    n, markers = CROSSES[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim = simulate_cross(cross_type=request.param, n=n, n_markers=markers, seed=11,
                             missing_rate=0.05)  # fmt: skip
    return sim.cross


@pytest.mark.parametrize("step", [0.0, 2.0])
def test_batched_lines_equal_line_by_line(panel, step):
    got = calc_genoprob(panel, error_prob=0.002, step=step, cores=2)
    ref = _line_by_line(panel, step=step)
    for chrom, values in ref.items():
        np.testing.assert_allclose(got[chrom].values, values, rtol=0, atol=TOL)
        np.testing.assert_allclose(got[chrom].values.sum(axis=2), 1.0, atol=1e-12)


def test_one_and_two_threads_agree(panel):
    one = calc_genoprob(panel, error_prob=0.002, cores=1)
    two = calc_genoprob(panel, error_prob=0.002, cores=2)
    for chrom in one:
        np.testing.assert_allclose(two[chrom].values, one[chrom].values, rtol=0, atol=TOL)


def test_every_funnel_of_a_multiparent_panel_is_relabelled():
    """The lines share the canonical funnel's tables, X chromosome included (risib8)."""
    for crosstype in ("risib8", "riself8", "risib4"):
        model = get_cross_model(crosstype)
        tables = _FunnelTables(model)
        rng = np.random.default_rng(3)
        for _ in range(20):
            info = rng.permutation(model.n_alleles) + 1
            for is_x in (False, True):
                relabel = tables.relabelling(is_x=is_x, is_female=True, cross_info=info)
                assert relabel is not None
                assert sorted(relabel.tolist()) == list(range(relabel.size))


class _NotAFunnel(RISelf8):
    """Transition matrices that depend on the founders' labels, not on their funnel places."""

    def transition(self, rf, *, is_x, is_female, cross_info):
        out = super().transition(rf, is_x=is_x, is_female=is_female, cross_info=cross_info)
        weight = 1.0 + 0.01 * np.asarray(cross_info, dtype=float)  # breaks the relabelling
        out = out * weight[None, None, :]
        return out / out.sum(axis=2, keepdims=True)


def test_matrices_that_are_no_relabelling_keep_their_own_tables():
    tables = _FunnelTables(_NotAFunnel())
    info = np.array([3, 1, 2, 8, 5, 4, 7, 6])
    assert tables.relabelling(is_x=False, is_female=True, cross_info=info) is None
    identity = np.arange(1, 9)
    assert tables.relabelling(is_x=False, is_female=True, cross_info=identity) is not None


class _EmissionByFunnel(RISib8):
    """Emission tables that depend on the funnel: lines must not share them."""

    def emission(self, *, error_prob, founder_geno, n_markers, is_x, is_female, cross_info):
        out = super().emission(error_prob=error_prob, founder_geno=founder_geno,
                               n_markers=n_markers, is_x=is_x, is_female=is_female,
                               cross_info=cross_info)  # fmt: skip
        return out * (1.0 + 0.01 * float(cross_info[0]))


def test_lines_share_emission_tables_only_where_the_model_gives_equal_ones():
    info = np.array([3, 1, 2, 8, 5, 4, 7, 6])
    canon = tuple(range(1, 9))
    shared = _FunnelTables(get_cross_model("risib8"))
    assert shared.emission_key(is_x=True, is_female=True, cross_info=info,
                               founder_rows=8) == canon  # fmt: skip
    own = _FunnelTables(_EmissionByFunnel())
    assert own.emission_key(is_x=True, is_female=True, cross_info=info,
                            founder_rows=8) == tuple(info.tolist())  # fmt: skip
