"""``mediate``: which molecular traits carry a QTL's effect to a target trait.

One run: read the cross and the molecular traits (samples matched to the cross; features
annotated with their genes from the file or the Ensembl table of the cross's genome build),
pick the target (a phenotype of the cross or a feature of the traits file) and the QTL
position ``--at CHR:POS`` (the marker nearest it on the physical map), compute the allele
probabilities (and, for the LMM, the LOCO kinship of the QTL's chromosome), then scan every
candidate mediator (every feature, or those within ``--window`` Mbp of the QTL) by the drop
in the QTL's LOD when it enters the model as a covariate
(:func:`~translocus.genetics.mediation.mediation_scan`). The best mediators are translated to
their human orthologs (:mod:`translocus.translate.orthology`).

Writes ``mediation.csv`` (every candidate, ranked), ``mediation.png`` and ``human.csv``.

>>> MediateRequest(target="bw", at="2:97.5", window=-1).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: window=-1: must be a distance in Mbp of 0 or more, e.g. 10
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.molecular import ORIENTATIONS
from translocus.core.runs import RunLog
from translocus.pipelines.genoprob import cross_for, genotype_probabilities, resolve_assembly

__all__ = ["KINSHIPS", "MediateOutput", "MediateRequest", "read_trait_matrix", "run_mediate"]

KINSHIPS = ("loco", "none")
#: The best mediators (by LOD drop) translated to human genes.
N_HUMAN = 20


def parse_at(text: str) -> tuple[str, float]:
    """``"CHR:POS"`` as ``(chr, pos)``; an :class:`OptionError` for anything else.

    >>> parse_at("chr2:97.5")
    ('2', 97.5)
    """
    fix = "give the QTL as CHR:POS with the position in Mbp, e.g. 2:97.5"
    parts = str(text).strip().rsplit(":", 1)
    if len(parts) != 2 or not parts[0].strip():
        raise OptionError("at", text, fix)
    chrom = parts[0].strip()
    chrom = chrom[3:] if chrom.lower().startswith("chr") else chrom
    try:
        pos = float(parts[1])
    except ValueError:
        raise OptionError("at", text, fix) from None
    if not math.isfinite(pos):
        raise OptionError("at", text, fix)
    return chrom, pos


@dataclass(frozen=True)
class MediateRequest:
    """Options of ``translocus mediate`` (see its ``--help``)."""

    cross: Path | None = None
    traits: Path | None = None
    target: str = ""
    at: str = ""
    window: float | None = None
    covar: tuple[str, ...] = field(default_factory=tuple)
    kinship: str = "loco"
    orientation: str = "auto"
    error_prob: float = 0.002
    map_function: str = "c-f"

    def validate(self) -> None:
        if self.window is not None and not (
            math.isfinite(float(self.window)) and float(self.window) >= 0
        ):
            raise OptionError("window", self.window, "must be a distance in Mbp of 0 or more, "
                                                     "e.g. 10")  # fmt: skip
        if not str(self.target).strip():
            raise OptionError("target", self.target, "give the target: a phenotype of the "
                                                      "cross or a feature of {traits}")  # fmt: skip
        parse_at(self.at)
        if self.orientation not in ORIENTATIONS:
            raise OptionError("orientation", self.orientation,
                              f"must be one of {', '.join(ORIENTATIONS)}")  # fmt: skip
        if self.kinship not in KINSHIPS:
            raise OptionError("kinship", self.kinship, f"must be one of {', '.join(KINSHIPS)}")
        if self.traits is not None:
            path = Path(self.traits)
            if not path.exists():
                raise OptionError("traits", str(path), "no such file; give the expression or "
                                                       "protein matrix (CSV, TSV or parquet)")  # fmt: skip
            if path.is_dir():
                raise OptionError("traits", str(path), "is a folder; give the matrix file")
        if self.cross is not None and not Path(self.cross).exists():
            raise InputError(f"{self.cross}: no such file or folder; give an R/qtl2 control "
                             "file (.json/.yaml), its folder or a .zip")  # fmt: skip


# -- the traits file --------------------------------------------------------------------------
def read_trait_matrix(
    path: Path, samples: list[str], build: str | None, log: RunLog, *, orientation: str = "auto"
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[str, ...]]:
    """A traits file as ``[sample x feature]`` values, its features and notes of reading it.

    Read by :func:`translocus.core.molecular.read_traits` (h5ad, parquet, CSV/TSV; samples as
    rows or columns, whichever matches the cross), samples matched to the cross (the others
    counted), features placed on genes from the file's annotation, else the Ensembl table of
    ``build`` (by ID or symbol; :func:`~translocus.core.molecular.annotate`).
    """
    from translocus.core.molecular import annotate, match_samples, read_traits
    from translocus.translate.genes import load_genes

    with log.step("read traits"):
        traits = read_traits(path, samples=samples, orientation=orientation)
        traits, match = match_samples(traits, samples)
    if match.only_in_traits:
        log.count("trait samples dropped", len(match.only_in_traits),
                  f"not in the cross (e.g. {', '.join(match.only_in_traits[:3])})")  # fmt: skip
    log.count("features read", traits.values.shape[1], str(path))
    if build is None:
        log.warn("the cross's genome build is unknown: gene positions are not joined to the "
                 "features (give it in the control file to place them)")  # fmt: skip
    else:
        with log.step("gene table"):
            table = load_genes("mouse", build)
        log.add_provenance(table.provenance)
        traits = annotate(traits, table.genes, build=build)
        placed = traits.features["chr"].notna()
        if not placed.all():
            log.count("features without a gene position", int((~placed).sum()),
                      f"not an Ensembl ID or symbol of the {build} gene table")  # fmt: skip
    return traits.values, traits.features, traits.notes


# -- the output -------------------------------------------------------------------------------
@dataclass
class MediateOutput:
    """The mediation of one target's QTL."""

    request: MediateRequest
    result: Any
    marker: str
    marker_pos: float
    chromosome: str
    build: str | None
    human: pd.DataFrame
    target_source: str
    traits_notes: tuple[str, ...] = ()

    def figure(self) -> Any:
        return self.result.figure()

    def write(self, folder: Path) -> None:
        """mediation.csv (every candidate, ranked), mediation.png, human.csv."""
        from translocus.genetics.results import write_table

        folder = Path(folder)
        write_table(self.result.table, folder / "mediation.csv")
        write_table(self.human, folder / "human.csv")
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=120, bbox_inches="tight")
        (folder / "mediation.png").write_bytes(buf.getvalue())

    def summary(self) -> dict[str, Any]:
        table = self.result.table
        top = table.head(10)
        label = top["symbol"].fillna(top["mediator"]) if "symbol" in top else top["mediator"]
        return {
            "target": self.result.target,
            "target_from": self.target_source,
            "chr": self.chromosome,
            "pos": float(parse_at(self.request.at)[1]),
            "marker": self.marker,
            "marker_pos": float(self.marker_pos),
            "build": self.build,
            "method": self.result.method,
            "n_samples": int(self.result.n_samples),
            "n_dropped": int(self.result.n_dropped),
            "n_candidates": int(self.result.n_candidates),
            "n_incomplete": int(self.result.n_incomplete),
            "window": self.result.window,
            "lod": None if not len(table) else _number(table["lod"].max()),
            "top": [
                {"mediator": str(m), "label": str(lab), "lod_drop": _number(d)}
                for m, lab, d in zip(top["mediator"], label, top["lod_drop"], strict=True)
            ],  # fmt: skip
            "traits": list(self.traits_notes),
            "n_human": int(self.human["human_symbol"].notna().sum()) if len(self.human) else 0,
        }


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _human(table: pd.DataFrame, log: RunLog) -> pd.DataFrame:
    """Human orthologs of the best mediators (preferred ortholog of each)."""
    from translocus.translate.orthology import load_orthology

    columns = ["rank", "mediator", "mouse_gene_id", "mouse_symbol", "human_gene_id",
               "human_symbol", "homology_type", "confidence", "status", "lod_drop"]  # fmt: skip
    best = table[np.isfinite(table["lod_drop"].to_numpy(dtype=float))].head(N_HUMAN)
    if not len(best):
        return pd.DataFrame(columns=columns)
    queries = [str(g) if isinstance(g, str) and g else str(m)
               for g, m in zip(best.get("gene_id", best["mediator"]), best["mediator"],
                               strict=True)]  # fmt: skip
    with log.step("human orthologs"):
        orthology = load_orthology()
        result = orthology.mouse_to_human(queries)
    for provenance in result.provenance:
        log.add_provenance(provenance)
    found = result.best().drop_duplicates("query").set_index("query")
    out = found.reindex(queries).reset_index(drop=True)
    out.insert(0, "mediator", best["mediator"].to_numpy())
    out.insert(0, "rank", best["rank"].to_numpy())
    out["lod_drop"] = best["lod_drop"].to_numpy()
    unknown = int((out["status"] != "ok").sum())
    if unknown:
        log.count("mediators without a human ortholog", unknown,
                  "not a known mouse gene, or no human ortholog")  # fmt: skip
    return out[[c for c in columns if c in out.columns]]


