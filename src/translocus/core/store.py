"""The project store: a folder of zarr v3 arrays and parquet tables, queried with DuckDB.

Layout (nothing to start, nothing to configure)::

    project/
      translocus-store.json          marks the folder as a store (format, version)
      items/<name>/CURRENT           which version of the item is current (JSON)
      items/<name>/<version>/        one complete version:
          meta.json                  kind, creation time, provenance, attributes
          data.zarr | data.parquet   the payload

Writes are atomic: a new version is written into a hidden temporary folder, renamed into
place, and only then does ``CURRENT`` (itself replaced atomically) point to it. A writer
killed at any moment leaves the previous version current and intact; its leftovers are
removed by the next write of that item.

Examples
--------
>>> import tempfile, pandas as pd
>>> store = Store(tempfile.mkdtemp())
>>> _ = store.write_table("peaks", pd.DataFrame({"chrom": ["1", "2"], "lod": [7.5, 3.1]}))
>>> store.query("SELECT chrom FROM peaks WHERE lod > 5")["chrom"].tolist()
['1']
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.atomic import atomic_write_text
from translocus.core.errors import InputError
from translocus.core.model import Cross, GenoProbs
from translocus.core.provenance import Provenance

__all__ = [
    "CHUNK_VALUES",
    "FINGERPRINT_PARTS",
    "LAZY_BYTES",
    "STORE_FORMAT",
    "GenoprobsWriter",
    "ItemInfo",
    "Store",
    "cross_fingerprint",
    "fingerprint_differences",
]

STORE_FORMAT = "translocus-store"
_MARKER = "translocus-store.json"
_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class ItemInfo:
    """What the store knows about one item (without reading its data)."""

    name: str
    kind: str  # "array", "dataset", "table" or "genoprobs"
    created: str
    version: str
    path: Path
    provenance: Provenance | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _strings_to_object(ds: xr.Dataset) -> xr.Dataset:
    """Fixed-width unicode has no zarr v3 spec; variable-length strings do."""
    out = ds.copy()
    for name, var in list(out.variables.items()):
        if var.dtype.kind == "U":
            out[name] = var.astype(object)
    return out


def _strings_from_zarr(ds: xr.Dataset) -> xr.Dataset:
    """Variable-length strings come back as numpy ``StringDType``; give plain ``<U``."""
    out = ds.copy()
    for name, var in ds.variables.items():
        if var.dtype.kind in ("T", "O"):
            values = np.asarray(var.values.tolist(), dtype=str)
            if values.shape != var.shape:
                continue
            replacement = xr.Variable(var.dims, values, attrs=var.attrs)
            if name in ds.coords:
                out = out.assign_coords({name: replacement})
            else:
                out[name] = replacement
    return out


class Store:
    """A project folder holding arrays (zarr v3) and tables (parquet) with provenance.

    Parameters
    ----------
    path
        The store folder. A missing or empty folder becomes a new store (unless
        ``create=False``); an existing non-empty folder must already be a store.
    create
        Make a new store when ``path`` does not hold one yet.

    Raises
    ------
    InputError
        ``path`` is a file, or a non-empty folder that is not a store, or (with
        ``create=False``) holds no store.
    """

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        marker = self.path / _MARKER
        if self.path.exists() and not self.path.is_dir():
            raise InputError(
                f"{self.path}: is a file, not a store folder; give a folder path (new or empty)"
            )
        if marker.is_file():
            try:
                meta = json.loads(marker.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{marker}: the store's marker file is not valid JSON ({exc}); restore it "
                    f'as {{"format": "{STORE_FORMAT}", "version": {_VERSION}}}'
                ) from exc
            if meta.get("format") != STORE_FORMAT:
                raise InputError(
                    f"{marker}: format is {meta.get('format')!r}, not {STORE_FORMAT!r}; "
                    "this folder belongs to another tool, choose another folder"
                )
            return
        if self.path.is_dir() and any(self.path.iterdir()):
            raise InputError(
                f"{self.path}: not a translocus store (no {_MARKER}) and not empty; "
                "give a new or empty folder, or the folder of an existing store"
            )
        if not create:
            raise InputError(
                f"{self.path}: no translocus store here (no {_MARKER}); create one with "
                "Store(path) or give the folder of an existing store"
            )
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            marker,
            json.dumps({"format": STORE_FORMAT, "version": _VERSION, "created": _now()}) + "\n",
        )

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- items ----------------------------------------------------------------------------
    def _item_dir(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InputError(
                f"item name {name!r} is not allowed; use letters, digits, '_', '-' or '.' "
                "(starting with a letter or digit, at most 128 characters)"
            )
        return self.path / "items" / name

    def _current(self, name: str) -> Path | None:
        pointer = self._item_dir(name) / "CURRENT"
        if not pointer.is_file():
            return None
        version = json.loads(pointer.read_text(encoding="utf-8"))["version"]
        return self._item_dir(name) / version

    def __contains__(self, name: object) -> bool:
        return (
            isinstance(name, str)
            and _NAME.match(name) is not None
            and (self._current(name) is not None)
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def names(self) -> list[str]:
        """Names of the items, sorted."""
        items = self.path / "items"
        if not items.is_dir():
            return []
        return sorted(p.name for p in items.iterdir() if (p / "CURRENT").is_file())

    def info(self, name: str) -> ItemInfo:
        """Kind, creation time, provenance and attributes of item ``name``."""
        folder = self._current(name)
        if folder is None:
            known = ", ".join(self.names()) or "none"
            raise InputError(
                f"{self.path}: no item named {name!r} in the store (items: {known}); "
                "check the name or write it first"
            )
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        prov = meta.get("provenance")
        return ItemInfo(
            name=name,
            kind=meta["kind"],
            created=meta["created"],
            version=folder.name,
            path=folder,
            provenance=Provenance.from_dict(prov) if prov else None,
            attrs=meta.get("attrs", {}),
        )

    def provenance(self, name: str) -> Provenance | None:
        """The provenance saved with item ``name`` (``None`` if none was given)."""
        return self.info(name).provenance

    def list(self) -> pd.DataFrame:
        """One row per item: name, kind, created, licence, dataset and size on disk (bytes)."""
        rows = []
        for name in self.names():
            info = self.info(name)
            size = sum(p.stat().st_size for p in info.path.rglob("*") if p.is_file())
            rows.append(
                {
                    "name": name,
                    "kind": info.kind,
                    "created": info.created,
                    "license": info.provenance.license if info.provenance else "",
                    "dataset": info.provenance.name if info.provenance else "",
                    "bytes": size,
                }
            )
        columns = ["name", "kind", "created", "license", "dataset", "bytes"]
        return pd.DataFrame(rows, columns=columns)

    def delete(self, name: str) -> None:
        """Remove item ``name`` (its pointer first, so readers never see half an item)."""
        folder = self._item_dir(name)
        if self._current(name) is None:
            raise InputError(f"{self.path}: no item named {name!r} to delete")
        (folder / "CURRENT").unlink()
        shutil.rmtree(folder, ignore_errors=True)

    # -- the atomic write protocol --------------------------------------------------------
    def _begin(self, name: str) -> tuple[Path, str, Path]:
        """A new version's hidden temporary folder: ``(item folder, version, folder)``."""
        item = self._item_dir(name)
        item.mkdir(parents=True, exist_ok=True)
        version = f"v{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"
        tmp = item / f"{_TMP_PREFIX}{os.getpid()}-{version}"
        tmp.mkdir()
        return item, version, tmp

    def _finish(
        self,
        name: str,
        kind: str,
        begun: tuple[Path, str, Path],
        *,
        provenance: Provenance | None,
        attrs: Mapping[str, Any] | None,
        extra: Mapping[str, Any] | None = None,
    ) -> ItemInfo:
        """Write ``meta.json``, rename the version into place, then point ``CURRENT`` to it."""
        item, version, tmp = begun
        try:
            meta = {
                "name": name,
                "kind": kind,
                "created": _now(),
                "provenance": provenance.to_dict() if provenance is not None else None,
                "attrs": _jsonable(dict(attrs or {})),
                **dict(extra or {}),
            }
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, item / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        atomic_write_text(item / "CURRENT", json.dumps({"version": version}) + "\n")
        self._clean(item, keep=version)
        return self.info(name)

    def _write(
        self,
        name: str,
        kind: str,
        writer: Any,
        *,
        provenance: Provenance | None,
        attrs: Mapping[str, Any] | None,
        extra: Mapping[str, Any] | None = None,
    ) -> ItemInfo:
        begun = self._begin(name)
        try:
            writer(begun[2])
        except BaseException:
            shutil.rmtree(begun[2], ignore_errors=True)
            raise
        return self._finish(name, kind, begun, provenance=provenance, attrs=attrs, extra=extra)

    def _clean(self, item: Path, *, keep: str) -> None:
        """Remove superseded versions and leftovers of writers that are no longer running."""
        for child in item.iterdir():
            if child.name in (keep, "CURRENT") or not child.is_dir():
                continue
            if child.name.startswith(_TMP_PREFIX):
                pid_text = child.name[len(_TMP_PREFIX) :].split("-", 1)[0]
                if pid_text.isdigit() and _pid_alive(int(pid_text)):
                    continue  # another writer at work
            shutil.rmtree(child, ignore_errors=True)

    # -- arrays ---------------------------------------------------------------------------
    def write_array(
        self,
        name: str,
        data: xr.DataArray | xr.Dataset,
        *,
        provenance: Provenance | None = None,
        attrs: Mapping[str, Any] | None = None,
        chunks: Mapping[str, int] | None = None,
    ) -> ItemInfo:
        """Save an ``xr.DataArray`` or ``xr.Dataset`` as zarr v3 (atomically).

        ``chunks`` gives the chunk length along named dimensions (for example
        ``{"marker": 1000}``); dimensions not named are kept whole.
        """
        if isinstance(data, xr.DataArray):
            variable = str(data.name) if data.name is not None else "__values__"
            dataset = data.to_dataset(name=variable)
            kind, extra = "array", {"variable": variable, "array_name": data.name}
        elif isinstance(data, xr.Dataset):
            dataset, kind, extra = data, "dataset", {}
        else:
            raise InputError(
                f"write_array({name!r}): got {type(data).__name__}; give an xarray DataArray "
                "or Dataset (use write_table for data frames)"
            )
        dataset = _strings_to_object(dataset)
        encoding = {}
        if chunks:
            unknown = [d for d in chunks if d not in dataset.dims]
            if unknown:
                raise InputError(
                    f"write_array({name!r}): chunks name dimensions {unknown} that the data "
                    f"do not have; use some of {list(dataset.dims)}"
                )
            for var_name, var in dataset.data_vars.items():
                encoding[var_name] = {
                    "chunks": tuple(
                        min(int(chunks.get(str(d), n)), n) or 1
                        for d, n in zip(var.dims, var.shape, strict=True)
                    )
                }

        def writer(folder: Path) -> None:
            dataset.to_zarr(
                folder / "data.zarr",
                mode="w",
                zarr_format=3,
                consolidated=False,
                encoding=encoding,
            )

        return self._write(name, kind, writer, provenance=provenance, attrs=attrs, extra=extra)

    def read_array(self, name: str) -> xr.DataArray | xr.Dataset:
        """Load an array item into memory (``DataArray`` or ``Dataset`` as written)."""
        info = self._expect(name, ("array", "dataset"))
        with xr.open_zarr(info.path / "data.zarr", zarr_format=3, consolidated=False) as ds:
            loaded = _strings_from_zarr(ds.load())
        if info.kind == "dataset":
            return loaded
        meta = json.loads((info.path / "meta.json").read_text(encoding="utf-8"))
        array = loaded[meta["variable"]]
        return array.rename(meta.get("array_name"))

    def _expect(self, name: str, kinds: tuple[str, ...]) -> ItemInfo:
        info = self.info(name)
        if info.kind not in kinds:
            raise InputError(
                f"{self.path}: item {name!r} is a {info.kind}, not a {' or '.join(kinds)}; "
                f"read it with read_{'table' if info.kind == 'table' else info.kind}"
                if info.kind in ("table", "genoprobs")
                else f"{self.path}: item {name!r} is a {info.kind}; read it with read_array"
            )
        return info

    # -- tables ---------------------------------------------------------------------------
    def write_table(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        provenance: Provenance | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> ItemInfo:
        """Save a ``pd.DataFrame`` as parquet (atomically); query it by ``name`` in SQL."""
        if not isinstance(table, pd.DataFrame):
            raise InputError(
                f"write_table({name!r}): got {type(table).__name__}; give a pandas DataFrame"
            )
        frame = table.copy()
        frame.columns = [str(c) for c in frame.columns]

        def writer(folder: Path) -> None:
            frame.to_parquet(folder / "data.parquet", engine="pyarrow")

        return self._write(name, "table", writer, provenance=provenance, attrs=attrs)

    def read_table(self, name: str) -> pd.DataFrame:
        """Load a table item (index and dtypes as written)."""
        info = self._expect(name, ("table",))
        return pd.read_parquet(info.path / "data.parquet", engine="pyarrow")

    def query(self, sql: str) -> pd.DataFrame:
        """Run DuckDB SQL over the store's tables (each is a view named like the item).

        Views are made at call time from the current versions, so a query sees every
        table as it was when the query started.
        """
        import duckdb

        con = duckdb.connect()
        try:
            for name in self.names():
                info = self.info(name)
                if info.kind != "table":
                    continue
                parquet = str(info.path / "data.parquet").replace("'", "''")
                view = name.replace('"', '""')
                con.execute(f"CREATE VIEW \"{view}\" AS SELECT * FROM read_parquet('{parquet}')")
            try:
                return con.execute(sql).df()
            except duckdb.Error as exc:
                tables = ", ".join(n for n in self.names() if self.info(n).kind == "table")
                raise InputError(
                    f"{self.path}: query failed ({exc}); tables: {tables or 'none'}"
                ) from exc
        finally:
            con.close()

    # -- genotype probabilities -----------------------------------------------------------
    def write_genoprobs(
        self,
        name: str,
        probs: GenoProbs,
        *,
        provenance: Provenance | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> ItemInfo:
        """Save :class:`~translocus.core.model.GenoProbs` (one zarr group per chromosome).

        Chromosomes are written one at a time. Probabilities read lazily from a store item
        (:class:`~translocus.core.lazyprobs.LazyProbs`) are copied as stored, chunks and all.
        """
        from translocus.core.lazyprobs import LazyProbs

        if not isinstance(probs, GenoProbs):
            raise InputError(
                f"write_genoprobs({name!r}): got {type(probs).__name__}, not GenoProbs"
            )
        chromosomes = list(probs.chromosomes)
        source = probs.probs if isinstance(probs.probs, LazyProbs) else None
        names: list[Any] = []  # filled as each chromosome is written (looked up once)

        def writer(folder: Path) -> None:
            target = folder / "data.zarr"
            if source is not None:
                shutil.copytree(source.data, target)
                names.extend(source[c].name for c in chromosomes)
                return
            for i, chrom in enumerate(chromosomes):
                arr = probs[chrom]
                names.append(arr.name)
                ds = _strings_to_object(arr.to_dataset(name="probs"))
                ds.to_zarr(
                    target,
                    group=f"chr{i:03d}",
                    mode="w" if i == 0 else "a",
                    zarr_format=3,
                    consolidated=False,
                )

        extra = {
            "chromosomes": chromosomes,
            "crosstype": probs.crosstype,
            "alleles": list(probs.alleles),
            "x_chr": probs.x_chr,
            "probs_kind": probs.kind,
            "array_names": names,
        }
        return self._write(
            name, "genoprobs", writer, provenance=provenance, attrs=attrs, extra=extra
        )

    def genoprobs_writer(
        self,
        name: str,
        *,
        samples: Sequence[str],
        provenance: Provenance | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> GenoprobsWriter:
        """Write genotype probabilities block by block (see :class:`GenoprobsWriter`).

        Use it as a context manager: the item becomes current when the block ends without
        an error, and nothing of it is left when it ends with one.
        """
        return GenoprobsWriter(self, name, samples=samples, provenance=provenance, attrs=attrs)

    def fingerprint(self, name: str) -> dict[str, Any] | None:
        """The cross fingerprint saved with item ``name`` (see :func:`cross_fingerprint`).

        ``None`` when the item was written without one.
        """
        value = self.info(name).attrs.get("fingerprint")
        return dict(value) if isinstance(value, Mapping) else None

    def read_genoprobs(self, name: str, *, lazy: bool | None = None) -> GenoProbs:
        """Load :class:`~translocus.core.model.GenoProbs` saved by :meth:`write_genoprobs`.

        ``lazy=True`` reads nothing yet: its ``probs`` is a
        :class:`~translocus.core.lazyprobs.LazyProbs` that reads a chromosome when its values
        are used (valid while this version of the item exists). ``lazy=None`` (the default)
        is lazy when the values would take more than :data:`LAZY_BYTES` in memory, so that
        ``scan --probs`` of a study-size store holds one chromosome at a time.
        """
        from translocus.core.lazyprobs import LazyProbs

        info = self._expect(name, ("genoprobs",))
        meta = json.loads((info.path / "meta.json").read_text(encoding="utf-8"))
        mapping = LazyProbs(info.path / "data.zarr", meta["chromosomes"], meta["array_names"])
        if lazy is None:
            lazy = mapping.nbytes() > LAZY_BYTES
        out: Mapping[str, xr.DataArray] = mapping
        if not lazy:
            out = {}
            for i, chrom in enumerate(meta["chromosomes"]):
                with xr.open_zarr(
                    info.path / "data.zarr", group=f"chr{i:03d}", zarr_format=3,
                    consolidated=False,
                ) as ds:  # fmt: skip
                    arr = _strings_from_zarr(ds.load())["probs"]
                out[chrom] = arr.rename(meta["array_names"][i])
        return GenoProbs(
            probs=out,
            crosstype=meta["crosstype"],
            alleles=tuple(meta["alleles"]),
            x_chr=meta["x_chr"],
            kind=meta["probs_kind"],
        )


#: ``read_genoprobs(lazy=None)`` reads probabilities lazily above this many bytes (2 GiB).
LAZY_BYTES = 2 << 30
#: Stored probabilities are chunked in about this many values (32 MiB of float64).
CHUNK_VALUES = 1 << 22


class GenoprobsWriter:
    """A genotype-probability item written chromosome by chromosome, block by block.

    Each chromosome's array ``[marker, sample, state]`` is created on its first block and
    chunked by markers x the blocks' animals, so that a block fills whole chunks. The layout
    is that of :meth:`Store.write_genoprobs`: :meth:`Store.read_genoprobs` reads either.

    Examples
    --------
    >>> import tempfile
    >>> from translocus.core.simulate import simulate_cross
    >>> from translocus.genetics.genoprob import calc_genoprob
    >>> cross = simulate_cross(cross_type="f2", n=20, n_markers=40, seed=1).cross
    >>> ids = list(cross.individuals)
    >>> store = Store(tempfile.mkdtemp())
    >>> with store.genoprobs_writer("genoprob", samples=ids) as out:
    ...     for start in (0, 10):
    ...         part = cross.subset(chromosomes=["1"], individuals=ids[start : start + 10])
    ...         out.write("1", calc_genoprob(part), start=start, width=10)
    >>> store.read_genoprobs("genoprob")["1"].sizes["sample"]
    20
    """

    def __init__(
        self,
        store: Store,
        name: str,
        *,
        samples: Sequence[str],
        provenance: Provenance | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.name = name
        self.samples = [str(s) for s in samples]
        self._meta: dict[str, Any] = {}
        self._provenance = provenance
        self._attrs = dict(attrs or {})
        self._chroms: list[str] = []
        self._names: list[str | None] = []
        self._arrays: dict[str, Any] = {}
        self._begun: tuple[Path, str, Path] | None = None

    def __enter__(self) -> GenoprobsWriter:
        self._begun = self.store._begin(self.name)
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        assert self._begun is not None
        if kind is not None or not self._meta:
            shutil.rmtree(self._begun[2], ignore_errors=True)
            if kind is None:
                raise InputError(f"{self.name}: no probabilities were written; nothing stored")
            return
        extra = {**self._meta, "chromosomes": self._chroms, "array_names": self._names}
        self.store._finish(self.name, "genoprobs", self._begun, provenance=self._provenance,
                           attrs=self._attrs, extra=extra)  # fmt: skip

    @property
    def path(self) -> Path:
        """The ``data.zarr`` folder being written (hidden until the item is finished)."""
        if self._begun is None:
            raise RuntimeError("the writer is not open; use it in a with block")
        return self._begun[2] / "data.zarr"

    def write(self, chrom: str, probs: GenoProbs, *, start: int, width: int) -> None:
        """Write chromosome ``chrom`` of ``probs`` (some animals) at sample position ``start``.

        ``width`` is the number of animals per block (the chunk width along samples); the
        first block of a chromosome creates its array.
        """
        import dask.array as da
        import zarr

        meta = {"crosstype": probs.crosstype, "alleles": list(probs.alleles),
                "x_chr": probs.x_chr, "probs_kind": probs.kind}  # fmt: skip
        if self._meta and meta != self._meta:
            raise InputError(f"{self.name}: a block of {meta} in an item of {self._meta}")
        self._meta = meta
        arr = probs[chrom]
        values = np.asarray(arr.values, dtype=np.float64)
        ids = [str(s) for s in arr.coords["sample"].values]
        if ids != self.samples[start : start + len(ids)]:
            raise InputError(
                f"{self.name}: chromosome {chrom}: the block's samples are not those at "
                f"positions {start}-{start + len(ids) - 1} of the item; write blocks in order"
            )
        if chrom not in self._arrays:
            group = f"chr{len(self._chroms):03d}"
            n_marker, _, n_state = values.shape
            across = max(1, min(width, len(self.samples)))
            markers = max(1, min(n_marker, CHUNK_VALUES // max(1, across * n_state)))
            chunks = (markers, across, max(1, n_state))
            template = xr.DataArray(
                da.zeros((n_marker, len(self.samples), n_state), chunks=chunks),
                dims=arr.dims,
                coords={**{k: v for k, v in arr.coords.items() if "sample" not in v.dims},
                        "sample": np.asarray(self.samples, dtype=object)},
            )  # fmt: skip
            dataset = _strings_to_object(template.to_dataset(name="probs"))
            dataset.to_zarr(self.path, group=group, mode="w" if not self._chroms else "a",
                            zarr_format=3, consolidated=False, compute=False,
                            encoding={"probs": {"chunks": chunks, "compressors": None}})  # fmt: skip
            self._arrays[chrom] = zarr.open_array(str(self.path / group / "probs"), mode="r+")
            self._chroms.append(str(chrom))
            self._names.append(None if arr.name is None else str(arr.name))
        self._arrays[chrom][:, start : start + len(ids), :] = values


#: What genotype probabilities are a function of, besides the HMM settings: the parts of a
#: :func:`cross_fingerprint` that must agree for stored probabilities to belong to a cross.
FINGERPRINT_PARTS: dict[str, str] = {
    "crosstype": "cross type",
    "samples": "sample IDs",
    "markers": "markers",
    "map": "map positions",
    "genotypes": "genotype data (calls, founder genotypes, sex, cross information)",
}


def _sha(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "little"))
        digest.update(chunk)
    return digest.hexdigest()


def _text(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()


def _floats(series: pd.Series) -> bytes:
    return np.ascontiguousarray(pd.to_numeric(series, errors="coerce"), dtype="<f8").tobytes()


def cross_fingerprint(cross: Cross, *, error_prob: float, map_function: str) -> dict[str, Any]:
    """SHA-256 digests of what a cross's genotype probabilities are computed from.

    One digest per part of :data:`FINGERPRINT_PARTS` (cross type as is), the HMM settings,
    and ``sha256`` over all of it. Stored with the probabilities (``attrs["fingerprint"]``)
    so that a later scan can check that they belong to the cross it reads.

    Examples
    --------
    >>> from translocus.core.simulate import simulate_cross
    >>> cross = simulate_cross(cross_type="f2", n=20, n_markers=40, seed=1).cross
    >>> fp = cross_fingerprint(cross, error_prob=0.002, map_function="c-f")
    >>> fp["crosstype"], len(fp["sha256"])
    ('f2', 64)
    >>> fp == cross_fingerprint(cross, error_prob=0.002, map_function="c-f")
    True
    """
    chroms = list(cross.chromosomes)
    markers = [[c, [str(m) for m in cross.gmap[c].index]] for c in chroms]
    map_parts = [_text(chroms)]
    for c in chroms:
        map_parts.append(_floats(cross.gmap[c]))
        pmap = cross.pmap.get(c) if cross.pmap is not None else None
        map_parts.append(b"" if pmap is None else _floats(pmap))
    geno_parts = [_text(chroms)]
    for c in chroms:
        geno_parts.append(np.ascontiguousarray(cross.geno[c], dtype=np.int8).tobytes())
        founder = cross.founder_geno.get(c) if cross.founder_geno is not None else None
        geno_parts.append(b"" if founder is None else
                          np.ascontiguousarray(founder, dtype=np.int8).tobytes())  # fmt: skip
    sex = cross.is_female
    geno_parts.append(_text([str(i) for i in sex.index]))
    geno_parts.append(np.ascontiguousarray(sex.to_numpy(dtype=bool)).tobytes())
    info = cross.cross_info
    geno_parts.append(_text([[str(i) for i in info.index], [str(c) for c in info.columns]]))
    if info.size:
        geno_parts.append(np.ascontiguousarray(info.to_numpy(dtype="<f8")).tobytes())
    out: dict[str, Any] = {
        "crosstype": str(cross.crosstype),
        "samples": _sha(_text([str(i) for i in cross.individuals])),
        "markers": _sha(_text(markers)),
        "map": _sha(*map_parts),
        "genotypes": _sha(*geno_parts),
        "error_prob": float(error_prob),
        "map_function": str(map_function),
    }
    out["sha256"] = _sha(_text(sorted(out.items())))
    return out


def fingerprint_differences(stored: Mapping[str, Any], cross: Mapping[str, Any]) -> list[str]:
    """The parts of :data:`FINGERPRINT_PARTS` in which two fingerprints differ, in words.

    >>> a = {"crosstype": "do", "samples": "1", "markers": "2", "map": "3", "genotypes": "4"}
    >>> fingerprint_differences(a, {**a, "crosstype": "f2", "map": "x"})
    ['cross type (do, not f2)', 'map positions']
    """
    out = []
    for key, label in FINGERPRINT_PARTS.items():
        if stored.get(key) != cross.get(key):
            if key == "crosstype":
                label = f"{label} ({stored.get(key)}, not {cross.get(key)})"
            out.append(label)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
