"""Read and write R/qtl2 input files: a control file (YAML or JSON) plus CSV tables.

The control file may sit in a folder or inside a zip archive. Every field that R/qtl2's
``read_cross2`` documents is understood: ``crosstype``, ``geno``, ``founder_geno``, ``gmap``,
``pmap``, ``pheno``, ``covar``, ``phenocovar``, ``alleles``, ``genotypes``, ``sex``,
``cross_info``, ``x_chr``, ``na.strings``, ``sep``, ``comment.char``, ``description``,
``geno_transposed``, ``founder_geno_transposed``, ``pheno_transposed``,
``covar_transposed``, ``phenocovar_transposed``, and the code tables of ``sex`` and
``cross_info`` (either ``covar:`` a covariate column, or ``file:`` a separate table).
A file field may name one file or a list of files (bound together).

Bad input raises :class:`~translocus.core.errors.InputError` with one sentence naming the
file, the row or column, and the fix.

Examples
--------
>>> from translocus.core.paths import data_dir
>>> path = data_dir() / "qtl2" / "DOex" / "DOex.zip"
>>> cross = read_cross(path) if path.exists() else None
>>> cross is None or (cross.n_individuals, cross.n_founders) == (261, 8)
True
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import string
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from translocus.core.atomic import atomic_dir
from translocus.core.errors import InputError
from translocus.core.model import CROSS_TYPES, Cross
from translocus.core.provenance import Provenance

__all__ = [
    "UndeclaredGenotypeWarning",
    "read_control",
    "read_cross",
    "write_cross",
    "write_cross_files",
]


class UndeclaredGenotypeWarning(UserWarning):
    """Genotype calls not declared in the control file were set to missing."""


_CONTROL_SUFFIXES = (".json", ".yaml", ".yml")

#: Every cross type R/qtl2 0.43 reads, with its number of founder alleles (``genril<N>`` and
#: ``genail<N>`` have ``N``); reading does not depend on the type, so a cross reads even where
#: no model exists yet.
_R_QTL2_CROSS_TYPES: dict[str, int] = {
    "bc": 2, "f2": 2, "f2pk": 2, "dh": 2, "haploid": 2, "riself": 2, "risib": 2, "ail": 2,
    "ailpk": 2, "ail3": 3, "ail3pk": 3, "riself4": 4, "risib4": 4, "dh6": 6, "riself8": 8,
    "risib8": 8, "do": 8, "dopk": 8, "dof1": 8, "hs": 8, "hspk": 8, "hsf1": 8, "riself16": 16,
    "magic19": 19,
}  # fmt: skip


def _n_alleles(crosstype: str) -> int | None:
    """Founder alleles of an R/qtl2 cross type; ``None`` when the type is unknown."""
    if crosstype in _R_QTL2_CROSS_TYPES:
        return _R_QTL2_CROSS_TYPES[crosstype]
    match = re.fullmatch(r"(genril|genail)([1-9]\d*)", crosstype)
    return int(match.group(2)) if match else CROSS_TYPES.get(crosstype)


def _known_cross_type(crosstype: str) -> bool:
    return _n_alleles(crosstype) is not None


_FILE_FIELDS = ("geno", "founder_geno", "gmap", "pmap", "pheno", "covar", "phenocovar")


# --------------------------------------------------------------------------------------
# Sources: a folder or a zip archive
# --------------------------------------------------------------------------------------
@dataclass
class _Source:
    """Resolves file names relative to the control file, in a folder or a zip."""

    label: str  # what the user gave us, for messages
    base: Path | None = None
    archive: zipfile.ZipFile | None = None
    prefix: str = ""

    def read_bytes(self, name: str) -> bytes:
        if self.archive is not None:
            member = str(PurePosixPath(self.prefix) / name) if self.prefix else name
            try:
                return self.archive.read(member)
            except KeyError:
                raise InputError(
                    f"{self.label}: the control file names '{name}', which is not in the zip "
                    "archive; add the file to the archive or fix the name in the control file"
                ) from None
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InputError(
                    f"{self.label}: member '{name}' cannot be read ({exc}); the zip archive "
                    "is damaged or truncated, re-create or re-download it"
                ) from None
        assert self.base is not None
        path = self.base / name
        if not path.is_file():
            raise InputError(
                f"{path}: file named in the control file does not exist; "
                "check the name in the control file or add the file"
            )
        return path.read_bytes()


def _open_source(path: Path) -> tuple[_Source, str, str]:
    """Return (source, control-file text, control-file name) for a path."""
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: no such file or folder; give a control file, its folder or a zip"
        )
    if path.is_dir():
        controls = sorted(
            p
            for p in path.iterdir()
            if p.suffix.lower() in _CONTROL_SUFFIXES and p.name != "run.json"  # a run's record
        )
        if len(controls) != 1:
            found = ", ".join(p.name for p in controls) or "none"
            raise InputError(
                f"{path}: expected exactly one control file (.json/.yaml) in the folder, "
                f"found {found}; pass the control file itself"
            )
        path = controls[0]
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
            names = archive.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(
                f"{path}: not a readable zip archive ({exc}); the file is damaged or "
                "truncated, re-create or re-download it"
            ) from None
        controls_in_zip = [n for n in names if PurePosixPath(n).suffix.lower() in _CONTROL_SUFFIXES]
        if len(controls_in_zip) != 1:
            raise InputError(
                f"{path}: expected exactly one control file (.json/.yaml) in the zip, "
                f"found {len(controls_in_zip)}; put one control file in the archive"
            )
        member = controls_in_zip[0]
        source = _Source(label=str(path), archive=archive, prefix=str(PurePosixPath(member).parent))
        if source.prefix == ".":
            source.prefix = ""
        try:
            text = archive.read(member).decode("utf-8")
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(
                f"{path}: control file '{member}' cannot be read ({exc}); the zip archive is "
                "damaged or truncated, re-create or re-download it"
            ) from None
        return source, text, f"{path}:{member}"
    if path.suffix.lower() not in _CONTROL_SUFFIXES:
        raise InputError(f"{path}: expected a .json/.yaml control file, a folder or a .zip archive")
    return _Source(label=str(path), base=path.parent), path.read_text("utf-8"), str(path)


def read_control(text: str, name: str) -> dict[str, Any]:
    """Parse a control file's text (JSON or YAML) into a dict."""
    try:
        if name.lower().endswith(".json"):
            control = json.loads(text)
        else:
            control = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if name.lower().endswith(".json") else "YAML"
        detail = str(exc).splitlines()[0]
        raise InputError(
            f"{name}: the control file is not valid {kind} ({detail}); fix the syntax"
        ) from None
    if not isinstance(control, dict):
        raise InputError(f"{name}: the control file must be a mapping of fields to values")
    return control


