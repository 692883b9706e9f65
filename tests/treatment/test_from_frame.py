"""``translocus.treatment.from_frame``: a tumour-volume study from a plain DataFrame."""

from __future__ import annotations

import pandas as pd
import pytest

from translocus.core.errors import InputError, OptionError
from translocus.core.provenance import Provenance
from translocus.core.table import ProvenanceTable
from translocus.treatment import TreatmentStudy, from_frame, response_metrics


def _volumes() -> pd.DataFrame:
    rows = []
    for model in ("M1", "M2"):
        for arm, growth in (("ctl", 1.4), ("drug", 0.9)):
            for animal in ("1", "2"):
                volume = 100.0
                for day in (0, 7, 14, 21):
                    rows.append((model, arm, animal, day, volume))
                    volume *= growth
    return pd.DataFrame(rows, columns=["model", "arm", "animal", "day", "volume"])


_OWN = {"model": "Tumor", "arm": "Treatment", "animal": "Mouse", "day": "Day", "volume": "mm3"}


def test_columns_map_roles_to_the_same_study() -> None:
    canonical = TreatmentStudy.from_frame(_volumes(), control="ctl", license="MIT")
    renamed = _volumes().rename(columns=_OWN)
    for columns in (_OWN, ",".join(f"{role}={col}" for role, col in _OWN.items())):
        study = from_frame(renamed, columns=columns, license="MIT", control="ctl")
        pd.testing.assert_frame_equal(study.records, canonical.records)
        assert study.provenance.license == "MIT" and study.provenance.name == "user data"
        pd.testing.assert_frame_equal(response_metrics(study), response_metrics(canonical))


def test_licence_rules_and_defaults() -> None:
    one_model = _volumes().query("model == 'M1'").drop(columns="model")
    study = from_frame(one_model, name="a375")
    assert study.provenance.license == "NOASSERTION" and study.models == ("a375",)
    prov = Provenance(name="lab", license="CC-BY-4.0")
    assert from_frame(_volumes(), provenance=prov).provenance is prov
    with pytest.raises(OptionError, match="either license= or provenance="):
        from_frame(_volumes(), license="MIT", provenance=prov)
    with pytest.raises(OptionError, match="'dose' is not a role of respond"):
        from_frame(_volumes(), columns="dose=arm")
    with pytest.raises(InputError, match="missing column"):
        from_frame(_volumes().drop(columns="volume"))


def test_study_is_a_core_table() -> None:
    study = from_frame(_volumes(), license="MIT", control="ctl")
    assert isinstance(study, ProvenanceTable)
    assert study.data is study.records and study.n_rows == len(study.records)
    assert study.id_column == "model" and study.command == "respond"
    assert study.units == {"day": "day", "volume": "mm3", "body_weight": "g"}
    assert set(study.roles) == {"model", "arm", "animal", "day", "volume"}
    treated = study.select(arm="drug")
    assert isinstance(treated, TreatmentStudy) and treated.arms == ("drug",)
    assert treated.control == "ctl" and treated.provenance == study.provenance
    # the positional constructor of a study is unchanged
    again = TreatmentStudy(study.records, "ctl", study.provenance, "t.csv")
    assert again.source == "t.csv" and again.id_column == "model"
