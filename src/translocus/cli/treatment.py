"""``translocus respond``: tumour response metrics, growth fits and plots from a study file."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline

__all__ = ["register", "respond"]


def respond(
    data: Path = typer.Argument(
        ...,
        help="Tumour-volume table (long CSV/TSV/parquet in any layout, or the PDXE / JAX "
        "layout) or the PDXE / Xeva data folder.",
    ),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for the tables, plots and run.json."
    ),
    control: str | None = typer.Option(
        None,
        "--control",
        help="Name of the control arm (default: the layout's, or an arm named untreated, "
        "control or vehicle).",
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
    missing: str = typer.Option(
        "error", "--missing", help="Rows with no volume: error, or drop them (counted)."
    ),
    zero_baseline: str = typer.Option(
        "error",
        "--zero-baseline",
        help="Series whose first volume is 0: error, or drop their measurements before the "
        "first positive volume (counted).",
    ),
    spider_model: str | None = typer.Option(
        None, "--spider-model", help="Model shown in the spider plot (default: the first)."
    ),
    columns: str | None = typer.Option(
        None,
        "--columns",
        help="Columns of a long table by role: model, arm, animal, day, volume, tumor_type "
        "(e.g. arm=Treatment,animal=ID,day=Day,volume=Volume). Without a model column the "
        "table is one model.",
    ),
    volume_unit: str = typer.Option(
        "mm3", "--volume-unit", help="Unit of a long table's volumes: mm3, cm3 or ml."
    ),
    day_unit: str = typer.Option(
        "day", "--day-unit", help="Unit of a long table's days: day or week."
    ),
    predict: bool = typer.Option(
        False,
        "--predict",
        help="Learn response across models and drugs and predict it for every model x arm "
        "not observed (90% intervals), with a held-out validation against baselines.",
    ),
    allow_dataset: list[str] = typer.Option(
        [],
        "--allow-dataset",
        help="With --predict: dataset whose terms you accept for training (repeat).",
    ),
) -> None:
    """mRECIST and response metrics per animal, and growth-rate treatment effects.

    Also fits the growth curves, estimates synergy and draws waterfall and spider plots.

    Example: translocus respond ../shared/data/pdx/pdxe --control untreated --out results/pdxe

    Example: translocus respond ../shared/data/pdx/iowa/melanoma1.csv --columns
    arm=Treatment,animal=ID,day=Day,volume=Volume --control A --out results/melanoma1

    Example: translocus respond ../shared/data/pdx/pdxe --predict --out results/pdxe_predict

    Writes metrics.csv (one row per animal series), categories.csv (mRECIST counts per
    tumour type), tgi.csv, treatment_effects.csv, synergy.csv, growth_fits.csv,
    volumes.parquet (the tumour volume curves with each series' mRECIST class and best
    average response), waterfall.png, spider.png, growth_fits.png and run.json (options,
    inputs, counts of rows dropped or merged, and the key numbers under "summary").
    With --predict also predictions.csv (unobserved model x arm pairs: best average
    response, best response, growth-rate effect with intervals, predicted mRECIST class),
    prediction_validation.csv and prediction_gain.csv (held-out scores against drug-mean,
    model-mean and additive baselines) and prediction_models.csv.
    """
    from translocus.pipelines.respond import RespondRequest, run_respond

    request = RespondRequest(
        data=data, control=control, min_day=min_day, growth_model=growth_model,
        duplicates=duplicates, missing=missing, zero_baseline=zero_baseline,
        spider_model=spider_model, columns=columns, volume_unit=volume_unit, day_unit=day_unit,
        predict=predict, allow_dataset=tuple(allow_dataset),
    )  # fmt: skip
    output, _, folder = run_pipeline(
        "respond", request, run_respond, out_dir=out_dir, inputs=[data]
    )
    s = output.summary()
    out.print(
        f"{s['series']:,} series from {s['models']:,} models, {s['n_arms']} arms, "
        f"{s['measurements']:,} measurements"
    )
    if s["control"] is not None:
        out.print(f"control arm: {escape(s['control'])} ({s['control_source']})")
    else:
        out.print(
            f"no control arm among {escape(', '.join(output.study.arms[:12]))}: no treatment "
            "effects "
            "computed (give --control ARM)"
        )
    mrecist = ", ".join(f"{k} {v:,}" for k, v in s["mrecist_counts"].items())
    out.print(f"mRECIST: {mrecist}")
    if s["control"] is not None:
        out.print(
            f"treatment effects: {s['treatment_effects']:,} ({s['significant_effects_p05']:,} "
            f"with p < 0.05); combinations scored: {s['combinations_scored']:,}"
        )
    out.print(f"growth fits ({s['growth_model']}): {100 * s['growth_converged']:.1f} % converged")
    p = s["prediction"]
    if p is not None:
        mae = p["mae_best_avg_response"]
        held = ", ".join(
            f"{name.split(' / ')[1]} {value:.1f}"
            for name, value in mae.items()
            if name.startswith("pairs / ")
        )
        out.print(
            f"predicted {p['pairs_predicted']:,} unobserved pairs; held-out MAE of best "
            f"average response (20% of pairs): {held}"
        )
    for note in output.notes:
        out.print(f"note: {escape(note)}")
    out.print(
        f"results: {escape(str(folder))}/ (metrics.csv, treatment_effects.csv, plots, run.json)"
    )


def register(app: typer.Typer) -> None:
    """Add ``respond`` to the given typer app."""
    app.command("respond")(respond)
