"""``scan``: genome scan, permutation thresholds, peaks and allele effects at the peaks.

One run: read the cross, check the traits and covariates asked for (and that ``--probs``
belongs to the cross), genotype probabilities (or the stored ones), kinship (from every
chromosome), the scan (Haley-Knott or LMM; on the chromosomes asked for; additive and
interactive covariates), permutations, peaks with LOD support intervals, and the allele
effects at each peak: R/qtl2's ``scan1coef`` (fixed effects) and ``scan1blup`` (BLUPs), both
with standard errors, at the peak marker, and the fixed effects along the peak's chromosome
with a founder-effect plot per peak.

>>> from translocus.core.simulate import simulate_cross
>>> cross = simulate_cross(cross_type="f2", n=60, n_markers=60, seed=2, n_traits=1).cross
>>> output = run_scan(ScanRequest(kinship="none", assembly="GRCm39"), cross=cross)
>>> output.summary()["traits"], output.summary()["assembly"]
(['trait1'], 'GRCm39')
>>> ScanRequest(perms=1000, alpha=2).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: alpha=2: must lie strictly between 0 and 1, e.g. 0.05
"""

from __future__ import annotations

import contextlib
import io
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.model import Cross, GenoProbs
from translocus.core.runs import RunLog
from translocus.core.threads import parallel_map, thread_limit, worker_count
from translocus.pipelines.genoprob import (
    check_hmm_options,
    cross_for,
    genotype_probabilities,
    resolve_assembly,
)

__all__ = [
    "BACKENDS",
    "KINSHIPS",
    "MAPS",
    "MAX_EFFECT_PEAKS",
    "MAX_EFFECT_PLOTS",
    "MAX_EFFECT_POSITIONS",
    "MAX_LOD_CSV_VALUES",
    "ScanOutput",
    "ScanRequest",
    "run_scan",
]

KINSHIPS = ("loco", "overall", "none")
BACKENDS = ("cpu", "torch")
#: ``--map``: auto is the physical map when the cross has one, else the genetic map.
MAPS = ("auto", "gmap", "pmap")
#: Allele effects are estimated at this many peaks at most (the highest).
MAX_EFFECT_PEAKS = 50
#: Effects along the chromosome, and their plot, for this many peaks at most (the highest).
MAX_EFFECT_PLOTS = 20
#: Effects along a chromosome at this many positions at most (evenly spaced, and the peak's).
MAX_EFFECT_POSITIONS = 1000
#: lod.csv is written up to this many LOD values (markers x traits, about 100 MB of text);
#: above it lod.parquet alone holds them (a 5,806-trait BXD scan would write 850 MB of CSV).
MAX_LOD_CSV_VALUES = 5_000_000
#: Fewer permutations than this give rough thresholds (a warning says so).
ROUGH_PERMS = 100
_STORE_MARKER = "translocus-store.json"
_DEFAULT_ALPHAS = (0.2, 0.1, 0.05, 0.01)


