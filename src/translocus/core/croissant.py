"""Read and write MLCommons Croissant (JSON-LD) metadata for datasets.

A Croissant file *describes* a dataset: its name, licence, citation, source and the files it
is made of (``distribution`` of ``cr:FileObject`` with relative ``contentUrl``, size and
sha256). translocus maps it to and from :class:`~translocus.core.provenance.Provenance`:

==========================  ==============================================
Provenance field            Croissant (schema.org) property
==========================  ==============================================
``name``                    ``name``
``license``                 ``license`` (an SPDX expression)
``citation``                ``citeAs``
``source``                  ``isBasedOn`` (``url`` holds a resolvable link)
``retrieved``               ``sdDatePublished`` (date the copy was taken)
``usage_terms``             ``usageInfo``
``description``             ``description``
==========================  ==============================================

Relative ``contentUrl`` paths are resolved against the Croissant file's own folder first
and then against the data folder (``TRANSLOCUS_DATA``), so the catalogue shipped inside the
package can describe data that live elsewhere.

Reading is plain JSON (fast); :func:`validate_croissant` runs the ``mlcroissant`` validator.

Examples
--------
>>> from translocus.core.provenance import Provenance
>>> meta = CroissantDataset(
...     provenance=Provenance(name="toy", license="MIT", citation="Doe 2024"),
...     files=(FileEntry(path="toy/a.csv", encoding_format="text/csv"),),
... )
>>> round_trip = from_jsonld(to_jsonld(meta))
>>> round_trip.provenance.license, round_trip.folder
('MIT', 'toy')
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translocus.core.atomic import atomic_write_text
from translocus.core.errors import InputError
from translocus.core.provenance import Provenance

__all__ = [
    "CROISSANT_CONTEXT",
    "CroissantDataset",
    "FileEntry",
    "file_entry",
    "from_jsonld",
    "is_croissant_file",
    "normalise_license",
    "read_croissant",
    "to_jsonld",
    "validate_croissant",
    "write_croissant",
]

#: The standard Croissant 1.0 JSON-LD ``@context``.
CROISSANT_CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

_CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
_LICENSE_FIX = (
    'add a "license" property holding an SPDX licence expression (for example "MIT", '
    '"CC-BY-4.0", "LicenseRef-<terms>", or "NOASSERTION" when the source states none)'
)

#: Licence URLs that map to an SPDX identifier.
_LICENSE_URLS: dict[str, str] = {
    "creativecommons.org/publicdomain/zero/1.0": "CC0-1.0",
    "creativecommons.org/licenses/by/4.0": "CC-BY-4.0",
    "creativecommons.org/licenses/by/3.0": "CC-BY-3.0",
    "creativecommons.org/licenses/by-sa/4.0": "CC-BY-SA-4.0",
    "creativecommons.org/licenses/by-nc/4.0": "CC-BY-NC-4.0",
    "opensource.org/licenses/mit": "MIT",
    "www.apache.org/licenses/license-2.0": "Apache-2.0",
    "www.gnu.org/licenses/gpl-3.0": "GPL-3.0-only",
}
_SPDX_URL = re.compile(r"^https?://spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html|\.json)?/?$")


@dataclass(frozen=True)
class FileEntry:
    """One file of a dataset (a Croissant ``cr:FileObject``).

    Parameters
    ----------
    path
        POSIX path relative to the data folder (``"qtl2/DO_Recla/recla_geno.csv"``).
    encoding_format
        MIME type (``"text/csv"``, ``"application/zip"``, …).
    size
        Size in bytes, or ``None``.
    sha256
        Hex digest of the content, or ``None``.
    """

    path: str
    encoding_format: str = "application/octet-stream"
    size: int | None = None
    sha256: str | None = None

    @property
    def name(self) -> str:
        """File name, the last part of ``path``."""
        return posixpath.basename(self.path)


@dataclass(frozen=True)
class CroissantDataset:
    """A dataset's Croissant description: provenance, link, version and files.

    ``version`` follows semantic versioning as Croissant asks; the source commit, when
    known, goes into its build metadata (``"1.0.0+d4f21ca"``).
    """

    provenance: Provenance
    files: tuple[FileEntry, ...] = ()
    url: str = ""
    version: str = "1.0.0"
    record_sets: tuple[Mapping[str, Any], ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """The dataset's name, as in its provenance."""
        return self.provenance.name

    @property
    def commit(self) -> str:
        """Source commit stored in ``version``'s build metadata (``""`` when none)."""
        return self.version.partition("+")[2]

    @property
    def folder(self) -> str:
        """The deepest folder that holds every file (POSIX, relative), ``""`` if none."""
        parents = [posixpath.dirname(f.path) for f in self.files]
        if not parents:
            return ""
        common = posixpath.commonpath(parents) if all(parents) else ""
        return common

    def resolve_folder(self, *roots: Path) -> Path | None:
        """The dataset's folder on disk: first existing of ``root / folder`` over roots."""
        if not self.folder:
            return None
        candidates = ([self.path.parent] if self.path is not None else []) + list(roots)
        for root in candidates:
            folder = Path(root) / self.folder
            if folder.is_dir():
                return folder.resolve()
        return None


