"""``eqtl``: genome scans of a molecular data set (expression, proteins) with cis/trans calls.

One run: read the cross and the traits file (AnnData, parquet or CSV, either orientation),
match the samples (unmatched ones counted and listed), annotate the features with gene
positions (the file's own, else the Ensembl table of the build), optionally rank-normalise,
genotype and allele probabilities (streamed from a store when they exceed the memory budget),
kinship, then :func:`~translocus.genetics.eqtl.eqtl_scan` over all traits in chunks: the peaks
(support intervals, h², allele effects with SEs), each trait's maximum, optionally all LODs as
a zarr store, genome-wide thresholds by pooled permutations when asked. Each peak is called
local or distal by the distance between its interval and the trait's gene, and distal peaks are
counted in sliding windows against a permutation threshold (trans hotspots).

A run killed part-way resumes: finished chunks are kept in ``.NAME.translocus-checkpoint``
beside the run folder until the run completes (then it is removed) or is started with other
traits or options (then it is emptied and filled again).
"""

from __future__ import annotations

import io
import math
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.model import Cross
from translocus.core.runs import RunLog
from translocus.core.threads import thread_limit
from translocus.pipelines.genoprob import (
    check_hmm_options,
    cross_for,
    genotype_probabilities,
    resolve_assembly,
)
from translocus.pipelines.scan import KINSHIPS, count_decompositions

__all__ = ["CHECKPOINT_TAG", "EqtlOutput", "EqtlRequest", "checkpoint_folder", "run_eqtl"]

TRANSFORMS = ("none", "rankint")
EQTL_BACKENDS = ("cpu", "torch")
CHECKPOINT_TAG = ".translocus-checkpoint"


def checkpoint_folder(out: Path) -> Path:
    """Where a run into ``out`` keeps its finished chunks: ``.NAME.translocus-checkpoint``."""
    out = Path(out)
    return out.parent / f".{out.name}{CHECKPOINT_TAG}"


@dataclass(frozen=True)
class EqtlRequest:
    """Options of ``translocus eqtl`` (see its ``--help``); names follow the flags.

    ``checkpoint`` is set by the command to :func:`checkpoint_folder` of ``--out``.
    """

    cross: Path | None = None
    traits: Path | None = None
    orientation: str = "auto"
    layer: str | None = None
    transform: str = "none"
    kinship: str = "loco"
    covar: tuple[str, ...] = ()
    covar_file: Path | None = None
    threshold: float = 6.0
    drop: float = 1.5
    perms: int = 0
    alpha: float = 0.05
    perm_traits: int = 8
    seed: int = 20260101
    window: float = 4.0
    hotspot_window: float = 4.0
    hotspot_perms: int = 1000
    build: str | None = None
    keep_lod: bool = False
    effects: bool = True
    chunk_traits: int | None = None
    error_prob: float = 0.002
    map_function: str = "c-f"
    backend: str = "cpu"
    threads: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    memory: str | None = None
    checkpoint: Path | None = None

    def validate(self) -> None:
        if self.traits is None:
            raise OptionError("traits", None, "give the expression or protein file, e.g. "
                                              "--traits liver.h5ad")  # fmt: skip
        if self.kinship not in KINSHIPS:
            raise OptionError("kinship", self.kinship, "use loco, overall or none (Haley-Knott)")
        if self.transform not in TRANSFORMS:
            raise OptionError("transform", self.transform, "use none or rankint")
        if self.backend not in EQTL_BACKENDS:
            raise OptionError("backend", self.backend, "use cpu or torch")
        for name, value, example in (("threshold", self.threshold, "6"),
                                     ("drop", self.drop, "1.5"),
                                     ("hotspot-window", self.hotspot_window, "4")):  # fmt: skip
            if not (math.isfinite(value) and value > 0):
                raise OptionError(name, value, f"must be above 0, e.g. {example}")
        if not (math.isfinite(self.window) and self.window >= 0):
            raise OptionError("window", self.window, "must be 0 Mbp or more, e.g. 4")
        if self.perms < 0:
            raise OptionError("perms", self.perms, "must be 0 (a LOD threshold) or more")
        if self.hotspot_perms < 1:
            raise OptionError("hotspot-perms", self.hotspot_perms, "must be 1 or more, e.g. 1000")
        if self.perm_traits < 1:
            raise OptionError("perm-traits", self.perm_traits, "must be 1 or more, e.g. 8")
        if not (0 < self.alpha < 1):
            raise OptionError("alpha", self.alpha, "must lie strictly between 0 and 1, e.g. 0.05")
        counts: tuple[tuple[str, int | None], ...] = (
            ("threads", self.threads), ("workers", self.workers),
            ("chunk-traits", self.chunk_traits))  # fmt: skip
        for flag, count in counts:
            if count is not None and (isinstance(count, bool) or count < 1):
                raise OptionError(flag, count, "must be 1 or more")
        if self.workers is not None and self.scheduler is not None:
            raise OptionError("workers", self.workers,
                              "give either --workers (a local cluster) or --scheduler, not both")  # fmt: skip
        if self.backend == "torch" and (self.workers or self.scheduler):
            raise OptionError("backend", self.backend,
                              "runs in this process; leave out --workers/--scheduler")  # fmt: skip
        check_hmm_options(self.error_prob, self.map_function, self.build)


