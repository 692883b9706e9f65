"""``progress``: how measures unfold over age — trajectories and onset ages, or disease courses.

Cross-sectional data (one visit per animal) give an :class:`AgeTrajectoryModel`: smooth
curves per group, effects against the control strain and onset ages with bootstrap
intervals. Repeated measures give a :class:`DiseaseCourseModel`: a time shift and a speed
per animal, and forecasts ``horizon`` months past each animal's last visit, with intervals
calibrated on animals held out of the training data (``--calibration none`` turns it off).
``--forecast-from TABLE --at AGES`` then forecasts the animals of another table from their
measurements so far (``forecast.csv`` and ``forecast.png``). Every run keeps the data it
fitted as ``measurements.parquet`` for the study viewer.

>>> ProgressRequest(data="x.csv", n_boot=-5).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: n_boot=-5: must be 0 or more (0 gives onset ages without intervals)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog
from translocus.progression.data import AGE_UNITS, DUPLICATES, MeasureTable

__all__ = [
    "CALIBRATIONS",
    "EFFECTS",
    "MODELS",
    "ProgressOutput",
    "ProgressRequest",
    "parse_ages",
    "parse_select",
    "run_progress",
]

MODELS = ("auto", "trajectory", "course")
#: Interval calibrations of the disease-course model (``--calibration``).
CALIBRATIONS = ("split-conformal", "none")
#: Animals drawn in ``forecast.png`` (all are in ``forecast.csv``).
_PLOTTED_ANIMALS = 8
EFFECTS = ("standardized", "difference")
#: Named datasets ``progress`` reads from the shared data folder.
NAMED_DATA = ("model_ad", "slam")
#: Model columns looked for, in order, when ``--group`` is not given.
_MODEL_COLUMNS = ("group", "mouse_model", "strain", "genotype")
_AGE_ALIASES = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def parse_select(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["model_group=5xFAD", "age=4,8"]`` -> ``{"model_group": ["5xFAD"], "age": [4.0, 8.0]}``.

    >>> parse_select(["sex=Female", "age=4,8"])
    {'sex': ['Female'], 'age': [4.0, 8.0]}
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        column, _, values = item.partition("=")
        column = column.strip()
        parts = [v.strip() for v in values.split(",") if v.strip()]
        if not _ or not column or not parts:
            raise OptionError("select", item, "write COLUMN=VALUE[,VALUE], e.g. sex=Female")
        if column == "age":
            try:
                parsed: list[Any] = [float(v) for v in parts]
            except ValueError:
                raise OptionError(
                    "select", item, "ages are numbers in months, e.g. age=4,8"
                ) from None
        else:
            parsed = parts
        out.setdefault(column, []).extend(parsed)
    return out


def parse_ages(text: str) -> tuple[float, ...]:
    """``"12,18.5"`` -> ``(12.0, 18.5)``: the ages of ``--at``, sorted, without repeats.

    >>> parse_ages("24, 12,18")
    (12.0, 18.0, 24.0)
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise OptionError("at", text, "give ages separated by commas, e.g. --at 12,18,24")
    try:
        ages = [float(p) for p in parts]
    except ValueError:
        raise OptionError(
            "at", text, "ages are numbers (in --age-unit units), e.g. --at 12,18,24"
        ) from None
    bad = [p for p, a in zip(parts, ages, strict=True) if not (math.isfinite(a) and a >= 0)]
    if bad:
        raise OptionError("at", text, f"age {bad[0]} is not a finite age of 0 or more")
    return tuple(sorted(set(ages)))


