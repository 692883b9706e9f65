"""SNP association in a QTL interval, as R/qtl2 computes it (``scan1snps`` and its helpers).

Founder variants (SNPs, indels, structural variants) are read from R/qtl2's SQLite variant
database; each has a *strain distribution pattern* (SDP): bit ``j`` is set when founder ``j``
carries the variant's second allele. A cross's founder-allele (or genotype) probabilities at the
flanking markers are collapsed to SNP-allele probabilities by that pattern
(:func:`genoprob_to_snpprob`), averaging the two markers of the interval a variant lies in.
Variants in the same marker interval with the same SDP have the same probabilities, so
:func:`index_snps` groups them and only one per group (the *index* SNP) is scanned;
:func:`scan1snps` scans them with :func:`translocus.genetics.scan.scan` (Haley-Knott or LMM, with
covariates and kinship) and :func:`top_snps` lists the variants within ``drop`` of the best.

Tables follow R/qtl2's columns: ``snp`` (variant ID), ``chr``, ``pos`` (Mbp), ``sdp``,
``index`` (1-based row, within its chromosome, of the variant's index SNP), ``interval``
(0-based marker interval: the variant lies at or after marker ``interval``) and ``on_map``
(the variant sits on that marker, within ``tol``).

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> from translocus.core.model import GenoProbs
>>> ids = [f"m{i}" for i in range(4)]
>>> values = np.zeros((2, 4, 3))
>>> values[:, :, 0] = 1.0  # every mouse carries founder A at both markers ...
>>> values[1, 3] = [0.0, 0.0, 1.0]  # ... but mouse m3 carries founder C at the second one
>>> arr = xr.DataArray(values, dims=("marker", "sample", "founder"),
...                    coords={"marker": ["a", "b"], "sample": ids,
...                            "founder": ["A", "B", "C"], "pos_Mbp": ("marker", [10.0, 11.0])})
>>> probs = GenoProbs(probs={"1": arr}, crosstype="do", alleles=("A", "B", "C"), kind="allele")
>>> snpinfo = pd.DataFrame({"snp": ["s1", "s2", "s3"], "chr": "1",
...                         "pos": [10.0, 10.5, 10.7], "sdp": [4, 4, 2]})
>>> indexed = index_snps(probs, snpinfo)
>>> indexed[["snp", "index", "interval", "on_map"]].values.tolist()
[['s1', 1, 0, True], ['s2', 2, 0, False], ['s3', 3, 0, False]]
>>> snp = genoprob_to_snpprob(probs, indexed)
>>> snp["1"].sel(marker="s2").values[3].tolist()  # halfway: half C (the SDP-4 allele)
[0.5, 0.5]
>>> sdp_strains([4, 3], ["A", "B", "C"])
['C|AB', 'AB|C']
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError, OptionError
from translocus.core.model import GenoProbs
from translocus.core.paths import data_dir
from translocus.genetics.results import ScanResult

__all__ = [
    "SnpScan",
    "create_gene_query_func",
    "create_variant_query_func",
    "default_gene_db",
    "default_variant_db",
    "genoprob_to_snpprob",
    "index_snps",
    "reduce_to_index_snps",
    "scan1snps",
    "sdp_strains",
    "top_snps",
    "variant_coverage",
]

#: Columns :func:`index_snps` adds (and :func:`genoprob_to_snpprob` needs).
INDEX_COLUMNS = ("index", "interval", "on_map")

RegionQuery = Callable[[str, float, float], pd.DataFrame]


def default_variant_db() -> Path:
    """R/qtl2's small founder-variant database among the shared data."""
    return data_dir() / "qtl2" / "variants" / "cc_variants_small.sqlite"


def default_gene_db() -> Path:
    """R/qtl2's small mouse-gene database among the shared data."""
    return data_dir() / "qtl2" / "variants" / "mouse_genes_small.sqlite"


# -- the databases ---------------------------------------------------------------------------
def _connect(dbfile: Path | str, what: str, option: str) -> sqlite3.Connection:
    path = Path(dbfile)
    if not path.is_file():
        raise OptionError(
            option,
            str(dbfile),
            f"no such file; give the path of R/qtl2's {what} database (SQLite)",
        )
    try:
        con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        con.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        raise OptionError(
            option, str(dbfile), f"is not an SQLite database ({exc}); give R/qtl2's {what} database"
        ) from None
    return con


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _read(con: sqlite3.Connection, dbfile: Path | str, what: str, option: str,
          query: str, params: Sequence[Any]) -> pd.DataFrame:  # fmt: skip
    try:
        cursor = con.execute(query, tuple(params))
    except sqlite3.DatabaseError as exc:
        raise OptionError(
            option,
            str(dbfile),
            f"cannot be read as R/qtl2's {what} database ({exc}); check its table and column names",
        ) from None
    columns = [d[0] for d in cursor.description]
    return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)


