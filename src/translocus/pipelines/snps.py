"""``snps``: SNP association and genes in a QTL's support interval, from a scan run folder.

One run: read the scan's ``run.json`` (the cross, the kinship and covariates it used) and its
``peaks.csv``, pick the peak asked for (``TRAIT`` or ``TRAIT:CHR``; the highest when several),
recompute the allele probabilities (the peak's chromosome for the SNPs, the others only for the
kinship the scan used), read the founder variants of the peak's LOD support interval from
R/qtl2's variant database, scan them (:func:`~translocus.genetics.snps.scan1snps`, the same
model as the scan: Haley-Knott or LMM with its kinship and covariates), keep the variants
within ``drop`` of the best (:func:`~translocus.genetics.snps.top_snps`) and list the genes
of the interval.

A region the variant database does not cover is an error naming both; one it covers in part
is studied where it is covered, with a warning.

>>> SnpsRequest(run=None, peak="bw", drop=-1).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: drop=-1: must be a LOD drop of 0 or more, e.g. 1.5
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog, read_run
from translocus.pipelines.genoprob import cross_for, cross_inputs

__all__ = ["SnpsOutput", "SnpsRequest", "run_snps", "scan_run_inputs"]


@dataclass(frozen=True)
class SnpsRequest:
    """Options of ``translocus snps`` (see its ``--help``).

    ``run`` is a folder written by ``translocus scan``; ``peak`` names a trait of it,
    optionally with a chromosome (``TRAIT:CHR``). ``start``/``end`` (Mbp) replace the
    peak's support interval; ``variants``/``genes`` default to R/qtl2's small databases
    among the shared data.
    """

    run: Path | None = None
    peak: str = ""
    drop: float = 1.5
    start: float | None = None
    end: float | None = None
    variants: Path | None = None
    genes: Path | None = None

    def validate(self) -> None:
        if not (math.isfinite(float(self.drop)) and float(self.drop) >= 0):
            raise OptionError("drop", self.drop, "must be a LOD drop of 0 or more, e.g. 1.5")
        if not str(self.peak).strip():
            raise OptionError("peak", self.peak, "give a trait of the scan, as TRAIT or TRAIT:CHR")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(float(value)):
                raise OptionError(name, value, "must be a position in Mbp, e.g. 97.5")
        if (self.start is None) != (self.end is None):
            raise OptionError(
                "start" if self.start is not None else "end",
                self.start if self.start is not None else self.end,
                "give both {start} and {end} (Mbp), or neither for the peak's support interval",
            )
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise OptionError("start", self.start, f"must be below {{end}} ({self.end:g})")
        for name, what in (("variants", "variant"), ("genes", "gene")):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise OptionError(
                    name, str(path), f"no such file; give R/qtl2's {what} database (SQLite)"
                )
        if self.run is not None:
            scan_record(Path(self.run))


def scan_record(run: Path) -> dict[str, Any]:
    """The ``run.json`` of a complete ``translocus scan`` run folder, else a clear error."""
    fix = "give the folder written by `translocus scan CROSS -o DIR`"
    if not run.exists():
        raise InputError(f"{run}: no such run folder; {fix}")
    if not run.is_dir():
        raise InputError(f"{run}: is a file, not a run folder; {fix}")
    record = read_run(run)
    if record is None:
        raise InputError(f"{run}: not a translocus run folder (no readable run.json); {fix}")
    if record.get("status") != "complete":
        raise InputError(f"{run}: the scan did not complete; run it again and give its folder")
    if record.get("command") != "scan":
        raise InputError(f"{run}: is a `translocus {record.get('command')}` run, not a scan; {fix}")
    if not (run / "peaks.csv").is_file():
        raise InputError(f"{run}: has no peaks.csv; run the scan again and give its folder")
    return record


def scan_run_inputs(run: Path) -> list[Path]:
    """The scan run folder and the files of its cross (recorded in ``run.json``)."""
    inputs = [Path(run)]
    record = read_run(Path(run)) or {}
    cross = (record.get("options") or {}).get("cross")
    if cross and Path(cross).exists():
        inputs += cross_inputs(Path(cross))
    return inputs


@dataclass
class SnpsOutput:
    """SNP association in one peak's interval."""

    request: SnpsRequest
    trait: str
    chromosome: str
    start: float
    end: float
    peak: dict[str, Any]
    table: pd.DataFrame
    top: pd.DataFrame
    genes: pd.DataFrame
    coverage: tuple[float, float]
    method: str
    kinship: str
    covariates: list[str]
    n_index: int

    def figure(self) -> Any:
        """The SNP association plot with genes (matplotlib figure, not attached to pyplot)."""
        from translocus.genetics.plot_snps import plot_snpasso

        lo, hi = self.coverage
        title = (f"{self.trait}: chr {self.chromosome}, variants {lo:.3f}-{hi:.3f} Mbp "
                 f"({self.method.upper()})")  # fmt: skip
        pad = (hi - lo) * 0.02
        return plot_snpasso(self.table, lodcolumn="lod", genes=self.genes,
                            drop_hilit=self.request.drop, title=title,
                            xlim=(lo - pad, hi + pad))  # fmt: skip

    def write(self, folder: Path) -> None:
        """snp_assoc.csv/.parquet (every variant), top_snps.csv, genes.csv, snp_assoc.png."""
        from translocus.genetics.results import write_table

        folder = Path(folder)
        write_table(self.table, folder / "snp_assoc.parquet")
        write_table(self.table, folder / "snp_assoc.csv")
        write_table(self.top, folder / "top_snps.csv")
        write_table(self.genes, folder / "genes.csv")
        fig = self.figure()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        (folder / "snp_assoc.png").write_bytes(buf.getvalue())

    def summary(self) -> dict[str, Any]:
        lod = self.table["lod"].to_numpy(dtype=float)
        best = int(np.nanargmax(lod)) if np.isfinite(lod).any() else None
        return {
            "trait": self.trait,
            "chr": self.chromosome,
            "start": float(self.start),
            "end": float(self.end),
            "peak": self.peak,
            "variants_region": [float(self.coverage[0]), float(self.coverage[1])],
            "method": self.method,
            "kinship": self.kinship,
            "covariates": list(self.covariates),
            "n_variants": len(self.table),
            "n_index_snps": int(self.n_index),
            "max_lod": None if best is None else float(lod[best]),
            "top_snp": None if best is None else str(self.table["snp"].iloc[best]),
            "top_pos": None if best is None else float(self.table["pos"].iloc[best]),
            "drop": float(self.request.drop),
            "n_top_snps": len(self.top),
            "n_genes": len(self.genes),
            "genes": self.genes["Name"].astype(str).head(50).tolist() if len(self.genes) else [],
        }


