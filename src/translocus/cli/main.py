"""The ``translocus`` command: one typer app, with each engine's commands registered in."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from translocus import __version__
from translocus.cli import foundation, genetics, progression, survival, translate, treatment
from translocus.core.errors import InputError

app = typer.Typer(
    name="translocus",
    help="Mouse-model data to human disease answers: cause, progression, treatment, translation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        console.print(f"translocus {__version__}")
        raise typer.Exit()


@app.command()
def info(
    cross: Path = typer.Argument(
        ..., help="R/qtl2 control file (.json/.yaml), its folder or a .zip."
    ),
    intersection: bool = typer.Option(
        False, "--intersection", help="Keep only phenotyped individuals that are genotyped."
    ),
) -> None:
    """Summarise a cross, like R/qtl2's summary().

    Example: translocus info ../shared/data/qtl2/DO_Recla/recla.zip
    """
    from translocus.core.qtl2io import read_cross

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = read_cross(cross, individuals="intersection" if intersection else "strict")
        except InputError as exc:
            _print_error(exc)
            raise typer.Exit(2) from None
    for w in caught:
        console.print(f"[yellow]warning:[/yellow] {w.message}")
    summary = obj.summary()
    table = Table(title=f"{cross}", show_header=False)
    labels = {
        "crosstype": "cross type",
        "individuals": "individuals (genotyped)",
        "individuals_phenotyped": "individuals (phenotyped)",
        "individuals_both": "individuals (both)",
        "females": "females",
        "males": "males",
        "chromosomes": "chromosomes",
        "markers": "markers",
        "phenotypes": "phenotypes",
        "covariates": "covariates",
        "phenotype_covariates": "phenotype covariates",
        "founders": "founders",
        "missing_genotypes": "missing genotypes (fraction)",
        "total_cM": "total map length (cM)",
    }
    for key, label in labels.items():
        value = summary[key]
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    per_chr = obj.markers_per_chromosome()
    console.print(
        "markers per chromosome: " + "  ".join(f"{c}:{n}" for c, n in per_chr.items()),
        highlight=False,
    )


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), "--out", help="Folder for the study and report.html."),
    n: int = typer.Option(300, "--n", help="Number of simulated Diversity Outbred mice."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the simulated study."),
    full: bool = typer.Option(False, "--full", help="Full-size analyses instead of quick ones."),
) -> None:
    """Simulate a study, run every engine and write a self-contained report.html.

    Example: translocus demo --out demo --n 300 --seed 1
    """
    from translocus.pipelines.demo import run_demo

    run_demo(out, n=n, seed=seed, quick=not full, console=console)


for _engine in (foundation, genetics, progression, survival, treatment, translate):
    _engine.register(app)


def _print_error(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    """Console entry point: bad input ends with one clear line, not a stack trace."""
    try:
        app()
    except InputError as exc:
        _print_error(exc)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()
