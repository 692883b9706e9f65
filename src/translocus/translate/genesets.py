"""Mouse gene lists and per-gene statistics → human, and over-representation tests.

Rules for a per-gene statistic (``translate_statistic``), stated once here:

- *one mouse gene, several human orthologs* (``one_to_many``): ``"best"`` (default) gives
  the value to the preferred ortholog only (highest orthology confidence, then gene-order
  score, then HCOP support, then identical name); ``"copy"`` gives it to every
  co-ortholog; ``"drop"`` gives it to none.
- *several mouse genes, one human gene* (``many_to_one``): ``"mean"`` (default) averages
  them; ``"max_abs"`` keeps the value of largest magnitude (sign kept); ``"drop"`` leaves
  the human gene out.
- Mouse genes that are unknown or have no human ortholog are reported in the mapping
  table, never silently lost.

Over-representation (``overrepresentation``) is the one-sided hypergeometric test
P(X >= k) for each gene set, with Benjamini–Hochberg FDR across the sets tested.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.translate.orthology import (
    MGI_PROVENANCE,
    GeneTranslation,
    Orthology,
    load_orthology,
)

__all__ = [
    "MP_SYSTEM_TERMS",
    "GeneSets",
    "StatisticTranslation",
    "benjamini_hochberg",
    "mgi_phenotype_gene_sets",
    "overrepresentation",
    "read_gene_sets",
    "translate_genes",
    "translate_statistic",
]

#: Top-level Mammalian Phenotype (MP) ontology system terms used by MGI's HMD report.
MP_SYSTEM_TERMS: dict[str, str] = {
    "MP:0001186": "pigmentation phenotype",
    "MP:0002006": "tumorigenesis",
    "MP:0002873": "normal phenotype",
    "MP:0003631": "nervous system phenotype",
    "MP:0005367": "renal/urinary system phenotype",
    "MP:0005369": "muscle phenotype",
    "MP:0005370": "liver/biliary system phenotype",
    "MP:0005371": "limbs/digits/tail phenotype",
    "MP:0005375": "adipose tissue phenotype",
    "MP:0005376": "homeostasis/metabolism phenotype",
    "MP:0005377": "hearing/vestibular/ear phenotype",
    "MP:0005378": "growth/size/body region phenotype",
    "MP:0005379": "endocrine/exocrine gland phenotype",
    "MP:0005380": "embryo phenotype",
    "MP:0005381": "digestive/alimentary phenotype",
    "MP:0005382": "craniofacial phenotype",
    "MP:0005384": "cellular phenotype",
    "MP:0005385": "cardiovascular system phenotype",
    "MP:0005386": "behavior/neurological phenotype",
    "MP:0005387": "immune system phenotype",
    "MP:0005388": "respiratory system phenotype",
    "MP:0005389": "reproductive system phenotype",
    "MP:0005390": "skeleton phenotype",
    "MP:0005391": "vision/eye phenotype",
    "MP:0005394": "taste/olfaction phenotype",
    "MP:0005395": "other phenotype",
    "MP:0005397": "hematopoietic system phenotype",
    "MP:0010768": "mortality/aging",
    "MP:0010771": "integument phenotype",
}


def translate_genes(
    genes: Iterable[str] | str, *, orthology: Orthology | None = None
) -> GeneTranslation:
    """Translate mouse gene names/IDs to human orthologs.

    >>> translate_genes("App,Cd33").best()["human_symbol"].tolist()  # doctest: +SKIP
    ['APP', 'CD33']
    """
    return (orthology or load_orthology()).mouse_to_human(genes)


@dataclass
class StatisticTranslation:
    """A per-gene statistic moved from mouse to human genes.

    Attributes
    ----------
    values
        Human statistic, indexed by human symbol (name ``value``).
    mapping
        One row per input mouse gene and human ortholog used or left out: ``query,
        mouse_symbol, human_symbol, homology_type, value, used`` and ``reason``.
    rule
        The one-to-many and many-to-one rules applied, in words.
    """

    values: pd.Series
    mapping: pd.DataFrame
    rule: str
    messages: list[str] = field(default_factory=list)
    provenance: tuple[Provenance, ...] = ()


def translate_statistic(
    values: pd.Series | Mapping[str, float],
    *,
    one_to_many: str = "best",
    many_to_one: str = "mean",
    orthology: Orthology | None = None,
) -> StatisticTranslation:
    """Move a per-gene statistic (e.g. log fold changes) from mouse genes to human genes.

    Parameters
    ----------
    values
        Statistic indexed by mouse gene name or Ensembl ID.
    one_to_many
        ``"best"``, ``"copy"`` or ``"drop"`` (see the module notes).
    many_to_one
        ``"mean"``, ``"max_abs"`` or ``"drop"``.
    """
    if one_to_many not in ("best", "copy", "drop"):
        raise InputError(f"one_to_many must be best, copy or drop, not {one_to_many!r}.")
    if many_to_one not in ("mean", "max_abs", "drop"):
        raise InputError(f"many_to_one must be mean, max_abs or drop, not {many_to_one!r}.")
    series = pd.Series(values, dtype="float64") if isinstance(values, Mapping) else values
    series = pd.to_numeric(series, errors="coerce")
    if series.index.has_duplicates:
        dup = series.index[series.index.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"statistic: mouse genes given more than once ({', '.join(map(str, dup))})."
        )
    if series.isna().any():
        bad = series.index[series.isna()][:5].tolist()
        raise InputError(f"statistic: values are not numbers for {', '.join(map(str, bad))}.")
    orth = orthology or load_orthology()
    translation = orth.mouse_to_human([str(k) for k in series.index])
    table = translation.table.copy()
    table["value"] = table["query"].map(series.set_axis(series.index.astype(str)))
    has = table["status"].isin(["ok", "ambiguous"]) & table["human_gene_id"].notna()
    multi = table["n_orthologs"] > 1
    used = has.copy()
    reason = np.where(
        has, "", np.where(table["status"] == "unknown", "unknown gene", "no ortholog")
    )
    reason = pd.Series(reason, index=table.index, dtype=object)
    if one_to_many == "best":
        drop = has & multi & ~table["is_best"]
        used &= ~drop
        reason[drop] = "one-to-many: not the preferred ortholog"
    elif one_to_many == "drop":
        drop = has & multi
        used &= ~drop
        reason[drop] = "one-to-many: dropped by rule"
    per_human = table[used].groupby("human_gene_id")["query"].transform("nunique")
    shared = pd.Series(False, index=table.index)
    shared[per_human.index] = per_human > 1
    if many_to_one == "drop":
        used &= ~shared
        reason[shared] = "many-to-one: dropped by rule"
    table["used"] = used
    table["reason"] = reason
    kept = table[used]
    if many_to_one == "max_abs":
        idx = kept["value"].abs().groupby(kept["human_symbol"]).idxmax()
        human = kept.loc[idx.to_numpy()].set_index("human_symbol")["value"]
    else:
        human = kept.groupby("human_symbol")["value"].mean()
    human = human.rename("value").sort_index()
    rule = f"one-to-many: {one_to_many}; many-to-one: {many_to_one}"
    n_unmapped = int(table.loc[~has, "query"].nunique())
    messages = [
        f"{series.size} mouse genes -> {human.size} human genes ({rule}); "
        f"{n_unmapped} mouse genes without a human ortholog or unknown."
    ]
    mapping = table[
        ["query", "mouse_symbol", "human_symbol", "homology_type", "value", "used", "reason"]
    ]
    return StatisticTranslation(
        values=human,
        mapping=mapping.reset_index(drop=True),
        rule=rule,
        messages=messages,
        provenance=translation.provenance,
    )


# --------------------------------------------------------------------------- gene sets


@dataclass(frozen=True)
class GeneSets:
    """Named human gene sets (symbols), with descriptions and provenance."""

    sets: dict[str, frozenset[str]]
    descriptions: dict[str, str]
    provenance: Provenance

    def __len__(self) -> int:
        return len(self.sets)

    @property
    def genes(self) -> frozenset[str]:
        """Every gene in at least one set."""
        out: set[str] = set()
        for members in self.sets.values():
            out |= members
        return frozenset(out)


def read_gene_sets(path: Path | str, *, license: str = "NOASSERTION") -> GeneSets:
    """Read human gene sets from a GMT file or a long CSV/TSV (``gene_set, gene``).

    A GMT line is ``name<TAB>description<TAB>gene<TAB>gene...``. A long table may add a
    ``description`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gene-set file {path} does not exist.")
    sets: dict[str, set[str]] = {}
    descriptions: dict[str, str] = {}
    if path.suffix.lower() == ".gmt":
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                raise InputError(
                    f"{path}, line {number}: a GMT line needs name, description and genes "
                    "separated by tabs."
                )
            sets.setdefault(fields[0], set()).update(g.strip() for g in fields[2:] if g.strip())
            descriptions[fields[0]] = fields[1]
    else:
        sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        table = pd.read_csv(path, sep=sep, dtype=str)
        missing = {"gene_set", "gene"} - set(table.columns)
        if missing:
            raise InputError(
                f"{path}: column(s) {', '.join(sorted(missing))} missing; a long gene-set "
                "table needs gene_set and gene (or use a .gmt file)."
            )
        for name, group in table.dropna(subset=["gene_set", "gene"]).groupby("gene_set"):
            sets[str(name)] = set(group["gene"].str.strip())
            if "description" in table.columns:
                descriptions[str(name)] = str(group["description"].iloc[0])
    if not sets:
        raise InputError(f"{path} holds no gene sets.")
    provenance = Provenance(name=path.stem, license=license, source=str(path))
    return GeneSets(
        {k: frozenset(v) for k, v in sets.items()},
        {k: descriptions.get(k, "") for k in sets},
        provenance,
    )


@functools.lru_cache(maxsize=2)
def _mgi_sets(folder: str) -> GeneSets:
    path = Path(folder) / "orthology" / "mgi_hmd_human_phenotype_2015.rpt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing; set TRANSLOCUS_DATA to the folder holding orthology/."
        )
    raw = pd.read_csv(
        path, sep="\t", header=None, usecols=[0, 5], names=["gene", "mp"], dtype=str
    ).fillna("")
    raw["gene"] = raw["gene"].str.strip()
    long = raw.assign(term=raw["mp"].str.split()).explode("term").dropna(subset=["term"])
    long = long[long["term"].str.startswith("MP:")]
    sets = {str(term): frozenset(group["gene"]) for term, group in long.groupby("term")}
    return GeneSets(sets, {k: MP_SYSTEM_TERMS.get(k, "") for k in sets}, MGI_PROVENANCE)


def mgi_phenotype_gene_sets() -> GeneSets:
    """Human genes grouped by the mouse phenotype systems (MP terms) of their orthologs.

    From MGI's HMD_HumanPhenotype report (2015 snapshot): a human gene is in the set of
    an MP system term when its mouse ortholog's mutants show a phenotype in that system.
    """
    return _mgi_sets(str(data_dir()))


def benjamini_hochberg(p: np.ndarray | Iterable[float]) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (FDR), in the input order.

    ``scipy.stats.false_discovery_control(p, method="bh")`` on any iterable of p-values.

    >>> benjamini_hochberg([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    from scipy import stats

    values = np.asarray(list(p) if not isinstance(p, np.ndarray) else p, dtype=np.float64)
    return np.asarray(stats.false_discovery_control(values, method="bh"), dtype=np.float64)


def overrepresentation(
    genes: Iterable[str],
    gene_sets: GeneSets,
    *,
    universe: Iterable[str] | None = None,
    min_size: int = 5,
    max_size: int = 5000,
) -> pd.DataFrame:
    """Hypergeometric over-representation of ``genes`` in each set, with BH FDR.

    Parameters
    ----------
    genes
        Human gene symbols (e.g. the orthologs of a mouse signature).
    gene_sets
        Sets to test (:func:`read_gene_sets`, :func:`mgi_phenotype_gene_sets`).
    universe
        Genes that could have been picked (default: every gene in any set). Query genes
        and set members outside it are ignored.
    min_size, max_size
        Sets with fewer/more members in the universe are not tested.

    Returns
    -------
    DataFrame
        ``gene_set, description, set_size, overlap, expected, fold_enrichment, p, fdr,
        genes`` sorted by p.
    """
    from scipy import stats

    query = {str(g).strip() for g in genes if str(g).strip()}
    if not query:
        raise InputError("no genes given to the over-representation test.")
    pool = frozenset(universe) if universe is not None else gene_sets.genes
    if not pool:
        raise InputError("the universe of the over-representation test is empty.")
    drawn = query & pool
    if not drawn:
        raise InputError(
            "none of the query genes is in the gene-set universe; check that they are human "
            "symbols (translate mouse genes first)."
        )
    rows = []
    M, N = len(pool), len(drawn)
    for name, members in gene_sets.sets.items():
        in_pool = members & pool
        K = len(in_pool)
        if min_size > K or max_size < K:
            continue
        hits = sorted(in_pool & drawn)
        k = len(hits)
        expected = N * K / M
        p = float(stats.hypergeom.sf(k - 1, M, K, N))
        rows.append(
            {
                "gene_set": name,
                "description": gene_sets.descriptions.get(name, ""),
                "set_size": K,
                "overlap": k,
                "expected": expected,
                "fold_enrichment": k / expected if expected > 0 else np.nan,
                "p": p,
                "genes": ",".join(hits),
            }
        )
    columns = [
        "gene_set",
        "description",
        "set_size",
        "overlap",
        "expected",
        "fold_enrichment",
        "p",
        "fdr",
        "genes",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows)
    table["fdr"] = benjamini_hochberg(table["p"].to_numpy())
    return table.sort_values(["p", "gene_set"], kind="stable").reset_index(drop=True)[columns]
