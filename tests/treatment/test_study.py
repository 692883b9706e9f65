"""Readers of tumour-volume studies and their input checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.treatment.study import (
    TreatmentStudy,
    read_jax,
    read_long_table,
    read_pdxe,
    read_study,
    read_xeva,
)

HEADER = "model,arm,animal,day,volume\n"


def _csv(tmp_path: Path, body: str, name: str = "v.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def test_pdxe_counts_and_provenance(pdxe: TreatmentStudy) -> None:
    # 67,445 rows of TAone.volume.data.csv; 4,711 IDs, one of which (2771) carries two arms.
    assert len(pdxe.records) == 67445
    assert pdxe.n_series == 4712
    assert pdxe.n_models == 277
    assert len(pdxe.arms) == 62
    assert pdxe.control == "untreated"
    assert pdxe.provenance.license == "GPL-3.0-only"
    assert "Gao" in pdxe.provenance.citation
    assert len(pdxe.models_without_control()) == 54
    assert pdxe.records["tumor_type"].isin(["BRCA", "CM", "CRC", "GC", "NSCLC", "PDAC"]).all()
    bw = pdxe.records["body_weight"]
    assert bw.notna().sum() > 67000 and bw.max() <= 100
    assert any("body weight" in n for n in pdxe.notes)


def test_replicate_designs(pdx_dir: Path) -> None:
    tan = read_pdxe(pdx_dir / "pdxe", design="TAN")
    assert (tan.n_models, tan.n_series, tan.control) == (4, 160, "Control")
    per_arm = tan.series().groupby(["model", "arm"]).size()
    assert (per_arm == 8).all()
    one = read_pdxe(pdx_dir / "pdxe", design="oneAN")
    assert (one.n_models, one.n_series) == (1, 48)


def test_jax_layout(pdx_dir: Path) -> None:
    jax = read_jax(pdx_dir / "jax_format" / "example_study.csv")
    assert jax.n_series == 108 and jax.control == "Control"
    assert jax.series()["first_day"].min() == 1  # no day 0 in this layout
    assert "study" in jax.records
    assert read_study(pdx_dir / "jax_format" / "example_study.csv").n_series == 108


def test_xeva_subset_matches_pdxe_breast(pdx_dir: Path, pdxe: TreatmentStudy) -> None:
    xeva = read_xeva(pdx_dir / "xeva_brca")
    assert xeva.n_series == 849 and xeva.control == "untreated"
    brca = pdxe.subset(tumor_types=["BRCA"])
    # Same volumes, read through an independent route (Xeva's model.id / batch tables).
    assert len(xeva.records) == len(brca.records)
    assert np.isclose(xeva.records["volume"].sum(), brca.records["volume"].sum())


def test_long_table_with_mapping(pdx_dir: Path) -> None:
    mel = read_long_table(
        pdx_dir / "iowa" / "melanoma1.csv",
        columns={"animal": "ID", "day": "Day", "volume": "Volume", "arm": "Treatment"},
        defaults={"model": "A375"},
        control="A",
    )
    assert mel.n_series == 35 and mel.arms == ("A", "B", "C", "D")


def test_unsorted_days_are_sorted(tmp_path: Path) -> None:
    path = _csv(tmp_path, "M,ctl,1,7,150\nM,ctl,1,0,100\nM,ctl,1,14,300\n")
    study = read_long_table(path)
    assert study.records["day"].tolist() == [0, 7, 14]
    assert any("sorted" in n for n in study.notes)


def test_duplicated_days(tmp_path: Path) -> None:
    path = _csv(tmp_path, "M,ctl,1,0,100\nM,ctl,1,7,150\nM,ctl,1,7,170\n")
    with pytest.raises(InputError, match=r"v\.csv, column 'day'.*rows 3, 4.*--duplicates mean"):
        read_long_table(path)
    merged = read_long_table(path, duplicates="mean")
    assert merged.records["volume"].tolist() == [100, 160]


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("M,ctl,1,0,100\nM,ctl,1,7,-5\n", r"column 'volume': 1 negative volume.*rows 3"),
        ("M,ctl,1,0,100\nM,ctl,1,7,\n", r"column 'volume': 1 missing volume.*--missing drop"),
        ("M,ctl,1,0,100\nM,ctl,1,7,big\n", r"column 'volume': 1 value\(s\) are not numbers"),
        ("M,ctl,1,0,0\nM,ctl,1,7,500\n", r"start at volume 0"),
        ("M,ctl,1,,100\nM,ctl,1,7,50\n", r"column 'day': 1 missing day"),
    ],
)
def test_bad_volumes(tmp_path: Path, body: str, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        read_long_table(_csv(tmp_path, body))


def test_missing_volume_dropped_on_request(tmp_path: Path) -> None:
    study = read_long_table(_csv(tmp_path, "M,ctl,1,0,100\nM,ctl,1,7,\n"), missing="drop")
    assert len(study.records) == 1 and "dropped 1" in study.notes[0]


def test_body_weight_in_volume_column(tmp_path: Path) -> None:
    rows = "".join(f"M,ctl,1,{d},{24 + 0.1 * d}\n" for d in range(0, 30, 3))
    with pytest.raises(InputError, match="looks like body weight"):
        read_long_table(_csv(tmp_path, rows))
    assert read_long_table(_csv(tmp_path, rows), check_volume_range=False).n_series == 1


def test_missing_column_and_mapping(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Tumor,Arms,Times,Volume\nM,ctl,0,100\n")
    with pytest.raises(InputError, match="'Day' not found"):
        read_long_table(path, columns={"day": "Day"})
    path.write_text("Arms,Times\nctl,0\n")
    with pytest.raises(InputError, match="missing column"):
        read_long_table(path)


def test_no_control_arm_is_reported() -> None:
    df = pd.DataFrame(
        {"model": "M", "arm": "drug", "animal": "1", "day": [0, 7], "volume": [100.0, 120]}
    )
    study = TreatmentStudy.from_frame(df, control="untreated", source="s.csv")
    with pytest.raises(InputError, match=r"s\.csv, column 'arm': no control arm named 'untreated'"):
        study.require_control()
    assert study.models_without_control() == ["M"]


def test_to_xarray_pads_series() -> None:
    df = pd.DataFrame(
        {
            "model": "M",
            "arm": ["a", "a", "a", "b", "b"],
            "animal": "1",
            "day": [0, 3, 6, 0, 3],
            "volume": [100.0, 120, 140, 100, 90],
        }
    )
    ds = TreatmentStudy.from_frame(df).to_xarray()
    assert ds["volume"].dims == ("series", "obs")
    assert ds["volume"].shape == (2, 3)
    assert np.isnan(ds["volume"].values[1, 2])