# --------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------
def _files(control: Mapping[str, Any], field: str) -> list[str]:
    value = control.get(field)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _read_table(
    source: _Source, name: str, control: Mapping[str, Any], *, transposed: bool = False
) -> pd.DataFrame:
    """Read one CSV into a string DataFrame indexed by its first column."""
    sep = control.get("sep", ",")
    comment = control.get("comment.char", "#")
    na = control.get("na.strings", ["-", "NA"])
    na_values = ([na] if isinstance(na, str) else list(na)) + [""]
    raw = source.read_bytes(name)
    try:
        df = pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            comment=comment or None,
            dtype=str,
            na_values=na_values,
            keep_default_na=False,
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be parsed as a '{sep}'-separated table ({exc})") from None
    if df.shape[1] < 1:
        raise InputError(f"{name}: the table is empty; it needs an ID column and data columns")
    df = df.set_index(df.columns[0])
    df.index = df.index.astype(str)
    if transposed:
        df = df.T
        df.index = df.index.astype(str)
    dup = df.index[df.index.duplicated()].unique()
    if len(dup):
        what = "column" if transposed else "row"
        raise InputError(
            f"{name}: duplicate ID{'s' if len(dup) > 1 else ''} "
            f"{', '.join(map(repr, dup[:5]))} in the first {what}; IDs must be unique"
        )
    return df


