"""``survival``: Kaplan-Meier curves, parametric ageing fits, log-rank and Cox tables by group.

Reads the SLAM data folder, an ITP GeneNetwork export, or any table with one row per animal
and either a time column or birth and death/censoring dates (``--columns``).

>>> SurvivalRequest(data=Path("x.csv"), distribution="lognormal").validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: distribution='lognormal': use one of gompertz, weibull
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog
from translocus.progression.lifespan_data import TIME_UNITS, LifespanTable

__all__ = [
    "DISTRIBUTIONS",
    "SurvivalOutput",
    "SurvivalRequest",
    "read_lifespans",
    "run_survival",
]

DISTRIBUTIONS = ("gompertz", "weibull")
DUPLICATE_CHOICES = ("error", "first")
#: Largest Cox design (animals x covariates^2 doubles) fitted; larger ones are skipped.
_COX_BYTES = 2e9
#: Most Kaplan-Meier curves drawn in km.png (all are in km_summary.csv).
_MAX_CURVES = 20
#: Grouping roles used, in this order, when ``--group`` is not given.
_DEFAULT_GROUPS = ("group", "arm", "strain", "sex")


@dataclass(frozen=True)
class SurvivalRequest:
    """Options of ``translocus survival`` (see its ``--help``)."""

    data: Path
    time: str | None = None
    event: str | None = None
    group: tuple[str, ...] | None = None
    distribution: str = "gompertz"
    strata: tuple[str, ...] = ()
    frailty: str | None = None
    columns: str | None = None
    time_unit: str = "day"
    duplicates: str = "error"

    def validate(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise OptionError(
                "distribution", self.distribution, f"use one of {', '.join(DISTRIBUTIONS)}"
            )
        if self.time_unit not in TIME_UNITS:
            raise OptionError("time_unit", self.time_unit, f"use one of {', '.join(TIME_UNITS)}")
        if self.duplicates not in DUPLICATE_CHOICES:
            raise OptionError(
                "duplicates", self.duplicates, f"use one of {', '.join(DUPLICATE_CHOICES)}"
            )
        if self.frailty is not None and not self.frailty.strip():
            raise OptionError("frailty", self.frailty, "name the cluster column, e.g. cohort")
        if self.frailty is not None and self.frailty in self.strata:
            raise OptionError(
                "frailty", self.frailty, "is also a {strata} column; a cluster cannot be both"
            )
        self.column_map()
        _check_path(self.data, self.columns, what="the SLAM data folder")

    def column_map(self) -> dict[str, str]:
        """``--columns`` with ``--time``/``--event`` folded in (they must agree)."""
        from translocus.core.tables import parse_columns

        mapping = parse_columns(self.columns, command="survival")
        for role in ("time", "event"):
            flag = getattr(self, role)
            if flag is None:
                continue
            if role in mapping and mapping[role] != flag:
                raise OptionError(
                    role,
                    flag,
                    f"disagrees with {{columns}} {role}={mapping[role]}; give the column once",
                )
            mapping[role] = flag
        return mapping


def _check_path(path: Path, columns: str | None, *, what: str) -> None:
    """The input exists; a folder is the SLAM folder; --columns only goes with tables."""
    from translocus.progression.lifespan_data import is_itp_export, is_slam_folder

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; give a CSV, TSV or parquet table")
    if path.is_dir() and not is_slam_folder(path):
        raise InputError(f"{path}: is a folder; give a table file or {what}")
    if columns and (is_slam_folder(path) or is_itp_export(path)):
        layout = "SLAM data folder" if path.is_dir() else "ITP export"
        raise OptionError(
            "columns", columns, f"{path} is the {layout}, read in its own layout; "
            "--columns is for other tables",
        )  # fmt: skip


def read_lifespans(
    path: Path,
    *,
    command: str,
    columns: dict[str, str],
    time_unit: str = "day",
    duplicates: str = "error",
    event_default: float | None = None,
    options: dict[str, str] | None = None,
) -> tuple[LifespanTable, str, dict[str, str]]:
    """The lifespan table at ``path``, the unit of its times and its roles' columns.

    The SLAM folder and the ITP export are read in their own layout (times in days); any
    other table through :func:`translocus.core.tables.read_table` and the roles of
    ``command``.
    """
    from translocus.core.tables import read_table
    from translocus.progression.lifespan_data import (
        is_itp_export,
        is_slam_folder,
        lifespan_from_frame,
        read_itp_lifespans,
        read_slam_lifespans,
    )

    path = Path(path)
    if is_slam_folder(path):
        return read_slam_lifespans(path), "day", {}
    if is_itp_export(path):
        return read_itp_lifespans(path), "day", {}
    frame = read_table(path)
    table, roles = lifespan_from_frame(
        frame,
        command=command,
        columns=columns,
        source=str(path),
        name=path.stem,
        time_unit=time_unit,
        duplicates=duplicates,
        event_default=event_default,
        options=options,
    )
    return table, time_unit, roles


def _record_reading(table: LifespanTable, log: RunLog) -> None:
    for count in table.counts:
        log.count(count.what, count.n, count.reason)
    log.count(
        "animals read", table.n_animals, f"{table.n_deaths:,} deaths, "
        f"{table.n_animals - table.n_deaths:,} censored",
    )  # fmt: skip
    log.add_provenance(table.provenance)


def _shown(values: Sequence[Any], limit: int = 15) -> str:
    names = [str(v) for v in values]
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _column(name: str, frame: pd.DataFrame, option: str, source: str) -> str:
    if name in frame.columns:
        return name
    raise OptionError(
        option, name, f"{source} has no column {name!r}; its columns are {_shown(frame.columns)}"
    )


@dataclass
class SurvivalOutput:
    """Survival tables and fitted models of one run, ready to be written."""

    request: SurvivalRequest
    table: LifespanTable
    groups: list[str]
    time_label: str
    km_table: pd.DataFrame
    km: dict[str, Any]
    parametric: pd.DataFrame
    parametric_models: dict[str, Any]
    logrank: Any | None
    cox: Any | None
    frailty: Any | None
    notes: list[str] = field(default_factory=list)
    numerical_warnings: list[str] = field(default_factory=list)

    def files(self) -> list[str]:
        names = ["km.png", "km_summary.csv", f"{self.request.distribution}.csv"]
        if self.logrank is not None:
            names.append("logrank.csv")
        if self.cox is not None:
            names.append("cox.csv")
        if self.frailty is not None:
            names.append("cox_frailty.csv")
        return names

    def figure(self) -> Any:
        """Kaplan-Meier curves of every group (a matplotlib Figure, not shown)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4.5))
        ax = fig.add_subplot()
        curves = list(self.km.values())
        for km in curves[:_MAX_CURVES]:
            km.plot(ax)
        if len(curves) > _MAX_CURVES:
            ax.set_title(f"first {_MAX_CURVES} of {len(curves)} groups (all in km_summary.csv)")
        ax.set_xlabel(self.time_label)
        ax.set_ylabel("survival")
        ax.legend(fontsize=8)
        return fig

    def write(self, folder: Path) -> None:
        self.figure().savefig(folder / "km.png", dpi=120, bbox_inches="tight")
        self.km_table.to_csv(folder / "km_summary.csv", index=False)
        self.parametric.to_csv(folder / f"{self.request.distribution}.csv", index=False)
        if self.logrank is not None:
            lr = self.logrank
            lr.table.assign(statistic=lr.statistic, df=lr.df, p_value=lr.p_value).to_csv(
                folder / "logrank.csv", index=False
            )
        if self.cox is not None:
            self.cox.summary.to_csv(folder / "cox.csv")
        if self.frailty is not None:
            self.frailty.summary.to_csv(folder / "cox_frailty.csv")

    def summary(self) -> dict[str, Any]:
        km = self.km_table
        label = (
            km[self.groups].astype(str).agg(" ".join, axis=1) if self.groups else ["all"] * len(km)
        )
        out: dict[str, Any] = {
            "data": str(self.request.data),
            "animals": self.table.n_animals,
            "deaths": self.table.n_deaths,
            "time_unit": self.time_label,
            "groups": self.groups,
            "medians": {
                str(k): None if pd.isna(m) else float(m)
                for k, m in zip(label, km["median"], strict=True)
            },
            "distribution": self.request.distribution,
            "parametric_skipped": list(self.parametric.attrs.get("skipped", [])),
            "notes": list(self.notes),
            "numerical_warnings": list(self.numerical_warnings),
            "files": self.files(),
        }
        if self.logrank is not None:
            out["logrank"] = {
                "statistic": self.logrank.statistic,
                "df": self.logrank.df,
                "p_value": self.logrank.p_value,
            }
        if self.cox is not None:
            out["hazard_ratios"] = {
                str(k): float(v) for k, v in self.cox.summary["exp(coef)"].items()
            }
        if self.frailty is not None:
            out["frailty"] = {
                "cluster": self.request.frailty,
                "theta": float(self.frailty.theta_),
                "lrt_p_value": float(self.frailty.lrt_p_value_),
            }
        return out


