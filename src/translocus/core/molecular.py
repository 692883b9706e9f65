r"""Molecular traits: expression or protein matrices, their feature annotation and samples.

A molecular data set is a matrix of many traits (features: genes, transcripts, proteins)
measured in the animals of a cross. :func:`read_traits` reads it from an AnnData file
(``.h5ad``), a parquet file or a CSV/TSV table (``.gz`` too), in either orientation, and
returns a :class:`MolecularTraits` whose ``values`` are always ``[sample x feature]``.
:func:`annotate` joins the features to a gene table (positions for cis/trans calls),
:func:`match_samples` lines the samples up with the cross and says which did not match, and
:func:`rank_inverse_normal` is the rank-based inverse normal transform.

Which axis holds the samples
    An ``.h5ad`` file has samples as observations (``obs``) and features as variables
    (``var``), AnnData's convention. In a table the first column (or a parquet file's
    index) holds the row IDs and the header the column IDs. Given the cross's sample IDs
    (``samples=``), the axis whose IDs match more of them is the sample axis. Without them
    the rules are, in order: annotation columns (``gene_id``/``ensgene``, ``symbol``, ``chr``,
    ``start``, ``end``) make the rows features; Ensembl-like IDs (``ENSMUSG...``) on most of
    one axis make it the feature axis; a first column named like ``sample``/``mouse``/
    ``animal`` or like ``gene``/``feature``/``protein`` says what the rows are; otherwise the
    longer axis is the feature axis (a molecular data set has more features than animals).
    ``orientation=`` (``--orientation``) overrides all of these. The orientation used and
    the rule that chose it are stated in :attr:`MolecularTraits.orientation` and ``notes``.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "liver.csv").write_text(
...     "gene_id,symbol,M1,M2,M3\nENSMUSG00000000001,Gnai3,5.1,4.8,6.0\n"
...     "ENSMUSG00000000028,Cdc45,2.2,,3.1\n")
>>> traits = read_traits(folder / "liver.csv")
>>> traits.orientation
'features-x-samples'
>>> traits.values  # doctest: +NORMALIZE_WHITESPACE
feature  ENSMUSG00000000001  ENSMUSG00000000028
sample
M1                      5.1                 2.2
M2                      4.8                 NaN
M3                      6.0                 3.1
>>> traits.features.loc["ENSMUSG00000000028", "symbol"]
'Cdc45'
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from translocus.core.errors import InputError, OptionError

__all__ = [
    "ANNOTATION_COLUMNS",
    "ORIENTATIONS",
    "MolecularTraits",
    "SampleMatch",
    "annotate",
    "match_samples",
    "rank_inverse_normal",
    "read_covariate_table",
    "read_traits",
]

#: The values of ``orientation=`` (``--orientation``): what the rows of the file are.
ORIENTATIONS = ("auto", "samples-x-features", "features-x-samples")

#: The annotation columns of :attr:`MolecularTraits.features`, in order.
ANNOTATION_COLUMNS = ("gene_id", "symbol", "chr", "start", "end", "build", "annotated_by")

#: Column names (lower case) read as each annotation column of a features-x-samples table or
#: an AnnData ``var``.
_ALIASES: dict[str, tuple[str, ...]] = {
    "gene_id": ("gene_id", "ensgene", "ensembl_gene_id", "ensembl_id", "ensembl", "gene_ids"),
    "symbol": ("symbol", "gene_symbol", "gene_name", "mgi_symbol", "external_gene_name"),
    "chr": ("chr", "chrom", "chromosome", "gene_chr", "seqnames", "seqname"),
    "start": ("start", "gene_start", "start_bp", "start_position"),
    "end": ("end", "gene_end", "end_bp", "end_position"),
    "build": ("build", "genome_build", "assembly", "genome"),
}
#: Other annotation a features-x-samples table may carry: kept in ``features``, never a sample.
_EXTRA_ANNOTATION = ("strand", "biotype", "gene_biotype", "gene_type", "description", "entrez")
_STRING_COLUMNS = ("gene_id", "symbol", "chr", "build", "annotated_by")

_ENSEMBL = re.compile(r"^ENS[A-Z]*[GTP]\d{6,}(\.\d+)?$")
_SAMPLE_HEADERS = {"sample", "sample_id", "samples", "mouse", "mouse_id", "animal", "animal_id",
                   "subject", "individual", "id", "strain", "obs"}  # fmt: skip
_FEATURE_HEADERS = {"gene", "genes", "feature", "feature_id", "features", "protein", "protein_id",
                    "transcript", "transcript_id", "probe", "probe_id", "gene_id", "ensgene",
                    "ensembl_gene_id", "symbol", "gene_symbol", "var"}  # fmt: skip
#: Builds written in other ways (UCSC names).
_BUILD_NAMES = {"mm39": "GRCm39", "mm10": "GRCm38", "hg38": "GRCh38", "hg19": "GRCh37"}
_TRANSFORMS = ("rankint",)
_SHOWN = 5


@dataclass(frozen=True)
class MolecularTraits:
    """A molecular data set: many traits measured in the animals of a cross.

    Parameters
    ----------
    values
        ``[sample x feature]`` float64, NaN where missing; index named ``sample`` (the sample
        IDs as strings), columns named ``feature`` (the feature IDs of the file).
    features
        One row per feature (index = feature ID, in the order of ``values``' columns) with
        ``gene_id`` (Ensembl gene ID, no version), ``symbol``, ``chr`` (``"1"``..``"19"``,
        ``"X"``, ``"Y"``, ``"MT"``), ``start``, ``end`` (bp, 1-based, nullable integers),
        ``build`` (e.g. ``"GRCm39"``) and ``annotated_by`` (where the position came from:
        ``file``, ``gene_id``, ``symbol``, ``symbol (any case)``, or missing), plus any other
        annotation the file had (``strand``, ``biotype``, ...).
    orientation
        The file's layout: ``"samples-x-features"`` or ``"features-x-samples"``.
    transform
        ``"rankint"`` when the values were rank-based inverse normal transformed, else None.
    source
        The file read (None when built in memory).
    notes
        What was decided on the way (orientation and why, transform, annotation and sample
        counts), one sentence each, for the run's log.
    """

    values: pd.DataFrame
    features: pd.DataFrame
    orientation: str
    transform: str | None = None
    source: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def samples(self) -> list[str]:
        """The sample IDs, in the order of ``values``' rows."""
        return [str(s) for s in self.values.index]

    @property
    def feature_ids(self) -> list[str]:
        """The feature IDs, in the order of ``values``' columns."""
        return [str(f) for f in self.values.columns]

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    def with_note(self, note: str) -> MolecularTraits:
        """A copy with one more note."""
        return replace(self, notes=(*self.notes, note))


@dataclass(frozen=True)
class SampleMatch:
    """How the samples of a traits file met the cross's: matched IDs and those on one side only.

    Parameters
    ----------
    matched
        IDs in both, in the cross's order.
    only_in_traits
        IDs of the traits file that the cross lacks (their values are left out).
    only_in_cross
        IDs of the cross with no traits (the scan leaves them out).
    """

    matched: list[str]
    only_in_traits: list[str]
    only_in_cross: list[str]

    def summary(self) -> str:
        """One sentence: how many matched and a few IDs of each side that did not."""
        text = f"samples: {len(self.matched):,} in both the traits and the cross"
        for label, ids in (("only in the traits", self.only_in_traits),
                           ("only in the cross", self.only_in_cross)):  # fmt: skip
            if ids:
                text += f"; {len(ids):,} {label} ({_few(ids)})"
        return text


# ---------------------------------------------------------------------------- reading


def read_traits(
    path: str | Path,
    *,
    orientation: str = "auto",
    samples: Iterable[Any] | None = None,
    transform: str | None = None,
    layer: str | None = None,
) -> MolecularTraits:
    r"""Read an expression or protein matrix: ``.h5ad``, parquet, CSV or TSV (``.gz`` too).

    Parameters
    ----------
    path
        The file (``--traits``). ``.h5ad``: AnnData, samples as ``obs``, features as ``var``
        (``var`` columns give the annotation, ``uns["build"]`` the genome build), ``X`` dense
        or sparse. ``.parquet``: the index (when not a plain row number) or else the first
        column holds the row IDs. ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``): the first
        column holds the row IDs.
    orientation
        ``"auto"`` (see the module's rules), ``"samples-x-features"`` or
        ``"features-x-samples"`` (``--orientation``).
    samples
        The cross's sample IDs; in ``"auto"`` the axis whose IDs match more of them is the
        sample axis. The values are not restricted to them (see :func:`match_samples`).
    transform
        None, or ``"rankint"``: rank-based inverse normal transform of each feature
        (:func:`rank_inverse_normal`; ``--transform``).
    layer
        An ``.h5ad`` layer (``adata.layers[layer]``) to read instead of ``X``.

    Returns
    -------
    MolecularTraits
        ``values`` ``[sample x feature]`` float64; annotation found in the file in
        ``features``; the orientation, its rule and the transform stated in ``notes``.

    Raises
    ------
    InputError
        A missing or unreadable file, values that are not numbers or are infinite, duplicate
        sample or feature IDs, a missing ID, no samples or no features, a feature with no
        value: one error naming the file, the row or column and the fix.
    OptionError
        An unknown ``orientation`` or ``transform``, or ``layer`` of a file that has none.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "p.tsv").write_text("mouse\tAlb\tApoe\nM1\t3\t1\nM2\t4\t2\n")
    >>> traits = read_traits(folder / "p.tsv", samples=["M1", "M2"])
    >>> traits.orientation, traits.shape
    ('samples-x-features', (2, 2))
    >>> traits.notes[0]
    'orientation: samples-x-features (2 of the 2 row IDs are sample IDs of the cross, 0 of the 2 column IDs)'
    """
    if orientation not in ORIENTATIONS:
        raise OptionError("orientation", orientation, f"must be one of {', '.join(ORIENTATIONS)}")
    if transform is not None and transform not in _TRANSFORMS:
        raise OptionError(
            "transform", transform, "must be rankint (rank-based inverse normal) or left out"
        )
    path = Path(path)
    _check_file(path)
    cross_ids = None if samples is None else {str(s).strip() for s in samples}
    kind = _kind_of(path)
    if layer is not None and kind != "h5ad":
        raise OptionError(
            "layer", layer, f"{path.name} is not an .h5ad file; only AnnData has layers"
        )
    if kind == "h5ad":
        traits = _read_h5ad(path, orientation=orientation, samples=cross_ids, layer=layer)
    else:
        traits = _read_table(path, kind, orientation=orientation, samples=cross_ids)
    if transform == "rankint":
        traits = replace(
            traits,
            values=rank_inverse_normal(traits.values),
            transform="rankint",
            notes=(*traits.notes, "transform: rank-based inverse normal of each feature "
                   "(Blom offset 3/8, ties averaged, missing values kept)"),
        )  # fmt: skip
    return traits


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(
            f"{path}: file not found; give --traits an .h5ad, parquet, CSV or TSV file"
        )
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give --traits an .h5ad, parquet, CSV or TSV file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty; give --traits a matrix with IDs and values")


def _kind_of(path: Path) -> str:
    name = path.name.lower()
    with open(path, "rb") as handle:
        head = handle.read(8)
    if name.endswith(".h5ad") or head.startswith(b"\x89HDF"):
        return "h5ad"
    if name.endswith(".parquet") or head.startswith(b"PAR1"):
        return "parquet"
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith((".tsv", ".tab", ".txt")):
        return "tsv"
    if base.endswith(".csv"):
        return "csv"
    return "text"


def _read_h5ad(
    path: Path, *, orientation: str, samples: set[str] | None, layer: str | None
) -> MolecularTraits:
    try:
        import anndata  # noqa: PLC0415
    except ImportError:
        raise InputError(
            f"{path}: reading .h5ad files needs the anndata package; "
            "pip install 'translocus[h5ad]' (or give --traits a parquet or CSV file)"
        ) from None
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:  # h5py and anndata raise many kinds
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{path}: cannot be read as an AnnData .h5ad file ({reason})") from None
    if layer is not None:
        if layer not in adata.layers:
            known = ", ".join(map(str, adata.layers.keys())) or "none"
            raise OptionError("layer", layer, f"{path.name} has no such layer; its layers: {known}")
        matrix = adata.layers[layer]
    else:
        matrix = adata.X
    if matrix is None:
        raise InputError(f"{path}: holds no matrix X; give the layer to read with --layer")
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    try:
        dense = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: the {'layer ' + repr(layer) if layer else 'matrix X'} holds values that "
            "are not numbers; store numeric expression values"
        ) from None
    obs_ids = [str(s) for s in adata.obs_names]
    var_ids = [str(f) for f in adata.var_names]
    if orientation == "auto":
        orientation, why = _orientation_by_ids(obs_ids, var_ids, samples)
        if why is None:
            orientation, why = "samples-x-features", "an .h5ad file has samples as obs (AnnData)"
    else:
        why = "as asked with --orientation"
    if orientation == "samples-x-features":
        sample_ids, feature_ids, table, annotation = obs_ids, var_ids, dense, adata.var
        sample_axis, feature_axis = "obs", "var"
    else:
        sample_ids, feature_ids, table, annotation = var_ids, obs_ids, dense.T, adata.obs
        sample_axis, feature_axis = "var", "obs"
    _check_ids(path, sample_ids, what="sample", where=f"{sample_axis}_names")
    _check_ids(path, feature_ids, what="feature", where=f"{feature_axis}_names")
    values = pd.DataFrame(
        table,
        index=pd.Index(sample_ids, name="sample"),
        columns=pd.Index(feature_ids, name="feature"),
    )
    _check_values(values, path, locate=lambda s, f: f"{sample_axis} {s!r}, {feature_axis} {f!r}")
    _check_nonempty(values, path)
    _check_all_missing(values, path, locate=lambda f: f"{feature_axis} {f!r}")
    frame = pd.DataFrame(annotation).copy()
    frame.index = pd.Index(feature_ids)
    build = None
    for key in _ALIASES["build"]:
        if key in adata.uns and isinstance(adata.uns[key], str):
            build = adata.uns[key]
            break
    features = _annotation_from(frame, feature_ids, build=build, source=path)
    note = f"orientation: {orientation} ({why})"
    return MolecularTraits(values, features, orientation, None, path, (note,))


