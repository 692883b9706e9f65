"""Result objects of the genome scan: LOD tables, permutation maxima and thresholds.

All results are plain, documented containers around xarray/pandas objects. ``save``/``load``
keep everything (netCDF through xarray when one of its netCDF engines is installed, else a zarr
folder); ``to_qtl2_csv`` exports the tables as R's ``write.csv`` writes R/qtl2's objects, so
``read.csv(path, row.names=1)`` gives R back the ``scan1``/``scan1perm`` matrix. All writes are
atomic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.atomic import atomic_dir, atomic_path, atomic_write_text
from translocus.core.errors import InputError

__all__ = ["PermutationResult", "ScanResult", "write_r_csv", "write_table"]

# xarray's netCDF engines, in order of preference; zarr (a core dependency) when none is installed
_NETCDF_ENGINES = ("scipy", "h5netcdf", "netcdf4")


def _netcdf_engine() -> str | None:
    engines = xr.backends.list_engines()
    return next((name for name in _NETCDF_ENGINES if name in engines), None)


def _plain(value: Any) -> Any:
    """An attribute value as JSON (numpy scalars and arrays to Python values)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _save_dataset(data: xr.Dataset, path: Path, kind: str, extra: Mapping[str, Any]) -> Path:
    """Write ``data`` so that :func:`_load_dataset` gives it back identical.

    netCDF-3 has no 64-bit integers, booleans or unicode, so the dtypes and the attributes
    travel as JSON attributes and are restored on loading.
    """
    path = Path(path)
    out = data.copy()
    meta = {
        "kind": kind,
        "attrs": {k: _plain(v) for k, v in data.attrs.items()},
        "dtypes": {str(name): var.dtype.str for name, var in data.variables.items()},
        **{k: _plain(v) for k, v in extra.items()},
    }
    out.attrs = {"translocus_result": kind, "translocus_meta": json.dumps(meta)}
    engine = _netcdf_engine()
    if engine is None:
        # variable-length strings: zarr v3 has no specification for numpy's fixed-width ones
        for name, var in out.variables.items():
            if var.dtype.kind == "U":
                if name in out.coords:
                    out = out.assign_coords({name: var.astype(object)})
                else:
                    out[name] = var.astype(object)
        with atomic_dir(path) as tmp:
            out.to_zarr(tmp, mode="w", consolidated=False)
    else:
        with atomic_path(path, suffix=".nc") as tmp:
            out.to_netcdf(tmp, engine=engine)  # type: ignore[call-overload]
    return path


def _load_dataset(path: Path, kind: str) -> tuple[xr.Dataset, dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file; give the path a {kind} was saved to")
    try:
        if path.is_dir():
            data = xr.open_zarr(path, consolidated=False).load()
        else:
            data = xr.load_dataset(path)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a saved {kind} ({exc}); save it with {kind}.save") from exc
    if data.attrs.get("translocus_result") != kind:
        raise InputError(f"{path}: not a saved {kind}; load it with the class that saved it")
    meta = json.loads(str(data.attrs["translocus_meta"]))
    for name, dtype in meta["dtypes"].items():
        if data[name].dtype.str != dtype:
            restored = data[name].astype(dtype)
            if name in data.coords:
                data = data.assign_coords({name: restored})
            else:
                data[name] = restored
    data.attrs = meta["attrs"]
    for var in data.variables.values():
        var.encoding = {}
    return data, meta


def _r_field(value: Any) -> str:
    """One field as R's ``write.csv`` writes it: strings quoted, ``NA``, ``Inf``."""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    number = float(value)
    if math.isnan(number):
        return "NA"
    if math.isinf(number):
        return "Inf" if number > 0 else "-Inf"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(number)  # shortest repr: R reads back the same double


def write_r_csv(table: pd.DataFrame, path: Path, *, row_names: bool = True) -> Path:
    """Write ``table`` as R's ``write.csv(table, row.names=row_names)`` does, atomically.

    With row names the header starts with ``""`` and each row with its quoted name, so
    ``read.csv(path, row.names=1)`` in R (or ``pandas.read_csv(path, index_col=0)``) reads the
    table back.
    """
    header = ([""] if row_names else []) + [str(c) for c in table.columns]
    lines = [",".join(_r_field(h) for h in header)]
    names = [str(i) for i in table.index]
    columns = [table[c].tolist() for c in table.columns]
    for i, name in enumerate(names):
        fields = ([_r_field(name)] if row_names else []) + [_r_field(col[i]) for col in columns]
        lines.append(",".join(fields))
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
    return Path(path)


def _sibling(path: Path, tag: str) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}_{tag}{path.suffix or '.csv'}")