@dataclass(frozen=True)
class ScanRequest:
    """Options of ``translocus scan`` (see its ``--help``); names follow the flags.

    ``cross`` is the path the cross is read from; with ``run_scan(..., cross=...)`` it only
    names the cross given. ``pheno`` empty means every phenotype; ``perms`` 0 means the peaks
    use ``threshold``, otherwise the ``alpha`` genome-wide permutation threshold of each trait.
    ``intcovar`` are interactive covariates (also additive, as R/qtl2 requires); ``chromosomes``
    (``--chr``) restricts the scan, permutations and peaks to those chromosomes (kinship still
    from all); ``map`` picks the positions of the outputs; ``threads`` caps the threads.
    """

    cross: Path | None = None
    pheno: tuple[str, ...] = ()
    kinship: str = "loco"
    covar: tuple[str, ...] = ()
    perms: int = 0
    seed: int = 20260101
    threshold: float = 6.0
    alpha: float = 0.05
    drop: float = 1.5
    probs: Path | None = None
    error_prob: float = 0.002
    map_function: str = "c-f"
    backend: str = "cpu"
    assembly: str | None = None
    intersection: bool = False
    intcovar: tuple[str, ...] = ()
    chromosomes: tuple[str, ...] = ()
    map: str = "auto"
    threads: int | None = None

    def validate(self) -> None:
        if self.map not in MAPS:
            raise OptionError("map", self.map, "use gmap (cM), pmap (Mbp) or auto")
        if self.threads is not None and (isinstance(self.threads, bool) or self.threads < 1):
            raise OptionError("threads", self.threads, "must be 1 or more, e.g. 2")
        if self.kinship not in KINSHIPS:
            raise OptionError("kinship", self.kinship, "use loco, overall or none (Haley-Knott)")
        if self.backend not in BACKENDS:
            raise OptionError("backend", self.backend, "use cpu or torch")
        if self.perms < 0:
            raise OptionError("perms", self.perms, "must be 0 (no permutations) or more, e.g. 1000")
        if not (math.isfinite(self.alpha) and 0 < self.alpha < 1):
            raise OptionError("alpha", self.alpha, "must lie strictly between 0 and 1, e.g. 0.05")
        if not (math.isfinite(self.threshold) and self.threshold > 0):
            raise OptionError("threshold", self.threshold, "must be a LOD score above 0, e.g. 6")
        if not (math.isfinite(self.drop) and self.drop > 0):
            raise OptionError(
                "drop", self.drop, "must be a LOD drop above 0 for the support intervals, e.g. 1.5"
            )
        if self.seed < 0:
            raise OptionError("seed", self.seed, "must be 0 or more")
        check_hmm_options(self.error_prob, self.map_function, self.assembly)
        for option, names in (("pheno", self.pheno), ("covar", self.covar),
                              ("intcovar", self.intcovar), ("chr", self.chromosomes)):  # fmt: skip
            if any(not str(n).strip() for n in names):
                raise OptionError(
                    option, ",".join(names), "has an empty name; separate names by commas"
                )
        if self.backend == "torch":
            from translocus.core.compute import available_backends

            if "torch" not in available_backends():
                raise OptionError(
                    "backend",
                    "torch",
                    "needs PyTorch, which is not installed; install the gpu extra "
                    "(pip install 'translocus[gpu]') or use {backend} cpu",
                )
        if self.probs is not None:
            probs = Path(self.probs)
            if not (probs / _STORE_MARKER).is_file():
                what = "does not exist" if not probs.exists() else "is not a store of probabilities"
                raise OptionError(
                    "probs",
                    str(probs),
                    f"{what}; give the folder written by `translocus genoprob CROSS -o DIR`, "
                    "or leave {probs} out to compute the probabilities",
                )