def _swap_column(frame: pd.DataFrame, old: str, new: str) -> pd.DataFrame:
    """R/qtl2's ``swap_colname``: rename ``old`` to ``new`` (a column already named so goes)."""
    if old == new or old not in frame.columns:
        return frame
    if new in frame.columns:
        frame = frame.drop(columns=[new])
    return frame.rename(columns={old: new})


def _bp(x: float) -> int:
    # R's round() rounds halves to even, as Python's does
    return int(round(float(x) * 1e6))


def create_variant_query_func(
    dbfile: Path | str | None = None,
    *,
    table_name: str = "variants",
    chr_field: str = "chr",
    pos_field: str = "pos",
    id_field: str = "snp_id",
    sdp_field: str = "sdp",
    filter: str | None = None,  # noqa: A002 - R/qtl2's argument name
) -> RegionQuery:
    """A function ``query(chr, start, end)`` returning the variants in a region (R/qtl2's).

    Parameters
    ----------
    dbfile
        SQLite database of founder variants (R/qtl2's ``cc_variants.sqlite`` layout);
        default :func:`default_variant_db`.
    table_name, chr_field, pos_field, id_field, sdp_field
        The table and its columns: chromosome, position (bp), variant ID and SDP.
    filter
        An extra SQL condition (``"type=='snp'"``), as in R/qtl2.

    Returns
    -------
    callable
        ``query(chr, start, end)`` with ``start``/``end`` in Mbp (inclusive, rounded to bp):
        every column of the table, with ``pos`` in Mbp and the ID and SDP columns named
        ``snp`` and ``sdp``.

    Examples
    --------
    >>> query = create_variant_query_func()
    >>> found = query("2", 97.0, 97.001)
    >>> found[["snp", "pos", "sdp"]].head(2).values.tolist()
    [['rs50937937', 97.000027, 2], ['rs48861898', 97.000056, 2]]
    """
    path = Path(dbfile) if dbfile is not None else default_variant_db()
    sql = (
        f"SELECT * FROM {_quote(table_name)} WHERE {_quote(chr_field)} = ? AND "
        f"{_quote(pos_field)} >= ? AND {_quote(pos_field)} <= ?"
    )
    if filter:
        sql += f" AND ({filter})"

    def query(chr: str, start: float, end: float) -> pd.DataFrame:  # noqa: A002
        con = _connect(path, "variant", "variants")
        try:
            found = _read(con, path, "variant", "variants", sql, (str(chr), _bp(start), _bp(end)))
        finally:
            con.close()
        if pos_field in found.columns:
            found["pos"] = found[pos_field].astype(float) / 1e6
        found = _swap_column(found, id_field, "snp")
        return _swap_column(found, sdp_field, "sdp")

    return query


def create_gene_query_func(
    dbfile: Path | str | None = None,
    *,
    table_name: str = "genes",
    chr_field: str = "chr",
    start_field: str = "start",
    stop_field: str = "stop",
    name_field: str = "Name",
    strand_field: str = "strand",
    filter: str | None = None,  # noqa: A002 - R/qtl2's argument name
) -> RegionQuery:
    """A function ``query(chr, start, end)`` returning the genes overlapping a region (R/qtl2's).

    A gene is returned when it starts or ends in the region or spans it. ``start``/``stop``
    come back in Mbp; the name and strand columns are named ``Name`` and ``strand``.
    Default database :func:`default_gene_db`.

    Examples
    --------
    >>> genes = create_gene_query_func()("2", 97.0, 97.05)
    >>> genes["Name"].tolist()
    ['Lrrc4c', '4930445B16Rik', 'Gm17075', 'Gm17076']
    """
    path = Path(dbfile) if dbfile is not None else default_gene_db()
    chrom, start_f, stop_f = _quote(chr_field), _quote(start_field), _quote(stop_field)
    sql = (
        f"SELECT * FROM {_quote(table_name)} WHERE {chrom} = ? AND ( "
        f"({start_f} >= ? AND {start_f} <= ?) OR ({stop_f} >= ? AND {stop_f} <= ?) OR "
        f"({start_f} <= ? AND {stop_f} >= ?) )"
    )
    if filter:
        sql += f" AND ({filter})"

    def query(chr: str, start: float, end: float) -> pd.DataFrame:  # noqa: A002
        s, e = _bp(start), _bp(end)
        con = _connect(path, "gene", "genes")
        try:
            found = _read(con, path, "gene", "genes", sql, (str(chr), s, e, s, e, e, s))
        finally:
            con.close()
        for field, name in ((start_field, "start"), (stop_field, "stop")):
            if field in found.columns:
                found[name] = found[field].astype(float) / 1e6
        found = _swap_column(found, name_field, "Name")
        return _swap_column(found, strand_field, "strand")

    return query


