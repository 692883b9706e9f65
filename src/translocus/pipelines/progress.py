"""``progress``: how measures unfold over age — trajectories and onset ages, or disease courses.

Cross-sectional data (one visit per animal) give an :class:`AgeTrajectoryModel`: smooth
curves per group, effects against the control strain and onset ages with bootstrap
intervals. Repeated measures give a :class:`DiseaseCourseModel`: a time shift and a speed
per animal, and forecasts ``horizon`` months past each animal's last visit.

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

import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog
from translocus.progression.data import AGE_UNITS, DUPLICATES, MeasureTable

__all__ = [
    "EFFECTS",
    "MODELS",
    "ProgressOutput",
    "ProgressRequest",
    "parse_select",
    "run_progress",
]

MODELS = ("auto", "trajectory", "course")
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
    max_iter: int = 8
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

    @property
    def figure_name(self) -> str:
        return "trajectories.png" if self.kind == "trajectory" else "course.png"

    def write(self, folder: Path) -> None:
        import matplotlib.pyplot as plt

        for stem, frame in self.tables.items():
            frame.to_csv(folder / f"{stem}.csv", index=False)
        fig = self.model.plot()
        try:
            fig.savefig(folder / self.figure_name, dpi=110, bbox_inches="tight")
        finally:
            plt.close(fig)

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
            "files": sorted([f"{stem}.csv" for stem in self.tables] + [self.figure_name]),
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
            out["covariates"] = list(self.model.covariate_names_)
            out["iterations"] = int(self.model.n_iter_)
            out["forecasts"] = int(len(self.tables["forecasts"]))
            out["horizon_months"] = self.request.horizon
        return out


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

    model = DiseaseCourseModel(max_iter=request.max_iter)
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
    if kind == "trajectory":
        model, tables = _fit_trajectory(request, table, group, policy, log, numerical)
        for note in model.notes_:
            if note not in notes:
                notes.append(note)
                log.warn(note)
    else:
        model, tables = _fit_course(request, table, group, policy, log, numerical, notes)
    for decision in policy.log:
        log.add_decision(dataclasses.asdict(decision))
    if numerical:
        log.count("numerical warnings", len(numerical), "; ".join(numerical)[:500])
    return ProgressOutput(request, kind, model, table, group, tables, notes, numerical)
