"""One vocabulary across the estimators: ``level`` for interval probability, ``alpha`` only for
significance, ``random_state`` for seeds.

Covered: the progression and survival models (``DiseaseCourseModel``, ``AgeTrajectoryModel``,
``LinearMixedModel``, ``KaplanMeier``, ``NelsonAalen``, ``ParametricSurvival``, ``CoxPH``,
``GammaFrailtyCox``, ``AalenJohansen``, ``LifespanForecaster``) and the treatment models
(``GrowthModel``, ``MixedGrowthModel``, ``ResponsePredictor``,
``LifespanInterventionEffects``), and the forecast and survival functions that take an
interval probability or a seed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.intervals import normal_quantile
from translocus.core.provenance import LicenseRefusedError
from translocus.progression import course, forecast, survival, trajectory
from translocus.treatment import growth, lifespan, predict

ESTIMATORS: list[type] = [
    course.DiseaseCourseModel,
    trajectory.AgeTrajectoryModel,
    forecast.LinearMixedModel,
    survival.KaplanMeier,
    survival.NelsonAalen,
    survival.ParametricSurvival,
    survival.CoxPH,
    survival.GammaFrailtyCox,
    survival.AalenJohansen,
    survival.LifespanForecaster,
    growth.GrowthModel,
    growth.MixedGrowthModel,
    predict.ResponsePredictor,
    lifespan.LifespanInterventionEffects,
]

FUNCTIONS: list[Callable[..., Any]] = [
    forecast.last_value_forecast,
    forecast.LinearMixedModel.forecast,
    survival.fit_parametric_by,
    survival.survival_table,
    survival.forecast_calibration,
    survival.forecast_backtest,
    lifespan.lifespan_effects,
    predict.cross_validate_response,
]

#: Names the vocabulary replaces: an interval given by ``alpha`` is ``level``, several
#: interval probabilities are ``level`` too, and a seed is ``random_state``.
RETIRED = {"alpha", "levels", "seed"}


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimator_parameters_use_the_vocabulary(cls: type) -> None:
    params = cls().get_params(deep=False)
    assert not RETIRED & set(params), f"{cls.__name__}: {sorted(RETIRED & set(params))}"


@pytest.mark.parametrize("func", FUNCTIONS, ids=lambda f: f.__qualname__)
def test_function_arguments_use_the_vocabulary(func: Callable[..., Any]) -> None:
    names = set(inspect.signature(func).parameters)
    assert not RETIRED & names, f"{func.__qualname__}: {sorted(RETIRED & names)}"


def test_interval_estimators_take_level() -> None:
    for cls in (
        survival.KaplanMeier,
        survival.NelsonAalen,
        survival.ParametricSurvival,
        survival.CoxPH,
        survival.GammaFrailtyCox,
        survival.AalenJohansen,
        lifespan.LifespanInterventionEffects,
    ):
        assert cls().get_params()["level"] == 0.95, cls.__name__
    assert forecast.LinearMixedModel().get_params()["level"] == (0.5, 0.9)
    assert survival.LifespanForecaster().get_params()["level"] == (0.5, 0.9)


def test_survival_interval_is_unchanged_by_the_rename() -> None:
    km = survival.KaplanMeier(level=0.9).fit([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1])
    ref = survival.KaplanMeier().fit([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1])
    assert normal_quantile(0.95) == pytest.approx(1.959963984540054, abs=1e-15)
    width_90 = (km.table_["upper"] - km.table_["lower"]).iloc[0]
    width_95 = (ref.table_["upper"] - ref.table_["lower"]).iloc[0]
    assert width_90 < width_95


def test_time_to_event_column_is_named_time() -> None:
    for func in (
        survival.CoxPH.fit,
        survival.GammaFrailtyCox.fit,
        survival.cause_specific_cox,
        survival.LifespanForecaster.fit,
        survival.LifespanForecaster.pit,
    ):
        names = set(inspect.signature(func).parameters)
        assert "time" in names and "duration" not in names, func.__qualname__


def test_lifespan_forecaster_takes_a_plain_frame_with_its_licence() -> None:
    rng = np.random.default_rng(0)
    lives = pd.DataFrame(
        {"time": rng.gamma(9.0, 100.0, 60), "event": 1, "sex": np.repeat(["F", "M"], 30)}
    )
    model = survival.LifespanForecaster(group=("sex",)).fit(lives, license="MIT")
    assert model.licence_decision_.allowed
    with pytest.raises(LicenseRefusedError, match=r"license='SPDX'"):
        survival.LifespanForecaster(group=("sex",)).fit(lives)


def test_progression_models_keep_the_age_unit() -> None:
    rng = np.random.default_rng(1)
    rows = [
        (f"a{i}", age, "w", 20.0 + 0.5 * age + rng.normal(), "tg" if i % 2 else "ctrl", "F")
        for i in range(16)
        for age in (3.0, 6.0, 9.0, 12.0)
    ]
    frame = pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "mouse_model", "sex"])
    traj = trajectory.AgeTrajectoryModel(n_boot=0).fit(frame, control="ctrl", license="MIT")
    assert traj.units_["age"] == "month"
    assert forecast.LinearMixedModel().fit(frame, license="MIT").units_["age"] == "month"