def _read_table(
    path: Path, kind: str, *, orientation: str, samples: set[str] | None
) -> MolecularTraits:
    frame, lines = _load_table(path, kind)
    id_column = str(frame.columns[0])
    ids = frame[id_column]
    missing = np.flatnonzero(ids.isna().to_numpy())
    if missing.size:
        raise InputError(
            f"{path}, {_id_label(id_column)}: {_where(missing, lines)} has no ID; "
            "every row needs an ID in the first column"
        )
    row_ids = [str(v).strip() for v in ids]
    rest = [str(c) for c in frame.columns[1:]]
    annotation_names = _annotation_names(rest)
    if orientation == "auto":
        orientation, why = _orientation_auto(row_ids, rest, annotation_names, id_column, samples)
    else:
        why = "as asked with --orientation"
    data_columns = rest
    annotation = pd.DataFrame(index=pd.Index(row_ids))
    if orientation == "features-x-samples":
        data_columns = [c for c in rest if c not in annotation_names]
        annotation = frame[[c for c in rest if c in annotation_names]].copy()
        annotation.index = pd.Index(row_ids)
        if id_column.lower() in _ALIASES["gene_id"] or id_column.lower() in _ALIASES["symbol"]:
            annotation.insert(0, id_column, row_ids)
        sample_ids, feature_ids = data_columns, row_ids
        _check_ids(path, feature_ids, what="feature", where=f"{_id_label(id_column)}", lines=lines)
        _check_ids(path, sample_ids, what="sample", where="the header")
    else:
        sample_ids, feature_ids = row_ids, rest
        _check_ids(path, sample_ids, what="sample", where=f"{_id_label(id_column)}", lines=lines)
        _check_ids(path, feature_ids, what="feature", where="the header")
    block = _numeric_block(frame[data_columns], path, lines)
    if orientation == "features-x-samples":
        values = pd.DataFrame(block.T, index=sample_ids, columns=row_ids)
    else:
        values = pd.DataFrame(block, index=row_ids, columns=rest)
    values.index.name, values.columns.name = "sample", "feature"
    _check_nonempty(values, path, annotation_only=bool(annotation_names) and not data_columns)
    _check_values(values, path, locate=_locator(orientation, id_column, row_ids, lines))
    position = {f: i for i, f in enumerate(row_ids)}

    def locate_feature(feature: str) -> str:
        if orientation == "features-x-samples":
            return f"{_where(np.array([position[feature]]), lines)} ({feature!r})"
        return f"column {feature!r}"

    _check_all_missing(values, path, locate=locate_feature)
    features = _annotation_from(annotation, feature_ids, build=None, source=path)
    note = f"orientation: {orientation} ({why})"
    return MolecularTraits(values, features, orientation, None, path, (note,))


