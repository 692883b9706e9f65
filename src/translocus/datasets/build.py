"""Generate the Croissant catalogue of the public datasets from their MANIFEST.md entries.

Each row of the data folder's ``MANIFEST.md`` table (folder, what, size, source, licence,
citation) becomes one ``<name>.croissant.json`` in this package: it *describes* the data
(licence, citation, source and commit, and every file with its relative path, size and
sha256; a record set with column names and types for small tables) and copies none of it.

Run it again whenever the data folder or its manifest changes::

    python -m translocus.datasets.build --data ../shared/data
"""

from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from translocus.core.croissant import CroissantDataset, FileEntry, file_entry, write_croissant
from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance, parse_license

__all__ = ["ManifestEntry", "build_catalog", "catalog_dir", "parse_manifest", "describe_entry"]

#: Record sets are written for tables with at most this many columns (wide genotype and
#: phenotype matrices are described by their file objects only).
MAX_RECORD_COLUMNS = 40

_SPDX_PREFIX = re.compile(
    r"^\s*([A-Za-z0-9.+-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+-]+)*)(?=\s|\(|;|,|$)"
)
_REPO_AT = re.compile(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)\s*@\s*([0-9a-fA-F]{7,40}|HEAD)")
_PYPI = re.compile(r"PyPI\s+`([A-Za-z0-9_.-]+)`\s*([0-9][0-9A-Za-z.]*)?")
_REPO = re.compile(r"(?<![\w/])([A-Za-z][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]*[A-Za-z0-9])(?![\w/])")


def catalog_dir() -> Path:
    """Folder of the Croissant catalogue (this package)."""
    return Path(__file__).resolve().parent


@dataclass(frozen=True)
class ManifestEntry:
    """One dataset as the manifest table lists it."""

    folder: str
    what: str
    size: str
    source: str
    license: str
    usage_terms: str
    citation: str

    @property
    def name(self) -> str:
        """The dataset's name, the last part of its folder."""
        return self.folder.rstrip("/").rsplit("/", 1)[-1]


def _split_license(cell: str, *, where: str) -> tuple[str, str]:
    """Split a manifest licence cell into (SPDX expression, remaining usage terms)."""
    match = _SPDX_PREFIX.match(cell)
    if not match:
        raise InputError(f"{where}: licence cell {cell!r} does not start with an SPDX expression")
    expression = match.group(1)
    parse_license(expression)
    rest = cell[match.end() :].strip().strip(";,").strip()
    if rest.startswith("(") and rest.endswith(")") and rest.count("(") == 1:
        rest = rest[1:-1]
    elif rest.startswith("("):
        close = rest.find(")")
        rest = f"{rest[1:close]}{rest[close + 1 :]}"
    rest = rest.strip()
    if rest in ("package", "repository"):
        rest = f"the licence is the one the source {rest} states"
    return expression, rest


def parse_manifest(path: Path) -> list[ManifestEntry]:
    """Parse the dataset table of ``MANIFEST.md``; one entry per folder.

    A row naming two folders (``qtl2/iron, qtl2/grav2``) gives two entries.
    """
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    entries: list[ManifestEntry] = []
    header: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        row = dict(zip(header, cells, strict=False))
        where = f"{path}, line {number}"
        citation = row.get("citation", "").replace("—", "").strip()
        if citation.lower() == "as above" and entries:
            citation = entries[-1].citation
        expression, terms = _split_license(row.get("licence", ""), where=where)
        for folder in row["folder"].split(","):
            entries.append(
                ManifestEntry(
                    folder=folder.strip().rstrip("/"),
                    what=row.get("what", ""),
                    size=row.get("rows / size", ""),
                    source=row.get("source (repository @ commit, or package)", ""),
                    license=expression,
                    usage_terms=terms,
                    citation=citation,
                )
            )
    if not entries:
        raise InputError(f"{path}: no dataset table found; expected a '| folder | ... |' table")
    return entries