@dataclass
class ScanOutput:
    """A finished scan; the HTML report reads these fields."""

    request: ScanRequest
    result: Any  # ScanResult
    perm: Any | None  # PermutationResult
    thresholds: pd.DataFrame | None
    threshold_used: dict[str, dict[str, Any]]
    peaks: pd.DataFrame
    peak_effects: pd.DataFrame
    map_name: str
    assembly: str | None
    crosstype: str
    n_samples: int
    assembly_source: str | None = None
    covariates: list[str] = field(default_factory=list)
    alleles: GenoProbs | None = None
    intcovariates: list[str] = field(default_factory=list)
    #: fixed allele effects along the chromosome of the highest peaks (long table)
    effects_along: pd.DataFrame | None = None

    @property
    def lod_csv(self) -> bool:
        """Whether lod.csv is written (up to :data:`MAX_LOD_CSV_VALUES` LODs; parquet always)."""
        return len(self.result.markers) * len(self.result.traits) <= MAX_LOD_CSV_VALUES

    # -- figures -----------------------------------------------------------------------------
    def _shown(self) -> tuple[list[str], dict[str, float]]:
        traits = list(self.result.traits[:6])
        shown: dict[str, float] = {}
        values = {t: self.threshold_used[t]["lod"] for t in traits if t in self.threshold_used}
        distinct = {v for v in values.values() if v is not None}
        for trait, value in values.items():
            if value is None:
                continue
            how = self.threshold_used[trait]["how"]
            label = how if len(distinct) == 1 else f"{trait} {how}"
            shown[label] = float(value)
        return traits, shown

    def figure(self) -> Any:
        """The LOD curves (matplotlib) with thresholds and peaks; close it after use."""
        from translocus.genetics.plot import plot_lod

        traits, shown = self._shown()
        return plot_lod(self.result, traits=traits, thresholds=shown, peaks=self.peaks,
                        map_name=self.map_name)  # fmt: skip

    def interactive(self) -> Any:
        """The same as an interactive plotly figure."""
        from translocus.genetics.plot import plot_lod_interactive

        traits, shown = self._shown()
        return plot_lod_interactive(self.result, traits=traits, thresholds=shown,
                                    peaks=self.peaks, map_name=self.map_name)  # fmt: skip

    # -- files -------------------------------------------------------------------------------
    def write(self, folder: Path) -> None:
        """Write the scan's tables and plots into ``folder``.

        lod.parquet/.csv (CSV up to :data:`MAX_LOD_CSV_VALUES` LODs), hsq.csv (LMM), thresholds.csv + permutations.csv (with
        permutations), peaks.csv, peak_effects.csv, lod.png and a self-contained lod.html.
        """
        import matplotlib.pyplot as plt

        from translocus.genetics.plot import offline_html
        from translocus.genetics.results import write_table

        folder = Path(folder)
        lod = self.result.to_frame()
        write_table(lod, folder / "lod.parquet")
        if self.lod_csv:
            write_table(lod, folder / "lod.csv")
        if self.result.hsq is not None:
            write_table(self.result.hsq.rename_axis("hsq_set").reset_index(), folder / "hsq.csv")
        if self.perm is not None and self.thresholds is not None:
            write_table(self.thresholds, folder / "thresholds.csv")
            write_table(self.perm.to_frame(), folder / "permutations.csv")
        write_table(self.peaks, folder / "peaks.csv")
        write_table(self.peak_effects, folder / "peak_effects.csv")
        if self.effects_along is not None and len(self.effects_along):
            write_table(self.effects_along, folder / "effects_along.parquet")
            (folder / "effects").mkdir()
            for key, frame in self.effects_along.groupby("peak", sort=False):
                fig = self._effects_figure(frame)
                try:
                    fig.savefig(folder / "effects" / f"{key}.png", dpi=110, bbox_inches="tight")
                finally:
                    plt.close(fig)
        fig = self.figure()
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
        finally:
            plt.close(fig)
        (folder / "lod.png").write_bytes(buf.getvalue())
        (folder / "lod.html").write_text(offline_html(self.interactive()), encoding="utf-8")

    def _effects_figure(self, frame: pd.DataFrame) -> Any:
        """The founder-effect plot of one peak (one ``peak`` group of :attr:`effects_along`)."""
        from translocus.genetics.plot import plot_coef

        wide = frame.pivot_table(index=["pos", "marker"], columns="coefficient",
                                 values="estimate", sort=False).reset_index()  # fmt: skip
        wide = wide.sort_values("pos", kind="stable")
        first = frame.iloc[0]
        chrom, trait = str(first["chr"]), str(first["lodcolumn"])
        lod = self.result.lod[trait].reindex([str(m) for m in wide["marker"]]).to_numpy()
        unit = "Mbp" if self.map_name == "pos_Mbp" else "cM"
        alleles = [c for c in dict.fromkeys(frame["coefficient"].astype(str))
                   if c in wide.columns]  # fmt: skip
        return plot_coef(
            wide, wide["pos"].to_numpy(), lod=lod, columns=alleles,
            peak=float(first["peak_pos"]),
            interval=(float(first["ci_lo"]), float(first["ci_hi"])),
            xlabel=f"chr {chrom} ({unit})",
            title=f"{trait}: allele effects on chr {chrom} (peak LOD {float(first['lod']):.2f})",
        )  # fmt: skip

    def summary(self) -> dict[str, Any]:
        sizes = self.result.sample_size
        best = self.result.max_lod()
        return {
            "traits": list(self.result.traits),
            "method": "hk" if self.request.kinship == "none" else "lmm",
            "kinship": self.request.kinship,
            "covariates": list(self.covariates),
            "intcovar": list(self.intcovariates),
            "chromosomes": list(self.result.chromosomes),
            "threads": self.request.threads,
            "crosstype": self.crosstype,
            "n_samples": int(self.n_samples),
            "n_markers": len(self.result.markers),
            "sample_size": {str(k): int(v) for k, v in sizes.items()},
            "max_lod": {
                str(r.trait): (None if pd.isna(r.max_lod) else float(r.max_lod))
                for r in best.itertuples()
            },
            "perms": int(self.perm.n_perm) if self.perm is not None else 0,
            "alpha": float(self.request.alpha) if self.perm is not None else None,
            "thresholds": self.threshold_used,
            "n_peaks": len(self.peaks),
            "n_peak_effects": min(len(self.peaks), MAX_EFFECT_PEAKS),
            "n_effect_plots": min(len(self.peaks), MAX_EFFECT_PLOTS),
            "map": self.map_name,
            "assembly": self.assembly,
            "assembly_source": self.assembly_source,
            "probs": str(self.request.probs) if self.request.probs is not None else None,
            "lod_csv": self.lod_csv,
        }


