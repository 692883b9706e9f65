"""``qc``: genotype quality control of a cross, the checks R/qtl2 users run before a scan.

Problem samples: duplicates and sample mix-ups (pairs whose genotypes match at
``match_threshold`` or more, :func:`~translocus.genetics.qc.compare_geno`), crossover-count
outliers (:func:`~translocus.genetics.reconstruct.count_xo` of the
:func:`~translocus.genetics.reconstruct.maxmarg` calls), genotyping errors (error LOD above
``errorlod_threshold``, :func:`~translocus.genetics.qc.calc_errorlod`, with outliers of their
counts), heterozygosity and missing-data outliers, and sex checks: males heterozygous on
the X (:func:`~translocus.genetics.qc.sex_check_genotypes`) and, with ``intensities``, the
sex of two clusters of mean X and Y array intensity
(:func:`~translocus.genetics.qc.sex_check_intensities`), each against the recorded sex.
Problem markers: missing data and error counts, and groups of markers with identical
genotypes. Tables and plots go into the run folder.

A crossover-count, error-count or heterozygosity outlier lies more than ``outlier_mads`` scaled median
absolute deviations (``1.4826 * MAD``) from the median of all samples.

>>> from translocus.core.simulate import simulate_cross
>>> cross = simulate_cross(cross_type="f2", n=30, n_markers=60, seed=1).cross
>>> output = run_qc(QcRequest(), cross=cross)
>>> output.summary()["individuals"], output.summary()["duplicate_pairs"]
(30, 0)
>>> QcRequest(match_threshold=1.5).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: match_threshold=1.5: must lie in (0, 1], e.g. 0.9
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import OptionError
from translocus.core.model import Cross
from translocus.core.runs import RunLog
from translocus.pipelines.genoprob import check_hmm_options, cross_for

__all__ = ["QcOutput", "QcRequest", "robust_outliers", "run_qc"]

#: Scale of the median absolute deviation that makes it a standard deviation for normal data.
_MAD_SCALE = 1.4826


def robust_outliers(values: pd.Series, mads: float) -> pd.Series:
    """Whether each value lies more than ``mads`` scaled MADs from the median.

    With no spread (MAD 0), values other than the median are outliers.

    >>> robust_outliers(pd.Series([10, 11, 9, 10, 40]), 4.0).tolist()
    [False, False, False, False, True]
    """
    x = values.astype(float)
    centre = float(np.nanmedian(x)) if len(x) else math.nan
    spread = _MAD_SCALE * float(np.nanmedian(np.abs(x - centre))) if len(x) else math.nan
    if not spread > 0:
        return (x - centre).abs() > 0
    return (x - centre).abs() > mads * spread


@dataclass(frozen=True)
class QcRequest:
    """Options of ``translocus qc`` (see its ``--help``)."""

    cross: Path | None = None
    error_prob: float = 0.002
    map_function: str = "c-f"
    minprob: float = 0.95
    match_threshold: float = 0.9
    errorlod_threshold: float = 2.0
    outlier_mads: float = 4.0
    max_missing: float = 10.0
    max_marker_errors: float = 5.0
    intersection: bool = False
    intensities: Path | None = None
    max_male_het: float = 0.05

    def validate(self) -> None:
        check_hmm_options(self.error_prob, self.map_function, None)
        if not 0.0 <= float(self.minprob) <= 1.0:
            raise OptionError("minprob", self.minprob, "must be a probability in [0, 1], e.g. 0.95")
        if not 0.0 < float(self.match_threshold) <= 1.0:
            raise OptionError(
                "match_threshold", self.match_threshold, "must lie in (0, 1], e.g. 0.9"
            )
        if not math.isfinite(float(self.errorlod_threshold)):
            raise OptionError(
                "errorlod_threshold", self.errorlod_threshold, "must be a number, e.g. 2"
            )
        if not float(self.outlier_mads) > 0:
            raise OptionError("outlier_mads", self.outlier_mads, "must be > 0, e.g. 4")
        if not 0.0 <= float(self.max_male_het) < 1.0:
            raise OptionError(
                "max_male_het", self.max_male_het, "must be a share in [0, 1), e.g. 0.05"
            )
        for name in ("max_missing", "max_marker_errors"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 100.0:
                raise OptionError(name, value, "must be a percentage in [0, 100], e.g. 10")


@dataclass
class QcOutput:
    """Problem samples and markers of a cross."""

    request: QcRequest
    crosstype: str
    samples: pd.DataFrame
    duplicates: pd.DataFrame
    crossovers: pd.DataFrame
    errors: pd.DataFrame
    markers: pd.DataFrame
    duplicate_markers: dict[str, list[str]]
    match_values: np.ndarray
    sex: pd.DataFrame | None = None

    def write(self, folder: Path) -> None:
        """Write the tables and plots into ``folder``.

        samples.csv (one row per sample, with its flags), duplicates.csv (pairs at
        ``match_threshold`` or more), crossovers.csv and errors.csv (per sample and
        chromosome), markers.csv (every marker, with its flags), duplicate_markers.csv,
        sex.csv (recorded and inferred sex of every sample), and crossovers.png, missing.png,
        heterozygosity.png, errors.png, compare_geno.png and sex.png.
        """
        from translocus.genetics.results import write_table

        folder = Path(folder)
        write_table(self.samples, folder / "samples.csv")
        write_table(self.duplicates, folder / "duplicates.csv")
        write_table(self.crossovers.reset_index(), folder / "crossovers.csv")
        write_table(self.errors.reset_index(), folder / "errors.csv")
        write_table(self.markers, folder / "markers.csv")
        rows = [
            (kept, marker)
            for kept, others in self.duplicate_markers.items()
            for marker in (kept, *others)
        ]
        dup = pd.DataFrame(rows, columns=["kept", "marker"])
        write_table(dup, folder / "duplicate_markers.csv")
        if self.sex is not None:
            write_table(self.sex, folder / "sex.csv")
        for name, fig in self.figures().items():
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            (folder / f"{name}.png").write_bytes(buf.getvalue())

    def figures(self) -> dict[str, Any]:
        """The QC plots (matplotlib figures, not attached to pyplot)."""
        from matplotlib.figure import Figure

        s = self.samples
        order = np.arange(len(s))
        out: dict[str, Any] = {}
        for name, column, flag, label in (
            ("crossovers", "n_crossovers", "crossover_outlier", "crossovers (maxmarg calls)"),
            ("missing", "percent_missing", "missing_outlier", "missing genotypes (%)"),
            ("heterozygosity", "het", "het_outlier", "heterozygosity"),
            (
                "errors",
                "n_errors",
                "error_outlier",
                "genotyping errors (error LOD above threshold)",
            ),
        ):
            fig = Figure(figsize=(8, 3.5))
            ax = fig.add_subplot()
            bad = s[flag].to_numpy(bool)
            ax.scatter(order[~bad], s[column].to_numpy()[~bad], s=8, color="0.35")
            ax.scatter(order[bad], s[column].to_numpy()[bad], s=14, color="crimson",
                       label="flagged")  # fmt: skip
            if bad.any():
                ax.legend(loc="best", frameon=False)
            ax.set_xlabel("sample (file order)")
            ax.set_ylabel(label)
            out[name] = fig
        fig = Figure(figsize=(6, 3.5))
        ax = fig.add_subplot()
        values = self.match_values[np.isfinite(self.match_values)]
        ax.hist(values, bins=[k / 100 for k in range(101)], color="0.35")
        ax.axvline(self.request.match_threshold, color="crimson", linestyle="--")
        high = values[values >= self.request.match_threshold]
        ax.plot(high, np.zeros(high.size), "|", color="crimson", markersize=14)  # a rug
        ax.set_xlabel("proportion of matching genotypes (pairs of samples)")
        ax.set_ylabel("pairs")
        out["compare_geno"] = fig
        if self.sex is not None:
            out["sex"] = self._sex_figure()
        return out

    def _sex_figure(self) -> Any:
        """Mean X against mean Y intensity, coloured by recorded sex.

        Without intensities, the share of heterozygous X genotypes; samples whose inferred
        sex differs from the recorded one are ringed.
        """
        from matplotlib.figure import Figure

        sex = self.sex
        assert sex is not None
        fig = Figure(figsize=(6, 4.5))
        ax = fig.add_subplot()
        with_intensity = "mean_x" in sex and sex["mean_x"].notna().any()
        if with_intensity:
            x, y = sex["mean_x"].to_numpy(float), sex["mean_y"].to_numpy(float)
            ax.set_xlabel("mean X-chromosome intensity")
            ax.set_ylabel("mean Y-chromosome intensity")
        else:
            x, y = np.arange(len(sex), dtype=float), sex["x_het"].to_numpy(float)
            ax.set_xlabel("sample (file order)")
            ax.set_ylabel("heterozygous X genotypes (share)")
        recorded = sex["recorded_sex"].astype(object)
        for label, colour in (("female", "tab:red"), ("male", "tab:blue"), (None, "0.5")):
            chosen = (recorded == label).to_numpy() if label else recorded.isna().to_numpy()
            if chosen.any():
                ax.scatter(x[chosen], y[chosen], s=12, color=colour,
                           label=f"recorded {label}" if label else "sex not recorded")  # fmt: skip
        bad = sex["sex_mismatch"].to_numpy(bool)
        if bad.any():
            ax.scatter(x[bad], y[bad], s=90, facecolors="none", edgecolors="black",
                       label="inferred sex differs")  # fmt: skip
        ax.legend(loc="best", frameon=False)
        return fig

    def summary(self) -> dict[str, Any]:
        s = self.samples
        r = self.request
        flagged = self.markers["problem"] != ""
        return {
            "crosstype": self.crosstype,
            "individuals": len(s),
            "markers": len(self.markers),
            "duplicate_pairs": len(self.duplicates),
            "duplicates": [
                [str(a), str(b), float(p)]
                for a, b, p in self.duplicates[["ind1", "ind2", "prop_match"]].head(50).values
            ],
            "crossovers_median": float(s["n_crossovers"].median()) if len(s) else None,
            "crossover_outliers": s.loc[s["crossover_outlier"], "sample"].astype(str).tolist(),
            "errors_total": int(s["n_errors"].sum()),
            "errors_median": float(s["n_errors"].median()) if len(s) else None,
            "error_outliers": s.loc[s["error_outlier"], "sample"].astype(str).tolist(),
            "het_outliers": s.loc[s["het_outlier"], "sample"].astype(str).tolist(),
            "missing_outliers": s.loc[s["missing_outlier"], "sample"].astype(str).tolist(),
            "samples_flagged": int((s["problem"] != "").sum()),
            "markers_flagged": int(flagged.sum()),
            "duplicate_marker_groups": len(self.duplicate_markers),
            "sex_mismatches": (
                []
                if self.sex is None
                else self.sex.loc[self.sex["sex_mismatch"], "sample"].astype(str).tolist()
            ),
            "sex_from_intensities": self.sex is not None and "mean_x" in self.sex,
            "thresholds": {
                "match_threshold": float(r.match_threshold),
                "errorlod_threshold": float(r.errorlod_threshold),
                "outlier_mads": float(r.outlier_mads),
                "max_missing_percent": float(r.max_missing),
                "max_marker_errors_percent": float(r.max_marker_errors),
                "minprob": float(r.minprob),
            },
        }


def _problems(frame: pd.DataFrame, flags: dict[str, str]) -> pd.Series:
    parts = [frame[col].map({True: name + ";", False: ""}) for col, name in flags.items()]
    joined = parts[0] if parts else pd.Series("", index=frame.index)
    for part in parts[1:]:
        joined = joined + part
    return joined.str.rstrip(";")


def run_qc(
    request: QcRequest, log: RunLog | None = None, *, cross: Cross | None = None
) -> QcOutput:
    """Run the genotype QC ``request`` asks for.

    Of ``cross`` when given, else of the cross read from ``request.cross``.
    """
    from translocus.genetics import qc
    from translocus.genetics.reconstruct import count_xo, maxmarg
    from translocus.pipelines.genoprob import genotype_probabilities

    request.validate()
    log = log or RunLog()
    cross = cross_for(request.cross, log, intersection=request.intersection, cross=cross)
    probs, _ = genotype_probabilities(cross, request.error_prob, request.map_function, log)
    ids = pd.Index(list(cross.individuals), name="sample")
    with log.step("crossovers"):
        crossovers = count_xo(maxmarg(probs, minprob=request.minprob))
    with log.step("genotyping errors"):
        lod = qc.calc_errorlod(cross, probs)
        errors = pd.DataFrame(
            {c: (v.to_numpy() > request.errorlod_threshold).sum(axis=1) for c, v in lod.items()},
            index=ids,
        )
        marker_errors = pd.concat(
            [(v > request.errorlod_threshold).sum(axis=0) for v in lod.values()]
        )
    with log.step("compare genotypes"):
        comparison = qc.compare_geno(cross)
        duplicates = comparison.pairs(request.match_threshold)
        proportion = comparison.proportion.to_numpy()
        match_values = proportion[np.triu_indices(len(ids), k=1)]
        best = comparison.proportion.fillna(-1.0)
    with log.step("sex checks"):
        sex = _sex_table(request, cross, log)
    with log.step("heterozygosity and missing data"):
        het = qc.calc_het(probs)
        typed = qc.n_typed(cross)
        missing = qc.percent_missing(cross)
        dup_markers = qc.find_dup_markers(cross)
    samples = pd.DataFrame(
        {
            "sample": ids,
            "n_typed": typed.reindex(ids).to_numpy(),
            "percent_missing": missing.reindex(ids).to_numpy(),
            "het": het.reindex(ids).to_numpy(),
            "n_crossovers": crossovers.sum(axis=1).reindex(ids).to_numpy(),
            "n_errors": errors.sum(axis=1).reindex(ids).to_numpy(),
            "max_match": best.max(axis=1).where(lambda v: v >= 0).reindex(ids).to_numpy(),
            "best_match": best.idxmax(axis=1).reindex(ids).to_numpy() if len(ids) > 1 else None,
        }
    )
    samples["missing_outlier"] = samples["percent_missing"] > request.max_missing
    samples["crossover_outlier"] = robust_outliers(samples["n_crossovers"], request.outlier_mads)
    samples["error_outlier"] = robust_outliers(samples["n_errors"], request.outlier_mads)
    samples["het_outlier"] = robust_outliers(samples["het"], request.outlier_mads)
    samples["duplicate"] = samples["max_match"].fillna(0.0) >= request.match_threshold
    samples["sex_mismatch"] = (
        sex.set_index("sample")["sex_mismatch"].reindex(ids).fillna(False).astype(bool).to_numpy()
    )
    samples["problem"] = _problems(samples, {
        "duplicate": "duplicate", "missing_outlier": "missing",
        "crossover_outlier": "crossovers", "error_outlier": "errors",
        "het_outlier": "heterozygosity", "sex_mismatch": "sex",
    })  # fmt: skip
    n = max(len(ids), 1)
    markers = pd.DataFrame(
        {
            "marker": [m for c in cross.chromosomes for m in cross.gmap[c].index],
            "chr": [c for c in cross.chromosomes for _ in cross.gmap[c].index],
            "pos_cM": np.concatenate(
                [cross.gmap[c].to_numpy(float) for c in cross.chromosomes] or [np.zeros(0)]
            ),
        }
    )
    markers["n_typed"] = qc.n_typed(cross, by="marker").to_numpy()
    markers["percent_missing"] = qc.percent_missing(cross, by="marker").to_numpy()
    markers["n_errors"] = marker_errors.reindex(markers["marker"]).fillna(0).astype(int).to_numpy()
    markers["percent_errors"] = 100.0 * markers["n_errors"] / n
    markers["missing_outlier"] = markers["percent_missing"] > request.max_missing
    markers["error_outlier"] = markers["percent_errors"] > request.max_marker_errors
    markers["problem"] = _problems(markers, {"missing_outlier": "missing",
                                             "error_outlier": "errors"})  # fmt: skip
    log.count(
        "sample pairs matching", len(duplicates), f"pairs matching >= {request.match_threshold}"
    )
    log.count(
        "samples of another sex",
        int(samples["sex_mismatch"].sum()),
        "inferred sex differs from the recorded one",
    )
    log.count("samples flagged", int((samples["problem"] != "").sum()), "samples with a problem")
    log.count("markers flagged", int((markers["problem"] != "").sum()), "markers with a problem")
    return QcOutput(
        request=request,
        crosstype=cross.crosstype,
        samples=samples,
        duplicates=duplicates,
        crossovers=crossovers.reindex(ids),
        errors=errors,
        markers=markers,
        duplicate_markers=dup_markers,
        match_values=match_values,
        sex=sex,
    )


def _sex_table(request: QcRequest, cross: Cross, log: RunLog) -> pd.DataFrame:
    """The sex checks of every sample: from the X genotypes and, when given, the intensities.

    With intensities, the inferred sex and the mismatch are those of the intensities where a
    sample has them (the genotype call stays in ``inferred_sex_genotypes``).
    """
    from translocus.genetics import qc

    geno = qc.sex_check_genotypes(cross, max_male_het=request.max_male_het)
    sex = geno.rename(columns={"inferred_sex": "inferred_sex_genotypes",
                               "sex_mismatch": "mismatch_genotypes"})  # fmt: skip
    sex["inferred_sex"] = sex["inferred_sex_genotypes"]
    if request.intensities is not None:
        table = qc.read_intensities(request.intensities, cross=cross)
        known = table["sample"].isin(sex["sample"])
        log.count(
            "intensity samples dropped",
            int((~known).sum()),
            f"samples of {Path(request.intensities).name} that are not genotyped in the cross",
        )
        check = qc.sex_check_intensities(table[known], qc.recorded_sex(cross)).set_index("sample")
        ids = sex["sample"]
        sex["mean_x"] = check["mean_x"].reindex(ids).to_numpy()
        sex["mean_y"] = check["mean_y"].reindex(ids).to_numpy()
        sex["inferred_sex_intensities"] = check["inferred_sex"].reindex(ids).to_numpy()
        measured = sex["inferred_sex_intensities"].notna()
        sex.loc[measured, "inferred_sex"] = sex.loc[measured, "inferred_sex_intensities"]
    recorded = sex["recorded_sex"].astype(object)
    inferred = sex["inferred_sex"].astype(object)
    sex["sex_mismatch"] = (recorded.notna() & inferred.notna() & (recorded != inferred)).astype(
        bool
    )
    return sex
