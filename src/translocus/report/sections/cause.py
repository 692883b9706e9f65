"""The report's "Cause" section: genotype probabilities -> kinship -> genome scan -> thresholds
-> peaks -> allele effects, on a small Diversity Outbred dataset (DOex) or a given cross."""

from __future__ import annotations

import html
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from translocus.core.model import Cross
from translocus.core.paths import data_dir
from translocus.report.html import ReportSection, figure_html, plotly_html, table_html

__all__ = ["build_section"]


def _load_doex() -> Cross:
    from translocus.core.qtl2io import read_cross

    path = data_dir() / "qtl2" / "DOex" / "DOex.zip"
    if not path.exists():
        raise FileNotFoundError(f"{path}: the DOex example is not available (set TRANSLOCUS_DATA)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_cross(path)


def build_section(
    workdir: Path, *, quick: bool = True, cross: Cross | None = None, trait: str | None = None
) -> ReportSection:
    """Run the cause engine end to end and return the report section.

    Parameters
    ----------
    workdir
        Folder for the section's artefacts (LOD table, peaks, thresholds).
    quick
        Fewer permutations (50 instead of 200).
    cross
        A cross to analyse instead of DOex (e.g. the simulator's output).
    trait
        The phenotype to scan (default: the first).
    """
    from translocus.genetics.effects import scan1coef
    from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.peaks import find_peaks
    from translocus.genetics.permute import scan_perm
    from translocus.genetics.plot import plot_lod, plot_lod_interactive
    from translocus.genetics.results import write_table
    from translocus.genetics.scan import cross_covariates, scan

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    crs = cross if cross is not None else _load_doex()
    name = trait or str(crs.pheno.columns[0])
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    probs = calc_genoprob(crs, error_prob=0.002, map_function="c-f")
    alleles = genoprob_to_alleleprob(probs)
    timings["genotype probabilities (HMM)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    kin = calc_kinship(alleles, type="loco")
    timings["kinship (LOCO)"] = time.perf_counter() - t0
    pheno = crs.pheno[[name]].copy()
    pheno.index = [str(i) for i in pheno.index]
    has_sex = len(crs.is_female) and 0 < int(crs.is_female.sum()) < len(crs.is_female)
    addcovar, xcovar = cross_covariates(crs, ["sex"] if has_sex else [])
    t0 = time.perf_counter()
    hk = scan(pheno, alleles, addcovar=addcovar, Xcovar=xcovar)
    timings["scan, Haley-Knott"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lmm = scan(pheno, alleles, kinship=kin, addcovar=addcovar, Xcovar=xcovar)
    timings["scan, LMM (LOCO)"] = time.perf_counter() - t0
    n_perm = 50 if quick else 200
    t0 = time.perf_counter()
    perm = scan_perm(pheno, alleles, kinship=kin, addcovar=addcovar, Xcovar=xcovar,
                     n_perm=n_perm, seed=20260101)  # fmt: skip
    timings[f"permutations, LMM ({n_perm})"] = time.perf_counter() - t0
    thresholds = perm.thresholds([0.2, 0.05])
    thr5 = float(thresholds.loc[thresholds["alpha"] == 0.05, name].iloc[0])
    map_name = "pos_Mbp" if "pos_Mbp" in lmm.data.coords else "pos_cM"
    t0 = time.perf_counter()
    peaks = find_peaks(lmm, map_name=map_name, threshold=thr5, drop=1.5)
    timings["peaks"] = time.perf_counter() - t0

    write_table(lmm.to_frame(), workdir / "cause_lod.parquet")
    write_table(peaks, workdir / "cause_peaks.csv")
    write_table(thresholds, workdir / "cause_thresholds.csv")

    shown = {f"{int(a * 100)}% ({n_perm} perms)": float(v)
             for a, v in zip(thresholds["alpha"], thresholds[name], strict=True)}  # fmt: skip
    fig = plot_lod(lmm, thresholds=shown, peaks=peaks, map_name=map_name,
                   title=f"{name}: LMM (LOCO) genome scan")  # fmt: skip
    body = [
        f"<p>Cross: <b>{html.escape(crs.crosstype)}</b>, {len(alleles.samples)} individuals, "
        f"{alleles.n_markers} markers; trait <b>{html.escape(name)}</b>"
        f"{' with sex as covariate (X-chromosome covariates in the X null model)' if has_sex else ''}"
        ". Genotype probabilities by the HMM (error 0.002, Carter-Falconer map), allele "
        "dosages, leave-one-chromosome-out kinship, then Haley-Knott and linear-mixed-model "
        "scans; thresholds from permutations of the genotype probabilities (kinship and h² "
        "fixed, as R/qtl2).</p>",
        figure_html(fig, alt="LOD curve"),
        plotly_html(
            plot_lod_interactive(
                lmm, thresholds=shown, peaks=peaks, map_name=map_name, title=f"{name} (interactive)"
            )
        ),  # fmt: skip
    ]
    compare = pd.DataFrame({"HK max LOD": hk.lod.max(), "LMM max LOD": lmm.lod.max(),
                            "n": lmm.sample_size})  # fmt: skip
    hsq = lmm.hsq
    body.append("<h3>Scans and thresholds</h3>")
    body.append(table_html(compare.reset_index(names="trait")))
    body.append(table_html(thresholds))
    if hsq is not None:
        body.append("<p>Heritability of the null model per LOCO kinship:</p>")
        body.append(table_html(hsq.T.reset_index(names="trait")))
    body.append("<h3>Peaks (LOD support intervals, drop 1.5)</h3>")
    body.append(table_html(peaks) if len(peaks) else "<p>No peak above the 5% threshold.</p>")
    if len(peaks):
        top = peaks.sort_values("lod", ascending=False).iloc[0]
        coef = scan1coef(pheno[name], alleles, chrom=str(top["chr"]), kinship=kin[str(top["chr"])],
                         addcovar=addcovar)  # fmt: skip
        states = [str(s) for s in alleles[str(top["chr"])].coords["founder"].values] \
            if "founder" in alleles[str(top["chr"])].coords else []  # fmt: skip
        pos = alleles[str(top["chr"])].coords[map_name].values
        fig2, ax2 = plt.subplots(figsize=(11, 3))
        for state in states:
            ax2.plot(pos, coef[state].to_numpy(), lw=1, label=state)
        ax2.axvspan(top["ci_lo"], top["ci_hi"], color="#fdebd0", zorder=0)
        ax2.set_xlabel(f"chr {top['chr']} ({'Mbp' if map_name == 'pos_Mbp' else 'cM'})")
        ax2.set_ylabel("allele effect")
        ax2.legend(ncol=8, fontsize=7, frameon=False)
        ax2.set_title("Founder allele effects (LMM, centred) at the top peak")
        body.append(figure_html(fig2, alt="allele effects"))
        at_peak = coef.iloc[int(np.argmin(np.abs(pos - float(top["pos"]))))]
        body.append(table_html(at_peak.to_frame("estimate").reset_index(names="coefficient")))
    body.append("<h3>Timings (s)</h3>")
    body.append(table_html(pd.DataFrame({"step": list(timings),
                                         "seconds": list(timings.values())})))  # fmt: skip
    return ReportSection(title="Cause: genome scan", body="\n".join(body),
                         artefacts=[workdir / "cause_lod.parquet", workdir / "cause_peaks.csv",
                                    workdir / "cause_thresholds.csv"])  # fmt: skip
