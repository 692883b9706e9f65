"""mRECIST and response metrics against hand-computed cases, a plain per-series
implementation of Gao et al. (2015)'s definitions, and the Xeva copy of the breast data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.treatment.metrics import (
    arm_response,
    category_counts,
    mrecist_category,
    response_metrics,
    tumor_growth_inhibition,
)
from translocus.treatment.study import TreatmentStudy, read_xeva


def _one(days: list[float], vols: list[float], **kw: object) -> pd.Series:
    df = pd.DataFrame({"model": "M", "arm": "drug", "animal": "1", "day": days, "volume": vols})
    study = TreatmentStudy.from_frame(df, check_volume_range=False)
    return response_metrics(study, **kw).iloc[0]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("days", "vols", "br", "bar", "category"),
    [
        # ΔV = 0, -40, -70, -98; running mean 0, -20, -36.67, -52; from day 10: -98 / -52.
        ([0, 5, 10, 15], [100, 60, 30, 2], -98.0, -52.0, "CR"),
        # BR exactly -95 is not < -95 (strict, as in the paper): PR, not CR.
        ([0, 10], [100, 5], -95.0, -47.5, "PR"),
        ([0, 10], [100, 134.9], 34.9, 17.45, "SD"),
        ([0, 10], [100, 135], 35.0, 17.5, "PD"),
        # BestResponse 0 but the running mean stays high: PD on the average.
        ([0, 2, 4, 10, 12], [100, 300, 300, 100, 100], 0.0, 80.0, "PD"),
    ],
)
def test_mrecist_hand_computed(
    days: list[float], vols: list[float], br: float, bar: float, category: str
) -> None:
    row = _one(days, vols)
    assert row["best_response"] == pytest.approx(br)
    assert row["best_avg_response"] == pytest.approx(bar)
    assert row["mrecist"] == category


def test_series_without_day_10_has_no_category() -> None:
    row = _one([0, 4, 8], [100, 80, 60])
    assert math.isnan(row["best_response"]) and row["mrecist"] is None
    row = _one([0, 4, 8], [100, 80, 60], min_day=8)
    assert row["best_response"] == pytest.approx(-40.0) and row["mrecist"] == "SD"


def test_category_thresholds_order() -> None:
    br = np.array([-96, -96, -51, -51, 34, 34, np.nan])
    bar = np.array([-41, -39, -21, -19, 29, 31, 0])
    assert mrecist_category(br, bar).tolist() == ["CR", "PR", "PR", "SD", "SD", "PD", None]


def test_other_metrics_closed_form() -> None:
    # Linear volume 100 + 10 t: ΔV runs 0..100 % over 10 days, time-average 50 %.
    row = _one([0, 5, 10], [100, 150, 200])
    assert row["auc"] == pytest.approx(50.0)
    assert row["angle"] == pytest.approx(math.degrees(math.atan(10.0)))
    assert row["time_to_double"] == 10
    days = np.arange(0, 30, 3.0)
    row = _one(list(days), list(100 * np.exp(0.05 * days) - 1))
    assert row["log_growth_rate"] == pytest.approx(0.05)
    assert math.isnan(_one([0, 10], [100, 150])["time_to_double"])


def _reference_gao(day: np.ndarray, vol: np.ndarray, min_day: float = 10) -> tuple:
    """Gao et al. (2015), Online Methods, one series at a time in plain Python."""
    change = [100 * (v - vol[0]) / vol[0] for v in vol]
    avg = [sum(change[: i + 1]) / (i + 1) for i in range(len(change))]
    late = [i for i, d in enumerate(day) if d >= min_day]
    if not late:
        return (math.nan, math.nan, None)
    br = min(change[i] for i in late)
    bar = min(avg[i] for i in late)
    if br < -95 and bar < -40:
        cat = "CR"
    elif br < -50 and bar < -20:
        cat = "PR"
    elif br < 35 and bar < 30:
        cat = "SD"
    else:
        cat = "PD"
    return (br, bar, cat)


def test_all_pdxe_series_match_reference(pdxe: TreatmentStudy, pdxe_metrics: pd.DataFrame) -> None:
    assert len(pdxe_metrics) == 4712
    rec = pdxe.records
    ref = [
        _reference_gao(g["day"].to_numpy(), g["volume"].to_numpy())
        for _, g in rec.groupby(["model", "arm", "animal"], sort=True)
    ]
    ref_df = pd.DataFrame(ref, columns=["br", "bar", "cat"])
    m = pdxe_metrics.sort_values(["model", "arm", "animal"]).reset_index(drop=True)
    np.testing.assert_allclose(m["best_response"], ref_df["br"], rtol=1e-12)
    np.testing.assert_allclose(m["best_avg_response"], ref_df["bar"], rtol=1e-12)
    assert (m["mrecist"].fillna("NA") == ref_df["cat"].fillna("NA")).all()


def test_pdxe_category_counts(pdxe_metrics: pd.DataFrame) -> None:
    counts = category_counts(pdxe_metrics)
    assert counts.loc["total", "total"] == 4712
    assert counts.loc["total"][["CR", "PR", "SD", "PD", "NA"]].tolist() == [
        142,
        338,
        2013,
        2154,
        65,
    ]
    assert counts.loc["BRCA"][["CR", "PR", "SD", "PD"]].tolist() == [20, 57, 398, 372]


def test_xeva_route_gives_same_breast_categories(pdx_dir: Path, pdxe_metrics: pd.DataFrame) -> None:
    xeva = response_metrics(read_xeva(pdx_dir / "xeva_brca"))
    brca = pdxe_metrics.loc[pdxe_metrics["tumor_type"] == "BRCA"]
    assert xeva["mrecist"].value_counts().to_dict() == brca["mrecist"].value_counts().to_dict()


def test_tgi_closed_form_and_replicates() -> None:
    df = pd.DataFrame(
        {
            "model": "M",
            "arm": ["ctl"] * 4 + ["drug"] * 4,
            "animal": ["a", "a", "b", "b"] * 2,
            "day": [0, 20] * 4,
            "volume": [100.0, 500, 100, 700, 100, 200, 100, 100],
        }
    )
    tgi = tumor_growth_inhibition(TreatmentStudy.from_frame(df, control="ctl")).iloc[0]
    # Arm means at day 20: T = 150, C = 600; day 0: 100 and 100.
    assert tgi["tc"] == pytest.approx(0.25) and tgi["tgi_tc"] == pytest.approx(75.0)
    assert tgi["delta_tc"] == pytest.approx(50 / 500) and tgi["tgi_delta"] == pytest.approx(90.0)
    arms = arm_response(response_metrics(TreatmentStudy.from_frame(df, control="ctl")))
    assert arms.set_index("arm").loc["ctl", "n_animals"] == 2


def test_series_without_day_0_uses_first_measurement() -> None:
    # JAX-style series starting at day 1: baseline = day-1 volume, best response from day 10.
    row = _one([1, 5, 10, 14], [200, 150, 90, 100])
    assert row["baseline_day"] == 1 and row["baseline_volume"] == 200
    assert row["best_response"] == pytest.approx(-55.0)
    assert row["best_avg_response"] == pytest.approx((0 - 25 - 55 - 50) / 4)


def test_body_weight_nadir(pdxe_metrics: pd.DataFrame) -> None:
    df = pd.DataFrame(
        {
            "model": "M",
            "arm": "drug",
            "animal": "1",
            "day": [0, 5, 10],
            "volume": [100.0, 120, 150],
            "body_weight": [20.0, 18.0, 19.0],
        }
    )
    row = response_metrics(TreatmentStudy.from_frame(df)).iloc[0]
    assert row["body_weight_nadir"] == pytest.approx(-10.0)
    assert pdxe_metrics["body_weight_nadir"].notna().sum() > 4600
