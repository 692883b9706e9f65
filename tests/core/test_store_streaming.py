"""Probabilities written to a store block by block and read back a chromosome at a time."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.lazyprobs import LazyProbs, Scratch
from translocus.core.model import GenoProbs
from translocus.core.store import Store


def _probs(rng: np.random.Generator, n_samples: int = 7) -> GenoProbs:
    arrays = {}
    for chrom, n_markers in (("1", 5), ("2", 3), ("X", 4)):
        raw = rng.random((n_markers, n_samples, 3))
        arrays[chrom] = xr.DataArray(
            raw / raw.sum(axis=2, keepdims=True),
            dims=("marker", "sample", "founder"),
            coords={"marker": [f"{chrom}_m{i}" for i in range(n_markers)],
                    "sample": [f"s{i}" for i in range(n_samples)],
                    "founder": ["A", "B", "C"],
                    "pos_cM": ("marker", np.linspace(0, 40, n_markers))},
            name=f"alleleprob_{chrom}",
        )  # fmt: skip
    return GenoProbs(probs=arrays, crosstype="risib", alleles=("A", "B", "C"), kind="allele")


def _write_blocks(store: Store, probs: GenoProbs, width: int) -> None:
    ids = list(probs.samples)
    with store.genoprobs_writer("alleleprob", samples=ids, attrs={"note": "blocks"}) as out:
        for chrom in probs:
            for start in range(0, len(ids), width):
                part = probs.subset(chromosomes=[chrom], samples=ids[start : start + width])
                out.write(chrom, part, start=start, width=width)


def test_blocks_read_back_equal_eager_and_lazy(tmp_path):
    probs = _probs(np.random.default_rng(1))
    store = Store(tmp_path / "s")
    _write_blocks(store, probs, width=3)
    eager = store.read_genoprobs("alleleprob")
    lazy = store.read_genoprobs("alleleprob", lazy=True)
    assert isinstance(lazy.probs, LazyProbs) and not isinstance(eager.probs, LazyProbs)
    assert store.info("alleleprob").attrs == {"note": "blocks"}
    for back in (eager, lazy):
        assert back.chromosomes == probs.chromosomes and back.kind == "allele"
        for chrom in probs:
            xr.testing.assert_identical(back[chrom], probs[chrom])
    # a marker's values read alone; nothing else read
    lazy.probs.reads.clear()
    one = lazy["2"].sel(marker=["2_m1"]).values
    np.testing.assert_array_equal(one, probs["2"].sel(marker=["2_m1"]).values)
    assert dict(lazy.probs.reads) == {"2": 1}


def test_copying_a_lazy_item_keeps_the_values(tmp_path):
    probs = _probs(np.random.default_rng(2))
    first = Store(tmp_path / "a")
    _write_blocks(first, probs, width=4)
    second = Store(tmp_path / "b")
    second.write_genoprobs("alleleprob", first.read_genoprobs("alleleprob", lazy=True))
    back = second.read_genoprobs("alleleprob")
    for chrom in probs:
        xr.testing.assert_identical(back[chrom], probs[chrom])


def test_auto_lazy_above_the_threshold(tmp_path, monkeypatch):
    import translocus.core.store as store_module

    store = Store(tmp_path / "s")
    _write_blocks(store, _probs(np.random.default_rng(3)), width=7)
    assert not isinstance(store.read_genoprobs("alleleprob", lazy=None).probs, LazyProbs)
    monkeypatch.setattr(store_module, "LAZY_BYTES", 100)
    assert isinstance(store.read_genoprobs("alleleprob", lazy=None).probs, LazyProbs)


def test_a_failed_writer_leaves_nothing(tmp_path):
    probs = _probs(np.random.default_rng(4))
    store = Store(tmp_path / "s")
    _write_blocks(store, probs, width=7)
    before = store.info("alleleprob").version
    writer = store.genoprobs_writer("alleleprob", samples=list(probs.samples))
    with pytest.raises(InputError, match="write blocks in order"), writer as out:
        out.write("1", probs.subset(chromosomes=["1"]), start=0, width=7)
        out.write("2", probs.subset(chromosomes=["2"]), start=2, width=7)
    assert store.info("alleleprob").version == before
    leftovers = [p.name for p in (tmp_path / "s" / "items" / "alleleprob").iterdir()]
    assert sorted(leftovers) == sorted(["CURRENT", before])


def test_scratch_is_removed_with_its_last_reader(tmp_path):
    folder = tmp_path / "scratch"
    store = Store(folder)
    _write_blocks(store, _probs(np.random.default_rng(5)), width=7)
    lazy = store.read_genoprobs("alleleprob", lazy=True)
    lazy.probs.scratch = Scratch(folder)  # type: ignore[attr-defined]
    arr = lazy["1"]
    del lazy
    gc.collect()
    assert folder.is_dir()  # the array still reads from it
    assert arr.values.shape == (5, 7, 3)
    del arr
    gc.collect()
    assert not folder.exists()
