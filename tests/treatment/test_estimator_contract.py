"""The estimator contract for the treatment engine's models, on small simulated data, and
the ConvergenceWarning of each model with an optimiser that can stop early."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
import pytest

from estimator_contract import Case, check_estimator
from translocus.core.errors import OptionError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import Provenance
from translocus.treatment import growth
from translocus.treatment.growth import GrowthModel, MixedGrowthModel
from translocus.treatment.lifespan import LifespanInterventionEffects
from translocus.treatment.predict import ResponsePredictor
from translocus.treatment.study import TreatmentStudy

OPEN = Provenance(name="synthetic", license="CC0-1.0")


def _study(n_animals: int = 6, seed: int = 0) -> TreatmentStudy:
    """Gompertz-like growth of ``n_animals`` animals in one arm, measured every 3 days."""
    rng = np.random.default_rng(seed)
    days = np.arange(0, 30, 3.0)
    rows = []
    for i in range(n_animals):
        alpha = 0.12 + 0.02 * rng.standard_normal()
        log_v = np.log(150) + alpha / 0.04 * (1 - np.exp(-0.04 * days))
        vol = np.exp(log_v + 0.05 * rng.standard_normal(len(days)))
        rows.append(pd.DataFrame({"animal": str(i), "day": days, "volume": vol}))
    frame = pd.concat(rows, ignore_index=True).assign(model="M1", arm="control")
    return TreatmentStudy.from_frame(frame, provenance=OPEN)


def _responses(seed: int = 0) -> pd.DataFrame:
    """30 PDX models x 3 drugs; drug d2 responds more often."""
    rng = np.random.default_rng(seed)
    rows = [
        {
            "model": f"P{m:02d}",
            "drug": drug,
            "responder": int(rng.random() < p),
            "best_avg_response": float(rng.normal(-30 * p, 20)),
        }
        for m in range(30)
        for drug, p in (("d1", 0.2), ("d2", 0.7), ("d3", 0.4))
    ]
    return pd.DataFrame(rows)


def _lifespans(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "animal": range(2 * n),
            "sex": "M",
            "site": np.tile(["UM", "JL"], n),
            "cohort": 2009,
            "arm": ["cont09"] * n + ["drug"] * n,
            "control": [True] * n + [False] * n,
            "main_study": True,
            "time": np.r_[rng.normal(800, 150, n), rng.normal(900, 150, n)],
            "event": 1.0,
        }
    )


STUDY = _study()
RESPONSES = _responses()
LIFESPANS = _lifespans()

CASES = [
    Case(
        "GrowthModel",
        lambda: GrowthModel("gompertz", offset=1.0, max_iter=200),
        lambda m: m.fit(STUDY),
        lambda m: m.predict([0.0, 10.0]),
    ),
    Case(
        "MixedGrowthModel",
        lambda: MixedGrowthModel(offset=1.0, random_slope=True, level=0.9),
        lambda m: m.fit(STUDY),
        lambda m: m.predict([0.0, 10.0]),
    ),
    Case(
        "ResponsePredictor",
        lambda: ResponsePredictor(feature_sets=["drug"], C=1.0, random_state=1),
        lambda m: m.fit(RESPONSES, provenance=OPEN),
        lambda m: m.predict(RESPONSES.head(3)),
    ),
    Case(
        "ResponsePredictor(regress)",
        lambda: ResponsePredictor(task="regress", feature_sets=("drug",), penalty=1.0),
        lambda m: m.fit(RESPONSES, provenance=OPEN),
        lambda m: m.predict(RESPONSES.head(3)),
    ),
    Case(
        "LifespanInterventionEffects",
        lambda: LifespanInterventionEffects(sexes=["M"], n_boot=20, random_state=1),
        lambda m: m.fit(LIFESPANS),
        lambda m: m.predict("drug", "M", [800.0]),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_estimator_contract(case: Case) -> None:
    check_estimator(case)


def test_uses() -> None:
    assert GrowthModel.use == MixedGrowthModel.use == LifespanInterventionEffects.use == "analysis"
    assert ResponsePredictor.use == "training"


def test_converged_fits_do_not_warn() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert GrowthModel("gompertz").fit(STUDY).converged_
        assert MixedGrowthModel().fit(STUDY).converged_
        assert ResponsePredictor(feature_sets=["drug"]).fit(RESPONSES, provenance=OPEN).converged_


def test_growth_model_warns_at_max_iter() -> None:
    with pytest.warns(ConvergenceWarning, match=r"6 of 6 fitted series .* max_iter=2 .*raise"):
        model = GrowthModel("gompertz", max_iter=2).fit(STUDY)
    assert not model.converged_
    assert not model.params_["converged"].any()


def test_mixed_growth_model_warns_when_reml_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    fit_lmm = growth.fit_lmm

    def stopped(*args: Any, **kwargs: Any) -> growth.MixedModelFit:
        return dataclasses.replace(fit_lmm(*args, **kwargs), converged=False)

    monkeypatch.setattr(growth, "fit_lmm", stopped)
    with pytest.warns(ConvergenceWarning, match=r"MixedGrowthModel: .* 1 of 1 mixed-model"):
        model = MixedGrowthModel().fit(STUDY)
    assert not model.converged_
    assert model.fits_["converged"].tolist() == [False]


@pytest.mark.parametrize("cls", [GrowthModel, MixedGrowthModel], ids=lambda c: c.__name__)
def test_growth_models_fit_a_plain_frame_and_record_the_analysis(cls: type) -> None:
    study = _study()
    frame = study.data[["animal", "day", "volume", "model", "arm"]]
    model = cls().fit(frame, license="MIT")
    assert model.licence_decision_.allowed and model.licence_decision_.purpose == "analysis"
    ref = cls().fit(study)
    pd.testing.assert_frame_equal(model.summary, ref.summary)
    # unstated licence: analysis is recorded, never refused
    assert cls().fit(frame).licence_decision_.dataset
    with pytest.raises(OptionError, match=r"carries its own licence"):
        cls().fit(study, license="MIT")


def test_lifespan_effects_record_the_analysis_of_a_plain_frame() -> None:
    model = LifespanInterventionEffects(sexes=["M"], n_boot=20, random_state=1)
    fitted = model.fit(LIFESPANS, license="CC-BY-4.0")
    decision = fitted.licence_decision_
    assert decision.allowed and decision.license == "CC-BY-4.0"
    assert decision.purpose == "analysis"
    assert fitted.effects_.attrs["provenance"]["license"] == "CC-BY-4.0"
