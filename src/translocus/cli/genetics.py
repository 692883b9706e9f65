"""``translocus genoprob`` and ``translocus scan``: the cause engine from the command line.

The workflows live in :mod:`translocus.pipelines.genoprob` and :mod:`translocus.pipelines.scan`;
these commands parse the options, run the pipeline into a run folder and print a short summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from translocus.cli.contract import out, run_pipeline, split_list

__all__ = ["register"]

_CROSS_HELP = "R/qtl2 control file (.json/.yaml), its folder or .zip."
_ASSEMBLY_HELP = (
    "Genome build of the cross's physical map (Mbp): GRCm38 (mm10) or GRCm39. Default: a "
    "field of the control file (assembly/genome/build), else the catalogue's build for the "
    "shared datasets, else unknown (translate --peaks then asks for it)."
)


def genoprob(
    cross: Path = typer.Argument(..., help=_CROSS_HELP),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for the stored probabilities (what --probs reads)."
    ),
    error_prob: float = typer.Option(0.002, "--error-prob", help="Genotyping error probability."),
    map_function: str = typer.Option(
        "c-f", "--map-function", help="haldane, kosambi, c-f or morgan."
    ),  # fmt: skip
    assembly: str = typer.Option(None, "--assembly", help=_ASSEMBLY_HELP),
    intersection: bool = typer.Option(
        False, "--intersection", help="Keep only phenotyped individuals that are genotyped."
    ),
) -> None:
    """Compute genotype and allele probabilities (HMM) and store them for later scans.

    The run folder is a store that `translocus scan --probs DIR` reads; the probabilities
    carry a fingerprint of the cross, so they are never used with another one.

    Example: translocus genoprob ../shared/data/qtl2/DOex/DOex.zip -o results/doex_probs
    """
    from translocus.pipelines.genoprob import GenoprobRequest, cross_inputs, run_genoprob

    request = GenoprobRequest(cross=cross, error_prob=error_prob, map_function=map_function,
                              assembly=assembly, intersection=intersection)  # fmt: skip
    output, _, folder = run_pipeline(
        "genoprob", request, run_genoprob, out_dir=out_dir, inputs=cross_inputs(cross)
    )
    s = output.summary()
    out.print(
        f"genotype and allele probabilities of a {s['crosstype']} cross: {s['individuals']:,} "
        f"individuals, {s['positions']:,} positions on {s['chromosomes']} chromosomes "
        f"(error {s['error_prob']:g}, map function {s['map_function']})"
    )
    out.print(f"physical map: {s['assembly'] or 'build unknown'}")
    out.print(f"store: {folder} (use it with: translocus scan CROSS --probs {folder})")


def _lod(value: float | None) -> str:
    return "NA" if value is None or value != value else f"{value:.2f}"


def _threshold_line(used: dict[str, dict[str, Any]]) -> str:
    values = [u["lod"] for u in used.values() if u["lod"] is not None]
    first = next(iter(used.values()), None)
    if first is None:
        return "threshold: none (no traits)"
    if first["source"] == "threshold":
        return f"threshold: LOD {first['lod']:g} (--threshold)"
    if not values:
        return f"threshold: none could be computed ({first['how']})"
    if len(used) == 1 or min(values) == max(values):
        return f"threshold: LOD {values[0]:.2f} ({first['how']})"
    return (
        f"threshold: per trait, LOD {min(values):.2f} to {max(values):.2f} ({first['how']}; "
        "see thresholds.csv)"
    )


def scan_command(
    cross: Path = typer.Argument(..., help=_CROSS_HELP),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the results."),
    pheno: str = typer.Option("", "--pheno", help="Comma-separated phenotype names (default all)."),
    kinship: str = typer.Option("loco", "--kinship", help="loco, overall or none (Haley-Knott)."),
    covar: str = typer.Option("", "--covar", help="Comma-separated covariates, e.g. sex."),
    perms: int = typer.Option(0, "--perms", help="Number of permutations for thresholds."),
    seed: int = typer.Option(20260101, "--seed", help="Seed of the permutations."),
    threshold: float = typer.Option(
        6.0, "--threshold", help="LOD threshold for peaks (without --perms)."
    ),  # fmt: skip
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level with --perms."),
    drop: float = typer.Option(1.5, "--drop", help="LOD drop of the support intervals."),
    probs: Path = typer.Option(
        None, "--probs", help="Run folder written by 'translocus genoprob' for this cross (reuse)."
    ),  # fmt: skip
    error_prob: float = typer.Option(0.002, "--error-prob", help="Genotyping error probability."),
    map_function: str = typer.Option("c-f", "--map-function", help="Map function of the HMM."),
    backend: str = typer.Option(
        "cpu",
        "--backend",
        help="cpu (compiled kernels) or torch (scan and permutations as batched products on a "
        "CUDA device when there is one; needs the 'gpu' extra).",
    ),  # fmt: skip
    assembly: str = typer.Option(None, "--assembly", help=_ASSEMBLY_HELP),
    intersection: bool = typer.Option(
        False, "--intersection", help="Keep only phenotyped individuals that are genotyped."
    ),
    intcovar: str = typer.Option(
        "",
        "--intcovar",
        help="Comma-separated interactive covariates (QTL x covariate), e.g. sex; they are "
        "also additive (added to --covar).",
    ),
    chromosomes: str = typer.Option(
        "",
        "--chr",
        help="Comma-separated chromosomes to scan, e.g. 2,11 (default all); the kinship still "
        "comes from every chromosome.",
    ),
    map_name: str = typer.Option(
        "auto", "--map", help="Positions of the outputs: gmap (cM), pmap (Mbp) or auto."
    ),
    threads: int = typer.Option(None, "--threads", help="Threads to use (default all cores)."),
) -> None:
    """Genome scan (Haley-Knott or LMM) with permutation thresholds.

    Also finds the peaks, estimates the allele effects at each peak (fixed effects and BLUPs,
    with standard errors), plots the founder effects along each peak's chromosome and plots
    the LOD curves.

    Example: translocus scan ../shared/data/qtl2/DOex/DOex.zip --pheno OF_immobile_pct
    --kinship loco --covar sex --perms 1000 -o results/doex_scan
    """
    from translocus.pipelines.genoprob import cross_inputs
    from translocus.pipelines.scan import ScanRequest, run_scan

    request = ScanRequest(
        cross=cross, pheno=tuple(split_list(pheno)), kinship=kinship,
        covar=tuple(split_list(covar)), perms=perms, seed=seed, threshold=threshold,
        alpha=alpha, drop=drop, probs=probs, error_prob=error_prob, map_function=map_function,
        backend=backend, assembly=assembly, intersection=intersection,
        intcovar=tuple(split_list(intcovar)), chromosomes=tuple(split_list(chromosomes)),
        map=map_name, threads=threads,
    )  # fmt: skip
    inputs = cross_inputs(cross) + ([probs] if probs is not None else [])
    output, _, folder = run_pipeline("scan", request, run_scan, out_dir=out_dir, inputs=inputs)
    s = output.summary()
    best = output.result.max_lod()
    shown = 20
    for row in best.head(shown).itertuples():
        where = "" if row.max_lod != row.max_lod else f" at {row.marker} (chr {row.chr})"
        out.print(f"{row.trait}: max LOD {_lod(row.max_lod)}{where}, n={row.n}")
    if len(best) > shown:
        out.print(f"... and {len(best) - shown:,} more traits (max LOD of each in run.json)")
    out.print(_threshold_line(output.threshold_used))
    method = "Haley-Knott" if s["method"] == "hk" else f"LMM, {s['kinship']} kinship"
    out.print(
        f"{s['n_peaks']} peak(s) ({method}; {s['n_markers']:,} markers, map {s['map']}, "
        f"build {s['assembly'] or 'unknown'})"
    )
    plots = (
        f", effects/ ({s['n_effect_plots']} founder-effect plots)" if s["n_effect_plots"] else ""
    )
    lod_files = (
        "lod.csv, lod.parquet"
        if s["lod_csv"]
        else "lod.parquet (lod.csv left out: over 5 million LODs)"
    )
    out.print(
        f"results in {folder}: {lod_files}, peaks.csv, peak_effects.csv{plots}, lod.png, lod.html"
    )


def register(app: typer.Typer) -> None:
    """Add ``genoprob`` and ``scan`` to the ``translocus`` command."""
    app.command("genoprob")(genoprob)
    app.command("scan")(scan_command)