def _load_table(path: Path, kind: str, flag: str = "--traits") -> tuple[pd.DataFrame, bool]:
    """The table with its ID column first, and whether row numbers are file lines (text)."""
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
                frame = frame.reset_index()
            header = [str(c) for c in frame.columns]
            frame.columns = pd.Index(header)
            lines = False
        else:
            sep, raw = _text_header(path, kind)
            first = raw[0] if raw and raw[0] else "Unnamed: 0"
            frame = pd.read_csv(path, sep=sep, dtype={first: str}, low_memory=False)
            header = [h.strip() for h in raw]
            frame.columns = pd.Index([str(c).strip() for c in frame.columns])
            lines = True
    except InputError:
        raise
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: is not UTF-8 text; save it as a UTF-8 CSV or TSV (or parquet)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise InputError(f"{path}: cannot be read as a table ({reason})") from None
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name and name in seen:
            raise InputError(
                f"{path}, header: column {name!r} appears twice (columns {seen[name] + 1} and "
                f"{i + 1}); each sample or feature needs its own column, rename or remove one"
            )
        seen[name] = i
    if frame.shape[1] < 2:
        raise InputError(
            f"{path}: has {frame.shape[1]} column; give {flag} a table: an ID column, then "
            "one column per sample, feature or covariate (check the delimiter)"
        )
    if len(frame) == 0:
        raise InputError(f"{path}: has a header but no rows; give {flag} a table with values")
    return frame, lines