# -- the pipeline -----------------------------------------------------------------------------
def _check_names(cross: Cross, request: ScanRequest
                 ) -> tuple[list[str], list[str], list[str]]:  # fmt: skip
    """The traits, covariates and interactive covariates, every name checked against the cross.

    An interactive covariate is also additive (R/qtl2 requires it): one missing from
    ``--covar`` is added there.
    """
    available = [str(c) for c in cross.pheno.columns]
    if not available:
        raise InputError(
            f"{request.cross or 'the cross'}: has no phenotypes to scan; add a 'pheno' file to "
            "its control file"
        )
    names = list(dict.fromkeys(str(p).strip() for p in request.pheno)) or available
    missing = [p for p in names if p not in available]
    if missing:
        shown = ", ".join(available[:10]) + (f", ... ({len(available) - 10} more)"
                                             if len(available) > 10 else "")  # fmt: skip
        raise OptionError(
            "pheno",
            ",".join(missing),
            f"not in the cross's phenotypes ({shown}); `translocus info` lists them",
        )
    intcovar = list(dict.fromkeys(str(c).strip() for c in request.intcovar))
    covars = list(dict.fromkeys([*(str(c).strip() for c in request.covar), *intcovar]))
    known = ["sex", *(str(c) for c in cross.covar.columns)]
    for option, given in (("covar", request.covar), ("intcovar", request.intcovar)):
        for name in (str(n).strip() for n in given):
            if name.lower() == "sex":
                if len(cross.is_female) == 0:
                    raise OptionError(option, name,
                                      "the cross has no sex information; leave sex out")  # fmt: skip
            elif name not in known:
                raise OptionError(
                    option,
                    name,
                    f"not a covariate of the cross (covariates: {', '.join(known)}); "
                    "`translocus info` lists them",
                )
    return names, covars, intcovar


def _check_chromosomes(cross: Cross, request: ScanRequest) -> list[str]:
    """The chromosomes of ``--chr`` (all when not given), in the cross's order."""
    all_chroms = [str(c) for c in cross.chromosomes]
    asked = list(dict.fromkeys(str(c).strip() for c in request.chromosomes))
    if not asked:
        return all_chroms
    unknown = [c for c in asked if c not in all_chroms]
    if unknown:
        raise OptionError("chr", ",".join(unknown),
                          f"not a chromosome of the cross ({', '.join(all_chroms)})")  # fmt: skip
    return [c for c in all_chroms if c in asked]


def _map_name(request: ScanRequest, result: Any) -> str:
    """The position coordinate of ``--map`` (checked against what the cross has)."""
    has_pmap = "pos_Mbp" in result.data.coords
    if request.map == "pmap":
        if not has_pmap:
            raise OptionError("map", "pmap", "the cross has no physical map (pmap); use "
                              "{map} gmap")  # fmt: skip
        return "pos_Mbp"
    if request.map == "gmap":
        return "pos_cM"
    return "pos_Mbp" if has_pmap else "pos_cM"


