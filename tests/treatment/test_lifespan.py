"""ITP lifespan interventions: published direction and size of the rapamycin and acarbose
effects, the bootstrap median against Kaplan-Meier, and the CLI.

Published references: acarbose (2009 cohort) extended median lifespan by 22 % in males and
5 % in females (Harrison et al. 2014 Aging Cell 13:273); rapamycin fed from 9 months
(2006 cohort) by 10 % (males) and 18 % (females) (Miller et al. 2011 J Gerontol A 66:191)
and from 20 months (Harrison et al. 2009 Nature 460:392) in both sexes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clirun import assert_complete_run, assert_user_error, invoke, snapshot
from translocus.core.errors import InputError
from translocus.progression.lifespan_data import LifespanTable, read_itp_lifespans
from translocus.progression.survival import KaplanMeier
from translocus.treatment.lifespan import (
    LifespanInterventionEffects,
    bootstrap_km_median,
)


@pytest.fixture(scope="module")
def itp_path(shared_data: Path) -> Path:
    path = shared_data / "itp" / "bodyweights" / "ITP_10003.csv"
    if not path.exists():
        pytest.skip("ITP data not found under the shared data folder")
    return path


@pytest.fixture(scope="module")
def itp(itp_path: Path) -> LifespanTable:
    return read_itp_lifespans(itp_path)


@pytest.fixture(scope="module")
def effects(itp: LifespanTable) -> pd.DataFrame:
    model = LifespanInterventionEffects(
        arms=["aca", "rapa05", "rapa06"], n_boot=300, random_state=1
    )
    return model.fit(itp).effects_.set_index(["arm", "sex"])


def test_acarbose_males_strongly_females_modestly(effects: pd.DataFrame) -> None:
    m, f = effects.loc[("aca", "M")], effects.loc[("aca", "F")]
    assert m["median_ext_pct"] == pytest.approx(22.0, abs=4.0)
    assert m["median_ext_pct_lower"] > 10
    assert m["hr_upper"] < 0.75 and m["logrank_p"] < 1e-6
    assert 0 < f["median_ext_pct"] < 10
    assert f["median_ext_pct"] < m["median_ext_pct"]
    assert f["hr"] > m["hr"] and f["hr_upper"] < 1
    assert m["sites"] == "JL,UM,UT" and m["cohort"] == 2009


def test_rapamycin_extends_both_sexes(effects: pd.DataFrame) -> None:
    for arm in ("rapa05", "rapa06"):
        for sex in ("F", "M", "pooled"):
            row = effects.loc[(arm, sex)]
            assert row["hr_upper"] < 0.8
            assert row["rmst_diff_lower"] > 0
            assert row["median_ext_pct"] > 5
    f, m = effects.loc[("rapa06", "F")], effects.loc[("rapa06", "M")]
    assert f["median_ext_pct"] == pytest.approx(18.0, abs=4.0)
    assert f["median_ext_pct"] > m["median_ext_pct"]


def test_effects_table_is_consistent(effects: pd.DataFrame) -> None:
    e = effects.reset_index()
    assert (e["median_ext_lower"] <= e["median_ext_days"] + 1e-9).all()
    assert (e["median_ext_days"] <= e["median_ext_upper"] + 1e-9).all()
    assert (e["hr_lower"] < e["hr"]).all() and (e["hr"] < e["hr_upper"]).all()
    pooled = e[e["sex"] == "pooled"].set_index("arm")
    by_sex = e[e["sex"] != "pooled"].groupby("arm")["n_treated"].sum()
    assert (pooled["n_treated"] == by_sex[pooled.index]).all()


def test_bootstrap_median_equals_kaplan_meier() -> None:
    rng = np.random.default_rng(3)
    t = np.round(rng.exponential(10, (20, 40)))
    e = (rng.random((20, 40)) < 0.7).astype(float)
    fast = bootstrap_km_median(t, e)
    slow = np.array([KaplanMeier().fit(t[i], e[i]).median_ for i in range(20)])
    slow = np.where(np.isfinite(slow), slow, np.nan)
    np.testing.assert_array_equal(fast, slow)


def test_effects_bad_input(itp: LifespanTable) -> None:
    with pytest.raises(InputError, match="not found among the treated arms"):
        LifespanInterventionEffects(arms=["nosuchdrug"]).fit(itp)
    with pytest.raises(InputError, match="missing column"):
        LifespanInterventionEffects().fit(pd.DataFrame({"time": [1.0], "event": [1.0]}))


def test_cli_lifespan_and_survival(itp_path: Path, tmp_path: Path) -> None:
    res = invoke(
        ["lifespan", str(itp_path), "--arms", "aca", "--n-boot", "50", "--out",
         str(tmp_path / "itp")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    eff = pd.read_csv(tmp_path / "itp" / "lifespan_effects.csv")
    assert list(eff["sex"]) == ["F", "M", "pooled"]
    assert (tmp_path / "itp" / "forest.png").stat().st_size > 1000
    assert_complete_run(tmp_path / "itp")

    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame(
        {
            "age": rng.gamma(20, 40, n).round(),
            "dead": (rng.random(n) < 0.8).astype(int),
            "strain": rng.choice(["A", "B"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    table = tmp_path / "lifespans.csv"
    df.to_csv(table, index=False)
    res = invoke(
        ["survival", str(table), "--time", "age", "--event", "dead", "--group",
         "strain,sex", "--out", str(tmp_path / "surv")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in ("km.png", "km_summary.csv", "gompertz.csv", "cox.csv", "logrank.csv"):
        assert (tmp_path / "surv" / name).exists()
    assert len(pd.read_csv(tmp_path / "surv" / "km_summary.csv")) == 4
    assert_complete_run(tmp_path / "surv")
    before = snapshot(tmp_path)
    res = invoke(["survival", str(table), "--time", "nope", "--out", str(tmp_path / "x")])
    assert_user_error(res, before, tmp_path, expect="no column 'nope'")
    res = invoke(["lifespan", "--help"])
    assert "Example:" in res.output


def test_cli_lifespan_n_boot_zero_gives_no_intervals(itp_path: Path, tmp_path: Path) -> None:
    args = ["lifespan", str(itp_path), "--arms", "aca", "--sexes", "M"]
    assert invoke([*args, "--n-boot", "50", "--out", tmp_path / "boot"]).exit_code == 0
    res = invoke([*args, "--n-boot", "0", "--out", tmp_path / "none"])
    assert res.exit_code == 0, res.output
    with_boot = pd.read_csv(tmp_path / "boot" / "lifespan_effects.csv")
    without = pd.read_csv(tmp_path / "none" / "lifespan_effects.csv")
    assert without[["median_ext_pct_lower", "median_ext_pct_upper"]].isna().all().all()
    same = ["median_ext_pct", "hr", "hr_lower", "hr_upper", "rmst_diff", "logrank_p"]
    pd.testing.assert_frame_equal(with_boot[same], without[same])
    summary = assert_complete_run(tmp_path / "none")["summary"]
    assert summary["intervals"] == "none (--n-boot 0)"


def test_itp_reader_given_a_folder_names_the_files(shared_data):
    from translocus.core.errors import InputError
    from translocus.progression.lifespan_data import read_itp_lifespans

    with pytest.raises(
        InputError, match=r"is a folder; pass one ITP GeneNetwork export .*ITP_10003"
    ):
        read_itp_lifespans(shared_data / "itp")
