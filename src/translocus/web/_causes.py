"""What the Cause page reads from a run folder: traits, LOD profiles, peaks and effects.

Two kinds of run hold genome scans:

- ``scan`` (and the demo's ``cause_*`` parts): ``lod.parquet`` is wide — one row per marker
  (``marker, chr, pos_cM[, pos_Mbp]``) and one column per trait; a profile is one column,
  read alone through the file's footer (kept per run). ``peaks.csv``, ``peak_effects.csv``
  (``coef`` and ``blup`` with SEs at the peak marker), ``effects_along.parquet`` (``coef``
  along the chromosome of the highest peaks) and ``thresholds.csv`` (with permutations).
- ``eqtl``: ``max_lod.parquet`` (one row per trait), ``peaks.parquet`` (with the allele
  effects and SEs at each peak, the trait's gene and local/distal class), ``hotspots.csv``
  and, with ``--keep-lod``, ``lod.zarr`` (one ``[trait, marker]`` array per chromosome,
  chunked by 64 traits: a profile reads one chunk per chromosome). Marker positions come from
  the map of the run's cross.

Readers are made once per run (:func:`reader`) and keep only small things: the footer, the
trait list, the peaks, the map.
"""

from __future__ import annotations

import json
import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from fastapi import HTTPException

from translocus.core.runs import recorded_path
from translocus.web.runs import RunIndex, RunInfo

__all__ = ["CAUSE_COMMANDS", "EqtlReader", "ScanReader", "reader"]

#: Runs the Cause page shows.
CAUSE_COMMANDS = ("scan", "eqtl")
_COORDS = ("marker", "chr", "pos_cM", "pos_Mbp")
FOUNDERS = ("A", "B", "C", "D", "E", "F", "G", "H")


def _missing(what: str) -> HTTPException:
    return HTTPException(404, what)


class _Reader(ABC):
    """What both kinds of run answer (see the subclasses)."""

    kind = ""

    def __init__(self, run: RunInfo, index: RunIndex) -> None:
        self.run = run
        self.index = index
        self._lock = threading.Lock()

    @abstractmethod
    def trait_table(self) -> pd.DataFrame: ...

    @abstractmethod
    def markers(self) -> pd.DataFrame: ...

    @abstractmethod
    def profile(self, trait: str) -> np.ndarray: ...

    @abstractmethod
    def peaks(self) -> pd.DataFrame: ...

    @abstractmethod
    def peak_effects(self, trait: str) -> pd.DataFrame: ...

    @abstractmethod
    def thresholds(self, trait: str) -> list[dict[str, Any]]: ...

    @property
    def unit(self) -> str:
        return "Mbp" if self.map_name == "pos_Mbp" else "cM"

    map_name = "pos_Mbp"
    assembly: str | None = None

    def check_trait(self, trait: str) -> str:
        traits = self.trait_set()
        if trait not in traits:
            raise _missing(f"no trait {trait!r} in run {self.run.id}; /api/cause/traits finds them")
        return trait

    def trait_set(self) -> frozenset[str]:
        return self.index.cached(self.run, "cause:trait_set",
                                 lambda: frozenset(self.trait_table()["trait"].astype(str)))  # fmt: skip

    def trait_peaks(self, trait: str) -> pd.DataFrame:
        ordered, spans = self.index.cached(self.run, "cause:peaks_by_trait", self._group_peaks)
        start, stop = spans.get(trait, (0, 0))
        return ordered.iloc[start:stop].reset_index(drop=True)

    def _group_peaks(self) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
        """The peaks sorted by trait (stable) and each trait's rows in it."""
        table = self.peaks()
        names = table["trait"].astype(str).to_numpy()
        order = np.argsort(names, kind="stable")
        ordered = table.iloc[order].reset_index(drop=True)
        keys, first, counts = np.unique(names[order], return_index=True, return_counts=True)
        spans = {str(k): (int(a), int(a + n)) for k, a, n in zip(keys, first, counts, strict=True)}
        return ordered, spans

    def symbols(self) -> dict[str, str]:
        """Other names of the traits to search by (gene symbols of molecular traits)."""
        return {}

    def chromosomes(self) -> list[str]:
        return list(dict.fromkeys(self.markers()["chr"].astype(str)))


