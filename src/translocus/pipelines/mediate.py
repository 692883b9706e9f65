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

With ``--hotspot EQTL_RUN`` the targets are the traits with a distal peak in that run's trans
hotspot nearest ``--at`` (hotspots found again from its ``peaks.parquet`` with its options,
:func:`~translocus.genetics.cistrans.hotspots`), the QTL is at the hotspot's position, the
candidates are the features within ``--window`` Mbp of it (default :data:`HOTSPOT_WINDOW`)
and they are ranked by their median LOD drop over the targets
(:func:`~translocus.genetics.mediation.hotspot_mediation`).

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
from translocus.core.runs import RunLog, read_run
from translocus.pipelines.genoprob import cross_for, genotype_probabilities, resolve_assembly

__all__ = ["KINSHIPS", "MediateOutput", "MediateRequest", "read_trait_matrix", "run_mediate"]

KINSHIPS = ("loco", "none")
#: The best mediators (by LOD drop) translated to human genes.
N_HUMAN = 20
#: A hotspot's candidate mediators lie within this many Mbp of it unless ``--window`` says.
HOTSPOT_WINDOW = 10.0


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
    hotspot: Path | None = None
    error_prob: float = 0.002
    map_function: str = "c-f"

    def validate(self) -> None:
        if self.window is not None and not (
            math.isfinite(float(self.window)) and float(self.window) >= 0
        ):
            raise OptionError("window", self.window, "must be a distance in Mbp of 0 or more, "
                                                     "e.g. 10")  # fmt: skip
        if self.hotspot is not None and str(self.target).strip():
            raise OptionError("target", self.target, "give either {target} or {hotspot} (whose "
                                                      "targets are the hotspot's traits), not "
                                                      "both")  # fmt: skip
        if self.hotspot is None and not str(self.target).strip():
            raise OptionError("target", self.target, "give the target: a phenotype of the "
                                                      "cross or a feature of {traits} (or "
                                                      "{hotspot} with an eqtl run)")  # fmt: skip
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
    """The mediation of one target's QTL, or of a hotspot's targets (``hotspot`` set)."""

    request: MediateRequest
    result: Any
    marker: str
    marker_pos: float
    chromosome: str
    build: str | None
    human: pd.DataFrame
    target_source: str
    traits_notes: tuple[str, ...] = ()
    hotspot: dict[str, Any] | None = None
    n_targets: int = 1

    @property
    def drop_column(self) -> str:
        """The column that ranks the candidates: ``lod_drop``, or over a hotspot ``median_drop``."""
        return "median_drop" if self.hotspot is not None else "lod_drop"

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
        column = self.drop_column
        facts: dict[str, Any] = {
            "target": None if self.hotspot is not None else self.result.target,
            "target_from": self.target_source,
            "chr": self.chromosome,
            "pos": float(parse_at(self.request.at)[1]),
            "marker": self.marker,
            "marker_pos": float(self.marker_pos),
            "build": self.build,
            "method": self.result.method,
            "n_candidates": len(table),
            "window": self.request.window,
            "ranked_by": column,
            "top": [
                {"mediator": str(m), "label": str(lab), column: _number(d)}
                for m, lab, d in zip(top["mediator"], label, top[column], strict=True)
            ],  # fmt: skip
            "traits": list(self.traits_notes),
            "n_human": int(self.human["human_symbol"].notna().sum()) if len(self.human) else 0,
        }
        if self.hotspot is not None:
            facts["hotspot"] = self.hotspot
            facts["n_targets"] = int(self.n_targets)
            facts["window"] = self.hotspot.get("window")
        else:
            facts.update({
                "n_samples": int(self.result.n_samples),
                "n_dropped": int(self.result.n_dropped),
                "n_incomplete": int(self.result.n_incomplete),
                "lod": None if not len(table) else _number(table["lod"].max()),
            })  # fmt: skip
        return facts


