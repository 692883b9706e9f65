"""The catalogue of public datasets: one Croissant file per dataset, with its licence.

The files in this package describe the data in the shared data folder (``TRANSLOCUS_DATA``)
without copying them. Readers use :func:`dataset_provenance` so that every dataset object
carries the licence and citation of its source.

Examples
--------
>>> "DO_Recla" in list_datasets()
True
>>> dataset_provenance("model_ad").license
'LicenseRef-AD-Knowledge-Portal-Terms'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from translocus.core.croissant import CroissantDataset, read_croissant
from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance

__all__ = [
    "PHYSICAL_MAP_ASSEMBLY",
    "physical_map_assembly",
    "catalog_files",
    "dataset_folder",
    "dataset_metadata",
    "dataset_provenance",
    "list_datasets",
    "provenance_for_path",
]

_SUFFIX = ".croissant.json"


def catalog_files() -> list[Path]:
    """Paths of the catalogue's Croissant files, sorted by dataset name."""
    return sorted(Path(__file__).resolve().parent.glob(f"*{_SUFFIX}"))


@lru_cache(maxsize=1)
def _catalog() -> dict[str, CroissantDataset]:
    out = {}
    for path in catalog_files():
        meta = read_croissant(path)
        out[meta.name] = meta
    return out


def list_datasets() -> list[str]:
    """Names of the datasets in the catalogue."""
    return sorted(_catalog(), key=str.lower)


def dataset_metadata(name: str) -> CroissantDataset:
    """The Croissant description of dataset ``name``."""
    catalog = _catalog()
    if name not in catalog:
        raise InputError(
            f"unknown dataset {name!r}; choose one of {', '.join(list_datasets())} "
            "or describe it with python -m translocus.datasets.build"
        )
    return catalog[name]


def dataset_provenance(name: str) -> Provenance:
    """The :class:`Provenance` (licence, source, citation) of dataset ``name``."""
    return dataset_metadata(name).provenance


def dataset_folder(name: str, *, root: Path | None = None) -> Path:
    """Where dataset ``name`` lives under the data folder (it may not exist)."""
    meta = dataset_metadata(name)
    return (Path(root) if root is not None else data_dir()) / meta.folder


def provenance_for_path(path: Path | str, *, root: Path | None = None) -> Provenance | None:
    """The provenance of the catalogued dataset that holds ``path``, or ``None``.

    Readers call this so that objects made from a shared data file carry its licence.

    >>> from translocus.core.paths import data_dir
    >>> provenance_for_path(data_dir() / "qtl2" / "DOex" / "DOex.zip").name
    'DOex'
    """
    base = (Path(root) if root is not None else data_dir()).resolve()
    try:
        rel = Path(path).resolve().relative_to(base).as_posix()
    except ValueError:
        return None
    best: CroissantDataset | None = None
    for meta in _catalog().values():
        folder = meta.folder
        inside = bool(folder) and (rel == folder or rel.startswith(folder + "/"))
        if inside and (best is None or len(folder) > len(best.folder)):
            best = meta
    return best.provenance if best is not None else None


#: Genome build of the physical maps (Mbp) of the shared crosses, as their sources state it:
#: the data manifest ("DO_Recla and DOex physical maps are GRCm38 (mm10)"; CC's map column is
#: ``Mbp_mm10``) and DO_Gatti2014's ReadMe ("positions in NCBI38/mm10 Mbp").
PHYSICAL_MAP_ASSEMBLY: dict[str, str] = {
    "CC": "GRCm38",
    "DO_Gatti2014": "GRCm38",
    "DO_Recla": "GRCm38",
    "DOex": "GRCm38",
}


def physical_map_assembly(name: str) -> str | None:
    """Genome build of a catalogued cross's physical map, or ``None`` when not recorded.

    >>> physical_map_assembly("DO_Recla")
    'GRCm38'
    """
    return PHYSICAL_MAP_ASSEMBLY.get(name)