def _text_header(path: Path, kind: str) -> tuple[str, list[str]]:
    opener: Any = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            line = handle.readline()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    if "\x00" in line:
        raise InputError(f"{path}: is a binary file; give --traits an .h5ad, parquet, CSV or TSV")
    if kind == "tsv":
        sep = "\t"
    elif kind == "csv":
        sep = ","
    else:
        sep = "\t" if "\t" in line else ","
    import csv  # noqa: PLC0415

    header = next(csv.reader([line.rstrip("\r\n")], delimiter=sep), [])
    return sep, header


def _id_label(id_column: str) -> str:
    """The ID column as the user sees it (R's ``write.csv`` leaves its header empty)."""
    if not id_column or id_column.startswith("Unnamed: "):
        return "the first column (the IDs)"
    return f"column {id_column!r}"


def _where(rows: np.ndarray, lines: bool) -> str:
    """Rows of the table as the user finds them: file lines (header = line 1) or row numbers."""
    numbers = [int(r) + (2 if lines else 1) for r in rows[:_SHOWN]]
    word = "line" if lines else "row"
    text = f"{word}{'s' if len(rows) > 1 else ''} " + ", ".join(map(str, numbers))
    return text + (f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else "")


def _locator(orientation: str, id_column: str, row_ids: list[str], lines: bool) -> Any:
    position = {r: i for i, r in enumerate(row_ids)}

    def locate(sample: str, feature: str) -> str:
        if orientation == "features-x-samples":
            return (
                f"column {sample!r}, {_where(np.array([position[feature]]), lines)} ({feature!r})"
            )
        return f"column {feature!r}, {_where(np.array([position[sample]]), lines)} ({sample!r})"

    return locate


def _annotation_names(columns: Sequence[str]) -> set[str]:
    known = {a for aliases in _ALIASES.values() for a in aliases} | set(_EXTRA_ANNOTATION)
    return {c for c in columns if c.strip().lower() in known}


def _is_ensembl(ids: Sequence[str]) -> bool:
    return bool(ids) and sum(bool(_ENSEMBL.match(i)) for i in ids) > len(ids) / 2


def _orientation_by_ids(
    row_ids: Sequence[str], column_ids: Sequence[str], samples: set[str] | None
) -> tuple[str, str | None]:
    """The orientation the cross's IDs give (None as the reason when they do not decide)."""
    if samples is None:
        return "samples-x-features", None
    in_rows = len({r for r in row_ids if r in samples})
    in_columns = len({c for c in column_ids if c in samples})
    counts = (
        f"{in_rows:,} of the {len(row_ids):,} row IDs are sample IDs of the cross, "
        f"{in_columns:,} of the {len(column_ids):,} column IDs"
    )
    if in_rows > in_columns:
        return "samples-x-features", counts
    if in_columns > in_rows:
        return "features-x-samples", counts
    return "samples-x-features", None


def _orientation_auto(
    row_ids: list[str],
    columns: list[str],
    annotation_names: set[str],
    id_column: str,
    samples: set[str] | None,
) -> tuple[str, str]:
    data_columns = [c for c in columns if c not in annotation_names]
    chosen, why = _orientation_by_ids(row_ids, data_columns, samples)
    if why is not None:
        return chosen, why
    prefix = ""
    if samples is not None:
        prefix = (
            "as many row as column IDs are sample IDs of the cross; "
            if {r for r in row_ids if r in samples}
            else "no ID matches the cross's samples; "
        )
    if annotation_names:
        shown = ", ".join(sorted(annotation_names)[:_SHOWN])
        return "features-x-samples", f"{prefix}annotation columns ({shown}) make the rows features"
    if _is_ensembl(row_ids) and not _is_ensembl(data_columns):
        return "features-x-samples", f"{prefix}the row IDs are Ensembl IDs"
    if _is_ensembl(data_columns) and not _is_ensembl(row_ids):
        return "samples-x-features", f"{prefix}the column IDs are Ensembl IDs"
    header = id_column.strip().lower()
    if header in _SAMPLE_HEADERS:
        return "samples-x-features", f"{prefix}the first column is named {id_column!r}"
    if header in _FEATURE_HEADERS:
        return "features-x-samples", f"{prefix}the first column is named {id_column!r}"
    if len(row_ids) > len(data_columns):
        return "features-x-samples", (
            f"{prefix}more rows ({len(row_ids):,}) than columns ({len(data_columns):,}): "
            "the longer axis is taken as features; set --orientation if not"
        )
    return "samples-x-features", (
        f"{prefix}no more rows ({len(row_ids):,}) than columns ({len(data_columns):,}): "
        "the longer axis is taken as features; set --orientation if not"
    )


