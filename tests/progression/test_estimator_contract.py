"""The estimator contract for the progression and survival models, on small simulated data.

Each model is fitted on a few dozen animals; the contract itself (parameters, ``clone``,
``NotFittedError``, ``fit`` returning ``self``, ``summary`` as a DataFrame) is checked by
:func:`estimator_contract.check_estimator`. The last tests make each optimiser stop early
and check that it says so with a :class:`ConvergenceWarning`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from estimator_contract import Case, check_estimator
from translocus.core import mixed as mixed_module
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import Provenance
from translocus.progression import survival as survival_module
from translocus.progression.course import DiseaseCourseModel
from translocus.progression.data import MeasureTable, from_frame
from translocus.progression.forecast import LinearMixedModel
from translocus.progression.survival import (
    AalenJohansen,
    CoxPH,
    GammaFrailtyCox,
    KaplanMeier,
    LifespanForecaster,
    NelsonAalen,
    ParametricSurvival,
)
from translocus.progression.trajectory import AgeTrajectoryModel


def _cohort() -> MeasureTable:
    return DiseaseCourseModel.example_cohort(n_animals=24, random_state=1)


def _panel(n: int = 30, seed: int = 0) -> pd.DataFrame:
    """Random intercept and slope per animal around log value 3 + 0.02 age, two groups."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        b0, b1 = rng.normal(0, 0.2), rng.normal(0, 0.01)
        group = "A" if i % 2 else "B"
        for age in np.arange(3.0, 27.0, 3.0):
            mean = 3.0 + 0.02 * age + b0 + b1 * (age - 15) + (0.1 if group == "B" else 0.0)
            rows.append((f"m{i}", age, "w", float(np.exp(mean + rng.normal(0, 0.05))), group))
    return pd.DataFrame(rows, columns=["animal", "age", "measure", "value", "group"])


def _trajectories() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model, shift in (("ctrl", 0.0), ("tg", 1.0)):
        for age in (2.0, 4.0, 6.0, 8.0, 10.0, 12.0):
            for k in range(4):
                effect = shift * max(0.0, age - 5.0) / 3
                value = float(np.exp(1.0 + effect + rng.normal(0, 0.1)))
                rows.append((f"{model}{age}{k}", age, "m", model, value))
    return pd.DataFrame(rows, columns=["animal", "age", "measure", "mouse_model", "value"])


def _lifespans(n: int = 120, seed: int = 3) -> pd.DataFrame:
    """Gompertz lifespans (days) of two strains, two sexes, eight cohorts, some censored."""
    rng = np.random.default_rng(seed)
    strain = rng.choice(["B6", "HET3"], n)
    sex = rng.choice(["F", "M"], n)
    cohort = rng.integers(0, 8, n)
    frailty = rng.gamma(2.0, 0.5, 8)[cohort]
    x = (strain == "HET3").astype(float)
    a, b = 2e-4, 0.008
    u = rng.uniform(size=n)
    life = np.log1p(-b * np.log(u) / (a * frailty * np.exp(-0.4 * x))) / b
    censor = rng.uniform(500, 1400, n)
    return pd.DataFrame(
        {
            "time": np.minimum(life, censor),
            "event": (life <= censor).astype(float),
            "x": x,
            "strain": strain,
            "sex": sex,
            "cohort": cohort.astype(str),
            "cause": np.where(life <= censor, np.where(u < 0.4, "tumour", "other"), "0"),
        }
    )


_LIVES = _lifespans()
_OPEN = Provenance(name="simulated", license="CC0-1.0")


def _fit_course(m: DiseaseCourseModel) -> DiseaseCourseModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return m.fit(_cohort(), measures=["a", "b"], covariates=["sex"])


def _lmm_forecast(m: LinearMixedModel) -> Any:
    frame = _panel()
    targets = frame[frame["age"] == 24.0][["animal", "age", "measure"]]
    return m.forecast(frame[frame["age"] < 24.0], targets)


