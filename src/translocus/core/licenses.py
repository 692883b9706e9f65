"""Find the datasets in a folder, match them to Croissant metadata and report their licences.

:func:`discover_datasets` accepts

- a data folder (like ``../shared/data``): each dataset folder is matched to a Croissant
  description, first one inside the folder itself (``*.croissant.json`` or
  ``metadata.json``), then the package catalogue (:mod:`translocus.datasets`); folders no
  description claims are listed as *undescribed* and are always refused;
- a single Croissant file;
- a folder of Croissant files (such as the catalogue itself).

:func:`license_report` runs the licence gate (:class:`~translocus.core.provenance.LicensePolicy`)
over the datasets and returns one row per dataset; :func:`license_table` renders it with rich.

Examples
--------
>>> from translocus.datasets import catalog_files
>>> entries = discover_datasets(catalog_files()[0])
>>> report = license_report(entries)
>>> list(report.columns)
['dataset', 'folder', 'license', 'training', 'reason', 'metadata']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from translocus.core.croissant import CroissantDataset, is_croissant_file, read_croissant
from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import LicensePolicy, Provenance

__all__ = ["DatasetEntry", "discover_datasets", "license_report", "license_table"]

_IGNORED_FILES = {"MANIFEST.md", "README.md", "README", "README.txt", ".DS_Store"}
_UNDESCRIBED = "no Croissant metadata describes this folder (describe it to use it)"


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset found on disk and/or in Croissant metadata.

    ``metadata`` is ``None`` for a folder no Croissant file describes; such datasets carry a
    provenance with an empty licence and are refused by every policy that does not name them.
    """

    name: str
    provenance: Provenance
    folder: Path | None = None
    metadata: CroissantDataset | None = None

    @property
    def described(self) -> bool:
        """Whether the catalogue holds a Croissant description of the dataset."""
        return self.metadata is not None


def _catalog() -> list[CroissantDataset]:
    from translocus.datasets import catalog_files

    return [read_croissant(p) for p in catalog_files()]


def _croissant_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_croissant_file(p))


def _has_data_files(folder: Path) -> bool:
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if (
            path.is_file()
            and not any(part.startswith(".") for part in rel.parts)
            and path.name not in _IGNORED_FILES
            and not is_croissant_file(path)
        ):
            return True
    return False


def discover_datasets(
    path: Path | str, *, catalog: Sequence[CroissantDataset] | None = None
) -> list[DatasetEntry]:
    """The datasets at ``path`` (data folder, Croissant file, or folder of Croissant files).

    Parameters
    ----------
    path
        See the module docstring.
    catalog
        Croissant descriptions to match data folders against; default: the package
        catalogue of the public datasets.

    Raises
    ------
    InputError
        ``path`` does not exist, or a Croissant file is invalid (e.g. has no licence).
    """
    path = Path(path)
    if path.is_file():
        if not path.name.endswith(".json"):
            raise InputError(
                f"{path}: not a Croissant file; give a data folder, a .croissant.json or "
                "a folder of Croissant files"
            )
        meta = read_croissant(path)
        return [
            DatasetEntry(meta.name, meta.provenance, meta.resolve_folder(data_dir()), metadata=meta)
        ]
    if not path.is_dir():
        raise InputError(
            f"{path}: no such file or folder; give a data folder (like ../shared/data) "
            "or a Croissant file"
        )
    own = _croissant_files(path)
    if own and not any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir()):
        entries = []
        for file in own:
            meta = read_croissant(file)
            folder = meta.resolve_folder(path, data_dir())
            entries.append(DatasetEntry(meta.name, meta.provenance, folder, metadata=meta))
        return entries
    return _scan_data_folder(path.resolve(), list(catalog) if catalog is not None else _catalog())


def _scan_data_folder(root: Path, catalog: list[CroissantDataset]) -> list[DatasetEntry]:
    claimed: dict[Path, CroissantDataset] = {}
    # Descriptions kept beside the data win over the catalogue.
    for file in sorted(root.rglob("*.json")):
        rel = file.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not is_croissant_file(file):
            continue
        meta = read_croissant(file)
        folder = meta.resolve_folder(root) or file.parent
        claimed.setdefault(folder.resolve(), meta)
    for meta in catalog:
        if meta.folder and (root / meta.folder).is_dir():
            claimed.setdefault((root / meta.folder).resolve(), meta)

    entries = [
        DatasetEntry(meta.name, meta.provenance, folder, metadata=meta)
        for folder, meta in claimed.items()
    ]
    entries.extend(_undescribed(root, root, set(claimed)))
    return sorted(entries, key=lambda e: (str(e.folder or ""), e.name))


def _undescribed(root: Path, folder: Path, claimed: set[Path]) -> Iterable[DatasetEntry]:
    """Folders with data that no description claims (the shallowest such folder each)."""
    for child in sorted(folder.iterdir()):
        if child.name.startswith(".") or not child.is_dir() or child.resolve() in claimed:
            continue
        if any(c == child.resolve() or child.resolve() in c.parents for c in claimed):
            yield from _undescribed(root, child, claimed)
            loose = [
                f
                for f in child.iterdir()
                if f.is_file() and not f.name.startswith(".") and f.name not in _IGNORED_FILES
            ]
            if loose:
                yield _undescribed_entry(root, child)
        elif _has_data_files(child):
            yield _undescribed_entry(root, child)


def _undescribed_entry(root: Path, folder: Path) -> DatasetEntry:
    name = folder.relative_to(root).as_posix()
    return DatasetEntry(name, Provenance(name=name, license=""), folder.resolve(), metadata=None)


def license_report(
    entries: Sequence[DatasetEntry],
    policy: LicensePolicy | None = None,
    *,
    purpose: str = "training",
) -> pd.DataFrame:
    """One row per dataset: name, folder, licence, whether ``purpose`` is allowed, and why.

    Each decision is recorded in ``policy.log`` (a fresh default policy when ``None``).
    """
    policy = policy if policy is not None else LicensePolicy()
    rows = []
    for entry in entries:
        decision = policy.decide(entry.provenance, purpose)
        reason = decision.reason
        if not entry.described and not decision.allowed:
            reason = _UNDESCRIBED
        rows.append(
            {
                "dataset": entry.name,
                "folder": str(entry.folder) if entry.folder is not None else "",
                "license": entry.provenance.license or "unknown",
                "training": "allowed" if decision.allowed else "refused",
                "reason": reason,
                "metadata": str(entry.metadata.path)
                if entry.metadata is not None and entry.metadata.path
                else "",
            }
        )
    columns = ["dataset", "folder", "license", "training", "reason", "metadata"]
    return pd.DataFrame(rows, columns=columns)


def license_table(report: pd.DataFrame, *, title: str = "Datasets and licences") -> object:
    """Render a :func:`license_report` as a ``rich.table.Table``."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("dataset", style="bold")
    table.add_column("licence")
    table.add_column("training")
    table.add_column("why")
    table.add_column("folder", overflow="fold")
    for row in report.itertuples(index=False):
        style = "green" if row.training == "allowed" else "red"
        table.add_row(
            str(row.dataset),
            str(row.license),
            f"[{style}]{row.training}[/{style}]",
            str(row.reason),
            str(row.folder),
        )
    return table
