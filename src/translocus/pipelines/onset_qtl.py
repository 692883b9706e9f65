"""Progression as a trait: map the loci that shift disease onset, end to end.

A Diversity Outbred × 5xFAD study is simulated: every DO mouse carries the transgene, its
age at onset is shifted by founder alleles at a few loci (plus sex and noise), and three
biomarkers are measured repeatedly as the disease unfolds. The pipeline then does what a
scientist would do with real data:

1. fit the disease-course model to the repeated measures (no genotypes used), giving each
   animal an onset shift ``tau`` and a speed;
2. compute DO genotype probabilities, allele probabilities and LOCO kinship;
3. scan ``tau`` with the linear mixed model (sex as covariate) and find the peaks;
4. compare the peaks with the simulated loci.

Examples
--------
>>> study = simulate_onset_study(n=60, n_markers=300, seed=3)
>>> study.measurements.data["measure"].nunique(), study.truth.shape[0]
(3, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from translocus.core.model import Cross
from translocus.core.simulate import QTL, SimulatedCross, simulate_cross
from translocus.genetics.results import ScanResult
from translocus.progression.data import MeasureTable, from_frame

__all__ = [
    "DEFAULT_ONSET_QTL",
    "OnsetQTLResult",
    "OnsetStudy",
    "map_onset_qtl",
    "simulate_onset_study",
]

#: Two onset loci (effects in months per copy of founder alleles A–H; positive = later).
DEFAULT_ONSET_QTL: tuple[QTL, ...] = (
    QTL(trait="onset", chrom="4", pos_cM=45.0, effects=(0.0, 0.0, 0.0, 0.0, 0.0, 1.6, 1.6, 0.0)),
    QTL(trait="onset", chrom="11", pos_cM=35.0, effects=(0.0, 0.0, 0.0, -1.4, -1.4, 0.0, 0.0, 0.0)),
)

#: Biomarkers: (name, baseline log-level, rise on the log scale, width of the rise in months).
_BIOMARKERS: tuple[tuple[str, float, float, float], ...] = (
    ("plaque_density", 0.0, 3.0, 1.5),
    ("plasma_nfl", 2.5, 1.2, 2.5),
    ("gfap", 1.0, 1.8, 2.0),
)


@dataclass(frozen=True)
class OnsetStudy:
    """A simulated DO × 5xFAD study with its truth.

    Attributes
    ----------
    sim
        The simulated DO cross (genotypes and founder mosaic).
    measurements
        Long table ``animal, age (months), measure, value, sex`` with its provenance.
    onset
        True age at onset of every animal (months).
    truth
        One row per onset locus: ``chrom``, ``pos_cM`` and the per-allele effects.
    """

    sim: SimulatedCross
    measurements: MeasureTable
    onset: pd.Series
    truth: pd.DataFrame

    @property
    def cross(self) -> Cross:
        return self.sim.cross


def simulate_onset_study(
    *,
    n: int = 300,
    seed: int = 1,
    n_markers: int = 2000,
    qtl: Sequence[QTL] = DEFAULT_ONSET_QTL,
    ages: Sequence[float] = (3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0),
    mean_onset: float = 8.0,
    female_shift: float = -1.0,
    onset_sd: float = 0.7,
    speed_sd: float = 0.1,
    noise_sd: float = 0.15,
) -> OnsetStudy:
    """Simulate a DO × 5xFAD study whose onset age is shifted by founder alleles at ``qtl``.

    Parameters
    ----------
    n, seed, n_markers
        DO mice, random seed, markers over the genome.
    qtl
        Onset loci; ``effects`` are months per copy of each founder allele.
    ages
        Visit ages (months); each animal is measured at all of them.
    mean_onset, female_shift, onset_sd
        Onset of a male with no effect alleles, the female shift (5xFAD females progress
        earlier) and the residual SD of onset (months).
    speed_sd, noise_sd
        SD of the log speed of progression, and of measurement noise on the log scale.
    """
    sim = simulate_cross(cross_type="do", n=n, seed=seed, n_markers=n_markers, n_traits=1)
    rng = np.random.default_rng([seed, 5])
    samples = list(sim.cross.individuals)
    female = sim.cross.is_female.loc[samples].to_numpy()
    onset = np.full(n, mean_onset) + female_shift * female
    rows = []
    for locus in qtl:
        dosage = sim.mosaic.allele_dosage(chrom=locus.chrom, pos_cM=locus.pos_cM)
        effect = dosage.sel(sample=samples).to_numpy() @ np.asarray(locus.effects, dtype=float)
        onset = onset + effect
        rows.append(
            {
                "chrom": locus.chrom,
                "pos_cM": locus.pos_cM,
                "variance": float(np.var(effect)),
                **{f"effect_{a}": e for a, e in zip(sim.cross.alleles, locus.effects, strict=True)},
            }
        )
    onset = onset + rng.normal(0.0, onset_sd, n)
    speed = np.exp(rng.normal(0.0, speed_sd, n))
    level = rng.normal(0.0, 0.1, (n, len(_BIOMARKERS)))
    records = []
    for i, sample in enumerate(samples):
        for age in ages:
            disease_age = speed[i] * (age - onset[i])
            for k, (name, base, rise, width) in enumerate(_BIOMARKERS):
                log_value = base + rise / (1.0 + np.exp(-disease_age / width)) + level[i, k]
                value = float(np.exp(log_value + rng.normal(0.0, noise_sd)))
                records.append((sample, age, name, value, "F" if female[i] else "M"))
    frame = pd.DataFrame(records, columns=["animal", "age", "measure", "value", "sex"])
    table = from_frame(frame, name="simulated_do_5xfad", license="CC0-1.0")
    return OnsetStudy(
        sim=sim,
        measurements=table,
        onset=pd.Series(onset, index=samples, name="onset_age"),
        truth=pd.DataFrame(rows),
    )


@dataclass(frozen=True)
class OnsetQTLResult:
    """What :func:`map_onset_qtl` found, next to the truth.

    Attributes
    ----------
    effects
        Per animal: estimated onset shift ``tau`` and speed, and the true onset age.
    lod
        The genome scan of ``tau`` (:class:`~translocus.genetics.results.ScanResult`).
    peaks
        Peaks above ``threshold`` with 1.5-LOD support intervals (cM).
    recovered
        One row per simulated locus: the nearest peak on its chromosome, its LOD and the
        distance in cM (``NaN`` when no peak on that chromosome).
    onset_correlation
        Correlation of the estimated ``tau`` with the true onset age.
    """

    effects: pd.DataFrame
    lod: ScanResult
    peaks: pd.DataFrame
    recovered: pd.DataFrame
    onset_correlation: float


def map_onset_qtl(
    study: OnsetStudy, *, threshold: float = 6.0, max_iter: int = 60
) -> OnsetQTLResult:
    """Fit the disease-course model, scan the per-animal onset shift, compare with truth."""
    from translocus.genetics import calc_genoprob, calc_kinship, genoprob_to_alleleprob
    from translocus.genetics.peaks import find_peaks
    from translocus.genetics.scan import cross_covariates, scan
    from translocus.progression.course import DiseaseCourseModel

    # the onset shifts are the phenotype, not forecasts: their prior SD is estimated (a
    # fixed one would shrink them) and no animals are held out for interval calibration
    course = DiseaseCourseModel(
        max_iter=max_iter, onset_sd=None, speed_sd=None, calibration="none"
    ).fit(study.measurements, covariates=["sex"])
    effects = course.animal_effects_().set_index("animal")
    effects.index = effects.index.astype(str)
    effects["onset_true"] = study.onset.reindex(effects.index)
    correlation = float(np.corrcoef(effects["tau"], effects["onset_true"])[0, 1])

    cross = study.cross
    probs = genoprob_to_alleleprob(calc_genoprob(cross, error_prob=0.002))
    kinship = calc_kinship(probs, type="loco")
    sex, _ = cross_covariates(cross, ["sex"])
    pheno = effects[["tau"]].rename(columns={"tau": "onset_shift"})
    result = scan(pheno, probs, kinship=kinship, addcovar=sex)
    peaks = find_peaks(result, map_name="pos_cM", threshold=threshold, drop=1.5)
    rows = []
    for locus in study.truth.itertuples(index=False):
        on_chr = peaks[peaks["chr"].astype(str) == str(locus.chrom)]
        if len(on_chr):
            best = on_chr.iloc[int(np.argmin(np.abs(on_chr["pos"] - locus.pos_cM)))]
            rows.append(
                {
                    "chrom": locus.chrom,
                    "true_cM": locus.pos_cM,
                    "peak_cM": float(best["pos"]),
                    "lod": float(best["lod"]),
                    "distance_cM": float(abs(best["pos"] - locus.pos_cM)),
                    "ci_lo": float(best["ci_lo"]),
                    "ci_hi": float(best["ci_hi"]),
                }
            )
        else:
            rows.append({"chrom": locus.chrom, "true_cM": locus.pos_cM, "distance_cM": np.nan})
    return OnsetQTLResult(
        effects=effects,
        lod=result,
        peaks=peaks,
        recovered=pd.DataFrame(rows),
        onset_correlation=correlation,
    )
