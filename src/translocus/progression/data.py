"""Readers that turn progression data into one long table with a licence attached.

Every reader returns a :class:`MeasureTable`: a long ``pandas.DataFrame`` with one row per
animal, age and measure (columns ``animal``, ``age`` in months, ``measure``, ``value`` plus
the grouping columns of the study) and the dataset's :class:`~translocus.core.provenance.Provenance`.

Conventions
-----------
- Ages are in **months** (float). Dates are converted with 1 month = 30.4375 days.
- ``value`` is on the scale of the source file; models choose their own analysis scale.
- Duplicated visits (same animal, age, measure and stratum) follow ``duplicates``:
  ``"mean"`` averages them (the default, counted in ``MeasureTable.notes``), ``"first"``
  keeps the first, ``"error"`` raises :class:`~translocus.core.errors.InputError`.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"animal": ["a", "a", "b"], "age": ["4 months", "8 months", "4 months"],
...                     "measure": "w", "value": [1.0, 2.0, 3.0]})
>>> table = from_frame(raw, name="toy", license="CC0-1.0")
>>> table.data["age"].tolist()
[4.0, 8.0, 4.0]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.core.table import USER_DATA, ProvenanceTable, provenance_for

__all__ = [
    "AGE_UNITS",
    "DAYS_PER_MONTH",
    "DUPLICATES",
    "MODEL_AD_PROVENANCE",
    "SLAM_PROVENANCE",
    "Count",
    "MeasureTable",
    "from_frame",
    "is_model_ad_layout",
    "parse_ages",
    "read_long_csv",
    "read_model_ad",
    "read_slam",
]

#: Days in one month (365.25 / 12), used for every age conversion.
DAYS_PER_MONTH = 30.4375

MODEL_AD_PROVENANCE = Provenance(
    name="model_ad",
    license="LicenseRef-AD-Knowledge-Portal-Terms",
    source="Sage-Bionetworks/magora @ d4f21ca (data/*.rda exported to CSV)",
    citation="Forner et al. 2021 Sci Data 8:270; MODEL-AD consortium",
    usage_terms="AD Knowledge Portal / Synapse conditions of use (data); code MIT",
    description="MODEL-AD pathology per animal: one measurement per animal at 4/8/12/18 months",
)

SLAM_PROVENANCE = Provenance(
    name="slam",
    license="MIT",
    source="wfmueller29/SLAM @ c79b9c0",
    citation="Palliyaguru et al. 2021 Cell Metab 33:2189",
    description="NIA Study of Longitudinal Aging in Mice: repeated body composition and glucose",
)

_UNIT_MONTHS = {
    "d": 1.0 / DAYS_PER_MONTH,
    "day": 1.0 / DAYS_PER_MONTH,
    "days": 1.0 / DAYS_PER_MONTH,
    "w": 7.0 / DAYS_PER_MONTH,
    "wk": 7.0 / DAYS_PER_MONTH,
    "wks": 7.0 / DAYS_PER_MONTH,
    "week": 7.0 / DAYS_PER_MONTH,
    "weeks": 7.0 / DAYS_PER_MONTH,
    "m": 1.0,
    "mo": 1.0,
    "mon": 1.0,
    "month": 1.0,
    "months": 1.0,
    "y": 12.0,
    "yr": 12.0,
    "yrs": 12.0,
    "year": 12.0,
    "years": 12.0,
}
#: Age units a numeric age column may be in (``--age-unit``).
AGE_UNITS = ("day", "week", "month", "year")
#: What to do with duplicated visits (``--duplicates``).
DUPLICATES = ("mean", "first", "error")

_AGE_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


class Count(NamedTuple):
    """Rows a reader dropped or merged: what, how many and why (for ``run.json``)."""

    what: str
    n: int
    reason: str


@dataclass(frozen=True)
class MeasureTable(ProvenanceTable):
    """A long table of measurements with its provenance.

    A :class:`~translocus.core.table.ProvenanceTable`: ``units`` (``age`` in months),
    ``id_column`` (``animal``), ``roles`` (those of ``progress``), :meth:`select` and
    :attr:`n_rows` come from there.

    Attributes
    ----------
    data
        One row per ``animal``, ``age`` (months), ``measure`` (and stratum columns such as
        ``tissue``) with its ``value`` and the animal's group columns.
    provenance
        Source and licence of the data.
    source
        The file (or files) read, for error messages.
    notes
        What the reader changed (duplicates averaged, implausible values dropped), in words.
    counts
        The same changes as numbers: rows dropped or merged and why (:class:`Count`).
    """

    command: ClassVar[str] = "progress"
    default_units: ClassVar[Mapping[str, str]] = {"age": "month"}

    data: pd.DataFrame
    provenance: Provenance
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    counts: tuple[Count, ...] = field(default=())

    @property
    def measures(self) -> list[str]:
        """The measures in the table, sorted."""
        return sorted(self.data["measure"].unique().tolist())

    @property
    def n_animals(self) -> int:
        """Number of distinct animals."""
        return int(self.data["animal"].nunique())

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **options: Any) -> MeasureTable:
        """A table from a plain data frame: :func:`from_frame` (``columns=``, ``license=``)."""
        return from_frame(frame, **options)

    def select(self, **equals: object) -> MeasureTable:
        """Rows whose columns equal the given values (a list/tuple value means "any of")."""
        table: MeasureTable = super().select(**equals)
        return table


def _rows_of(mask: np.ndarray, limit: int = 5) -> str:
    """File lines of the rows in ``mask`` (line 1 is the header), e.g. ``"3, 7, ..."``."""
    rows = np.flatnonzero(mask)
    shown = ", ".join(str(r + 2) for r in rows[:limit])
    return shown + (", ..." if rows.size > limit else "")


def parse_ages(
    values: pd.Series, *, unit: str = "month", source: str = "data", column: str = "age"
) -> np.ndarray:
    """Convert an age column to months.

    Numbers are read in ``unit``; strings may carry their own unit (``"4 months"``,
    ``"120 d"``, ``"2 wk"``). A column mixing units is refused, because a silent conversion
    of some rows is how ages go wrong; so are infinite and negative ages. Missing ages
    stay ``nan``.

    >>> parse_ages(pd.Series(["120 d", "60 d"])).round(3).tolist()
    [3.943, 1.971]
    >>> parse_ages(pd.Series([1, 2]), unit="year").tolist()
    [12.0, 24.0]
    """
    unit_key = unit.lower()
    if unit_key not in _UNIT_MONTHS:
        raise InputError(
            f"{source}: age unit {unit!r} is not known; use one of day, week, month, year "
            "(--age-unit on the command line)."
        )
    if pd.api.types.is_numeric_dtype(values):
        ages = values.to_numpy(dtype=float) * _UNIT_MONTHS[unit_key]
    else:
        numbers = np.full(len(values), np.nan)
        units: list[str] = []
        bad: list[int] = []
        for row, text in enumerate(values.astype(str).tolist()):
            match = _AGE_PATTERN.match(text)
            if match is None or (match.group(2) and match.group(2).lower() not in _UNIT_MONTHS):
                if text.strip().lower() not in ("nan", "", "na", "none", "<na>"):
                    bad.append(row)
                units.append("")
                continue
            numbers[row] = float(match.group(1))
            units.append(match.group(2).lower())
        if bad:
            shown = ", ".join(str(r + 2) for r in bad[:5])
            raise InputError(
                f"{source}, column {column!r}: {len(bad)} values are not ages (rows {shown}); "
                "write a number, optionally followed by d, wk, month or year."
            )
        named = {u for u in units if u}
        factors = {_UNIT_MONTHS[u] for u in named}
        if len(factors) > 1:
            raise InputError(
                f"{source}, column {column!r}: ages are in mixed units "
                f"({', '.join(sorted(named))}); convert them to one unit before reading."
            )
        factor = factors.pop() if factors else _UNIT_MONTHS[unit_key]
        ages = numbers * factor
    infinite = np.isinf(ages)
    if infinite.any():
        raise InputError(
            f"{source}, column {column!r}: {int(infinite.sum())} infinite ages (rows "
            f"{_rows_of(infinite)}); fix or blank them."
        )
    negative = np.isfinite(ages) & (ages < 0)
    if negative.any():
        raise InputError(
            f"{source}, column {column!r}: ages must not be negative ({int(negative.sum())} "
            f"are, rows {_rows_of(negative)})."
        )
    return np.asarray(ages, dtype=float)


def _line(index: object) -> object:
    """The file line of a row label (line 1 is the header) when the label is a row number."""
    return int(index) + 2 if isinstance(index, int | np.integer) else index


def _resolve_duplicates(
    data: pd.DataFrame, keys: list[str], duplicates: str, source: str
) -> tuple[pd.DataFrame, list[str], list[Count]]:
    notes: list[str] = []
    counts: list[Count] = []
    if duplicates not in DUPLICATES:
        raise InputError(
            f"{source}: duplicates={duplicates!r} is not known; use mean, first or error "
            "(--duplicates on the command line)."
        )
    dup = data.duplicated(keys, keep=False)
    if not dup.any():
        return data, notes, counts
    n_dup = int(data.duplicated(keys).sum())
    same = ", ".join(keys)
    if duplicates == "error":
        rows = ", ".join(str(_line(i)) for i in data.index[dup.to_numpy()][:5])
        raise InputError(
            f"{source}: {n_dup} duplicated visits (same {same}; rows {rows}); remove them, or "
            "average them with --duplicates mean or keep the first with --duplicates first "
            "(duplicates='mean' / 'first' in Python)."
        )
    if duplicates == "first":
        notes.append(f"{n_dup} duplicated visits: kept the first")
        counts.append(Count("duplicate visits dropped", n_dup, f"same {same}; kept the first"))
        return data.drop_duplicates(keys, keep="first"), notes, counts
    others = [c for c in data.columns if c not in keys and c != "value"]
    agg: dict[str, str] = {"value": "mean", **{c: "first" for c in others}}
    out = data.groupby(keys, sort=False, dropna=False).agg(agg).reset_index()
    notes.append(f"{n_dup} duplicated visits averaged")
    counts.append(Count("duplicate visits merged", n_dup, f"same {same}; values averaged"))
    return out[data.columns.tolist()], notes, counts


def from_frame(
    frame: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    license: str | None = None,
    provenance: Provenance | None = None,
    name: str | None = None,
    animal: str = "animal",
    age: str = "age",
    measure: str = "measure",
    value: str = "value",
    age_unit: str = "month",
    strata: tuple[str, ...] = (),
    duplicates: str = "mean",
    source: str = "",
    units: Mapping[str, str] | None = None,
) -> MeasureTable:
    """Validate a long data frame and return a :class:`MeasureTable`.

    Rows without an age or a value are dropped and counted (``counts`` and ``notes``);
    values that are not numbers and infinite ages or values are errors naming the rows.

    Parameters
    ----------
    frame
        One row per measurement.
    columns
        ``{role: column}`` (or ``"animal=mouse_id,age=age_days"``, as ``--columns`` on the
        command line) for columns not named as their role; the roles are those of
        ``progress`` (``animal``, ``age``, ``measure``, ``value``, ``sex``, ``group``).
        Takes precedence over ``animal``/``age``/``measure``/``value``; a mapped ``sex``
        or ``group`` column is copied to a column of the role's name.
    license
        SPDX licence of the data (``"MIT"``); with it the table may train the models the
        licence allows. Without ``license`` or ``provenance`` the licence is recorded as
        ``NOASSERTION`` and training refuses the table.
    provenance
        The data's full :class:`~translocus.core.provenance.Provenance` (instead of
        ``license``).
    name
        Dataset name for the provenance (default: ``"user data"``).
    animal, age, measure, value
        Column names in ``frame``; renamed to the canonical names.
    age_unit
        Unit of numeric ages (``day``, ``week``, ``month``, ``year``).
    strata
        Extra columns that identify a distinct measurement (``tissue``).
    duplicates
        ``"mean"``, ``"first"`` or ``"error"`` for repeated (animal, age, measure, strata).
    units
        Units of other columns (``{"value": "g"}``); ages are always in months.

    Examples
    --------
    >>> raw = pd.DataFrame({"mouse": ["a", "a"], "age": [4, 8], "measure": "w",
    ...                     "grams": [20.0, 24.0]})
    >>> table = from_frame(raw, columns="animal=mouse,value=grams", license="MIT")
    >>> table.provenance.name, table.provenance.license, table.data.columns.tolist()
    ('user data', 'MIT', ['animal', 'age', 'measure', 'value'])
    """
    name = name or (provenance.name if provenance is not None else USER_DATA)
    src = source or name
    if columns:
        from translocus.core.tables import parse_columns, resolve_columns

        mapped = parse_columns(columns, command="progress")
        resolve_columns(frame, command="progress", columns=mapped, source=src, required=())
        animal = mapped.get("animal", animal)
        age = mapped.get("age", age)
        measure = mapped.get("measure", measure)
        value = mapped.get("value", value)
        copies = {r: frame[c] for r, c in mapped.items() if r in ("sex", "group") and c != r}
        if copies:
            frame = frame.assign(**copies)
    missing = [c for c in (animal, age, measure, value) if c not in frame.columns]
    if missing:
        roles = {animal: "animal", age: "age", measure: "measure", value: "value"}
        example = ",".join(f"{roles[c]}=COLUMN" for c in missing)
        raise InputError(
            f"{src}: missing column(s) {', '.join(missing)}; the table needs animal, age, "
            f"measure and value columns; map yours with --columns {example} "
            f"(columns are {', '.join(map(str, frame.columns[:12]))})."
        )
    for column in strata:
        if column not in frame.columns:
            raise InputError(f"{src}: stratum column {column!r} is not in the table.")
    data = frame.rename(columns={animal: "animal", age: "age", measure: "measure", value: "value"})
    data = data.copy()
    data["age"] = parse_ages(data["age"], unit=age_unit, source=src, column=age)
    numeric = pd.to_numeric(data["value"], errors="coerce")
    bad = numeric.isna() & data["value"].notna()
    if bad.any():
        rows = ", ".join(str(_line(i)) for i in data.index[bad.to_numpy()][:5])
        raise InputError(
            f"{src}, column {value!r}: {int(bad.sum())} values are not numbers (rows {rows}); "
            "fix or blank them."
        )
    infinite = np.isinf(numeric.to_numpy(dtype=float))
    if infinite.any():
        rows = ", ".join(str(_line(i)) for i in data.index[infinite][:5])
        raise InputError(
            f"{src}, column {value!r}: {int(infinite.sum())} infinite values (rows {rows}); "
            "fix or blank them."
        )
    data["value"] = numeric.astype(float)
    notes: list[str] = []
    counts: list[Count] = []
    no_id = data["animal"].isna() | (data["animal"].astype(str).str.strip() == "")
    no_age = data["age"].isna() & ~no_id
    no_value = data["value"].isna() & ~no_age & ~no_id
    for mask, why in (
        (no_id, f"no animal (column {animal!r} blank)"),
        (no_age, f"no age (column {age!r} blank)"),
        (no_value, f"no value (column {value!r} blank)"),
    ):
        if mask.any():
            notes.append(f"{int(mask.sum())} rows with {why.split(' (')[0]} dropped")
            counts.append(Count("rows dropped", int(mask.sum()), why))
    data = data.loc[~(no_id | no_age | no_value)]
    data["animal"] = data["animal"].astype(str)
    data["measure"] = data["measure"].astype(str)
    data, dup_notes, dup_counts = _resolve_duplicates(
        data, ["animal", "age", "measure", *strata], duplicates, src
    )
    prov = provenance_for(license=license, provenance=provenance, name=name, source=src)
    return MeasureTable(
        data.reset_index(drop=True),
        prov,
        src,
        tuple(notes + dup_notes),
        tuple(counts + dup_counts),
        units=dict(units or {}),
    )


_MODEL_AD_COLUMNS = frozenset(
    {"individual_id", "age", "phenotype", "tissue", "value", "units", "mouse_model", "sex",
     "mouse_model_group"}
)  # fmt: skip


def is_model_ad_layout(columns: Iterable[object]) -> bool:
    """Whether a table's columns are those of MODEL-AD ``pathology_long.csv``."""
    return {str(c) for c in columns} >= _MODEL_AD_COLUMNS