# -- the pipeline -----------------------------------------------------------------------------
def _choose_peak(run: Path, record: dict[str, Any], text: str) -> tuple[str, str | None, dict[str, Any] | None]:  # fmt: skip
    """The trait, chromosome and peak row that ``--peak`` names."""
    peaks = pd.read_csv(run / "peaks.csv", dtype={"lodcolumn": str, "chr": str})
    summary = record.get("summary") or {}
    traits = [str(t) for t in summary.get("traits") or pd.unique(peaks["lodcolumn"])]
    text = str(text).strip()
    trait, chrom = text, None
    if text not in traits and ":" in text:
        trait, chrom = (part.strip() for part in text.rsplit(":", 1))
    if trait not in traits:
        shown = ", ".join(traits[:10]) + (" ..." if len(traits) > 10 else "")
        raise OptionError("peak", text, f"{trait!r} is not a trait of the scan in {run} "
                                        f"(traits: {shown}); give TRAIT or TRAIT:CHR")  # fmt: skip
    rows = peaks[peaks["lodcolumn"] == trait]
    if chrom is not None:
        rows = rows[rows["chr"] == chrom]
    if not len(rows):
        if chrom is not None:  # a region there may still be given with --start and --end
            return trait, chrom, None
        raise OptionError("peak", text, f"{trait} has no peak above the scan's threshold in "
                                        f"{run}/peaks.csv; give TRAIT:CHR with {{start}} and "
                                        "{end} to study a region anyway")  # fmt: skip
    best = rows.sort_values("lod", ascending=False, kind="stable").iloc[0]
    return trait, str(best["chr"]), {k: (v.item() if hasattr(v, "item") else v)
                                     for k, v in best.items()}  # fmt: skip


