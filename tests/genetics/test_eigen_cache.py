"""Kinship decompositions made once per many-trait LOCO scan, never stale.

``eqtl_scan`` with a LOCO kinship and several trait chunks opens an ``eigen_store``: each
chromosome's matrix is decomposed once (the eigen-decompositions are counted through
``numpy.linalg.eigh``) and reused by the later chunks, from memory or from a temporary folder
that is removed when the scan ends, also when it fails. The LODs and peaks must be the same
bits as those of the same chunks without the store (and equal those of one chunk, which makes
no store, to rounding: chunks of other sizes round the trait side's products differently), and
a matrix changed under the same name must be decomposed again, in a new store and in the
cache; within one store a name that comes with another matrix is hashed in full from then on.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from frames import assert_same_frames

from translocus.core.simulate import simulate_cross
from translocus.genetics import eqtl, lmm
from translocus.genetics.eqtl import eqtl_scan
from translocus.genetics.kinship import calc_kinship

CHROMOSOMES = ["1", "2", "3", "X"]
TOL = 1e-12


@pytest.fixture(scope="module")
def study() -> dict:
    sim = simulate_cross(cross_type="do", n=60, n_markers=120, seed=5, n_traits=10,
                         qtl_variance=0.5)  # fmt: skip
    probs = sim.true_allele_probs().subset(chromosomes=CHROMOSOMES)
    ids = [str(s) for s in probs.samples]
    pheno = sim.cross.pheno.copy()
    pheno.index = [str(i) for i in pheno.index]
    pheno = pheno.loc[ids]
    pheno.iloc[:2, 3] = np.nan  # a trait with missing values: a batch of its own
    loco = calc_kinship(probs, type="loco")
    return {"probs": probs, "pheno": pheno, "loco": loco, "n": len(ids)}


@pytest.fixture
def eighs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the matrices ``numpy.linalg.eigh`` decomposes from now on."""
    sizes: list[int] = []
    original = np.linalg.eigh

    def counted(a, *args, **kwargs):
        sizes.append(int(np.shape(a)[0]))
        return original(a, *args, **kwargs)

    monkeypatch.setattr(np.linalg, "eigh", counted)
    lmm._EIGEN_CACHE.clear()
    return sizes


@pytest.fixture
def own_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path) -> object:
    """The temporary directory the store makes its folder in (checked empty after)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _scan(study: dict, **kwargs) -> eqtl.EqtlResult:
    return eqtl_scan(study["pheno"], study["probs"], kinship=study["loco"], threshold=2.0,
                     effects=False, threads=2, **kwargs)  # fmt: skip


@pytest.mark.parametrize("memory", ["1G", "64M"])
def test_each_chromosome_decomposed_once(study: dict, eighs: list[int], own_tmp, memory: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Four chunks (two threads) decompose each LOCO matrix once: the bits without the store."""
    one = _scan(study)
    assert one.info["chunks"] == 1 and "decompositions" not in one.info
    made_by_one = eighs.count(study["n"])
    assert made_by_one == len(CHROMOSOMES)
    lmm._EIGEN_CACHE.clear()
    eighs.clear()
    many = _scan(study, chunk_traits=3, memory=memory)
    assert many.info["chunks"] == 4
    assert eighs.count(study["n"]) == len(CHROMOSOMES)
    kept = many.info["decompositions"]
    assert kept["made"] == len(CHROMOSOMES)
    assert kept["reused"] == 3 * len(CHROMOSOMES)
    in_memory = memory == "1G"  # 64M: the LOD table takes all of it, the store goes to disk
    assert kept["on_disk"] == (0 if in_memory else len(CHROMOSOMES))
    assert ("kept in memory" if in_memory else "on disk") in many.info["memory_plan"]
    assert list(own_tmp.iterdir()) == []  # type: ignore[attr-defined]
    assert lmm._STORES == []
    assert len(many.peaks) > 0
    assert_same_frames(many.peaks, one.peaks, TOL)
    assert_same_frames(many.max_lod, one.max_lod, TOL)
    if in_memory:  # the same chunks without the store: the same bits
        monkeypatch.setattr(lmm, "eigen_store", lambda names, memory_bytes=0:
                            contextlib.nullcontext(lmm.EigenStore(names)))  # fmt: skip
        lmm._EIGEN_CACHE.clear()
        plain = _scan(study, chunk_traits=3, memory=memory)
        assert_same_frames(many.peaks, plain.peaks)
        assert_same_frames(many.max_lod, plain.max_lod)