def _read_bound(
    source: _Source, control: Mapping[str, Any], field: str, *, axis: int
) -> tuple[pd.DataFrame | None, str]:
    """Read a field's file(s); several files are bound by rows (axis 0) or columns (1)."""
    names = _files(control, field)
    if not names:
        return None, ""
    transposed = bool(control.get(f"{field}_transposed", False))
    tables = [_read_table(source, n, control, transposed=transposed) for n in names]
    label = ", ".join(names)
    if len(tables) == 1:
        return tables[0], label
    out = pd.concat(tables, axis=axis)
    dup = out.index[out.index.duplicated()] if axis == 0 else out.columns[out.columns.duplicated()]
    if len(dup):
        raise InputError(
            f"{label}: ID {dup[0]!r} appears in more than one file; IDs must be unique"
        )
    return out, label


def _numeric(df: pd.DataFrame, label: str) -> pd.DataFrame:
    """Convert a string table to float, naming the column and rows of any non-number."""
    try:
        return df.astype(float)
    except ValueError:
        pass
    out = df.apply(pd.to_numeric, errors="coerce")
    bad = out.isna() & df.notna()
    if bad.to_numpy().any():
        col = bad.columns[bad.any(axis=0)][0]
        rows = list(bad.index[bad[col]])
        shown = ", ".join(map(str, rows[:5])) + (" …" if len(rows) > 5 else "")
        raise InputError(
            f"{label}, column '{col}': {len(rows)} value{'s are' if len(rows) > 1 else ' is'} "
            f"not a number (rows {shown}); fix them or list the missing-value code in na.strings"
        )
    return out.astype(float)


def _covar_table(df: pd.DataFrame) -> pd.DataFrame:
    """Covariates: numeric columns become numbers, others stay text."""
    out = df.copy()
    for col in out.columns:
        conv = pd.to_numeric(out[col], errors="coerce")
        if (conv.notna() | out[col].isna()).all():
            out[col] = conv
    return out


#: Cells of a genotype table parsed at a time: a GigaMUGA-size file (2,000 animals x 110,000
#: markers) is never held as strings all at once, only as one-byte codes.
_CHUNK_CELLS = 4_000_000


@dataclass
class _Undeclared:
    """Undeclared genotype calls met while coding a field's files."""

    label: str
    what: str
    codes: dict[str, int]
    count: int = 0
    first: str = ""
    seen: set[str] = dataclasses.field(default_factory=set)

    def message(self, individual: str, marker: str, code: str) -> str:
        """The error (or the warning's first sentence) for one undeclared call."""
        return (
            f"{self.label}, {self.what} {individual!r}, column {marker!r}: genotype code "
            f"{code!r} is not declared in the control file's 'genotypes' ({sorted(self.codes)}); "
            "declare it there or list it in na.strings"
        )


def _code_block(
    chunk: pd.DataFrame, known: Mapping[str, int], transposed: bool, bad: _Undeclared,
    undeclared: str,
) -> np.ndarray:  # fmt: skip
    """One chunk of a genotype table (strings) as integer codes, 0 = missing."""
    values = chunk.to_numpy(dtype=object)
    which, calls = pd.factorize(values.ravel())  # each distinct call once; missing -> -1
    # the code of each distinct call, then 0 for missing (index -1)
    lookup = np.array([known.get(str(call), 0) for call in calls] + [0], dtype=np.int8)
    undeclared_calls = [i for i, call in enumerate(calls) if str(call) not in known]
    if undeclared_calls:
        wrong = np.isin(which, undeclared_calls)
        pos = int(np.flatnonzero(wrong)[0])
        r, c = divmod(pos, values.shape[1])
        row, col = str(chunk.index[r]), str(chunk.columns[c])
        individual, marker = (col, row) if transposed else (row, col)
        code = str(calls[which[pos]])
        if undeclared == "error":
            raise InputError(bad.message(individual, marker, code))
        if not bad.count:
            bad.first = bad.message(individual, marker, code)
        bad.count += int(wrong.sum())
        bad.seen.update(str(calls[i]) for i in undeclared_calls)
    return lookup[which].reshape(values.shape)


