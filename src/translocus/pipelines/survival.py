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
import math
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
#: Horizons (months) of the dynamic death risks of ``--dynamic``.
DEFAULT_HORIZONS = (3.0, 6.0)
#: Default features of the course in the joint model's hazard (``--association``).
DEFAULT_ASSOCIATION = ("value", "slope")
#: Default SLAM measure of ``--dynamic``.
_DEFAULT_MEASURE = "body_weight"
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
    dynamic: bool = False
    longitudinal: Path | None = None
    measure: str | None = None
    horizon: tuple[float, ...] = DEFAULT_HORIZONS
    landmarks: tuple[float, ...] | None = None
    holdout: float = 0.25
    random_degree: int = 2
    association: tuple[str, ...] = DEFAULT_ASSOCIATION
    baseline_knots: int = 0
    seed: int = 0
    license_: str = "NOASSERTION"
    allow_dataset: tuple[str, ...] = ()

    def validate(self) -> None:
        self._validate_dynamic()
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

    def _validate_dynamic(self) -> None:
        """The options of ``--dynamic`` (the joint course and survival model)."""
        from translocus.core.provenance import parse_license
        from translocus.progression.lifespan_data import is_slam_folder

        if not self.dynamic:
            given = {
                "longitudinal": self.longitudinal,
                "measure": self.measure,
                "horizon": None if self.horizon == DEFAULT_HORIZONS else self.horizon,
                "landmarks": self.landmarks,
                "holdout": None if self.holdout == 0.25 else self.holdout,
                "random_degree": None if self.random_degree == 2 else self.random_degree,
                "association": None
                if self.association == DEFAULT_ASSOCIATION
                else ",".join(self.association),
                "baseline_knots": self.baseline_knots or None,
            }
            for name, value in given.items():
                if value is not None:
                    raise OptionError(name, value, "belongs to the joint model; add --dynamic")
            return
        if not self.horizon or not all(math.isfinite(h) and h > 0 for h in self.horizon):
            raise OptionError(
                "horizon", ",".join(map(str, self.horizon)), "give positive months, e.g. 3,6"
            )
        if self.landmarks is not None and (
            not self.landmarks or not all(math.isfinite(a) and a > 0 for a in self.landmarks)
        ):
            raise OptionError(
                "landmarks", ",".join(map(str, self.landmarks)),
                "give positive ages in months, e.g. 18,24",
            )  # fmt: skip
        if not (math.isfinite(self.holdout) and 0.0 <= self.holdout <= 0.5):
            raise OptionError(
                "holdout", self.holdout, "give the fraction of animals held out, 0 to 0.5"
            )
        if self.random_degree not in (1, 2):
            raise OptionError(
                "random_degree", self.random_degree, "use 1 (intercept and slope per animal) "
                "or 2 (also a curvature)",
            )  # fmt: skip
        from translocus.progression.joint import ASSOCIATIONS

        assoc = tuple(self.association)
        if not assoc or any(a not in ASSOCIATIONS for a in assoc) or len(set(assoc)) < len(assoc):
            raise OptionError(
                "association", ",".join(assoc),
                f"give comma-separated features of the course, each once, of "
                f"{', '.join(ASSOCIATIONS)}",
            )  # fmt: skip
        if not (self.baseline_knots == 0 or 3 <= self.baseline_knots <= 8):
            raise OptionError(
                "baseline_knots", self.baseline_knots, "use 0 (Gompertz baseline hazard) or 3 "
                "to 8 knots of a natural spline in age",
            )  # fmt: skip
        try:
            parse_license(self.license_)
        except ValueError:
            raise OptionError(
                "license_", self.license_, "is not an SPDX licence expression, e.g. CC-BY-4.0"
            ) from None
        if self.longitudinal is None:
            if not is_slam_folder(Path(self.data)):
                raise OptionError(
                    "longitudinal", None, "--dynamic needs the repeated measurements: give "
                    "--longitudinal TABLE (animal, age in months, measure, value)",
                )  # fmt: skip
        elif not Path(self.longitudinal).exists():
            raise InputError(
                f"{self.longitudinal}: file not found; give the table of repeated measurements "
                "(animal, age in months, measure, value) or the SLAM data folder"
            )
        elif Path(self.longitudinal).is_dir() and not is_slam_folder(Path(self.longitudinal)):
            raise InputError(
                f"{self.longitudinal}: is a folder; give a table file or the SLAM data folder"
            )

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
class DynamicOutput:
    """The joint course and survival model of ``--dynamic``: fit, predictions, validation."""

    model: Any
    measure: str
    predictions: pd.DataFrame
    validation: pd.DataFrame
    calibration: pd.DataFrame
    held_out: int
    landmarks: tuple[float, ...]

    FILES = (
        "dynamic_predictions.csv",
        "joint_association.csv",
        "joint_validation.csv",
        "joint_calibration.csv",
        "joint_calibration.png",
    )

    def figure(self) -> Any:
        """Calibration of the death risks: predicted against Kaplan-Meier, per horizon."""
        from matplotlib.figure import Figure

        horizons = sorted(self.calibration["horizon"].unique()) if len(self.calibration) else []
        fig = Figure(figsize=(4.2 * max(1, len(horizons)), 4))
        where = f"{self.held_out:,} held-out animals" if self.held_out else "the fitted animals"
        for j, h in enumerate(horizons):
            ax = fig.add_subplot(1, len(horizons), j + 1)
            part = self.calibration[self.calibration["horizon"] == h]
            top = 0.05
            for lm, tab in part.groupby("landmark"):
                ax.errorbar(
                    tab["predicted"], tab["observed"],
                    yerr=[tab["observed"] - tab["observed_lower"],
                          tab["observed_upper"] - tab["observed"]],
                    fmt="o", alpha=0.8, label=f"alive at {lm:g} months",
                )  # fmt: skip
                top = max(top, float(tab[["predicted", "observed"]].max().max()))
            ax.plot([0, top], [0, top], color="grey", lw=0.8)
            ax.set_xlabel(f"predicted risk of death within {h:g} months")
            ax.set_ylabel("observed (Kaplan-Meier)")
            ax.set_title(f"{where}", fontsize=9)
            ax.legend(fontsize=7)
        return fig

    def write(self, folder: Path) -> None:
        self.predictions.to_csv(folder / "dynamic_predictions.csv", index=False)
        self.model.summary.reset_index(names="term").to_csv(
            folder / "joint_association.csv", index=False
        )
        self.validation.to_csv(folder / "joint_validation.csv", index=False)
        self.calibration.to_csv(folder / "joint_calibration.csv", index=False)
        self.figure().savefig(folder / "joint_calibration.png", dpi=120, bbox_inches="tight")

    def summary(self) -> dict[str, Any]:
        assoc = self.model.association_
        return {
            "measure": self.measure,
            "animals": self.model.n_animals_,
            "deaths": self.model.n_deaths_,
            "measurements": self.model.n_measurements_,
            "held_out": self.held_out,
            "landmarks": list(self.landmarks),
            "converged": bool(self.model.converged_),
            "baseline_knots": self.model.baseline_knots,
            "association": {
                str(k).split(":")[1]: {
                    "estimate": float(r["estimate"]),
                    "lower": float(r.iloc[2]),
                    "upper": float(r.iloc[3]),
                    "per": str(r["per"]),
                }
                for k, r in assoc.iterrows()
            },
            "validation": self.validation.to_dict(orient="records"),
        }


