"""Readers that turn lifespan studies into one time-to-event table with a licence attached.

Every reader returns a :class:`LifespanTable`: one row per animal with ``animal``,
``time`` (age in **days** at death or censoring), ``event`` (1 death, 0 censored), the
study's grouping columns, and the dataset's
:class:`~translocus.core.provenance.Provenance`.

- :func:`read_slam_lifespans` — NIA SLAM census (birth dates, strain, sex, cohort, cage)
  joined to its survival file (death/censoring date, cause). Animals without a survival
  record were alive when the data were frozen; they are censored at their last
  observation (last NMR or glucose visit) by default.
- :func:`read_itp_lifespans` — NIA Interventions Testing Program (UM-HET3) lifespans from
  the GeneNetwork export: age at death, sex, site, cohort year and the treatment group,
  parsed into an ``arm`` code, a ``drug`` name, whether the animal is a control, and
  whether the group belongs to the main lifespan study.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"animal": ["a", "b"], "time": [700.0, 800.0], "event": [1, 0]})
>>> LifespanTable(raw, Provenance(name="toy", license="CC0-1.0")).n_animals
2
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.core.table import USER_DATA, ProvenanceTable, provenance_for
from translocus.progression.data import Count

__all__ = [
    "ITP_PROVENANCE",
    "SLAM_LIFESPAN_PROVENANCE",
    "TIME_UNITS",
    "LifespanTable",
    "is_itp_export",
    "is_slam_folder",
    "itp_drug_name",
    "from_frame",
    "lifespan_from_frame",
    "read_itp_lifespans",
    "read_slam_lifespans",
]

SLAM_LIFESPAN_PROVENANCE = Provenance(
    name="slam_lifespan",
    license="MIT",
    source="wfmueller29/SLAM @ c79b9c0 (data_SLAM_census, data_SLAM_surv)",
    citation="Palliyaguru et al. 2021 Cell Metab 33:2189",
    description="NIA Study of Longitudinal Aging in Mice: C57BL/6J and UM-HET3 lifespans "
    "with censoring and cause of death",
)

ITP_PROVENANCE = Provenance(
    name="itp_lifespan",
    license="GPL-3.0-only",
    source="DannyArends/UM-HET3 @ ad65e28 (GeneNetwork HET3-ITPPublish export)",
    citation="Arends et al. 2025 bioRxiv 10.1101/2025.04.27.649857; NIA ITP papers",
    description="NIA Interventions Testing Program UM-HET3 lifespans (age at death in days) "
    "with sex, site, cohort year and treatment group",
)

#: ITP site letter at the end of a group code -> site.
_ITP_SITES = {"j": "JL", "m": "UM", "t": "UT"}

#: Known ITP arm-code prefixes -> drug (longest prefix wins); other arms keep their code.
_ITP_DRUGS = {
    "aca": "acarbose",
    "rapa": "rapamycin",
    "r09": "rapamycin (2009 doses)",
    "metrapa": "metformin + rapamycin",
    "raac": "rapamycin + acarbose",
    "met": "metformin",
    "cana": "canagliflozin",
    "est": "17-alpha-estradiol",
    "ndga": "nordihydroguaiaretic acid",
    "nd": "nordihydroguaiaretic acid",
    "aspirin": "aspirin",
    "asp": "aspirin",
    "res": "resveratrol",
    "sim": "simvastatin",
    "cape": "caffeic acid phenethyl ester",
    "enal": "enalapril",
    "gly": "glycine",
    "mb": "methylene blue",
    "cur": "curcumin",
    "gte": "green tea extract",
    "oaa": "oxaloacetic acid",
    "ua": "ursolic acid",
    "prot": "Protandim",
    "mitoq": "MitoQ",
    "nr": "nicotinamide riboside",
    "fis": "fisetin",
    "cont": "control",
}

#: Arm codes written two ways in the export (same arm, same cohort).
_ITP_ARM_ALIASES = {"rapaonoff": "rapa20onoff"}


@dataclass(frozen=True)
class LifespanTable(ProvenanceTable):
    """A time-to-event table (one row per animal) with its provenance.

    A :class:`~translocus.core.table.ProvenanceTable`: ``units`` (``time`` in days unless
    the reader says otherwise), ``id_column`` (``animal``), ``roles`` (those of
    ``survival``), :meth:`select` and :attr:`n_rows` come from there.

    Attributes
    ----------
    data
        Columns ``animal``, ``time`` (days), ``event`` (1 death, 0 censored) and the
        study's group columns.
    provenance
        Source and licence.
    source
        The file(s) read, for messages.
    notes
        What the reader changed or dropped, in words.
    counts
        The same as numbers: animals or records dropped and why (for ``run.json``).
    """

    command: ClassVar[str] = "survival"
    default_units: ClassVar[Mapping[str, str]] = {"time": "day"}

    data: pd.DataFrame
    provenance: Provenance
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    counts: tuple[Count, ...] = field(default=())

    @property
    def n_animals(self) -> int:
        """Number of animals (one row each)."""
        return int(len(self.data))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, **options: Any) -> LifespanTable:
        """A table from a plain data frame: :func:`from_frame` (``columns=``, ``license=``)."""
        return from_frame(frame, **options)

    def select(self, **equals: object) -> LifespanTable:
        """Animals whose columns equal the given values (a list/tuple value means "any of")."""
        table: LifespanTable = super().select(**equals)
        return table

    @property
    def n_deaths(self) -> int:
        """Number of animals whose death was observed (``event`` 1)."""
        return int(self.data["event"].sum())


def _need(path: Path) -> Path:
    if not path.exists():
        raise InputError(
            f"{path}: file not found; set TRANSLOCUS_DATA to the folder holding the shared "
            "datasets or pass the path explicitly."
        )
    return path


def read_slam_lifespans(
    folder: Path | None = None,
    *,
    censor_alive: str = "last_seen",
) -> LifespanTable:
    """Read the SLAM census and survival files into a time-to-event table.

    Parameters
    ----------
    folder
        Folder holding ``data_SLAM_census_c79b9c0.csv`` and ``data_SLAM_surv_c79b9c0.csv``
        (default: ``data_dir() / "slam"``).
    censor_alive
        How to treat animals with no survival record: ``"last_seen"`` censors them at their
        last NMR or glucose visit (a date they are known to be alive); ``"freeze"`` censors
        them at the last date of the survival file; ``"drop"`` leaves them out.

    Returns
    -------
    LifespanTable
        Columns ``animal`` (tag), ``animal_id``, ``idno``, ``cohort``, ``strain``
        (``B6``/``HET3``), ``sex``, ``cage``, ``birth_date``, ``end_date``, ``time`` (days),
        ``event``, ``cause`` (the file's cause text, ``"alive"`` when censored alive) and
        ``competing_cause`` (``0`` censored, ``"found dead"`` or ``"euthanised"``).
    """
    if censor_alive not in ("last_seen", "freeze", "drop"):
        raise InputError(
            f"censor_alive={censor_alive!r} is not known; use 'last_seen', 'freeze' or 'drop'."
        )
    base = Path(folder) if folder is not None else data_dir() / "slam"
    census_path = _need(base / "data_SLAM_census_c79b9c0.csv")
    surv_path = _need(base / "data_SLAM_surv_c79b9c0.csv")
    census = pd.read_csv(census_path, dtype=str)
    surv = pd.read_csv(surv_path, dtype=str)
    notes: list[str] = []
    for frame, path, cols in (
        (census, census_path, ("tag", "sex", "strain", "dob", "cohort")),
        (surv, surv_path, ("tag", "died", "dead_censor")),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {missing}; is this the SLAM export?")
    dup = surv["tag"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"{surv_path}, column 'tag': {int(surv['tag'].duplicated().sum())} animals have "
            f"two survival records (first {surv.loc[dup, 'tag'].iloc[0]!r}); keep one per animal."
        )
    # survival tags that are not current census tags may be former tags (taghistory)
    history: dict[str, str] = {}
    for tag, hist in zip(
        census["tag"], census.get("taghistory", pd.Series(dtype=str)), strict=False
    ):
        if isinstance(hist, str):
            for old in re.split(r"[,;\s]+", hist):
                if old and old != tag:
                    history.setdefault(old, tag)
    known = set(census["tag"])
    mapped = surv["tag"].map(lambda t: t if t in known else history.get(t))
    unmatched = surv.loc[mapped.isna(), "tag"].tolist()
    counts: list[Count] = []
    if unmatched:
        notes.append(
            f"{len(unmatched)} survival records match no census tag and were dropped: "
            f"{', '.join(unmatched)}"
        )
        counts.append(
            Count(
                "survival records dropped",
                len(unmatched),
                f"no census animal has their tag ({', '.join(unmatched[:5])})",
            )
        )
    surv = surv.assign(tag=mapped).dropna(subset=["tag"])
    surv = surv.drop_duplicates("tag")
    table = census.merge(surv, on="tag", how="left")
    table["birth_date"] = pd.to_datetime(table["dob"], errors="coerce")
    table["end_date"] = pd.to_datetime(table["died"], errors="coerce")
    has_record = table["died"].notna()
    event = pd.to_numeric(table["dead_censor"], errors="coerce")
    table["event"] = np.where(has_record, event, 0.0)
    table["cause"] = np.where(has_record, table["cod"].fillna("undefined"), "alive")
    alive = ~has_record
    if censor_alive == "last_seen":
        visits = []
        for name in ("data_SLAM_nmr_c79b9c0.csv", "data_SLAM_gluc_c79b9c0.csv"):
            p = base / name
            if p.exists():
                visits.append(pd.read_csv(p, usecols=["idno", "date"], dtype=str))
        last = (
            pd.concat(visits).dropna().groupby("idno")["date"].max()
            if visits
            else pd.Series(dtype=str)
        )
        table.loc[alive, "end_date"] = pd.to_datetime(table.loc[alive, "idno"].map(last))
    elif censor_alive == "freeze":
        table.loc[alive, "end_date"] = pd.to_datetime(surv["died"]).max()
    else:
        table = table[~alive]
        notes.append(f"{int(alive.sum())} animals without a survival record were left out")
        counts.append(
            Count("animals dropped", int(alive.sum()), "no survival record (censor_alive='drop')")
        )
    no_birth = table["birth_date"].isna()
    if no_birth.any():
        cohorts = ", ".join(sorted(table.loc[no_birth, "cohort"].astype(str).unique()))
        notes.append(
            f"{int(no_birth.sum())} animals without a birth date were dropped (cohorts {cohorts})"
        )
        counts.append(
            Count("animals dropped", int(no_birth.sum()), f"no birth date (cohorts {cohorts})")
        )
    no_end = table["end_date"].isna() & ~no_birth
    if no_end.any():
        notes.append(f"{int(no_end.sum())} animals alive with no visit date were dropped")
        counts.append(
            Count(
                "animals dropped",
                int(no_end.sum()),
                "no survival record and no visit to censor them at",
            )
        )
    table = table[~no_birth & ~no_end].copy()
    before = table["end_date"] < table["birth_date"]
    if before.any():
        raise InputError(
            f"{surv_path}: {int(before.sum())} animals die before they are born (first tag "
            f"{table.loc[before, 'tag'].iloc[0]!r}); fix the dates."
        )
    table["time"] = (table["end_date"] - table["birth_date"]).dt.days.astype(float)
    same_day = table["time"] <= 0
    if same_day.any():
        notes.append(f"{int(same_day.sum())} animals that died on their birth date were dropped")
        counts.append(
            Count("animals dropped", int(same_day.sum()), "death or censoring on the birth date")
        )
    table = table[~same_day]
    bad = ~table["event"].isin([0.0, 1.0])
    if bad.any():
        raise InputError(
            f"{surv_path}, column 'dead_censor': {int(bad.sum())} values are not 0/1; code "
            "deaths 1 and censored animals 0."
        )
    found = table["cause"].str.lower().str.startswith("found dead")
    competing = pd.Series(
        np.where(found, "found dead", "euthanised"), index=table.index, dtype=object
    )
    competing[table["event"] == 0] = 0
    table["competing_cause"] = competing
    out = pd.DataFrame(
        {
            "animal": table["tag"].to_numpy(),
            "animal_id": table["animal_id"].to_numpy(),
            "idno": table["idno"].to_numpy(),
            "cohort": pd.to_numeric(table["cohort"]).astype(int).to_numpy(),
            "strain": table["strain"].to_numpy(),
            "sex": table["sex"].to_numpy(),
            "cage": table["cage"].to_numpy(),
            "birth_date": table["birth_date"].to_numpy(),
            "end_date": table["end_date"].to_numpy(),
            "time": table["time"].to_numpy(),
            "event": table["event"].astype(float).to_numpy(),
            "cause": table["cause"].to_numpy(),
            "competing_cause": table["competing_cause"].to_numpy(),
        }
    )
    return LifespanTable(
        out, SLAM_LIFESPAN_PROVENANCE, f"{census_path} + {surv_path}", tuple(notes), tuple(counts)
    )


def itp_drug_name(arm: str) -> str:
    """Drug name of an ITP arm code (longest known prefix), or the code itself.

    >>> itp_drug_name("aca16"), itp_drug_name("rapa05"), itp_drug_name("metrapa")
    ('acarbose', 'rapamycin', 'metformin + rapamycin')
    """
    best = ""
    for prefix in _ITP_DRUGS:
        if arm.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _ITP_DRUGS[best] if best else arm


def _find_header(path: Path) -> int:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            if line.startswith("Index,Name,"):
                return i
            if i > 50:
                break
    raise InputError(
        f"{path}: no 'Index,Name,...' table header in the first 50 lines; is this the "
        "GeneNetwork HET3-ITPPublish export?"
    )


def read_itp_lifespans(path: Path | None = None) -> LifespanTable:
    """Read the ITP UM-HET3 GeneNetwork export into a time-to-event table.

    The export starts with metadata lines (11 in the shared copy; one field spans two
    lines in some exports), found by looking for the ``Index,Name,...`` header. Every
    animal in the export has an age at death, so ``event`` is 1 throughout (the export
    does not mark censored animals); rows without an age are dropped (counted in notes).

    Group codes such as ``Rapa05_M`` or ``Cont_09_T`` are parsed into ``site`` (from the
    final letter: J = JL, M = UM, T = UT), ``arm`` (the rest, lower case, without
    separators: ``rapa05``, ``cont09``), ``drug`` (:func:`itp_drug_name`), ``control``
    (``cont<yy>``) and ``main_study`` (False for groups tagged ``CIP``, ``ho``/``HO`` or
    ``XS18``: cross-sectional pathology or hold-out animals outside the lifespan analysis).

    Returns
    -------
    LifespanTable
        Columns ``animal``, ``sex``, ``site``, ``cohort`` (year), ``group`` (the export's
        code), ``arm``, ``drug``, ``control``, ``main_study``, ``birth_date``,
        ``death_date``, ``time`` (age at death, days), ``event``.
    """
    p = _need(
        Path(path) if path is not None else data_dir() / "itp" / "bodyweights" / "ITP_10003.csv"
    )
    if p.is_dir():
        found = ", ".join(str(f) for f in sorted(p.rglob("ITP_*.csv"))[:3]) or "none found"
        raise InputError(
            f"{p}: is a folder; pass one ITP GeneNetwork export file (ITP_*.csv: {found})."
        )
    header = _find_header(p)
    # skip the metadata block by physical lines: a quoted field in it may span two lines
    with p.open(encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()[header:]
    raw = pd.read_csv(io.StringIO("".join(lines)), dtype=str)
    needed = ["Name", "Sex", "Age", "Drug/Site", "Year"]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InputError(f"{p}: missing column(s) {missing}; is this the ITP export?")
    notes = []
    counts: list[Count] = []
    age = pd.to_numeric(raw["Age"], errors="coerce")
    no_age = age.isna()
    if no_age.any():
        notes.append(f"{int(no_age.sum())} animals without an age at death were dropped")
        counts.append(Count("animals dropped", int(no_age.sum()), "no age at death"))
    raw = raw[~no_age].copy()
    raw["time"] = age[~no_age].astype(float)
    group = raw["Drug/Site"].fillna("").str.replace(r"\s+", "", regex=True)
    tokens = group.str.lower().str.split(r"[_\-]+", regex=True)
    site = tokens.map(lambda t: _ITP_SITES.get(t[-1], "") if t else "")
    bad_site = site == ""
    if bad_site.any():
        notes.append(f"{int(bad_site.sum())} animals with a group code without site were dropped")
        counts.append(
            Count(
                "animals dropped",
                int(bad_site.sum()),
                "group code (Drug/Site) does not end in a site letter J, M or T",
            )
        )
    arm = tokens.map(lambda t: "".join(t[:-1]))
    arm = arm.map(lambda a: _ITP_ARM_ALIASES.get(a, a))
    special = tokens.map(lambda t: bool({"cip", "ho"} & set(t)) or (t[0].startswith("xs")))
    dup = raw["Name"].duplicated(keep=False)
    if dup.any():
        raise InputError(
            f"{p}, column 'Name': {int(raw['Name'].duplicated().sum())} animals appear twice "
            f"(first {raw.loc[dup, 'Name'].iloc[0]!r}); keep one row per animal."
        )
    out = pd.DataFrame(
        {
            "animal": raw["Name"].to_numpy(),
            "sex": raw["Sex"].str.strip().to_numpy(),
            "site": site.to_numpy(),
            "cohort": pd.to_numeric(raw["Year"], errors="coerce").astype("Int64").to_numpy(),
            "group": group.to_numpy(),
            "arm": arm.to_numpy(),
            "drug": arm.map(itp_drug_name).to_numpy(),
            "control": arm.str.fullmatch(r"cont\d\d").to_numpy() & ~special.to_numpy(),
            "main_study": ~special.to_numpy(),
            "birth_date": pd.to_datetime(raw["DOB"], format="%m/%d/%y", errors="coerce").to_numpy()
            if "DOB" in raw
            else pd.NaT,
            "death_date": pd.to_datetime(raw["DOD"], format="%m/%d/%y", errors="coerce").to_numpy()
            if "DOD" in raw
            else pd.NaT,
            "time": raw["time"].to_numpy(),
            "event": 1.0,
        }
    )
    out = out[~bad_site.to_numpy()].reset_index(drop=True)
    neg = out["time"] < 0
    if neg.any():
        raise InputError(
            f"{p}, column 'Age': {int(neg.sum())} negative ages at death (first animal "
            f"{out.loc[neg, 'animal'].iloc[0]!r}); fix the ages."
        )
    return LifespanTable(out, ITP_PROVENANCE, str(p), tuple(notes), tuple(counts))


# ---------------------------------------------------------------------------------------
# any lifespan table: a time column, or birth and death dates
# ---------------------------------------------------------------------------------------

#: Days per unit of time (``--time-unit``); times from dates are given in this unit.
TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 30.4375, "year": 365.25}

#: Roles copied to a column of their own name (``sex``, ``arm``, ...) when mapped elsewhere.
_GROUP_ROLES = ("group", "sex", "strain", "arm", "site")


def is_slam_folder(path: Path) -> bool:
    """Whether ``path`` is the SLAM data folder (census and survival files)."""
    return Path(path).is_dir() and (Path(path) / "data_SLAM_census_c79b9c0.csv").exists()


def is_itp_export(path: Path) -> bool:
    """Whether ``path`` is an ITP GeneNetwork export (an ``Index,Name,...`` header line)."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with path.open("rb") as fh:
            head = fh.read(16384)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    return any(line.startswith(b"Index,Name,") for line in head.splitlines()[:51])


def _lines(index: pd.Index, mask: np.ndarray, limit: int = 5) -> str:
    """File lines of the rows in ``mask`` (line 1 is the header)."""
    labels = index[mask]
    shown = ", ".join(
        str(int(i) + 2) if isinstance(i, int | np.integer) else str(i) for i in labels[:limit]
    )
    return shown + (", ..." if len(labels) > limit else "")


def _numbers(frame: pd.DataFrame, column: str, source: str, what: str) -> pd.Series:
    """A numeric column; text that is not a number, and infinities, are errors naming rows."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = (values.isna() & frame[column].notna()).to_numpy()
    if bad.any():
        raise InputError(
            f"{source}, column {column!r}: {int(bad.sum())} {what} are not numbers (rows "
            f"{_lines(frame.index, bad)}); fix or blank them."
        )
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        raise InputError(
            f"{source}, column {column!r}: {int(infinite.sum())} infinite {what} (rows "
            f"{_lines(frame.index, infinite)}); fix or blank them."
        )
    return values.astype(float)


def _dates(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    text = frame[column]
    dates = pd.to_datetime(text, errors="coerce", format="mixed")
    bad = (dates.isna() & text.notna() & (text.astype(str).str.strip() != "")).to_numpy()
    if bad.any():
        raise InputError(
            f"{source}, column {column!r}: {int(bad.sum())} values are not dates (rows "
            f"{_lines(frame.index, bad)}); write dates as YYYY-MM-DD."
        )
    return dates


def lifespan_from_frame(
    frame: pd.DataFrame,
    *,
    command: str = "survival",
    columns: Mapping[str, str] | None = None,
    source: str = "table",
    name: str = "table",
    license: str = "NOASSERTION",
    time_unit: str = "day",
    duplicates: str = "error",
    event_default: float | None = None,
    options: Mapping[str, str] | None = None,
) -> tuple[LifespanTable, dict[str, str]]:
    """One row per animal from any table: a time column, or birth and death dates.

    Parameters
    ----------
    frame
        The table (rows numbered as in the file: row label 0 is line 2).
    command
        Whose roles (:data:`translocus.core.tables.COMMAND_ROLES`) the columns play:
        ``survival`` or ``lifespan``.
    columns
        ``{role: column}`` for columns not named as their role (``--columns``).
    time_unit
        Unit of the time column; times from ``birth``/``death`` dates are converted to it.
    duplicates
        ``"error"``: an animal (``animal`` role) on more than one row is an error;
        ``"first"``: keep its first row (counted).
    event_default
        The event of every animal when the table has no event column (``None``: the
        event column is required).
    options
        ``{role: option}`` for columns named by an option of their own (``--time``), so
        that a missing column is reported against that option.

    Returns
    -------
    (LifespanTable, roles)
        Columns ``time`` and ``event``, a copy of each mapped grouping role under the
        role's name (``sex``, ``arm``, ...), and the table's other columns; ``roles`` maps
        each role found to its column in the file. Rows without a time, dates or event
        are dropped and counted; a death before birth, a negative or infinite time and an
        event other than 0/1 are errors naming the rows.
    """
    from translocus.core.tables import resolve_columns

    if time_unit not in TIME_UNITS:
        raise OptionError("time_unit", time_unit, f"use one of {', '.join(TIME_UNITS)}")
    if duplicates not in ("error", "first"):
        raise OptionError("duplicates", duplicates, "use error or first")
    present = [str(c) for c in frame.columns]
    for role, option in (options or {}).items():
        column = (columns or {}).get(role)
        if column is not None and column not in present:
            raise OptionError(
                option,
                column,
                f"{source} has no column {column!r}; its columns are {', '.join(present[:12])}",
            )
    roles = resolve_columns(frame, command=command, columns=columns, source=source)
    given = dict(columns or {})
    by_dates = "birth" in roles and "death" in roles and ("time" not in roles or "birth" in given)
    if "time" not in roles and not by_dates:
        lacking = "death" if "birth" in roles else "birth" if "death" in roles else None
        hint = (
            f"a {lacking} column to go with {roles.get('birth') or roles.get('death')!r}"
            if lacking
            else "a time column, or birth and death dates"
        )
        raise OptionError(
            "columns",
            None,
            f"{source} has no time of death or censoring: give {hint}, e.g. {{columns}} "
            "time=COLUMN or {columns} birth=COLUMN,death=COLUMN",
        )
    data = frame.copy()
    exact = frame.duplicated(keep="first")  # rows identical to an earlier row of the file
    counts: list[Count] = []
    notes: list[str] = []
    dropped = np.zeros(len(data), dtype=bool)

    def drop(mask: np.ndarray, why: str) -> None:
        new = mask & ~dropped
        if new.any():
            counts.append(Count("animals dropped", int(new.sum()), why))
            notes.append(f"{int(new.sum())} animals dropped: {why}")
            dropped[new] = True

    if by_dates:
        birth, death = roles["birth"], roles["death"]
        b, d = _dates(data, birth, source), _dates(data, death, source)
        drop(b.isna().to_numpy(), f"no birth date (column {birth!r} blank)")
        drop(d.isna().to_numpy(), f"no death or censoring date (column {death!r} blank)")
        before = ((d < b) & ~pd.Series(dropped, index=data.index)).to_numpy()
        if before.any():
            raise InputError(
                f"{source}, columns {birth!r}/{death!r}: {int(before.sum())} animals die or "
                f"are censored before they are born (rows {_lines(data.index, before)}); "
                "fix the dates."
            )
        time = (d - b).dt.days.astype(float) / TIME_UNITS[time_unit]
    else:
        column = roles["time"]
        time = _numbers(data, column, source, "times")
        drop(time.isna().to_numpy(), f"no time (column {column!r} blank)")
        negative = (time < 0).to_numpy()
        if negative.any():
            raise InputError(
                f"{source}, column {column!r}: {int(negative.sum())} negative times (rows "
                f"{_lines(data.index, negative)}); a death or censoring cannot come before "
                "birth, fix them."
            )
    if "event" in roles:
        column = roles["event"]
        raw = data[column]
        if pd.api.types.is_bool_dtype(raw):
            raw = raw.astype(float)
        event = _numbers(data.assign(**{column: raw}), column, source, "events")
        drop(event.isna().to_numpy(), f"no event (column {column!r} blank)")
        bad = (~event.isin([0.0, 1.0]) & event.notna()).to_numpy() & ~dropped
        if bad.any():
            raise InputError(
                f"{source}, column {column!r}: {int(bad.sum())} values are not 0 or 1 (rows "
                f"{_lines(data.index, bad)}); code deaths 1 and censored animals 0."
            )
    elif event_default is not None:
        event = pd.Series(float(event_default), index=data.index)
    else:  # pragma: no cover - resolve_columns requires the event role of survival
        raise OptionError("columns", None, "map the event column, e.g. {columns} event=COLUMN")
    for role in _GROUP_ROLES:
        if role in roles and roles[role] != role:
            data[role] = data[roles[role]]
    data["time"] = time
    data["event"] = event
    if "animal" in roles:
        animal = roles["animal"]
        blank = data[animal].isna().to_numpy() & ~dropped
        drop(blank, f"no animal id (column {animal!r} blank)")
        data["animal"] = data[animal].astype(str)
    data = data.loc[~dropped]
    if "animal" in roles:
        data = _one_row_per_animal(
            data,
            exact.loc[data.index].to_numpy(),
            roles["animal"],
            duplicates,
            source,
            counts,
            notes,
        )
    else:
        data["animal"] = [f"row {int(i) + 2}" for i in data.index]
    provenance = Provenance(name=name, license=license, source=source)
    table = LifespanTable(
        data.reset_index(drop=True),
        provenance,
        source,
        tuple(notes),
        tuple(counts),
        units={"time": time_unit},
    )
    return table, roles


def from_frame(
    frame: pd.DataFrame,
    *,
    columns: str | Mapping[str, str] | None = None,
    license: str | None = None,
    provenance: Provenance | None = None,
    name: str | None = None,
    command: str = "survival",
    time_unit: str = "day",
    duplicates: str = "error",
    event_default: float | None = None,
    source: str = "",
) -> LifespanTable:
    """A :class:`LifespanTable` (one row per animal) from a plain data frame.

    Parameters
    ----------
    frame
        One row per animal: a time column, or birth and death dates, and an event column.
    columns
        ``{role: column}`` (or ``"time=age_days,event=dead"``, as ``--columns`` on the
        command line) for columns not named as their role; the roles are those of
        ``command`` (``survival`` or ``lifespan``).
    license
        SPDX licence of the data (``"MIT"``); without ``license`` or ``provenance`` the
        licence is recorded as ``NOASSERTION`` and training refuses the table.
    provenance
        The data's full :class:`~translocus.core.provenance.Provenance` (instead of
        ``license``).
    name
        Dataset name for the provenance (default: ``"user data"``).
    command, time_unit, duplicates, event_default
        As for :func:`lifespan_from_frame`.

    Examples
    --------
    >>> raw = pd.DataFrame({"mouse": ["a", "b"], "days": [700, 800], "dead": [1, 0]})
    >>> table = from_frame(raw, columns="animal=mouse,time=days,event=dead", license="MIT")
    >>> table.n_animals, table.n_deaths, table.units["time"], table.provenance.license
    (2, 1, 'day', 'MIT')
    """
    name = name or (provenance.name if provenance is not None else USER_DATA)
    src = source or name
    prov = provenance_for(license=license, provenance=provenance, name=name, source=src)
    from translocus.core.tables import parse_columns

    table, _ = lifespan_from_frame(
        frame,
        command=command,
        columns=parse_columns(columns, command=command),
        source=src,
        name=prov.name,
        license=prov.license,
        time_unit=time_unit,
        duplicates=duplicates,
        event_default=event_default,
    )
    return replace(table, provenance=prov)


def _one_row_per_animal(
    data: pd.DataFrame,
    exact: np.ndarray,
    column: str,
    duplicates: str,
    source: str,
    counts: list[Count],
    notes: list[str],
) -> pd.DataFrame:
    """Exact duplicate rows and animals on several rows: an error, or the first kept."""
    if exact.any():
        first = data.loc[exact, "animal"].iloc[0]
        if duplicates == "error":
            raise InputError(
                f"{source}: {int(exact.sum())} rows repeat another row exactly (first animal "
                f"{first!r}, rows {_lines(data.index, exact)}); remove them, or give "
                "--duplicates first to keep one row per animal."
            )
        counts.append(
            Count("duplicate rows dropped", int(exact.sum()), "identical to an earlier row")
        )
        notes.append(f"{int(exact.sum())} duplicate rows dropped")
        data = data.loc[~exact]
    again = data["animal"].duplicated(keep="first").to_numpy()
    if again.any():
        first = data.loc[again, "animal"].iloc[0]
        if duplicates == "error":
            raise InputError(
                f"{source}, column {column!r}: {int(again.sum())} animals appear on more than "
                f"one row with different values (first {first!r}, rows "
                f"{_lines(data.index, again)}); keep one row per animal, or give "
                "--duplicates first to keep the first."
            )
        counts.append(
            Count("duplicate animals dropped", int(again.sum()), "later rows of the same animal")
        )
        notes.append(f"{int(again.sum())} later rows of repeated animals dropped")
        data = data.loc[~again]
    return data