CASES = [
    Case(
        "DiseaseCourseModel",
        lambda: DiseaseCourseModel(max_iter=3),
        _fit_course,
        lambda m: m.personalize(_cohort()),
    ),
    Case(
        "AgeTrajectoryModel",
        lambda: AgeTrajectoryModel(n_boot=10),
        lambda m: m.fit(
            from_frame(_trajectories(), name="traj", license="CC0-1.0"),
            group=["mouse_model"],
            control="ctrl",
        ),
        lambda m: m.predict([6.0]),
    ),
    Case(
        "LinearMixedModel",
        lambda: LinearMixedModel(),
        lambda m: m.fit(
            from_frame(_panel(), name="panel", license="CC0-1.0"), covariates=["group"]
        ),
        _lmm_forecast,
    ),
    Case(
        "KaplanMeier",
        lambda: KaplanMeier(),
        lambda m: m.fit(_LIVES.time, _LIVES.event),
        lambda m: m.survival_at([600.0]),
    ),
    Case(
        "NelsonAalen",
        lambda: NelsonAalen(),
        lambda m: m.fit(_LIVES.time, _LIVES.event),
        lambda m: m.predict([600.0]),
    ),
    Case(
        "ParametricSurvival",
        lambda: ParametricSurvival("gompertz"),
        lambda m: m.fit(_LIVES.time, _LIVES.event),
        lambda m: m.predict([600.0]),
    ),
    Case(
        "CoxPH",
        lambda: CoxPH(),
        lambda m: m.fit(_LIVES[["time", "event", "x"]]),
        lambda m: m.predict_survival_function(_LIVES.head(3), [600.0]),
    ),
    Case(
        "GammaFrailtyCox",
        lambda: GammaFrailtyCox(),
        lambda m: m.fit(_LIVES[["time", "event", "x", "cohort"]], cluster="cohort"),
        lambda m: m.predict(_LIVES.head(3)),
    ),
    Case(
        "AalenJohansen",
        lambda: AalenJohansen(),
        lambda m: m.fit(_LIVES.time, _LIVES.cause),
        lambda m: m.predict([600.0], "tumour"),
    ),
    Case(
        "LifespanForecaster",
        lambda: LifespanForecaster(),
        lambda m: m.fit(_LIVES, provenance=_OPEN),
        lambda m: m.predict(_LIVES.head(3).assign(age=300.0)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_estimator_contract(case: Case) -> None:
    check_estimator(case)


def test_use_is_declared() -> None:
    """Forecasters for other animals are training; descriptions of these data are analysis."""
    training = {DiseaseCourseModel, LinearMixedModel, LifespanForecaster}
    for case in CASES:
        model = case.make()
        assert model.use == ("training" if type(model) in training else "analysis"), case.name


def test_validation_happens_in_fit() -> None:
    """Bad options are stored as given (``clone`` works) and refused by ``fit``."""
    from translocus.core.errors import InputError

    cox = clone(CoxPH(ties="exact"))
    with pytest.raises(InputError, match="ties='exact'"):
        cox.fit(_LIVES[["time", "event", "x"]])
    par = clone(ParametricSurvival("lognormal"))
    with pytest.raises(InputError, match="'lognormal' is not supported"):
        par.fit(_LIVES.time, _LIVES.event)


def test_course_model_warns_at_max_iter() -> None:
    with pytest.warns(ConvergenceWarning, match=r"DiseaseCourseModel stopped after max_iter=2"):
        model = DiseaseCourseModel(max_iter=2).fit(_cohort(), measures=["a", "b"])
    assert model.converged_ is False and model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DiseaseCourseModel(max_iter=20, tol=0.5).fit(_cohort(), measures=["a", "b"])
    assert model.converged_ is True and model.n_iter_ < 20


def test_mixed_model_warns_when_the_optimiser_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    table = from_frame(_panel(), name="panel", license="CC0-1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert LinearMixedModel().fit(table).converged_ is True
    minimize = mixed_module.optimize.minimize

    def few_steps(*args: Any, **kwargs: Any) -> Any:
        return minimize(*args, **{**kwargs, "options": {**kwargs["options"], "maxiter": 5}})

    monkeypatch.setattr(mixed_module.optimize, "minimize", few_steps)
    with pytest.warns(ConvergenceWarning, match=r"LinearMixedModel.*did not converge.*w \("):
        model = LinearMixedModel().fit(table)
    assert model.converged_ is False


def test_cox_warns_when_newton_runs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _LIVES[["time", "event", "x"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert CoxPH().fit(data).converged_ is True
    monkeypatch.setattr(survival_module, "_NEWTON_MAX_ITER", 1)
    with pytest.warns(ConvergenceWarning, match=r"CoxPH: Newton-Raphson stopped after 1 "):
        model = CoxPH().fit(data)
    assert model.converged_ is False


def test_frailty_warns_when_em_runs_out() -> None:
    data = _LIVES[["time", "event", "x", "cohort"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        full = GammaFrailtyCox().fit(data, cluster="cohort")
    assert full.converged_ is True and full.theta_ > 0
    with pytest.warns(ConvergenceWarning, match=r"GammaFrailtyCox: the EM .* max_em_iter=1 "):
        model = GammaFrailtyCox(max_em_iter=1).fit(data, cluster="cohort")
    assert model.converged_ is False


def test_every_forecaster_writes_the_forecast_table_columns() -> None:
    """point and lower_/upper_<level> on the data's scale, whatever the model."""
    wanted = {"point", "lower_0.5", "upper_0.5", "lower_0.9", "upper_0.9"}
    cohort = _cohort()
    course = _fit_course(DiseaseCourseModel(max_iter=3))
    history = cohort.data[cohort.data["age"] < cohort.data["age"].max()]
    targets = cohort.data.drop(history.index)[["animal", "age", "measure", "value"]]
    tables = {
        "course": course.forecast(history, targets, level=(0.5, 0.9)),
        "lmm": _lmm_forecast(LinearMixedModel().fit(_panel(), license="CC0-1.0")),
        "trajectory": AgeTrajectoryModel(n_boot=0)
        .fit(_trajectories(), group=["mouse_model"], control="ctrl", license="CC0-1.0")
        .predict([6.0], level=(0.5, 0.9)),
        "lifespan": LifespanForecaster()
        .fit(_LIVES, license="CC0-1.0")
        .predict(_LIVES.head(5).assign(age=300.0)),
    }
    for name, table in tables.items():
        assert wanted <= set(table.columns), name
        ok = table.dropna(subset=["point"])
        assert len(ok), name
        assert (ok["lower_0.9"] <= ok["lower_0.5"]).all(), name
        assert (ok["lower_0.5"] <= ok["point"]).all() and (ok["point"] <= ok["upper_0.5"]).all()
        assert (ok["upper_0.5"] <= ok["upper_0.9"]).all(), name
    # on the data's scale: the course model's point forecasts are in the values' range
    values = cohort.data["value"]
    assert tables["course"]["point"].between(values.min() / 3, values.max() * 3).all()