@dataclass(frozen=True)
class ProgressRequest:
    """Options of ``translocus progress`` (see its ``--help``)."""

    data: str
    measure: tuple[str, ...] = ()
    group: tuple[str, ...] | None = None
    control: str = "C57BL/6J"
    select: tuple[str, ...] = ()
    model: str = "auto"
    threshold: float = 1.0
    effect: str = "standardized"
    n_boot: int = 200
    horizon: float = 6.0
    max_iter: int = 60
    calibration: str = "split-conformal"
    forecast_from: str | None = None
    at: str | None = None
    allow_dataset: tuple[str, ...] = ()
    age_unit: str = "month"
    license_: str = "NOASSERTION"
    duplicates: str = "mean"
    columns: str | None = None

    def validate(self) -> None:
        from translocus.core.provenance import parse_license
        from translocus.core.tables import parse_columns

        if self.model not in MODELS:
            raise OptionError("model", self.model, f"use one of {', '.join(MODELS)}")
        if self.effect not in EFFECTS:
            raise OptionError("effect", self.effect, f"use one of {', '.join(EFFECTS)}")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise OptionError(
                "threshold", self.threshold, "must be a positive effect size, e.g. 1.0"
            )
        if self.n_boot < 0:
            raise OptionError(
                "n_boot", self.n_boot, "must be 0 or more (0 gives onset ages without intervals)"
            )
        if not (math.isfinite(self.horizon) and self.horizon > 0):
            raise OptionError("horizon", self.horizon, "must be a positive number of months")
        if self.max_iter < 1:
            raise OptionError("max_iter", self.max_iter, "must be 1 or more iterations")
        if self.calibration not in CALIBRATIONS:
            raise OptionError(
                "calibration", self.calibration, f"use one of {', '.join(CALIBRATIONS)}"
            )
        if (self.forecast_from is None) != (self.at is None):
            given, missing = ("forecast_from", "at") if self.at is None else ("at", "forecast_from")
            raise OptionError(
                given,
                getattr(self, given),
                "--forecast-from TABLE and --at AGES go together; give both, e.g. "
                "--forecast-from animals.csv --at 12,18",
            )
        if self.at is not None:
            parse_ages(self.at)
        if self.forecast_from is not None:
            table = Path(self.forecast_from)
            if not table.exists():
                raise OptionError(
                    "forecast_from",
                    self.forecast_from,
                    "file not found; give a CSV, TSV or parquet table of the animals to forecast",
                )
            if table.is_dir():
                raise OptionError(
                    "forecast_from", self.forecast_from, "is a folder; give a table file"
                )
        if self.duplicates not in DUPLICATES:
            raise OptionError("duplicates", self.duplicates, f"use one of {', '.join(DUPLICATES)}")
        if self.age_unit_key() not in AGE_UNITS:
            raise OptionError("age_unit", self.age_unit, f"use one of {', '.join(AGE_UNITS)}")
        if self.group is not None and not self.group:
            raise OptionError("group", "", "name at least one group column, e.g. mouse_model,sex")
        if not self.control.strip():
            raise OptionError("control", self.control, "name the control value, e.g. C57BL/6J")
        try:
            parse_license(self.license_)
        except ValueError:
            raise OptionError(
                "license_", self.license_, "is not an SPDX licence expression, e.g. CC-BY-4.0"
            ) from None
        parse_select(self.select)
        parse_columns(self.columns, command="progress")
        if self.data in NAMED_DATA:
            if self.columns:
                raise OptionError(
                    "columns",
                    self.columns,
                    f"{self.data} is read in its own layout; --columns is for table files",
                )
            return
        path = Path(self.data)
        if not path.exists():
            raise InputError(
                f"{path}: file not found; give a CSV, TSV or parquet table, or model_ad / slam"
            )
        if path.is_dir():
            raise InputError(f"{path}: is a folder; give a CSV, TSV or parquet table file")

    def age_unit_key(self) -> str:
        unit = self.age_unit.strip().lower()
        return _AGE_ALIASES.get(unit, unit)

    def input_path(self) -> Path:
        """The file or folder read (the named datasets live in the shared data folder)."""
        from translocus.core.paths import data_dir

        if self.data == "model_ad":
            return data_dir() / "model_ad" / "pathology_long.csv"
        if self.data == "slam":
            return data_dir() / "slam"
        return Path(self.data)


