"""Result objects of the genome scan: LOD tables, permutation maxima and thresholds.

All results are plain, documented containers around xarray/pandas objects; they can be saved
(CSV or parquet, atomically), reloaded and plotted without re-running anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.atomic import atomic_path

__all__ = ["PermutationResult", "ScanResult", "write_table"]


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
        return [str(t) for t in self.data.coords["trait"].values]

    @property
    def markers(self) -> list[str]:
        return [str(m) for m in self.data.coords["marker"].values]

    @property
    def chromosomes(self) -> list[str]:
        return list(dict.fromkeys(str(c) for c in self.data.coords["chr"].values))

    @property
    def x_chr(self) -> str | None:
        x = self.data.attrs.get("x_chr")
        return None if x in (None, "") else str(x)

    @property
    def lod(self) -> pd.DataFrame:
        """``[marker, trait]`` LOD scores."""
        arr = self.data["lod"]
        return pd.DataFrame(arr.values, index=self.markers, columns=self.traits)

    @property
    def sample_size(self) -> pd.Series:
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
        data = self.data
        if traits is not None:
            data = data.sel(trait=list(traits))
        if chromosomes is not None:
            keep = np.isin(np.asarray(data.coords["chr"].values).astype(str), list(chromosomes))
            data = data.isel(marker=np.flatnonzero(keep))
        return ScanResult(data=data, skipped=tuple(s for s in self.skipped if s in data.trait))

    # -- output ----------------------------------------------------------------------------
    def to_csv(self, path: Path) -> Path:
        return write_table(self.to_frame(), path)

    def to_parquet(self, path: Path) -> Path:
        return write_table(self.to_frame(), path)

    def plot(self, **kwargs: Any) -> Any:
        """LOD curves along the genome (matplotlib figure); see :func:`plot.plot_lod`."""
        from translocus.genetics.plot import plot_lod

        return plot_lod(self, **kwargs)

    def summary(self) -> pd.DataFrame:
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
        return self.thresholds()

    def to_frame(self) -> pd.DataFrame:
        out = self.maxlod.copy()
        out.insert(0, "perm", np.arange(1, len(out) + 1))
        out.insert(0, "region", "A" if self.maxlod_x is not None else "all")
        if self.maxlod_x is not None:
            x = self.maxlod_x.copy()
            x.insert(0, "perm", np.arange(1, len(x) + 1))
            x.insert(0, "region", "X")
            out = pd.concat([out, x], ignore_index=True)
        return out