def _parametric_by_group(
    df: pd.DataFrame, groups: list[str], distribution: str, source: str, fit_by: Any
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """One parametric fit per group.

    Groups whose likelihood does not converge are skipped (and named) instead of ending the
    run.
    """
    grouped = list(df.groupby(groups, observed=True, sort=True)) if groups else [("all", df)]
    tables: list[pd.DataFrame] = []
    models: dict[str, Any] = {}
    skipped: list[str] = []
    failed: list[str] = []
    for key, sub in grouped:
        try:
            table, fitted = fit_by(
                sub,
                time="time",
                event="event",
                group=groups,
                distribution=distribution,
                on_small_group="skip",
                source=source,
            )
        except InputError:
            failed.append(" ".join(map(str, key)) if isinstance(key, tuple) else str(key))
            continue
        skipped += table.attrs.get("skipped", [])
        if len(table):
            tables.append(table)
        models.update(fitted)
    out = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    out.attrs["skipped"] = skipped
    return out, models, failed


def run_survival(request: SurvivalRequest, log: RunLog | None = None) -> SurvivalOutput:
    """Read the lifespans ``request`` names and fit the survival tables and models."""
    from translocus.progression.survival import (
        CoxPH,
        GammaFrailtyCox,
        dummy_covariates,
        fit_parametric_by,
        logrank_test,
        survival_table,
    )

    request.validate()
    log = log or RunLog()
    with log.step("read table"):
        table, unit, _ = read_lifespans(
            request.data,
            command="survival",
            columns=request.column_map(),
            time_unit=request.time_unit,
            duplicates=request.duplicates,
            options={role: role for role in ("time", "event") if getattr(request, role)},
        )
    _record_reading(table, log)
    source = str(request.data)
    df = table.data
    # every named column is checked before anything is computed
    if request.group is None:
        groups = [c for c in _DEFAULT_GROUPS if c in df.columns and df[c].notna().any()]
    else:
        groups = [_column(g, df, "group", source) for g in request.group]
    strata = [_column(s, df, "strata", source) for s in request.strata]
    frailty = _column(request.frailty, df, "frailty", source) if request.frailty else None
    used = list(dict.fromkeys([*groups, *strata, *([frailty] if frailty else [])]))
    blank = df[used].isna().any(axis=1) if used else pd.Series(False, index=df.index)
    if blank.any():
        log.count("animals dropped", int(blank.sum()), f"no value in column(s) {', '.join(used)}")
        df = df.loc[~blank].reset_index(drop=True)
    if df.empty:
        raise InputError(f"{source}: no animals left with values in {', '.join(used)}")
    deaths = int(df["event"].sum())
    if deaths == 0:
        raise InputError(
            f"{source}: no deaths (all {len(df):,} animals are censored); survival curves and "
            "hazard models need deaths: check the event column (1 = death, 0 = censored; "
            "--event or --columns event=COLUMN)"
        )
    if frailty is not None and df[frailty].astype(str).nunique() < 2:
        raise OptionError(
            "frailty", request.frailty, "that column holds one value; a frailty needs two or "
            "more clusters (e.g. cohort, site or cage)",
        )  # fmt: skip
    zero = int((df["time"] <= 0).sum())
    if request.distribution == "weibull" and zero:
        raise OptionError(
            "distribution", "weibull", f"{zero} animals of {source} have time 0 and Weibull "
            "fits need positive times; use gompertz, or correct those times",
        )  # fmt: skip
    x = dummy_covariates(df, groups)
    cox_size = len(df) * x.shape[1] ** 2 * 8
    too_big = cox_size > _COX_BYTES
    if too_big and frailty is not None:
        raise OptionError(
            "group", ",".join(groups), f"gives {x.shape[1]} Cox covariates for "
            f"{len(df):,} animals, too many for a frailty model; group by fewer columns",
        )  # fmt: skip
    notes: list[str] = list(table.notes)
    numerical: list[str] = []
    time_label = f"time ({unit}s)"
    with log.step("Kaplan-Meier"), log.capture_warnings(quiet=(RuntimeWarning,), into=numerical):
        km_table, kms = survival_table(df, time="time", event="event", group=groups)
    with (
        log.step(f"{request.distribution} fits"),
        log.capture_warnings(quiet=(RuntimeWarning,), into=numerical),
    ):
        par, par_models, failed = _parametric_by_group(
            df, groups, request.distribution, source, fit_parametric_by
        )
    skipped = par.attrs.get("skipped", [])
    if skipped:
        log.count(
            "groups skipped", len(skipped),
            f"fewer than 2 deaths, no {request.distribution} fit: {', '.join(skipped[:5])}",
        )  # fmt: skip
    if failed:
        log.count(
            "groups skipped", len(failed),
            f"the {request.distribution} likelihood did not converge: {', '.join(failed[:5])}",
        )  # fmt: skip
    key = df[groups].astype(str).agg(" ".join, axis=1) if groups else pd.Series("all", df.index)
    strata_key = df[strata].astype(str).agg("|".join, axis=1) if strata else None
    logrank = None
    if key.nunique() >= 2:
        with log.step("log-rank"), log.capture_warnings(quiet=(RuntimeWarning,), into=numerical):
            logrank = logrank_test(df["time"], df["event"], key, strata=strata_key, source=source)
    else:
        notes.append("one group only: no log-rank test")
    frame = pd.concat([df[["time", "event", *strata]], x], axis=1)
    no_deaths = [str(g) for g, d in df.groupby(key)["event"].sum().items() if d == 0]
    if no_deaths:
        log.warn(
            f"{len(no_deaths)} group(s) without deaths ({', '.join(no_deaths[:5])}): their Cox "
            "hazard ratios are not estimable (shown near 0)"
        )
    cox = None
    fr = None
    if too_big:
        log.warn(
            f"Cox model skipped: {x.shape[1]} covariates from --group "
            f"{','.join(groups)} for {len(df):,} animals would need "
            f"{cox_size / 1e9:.0f} GB; group by fewer columns for hazard ratios"
        )
    elif x.shape[1]:
        with log.step("Cox model"), log.capture_warnings(quiet=(RuntimeWarning,), into=numerical):
            cox = CoxPH().fit(
                frame,
                time="time",
                event="event",
                covariates=list(x.columns),
                strata=strata or None,
                source=source,
            )
        if frailty is not None:
            frame[frailty] = df[frailty].astype(str)
            with (
                log.step(f"gamma frailty Cox by {frailty}"),
                log.capture_warnings(quiet=(RuntimeWarning,), into=numerical),
            ):
                fr = GammaFrailtyCox().fit(
                    frame,
                    time="time",
                    event="event",
                    cluster=frailty,
                    covariates=list(x.columns),
                    strata=strata or None,
                    source=source,
                )
    else:
        notes.append("no group columns: no Cox model")
        if frailty is not None:
            notes.append("no group columns: no frailty model")
    if numerical:
        log.count("numerical warnings", len(numerical), "; ".join(numerical)[:500])
    return SurvivalOutput(
        request,
        dataclasses.replace(table, data=df),  # keeps its units, roles and counts
        groups,
        time_label,
        km_table,
        kms,
        par,
        par_models,
        logrank,
        cox,
        fr,
        notes,
        numerical,
    )