def _check_ids(
    path: Path, ids: Sequence[str], *, what: str, where: str, lines: bool | None = None
) -> None:
    index = pd.Index(ids)
    dup = index.duplicated(keep=False)
    if dup.any():
        first = str(index[dup][0])
        rows = np.flatnonzero(index == first)
        at = (
            _where(rows, lines)
            if lines is not None
            else "columns " + ", ".join(str(r + 2) for r in rows[:_SHOWN])
        )
        count = int(index[dup].nunique())
        more = f" ({count - 1} more IDs repeat too)" if count > 1 else ""
        raise InputError(
            f"{path}, {where}: {what} ID {first!r} appears {rows.size} times ({at}){more}; "
            f"each {what} needs one ID of its own: remove or rename the repeats"
        )
    blank = [i for i, s in enumerate(ids) if not s]
    if blank:
        raise InputError(f"{path}, {where}: a {what} has an empty ID; give every {what} an ID")


def _numeric_block(block: pd.DataFrame, path: Path, lines: bool) -> np.ndarray:
    """The block as float64, or one error naming the first column with text in it."""
    numeric = [
        pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in block.dtypes
    ]
    if all(numeric):
        return block.to_numpy(dtype=np.float64)
    converted = block.copy()
    for column, ok in zip(block.columns, numeric, strict=True):
        if ok:
            continue
        series = block[column]
        numbers = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero((numbers.isna() & series.notna()).to_numpy())
        if bad.size == 0 and pd.api.types.is_bool_dtype(series):
            bad = np.arange(len(series))
        if bad.size:
            shown = ", ".join(f"{series.iloc[i]!r}" for i in bad[:3])
            raise InputError(
                f"{path}, column {column!r}: {bad.size:,} value{'s are' if bad.size > 1 else ' is'} "
                f"not {'a number' if bad.size == 1 else 'numbers'} ({_where(bad, lines)}: {shown}); "
                "write numbers, leave missing values empty (or NA), or remove the column "
                "before giving the file to --traits"
            )
        converted[column] = numbers.astype(np.float64)
    return converted.to_numpy(dtype=np.float64)


def _check_values(values: pd.DataFrame, path: Path, *, locate: Any) -> None:
    inf = np.isinf(values.to_numpy())
    if inf.any():
        rows, cols = np.nonzero(inf)
        where = locate(str(values.index[rows[0]]), str(values.columns[cols[0]]))
        raise InputError(
            f"{path}, {where}: {inf.sum():,} value{'s are' if inf.sum() > 1 else ' is'} "
            "infinite; replace them by finite numbers or leave them empty (missing)"
        )


def _check_nonempty(values: pd.DataFrame, path: Path, *, annotation_only: bool = False) -> None:
    if values.shape[1] == 0 or values.shape[0] == 0:
        if annotation_only:
            raise InputError(
                f"{path}: has annotation columns but no sample columns; give --traits a "
                "matrix with one column of values per sample"
            )
        missing = "samples" if values.shape[0] == 0 else "features"
        raise InputError(f"{path}: the matrix has no {missing}; give --traits a matrix with values")


def _check_all_missing(values: pd.DataFrame, path: Path, *, locate: Any) -> None:
    empty = np.flatnonzero(values.isna().all(axis=0).to_numpy())
    if empty.size:
        names = [str(values.columns[i]) for i in empty]
        more = f" and {empty.size - 1:,} more" if empty.size > 1 else ""
        raise InputError(
            f"{path}, {locate(names[0])}: feature {names[0]!r}{more} "
            f"{'has' if empty.size == 1 else 'have'} no value in any sample; remove "
            f"{'it' if empty.size == 1 else 'them'} from the file given to --traits"
        )


def _annotation_from(
    frame: pd.DataFrame, feature_ids: Sequence[str], *, build: str | None, source: Path | None
) -> pd.DataFrame:
    """The ``features`` table from a file's annotation columns (any aliases, any case)."""
    lower = {str(c).strip().lower(): c for c in frame.columns}
    out = pd.DataFrame(index=pd.Index([str(f) for f in feature_ids], name="feature"))
    for column, aliases in _ALIASES.items():
        found = next((lower[a] for a in aliases if a in lower), None)
        if found is None:
            dtype = "Int64" if column in ("start", "end") else "string"
            out[column] = pd.Series(pd.NA, index=out.index, dtype=dtype)
            continue
        values = pd.Series(frame[found].to_numpy(), index=out.index)
        if column in ("start", "end"):
            numbers = pd.to_numeric(values, errors="coerce")
            bad = np.flatnonzero((numbers.isna() & values.notna()).to_numpy())
            if bad.size:
                raise InputError(
                    f"{source}, column {found!r}: {bad.size:,} gene positions are not numbers "
                    f"(feature {out.index[bad[0]]!r}: {values.iloc[bad[0]]!r}); write bp "
                    "positions, or leave them empty"
                )
            out[column] = numbers.round().astype("Int64")
        else:
            text = values.astype("string").str.strip()
            text = text.mask(text == "")
            if column == "chr":
                text = _normalise_chr(text)
            elif column == "gene_id":
                text = text.str.replace(r"\.\d+$", "", regex=True)
            out[column] = text
    if build is not None:
        out["build"] = out["build"].fillna(build)
    out["build"] = out["build"].map(_canonical_build, na_action="ignore").astype("string")
    placed = out["chr"].notna() & out["start"].notna() & out["end"].notna()
    out["annotated_by"] = pd.Series(pd.NA, index=out.index, dtype="string").mask(placed, "file")
    for column in frame.columns:
        name = str(column).strip().lower()
        if name in _EXTRA_ANNOTATION and name not in out.columns:
            out[name] = frame[column].to_numpy()
    return out


