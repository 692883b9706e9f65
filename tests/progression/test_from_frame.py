"""Fitting on a plain DataFrame by naming its licence, and the one table model behind it.

The disease-course model, the mixed model and Cox take a plain frame with ``license=``:
the numbers are those of the table path (``from_frame(..., license=...)`` then ``fit``),
and a licence that forbids training is refused in one line that names the way out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import OptionError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.provenance import LicensePolicy, LicenseRefusedError, Provenance
from translocus.core.table import ProvenanceTable
from translocus.progression import (
    CoxPH,
    DiseaseCourseModel,
    LifespanForecaster,
    LifespanTable,
    LinearMixedModel,
    MeasureTable,
    from_frame,
)
from translocus.progression.lifespan_data import from_frame as lifespans_from_frame


def _cohort() -> pd.DataFrame:
    return DiseaseCourseModel.example_cohort(n_animals=24, random_state=1).data


def _panel(n: int = 24, seed: int = 0) -> pd.DataFrame:
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


def _lifespans(n: int = 80, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, n).astype(float)
    life = rng.exponential(700.0 * np.exp(-0.5 * x))
    censor = rng.uniform(300, 1400, n)
    return pd.DataFrame(
        {
            "animal": [f"a{i}" for i in range(n)],
            "time": np.minimum(life, censor),
            "event": (life <= censor).astype(float),
            "x": x,
            "sex": rng.choice(["F", "M"], n),
        }
    )


def _course(data: object, **kw: object) -> DiseaseCourseModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DiseaseCourseModel(max_iter=3).fit(
            data, measures=["a", "b"], covariates=["sex"], **kw
        )


# -- the three fits on a plain frame -------------------------------------------------------
def test_course_fit_on_plain_frame_with_license_matches_table_path() -> None:
    frame = _cohort()
    plain = _course(frame, license="MIT")
    table = _course(from_frame(frame, license="MIT"))
    pd.testing.assert_frame_equal(plain.summary, table.summary)
    np.testing.assert_array_equal(plain.gamma_tau_, table.gamma_tau_)
    assert plain.licence_decision_.allowed
    assert plain.provenance_ == Provenance(name="user data", license="MIT", source="user data")


def test_lmm_fit_on_plain_frame_with_license_matches_table_path() -> None:
    frame = _panel()
    plain = LinearMixedModel().fit(frame, covariates=["group"], license="MIT")
    table = LinearMixedModel().fit(from_frame(frame, license="MIT"), covariates=["group"])
    pd.testing.assert_frame_equal(plain.summary, table.summary)
    for key in ("beta", "D", "sigma2"):
        np.testing.assert_array_equal(plain.params_["w"][key], table.params_["w"][key])
    assert plain.licence_decision_.allowed
    assert plain.licence_decision_.purpose == "training a mixed model"


def test_cox_fit_on_plain_frame_with_license_matches_table_path() -> None:
    lives = _lifespans()
    cols = ["time", "event", "x"]
    plain = CoxPH().fit(lives[cols], license="MIT")
    bare = CoxPH().fit(lives[cols])
    table = CoxPH().fit(lifespans_from_frame(lives, license="MIT"), covariates=["x"])
    for other in (bare, table):
        pd.testing.assert_series_equal(plain.params_, other.params_)
        pd.testing.assert_series_equal(plain.standard_errors_, other.standard_errors_)
    assert plain.licence_decision_.allowed
    assert plain.licence_decision_.purpose == "analysis"
    assert table.provenance_.license == "MIT"


def test_cox_is_analysis_recorded_never_refused() -> None:
    """Cox describes the animals it is fitted on: the decision is kept, not enforced."""
    policy = LicensePolicy()
    lives = _lifespans()[["time", "event", "x"]]
    cox = CoxPH().fit(lives, license="LicenseRef-Proprietary", policy=policy)
    assert CoxPH.use == "analysis"
    assert not cox.licence_decision_.allowed
    assert policy.log[-1].purpose == "analysis"
    assert np.isfinite(cox.params_["x"])


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize("licence", ["LicenseRef-Proprietary", None])
def test_training_models_refuse_in_one_line(licence: str | None) -> None:
    for fit in (
        lambda: _course(_cohort(), license=licence),
        lambda: LinearMixedModel().fit(_panel(), license=licence),
    ):
        with pytest.raises(LicenseRefusedError) as info:
            fit()
        message = str(info.value)
        assert "\n" not in message
        assert "dataset 'user data'" in message
        assert "policy=LicensePolicy(allowed_datasets={'user data'})" in message
        if licence is None:
            assert "NOASSERTION" in message and "license='MIT'" in message
        else:
            assert "LicenseRef-Proprietary" in message and "license=" not in message
        assert "--allow-dataset" in info.value.cli_message()


def test_refusal_records_the_decision_and_policy_lets_it_through() -> None:
    policy = LicensePolicy(allowed_datasets=frozenset({"user data"}))
    model = LinearMixedModel().fit(_panel(), license="LicenseRef-Proprietary", policy=policy)
    assert model.licence_decision_.allowed
    assert policy.log[-1].reason == "dataset explicitly allowed by the policy"


def test_license_with_a_table_is_refused() -> None:
    table = from_frame(_panel(), license="MIT")
    with pytest.raises(OptionError, match="carries its own licence"):
        LinearMixedModel().fit(table, license="MIT")
    with pytest.raises(OptionError, match="carries its own licence"):
        CoxPH().fit(lifespans_from_frame(_lifespans(), license="MIT"), license="MIT")


# -- from_frame ----------------------------------------------------------------------------
def test_from_frame_maps_roles_with_columns() -> None:
    raw = _panel().rename(
        columns={"animal": "mouse", "age": "months", "value": "grams", "group": "diet"}
    )
    for columns in (
        "animal=mouse,age=months,value=grams,group=diet",
        {"animal": "mouse", "age": "months", "value": "grams", "group": "diet"},
    ):
        table = from_frame(raw, columns=columns, license="CC0-1.0", name="panel")
        assert {"animal", "age", "measure", "value", "group"} <= set(table.data.columns)
        assert table.data["group"].tolist() == raw["diet"].tolist()
        assert table.provenance.name == "panel" and table.license == "CC0-1.0"
        assert table.roles["animal"] == "animal" and "group" in table.roles
    with pytest.raises(OptionError, match="'mouse' is not a role of progress"):
        from_frame(raw, columns="mouse=mouse")
    with pytest.raises(OptionError, match="no column 'id'"):
        from_frame(raw, columns="animal=id")


def test_from_frame_licence_rules() -> None:
    frame = _panel()
    assert from_frame(frame).provenance.license == "NOASSERTION"
    assert from_frame(frame).provenance.name == "user data"
    prov = Provenance(name="mine", license="CC-BY-4.0", source="lab")
    assert from_frame(frame, provenance=prov).provenance is prov
    with pytest.raises(OptionError, match="either license= or provenance="):
        from_frame(frame, license="MIT", provenance=prov)


def test_lifespan_from_frame_maps_roles_and_units() -> None:
    raw = _lifespans().rename(columns={"animal": "mouse", "time": "weeks", "event": "dead"})
    table = LifespanTable.from_frame(
        raw, columns="animal=mouse,time=weeks,event=dead", license="MIT", time_unit="week"
    )
    assert table.units == {"time": "week"}
    assert table.n_animals == len(raw) and table.license == "MIT"
    assert table.data["time"].tolist() == raw["weeks"].tolist()


# -- the core table ------------------------------------------------------------------------
def test_tables_derive_from_the_core_table() -> None:
    measures = from_frame(_cohort(), license="MIT")
    lives = LifespanTable(_lifespans(), Provenance(name="lives", license="MIT"))
    for table, units, command in (
        (measures, {"age": "month"}, "progress"),
        (lives, {"time": "day"}, "survival"),
    ):
        assert isinstance(table, ProvenanceTable)
        assert table.units == units and table.id_column == "animal"
        assert table.command == command and table.n_rows == len(table.data)
    assert isinstance(MeasureTable.from_frame(_cohort(), license="MIT"), MeasureTable)
    females = lives.select(sex="F")
    assert isinstance(females, LifespanTable) and (females.data["sex"] == "F").all()
    assert females.provenance == lives.provenance
    noted = measures.with_notes("checked by hand")
    assert noted.notes[-1] == "checked by hand" and isinstance(noted, MeasureTable)
    assert measures.describe()["subjects"] == 24


def test_lifespan_forecaster_keeps_the_old_decision_name() -> None:
    lives = _lifespans()
    model = LifespanForecaster(group=("sex",)).fit(
        lives, provenance=Provenance(name="lives", license="MIT")
    )
    assert model.licence_decision_.allowed
    assert model.license_decision_ is model.licence_decision_
    with pytest.raises(AttributeError):
        model.license_decision_ = model.licence_decision_  # type: ignore[misc]
