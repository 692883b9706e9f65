"""QTL peaks and their intervals (R/qtl2 ``find_peaks``, ``lod_int``, ``bayes_int``).

A peak is a position with LOD above ``threshold``; with ``peakdrop=inf`` each chromosome has
at most one (its maximum), otherwise a new peak starts only after the curve has dropped by more
than ``peakdrop`` below both neighbouring peaks. ``drop`` adds the LOD support interval (the
region within ``drop`` of the peak, extended to the flanking markers); ``prob`` adds the
approximate Bayes credible interval. Positions are in the map asked for (``pos_Mbp`` or
``pos_cM``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> lod = pd.DataFrame({"chr": ["1"] * 5, "pos_cM": [0.0, 10, 20, 30, 40],
...                     "y": [0.5, 2.0, 5.0, 3.0, 0.2]}, index=list("abcde"))
>>> find_peaks(lod, map_name="pos_cM", threshold=3, drop=1.5)[["chr", "pos", "lod", "ci_lo", "ci_hi"]]
  chr   pos  lod  ci_lo  ci_hi
0   1  20.0  5.0   10.0   30.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.genetics._peaks_numba import chromosome_peaks
from translocus.genetics.results import ScanResult

__all__ = ["bayes_int", "find_peaks", "lod_int"]

_META = ("chr", "pos_cM", "pos_Mbp", "marker")


def _tables(lod: ScanResult | pd.DataFrame, map_name: str, x_chr: str | None
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str | None]:  # fmt: skip
    """(LOD table [marker, trait], chromosome labels, positions, X name) from either input."""
    if isinstance(lod, ScanResult):
        table = lod.lod
        chrom = np.asarray(lod.data.coords["chr"].values).astype(str)
        if map_name not in lod.data.coords:
            raise InputError(f"the scan has no {map_name!r} positions; use map_name='pos_cM'")
        pos = np.asarray(lod.data.coords[map_name].values, dtype=float)
        return table, chrom, pos, x_chr if x_chr is not None else lod.x_chr
    if not isinstance(lod, pd.DataFrame) or "chr" not in lod.columns:
        raise InputError("lod must be a ScanResult or a table with a 'chr' column")
    if map_name not in lod.columns:
        raise InputError(f"the LOD table has no {map_name!r} column; pass map_name=")
    traits = [c for c in lod.columns if c not in _META]
    return (lod[traits].astype(float), lod["chr"].astype(str).to_numpy(),
            lod[map_name].to_numpy(dtype=float), x_chr)  # fmt: skip


def _per_trait(value: Any, traits: Sequence[str], name: str) -> np.ndarray:
    arr = (
        np.broadcast_to(np.asarray(value, dtype=float), (len(traits),))
        if np.ndim(value) == 0
        else np.asarray(value, dtype=float)
    )
    if arr.shape != (len(traits),):
        raise InputError(f"{name} should be one number or one per trait ({len(traits)})")
    return arr


def find_peaks(
    lod: ScanResult | pd.DataFrame,
    *,
    map_name: str = "pos_Mbp",
    threshold: float | Sequence[float] = 3.0,
    peakdrop: float | Sequence[float] = np.inf,
    drop: float | Sequence[float] | None = None,
    prob: float | Sequence[float] | None = None,
    thresholdX: float | Sequence[float] | None = None,
    peakdropX: float | Sequence[float] | None = None,
    dropX: float | Sequence[float] | None = None,
    probX: float | Sequence[float] | None = None,
    x_chr: str | None = None,
) -> pd.DataFrame:
    """Find LOD peaks above a threshold, with optional support/credible intervals.

    Parameters
    ----------
    lod
        A :class:`ScanResult`, or a table in R/qtl2's layout (``chr``, position columns, one
        column per trait).
    map_name
        ``"pos_Mbp"`` or ``"pos_cM"``.
    threshold, peakdrop, drop, prob
        One value or one per trait; ``drop`` and ``prob`` are mutually exclusive and
        ``drop <= peakdrop``. The ``...X`` variants apply to the X chromosome.

    Returns
    -------
    pandas.DataFrame
        ``lodindex`` (1-based trait index), ``lodcolumn``, ``chr``, ``pos``, ``lod`` and, with
        an interval, ``ci_lo``/``ci_hi``; ordered by trait then chromosome, as R/qtl2.
    """
    if drop is not None and prob is not None:
        raise InputError("give at most one of drop (LOD support interval) and prob (Bayes)")
    table, chrom, pos, xname = _tables(lod, map_name, x_chr)
    traits = [str(t) for t in table.columns]
    thr = _per_trait(threshold, traits, "threshold")
    pkd = _per_trait(peakdrop, traits, "peakdrop")
    thr_x = thr if thresholdX is None else _per_trait(thresholdX, traits, "thresholdX")
    pkd_x = pkd if peakdropX is None else _per_trait(peakdropX, traits, "peakdropX")
    mode = 0
    width = np.zeros(len(traits))
    width_x = width
    if drop is not None:
        mode = 1
        width = _per_trait(drop, traits, "drop")
        width_x = width if dropX is None else _per_trait(dropX, traits, "dropX")
        if np.any(width > pkd) or np.any(width_x > pkd_x):
            raise InputError("drop must be <= peakdrop")
    elif prob is not None:
        mode = 2
        width = _per_trait(prob, traits, "prob")
        width_x = width if probX is None else _per_trait(probX, traits, "probX")
        if np.any((width <= 0) | (width >= 1)) or np.any((width_x <= 0) | (width_x >= 1)):
            raise InputError("prob must be between 0 and 1")
    values = table.to_numpy(dtype=float)
    chroms = list(dict.fromkeys(chrom))
    index = {c: np.flatnonzero(chrom == c) for c in chroms}
    rows: list[tuple[Any, ...]] = []
    for j, trait in enumerate(traits):
        for c in chroms:
            idx = index[c]
            curve = values[idx, j]
            if not np.any(curve > min(thr[j], thr_x[j])):
                continue
            is_x = xname is not None and c == xname
            found = chromosome_peaks(
                np.ascontiguousarray(np.nan_to_num(curve, nan=-np.inf)),
                np.ascontiguousarray(pos[idx]),
                float(thr_x[j] if is_x else thr[j]),
                float(pkd_x[j] if is_x else pkd[j]),
                mode,
                float(width_x[j] if is_x else width[j]),
            )
            for k in range(found.shape[0]):
                row: tuple[Any, ...] = (j + 1, trait, c, float(found[k, 1]), float(found[k, 2]))
                if mode:
                    row += (float(pos[idx][int(found[k, 3])]), float(pos[idx][int(found[k, 4])]))
                rows.append(row)
    columns = ["lodindex", "lodcolumn", "chr", "pos", "lod"] + (["ci_lo", "ci_hi"] if mode else [])
    return pd.DataFrame(rows, columns=columns)


def _one_curve(lod: ScanResult | pd.DataFrame, chrom: str, trait: str | None, map_name: str
               ) -> tuple[np.ndarray, np.ndarray, str]:  # fmt: skip
    table, chroms, pos, _ = _tables(lod, map_name, None)
    if trait is None:
        if table.shape[1] != 1:
            raise InputError("the scan has several traits; say which one with trait=")
        trait = str(table.columns[0])
    if trait not in table.columns:
        raise InputError(f"trait {trait!r} is not in the scan")
    keep = chroms == str(chrom)
    if not keep.any():
        raise InputError(f"chromosome {chrom!r} is not in the scan")
    return table[trait].to_numpy(dtype=float)[keep], pos[keep], trait


def lod_int(
    lod: ScanResult | pd.DataFrame,
    *,
    chrom: str,
    trait: str | None = None,
    drop: float = 1.5,
    map_name: str = "pos_Mbp",
) -> pd.Series:
    """LOD support interval around the maximum of one chromosome (R/qtl2 ``lod_int``).

    Returns a Series ``ci_lo, pos, ci_hi`` (positions in ``map_name``).
    """
    curve, pos, _ = _one_curve(lod, chrom, trait, map_name)
    found = chromosome_peaks(np.ascontiguousarray(curve), np.ascontiguousarray(pos),
                             float(np.nanmax(curve)) - 1.0, np.inf, 1, float(drop))  # fmt: skip
    return pd.Series({"ci_lo": pos[int(found[0, 3])], "pos": found[0, 1],
                      "ci_hi": pos[int(found[0, 4])]})  # fmt: skip


def bayes_int(
    lod: ScanResult | pd.DataFrame,
    *,
    chrom: str,
    trait: str | None = None,
    prob: float = 0.95,
    map_name: str = "pos_Mbp",
) -> pd.Series:
    """Approximate Bayes credible interval on one chromosome (R/qtl2 ``bayes_int``).

    The posterior is ``10^LOD`` times the width each position represents; positions are added
    from the highest LOD down until their mass reaches ``prob``.
    """
    if not 0 < prob < 1:
        raise InputError("prob must be between 0 and 1")
    curve, pos, _ = _one_curve(lod, chrom, trait, map_name)
    found = chromosome_peaks(np.ascontiguousarray(curve), np.ascontiguousarray(pos),
                             float(np.nanmax(curve)) - 1.0, np.inf, 2, float(prob))  # fmt: skip
    return pd.Series({"ci_lo": pos[int(found[0, 3])], "pos": found[0, 1],
                      "ci_hi": pos[int(found[0, 4])]})  # fmt: skip
