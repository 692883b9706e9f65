"""``translocus survival`` and ``translocus lifespan``: survival analysis from the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from translocus.cli.contract import out, run_pipeline, split_list

__all__ = ["register"]


def _say(text: str) -> None:
    """Print a line of results (group and arm names are not markup)."""
    out.print(escape(text))


def _num(value: Any, spec: str = ".0f") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return format(number, spec) if math.isfinite(number) else "n/a"


def _p(value: Any) -> str:
    """A p-value; one that underflows to 0 is shown as below the smallest double."""
    return "< 1e-300" if value == 0 else _num(value, ".2g")


def survival(
    data: Path = typer.Argument(
        ...,
        help="Table (CSV/TSV/parquet) with one row per animal: a time column, or birth and "
        "death/censoring dates, and an event column; or the SLAM data folder.",
    ),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for the tables, km.png and run.json."
    ),
    time: str = typer.Option(
        None, "--time", help="Column of times to death/censoring (same as --columns time=NAME)."
    ),
    event: str = typer.Option(
        None, "--event", help="Column of events, 1 death 0 censored (--columns event=NAME)."
    ),
    group: str = typer.Option(
        None,
        "--group",
        help="Comma-separated grouping columns (default: those of group, arm, strain, sex "
        "the table has).",
    ),
    distribution: str = typer.Option(
        "gompertz", "--distribution", help="Parametric model: gompertz or weibull."
    ),
    strata: str = typer.Option("", "--strata", help="Comma-separated Cox strata columns."),
    frailty: str = typer.Option(
        None, "--frailty", help="Cluster column (cohort, site, cage) for a gamma frailty Cox model."
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        help="Map roles to your columns: animal=,time=,event=,birth=,death=,group=,sex=,"
        "strain=,arm=,site= (e.g. animal=mouse_id,birth=dob,death=died,event=dead).",
    ),
    time_unit: str = typer.Option(
        "day",
        "--time-unit",
        help="Unit of the time column (day, week, month, year); times from dates are given in it.",
    ),  # fmt: skip
    duplicates: str = typer.Option(
        "error",
        "--duplicates",
        help="An animal on several rows (animal column): error, or first to keep its first row.",
    ),
    dynamic: bool = typer.Option(
        False,
        "--dynamic",
        help="Also fit the joint model of a repeated measure and survival: risks of death "
        "within each --horizon for animals alive at each landmark, given their measurements.",
    ),
    longitudinal: Path = typer.Option(
        None,
        "--longitudinal",
        help="With --dynamic: table of repeated measurements (animal, age in months, measure, "
        "value) or the SLAM data folder (default: DATA when it is the SLAM folder).",
    ),
    measure: str = typer.Option(
        None,
        "--measure",
        help="With --dynamic: the measure of --longitudinal (SLAM default body_weight).",
    ),
    horizon: str = typer.Option(
        "3,6", "--horizon", help="With --dynamic: comma-separated horizons in months."
    ),
    landmarks: str = typer.Option(
        None,
        "--landmarks",
        help="With --dynamic: comma-separated ages in months at which risks are predicted "
        "(default: the ages by which 10%, 30% and 50% of deaths happened).",
    ),
    holdout: float = typer.Option(
        0.25,
        "--holdout",
        help="With --dynamic: fraction of animals held out whole (seeded) to validate the "
        "risks (AUC, Brier score, calibration); 0 fits all animals.",
    ),
    random_degree: int = typer.Option(
        2,
        "--random-degree",
        help="With --dynamic: per-animal random effects of the course, 1 intercept and slope, "
        "2 also a curvature (each animal's own rise and fall).",
    ),
    association: str = typer.Option(
        "value,slope",
        "--association",
        help="With --dynamic: comma-separated features of the animal's course in its hazard: "
        "value, slope, value_by_age, slope_by_age (their log hazard ratios changing with "
        "age), from_peak (how far the course has fallen below its own peak since the first "
        "measurement).",
    ),
    baseline_knots: int = typer.Option(
        0,
        "--baseline-knots",
        help="With --dynamic: 0 a Gompertz baseline hazard; 3 to 8 a natural spline in age "
        "with that many knots at quantiles of the ages at death.",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out animals."),
    license_: str = typer.Option(
        "NOASSERTION",
        "--license",
        help="With --dynamic: SPDX licence of your tables (training needs one; SLAM is MIT).",
    ),
    allow_dataset: str = typer.Option(
        "", "--allow-dataset", help="Datasets allowed for training whatever their licence."
    ),
) -> None:
    """Kaplan-Meier curves, parametric ageing fits, log-rank and Cox tables by group.

    Rows without a time, dates or event are dropped and counted (run.json); an animal on
    two rows is an error unless --duplicates first. With --dynamic, a joint model of a
    repeated measure (body weight) and survival gives dynamic risks of death.

    Example: translocus survival ../shared/data/slam --group strain,sex --out results/slam_survival

    Example: translocus survival ../shared/data/slam --dynamic --horizon 3,6 --out results/dyn
    """
    from translocus.pipelines.survival import SurvivalRequest, run_survival

    request = SurvivalRequest(
        data=data, time=time, event=event,
        group=tuple(split_list(group)) if group is not None else None,
        distribution=distribution, strata=tuple(split_list(strata)), frailty=frailty,
        columns=columns, time_unit=time_unit, duplicates=duplicates, dynamic=dynamic,
        longitudinal=longitudinal, measure=measure,
        horizon=_months(horizon, "horizon"),
        landmarks=_months(landmarks, "landmarks") if landmarks is not None else None,
        holdout=holdout, random_degree=random_degree,
        association=tuple(split_list(association)), baseline_knots=baseline_knots,
        seed=seed, license_=license_,
        allow_dataset=tuple(split_list(allow_dataset)),
    )  # fmt: skip
    inputs = [data] + ([longitudinal] if longitudinal is not None else [])
    output, log, folder = run_pipeline(
        "survival", request, run_survival, out_dir=out_dir, inputs=inputs
    )
    s = output.summary()
    by = ", ".join(s["groups"]) or "no grouping"
    _say(f"{s['animals']:,} animals, {s['deaths']:,} deaths; groups by {by}; {s['time_unit']}")
    km = output.km_table
    for _, row in km.head(12).iterrows():
        label = " ".join(str(row[g]) for g in s["groups"]) or "all"
        _say(
            f"  {label}: n {int(row['n'])}, deaths {int(row['deaths'])}, median "
            f"{_num(row['median'])} ({_num(row['median_lower'])}-{_num(row['median_upper'])})"
        )
    if len(km) > 12:
        _say(f"  ... {len(km) - 12} more groups in km_summary.csv")
    if "logrank" in s:
        lr = s["logrank"]
        p = "< 1e-300" if lr["p_value"] == 0 else f"= {lr['p_value']:.3g}"
        _say(f"log-rank chi2 = {lr['statistic']:.3f} on {lr['df']} df, p {p}")
    if "hazard_ratios" in s:
        hrs = ", ".join(f"{k} {_num(v, '.3g')}" for k, v in list(s["hazard_ratios"].items())[:6])
        _say(f"Cox hazard ratios: {hrs}")
    if "frailty" in s:
        fr = s["frailty"]
        _say(
            f"gamma frailty by {fr['cluster']}: theta {fr['theta']:.3g}, "
            f"test of no frailty p = {fr['lrt_p_value']:.3g}"
        )
    for note in s["notes"]:
        if note.startswith(("one group", "no group")):
            _say(note)
    if "dynamic" in s:
        dyn = s["dynamic"]
        _say(
            f"joint model of {dyn['measure']}: {dyn['animals']:,} animals, {dyn['deaths']:,} "
            f"deaths, {dyn['measurements']:,} measurements"
        )
        for name, a in dyn["association"].items():
            _say(
                f"  association ({name}): log hazard ratio {_num(a['estimate'], '.3g')} "
                f"({_num(a['lower'], '.3g')} to {_num(a['upper'], '.3g')}) per {a['per']}"
            )
        for row in dyn["validation"]:
            _say(
                f"  alive at {row['landmark']:g} months, death within {row['horizon']:g}: "
                f"AUC {_num(row['auc'], '.3f')}, Brier {_num(row['brier'], '.3f')} "
                f"({row['animals']} {row['animals_scored']} animals)"
            )
    _say(f"wrote {folder}: {', '.join(s['files'])}, run.json")


def _months(text: str, option: str) -> tuple[float, ...]:
    """``"3, 6"`` -> ``(3.0, 6.0)``; anything else is one error naming the option."""
    from translocus.core.errors import OptionError

    try:
        return tuple(float(v) for v in split_list(text))
    except ValueError:
        raise OptionError(option, text, "give comma-separated months, e.g. 3,6") from None


def lifespan(
    data: Path = typer.Argument(
        ...,
        help="ITP GeneNetwork export (e.g. ITP_10003.csv), or a table with one row per animal: "
        "arm, sex, a time column or birth and death dates, optional event and site.",
    ),
    out_dir: Path = typer.Option(
        ..., "--out", "-o", help="Run folder for lifespan_effects.csv, forest.png and run.json."
    ),
    arms: str = typer.Option("", "--arms", help="Comma-separated arm codes (default: all)."),
    sexes: str = typer.Option("F,M,pooled", "--sexes", help="Any of F, M, pooled."),
    n_boot: int = typer.Option(
        1000, "--n-boot", help="Bootstrap samples for median intervals (0: no intervals)."
    ),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
    control: str = typer.Option(
        None,
        "--control",
        help="Control arm of a table (default: the arm named control, untreated, vehicle "
        "or placebo).",
    ),
    columns: str = typer.Option(
        None,
        "--columns",
        help="Map roles to your columns: animal=,arm=,sex=,time=,event=,birth=,death=,site= "
        "(e.g. arm=treatment,birth=dob,death=dod).",
    ),
    time_unit: str = typer.Option(
        "day", "--time-unit", help="Unit of the time column (day, week, month, year)."
    ),
    duplicates: str = typer.Option(
        "error", "--duplicates", help="An animal on several rows: error, or first."
    ),
) -> None:
    """Lifespan effect of each intervention vs same-cohort controls, by sex, site-stratified.

    Example: translocus lifespan ../shared/data/itp/bodyweights/ITP_10003.csv
    --arms aca,rapa05,rapa06 --out results/itp
    """
    from translocus.pipelines.lifespan import LifespanRequest, run_lifespan

    request = LifespanRequest(
        data=data, arms=tuple(split_list(arms)), sexes=tuple(split_list(sexes)), n_boot=n_boot,
        seed=seed, control=control, columns=columns, time_unit=time_unit, duplicates=duplicates,
    )  # fmt: skip
    output, log, folder = run_pipeline(
        "lifespan", request, run_lifespan, out_dir=out_dir, inputs=[data]
    )
    s = output.summary()
    _say(
        f"{s['animals']:,} animals; {s['arms']} arm(s) analysed ({s['rows']} arm x sex rows); "
        f"intervals: {s['intervals']}"
    )
    for row in s["effects"][:15]:
        interval = ""
        if n_boot:
            low, high = row["median_ext_pct_lower"], row["median_ext_pct_upper"]
            interval = f" ({_num(low, '.1f')} to {_num(high, '.1f')})"
        cohort = f" ({row['cohort']})" if row["cohort"] else ""  # generic tables: one cohort, 0
        _say(
            f"  {row['arm']}{cohort} {row['sex']}: median "
            f"{_num(row['median_ext_pct'], '+.1f')}%{interval}, HR {_num(row['hr'], '.2f')} "
            f"({_num(row['hr_lower'], '.2f')}-{_num(row['hr_upper'], '.2f')}), "
            f"log-rank p {_p(row['logrank_p'])}"
        )
    if len(s["effects"]) > 15:
        _say(f"  ... {len(s['effects']) - 15} more rows in lifespan_effects.csv")
    _say(f"wrote {folder}: {', '.join(s['files'])}, run.json")


def register(app: typer.Typer) -> None:
    """Add the ``survival`` and ``lifespan`` commands to ``app``."""
    app.command("survival")(survival)
    app.command("lifespan")(lifespan)