def variant_coverage(
    dbfile: Path | str | None = None,
    *,
    table_name: str = "variants",
    chr_field: str = "chr",
    pos_field: str = "pos",
) -> pd.DataFrame:
    """The span of each chromosome in a variant (or, with ``pos_field``, gene) database.

    Read through the database's ``(chr, pos)`` index, one chromosome at a time, so a genome-wide
    database answers at once.

    Returns
    -------
    pandas.DataFrame
        ``chr``, ``start``, ``end`` (Mbp, of the first and last variant).

    Examples
    --------
    >>> variant_coverage().values.tolist()
    [['2', 97.000027, 97.999988], ['3', 14.500126, 15.499823]]
    """
    path = Path(dbfile) if dbfile is not None else default_variant_db()
    table, chrom, pos = _quote(table_name), _quote(chr_field), _quote(pos_field)
    con = _connect(path, "variant", "variants")
    rows: list[tuple[str, float, float]] = []
    try:
        current = _read(con, path, "variant", "variants",
                        f"SELECT MIN({chrom}) FROM {table}", ()).iloc[0, 0]  # fmt: skip
        while current is not None:
            lo = _read(con, path, "variant", "variants",
                       f"SELECT MIN({pos}) FROM {table} WHERE {chrom} = ?", (current,)).iloc[0, 0]  # fmt: skip
            hi = _read(con, path, "variant", "variants",
                       f"SELECT MAX({pos}) FROM {table} WHERE {chrom} = ?", (current,)).iloc[0, 0]  # fmt: skip
            rows.append((str(current), float(lo) / 1e6, float(hi) / 1e6))
            current = _read(con, path, "variant", "variants",
                            f"SELECT MIN({chrom}) FROM {table} WHERE {chrom} > ?",
                            (current,)).iloc[0, 0]  # fmt: skip
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["chr", "start", "end"])


# -- strain distribution patterns ------------------------------------------------------------
def sdp_strains(sdp: Sequence[int] | np.ndarray, strains: Sequence[str]) -> list[str]:
    """SDPs as text: the strains carrying the second allele, ``|``, the others (R ``sdp2char``).

    See the module example.
    """
    out = []
    for value in np.asarray(sdp, dtype=np.int64):
        carry = "".join(s for j, s in enumerate(strains) if value >> j & 1)
        other = "".join(s for j, s in enumerate(strains) if not value >> j & 1)
        out.append(f"{carry}|{other}")
    return out


# -- indexing ---------------------------------------------------------------------------------
def _map_of(map: Any) -> dict[str, np.ndarray]:  # noqa: A002
    """Positions per chromosome from a ``{chr: Series}`` map or probabilities' ``pos_Mbp``."""
    if isinstance(map, GenoProbs):
        out = {}
        for chrom in map.chromosomes:
            arr = map[chrom]
            if "pos_Mbp" not in arr.coords:
                raise InputError(
                    f"the probabilities of chromosome {chrom} have no physical positions "
                    "(pos_Mbp); the cross needs a physical map (pmap) for SNP association"
                )
            out[str(chrom)] = np.asarray(arr.coords["pos_Mbp"].values, dtype=float)
        return out
    if isinstance(map, Mapping):
        return {str(c): np.asarray(pd.Series(v).to_numpy(), dtype=float) for c, v in map.items()}
    raise InputError("map must be a {chromosome: positions} mapping or GenoProbs with pos_Mbp")


def _check_snpinfo(snpinfo: pd.DataFrame, need: Sequence[str]) -> pd.DataFrame:
    if not isinstance(snpinfo, pd.DataFrame):
        raise InputError("snpinfo must be a DataFrame with columns snp, chr, pos and sdp")
    missing = [c for c in need if c not in snpinfo.columns]
    if missing:
        raise InputError(
            f"snpinfo has no column(s) {', '.join(missing)}; it needs {', '.join(need)}"
            + ("; run index_snps() first" if set(missing) & set(INDEX_COLUMNS) else "")
        )
    return snpinfo