def _source_link(source: str) -> tuple[str, str]:
    """(URL, commit) for a manifest source cell; the earliest recognisable reference wins."""
    candidates: list[tuple[int, str, str]] = []
    m = _REPO_AT.search(source)
    if m:
        commit = m.group(2) if m.group(2) != "HEAD" else ""
        url = f"https://github.com/{m.group(1)}"
        candidates.append((m.start(), url + (f"/tree/{commit}" if commit else ""), commit))
    m = _PYPI.search(source)
    if m:
        version = f"{m.group(2)}/" if m.group(2) else ""
        candidates.append((m.start(), f"https://pypi.org/project/{m.group(1)}/{version}", ""))
    m = _REPO.search(source)
    if m:
        candidates.append((m.start(), f"https://github.com/{m.group(1)}", ""))
    if not candidates:
        return "", ""
    _, url, commit = min(candidates, key=lambda c: c[0])
    return url, commit


def _data_files(root: Path, folder: str) -> Iterator[str]:
    base = root / folder
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            yield rel.as_posix()


def _record_set(root: Path, entry: FileEntry) -> dict[str, Any] | None:
    """Column names and types of a small CSV/TSV table, or ``None`` if not a plain table."""
    if entry.encoding_format not in ("text/csv", "text/tab-separated-values"):
        return None
    sep = "," if entry.encoding_format == "text/csv" else "\t"
    try:
        head = pd.read_csv(root / entry.path, sep=sep, comment="#", nrows=200)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    columns = [str(c) for c in head.columns]
    if not 2 <= len(columns) <= MAX_RECORD_COLUMNS or any(
        c.startswith("Unnamed:") or not c.strip() for c in columns
    ):
        return None
    fields = []
    used: set[str] = set()
    for column in columns:
        field_id = re.sub(r"[^A-Za-z0-9_.-]", "_", column)
        while field_id in used:
            field_id += "_"
        used.add(field_id)
        kind = head[column].dtype.kind
        data_type = {"i": "sc:Integer", "f": "sc:Float", "b": "sc:Boolean"}.get(kind, "sc:Text")
        fields.append(
            {
                "@type": "cr:Field",
                "@id": f"{entry.path}/{field_id}",
                "name": column,
                "dataType": data_type,
                "source": {"fileObject": {"@id": entry.path}, "extract": {"column": column}},
            }
        )
    return {"@type": "cr:RecordSet", "@id": entry.path + "#records", "name": entry.path,
            "field": fields}  # fmt: skip


def describe_entry(
    entry: ManifestEntry, root: Path, *, retrieved: str, checksum: bool = True
) -> CroissantDataset:
    """The Croissant description of one manifest entry's folder under ``root``."""
    if not (root / entry.folder).is_dir():
        raise InputError(
            f"{root / entry.folder}: folder listed in MANIFEST.md does not exist; "
            "fix the manifest row or restore the data"
        )
    files = tuple(
        file_entry(root, rel, checksum=checksum) for rel in _data_files(root, entry.folder)
    )
    url, commit = _source_link(entry.source)
    records = tuple(r for r in (_record_set(root, f) for f in files) if r is not None)
    description = entry.what + (f" ({entry.size})" if entry.size else "")
    provenance = Provenance(
        name=entry.name,
        license=entry.license,
        source=entry.source,
        citation=entry.citation,
        retrieved=retrieved,
        usage_terms=entry.usage_terms,
        description=description,
    )
    return CroissantDataset(
        provenance=provenance,
        files=files,
        url=url,
        version="1.0.0" + (f"+{commit}" if commit else ""),
        record_sets=records,
    )


def build_catalog(
    data: Path | None = None, out: Path | None = None, *, checksum: bool = True
) -> list[Path]:
    """Write one ``<name>.croissant.json`` per manifest entry; return the written paths."""
    root = Path(data) if data is not None else data_dir()
    manifest = root / "MANIFEST.md"
    if not manifest.is_file():
        raise InputError(f"{manifest}: no MANIFEST.md in the data folder; point --data to it")
    target = Path(out) if out is not None else catalog_dir()
    retrieved = _dt.date.fromtimestamp(manifest.stat().st_mtime).isoformat()
    written = []
    for entry in parse_manifest(manifest):
        meta = describe_entry(entry, root, retrieved=retrieved, checksum=checksum)
        written.append(write_croissant(meta, target / f"{entry.name}.croissant.json"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="data folder with MANIFEST.md")
    parser.add_argument("--out", type=Path, default=None, help="catalogue folder")
    args = parser.parse_args(argv)
    for path in build_catalog(args.data, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
