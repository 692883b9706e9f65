"""``translocus qc``: genotype quality control of a cross from the command line.

The workflow lives in :mod:`translocus.pipelines.qc`; this command parses the options, runs
the pipeline into a run folder and prints a short summary.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline

__all__ = ["register"]


def qc_command(
    cross: Path = typer.Argument(
        ..., help="R/qtl2 control file (.json/.yaml), its folder or .zip."
    ),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the QC report."),
    error_prob: float = typer.Option(0.002, "--error-prob", help="Genotyping error probability."),
    map_function: str = typer.Option(
        "c-f", "--map-function", help="haldane, kosambi, c-f or morgan."
    ),  # fmt: skip
    minprob: float = typer.Option(
        0.95, "--minprob", help="Smallest probability of a genotype call (maxmarg) for crossovers."
    ),  # fmt: skip
    match_threshold: float = typer.Option(
        0.9,
        "--match-threshold",
        help="Pairs of samples whose genotypes match at this proportion or more are duplicates.",
    ),  # fmt: skip
    errorlod_threshold: float = typer.Option(
        2.0, "--errorlod-threshold", help="Genotypes with an error LOD above this are errors."
    ),  # fmt: skip
    outlier_mads: float = typer.Option(
        4.0,
        "--outlier-mads",
        help="Crossover, error-count and heterozygosity outliers lie this many scaled MADs from the median.",
    ),  # fmt: skip
    max_missing: float = typer.Option(
        10.0, "--max-missing", help="Samples and markers missing more than this % are flagged."
    ),  # fmt: skip
    max_marker_errors: float = typer.Option(
        5.0,
        "--max-marker-errors",
        help="Markers with errors in more than this % of samples are flagged.",
    ),  # fmt: skip
    intersection: bool = typer.Option(
        False, "--intersection", help="Keep only phenotyped individuals that are genotyped."
    ),
    intensities: Path | None = typer.Option(
        None,
        "--intensities",
        help="Array intensities (CSV/parquet) for the sex check: columns marker, sample, X, Y "
        "(allele intensities; chr to name X and Y markers) or sample, mean_x, mean_y.",
    ),  # fmt: skip
    max_male_het: float = typer.Option(
        0.05,
        "--max-male-het",
        help="A sample heterozygous at more than this share of its X markers is female.",
    ),  # fmt: skip
) -> None:
    """Genotype QC: duplicate samples, crossover, error, heterozygosity and missing-data outliers.

    Writes samples.csv, duplicates.csv, crossovers.csv, errors.csv, markers.csv,
    duplicate_markers.csv, sex.csv and plots into the run folder. The sex check infers each
    sample's sex from its X genotypes and, with --intensities, from two clusters (k-means) of
    its mean X and Y intensity; samples whose inferred sex differs from the recorded one are
    flagged.

    Example: translocus qc ../shared/data/qtl2/DO_Recla/recla.zip -o results/recla_qc
    """
    from translocus.pipelines.genoprob import cross_inputs
    from translocus.pipelines.qc import QcRequest, run_qc

    request = QcRequest(
        cross=cross, error_prob=error_prob, map_function=map_function, minprob=minprob,
        match_threshold=match_threshold, errorlod_threshold=errorlod_threshold,
        outlier_mads=outlier_mads, max_missing=max_missing, max_marker_errors=max_marker_errors,
        intersection=intersection, intensities=intensities, max_male_het=max_male_het,
    )  # fmt: skip
    inputs = [*cross_inputs(cross), *([intensities] if intensities is not None else [])]
    output, _, folder = run_pipeline("qc", request, run_qc, out_dir=out_dir,
                                     inputs=inputs)  # fmt: skip
    s = output.summary()
    out.print(f"{s['individuals']:,} samples, {s['markers']:,} markers ({s['crosstype']} cross)")
    shown = s["duplicates"][:10]
    out.print(
        f"duplicate pairs (match >= {request.match_threshold:g}): {s['duplicate_pairs']}"
        + ("" if not shown else ": " + ", ".join(
            f"{escape(a)}/{escape(b)} ({p:.3f})" for a, b, p in shown))
    )  # fmt: skip
    for key, label in (
        ("crossover_outliers", "crossover outliers"),
        ("error_outliers", "error-count outliers"),
        ("het_outliers", "heterozygosity outliers"),
        ("missing_outliers", f"missing > {request.max_missing:g}%"),
    ):
        names = s[key]
        listed = ", ".join(escape(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        out.print(f"{label}: {len(names)}" + (f" ({listed})" if names else ""))
    out.print(
        f"crossovers per sample: median {s['crossovers_median']:g}; genotyping errors "
        f"(error LOD > {request.errorlod_threshold:g}): {s['errors_total']:,} in all, median "
        f"{s['errors_median']:g} per sample"
    )
    mismatched = s["sex_mismatches"]
    source = "X genotypes and intensities" if s["sex_from_intensities"] else "X genotypes"
    listed = ", ".join(escape(n) for n in mismatched[:10]) + (
        " ..." if len(mismatched) > 10 else ""
    )
    out.print(
        f"sex differs from the recorded one ({source}): {len(mismatched)}"
        + (f" ({listed})" if mismatched else "")
    )
    out.print(
        f"markers flagged: {s['markers_flagged']:,}; groups of identical markers: "
        f"{s['duplicate_marker_groups']:,}"
    )
    out.print(f"report in {folder}: samples.csv, duplicates.csv, markers.csv and plots")


def register(app: typer.Typer) -> None:
    """Add ``qc`` to the ``translocus`` command."""
    app.command("qc")(qc_command)