def file_entry(root: Path, relative: str, *, checksum: bool = True) -> FileEntry:
    """Describe ``root / relative`` (size, MIME type and, optionally, sha256)."""
    target = Path(root) / relative
    digest = None
    if checksum:
        h = hashlib.sha256()
        with target.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
    return FileEntry(
        path=Path(relative).as_posix(),
        encoding_format=_mime_type(target.name),
        size=target.stat().st_size,
        sha256=digest,
    )


def _mime_type(filename: str) -> str:
    lower = filename.lower()
    for suffix, mime in (
        (".csv", "text/csv"),
        (".tsv", "text/tab-separated-values"),
        (".txt", "text/plain"),
        (".rpt", "text/tab-separated-values"),
        (".md", "text/markdown"),
        (".json", "application/json"),
        (".zip", "application/zip"),
        (".parquet", "application/x-parquet"),
        (".gz", "application/gzip"),
    ):
        if lower.endswith(suffix):
            return mime
    return "application/octet-stream"


def normalise_license(value: Any) -> str:
    """Turn a Croissant ``license`` value into one SPDX expression string.

    Accepts an SPDX expression, an ``spdx.org/licenses`` URL, a few well-known licence URLs,
    a ``{"@id": …}`` / ``{"name": …}`` object, or a list (all apply: joined with ``AND``).
    Text it cannot map is returned unchanged, so that the licence gate refuses it.

    >>> normalise_license("https://spdx.org/licenses/MIT.html")
    'MIT'
    >>> normalise_license(["MIT", "https://creativecommons.org/licenses/by/4.0/"])
    'MIT AND CC-BY-4.0'
    """
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        parts = [normalise_license(v) for v in value]
        parts = [p for p in parts if p]
        if len(parts) > 1:
            return " AND ".join(f"({p})" if " " in p else p for p in parts)
        return parts[0] if parts else ""
    if isinstance(value, Mapping):
        for key in ("@id", "url", "identifier", "name"):
            if value.get(key):
                return normalise_license(value[key])
        return ""
    text = str(value).strip()
    match = _SPDX_URL.match(text)
    if match:
        return match.group(1)
    if text.lower().startswith(("http://", "https://")):
        bare = re.sub(r"^https?://", "", text.lower()).rstrip("/")
        bare = re.sub(r"(\.html|\.txt|\.en)$", "", bare)
        if bare in _LICENSE_URLS:
            return _LICENSE_URLS[bare]
    return text


def to_jsonld(meta: CroissantDataset) -> dict[str, Any]:
    """The Croissant 1.0 JSON-LD document describing ``meta``."""
    prov = meta.provenance
    doc: dict[str, Any] = {
        "@context": CROISSANT_CONTEXT,
        "@type": "sc:Dataset",
        "name": prov.name,
        "conformsTo": _CONFORMS_TO,
        "description": prov.description,
        "license": prov.license,
        "url": meta.url,
        "isBasedOn": prov.source,
        "version": meta.version,
    }
    if prov.citation:
        doc["citeAs"] = prov.citation
    if prov.retrieved:
        doc["sdDatePublished"] = prov.retrieved
    if prov.usage_terms:
        doc["usageInfo"] = prov.usage_terms
    distribution = []
    for entry in meta.files:
        obj: dict[str, Any] = {
            "@type": "cr:FileObject",
            "@id": entry.path,
            "name": entry.path,
            "contentUrl": entry.path,
            "encodingFormat": entry.encoding_format,
        }
        if entry.size is not None:
            obj["contentSize"] = f"{entry.size} B"
        if entry.sha256:
            obj["sha256"] = entry.sha256
        distribution.append(obj)
    doc["distribution"] = distribution
    if meta.record_sets:
        doc["recordSet"] = [dict(r) for r in meta.record_sets]
    return doc


def _first(doc: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        for variant in (key, f"sc:{key}", f"https://schema.org/{key}", f"cr:{key}"):
            if variant in doc:
                return doc[variant]
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, Mapping):
        return _text(value.get("@value", value.get("name", value.get("@id", ""))))
    return str(value).strip()


