"""The project store: round trips, SQL over tables, provenance, and atomic writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.provenance import Provenance
from translocus.core.store import Store


def _probs(n_markers: int, rng: np.random.Generator) -> xr.DataArray:
    raw = rng.random((n_markers, 4, 3)).astype(np.float32)
    raw /= raw.sum(axis=2, keepdims=True)
    return xr.DataArray(
        raw,
        dims=("marker", "sample", "genotype"),
        coords={
            "marker": [f"m{i}" for i in range(n_markers)],
            "sample": ["s1", "s2", "s3", "s4"],
            "genotype": ["AA", "AB", "BB"],
            "pos_cM": ("marker", np.linspace(0, 50, n_markers)),
            "pos_Mbp": ("marker", np.linspace(3, 90, n_markers)),
        },
        name="probs",
        attrs={"step": 0},
    )


def test_array_round_trip_keeps_values_coords_and_attrs(tmp_path: Path) -> None:
    store = Store(tmp_path / "project")
    arr = _probs(6, np.random.default_rng(1))
    prov = Provenance(name="DOex", license="NOASSERTION", source="rqtl/qtl2data")
    info = store.write_array("probs_1", arr, provenance=prov, attrs={"chrom": "1"})
    assert info.kind == "array" and info.attrs == {"chrom": "1"}
    back = store.read_array("probs_1")
    xr.testing.assert_identical(back, arr)
    assert store.provenance("probs_1") == prov

    ds = xr.Dataset({"lod": ("marker", np.arange(3.0)), "peak": ((), 2.5)})
    store.write_array("scan", ds)
    xr.testing.assert_identical(store.read_array("scan"), ds)


def test_table_round_trip_and_duckdb_query(tmp_path: Path) -> None:
    store = Store(tmp_path)
    peaks = pd.DataFrame(
        {"trait": ["bw", "bw", "glu"], "chrom": ["1", "7", "7"], "lod": [8.2, 3.1, 6.4]}
    )
    store.write_table("peaks", peaks, provenance=Provenance(name="sim", license="CC0-1.0"))
    pd.testing.assert_frame_equal(store.read_table("peaks"), peaks)
    genes = pd.DataFrame({"chrom": ["7", "1"], "gene": ["Apoe", "Tnr"]})
    store.write_table("genes", genes)
    result = store.query(
        "SELECT p.trait, g.gene FROM peaks p JOIN genes g USING (chrom) "
        "WHERE p.lod > 5 ORDER BY p.trait"
    )
    assert result.to_dict("list") == {"trait": ["bw", "glu"], "gene": ["Tnr", "Apoe"]}
    listing = store.list().set_index("name")
    assert listing.loc["peaks", "kind"] == "table"
    assert listing.loc["peaks", "license"] == "CC0-1.0"
    assert listing.loc["genes", "license"] == ""


def test_genoprobs_round_trip_per_chromosome(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    probs = GenoProbs(
        probs={"1": _probs(5, rng), "2": _probs(3, rng), "X": _probs(2, rng)},
        crosstype="f2",
        alleles=("A", "B"),
        x_chr="X",
    )
    store = Store(tmp_path / "gp")
    store.write_genoprobs("genoprob", probs, provenance=Provenance(name="iron", license="MIT"))
    back = Store(tmp_path / "gp", create=False).read_genoprobs("genoprob")
    assert back.chromosomes == ("1", "2", "X")
    assert (back.crosstype, back.alleles, back.x_chr, back.kind) == (
        "f2",
        ("A", "B"),
        "X",
        "genotype",
    )
    for chrom in probs:
        xr.testing.assert_identical(back[chrom], probs[chrom])


def test_overwrite_keeps_one_version(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for value in range(3):
        store.write_table("t", pd.DataFrame({"x": [value]}))
    assert store.read_table("t")["x"].tolist() == [2]
    versions = [p for p in (tmp_path / "items" / "t").iterdir() if p.is_dir()]
    assert len(versions) == 1


def test_bad_input_gives_clear_errors(tmp_path: Path) -> None:
    foreign = tmp_path / "not_a_store"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"not a translocus store \(no translocus-store.json\)"):
        Store(foreign)
    with pytest.raises(InputError, match="no translocus store here"):
        Store(tmp_path / "missing", create=False)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        Store(a_file)
    store = Store(tmp_path / "ok")
    with pytest.raises(InputError, match="no item named 'nope'"):
        store.read_table("nope")
    with pytest.raises(InputError, match="not allowed"):
        store.write_table("../escape", pd.DataFrame({"x": [1]}))
    store.write_table("t", pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="is a table"):
        store.read_array("t")
    with pytest.raises(InputError, match="query failed"):
        store.query("SELECT * FROM no_such_table")
    with pytest.raises(InputError, match="chunks name dimensions"):
        store.write_array("a", xr.DataArray(np.zeros(3), dims="x"), chunks={"y": 1})


_SLOW_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import numpy as np, xarray as xr
    from zarr.storage import LocalStore
    from translocus.core.store import Store

    started = Path(sys.argv[2])
    original = LocalStore.set

    async def slow_set(self, key, value):
        await original(self, key, value)
        if "/c/" in key:  # a data chunk: announce progress, then crawl
            started.touch()
            await asyncio.sleep(0.5)

    LocalStore.set = slow_set
    big = xr.DataArray(np.full((400, 500), 2.0), dims=("marker", "sample"), name="big")
    Store(sys.argv[1]).write_array("big", big, chunks={"marker": 4})
    """
)


