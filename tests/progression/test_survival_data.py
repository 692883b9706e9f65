"""Lifespan readers (SLAM, ITP) and the survival acceptance numbers on SLAM.

Cox references: ``lifelines.CoxPHFitter().fit(df, "time", "event")`` on the SLAM table
(strain and sex indicators), default and with ``fit_options={"precision": 1e-12}``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.progression.lifespan_data import (
    LifespanTable,
    itp_drug_name,
    read_itp_lifespans,
    read_slam_lifespans,
)
from translocus.progression.survival import (
    CoxPH,
    GammaFrailtyCox,
    dummy_covariates,
    fit_parametric_by,
    survival_table,
)


@pytest.fixture(scope="module")
def slam(shared_data: Path) -> LifespanTable:
    if not (shared_data / "slam" / "data_SLAM_census_c79b9c0.csv").exists():
        pytest.skip("SLAM data not found under the shared data folder")
    return read_slam_lifespans(shared_data / "slam")


@pytest.fixture(scope="module")
def itp(shared_data: Path) -> LifespanTable:
    path = shared_data / "itp" / "bodyweights" / "ITP_10003.csv"
    if not path.exists():
        pytest.skip("ITP data not found under the shared data folder")
    return read_itp_lifespans(path)


@pytest.fixture(scope="module")
def slam_design(slam: LifespanTable) -> pd.DataFrame:
    d = slam.data
    return pd.concat(
        [d[["time", "event", "cohort"]], dummy_covariates(d, ["strain", "sex"])], axis=1
    )


def test_slam_reader(slam: LifespanTable) -> None:
    d = slam.data
    assert slam.provenance.license == "MIT"
    assert slam.n_animals == 2574
    assert slam.n_deaths == 1094
    assert d["animal"].is_unique
    assert (d["time"] > 0).all() and set(d["event"].unique()) <= {0.0, 1.0}
    assert set(d["strain"]) == {"B6", "HET3"} and set(d["sex"]) == {"F", "M"}
    assert ((d["end_date"] - d["birth_date"]).dt.days == d["time"]).all()
    assert any("without a birth date" in n for n in slam.notes)
    dead = d[d["event"] == 1]
    assert set(dead["competing_cause"]) == {"found dead", "euthanised"}
    assert (d.loc[d["event"] == 0, "competing_cause"] == 0).all()


def test_slam_cox_equals_lifelines(slam_design: pd.DataFrame) -> None:
    lifelines = pytest.importorskip("lifelines")
    cols = ["time", "event", "strain[HET3]", "sex[M]"]
    ours = CoxPH().fit(slam_design[cols], time="time", event="event")
    for options in (None, {"precision": 1e-12}):
        ref = lifelines.CoxPHFitter().fit(slam_design[cols], "time", "event", fit_options=options)
        np.testing.assert_allclose(ours.params_, ref.params_, atol=1e-6)
        np.testing.assert_allclose(ours.standard_errors_, ref.standard_errors_, rtol=1e-5)
    strat = CoxPH().fit(slam_design[[*cols, "cohort"]], time="time", event="event", strata="cohort")
    ref = lifelines.CoxPHFitter().fit(
        slam_design[[*cols, "cohort"]], "time", "event", strata="cohort"
    )
    np.testing.assert_allclose(strat.params_, ref.params_, atol=1e-6)


def test_slam_gompertz_by_strain_and_sex(slam: LifespanTable) -> None:
    table, models = fit_parametric_by(slam.data, group=["strain", "sex"])
    assert sorted(models) == ["B6 F", "B6 M", "HET3 F", "HET3 M"]
    b = table[table["parameter"] == "b"]
    assert (b["lower"] > 0).all() and (b["lower"] < b["estimate"]).all()
    assert (b["estimate"] < b["upper"]).all()
    km, _ = survival_table(slam.data, group=["strain", "sex"])
    med = table[table["parameter"] == "median"].set_index("label")["estimate"]
    for row in km.itertuples():
        # the parametric median lies within 8 % of the Kaplan-Meier median
        assert med[f"{row.strain} {row.sex}"] == pytest.approx(row.median, rel=0.08)


def test_slam_frailty_on_cohort_runs(slam_design: pd.DataFrame) -> None:
    cols = ["time", "event", "strain[HET3]", "sex[M]", "cohort"]
    fr = GammaFrailtyCox().fit(slam_design[cols], time="time", event="event", cluster="cohort")
    cox = CoxPH().fit(slam_design[cols[:-1]], time="time", event="event")
    assert 0 <= fr.theta_ci_[0] <= fr.theta_ <= fr.theta_ci_[1] < 1
    assert len(fr.frailty_) == slam_design["cohort"].nunique()
    assert fr.loglik_ >= fr.loglik_no_frailty_ - 1e-9
    np.testing.assert_allclose(fr.params_, cox.params_, atol=0.05)


def _copy_slam(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("data_SLAM_census_c79b9c0.csv", "data_SLAM_surv_c79b9c0.csv"):
        shutil.copy(src / name, dst / name)
    return dst


def test_slam_bad_input(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "slam"
    if not (src / "data_SLAM_census_c79b9c0.csv").exists():
        pytest.skip("SLAM data not found")
    folder = _copy_slam(src, tmp_path / "early")
    surv = pd.read_csv(folder / "data_SLAM_surv_c79b9c0.csv", dtype=str)
    surv.loc[surv["tag"] == "SLAM092", "died"] = "2010-01-01"
    surv.to_csv(folder / "data_SLAM_surv_c79b9c0.csv", index=False)
    with pytest.raises(InputError, match="die before they are born"):
        read_slam_lifespans(folder)
    folder2 = _copy_slam(src, tmp_path / "dup")
    surv = pd.read_csv(folder2 / "data_SLAM_surv_c79b9c0.csv", dtype=str)
    pd.concat([surv, surv.head(1)]).to_csv(folder2 / "data_SLAM_surv_c79b9c0.csv", index=False)
    with pytest.raises(InputError, match="two survival records"):
        read_slam_lifespans(folder2)
    with pytest.raises(InputError, match="file not found"):
        read_slam_lifespans(tmp_path / "nowhere")
    with pytest.raises(InputError, match="censor_alive"):
        read_slam_lifespans(src, censor_alive="maybe")


def test_itp_reader(itp: LifespanTable, shared_data: Path) -> None:
    d = itp.data
    assert itp.provenance.license == "GPL-3.0-only"
    assert itp.n_animals == 24296
    assert (d["event"] == 1).all()
    assert set(d["site"]) == {"JL", "UM", "UT"}
    rapa = d[d["arm"] == "rapa05"]
    assert sorted(rapa["site"].unique()) == ["JL", "UM", "UT"]
    assert (rapa["drug"] == "rapamycin").all() and (rapa["cohort"] == 2005).all()
    ctrl = d[d["control"]]
    assert ctrl["arm"].str.fullmatch(r"cont\d\d").all()
    assert not d.loc[d["group"].str.contains("CIP"), "main_study"].any()
    assert itp_drug_name("acahi") == "acarbose"
    # the other export has a two-line field in its header block; same animals and ages
    other = read_itp_lifespans(shared_data / "itp" / "bodyweights" / "ITP_50601.csv")
    merged = d.merge(other.data, on="animal")
    assert len(merged) > 20000
    assert (merged["time_x"] == merged["time_y"]).all()


def test_itp_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no 'Index,Name"):
        read_itp_lifespans(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text(
        "Index,Name,Value,Sex,Age,DOB,Drug/Site,Site,Year\n"
        "1,A1,x,M,800,4/22/04,Cont_04_J,JL,2004\n"
        "2,A1,x,M,900,4/22/04,Cont_04_J,JL,2004\n"
    )
    with pytest.raises(InputError, match="appear twice"):
        read_itp_lifespans(dup)
    neg = tmp_path / "neg.csv"
    neg.write_text(
        "Index,Name,Value,Sex,Age,DOB,Drug/Site,Site,Year\n1,A1,x,M,-5,4/22/04,Cont_04_J,JL,2004\n"
    )
    with pytest.raises(InputError, match="negative ages"):
        read_itp_lifespans(neg)


def test_itp_frailty_on_site_runs(itp: LifespanTable) -> None:
    """Three sites: a weakly identified frailty must still fit without overflow."""
    d = itp.data
    sub = d[d["arm"].isin(["aca", "cont09"]) & (d["cohort"] == 2009) & (d["sex"] == "M")]
    sub = sub.assign(treated=(sub["arm"] == "aca").astype(float))
    cols = ["time", "event", "treated", "site"]
    fr = GammaFrailtyCox().fit(sub[cols], time="time", event="event", cluster="site")
    strat = CoxPH().fit(sub[cols], time="time", event="event", strata="site")
    assert np.isfinite(fr.loglik_) and fr.theta_ci_[0] <= fr.theta_ <= fr.theta_ci_[1]
    assert fr.params_["treated"] == pytest.approx(strat.params_["treated"], abs=0.05)
    assert fr.params_["treated"] < 0
