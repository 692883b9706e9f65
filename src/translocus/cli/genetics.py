"""``translocus genoprob`` and ``translocus scan``: the cause engine from the command line."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from translocus.core.atomic import atomic_write_bytes, atomic_write_text
from translocus.core.errors import InputError
from translocus.genetics.scan import cross_covariates

__all__ = ["register"]

console = Console(stderr=True)


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                    "{task.total}"), TimeElapsedColumn(), console=console, transient=True)  # fmt: skip


def _read_cross(path: Path) -> Any:
    from translocus.core.qtl2io import read_cross

    if not path.exists():
        raise InputError(f"{path}: not found; give an R/qtl2 control file, its folder or a .zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cross(path)


def _genoprobs(cross: Any, error_prob: float, map_function: str) -> Any:
    """Genotype then allele probabilities, one chromosome at a time with a progress bar."""
    from translocus.core.model import GenoProbs
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob

    parts: dict[str, Any] = {}
    first = None
    with _progress() as bar:
        task = bar.add_task("genotype probabilities", total=len(cross.chromosomes))
        for chrom in cross.chromosomes:
            one = calc_genoprob(cross, error_prob=error_prob, map_function=map_function,
                                chromosomes=[chrom])  # fmt: skip
            first = first or one
            parts[chrom] = one[chrom]
            bar.advance(task)
    assert first is not None
    probs = GenoProbs(probs=parts, crosstype=first.crosstype, alleles=first.alleles,
                      x_chr=first.x_chr, kind=first.kind)  # fmt: skip
    return probs, genoprob_to_alleleprob(probs)


def _save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def genoprob(
    cross: Path = typer.Argument(
        ..., help="R/qtl2 control file (.json/.yaml), its folder or .zip."
    ),
    out: Path = typer.Option(..., "--out", help="Project store folder to write the probabilities."),
    error_prob: float = typer.Option(0.002, "--error-prob", help="Genotyping error probability."),
    map_function: str = typer.Option(
        "c-f", "--map-function", help="haldane, kosambi, c-f or morgan."
    ),  # fmt: skip
) -> None:
    """Compute genotype and allele probabilities (HMM) and store them.

    Example: translocus genoprob ../shared/data/qtl2/DOex/DOex.zip --out results/doex
    """
    from translocus.core.store import Store

    try:
        crs = _read_cross(cross)
        probs, alleles = _genoprobs(crs, error_prob, map_function)
        store = Store(out)
        store.write_genoprobs("genoprob", probs, provenance=crs.provenance)
        store.write_genoprobs("alleleprob", alleles, provenance=crs.provenance)
    except InputError as exc:
        _fail(exc)
    console.print(f"wrote genoprob and alleleprob ({probs.n_markers} positions, "
                  f"{len(probs.samples)} individuals) to {out}")  # fmt: skip


def scan_command(
    cross: Path = typer.Argument(
        ..., help="R/qtl2 control file (.json/.yaml), its folder or .zip."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder."),
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
    probs_store: Path = typer.Option(
        None, "--probs", help="Store written by 'translocus genoprob' (reuse)."
    ),  # fmt: skip
    error_prob: float = typer.Option(0.002, "--error-prob", help="Genotyping error probability."),
    map_function: str = typer.Option("c-f", "--map-function", help="Map function of the HMM."),
    backend: str = typer.Option(
        "cpu",
        "--backend",
        help="cpu (compiled kernels) or torch (scan and permutations as batched products on a "
        "CUDA device when there is one; needs the 'gpu' extra).",
    ),  # fmt: skip
) -> None:
    """Genome scan (Haley-Knott or LMM) with permutation thresholds, peaks and plots.

    Example: translocus scan ../shared/data/qtl2/DOex/DOex.zip --pheno OF_immobile_pct
    --kinship loco --covar sex --perms 100 --out results/doex_scan
    """
    from translocus.core.compute import get_backend
    from translocus.genetics.accelerated import scan_accelerated
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.peaks import find_peaks
    from translocus.genetics.permute import scan_perm
    from translocus.genetics.plot import plot_lod, plot_lod_interactive
    from translocus.genetics.results import write_table
    from translocus.genetics.scan import scan

    try:
        if kinship not in ("loco", "overall", "none"):
            raise InputError(f"--kinship {kinship}: use loco, overall or none")
        if backend not in ("cpu", "torch"):
            raise InputError(f"--backend {backend}: use cpu or torch")
        array_backend = None if backend == "cpu" else get_backend(backend)
        crs = _read_cross(cross)
        names = [p.strip() for p in pheno.split(",") if p.strip()] or list(crs.pheno.columns)
        missing = [p for p in names if p not in crs.pheno.columns]
        if missing:
            raise InputError(f"--pheno: {missing} not in the cross's phenotypes "
                             f"({', '.join(map(str, crs.pheno.columns[:10]))}, ...)")  # fmt: skip
        if probs_store is not None:
            from translocus.core.store import Store

            alleles = Store(probs_store, create=False).read_genoprobs("alleleprob")
        else:
            _, alleles = _genoprobs(crs, error_prob, map_function)
        ph = crs.pheno[names].copy()
        ph.index = [str(i) for i in ph.index]
        addcovar, xcovar = cross_covariates(crs, [c.strip() for c in covar.split(",")
                                                      if c.strip()])  # fmt: skip
        kin = None if kinship == "none" else calc_kinship(alleles, type=kinship)
        with console.status("genome scan"):
            if array_backend is None:
                result = scan(ph, alleles, kinship=kin, addcovar=addcovar, Xcovar=xcovar)
            else:
                result = scan_accelerated(ph, alleles, kinship=kin, addcovar=addcovar,
                                          Xcovar=xcovar, backend=array_backend)  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        write_table(result.to_frame(), out / "lod.parquet")
        write_table(result.to_frame(), out / "lod.csv")
        if result.hsq is not None:
            write_table(result.hsq.rename_axis("hsq_set").reset_index(), out / "hsq.csv")
        thresholds: dict[str, float] = {}
        thr_vec: Any = threshold
        if perms > 0:
            with _progress() as bar:
                task = bar.add_task("permutations", total=perms)
                perm = scan_perm(ph, alleles, kinship=kin, addcovar=addcovar, Xcovar=xcovar,
                                 n_perm=perms, seed=seed, backend=array_backend,
                                 progress=lambda k: bar.advance(task, k))  # fmt: skip
            thr = perm.thresholds([alpha])
            write_table(perm.thresholds(), out / "thresholds.csv")
            write_table(perm.to_frame(), out / "permutations.csv")
            thr_vec = thr[result.traits].to_numpy()[0]
            thresholds = {f"{t} {int(100 * alpha)}%": float(v)
                          for t, v in zip(result.traits, thr_vec, strict=True)}  # fmt: skip
        map_name = "pos_Mbp" if "pos_Mbp" in result.data.coords else "pos_cM"
        peaks = find_peaks(result, map_name=map_name, threshold=thr_vec, drop=drop)
        write_table(peaks, out / "peaks.csv")
        shown = thresholds or {"threshold": float(threshold)}
        _save_figure(plot_lod(result, thresholds=shown, peaks=peaks, map_name=map_name),
                     out / "lod.png")  # fmt: skip
        fig = plot_lod_interactive(result, thresholds=shown, peaks=peaks, map_name=map_name)
        atomic_write_text(out / "lod.html", fig.to_html(include_plotlyjs="cdn"))
        summary = {
            "traits": result.traits,
            "kinship": kinship,
            "covariates": list(addcovar.columns) if addcovar is not None else [],
            "n_markers": len(result.markers),
            "sample_size": {k: int(v) for k, v in result.sample_size.items()},
            "max_lod": {
                r.trait: (None if pd.isna(r.max_lod) else float(r.max_lod))
                for r in result.max_lod().itertuples()
            },  # fmt: skip
            "thresholds": thresholds,
            "n_peaks": len(peaks),
            "map": map_name,
        }
        if map_name == "pos_Mbp":
            from translocus.datasets import physical_map_assembly

            summary["assembly"] = physical_map_assembly(crs.provenance.name)
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    except InputError as exc:
        _fail(exc)
    best = result.max_lod()
    for row in best.itertuples():
        lod = "NA" if pd.isna(row.max_lod) else f"{row.max_lod:.2f}"
        console.print(f"{row.trait}: max LOD {lod} at {row.marker} (chr {row.chr}), n={row.n}")
    console.print(f"{len(peaks)} peak(s); results in {out}")


def register(app: typer.Typer) -> None:
    """Add ``genoprob`` and ``scan`` to the ``translocus`` command."""
    app.command("genoprob")(genoprob)
    app.command("scan")(scan_command)
