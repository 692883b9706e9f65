"""Tables in any layout: the roles of columns, ``--columns``, and one careful table reader.

Each command that reads a table knows a few *roles* (``animal``, ``age``, ``value``, ...),
each with a default column name. A table in another layout is read by mapping roles to its
columns: ``--columns animal=mouse_id,age=age_days,value=weight_g`` on the command line,
``columns={"animal": "mouse_id", ...}`` in Python. :data:`COMMAND_ROLES` is the one table of
roles per command; the docs print it (``docs/tables.md``) and the readers use it.

>>> parse_columns("animal=mouse_id, value=weight_g", command="progress")
{'animal': 'mouse_id', 'value': 'weight_g'}
>>> parse_columns("mouse=mouse_id", command="progress")
Traceback (most recent call last):
...
translocus.core.errors.OptionError: columns='mouse=mouse_id': 'mouse' is not a role of progress; roles are animal, age, measure, value, sex, group
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from translocus.core.errors import InputError, OptionError

__all__ = [
    "COMMAND_ROLES",
    "ROLES",
    "Role",
    "parse_columns",
    "read_table",
    "resolve_columns",
    "roles_markdown",
]

#: Every role a table column can play, and what it holds.
ROLES: dict[str, str] = {
    "animal": "one animal (mouse) — the subject of repeated measures or of a lifespan",
    "age": "age at the measurement (unit from --age-unit, or in the value: '4 months', '120 d')",
    "time": "time to death or censoring (unit from --time-unit)",
    "event": "1 = death (event), 0 = censored (alive at last sight)",
    "birth": "date of birth (with death: the time is death - birth)",
    "death": "date of death or censoring (with birth and event)",
    "measure": "name of the measure in a long table (plaque density, body weight, ...)",
    "value": "the measured value",
    "group": "a grouping column (genotype, model, strain, ...)",
    "sex": "sex of the animal (F/M, female/male)",
    "strain": "strain of the animal",
    "site": "study site (for site-stratified analyses)",
    "arm": "treatment arm (drug, dose, or the control arm)",
    "model": "tumour model (PDX model, cell line)",
    "day": "day of the measurement since treatment start (unit from --day-unit)",
    "volume": "tumour volume (unit from --volume-unit)",
    "tumor_type": "tumour type of the model (optional)",
    "gene": "mouse gene symbol or identifier",
    "statistic": "per-gene value (log fold change, score, ...)",
}


@dataclass(frozen=True)
class Role:
    """A role a command reads: its default column and whether the table must have it."""

    name: str
    default: str
    required: bool = True


#: The roles each command reads, with their default column names.
COMMAND_ROLES: dict[str, tuple[Role, ...]] = {
    "progress": (
        Role("animal", "animal"),
        Role("age", "age"),
        Role("measure", "measure"),
        Role("value", "value"),
        Role("sex", "sex", required=False),
        Role("group", "group", required=False),
    ),
    "survival": (
        Role("animal", "animal", required=False),
        Role("time", "time", required=False),
        Role("event", "event"),
        Role("birth", "birth", required=False),
        Role("death", "death", required=False),
        Role("group", "group", required=False),
        Role("sex", "sex", required=False),
        Role("strain", "strain", required=False),
        Role("arm", "arm", required=False),
        Role("site", "site", required=False),
    ),
    "lifespan": (
        Role("animal", "animal", required=False),
        Role("arm", "arm"),
        Role("sex", "sex"),
        Role("time", "time", required=False),
        Role("event", "event", required=False),
        Role("birth", "birth", required=False),
        Role("death", "death", required=False),
        Role("site", "site", required=False),
    ),
    "respond": (
        Role("model", "model", required=False),
        Role("arm", "arm"),
        Role("animal", "animal", required=False),
        Role("day", "day"),
        Role("volume", "volume"),
        Role("tumor_type", "tumor_type", required=False),
    ),
    "translate": (Role("gene", "gene"), Role("statistic", "statistic")),
}


def _roles_of(command: str) -> tuple[Role, ...]:
    if command not in COMMAND_ROLES:
        raise KeyError(f"no table roles for command {command!r}")
    return COMMAND_ROLES[command]


def parse_columns(
    text: str | Mapping[str, str] | None, *, command: str, option: str = "columns"
) -> dict[str, str]:
    """``"animal=mouse_id,age=age_days"`` (or a dict) -> ``{role: column}``, checked."""
    if text is None or text == "":
        return {}
    known = [r.name for r in _roles_of(command)]
    if isinstance(text, Mapping):
        pairs = [(str(k), str(v)) for k, v in text.items()]
    else:
        pairs = []
        for item in text.split(","):
            if not item.strip():
                continue
            if "=" not in item:
                raise OptionError(
                    option, text, f"{item.strip()!r} is not ROLE=COLUMN; e.g. animal=mouse_id"
                )
            role, column = item.split("=", 1)
            pairs.append((role.strip(), column.strip()))
    out: dict[str, str] = {}
    for role, column in pairs:
        if role not in known:
            raise OptionError(
                option, text, f"{role!r} is not a role of {command}; roles are {', '.join(known)}"
            )
        if not column:
            raise OptionError(option, text, f"role {role!r} names no column")
        if role in out:
            raise OptionError(option, text, f"role {role!r} is given twice")
        out[role] = column
    return out


def resolve_columns(
    frame: pd.DataFrame,
    *,
    command: str,
    columns: Mapping[str, str] | None = None,
    source: str = "table",
    required: Sequence[str] | None = None,
    option: str = "columns",
) -> dict[str, str]:
    """Map each role of ``command`` to a column of ``frame``: ``{role: column}``.

    A role mapped by ``columns`` must name an existing column; an unmapped role takes its
    default column when present. A required role (``required`` overrides the table of
    roles) with no column is an error that says how to map it.
    """
    columns = dict(columns or {})
    present = [str(c) for c in frame.columns]
    roles = _roles_of(command)
    needed = set(required) if required is not None else {r.name for r in roles if r.required}
    out: dict[str, str] = {}
    for role in roles:
        column = columns.get(role.name)
        if column is not None:
            if column not in present:
                raise OptionError(
                    option,
                    f"{role.name}={column}",
                    f"{source} has no column {column!r}; its columns are {_shown(present)}",
                )
            out[role.name] = column
        elif role.default in present:
            out[role.name] = role.default
    lacking = [r.name for r in roles if r.name in needed and r.name not in out]
    if lacking:
        example = ",".join(f"{r}=COLUMN" for r in lacking)
        raise OptionError(
            option,
            None,
            f"{source} has no column for {', '.join(lacking)}; its columns are "
            f"{_shown(present)}; map them, e.g. {{{option}}} {example}",
        )
    return out


def _shown(names: Sequence[str], limit: int = 12) -> str:
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def read_table(path: Path | str, *, option: str = "data", sep: str | None = None) -> pd.DataFrame:
    """Read a CSV, TSV or parquet table with one clear error for every way it can be wrong.

    Refused with :class:`InputError` naming the file: a missing path, a folder, an empty
    file, a binary file that is not parquet, a file that does not parse as a table, and a
    table with a header but no rows.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; give a CSV, TSV or parquet table")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a CSV, TSV or parquet table file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; give a table with a header and rows")
    with open(path, "rb") as handle:
        head = handle.read(4096)
    suffix = path.suffix.lower()
    try:
        if head.startswith(b"PAR1") or suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            if b"\x00" in head:
                raise InputError(
                    f"{path}: is a binary file, not a text table; give a CSV, TSV or parquet file"
                )
            delimiter = sep or ("\t" if suffix in (".tsv", ".txt", ".tab") else None)
            frame = pd.read_csv(path, sep=delimiter, engine="python" if delimiter is None else "c")
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: is not UTF-8 text; save it as a UTF-8 CSV or TSV (or parquet)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{path}: cannot be read as a table ({reason})") from None
    if frame.shape[1] == 0:
        raise InputError(f"{path}: has no columns; give a table with a header row")
    if len(frame) == 0:
        raise InputError(f"{path}: has a header but no rows; give a table with data rows")
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ")]
    if len(unnamed) == frame.shape[1]:
        raise InputError(f"{path}: has no header row; the first line must name the columns")
    return frame


def roles_markdown() -> str:
    """The table of roles per command, as Markdown (for ``docs/tables.md``)."""
    lines = ["| command | role | default column | required | meaning |", "|---|---|---|---|---|"]
    for command, roles in COMMAND_ROLES.items():
        for role in roles:
            lines.append(
                f"| `{command}` | `{role.name}` | `{role.default}` | "
                f"{'yes' if role.required else 'no'} | {ROLES[role.name]} |"
            )
    return "\n".join(lines)
