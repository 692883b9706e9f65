"""``translocus progress``: age trajectories, onset ages and disease courses from the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline, split_list

__all__ = ["register"]

_EXAMPLE = (
    "Example: translocus progress ../shared/data/model_ad/pathology_long.csv "
    "--measure 'Plaque Density (Thio-S)' --measure 'Astrocyte Cell Density (GFAP)' "
    "--group mouse_model,sex --control C57BL/6J --select model_group=5xFAD --out results/5xfad"
)


def progress(
    data: str = typer.Argument(
        ...,
        help="Long table (CSV/TSV/parquet: animal, age, measure, value and group columns; "
        "map other names with --columns), or model_ad / slam.",
    ),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for the tables, the figure and run.json."
    ),
    measure: list[str] = typer.Option(
        [], "--measure", "-m", help="Measure to analyse (repeat; default all)."
    ),
    group: str = typer.Option(
        None,
        "--group",
        help="Group columns, model column first (default: the first of group, mouse_model, "
        "strain, genotype, then sex).",
    ),
    control: str = typer.Option("C57BL/6J", "--control", help="Control value of the model column."),
    select: list[str] = typer.Option(
        [], "--select", help="Keep rows with column=value[,value] (repeat; ages in months)."
    ),
    model: str = typer.Option(
        "auto",
        "--model",
        help="trajectory, course or auto (course when animals have repeat visits).",
    ),
    threshold: float = typer.Option(
        1.0, "--threshold", help="Effect size that defines onset (> 0)."
    ),
    effect: str = typer.Option(
        "standardized", "--effect", help="standardized (Cohen's d) or difference."
    ),
    n_boot: int = typer.Option(
        200, "--n-boot", help="Bootstrap samples for onset intervals (0: no intervals)."
    ),
    max_iter: int = typer.Option(
        60, "--max-iter", help="Course model: most alternating iterations of the fit."
    ),
    horizon: float = typer.Option(
        6.0, "--horizon", help="Course model: forecast months past each animal's last visit."
    ),
    calibration: str = typer.Option(
        "split-conformal",
        "--calibration",
        help="Course model: split-conformal (intervals calibrated on animals held out of the "
        "data, --horizon months ahead) or none (the model's own intervals).",
    ),
    forecast_from: str = typer.Option(
        None,
        "--forecast-from",
        help="Course model: table of animals (same columns as the data) to forecast from "
        "their measurements so far; writes forecast.csv and forecast.png. Needs --at.",
    ),
    at: str = typer.Option(
        None,
        "--at",
        help="Ages (in --age-unit) to forecast the --forecast-from animals at, e.g. 12,18,24.",
    ),
    allow_dataset: list[str] = typer.Option(
        [], "--allow-dataset", help="Dataset whose terms you accept for training (repeat)."
    ),
    age_unit: str = typer.Option(
        "month", "--age-unit", help="Unit of numeric ages: day, week, month or year."
    ),
    license_: str = typer.Option(
        "NOASSERTION", "--license", help="SPDX licence of a table you give (e.g. CC-BY-4.0)."
    ),
    duplicates: str = typer.Option(
        "mean", "--duplicates", help="Repeated visits (animal, age, measure): mean, first or error."
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        help="Map roles to your columns: animal=,age=,measure=,value=,sex=,group= "
        "(e.g. animal=mouse_id,age=age_days,value=weight_g).",
    ),
) -> None:
    from translocus.pipelines.progress import ProgressRequest, run_progress

    request = ProgressRequest(
        data=data, measure=tuple(measure),
        group=tuple(split_list(group)) if group is not None else None, control=control,
        select=tuple(select), model=model, threshold=threshold, effect=effect, n_boot=n_boot,
        horizon=horizon, max_iter=max_iter, calibration=calibration,
        forecast_from=forecast_from, at=at, allow_dataset=tuple(allow_dataset), age_unit=age_unit,
        license_=license_, duplicates=duplicates, columns=columns,
    )  # fmt: skip
    inputs = [request.input_path()]
    if forecast_from is not None:
        inputs.append(Path(forecast_from))
    output, log, folder = run_pipeline(
        "progress", request, run_progress, out_dir=out_dir, inputs=inputs
    )
    s = output.summary()
    _say(
        f"{s['model']} model of {len(s['measures'])} measure(s), {s['animals']:,} animals "
        f"({s['rows']:,} rows), groups by {', '.join(s['group'])}"
    )
    if s["model"] == "trajectory":
        _print_onsets(s, request.n_boot)
    else:
        covariates = ", ".join(s["covariates"]) or "none"
        fit = "converged" if s["converged"] else "not converged"
        _say(
            f"disease course: covariates {covariates}; {s['iterations']} iterations ({fit}); "
            f"{s['forecasts']:,} forecasts {request.horizon:g} months past the last visit"
        )
        _say(f"intervals: {s['calibration']}")
        if "forecast_rows" in s:
            ages = ", ".join(f"{a:g}" for a in s["forecast_ages"])
            _say(
                f"forecast {s['forecast_animals']:,} animals of {s['forecast_from']} at "
                f"ages {ages}: {s['forecast_rows']:,} rows in forecast.csv"
            )
    if s["numerical_warnings"]:
        _say(f"{len(s['numerical_warnings'])} numerical warning(s) recorded in run.json")
    _say(f"wrote {folder}: {', '.join(s['files'])}, run.json")


def _print_onsets(s: dict[str, Any], n_boot: int, limit: int = 12) -> None:
    onsets = s["onsets"]
    _say(f"{s['strata']} strata against {s['control']}; onset ages (months):")
    skip = {"threshold", "onset_age", "lower", "upper", "censoring", "status"}
    for row in onsets[:limit]:
        label = " / ".join(str(v) for k, v in row.items() if k not in skip)
        age = row.get("onset_age")
        text = "none in range" if age is None or not math.isfinite(float(age)) else f"{age:g}"
        lower, upper = row.get("lower"), row.get("upper")
        bounds = [b for b in (lower, upper) if b is not None and math.isfinite(float(b))]
        if n_boot and len(bounds) == 2:
            text += f" ({lower:g}-{upper:g})"
        if row.get("censoring") not in (None, "none", ""):
            text += f", {row['censoring']}-censored"
        _say(f"  {label}: {text}")
    if len(onsets) > limit:
        _say(f"  ... {len(onsets) - limit} more in onsets.csv")


def _say(text: str) -> None:
    """Print a line of results (user text such as measure names is not markup)."""
    out.print(escape(text))


def register(app: typer.Typer) -> None:
    """Add the ``progress`` command to ``app``."""
    app.command(
        "progress",
        help=(
            "Fit how measures unfold over age. Cross-sectional data (one visit per animal) "
            "give smooth curves per group, effects against the control strain and onset ages "
            "with bootstrap intervals; repeated measures give a disease-course model with a "
            "time shift and speed per animal and forecasts. Rows without an age or value are "
            "dropped and counted in run.json. " + _EXAMPLE
        ),
    )(progress)