@dataclass
class ProgressOutput:
    """A fitted progression model with its tables, ready to be written.

    Attributes
    ----------
    kind
        ``"trajectory"`` or ``"course"``.
    model
        The fitted :class:`AgeTrajectoryModel` or :class:`DiseaseCourseModel`.
    table
        The data the model was fitted to (after ``--select`` and ``--measure``).
    tables
        File stem -> table written as ``<stem>.csv``.
    """

    request: ProgressRequest
    kind: str
    model: Any
    table: MeasureTable
    group: list[str]
    tables: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)
    numerical_warnings: list[str] = field(default_factory=list)
    #: ``--forecast-from``: the forecasts (``forecast.csv``) and the animals' measurements
    forecast: pd.DataFrame | None = None
    forecast_history: pd.DataFrame | None = None

    @property
    def figure_name(self) -> str:
        return "trajectories.png" if self.kind == "trajectory" else "course.png"

    def measurements(self) -> pd.DataFrame:
        """The fitted data as the viewer reads it: animal, age, measure, value, groups."""
        data = self.table.data
        extra = [c for c in ("tissue", *self.group) if c in data.columns]
        columns = ["animal", "age", "measure", "value", *dict.fromkeys(extra)]
        out = data[columns].copy()
        out["animal"] = out["animal"].astype(str)
        return out

    def write(self, folder: Path) -> None:
        import matplotlib.pyplot as plt

        for stem, frame in self.tables.items():
            frame.to_csv(folder / f"{stem}.csv", index=False)
        self.measurements().to_parquet(folder / "measurements.parquet", index=False)
        fig = self.model.plot()
        try:
            fig.savefig(folder / self.figure_name, dpi=110, bbox_inches="tight")
        finally:
            plt.close(fig)
        if self.forecast is not None and self.forecast_history is not None:
            self.forecast.to_csv(folder / "forecast.csv", index=False)
            fig = _forecast_figure(self.forecast_history, self.forecast)
            try:
                fig.savefig(folder / "forecast.png", dpi=110, bbox_inches="tight")
            finally:
                plt.close(fig)

    def files(self) -> list[str]:
        names = [f"{stem}.csv" for stem in self.tables]
        names += [self.figure_name, "measurements.parquet"]
        if self.forecast is not None:
            names += ["forecast.csv", "forecast.png"]
        return sorted(names)

    def summary(self) -> dict[str, Any]:
        data = self.table.data
        out: dict[str, Any] = {
            "data": self.request.data,
            "model": self.kind,
            "licence": self.table.provenance.license,
            "animals": int(data["animal"].nunique()),
            "rows": int(len(data)),
            "measures": sorted(map(str, data["measure"].unique())),
            "group": self.group,
            "notes": list(self.notes),
            "numerical_warnings": list(self.numerical_warnings),
            "files": self.files(),
        }
        if self.kind == "trajectory":
            onsets = self.tables["onsets"]
            out["strata"] = int(len(self.tables["hyper"]))
            out["control"] = self.request.control
            out["onsets"] = (
                onsets.drop(columns=["effect"], errors="ignore").round(3).to_dict(orient="records")
            )
            out["skipped_groups"] = int(len(self.tables["skipped"]))
        else:
            model = self.model
            out["covariates"] = list(model.covariate_names_)
            out["iterations"] = int(model.n_iter_)
            out["converged"] = bool(model.converged_)
            out["prior_sd"] = dict(model.prior_sd_)
            out["calibration"] = model.calibration_.describe()
            out["interval_scale"] = {
                m: round(float(f), 4)
                for m, f in zip(model.measures_, model.interval_scale_, strict=True)
            }
            out["forecasts"] = int(len(self.tables["forecasts"]))
            out["horizon_months"] = self.request.horizon
            if self.forecast is not None:
                out["forecast_from"] = self.request.forecast_from
                out["forecast_animals"] = int(self.forecast["animal"].nunique())
                out["forecast_rows"] = int(len(self.forecast))
                out["forecast_ages"] = list(parse_ages(str(self.request.at)))
        return out


