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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance

__all__ = [
    "DAYS_PER_MONTH",
    "MODEL_AD_PROVENANCE",
    "SLAM_PROVENANCE",
    "MeasureTable",
    "from_frame",
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
_AGE_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class MeasureTable:
    """A long table of measurements with its provenance.

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
    """

    data: pd.DataFrame
    provenance: Provenance
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def measures(self) -> list[str]:
        return sorted(self.data["measure"].unique().tolist())

    @property
    def n_animals(self) -> int:
        return int(self.data["animal"].nunique())

    def select(self, **equals: object) -> MeasureTable:
        """Rows whose columns equal the given values (a list/tuple value means "any of")."""
        mask = np.ones(len(self.data), dtype=bool)
        for column, wanted in equals.items():
            if column not in self.data.columns:
                raise InputError(
                    f"{self.source or 'table'}: no column {column!r} to select on; "
                    f"columns are {', '.join(map(str, self.data.columns))}."
                )
            values = list(wanted) if isinstance(wanted, list | tuple | set) else [wanted]
            mask &= self.data[column].isin(values).to_numpy()
        return MeasureTable(
            self.data.loc[mask].reset_index(drop=True), self.provenance, self.source, self.notes
        )


def parse_ages(values: pd.Series, *, unit: str = "month", source: str = "data") -> np.ndarray:
    """Convert an age column to months.

    Numbers are read in ``unit``; strings may carry their own unit (``"4 months"``,
    ``"120 d"``, ``"2 wk"``). A column mixing units is refused, because a silent conversion
    of some rows is how ages go wrong.

    >>> parse_ages(pd.Series(["120 d", "60 d"])).round(3).tolist()
    [3.943, 1.971]
    >>> parse_ages(pd.Series([1, 2]), unit="year").tolist()
    [12.0, 24.0]
    """
    unit_key = unit.lower()
    if unit_key not in _UNIT_MONTHS:
        raise InputError(
            f"{source}: age unit {unit!r} is not known; use one of day, week, month, year."
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
                if text.strip().lower() not in ("nan", "", "na", "none"):
                    bad.append(row)
                units.append("")
                continue
            numbers[row] = float(match.group(1))
            units.append(match.group(2).lower())
        if bad:
            shown = ", ".join(str(r + 2) for r in bad[:5])
            raise InputError(
                f"{source}, column 'age': {len(bad)} values are not ages (rows {shown}); "
                "write a number, optionally followed by d, wk, month or year."
            )
        named = {u for u in units if u}
        factors = {_UNIT_MONTHS[u] for u in named}
        if len(factors) > 1:
            raise InputError(
                f"{source}, column 'age': ages are in mixed units ({', '.join(sorted(named))}); "
                "convert them to one unit before reading."
            )
        factor = factors.pop() if factors else _UNIT_MONTHS[unit_key]
        ages = numbers * factor
    if np.any(ages[np.isfinite(ages)] < 0):
        raise InputError(f"{source}, column 'age': ages must not be negative.")
    return np.asarray(ages, dtype=float)


def _resolve_duplicates(
    data: pd.DataFrame, keys: list[str], duplicates: str, source: str
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    dup = data.duplicated(keys, keep=False)
    if not dup.any():
        return data, notes
    n_dup = int(data.duplicated(keys).sum())
    if duplicates == "error":
        rows = ", ".join(str(r + 2) for r in np.flatnonzero(dup.to_numpy())[:5])
        raise InputError(
            f"{source}: {n_dup} duplicated visits (same {', '.join(keys)}; rows {rows}); "
            "remove them or read with duplicates='mean'."
        )
    if duplicates == "first":
        notes.append(f"{n_dup} duplicated visits: kept the first")
        return data.drop_duplicates(keys, keep="first"), notes
    if duplicates != "mean":
        raise InputError(f"{source}: duplicates={duplicates!r}; use 'mean', 'first' or 'error'.")
    others = [c for c in data.columns if c not in keys and c != "value"]
    agg: dict[str, str] = {"value": "mean", **{c: "first" for c in others}}
    out = data.groupby(keys, sort=False, dropna=False).agg(agg).reset_index()
    notes.append(f"{n_dup} duplicated visits averaged")
    return out[data.columns.tolist()], notes


def from_frame(
    frame: pd.DataFrame,
    *,
    name: str,
    license: str = "NOASSERTION",
    animal: str = "animal",
    age: str = "age",
    measure: str = "measure",
    value: str = "value",
    age_unit: str = "month",
    strata: tuple[str, ...] = (),
    duplicates: str = "mean",
    source: str = "",
    provenance: Provenance | None = None,
) -> MeasureTable:
    """Validate a long data frame and return a :class:`MeasureTable`.

    Parameters
    ----------
    frame
        One row per measurement.
    name, license
        Dataset name and SPDX licence for the provenance (ignored if ``provenance`` given).
    animal, age, measure, value
        Column names in ``frame``; renamed to the canonical names.
    age_unit
        Unit of numeric ages (``day``, ``week``, ``month``, ``year``).
    strata
        Extra columns that identify a distinct measurement (``tissue``).
    duplicates
        ``"mean"``, ``"first"`` or ``"error"`` for repeated (animal, age, measure, strata).
    """
    src = source or name
    missing = [c for c in (animal, age, measure, value) if c not in frame.columns]
    if missing:
        raise InputError(
            f"{src}: missing column(s) {', '.join(missing)}; the table needs animal, age, "
            "measure and value columns (name them with --animal/--age/--measure-column/--value)."
        )
    data = frame.rename(columns={animal: "animal", age: "age", measure: "measure", value: "value"})
    data = data.copy()
    data["animal"] = data["animal"].astype(str)
    data["measure"] = data["measure"].astype(str)
    data["age"] = parse_ages(data["age"], unit=age_unit, source=src)
    numeric = pd.to_numeric(data["value"], errors="coerce")
    bad = numeric.isna() & data["value"].notna()
    if bad.any():
        rows = ", ".join(str(r + 2) for r in np.flatnonzero(bad.to_numpy())[:5])
        raise InputError(
            f"{src}, column {value!r}: {int(bad.sum())} values are not numbers (rows {rows}); "
            "fix or blank them."
        )
    data["value"] = numeric.astype(float)
    data = data.dropna(subset=["value", "age"]).reset_index(drop=True)
    for column in strata:
        if column not in data.columns:
            raise InputError(f"{src}: stratum column {column!r} is not in the table.")
    data, notes = _resolve_duplicates(data, ["animal", "age", "measure", *strata], duplicates, src)
    prov = provenance or Provenance(name=name, license=license, source=src)
    return MeasureTable(data.reset_index(drop=True), prov, src, tuple(notes))


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
) -> MeasureTable:
    """Read a long CSV (animal, age, measure, value, group columns) into a table.

    A MODEL-AD ``pathology_long.csv`` is recognised by its columns and read with
    :func:`read_model_ad` (so it keeps its licence).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; give the path of a long CSV table.")
    head = pd.read_csv(path, nrows=2)
    if {"individual_id", "mouse_model", "phenotype", "tissue"} <= set(head.columns):
        return read_model_ad(path, duplicates=duplicates)
    frame = pd.read_csv(path)
    return from_frame(
        frame,
        name=name or path.stem,
        license=license,
        animal=animal,
        age=age,
        measure=measure,
        value=value,
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
    long = pd.concat(frames, ignore_index=True).merge(census, on="idno", how="inner")
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
    return MeasureTable(data, SLAM_PROVENANCE, str(folder), tuple(notes) + table.notes)
