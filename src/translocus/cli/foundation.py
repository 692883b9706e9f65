"""``translocus licenses`` and ``translocus simulate``: data licences and simulated crosses."""

from __future__ import annotations

from pathlib import Path

import typer

from translocus.cli.contract import out, run_pipeline
from translocus.core.errors import InputError, OptionError

__all__ = ["register"]


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
    purpose: str = typer.Option(
        "training", "--purpose", help="Use the decision is about: training (the licence gate)."
    ),
) -> None:
    """List datasets, their licences and whether model training on them is allowed.

    Datasets are found by folder and matched to their Croissant metadata; folders without
    metadata, licences that are not open, LicenseRef-* terms and NOASSERTION are refused.

    Example: translocus licenses ../shared/data --allow model_ad
    """
    from translocus.core.licenses import discover_datasets, license_report, license_table
    from translocus.core.provenance import DEFAULT_ALLOWED_LICENSES, LicensePolicy, parse_license

    if purpose != "training":
        raise OptionError(
            "purpose",
            purpose,
            "the licence gate decides training only (describing data is analysis: recorded, "
            "never refused); use training",
        )
    keys: set[str] = set()
    for expression in allow_license:
        try:
            keys.update(parse_license(expression))
        except ValueError:
            raise OptionError(
                "allow_license", expression, "is not an SPDX licence expression, e.g. CC-BY-4.0"
            ) from None
    entries = discover_datasets(path)
    if not entries:
        raise InputError(f"{path}: no datasets found; give a data folder or a Croissant file")
    names = {e.name for e in entries}
    unknown = [name for name in allow if name not in names]
    if unknown:
        raise OptionError(
            "allow",
            unknown[0],
            f"no dataset of that name in {path}; datasets are {', '.join(sorted(names))}",
        )
    policy = LicensePolicy(
        allowed=DEFAULT_ALLOWED_LICENSES | frozenset(keys), allowed_datasets=frozenset(allow)
    )
    report = license_report(entries, policy, purpose=purpose)
    out.print(license_table(report, title=f"Datasets in {path}"))
    n_ok = int((report["training"] == "allowed").sum())
    out.print(
        f"{n_ok} of {len(report)} datasets may be used for {purpose}; {len(report) - n_ok} refused."
    )


def simulate(
    cross: str = typer.Option(
        "do",
        "--cross",
        help="Design to simulate: do, bxd, f2, bc, riself, dh, haploid, riself4, riself8, riself16, "
        "risib4, risib8, magic19, dh6, hs, ail, ail3, dof1, hsf1, genril<N> or genail<N> (N founders).",
    ),
    n: int = typer.Option(500, "--n", help="Animals (DO, F2, BC) or lines (the others)."),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives the same data."),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for the R/qtl2 files and truth.csv."
    ),
    markers: int = typer.Option(2000, "--markers", help="Markers over the 20 chromosomes."),
    error_rate: float = typer.Option(0.002, "--error-rate", help="Genotyping error rate."),
    ngen: int = typer.Option(
        12,
        "--ngen",
        help="DO generation of the simulated mice (hs, ail, ail3, dh6, genril/genail: colony "
        "generations).",
    ),
    traits: int = typer.Option(3, "--traits", help="Phenotypes, one random QTL each."),
    name: str = typer.Option("sim", "--name", help="Prefix of the written files."),
    genes: int = typer.Option(
        0,
        "--genes",
        help="Also simulate expression of this many real mouse genes (GRCm39 positions; 0: "
        "off): local eQTL for 30%, three trans hotspots driven by mediator genes (100-300 "
        "targets each at 20,000 genes, proportionally fewer below), polygenic background, sex "
        "and batch. The cross then uses a map over the GRCm39 chromosome lengths.",
    ),
) -> None:
    """Simulate a cross (DO, BXD, F2, backcross or inbred lines) with known QTL; write R/qtl2 files.

    Writes <name>.json (control file), genotype, map, phenotype and covariate CSVs, plus
    truth.csv (QTL positions and founder-allele effects), traits.csv and run.json. With
    --genes also expression.parquet (samples x gene IDs), features.csv (gene annotation),
    expression_covar.csv (sex, batch), expression_truth.csv (each gene's planted QTL: local,
    distal, mediator or none) and hotspots.csv.

    Example: translocus simulate --cross do --n 500 --seed 1 --out sim_do
    """
    from translocus.pipelines.simulate import SimulateRequest, run_simulate

    request = SimulateRequest(
        cross=cross, n=n, seed=seed, markers=markers, error_rate=error_rate, ngen=ngen,
        traits=traits, name=name, genes=genes,
    )  # fmt: skip
    output, _, folder = run_pipeline("simulate", request, run_simulate, out_dir=out_dir)
    s = output.summary()
    unit = (
        "animals"
        if cross in ("do", "f2", "bc", "hs", "ail", "ail3", "dof1", "hsf1")
        or cross.startswith("genail")
        else "strains"
    )
    out.print(
        f"simulated {cross.upper()}: {s['individuals']:,} {unit}, {s['markers']:,} markers on "
        f"{s['chromosomes']} chromosomes, {s['phenotypes']} phenotypes ({s['qtl']} QTL)"
    )
    out.print(f"control file: {folder}/{s['control_file']}   truth: {folder}/truth.csv")
    if genes:
        out.print(
            f"expression of {s['genes']:,} genes: {s['local_eqtl']:,} local eQTL, "
            f"{s['hotspots']} hotspots driving {s['hotspot_targets']:,} genes   "
            f"matrix: {folder}/expression.parquet   truth: {folder}/expression_truth.csv"
        )


def register(app: typer.Typer) -> None:
    """Add ``licenses`` and ``simulate`` to the ``translocus`` app."""
    app.command("licenses")(licenses)
    app.command("simulate")(simulate)