@dataclass
class EqtlOutput:
    """What ``eqtl`` computed; writes itself into a run folder."""

    request: EqtlRequest
    peaks: pd.DataFrame
    max_lod: pd.DataFrame
    thresholds: pd.DataFrame | None
    groups: pd.DataFrame | None
    hotspots: Any | None  # cistrans.HotspotResult
    samples: pd.DataFrame
    features: pd.DataFrame
    info: dict[str, Any]
    markers: pd.DataFrame
    build: str | None
    lod_store: Path | None = None
    notes: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        """Write the run's tables and plots into ``folder``.

        peaks.parquet/.csv, max_lod.parquet/.csv, samples.csv, features.csv, thresholds (with
        permutations), hotspots.csv + track, cistrans.png, hotspots.png, lod.zarr.
        """
        import matplotlib.pyplot as plt

        from translocus.genetics.plot_eqtl import plot_cistrans
        from translocus.genetics.results import write_table

        folder = Path(folder)
        for name, frame in (("peaks", self.peaks), ("max_lod", self.max_lod)):
            write_table(frame, folder / f"{name}.parquet")
            write_table(frame, folder / f"{name}.csv")
        write_table(self.samples, folder / "samples.csv")
        write_table(self.features.reset_index(), folder / "features.csv")
        if self.thresholds is not None:
            write_table(self.thresholds, folder / "thresholds.csv")
        if self.groups is not None:
            write_table(self.groups, folder / "permutation_groups.csv")
        figures = []
        if self.hotspots is not None:
            write_table(self.hotspots.hotspots, folder / "hotspots.csv")
            write_table(self.hotspots.track, folder / "hotspot_track.csv")
            figures.append(("hotspots.png", self.hotspots.figure()))
        if "class" in self.peaks.columns:
            chroms = {c: float(g["pos"].max()) for c, g in self.markers.groupby("chr", sort=False)}
            figures.append(("cistrans.png", plot_cistrans(self.peaks, chromosomes=chroms)))
        for name, fig in figures:
            try:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
            finally:
                plt.close(fig)
            (folder / name).write_bytes(buf.getvalue())
        if self.lod_store is not None:
            shutil.move(str(self.lod_store), str(folder / "lod.zarr"))
            parent = self.lod_store.parent  # the temporary folder made for it, now empty
            if parent.name.startswith("translocus-lod-") and not any(parent.iterdir()):
                parent.rmdir()

    def summary(self) -> dict[str, Any]:
        classes = (self.peaks["class"].value_counts().to_dict()
                   if "class" in self.peaks.columns else {})  # fmt: skip
        hot = self.hotspots
        return {
            **self.info,
            "n_samples": int(self.samples["in_scan"].sum()),
            "n_features": int(len(self.features)),
            "n_peaks": int(len(self.peaks)),
            "n_traits_with_peaks": int(self.peaks["trait"].nunique()) if len(self.peaks) else 0,
            "peak_classes": {str(k): int(v) for k, v in classes.items()},
            "window": self.request.window,
            "build": self.build,
            "n_hotspots": 0 if hot is None else int(len(hot.hotspots)),
            "hotspot_threshold": None if hot is None else float(hot.threshold),
            "transform": self.request.transform,
            "keep_lod": self.lod_store is not None,
            "notes": list(self.notes),
        }


def eqtl_inputs(request: EqtlRequest) -> list[Path]:
    """The files a run reads (for the run record)."""
    return [p for p in (request.cross, request.traits, request.covar_file) if p is not None]


