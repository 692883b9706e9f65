"""Genome scans of many molecular traits (expression, proteins): peaks, never the LOD cube.

:func:`eqtl_scan` scans thousands of traits in chunks of traits. Each chunk is an ordinary
:func:`~translocus.genetics.scan.scan` (the same kernels, backends, Dask client and threads),
so a trait's LODs equal those of ``scan`` on that trait (to rounding, 1e-12); the chunk's LOD
table is reduced at once to what the study keeps:

- the peaks above ``threshold`` with their LOD support intervals (``find_peaks``), the trait's
  h² on the peak's chromosome (LMM) and the allele effects with SEs at the peak marker
  (``scan1coef``, the model of the scan);
- each trait's maximum LOD and where it is;
- with ``keep_lod``, the LODs themselves in a zarr store, one array per chromosome
  ``[trait, marker]`` chunked by traits, so one trait's profile is read without the rest.

With ``checkpoint`` each finished chunk is saved there, and a run started again with the
same traits and options takes the finished chunks from it instead of scanning them again (a
run with other traits or options empties it and starts again).

Genome-wide significance (``perms``): permuting every trait costs ``perms`` scans per trait.
The method here is *pooled permutations by trait class*: traits are grouped by their pattern
of missing values and (LMM) by their heritability (``hsq_bins`` quantile classes of the
median h² over chromosomes); ``perm_traits`` traits of each group, chosen at random, are
permuted ``perms`` times each, and the group's threshold is the ``1 - alpha`` quantile of all
their genome-wide maxima. Under the null the maximum LOD's distribution depends on a trait
through its sample size, missing values and (LMM) h², which the groups hold fixed; with
rank-normalised traits and no missing values, Haley-Knott permutation maxima of every trait
have exactly the same distribution, so one group's pooled threshold is exact.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_path, atomic_write_text
from translocus.core.errors import InputError, OptionError
from translocus.core.model import GenoProbs
from translocus.core.runs import checkpoint as checkpoint_reached

__all__ = [
    "EqtlResult",
    "MemoryPlan",
    "eqtl_scan",
    "memory_plan",
    "pooled_thresholds",
    "read_lod",
    "trait_chunks",
]

#: LOD values kept per chunk of traits (markers x traits): 32 million (256 MB) at most.
CHUNK_CELLS = 32_000_000
#: Bytes per LOD value of a chunk: the scan's table and what its reduction and result add.
LOD_BYTES = 16
#: Traits per zarr chunk of the kept LODs.
LOD_CHUNK_TRAITS = 64
PEAK_COLUMNS = ["trait", "chr", "marker", "pos", "lod", "ci_lo", "ci_hi", "hsq"]
MAX_COLUMNS = ["trait", "chr", "marker", "pos", "lod", "n"]


@dataclass
class EqtlResult:
    """Peaks and per-trait maxima of a many-trait scan.

    Attributes
    ----------
    peaks
        One row per peak: ``trait, chr, marker, pos, lod, ci_lo, ci_hi, hsq`` then
        ``coef_<allele>`` and ``se_<allele>`` (allele effects at the peak marker, with their
        SEs), and ``threshold`` (the LOD the peak passed).
    max_lod
        Per trait: ``trait, chr, marker, pos, lod, n`` (the genome-wide maximum).
    thresholds
        Per trait: ``trait, threshold, group`` (the LOD threshold and, with permutations, the
        trait's permutation group); ``None`` when one LOD threshold applies to all.
    groups
        With permutations, one row per group: its traits, the traits permuted, the
        permutations and the threshold.
    info
        Model, map and run facts (method, kinship, chunks, threshold rule ...).
    """

    peaks: pd.DataFrame
    max_lod: pd.DataFrame
    thresholds: pd.DataFrame | None = None
    groups: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)


def trait_chunks(n_traits: int, n_markers: int, chunk_traits: int | None = None,
                 cells: int = CHUNK_CELLS) -> list[tuple[int, int]]:  # fmt: skip
    """``[(start, end), ...]``: traits per chunk, a multiple of the zarr chunk of the LODs.

    By default a chunk's LOD table holds at most ``cells`` values (:data:`CHUNK_CELLS`), in
    a multiple of :data:`LOD_CHUNK_TRAITS` traits unless fewer traits fit.

    >>> trait_chunks(1000, 100_000)
    [(0, 320), (320, 640), (640, 960), (960, 1000)]
    >>> chunks = trait_chunks(300, 100_000, cells=1_000_000)
    >>> len(chunks), chunks[0]
    (30, (0, 10))
    """
    if chunk_traits is None:
        per = max(1, cells // max(n_markers, 1))
        chunk_traits = per // LOD_CHUNK_TRAITS * LOD_CHUNK_TRAITS or per
        if cells >= CHUNK_CELLS:
            chunk_traits = max(LOD_CHUNK_TRAITS, chunk_traits)
    return [(s, min(n_traits, s + chunk_traits)) for s in range(0, n_traits, chunk_traits)]


@dataclass(frozen=True)
class MemoryPlan:
    """How a many-trait scan keeps within its memory budget (:func:`memory_plan`).

    Attributes
    ----------
    budget
        Bytes the scan may hold beside its inputs.
    block_bytes
        The largest chromosome's probabilities as the scan holds them while it scans that
        chromosome (0 when the probabilities are in memory already).
    chromosomes
        Whole chromosomes scanned at once (one per thread).
    threads
        The threads asked for (or the default).
    lod_cells
        LOD values of one chunk of traits at most.
    decompositions
        LOCO kinship decompositions the scan makes once and keeps for all its chunks (0 when
        it keeps none: no LOCO kinship, or a single scan).
    eigen_bytes
        Bytes of those decompositions kept in memory: all of them when they fit beside the
        rest, else 0 (they wait in a temporary folder on disk).
    """

    budget: int
    block_bytes: int
    chromosomes: int
    threads: int
    lod_cells: int
    decompositions: int = 0
    eigen_bytes: int = 0

    def describe(self) -> str:
        """One sentence for the run log."""
        gib = 2**30
        if not self.block_bytes:
            held = "the probabilities are in memory"
        else:
            held = (f"the largest chromosome's probabilities take {self.block_bytes / gib:.2f} "
                    f"GiB")  # fmt: skip
        way = ("whole chromosomes one at a time" if self.chromosomes == 1
               else f"{self.chromosomes} whole chromosomes at once")  # fmt: skip
        if self.chromosomes < self.threads:
            way += f" (not {self.threads}: their probabilities would not fit)"
        text = (f"{held}, the memory budget is {self.budget / gib:.2f} GiB (memory= or "
                f"$TRANSLOCUS_MEMORY): {way}, a chunk of traits holds at most "
                f"{self.lod_cells:,} LOD values")  # fmt: skip
        if self.decompositions:
            where = (f"in memory ({self.eigen_bytes / gib:.2f} GiB)" if self.eigen_bytes
                     else "on disk in a temporary folder (they do not fit beside the rest)")  # fmt: skip
            text += (f"; the {self.decompositions} LOCO kinship decompositions are made once "
                     f"and kept {where}")  # fmt: skip
        return text


def memory_plan(probs: GenoProbs, threads: int | None = None, memory: int | str | None = None,
                *, decompositions: int = 0, samples: int = 0) -> MemoryPlan:  # fmt: skip
    """How many chromosomes to scan at once and how large a trait chunk within ``memory``.

    ``memory`` is the budget in bytes or as ``"4G"``, else ``$TRANSLOCUS_MEMORY``, else the
    default of genotype probabilities (2 GiB; ``memory_budget``). Probabilities read from a
    store (:class:`~translocus.core.lazyprobs.LazyProbs`) are held one chromosome per thread
    while it is scanned: as many chromosomes go at once as their largest one fits the budget
    (at least one, at most ``threads``). What is left holds a chunk's LOD table
    (:data:`LOD_BYTES` per value, :data:`CHUNK_CELLS` at most, one trait at least).
    Probabilities already in memory cost nothing more: every thread is used. The
    ``decompositions`` LOCO kinship decompositions of ``samples`` individuals a scan of several
    chunks keeps (``8 n (n + 1)`` bytes each) stay in memory when all of them fit in what the
    LOD table leaves, else on disk.
    """
    from translocus.core.lazyprobs import LazyProbs
    from translocus.core.memory import memory_budget
    from translocus.core.threads import worker_count

    budget = memory_budget(memory)
    workers = int(threads) if threads is not None else worker_count()
    n_markers = sum(int(probs[c].sizes["marker"]) for c in probs.chromosomes)
    block = 0
    if isinstance(probs.probs, LazyProbs):
        block = max((int(np.prod(probs[c].shape[:2])) * max(int(probs[c].shape[2]) - 1, 0) * 8
                     for c in probs.chromosomes), default=0)  # fmt: skip
    at_once = workers if block == 0 else max(1, min(workers, budget // block))
    rest = max(budget - at_once * block, 0)
    cells = max(n_markers, min(CHUNK_CELLS, rest // LOD_BYTES))
    eigen = decompositions * 8 * samples * (samples + 1)
    kept = eigen if eigen <= rest - cells * LOD_BYTES else 0
    return MemoryPlan(budget=budget, block_bytes=block, chromosomes=at_once, threads=workers,
                      lod_cells=cells, decompositions=decompositions,
                      eigen_bytes=kept)  # fmt: skip


def _fingerprint(traits: Sequence[str], pheno: pd.DataFrame, options: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    digest.update("\0".join(traits).encode())
    digest.update(np.ascontiguousarray(pheno.to_numpy(dtype=float)).tobytes())
    digest.update("\0".join(str(i) for i in pheno.index).encode())
    return digest.hexdigest()


class _Checkpoint:
    """Finished chunks of one run: ``chunk-NNNNN.peaks.parquet`` and ``.max.parquet``."""

    def __init__(self, folder: Path | None, fingerprint: str) -> None:
        self.folder = folder
        if folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / "checkpoint.json"
        if manifest.exists():
            try:
                seen = json.loads(manifest.read_text()).get("fingerprint")
            except (OSError, ValueError, AttributeError):
                seen = None
            if seen != fingerprint:  # another run's chunks: start again (ours to remove)
                for old in folder.glob("chunk-*.parquet"):
                    old.unlink()
                manifest.unlink()
        if not manifest.exists():
            foreign = [p.name for p in folder.iterdir() if not p.name.startswith("chunk-")]
            if foreign:
                raise InputError(
                    f"{folder}: not a checkpoint folder (it holds {foreign[:3]}); give a new "
                    "or empty folder for the checkpoint"
                )
            atomic_write_text(manifest, json.dumps({"fingerprint": fingerprint}))

    def _paths(self, i: int) -> tuple[Path, Path]:
        assert self.folder is not None
        return (self.folder / f"chunk-{i:05d}.peaks.parquet",
                self.folder / f"chunk-{i:05d}.max.parquet")  # fmt: skip

    def load(self, i: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        if self.folder is None:
            return None
        peaks, maxima = self._paths(i)
        if not (peaks.exists() and maxima.exists()):
            return None
        return pd.read_parquet(peaks), pd.read_parquet(maxima)

    def save(self, i: int, peaks: pd.DataFrame, maxima: pd.DataFrame) -> None:
        if self.folder is None:
            return
        for frame, path in zip((peaks, maxima), self._paths(i), strict=True):
            with atomic_path(path) as tmp:
                frame.to_parquet(tmp, index=False)


def _check_options(threshold: float, drop: float, perms: int, alpha: float,
                   chunk_traits: int | None) -> None:  # fmt: skip
    if not (math.isfinite(threshold) and threshold > 0):
        raise OptionError("threshold", threshold, "must be a LOD score above 0, e.g. 6")
    if not (math.isfinite(drop) and drop > 0):
        raise OptionError("drop", drop, "must be a LOD drop above 0, e.g. 1.5")
    if perms < 0:
        raise OptionError("perms", perms, "must be 0 (a LOD threshold) or more, e.g. 1000")
    if not (0 < alpha < 1):
        raise OptionError("alpha", alpha, "must lie strictly between 0 and 1, e.g. 0.05")
    if chunk_traits is not None and chunk_traits < 1:
        raise OptionError("chunk_traits", chunk_traits, "must be 1 or more, e.g. 1024")


def _positions(probs: GenoProbs, map_name: str) -> pd.DataFrame:
    rows = []
    for chrom in probs.chromosomes:
        arr = probs[chrom]
        if map_name not in arr.coords:
            raise OptionError("map_name", map_name,
                              f"the probabilities have no {map_name} positions; use pos_cM")  # fmt: skip
        rows.append(pd.DataFrame({"marker": [str(m) for m in arr.coords["marker"].values],
                                  "chr": str(chrom),
                                  "pos": np.asarray(arr.coords[map_name].values, float)}))  # fmt: skip
    return pd.concat(rows, ignore_index=True)


def _reduce_chunk(result: Any, map_name: str, thresholds: np.ndarray, drop: float
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Peaks (with h²) and per-trait maxima of one chunk's scan result.

    The peaks are ``find_peaks``'s (the same kernel on each chromosome curve above the
    threshold, LOD support intervals of ``drop``), with the marker at the peak; only the
    (trait, chromosome) pairs whose maximum passes the threshold are looked at.
    """
    from translocus.genetics._peaks_numba import chromosome_peaks

    traits = result.traits
    lod = np.asarray(result.data["lod"].values, dtype=float)  # [marker, trait]
    chroms = np.asarray(result.data.coords["chr"].values).astype(str)
    positions = np.asarray(result.data.coords[map_name].values, dtype=float)
    markers = np.asarray(result.markers, dtype=object)
    names = list(dict.fromkeys(chroms))
    starts = np.array([int(np.flatnonzero(chroms == c)[0]) for c in names])
    ends = np.append(starts[1:], chroms.size)
    # per chromosome (no copy of the whole table): each trait's maximum and its first row
    n_traits = lod.shape[1]
    chrom_max = np.full((len(names), n_traits), -np.inf)
    best = np.zeros(n_traits, dtype=np.int64)
    for ci, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        part = np.where(np.isnan(lod[s:e]), -np.inf, lod[s:e])
        at = np.argmax(part, axis=0)
        chrom_max[ci] = part[at, np.arange(n_traits)]
        higher = chrom_max[ci] > (chrom_max[:ci].max(axis=0) if ci else -np.inf)
        best[higher] = s + at[higher]
    hsq = result.hsq
    rows: list[tuple[Any, ...]] = []
    for ci, j in zip(*np.nonzero(chrom_max > thresholds[None, :]), strict=True):
        s, e = int(starts[ci]), int(ends[ci])
        curve = np.where(np.isnan(lod[s:e, j]), -np.inf, lod[s:e, j])
        found = chromosome_peaks(np.ascontiguousarray(curve),
                                 np.ascontiguousarray(positions[s:e]), float(thresholds[j]),
                                 np.inf, 1, float(drop))  # fmt: skip
        for k in range(found.shape[0]):
            at = s + int(found[k, 0])
            rows.append((j, names[ci], str(markers[at]), float(found[k, 1]), float(found[k, 2]),
                         float(positions[s + int(found[k, 3])]),
                         float(positions[s + int(found[k, 4])])))  # fmt: skip
    rows.sort(key=lambda r: (r[0], names.index(r[1]), r[3]))
    cols = ["j", "chr", "marker", "pos", "lod", "ci_lo", "ci_hi"]
    peaks = pd.DataFrame(rows, columns=cols)
    peaks.insert(0, "trait", [traits[j] for j in peaks["j"]])
    if hsq is None or not len(peaks):
        peaks["hsq"] = np.nan
    else:
        sets = [str(i) for i in hsq.index]
        x_chr = result.x_chr
        keys = [c if c in sets else ("X" if c == x_chr and "X" in sets else sets[0])
                for c in peaks["chr"]]  # fmt: skip
        h = hsq.to_numpy(dtype=float)
        peaks["hsq"] = h[[sets.index(k) for k in keys], peaks["j"].to_numpy()]
    peaks["threshold"] = thresholds[peaks["j"].to_numpy()] if len(peaks) else np.zeros(0)
    peaks = peaks.drop(columns="j")
    all_nan = np.all(np.isnan(lod), axis=0)
    maxima = pd.DataFrame({"trait": traits, "chr": chroms[best], "marker": markers[best],
                           "pos": positions[best],
                           "lod": np.where(all_nan, np.nan, lod[best, np.arange(len(traits))]),
                           "n": result.sample_size.to_numpy()})  # fmt: skip
    maxima.loc[all_nan, ["chr", "marker"]] = None
    return peaks, maxima


def _peak_effects(peaks: pd.DataFrame, pheno: pd.DataFrame, probs: GenoProbs, kinship: Any,
                  addcovar: Any) -> pd.DataFrame:  # fmt: skip
    """``coef_<allele>``/``se_<allele>`` at each peak marker (``scan1coef``, as the scan)."""
    from translocus.genetics.effects import peak_coefficients

    fit = peak_coefficients(pheno, probs, peaks, kinship=kinship, addcovar=addcovar)
    arr = probs[probs.chromosomes[0]]
    names = [str(a) for a in probs.alleles] or [str(s) for s in arr.coords[arr.dims[2]].values]
    out = {}
    for name in names:
        out[f"coef_{name}"] = fit[name].to_numpy(float) if name in fit else np.nan
        out[f"se_{name}"] = fit[f"SE_{name}"].to_numpy(float) if name in fit else np.nan
    return pd.DataFrame(out, index=peaks.index)


def _write_lod(store: Any, result: Any, start: int, n_traits: int) -> None:
    """The chunk's LODs into the per-chromosome ``[trait, marker]`` arrays of ``store``."""
    lod = result.data["lod"].values
    chroms = np.asarray(result.data.coords["chr"].values).astype(str)
    for chrom in dict.fromkeys(chroms):
        rows = np.flatnonzero(chroms == chrom)
        name = f"lod/{chrom}"
        if name not in store:
            arr = store.create_array(name, shape=(n_traits, rows.size), dtype="float64",
                                     chunks=(LOD_CHUNK_TRAITS, rows.size), fill_value=np.nan)  # fmt: skip
            arr.attrs["markers"] = [str(m) for m in np.asarray(result.markers)[rows]]
        store[name][start : start + lod.shape[1], :] = lod[rows].T


def read_lod(path: Path | str, trait: str) -> pd.Series:
    """One trait's LOD profile from a ``keep_lod`` store (only its chunk is read)."""
    import zarr

    root = zarr.open_group(str(path), mode="r")
    traits = [str(t) for t in cast(list[Any], root.attrs["traits"])]
    if trait not in traits:
        raise InputError(f"{path}: no trait {trait!r} in the kept LODs ({len(traits)} traits)")
    i = traits.index(trait)
    parts = []
    for chrom in cast(list[Any], root.attrs["chromosomes"]):
        arr = cast(Any, root[f"lod/{chrom}"])
        markers = [str(m) for m in cast(list[Any], arr.attrs["markers"])]
        parts.append(pd.Series(np.asarray(arr[i, :], dtype=float), index=markers))
    return pd.concat(parts).rename(trait)


def pooled_thresholds(spec_factory: Callable[[list[str]], Any], probs: GenoProbs,
                      pheno: pd.DataFrame, hsq: pd.Series | None, *, perms: int, alpha: float,
                      perm_traits: int, hsq_bins: int, seed: int, backend: Any, client: Any,
                      threads: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Genome-wide thresholds by pooled permutations within trait classes (module docstring).

    Returns the per-trait table (``trait, threshold, group``) and the per-group table.
    """
    from translocus.genetics.permute import scan_perm

    rng = np.random.default_rng(seed)
    missing = pheno.isna().to_numpy()
    pattern = pd.Series([hashlib.sha1(np.packbits(col).tobytes()).hexdigest()[:12]
                         for col in missing.T], index=pheno.columns)  # fmt: skip
    key = pattern.copy()
    if hsq is not None and hsq_bins > 1:
        h = hsq.reindex(pheno.columns).to_numpy(float)
        ok = np.isfinite(h)
        edges = (
            np.unique(np.quantile(h[ok], np.linspace(0, 1, hsq_bins + 1)))
            if ok.any()
            else np.zeros(0)
        )
        cls = np.clip(np.searchsorted(edges, h, side="right") - 1, 0, max(len(edges) - 2, 0))
        key = pattern + "/h" + pd.Series(cls, index=pheno.columns).astype(str)
    groups: list[dict[str, Any]] = []
    per_trait: list[dict[str, Any]] = []
    for gi, (name, members) in enumerate(key.groupby(key, sort=True)):
        traits = [str(t) for t in members.index]
        chosen = sorted(rng.choice(len(traits), size=min(perm_traits, len(traits)),
                                   replace=False).tolist())  # fmt: skip
        picked = [traits[i] for i in chosen]
        perm = scan_perm(spec_factory(picked), probs, n_perm=perms,
                         seed=int(rng.integers(2**31)), backend=backend, client=client,
                         threads=threads)  # fmt: skip
        maxima = perm.maxlod.to_numpy(dtype=float).ravel()
        maxima = maxima[np.isfinite(maxima)]
        thr = float(np.quantile(maxima, 1 - alpha)) if maxima.size else math.inf
        label = f"g{gi + 1}"
        groups.append({"group": label, "class": str(name), "traits": len(traits),
                       "permuted_traits": ",".join(picked), "perms": perms,
                       "maxima": int(maxima.size), "threshold": thr})  # fmt: skip
        per_trait.extend({"trait": t, "threshold": thr, "group": label} for t in traits)
    table = pd.DataFrame(per_trait).set_index("trait").reindex(pheno.columns).reset_index()
    return table, pd.DataFrame(groups)


def eqtl_scan(
    pheno: pd.DataFrame,
    probs: GenoProbs,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,  # noqa: N803 - R/qtl2's argument name
    threshold: float = 6.0,
    drop: float = 1.5,
    map_name: str = "pos_Mbp",
    effects: bool = True,
    perms: int = 0,
    alpha: float = 0.05,
    perm_traits: int = 8,
    hsq_bins: int = 4,
    seed: int = 1,
    chunk_traits: int | None = None,
    keep_lod: Path | str | None = None,
    checkpoint: Path | str | None = None,
    backend: str | None = "cpu",
    device: str | None = None,
    client: Any = None,
    threads: int | None = None,
    memory: int | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> EqtlResult:
    """Scan many traits chunk by chunk and keep their peaks (module docstring).

    Parameters
    ----------
    pheno
        ``[sample, trait]`` numeric table: expression or protein levels (already transformed
        as wanted, e.g. rank-normalised).
    probs
        Allele (or genotype) probabilities of the cross.
    kinship, addcovar, Xcovar
        As for :func:`~translocus.genetics.scan.scan` (``None``: Haley-Knott; a LOCO dict:
        one h² per trait and chromosome). A LOCO scan of several chunks (or with
        permutations) decomposes each matrix once for all of them
        (:func:`~translocus.genetics.lmm.eigen_store`): in memory when the memory plan leaves
        room for all of them, else in a temporary folder removed when the scan ends; the
        matrices must not change while it runs.
    threshold
        LOD threshold of the peaks when ``perms`` is 0.
    drop
        LOD drop of the support intervals.
    map_name
        ``"pos_Mbp"`` or ``"pos_cM"``: the positions of the outputs.
    effects
        Whether to estimate the allele effects (with SEs) at each peak.
    perms, alpha, perm_traits, hsq_bins, seed
        Genome-wide thresholds by pooled permutations within trait classes (module
        docstring): ``perms`` permutations of ``perm_traits`` traits per class.
    chunk_traits
        Traits per chunk (default: a chunk's LOD table holds 32 million values, fewer when
        ``memory`` leaves less room).
    keep_lod
        A new folder for the LODs of all traits as a zarr store (``read_lod``).
    checkpoint
        A folder for finished chunks; a run started again resumes from it.
    backend, device, client, threads
        Where the scans run, as for ``scan``; the results are the same.
    memory
        Memory budget (bytes, or ``"4G"``; default ``$TRANSLOCUS_MEMORY``, else 2 GiB) of the
        probabilities held while chromosomes are scanned and of a chunk's LOD table
        (:func:`memory_plan`): probabilities streamed from a store go a chromosome per
        thread only as far as the budget holds them (one at a time at the least), and the
        chunks of traits shrink when their LODs would not fit beside them. The plan is in
        ``info["memory_plan"]``; the LODs are the same.
    progress
        Called with the number of traits of each finished chunk.
    """
    from translocus.genetics.lmm import eigen_store, kinship_ids
    from translocus.genetics.spec import ModelSpec

    _check_options(threshold, drop, perms, alpha, chunk_traits)
    if not isinstance(pheno, pd.DataFrame) or pheno.shape[1] == 0:
        raise InputError("pheno: give a [sample, trait] table with at least one trait")
    pheno = pheno.copy()
    pheno.columns = [str(c) for c in pheno.columns]
    pheno.index = [str(i) for i in pheno.index]
    if pheno.columns.duplicated().any():
        dup = pheno.columns[pheno.columns.duplicated()][:3].tolist()
        raise InputError(f"pheno: trait names repeat ({dup}); give each trait one column")
    traits = list(pheno.columns)
    n_markers = sum(len(probs[c].coords["marker"]) for c in probs.chromosomes)
    # a LOCO scan of several chunks (or with permutations) decomposes each matrix once
    loco_keys = {str(k) for k in kinship} if isinstance(kinship, Mapping) else set()
    loco_names = ([str(c) for c in probs.chromosomes if str(c) in loco_keys]
                  if client is None else [])  # fmt: skip
    ids = kinship_ids(kinship) if loco_names else None
    n_samples = len(pheno.index) if ids is None else len(ids.intersection(pheno.index))
    plan = memory_plan(probs, threads, memory, decompositions=len(loco_names),
                       samples=n_samples)  # fmt: skip
    chunks = trait_chunks(len(traits), n_markers, chunk_traits, cells=plan.lod_cells)
    if len(chunks) == 1 and perms == 0:  # one scan: nothing to keep
        loco_names = []
        plan = replace(plan, decompositions=0, eigen_bytes=0)
    if client is None and plan.chromosomes < plan.threads:  # whole chromosomes one per thread
        threads = plan.chromosomes

    def spec_for(names: list[str]) -> ModelSpec:
        return ModelSpec(pheno[names], kinship=kinship, addcovar=addcovar, Xcovar=Xcovar)

    options = {"kinship": None if kinship is None else sorted(kinship) if isinstance(kinship, dict)
               else "overall", "threshold": threshold, "drop": drop, "map_name": map_name,
               "effects": effects, "perms": perms, "alpha": alpha, "perm_traits": perm_traits,
               "hsq_bins": hsq_bins, "seed": seed, "chunks": chunks,
               "addcovar": None if addcovar is None else list(pd.DataFrame(addcovar).columns),
               "markers": n_markers}  # fmt: skip
    state = _Checkpoint(None if checkpoint is None else Path(checkpoint),
                        _fingerprint(traits, pheno, options))  # fmt: skip
    lod_store = None
    if keep_lod is not None:
        import zarr

        keep_path = Path(keep_lod)
        if keep_path.exists():
            raise OptionError("keep_lod", str(keep_path),
                              "exists; give a new folder for the LOD store")  # fmt: skip
        lod_store = zarr.open_group(str(keep_path), mode="w-")
        lod_store.attrs["traits"] = traits
        lod_store.attrs["chromosomes"] = [str(c) for c in probs.chromosomes]
        lod_store.attrs["map_name"] = map_name

    with contextlib.ExitStack() as scope:
        eigens = None
        if loco_names:
            eigens = scope.enter_context(eigen_store(loco_names, memory_bytes=plan.eigen_bytes))
        peaks, maxima, threshold_table, groups, resumed = _scan_chunks(
            pheno, probs, traits, chunks, spec_for, state, lod_store, kinship=kinship,
            addcovar=addcovar, threshold=threshold, drop=drop, map_name=map_name,
            effects=effects, perms=perms, alpha=alpha, perm_traits=perm_traits,
            hsq_bins=hsq_bins, seed=seed, backend=backend, device=device, client=client,
            threads=threads, progress=progress)  # fmt: skip
    info: dict[str, Any] = {"method": "hk" if kinship is None else "lmm",
            "kinship": "none" if kinship is None else ("loco" if isinstance(kinship, dict)
                                                       else "overall"),
            "map_name": map_name, "traits": len(traits), "chunks": len(chunks),
            "chunks_resumed": resumed, "threshold": threshold if perms == 0 else None,
            "threshold_method": "lod" if perms == 0 else
            "pooled permutations by missing-data pattern and h2 class",
            "drop": drop, "perms": perms, "alpha": alpha if perms else None,
            "chunk_traits": chunks[0][1] - chunks[0][0] if chunks else 0,
            "chromosomes_at_once": None if client is not None else plan.chromosomes,
            "memory_plan": plan.describe()}  # fmt: skip
    if eigens is not None:
        info["decompositions"] = eigens.counts()
    return EqtlResult(
        peaks=peaks, max_lod=maxima, thresholds=threshold_table, groups=groups, info=info
    )


def _scan_chunks(pheno: pd.DataFrame, probs: GenoProbs, traits: list[str],
                 chunks: list[tuple[int, int]], spec_for: Callable[[list[str]], Any],
                 state: _Checkpoint, store: Any, *, kinship: Any, addcovar: Any,
                 threshold: float, drop: float, map_name: str, effects: bool, perms: int,
                 alpha: float, perm_traits: int, hsq_bins: int, seed: int, backend: Any,
                 device: Any, client: Any, threads: int | None,
                 progress: Callable[[int], None] | None
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None,
                            pd.DataFrame | None, int]:  # fmt: skip
    """The thresholds and each chunk's scan of :func:`eqtl_scan`: peaks, maxima, resumed."""
    from translocus.genetics.scan import scan

    # thresholds: one LOD, or pooled permutations (they need the traits' h² first)
    thresholds = np.full(len(traits), float(threshold))
    threshold_table = groups = None
    if perms > 0:
        hsq = None
        if kinship is not None:
            from translocus.genetics.herit import est_herit

            kin_all = kinship
            if isinstance(kinship, dict):  # median over the LOCO matrices' h² is costly:
                kin_all = next(iter(kinship.values()))  # one LOCO matrix stands for all
            hsq = est_herit(pheno, kin_all, addcovar=addcovar).iloc[0]
        threshold_table, groups = pooled_thresholds(
            spec_for,
            probs,
            pheno,
            hsq,
            perms=perms,
            alpha=alpha,
            perm_traits=perm_traits,
            hsq_bins=hsq_bins,
            seed=seed,
            backend=backend,
            client=client,
            threads=threads,
        )
        thresholds = threshold_table["threshold"].to_numpy(float)

    all_peaks: list[pd.DataFrame] = []
    all_max: list[pd.DataFrame] = []
    resumed = 0
    for i, (s, e) in enumerate(chunks):
        names = traits[s:e]
        done = state.load(i) if store is None else None
        if done is not None:
            peaks, maxima = done
            resumed += 1
        else:
            result = scan(spec_for(names), probs, backend=backend, device=device, client=client,
                          threads=threads)  # fmt: skip
            peaks, maxima = _reduce_chunk(result, map_name, thresholds[s:e], drop)
            if effects and len(peaks):
                peaks = pd.concat([peaks, _peak_effects(peaks, pheno, probs, kinship, addcovar)],
                                  axis=1)  # fmt: skip
            if store is not None:
                _write_lod(store, result, s, len(traits))
            state.save(i, peaks, maxima)
            del result
            checkpoint_reached("eqtl-chunk")
        all_peaks.append(peaks)
        all_max.append(maxima)
        if progress is not None:
            progress(e - s)
    peaks = pd.concat(all_peaks, ignore_index=True) if all_peaks else pd.DataFrame(
        columns=PEAK_COLUMNS)  # fmt: skip
    peaks = peaks.reset_index(drop=True)  # traits in their order, chromosomes in genome order
    maxima = pd.concat(all_max, ignore_index=True)
    return peaks, maxima, threshold_table, groups, resumed