def _coverage(db: Path, chrom: str, start: float, end: float, log: RunLog) -> tuple[float, float]:
    """The part of [start, end] the database covers on ``chrom``; an error if none."""
    from translocus.genetics.snps import variant_coverage

    cover = variant_coverage(db)
    spans = "; ".join(f"chr {r.chr} {r.start:.6f}-{r.end:.6f} Mbp" for r in cover.itertuples())
    here = cover[cover["chr"] == chrom]
    region = f"chr {chrom} {start:.6f}-{end:.6f} Mbp"
    if not len(here) or float(here["end"].iloc[0]) < start or float(here["start"].iloc[0]) > end:
        raise OptionError(
            "variants",
            str(db),
            f"the region {region} lies outside the database, which covers {spans or 'nothing'}; "
            "give a database of the whole genome with {variants} (R/qtl2's cc_variants.sqlite) "
            "or a region inside it with {start} and {end}",
        )
    lo, hi = float(here["start"].iloc[0]), float(here["end"].iloc[0])
    if lo > start or hi < end:
        log.warn(f"the variant database covers chr {chrom} only from {lo:.6f} to {hi:.6f} Mbp; "
                 f"the region {region} is studied there")  # fmt: skip
    return max(lo, start), min(hi, end)


def _allele_probs(cross: Any, chrom: str, kinship: str, error_prob: float, map_function: str,
                  log: RunLog) -> tuple[Any, Any]:  # fmt: skip
    """Allele probabilities of ``chrom``, and the kinship the scan used (``None`` for HK).

    One chromosome's probabilities are held at a time: the others are computed only when the
    kinship needs them, and only their allele-sharing sums are kept (R/qtl2's ``calc_kinship``:
    the LOCO matrix of ``chrom`` is the overall matrix of the other chromosomes).
    """
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
    from translocus.genetics.kinship import calc_kinship

    chroms = list(cross.chromosomes) if kinship != "none" else [chrom]
    kept = None
    sharing: np.ndarray | None = None
    n_pos = 0
    with log.step("allele probabilities and kinship", total=len(chroms)) as advance:
        for c in chroms:
            one = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=error_prob,
                                                       map_function=map_function,
                                                       chromosomes=[c]))  # fmt: skip
            if c == chrom:
                kept = one
            if kinship == "overall" or (kinship == "loco" and c != chrom):
                part = calc_kinship(one, type="chr")[c]
                size = int(part.attrs["n_pos"])
                product = part.values * size
                sharing = product if sharing is None else sharing + product
                n_pos += size
            advance(1)
    assert kept is not None
    kin = None
    if kinship != "none":
        if sharing is None or n_pos == 0:
            raise InputError(f"the cross has no chromosome besides {chrom} to compute the "
                             f"{kinship} kinship from; scan it with --kinship none")  # fmt: skip
        samples = list(kept.samples)
        matrix = pd.DataFrame(sharing / n_pos, index=samples, columns=samples)
        kin = {chrom: matrix} if kinship == "loco" else matrix
    return kept, kin


def _check_unchanged(record: dict[str, Any], log: RunLog) -> None:
    """Warn when an input file of the scan (its cross) changed since the scan."""
    from translocus.core.runs import sha256_file

    changed = []
    for item in record.get("inputs") or []:
        path = Path(str(item.get("path", "")))
        if not path.is_file():
            continue
        if path.stat().st_size != item.get("size") or sha256_file(path) != item.get("sha256"):
            changed.append(str(path))
    if changed:
        shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
        log.warn(f"input files of the scan changed since it ran ({shown}); the SNP association "
                 "uses them as they are now")  # fmt: skip


