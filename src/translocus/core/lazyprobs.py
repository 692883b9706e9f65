"""Probabilities read from a store one chromosome at a time, never all at once.

:class:`LazyProbs` is the ``probs`` mapping of a :class:`~translocus.core.model.GenoProbs`
whose arrays stay on disk (a :class:`~translocus.core.store.Store` item written by
:meth:`~translocus.core.store.Store.write_genoprobs` or a
:class:`~translocus.core.store.GenoprobsWriter`). Looking a chromosome up gives an
``xr.DataArray`` with its coordinates in memory and its values on disk: ``.values`` reads
them (every time: nothing is kept), ``.sel(marker=[m])`` reads only that marker's chunks, and
``sizes``/``coords`` read nothing. Kinship, the scans and the effects at peaks then hold one
chromosome at a time. :attr:`LazyProbs.reads` counts the reads per chromosome.

A mapping made over a temporary folder (``scratch=``) removes that folder when the last
object that can read from it (the mapping or an array it gave) is collected, or when the
interpreter exits.

Examples
--------
>>> import tempfile
>>> from translocus.core.simulate import simulate_cross
>>> from translocus.core.store import Store
>>> from translocus.genetics.genoprob import calc_genoprob
>>> cross = simulate_cross(cross_type="f2", n=20, n_markers=40, seed=1).cross
>>> store = Store(tempfile.mkdtemp())
>>> _ = store.write_genoprobs("genoprob", calc_genoprob(cross))
>>> probs = store.read_genoprobs("genoprob", lazy=True)
>>> probs["1"].sizes["sample"], probs.probs.reads["1"]
(20, 0)
>>> float(probs["1"].values.sum(axis=2).mean()), probs.probs.reads["1"]
(1.0, 1)
"""

from __future__ import annotations

import shutil
import threading
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from xarray.backends import BackendArray
from xarray.core import indexing

__all__ = ["LazyProbs", "Scratch"]

#: Chunks a read decodes at once (zarr's default is 10: a third of a GB of chunk buffers
#: beside a DO chromosome of 2,000 mice); reads of the process go one at a time, so two
#: threads that each start a chromosome do not hold both reads' buffers at once.
READ_CONCURRENCY = 4
_READ_LOCK = threading.Lock()


class Scratch:
    """A temporary folder removed when no object refers to this one (or at exit)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    def remove(self) -> None:
        """Remove the folder now."""
        self._finalizer()


class _StoredArray(BackendArray):
    """One chromosome's zarr array, read on indexing (orthogonal indexing, as zarr's)."""

    def __init__(self, path: Path, chrom: str, owner: LazyProbs) -> None:
        import zarr

        self._array = zarr.open_array(str(path), mode="r")
        self.shape = tuple(int(s) for s in self._array.shape)
        self.dtype = np.dtype(self._array.dtype)
        self._chrom = chrom
        self._reads = owner.reads
        self._lock = owner._lock
        self._scratch = owner.scratch  # keeps a temporary folder alive while this array lives

    def __getitem__(self, key: indexing.ExplicitIndexer) -> np.ndarray:
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.OUTER, self._read
        )

    def _read(self, key: tuple[Any, ...]) -> np.ndarray:
        import zarr

        with self._lock:
            self._reads[self._chrom] += 1
        with _READ_LOCK, zarr.config.set({"async.concurrency": READ_CONCURRENCY}):
            return np.asarray(self._array.oindex[key])


class LazyProbs(Mapping[str, xr.DataArray]):
    """Chromosome -> ``xr.DataArray`` whose values are read from a store when used.

    Parameters
    ----------
    data
        The item's ``data.zarr`` folder (one group ``chrNNN`` per chromosome).
    chromosomes
        Chromosome names, in the groups' order.
    array_names
        The name of each chromosome's array.
    scratch
        The temporary folder that holds ``data`` (removed when no longer used), if any.
    """

    def __init__(
        self,
        data: Path,
        chromosomes: Sequence[str],
        array_names: Sequence[str | None],
        *,
        scratch: Scratch | None = None,
    ) -> None:
        self.data = Path(data)
        self._chroms = [str(c) for c in chromosomes]
        self._names = dict(zip(self._chroms, array_names, strict=True))
        self._groups = {c: f"chr{i:03d}" for i, c in enumerate(self._chroms)}
        self.scratch = scratch
        #: reads of each chromosome's values (whole or part)
        self.reads: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._coords: dict[str, tuple[tuple[str, ...], dict[str, xr.Variable]]] = {}

    def __repr__(self) -> str:
        return f"LazyProbs({str(self.data)!r}, {len(self._chroms)} chromosomes)"

    def __len__(self) -> int:
        return len(self._chroms)

    def __iter__(self) -> Iterator[str]:
        return iter(self._chroms)

    def __contains__(self, chrom: object) -> bool:
        return chrom in self._groups

    def _layout(self, chrom: str) -> tuple[tuple[str, ...], dict[str, xr.Variable]]:
        """Dimensions and coordinates of one chromosome (small; read once and kept)."""
        with self._lock:
            known = self._coords.get(chrom)
        if known is not None:
            return known
        from translocus.core.store import _strings_from_zarr

        with xr.open_zarr(self.data, group=self._groups[chrom], zarr_format=3,
                          consolidated=False, chunks=None) as ds:  # fmt: skip
            dims = tuple(str(d) for d in ds["probs"].dims)
            coords = _strings_from_zarr(ds.coords.to_dataset().load())
            variables = {str(k): v.variable for k, v in coords.coords.items()}
        with self._lock:
            self._coords[chrom] = (dims, variables)
        return dims, variables

    def __getitem__(self, chrom: str) -> xr.DataArray:
        if chrom not in self._groups:
            raise KeyError(chrom)
        dims, coords = self._layout(chrom)
        backend = _StoredArray(self.data / self._groups[chrom] / "probs", chrom, self)
        variable = xr.Variable(dims, indexing.LazilyIndexedArray(backend))
        return xr.DataArray(variable, coords=coords, name=self._names[chrom])

    def subset(self, chromosomes: Sequence[str]) -> LazyProbs:
        """The same store restricted to ``chromosomes`` (in that order); nothing is read.

        The view shares the store (and its temporary folder) and the count of reads.
        """
        chroms = [str(c) for c in chromosomes]
        unknown = [c for c in chroms if c not in self._groups]
        if unknown:
            raise KeyError(unknown[0])
        view = LazyProbs(self.data, chroms, [self._names[c] for c in chroms],
                         scratch=self.scratch)  # fmt: skip
        view._groups = {c: self._groups[c] for c in chroms}
        view.reads = self.reads
        return view

    def nbytes(self) -> int:
        """Bytes the values of all chromosomes take in memory (none are read)."""
        import zarr

        total = 0
        for chrom in self._chroms:
            array = zarr.open_array(str(self.data / self._groups[chrom] / "probs"), mode="r")
            total += int(np.prod(array.shape)) * np.dtype(array.dtype).itemsize
        return total
