"""Tumour-volume studies: the :class:`TreatmentStudy` data type and its readers.

A treatment study is a long table with one row per measurement of one tumour in one
animal: ``model`` (the PDX model or cell line), ``arm`` (treatment), ``animal``, ``day``
(days since the start of treatment), ``volume`` (mm³) and, optionally, ``body_weight`` (g),
``tumor_type`` and ``study``. One *series* is the time course of one animal in one arm of one
model; the series key is ``(model, arm, animal)``.

Readers
-------
- :func:`read_long_table` — any long CSV/TSV/parquet table, with a column mapping.
- :func:`read_pdxe` — the Novartis PDX Encyclopedia layout (Gao et al. 2015, Nat Med
  21:1318): ``Tumor, ID, Type, Arms, Times, Volume`` plus the matching body-weight file;
  one animal per model per arm, control arm ``untreated``; also the replicate example
  designs ``TAN`` (several tumours, many animals per arm) and ``oneAN`` (one tumour).
- :func:`read_jax` — the layout of the JAX tumour-volume app (``Contributor, Arms, Times,
  Volume, Study, ID, Tumor, Disease_Type[, Body_Weight]``; control arm ``Control``).
- :func:`read_xeva` — the Xeva breast-cancer subset of the PDXE (``experiment_tumor_volume``
  plus ``exp_design_batches``).
- :func:`read_study` — picks one of the above from the file's columns.

Input rules (checked once, here)
--------------------------------
- Missing, non-numeric or infinite ``day``/``volume`` and negative volumes raise
  :class:`InputError` naming the file, the rows and the column; ``missing="drop"``
  (``--missing drop``) drops rows with no volume and counts them.
- A series whose first volume is 0 has no baseline for relative change: ``InputError``,
  unless ``zero_baseline="drop"`` (``--zero-baseline drop``) drops the series' measurements
  before its first positive volume (counted).
- Repeated days within a series raise ``InputError`` unless ``duplicates="mean"`` (average
  them) or ``"first"``/``"last"`` (``--duplicates``); merged rows are counted.
- Unsorted days are sorted (documented, not an error).
- Volumes in cm³ (or ml) and days in weeks are converted with ``volume_unit="cm3"`` and
  ``day_unit="week"`` (``--volume-unit``, ``--day-unit``) before these checks.
- A volume column whose values look like body weights (all below 100 with median below 60)
  raises ``InputError`` unless ``check_volume_range=False``.
- Body weights outside (0, 100] g are set missing; the count is kept in ``notes``.
- What a reader changed is also kept as counts (``TreatmentStudy.counts``: what, how many,
  why) for ``run.json``.
- A series need not start at day 0: metrics use its first measurement as the baseline
  (as the JAX app and Xeva do) and report ``baseline_day``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError, OptionError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.core.table import USER_DATA, ProvenanceTable, provenance_for
from translocus.core.tables import parse_columns, read_table, resolve_columns

__all__ = [
    "COLUMNS",
    "DAY_UNITS",
    "VOLUME_UNITS",
    "TreatmentStudy",
    "from_frame",
    "pdxe_provenance",
    "read_jax",
    "read_long_table",
    "read_pdxe",
    "read_study",
    "read_xeva",
]

#: Canonical columns of a treatment study table, with meaning and unit.
COLUMNS: dict[str, str] = {
    "model": "PDX model / tumour / cell line (str)",
    "arm": "treatment arm (str); the control arm is named by TreatmentStudy.control",
    "animal": "animal identifier (str), unique within model × arm",
    "day": "days since start of treatment (float)",
    "volume": "tumour volume (mm³, float ≥ 0)",
    "body_weight": "body weight (g, float, optional)",
    "tumor_type": "tumour type (str, optional)",
    "study": "study identifier (str, optional)",
}
_KEY = ["model", "arm", "animal"]
_GPL = "GPL-3.0-only"

Duplicates = Literal["error", "mean", "first", "last"]
Missing = Literal["error", "drop"]
ZeroBaseline = Literal["error", "drop"]

#: Volume units a table may use, and their factor to mm³.
VOLUME_UNITS: dict[str, float] = {"mm3": 1.0, "cm3": 1000.0, "ml": 1000.0}
#: Day units a table may use, and their factor to days.
DAY_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0}

#: A count of rows (or values) a reader dropped, merged or changed: (what, n, why).
Count = tuple[str, int, str]


@dataclass(frozen=True)
class TreatmentStudy(ProvenanceTable):
    """Tumour-volume records of a treatment study.

    A :class:`~translocus.core.table.ProvenanceTable` whose table is :attr:`records` (also
    :attr:`data`): ``units`` (``day`` in days, ``volume`` in mm³, ``body_weight`` in g),
    ``id_column`` (``model``: the PDX model; animals are nested in model and arm),
    ``roles`` (those of ``respond``), :meth:`select` and :attr:`n_rows` come from there.

    Attributes
    ----------
    records
        Long table with the columns of :data:`COLUMNS` (``body_weight``, ``tumor_type``,
        ``study`` optional), sorted by ``model, arm, animal, day``; one row per measurement.
    control
        Name of the control arm (``"untreated"`` for the PDXE), or ``None``.
    provenance
        Source, citation and licence of the data.
    source
        File the records were read from (used in error messages).
    notes
        What the reader changed or noticed (sorted days, dropped rows, …).
    counts
        The same changes as counts ``(what, n, why)``, e.g. ``("rows dropped", 3, "no
        volume")``, plus the rows read.

    Examples
    --------
    >>> df = pd.DataFrame({"model": "M1", "arm": ["ctl"] * 3 + ["drug"] * 3, "animal": "a1",
    ...                    "day": [0, 7, 14] * 2, "volume": [100, 200, 400, 100, 90, 80]})
    >>> study = TreatmentStudy.from_frame(df, control="ctl")
    >>> study.n_series, study.arms
    (2, ('ctl', 'drug'))
    """

    command: ClassVar[str] = "respond"
    default_units: ClassVar[Mapping[str, str]] = {"day": "day", "volume": "mm3", "body_weight": "g"}
    data_field: ClassVar[str] = "records"

    records: pd.DataFrame
    control: str | None = None
    provenance: Provenance = field(default_factory=lambda: Provenance(name="unnamed"))
    source: str = "<table>"
    notes: tuple[str, ...] = ()
    counts: tuple[Count, ...] = ()
    id_column: str = field(default="model", kw_only=True)

    @property
    def data(self) -> pd.DataFrame:
        """The records (the name every :class:`~translocus.core.table.ProvenanceTable` uses)."""
        return self.records

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        control: str | None = None,
        provenance: Provenance | None = None,
        source: str = "<table>",
        duplicates: Duplicates = "error",
        missing: Missing = "error",
        check_volume_range: bool = True,
        license: str | None = None,
        name: str | None = None,
    ) -> TreatmentStudy:
        """Validate a table with canonical column names and build a study.

        ``license`` (an SPDX licence, ``"MIT"``) or ``provenance`` says under what terms
        the data may be used; without either the licence is ``NOASSERTION``. For a table
        whose columns are named otherwise, see :func:`from_frame` (``columns=``).
        """
        if license is not None or provenance is not None or name is not None:
            provenance = provenance_for(
                license=license, provenance=provenance, name=name, source=source
            )
        records, notes, counts = _validate(
            frame,
            source=source,
            duplicates=duplicates,
            missing=missing,
            check_volume_range=check_volume_range,
        )
        return cls(
            records=records,
            control=control,
            provenance=provenance or Provenance(name=Path(source).stem or "table"),
            source=source,
            notes=tuple(notes),
            counts=tuple(counts),
        )

    # -- sizes and views -------------------------------------------------------------------
    @property
    def models(self) -> tuple[str, ...]:
        """The PDX models (or cell lines), in order of first appearance."""
        return tuple(pd.unique(self.records["model"]))

    @property
    def arms(self) -> tuple[str, ...]:
        """The treatment arms, sorted."""
        return tuple(sorted(pd.unique(self.records["arm"])))

    @property
    def n_series(self) -> int:
        """Number of series (one animal in one arm of one model)."""
        return int(self.series().shape[0])

    @property
    def n_models(self) -> int:
        """Number of models."""
        return len(self.models)

    def series(self) -> pd.DataFrame:
        """One row per series: key columns, ``tumor_type``, ``n_obs``, first and last day."""
        rec = self.records
        codes = self.series_codes()
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        ends = np.r_[starts[1:], len(codes)] - 1
        cols = _KEY + [c for c in ("tumor_type", "study") if c in rec]
        out = rec.iloc[starts][cols].reset_index(drop=True)
        day = rec["day"].to_numpy()
        out["n_obs"] = ends - starts + 1
        out["first_day"] = day[starts]
        out["last_day"] = day[ends]
        return out

    def series_codes(self) -> np.ndarray:
        """Integer series number of each record (records are sorted, so codes increase)."""
        return self._codes

    @cached_property
    def _codes(self) -> np.ndarray:
        rec = self.records
        change = np.zeros(len(rec), dtype=bool)
        if len(rec):
            change[0] = True
        for c in _KEY:
            values = rec[c].to_numpy()
            change[1:] |= values[1:] != values[:-1]
        codes = np.cumsum(change) - 1
        codes.setflags(write=False)
        return codes

    def models_without_control(self) -> list[str]:
        """Models that have no arm named :attr:`control`."""
        if self.control is None:
            return list(self.models)
        has = set(self.records.loc[self.records["arm"] == self.control, "model"])
        return [m for m in self.models if m not in has]

    def require_control(self) -> str:
        """Return the control arm name, or raise ``InputError`` if the study has none."""
        arms = self.arms
        if self.control is None or self.control not in arms:
            shown = ", ".join(arms[:12]) + (" …" if len(arms) > 12 else "")
            raise InputError(
                f"{self.source}, column 'arm': no control arm named {self.control!r} "
                f"(arms: {shown}); pass the control arm's name (e.g. --control untreated)."
            )
        return self.control

    def subset(
        self,
        *,
        models: Sequence[str] | None = None,
        arms: Sequence[str] | None = None,
        tumor_types: Sequence[str] | None = None,
    ) -> TreatmentStudy:
        """A new study with only the given models / arms / tumour types."""
        rec = self.records
        keep = np.ones(len(rec), dtype=bool)
        if models is not None:
            keep &= rec["model"].isin(list(models)).to_numpy()
        if arms is not None:
            keep &= rec["arm"].isin(list(arms)).to_numpy()
        if tumor_types is not None and "tumor_type" in rec:
            keep &= rec["tumor_type"].isin(list(tumor_types)).to_numpy()
        return replace(self, records=rec.loc[keep].reset_index(drop=True))

    def with_control(self, control: str) -> TreatmentStudy:
        """The same study with a different control arm name."""
        return replace(self, control=control)

    def to_xarray(self) -> xr.Dataset:
        """Padded ``[series, obs]`` arrays of ``day`` and ``volume`` as an ``xarray.Dataset``.

        Shorter series are padded with NaN; the series coordinates carry the key columns.
        """
        codes = self.series_codes()
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        pos = np.arange(len(codes)) - starts[codes]
        n_series, width = len(starts), int(pos.max()) + 1 if len(pos) else 0
        day = np.full((n_series, width), np.nan)
        vol = np.full((n_series, width), np.nan)
        day[codes, pos] = self.records["day"].to_numpy()
        vol[codes, pos] = self.records["volume"].to_numpy()
        info = self.series()
        coords = {c: ("series", info[c].to_numpy()) for c in _KEY}
        return xr.Dataset(
            {"day": (("series", "obs"), day), "volume": (("series", "obs"), vol)},
            coords=coords,
            attrs={"control": self.control or "", "license": self.provenance.license},
        )

    def summary(self) -> pd.DataFrame:
        """Counts of models, arms, animals, series and measurements (one-row table)."""
        rec = self.records
        return pd.DataFrame(
            {
                "models": [self.n_models],
                "arms": [len(self.arms)],
                "series": [self.n_series],
                "measurements": [len(rec)],
                "control": [self.control],
                "license": [self.provenance.license],
            }
        )


# -- validation --------------------------------------------------------------------------
def _rows(idx: np.ndarray | pd.Index, limit: int = 5) -> str:
    """File row numbers (header = row 1) of 0-based record positions, abbreviated."""
    vals = [int(i) + 2 for i in list(idx)[:limit]]
    more = len(idx) - limit
    return ", ".join(map(str, vals)) + (f" and {more} more" if more > 0 else "")


def _validate(
    frame: pd.DataFrame,
    *,
    source: str,
    duplicates: Duplicates,
    missing: Missing,
    check_volume_range: bool,
    column_names: Mapping[str, str] | None = None,
    volume_unit: str = "mm3",
    day_unit: str = "day",
    zero_baseline: ZeroBaseline = "error",
) -> tuple[pd.DataFrame, list[str], list[Count]]:
    """Check a canonical-column table and return it cleaned, sorted and typed.

    Also returns the notes and counts of what was changed.
    """
    names = dict(column_names or {})

    def col(c: str) -> str:
        return names.get(c, c)

    lacking = [c for c in ("model", "arm", "animal", "day", "volume") if c not in frame]
    if lacking:
        raise InputError(
            f"{source}: missing column(s) {', '.join(repr(col(c)) for c in lacking)}; "
            "the table needs model, arm, animal, day and volume columns: map yours with "
            "--columns, e.g. --columns model=Tumor,arm=Treatment,day=Day,volume=Volume."
        )
    notes: list[str] = []
    counts: list[Count] = [("rows read", len(frame), source)]
    # The index stays the 0-based data row of the file until the rows are sorted.
    df = frame.reset_index(drop=True).copy()
    for c in ("model", "arm", "animal"):
        bad = df[c].isna().to_numpy()
        if bad.any():
            raise InputError(
                f"{source}, column {col(c)!r}: {int(bad.sum())} empty value(s) (rows "
                f"{_rows(np.flatnonzero(bad))}); fill in the {c} name."
            )
        df[c] = df[c].astype(str)
    for c in ("day", "volume"):
        values = pd.to_numeric(df[c], errors="coerce")
        not_number = values.isna() & df[c].notna()
        if not_number.any():
            unit = "days since treatment start" if c == "day" else "volume in mm³"
            raise InputError(
                f"{source}, column {col(c)!r}: {int(not_number.sum())} value(s) are not "
                f"numbers (rows {_rows(np.flatnonzero(not_number))}); write plain numbers "
                f"({unit})."
            )
        values = values.astype(float)
        infinite = np.isinf(values.to_numpy())
        if infinite.any():
            raise InputError(
                f"{source}, column {col(c)!r}: {int(infinite.sum())} infinite value(s) (rows "
                f"{_rows(np.flatnonzero(infinite))}); write finite numbers."
            )
        df[c] = values
    if DAY_UNITS.get(day_unit, 1.0) != 1.0:
        df["day"] = df["day"] * DAY_UNITS[day_unit]
    if VOLUME_UNITS.get(volume_unit, 1.0) != 1.0:
        df["volume"] = df["volume"] * VOLUME_UNITS[volume_unit]
    no_day = df["day"].isna().to_numpy()
    if no_day.any():
        raise InputError(
            f"{source}, column {col('day')!r}: {int(no_day.sum())} missing day(s) (rows "
            f"{_rows(np.flatnonzero(no_day))}); give every measurement its day."
        )
    no_vol = df["volume"].isna().to_numpy()
    if no_vol.any():
        if missing == "error":
            raise InputError(
                f"{source}, column {col('volume')!r}: {int(no_vol.sum())} missing volume(s) "
                f"(rows {_rows(np.flatnonzero(no_vol))}); remove those rows or pass "
                "--missing drop to drop them."
            )
        notes.append(f"dropped {int(no_vol.sum())} rows with no volume")
        counts.append(("rows dropped", int(no_vol.sum()), "no volume (--missing drop)"))
        df = df.loc[~no_vol]
    negative = (df["volume"] < 0).to_numpy()
    if negative.any():
        raise InputError(
            f"{source}, column {col('volume')!r}: {int(negative.sum())} negative volume(s) "
            f"(rows {_rows(df.index[negative])}); volumes are mm³ ≥ 0, correct them."
        )
    file_row = df.index.to_numpy()
    df = df.reset_index(drop=True)
    if check_volume_range and len(df):
        vmax, vmed = float(df["volume"].max()), float(df["volume"].median())
        if vmax < 100.0 and vmed < 60.0:
            shown = f"{df['volume'].min():g} and {vmax:g} (median {vmed:g})"
            if volume_unit == "mm3":
                raise InputError(
                    f"{source}, column {col('volume')!r}: values lie between {shown}, which "
                    "looks like body weight in grams rather than tumour volume in mm³; map "
                    "the volume column with --columns volume=NAME, or give --volume-unit "
                    "cm3 if these are volumes in cm³."
                )
            raise InputError(
                f"{source}, column {col('volume')!r}: values lie between {shown} mm³ after "
                f"converting from {volume_unit}, too small for tumour volumes; check the "
                "column (--columns volume=NAME) and --volume-unit."
            )
    if "body_weight" in df:
        bw = pd.to_numeric(df["body_weight"], errors="coerce").astype(float)
        implausible = (bw <= 0) | (bw > 100)
        if implausible.any():
            notes.append(
                f"set {int(implausible.sum())} implausible body weight(s) (≤ 0 or > 100 g) "
                "to missing"
            )
            counts.append(("body weights dropped", int(implausible.sum()), "outside (0, 100] g"))
        df["body_weight"] = bw.where(~implausible)
    for c in ("tumor_type", "study"):
        if c in df:
            df[c] = df[c].astype(str)

    order = np.lexsort(
        (
            df["day"].to_numpy(),
            df["animal"].to_numpy(),
            df["arm"].to_numpy(),
            df["model"].to_numpy(),
        )
    )
    if not np.array_equal(order, np.arange(len(df))):
        # Rows of one series out of day order are the case worth saying; grouping order
        # alone (series interleaved) is not.
        back = df.groupby(_KEY, sort=False)["day"].diff().to_numpy() < 0
        if back.any():
            notes.append(f"sorted days that were out of order ({int(back.sum())} rows)")
    row_in_file = file_row[order]
    df = df.iloc[order].reset_index(drop=True)

    dup = df.duplicated(_KEY + ["day"], keep=False).to_numpy()
    if dup.any():
        if duplicates == "error":
            first = df.loc[dup].iloc[0]
            raise InputError(
                f"{source}, column {col('day')!r}: {int(dup.sum())} rows repeat a day within a "
                f"series (rows {_rows(np.sort(row_in_file[dup]))}; first: model "
                f"{first['model']}, arm {first['arm']}, animal {first['animal']}, day "
                f"{first['day']:g}); remove the repeats or pass --duplicates mean (or first, last) "
                "to merge them."
            )
        agg: dict[str, str] = {
            c: ("mean" if duplicates == "mean" else duplicates)
            for c in df.columns
            if c not in _KEY + ["day"]
        }
        for c in ("tumor_type", "study"):
            if c in agg:
                agg[c] = "first"
        n_before = len(df)
        df = df.groupby(_KEY + ["day"], sort=True, as_index=False).agg(agg)
        notes.append(f"merged {n_before - len(df)} repeated day(s) by {duplicates}")
        counts.append(
            (
                "rows merged",
                n_before - len(df),
                f"a repeated day within a series, merged by --duplicates {duplicates}",
            )
        )

    first_row = np.zeros(len(df), dtype=bool)
    if len(df):
        first_row[0] = True
    for c in _KEY:
        values = df[c].to_numpy()
        first_row[1:] |= values[1:] != values[:-1]
    zero_base = first_row & (df["volume"].to_numpy() <= 0)
    if zero_base.any() and zero_baseline == "drop":
        # Measurements before a series' first positive volume (a tumour not yet measurable).
        series = np.cumsum(first_row) - 1
        seen = pd.Series(df["volume"].to_numpy() > 0).groupby(series).cummax().to_numpy()
        lead = ~seen
        gone = int(len(np.unique(series)) - len(np.unique(series[seen])))
        notes.append(
            f"dropped {int(lead.sum())} measurements of volume 0 before the first positive "
            f"volume of {int(zero_base.sum())} series ({gone} series never positive)"
        )
        counts.append(
            (
                "rows dropped",
                int(lead.sum()),
                "volume 0 before the series' first positive volume (--zero-baseline drop)",
            )
        )
        df = df.loc[seen].reset_index(drop=True)
    elif zero_base.any():
        bad = df.loc[zero_base].iloc[0]
        raise InputError(
            f"{source}, column {col('volume')!r}: {int(zero_base.sum())} series start at volume "
            f"0 (first: model {bad['model']}, arm {bad['arm']}, animal {bad['animal']}, day "
            f"{bad['day']:g}), so change from baseline is undefined; drop those series or "
            "start them at the first positive measurement (--zero-baseline drop does that)."
        )
    return df, notes, counts


# -- readers -----------------------------------------------------------------------------
def _read_table(path: Path) -> pd.DataFrame:
    """A CSV/TSV/parquet table; every way the file can be unreadable is one InputError."""
    path = Path(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    return read_table(path, sep=sep)


def pdxe_provenance(description: str = "") -> Provenance:
    """Provenance of the Novartis PDX Encyclopedia tables (licence per the data manifest)."""
    return Provenance(
        name="pdxe",
        license=_GPL,
        source="SCBIT-YYLab/DRAP @ 765fcdf (Gao et al. 2015 supplementary table)",
        citation="Gao H et al. (2015) High-throughput screening using patient-derived tumor "
        "xenografts to predict clinical trial drug response. Nat Med 21:1318-1325.",
        retrieved="2026-11",
        description=description or "PDX Encyclopedia tumour volumes (mm³) and body weights",
    )


def from_frame(
    frame: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    license: str | None = None,
    provenance: Provenance | None = None,
    name: str | None = None,
    control: str | None = None,
    defaults: Mapping[str, str] | None = None,
    duplicates: Duplicates = "error",
    missing: Missing = "error",
    check_volume_range: bool = True,
    volume_unit: str = "mm3",
    day_unit: str = "day",
    zero_baseline: ZeroBaseline = "error",
    source: str = "",
) -> TreatmentStudy:
    """A :class:`TreatmentStudy` from a plain data frame of tumour volumes.

    Parameters
    ----------
    frame
        One row per measurement of one tumour.
    columns
        ``{role: column}`` (or ``"day=Day,volume=Volume"``, as ``--columns`` on the
        command line) for columns not named as their role; the roles are those of
        ``respond`` (``model``, ``arm``, ``animal``, ``day``, ``volume``, ``tumor_type``).
    license
        SPDX licence of the data (``"MIT"``); without ``license`` or ``provenance`` the
        licence is recorded as ``NOASSERTION`` and training (the response predictor)
        refuses the study.
    provenance
        The data's full :class:`~translocus.core.provenance.Provenance` (instead of
        ``license``).
    name
        Dataset name for the provenance (default: ``"user data"``).
    control
        Name of the control arm.
    defaults
        Constant values for absent key columns (``{"model": "A375"}``); a table without
        a model column is one model named after the dataset.
    duplicates, missing, check_volume_range, volume_unit, day_unit, zero_baseline
        As for :func:`read_long_table` (see the module's input rules).

    Examples
    --------
    >>> df = pd.DataFrame({"Tumor": "M1", "Treatment": ["ctl"] * 2 + ["drug"] * 2,
    ...                    "Day": [0, 7] * 2, "Volume": [100, 200, 100, 90]})
    >>> study = from_frame(df, columns="model=Tumor,arm=Treatment,day=Day,volume=Volume",
    ...                    license="MIT", control="ctl")
    >>> study.n_series, study.provenance.license
    (2, 'MIT')
    """
    name = name or (provenance.name if provenance is not None else USER_DATA)
    src = source or name
    prov = provenance_for(license=license, provenance=provenance, name=name, source=src)
    mapped = parse_columns(columns, command="respond")
    mapping = resolve_columns(frame, command="respond", columns=mapped, source=src, required=())
    fill = dict(defaults or {})
    if "model" not in mapping and "model" not in fill:
        fill["model"] = name
    return _long_table(
        frame,
        Path(src),
        columns=mapping,
        control=control,
        provenance=prov,
        defaults=fill,
        duplicates=duplicates,
        missing=missing,
        check_volume_range=check_volume_range,
        volume_unit=volume_unit,
        day_unit=day_unit,
        zero_baseline=zero_baseline,
    )


def read_long_table(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    control: str | None = None,
    provenance: Provenance | None = None,
    defaults: Mapping[str, str] | None = None,
    duplicates: Duplicates = "error",
    missing: Missing = "error",
    check_volume_range: bool = True,
    volume_unit: str = "mm3",
    day_unit: str = "day",
    zero_baseline: ZeroBaseline = "error",
) -> TreatmentStudy:
    r"""Read a long tumour-volume table (one row per measurement).

    Parameters
    ----------
    path
        CSV, TSV or parquet file.
    columns
        Mapping canonical name → column name in the file, e.g.
        ``{"model": "Tumor", "arm": "Arms", "animal": "ID", "day": "Times"}``.
        Columns already named canonically need no entry.
    control
        Name of the control arm.
    provenance
        Source and licence; an unknown-licence record (``NOASSERTION``) if not given, which the
        licence gate refuses for training.
    defaults
        Constant values for absent key columns, e.g. ``{"model": "A375"}`` for a table of a
        single cell line.
    duplicates, missing, check_volume_range, zero_baseline
        See the module's input rules.
    volume_unit, day_unit
        Units of the table's volumes (``mm3``, ``cm3``, ``ml``) and days (``day``,
        ``week``); the study holds mm³ and days.

    Returns
    -------
    TreatmentStudy

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
    >>> _ = p.write_text("ID,Day,Volume,Treatment\n1,0,100,A\n1,7,180,A\n2,0,90,B\n2,7,60,B\n")
    >>> s = read_long_table(p, columns={"animal": "ID", "day": "Day", "volume": "Volume",
    ...                     "arm": "Treatment"}, defaults={"model": "A375"}, control="A")
    >>> s.n_series
    2
    """
    path = Path(path)
    raw = _read_table(path)
    return _long_table(
        raw,
        path,
        columns=columns,
        control=control,
        provenance=provenance,
        defaults=defaults,
        duplicates=duplicates,
        missing=missing,
        check_volume_range=check_volume_range,
        volume_unit=volume_unit,
        day_unit=day_unit,
        zero_baseline=zero_baseline,
    )


def _check_units(volume_unit: str, day_unit: str) -> None:
    if volume_unit not in VOLUME_UNITS:
        raise OptionError("volume_unit", volume_unit, f"use one of {', '.join(VOLUME_UNITS)}")
    if day_unit not in DAY_UNITS:
        raise OptionError("day_unit", day_unit, f"use one of {', '.join(DAY_UNITS)}")


def _long_table(
    raw: pd.DataFrame,
    path: Path,
    *,
    columns: Mapping[str, str] | None,
    control: str | None,
    provenance: Provenance | None,
    defaults: Mapping[str, str] | None,
    duplicates: Duplicates,
    missing: Missing,
    check_volume_range: bool,
    volume_unit: str,
    day_unit: str,
    zero_baseline: ZeroBaseline = "error",
) -> TreatmentStudy:
    """A study from a long table already read: ``columns`` maps canonical names to its own."""
    _check_units(volume_unit, day_unit)
    mapping = dict(columns or {})
    missing_src = [src for src in mapping.values() if src not in raw.columns]
    if missing_src:
        raise InputError(
            f"{path}: column(s) {', '.join(map(repr, missing_src))} not found (columns: "
            f"{', '.join(map(str, raw.columns))}); fix the column mapping."
        )
    frame = pd.DataFrame({canon: raw[src] for canon, src in mapping.items()})
    for c in raw.columns:
        if c in COLUMNS and c not in frame:
            frame[c] = raw[c]
    for canon, value in (defaults or {}).items():
        if canon not in frame:
            frame[canon] = value
    if "animal" not in frame and "model" in frame and "arm" in frame:
        # One animal per model × arm (the PDXE design) needs no animal column.
        frame["animal"] = "1"
    records, notes, counts = _validate(
        frame,
        source=str(path),
        duplicates=duplicates,
        missing=missing,
        check_volume_range=check_volume_range,
        column_names=mapping,
        volume_unit=volume_unit,
        day_unit=day_unit,
        zero_baseline=zero_baseline,
    )
    prov = provenance or Provenance(name=path.stem, source=str(path))
    return TreatmentStudy(records, control, prov, str(path), tuple(notes), tuple(counts))


def read_pdxe(
    path: str | Path | None = None,
    *,
    design: Literal["TAone", "TAN", "oneAN"] = "TAone",
    body_weight: bool = True,
    control: str | None = None,
    duplicates: Duplicates = "error",
    missing: Missing = "error",
    zero_baseline: ZeroBaseline = "error",
) -> TreatmentStudy:
    """Read the PDX Encyclopedia tumour volumes (Gao et al. 2015) and body weights.

    Parameters
    ----------
    path
        The volume file (``TAone.volume.data.csv``) or its folder; default: the shared
        data folder's ``pdx/pdxe``.
    design
        ``"TAone"`` — the PDXE (277 models, one animal per model per arm, control
        ``untreated``); ``"TAN"`` / ``"oneAN"`` — the replicate example designs (control
        ``Control``).
    body_weight
        Also read the matching ``*.bw.data.csv`` file when present.
    control
        Control arm name; default ``untreated`` (TAone) or ``Control``.
    duplicates, missing, zero_baseline
        See the module's input rules.

    Notes
    -----
    In the PDXE, an animal is identified by ``ID``; one ID (2771) carries two arms, so the
    series key ``(model, arm, animal)`` gives 4,712 series from 4,711 IDs.

    Examples
    --------
    >>> s = read_pdxe(design="oneAN")  # doctest: +SKIP
    >>> s.control  # doctest: +SKIP
    'Control'
    """
    base = Path(path) if path is not None else data_dir() / "pdx" / "pdxe"
    vol_path = base / f"{design}.volume.data.csv" if base.is_dir() else base
    raw = _read_table(vol_path)
    mapping = {"arm": "Arms", "animal": "ID", "day": "Times", "volume": "Volume"}
    if "Tumor" in raw:
        mapping["model"] = "Tumor"
    if "Type" in raw:
        mapping["tumor_type"] = "Type"
    absent = [c for c in mapping.values() if c not in raw]
    if absent:
        raise InputError(
            f"{vol_path}: column(s) {', '.join(map(repr, absent))} missing; a PDXE volume "
            "file has Tumor, ID, Type, Arms, Times, Volume; map other columns with --columns."
        )
    frame = pd.DataFrame({canon: raw[src] for canon, src in mapping.items()})
    if "model" not in frame:
        frame["model"] = "Tumor_1"
    extra_notes = []
    extra_counts: list[Count] = []
    if "tumor_type" in frame and frame["tumor_type"].isna().any():
        # A few PDXE rows lack the tumour type that the model's other rows give.
        n_missing = int(frame["tumor_type"].isna().sum())
        by_model = frame.dropna(subset=["tumor_type"]).groupby("model")["tumor_type"].first()
        frame["tumor_type"] = frame["tumor_type"].fillna(frame["model"].map(by_model))
        frame["tumor_type"] = frame["tumor_type"].fillna("unknown")
        extra_notes.append(f"filled {n_missing} missing tumour types from the model's other rows")
        extra_counts.append(("tumour types filled", n_missing, "taken from the model's other rows"))
    bw_path = vol_path.with_name(vol_path.name.replace(".volume.", ".bw."))
    if body_weight and bw_path != vol_path and bw_path.exists():
        bw = _read_table(bw_path)
        keys = [k for k in ("Tumor", "ID", "Arms", "Times") if k in bw and k in raw]
        merged = raw[keys].merge(
            bw[keys + ["BodyWeight"]].drop_duplicates(keys), on=keys, how="left"
        )
        frame["body_weight"] = merged["BodyWeight"].to_numpy()
    records, notes, counts = _validate(
        frame,
        source=str(vol_path),
        duplicates=duplicates,
        missing=missing,
        check_volume_range=True,
        column_names=mapping,
        zero_baseline=zero_baseline,
    )
    ctl = control or ("untreated" if design == "TAone" else "Control")
    prov = pdxe_provenance(f"PDX Encyclopedia {design} design: tumour volumes and body weights")
    return TreatmentStudy(
        records, ctl, prov, str(vol_path), tuple(extra_notes + notes), tuple(counts + extra_counts)
    )


def read_jax(
    path: str | Path,
    *,
    control: str = "Control",
    provenance: Provenance | None = None,
    duplicates: Duplicates = "error",
    missing: Missing = "error",
    zero_baseline: ZeroBaseline = "error",
) -> TreatmentStudy:
    """Read a table in the JAX tumour-volume app layout.

    Columns: ``Contributor, Arms, Times, Volume, Study, ID, Tumor, Disease_Type`` and
    optionally ``Body_Weight``. The model is ``Tumor``; when one tumour appears in several
    studies the model becomes ``Study/Tumor`` so that each study keeps its own control arm.
    The JAX app requires an arm named ``Control``; its first measurement need not be day 0.
    """
    path = Path(path)
    raw = _read_table(path)
    need = ["Arms", "Times", "Volume", "Study", "ID", "Tumor"]
    absent = [c for c in need if c not in raw]
    if absent:
        raise InputError(
            f"{path}: column(s) {', '.join(map(repr, absent))} missing; the JAX layout has "
            "Contributor, Arms, Times, Volume, Study, ID, Tumor, Disease_Type[, Body_Weight]."
        )
    tumor = raw["Tumor"].astype(str)
    per_tumor = raw.groupby("Tumor")["Study"].nunique()
    shared = tumor.isin(per_tumor[per_tumor > 1].index.astype(str))
    model = tumor.where(~shared, raw["Study"].astype(str) + "/" + tumor)
    frame = pd.DataFrame(
        {
            "model": model,
            "arm": raw["Arms"],
            "animal": raw["ID"],
            "day": raw["Times"],
            "volume": raw["Volume"],
            "study": raw["Study"],
        }
    )
    if "Disease_Type" in raw:
        frame["tumor_type"] = raw["Disease_Type"].fillna("NA")
    if "Body_Weight" in raw:
        frame["body_weight"] = raw["Body_Weight"]
    mapping = {
        "model": "Tumor",
        "arm": "Arms",
        "animal": "ID",
        "day": "Times",
        "volume": "Volume",
    }
    records, notes, counts = _validate(
        frame,
        source=str(path),
        duplicates=duplicates,
        missing=missing,
        check_volume_range=True,
        column_names=mapping,
        zero_baseline=zero_baseline,
    )
    prov = provenance or Provenance(
        name=path.stem,
        license=_GPL,
        source="MikeWLloyd/tumor-volume-shiny @ 96496ad (example data; origin undocumented)",
        description="PDX tumour volumes in the JAX tumour-volume app layout",
    )
    return TreatmentStudy(records, control, prov, str(path), tuple(notes), tuple(counts))


def read_xeva(path: str | Path | None = None) -> TreatmentStudy:
    """Read the Xeva breast-cancer PDXE subset (Mer et al. 2019) as a study.

    ``experiment_tumor_volume.csv`` holds one series per Xeva ``model.id`` (one animal);
    ``exp_design_batches.csv`` says which ``model.id`` is the control and which the treated
    animal of each batch ``<patient>.<drug>``. The PDX model is the patient id (``X-1004``),
    the arm the drug, the control arm ``untreated``.
    """
    base = Path(path) if path is not None else data_dir() / "pdx" / "xeva_brca"
    vol_path = base / "experiment_tumor_volume.csv"
    raw = _read_table(vol_path)
    design = _read_table(base / "exp_design_batches.csv")
    models = _read_table(base / "model.csv")
    for table, file, need in (
        (raw, vol_path, ("model.id", "time", "volume")),
        (design, base / "exp_design_batches.csv", ("batch", "role", "model.id")),
        (models, base / "model.csv", ("model.id", "patient.id")),
    ):
        absent = [c for c in need if c not in table]
        if absent:
            raise InputError(
                f"{file}: column(s) {', '.join(map(repr, absent))} missing; the Xeva layout "
                f"has {', '.join(need)}; give a long table (with --columns) instead."
            )
    patient = models.set_index("model.id")["patient.id"]
    arm: dict[str, str] = {}
    for batch, role, mid in design[["batch", "role", "model.id"]].itertuples(index=False):
        drug = str(batch).split(".", 1)[1] if "." in str(batch) else str(batch)
        arm[str(mid)] = "untreated" if role == "control" else drug
    mid = raw["model.id"].astype(str)
    unknown = ~mid.isin(list(arm))
    frame = pd.DataFrame(
        {
            "model": mid.map(patient).fillna(mid.str.rsplit(".", n=1).str[0]),
            "arm": mid.map(arm).fillna("unassigned"),
            "animal": mid,
            "day": raw["time"],
            "volume": raw["volume"],
            "body_weight": raw.get("body.weight"),
            "tumor_type": "BRCA",
        }
    )
    frame = frame.loc[~unknown].reset_index(drop=True)
    records, notes, counts = _validate(
        frame,
        source=str(vol_path),
        duplicates="error",
        missing="error",
        check_volume_range=True,
        column_names={"animal": "model.id", "day": "time", "volume": "volume"},
    )
    if unknown.any():
        notes.append(f"dropped {int(unknown.sum())} rows of models in no design batch")
        counts.append(("rows dropped", int(unknown.sum()), "models in no design batch"))
    prov = Provenance(
        name="xeva_brca",
        license=_GPL,
        source="bhklab/Xeva @ 54c191f (brca.rda)",
        citation="Mer AS et al. (2019) Integrative pharmacogenomics analysis of "
        "patient-derived xenografts. Cancer Res 79:4539-4550; Gao et al. 2015 Nat Med.",
        retrieved="2026-11",
        description="PDXE breast-cancer subset with design batches and molecular panel",
    )
    return TreatmentStudy(records, "untreated", prov, str(vol_path), tuple(notes), tuple(counts))


def read_study(
    path: str | Path,
    *,
    control: str | None = None,
    duplicates: Duplicates = "error",
    missing: Missing = "error",
    columns: Mapping[str, str] | None = None,
    volume_unit: str = "mm3",
    day_unit: str = "day",
    zero_baseline: ZeroBaseline = "error",
) -> TreatmentStudy:
    r"""Read a study, recognising the layout from the file's columns.

    A folder is read as the Xeva subset (if it holds ``exp_design_batches.csv``) or as the
    PDXE (``TAone.volume.data.csv``); a file with ``Tumor, ID, Arms, Times, Volume`` as the
    PDXE layout, one with ``Study, Tumor, Arms`` as the JAX layout, and anything else as a
    long table whose columns are found by their roles (``model, arm, animal, day, volume``,
    ``tumor_type``; see :data:`translocus.core.tables.COMMAND_ROLES`). ``columns`` maps roles
    to the file's own column names (``--columns`` on the command line) and always reads the
    file as a long table. A long table without a model column is one model named after the
    file; one without an animal column has one animal per model and arm.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a375.csv"
    >>> _ = p.write_text("ID,Day,Volume,Treatment\n1,0,100,A\n1,7,180,A\n2,0,90,B\n2,7,60,B\n")
    >>> s = read_study(p, columns={"animal": "ID", "day": "Day", "volume": "Volume",
    ...                            "arm": "Treatment"})
    >>> s.models, s.n_series
    (('a375',), 2)
    """
    path = Path(path)
    _check_units(volume_unit, day_unit)
    if path.is_dir():
        if columns:
            raise OptionError(
                "columns",
                ",".join(f"{k}={v}" for k, v in columns.items()),
                f"{path} is a folder (PDXE or Xeva layout); --columns maps the columns of a "
                "table file",
            )
        _layout_units(path, volume_unit, day_unit)
        if (path / "exp_design_batches.csv").exists():
            study = read_xeva(path)
        elif (path / "TAone.volume.data.csv").exists():
            study = read_pdxe(
                path, duplicates=duplicates, missing=missing, zero_baseline=zero_baseline
            )
        else:
            raise InputError(
                f"{path}: a folder, but neither a PDXE (TAone.volume.data.csv) nor a Xeva "
                "(exp_design_batches.csv) layout; give a tumour-volume table file instead."
            )
    else:
        raw = _read_table(path)
        cols = set(map(str, raw.columns))
        if not columns and {"Study", "Tumor", "Arms", "Times", "Volume"} <= cols:
            _layout_units(path, volume_unit, day_unit)
            study = read_jax(
                path, duplicates=duplicates, missing=missing, zero_baseline=zero_baseline
            )
        elif not columns and {"ID", "Arms", "Times", "Volume"} <= cols:
            _layout_units(path, volume_unit, day_unit)
            design: Literal["TAone", "TAN", "oneAN"] = "TAone" if "Type" in cols else "TAN"
            study = read_pdxe(
                path,
                design=design,
                duplicates=duplicates,
                missing=missing,
                zero_baseline=zero_baseline,
            )
        else:
            mapping = resolve_columns(raw, command="respond", columns=columns, source=str(path))
            defaults = {} if "model" in mapping else {"model": path.stem}
            study = _long_table(
                raw,
                path,
                columns=mapping,
                control=None,
                provenance=None,
                defaults=defaults,
                duplicates=duplicates,
                missing=missing,
                check_volume_range=True,
                volume_unit=volume_unit,
                day_unit=day_unit,
                zero_baseline=zero_baseline,
            )
            if defaults:
                note = (
                    f"no model column: every series belongs to one model, {path.stem!r} "
                    "(map a model column with --columns model=NAME)"
                )
                study = replace(study, notes=(note, *study.notes))
    return study.with_control(control) if control is not None else study


def _layout_units(path: Path, volume_unit: str, day_unit: str) -> None:
    """The PDXE, Xeva and JAX layouts fix their units (mm³, days)."""
    if volume_unit != "mm3":
        raise OptionError(
            "volume_unit",
            volume_unit,
            f"{path} is in the PDXE, Xeva or JAX layout, whose volumes are mm³; units apply "
            "to long tables (map one with --columns)",
        )
    if day_unit != "day":
        raise OptionError(
            "day_unit",
            day_unit,
            f"{path} is in the PDXE, Xeva or JAX layout, whose times are days; units apply "
            "to long tables (map one with --columns)",
        )