def run_snps(request: SnpsRequest, log: RunLog | None = None) -> SnpsOutput:
    """Run the SNP association ``request`` describes (see the module docstring)."""
    from translocus.genetics.scan import cross_covariates
    from translocus.genetics.snps import (
        create_gene_query_func,
        create_variant_query_func,
        default_gene_db,
        default_variant_db,
        scan1snps,
        sdp_strains,
        top_snps,
    )

    request.validate()
    log = log or RunLog()
    if request.run is None:
        raise InputError("no scan run folder: give the folder written by `translocus scan`")
    run = Path(request.run)
    record = scan_record(run)
    options = record.get("options") or {}
    trait, chrom, peak = _choose_peak(run, record, request.peak)
    assert chrom is not None
    map_name = (record.get("summary") or {}).get("map", "pos_Mbp")
    if request.start is not None and request.end is not None:
        start, end = float(request.start), float(request.end)
    elif peak is None:
        raise OptionError("peak", request.peak, f"{trait} has no peak on chromosome {chrom} in "
                                                f"{run}/peaks.csv; give {{start}} and {{end}} "
                                                "(Mbp) to study a region there")  # fmt: skip
    elif map_name != "pos_Mbp":
        raise OptionError("peak", request.peak, f"the scan's peaks are in cM ({map_name}), the "
                                                "variants in Mbp; give the region with {start} "
                                                "and {end} (Mbp)")  # fmt: skip
    else:
        start, end = float(peak["ci_lo"]), float(peak["ci_hi"])
    variants_db = Path(request.variants) if request.variants else default_variant_db()
    genes_db = Path(request.genes) if request.genes else default_gene_db()
    if not variants_db.is_file():
        raise OptionError("variants", str(variants_db),
                          "no such file; give R/qtl2's variant database (SQLite)")  # fmt: skip
    lo, hi = _coverage(variants_db, chrom, start, end, log)

    cross_path = options.get("cross")
    if not cross_path or not Path(cross_path).exists():
        raise InputError(
            f"{run}/run.json: the scan's cross {cross_path!r} is not found from here; run this "
            "command from the folder the scan was run in, or run the scan again"
        )
    _check_unchanged(record, log)
    cross = cross_for(Path(cross_path), log,
                      intersection=bool(options.get("intersection", False)))  # fmt: skip
    if chrom not in cross.chromosomes:
        raise InputError(f"{run}: chromosome {chrom} of the peak is not in the cross "
                         f"{cross_path}; has the cross changed since the scan?")  # fmt: skip
    if trait not in [str(c) for c in cross.pheno.columns]:
        raise InputError(f"{run}: the trait {trait} is not in the cross {cross_path}; has the "
                         "cross changed since the scan?")  # fmt: skip
    if cross.pmap is None:
        raise InputError(f"{cross_path}: the cross has no physical map (pmap); SNP association "
                         "needs marker positions in Mbp")  # fmt: skip
    kinship = str(options.get("kinship", "loco"))
    covar = [str(c) for c in options.get("covar") or []]
    addcovar, xcovar = cross_covariates(cross, covar)
    intcovar = None
    if options.get("intcovar"):
        intcovar, _ = cross_covariates(cross, [str(c) for c in options["intcovar"]])
    alleles, kin = _allele_probs(cross, chrom, kinship,
                                 float(options.get("error_prob", 0.002)),
                                 str(options.get("map_function", "c-f")), log)  # fmt: skip
    pheno = cross.pheno[[trait]].copy()
    pheno.index = [str(i) for i in pheno.index]
    query = create_variant_query_func(variants_db)
    with log.step("SNP association"):
        assoc = scan1snps(alleles, pheno, query=query, chromosome=chrom, start=start, end=end,
                          kinship=kin, addcovar=addcovar, Xcovar=xcovar, intcovar=intcovar,
                          keep_all_snps=True)  # fmt: skip
        n_index = len(assoc.lod)
        table = assoc.to_frame(strains=list(cross.alleles) or None)
        table = table.rename(columns={trait: "lod"})
        top = top_snps(assoc.lod, assoc.snpinfo, trait=trait, drop=request.drop)
        top.insert(top.columns.get_loc("sdp") + 1, "sdp_strains",
                   sdp_strains(top["sdp"].to_numpy(), list(cross.alleles)))  # fmt: skip
    log.count("variants read", len(table), f"variants in chr {chrom} {start:g}-{end:g} Mbp")
    log.count("index SNPs", n_index, "distinct (marker interval, SDP) patterns scanned")
    with log.step("genes"):
        genes = (create_gene_query_func(genes_db)(chrom, start, end) if genes_db.is_file()
                 else pd.DataFrame(columns=["chr", "start", "stop", "strand", "Name"]))  # fmt: skip
    if not genes_db.is_file():
        log.warn(f"no gene database at {genes_db}; genes.csv is empty (give a gene database)")
    return SnpsOutput(
        request=request,
        trait=trait,
        chromosome=chrom,
        start=start,
        end=end,
        peak=peak or {},
        table=table,
        top=top,
        genes=genes,
        coverage=(lo, hi),
        method="hk" if kinship == "none" else "lmm",
        kinship=kinship,
        covariates=list(addcovar.columns) if addcovar is not None else [],
        n_index=n_index,
    )
