"""Local (cis) and distal (trans) eQTL, and trans hotspots.

A peak of a molecular trait is *local* when its LOD support interval lies within ``window``
Mbp of the trait's own gene on the same chromosome, *distal* otherwise (another chromosome,
or farther away), and *unannotated* when the trait has no gene position.

A *hotspot* is a stretch of the genome where more distal peaks fall than chance allows. Peaks
are counted in sliding windows (``window`` Mbp wide, every ``step`` Mbp); the size threshold
comes from permutations of the null hypothesis that **distal peak positions are independent
and uniformly spread**: over the genome's length (``chromosomes=``, each chromosome in
proportion to its length) or over the markers (``markers=``, each marker equally likely, so
that marker density is kept). For each permutation every peak is placed afresh, the windows
are counted and the genome-wide maximum count kept; the threshold is the ``1 - alpha``
quantile of those maxima, and windows with more peaks than it form hotspots (overlapping or
touching windows merged).

>>> import pandas as pd
>>> peaks = pd.DataFrame({"trait": ["a", "b"], "chr": ["1", "1"], "pos": [10.0, 50.0],
...                       "ci_lo": [9.0, 49.0], "ci_hi": [11.0, 51.0], "gene_chr": ["1", "2"],
...                       "gene_start": [12_000_000, 5_000_000],
...                       "gene_end": [12_500_000, 5_100_000]})
>>> classify_peaks(peaks, peak_build="GRCm39", gene_build="GRCm39")[["distance", "class"]]
   distance   class
0       1.0   local
1       NaN  distal
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError

__all__ = [
    "CLASSES",
    "HotspotResult",
    "chromosome_extents",
    "classify_peaks",
    "hotspots",
]

#: The classes of :func:`classify_peaks`.
CLASSES = ("local", "distal", "unannotated")


def _chrom_name(value: Any) -> str:
    """A chromosome as the maps spell it: ``chr7`` and ``7`` are the same; missing is ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    if text.lower() in ("", "nan", "none", "<na>"):
        return ""
    return re.sub(r"^chr", "", text, flags=re.IGNORECASE)


def chromosome_order(names: Any) -> list[str]:
    """Chromosomes in genome order: numbers first (1, 2, ..., 19), then X, Y, MT, the rest.

    >>> chromosome_order(["X", "10", "2", "MT", "1"])
    ['1', '2', '10', 'X', 'MT']
    """
    special = {"X": 1, "Y": 2, "M": 3, "MT": 3}

    def key(name: str) -> tuple[int, int, str]:
        if name.isdigit():
            return (0, int(name), "")
        return (1, special.get(name.upper(), 4), name)

    return sorted({str(n) for n in names}, key=key)