def _stored_probs(cross: Cross, request: ScanRequest, log: RunLog) -> tuple[GenoProbs, str | None]:
    """The allele probabilities of ``--probs``, after checking they belong to the cross."""
    from translocus.core.store import Store, cross_fingerprint, fingerprint_differences

    assert request.probs is not None
    store = Store(request.probs, create=False)
    if "alleleprob" not in store:
        raise OptionError(
            "probs",
            str(request.probs),
            "holds no allele probabilities; recompute them with `translocus genoprob CROSS -o DIR`",
        )
    info = store.info("alleleprob")
    stored = store.fingerprint("alleleprob")
    fix = (
        f"recompute them with `translocus genoprob {request.cross or 'CROSS'} -o DIR`, or leave "
        "{probs} out"
    )
    if stored is None:
        raise OptionError(
            "probs",
            str(request.probs),
            f"the probabilities carry no fingerprint of their cross, so they cannot be checked; {fix}",
        )
    expected = cross_fingerprint(cross, error_prob=request.error_prob,
                                 map_function=request.map_function)  # fmt: skip
    differ = fingerprint_differences(stored, expected)
    if differ:
        raise OptionError(
            "probs",
            str(request.probs),
            f"the probabilities belong to another cross (different {', '.join(differ)}); {fix}",
        )
    settings = (float(stored.get("error_prob", np.nan)), str(stored.get("map_function")))
    if settings != (float(request.error_prob), request.map_function):
        log.warn(
            f"the stored probabilities were computed with error probability {settings[0]:g} "
            f"and map function {settings[1]}; --error-prob and --map-function apply only "
            "without --probs"
        )
    with log.step("read probabilities"):
        alleles = store.read_genoprobs("alleleprob")
    assembly = info.attrs.get("assembly")
    return alleles, str(assembly) if assembly else None


def _thresholds(
    result: Any, perm: Any | None, request: ScanRequest, chromosomes: list[str], cross: Cross
) -> tuple[pd.DataFrame | None, dict[str, dict[str, Any]], np.ndarray]:
    """All permutation thresholds, the one used per trait (and how), as a vector."""
    traits = list(result.traits)
    if perm is None:
        used = {t: {"lod": float(request.threshold), "source": "threshold",
                    "how": "given threshold"} for t in traits}  # fmt: skip
        return None, used, np.full(len(traits), float(request.threshold))
    alphas = sorted({*_DEFAULT_ALPHAS, float(request.alpha)}, reverse=True)
    table = perm.thresholds(alphas)
    row = perm.thresholds([request.alpha])
    values = row[traits].to_numpy(dtype=float)[0]
    wide = ("genome-wide" if len(chromosomes) == len(cross.chromosomes)
            else f"over chr {','.join(chromosomes)}")  # fmt: skip
    how = f"{100 * request.alpha:g}% {wide}, {perm.n_perm:,} permutations"
    used = {t: {"lod": None if not np.isfinite(v) else float(v), "source": "permutations",
                "alpha": float(request.alpha), "perms": int(perm.n_perm), "how": how}
            for t, v in zip(traits, values, strict=True)}  # fmt: skip
    return table, used, values


def _peak_marker(result: Any, map_name: str, trait: str, chrom: str, pos: float) -> str:
    chroms = np.asarray(result.data.coords["chr"].values).astype(str)
    positions = np.asarray(result.data.coords[map_name].values, dtype=float)
    on_chrom = np.flatnonzero(chroms == chrom)
    distance = np.abs(positions[on_chrom] - pos)
    nearest = on_chrom[distance <= distance.min() + 1e-9]
    lod = result.lod[trait].to_numpy(dtype=float)[nearest]
    return str(result.markers[int(nearest[int(np.nanargmax(lod))])])