def run_eqtl(request: EqtlRequest, log: RunLog | None = None, *, cross: Cross | None = None
             ) -> EqtlOutput:  # fmt: skip
    """Run ``eqtl`` (module docstring); ``cross`` in memory instead of ``request.cross``."""
    request.validate()
    log = log if log is not None else RunLog()
    with thread_limit(request.threads):
        return _run_eqtl(request, log, cross)


def _client(request: EqtlRequest) -> tuple[Any, Any]:
    if request.scheduler is None and request.workers is None:
        return None, None
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - dask is a dependency of the extras
        raise OptionError("workers", request.workers,
                          "needs dask.distributed: pip install 'translocus[dask]'") from err  # fmt: skip
    if request.scheduler is not None:
        try:
            return Client(request.scheduler, timeout="20s"), None
        except OSError as err:
            raise OptionError("scheduler", request.scheduler,
                              f"no Dask scheduler answered there ({err})") from err  # fmt: skip
    cluster = LocalCluster(n_workers=int(request.workers or 1), threads_per_worker=1,
                           processes=True, dashboard_address=None)  # fmt: skip
    return Client(cluster), cluster


def _run_eqtl(request: EqtlRequest, log: RunLog, cross: Cross | None) -> EqtlOutput:
    from translocus.core.molecular import (
        annotate,
        match_samples,
        rank_inverse_normal,
        read_covariate_table,
        read_traits,
    )
    from translocus.genetics.cistrans import classify_peaks, hotspots
    from translocus.genetics.eqtl import eqtl_scan
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.scan import cross_covariates

    cross = cross_for(request.cross, log, cross=cross)
    assert request.traits is not None
    with log.step("traits"):
        traits = read_traits(request.traits, orientation=request.orientation,
                             samples=[str(s) for s in cross.individuals], layer=request.layer)  # fmt: skip
    notes = list(traits.notes)
    covar_names = list(request.covar)
    known = set(cross.covar.columns) if cross.covar is not None else set()
    for name in covar_names:
        if name not in known:
            raise OptionError("covar", name, f"is not a covariate of the cross "
                                             f"(it has: {', '.join(sorted(known)) or 'none'})")  # fmt: skip
    # samples: those of the cross (genotyped) and of the traits, before any heavy step
    traits, match = match_samples(traits, [str(s) for s in cross.individuals])
    notes.append(match.summary())
    if match.only_in_traits:
        log.count("trait samples not in the cross", len(match.only_in_traits),
                  "they have no genotypes; left out")  # fmt: skip
    if match.only_in_cross:
        log.count("cross samples without traits", len(match.only_in_cross),
                  "they have no traits; left out of the scan")  # fmt: skip
    _, alleles = genotype_probabilities(cross, request.error_prob, request.map_function, log,
                                        memory=request.memory)  # fmt: skip
    assembly, _ = resolve_assembly(cross, request.cross, request.build, log)
    build = request.build or assembly
    if build is not None:
        traits = _annotated(traits, build, annotate, log)
        notes.extend(n for n in traits.notes if n not in notes)
    values = traits.values
    if request.transform == "rankint":
        values = rank_inverse_normal(values)
        notes.append("values rank-based inverse normal transformed per trait (Blom)")
    addcovar, xcovar = cross_covariates(cross, covar_names)
    if request.covar_file is not None:
        extra = read_covariate_table(request.covar_file, values.index)
        notes.extend(str(n) for n in extra.attrs.get("notes", []))
        if addcovar is not None:
            repeated = [c for c in extra.columns if c in set(addcovar.columns)]
            if repeated:
                log.count("covariates of --covar-file already given by --covar", len(repeated),
                          f"{', '.join(repeated)} taken once, from the cross")  # fmt: skip
                extra = extra.drop(columns=repeated)
        addcovar = extra if addcovar is None else addcovar.join(extra, how="inner")
    kinship = None
    if request.kinship != "none":
        with log.step("kinship"):
            kinship = calc_kinship(alleles, type=request.kinship)
    map_name = "pos_Mbp" if all("pos_Mbp" in alleles[c].coords for c in alleles.chromosomes) \
        else "pos_cM"  # fmt: skip
    lod_store = None
    if request.keep_lod:
        if request.checkpoint is not None:
            lod_store = request.checkpoint.parent / f"{request.checkpoint.name}.lod.zarr"
            if lod_store.exists():
                shutil.rmtree(lod_store)  # the store of an earlier, unfinished try of this run
        else:
            lod_store = Path(tempfile.mkdtemp(prefix="translocus-lod-")) / "lod.zarr"
    client, cluster = _client(request)
    try:
        with log.step("eqtl scan", total=values.shape[1]) as advance:
            result = eqtl_scan(values, alleles, kinship=kinship, addcovar=addcovar,
                               Xcovar=xcovar, threshold=request.threshold, drop=request.drop,
                               map_name=map_name, effects=request.effects, perms=request.perms,
                               alpha=request.alpha, perm_traits=request.perm_traits,
                               seed=request.seed, chunk_traits=request.chunk_traits,
                               keep_lod=lod_store, checkpoint=request.checkpoint,
                               backend=request.backend, client=client,
                               threads=request.threads, memory=request.memory,
                               progress=advance)  # fmt: skip
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    if result.info.get("chromosomes_at_once") is not None:
        log.count("chromosomes scanned at once", result.info["chromosomes_at_once"],
                  result.info["memory_plan"])  # fmt: skip
    log.count("traits per scan chunk", result.info["chunk_traits"],
              "--chunk-traits" if request.chunk_traits else "a chunk's LODs within the memory "
              "budget (--memory)")  # fmt: skip
    made = result.info.get("decompositions")
    if made is not None:
        count_decompositions(log, made, "all trait chunks")
    if result.info.get("chunks_resumed"):
        notes.append(f"{result.info['chunks_resumed']} of {result.info['chunks']} trait chunks "
                     "taken from the checkpoint of an interrupted run")  # fmt: skip
    peaks = _with_annotation(result.peaks, traits.features)
    markers = pd.concat([pd.DataFrame({"chr": str(c), "pos": np.asarray(
        alleles[c].coords[map_name].values, float)}) for c in alleles.chromosomes],
        ignore_index=True)  # fmt: skip
    hot = None
    if map_name == "pos_Mbp" and build is not None and len(peaks):
        with log.step("cis/trans"):
            peaks = classify_peaks(peaks, window=request.window, peak_build=build,
                                   gene_build=build)  # fmt: skip
            hot = hotspots(peaks, markers=markers, window=request.hotspot_window,
                           n_perm=request.hotspot_perms, alpha=request.alpha,
                           seed=request.seed)  # fmt: skip
    elif len(peaks):
        log.warn("no cis/trans calls: " + ("the map has no physical positions"
                                           if map_name != "pos_Mbp" else
                                           "the genome build is unknown; give --build"))  # fmt: skip
    samples = pd.DataFrame({"sample": sorted(set(match.matched) | set(match.only_in_traits)
                                             | set(match.only_in_cross))})  # fmt: skip
    samples["in_traits"] = samples["sample"].isin(set(match.matched) | set(match.only_in_traits))
    samples["in_cross"] = samples["sample"].isin(set(match.matched) | set(match.only_in_cross))
    samples["in_scan"] = samples["sample"].isin(set(match.matched))
    return EqtlOutput(request=request, peaks=peaks, max_lod=result.max_lod,
                      thresholds=result.thresholds, groups=result.groups, hotspots=hot,
                      samples=samples, features=traits.features, info=result.info,
                      markers=markers, build=build, lod_store=lod_store, notes=notes)  # fmt: skip


def _annotated(traits: Any, build: str, annotate: Any, log: RunLog) -> Any:
    """The traits with gene positions from the Ensembl table of ``build`` where they lack them."""
    from translocus.translate.genes import load_genes

    try:
        table = load_genes("mouse", build)
    except (InputError, OptionError, FileNotFoundError, ValueError) as err:
        log.warn(f"no gene table for {build} ({err}); features keep the file's annotation only")
        return traits
    out = annotate(traits, table.genes, build=build)
    missing = int(out.features["chr"].isna().sum())
    if missing:
        log.count("features without a gene position", missing,
                  "neither their IDs nor symbols are in the gene table; no cis/trans call")  # fmt: skip
    return out


def _with_annotation(peaks: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The peaks with their trait's ``gene_id, symbol, gene_chr, gene_start, gene_end``."""
    ann = features.reindex(peaks["trait"].astype(str))
    out = peaks.copy()
    for src, dst in (("gene_id", "gene_id"), ("symbol", "symbol"), ("chr", "gene_chr"),
                     ("start", "gene_start"), ("end", "gene_end")):  # fmt: skip
        out[dst] = ann[src].to_numpy() if src in ann.columns else None
    return out