def read_long_csv(
    path: Path | str,
    *,
    name: str | None = None,
    license: str = "NOASSERTION",
    animal: str = "animal",
    age: str = "age",
    measure: str = "measure",
    value: str = "value",
    age_unit: str = "month",
    strata: tuple[str, ...] = (),
    duplicates: str = "mean",
    columns: Mapping[str, str] | None = None,
) -> MeasureTable:
    """Read a long table (animal, age, measure, value, group columns) into a table.

    Any CSV, TSV or parquet file (read by :func:`translocus.core.tables.read_table`, which
    refuses empty, binary and header-only files with one clear error). ``columns`` maps
    the roles of ``translocus progress`` to the table's columns (``{"animal": "mouse_id",
    "age": "age_days"}``, ``--columns`` on the command line) and takes precedence over
    ``animal``/``age``/``measure``/``value``. A MODEL-AD ``pathology_long.csv`` is
    recognised by its columns (when no column is mapped) and read with
    :func:`read_model_ad`, so it keeps its licence.
    """
    from translocus.core.tables import read_table, resolve_columns

    path = Path(path)
    frame = read_table(path)
    given = {"animal": animal, "age": age, "measure": measure, "value": value}
    explicit = {role: column for role, column in given.items() if column != role}
    explicit.update(columns or {})
    if not explicit and is_model_ad_layout(frame.columns):
        if path.suffix.lower() == ".parquet":
            raw = frame.astype({"individual_id": str})
            return _model_ad_table(raw, path, duplicates=duplicates)
        return read_model_ad(path, duplicates=duplicates)  # identifiers read as text
    # a mapped column must exist; a role left unmapped without its default column is
    # reported by from_frame, with all missing roles at once
    roles = resolve_columns(
        frame, command="progress", columns=explicit, source=str(path), required=()
    )
    return from_frame(
        frame,
        name=name or path.stem,
        license=license,
        animal=roles.get("animal", "animal"),
        age=roles.get("age", "age"),
        measure=roles.get("measure", "measure"),
        value=roles.get("value", "value"),
        age_unit=age_unit,
        strata=strata,
        duplicates=duplicates,
        source=str(path),
    )