def _number(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _human(table: pd.DataFrame, column: str, log: RunLog) -> pd.DataFrame:
    """Human orthologs of the best mediators (preferred ortholog of each)."""
    from translocus.translate.orthology import load_orthology

    columns = ["rank", "mediator", "mouse_gene_id", "mouse_symbol", "human_gene_id",
               "human_symbol", "homology_type", "confidence", "status", column]  # fmt: skip
    best = table[np.isfinite(table[column].to_numpy(dtype=float))].head(N_HUMAN)
    if not len(best):
        return pd.DataFrame(columns=columns)
    ids = best["gene_id"] if "gene_id" in best.columns else best["mediator"]
    queries = [str(g) if isinstance(g, str) and g else str(m)
               for g, m in zip(ids, best["mediator"], strict=True)]  # fmt: skip
    with log.step("human orthologs"):
        orthology = load_orthology()
        result = orthology.mouse_to_human(queries)
    for provenance in result.provenance:
        log.add_provenance(provenance)
    found = result.best().drop_duplicates("query").set_index("query")
    out = found.reindex(queries).reset_index(drop=True)
    out.insert(0, "mediator", best["mediator"].to_numpy())
    out.insert(0, "rank", best["rank"].to_numpy())
    out[column] = best[column].to_numpy()
    unknown = int((out["status"] != "ok").sum())
    if unknown:
        log.count("mediators without a human ortholog", unknown,
                  "not a known mouse gene, or no human ortholog")  # fmt: skip
    return out[[c for c in columns if c in out.columns]]


# -- a hotspot of an eqtl run -----------------------------------------------------------------
def eqtl_record(run: Path) -> dict[str, Any]:
    """The ``run.json`` of a complete ``translocus eqtl`` run folder, else a clear error."""
    fix = "give the folder written by `translocus eqtl CROSS --traits FILE -o DIR`"
    if not run.exists():
        raise InputError(f"{run}: no such run folder; {fix}")
    if not run.is_dir():
        raise InputError(f"{run}: is a file, not a run folder; {fix}")
    record = read_run(run)
    if record is None:
        raise InputError(f"{run}: not a translocus run folder (no readable run.json); {fix}")
    if record.get("status") != "complete":
        raise InputError(f"{run}: the eqtl run did not complete; run it again and give its "
                         "folder")  # fmt: skip
    if record.get("command") != "eqtl":
        raise InputError(f"{run}: is a `translocus {record.get('command')}` run, not an eqtl "
                         f"run; {fix}")  # fmt: skip
    if not (run / "peaks.parquet").is_file():
        raise InputError(f"{run}: has no peaks.parquet; run the eqtl scan again and give its "
                         "folder")  # fmt: skip
    return record


def _hotspot(run: Path, cross: Any, chrom: str, pos: float, build: str | None, log: RunLog
             ) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The hotspot of an eqtl run nearest ``chrom:pos``, and its distal-peak traits.

    Hotspots are found again from the run's ``peaks.parquet`` with its options (cis/trans
    window, hotspot window, permutations, alpha, seed) over the cross's markers.
    """
    from translocus.genetics.cistrans import classify_peaks, hotspots

    record = eqtl_record(run)
    options = record.get("options") or {}
    summary = record.get("summary") or {}
    peaks = pd.read_parquet(run / "peaks.parquet")
    peaks["chr"] = peaks["chr"].astype(str)
    if "class" not in peaks.columns:
        run_build = summary.get("build") or options.get("build") or build
        peaks = classify_peaks(peaks, window=float(options.get("window", 4.0)),
                               peak_build=run_build, gene_build=run_build)  # fmt: skip
    assert cross.pmap is not None
    markers = pd.DataFrame({
        "chr": np.concatenate([[c] * len(cross.pmap[c]) for c in cross.chromosomes]),
        "pos": np.concatenate([cross.pmap[c].to_numpy(dtype=float) for c in cross.chromosomes]),
    })  # fmt: skip
    with log.step("hotspots of the eqtl run"):
        found = hotspots(peaks, markers=markers, window=float(options.get("hotspot_window", 4.0)),
                         n_perm=int(options.get("hotspot_perms", 1000)),
                         alpha=float(options.get("alpha", 0.05)),
                         seed=int(options.get("seed", 0)))  # fmt: skip
    table = found.hotspots
    listed = "; ".join(f"{r.id} chr {r.chr} {r.start:g}-{r.end:g} Mbp ({r.n_peaks} peaks)"
                       for r in table.itertuples())  # fmt: skip
    if not len(table):
        raise InputError(f"{run}: the eqtl run has no hotspot (no window holds more than "
                         f"{found.threshold:g} distal peaks); give --target to mediate one "
                         "trait's QTL")  # fmt: skip
    here = table[table["chr"] == chrom]
    if not len(here):
        raise OptionError("at", f"{chrom}:{pos:g}", f"the eqtl run in {run} has no hotspot on "
                                                    f"chromosome {chrom}; its hotspots: "
                                                    f"{listed}")  # fmt: skip
    gap = np.maximum(0.0, np.maximum(here["start"] - pos, pos - here["end"]))
    best = here.iloc[int(np.argmin(gap.to_numpy()))]
    spot = {"id": str(best["id"]), "chr": str(best["chr"]), "start": float(best["start"]),
            "end": float(best["end"]), "pos": float(best["pos"]),
            "n_peaks": int(best["n_peaks"]), "threshold": float(found.threshold),
            "run": str(run)}  # fmt: skip
    return spot, [str(t) for t in best["traits"]]


def _qtl_inputs(cross: Any, request: MediateRequest, chrom: str, pos: float, log: RunLog
                ) -> tuple[str, float, pd.DataFrame, Any]:  # fmt: skip
    """The marker nearest ``pos``, the allele probabilities there and the kinship."""
    from translocus.genetics.kinship import calc_kinship

    pmap = cross.pmap[chrom]
    marker = str(pmap.index[int(np.argmin(np.abs(pmap.to_numpy(dtype=float) - pos)))])
    marker_pos = float(pmap[marker])
    if abs(marker_pos - pos) > 5:
        log.warn(f"the marker nearest chr {chrom} {pos:g} Mbp is {marker} at "
                 f"{marker_pos:.3f} Mbp")  # fmt: skip
    _, alleles = genotype_probabilities(cross, request.error_prob, request.map_function, log)
    at_marker = alleles[chrom].sel(marker=marker)
    qtl_probs = pd.DataFrame(np.asarray(at_marker.values, dtype=float),
                             index=[str(s) for s in at_marker.coords["sample"].values],
                             columns=[str(a) for a in at_marker.coords[at_marker.dims[1]].values])  # fmt: skip
    kinship = None
    if request.kinship == "loco":
        with log.step("kinship"):
            kinship = calc_kinship(alleles, type="loco")[chrom]
    return marker, marker_pos, qtl_probs, kinship


def run_mediate(request: MediateRequest, log: RunLog | None = None) -> MediateOutput:
    """Run the mediation ``request`` describes (see the module docstring)."""
    from translocus.genetics.mediation import hotspot_mediation, mediation_scan
    from translocus.genetics.scan import cross_covariates

    request.validate()
    log = log or RunLog()
    if request.traits is None:
        raise OptionError("traits", None, "give the expression or protein matrix with {traits}")
    chrom, pos = parse_at(request.at)
    if request.hotspot is not None:
        eqtl_record(Path(request.hotspot))  # before the cross is read
    cross = cross_for(Path(request.cross) if request.cross else None, log)
    if chrom not in cross.chromosomes:
        raise OptionError("at", request.at, f"chromosome {chrom} is not in the cross (it has "
                                            f"{', '.join(cross.chromosomes)})")  # fmt: skip
    if cross.pmap is None or chrom not in cross.pmap:
        raise InputError(f"{request.cross}: the cross has no physical map (pmap); mediation "
                         "needs marker positions in Mbp to place --at")  # fmt: skip
    addcovar, xcovar = cross_covariates(cross, list(request.covar))
    if chrom == cross.x_chr and xcovar is not None:  # as the scan, on the X chromosome
        extra = xcovar.drop(columns=[c for c in xcovar.columns
                                     if addcovar is not None and c in addcovar.columns])  # fmt: skip
        addcovar = extra if addcovar is None else addcovar.join(extra)
    build, _ = resolve_assembly(cross, Path(request.cross) if request.cross else None, None, log)
    samples = [str(s) for s in cross.individuals]
    traits_path = Path(request.traits)
    values, features_all, notes = read_trait_matrix(traits_path, samples, build, log,
                                                    orientation=request.orientation)  # fmt: skip

    spot: dict[str, Any] | None = None
    if request.hotspot is not None:
        spot, hot_traits = _hotspot(Path(request.hotspot), cross, chrom, pos, build, log)
        targets = [t for t in hot_traits if t in values.columns]
        if len(targets) < len(hot_traits):
            log.count("hotspot targets skipped", len(hot_traits) - len(targets),
                      f"not features of {traits_path.name}")  # fmt: skip
        if not targets:
            raise InputError(f"{traits_path}: none of the {len(hot_traits)} traits of hotspot "
                             f"{spot['id']} is a feature; give the traits file of the eqtl "
                             "run")  # fmt: skip
        window = float(request.window) if request.window is not None else HOTSPOT_WINDOW
        spot["window"] = window
        at = (chrom, spot["pos"])
        source = f"hotspot {spot['id']} of {request.hotspot}"
        candidates = values.drop(columns=targets)
    else:
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
                                                     f"({shown}) nor a feature of "
                                                     f"{traits_path}")  # fmt: skip
        target = target.rename(target_name)
        candidates = values.drop(columns=[target_name], errors="ignore")
        window = request.window  # type: ignore[assignment]
        at = (chrom, pos)
    if candidates.shape[1] == 0:
        raise InputError(f"{traits_path}: no feature besides the targets to try as a mediator")
    features = features_all.reindex(candidates.columns)
    if window is not None:
        if features["chr"].isna().all():
            raise OptionError("window", window, "the features have no gene positions to measure "
                                                "the window from; drop {window} or annotate the "
                                                "traits")  # fmt: skip
        start = pd.to_numeric(features["start"], errors="coerce").astype(float) / 1e6
        end = pd.to_numeric(features["end"], errors="coerce").astype(float) / 1e6
        near = (features["chr"].astype(str) == chrom) & (end >= at[1] - window) & (
            start <= at[1] + window)  # fmt: skip
        if not near.any():
            raise OptionError("window", window, f"no feature's gene lies within {window:g} Mbp "
                                                f"of chr {chrom} {at[1]:g} Mbp; widen "
                                                "{window}")  # fmt: skip

    marker, marker_pos, qtl_probs, kinship = _qtl_inputs(cross, request, chrom, at[1], log)
    if spot is not None:
        with log.step("hotspot mediation", total=len(targets)) as advance:
            result: Any = hotspot_mediation(values[targets], qtl_probs, candidates,
                                            addcovar=addcovar, kinship=kinship,
                                            features=features, window=window, at=at)  # fmt: skip
            advance(len(targets))
        log.count("hotspot targets", len(targets), f"distal-peak traits of {spot['id']}")
    else:
        with log.step("mediation scan", total=candidates.shape[1]) as advance:
            result = mediation_scan(target, qtl_probs, candidates, addcovar=addcovar,
                                    kinship=kinship, features=features, window=window,
                                    at=at)  # fmt: skip
            advance(candidates.shape[1])
        log.count("individuals left out", result.n_dropped,
                  f"{target_name}, genotypes or covariates missing")  # fmt: skip
        log.count("candidates missing in some individuals", result.n_incomplete,
                  "each fitted on its own complete individuals (both LODs)")  # fmt: skip
        for note in result.notes:
            log.count("candidates within the window", result.n_candidates, note)
    human = _human(result.table, "median_drop" if spot is not None else "lod_drop", log)
    return MediateOutput(request=request, result=result, marker=marker, marker_pos=marker_pos,
                         chromosome=chrom, build=build, human=human, target_source=source,
                         traits_notes=notes, hotspot=spot,
                         n_targets=len(targets) if spot is not None else 1)  # fmt: skip