def write_table(df: pd.DataFrame, path: Path, *, index: bool = False) -> Path:
    """Write a table atomically as CSV or parquet (chosen by the file suffix)."""
    path = Path(path)
    with atomic_path(path, suffix=path.suffix) as tmp:
        if path.suffix == ".parquet":
            df.to_parquet(tmp, index=index)
        else:
            df.to_csv(tmp, index=index)  # shortest repr: round-trips exactly
    return path


@dataclass(frozen=True)
class ScanResult:
    """LOD scores of a genome scan.

    Attributes
    ----------
    data
        ``xr.Dataset`` with ``lod [marker, trait]``; coordinates ``chr``, ``pos_cM`` and
        (when known) ``pos_Mbp`` on ``marker``; ``sample_size [trait]`` (individuals used per
        trait, after dropping its missing values); for the LMM ``hsq [hsq_set, trait]`` (one row
        per LOCO chromosome, or ``overall``/``autosomes``+X for one kinship matrix).
        ``attrs`` hold ``method`` (``"hk"`` or ``"lmm"``), ``kinship`` (``none``, ``overall``
        or ``loco``), ``reml`` and ``x_chr``.
    skipped
        Traits that could not be scanned (fewer than 3 observations, or no variance left
        after the covariates); their LOD column is missing.
    """

    data: xr.Dataset
    skipped: tuple[str, ...] = field(default=())

    # -- accessors -------------------------------------------------------------------------
    @property
    def traits(self) -> list[str]:
        """Trait names (the LOD columns)."""
        return [str(t) for t in self.data.coords["trait"].values]

    @property
    def markers(self) -> list[str]:
        """Marker (position) names, genome order."""
        return [str(m) for m in self.data.coords["marker"].values]

    @property
    def chromosomes(self) -> list[str]:
        """Chromosome names, genome order."""
        return list(dict.fromkeys(str(c) for c in self.data.coords["chr"].values))

    @property
    def x_chr(self) -> str | None:
        """Name of the X chromosome, or ``None``."""
        x = self.data.attrs.get("x_chr")
        return None if x in (None, "") else str(x)

    @property
    def lod(self) -> pd.DataFrame:
        """``[marker, trait]`` LOD scores."""
        arr = self.data["lod"]
        return pd.DataFrame(arr.values, index=self.markers, columns=self.traits)

    @property
    def sample_size(self) -> pd.Series:
        """Individuals used per trait (non-missing phenotype and covariates)."""
        return pd.Series(self.data["sample_size"].values, index=self.traits, name="n")

    @property
    def hsq(self) -> pd.DataFrame | None:
        """Heritabilities of the null LMMs (``None`` for Haley-Knott)."""
        if "hsq" not in self.data:
            return None
        arr = self.data["hsq"]
        return pd.DataFrame(
            arr.values, index=[str(s) for s in arr.coords["hsq_set"].values], columns=self.traits
        )

    def positions(self, map_name: str = "pos_Mbp") -> dict[str, pd.Series]:
        """Marker positions per chromosome (``pos_cM`` or ``pos_Mbp``)."""
        if map_name not in self.data.coords:
            raise KeyError(f"the scan has no {map_name} coordinate")
        pos = pd.Series(self.data.coords[map_name].values.astype(float), index=self.markers)
        chrom = np.asarray(self.data.coords["chr"].values).astype(str)
        return {c: pos[chrom == c] for c in self.chromosomes}

    def to_frame(self) -> pd.DataFrame:
        """R/qtl2's layout: ``marker, chr, pos_cM, pos_Mbp`` then one column per trait."""
        out = pd.DataFrame({"marker": self.markers, "chr": self.data.coords["chr"].values})
        for name in ("pos_cM", "pos_Mbp"):
            if name in self.data.coords:
                out[name] = self.data.coords[name].values.astype(float)
        return pd.concat([out, self.lod.reset_index(drop=True)], axis=1)

    def max_lod(self) -> pd.DataFrame:
        """Per trait: the maximum LOD, its marker and chromosome, and n."""
        lod = self.lod
        rows: list[tuple[str, float, str | None, str | None]] = []
        for trait in self.traits:
            col = lod[trait].to_numpy()
            if np.all(np.isnan(col)):
                rows.append((trait, np.nan, None, None))
                continue
            i = int(np.nanargmax(col))
            rows.append((trait, float(col[i]), self.markers[i],
                         str(self.data.coords["chr"].values[i])))  # fmt: skip
        out = pd.DataFrame(rows, columns=["trait", "max_lod", "marker", "chr"])
        out["n"] = self.sample_size.to_numpy()
        return out

    def subset(self, *, traits: Sequence[str] | None = None,
               chromosomes: Sequence[str] | None = None) -> ScanResult:  # fmt: skip
        """The result for some traits and/or chromosomes (all when ``None``)."""
        data = self.data
        if traits is not None:
            data = data.sel(trait=list(traits))
        if chromosomes is not None:
            keep = np.isin(np.asarray(data.coords["chr"].values).astype(str), list(chromosomes))
            data = data.isel(marker=np.flatnonzero(keep))
        return ScanResult(data=data, skipped=tuple(s for s in self.skipped if s in data.trait))

    # -- output ----------------------------------------------------------------------------
    def to_csv(self, path: Path) -> Path:
        """Write the long LOD table (:meth:`to_frame`) as CSV; return the path."""
        return write_table(self.to_frame(), path)

    def to_parquet(self, path: Path) -> Path:
        """Write the long LOD table (:meth:`to_frame`) as parquet; return the path."""
        return write_table(self.to_frame(), path)

    def save(self, path: Path) -> Path:
        """Save the whole result (LODs, map, sample sizes, h², attributes, skipped traits).

        A netCDF file when xarray has a netCDF engine (scipy's), else a zarr folder; either is
        read back identical by :meth:`load`. The write is atomic.
        """
        return _save_dataset(self.data, path, "ScanResult", {"skipped": list(self.skipped)})

    @classmethod
    def load(cls, path: Path) -> ScanResult:
        """Read a result written by :meth:`save`."""
        data, meta = _load_dataset(path, "ScanResult")
        return cls(data=data, skipped=tuple(str(s) for s in meta["skipped"]))

    def to_qtl2_csv(self, path: Path, *, map_name: str | None = None,
                    map_path: Path | None = None) -> tuple[Path, Path]:  # fmt: skip
        """Export for R: the ``scan1`` matrix and its map, as R's ``write.csv`` writes them.

        ``path`` gets ``write.csv(out)`` of R/qtl2's ``scan1`` output: a ``""`` header field
        then one column per trait, one row per marker named by its ID, ``NA`` for a missing
        LOD. ``map_path`` (default ``<stem>_map.csv`` beside ``path``) gets the map in R/qtl2's
        map-file layout, ``marker,chr,pos`` (``map_name``: ``"pos_cM"``, the default when
        present, or ``"pos_Mbp"``). In R::

            out <- as.matrix(read.csv("scan.csv", row.names=1, check.names=FALSE))
            map <- read.csv("scan_map.csv", colClasses=c("character", "character", "numeric"))

        Returns the two paths written.
        """
        if map_name is None:
            map_name = "pos_cM" if "pos_cM" in self.data.coords else "pos_Mbp"
        if map_name not in self.data.coords:
            raise InputError(f"the scan has no {map_name} map; use map_name='pos_cM' or 'pos_Mbp'")
        lod_path = write_r_csv(self.lod, path)
        table = pd.DataFrame({
            "marker": self.markers,
            "chr": [str(c) for c in self.data.coords["chr"].values],
            "pos": self.data.coords[map_name].values.astype(float),
        })  # fmt: skip
        map_path = write_r_csv(table, map_path or _sibling(lod_path, "map"), row_names=False)
        return lod_path, map_path

    def plot(self, **kwargs: Any) -> Any:
        """LOD curves along the genome (matplotlib figure); see :func:`plot.plot_lod`."""
        from translocus.genetics.plot import plot_lod

        return plot_lod(self, **kwargs)

    def summary(self) -> pd.DataFrame:
        """Maximum LOD per trait (:meth:`max_lod`)."""
        return self.max_lod()