def run_mediate(request: MediateRequest, log: RunLog | None = None) -> MediateOutput:
    """Run the mediation ``request`` describes (see the module docstring)."""
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.mediation import mediation_scan
    from translocus.genetics.scan import cross_covariates

    request.validate()
    log = log or RunLog()
    if request.traits is None:
        raise OptionError("traits", None, "give the expression or protein matrix with {traits}")
    chrom, pos = parse_at(request.at)
    cross = cross_for(Path(request.cross) if request.cross else None, log)
    if chrom not in cross.chromosomes:
        raise OptionError("at", request.at, f"chromosome {chrom} is not in the cross (it has "
                                            f"{', '.join(cross.chromosomes)})")  # fmt: skip
    if cross.pmap is None or chrom not in cross.pmap:
        raise InputError(f"{request.cross}: the cross has no physical map (pmap); mediation "
                         "needs marker positions in Mbp to place --at")  # fmt: skip
    addcovar, xcovar = cross_covariates(cross, list(request.covar))
    build, _ = resolve_assembly(cross, Path(request.cross) if request.cross else None, None, log)
    samples = [str(s) for s in cross.individuals]
    traits_path = Path(request.traits)
    values, features_all, notes = read_trait_matrix(
        traits_path, samples, build, log, orientation=request.orientation
    )

    target_name = str(request.target).strip()
    phenos = [str(c) for c in cross.pheno.columns]
    if target_name in phenos:
        target = cross.pheno[cross.pheno.columns[phenos.index(target_name)]].astype(float)
        target.index = [str(i) for i in target.index]
        source = "cross"
    elif target_name in values.columns:
        target = values[target_name]
        source = "traits"
    else:
        shown = ", ".join(phenos[:5])
        raise OptionError("target", target_name, f"is neither a phenotype of the cross "
                                                 f"({shown}) nor a feature of {traits_path}")  # fmt: skip
    target = target.rename(target_name)
    candidates = values.drop(columns=[target_name], errors="ignore")
    if candidates.shape[1] == 0:
        raise InputError(f"{traits_path}: no feature besides the target to try as a mediator")
    features = features_all.reindex(candidates.columns)
    if request.window is not None and features["chr"].isna().all():
        raise OptionError("window", request.window, "the features have no gene positions to "
                                                    "measure the window from; drop {window} "
                                                    "or annotate the traits")  # fmt: skip

    pmap = cross.pmap[chrom]
    marker = str(pmap.index[int(np.argmin(np.abs(pmap.to_numpy(dtype=float) - pos)))])
    marker_pos = float(pmap[marker])
    if abs(marker_pos - pos) > 5:
        log.warn(f"the marker nearest --at {request.at} is {marker} at {marker_pos:.3f} Mbp")
    _, alleles = genotype_probabilities(cross, request.error_prob, request.map_function, log)
    at_marker = alleles[chrom].sel(marker=marker)
    qtl_probs = pd.DataFrame(np.asarray(at_marker.values, dtype=float),
                             index=[str(s) for s in at_marker.coords["sample"].values],
                             columns=[str(a) for a in at_marker.coords[at_marker.dims[1]].values])  # fmt: skip
    kinship = None
    if request.kinship == "loco":
        with log.step("kinship"):
            kinship = calc_kinship(alleles, type="loco")[chrom]
    if chrom == cross.x_chr and xcovar is not None:  # as the scan, on the X chromosome
        extra = xcovar.drop(columns=[c for c in xcovar.columns
                                     if addcovar is not None and c in addcovar.columns])  # fmt: skip
        addcovar = extra if addcovar is None else addcovar.join(extra)
    with log.step("mediation scan", total=candidates.shape[1]) as advance:
        result = mediation_scan(target, qtl_probs, candidates, addcovar=addcovar,
                                kinship=kinship, features=features, window=request.window,
                                at=(chrom, pos))  # fmt: skip
        advance(candidates.shape[1])
    log.count("individuals left out", result.n_dropped,
              f"{target_name}, genotypes or covariates missing")  # fmt: skip
    log.count("candidates missing in some individuals", result.n_incomplete,
              "each fitted on its own complete individuals (both LODs)")  # fmt: skip
    for note in result.notes:
        log.count("candidates within the window", result.n_candidates, note)
    human = _human(result.table, log)
    return MediateOutput(request=request, result=result, marker=marker, marker_pos=marker_pos,
                         chromosome=chrom, build=build, human=human,
                         target_source=source, traits_notes=notes)  # fmt: skip
