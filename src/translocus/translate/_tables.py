"""Reading the shared reference tables fast: parquet copies in a user cache, keyed by hash.

The first read of a CSV parses it with pandas and writes a parquet copy (atomically) into
the cache folder; later reads of the same bytes load the parquet copy. The cache key is a
BLAKE2 digest of the file's content plus the parser's version, so an edited file or a
changed parser never serves a stale table. A cache folder that cannot be written is
skipped silently: the table is then parsed on every call, never lost.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from translocus.core.atomic import atomic_path

__all__ = ["cache_dir", "derived_cached", "file_digest", "read_cached"]

_DIGESTS: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """Folder of cached parquet tables.

    ``$TRANSLOCUS_CACHE`` when set, else ``$XDG_CACHE_HOME/translocus/tables`` or
    ``~/.cache/translocus/tables``.
    """
    env = os.environ.get("TRANSLOCUS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "translocus" / "tables"


def file_digest(path: Path) -> str:
    """BLAKE2b digest (hex, 20 characters) of a file's bytes, memoised by size and mtime."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    cached = _DIGESTS.get(key)
    if cached is not None:
        return cached
    digest = hashlib.blake2b(digest_size=10)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    text = digest.hexdigest()
    _DIGESTS[key] = text
    return text


def read_cached(
    path: Path, parse: Callable[[Path], pd.DataFrame], *, parser_version: str
) -> pd.DataFrame:
    """Return ``parse(path)``, served from the parquet cache when the bytes are unchanged.

    Parameters
    ----------
    path
        The source table (CSV/TSV/text).
    parse
        Function turning the file into a DataFrame with plain column types.
    parser_version
        Short tag naming the parser; change it whenever ``parse`` changes its output.
    """
    path = Path(path)
    digest = file_digest(path)
    target = cache_dir() / f"{path.name}.{parser_version}.{digest}.parquet"
    if target.is_file():
        try:
            return pd.read_parquet(target)
        except (OSError, ValueError):
            pass  # a damaged cache file is re-created below
    table = parse(path)
    try:
        with atomic_path(target, suffix=".parquet.tmp") as tmp:
            table.to_parquet(tmp, index=False)
    except OSError:
        pass  # read-only or full cache folder: the parsed table is still returned
    return table


def derived_cached(
    name: str,
    sources: Sequence[Path],
    build: Callable[[], pd.DataFrame],
    *,
    version: str,
) -> pd.DataFrame:
    """Return ``build()``, cached as parquet under a key made of every source's digest.

    For tables computed from several files (the orthology pairs, the name index): the
    cached copy is used only while all source files are byte-identical.
    """
    combined = hashlib.blake2b(digest_size=10)
    for source in sources:
        combined.update(file_digest(Path(source)).encode())
        combined.update(Path(source).name.encode())
    target = cache_dir() / f"{name}.{version}.{combined.hexdigest()}.parquet"
    if target.is_file():
        try:
            return pd.read_parquet(target)
        except (OSError, ValueError):
            pass
    table = build()
    try:
        with atomic_path(target, suffix=".parquet.tmp") as tmp:
            table.to_parquet(tmp, index=False)
    except OSError:
        pass
    return table