def _forecast_figure(history: pd.DataFrame, forecast: pd.DataFrame) -> Any:
    """Each measure's panel: the first animals' measurements and their 90% forecasts."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    measures = sorted(map(str, forecast["measure"].unique()))
    animals = sorted(map(str, forecast["animal"].unique()))[:_PLOTTED_ANIMALS]
    levels = [c[len("lower_") :] for c in forecast.columns if c.startswith("lower_")]
    level = max(levels, key=float)
    fig = Figure(figsize=(4.5 * len(measures), 3.6))
    axes = fig.subplots(1, len(measures), squeeze=False)
    colours = colormaps["tab10"]
    for ax, measure in zip(axes[0], measures, strict=True):
        for i, animal in enumerate(animals):
            seen = history[
                (history["animal"].astype(str) == animal) & (history["measure"] == measure)
            ]
            ahead = forecast[
                (forecast["animal"].astype(str) == animal) & (forecast["measure"] == measure)
            ]
            seen, ahead = seen.sort_values("age"), ahead.sort_values("age")
            colour = colours(i % 10)
            ax.plot(seen["age"], seen["value"], "o-", color=colour, ms=3, lw=1, label=animal)
            ax.errorbar(
                ahead["age"],
                ahead["point"],
                yerr=[
                    ahead["point"] - ahead[f"lower_{level}"],
                    ahead[f"upper_{level}"] - ahead["point"],
                ],
                fmt="s--",
                color=colour,
                ms=4,
                lw=1,
                capsize=2,
            )
        ax.set_title(measure)
        ax.set_xlabel("age (months)")
    axes[0][0].set_ylabel(f"value (squares: forecast, bars: {float(level):.0%} interval)")
    axes[0][-1].legend(fontsize=7, title="animal", loc="best")
    fig.tight_layout()
    return fig


# -- reading ---------------------------------------------------------------------------------


def _read(request: ProgressRequest) -> MeasureTable:
    from translocus.progression.data import read_long_csv, read_model_ad, read_slam

    if request.data == "model_ad":
        return read_model_ad(duplicates=request.duplicates)
    if request.data == "slam":
        return read_slam(duplicates=request.duplicates)
    from translocus.core.tables import parse_columns

    return read_long_csv(
        Path(request.data),
        license=request.license_,
        age_unit=request.age_unit_key(),
        duplicates=request.duplicates,
        columns=parse_columns(request.columns, command="progress"),
    )


def _shown(values: Sequence[Any], limit: int = 15) -> str:
    names = [str(v) for v in values]
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def _column_for(
    name: str, frame: pd.DataFrame, roles: Mapping[str, str], option: str, source: str
) -> str:
    """The column a ``--group``/``--select`` name means: a column, or a mapped role."""
    if name in roles and roles[name] in frame.columns:
        return roles[name]
    if name in frame.columns:
        return name
    raise OptionError(
        option, name, f"{source} has no column {name!r}; its columns are {_shown(frame.columns)}"
    )


def _apply_select(
    table: MeasureTable, select: dict[str, list[Any]], roles: Mapping[str, str]
) -> MeasureTable:
    frame = table.data
    source = table.source or table.provenance.name
    wanted: dict[str, list[Any]] = {}
    for name, values in select.items():
        column = _column_for(name, frame, roles, "select", source)
        present = set(frame[column].tolist()) | set(frame[column].astype(str))
        missing = [v for v in values if v not in present]
        if missing:
            known = sorted(map(str, frame[column].dropna().unique()))
            raise OptionError(
                "select",
                f"{name}={','.join(map(str, values))}",
                f"column {column!r} has no value {', '.join(map(str, missing))}; "
                f"values are {_shown(known)}",
            )
        if pd.api.types.is_numeric_dtype(frame[column]):
            try:
                values = [float(v) for v in values]
            except ValueError:
                raise OptionError(
                    "select",
                    f"{name}={','.join(map(str, values))}",
                    f"column {column!r} holds numbers",
                ) from None
        else:
            values = [str(v) for v in values]
        wanted[column] = values
    return table.select(**wanted) if wanted else table


def _roles_of(request: ProgressRequest, table: MeasureTable) -> dict[str, str]:
    """The optional roles (sex, group) of a table file, for ``--group``/``--select`` names."""
    if request.data in NAMED_DATA:
        return {}
    from translocus.core.tables import parse_columns

    given = parse_columns(request.columns, command="progress")
    return {role: column for role, column in given.items() if role in ("sex", "group")}


def _groups(
    request: ProgressRequest, frame: pd.DataFrame, roles: Mapping[str, str], source: str
) -> list[str]:
    if request.group is not None:
        return [_column_for(name, frame, roles, "group", source) for name in request.group]
    model_col = next(
        (roles.get(c, c) for c in _MODEL_COLUMNS if roles.get(c, c) in frame.columns), None
    )
    sex = roles.get("sex", "sex")
    group = [c for c in (model_col, sex if sex in frame.columns else None) if c]
    if not group:
        raise OptionError(
            "group",
            None,
            f"{source} has none of the columns {', '.join(_MODEL_COLUMNS)}, sex; name the "
            "group columns with {group}, model column first (e.g. {group} genotype,sex)",
        )
    return group


# -- fitting ---------------------------------------------------------------------------------


def _fit_trajectory(
    request: ProgressRequest,
    table: MeasureTable,
    group: list[str],
    policy: Any,
    log: RunLog,
    numerical: list[str],
) -> tuple[Any, dict[str, pd.DataFrame]]:
    from translocus.progression.trajectory import AgeTrajectoryModel

    frame = table.data
    source = table.source or table.provenance.name
    model_col = group[0]
    values = set(frame[model_col].astype(str))
    if request.control not in values:
        raise OptionError(
            "control",
            request.control,
            f"control group {request.control!r} is missing from column {model_col!r} of "
            f"{source} (values {_shown(sorted(values))}); give the matched control strain "
            "with {control}, or the model column first in {group}",
        )
    strata = ["measure"] + (["tissue"] if "tissue" in frame.columns else [])
    sizes = frame.groupby([*strata, *group], observed=True)["animal"].nunique()
    if not (sizes >= 2).any():
        raise InputError(
            f"{source}: no group has at least 2 animals in any measure; add animals or "
            "choose fewer --group columns"
        )
    model = AgeTrajectoryModel(
        threshold=request.threshold, effect=request.effect, n_boot=request.n_boot
    )
    with (
        log.step("fit trajectories"),
        log.capture_warnings(quiet=(RuntimeWarning,), into=numerical),
    ):
        model.fit(table, group=group, control=request.control, policy=policy)
    tables = {
        "curves": model.curves_,
        "effects": model.effects_,
        "onsets": model.onsets_,
        "hyper": model.hyper_,
        "skipped": model.skipped_,
    }
    return model, tables


def _licence_gate(table: MeasureTable, policy: Any, purpose: str) -> None:
    """Refuse training on data whose licence the policy does not allow, in CLI terms."""
    from translocus.core.provenance import LicensePolicy, LicenseRefusedError

    probe = LicensePolicy(allowed=policy.allowed, allowed_datasets=policy.allowed_datasets)
    decision = probe.decide(table.provenance, purpose)
    if decision.allowed:
        return
    name, licence = table.provenance.name, table.provenance.license or "none"
    hint = (
        "give the table's licence with --license SPDX (e.g. --license CC-BY-4.0) if it has one, "
        if licence in ("NOASSERTION", "NONE", "none")
        else ""
    )
    raise LicenseRefusedError(
        f"dataset '{name}' (licence {licence}) may not be used for {purpose}: "
        f"{decision.reason}; {hint}or, once its terms permit this use, give "
        f"--allow-dataset {name}"
    )


def _fit_course(
    request: ProgressRequest,
    table: MeasureTable,
    group: list[str],
    policy: Any,
    log: RunLog,
    numerical: list[str],
    notes: list[str],
) -> tuple[Any, dict[str, pd.DataFrame]]:
    from translocus.progression.course import DiseaseCourseModel

    purpose = "training a disease-course model"
    _licence_gate(table, policy, purpose)
    frame = table.data
    covariates = [c for c in group if frame[c].nunique() > 1]
    single = [c for c in group if c not in covariates]
    if single:
        note = f"group column(s) {', '.join(single)} hold one value: not used as covariates"
        notes.append(note)
        log.warn(note)
    if frame["animal"].nunique() < 3:
        raise InputError(
            f"{table.source or table.provenance.name}: {frame['animal'].nunique()} animals; "
            "a disease-course model needs at least 3"
        )
    from translocus.core.estimator import ConvergenceWarning

    model = DiseaseCourseModel(
        max_iter=request.max_iter,
        calibration=request.calibration,
        calibration_horizon=request.horizon,
    )
    with (
        log.step("fit disease course"),
        # the model's own wording names max_iter; said below in command-line terms
        log.capture_warnings(quiet=(RuntimeWarning, ConvergenceWarning), into=numerical),
    ):
        model.fit(table, covariates=covariates, policy=policy)
    if not model.converged_:
        log.warn(
            f"the disease-course fit stopped after {request.max_iter} iterations with its "
            f"objective still changing; give --max-iter {4 * request.max_iter} to fit longer",
            detail=[text for text in numerical if "max_iter" in text],
        )
    calibration = model.calibration_
    if calibration.calibrated:
        log.count(
            "animals held out for calibration",
            calibration.animals,
            f"{calibration.describe()} (--calibration none: the model's own intervals)",
        )
    elif request.calibration != "none":
        note = f"forecast intervals not calibrated: {calibration.method}"
        notes.append(note)
        log.warn(note)
    with log.step("forecast"), log.capture_warnings(quiet=(RuntimeWarning,), into=numerical):
        last = frame.groupby(["animal", "measure"])["age"].max().reset_index()
        targets = last.assign(age=last["age"] + request.horizon)
        targets = targets[targets["measure"].isin(model.measures_)]
        forecasts = pd.DataFrame(model.forecast(table, targets, level=[0.5, 0.9]))
    tables = {
        "animal_effects": model.animal_effects_(),
        "summary": model.summary,
        "forecasts": forecasts,
    }
    return model, tables


def _read_forecast_table(
    request: ProgressRequest, fitted: MeasureTable, group: list[str], log: RunLog
) -> MeasureTable:
    """The ``--forecast-from`` table, checked against the data to fit before fitting.

    It needs the group columns that become covariates, with values seen in the data, and
    rows of the fitted measures (others are dropped and counted).
    """
    from translocus.core.tables import parse_columns
    from translocus.progression.data import read_long_csv

    path = Path(str(request.forecast_from))
    with log.step("read --forecast-from table"):
        table = read_long_csv(
            path,
            age_unit=request.age_unit_key(),
            duplicates=request.duplicates,
            columns=parse_columns(request.columns, command="progress")
            if request.data not in NAMED_DATA
            else None,
        )
    source = str(path)
    for count in table.counts:
        log.count(f"{count.what} (--forecast-from)", count.n, count.reason)
    frame = table.data
    data = fitted.data
    covariates = [c for c in group if data[c].nunique() > 1]
    measures = sorted(map(str, data["measure"].unique()))
    missing = [c for c in covariates if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: no column {', '.join(repr(c) for c in missing)}; the fitted model's "
            f"groups need it for each animal (columns are {_shown(frame.columns)}); add it, "
            "as in the data the model was fitted to"
        )
    for column in covariates:
        empty = frame[column].isna().to_numpy()
        if empty.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(empty)[:5])
            raise InputError(
                f"{source}, column {column!r}: {int(empty.sum())} rows have no value "
                f"(rows {rows}); fill them in"
            )
        seen = set(data[column].astype(str))
        unseen = sorted(set(frame[column].astype(str)) - seen)
        if unseen:
            raise InputError(
                f"{source}, column {column!r}: value(s) {_shown(unseen)} are not in the data the "
                f"model is fitted to ({_shown(sorted(seen))}); forecast animals of those groups "
                "only"
            )
    known = frame["measure"].isin(measures)
    if not known.any():
        raise InputError(
            f"{source}, column 'measure': none of the fitted measure(s) {_shown(measures)} "
            f"(found {_shown(sorted(map(str, frame['measure'].unique())))}); give rows of those "
            "measures"
        )
    if (~known).any():
        log.count(
            "rows dropped (--forecast-from)",
            int((~known).sum()),
            f"measure(s) {_shown(sorted(map(str, frame.loc[~known, 'measure'].unique())))} "
            "not fitted",
        )
    history = frame[known].reset_index(drop=True)
    return MeasureTable(history, table.provenance, source, table.notes)


def _forecast_from(
    request: ProgressRequest, model: Any, table: MeasureTable, log: RunLog, numerical: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast the animals of ``--forecast-from`` at ``--at`` from their measurements so far."""
    from translocus.progression.data import DAYS_PER_MONTH

    history, source = table.data, str(table.source)
    months = {"day": 1.0 / DAYS_PER_MONTH, "week": 7.0 / DAYS_PER_MONTH, "month": 1.0, "year": 12.0}
    ages = np.array(parse_ages(str(request.at))) * months[request.age_unit_key()]
    animals = history.groupby("animal", sort=True)
    last = animals["age"].max()
    first = animals[list(model.covariates_)].first() if model.covariates_ else None
    index = pd.MultiIndex.from_product(
        [last.index, model.measures_, ages], names=["animal", "measure", "age"]
    )
    targets = index.to_frame(index=False)
    if first is not None:
        targets = targets.join(first, on="animal")
    with (
        log.step("forecast --forecast-from animals"),
        log.capture_warnings(quiet=(RuntimeWarning,), into=numerical),
    ):
        forecast = model.forecast(table, targets, level=[0.5, 0.9])
    forecast["last_age"] = forecast["animal"].map(last).to_numpy(dtype=float)
    forecast["horizon"] = forecast["age"] - forecast["last_age"]
    before = int((forecast["horizon"] <= 0).sum())
    if before:
        log.warn(
            f"{before:,} --at age(s) fall at or before an animal's last measurement in "
            f"{source}: those rows are the model's estimates there, not forecasts"
        )
    log.count("animals forecast", int(forecast["animal"].nunique()), f"from {source} at --at ages")
    first_columns = ["animal", "measure", "age", "point"]
    intervals = [c for c in forecast.columns if c.startswith(("lower_", "upper_"))]
    rest = [c for c in forecast.columns if c not in (*first_columns, *intervals)]
    ordered = forecast[[*first_columns, *sorted(intervals, key=_interval_order), *rest]]
    return history, ordered.sort_values(["animal", "measure", "age"], ignore_index=True)