def _normalise_chr(chrs: pd.Series) -> pd.Series:
    text = chrs.astype("string").str.replace(r"^chr", "", regex=True, case=False)
    text = text.str.replace(r"\.0$", "", regex=True)
    upper = text.str.upper()
    text = text.mask(upper.isin(["X", "Y"]), upper)
    return text.mask(upper.isin(["M", "MT"]), "MT")


def _canonical_build(build: Any) -> str:
    text = str(build).strip()
    return _BUILD_NAMES.get(text.lower(), text)


def _few(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN])
    return shown + (", ..." if len(ids) > _SHOWN else "")


# ---------------------------------------------------------------------------- annotation


def annotate(traits: MolecularTraits, genes: pd.DataFrame, *, build: str) -> MolecularTraits:
    """Fill the features' missing annotation from a gene table.

    Each feature is looked up by its Ensembl gene ID (the ``gene_id`` of the file, or the
    feature ID itself; a version suffix such as ``.12`` is ignored), failing that by its
    symbol (the ``symbol`` of the file, or the feature ID): first as written, then ignoring
    case. A symbol shared by several genes is ambiguous and left unannotated. Only missing
    fields are filled (the file's own annotation wins); the counts go to ``notes``.

    Parameters
    ----------
    traits
        From :func:`read_traits`.
    genes
        One row per gene: ``gene_id`` (or ``ensgene``), ``symbol``, ``chr``, ``start``,
        ``end`` (bp), e.g. ``translocus.translate.genes.load_genes("mouse", "GRCm39").genes``.
    build
        The genome build of ``genes`` (``"GRCm39"``); a different build written in the
        file (``uns["build"]`` of an ``.h5ad``, a ``build`` column) is an error.

    Returns
    -------
    MolecularTraits
        The same values; ``features`` filled, ``build`` set, ``annotated_by`` saying how.

    Examples
    --------
    >>> values = pd.DataFrame({"ENSMUSG00000000001.4": [1.0, 2.0], "Cdc45": [3.0, 4.0],
    ...                        "Nope": [0.0, 1.0]}, index=["M1", "M2"])
    >>> traits = MolecularTraits(values, _blank_features(values.columns), "samples-x-features")
    >>> genes = pd.DataFrame({"gene_id": ["ENSMUSG00000000001", "ENSMUSG00000000028"],
    ...                       "symbol": ["Gnai3", "Cdc45"], "chr": ["3", "16"],
    ...                       "start": [108014596, 18599197], "end": [108053462, 18630737]})
    >>> out = annotate(traits, genes, build="GRCm39")
    >>> out.features[["symbol", "chr", "start", "annotated_by"]]  # doctest: +NORMALIZE_WHITESPACE
                         symbol chr      start annotated_by
    feature
    ENSMUSG00000000001.4  Gnai3   3  108014596      gene_id
    Cdc45                 Cdc45  16   18599197       symbol
    Nope                   <NA> <NA>       <NA>         <NA>
    >>> out.notes[-1]
    'annotation (GRCm39): 1 by Ensembl gene ID, 1 by symbol, 1 not in the gene table'
    """
    table = _gene_table(genes)
    build = _canonical_build(build)
    features = traits.features.copy()
    for column in ANNOTATION_COLUMNS:
        if column not in features.columns:
            features[column] = pd.Series(
                pd.NA,
                index=features.index,
                dtype="Int64" if column in ("start", "end") else "string",
            )
    given = features["build"].dropna().unique().tolist()
    other = sorted({str(b) for b in given if _canonical_build(b).lower() != build.lower()})
    if other:
        where = traits.source if traits.source is not None else "the traits"
        raise InputError(
            f"{where}, build: the feature positions are on {other[0]} but the gene table is "
            f"{build}; annotate with genes on {other[0]}, or lift the positions over to {build}"
        )
    ids = pd.Series(features.index.astype(str), index=features.index)
    key_id = features["gene_id"].astype("object").where(features["gene_id"].notna(), ids)
    key_id = key_id.astype(str).str.replace(r"\.\d+$", "", regex=True)
    row_of_id = pd.Series(np.arange(len(table)), index=table["gene_id"].to_numpy())
    row_of_id = row_of_id[~row_of_id.index.duplicated()]
    by_id = key_id.map(row_of_id)

    symbols = table["symbol"].astype("object")
    exact = symbols.dropna().groupby(symbols.dropna().to_numpy()).size()
    folded = symbols.dropna().str.lower()
    nocase = folded.groupby(folded.to_numpy()).size()
    first_exact = pd.Series(np.arange(len(table)), index=symbols.to_numpy())
    first_exact = first_exact[first_exact.index.notna() & ~first_exact.index.duplicated()]
    first_nocase = pd.Series(np.arange(len(table)), index=symbols.str.lower().to_numpy())
    first_nocase = first_nocase[first_nocase.index.notna() & ~first_nocase.index.duplicated()]
    key_symbol = features["symbol"].astype("object").where(features["symbol"].notna(), ids)
    key_symbol = key_symbol.astype(str)

    rows = np.full(len(features), -1, dtype=np.int64)
    how = np.full(len(features), "", dtype=object)
    ambiguous = 0
    for i in range(len(features)):
        row = by_id.iloc[i]
        if not pd.isna(row):
            rows[i], how[i] = int(row), "gene_id"
            continue
        symbol = key_symbol.iloc[i]
        n_exact = int(exact.get(symbol, 0))
        if n_exact == 1:
            rows[i], how[i] = int(first_exact[symbol]), "symbol"
            continue
        if n_exact > 1:
            ambiguous += 1
            continue
        n_nocase = int(nocase.get(symbol.lower(), 0))
        if n_nocase == 1:
            rows[i], how[i] = int(first_nocase[symbol.lower()]), "symbol (any case)"
        elif n_nocase > 1:
            ambiguous += 1

    matched = rows >= 0
    placed_before = features["annotated_by"].eq("file").fillna(False).to_numpy(dtype=bool)
    hit = table.iloc[rows[matched]]
    for column in ("gene_id", "symbol", "chr", "start", "end"):
        current = features[column]
        filled = pd.Series(hit[column].to_numpy(), index=features.index[matched])
        features[column] = current.fillna(filled.reindex(features.index).astype(current.dtype))
    newly = matched & ~placed_before & features["chr"].notna().to_numpy()
    newly &= features["start"].notna().to_numpy() & features["end"].notna().to_numpy()
    features["annotated_by"] = features["annotated_by"].mask(
        pd.Series(newly, index=features.index), pd.Series(how, index=features.index)
    )
    features["annotated_by"] = features["annotated_by"].astype("string")
    features["build"] = pd.Series(build, index=features.index, dtype="string")

    counts = {
        "by Ensembl gene ID": int((how == "gene_id").sum()),
        "by symbol": int((how == "symbol").sum()),
        "by symbol ignoring case": int((how == "symbol (any case)").sum()),
        "with ambiguous symbols left unannotated": ambiguous,
        "not in the gene table": int((~matched).sum()) - ambiguous,
    }
    parts = [f"{n:,} {label}" for label, n in counts.items() if n]
    if placed_before.any():
        parts.insert(0, f"{int(placed_before.sum()):,} placed by the file")
    note = f"annotation ({build}): " + (", ".join(parts) if parts else "no features")
    return replace(traits, features=features, notes=(*traits.notes, note))