def index_snps(map: Any, snpinfo: pd.DataFrame, *, tol: float = 1e-8) -> pd.DataFrame:  # noqa: A002
    """Group the variants that share their marker interval and SDP (R/qtl2 ``index_snps``).

    Parameters
    ----------
    map
        Marker positions in Mbp: ``{chr: Series}`` or the probabilities themselves
        (their ``pos_Mbp`` coordinate).
    snpinfo
        Variants with columns ``snp``, ``chr``, ``pos`` (Mbp) and ``sdp``.
    tol
        A variant within ``tol`` Mbp of a marker is on it.

    Returns
    -------
    pandas.DataFrame
        The variants inside the map's range, sorted by chromosome (map order) and position,
        with ``index``, ``interval`` and ``on_map`` added (see the module docstring).

    Raises
    ------
    InputError
        A chromosome of ``snpinfo`` not in the map, missing map positions, or no variant of a
        chromosome within the map's range.
    """
    positions = _map_of(map)
    snpinfo = _check_snpinfo(snpinfo, ("chr", "pos", "sdp"))
    if not (math.isfinite(tol) and tol >= 0):
        raise OptionError("tol", tol, "must be a non-negative number, e.g. 1e-8")
    if len(snpinfo) == 0:
        out = snpinfo.copy()
        out["index"] = pd.Series(dtype=np.int64)
        out["interval"] = pd.Series(dtype=np.int64)
        out["on_map"] = pd.Series(dtype=bool)
        return out
    chroms = snpinfo["chr"].astype(str)
    unknown = [c for c in dict.fromkeys(chroms) if c not in positions]
    if unknown:
        raise InputError(
            f"snpinfo: chromosome(s) {', '.join(unknown)} not in the map/probabilities "
            f"({', '.join(positions)})"
        )
    order = list(positions)
    rank = chroms.map({c: i for i, c in enumerate(order)}).to_numpy()
    pos_all = snpinfo["pos"].to_numpy(dtype=float)
    snpinfo = snpinfo.iloc[np.lexsort((pos_all, rank))].reset_index(drop=True)
    snpinfo["chr"] = snpinfo["chr"].astype(str)
    parts = []
    for chrom in [c for c in order if c in set(snpinfo["chr"])]:
        part = snpinfo[snpinfo["chr"] == chrom].reset_index(drop=True)
        this_map = positions[chrom]
        if np.isnan(this_map).any():
            raise InputError(f"missing values in the map of chromosome {chrom}")
        pos = part["pos"].to_numpy(dtype=float)
        interval = np.searchsorted(this_map, pos, side="right") - 1
        safe = np.clip(interval, 0, len(this_map) - 1)
        on_map = (interval >= 0) & (np.abs(this_map[safe] - pos) <= tol)
        drop = (interval < 0) | ((interval >= len(this_map) - 1) & ~on_map)
        if drop.all():
            raise InputError(
                f"snpinfo: no variant of chromosome {chrom} lies within its map "
                f"({this_map[0]:g} to {this_map[-1]:g} Mbp)"
            )
        part = part[~drop].reset_index(drop=True)
        interval, on_map = interval[~drop], on_map[~drop]
        sdp = part["sdp"].to_numpy(dtype=np.int64)
        # one integer per (interval, on_map, sdp) pattern; SDPs of up to 32 strains
        key = (interval.astype(np.int64) << 33) | (on_map.astype(np.int64) << 32) | sdp
        codes, _ = pd.factorize(key)
        _, first = np.unique(codes, return_index=True)
        part["index"] = first[codes].astype(np.int64) + 1
        part["interval"] = interval.astype(np.int64)
        part["on_map"] = on_map
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def reduce_to_index_snps(snpinfo: pd.DataFrame) -> pd.DataFrame:
    """Only the index SNPs, re-indexed 1, 2, ... within each chromosome (R/qtl2's)."""
    snpinfo = _check_snpinfo(snpinfo, ("chr", "index"))
    parts = []
    for _, part in snpinfo.groupby(snpinfo["chr"].astype(str), sort=False):
        index = part["index"].to_numpy(dtype=np.int64)
        if (index < 1).any() or (index > len(part)).any():
            raise InputError(f"snpinfo: the index column of chromosome {part['chr'].iloc[0]} "
                             "is out of range; run index_snps() again")  # fmt: skip
        kept = part.iloc[pd.unique(index) - 1].copy()
        kept["index"] = np.arange(1, len(kept) + 1, dtype=np.int64)
        parts.append(kept)
    if not parts:
        return snpinfo.copy()
    return pd.concat(parts, ignore_index=True)