def _read_coded(
    source: _Source, name: str, control: Mapping[str, Any], known: Mapping[str, int],
    transposed: bool, bad: _Undeclared, undeclared: str,
) -> pd.DataFrame:  # fmt: skip
    """One genotype file as integer codes (individuals x markers, int8), read in chunks."""
    sep = control.get("sep", ",")
    comment = control.get("comment.char", "#")
    na = control.get("na.strings", ["-", "NA"])
    options: dict[str, Any] = {
        "sep": sep, "comment": comment or None, "dtype": str, "keep_default_na": False,
        "na_values": ([na] if isinstance(na, str) else list(na)) + [""],
        "skipinitialspace": True,
    }  # fmt: skip
    raw = source.read_bytes(name)
    blocks: list[np.ndarray] = []
    labels: list[str] = []
    try:
        header = pd.read_csv(io.BytesIO(raw), nrows=0, **options).columns
        if len(header) < 1:
            raise InputError(f"{name}: the table is empty; it needs an ID column and data columns")
        rows = max(1, _CHUNK_CELLS // len(header))
        with pd.read_csv(io.BytesIO(raw), chunksize=rows, **options) as reader:
            for chunk in reader:
                chunk = chunk.set_index(chunk.columns[0])
                labels.extend(str(i) for i in chunk.index)
                blocks.append(_code_block(chunk, known, transposed, bad, undeclared))
    except InputError:
        raise
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be parsed as a '{sep}'-separated table ({exc})") from None
    del raw
    columns = [str(c) for c in header[1:]]
    codes = np.concatenate(blocks) if blocks else np.zeros((0, len(columns)), dtype=np.int8)
    index = pd.Index(labels)
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise InputError(
            f"{name}: duplicate ID{'s' if len(dup) > 1 else ''} "
            f"{', '.join(map(repr, dup[:5]))} in the first column; IDs must be unique"
        )
    if transposed:
        return pd.DataFrame(np.ascontiguousarray(codes.T), index=pd.Index(columns), columns=index)
    return pd.DataFrame(codes, index=index, columns=pd.Index(columns))


def _read_genotypes(
    source: _Source, control: Mapping[str, Any], field: str, codes: Mapping[str, Any],
    what: str, undeclared: str,
) -> tuple[pd.DataFrame | None, str]:  # fmt: skip
    """A genotype field's file(s) as integer codes, 0 = missing (individuals x markers).

    Codes not declared in the control file raise (``undeclared="error"``) or, as R/qtl2
    does, become missing with a warning that names the file, the codes and the fix. Several
    files are bound by columns (markers), matched by individual.
    """
    names = _files(control, field)
    if not names:
        return None, ""
    label = ", ".join(names)
    known = {str(k): int(v) for k, v in codes.items()}
    transposed = bool(control.get(f"{field}_transposed", False))
    bad = _Undeclared(label=label, what=what, codes=known)
    tables = [_read_coded(source, n, control, known, transposed, bad, undeclared) for n in names]
    if bad.count:
        warnings.warn(
            f"{bad.first}. {bad.count} undeclared call(s) ({', '.join(sorted(bad.seen))}) "
            "were set to missing.",
            UndeclaredGenotypeWarning,
            stacklevel=4,
        )
    if len(tables) == 1:
        return tables[0], label
    out = pd.concat(tables, axis=1)
    dup = out.columns[out.columns.duplicated()]
    if len(dup):
        raise InputError(
            f"{label}: ID {dup[0]!r} appears in more than one file; IDs must be unique"
        )
    if any(t.shape[0] != out.shape[0] for t in tables):  # individuals absent from a file
        out = out.fillna(0).astype(np.int8)
    return out, label


def _read_map(source: _Source, control: Mapping[str, Any], field: str) -> tuple[pd.DataFrame, str]:
    names = _files(control, field)
    frames = []
    for name in names:
        df = _read_table(source, name, control)
        # As R/qtl2's read_cross2: marker IDs, chromosome and position by column position,
        # whatever the header calls them (the CC files name the position column Mbp_mm10).
        if df.shape[1] < 2:
            raise InputError(
                f"{name}: a map needs three columns (marker, chromosome, position); "
                f"found {[df.index.name, *df.columns]}"
            )
        df = df.iloc[:, :2].set_axis(["chr", "pos"], axis=1)
        pos = pd.to_numeric(df["pos"], errors="coerce")
        bad = pos.isna()
        if bad.any():
            raise InputError(
                f"{name}, column 'pos': marker {df.index[bad][0]!r} has no numeric position; "
                "give every marker a position"
            )
        df["pos"] = pos.astype(float)
        df["chr"] = df["chr"].astype(str)
        frames.append(df)
    label = ", ".join(names)
    out = pd.concat(frames) if len(frames) > 1 else frames[0]
    dup = out.index[out.index.duplicated()]
    if len(dup):
        raise InputError(f"{label}: marker {dup[0]!r} appears twice; marker IDs must be unique")
    for chrom, grp in out.groupby("chr", sort=False):
        steps = np.diff(grp["pos"].to_numpy())
        if (steps < 0).any():
            i = int(np.flatnonzero(steps < 0)[0])
            raise InputError(
                f"{label}, chromosome {chrom}: marker {grp.index[i + 1]!r} at {grp['pos'].iloc[i + 1]} "
                f"comes after {grp.index[i]!r} at {grp['pos'].iloc[i]}; sort the map by "
                "position within each chromosome"
            )
    return out, label


def _code_table(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in spec.items() if k not in ("covar", "file")}


def _sex_and_cross_info(
    source: _Source,
    control: Mapping[str, Any],
    covar: pd.DataFrame | None,
    ids: list[str],
) -> tuple[pd.Series, pd.DataFrame]:
    # Sex -------------------------------------------------------------------------------
    is_female = pd.Series(dtype=bool)
    sex_spec = control.get("sex")
    if isinstance(sex_spec, Mapping):
        values, label = _spec_values(source, control, sex_spec, covar, "sex")
        table = {k: str(v).lower() for k, v in _code_table(sex_spec).items()}
        col = values.iloc[:, 0].astype(str)
        mapped = col.map(lambda v: table.get(v, table.get(v.lower(), v.lower())))
        bad = ~mapped.isin(["female", "male", "f", "m"])
        if bad.any():
            raise InputError(
                f"{label}, individual {col.index[bad][0]!r}: sex value {col[bad].iloc[0]!r} is "
                "not coded as female or male; add it to the control file's 'sex' table"
            )
        is_female = mapped.isin(["female", "f"]).reindex(ids)
        if is_female.isna().any():
            missing = is_female.index[is_female.isna()][0]
            raise InputError(
                f"{label}: genotyped individual {missing!r} has no sex; add it to the sex table"
            )
        is_female = is_female.astype(bool)
    # Cross info ------------------------------------------------------------------------
    cross_info = pd.DataFrame(index=pd.Index(ids))
    ci_spec = control.get("cross_info")
    if isinstance(ci_spec, Mapping):
        values, label = _spec_values(source, control, ci_spec, covar, "cross_info")
        codes = _code_table(ci_spec)
        out = {}
        for col in values.columns:
            series = values[col].astype(str)
            if codes:
                mapped = series.map(lambda v: codes.get(v))
            else:
                mapped = pd.to_numeric(series, errors="coerce")
            bad = mapped.isna()
            if bad.any():
                raise InputError(
                    f"{label}, column {col!r}, individual {series.index[bad][0]!r}: cross "
                    f"information {series[bad].iloc[0]!r} is not an integer or a declared "
                    "code; add it to the control file's 'cross_info' table"
                )
            out[col] = mapped.astype(int)
        cross_info = pd.DataFrame(out).reindex(ids)
        if cross_info.isna().to_numpy().any():
            missing = cross_info.index[cross_info.isna().any(axis=1)][0]
            raise InputError(
                f"{label}: genotyped individual {missing!r} has no cross information; add it"
            )
        cross_info = cross_info.astype(int)
    return is_female, cross_info


def _spec_values(
    source: _Source,
    control: Mapping[str, Any],
    spec: Mapping[str, Any],
    covar: pd.DataFrame | None,
    field: str,
) -> tuple[pd.DataFrame, str]:
    if "file" in spec:
        name = str(spec["file"])
        table = _read_table(source, name, control)
        if "covar" in spec:
            table = table[[str(spec["covar"])]]
        return table, name
    if "covar" in spec:
        col = str(spec["covar"])
        if covar is None or col not in covar.columns:
            raise InputError(
                f"{source.label}: control field '{field}' names covariate column {col!r}, "
                "which the covariate file does not have; fix the column name"
            )
        return covar[[col]].astype(str), f"covariate column {col!r}"
    raise InputError(
        f"{source.label}: control field '{field}' needs either 'covar' (a column of the "
        "covariate file) or 'file' (a table of individual IDs and values)"
    )


# --------------------------------------------------------------------------------------
# read_cross
# --------------------------------------------------------------------------------------
def read_cross(
    path: str | Path,
    *,
    individuals: Literal["strict", "intersection"] = "strict",
    undeclared_genotypes: Literal["missing", "error"] = "missing",
    provenance: Provenance | None = None,
) -> Cross:
    """Read an R/qtl2 cross from a control file, its folder, or a zip archive.

    Parameters
    ----------
    path
        ``.json``/``.yaml`` control file, a folder holding exactly one, or a ``.zip``.
    individuals
        What to do when phenotyped individuals are not genotyped: ``"strict"`` raises an
        error listing them; ``"intersection"`` keeps only genotyped ones.
    undeclared_genotypes
        Genotype calls absent from the control file's ``genotypes`` table: set them to
        missing with an :class:`UndeclaredGenotypeWarning` (R/qtl2's behaviour, the
        default), or raise :class:`InputError` (``"error"``).
    provenance
        Licence and source record; defaults to one derived from the dataset name with
        licence ``NOASSERTION``.

    Returns
    -------
    Cross
    """
    path = Path(path)
    source, text, control_name = _open_source(path)
    try:
        control = read_control(text, control_name)
        return _build_cross(
            source, control, control_name, path, individuals, undeclared_genotypes, provenance
        )
    finally:
        if source.archive is not None:
            source.archive.close()


def _build_cross(
    source: _Source,
    control: dict[str, Any],
    control_name: str,
    path: Path,
    individuals: str,
    undeclared: str,
    provenance: Provenance | None,
) -> Cross:
    crosstype = str(control.get("crosstype", "")).lower()
    if not _known_cross_type(crosstype):
        raise InputError(
            f"{control_name}: crosstype {control.get('crosstype')!r} is not supported; "
            f"use one of R/qtl2's {', '.join(sorted(_R_QTL2_CROSS_TYPES))}, genril<N> or genail<N>"
        )
    for field in ("geno", "gmap"):
        if not _files(control, field):
            raise InputError(f"{control_name}: the control file has no '{field}' field; add it")
    codes = control.get("genotypes") or {"A": 1, "H": 2, "B": 3}

    geno_tab, geno_label = _read_genotypes(source, control, "geno", codes, "individual",
                                           undeclared)  # fmt: skip
    assert geno_tab is not None
    gmap, gmap_label = _read_map(source, control, "gmap")
    pmap = _read_map(source, control, "pmap")[0] if _files(control, "pmap") else None

    not_in_map = [m for m in geno_tab.columns if m not in gmap.index]
    if not_in_map:
        shown = ", ".join(map(repr, not_in_map[:5])) + (" …" if len(not_in_map) > 5 else "")
        raise InputError(
            f"{geno_label}: {len(not_in_map)} marker{'s are' if len(not_in_map) > 1 else ' is'} "
            f"absent from the genetic map {gmap_label} ({shown}); add them to the map or "
            "remove them from the genotype file"
        )
    geno_codes = geno_tab.to_numpy(dtype=np.int8)
    ids = [str(i) for i in geno_tab.index]
    col_of = {m: j for j, m in enumerate(geno_tab.columns)}

    founder_codes = None
    founders: tuple[str, ...] = ()
    fg_tab, _ = _read_genotypes(source, control, "founder_geno", codes, "founder", undeclared)
    if fg_tab is not None:
        founder_codes = fg_tab.to_numpy(dtype=np.int8)
        founders = tuple(str(f) for f in fg_tab.index)
        fcol_of = {m: j for j, m in enumerate(fg_tab.columns)}

    geno: dict[str, np.ndarray] = {}
    gmaps: dict[str, pd.Series] = {}
    pmaps: dict[str, pd.Series] = {}
    founder_geno: dict[str, np.ndarray] = {}
    for chrom, grp in gmap.groupby("chr", sort=False):
        markers = [m for m in grp.index if m in col_of]
        if not markers:
            continue
        geno[str(chrom)] = np.ascontiguousarray(geno_codes[:, [col_of[m] for m in markers]])
        gmaps[str(chrom)] = grp.loc[markers, "pos"].rename(str(chrom))
        if pmap is not None:
            pos = pmap["pos"].reindex(markers)
            pmaps[str(chrom)] = pos.rename(str(chrom))
        if founder_codes is not None:
            fcols = [fcol_of.get(m, -1) for m in markers]
            block = np.zeros((len(founders), len(markers)), dtype=np.int8)
            present = np.array([c >= 0 for c in fcols])
            if present.any():
                block[:, present] = founder_codes[:, [c for c in fcols if c >= 0]]
            founder_geno[str(chrom)] = block

    pheno_tab, pheno_label = _read_bound(source, control, "pheno", axis=1)
    pheno = _numeric(pheno_tab, pheno_label) if pheno_tab is not None else pd.DataFrame()
    if len(pheno):
        extra = [i for i in pheno.index if i not in set(ids)]
        if extra:
            if individuals != "intersection":
                shown = ", ".join(map(repr, extra[:5])) + (" …" if len(extra) > 5 else "")
                raise InputError(
                    f"{pheno_label}: {len(extra)} phenotyped individual"
                    f"{'s are' if len(extra) > 1 else ' is'} not in the genotype file "
                    f"{geno_label} ({shown}); fix the IDs, or read with "
                    "individuals='intersection' to keep only genotyped ones"
                )
            pheno = pheno.drop(index=extra)
    covar_tab, _ = _read_bound(source, control, "covar", axis=1)
    covar = _covar_table(covar_tab) if covar_tab is not None else pd.DataFrame()
    phenocovar, _ = _read_bound(source, control, "phenocovar", axis=1)
    is_female, cross_info = _sex_and_cross_info(source, control, covar_tab, ids)

    alleles = tuple(str(a) for a in control.get("alleles", []))
    n_alleles = _n_alleles(crosstype)
    if "alleles" not in control and n_alleles is not None:
        alleles = tuple(string.ascii_uppercase[:n_alleles])  # R/qtl2's names: A, B, C, ...
    description = control.get("description", "")
    if isinstance(description, list):
        description = " ".join(str(d) for d in description)
    name = path.stem if path.suffix else path.name
    return Cross(
        crosstype=crosstype,
        individuals=tuple(ids),
        geno=geno,
        gmap=gmaps,
        pmap=pmaps if pmap is not None else None,
        founder_geno=founder_geno if founder_codes is not None else None,
        pheno=pheno,
        covar=covar,
        phenocovar=phenocovar,
        is_female=is_female,
        cross_info=cross_info,
        alleles=alleles,
        genotypes={str(k): int(v) for k, v in codes.items()},
        x_chr=str(control["x_chr"]) if control.get("x_chr") is not None else None,
        founders=founders,
        description=str(description),
        provenance=provenance or _provenance_for(path, name),
    )


def _provenance_for(path: Path, name: str) -> Provenance:
    """The catalogued licence of a shared dataset, else an unknown-licence record."""
    from translocus.datasets import provenance_for_path

    return provenance_for_path(path) or Provenance(name=name, source=str(path))


# --------------------------------------------------------------------------------------
# write_cross
# --------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return repr(float(x)) if np.isfinite(x) else "NA"


def write_cross_files(cross: Cross, folder: Path, *, name: str = "cross") -> Path:
    """Write the R/qtl2 files of ``cross`` straight into an existing ``folder``.

    The building block of :func:`write_cross` (which adds the atomic replace) and of run
    folders (which are swapped in whole). Returns the control file's path.
    """
    tmp = Path(folder)
    labels = np.full(max(cross.genotypes.values(), default=0) + 1, "-", dtype=object)
    for label, code in cross.genotypes.items():
        labels[code] = label
    control: dict[str, Any] = {
        "description": cross.description,
        "crosstype": cross.crosstype,
        "sep": ",",
        "na.strings": ["-", "NA"],
        "comment.char": "#",
        "geno": f"{name}_geno.csv",
        "gmap": f"{name}_gmap.csv",
        "alleles": list(cross.alleles),
        "genotypes": dict(cross.genotypes),
        "geno_transposed": True,
    }
    if cross.x_chr is not None:
        control["x_chr"] = cross.x_chr
    markers = cross.marker_names
    codes = np.concatenate([cross.geno[c] for c in cross.chromosomes], axis=1)
    table = labels[codes.T]
    geno_df = pd.DataFrame(table, index=pd.Index(markers, name="marker"), columns=cross.individuals)
    geno_df.to_csv(tmp / f"{name}_geno.csv")
    _write_map(cross.gmap, tmp / f"{name}_gmap.csv")
    if cross.pmap is not None:
        control["pmap"] = f"{name}_pmap.csv"
        _write_map(cross.pmap, tmp / f"{name}_pmap.csv")
    if cross.founder_geno is not None:
        control["founder_geno"] = f"{name}_foundergeno.csv"
        control["founder_geno_transposed"] = True
        fcodes = np.concatenate([cross.founder_geno[c] for c in cross.chromosomes], axis=1)
        ftable = labels[fcodes.T]
        pd.DataFrame(ftable, index=pd.Index(markers, name="marker"), columns=cross.founders).to_csv(
            tmp / f"{name}_foundergeno.csv"
        )
    if cross.pheno.shape[1]:
        control["pheno"] = f"{name}_pheno.csv"
        cross.pheno.rename_axis("id").to_csv(
            tmp / f"{name}_pheno.csv", na_rep="NA", float_format="%.17g"
        )
    if cross.covar.shape[1]:
        control["covar"] = f"{name}_covar.csv"
        cross.covar.rename_axis("id").to_csv(tmp / f"{name}_covar.csv", na_rep="NA")
    if cross.phenocovar is not None:
        control["phenocovar"] = f"{name}_phenocovar.csv"
        cross.phenocovar.rename_axis("pheno").to_csv(tmp / f"{name}_phenocovar.csv", na_rep="NA")
    if len(cross.is_female):
        control["sex"] = {"file": f"{name}_sex.csv", "female": "female", "male": "male"}
        sex = np.where(cross.is_female.to_numpy(), "female", "male")
        pd.DataFrame({"sex": sex}, index=pd.Index(cross.is_female.index, name="id")).to_csv(
            tmp / f"{name}_sex.csv"
        )
    if cross.cross_info.shape[1]:
        control["cross_info"] = {"file": f"{name}_crossinfo.csv"}
        cross.cross_info.rename_axis("id").to_csv(tmp / f"{name}_crossinfo.csv")
    (tmp / f"{name}.json").write_text(json.dumps(control, indent=2) + "\n", encoding="utf-8")
    return tmp / f"{name}.json"


def write_cross(cross: Cross, directory: str | Path, *, name: str = "cross") -> Path:
    """Write ``cross`` as an R/qtl2 control file (JSON) plus CSV tables.

    The folder is written atomically: either every file is there or, if the write is
    interrupted, the previous folder is left as it was. Returns the control file's path.
    ``read_cross`` of that path gives back an equal cross. A non-empty folder is replaced
    only when it holds an earlier ``write_cross`` output of the same ``name``, so a user's
    other files are never deleted.
    """
    directory = Path(directory)
    replaceable = not directory.exists() or (directory / f"{name}.json").is_file()
    if not replaceable and any(directory.iterdir()):
        raise InputError(
            f"{directory}: the folder is not empty and holds no earlier '{name}.json'; "
            "write the cross to a new or empty folder"
        )
    with atomic_dir(directory) as tmp:
        write_cross_files(cross, tmp, name=name)
    return directory / f"{name}.json"


def _write_map(pmap: Mapping[str, pd.Series], path: Path) -> None:
    rows = [
        (marker, chrom, pos) for chrom, series in pmap.items() for marker, pos in series.items()
    ]
    df = pd.DataFrame(rows, columns=["marker", "chr", "pos"])
    df.to_csv(path, index=False, float_format="%.17g")
