"""``demo``: simulate a study, run every engine through its command pipeline, evaluate.

The demo is the command pipelines composed: ``simulate`` for the study, ``scan`` (LMM with
permutations, and Haley–Knott for comparison), the onset-QTL study, ``progress`` on MODEL-AD,
``survival`` on SLAM, ``lifespan`` on the ITP, ``respond`` on the PDX Encyclopedia and
``translate`` on known AD genes, an interval and the scan's peaks — plus the held-out
evaluations of :mod:`translocus.pipelines.evaluate`. Parts that need the public datasets are
skipped, with the reason, when those are absent.

:class:`DemoOutput` writes every part into its own subfolder of the run folder; the HTML
report (``translocus.report.demo``) renders the same output object, so nothing is computed
twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.paths import data_dir
from translocus.core.runs import RunLog

__all__ = ["DEMO_PARTS", "DemoOutput", "DemoRequest", "run_demo"]

#: The parts of the demo, in report order, and whether each needs the public datasets.
DEMO_PARTS: dict[str, bool] = {
    "cause": False,
    "progression": True,
    "onset": False,
    "lifespan": True,
    "treatment": True,
    "translation": True,
}

AD_GENES = ("App", "Apoe", "Trem2", "Bin1", "Picalm", "Clu", "Abca7", "Sorl1", "Cd33")
APOE_INTERVAL = "7:18.9-19.9"
ITP_ARMS = ("rapa05", "rapa06", "r09hi", "aca", "acahi")

T = TypeVar("T")


@dataclass(frozen=True)
class DemoRequest:
    """Options of ``translocus demo``."""

    n: int = 300
    seed: int = 1
    full: bool = False

    def validate(self) -> None:
        if self.n < 50:
            raise OptionError("n", self.n, "must be at least 50 simulated mice for a useful scan")


@dataclass
class DemoOutput:
    """Every part's output (``None`` when skipped, with the reason in :attr:`skipped`)."""

    request: DemoRequest
    sim: Any
    licenses: pd.DataFrame
    parts: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def write(self, folder: Path) -> None:
        from translocus.core.simulate import write_simulated_files

        study = folder / "study"
        study.mkdir()
        write_simulated_files(self.sim, study, name="demo_do")
        self.licenses.to_csv(folder / "licenses.csv", index=False)
        for name, part in self.parts.items():
            for sub, output in _outputs(part).items():
                target = folder / (f"{name}_{sub}" if sub else name)
                target.mkdir()
                if hasattr(output, "write"):
                    output.write(target)
                else:
                    for table, frame in output.items():
                        frame.to_csv(target / f"{table}.csv", index=False)

    def summary(self) -> dict[str, Any]:
        return {
            "n": self.request.n,
            "seed": self.request.seed,
            "parts": sorted(self.parts),
            "skipped": self.skipped,
            "seconds": {k: round(v, 2) for k, v in self.timings.items()},
        }


def _outputs(part: Any) -> dict[str, Any]:
    """The writable pieces of a part: pipeline outputs, or dicts of tables."""
    if isinstance(part, dict):
        pieces: dict[str, Any] = {}
        tables: dict[str, pd.DataFrame] = {}
        for key, value in part.items():
            if isinstance(value, pd.DataFrame):
                tables[key] = value
            elif hasattr(value, "write"):
                pieces[key] = value
        if tables:
            pieces["tables"] = tables
        return pieces
    return {"": part} if hasattr(part, "write") else {}


def run_demo(request: DemoRequest, log: RunLog | None = None) -> DemoOutput:
    """Simulate the study and run every part (see the module docstring)."""
    from translocus.core.licenses import DatasetEntry, discover_datasets, license_report
    from translocus.core.simulate import simulate_cross

    request.validate()
    log = log or RunLog()
    quick = not request.full
    with log.step("simulate study"):
        sim = simulate_cross(cross_type="do", n=request.n, seed=request.seed)
    log.add_provenance(sim.cross.provenance)
    shared = data_dir().is_dir()
    entries = discover_datasets(data_dir()) if shared else []
    entries.append(DatasetEntry(sim.cross.provenance.name, sim.cross.provenance, None, None))
    output = DemoOutput(request, sim, license_report(entries))
    parts: dict[str, Callable[[], Any]] = {
        "cause": lambda: _cause(sim, quick, log),
        "progression": lambda: _progression(quick, log),
        "onset": lambda: _onset(request, quick),
        "lifespan": lambda: _lifespan(quick, log),
        "treatment": lambda: _treatment(quick, log),
        "translation": lambda: _translation(output, log),
    }
    for name, build in parts.items():
        if DEMO_PARTS[name] and not shared:
            output.skipped[name] = f"the public datasets were not found at {data_dir()}"
            continue
        start = time.perf_counter()
        with log.step(name):
            try:
                output.parts[name] = build()
            except (InputError, FileNotFoundError) as exc:
                output.skipped[name] = str(exc)
                log.warn(f"demo part {name} skipped: {exc}")
        output.timings[name] = time.perf_counter() - start
    return output


def _cause(sim: Any, quick: bool, log: RunLog) -> dict[str, Any]:
    from translocus.pipelines.scan import ScanRequest, run_scan

    has_sex = 0 < int(sim.cross.is_female.sum()) < len(sim.cross.is_female)
    trait = str(sim.cross.pheno.columns[0])
    base = ScanRequest(
        cross=Path("study/demo_do.json"),
        pheno=(trait,),
        covar=("sex",) if has_sex else (),
        assembly="GRCm38",  # the simulator places markers on GRCm38 chromosome lengths
    )
    lmm = run_scan(replace(base, kinship="loco", perms=50 if quick else 200), log, cross=sim.cross)
    hk = run_scan(replace(base, kinship="none"), log, cross=sim.cross)
    part: dict[str, Any] = {"lmm": lmm, "hk": hk}
    if len(lmm.peaks) and lmm.alleles is not None:
        with log.step("allele effects along the top peak's chromosome"):
            part["top_peak_effects"] = _effects_along(sim.cross, lmm, trait)
    return part


