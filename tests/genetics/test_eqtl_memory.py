"""``eqtl_scan`` within a memory budget: fewer chromosomes at once, smaller trait chunks, same LODs.

Probabilities streamed from a store are held one chromosome per thread while it is scanned.
A budget that holds only one chromosome's probabilities makes the scan go one chromosome
at a time (one block held, each chromosome read once) in trait chunks whose LOD tables fit
beside it; the plan is stated in the result's ``info``. The peaks and maxima must equal
those of the default plan (two chromosomes at once, one chunk) exactly, and those of the
probabilities in memory to 1e-12 (the in-memory path is checked against ``scan`` and R/qtl2
elsewhere). Two threads moving on to new chromosomes hold two blocks, not four: the block
no thread works on any more is dropped first, never the one another thread still scans.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from frames import assert_same_frames

from translocus.core.errors import OptionError
from translocus.core.simulate import simulate_cross
from translocus.core.store import Store
from translocus.genetics import _design
from translocus.genetics.eqtl import eqtl_scan, memory_plan
from translocus.genetics.kinship import calc_kinship

TOL = 1e-12


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict:
    sim = simulate_cross(cross_type="do", n=100, n_markers=400, seed=11, n_traits=12,
                         qtl_variance=0.5)  # fmt: skip
    probs = sim.true_allele_probs()
    ids = [str(s) for s in probs.samples]
    pheno = sim.cross.pheno.copy()
    pheno.index = [str(i) for i in pheno.index]
    pheno = pheno.loc[ids]
    pheno.iloc[:3, 2] = np.nan
    sex = pd.DataFrame({"sex": (sim.cross.covar.loc[ids, "Sex"] == "male").astype(float)},
                       index=ids)  # fmt: skip
    store = Store(tmp_path_factory.mktemp("eqtl_memory"))
    store.write_genoprobs("alleleprob", probs)
    lazy = store.read_genoprobs("alleleprob", lazy=True)
    return {"probs": probs, "lazy": lazy, "pheno": pheno, "sex": sex,
            "loco": calc_kinship(probs, type="loco")}  # fmt: skip


class _Recording(_design.ChromosomeBlocks):
    made: list[_design.ChromosomeBlocks] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _Recording.made.append(self)


def _largest_block(lazy) -> int:
    return max(int(np.prod(lazy[c].shape[:2])) * (lazy[c].shape[2] - 1) * 8
               for c in lazy.chromosomes)  # fmt: skip


@pytest.mark.parametrize("model", ["hk", "loco"])
def test_one_chromosome_at_a_time_gives_the_same_peaks(study: dict, model: str,
                                                       monkeypatch) -> None:  # fmt: skip
    kin = None if model == "hk" else study["loco"]
    args = {"kinship": kin, "addcovar": study["sex"], "threshold": 3.0, "effects": False}
    in_memory = eqtl_scan(study["pheno"], study["probs"], threads=2, **args)
    monkeypatch.setattr(_design, "ChromosomeBlocks", _Recording)
    _Recording.made.clear()
    default = eqtl_scan(study["pheno"], study["lazy"], threads=2, memory="1G", **args)
    assert default.info["chromosomes_at_once"] == 2 and default.info["chunks"] == 1
    assert "2 whole chromosomes at once" in default.info["memory_plan"]
    (blocks,) = _Recording.made
    assert blocks.most_held <= 2
    # a budget that holds one chromosome's probabilities and a few traits' LODs
    block = _largest_block(study["lazy"])
    budget = block + 16 * 400 * 5
    _Recording.made.clear()
    small = eqtl_scan(study["pheno"], study["lazy"], threads=2, memory=budget, **args)
    assert small.info["chromosomes_at_once"] == 1
    assert small.info["chunk_traits"] == 5 and small.info["chunks"] == 3
    assert "one at a time (not 2: their probabilities would not fit)" in small.info["memory_plan"]
    assert len(_Recording.made) == 3  # one scan per chunk
    for blocks in _Recording.made:
        assert blocks.most_held == 1
        assert set(blocks.loads) == set(study["lazy"].chromosomes)
        if model == "loco":  # (Haley-Knott by pivoted QR reads them once per missing pattern)
            assert set(blocks.loads.values()) == {1}
    assert len(default.peaks) > 0
    assert_same_frames(small.peaks, default.peaks, 0.0)
    assert_same_frames(small.max_lod, default.max_lod, 0.0)
    assert_same_frames(default.peaks, in_memory.peaks, TOL)
    assert_same_frames(default.max_lod, in_memory.max_lod, TOL)


def test_plan(study: dict) -> None:
    block = _largest_block(study["lazy"])
    plan = memory_plan(study["lazy"], threads=2, memory=3 * block)
    assert (plan.chromosomes, plan.block_bytes) == (2, block)
    assert plan.lod_cells == block // 16  # what the two chromosomes leave
    assert memory_plan(study["lazy"], threads=2, memory=1).chromosomes == 1
    assert memory_plan(study["lazy"], threads=2, memory=1).lod_cells == 400  # one trait
    held = memory_plan(study["probs"], threads=2, memory=1)  # in memory: nothing to hold
    assert (held.chromosomes, held.block_bytes) == (2, 0)
    with pytest.raises(OptionError, match="memory"):
        eqtl_scan(study["pheno"], study["lazy"], memory="lots")


def test_plan_keeps_the_loco_decompositions_in_memory_when_they_fit(study: dict) -> None:
    """All of them beside the LOD table, or none (they go to disk); the chunks stay the same."""
    each = 8 * 100 * 101  # [100, 100] eigenvectors and 100 eigenvalues
    roomy = memory_plan(study["probs"], threads=2, memory="1G", decompositions=20, samples=100)
    assert roomy.eigen_bytes == 20 * each and roomy.decompositions == 20
    assert "20 LOCO kinship decompositions are made once and kept in memory" in roomy.describe()
    block = _largest_block(study["lazy"])
    tight = memory_plan(study["lazy"], threads=2, memory=3 * block, decompositions=20,
                        samples=100)  # fmt: skip
    assert tight.eigen_bytes == 0 and "on disk in a temporary folder" in tight.describe()
    assert tight.lod_cells == memory_plan(study["lazy"], threads=2, memory=3 * block).lod_cells
    assert "decompositions" not in memory_plan(study["probs"], threads=2).describe()


def test_two_threads_keep_the_block_still_in_use(study: dict) -> None:
    lazy = study["lazy"]
    rows = np.arange(len(lazy.samples))
    blocks = _design.ChromosomeBlocks(lazy, rows, {c: lazy.is_x(c) for c in lazy.chromosomes},
                                      keep=2)  # fmt: skip
    first, second = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    c1, c2, c3 = lazy.chromosomes[:3]
    try:
        first.submit(blocks.__getitem__, c1).result()
        second.submit(blocks.__getitem__, c2).result()
        first.submit(blocks.__getitem__, c1).result()  # c2 is now the least recently used
        first.submit(blocks.__getitem__, c3).result()  # the first thread is done with c1
        got = second.submit(blocks.__getitem__, c2).result()  # still held
    finally:
        first.shutdown()
        second.shutdown()
    assert dict(blocks.loads) == {c1: 1, c2: 1, c3: 1}
    assert blocks.most_held == 2
    np.testing.assert_array_equal(got, np.asarray(study["probs"][c2].values)[:, :, 1:])


def test_kinship_frames_are_not_copied(study: dict) -> None:
    prep = _design.prepare(study["pheno"], study["lazy"], kinship=study["loco"])
    assert isinstance(prep.kinship, dict)
    for chrom, frame in study["loco"].items():
        values, _ = prep.kinship_arrays[chrom]
        assert np.shares_memory(values, frame.to_numpy())
