"""``translocus licenses`` and ``translocus simulate``: data licences and simulated crosses."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from translocus.core.errors import InputError

__all__ = ["register"]


def _console() -> Console:
    """A console sized to the terminal at call time (not at import)."""
    return Console()


class CrossChoice(StrEnum):
    do = "do"
    bxd = "bxd"
    f2 = "f2"


def _fail(exc: Exception) -> None:
    _console().print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def licenses(
    path: Path = typer.Argument(
        ...,
        help="A data folder (like ../shared/data), a Croissant file, or a folder of "
        "*.croissant.json / metadata.json files.",
    ),
    allow: list[str] = typer.Option(
        [], "--allow", help="Dataset allowed whatever its licence (terms read and accepted)."
    ),
    allow_license: list[str] = typer.Option(
        [], "--allow-license", help="Extra SPDX licence key to allow (e.g. CC-BY-NC-4.0)."
    ),
    purpose: str = typer.Option("training", "--purpose", help="Use the decision is about."),
) -> None:
    """List datasets, their licences and whether model training on them is allowed.

    Datasets are found by folder and matched to their Croissant metadata; folders without
    metadata, licences that are not open, LicenseRef-* terms and NOASSERTION are refused.

    Example: translocus licenses ../shared/data --allow model_ad
    """
    from translocus.core.licenses import discover_datasets, license_report, license_table
    from translocus.core.provenance import DEFAULT_ALLOWED_LICENSES, LicensePolicy

    policy = LicensePolicy(
        allowed=DEFAULT_ALLOWED_LICENSES | frozenset(allow_license),
        allowed_datasets=frozenset(allow),
    )
    try:
        entries = discover_datasets(path)
    except InputError as exc:
        _fail(exc)
    if not entries:
        _fail(InputError(f"{path}: no datasets found; give a data folder or a Croissant file"))
    report = license_report(entries, policy, purpose=purpose)
    _console().print(license_table(report, title=f"Datasets in {path}"))
    n_ok = int((report["training"] == "allowed").sum())
    _console().print(
        f"{n_ok} of {len(report)} datasets may be used for {purpose}; "
        f"{len(report) - n_ok} refused.",
        highlight=False,
    )


def simulate(
    cross: CrossChoice = typer.Option(CrossChoice.do, "--cross", help="Design to simulate."),
    n: int = typer.Option(500, "--n", help="Animals (DO, F2) or strains (BXD)."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same data."),
    out: Path = typer.Option(..., "--out", help="Folder for the R/qtl2 files and truth.csv."),
    markers: int = typer.Option(2000, "--markers", help="Markers over the 20 chromosomes."),
    error_rate: float = typer.Option(0.002, "--error-rate", help="Genotyping error rate."),
    ngen: int = typer.Option(12, "--ngen", help="DO generation of the simulated mice."),
    traits: int = typer.Option(3, "--traits", help="Phenotypes, one random QTL each."),
    name: str = typer.Option("sim", "--name", help="Prefix of the written files."),
) -> None:
    """Simulate a DO, BXD or F2 cross with known QTL and write it as R/qtl2 files.

    Writes <name>.json (control file), genotype, map, phenotype and covariate CSVs, plus
    truth.csv (QTL positions and founder-allele effects) and traits.csv.

    Example: translocus simulate --cross do --n 500 --seed 1 --out sim_do
    """
    from translocus.core.simulate import simulate_cross, write_simulated

    try:
        sim = simulate_cross(
            cross_type=cross.value,  # type: ignore[arg-type]
            n=n,
            seed=seed,
            n_markers=markers,
            error_rate=error_rate,
            ngen=ngen,
            n_traits=traits,
        )
        control = write_simulated(sim, out, name=name)
    except InputError as exc:
        _fail(exc)
    summary = sim.cross.summary()
    _console().print(
        f"simulated {cross.value.upper()}: {summary['individuals']} "
        f"{'strains' if cross.value == 'bxd' else 'animals'}, {summary['markers']} markers on "
        f"{summary['chromosomes']} chromosomes, {summary['phenotypes']} phenotypes",
        highlight=False,
    )
    _console().print(f"control file: {control}", highlight=False)
    _console().print(f"truth: {Path(out) / 'truth.csv'}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``licenses`` and ``simulate`` to the ``translocus`` app."""
    app.command("licenses")(licenses)
    app.command("simulate")(simulate)
