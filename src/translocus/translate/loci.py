"""Human disease loci (GWAS lead SNPs) placed on GRCh38 for matching against orthologs.

Built-in tables (``/work/shared/data/gwas``, licence NOASSERTION: published summary
results):

- ``"ad"`` — Schwartzentruber et al. 2021 Alzheimer's disease loci at genome-wide
  significance (37 lead SNPs with locus names);
- ``"ad_suggestive"`` — the same study's 43 loci at p < 1e-5 (named here by the nearest
  protein-coding gene);
- ``"kunkle"`` — Kunkle et al. 2019 stage-1 SNPs at p < 1e-5, clumped into loci (lead SNP
  = smallest p; other SNPs within ±``clump_kb`` join it), kept at p <= ``p_max``.

GWAS positions are GRCh37. They are moved to GRCh38 by gene anchors
(:mod:`translocus.translate.assembly`): ``pos`` is GRCh38, ``pos_grch37`` the original
and ``lift_anchor``/``lift_spread_bp`` say how each was moved. User tables (``read_loci``)
may be on either build.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.core.provenance import Provenance
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, normalize_chr
from translocus.translate.assembly import gene_anchor_lift
from translocus.translate.genes import load_genes

__all__ = ["LOCI_TABLES", "DiseaseLoci", "load_loci", "read_loci"]

LOCI_COLUMNS = [
    "locus_name",
    "lead_snp",
    "chr",
    "pos",
    "pos_grch37",
    "p",
    "beta",
    "lift_anchor",
    "lift_spread_bp",
]

#: Built-in loci tables: name -> description.
LOCI_TABLES: dict[str, str] = {
    "ad": "Alzheimer's disease GWAS loci, p < 5e-8 (Schwartzentruber et al. 2021)",
    "ad_suggestive": "Alzheimer's disease GWAS loci, p < 1e-5 (Schwartzentruber et al. 2021)",
    "kunkle": "Alzheimer's disease GWAS stage-1 loci (Kunkle et al. 2019), clumped",
}

_AD_PROVENANCE = Provenance(
    name="ad_gwas_schwartzentruber2021",
    license="NOASSERTION",
    source="Jeremy37/AD_finemap @ a15ca4e (AD.loci.tsv, AD.loci.1e-5.tsv)",
    citation="Schwartzentruber et al. 2021, Nat Genet 53:392",
    usage_terms="Published summary results; no licence stated.",
    description="AD GWAS lead SNPs, GRCh37 positions (lifted to GRCh38 by gene anchors)",
)
_KUNKLE_PROVENANCE = Provenance(
    name="ad_gwas_kunkle2019_stage1",
    license="NOASSERTION",
    source="Shicheng-Guo/m6Asnp @ dcf7634 (Kunkle_etal_stage1_p1e-5.txt)",
    citation="Kunkle et al. 2019, Nat Genet 51:414",
    usage_terms="Published SNPs at p < 1e-5; full statistics are under IGAP/NIAGADS "
    "data-use terms.",
    description="AD GWAS stage-1 SNPs at p < 1e-5, GRCh37, clumped into loci",
)


@dataclass(frozen=True)
class DiseaseLoci:
    """Disease loci on GRCh38.

    Attributes
    ----------
    name
        Short label (``"AD GWAS (Schwartzentruber 2021)"``).
    loci
        One row per locus: ``locus_name, lead_snp, chr, pos`` (GRCh38 bp), ``pos_grch37``,
        ``p, beta, lift_anchor, lift_spread_bp``.
    provenance
        Source and licence.
    note
        How positions were placed on GRCh38.
    """

    name: str
    loci: pd.DataFrame
    provenance: Provenance
    note: str

    def __len__(self) -> int:
        return len(self.loci)

    def on_chromosome(self, chr: str) -> pd.DataFrame:
        """The loci on one chromosome (any spelling: ``1``, ``chr1``)."""
        return self.loci[self.loci["chr"] == normalize_chr(chr)]


def _nearest_gene_names(chrs: pd.Series, positions: pd.Series) -> list[str]:
    genes = load_genes("human", "GRCh38")
    out = []
    for c, p in zip(chrs, positions, strict=True):
        if pd.isna(p):
            out.append("")
            continue
        near = genes.nearest(chr=str(c), pos_bp=float(p), n=1, protein_coding_only=True)
        out.append(str(near["symbol"].iloc[0]) if len(near) else "")
    return out


def _lift_table(table: pd.DataFrame) -> pd.DataFrame:
    lift = gene_anchor_lift("human", "GRCh37", "GRCh38")
    lifted = lift.lift_many(table["chr"].tolist(), table["pos_grch37"].tolist())
    table = table.copy()
    table["pos"] = lifted["pos_lifted"].astype("Int64").to_numpy()
    table["lift_anchor"] = lifted["anchor"].to_numpy()
    table["lift_spread_bp"] = lifted["spread_bp"].to_numpy()
    return table


def _schwartzentruber(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, sep="\t", dtype={"Chr": str})
    table = pd.DataFrame(
        {
            "locus_name": raw.get("locus_name", ""),
            "lead_snp": raw["lead_SNP"].str.split("_").str[0],
            "chr": raw["Chr"].map(normalize_chr),
            "pos_grch37": raw["lead_pos"].astype("int64"),
            "p": pd.to_numeric(raw["lead_p"], errors="coerce"),
            "beta": pd.to_numeric(raw["lead_beta"], errors="coerce"),
        }
    )
    return table


def _clump(snps: pd.DataFrame, clump_bp: int) -> pd.DataFrame:
    snps = snps.sort_values("p", kind="stable").reset_index(drop=True)
    taken = np.zeros(len(snps), dtype=bool)
    leads = []
    chrs = snps["chr"].to_numpy(object)
    pos = snps["pos_grch37"].to_numpy(np.int64)
    for i in range(len(snps)):
        if taken[i]:
            continue
        member = (chrs == chrs[i]) & (np.abs(pos - pos[i]) <= clump_bp) & ~taken
        taken |= member
        leads.append(i)
    return snps.iloc[leads].reset_index(drop=True)


def _kunkle(path: Path, p_max: float, clump_kb: float) -> pd.DataFrame:
    raw = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["chr", "pos_grch37", "lead_snp", "effect_allele", "other_allele", "beta", "se", "p"],
        dtype={"chr": str},
    )
    raw["chr"] = raw["chr"].map(normalize_chr)
    leads = _clump(raw, int(clump_kb * 1000))
    leads = leads[leads["p"] <= p_max]
    return leads[["lead_snp", "chr", "pos_grch37", "p", "beta"]].assign(locus_name="")


@functools.lru_cache(maxsize=8)
def _load_loci_cached(name: str, folder: str, p_max: float, clump_kb: float) -> DiseaseLoci:
    gwas = Path(folder) / "gwas"
    if name in ("ad", "ad_suggestive"):
        path = gwas / ("AD.loci.tsv" if name == "ad" else "AD.loci.1e-5.tsv")
        provenance = _AD_PROVENANCE
        if not path.is_file():
            raise FileNotFoundError(
                f"GWAS table {path} is missing; set TRANSLOCUS_DATA (see the data MANIFEST)."
            )
        table = _schwartzentruber(path)
        label = (
            "AD GWAS (Schwartzentruber 2021)"
            if name == "ad"
            else "AD GWAS p<1e-5 (Schwartzentruber 2021)"
        )
    else:
        path = gwas / "kunkle2019" / "Kunkle_etal_stage1_p1e-5.txt"
        if not path.is_file():
            raise FileNotFoundError(
                f"GWAS table {path} is missing; set TRANSLOCUS_DATA (see the data MANIFEST)."
            )
        provenance = _KUNKLE_PROVENANCE
        table = _kunkle(path, p_max, clump_kb)
        label = f"AD GWAS stage 1 (Kunkle 2019), p<={p_max:g}"
    table = _lift_table(table)
    unnamed = table["locus_name"].fillna("") == ""
    if unnamed.any():
        table.loc[unnamed, "locus_name"] = _nearest_gene_names(
            table.loc[unnamed, "chr"], table.loc[unnamed, "pos"]
        )
    note = (
        "GWAS lead-SNP positions are GRCh37 in the source; moved to GRCh38 by gene anchors "
        f"(median lift spread {int(table['lift_spread_bp'].median()):,} bp)."
    )
    return DiseaseLoci(label, table[LOCI_COLUMNS].reset_index(drop=True), provenance, note)


def load_loci(name: str = "ad", *, p_max: float = 5e-8, clump_kb: float = 500.0) -> DiseaseLoci:
    """Load a built-in disease-loci table (see :data:`LOCI_TABLES`), placed on GRCh38.

    Parameters
    ----------
    name
        ``"ad"``, ``"ad_suggestive"`` or ``"kunkle"``.
    p_max, clump_kb
        For ``"kunkle"``: largest lead-SNP p-value kept and the clumping half-window.
    """
    if name not in LOCI_TABLES:
        raise InputError(
            f"unknown loci table {name!r}; use one of {', '.join(LOCI_TABLES)} or a file path."
        )
    return _load_loci_cached(name, str(data_dir()), float(p_max), float(clump_kb))


def read_loci(
    path: Path | str, *, assembly: str = "GRCh38", name: str | None = None
) -> DiseaseLoci:
    """Read a user table of human disease loci (CSV/TSV).

    Required columns: ``chr`` and ``pos`` (bp). Optional: ``locus_name`` (or ``name``),
    ``lead_snp`` (or ``snp``/``rsid``), ``p``, ``beta``. GRCh37 tables
    (``assembly="GRCh37"``) are moved to GRCh38 by gene anchors.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"loci table {path} does not exist; give a CSV/TSV with chr and pos.")
    sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    raw = pd.read_csv(path, sep=sep, dtype={"chr": str})
    raw.columns = [c.strip().lower() for c in raw.columns]
    missing = [c for c in ("chr", "pos") if c not in raw.columns]
    if missing:
        raise InputError(
            f"{path}: column(s) {', '.join(missing)} missing; the loci table needs chr and pos "
            "(bp) columns."
        )
    pos = pd.to_numeric(raw["pos"], errors="coerce")
    bad = np.flatnonzero(pos.isna().to_numpy())
    if len(bad):
        rows = ", ".join(str(i + 2) for i in bad[:5])
        raise InputError(f"{path}, column 'pos': {len(bad)} values are not numbers (rows {rows}).")
    if assembly not in ("GRCh37", "GRCh38"):
        raise InputError(f"loci assembly must be GRCh37 or GRCh38, not {assembly!r}.")
    chrs = raw["chr"].map(normalize_chr)
    unknown = sorted(set(chrs) - set(CHROMOSOME_LENGTHS[assembly]))
    if unknown:
        raise InputError(
            f"{path}, column 'chr': {', '.join(unknown[:5])} are not {assembly} chromosomes."
        )
    table = pd.DataFrame(
        {
            "locus_name": raw.get("locus_name", raw.get("name", pd.Series([""] * len(raw)))),
            "lead_snp": raw.get(
                "lead_snp", raw.get("snp", raw.get("rsid", pd.Series([""] * len(raw))))
            ),
            "chr": chrs,
            "pos_grch37": pos.astype("int64") if assembly == "GRCh37" else pd.NA,
            "p": pd.to_numeric(raw.get("p", pd.Series([np.nan] * len(raw))), errors="coerce"),
            "beta": pd.to_numeric(raw.get("beta", pd.Series([np.nan] * len(raw))), errors="coerce"),
        }
    )
    if assembly == "GRCh37":
        table = _lift_table(table)
        note = "positions given on GRCh37; moved to GRCh38 by gene anchors."
    else:
        table["pos"] = pos.astype("int64")
        table["lift_anchor"] = ""
        table["lift_spread_bp"] = 0
        note = "positions given on GRCh38."
    table["locus_name"] = table["locus_name"].fillna("").astype(str)
    unnamed = table["locus_name"] == ""
    if unnamed.any():
        table.loc[unnamed, "locus_name"] = _nearest_gene_names(
            table.loc[unnamed, "chr"], table.loc[unnamed, "pos"]
        )
    provenance = Provenance(
        name=name or path.stem,
        license="NOASSERTION",
        source=str(path),
        description=f"user disease loci ({assembly})",
    )
    return DiseaseLoci(
        name or path.stem, table[LOCI_COLUMNS].reset_index(drop=True), provenance, note
    )
