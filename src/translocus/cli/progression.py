"""``translocus progress``: age trajectories, onset ages and disease courses from the command line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from translocus.core.atomic import atomic_dir
from translocus.core.errors import InputError
from translocus.core.provenance import LicenseRefusedError

__all__ = ["register"]

console = Console(stderr=True)

_EXAMPLE = (
    "Example: translocus progress ../shared/data/model_ad/pathology_long.csv "
    "--measure 'Plaque Density (Thio-S)' --measure 'Astrocyte Cell Density (GFAP)' "
    "--group mouse_model,sex --control C57BL/6J --select model_group=5xFAD --out results/5xfad"
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _read(data: str, age_unit: str, license_: str, duplicates: str) -> Any:
    from translocus.progression.data import read_long_csv, read_model_ad, read_slam

    if data == "model_ad":
        return read_model_ad(duplicates=duplicates)
    if data == "slam":
        return read_slam(duplicates=duplicates)
    return read_long_csv(Path(data), license=license_, age_unit=age_unit, duplicates=duplicates)


def _selection(select: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in select:
        if "=" not in item:
            raise InputError(f"--select {item!r}: write column=value[,value].")
        column, values = item.split("=", 1)
        parsed: list[Any] = []
        for value in _split(values):
            try:
                parsed.append(float(value) if column == "age" else value)
            except ValueError as exc:
                raise InputError(f"--select {item!r}: ages must be numbers.") from exc
        out[column.strip()] = parsed
    return out


def register(app: typer.Typer) -> None:
    """Add the ``progress`` command to ``app``."""

    @app.command(
        "progress",
        help=(
            "Fit how measures unfold over age. Cross-sectional data (one visit per animal) "
            "give smooth curves per group, effects against the control strain and onset ages "
            "with bootstrap intervals; repeated measures give a disease-course model with a "
            "time shift and speed per animal and forecasts. " + _EXAMPLE
        ),
    )
    def progress(
        data: str = typer.Argument(
            ..., help="Long CSV (animal, age, measure, value, group columns), or model_ad / slam."
        ),
        measure: list[str] = typer.Option(
            [], "--measure", "-m", help="Measure to analyse (repeat; default all)."
        ),
        group: str = typer.Option("mouse_model,sex", help="Group columns, model column first."),
        control: str = typer.Option("C57BL/6J", help="Control value of the model column."),
        select: list[str] = typer.Option(
            [], "--select", help="Keep rows with column=value[,value] (repeat)."
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder (replaced atomically)."),
        model: str = typer.Option(
            "auto", help="trajectory, course or auto (course when animals have repeat visits)."
        ),
        threshold: float = typer.Option(1.0, help="Effect size that defines onset."),
        effect: str = typer.Option("standardized", help="standardized (Cohen's d) or difference."),
        n_boot: int = typer.Option(200, help="Bootstrap replicates for onset intervals."),
        horizon: float = typer.Option(6.0, help="Course model: forecast months past last visit."),
        allow_dataset: list[str] = typer.Option(
            [], help="Dataset name whose terms you accept for training (repeat)."
        ),
        age_unit: str = typer.Option("month", help="Unit of numeric ages in a CSV."),
        license_: str = typer.Option(
            "NOASSERTION", "--license", help="SPDX licence of a CSV you give."
        ),
        duplicates: str = typer.Option("mean", help="Duplicated visits: mean, first or error."),
    ) -> None:
        try:
            summary = _run(
                data, measure, _split(group), control, _selection(select), out, model,
                threshold, effect, n_boot, horizon, allow_dataset, age_unit, license_,
                duplicates,
            )  # fmt: skip
        except (InputError, LicenseRefusedError) as exc:
            console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None
        typer.echo(json.dumps(summary, indent=1, default=str))


def _run(
    data: str,
    measures: list[str],
    group: list[str],
    control: str,
    select: dict[str, list[Any]],
    out: Path,
    model: str,
    threshold: float,
    effect: str,
    n_boot: int,
    horizon: float,
    allow_dataset: list[str],
    age_unit: str,
    license_: str,
    duplicates: str,
) -> dict[str, Any]:
    from translocus.core.provenance import LicensePolicy
    from translocus.report.html import figure_html  # noqa: F401  (keeps matplotlib optional)

    table = _read(data, age_unit, license_, duplicates)
    if select:
        table = table.select(**select)
    if measures:
        table = table.select(measure=measures)
        missing = sorted(set(measures) - set(table.data["measure"].unique()))
        if missing:
            raise InputError(f"{data}: no measure(s) {', '.join(missing)} in the selected rows.")
    if table.data.empty:
        raise InputError(f"{data}: no rows left after --select/--measure.")
    repeated = bool((table.data.groupby(["animal", "measure"])["age"].nunique() > 1).any())
    kind = model if model != "auto" else ("course" if repeated else "trajectory")
    policy = LicensePolicy(allowed_datasets=frozenset(allow_dataset))
    with atomic_dir(out) as tmp:
        if kind == "trajectory":
            summary = _trajectory(table, group, control, threshold, effect, n_boot, policy, tmp)
        elif kind == "course":
            summary = _course(table, group, horizon, policy, tmp)
        else:
            raise InputError(f"--model {model!r}: use trajectory, course or auto.")
        summary.update({"data": data, "model": kind, "licence": table.provenance.license,
                        "notes": list(table.notes)})  # fmt: skip
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _trajectory(
    table: Any, group: list[str], control: str, threshold: float, effect: str, n_boot: int,
    policy: Any, tmp: Path,
) -> dict[str, Any]:  # fmt: skip
    from translocus.progression.trajectory import AgeTrajectoryModel

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = AgeTrajectoryModel(threshold=threshold, effect=effect, n_boot=n_boot).fit(
            table, group=group, control=control, policy=policy
        )
    fit.curves_.to_csv(tmp / "curves.csv", index=False)
    fit.effects_.to_csv(tmp / "effects.csv", index=False)
    fit.onsets_.to_csv(tmp / "onsets.csv", index=False)
    fit.hyper_.to_csv(tmp / "hyper.csv", index=False)
    fit.skipped_.to_csv(tmp / "skipped.csv", index=False)
    fig = fit.plot()
    fig.savefig(tmp / "trajectories.png", dpi=110, bbox_inches="tight")
    return {
        "strata": len(fit.hyper_),
        "onsets": fit.onsets_.drop(columns=["effect"]).round(3).to_dict(orient="records"),
        "warnings": [str(w.message) for w in caught],
        "analysis_notes": fit.notes_,
        "files": sorted(p.name for p in tmp.iterdir()) + ["summary.json"],
    }


def _course(table: Any, group: list[str], horizon: float, policy: Any, tmp: Path) -> dict[str, Any]:
    import pandas as pd

    from translocus.progression.course import DiseaseCourseModel

    covariates = [c for c in group if c in table.data.columns and table.data[c].nunique() > 1]
    fit = DiseaseCourseModel().fit(table, covariates=covariates, policy=policy)
    effects = fit.animal_effects_()
    effects.to_csv(tmp / "animal_effects.csv", index=False)
    fit.summary().to_csv(tmp / "summary.csv", index=False)
    last = table.data.groupby(["animal", "measure"])["age"].max().reset_index()
    targets = last.assign(age=last["age"] + horizon)
    targets = targets[targets["measure"].isin(fit.measures_)]
    forecasts = fit.forecast(table, targets, level=[0.5, 0.9])
    pd.DataFrame(forecasts).to_csv(tmp / "forecasts.csv", index=False)
    fig = fit.plot()
    fig.savefig(tmp / "course.png", dpi=110, bbox_inches="tight")
    return {
        "animals": len(effects),
        "measures": fit.measures_,
        "covariates": fit.covariate_names_,
        "iterations": fit.n_iter_,
        "files": sorted(p.name for p in tmp.iterdir()) + ["summary.json"],
    }