def read_model_ad(
    path: Path | str | None = None,
    *,
    model_group: str | None = None,
    measures: list[str] | None = None,
    tissues: list[str] | None = None,
    duplicates: str = "mean",
) -> MeasureTable:
    """Read MODEL-AD ``pathology_long.csv``: one measurement per animal and measure.

    Columns of the result: ``animal``, ``age`` (months), ``measure`` (phenotype name),
    ``tissue``, ``value``, ``units``, ``mouse_model``, ``sex``, ``model_group`` (the study
    family, e.g. ``5xFAD`` holds 5xFAD and its matched C57BL/6J controls).

    Parameters
    ----------
    path
        The CSV; default ``data_dir()/model_ad/pathology_long.csv``.
    model_group
        Keep one study family (``"5xFAD"``, ``"3xTg-AD"``, ...).
    measures, tissues
        Keep only these phenotypes / tissues.
    """
    path = Path(path) if path is not None else data_dir() / "model_ad" / "pathology_long.csv"
    if not path.exists():
        raise InputError(f"{path}: MODEL-AD pathology table not found; set TRANSLOCUS_DATA.")
    raw = pd.read_csv(path, dtype={"individual_id": str, "specimen_id": str})
    return _model_ad_table(raw, path, model_group, measures, tissues, duplicates)