def _interval_order(column: str) -> tuple[float, int]:
    side, _, level = column.partition("_")
    return float(level), 0 if side == "lower" else 1


def run_progress(request: ProgressRequest, log: RunLog | None = None) -> ProgressOutput:
    """Read the table ``request`` names, fit the progression model and collect its tables."""
    from translocus.core.provenance import LicensePolicy

    request.validate()
    log = log or RunLog()
    with log.step("read table"):
        table = _read(request)
    source = table.source or table.provenance.name
    for count in table.counts:
        log.count(count.what, count.n, count.reason)
    log.count("rows read", len(table.data), f"{table.n_animals:,} animals")
    if table.data.empty:
        raise InputError(f"{source}: no row has an animal, an age and a value; fill them in")
    log.add_provenance(table.provenance)
    unknown = [d for d in request.allow_dataset if d != table.provenance.name]
    if unknown:
        raise OptionError(
            "allow_dataset",
            unknown[0],
            f"this run reads only dataset {table.provenance.name!r}; "
            f"give --allow-dataset {table.provenance.name}",
        )
    roles = _roles_of(request, table)
    table = _apply_select(table, parse_select(request.select), roles)
    if request.measure:
        known = sorted(map(str, table.data["measure"].unique()))
        missing = [m for m in request.measure if m not in known]
        if missing:
            raise OptionError(
                "measure", missing[0], f"is not a measure of {source}; measures are {_shown(known)}"
            )
        table = table.select(measure=list(request.measure))
    if table.data.empty:
        raise InputError(f"{source}: no rows left after --select/--measure; widen the selection")
    group = _groups(request, table.data, roles, source)
    frame = table.data
    missing_group = frame[group].isna().any(axis=1)
    if missing_group.any():
        log.count(
            "rows dropped",
            int(missing_group.sum()),
            f"no value in group column(s) {', '.join(group)}",
        )
        table = MeasureTable(
            frame.loc[~missing_group].reset_index(drop=True),
            table.provenance,
            table.source,
            table.notes,
            table.counts,
        )
    repeated = bool((table.data.groupby(["animal", "measure"])["age"].nunique() > 1).any())
    kind = request.model if request.model != "auto" else ("course" if repeated else "trajectory")
    policy = LicensePolicy(allowed_datasets=frozenset(request.allow_dataset))
    numerical: list[str] = []
    notes: list[str] = list(table.notes)
    if kind == "trajectory" and request.forecast_from is not None:
        raise OptionError(
            "forecast_from",
            request.forecast_from,
            "forecasts animals from their measurements with the disease-course model, which "
            f"needs repeated visits; {source} has one visit per animal and measure (give "
            "--model course with repeated measures)",
        )
    to_forecast = None
    if request.forecast_from is not None:
        to_forecast = _read_forecast_table(request, table, group, log)
    if kind == "trajectory":
        model, tables = _fit_trajectory(request, table, group, policy, log, numerical)
        for note in model.notes_:
            if note not in notes:
                notes.append(note)
                log.warn(note)
    else:
        model, tables = _fit_course(request, table, group, policy, log, numerical, notes)
    forecast_history = forecast = None
    if to_forecast is not None:
        forecast_history, forecast = _forecast_from(request, model, to_forecast, log, numerical)
    for decision in policy.log:
        log.add_decision(dataclasses.asdict(decision))
    if numerical:
        log.count("numerical warnings", len(numerical), "; ".join(numerical)[:500])
    return ProgressOutput(
        request, kind, model, table, group, tables, notes, numerical, forecast, forecast_history
    )
