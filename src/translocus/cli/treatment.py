"""``translocus respond``: tumour response metrics, growth fits and plots from a study file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from translocus.core.atomic import atomic_dir
from translocus.core.errors import InputError

__all__ = ["register", "respond"]

console = Console()


def _save_figure(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    path.write_bytes(buf.getvalue())


def respond(
    data: Path = typer.Argument(
        ...,
        help="Tumour-volume table (long CSV/TSV/parquet, PDXE or JAX layout) or the PDXE / "
        "Xeva data folder.",
    ),
    out: Path = typer.Option(..., "--out", help="Output folder (replaced atomically)."),
    control: str | None = typer.Option(
        None, "--control", help="Name of the control arm (default: the layout's, e.g. untreated)."
    ),
    min_day: float = typer.Option(10.0, "--min-day", help="First day counted for best response."),
    growth_model: str = typer.Option(
        "gompertz",
        "--growth-model",
        help="Growth curve per animal: exponential, gompertz or exponential_linear.",
    ),
    duplicates: str = typer.Option(
        "error", "--duplicates", help="Repeated days in a series: error, mean, first or last."
    ),
    spider_model: str | None = typer.Option(
        None, "--spider-model", help="Model shown in the spider plot (default: the first)."
    ),
) -> None:
    """mRECIST and response metrics per animal, growth-rate treatment effects, synergy,
    growth fits, waterfall and spider plots.

    Example: translocus respond ../shared/data/pdx/pdxe --control untreated --out results/pdxe

    Writes metrics.csv (one row per animal series), categories.csv (mRECIST counts per
    tumour type), tgi.csv, treatment_effects.csv, synergy.csv, growth_fits.csv,
    summary.json, waterfall.png, spider.png and growth_fits.png.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from translocus.treatment.growth import GrowthModel, synergy, treatment_effects
    from translocus.treatment.metrics import (
        category_counts,
        response_metrics,
        tumor_growth_inhibition,
    )
    from translocus.treatment.plot import (
        example_series,
        growth_fit_plot,
        spider_plot,
        waterfall_plot,
    )
    from translocus.treatment.study import read_study

    if growth_model not in ("exponential", "gompertz", "exponential_linear"):
        console.print(
            f"[red]error:[/red] --growth-model {growth_model!r}: use exponential, gompertz "
            "or exponential_linear."
        )
        raise typer.Exit(2)
    if duplicates not in ("error", "mean", "first", "last"):
        console.print("[red]error:[/red] --duplicates: use error, mean, first or last.")
        raise typer.Exit(2)
    try:
        study = read_study(data, control=control, duplicates=duplicates)  # type: ignore[arg-type]
        metrics = response_metrics(study, min_day=min_day)
        by = "tumor_type" if "tumor_type" in metrics else "arm"
        counts = category_counts(metrics, by=by)
        if control is not None:
            study.require_control()
        has_control = study.control is not None and study.control in study.arms
        if has_control:
            tgi = tumor_growth_inhibition(study)
            effects = treatment_effects(study)
            syn = synergy(study, tgi=tgi)
        else:
            tgi = effects = syn = pd.DataFrame()
        fit = GrowthModel(growth_model).fit(study)  # type: ignore[arg-type]
    except InputError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from exc

    summary = {
        "source": str(data),
        "license": study.provenance.license,
        "control": study.control,
        "models": study.n_models,
        "series": study.n_series,
        "measurements": len(study.records),
        "mrecist_counts": {
            k: int(v) for k, v in metrics["mrecist"].fillna("NA").value_counts().items()
        },
        "models_without_control": study.models_without_control() if has_control else [],
        "treatment_effects": len(effects),
        "significant_effects_p05": int((effects["p_value"] < 0.05).sum()) if len(effects) else 0,
        "combinations_scored": len(syn),
        "growth_model": growth_model,
        "growth_converged": float(fit.params_["converged"].mean()),
        "notes": list(study.notes),
    }
    with atomic_dir(out) as tmp:
        metrics.to_csv(tmp / "metrics.csv", index=False)
        counts.to_csv(tmp / "categories.csv")
        tgi.to_csv(tmp / "tgi.csv", index=False)
        effects.to_csv(tmp / "treatment_effects.csv", index=False)
        syn.to_csv(tmp / "synergy.csv", index=False)
        fit.params_.to_csv(tmp / "growth_fits.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        treated = metrics if study.control is None else metrics[metrics["arm"] != study.control]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        waterfall_plot(treated, ax=ax, title="Best average response, coloured by mRECIST")
        _save_figure(fig, tmp / "waterfall.png")
        fig, ax = plt.subplots(figsize=(6, 4))
        first = spider_model or study.models[0]
        spider_plot(study, model=first, metrics=metrics, ax=ax)
        _save_figure(fig, tmp / "spider.png")
        fig, ax = plt.subplots(figsize=(6, 4))
        shown = example_series(study)
        kinds = ("exponential", "gompertz", "exponential_linear")
        fits = [GrowthModel(k).fit(shown) for k in kinds]  # type: ignore[arg-type]
        growth_fit_plot(shown, fits, series=range(shown.n_series), ax=ax)
        _save_figure(fig, tmp / "growth_fits.png")
    console.print(
        f"{study.n_series} series from {study.n_models} models → {out} "
        f"(mRECIST: {summary['mrecist_counts']}; {len(effects)} treatment effects)"
    )


def register(app: typer.Typer) -> None:
    """Add ``respond`` to the given typer app."""
    app.command("respond")(respond)
