"""``translocus survival`` and ``translocus lifespan``: survival analysis from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from translocus.core.atomic import atomic_write_bytes, atomic_write_text
from translocus.core.errors import InputError

__all__ = ["register"]

console = Console()


def _fail(exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _save_figure(fig: object, path: Path) -> None:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    atomic_write_bytes(path, buf.getvalue())


def _save_csv(df: pd.DataFrame, path: Path, *, index: bool = False) -> None:
    atomic_write_text(path, df.to_csv(index=index))


def _read_table(path: Path) -> pd.DataFrame:
    """A time-to-event table from CSV/TSV/parquet, or the SLAM folder."""
    from translocus.progression.lifespan_data import read_slam_lifespans

    if path.is_dir():
        if (path / "data_SLAM_census_c79b9c0.csv").exists():
            return read_slam_lifespans(path).data
        raise InputError(f"{path}: a folder, but not the SLAM data folder; give a table file.")
    if not path.exists():
        raise InputError(f"{path}: file not found; give a CSV, TSV or parquet table.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    sep = "\t" if suffix in (".tsv", ".txt") else ","
    return pd.read_csv(path, sep=sep)


def survival(
    data: Path = typer.Argument(
        ..., help="Table (CSV/TSV/parquet) with one row per animal, or the SLAM data folder."
    ),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    time: str = typer.Option("time", "--time", help="Column of times (age at death/censoring)."),
    event: str = typer.Option("event", "--event", help="Column of events (1 death, 0 censored)."),
    group: str = typer.Option("strain,sex", "--group", help="Comma-separated grouping columns."),
    distribution: str = typer.Option("gompertz", "--distribution", help="gompertz or weibull."),
    strata: str = typer.Option("", "--strata", help="Comma-separated Cox strata columns."),
    frailty: str = typer.Option("", "--frailty", help="Cluster column for a gamma frailty."),
) -> None:
    """Kaplan-Meier curves, parametric ageing fits, log-rank and Cox tables by group.

    Example: translocus survival ../shared/data/slam --time time --event event
    --group strain,sex --out results/slam_survival
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from translocus.progression.survival import (
        CoxPH,
        GammaFrailtyCox,
        dummy_covariates,
        fit_parametric_by,
        logrank_test,
        survival_table,
        validate_time_to_event,
    )

    try:
        df = _read_table(data)
        groups = [g for g in group.split(",") if g]
        strata_cols = [s for s in strata.split(",") if s]
        validate_time_to_event(
            df, time=time, event=event, animal=None, group=groups, source=str(data)
        )
        km_table, kms = survival_table(df, time=time, event=event, group=groups)
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for km in kms.values():
            km.plot(ax)
        ax.set_xlabel(time)
        ax.legend(fontsize=8)
        par, _ = fit_parametric_by(
            df,
            time=time,
            event=event,
            group=groups,
            distribution=distribution,
            on_small_group="skip",
            source=str(data),
        )
        key = df[groups].astype(str).agg(" ".join, axis=1) if groups else pd.Series("all", df.index)
        lr = logrank_test(
            df[time],
            df[event],
            key,
            strata=df[strata_cols].astype(str).agg("|".join, axis=1) if strata_cols else None,
            source=str(data),
        )
        x = dummy_covariates(df, groups)
        frame = pd.concat([df[[time, event, *strata_cols]], x], axis=1)
        cox = CoxPH().fit(
            frame,
            duration=time,
            event=event,
            covariates=list(x.columns),
            strata=strata_cols or None,
            source=str(data),
        )
        out.mkdir(parents=True, exist_ok=True)
        _save_figure(fig, out / "km.png")
        _save_csv(km_table, out / "km_summary.csv")
        _save_csv(par, out / f"{distribution}.csv")
        _save_csv(
            lr.table.assign(statistic=lr.statistic, df=lr.df, p_value=lr.p_value),
            out / "logrank.csv",
        )
        _save_csv(cox.summary, out / "cox.csv", index=True)
        if frailty:
            frame[frailty] = df[frailty].astype(str)
            fr = GammaFrailtyCox().fit(
                frame,
                duration=time,
                event=event,
                cluster=frailty,
                covariates=list(x.columns),
                strata=strata_cols or None,
                source=str(data),
            )
            _save_csv(fr.summary, out / "cox_frailty.csv", index=True)
    except InputError as exc:
        _fail(exc)
    console.print(km_table.round(2).to_string(index=False))
    console.print(cox.summary.round(4).to_string())
    console.print(f"log-rank chi2 = {lr.statistic:.3f} on {lr.df} df, p = {lr.p_value:.3g}")
    console.print(f"wrote {out}")


def lifespan(
    data: Path = typer.Argument(..., help="ITP GeneNetwork export (e.g. ITP_10003.csv)."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    arms: str = typer.Option("", "--arms", help="Comma-separated arm codes (default: all)."),
    sexes: str = typer.Option("F,M,pooled", "--sexes", help="Any of F, M, pooled."),
    n_boot: int = typer.Option(1000, "--n-boot", help="Bootstrap samples for median intervals."),
    seed: int = typer.Option(0, "--seed", help="Bootstrap seed."),
) -> None:
    """Lifespan effect of each intervention vs same-cohort controls, by sex, site-stratified.

    Example: translocus lifespan ../shared/data/itp/bodyweights/ITP_10003.csv
    --arms aca,rapa05,rapa06 --out results/itp
    """
    import matplotlib

    matplotlib.use("Agg")

    from translocus.progression.lifespan_data import read_itp_lifespans
    from translocus.treatment.lifespan import LifespanInterventionEffects

    try:
        table = read_itp_lifespans(data)
        model = LifespanInterventionEffects(
            arms=[a for a in arms.split(",") if a] or None,
            sexes=[s for s in sexes.split(",") if s],
            n_boot=n_boot,
            seed=seed,
        ).fit(table, source=str(data))
    except InputError as exc:
        _fail(exc)
    eff = model.effects_
    if arms:
        shown = eff
    else:
        pooled = eff[eff["sex"] == "pooled"].nsmallest(12, "logrank_p")
        shown = eff[eff["arm"].isin(pooled["arm"])]
    out.mkdir(parents=True, exist_ok=True)
    _save_csv(eff, out / "lifespan_effects.csv")
    _save_figure(model.plot(arms=list(shown["arm"].unique())), out / "forest.png")
    console.print(model.summary.round(3).to_string(index=False))
    console.print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add the ``survival`` and ``lifespan`` commands to ``app``."""
    app.command("survival")(survival)
    app.command("lifespan")(lifespan)