def _gene_table(genes: pd.DataFrame) -> pd.DataFrame:
    lower = {str(c).lower(): c for c in genes.columns}
    out = {}
    for column in ("gene_id", "symbol", "chr", "start", "end"):
        found = next((lower[a] for a in _ALIASES[column] if a in lower), None)
        if found is None:
            raise OptionError(
                "genes", None, f"the gene table has no {column} column; give a table with "
                "gene_id (or ensgene), symbol, chr, start, end"
            )  # fmt: skip
        out[column] = genes[found].to_numpy()
    table = pd.DataFrame(out)
    table["gene_id"] = table["gene_id"].astype("string").str.replace(r"\.\d+$", "", regex=True)
    # A gene listed once per Entrez ID (as Ensembl's tables do) is one gene, not an ambiguity.
    table = table.drop_duplicates(subset=["gene_id", "symbol"]).reset_index(drop=True)
    table["symbol"] = table["symbol"].astype("string")
    table["chr"] = _normalise_chr(table["chr"].astype("string"))
    table["start"] = pd.to_numeric(table["start"], errors="coerce").astype("Int64")
    table["end"] = pd.to_numeric(table["end"], errors="coerce").astype("Int64")
    return table


def _blank_features(feature_ids: Iterable[Any]) -> pd.DataFrame:
    """A ``features`` table with every annotation column missing."""
    index = pd.Index([str(f) for f in feature_ids], name="feature")
    out = pd.DataFrame(index=index)
    for column in ANNOTATION_COLUMNS:
        dtype = "Int64" if column in ("start", "end") else "string"
        out[column] = pd.Series(pd.NA, index=index, dtype=dtype)
    return out


# ---------------------------------------------------------------------------- samples


def match_samples(
    traits: MolecularTraits, sample_ids: Iterable[Any]
) -> tuple[MolecularTraits, SampleMatch]:
    """Keep the samples that are in the cross, in the cross's order, and say which were not.

    Parameters
    ----------
    traits
        From :func:`read_traits`.
    sample_ids
        The cross's sample IDs (compared as text, surrounding spaces ignored).

    Returns
    -------
    (MolecularTraits, SampleMatch)
        The traits of the matched samples (rows in the cross's order; a note says what was
        left out), and the matched IDs and those on one side only. Rank-based inverse normal
        values (``transform="rankint"``) are transformed again over the matched samples, so
        that the analysed values are normal scores.

    Raises
    ------
    InputError
        No sample ID in common: the message shows a few IDs of each side.

    Examples
    --------
    >>> values = pd.DataFrame({"Alb": [1.0, 2.0, 3.0]}, index=["M3", "M1", "X9"])
    >>> traits = MolecularTraits(values, _blank_features(["Alb"]), "samples-x-features")
    >>> kept, match = match_samples(traits, ["M1", "M2", "M3"])
    >>> kept.samples, match.only_in_traits, match.only_in_cross
    (['M1', 'M3'], ['X9'], ['M2'])
    """
    cross = list(dict.fromkeys(str(s).strip() for s in sample_ids))
    mine = [str(s) for s in traits.values.index]
    have = set(mine)
    wanted = set(cross)
    matched = [s for s in cross if s in have]
    match = SampleMatch(
        matched=matched,
        only_in_traits=[s for s in mine if s not in wanted],
        only_in_cross=[s for s in cross if s not in have],
    )
    if not matched:
        where = traits.source if traits.source is not None else "the traits"
        raise InputError(
            f"{where}: no sample ID is in the cross; the traits' samples are {_few(mine)} "
            f"({traits.orientation}), the cross's are {_few(cross)}; rename the IDs to match "
            "the cross, or set --orientation if rows and columns were taken the wrong way round"
        )
    values = traits.values.loc[matched]
    notes = (*traits.notes, match.summary())
    if traits.transform == "rankint" and match.only_in_traits:
        # Normal scores of the samples analysed: the ranks are those among the kept samples
        # (ranking the scores again gives the ranks of the original values).
        values = rank_inverse_normal(values)
        notes = (*notes, "transform: rank-based inverse normal again over the matched samples")
    return replace(traits, values=values, notes=notes), match


# ---------------------------------------------------------------------------- transform