def test_killed_writer_leaves_previous_version_intact(tmp_path: Path) -> None:
    """kill -9 a process half-way through a big chunked write; the old array must survive."""
    root = tmp_path / "project"
    store = Store(root)
    old = xr.DataArray(np.full((400, 500), 1.0), dims=("marker", "sample"), name="big")
    store.write_array("big", old, provenance=Provenance(name="v1", license="MIT"))
    started = tmp_path / "started"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(root), str(started)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the writer never started writing chunks"
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    item = root / "items" / "big"
    leftovers = [p for p in item.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers, "the killed writer should have left a partial temporary version"
    assert any((p / "data.zarr").exists() for p in leftovers)

    reopened = Store(root)
    back = reopened.read_array("big")
    xr.testing.assert_identical(back, old)
    assert reopened.provenance("big") == Provenance(name="v1", license="MIT")
    assert json.loads((item / "CURRENT").read_text())["version"] == reopened.info("big").version

    # the next write of the item succeeds and clears the dead writer's leftovers
    reopened.write_array("big", old * 3)
    assert float(reopened.read_array("big").max()) == 3.0
    assert not [p for p in item.iterdir() if p.name.startswith(".tmp-")]


def test_fingerprint_of_stored_probabilities(tmp_path: Path) -> None:
    """What the probabilities of a cross depend on is hashed and stored with them."""
    from dataclasses import replace

    from translocus.core.simulate import simulate_cross
    from translocus.core.store import cross_fingerprint, fingerprint_differences

    cross = simulate_cross(cross_type="f2", n=20, n_markers=40, seed=1).cross
    fp = cross_fingerprint(cross, error_prob=0.002, map_function="c-f")
    assert set(fp) == {"crosstype", "samples", "markers", "map", "genotypes", "error_prob",
                       "map_function", "sha256"}  # fmt: skip
    assert fp == cross_fingerprint(cross, error_prob=0.002, map_function="c-f")
    assert cross_fingerprint(cross, error_prob=0.01, map_function="c-f")["sha256"] != fp["sha256"]

    renamed = replace(cross, individuals=tuple(f"x{i}" for i in cross.individuals))
    moved = replace(cross, gmap={c: s + (c == "1") for c, s in cross.gmap.items()})
    geno = {c: g.copy() for c, g in cross.geno.items()}
    geno["1"][0, 0] = 3 if geno["1"][0, 0] != 3 else 1
    recalled = replace(cross, geno=geno)
    other = simulate_cross(cross_type="bxd", n=20, n_markers=40, seed=1).cross
    for changed, part in [(renamed, "sample IDs"), (moved, "map positions"),
                          (recalled, "genotype data")]:  # fmt: skip
        got = cross_fingerprint(changed, error_prob=0.002, map_function="c-f")
        assert [d.split(" (")[0] for d in fingerprint_differences(fp, got)] == [part]
    got = cross_fingerprint(other, error_prob=0.002, map_function="c-f")
    assert fingerprint_differences(fp, got)[0] == "cross type (f2, not risib)"

    store = Store(tmp_path / "gp")
    probs = GenoProbs(probs={"1": _probs(3, np.random.default_rng(3))}, crosstype="f2",
                      alleles=("A", "B"))  # fmt: skip
    store.write_genoprobs("genoprob", probs, attrs={"fingerprint": fp})
    store.write_genoprobs("plain", probs)
    reopened = Store(tmp_path / "gp", create=False)
    assert reopened.fingerprint("genoprob") == fp
    assert reopened.fingerprint("plain") is None