@dataclass(frozen=True)
class PermutationResult:
    """Genome-wide maximum LOD scores from permutations.

    Attributes
    ----------
    maxlod
        ``[perm, trait]`` maxima over all positions (``perm_Xsp=False``), or the autosome
        maxima when X-specific.
    maxlod_x
        ``[perm, trait]`` X-chromosome maxima when ``perm_Xsp=True`` (more permutations, scaled
        by ``L_A / L_X`` as R/qtl2 does); else ``None``.
    chr_lengths
        ``{"A": L_A, "X": L_X}`` total lengths used for the X-specific significance levels.
    method
        ``"hk"`` or ``"lmm"``.
    """

    maxlod: pd.DataFrame
    maxlod_x: pd.DataFrame | None = None
    chr_lengths: Mapping[str, float] | None = None
    method: str = "hk"

    @property
    def n_perm(self) -> int:
        """Number of permutations."""
        return int(self.maxlod.shape[0])

    def thresholds(self, alpha: float | Sequence[float] = (0.2, 0.1, 0.05, 0.01)) -> pd.DataFrame:
        """LOD thresholds: the ``1 - alpha`` quantiles of the maxima (R's type-7 quantile).

        With X-specific permutations the levels are ``1 - (1 - alpha)^(L/L_total)`` for the
        autosomes and the X chromosome separately (R/qtl2 ``summary_scan1perm``), and the
        result has a ``region`` column (``A``/``X``).
        """
        alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
        if self.maxlod_x is None:
            q = np.nanquantile(self.maxlod.to_numpy(dtype=float), 1 - alphas, axis=0)
            out = pd.DataFrame(q, columns=self.maxlod.columns)
            out.insert(0, "alpha", alphas)
            return out
        lengths = self.chr_lengths or {"A": float(self.maxlod.shape[0]),
                                       "X": float(self.maxlod_x.shape[0])}  # fmt: skip
        total = lengths["A"] + lengths["X"]
        parts = []
        for region, table in (("A", self.maxlod), ("X", self.maxlod_x)):
            level = 1 - (1 - alphas) ** (lengths[region] / total)
            q = np.nanquantile(table.to_numpy(dtype=float), 1 - level, axis=0)
            part = pd.DataFrame(q, columns=table.columns)
            part.insert(0, "alpha", alphas)
            part.insert(0, "region", region)
            parts.append(part)
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """LOD thresholds at the usual significance levels (:meth:`thresholds`)."""
        return self.thresholds()

    # -- saving ----------------------------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """The maxima as ``maxlod [perm, trait]`` (and ``maxlod_x [perm_x, trait_x]``)."""
        data = xr.Dataset({"maxlod": (("perm", "trait"), self.maxlod.to_numpy())},
                          coords={"perm": self.maxlod.index.to_numpy(),
                                  "trait": self.maxlod.columns.to_numpy()})  # fmt: skip
        if self.maxlod_x is not None:
            data["maxlod_x"] = xr.DataArray(
                self.maxlod_x.to_numpy(), dims=("perm_x", "trait_x"),
                coords={"perm_x": self.maxlod_x.index.to_numpy(),
                        "trait_x": self.maxlod_x.columns.to_numpy()},
            )  # fmt: skip
        data.attrs["method"] = self.method
        return data

    def save(self, path: Path) -> Path:
        """Save the maxima (autosome and X parts), the chromosome lengths and the method.

        netCDF when xarray has a netCDF engine (scipy's), else a zarr folder; atomic.
        """
        lengths = None if self.chr_lengths is None else {k: float(v) for k, v in
                                                         self.chr_lengths.items()}  # fmt: skip
        return _save_dataset(self.to_dataset(), path, "PermutationResult",
                             {"chr_lengths": lengths})  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> PermutationResult:
        """Read a result written by :meth:`save`."""
        data, meta = _load_dataset(path, "PermutationResult")

        def frame(var: str, perm: str, trait: str) -> pd.DataFrame:
            index = pd.Index(data.coords[perm].values)
            if index.equals(pd.RangeIndex(len(index))):
                index = pd.RangeIndex(len(index))
            return pd.DataFrame(data[var].values, index=index,
                                columns=pd.Index(data.coords[trait].values))  # fmt: skip

        return cls(maxlod=frame("maxlod", "perm", "trait"),
                   maxlod_x=frame("maxlod_x", "perm_x", "trait_x") if "maxlod_x" in data
                   else None,
                   chr_lengths=meta["chr_lengths"], method=str(data.attrs["method"]))  # fmt: skip

    def to_qtl2_csv(self, path: Path) -> list[Path]:
        """Export for R: the ``scan1perm`` maxima as R's ``write.csv`` writes them.

        One row per permutation (row names ``1..n_perm``), one column per trait. X-specific
        permutations (R/qtl2's ``perm_Xsp=TRUE`` gives ``list(A=, X=)`` with attribute
        ``chr_lengths``) become ``<stem>_A.csv``, ``<stem>_X.csv`` and ``<stem>_chr_lengths.csv``
        (``write.csv(attr(operm, "chr_lengths"))``) beside ``path``; otherwise ``path`` holds
        the one matrix. In R: ``as.matrix(read.csv(path, row.names=1, check.names=FALSE))``.

        Returns the paths written.
        """

        def numbered(table: pd.DataFrame) -> pd.DataFrame:
            return table.set_axis([str(i) for i in range(1, len(table) + 1)], axis=0)

        if self.maxlod_x is None:
            return [write_r_csv(numbered(self.maxlod), path)]
        lengths = self.chr_lengths or {}
        table = pd.DataFrame({"x": [float(lengths.get(r, np.nan)) for r in ("A", "X")]},
                             index=["A", "X"])  # fmt: skip
        return [write_r_csv(numbered(self.maxlod), _sibling(path, "A")),
                write_r_csv(numbered(self.maxlod_x), _sibling(path, "X")),
                write_r_csv(table, _sibling(path, "chr_lengths"))]  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        """One row per permutation (``perm``) with each trait's maximum LOD."""
        out = self.maxlod.copy()
        out.insert(0, "perm", np.arange(1, len(out) + 1))
        out.insert(0, "region", "A" if self.maxlod_x is not None else "all")
        if self.maxlod_x is not None:
            x = self.maxlod_x.copy()
            x.insert(0, "perm", np.arange(1, len(x) + 1))
            x.insert(0, "region", "X")
            out = pd.concat([out, x], ignore_index=True)
        return out