def _model_ad_table(
    raw: pd.DataFrame,
    path: Path,
    model_group: str | None = None,
    measures: list[str] | None = None,
    tissues: list[str] | None = None,
    duplicates: str = "mean",
) -> MeasureTable:
    frame = raw.rename(columns={"mouse_model_group": "model_group", "phenotype": "measure"})
    if model_group is not None:
        frame = frame[frame["model_group"] == model_group]
        if frame.empty:
            groups = ", ".join(sorted(raw["mouse_model_group"].unique()))
            raise InputError(f"{path}: no model group {model_group!r}; choose one of {groups}.")
    if measures is not None:
        unknown = sorted(set(measures) - set(frame["measure"]))
        if unknown:
            raise InputError(
                f"{path}, column 'phenotype': no measure(s) {', '.join(unknown)}; "
                f"available: {', '.join(sorted(frame['measure'].unique()))}."
            )
        frame = frame[frame["measure"].isin(measures)]
    if tissues is not None:
        frame = frame[frame["tissue"].isin(tissues)]
    keep = [
        "individual_id",
        "age",
        "measure",
        "tissue",
        "value",
        "units",
        "mouse_model",
        "sex",
        "model_group",
    ]
    return from_frame(
        frame[keep],
        name="model_ad",
        animal="individual_id",
        strata=("tissue",),
        duplicates=duplicates,
        source=str(path),
        provenance=MODEL_AD_PROVENANCE,
    )


