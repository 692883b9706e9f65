"""Readers of progression data: ages, duplicates, bad values, licences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.progression.data import (
    DAYS_PER_MONTH,
    from_frame,
    parse_ages,
    read_long_csv,
    read_model_ad,
    read_slam,
)


def test_parse_ages_units() -> None:
    assert parse_ages(pd.Series([1.0, 2.0]), unit="year").tolist() == [12.0, 24.0]
    days = parse_ages(pd.Series(["30.4375 d", "60.875 days"]))
    assert np.allclose(days, [1.0, 2.0])
    weeks = parse_ages(pd.Series(["4 wk"]))
    assert np.isclose(weeks[0], 28 / DAYS_PER_MONTH)


def test_parse_ages_mixed_units_refused() -> None:
    with pytest.raises(InputError, match="mixed units"):
        parse_ages(pd.Series(["4 months", "120 d"]), source="ages.csv")


def test_parse_ages_bad_text_names_rows() -> None:
    with pytest.raises(InputError, match=r"ages.csv, column 'age'.*rows 3"):
        parse_ages(pd.Series(["4", "eight"]), source="ages.csv")


def test_duplicates_mean_first_error() -> None:
    raw = pd.DataFrame(
        {"animal": ["a", "a", "b"], "age": [4, 4, 4], "measure": "w", "value": [1.0, 3.0, 5.0]}
    )
    averaged = from_frame(raw, name="t")
    assert averaged.data.set_index("animal").loc["a", "value"] == 2.0
    assert "1 duplicated visits averaged" in averaged.notes
    first = from_frame(raw, name="t", duplicates="first")
    assert first.data.set_index("animal").loc["a", "value"] == 1.0
    with pytest.raises(InputError, match="duplicated visits"):
        from_frame(raw, name="t", duplicates="error")


def test_values_not_numbers(tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("animal,age,measure,value\na,4,w,1.0\nb,4,w,oops\n")
    with pytest.raises(InputError, match=r"bad.csv, column 'value'.*rows 3"):
        read_long_csv(path)


def test_missing_columns(tmp_path) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("mouse,age,value\na,4,1\n")
    with pytest.raises(InputError, match="missing column"):
        read_long_csv(path)


def test_model_ad_reader(shared_data) -> None:
    table = read_model_ad(model_group="5xFAD", measures=["Plaque Density (Thio-S)"])
    assert table.provenance.license == "LicenseRef-AD-Knowledge-Portal-Terms"
    assert set(table.data["mouse_model"]) == {"5xFAD", "C57BL/6J"}
    assert set(table.data["age"]) == {4.0, 8.0, 12.0, 18.0}
    assert {"animal", "age", "measure", "tissue", "value", "sex"} <= set(table.data.columns)
    with pytest.raises(InputError, match="no measure"):
        read_model_ad(measures=["not a measure"])


def test_slam_reader(shared_data) -> None:
    table = read_slam()
    assert table.provenance.license == "MIT"
    assert set(table.data["measure"]) == {"body_weight", "fat_mass", "lean_mass"}
    # ages are months since birth; SLAM scans start after weaning and end before 4 years
    assert table.data["age"].min() > 2.0 and table.data["age"].max() < 48.0
    assert not table.data.duplicated(["animal", "age", "measure"]).any()
    assert any("duplicated visits averaged" in note for note in table.notes)
    bw = table.data[table.data["measure"] == "body_weight"]["value"]
    assert bw.max() < 150.0  # the 2,535 g recording error is dropped