def _km_curves(km: dict[str, Any]) -> pd.DataFrame:
    """The Kaplan-Meier curves of every group in one long table (``km.csv``)."""
    frames = []
    for label, model in km.items():
        tab = model.table_
        start = pd.DataFrame(
            {
                "time": [0.0],
                "survival": [1.0],
                "lower": [1.0],
                "upper": [1.0],
                "at_risk": [model.n_],
            }  # fmt: skip
        )
        curve = pd.concat([start, tab[["time", "survival", "lower", "upper", "at_risk"]]])
        frames.append(curve.assign(group=str(label), at_risk=curve["at_risk"].astype(int)))
    cols = ["group", "time", "survival", "lower", "upper", "at_risk"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


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
    dynamic: DynamicOutput | None = None

    def files(self) -> list[str]:
        names = ["km.png", "km.csv", "km_summary.csv", f"{self.request.distribution}.csv"]
        if self.dynamic is not None:
            names += list(self.dynamic.FILES)
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
        _km_curves(self.km).to_csv(folder / "km.csv", index=False)
        if self.dynamic is not None:
            self.dynamic.write(folder)
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
        if self.dynamic is not None:
            out["dynamic"] = self.dynamic.summary()
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
    dynamic = None
    if request.dynamic:
        dynamic = _run_dynamic(request, df, groups, unit, table.provenance, log)
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
        dynamic,
    )