def test_no_folder_left_when_a_chunk_fails(study: dict, own_tmp,
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    reduce = eqtl._reduce_chunk
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            assert len(list(own_tmp.iterdir())) == 1  # type: ignore[attr-defined]
            raise RuntimeError("chunk failed")
        return reduce(*args, **kwargs)

    monkeypatch.setattr(eqtl, "_reduce_chunk", failing)
    with pytest.raises(RuntimeError, match="chunk failed"):
        _scan(study, chunk_traits=3, memory="64M")
    assert list(own_tmp.iterdir()) == []  # type: ignore[attr-defined]
    assert lmm._STORES == []


def test_changed_matrix_under_the_same_name_is_decomposed_again(study: dict, eighs: list[int]
                                                                ) -> None:  # fmt: skip
    """A matrix changed in place between two scans: the second scan sees the change."""
    loco = {c: k.copy() for c, k in study["loco"].items()}
    changed = dict(study, loco=loco)
    before = _scan(changed, chunk_traits=3)
    loco["2"].values[:] = 0.5 * loco["2"].values + 0.5 * np.eye(study["n"])  # same object
    after = _scan(changed, chunk_traits=3)
    lmm._EIGEN_CACHE.clear()
    fresh = _scan(changed, chunk_traits=3)  # nothing cached
    assert_same_frames(after.max_lod, fresh.max_lod)
    assert_same_frames(after.peaks, fresh.peaks)
    assert not before.max_lod["lod"].equals(after.max_lod["lod"])


def test_store_and_cache_never_stale() -> None:
    """Same label and samples, other entries (a whole matrix, then one pair of entries)."""
    rng = np.random.default_rng(3)
    g = rng.random((100, 150))
    kin = g @ g.T / 150
    ids = tuple(f"m{i}" for i in range(100))
    other = kin.copy()
    other[5, 17] = other[17, 5] = other[5, 17] * 1.01
    label = lmm.loco_label("7")
    lmm._EIGEN_CACHE.clear()
    with lmm.eigen_store(["7"]) as store:
        first = lmm.eigen_2k(kin, ids, label=label)
        assert lmm.eigen_2k(kin.copy(), ids, label=label).values is not None
        assert store.reused == 1  # found by its content
        twice = lmm.eigen_2k(2 * kin, ids, label=label)  # another matrix for the name
        again = lmm.eigen_2k(kin.copy(), ids, label=label)  # found
        second = lmm.eigen_2k(other, ids, label=label)  # one pair of entries changed: made
        unnamed = lmm.eigen_2k(other, ids)  # another label: by content, from the store
    assert store.made == 3 and store.reused == 3
    for eig, k in ((first, kin), (twice, 2 * kin), (again, kin), (second, other),
                   (unnamed, other)):  # fmt: skip
        values, vectors = np.linalg.eigh(2.0 * k)
        np.testing.assert_array_equal(eig.values, values)
        np.testing.assert_array_equal(eig.vectors_t, np.ascontiguousarray(vectors.T))
    lmm._EIGEN_CACHE.clear()
    cached = lmm.eigen_2k(kin, ids)
    assert lmm.eigen_2k(kin.copy(), ids) is cached
    kin[5, 17] = kin[17, 5] = kin[5, 17] * 1.01  # the same array, changed
    assert lmm.eigen_2k(kin, ids) is not cached
    np.testing.assert_array_equal(lmm.eigen_2k(kin, ids).values, second.values)


def test_threads_asking_for_one_matrix_at_once(own_tmp) -> None:
    """Two threads decomposing the same matrix together: one file kept, the same bits."""
    g = np.random.default_rng(4).random((120, 150))
    kin = g @ g.T / 150
    ids = tuple(f"m{i}" for i in range(120))
    label = lmm.loco_label("3")
    lmm._EIGEN_CACHE.clear()
    with lmm.eigen_store(["3"]) as store, ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda k: lmm.eigen_2k(k, ids, label=label), [kin.copy()] * 6))
        assert store.folder is not None and len(list(store.folder.iterdir())) == 1
        assert store.on_disk == 1 and store.made >= 1 and store.made + store.reused == 6
    values, vectors = np.linalg.eigh(2.0 * kin)
    for eig in got:
        np.testing.assert_array_equal(eig.values, values)
        np.testing.assert_array_equal(eig.vectors_t, np.ascontiguousarray(vectors.T))
    assert list(own_tmp.iterdir()) == []  # type: ignore[attr-defined]


def _dead_pid() -> int:
    """A process id that no process has (a child that has exited and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_folders_of_killed_scans_are_swept_and_nothing_else(tmp_path) -> None:
    host, dead, alive = lmm._host(), _dead_pid(), os.getpid()
    killed = tmp_path / f"translocus-eigen-{host}-{dead}-abc123"
    killed.mkdir()
    (killed / "00001.npz").write_bytes(b"x")
    (killed / "00002.npz").write_bytes(b"y")
    running = tmp_path / f"translocus-eigen-{host}-{alive}-def456"  # a scan still running
    running.mkdir()
    (running / "00001.npz").write_bytes(b"x")
    elsewhere = tmp_path / f"translocus-eigen-otherhost-{dead}-ghi789"  # shared temp dir
    elsewhere.mkdir()
    foreign = tmp_path / f"translocus-eigen-{host}-{dead}-jkl012"  # holds a user's file
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    unrelated = tmp_path / "translocus-eigen-notes"
    unrelated.mkdir()
    assert lmm.sweep_stale_eigen_folders(tmp_path) == 1
    assert not killed.exists()
    for kept in (running, elsewhere, foreign, unrelated):
        assert kept.exists()
    assert (foreign / "notes.txt").read_text() == "mine"
    assert lmm.sweep_stale_eigen_folders(tmp_path) == 0


def test_a_store_that_spills_to_disk_sweeps_before_it_makes_its_folder(own_tmp) -> None:
    stale = Path(tempfile.gettempdir()) / f"translocus-eigen-{lmm._host()}-{_dead_pid()}-zz"
    stale.mkdir()
    (stale / "00001.npz").write_bytes(b"x")
    g = np.random.default_rng(4).random((20, 40))
    kin, ids = g @ g.T / 40, tuple(str(i) for i in range(20))
    with lmm.eigen_store(["1"], memory_bytes=0) as store:
        lmm.eigen_2k(kin, ids, label=lmm.loco_label("1"))
        assert store.on_disk == 1 and store.swept == 1
        assert store.folder is not None and f"-{os.getpid()}-" in store.folder.name
    assert not stale.exists()
