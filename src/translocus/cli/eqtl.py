"""``translocus eqtl``: genome scans of an expression or protein data set, cis/trans, hotspots.

The workflow lives in :mod:`translocus.pipelines.eqtl`; this command parses the options, runs
the pipeline into a new run folder, removes the run's checkpoint once the folder is in place
and prints a short summary.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline, split_list
from translocus.core.errors import UserError

__all__ = ["register"]


def eqtl_command(
    cross: Path = typer.Argument(..., help="R/qtl2 control file (JSON/YAML), folder or zip."),
    traits: Path = typer.Option(
        ..., "--traits", help="Expression/protein matrix: .h5ad, .parquet or .csv/.tsv(.gz)."
    ),  # fmt: skip
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the results."),
    orientation: str = typer.Option(
        "auto",
        "--orientation",
        help="What the file's rows are: auto, samples-x-features or features-x-samples.",
    ),  # fmt: skip
    layer: str | None = typer.Option(None, "--layer", help="AnnData layer to read (default X)."),
    transform: str = typer.Option(
        "none", "--transform", help="none, or rankint (rank-based inverse normal per trait)."
    ),  # fmt: skip
    kinship: str = typer.Option("loco", "--kinship", help="loco, overall or none (Haley-Knott)."),
    covar: str = typer.Option("", "--covar", help="Covariates of the cross, e.g. sex."),
    covar_file: Path | None = typer.Option(
        None, "--covar-file", help="Table of further covariates per sample (e.g. batch)."
    ),  # fmt: skip
    threshold: float = typer.Option(6.0, "--threshold", help="LOD threshold of the peaks."),
    drop: float = typer.Option(1.5, "--drop", help="LOD drop of the support intervals."),
    perms: int = typer.Option(
        0,
        "--perms",
        help="Permutations per permuted trait for genome-wide thresholds (0: --threshold).",
    ),  # fmt: skip
    perm_traits: int = typer.Option(
        8, "--perm-traits", help="Traits permuted per class of missing data and h²."
    ),  # fmt: skip
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level of the thresholds."),
    seed: int = typer.Option(20260101, "--seed", help="Seed of the permutations."),
    window: float = typer.Option(
        4.0, "--window", help="A peak within this many Mbp of its gene is local (cis)."
    ),  # fmt: skip
    hotspot_window: float = typer.Option(
        4.0, "--hotspot-window", help="Width (Mbp) of the windows counting distal peaks."
    ),  # fmt: skip
    hotspot_perms: int = typer.Option(
        1000, "--hotspot-perms", help="Permutations of the hotspot-size threshold."
    ),  # fmt: skip
    build: str | None = typer.Option(
        None, "--build", help="Genome build of the map and genes (default: the cross's)."
    ),  # fmt: skip
    keep_lod: bool = typer.Option(
        False, "--keep-lod", help="Also keep every LOD (lod.zarr, chunked by trait)."
    ),  # fmt: skip
    effects: bool = typer.Option(
        True, "--effects/--no-effects", help="Allele effects with SEs at each peak."
    ),  # fmt: skip
    chunk_traits: int | None = typer.Option(
        None, "--chunk-traits", help="Traits per chunk (default by memory)."
    ),  # fmt: skip
    backend: str = typer.Option("cpu", "--backend", help="cpu or torch (a GPU when present)."),
    threads: int | None = typer.Option(None, "--threads", help="Threads (default: all cores)."),
    workers: int | None = typer.Option(
        None, "--workers", help="Run on a local Dask cluster of this many workers."
    ),  # fmt: skip
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Run on the Dask cluster of this scheduler address."
    ),  # fmt: skip
    memory: str | None = typer.Option(
        None,
        "--memory",
        help="Memory budget of the probabilities and the scan (chromosomes at once, traits per "
        "chunk), e.g. 4GB.",
    ),  # fmt: skip
) -> None:
    """Map every trait of an expression or protein data set: peaks, cis/trans, hotspots.

    Writes peaks.csv/.parquet (support intervals, h², allele effects with SEs, the trait's
    gene and local/distal class), max_lod.csv, samples.csv, features.csv, hotspots.csv,
    cistrans.png and hotspots.png (and lod.zarr with --keep-lod). A killed run started again
    with the same options resumes from its finished chunks.

    Example: translocus eqtl DO.zip --traits liver.h5ad --covar sex -o results/liver_eqtl
    """
    from translocus.pipelines.eqtl import EqtlRequest, checkpoint_folder, eqtl_inputs, run_eqtl

    request = EqtlRequest(
        cross=cross, traits=traits, orientation=orientation, layer=layer, transform=transform,
        kinship=kinship, covar=tuple(split_list(covar)), covar_file=covar_file,
        threshold=threshold, drop=drop, perms=perms, alpha=alpha, perm_traits=perm_traits,
        seed=seed, window=window, hotspot_window=hotspot_window, hotspot_perms=hotspot_perms,
        build=build, keep_lod=keep_lod, effects=effects, chunk_traits=chunk_traits,
        backend=backend, threads=threads, workers=workers, scheduler=scheduler, memory=memory,
        checkpoint=checkpoint_folder(out_dir),
    )  # fmt: skip
    assert request.checkpoint is not None
    resuming = request.checkpoint.exists()
    try:
        output, _, folder = run_pipeline("eqtl", request, run_eqtl, out_dir=out_dir,
                                         inputs=eqtl_inputs(request))  # fmt: skip
    except UserError:
        if not resuming:  # a mistake in the input: nothing of this run is left behind
            shutil.rmtree(request.checkpoint, ignore_errors=True)
            lod_store = request.checkpoint.parent / f"{request.checkpoint.name}.lod.zarr"
            shutil.rmtree(lod_store, ignore_errors=True)
        raise
    shutil.rmtree(request.checkpoint, ignore_errors=True)  # the run is in place: ours to remove
    s = output.summary()
    how = s["method"].upper() + (f" with {s['kinship']} kinship" if s["method"] == "lmm" else "")
    out.print(f"{s['traits']:,} traits x {s['n_samples']:,} samples, {how}; "
              f"{s['n_peaks']:,} peaks in {s['n_traits_with_peaks']:,} traits")  # fmt: skip
    if s["peak_classes"]:
        classes = ", ".join(f"{v:,} {escape(k)}" for k, v in s["peak_classes"].items())
        out.print(f"peaks: {classes} (local: within {s['window']:g} Mbp of the gene)")
    if s["hotspot_threshold"] is not None:
        out.print(f"trans hotspots: {s['n_hotspots']} (windows with more than "
                  f"{s['hotspot_threshold']:g} distal peaks)")  # fmt: skip
    out.print(f"results in {folder}: peaks.csv, max_lod.csv, hotspots.csv, cistrans.png")


def register(app: typer.Typer) -> None:
    """Add ``eqtl`` to the ``translocus`` command."""
    app.command("eqtl")(eqtl_command)
