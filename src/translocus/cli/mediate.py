"""``translocus mediate``: the molecular traits that carry a QTL's effect to a target.

The workflow lives in :mod:`translocus.pipelines.mediate`; this command parses the options,
runs the pipeline into a new run folder and prints the best mediators.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline, split_list

__all__ = ["register"]


def mediate_command(
    cross: Path = typer.Argument(..., help="R/qtl2 control file, folder or zip."),
    traits: Path = typer.Option(
        ..., "--traits", help="Expression or protein matrix (CSV, TSV or parquet)."
    ),  # fmt: skip
    target: str = typer.Option(
        "", "--target", help="The target: a phenotype of the cross or a feature of --traits."
    ),  # fmt: skip
    hotspot: Path | None = typer.Option(
        None,
        "--hotspot",
        help="An eqtl run folder: mediate its hotspot nearest --at, over the traits with a "
        "distal peak there (instead of --target).",
    ),  # fmt: skip
    at: str = typer.Option(..., "--at", help="The QTL as CHR:POS (Mbp), e.g. 2:97.5."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the results."),
    window: float | None = typer.Option(
        None, "--window", help="Only candidates whose gene lies within this many Mbp of --at."
    ),  # fmt: skip
    orientation: str = typer.Option(
        "auto",
        "--orientation",
        help="What the rows of --traits are: auto, samples-x-features or features-x-samples.",
    ),  # fmt: skip
    covar: str = typer.Option("", "--covar", help="Comma-separated covariates, e.g. sex."),
    kinship: str = typer.Option(
        "loco", "--kinship", help="loco (LMM, the QTL chromosome left out) or none (HK)."
    ),  # fmt: skip
) -> None:
    """Mediation of a QTL or a trans hotspot: each molecular trait's drop in the QTL's LOD.

    Computes the allele probabilities at the marker nearest --at (and the LOCO kinship), fits
    the target with and without each candidate mediator, ranks them by the drop in LOD and
    translates the best to human genes. With --hotspot the targets are the traits with a
    distal peak in that eqtl run's hotspot nearest --at, and the candidates are ranked by their
    median LOD drop over them (within --window Mbp of the hotspot, default 10). Writes
    mediation.csv, mediation.png and human.csv.

    Example: translocus mediate DOex.json --traits expr.csv --target OF_immobile_pct --at 2:97.5
    --window 10 --covar sex -o results/mediate
    """
    from translocus.pipelines.genoprob import cross_inputs
    from translocus.pipelines.mediate import MediateRequest, run_mediate

    request = MediateRequest(cross=cross, traits=traits, target=target, at=at, window=window,
                             covar=tuple(split_list(covar)), kinship=kinship,
                             orientation=orientation, hotspot=hotspot)  # fmt: skip
    inputs = [*(cross_inputs(cross) if cross.exists() else []), traits,
              *([hotspot] if hotspot is not None else [])]  # fmt: skip
    output, _, folder = run_pipeline("mediate", request, run_mediate, out_dir=out_dir,
                                     inputs=inputs)  # fmt: skip
    s = output.summary()
    method = "LMM with LOCO kinship" if s["method"] == "lmm" else "Haley-Knott"
    if s.get("hotspot"):
        spot = s["hotspot"]
        out.print(
            f"hotspot {spot['id']}: chr {spot['chr']} {spot['start']:.1f}-{spot['end']:.1f} Mbp, "
            f"{s['n_targets']} target traits; QTL marker {escape(s['marker'])} "
            f"({s['marker_pos']:.3f} Mbp), {method}; {s['n_candidates']:,} candidate mediators "
            f"within {spot['window']:g} Mbp"
        )
    else:
        out.print(
            f"{escape(s['target'])}: QTL at chr {s['chr']} {s['marker_pos']:.3f} Mbp "
            f"({escape(s['marker'])}), LOD {s['lod'] or float('nan'):.2f}, {method}; "
            f"{s['n_candidates']:,} candidate mediators, {s['n_samples']} individuals"
        )
    column = s["ranked_by"]
    what = "median LOD drop" if column == "median_drop" else "LOD drop"
    for k, row in enumerate(s["top"][:5], start=1):
        drop = "nan" if row[column] is None else f"{row[column]:.2f}"
        out.print(f"  {k}. {escape(row['label'])} ({what} {drop})")
    out.print(f"results in {folder}: mediation.csv, mediation.png, human.csv")


def register(app: typer.Typer) -> None:
    """Add ``mediate`` to the ``translocus`` command."""
    app.command("mediate")(mediate_command)