class ScanReader(_Reader):
    """A ``scan`` run (or a demo ``cause_*`` part)."""

    kind = "scan"

    def __init__(self, run: RunInfo, index: RunIndex) -> None:
        super().__init__(run, index)
        import pyarrow.parquet as pq

        path = index.file(run, "lod.parquet")
        if path is None:
            raise _missing(f"run {run.id} has no lod.parquet; run `translocus scan` again")
        self.path = path
        self.metadata = pq.ParquetFile(path).metadata
        names = [self.metadata.schema.column(i).name for i in range(self.metadata.num_columns)]
        self.coords = [c for c in names if c in _COORDS]
        self.traits = [c for c in names if c not in _COORDS]
        summary = (run.meta.get("summary") or {}) if run.meta.get("command") == "scan" else {}
        self.summary = summary
        wanted = str(summary.get("map"))
        self.map_name = (wanted if wanted in self.coords
                         else "pos_Mbp" if "pos_Mbp" in self.coords else "pos_cM")  # fmt: skip
        self.assembly = summary.get("assembly")

    def _read(self, columns: Sequence[str]) -> pd.DataFrame:
        import pyarrow.parquet as pq

        table = pq.ParquetFile(self.path, metadata=self.metadata).read(columns=list(columns))
        return table.to_pandas()

    def markers(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            frame = self._read(self.coords)
            frame["chr"] = frame["chr"].astype(str)
            frame["marker"] = frame["marker"].astype(str)
            frame["pos"] = frame[self.map_name].astype(float)
            return frame

        return self.index.cached(self.run, "cause:markers", load)

    def profile(self, trait: str) -> np.ndarray:
        self.check_trait(trait)
        return self._read([trait])[trait].to_numpy(dtype=float)

    def peaks(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            path = self.index.file(self.run, "peaks.csv")
            if path is None:
                return pd.DataFrame(columns=["trait", "chr", "pos", "lod", "ci_lo", "ci_hi"])
            frame = pd.read_csv(path, dtype={"chr": str, "lodcolumn": str})
            return frame.rename(columns={"lodcolumn": "trait"}).drop(columns=["lodindex"],
                                                                    errors="ignore")  # fmt: skip

        return self.index.cached(self.run, "cause:peaks", load)

    def trait_table(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            best = self.summary.get("max_lod") or {}
            if not best and len(self.traits) <= 200:  # a demo part: its run.json is the demo's
                frame = self._read(self.traits)
                best = {t: float(np.nanmax(frame[t])) if frame[t].notna().any() else None
                        for t in self.traits}  # fmt: skip
            counts = self.peaks()["trait"].astype(str).value_counts()
            return pd.DataFrame({
                "trait": self.traits,
                "max_lod": [best.get(t) for t in self.traits],
                "n_peaks": [int(counts.get(t, 0)) for t in self.traits],
            })  # fmt: skip

        return self.index.cached(self.run, "cause:traits", load)

    def thresholds(self, trait: str) -> list[dict[str, Any]]:
        path = self.index.file(self.run, "thresholds.csv")
        if path is not None:
            table = self.index.cached(self.run, "cause:thresholds", lambda: pd.read_csv(path))
            if trait in table.columns:
                return [{"label": f"{100 * float(a):g}% (permutations)", "alpha": float(a),
                         "lod": float(v)}
                        for a, v in zip(table["alpha"], table[trait], strict=True)
                        if np.isfinite(v)]  # fmt: skip
        used = (self.summary.get("thresholds") or {}).get(trait)
        if used and used.get("lod") is not None:
            return [{"label": str(used.get("how", "threshold")), "alpha": used.get("alpha"),
                     "lod": float(used["lod"])}]  # fmt: skip
        return []

    def all_peak_effects(self) -> pd.DataFrame:
        """Effects at every peak kept (``coef`` and ``blup`` with SEs), highest peaks first."""

        def load() -> pd.DataFrame:
            path = self.index.file(self.run, "peak_effects.csv")
            if path is None:
                return pd.DataFrame(columns=["trait", "chr", "pos", "lod", "marker", "method",
                                             "coefficient", "estimate", "se"])  # fmt: skip
            frame = pd.read_csv(path, dtype={"chr": str, "lodcolumn": str, "marker": str})
            return frame.rename(columns={"lodcolumn": "trait"}).drop(columns=["lodindex"],
                                                                    errors="ignore")  # fmt: skip

        return self.index.cached(self.run, "cause:peak_effects", load)

    def peak_effects(self, trait: str) -> pd.DataFrame:
        table = self.all_peak_effects()
        return table[table["trait"] == trait].reset_index(drop=True)

    def effects_along(self, trait: str, chrom: str) -> pd.DataFrame | None:
        """``coef`` along ``chrom`` (long: marker, pos, coefficient, estimate, se), if kept."""

        def load() -> pd.DataFrame | None:
            path = self.index.file(self.run, "effects_along.parquet")
            if path is None:
                return None
            frame = pd.read_parquet(path)
            frame["chr"] = frame["chr"].astype(str)
            return frame.rename(columns={"lodcolumn": "trait"})

        table = self.index.cached(self.run, "cause:effects_along", load)
        if table is None:
            return None
        rows = table[(table["trait"] == trait) & (table["chr"] == chrom)]
        return rows.reset_index(drop=True) if len(rows) else None


class EqtlReader(_Reader):
    """An ``eqtl`` run (molecular traits; profiles from ``lod.zarr`` when kept)."""

    kind = "eqtl"

    def __init__(self, run: RunInfo, index: RunIndex) -> None:
        super().__init__(run, index)
        summary = run.meta.get("summary") or {}
        self.summary = summary
        self.map_name = str(summary.get("map_name") or "pos_Mbp")
        self.assembly = summary.get("build")
        self.store_path = index.file(run, "lod.zarr/zarr.json")
        self._store: Any = None

    def trait_table(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            path = self.index.file(self.run, "max_lod.parquet")
            if path is None:
                raise _missing(f"run {self.run.id} has no max_lod.parquet")
            frame = pd.read_parquet(path, columns=["trait", "lod"])
            counts = self.peaks()["trait"].astype(str).value_counts()
            return pd.DataFrame({
                "trait": frame["trait"].astype(str).to_numpy(),
                "max_lod": frame["lod"].to_numpy(dtype=float),
                "n_peaks": [int(counts.get(t, 0)) for t in frame["trait"].astype(str)],
            })  # fmt: skip

        return self.index.cached(self.run, "cause:traits", load)

    def peaks(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            path = self.index.file(self.run, "peaks.parquet")
            if path is None:
                raise _missing(f"run {self.run.id} has no peaks.parquet")
            frame = pd.read_parquet(path)
            frame["chr"] = frame["chr"].astype(str)
            frame["trait"] = frame["trait"].astype(str)
            return frame

        return self.index.cached(self.run, "cause:peaks", load)

    def _zarr(self) -> Any:
        if self.store_path is None:
            raise _missing(f"run {self.run.id} kept no LOD profiles; run `translocus eqtl` "
                           "again with --keep-lod to see them")  # fmt: skip
        with self._lock:
            if self._store is None:
                import zarr

                root = zarr.open_group(str(self.store_path.parent), mode="r")
                traits = [str(t) for t in root.attrs["traits"]]  # type: ignore[union-attr]
                chroms = [str(c) for c in root.attrs["chromosomes"]]  # type: ignore[union-attr]
                arrays = {c: root[f"lod/{c}"] for c in chroms}
                markers = {c: [str(m) for m in cast(list[Any], arrays[c].attrs["markers"])]
                           for c in chroms}  # fmt: skip
                self._store = (
                    {t: i for i, t in enumerate(traits)}, chroms, arrays, markers
                )  # fmt: skip
        return self._store

    def markers(self) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            _, chroms, _, markers = self._zarr()
            names = [m for c in chroms for m in markers[c]]
            frame = pd.DataFrame({"marker": names,
                                  "chr": [c for c in chroms for _ in markers[c]]})  # fmt: skip
            positions = self._map_positions()
            if positions is not None:
                frame["pos"] = positions.reindex(names).to_numpy(dtype=float)
            if positions is None or frame["pos"].isna().any():
                frame["pos"] = frame.groupby("chr", sort=False).cumcount().astype(float)
                self.map_name = "index"
            return frame

        return self.index.cached(self.run, "cause:markers", load)

    @property
    def unit(self) -> str:
        return {"pos_Mbp": "Mbp", "pos_cM": "cM"}.get(self.map_name, "marker")

    def _map_positions(self) -> pd.Series | None:
        """Marker positions from the map of the run's cross (``None`` when not found)."""
        from translocus.core import qtl2io

        options = self.run.meta.get("options") or {}
        cross = recorded_path(self.run.meta, options.get("cross"), self.run.path)
        if cross is None:
            return None
        try:
            source, text, name = qtl2io._open_source(cross)
            control = qtl2io.read_control(text, name)
            field = "pmap" if self.map_name == "pos_Mbp" else "gmap"
            table, _ = qtl2io._read_map(source, control, field)
        except Exception:  # a map that cannot be read: positions by marker order instead
            return None
        return table["pos"].astype(float).rename(index=str)

    def profile(self, trait: str) -> np.ndarray:
        self.check_trait(trait)
        rows, chroms, arrays, _ = self._zarr()
        if trait not in rows:
            raise _missing(f"trait {trait!r} has no kept LOD profile in run {self.run.id}")
        i = rows[trait]
        layouts = self.index.cached(self.run, "cause:chunk_layouts", self._chunk_layouts)
        parts = []
        for c in chroms:
            layout = layouts.get(c)
            row = self._chunk_row(c, i, layout) if layout is not None else None
            parts.append(row if row is not None else np.asarray(arrays[c][i, :], dtype=float))
        return np.concatenate(parts)

    def _chunk_layouts(self) -> dict[str, tuple[int, int, np.dtype]]:
        """Per chromosome, (rows per chunk, markers, dtype) where a chunk can be read directly.

        That is a zarr v3 array of regular chunks holding whole rows, stored as little-endian
        bytes compressed by zstd under default chunk keys: reading and decompressing the one
        file is several times faster than zarr's general path, which matters under load.
        """
        _, chroms, _, _ = self._zarr()
        found: dict[str, tuple[int, int, np.dtype]] = {}
        for c in chroms:
            path = self.index.file(self.run, f"lod.zarr/lod/{c}/zarr.json")
            if path is None:
                continue
            try:
                meta = json.loads(path.read_text())
                shape = meta["shape"]
                chunk = meta["chunk_grid"]["configuration"]["chunk_shape"]
                codecs = [(k["name"], k.get("configuration", {})) for k in meta["codecs"]]
                keys = meta["chunk_key_encoding"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            plain = (
                meta.get("chunk_grid", {}).get("name") == "regular"
                and len(shape) == 2 and chunk[1] == shape[1]
                and keys.get("name") == "default"
                and keys.get("configuration", {}).get("separator", "/") == "/"
                and len(codecs) == 2 and codecs[0][0] == "bytes"
                and codecs[0][1].get("endian", "little") == "little" and codecs[1][0] == "zstd"
                and meta.get("data_type") in ("float64", "float32")
            )  # fmt: skip
            if plain:
                dtype = np.dtype("<f8" if meta["data_type"] == "float64" else "<f4")
                found[c] = (int(chunk[0]), int(shape[1]), dtype)
        return found

    def _chunk_row(self, chrom: str, i: int, layout: tuple[int, int, np.dtype]
                   ) -> np.ndarray | None:  # fmt: skip
        from numcodecs import Zstd

        rows, width, dtype = layout
        name = f"lod.zarr/lod/{chrom}/c/{i // rows}/0"
        path = self.run.path / name  # the run's own folder; a link is checked as any file
        try:
            is_link = path.is_symlink()
            if is_link:
                checked = self.index.file(self.run, name)
                if checked is None:
                    return None
                path = checked
            raw = Zstd().decode(path.read_bytes())
        except FileNotFoundError:  # a chunk never written holds the fill value
            return None
        block = np.frombuffer(raw, dtype=dtype)
        if block.size != rows * width:
            return None
        return block.reshape(rows, width)[i % rows].astype(float)

    def thresholds(self, trait: str) -> list[dict[str, Any]]:
        path = self.index.file(self.run, "thresholds.csv")
        if path is not None:
            table = self.index.cached(self.run, "cause:thresholds",
                                      lambda: pd.read_csv(path, dtype={"trait": str}))  # fmt: skip
            if "trait" in table.columns and "threshold" in table.columns:
                row = table[table["trait"] == trait]
                if len(row) and np.isfinite(row["threshold"].iloc[0]):
                    alpha = self.summary.get("alpha")
                    label = (
                        f"{100 * float(alpha):g}% (pooled permutations)" if alpha else "threshold"
                    )
                    return [{"label": label, "alpha": alpha,
                             "lod": float(row["threshold"].iloc[0])}]  # fmt: skip
        value = self.summary.get("threshold")
        if isinstance(value, (int, float)) and math.isfinite(value):
            return [{"label": f"LOD {value:g} (--threshold)", "alpha": None, "lod": float(value)}]
        return []

    def peak_effects(self, trait: str) -> pd.DataFrame:
        return self.effects_of(self.trait_peaks(trait))

    def effects_of(self, peaks: pd.DataFrame) -> pd.DataFrame:
        """The allele effects of ``peaks`` (rows of :meth:`peaks`) as a long table."""
        rows = []
        for peak in peaks.itertuples(index=False):
            record = peak._asdict()
            for name in FOUNDERS:
                if f"coef_{name}" in record:
                    rows.append({"trait": record["trait"], "chr": record["chr"], "pos": record["pos"],
                                 "lod": record["lod"], "marker": record.get("marker"),
                                 "method": "coef", "coefficient": name,
                                 "estimate": record[f"coef_{name}"],
                                 "se": record.get(f"se_{name}")})  # fmt: skip
        return pd.DataFrame(rows, columns=["trait", "chr", "pos", "lod", "marker", "method",
                                           "coefficient", "estimate", "se"])  # fmt: skip

    def effects_along(self, trait: str, chrom: str) -> pd.DataFrame | None:
        return None

    def symbols(self) -> dict[str, str]:
        """Gene symbols of the traits (features.csv), for search and labels."""

        def load() -> dict[str, str]:
            path = self.index.file(self.run, "features.csv")
            if path is None:
                return {}
            frame = pd.read_csv(path, dtype=str, usecols=lambda c: c in ("feature", "symbol"))
            if "symbol" not in frame.columns:
                return {}
            frame = frame.dropna()
            return dict(zip(frame["feature"], frame["symbol"], strict=True))

        return self.index.cached(self.run, "cause:symbols", load)

    def hotspots(self) -> pd.DataFrame | None:
        path = self.index.file(self.run, "hotspots.csv")
        if path is None:
            return None
        return self.index.cached(self.run, "cause:hotspots",
                                 lambda: pd.read_csv(path, dtype={"chr": str}))  # fmt: skip


def reader(run: RunInfo, index: RunIndex) -> ScanReader | EqtlReader:
    """The reader of a scan or eqtl run (one per run, kept by the index)."""
    if run.command == "scan":
        return index.cached(run, "cause:reader", lambda: ScanReader(run, index))
    if run.command == "eqtl":
        return index.cached(run, "cause:reader", lambda: EqtlReader(run, index))
    raise HTTPException(
        400, f"run {run.id} is a {run.command} run; the Cause page shows scan and eqtl runs"
    )