# -- probabilities ----------------------------------------------------------------------------
def _state_alleles(n_states: int, n_str: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Founder pair of each state and the SNP states, in R/qtl2's genotype order.

    Returns ``(first, second, names)``: for a state, its two founders (``second`` = -1 for
    an allele or a hemizygous male), and the names of the SNP states.
    """
    n_gen = n_str * (n_str + 1) // 2
    if n_states == n_str:
        return np.arange(n_str), np.full(n_str, -1), ["A", "B"]
    first, second = [], []
    for a1 in range(n_str):
        for a2 in range(a1 + 1):
            first.append(a1)
            second.append(a2)
    if n_states == n_gen:
        return np.array(first), np.array(second), ["AA", "AB", "BB"]
    if n_states == n_gen + n_str:
        first += list(range(n_str))
        second += [-2] * n_str
        return np.array(first), np.array(second), ["AA", "AB", "BB", "AY", "BY"]
    raise InputError(
        f"the probabilities have {n_states} states but there are {n_str} founders; give "
        "allele or genotype probabilities from calc_genoprob"
    )


def _snp_columns(first: np.ndarray, second: np.ndarray, sdp: np.ndarray) -> np.ndarray:
    """``[snp, state]`` SNP-state column of each founder state for each SDP."""
    bit1 = (sdp[:, None] >> first[None, :]) & 1
    if (second == -1).all():  # allele probabilities: A or B
        return bit1
    bit2 = (sdp[:, None] >> np.maximum(second, 0)[None, :]) & 1
    column = bit1 + bit2  # AA 0, AB 1, BB 2
    male = second == -2
    column[:, male] = 3 + bit1[:, male]  # AY 3, BY 4
    return column


def genoprob_to_snpprob(probs: GenoProbs, snpinfo: pd.DataFrame) -> GenoProbs:
    """SNP probabilities at the index SNPs (R/qtl2 ``genoprob_to_snpprob``).

    A variant on a marker takes the marker's probabilities; one between two markers their
    average. Each founder state's probability goes to the SNP state its SDP gives.

    Parameters
    ----------
    probs
        Allele probabilities (``[marker, sample, founder]``; SNP states ``A``, ``B``) or
        genotype probabilities (``AA``, ``AB``, ``BB``; on the X chromosome also ``AY``,
        ``BY``), with at least 3 founders.
    snpinfo
        Output of :func:`index_snps` (columns ``snp``, ``chr``, ``sdp``, ``index``,
        ``interval``, ``on_map``).

    Returns
    -------
    GenoProbs
        One array per chromosome of ``snpinfo``, ``[marker, sample, genotype]`` with the
        index SNPs as markers (coordinates ``pos_Mbp`` and ``sdp``); alleles ``("A", "B")``.
    """
    snpinfo = _check_snpinfo(snpinfo, ("chr", "sdp", *INDEX_COLUMNS))
    names = (snpinfo["snp"] if "snp" in snpinfo.columns else snpinfo.index).astype(str).to_numpy()
    index_all = snpinfo["index"].to_numpy(dtype=np.int64)
    sdp_all = snpinfo["sdp"].to_numpy(dtype=np.int64)
    interval_all = snpinfo["interval"].to_numpy(dtype=np.int64)
    on_map_all = snpinfo["on_map"].to_numpy(dtype=bool)
    pos_all = snpinfo["pos"].to_numpy(dtype=float) if "pos" in snpinfo.columns else None
    n_str = len(probs.alleles)
    if n_str < 3:
        raise InputError(
            f"SNP probabilities need at least 3 founders; the {probs.crosstype} cross has {n_str}"
        )
    chroms = snpinfo["chr"].astype(str)
    unknown = [c for c in dict.fromkeys(chroms) if c not in probs.probs]
    if unknown:
        raise InputError(
            f"snpinfo: chromosome(s) {', '.join(unknown)} not in the probabilities "
            f"({', '.join(probs.chromosomes)})"
        )
    out: dict[str, xr.DataArray] = {}
    for chrom in [c for c in probs.chromosomes if c in set(chroms)]:
        rows = np.flatnonzero((chroms == chrom).to_numpy())
        used = np.unique(index_all[rows]) - 1
        if (used < 0).any() or (used >= len(rows)).any():
            raise InputError(f"snpinfo: the index column of chromosome {chrom} is out of range; "
                             "run index_snps() again")  # fmt: skip
        take = rows[used]  # only the columns needed: the table may be wide and long
        sdp = sdp_all[take]
        interval = interval_all[take]
        on_map = on_map_all[take]
        arr = probs[chrom]
        values = np.asarray(arr.values, dtype=float)
        n_pos = values.shape[0]
        if ((interval < 0) | (interval > n_pos - 1) | ((interval == n_pos - 1) & ~on_map)).any():
            raise InputError(f"snpinfo: interval values of chromosome {chrom} outside [0, "
                             f"{n_pos - 1}]; run index_snps() with these probabilities")  # fmt: skip
        if ((sdp < 1) | (sdp > 2**n_str - 1)).any():
            raise InputError(f"snpinfo: sdp values outside [1, {2**n_str - 1}] on chromosome "
                             f"{chrom}")  # fmt: skip
        first, second, states = _state_alleles(values.shape[2], n_str)
        columns = _snp_columns(first, second, sdp)
        left = values[interval]
        right = values[np.minimum(interval + 1, n_pos - 1)]
        at = np.where(on_map[:, None, None], left, (left + right) / 2.0)
        onehot = (columns[:, :, None] == np.arange(len(states))[None, None, :]).astype(float)
        coords: dict[str, Any] = {
            "marker": names[take].astype(object),
            "sample": arr.coords["sample"].values,
            "genotype": states,
            "sdp": ("marker", sdp),
        }
        if pos_all is not None:
            coords["pos_Mbp"] = ("marker", pos_all[take])
        out[chrom] = xr.DataArray(np.matmul(at, onehot), dims=("marker", "sample", "genotype"),
                                  coords=coords, name=f"snpprob_{chrom}")  # fmt: skip
    return GenoProbs(probs=out, crosstype=probs.crosstype, alleles=("A", "B"),
                     x_chr=probs.x_chr, kind=probs.kind)  # fmt: skip


# -- the scan ---------------------------------------------------------------------------------
@dataclass
class SnpScan:
    """LOD scores at the index SNPs of a region and the variants they stand for.

    Attributes
    ----------
    result
        :class:`~translocus.genetics.results.ScanResult` with one position per index SNP.
    snpinfo
        The variants (all of them, or only the index SNPs when ``keep_all_snps=False``) with
        ``index``, ``interval`` and ``on_map``.
    """

    result: ScanResult
    snpinfo: pd.DataFrame

    @property
    def lod(self) -> pd.DataFrame:
        """``[snp, trait]`` LOD scores at the index SNPs."""
        return self.result.lod

    def to_frame(self, strains: Sequence[str] | None = None) -> pd.DataFrame:
        """Every variant of :attr:`snpinfo` with the LOD of its index SNP (one column a trait).

        With ``strains`` (founder names) an ``sdp_strains`` column spells the SDP out.
        """
        return _expand(self.lod, self.snpinfo, strains)

    def plot(self, trait: str | int = 0, *, genes: pd.DataFrame | None = None,
             drop_hilit: float | None = 1.5, **kwargs: Any) -> Any:  # fmt: skip
        """LOD of every variant by position, with ``genes`` underneath (R ``plot_snpasso``).

        See :func:`translocus.genetics.plot_snps.plot_snpasso` for the other arguments;
        returns a matplotlib figure.
        """
        from translocus.genetics.plot_snps import plot_snpasso

        traits = [str(t) for t in self.lod.columns]
        name = trait if isinstance(trait, str) else traits[int(trait)]
        if name not in traits:
            raise OptionError("trait", trait, f"not among the traits ({', '.join(traits)})")
        return plot_snpasso(self.to_frame(), lodcolumn=name, genes=genes,
                            drop_hilit=drop_hilit, **kwargs)  # fmt: skip


def _expand(lod: pd.DataFrame, snpinfo: pd.DataFrame, strains: Sequence[str] | None
            ) -> pd.DataFrame:  # fmt: skip
    """The snpinfo rows, each with the LODs of its index SNP."""
    out = snpinfo.reset_index(drop=True).copy()
    rows = _index_rows(snpinfo)
    names = out["snp"].astype(str).to_numpy()[rows]
    values = lod.reindex(names)
    for trait in lod.columns:
        out[str(trait)] = values[trait].to_numpy(dtype=float)
    if strains is not None:
        out.insert(out.columns.get_loc("sdp") + 1, "sdp_strains",
                   sdp_strains(out["sdp"].to_numpy(), strains))  # fmt: skip
    return out


def _index_rows(snpinfo: pd.DataFrame) -> np.ndarray:
    """Row (0-based, whole table) of each variant's index SNP."""
    rows = np.empty(len(snpinfo), dtype=np.int64)
    chroms = snpinfo["chr"].astype(str).to_numpy()
    index = snpinfo["index"].to_numpy(dtype=np.int64)
    for chrom in dict.fromkeys(chroms):
        at = np.flatnonzero(chroms == chrom)
        rows[at] = at[index[at] - 1]
    return rows


def _index_by_batch(query: RegionQuery, positions: Mapping[str, np.ndarray],
                    chromosomes: Sequence[str], batch_length: float) -> pd.DataFrame:  # fmt: skip
    """The variants of whole chromosomes, read and indexed piece by piece as R/qtl2 does.

    Each chromosome's map range is cut into ``ceil(range / batch_length)`` equal pieces; a
    variant on a boundary belongs to the later piece. Indexes count rows from the start of the
    chromosome, so that they stay valid for the chromosome's whole table.
    """
    parts = []
    for chrom in chromosomes:
        pos = positions[chrom]
        lo, hi = float(np.min(pos)), float(np.max(pos))
        n_batch = math.ceil((hi - lo) / batch_length)
        if n_batch < 1:
            continue
        ends = np.linspace(lo, hi, n_batch + 1)
        offset = 0
        for b in range(n_batch):
            found = query(chrom, float(ends[b]), float(ends[b + 1]))
            if b < n_batch - 1 and len(found):
                found = found[found["pos"].to_numpy(dtype=float) < ends[b + 1]]
            if not len(found):
                continue
            indexed = index_snps({chrom: pos}, found)
            indexed["index"] += offset
            offset += len(indexed)
            parts.append(indexed)
    if not parts:
        return pd.DataFrame(columns=["snp", "chr", "pos", "sdp", *INDEX_COLUMNS])
    return pd.concat(parts, ignore_index=True)


def scan1snps(
    probs: GenoProbs,
    pheno: Any,
    *,
    snpinfo: pd.DataFrame | None = None,
    query: RegionQuery | None = None,
    chromosome: str | None = None,
    start: float | None = None,
    end: float | None = None,
    map: Any = None,  # noqa: A002 - R/qtl2's argument name
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,  # noqa: N803 - R/qtl2's argument name
    intcovar: Any = None,
    weights: Any = None,
    reml: bool | None = None,
    keep_all_snps: bool = False,
    batch_length: float = 20.0,
    threads: int | None = None,
) -> SnpScan:
    """Association scan at the founder variants of a region (R/qtl2 ``scan1snps``).

    The variants are ``snpinfo`` when given, else ``query(chromosome, start, end)`` (a
    function from :func:`create_variant_query_func`; default the shared variant database),
    else those of every chromosome of ``probs``, read in ``batch_length`` pieces.
    They are indexed (:func:`index_snps`), their SNP probabilities formed
    (:func:`genoprob_to_snpprob`) and scanned with :func:`translocus.genetics.scan.scan`.

    Parameters
    ----------
    probs
        Allele (usual) or genotype probabilities with physical positions (``pos_Mbp``).
    pheno, kinship, addcovar, Xcovar, intcovar, weights, reml
        As for :func:`~translocus.genetics.scan.scan`; a LOCO kinship needs the matrices of
        the chromosomes scanned only.
    snpinfo
        Variants (``snp``, ``chr``, ``pos`` in Mbp, ``sdp``); overrides the query.
    query, chromosome, start, end
        The region (Mbp; ``start``/``end`` default the whole chromosome) and how to read it.
    map
        Marker positions in Mbp (``{chr: Series}``) when ``probs`` carries none.
    keep_all_snps
        Return every variant in :attr:`SnpScan.snpinfo` (``True``) or only the index SNPs.
    batch_length
        Without ``snpinfo`` and ``chromosome``, the whole genome is read in pieces of about
        this many Mbp per chromosome, each indexed on its own (as R/qtl2 does).
    threads
        Kernel threads of the scan.

    Returns
    -------
    SnpScan
        LODs at the index SNPs and the variant table.

    Raises
    ------
    InputError
        No variants in the region, or a variant table without the needed columns.

    Examples
    --------
    >>> from translocus.core.qtl2io import read_cross
    >>> from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
    >>> cross = read_cross(data_dir() / "qtl2" / "DOex" / "DOex.json")
    >>> apr = genoprob_to_alleleprob(calc_genoprob(cross, chromosomes=["2"], error_prob=0.002))
    >>> out = scan1snps(apr, cross.pheno, chromosome="2", start=97.0, end=98.0)
    >>> len(out.snpinfo), round(float(out.lod.iloc[:, 0].max()), 2)
    (49, 5.59)
    """
    from translocus.genetics.scan import scan

    positions = _map_of(probs if map is None else map)
    if snpinfo is None and chromosome is None:
        if not (math.isfinite(batch_length) and batch_length > 0):
            raise OptionError("batch_length", batch_length, "must be a length in Mbp, e.g. 20")
        indexed = _index_by_batch(query or create_variant_query_func(), positions,
                                  probs.chromosomes, float(batch_length))  # fmt: skip
        if len(indexed) == 0:
            raise InputError("no variants on any chromosome of the probabilities; check the "
                             "database")  # fmt: skip
        chroms = list(dict.fromkeys(indexed["chr"].astype(str)))
    else:
        if snpinfo is None:
            if start is not None and end is not None and float(start) >= float(end):
                raise OptionError("start", start, "must be below {end}")
            query = query or create_variant_query_func()
            snpinfo = query(str(chromosome), -1e15 if start is None else float(start),
                            1e15 if end is None else float(end))  # fmt: skip
        snpinfo = _check_snpinfo(snpinfo, ("snp", "chr", "pos", "sdp"))
        if len(snpinfo) == 0:
            where = f"chromosome {chromosome}" if chromosome is not None else "the region"
            span = "" if start is None or end is None else f" {start:g}-{end:g} Mbp"
            raise InputError(f"no variants in {where}{span}; check the region and the database")
        chroms = [c for c in probs.chromosomes if c in set(snpinfo["chr"].astype(str))]
        if not chroms:
            found = ", ".join(pd.unique(snpinfo["chr"].astype(str)))
            raise InputError(f"the variants lie on chromosome(s) {found}, none of them in the "
                             f"probabilities ({', '.join(probs.chromosomes)})")  # fmt: skip
        snpinfo = snpinfo[snpinfo["chr"].astype(str).isin(chroms)]
        indexed = index_snps({c: positions[c] for c in chroms}, snpinfo)
    snp_probs = genoprob_to_snpprob(probs.subset(chromosomes=chroms), indexed)
    kin = kinship
    if isinstance(kinship, Mapping):
        missing = [c for c in chroms if c not in kinship]
        if missing:
            raise InputError(f"the LOCO kinship has no matrix for chromosome(s) {missing}; "
                             "compute it with calc_kinship(probs, type='loco')")  # fmt: skip
        kin = {c: kinship[c] for c in chroms}
    result = scan(pheno, snp_probs, kinship=kin, addcovar=addcovar, Xcovar=Xcovar,
                  intcovar=intcovar, weights=weights, reml=reml, threads=threads)  # fmt: skip
    info = indexed if keep_all_snps else reduce_to_index_snps(indexed)
    return SnpScan(result=result, snpinfo=info.reset_index(drop=True))


def top_snps(
    lod: pd.DataFrame | SnpScan,
    snpinfo: pd.DataFrame | None = None,
    *,
    trait: str | int = 0,
    chromosome: str | None = None,
    drop: float = 1.5,
    show_all_snps: bool = True,
) -> pd.DataFrame:
    """The variants whose LOD is within ``drop`` of the best (R/qtl2 ``top_snps``).

    Parameters
    ----------
    lod
        ``[snp, trait]`` LODs at the index SNPs, or a :class:`SnpScan` (then ``snpinfo`` is
        its own).
    snpinfo
        The indexed variants (``scan1snps(..., keep_all_snps=True).snpinfo``).
    trait
        Column of ``lod`` (name or position).
    chromosome
        Chromosome to look at (default the first of ``snpinfo``).
    drop
        LOD drop from the maximum.
    show_all_snps
        Every variant whose index SNP qualifies (``True``) or only the index SNPs.

    Returns
    -------
    pandas.DataFrame
        The rows of ``snpinfo`` kept, with a ``lod`` column.
    """
    if isinstance(lod, SnpScan):
        snpinfo = lod.snpinfo if snpinfo is None else snpinfo
        lod = lod.lod
    if snpinfo is None:
        raise InputError("top_snps: give snpinfo (the indexed variants) with the LODs")
    snpinfo = _check_snpinfo(snpinfo, ("snp", "chr", "pos", "index"))
    if not (math.isfinite(drop) and drop >= 0):
        raise OptionError("drop", drop, "must be a LOD drop of 0 or more, e.g. 1.5")
    columns = [str(c) for c in lod.columns]
    if isinstance(trait, str):
        if trait not in columns:
            raise OptionError("trait", trait, f"not among the LOD columns ({', '.join(columns)})")
        column = lod.iloc[:, columns.index(trait)]
    else:
        if not 0 <= int(trait) < len(columns):
            raise OptionError("trait", trait, f"must lie in 0 to {len(columns) - 1}")
        column = lod.iloc[:, int(trait)]
    chroms = snpinfo["chr"].astype(str)
    chrom = str(chromosome) if chromosome is not None else str(chroms.iloc[0])
    info = snpinfo[chroms == chrom].reset_index(drop=True)
    column = column[column.index.astype(str).isin(info["snp"].astype(str))]
    if len(pd.unique(info["index"])) != len(column):
        raise InputError(
            f"top_snps: {len(pd.unique(info['index']))} index SNPs in snpinfo but {len(column)} "
            "LODs; give the snpinfo of the same scan (keep_all_snps=True to see every variant)"
        )
    values = column.to_numpy(dtype=float)
    best = np.nanmax(values) if np.isfinite(values).any() else np.nan
    kept = set(column.index.astype(str)[np.isfinite(values) & (values >= best - drop)])
    expanded = _expand(column.to_frame("lod"), info, None)
    index_names = info["snp"].astype(str).to_numpy()[_index_rows(info)]
    if show_all_snps:
        keep = np.isin(index_names, list(kept))
    else:
        keep = np.isin(info["snp"].astype(str).to_numpy(), list(kept))
    return expanded[keep].reset_index(drop=True)