def rank_inverse_normal(values: pd.DataFrame) -> pd.DataFrame:
    """Rank-based inverse normal transform of each column (feature), missing values kept.

    Each column's observed values are ranked (ties get their average rank) and mapped to
    ``Phi^-1((r - 3/8) / (n + 1/4))`` (Blom's offset; ``n`` the column's observed count;
    ``Phi^-1`` is :func:`scipy.special.ndtri`, the standard normal quantile).

    Parameters
    ----------
    values
        ``[sample x feature]``.

    Returns
    -------
    pandas.DataFrame
        Same shape, index and columns, float64.

    Examples
    --------
    >>> out = rank_inverse_normal(pd.DataFrame({"a": [3.0, 1.0, None, 1.0]}))
    >>> out["a"].round(4).tolist()
    [0.8694, -0.3957, nan, -0.3957]
    """
    numbers = values.astype(np.float64)
    ranks = numbers.rank(axis=0, method="average", na_option="keep")
    n = numbers.notna().sum(axis=0).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = special.ndtri((ranks.to_numpy() - 0.375) / (n + 0.25))
    return pd.DataFrame(scores, index=values.index, columns=values.columns)


# ---------------------------------------------------------------------------- covariates


def read_covariate_table(path: str | Path, sample_ids: Iterable[Any]) -> pd.DataFrame:
    r"""Numeric covariates per sample from a CSV, TSV or parquet table.

    The first column (or a parquet file's index) holds the sample IDs; every other column is
    a covariate. A column of numbers is kept as it is; a column with text (``F``/``M``,
    batch names) is a categorical covariate and becomes 0/1 columns ``<column>_<level>``, one
    per level but the first (levels sorted), missing where the value is. Write numeric codes
    as text (``b1``, ``b2``) to have them treated as categories.

    Parameters
    ----------
    path
        The table (``--covar-file``).
    sample_ids
        The cross's sample IDs: the rows come out in this order; a sample the table lacks
        gets missing covariates (the scan leaves it out).

    Returns
    -------
    pandas.DataFrame
        ``[sample x covariate]`` float64 indexed by ``sample_ids``; ``attrs["notes"]`` says
        how each categorical column was coded and which samples were not matched.

    Raises
    ------
    InputError
        A missing or unreadable file, repeated sample IDs, no sample in common with the
        cross, a table without covariates.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "covar.csv").write_text("id,sex,age\nM1,F,10\nM2,M,12\nM3,M,\n")
    >>> covar = read_covariate_table(folder / "covar.csv", ["M1", "M2", "M3"])
    >>> covar  # doctest: +NORMALIZE_WHITESPACE
            sex_M   age
    sample
    M1        0.0  10.0
    M2        1.0  12.0
    M3        1.0   NaN
    >>> covar.attrs["notes"][0]
    "covariate 'sex': categorical with levels F, M; coded as 0/1 column sex_M (F is the reference)"
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; give --covar-file a CSV, TSV or parquet table")
    if path.is_dir() or path.stat().st_size == 0:
        raise InputError(f"{path}: is empty or a folder; give --covar-file a table of covariates")
    kind = _kind_of(path)
    if kind == "h5ad":
        raise InputError(
            f"{path}: give --covar-file a CSV, TSV or parquet table, not an .h5ad file"
        )
    frame, lines = _load_table(path, kind, flag="--covar-file")
    id_column = str(frame.columns[0])
    ids = frame[id_column]
    missing = np.flatnonzero(ids.isna().to_numpy())
    if missing.size:
        raise InputError(
            f"{path}, {_id_label(id_column)}: {_where(missing, lines)} has no sample ID; "
            "every row needs a sample ID in the first column"
        )
    row_ids = [str(v).strip() for v in ids]
    _check_ids(path, row_ids, what="sample", where=f"{_id_label(id_column)}", lines=lines)
    cross = [str(s).strip() for s in sample_ids]
    common = set(row_ids) & set(cross)
    if not common:
        raise InputError(
            f"{path}, {_id_label(id_column)}: no sample ID is in the cross; the table's are "
            f"{_few(row_ids)}, the cross's are {_few(cross)}; use the cross's sample IDs"
        )
    notes: list[str] = []
    columns: dict[str, pd.Series] = {}
    for column in frame.columns[1:]:
        series = pd.Series(frame[column].to_numpy(), index=row_ids)
        name = str(column)
        if pd.api.types.is_bool_dtype(series):
            series = series.astype(np.float64)
        if pd.api.types.is_numeric_dtype(series):
            numbers = series.astype(np.float64)
            if np.isinf(numbers.to_numpy()).any():
                raise InputError(f"{path}, column {name!r}: infinite values; give finite numbers")
            columns[name] = numbers
            continue
        text = series.astype("string").str.strip()
        text = text.mask(text == "")
        levels = sorted(text.dropna().unique().tolist())
        if len(levels) < 2:
            notes.append(f"covariate {name!r}: one level ({', '.join(levels) or 'none'}); left out")
            continue
        made = []
        for level in levels[1:]:
            dummy = (text == level).astype("float64").where(text.notna())
            columns[f"{name}_{level}"] = dummy.astype(np.float64)
            made.append(f"{name}_{level}")
        notes.append(
            f"covariate {name!r}: categorical with levels {', '.join(levels)}; coded as 0/1 "
            f"column{'s' if len(made) > 1 else ''} {', '.join(made)} ({levels[0]} is the reference)"
        )
    if not columns:
        raise InputError(
            f"{path}: no covariate column besides the sample IDs in {id_column!r}; "
            "give --covar-file a table with one column per covariate"
        )
    table = pd.DataFrame(columns, index=row_ids)
    out = table.reindex(cross)
    out.index.name = "sample"
    lacking = [s for s in cross if s not in common]
    extra = [s for s in row_ids if s not in set(cross)]
    if lacking:
        notes.append(
            f"covariates: {len(lacking):,} samples of the cross not in {path.name} ({_few(lacking)})"
        )
    if extra:
        notes.append(
            f"covariates: {len(extra):,} samples of {path.name} not in the cross ({_few(extra)})"
        )
    out.attrs["notes"] = notes
    return out