def _size(value: Any) -> int | None:
    if value is None:
        return None
    match = re.match(r"^\s*(\d+)\s*(B|bytes)?\s*$", str(value))
    return int(match.group(1)) if match else None


def from_jsonld(doc: Mapping[str, Any], *, source: str | Path = "<memory>") -> CroissantDataset:
    """Build a :class:`CroissantDataset` from a parsed Croissant JSON-LD document.

    Raises
    ------
    InputError
        The document is not a dataset description, or it has no licence.
    """
    where = str(source)
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: not a Croissant document (expected a JSON object)")
    kind = _text(doc.get("@type", ""))
    if kind and not kind.endswith("Dataset"):
        raise InputError(
            f"{where}: @type is {kind!r}, not sc:Dataset; point to a Croissant dataset file"
        )
    name = _text(_first(doc, "name"))
    if not name:
        raise InputError(f'{where}: no "name"; add the dataset\'s short name as "name"')
    license_value = _first(doc, "license")
    license_text = normalise_license(license_value)
    if not license_text:
        raise InputError(f"{where}: dataset '{name}' has no licence; {_LICENSE_FIX}")
    files = []
    distribution = _first(doc, "distribution") or []
    if isinstance(distribution, Mapping):
        distribution = [distribution]
    for obj in distribution:
        if not isinstance(obj, Mapping):
            continue
        kind = _text(obj.get("@type", ""))
        url = _text(_first(obj, "contentUrl"))
        if not url or kind.endswith("FileSet"):
            continue
        fmt = _first(obj, "encodingFormat")
        files.append(
            FileEntry(
                path=url,
                encoding_format=_text(fmt[0] if isinstance(fmt, list) and fmt else fmt)
                or "application/octet-stream",
                size=_size(_first(obj, "contentSize")),
                sha256=_text(_first(obj, "sha256")) or None,
            )
        )
    record_sets = _first(doc, "recordSet") or []
    if isinstance(record_sets, Mapping):
        record_sets = [record_sets]
    provenance = Provenance(
        name=name,
        license=license_text,
        source=_text(_first(doc, "isBasedOn")) or _text(_first(doc, "url")),
        citation=_text(_first(doc, "citeAs", "citation")),
        retrieved=_text(_first(doc, "sdDatePublished", "dateModified")),
        usage_terms=_text(_first(doc, "usageInfo")),
        description=_text(_first(doc, "description")),
    )
    return CroissantDataset(
        provenance=provenance,
        files=tuple(files),
        url=_text(_first(doc, "url")),
        version=_text(_first(doc, "version")) or "1.0.0",
        record_sets=tuple(r for r in record_sets if isinstance(r, Mapping)),
        path=Path(source) if isinstance(source, Path) else None,
    )


def is_croissant_file(path: Path) -> bool:
    """True for file names translocus treats as Croissant metadata."""
    name = Path(path).name
    return name.endswith(".croissant.json") or name == "metadata.json"


def read_croissant(path: Path | str) -> CroissantDataset:
    """Read a Croissant JSON-LD file.

    Raises
    ------
    InputError
        The file is missing, is not JSON, is not a dataset, or has no licence (the message
        names the file and says what to add).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such Croissant file; give the path of a .croissant.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not valid JSON (line {getattr(exc, 'lineno', '?')}): {exc}; "
            "fix the JSON-LD syntax"
        ) from exc
    return from_jsonld(doc, source=path)


def write_croissant(meta: CroissantDataset, path: Path | str) -> Path:
    """Write ``meta`` as Croissant JSON-LD to ``path`` (atomically) and return the path."""
    path = Path(path)
    atomic_write_text(path, json.dumps(to_jsonld(meta), indent=2, ensure_ascii=False) + "\n")
    return path


def validate_croissant(path: Path | str) -> list[str]:
    """Run the ``mlcroissant`` validator; return its errors and warnings (empty = clean).

    Importing ``mlcroissant`` takes a few seconds, hence this is separate from reading.
    """
    import logging
    import warnings

    import mlcroissant as mlc

    logging.getLogger("absl").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = mlc.Dataset(jsonld=str(path))
    except mlc.ValidationError as exc:
        return [f"error: {line}" for line in str(exc).splitlines() if line.strip()]
    issues = dataset.metadata.ctx.issues
    return [f"error: {e}" for e in sorted(issues.errors)] + [
        f"warning: {w}" for w in sorted(issues.warnings)
    ]