def _effects_along(cross: Any, scan: Any, trait: str) -> pd.DataFrame:
    """Founder allele effects (LMM, centred) along the chromosome of the highest peak."""
    from translocus.genetics.effects import scan1coef
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.scan import cross_covariates

    top = scan.peaks.sort_values("lod", ascending=False).iloc[0]
    chrom = str(top["chr"])
    kinship = calc_kinship(scan.alleles, type="loco")[chrom]
    addcovar, _ = cross_covariates(cross, list(scan.covariates))
    pheno = cross.pheno[trait].copy()
    pheno.index = [str(i) for i in pheno.index]
    coef = scan1coef(pheno, scan.alleles, chrom=chrom, kinship=kinship, addcovar=addcovar)
    probs = scan.alleles[chrom]
    founders = [str(f) for f in probs.coords["founder"].values] if "founder" in probs.coords else []
    frame = pd.DataFrame({"pos": probs.coords[scan.map_name].values})
    for founder in founders:
        frame[founder] = coef[founder].to_numpy()
    frame["ci_lo"], frame["ci_hi"] = float(top["ci_lo"]), float(top["ci_hi"])
    unit = "Mbp" if scan.map_name == "pos_Mbp" else "cM"
    frame.attrs["xlabel"] = f"chr {chrom} ({unit})"
    return frame


def _onset(request: DemoRequest, quick: bool) -> dict[str, Any]:
    from translocus.pipelines.onset_qtl import map_onset_qtl, simulate_onset_study

    study = simulate_onset_study(n=300, seed=request.seed, n_markers=1500 if quick else 3000)
    result = map_onset_qtl(study)
    return {
        "study": study,
        "result": result,
        "recovered": result.recovered,
        "effects": result.effects.reset_index(),
    }


def _progression(quick: bool, log: RunLog) -> dict[str, Any]:
    from translocus.pipelines.evaluate import MODEL_AD_MEASURES, model_ad_early_forecast
    from translocus.pipelines.progress import ProgressRequest, run_progress

    path = data_dir() / "model_ad" / "pathology_long.csv"
    request = ProgressRequest(
        data=str(path),
        measure=MODEL_AD_MEASURES,
        group=("mouse_model", "sex"),
        control="C57BL/6J",
        select=("model_group=5xFAD",),
        model="trajectory",
        n_boot=100 if quick else 400,
    )
    trajectories = run_progress(request, log)
    early = model_ad_early_forecast(
        trajectories.table, group=["mouse_model", "sex"], control="C57BL/6J"
    )
    from translocus.pipelines.evaluate import slam_course_forecast

    course = slam_course_forecast(quick=quick)
    return {
        "model_ad": trajectories,
        "early_forecast": early,
        "slam_course": course,
        "slam_forecast_metrics": course.metrics,
    }


def _lifespan(quick: bool, log: RunLog) -> dict[str, Any]:
    from translocus.pipelines.evaluate import slam_lifespan_extras
    from translocus.pipelines.lifespan import LifespanRequest, run_lifespan
    from translocus.pipelines.survival import SurvivalRequest, run_survival

    slam = run_survival(
        SurvivalRequest(data=data_dir() / "slam", group=("strain", "sex"), frailty="cohort"), log
    )
    extras = slam_lifespan_extras(slam.table)
    itp = run_lifespan(
        LifespanRequest(
            data=data_dir() / "itp" / "bodyweights" / "ITP_10003.csv",
            arms=ITP_ARMS,
            n_boot=300 if quick else 2000,
        ),
        log,
    )
    return {"slam": slam, "itp": itp, **extras}


def _treatment(quick: bool, log: RunLog) -> dict[str, Any]:
    from translocus.pipelines.evaluate import pdx_response_prediction
    from translocus.pipelines.respond import RespondRequest, run_respond

    pdx = run_respond(RespondRequest(data=data_dir() / "pdx" / "pdxe", control="untreated"), log)
    part: dict[str, Any] = {"pdxe": pdx}
    try:
        prediction = pdx_response_prediction(pdx.study, pdx.metrics, quick=quick)
    except (InputError, FileNotFoundError) as exc:
        log.warn(f"response prediction skipped: {exc}")
    else:
        part.update(
            prediction=prediction,
            prediction_scores=prediction.scores,
            prediction_comparisons=prediction.comparisons,
        )
    return part


def _translation(output: DemoOutput, log: RunLog) -> dict[str, Any]:
    from translocus.pipelines.translate import TranslateRequest, run_translate

    genes = run_translate(TranslateRequest(genes=",".join(AD_GENES), gene_sets="mgi"), log)
    interval = run_translate(TranslateRequest(interval=APOE_INTERVAL), log)
    from translocus.translate.interval import default_engine

    part: dict[str, Any] = {"genes": genes, "interval": interval}
    part["loci"] = default_engine().loci.loci  # the disease loci the candidates were placed by
    cause = output.parts.get("cause")
    if cause is not None and len(cause["lmm"].peaks):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="translocus-demo-scan-") as scan_dir:
            cause["lmm"].write(Path(scan_dir))  # exactly what `translate --peaks DIR` reads
            request = TranslateRequest(peaks=Path(scan_dir), assembly="GRCm38")
            part["peaks"] = run_translate(request, log)
    return part