def _peak_effects(
    result: Any,
    peaks: pd.DataFrame,
    pheno: pd.DataFrame,
    alleles: GenoProbs,
    kinship: Any,
    addcovar: pd.DataFrame | None,
    map_name: str,
    log: RunLog,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Effects at each peak marker (fixed and BLUP, with SEs), and along the highest peaks' chromosomes.

    The first table is long: one row per peak, method (``coef`` for R/qtl2's ``scan1coef``,
    ``blup`` for ``scan1blup``) and coefficient, highest peaks first. With a kinship both use
    the LOCO (or overall) matrix of the peak's chromosome. The second holds ``scan1coef``
    along the chromosome of each of the :data:`MAX_EFFECT_PLOTS` highest peaks, at
    :data:`MAX_EFFECT_POSITIONS` positions at most (evenly spaced over the chromosome's markers,
    and the peak marker): a plot shows no more, and a study-size chromosome costs a tenth.

    The peaks are taken a chromosome at a time: its probabilities at the positions used are
    read once, its kinship decomposed once (for each set of individuals) and each trait's
    null model fitted once (:class:`~translocus.genetics.effects.EffectModel`), for all the
    estimates of its peaks there; the positions along it are rotated by the eigenvectors once
    for all its traits with the same individuals, each weighting them by its own h².
    Chromosomes run side by side, each on a single-threaded BLAS
    (:func:`~translocus.core.threads.parallel_map`, as the scan runs them), so the numbers do
    not depend on the number of threads.
    """
    columns = ["lodindex", "lodcolumn", "chr", "pos", "lod", "marker", "method", "coefficient",
               "estimate", "se"]  # fmt: skip
    along_cols = ["peak", "lodindex", "lodcolumn", "chr", "peak_pos", "ci_lo", "ci_hi", "lod",
                  "marker", "pos", "coefficient", "estimate", "se"]  # fmt: skip
    if not len(peaks):
        return pd.DataFrame(columns=columns), pd.DataFrame(columns=along_cols)
    top = peaks.sort_values("lod", ascending=False, kind="stable").head(MAX_EFFECT_PEAKS)
    if len(peaks) > len(top):
        log.count("peaks skipped for allele effects", len(peaks) - len(top),
                  f"effects are estimated at the {MAX_EFFECT_PEAKS} highest peaks")  # fmt: skip
    if len(top) > MAX_EFFECT_PLOTS:
        log.count("peaks without a founder-effect plot", len(top) - MAX_EFFECT_PLOTS,
                  f"effects along the chromosome are plotted for the {MAX_EFFECT_PLOTS} "
                  "highest peaks")  # fmt: skip
    by_chrom: dict[str, list[tuple[int, Any]]] = {}
    for rank, peak in enumerate(top.itertuples(index=False)):
        by_chrom.setdefault(str(peak.chr), []).append((rank, peak))
    rows: dict[int, list[dict[str, Any]]] = {}
    along: dict[int, list[pd.DataFrame]] = {}
    # chromosomes side by side, those with the most effects along them first
    order = sorted(by_chrom, key=lambda c: -sum(rank < MAX_EFFECT_PLOTS for rank, _ in by_chrom[c]))
    lock = threading.Lock()
    with log.step("allele effects at peaks", total=len(top)) as advance:

        def effects_on(chrom: str) -> dict[int, tuple[list[dict[str, Any]], list[pd.DataFrame]]]:
            kin = kinship.get(chrom) if isinstance(kinship, dict) else kinship
            done = _chromosome_effects(result, by_chrom[chrom], pheno, alleles, chrom, kin,
                                       addcovar, map_name)  # fmt: skip
            with lock:
                advance(len(by_chrom[chrom]))
            return done

        for done in parallel_map(effects_on, order, worker_count()):
            for rank, (peak_rows, peak_along) in done.items():
                rows[rank], along[rank] = peak_rows, peak_along
    at_peaks = [row for rank in sorted(rows) for row in rows[rank]]
    frames = [frame for rank in sorted(along) for frame in along[rank]]
    along_frame = (pd.concat(frames, ignore_index=True) if frames
                   else pd.DataFrame(columns=along_cols))  # fmt: skip
    return pd.DataFrame(at_peaks, columns=columns), along_frame


def _chromosome_effects(
    result: Any,
    on_chrom: list[tuple[int, Any]],
    pheno: pd.DataFrame,
    alleles: GenoProbs,
    chrom: str,
    kin: Any,
    addcovar: pd.DataFrame | None,
    map_name: str,
) -> dict[int, tuple[list[dict[str, Any]], list[pd.DataFrame]]]:
    """:func:`_peak_effects` of the peaks of one chromosome, by their rank among the highest.

    The rows at each peak and, for the :data:`MAX_EFFECT_PLOTS` highest, the frames along.
    """
    from translocus.genetics.effects import EffectModel

    arr = alleles[chrom]
    names = list(alleles.alleles) or [str(s) for s in arr.coords[arr.dims[2]].values]
    markers = [str(m) for m in arr.coords["marker"].values]
    spread = np.linspace(0, len(markers) - 1, min(len(markers), MAX_EFFECT_POSITIONS)
                         ).round().astype(int)  # fmt: skip
    at = {rank: markers.index(_peak_marker(result, map_name, str(peak.lodcolumn), chrom,
                                           float(peak.pos)))
          for rank, peak in on_chrom}  # fmt: skip
    plotted = [at[rank] for rank, _ in on_chrom if rank < MAX_EFFECT_PLOTS]
    along = np.unique(np.r_[spread, plotted]) if plotted else np.zeros(0, dtype=int)
    need = np.unique(np.r_[along, list(at.values())])
    # read once (a stored chromosome is read from disk at each look-up of its values)
    held = (arr if need.size == len(markers) else arr.isel(marker=need)).load()
    column = {int(i): j for j, i in enumerate(need)}
    along_held = held
    if along.size < need.size:  # peaks without a plot at markers off those along
        along_held = held.isel(marker=[column[int(i)] for i in along])
    along_row = {int(i): j for j, i in enumerate(along)}
    decompositions: dict[tuple[str, ...], Any] = {}  # of this chromosome's kinship
    rotated: dict[int, np.ndarray] = {}  # the positions along, rotated: by decomposition
    models: dict[str, EffectModel] = {}
    out: dict[int, tuple[list[dict[str, Any]], list[pd.DataFrame]]] = {}
    for rank, peak in on_chrom:
        trait, marker = str(peak.lodcolumn), markers[at[rank]]
        if trait not in models:
            models[trait] = EffectModel.fit(pheno[[trait]], held, kinship=kin,
                                            addcovar=addcovar, decompositions=decompositions)  # fmt: skip
        model = models[trait]
        one = held.isel(marker=[column[at[rank]]])
        fits = {"coef": model.coef(one), "blup": model.blup(one, se=True)}
        rows: list[dict[str, Any]] = []
        for method, fit in fits.items():
            first = fit.iloc[0]
            for name in (c for c in fit.columns if not str(c).startswith("SE_")):
                se = first.get(f"SE_{name}")
                rows.append({"lodindex": int(peak.lodindex), "lodcolumn": trait,
                             "chr": chrom, "pos": float(peak.pos), "lod": float(peak.lod),
                             "marker": marker, "method": method, "coefficient": str(name),
                             "estimate": float(first[name]),
                             "se": float(se) if se is not None else np.nan})  # fmt: skip
        frames: list[pd.DataFrame] = []
        if rank < MAX_EFFECT_PLOTS:
            keep = [along_row[int(i)] for i in np.unique(np.r_[spread, at[rank]])]
            every = len(keep) == along.size  # (no copies of the positions then)
            some = along_held if every else along_held.isel(marker=keep)
            if model.eig is None:
                coef = model.coef(some)
            else:  # rotated once for the traits with the same individuals
                if id(model.eig) not in rotated:
                    rotated[id(model.eig)] = model.rotate(along_held)
                mine = rotated[id(model.eig)]
                coef = model.coef(some, rotated=mine if every else mine[keep])
            positions = np.asarray(some.coords[map_name].values, dtype=float)
            key = f"{trait}_chr{chrom}_{float(peak.pos):.3f}".replace("/", "_")
            for name in names:
                frames.append(pd.DataFrame({
                    "peak": key, "lodindex": int(peak.lodindex), "lodcolumn": trait,
                    "chr": chrom, "peak_pos": float(peak.pos), "ci_lo": float(peak.ci_lo),
                    "ci_hi": float(peak.ci_hi), "lod": float(peak.lod),
                    "marker": list(coef.index), "pos": positions, "coefficient": name,
                    "estimate": coef[name].to_numpy(dtype=float),
                    "se": coef[f"SE_{name}"].to_numpy(dtype=float),
                }))  # fmt: skip
        out[rank] = (rows, frames)
    return out


def count_decompositions(log: RunLog, counts: dict[str, int], serving: str) -> None:
    """Record in the run log the LOCO decompositions an ``eigen_store`` made for ``serving``.

    ``counts``: :meth:`~translocus.genetics.lmm.EigenStore.counts`.
    """
    where = f", {counts['on_disk']} kept on disk meanwhile" if counts["on_disk"] else ""
    log.count("kinship decompositions made", counts["made"],
              f"each LOCO matrix once for {serving} ({counts['reused']} reused{where})")  # fmt: skip


def run_scan(request: ScanRequest, log: RunLog | None = None, *, cross: Cross | None = None
             ) -> ScanOutput:  # fmt: skip
    """Run the scan ``request`` describes.

    On ``cross`` when given, else on the cross read from ``request.cross``.
    """
    request.validate()
    log = log or RunLog()
    with thread_limit(request.threads):
        return _run_scan(request, log, cross)


def _run_scan(request: ScanRequest, log: RunLog, cross: Cross | None) -> ScanOutput:
    from translocus.genetics.eqtl import memory_plan
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.lmm import eigen_store
    from translocus.genetics.peaks import find_peaks
    from translocus.genetics.permute import scan_perm
    from translocus.genetics.scan import cross_covariates, scan
    from translocus.genetics.spec import ModelSpec

    cross = cross_for(request.cross, log, intersection=request.intersection, cross=cross)
    names, covar_names, intcovar_names = _check_names(cross, request)
    chromosomes = _check_chromosomes(cross, request)
    stored_assembly = None
    if request.probs is not None:
        alleles, stored_assembly = _stored_probs(cross, request, log)
    else:
        _, alleles = genotype_probabilities(cross, request.error_prob, request.map_function, log)
    assembly, assembly_source = resolve_assembly(
        cross, request.cross, request.assembly, log, stored=stored_assembly
    )
    if 0 < request.perms < ROUGH_PERMS:
        log.warn(
            f"thresholds from fewer than {ROUGH_PERMS} permutations are rough "
            f"({request.perms} asked); 1,000 are usual"
        )
    pheno = cross.pheno[names].copy()
    pheno.index = [str(i) for i in pheno.index]
    addcovar, xcovar = cross_covariates(cross, covar_names)
    intcovar = None
    if intcovar_names:
        columns, _ = cross_covariates(cross, intcovar_names)
        assert columns is not None
        intcovar = columns
    kinship = None
    if request.kinship != "none":
        with log.step("kinship"):  # from every chromosome, whichever are scanned
            kinship = calc_kinship(alleles, type=request.kinship)
    scanned = alleles
    if len(chromosomes) < len(alleles.chromosomes):
        scanned = alleles.subset(chromosomes=chromosomes)
    spec = ModelSpec(pheno, kinship=kinship, addcovar=addcovar, Xcovar=xcovar, intcovar=intcovar)
    with contextlib.ExitStack() as scope:
        # the LOCO decompositions the scan makes serve the effects at its peaks too (the cache
        # alone holds 8 of the 20 at 2,000 mice): in memory where the plan has room, else in a
        # temporary folder removed at the end
        store = None
        if isinstance(kinship, dict) and request.backend == "cpu":
            plan = memory_plan(scanned, decompositions=len(kinship),
                               samples=len(alleles.samples))  # fmt: skip
            store = scope.enter_context(eigen_store(list(kinship), memory_bytes=plan.eigen_bytes))
        with log.step("genome scan"):
            result = scan(spec, scanned, backend=request.backend)
        perm = None
        if request.perms > 0:
            with log.step("permutations", total=request.perms) as advance:
                perm = scan_perm(spec, scanned, n_perm=request.perms, seed=request.seed,
                                 backend=request.backend, progress=advance)  # fmt: skip
        thresholds, used, vector = _thresholds(result, perm, request, chromosomes, cross)
        map_name = _map_name(request, result)
        with log.step("peaks"):
            # a trait without a threshold (its permutations gave none) gets no peaks
            finite = [float(v) if np.isfinite(v) else math.inf for v in vector]
            peaks = find_peaks(result, map_name=map_name, threshold=finite, drop=request.drop)
        effects, along = _peak_effects(result, peaks, pheno, scanned, kinship, addcovar,
                                       map_name, log)  # fmt: skip
        if store is not None:
            count_decompositions(log, store.counts(), "the scan, its permutations and the "
                                 "effects at its peaks")  # fmt: skip
    n_lod = len(result.markers) * len(result.traits)
    if n_lod > MAX_LOD_CSV_VALUES:
        log.count("LOD values left out of lod.csv", n_lod,
                  f"lod.csv is written up to {MAX_LOD_CSV_VALUES:,} LOD values; lod.parquet "
                  "holds every one")  # fmt: skip
    return ScanOutput(
        request=request,
        result=result,
        perm=perm,
        thresholds=thresholds,
        threshold_used=used,
        peaks=peaks,
        peak_effects=effects,
        map_name=map_name,
        assembly=assembly,
        crosstype=cross.crosstype,
        n_samples=len(alleles.samples),
        assembly_source=assembly_source,
        covariates=list(addcovar.columns) if addcovar is not None else [],
        alleles=alleles,
        intcovariates=list(intcovar.columns) if intcovar is not None else [],
        effects_along=along,
    )