def _read_measures(request: SurvivalRequest, log: RunLog) -> tuple[Any, str]:
    """The repeated measurements of ``--dynamic`` (one measure) and the measure's name."""
    from translocus.progression.data import read_long_csv, read_slam
    from translocus.progression.lifespan_data import is_slam_folder

    path = Path(request.longitudinal or request.data)
    if is_slam_folder(path):
        from translocus.progression.data import _SLAM_MEASURES

        measure = request.measure or _DEFAULT_MEASURE
        known = sorted(set(_SLAM_MEASURES.values()))
        if measure not in known:
            raise OptionError(
                "measure", measure, f"use one of the SLAM measures {', '.join(known)}"
            )
        table = read_slam(path, measures=(measure,))
    else:
        table = read_long_csv(path, license=request.license_)
        measures = sorted(table.data["measure"].astype(str).unique())
        measure = request.measure or (measures[0] if len(measures) == 1 else "")
        if measure not in measures:
            raise OptionError(
                "measure", request.measure, f"{path} holds the measures {_shown(measures)}; "
                "name one with --measure",
            )  # fmt: skip
        table = table.select(measure=measure)
    for count in table.counts:
        log.count(count.what, count.n, count.reason)
    log.add_provenance(table.provenance)
    return table, measure


def _run_dynamic(
    request: SurvivalRequest,
    df: pd.DataFrame,
    groups: list[str],
    unit: str,
    provenance: Any,
    log: RunLog,
) -> DynamicOutput:
    """Fit the joint model on the training animals; predict, validate and calibrate."""
    import numpy as np

    from translocus.core.provenance import LicensePolicy
    from translocus.progression.data import DAYS_PER_MONTH
    from translocus.progression.joint import (
        JointModel,
        brier_score,
        calibration_table,
        time_dependent_auc,
    )
    from translocus.progression.lifespan_data import TIME_UNITS, is_slam_folder

    with log.step("read repeated measurements"):
        table, measure = _read_measures(request, log)
    source = str(request.longitudinal or request.data)
    key = "idno" if is_slam_folder(Path(request.data)) else "animal"
    if key not in df.columns:
        raise OptionError(
            "columns", request.columns, f"--dynamic joins {request.data} to {source} by animal; "
            "name the animal column with --columns animal=NAME",
        )  # fmt: skip
    life = df.assign(
        animal=df[key].astype(str), time=df["time"] * TIME_UNITS[unit] / DAYS_PER_MONTH
    )[["animal", "time", "event", *groups]]
    measures = table.data[["animal", "age", "value"]].assign(
        animal=lambda d: d["animal"].astype(str)
    )
    twice = life["animal"].duplicated(keep=False)
    if twice.any():
        log.count(
            "animals dropped from the joint model", int(twice.sum()),
            f"their {key} is on two rows of {request.data}, so their measurements cannot be "
            f"told apart ({_shown(life.loc[twice, 'animal'].unique(), 5)})",
        )  # fmt: skip
        life = life.loc[~twice].reset_index(drop=True)
    measured = life["animal"].isin(set(measures["animal"]))
    if not measured.all():
        log.count(
            "animals dropped from the joint model", int((~measured).sum()),
            f"no {measure} measurement in {source}",
        )  # fmt: skip
    life = life.loc[measured].reset_index(drop=True)
    if life.empty:
        raise InputError(
            f"{source}: no animal of {request.data} has a {measure} measurement; check that "
            "both tables name the animals the same way (column animal)"
        )
    rng = np.random.default_rng(request.seed)
    n_test = int(round(request.holdout * len(life)))
    test_ids = set(rng.choice(life["animal"].to_numpy(), size=n_test, replace=False))
    held = life["animal"].isin(test_ids)
    train = life.loc[~held]
    landmarks = request.landmarks or _default_landmarks(life)
    first_seen = measures.groupby("animal")["age"].min()
    at_risk = {
        lm: life.loc[
            (life["time"] > lm) & (life["animal"].map(first_seen) <= lm), "animal"
        ].to_numpy()
        for lm in landmarks
    }
    if not any(len(ids) for ids in at_risk.values()):
        raise OptionError(
            "landmarks", ",".join(f"{a:g}" for a in landmarks),
            "no animal is alive and measured at these ages; choose ages within the study",
        )  # fmt: skip
    policy = LicensePolicy(allowed_datasets=frozenset(request.allow_dataset))
    fit_measures: Any = measures[measures["animal"].isin(set(train["animal"]))]
    fit_life: Any = train
    if request.license_ == "NOASSERTION":
        # each table keeps its own licence through the training gate
        fit_measures = dataclasses.replace(table, data=fit_measures)
        fit_life = LifespanTable(fit_life, provenance, source=str(request.data))
    with log.step(f"joint model of {measure} and survival"), log.capture_warnings():
        # each group ages at its own Gompertz rate: on SLAM this ranks deaths better
        model = JointModel(
            random_degree=request.random_degree,
            association=request.association,
            covariates_by_age=True,
            baseline_knots=request.baseline_knots,
        ).fit(
            fit_measures, fit_life, covariates=groups, policy=policy, source=source,
            license=None if request.license_ == "NOASSERTION" else request.license_,
        )  # fmt: skip
    for what, n in model.counts_.items():
        what, _, reason = what.partition(": ")
        log.count(f"{what} from the joint model", n, reason)
    with log.step("dynamic predictions"):
        predictions = pd.concat(
            [
                model.predict_risk(
                    measures,
                    life[life["animal"].isin(set(ids))],
                    landmarks=[lm],
                    horizons=request.horizon,
                    source=source,
                )  # fmt: skip
                for lm, ids in at_risk.items()
                if len(ids)
            ],
            ignore_index=True,
        )
    predictions = predictions.merge(life[["animal", "time", "event"]], on="animal")
    predictions["held_out"] = predictions["animal"].isin(test_ids)
    predictions = predictions.rename(
        columns={
            "value": f"current_{measure}",
            "slope": f"slope_{measure}_per_month",
            "time": "age_at_end_months",
        }  # fmt: skip
    )
    scored = predictions[predictions["held_out"]] if n_test else predictions
    val_rows, calib = [], []
    for (lm, h), part in scored.groupby(["landmark", "horizon"]):
        args = (part["risk"], part["age_at_end_months"], part["event"])
        val_rows.append(
            {
                "landmark": lm, "horizon": h, "animals": len(part),
                "deaths_within_horizon": int(
                    ((part["age_at_end_months"] <= lm + h) & (part["event"] == 1)).sum()
                ),
                "auc": time_dependent_auc(*args, landmark=lm, horizon=h),
                "brier": brier_score(*args, landmark=lm, horizon=h),
                "animals_scored": "held out" if n_test else "fitted (no --holdout)",
            }
        )  # fmt: skip
        calib.append(
            calibration_table(*args, landmark=lm, horizon=h).assign(landmark=lm, horizon=h)
        )
    return DynamicOutput(
        model=model,
        measure=measure,
        predictions=predictions,
        validation=pd.DataFrame(val_rows),
        calibration=pd.concat(calib, ignore_index=True) if calib else pd.DataFrame(),
        held_out=n_test,
        landmarks=tuple(float(a) for a in landmarks),
    )


def _default_landmarks(life: pd.DataFrame) -> tuple[float, ...]:
    """Ages (months) by which 10 %, 30 % and 50 % of the deaths have happened."""
    import numpy as np

    deaths = life.loc[life["event"] == 1, "time"].to_numpy(float)
    if deaths.size == 0:
        return (float(np.median(life["time"])),)
    return tuple(sorted({float(np.round(np.quantile(deaths, q) * 2) / 2) for q in (0.1, 0.3, 0.5)}))