_SLAM_MEASURES = {
    "bw": "body_weight",
    "fat": "fat_mass",
    "lean": "lean_mass",
    "fluid": "fluid_mass",
    "gluc": "glucose",
    "lact": "lactate",
}


def read_slam(
    folder: Path | str | None = None,
    *,
    measures: tuple[str, ...] = ("body_weight", "fat_mass", "lean_mass"),
    duplicates: str = "mean",
    max_fold: float | None = 4.0,
) -> MeasureTable:
    """Read SLAM repeated body composition (NMR) and glucose/lactate into one long table.

    Columns: ``animal`` (SLAM ``idno``), ``age`` (months from date of birth), ``measure``
    (``body_weight``, ``fat_mass``, ``lean_mass``, ``fluid_mass`` in g; ``glucose``,
    ``lactate`` in mg/dL and mmol/L), ``value``, ``sex``, ``strain`` (``B6`` or ``HET3``),
    ``cohort``, ``date``.

    Parameters
    ----------
    folder
        Folder with ``data_SLAM_*_c79b9c0.csv``; default ``data_dir()/slam``.
    measures
        Which measures to keep.
    duplicates
        Handling of repeated scans of an animal on one date (see module notes).
    max_fold
        Values more than ``max_fold`` times above or below the animal's own median of that
        measure are dropped as recording errors (SLAM has body weights of 2,535 g);
        ``None`` keeps everything. The count is given in ``notes``.
    """
    folder = Path(folder) if folder is not None else data_dir() / "slam"
    census_path = folder / "data_SLAM_census_c79b9c0.csv"
    if not census_path.exists():
        raise InputError(f"{census_path}: SLAM census not found; set TRANSLOCUS_DATA.")
    unknown = sorted(set(measures) - set(_SLAM_MEASURES.values()))
    if unknown:
        raise InputError(
            f"{folder}: unknown SLAM measure(s) {', '.join(unknown)}; "
            f"choose from {', '.join(_SLAM_MEASURES.values())}."
        )
    census = pd.read_csv(census_path)
    census = census.dropna(subset=["idno", "dob"]).drop_duplicates("idno", keep="first")
    census = census[["idno", "sex", "strain", "dob", "cohort"]]
    frames = []
    for file, columns in (
        ("data_SLAM_nmr_c79b9c0.csv", ("bw", "fat", "lean", "fluid")),
        ("data_SLAM_gluc_c79b9c0.csv", ("gluc", "lact")),
    ):
        wanted = [c for c in columns if _SLAM_MEASURES[c] in measures]
        if not wanted:
            continue
        raw = pd.read_csv(folder / file)
        long = raw.melt(id_vars=["idno", "date"], value_vars=wanted, var_name="measure")
        long["measure"] = long["measure"].map(_SLAM_MEASURES)
        frames.append(long.dropna(subset=["value"]))
    measured = pd.concat(frames, ignore_index=True)
    long = measured.merge(census, on="idno", how="inner")
    counts: list[Count] = []
    unmatched = len(measured) - len(long)
    if unmatched:
        counts.append(
            Count(
                "measurements dropped",
                unmatched,
                "animal not in the census or without a birth date",
            )
        )
    days = (pd.to_datetime(long["date"]) - pd.to_datetime(long["dob"])).dt.days
    long["age"] = days.to_numpy(dtype=float) / DAYS_PER_MONTH
    long = long.rename(columns={"idno": "animal"})
    long["animal"] = long["animal"].astype(int).astype(str)
    notes: list[str] = []
    if max_fold is not None:
        med = long.groupby(["animal", "measure"])["value"].transform("median")
        ratio = long["value"] / med
        bad = (long["value"] <= 0) | (ratio > max_fold) | (ratio < 1.0 / max_fold)
        if bad.any():
            notes.append(f"{int(bad.sum())} values beyond {max_fold}x the animal's median dropped")
            counts.append(
                Count(
                    "measurements dropped",
                    int(bad.sum()),
                    f"zero, or beyond {max_fold}x the animal's median (recording errors)",
                )
            )
        long = long.loc[~bad]
    cols = ["animal", "age", "measure", "value", "sex", "strain", "cohort", "date"]
    table = from_frame(
        long[cols],
        name="slam",
        duplicates=duplicates,
        source=str(folder),
        provenance=SLAM_PROVENANCE,
    )
    data = table.data.sort_values(["animal", "measure", "age"]).reset_index(drop=True)
    return MeasureTable(
        data,
        SLAM_PROVENANCE,
        str(folder),
        tuple(notes) + table.notes,
        tuple(counts) + table.counts,
    )
