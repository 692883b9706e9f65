"""Reading a run folder's tables for the viewer's sections, lazily and with small caches.

CSV tables of a run are small (at most a few MB: one row per group, arm or gene) and are
parsed once per file version (path, size, modification time) and kept in a bounded cache.
Parquet tables (measurements, tumour volumes) can hold a whole study: they are read through
DuckDB with only the columns and rows a view needs, and only their distinct keys are cached.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import HTTPException

#: Parsed CSV tables kept (each at most a few MB).
_CSV_CACHE = 48
#: Rows of a parquet table one view may read (a spider plot of one model, one animal).
MAX_ROWS = 200_000

_duckdb: dict[str, Any] = {}
_duckdb_lock = threading.Lock()


def _query(sql: str, params: list[Any]) -> pd.DataFrame:
    """Run ``sql`` on a cursor of the one in-memory DuckDB connection, closed at once.

    A cursor per query (about 10 ms) rather than a connection kept per worker thread: the
    server's worker threads outlive requests, and connections left in them at exit abort.
    """
    import duckdb

    with _duckdb_lock:
        if "con" not in _duckdb:
            con = duckdb.connect(":memory:")
            con.execute("SET threads TO 1")
            _duckdb["con"] = con
        con = _duckdb["con"]
    with con.cursor() as cursor:
        return cursor.execute(sql, params).df()


def _version(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=_CSV_CACHE)
def _csv(key: tuple[str, int, int], index_col: int | None) -> pd.DataFrame:
    frame = pd.read_csv(key[0], index_col=index_col)
    if index_col is not None:
        frame = frame.reset_index()
    return frame


def read_csv(path: Path, *, index_col: int | None = None) -> pd.DataFrame:
    """The table of ``path`` (a copy of the cached parse; callers may change it)."""
    try:
        return _csv(_version(path), index_col).copy()
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"{path.name}: cannot be read as a table ({exc})") from None


def _name(column: str) -> str:
    """``column`` quoted as an SQL identifier (names come from the file's own schema)."""
    return '"' + column.replace('"', '""') + '"'


def _where(filters: Mapping[str, Any]) -> tuple[str, list[Any]]:
    clauses = []
    params: list[Any] = []
    for column, value in filters.items():
        clauses.append(f"CAST({_name(column)} AS VARCHAR) = ?")
        params.append(str(value))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def parquet_columns(path: Path) -> list[str]:
    """The column names of a parquet table (from its footer)."""
    return list(_parquet_columns(_version(path)))


@functools.lru_cache(maxsize=64)
def _parquet_columns(key: tuple[str, int, int]) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    return tuple(pq.read_schema(key[0]).names)


def read_parquet(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    order: Sequence[str] = (),
    limit: int = MAX_ROWS,
) -> pd.DataFrame:
    """Rows of a parquet table matching ``filters`` (column -> value, compared as text)."""
    names = parquet_columns(path)
    wanted = [c for c in (columns or names) if c in names]
    filters = {k: v for k, v in (filters or {}).items() if k in names}
    select = ", ".join(_name(c) for c in wanted) or "*"
    where, params = _where(filters)
    order_by = [c for c in order if c in names]
    sql = f"SELECT {select} FROM read_parquet(?){where}"
    if order_by:
        sql += " ORDER BY " + ", ".join(_name(c) for c in order_by)
    sql += f" LIMIT {int(limit)}"
    return _query(sql, [str(path), *params])


def distinct(path: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The distinct combinations of ``columns`` of a parquet or CSV table, sorted."""
    return _distinct(_version(path), tuple(columns)).copy()


@functools.lru_cache(maxsize=128)
def _distinct(key: tuple[str, int, int], columns: tuple[str, ...]) -> pd.DataFrame:
    path = Path(key[0])
    if path.suffix == ".parquet":
        names = parquet_columns(path)
        present = [c for c in columns if c in names]
        if not present:
            return pd.DataFrame(columns=list(columns))
        select = ", ".join(_name(c) for c in present)
        sql = f"SELECT DISTINCT {select} FROM read_parquet(?) ORDER BY {select}"
        return _query(sql, [str(path)])
    frame = read_csv(path)
    present = [c for c in columns if c in frame.columns]
    return frame[present].drop_duplicates().sort_values(present).reset_index(drop=True)


def select_rows(frame: pd.DataFrame, filters: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``frame`` whose columns equal the given values (compared as text)."""
    keep = pd.Series(True, index=frame.index)
    for column, value in filters.items():
        if value is None or column not in frame.columns:
            continue
        keep &= frame[column].astype(str) == str(value)
    return frame[keep].reset_index(drop=True)


def clean(value: Any) -> Any:
    """A JSON-safe scalar: NaN and infinities become ``None``, numpy scalars Python ones."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def values(series: pd.Series) -> list[Any]:
    """A column as a JSON-safe list."""
    return [clean(v) for v in series.tolist()]
