"""Progression as a trait: the onset loci of a simulated DO x 5xFAD study are recovered."""

from __future__ import annotations

import numpy as np
import pytest

from translocus.pipelines.onset_qtl import map_onset_qtl, simulate_onset_study


@pytest.fixture(scope="module")
def result():
    study = simulate_onset_study(n=300, seed=1, n_markers=1500)
    return study, map_onset_qtl(study)


def test_simulated_onset_follows_the_founder_effects(result):
    study, _ = result
    # The realised variance of each locus equals that of its founder-dosage effect.
    assert (study.truth["variance"] > 0.2).all()
    females = study.cross.is_female.loc[study.onset.index].to_numpy()
    # 5xFAD females start earlier: the simulated shift is -1 month.
    diff = study.onset[females].mean() - study.onset[~females].mean()
    assert -1.6 < diff < -0.4


def test_course_model_recovers_each_animals_onset(result):
    _, res = result
    assert res.onset_correlation > 0.9


def test_onset_loci_recovered_within_5_cM(result):
    """The issue's acceptance: a LOD peak within 5 cM of each simulated locus."""
    _, res = result
    assert len(res.recovered) == 2
    assert (res.recovered["distance_cM"] <= 5.0).all(), res.recovered
    assert (res.recovered["lod"] >= 6.0).all()
    # No false peak elsewhere in the genome above the threshold.
    true_chroms = set(res.recovered["chrom"].astype(str))
    assert set(res.peaks["chr"].astype(str)) <= true_chroms
    # Support intervals contain the truth.
    rec = res.recovered
    assert np.all((rec["ci_lo"] <= rec["true_cM"]) & (rec["true_cM"] <= rec["ci_hi"]))