def _need_columns(frame: pd.DataFrame, columns: tuple[str, ...], label: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{label}: no column {', '.join(repr(c) for c in missing)} (has "
                         f"{', '.join(map(str, frame.columns[:12]))}); give a peaks table of "
                         "an eqtl run")  # fmt: skip


def _positive(name: str, value: Any, example: str, *, zero: bool = False) -> float:
    number = float(value)
    if not math.isfinite(number) or number < 0 or (number == 0 and not zero):
        what = "0 or more" if zero else "above 0"
        raise OptionError(name, value, f"must be a distance in Mbp {what}, e.g. {example}")
    return number


def classify_peaks(
    peaks: pd.DataFrame,
    *,
    window: float = 4.0,
    peak_build: str | None,
    gene_build: str | None,
) -> pd.DataFrame:
    """Each peak local, distal or unannotated by its distance to the trait's gene.

    Parameters
    ----------
    peaks
        One row per peak: ``chr``, ``pos``, ``ci_lo``, ``ci_hi`` (Mbp; a missing interval
        end is the peak position) and the trait's gene ``gene_chr``, ``gene_start``,
        ``gene_end`` (bp, 1-based as Ensembl; missing where unknown).
    window
        A peak is local when the gap between its support interval and the gene is at most
        this many Mbp on the same chromosome.
    peak_build, gene_build
        Genome builds of the peak positions (the cross's map) and of the gene positions; they
        must be the same (``None`` when unknown is refused too: positions of two builds differ
        by up to megabases).

    Returns
    -------
    pandas.DataFrame
        A copy of ``peaks`` with ``distance`` (Mbp between the interval and the gene, 0 when
        they overlap, NaN on another chromosome or without a gene) and ``class``.
    """
    window = _positive("window", window, "4", zero=True)
    if not peak_build or not gene_build:
        which = "peak_build" if not peak_build else "gene_build"
        raise OptionError(which, None, "the genome build is unknown; give it (e.g. 'GRCm39') "
                                       "so that peak and gene positions are compared on one "
                                       "build")  # fmt: skip
    if str(peak_build).strip().lower() != str(gene_build).strip().lower():
        raise InputError(f"the peaks are on {peak_build} and the gene positions on "
                         f"{gene_build}; give gene positions of {peak_build} (or map the "
                         f"cross on {gene_build}) so that distances mean something")  # fmt: skip
    _need_columns(peaks, ("chr", "pos", "ci_lo", "ci_hi", "gene_chr", "gene_start", "gene_end"),
                  "peaks")  # fmt: skip
    out = peaks.copy()
    pos = pd.to_numeric(out["pos"], errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(out["ci_lo"], errors="coerce").to_numpy(dtype=float)
    hi = pd.to_numeric(out["ci_hi"], errors="coerce").to_numpy(dtype=float)
    lo = np.where(np.isfinite(lo), lo, pos)
    hi = np.where(np.isfinite(hi), hi, pos)
    gs = pd.to_numeric(out["gene_start"], errors="coerce").to_numpy(dtype=float) / 1e6
    ge = pd.to_numeric(out["gene_end"], errors="coerce").to_numpy(dtype=float) / 1e6
    peak_chr = np.array([_chrom_name(c) for c in out["chr"]], dtype=object)
    gene_chr = np.array([_chrom_name(c) for c in out["gene_chr"]], dtype=object)
    annotated = (gene_chr != "") & np.isfinite(gs) & np.isfinite(ge)
    same = annotated & (peak_chr == gene_chr)
    gap = np.maximum(0.0, np.maximum(np.fmin(gs, ge) - hi, lo - np.fmax(gs, ge)))
    distance = np.where(same, gap, np.nan)
    cls = np.where(~annotated, "unannotated",
                   np.where(same & (distance <= window), "local", "distal"))  # fmt: skip
    out["distance"] = distance
    out["class"] = cls.astype(object)
    return out


# -- hotspots ---------------------------------------------------------------------------------
def chromosome_extents(markers: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """``{chr: (first, last)}`` marker positions of a map table (``chr``, ``pos``).

    >>> chromosome_extents(pd.DataFrame({"chr": ["1", "1", "2"], "pos": [3.0, 90.0, 5.0]}))
    {'1': (3.0, 90.0), '2': (5.0, 5.0)}
    """
    _need_columns(markers, ("chr", "pos"), "markers")
    frame = pd.DataFrame({"chr": [_chrom_name(c) for c in markers["chr"]],
                          "pos": pd.to_numeric(markers["pos"], errors="coerce")})  # fmt: skip
    frame = frame[np.isfinite(frame["pos"].to_numpy(dtype=float))]
    spans = frame.groupby("chr", sort=False)["pos"].agg(["min", "max"])
    return {c: (float(spans.loc[c, "min"]), float(spans.loc[c, "max"]))
            for c in chromosome_order(spans.index)}  # fmt: skip


def _extents(chromosomes: Any) -> dict[str, tuple[float, float]]:
    if isinstance(chromosomes, pd.DataFrame):
        _need_columns(chromosomes, ("chr", "start", "end"), "chromosomes")
        items = {_chrom_name(r.chr): (float(r.start), float(r.end))
                 for r in chromosomes.itertuples()}  # fmt: skip
    elif isinstance(chromosomes, Mapping):
        items = {}
        for name, span in chromosomes.items():
            if np.ndim(span) == 0:
                items[_chrom_name(name)] = (0.0, float(span))  # a length
            else:
                start, end = span
                items[_chrom_name(name)] = (float(start), float(end))
    else:
        raise OptionError("chromosomes", type(chromosomes).__name__,
                          "give {chr: length} or {chr: (start, end)} in Mbp, or a table with "
                          "columns chr, start, end")  # fmt: skip
    for name, (start, end) in items.items():
        if not (math.isfinite(start) and math.isfinite(end) and end >= start):
            raise OptionError("chromosomes", name, f"chromosome {name}: the span {start:g}-"
                                                   f"{end:g} Mbp is not an interval")  # fmt: skip
    return {c: items[c] for c in chromosome_order(items)}


@dataclass(frozen=True)
class HotspotResult:
    """Peaks per window along the genome, the permutation threshold and the hotspots.

    Attributes
    ----------
    track
        One row per window: ``chr``, ``start``, ``end`` (Mbp), ``n_peaks``.
    threshold
        The ``1 - alpha`` quantile of the genome-wide maximum window count under the null.
    hotspots
        ``id`` (H1, H2, ... in genome order), ``chr``, ``start``, ``end`` (the merged windows
        above the threshold), ``pos`` (the middle of the window with the most peaks),
        ``n_peaks`` (peaks in [start, end)), ``traits`` (tuple of their traits).
    max_counts
        ``[n_perm]`` genome-wide maximum window count of each permutation.
    null
        The null hypothesis of the permutations, in words.
    """

    track: pd.DataFrame
    threshold: float
    hotspots: pd.DataFrame
    max_counts: np.ndarray
    null: str
    window: float
    step: float
    alpha: float
    n_peaks: int

    def figure(self) -> Any:
        """The hotspot track with its threshold (see :func:`~.plot_eqtl.plot_hotspots`)."""
        from translocus.genetics.plot_eqtl import plot_hotspots

        return plot_hotspots(self)


def _windows(extents: dict[str, tuple[float, float]], window: float, step: float
             ) -> pd.DataFrame:  # fmt: skip
    rows = []
    for chrom, (start, end) in extents.items():
        # windows [start, end) up to one that passes the last position (so that it counts)
        n = max(1, int(math.ceil((end - start - window) / step + 1e-9)) + 1)
        starts = start + step * np.arange(n)
        rows.append(pd.DataFrame({"chr": chrom, "start": starts, "end": starts + window}))
    return pd.concat(rows, ignore_index=True)


def _counts(track: pd.DataFrame, chrom_of: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Peaks in each window [start, end) of ``track``."""
    counts = np.zeros(len(track), dtype=np.int64)
    for chrom, rows in track.groupby("chr", sort=False).indices.items():
        here = np.sort(pos[chrom_of == chrom])
        counts[rows] = (np.searchsorted(here, track["end"].to_numpy()[rows], side="left")
                        - np.searchsorted(here, track["start"].to_numpy()[rows], side="left"))  # fmt: skip
    return counts


def hotspots(
    peaks: pd.DataFrame,
    *,
    markers: pd.DataFrame | None = None,
    chromosomes: Any = None,
    window: float = 4.0,
    step: float = 1.0,
    n_perm: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    distal_only: bool = True,
) -> HotspotResult:
    """Count peaks in sliding windows and find the windows that exceed a permutation threshold.

    Parameters
    ----------
    peaks
        ``trait``, ``chr``, ``pos`` (Mbp), and ``class`` (:func:`classify_peaks`) when
        ``distal_only``.
    markers, chromosomes
        The genome, one of the two: the map's markers (``chr``, ``pos``; windows span the
        first to the last marker, and the null places peaks at markers drawn uniformly), or
        chromosome extents (``{chr: length}``, ``{chr: (start, end)}`` or a ``chr, start,
        end`` table; the null places peaks uniformly along their total length).
    window, step
        Window width and the step between window starts (Mbp).
    n_perm
        Permutations of the null (each places every counted peak afresh).
    alpha
        Significance level of the threshold.
    seed
        Seed of the permutations.
    distal_only
        Count the distal peaks only (hotspots of trans regulation).

    Examples
    --------
    >>> import pandas as pd
    >>> peaks = pd.DataFrame({"trait": [f"t{i}" for i in range(40)], "chr": "1",
    ...                       "pos": [50.0 + 0.01 * i for i in range(30)] + list(range(10)),
    ...                       "class": "distal"})
    >>> result = hotspots(peaks, chromosomes={"1": 100.0, "2": 100.0}, n_perm=200)
    >>> result.hotspots[["id", "chr", "n_peaks"]].to_dict("records")
    [{'id': 'H1', 'chr': '1', 'n_peaks': 30}]
    """
    window = _positive("window", window, "4")
    step = _positive("step", step, "1")
    if not (isinstance(n_perm, (int, np.integer)) and n_perm >= 1):
        raise OptionError("n_perm", n_perm, "must be a whole number of permutations, e.g. 1000")
    if not (0 < float(alpha) < 1):
        raise OptionError("alpha", alpha, "must lie strictly between 0 and 1, e.g. 0.05")
    if (markers is None) == (chromosomes is None):
        raise OptionError("markers", None, "give the genome as one of {markers} (the map: chr, "
                                           "pos) or {chromosomes} (their extents in Mbp)")  # fmt: skip
    _need_columns(peaks, ("trait", "chr", "pos") + (("class",) if distal_only else ()), "peaks")
    if markers is not None:
        extents = chromosome_extents(markers)
        map_chr = np.array([_chrom_name(c) for c in markers["chr"]], dtype=object)
        map_pos = pd.to_numeric(markers["pos"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(map_pos)
        map_chr, map_pos = map_chr[ok], map_pos[ok]
        null = ("distal peak positions independent and uniform over the markers (each peak "
                "placed at a marker drawn with equal probability)")  # fmt: skip
    else:
        extents = _extents(chromosomes)
        null = ("distal peak positions independent and uniform over the genome (each "
                "chromosome in proportion to its length)")  # fmt: skip
    if not distal_only:
        null = null.replace("distal peak", "peak")
    counted = peaks[peaks["class"].astype(str) == "distal"] if distal_only else peaks
    chrom_of = np.array([_chrom_name(c) for c in counted["chr"]], dtype=object)
    pos = pd.to_numeric(counted["pos"], errors="coerce").to_numpy(dtype=float)
    outside = sorted({c for c in chrom_of if c not in extents})
    if outside:
        raise InputError(f"peaks: {int(np.isin(chrom_of, outside).sum())} peaks lie on "
                         f"chromosomes {', '.join(outside)} that the genome given does not "
                         "have; give the map the peaks were found on")  # fmt: skip
    track = _windows(extents, window, step)
    track["n_peaks"] = _counts(track, chrom_of, pos)

    rng = np.random.default_rng(seed)
    n = len(pos)
    maxima = np.zeros(n_perm, dtype=np.int64)
    names = list(extents)
    if markers is None:
        lengths = np.array([extents[c][1] - extents[c][0] for c in names], dtype=float)
        share = (
            lengths / lengths.sum() if lengths.sum() > 0 else np.full(len(names), 1 / len(names))
        )
    for k in range(n_perm):
        if markers is not None:
            pick = rng.integers(0, len(map_pos), size=n)
            draw_chr, draw_pos = map_chr[pick], map_pos[pick]
        else:
            per = rng.multinomial(n, share)
            draw_chr = np.repeat(np.array(names, dtype=object), per)
            starts = np.repeat([extents[c][0] for c in names], per)
            draw_pos = starts + rng.random(n) * np.repeat(lengths, per)
        maxima[k] = _counts(track, draw_chr, draw_pos).max() if n else 0
    threshold = float(np.quantile(maxima, 1 - float(alpha)))

    found = []
    above = track["n_peaks"].to_numpy() > threshold
    for chrom, rows in track.groupby("chr", sort=False).indices.items():
        rows = np.sort(rows)
        hit = rows[above[rows]]
        if not hit.size:
            continue
        groups: list[list[int]] = [[int(hit[0])]]
        for r in hit[1:]:
            if track["start"].iat[r] <= track["end"].iat[groups[-1][-1]]:
                groups[-1].append(int(r))
            else:
                groups.append([int(r)])
        for group in groups:
            part = track.iloc[group]
            start, end = float(part["start"].min()), float(part["end"].max())
            best = part["n_peaks"].to_numpy().argmax()
            inside = (chrom_of == chrom) & (pos >= start) & (pos < end)
            traits = tuple(sorted({str(t) for t in counted["trait"].to_numpy()[inside]}))
            found.append({"chr": chrom, "start": start, "end": end,
                          "pos": float(part["start"].iat[best] + window / 2),
                          "n_peaks": int(inside.sum()), "traits": traits})  # fmt: skip
    table = pd.DataFrame(found, columns=["chr", "start", "end", "pos", "n_peaks", "traits"])
    table.insert(0, "id", [f"H{i + 1}" for i in range(len(table))])
    return HotspotResult(track=track, threshold=threshold, hotspots=table, max_counts=maxima,
                         null=null, window=window, step=step, alpha=float(alpha),
                         n_peaks=n)  # fmt: skip
