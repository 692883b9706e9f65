"""Effects of lifespan interventions (NIA ITP style).

Each drug is compared with its own cohort's controls, by sex, stratified by test site.

For every treated arm (one drug regimen started in one cohort year) and each sex (and both
sexes pooled) :class:`LifespanInterventionEffects` reports

- the Kaplan-Meier median lifespan of treated and control mice (sites pooled, as the ITP
  papers report it), the extension in days and in percent, with percentile bootstrap
  intervals (resampling within site x group [x sex] cells, seeded);
- the restricted mean lifespan (RMST) difference up to a common age ``tau`` (the smallest
  largest age among the site x group cells), stratified by site: per-site differences
  weighted by the site's number of mice, with the Greenwood-type variance;
- the Cox hazard ratio of treatment stratified by site (and by sex when sexes are pooled),
  Efron ties, with its Wald interval and p-value;
- the site-stratified log-rank test.

All survival estimates come from :mod:`translocus.progression.survival`. Controls are the
animals of the cohort's control group (``cont<yy>``) at the sites where the arm ran.
Nothing here learns a model for prediction, so no licence gate is needed; the table keeps
the data's provenance in ``effects_.attrs["provenance"]``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n = 200
>>> df = pd.DataFrame({"animal": range(2 * n), "sex": "M", "site": "UM", "cohort": 2009,
...                    "arm": ["cont09"] * n + ["drug"] * n, "control": [True] * n + [False] * n,
...                    "main_study": True, "time": np.r_[rng.normal(800, 150, n),
...                                                      rng.normal(900, 150, n)], "event": 1.0})
>>> eff = LifespanInterventionEffects(n_boot=200, sexes=("M",)).fit(df)
>>> bool(eff.effects_.loc[0, "hr"] < 1)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import Estimator, check_fitted
from translocus.core.provenance import LicenseDecision, LicensePolicy
from translocus.core.table import licence_gate, provenance_for
from translocus.progression.lifespan_data import LifespanTable, itp_drug_name
from translocus.progression.survival import CoxPH, KaplanMeier, logrank_test

__all__ = ["LifespanInterventionEffects", "bootstrap_km_median", "lifespan_effects"]

_REQUIRED = ("time", "event", "sex", "site", "cohort", "arm", "control")


def bootstrap_km_median(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Kaplan-Meier medians of many samples at once: ``time``, ``event`` are ``[B, n]``.

    Within each row deaths are ordered before censorings at the same time, so the
    product-limit value after a block of tied deaths is exact and the first position
    where it reaches 0.5 gives the median time (``nan`` if it never does).

    >>> bootstrap_km_median(np.array([[1.0, 2, 3, 4]]), np.ones((1, 4)))
    array([2.])
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=float)
    uniq = np.unique(t)
    gap = float(np.min(np.diff(uniq))) if uniq.size > 1 else 1.0
    key = t + (1 - e) * 0.25 * gap
    order = np.argsort(key, axis=1, kind="stable")
    ts = np.take_along_axis(t, order, axis=1)
    es = np.take_along_axis(e, order, axis=1)
    n = t.shape[1]
    at_risk = n - np.arange(n)
    surv = np.cumprod(1 - es / at_risk, axis=1)
    hit = surv <= 0.5
    first = np.argmax(hit, axis=1)
    out = ts[np.arange(t.shape[0]), first]
    return np.where(hit.any(axis=1), out, np.nan)


def _cell_resample(
    rng: np.random.Generator, frame: pd.DataFrame, cells: list[str], n_boot: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap samples ``[B, n]`` of (time, event), resampled within each cell."""
    times, events = [], []
    for _, sub in frame.groupby(cells, observed=True, sort=True):
        t = sub["time"].to_numpy(dtype=float)
        e = sub["event"].to_numpy(dtype=float)
        idx = rng.integers(0, t.size, size=(n_boot, t.size))
        times.append(t[idx])
        events.append(e[idx])
    return np.concatenate(times, axis=1), np.concatenate(events, axis=1)


def _rmst_stratified(
    frame: pd.DataFrame, cells: list[str], tau: float, level: float
) -> dict[str, float]:
    """RMST difference (treated - control) per stratum, weighted by stratum size."""
    diffs, variances, weights, rt, rc = [], [], [], [], []
    for _, sub in frame.groupby(cells, observed=True, sort=True):
        tr, co = sub[sub["_treated"] == 1], sub[sub["_treated"] == 0]
        if tr.empty or co.empty:
            continue
        a = KaplanMeier(level=level).fit(tr["time"], tr["event"]).rmst(tau)
        b = KaplanMeier(level=level).fit(co["time"], co["event"]).rmst(tau)
        diffs.append(a["rmst"] - b["rmst"])
        variances.append(a["se"] ** 2 + b["se"] ** 2)
        weights.append(len(sub))
        rt.append(a["rmst"])
        rc.append(b["rmst"])
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    est = float(w @ np.asarray(diffs))
    se = float(np.sqrt(w**2 @ np.asarray(variances)))
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    return {
        "rmst_treated": float(w @ np.asarray(rt)),
        "rmst_control": float(w @ np.asarray(rc)),
        "rmst_diff": est,
        "rmst_diff_lower": est - z * se,
        "rmst_diff_upper": est + z * se,
        "rmst_diff_p": float(2 * stats.norm.sf(abs(est / se))) if se > 0 else float("nan"),
    }


class LifespanInterventionEffects(Estimator):
    """Effect of each lifespan intervention against its same-cohort controls.

    An *analysis* estimator (``use = "analysis"``): it describes the lifespans of the mice in
    the data it is fitted on (medians, RMST, hazard ratios, log-rank tests); ``predict``
    returns those mice's Kaplan-Meier curves, nothing meant for other animals.

    Parameters
    ----------
    arms
        Arm codes to analyse (default: every treated arm of the main study).
    sexes
        Any of ``"F"``, ``"M"`` and ``"pooled"``.
    n_boot
        Bootstrap samples for the median-extension intervals.
    level
        Probability of the two-sided intervals (0.95 gives 95 % intervals).
    random_state
        Seed of the bootstrap (the median-extension intervals depend on it).
    min_per_group
        Arms (per sex) with fewer treated or control mice are skipped.

    Attributes
    ----------
    effects_ : DataFrame
        One row per arm x sex (columns described in the module docstring).
    curves_ : dict
        ``(arm, sex) -> (KaplanMeier treated, KaplanMeier control)`` for plotting.
    """

    use = "analysis"

    def __init__(
        self,
        *,
        arms: Sequence[str] | None = None,
        sexes: Sequence[str] = ("F", "M", "pooled"),
        n_boot: int = 1000,
        level: float = 0.95,
        random_state: int = 0,
        min_per_group: int = 10,
    ) -> None:
        self.arms = arms
        self.sexes = sexes
        self.n_boot = n_boot
        self.level = level
        self.random_state = random_state
        self.min_per_group = min_per_group

    def fit(
        self,
        data: LifespanTable | pd.DataFrame,
        *,
        source: str = "data",
        license: str | None = None,
        policy: LicensePolicy | None = None,
    ) -> LifespanInterventionEffects:
        """Estimate each intervention's effect on lifespan against the controls of its group.

        ``data`` is a :class:`LifespanTable` or a plain frame whose licence ``license=``
        names; the analysis use is recorded in ``licence_decision_`` under ``policy``.
        """
        if isinstance(data, LifespanTable):
            if license is not None:
                raise OptionError(
                    "license",
                    license,
                    "LifespanInterventionEffects.fit was given a LifespanTable, which carries "
                    f"its own licence ({data.provenance.license}); license= names the licence "
                    "of a plain DataFrame",
                )
            frame, provenance = data.data, data.provenance
        else:
            frame, provenance = data, provenance_for(license=license, name=source)
        self.licence_decision_: LicenseDecision = licence_gate(
            provenance,
            policy,
            use="analysis",
            purpose="analysis",
            estimator="LifespanInterventionEffects.fit",
        )
        missing = [c for c in _REQUIRED if c not in frame.columns]
        if missing:
            raise InputError(
                f"{source}: missing column(s) {missing}; read ITP data with "
                "read_itp_lifespans() or provide these columns."
            )
        if "main_study" in frame.columns:
            frame = frame[frame["main_study"].astype(bool)]
        treated_arms = (
            frame.loc[~frame["control"].astype(bool), ["arm", "cohort"]]
            .drop_duplicates()
            .sort_values(["cohort", "arm"])
        )
        if self.arms is not None:
            wanted = set(self.arms)
            unknown = wanted - set(treated_arms["arm"])
            if unknown:
                raise InputError(
                    f"{source}: arm(s) {sorted(unknown)} not found among the treated arms; "
                    f"known arms include {', '.join(sorted(set(treated_arms['arm']))[:12])}."
                )
            treated_arms = treated_arms[treated_arms["arm"].isin(wanted)]
        rng = np.random.default_rng(self.random_state)
        rows = []
        curves: dict[tuple[str, str], tuple[KaplanMeier, KaplanMeier]] = {}
        for arm, cohort in treated_arms.itertuples(index=False):
            tr = frame[(frame["arm"] == arm) & (frame["cohort"] == cohort)]
            sites = sorted(tr["site"].unique())
            co = frame[
                frame["control"].astype(bool)
                & (frame["cohort"] == cohort)
                & frame["site"].isin(sites)
            ]
            both = pd.concat([tr.assign(_treated=1), co.assign(_treated=0)], ignore_index=True)
            for sex in self.sexes:
                sub = both if sex == "pooled" else both[both["sex"] == sex]
                n_t = int((sub["_treated"] == 1).sum())
                n_c = int((sub["_treated"] == 0).sum())
                if min(n_t, n_c) < self.min_per_group:
                    continue
                row = self._one(sub, arm, int(cohort), sex, sites, rng, curves)
                rows.append(row)
        if not rows:
            raise InputError(
                f"{source}: no arm has at least {self.min_per_group} treated and control mice "
                "of one sex in the same cohort and sites; check the arm and control columns."
            )
        effects = pd.DataFrame(rows)
        effects.attrs["provenance"] = provenance.to_dict()
        self.effects_ = effects
        self.curves_ = curves
        return self

    def _one(
        self,
        sub: pd.DataFrame,
        arm: str,
        cohort: int,
        sex: str,
        sites: list[str],
        rng: np.random.Generator,
        curves: dict[tuple[str, str], tuple[KaplanMeier, KaplanMeier]],
    ) -> dict[str, Any]:
        strata = ["site"] if sex != "pooled" else ["site", "sex"]
        tr, co = sub[sub["_treated"] == 1], sub[sub["_treated"] == 0]
        km_t = KaplanMeier(level=self.level).fit(tr["time"], tr["event"], label=f"{arm} {sex}")
        km_c = KaplanMeier(level=self.level).fit(co["time"], co["event"], label=f"control {sex}")
        curves[(arm, sex)] = (km_t, km_c)
        med_t, med_c = km_t.median_, km_c.median_
        bt, be = _cell_resample(rng, tr, strata, self.n_boot)
        ct, ce = _cell_resample(rng, co, strata, self.n_boot)
        bm_t, bm_c = bootstrap_km_median(bt, be), bootstrap_km_median(ct, ce)
        ext = bm_t - bm_c
        pct = 100 * (bm_t / bm_c - 1)
        q = [100 * (1 - self.level) / 2, 100 * (1 - (1 - self.level) / 2)]
        ext_lo, ext_hi = np.nanpercentile(ext, q)
        pct_lo, pct_hi = np.nanpercentile(pct, q)
        tau = float(sub.groupby([*strata, "_treated"], observed=True)["time"].max().min())
        rmst = _rmst_stratified(sub, strata, tau, self.level)
        cox = CoxPH(level=self.level).fit(
            sub[["time", "event", "_treated", *strata]],
            time="time",
            event="event",
            covariates=["_treated"],
            strata=strata,
        )
        cs = cox.summary.loc["_treated"]
        strat_key = sub[strata].astype(str).agg("|".join, axis=1)
        lr = logrank_test(sub["time"], sub["event"], sub["_treated"], strata=strat_key)
        return {
            "arm": arm,
            "drug": itp_drug_name(arm),
            "cohort": cohort,
            "sex": sex,
            "sites": ",".join(sites),
            "n_treated": int(len(tr)),
            "n_control": int(len(co)),
            "deaths_treated": int(tr["event"].sum()),
            "deaths_control": int(co["event"].sum()),
            "median_treated": med_t,
            "median_control": med_c,
            "median_ext_days": med_t - med_c,
            "median_ext_lower": float(ext_lo),
            "median_ext_upper": float(ext_hi),
            "median_ext_pct": 100 * (med_t / med_c - 1),
            "median_ext_pct_lower": float(pct_lo),
            "median_ext_pct_upper": float(pct_hi),
            "p90_treated": km_t.quantile_time(0.1),
            "p90_control": km_c.quantile_time(0.1),
            "tau": tau,
            **rmst,
            "hr": float(cs["exp(coef)"]),
            "hr_lower": float(cs["exp(coef) lower"]),
            "hr_upper": float(cs["exp(coef) upper"]),
            "cox_p": float(cs["p"]),
            "logrank_chi2": lr.statistic,
            "logrank_p": lr.p_value,
        }

    @property
    def summary(self) -> pd.DataFrame:
        """The key columns of ``effects_``, one row per arm x sex."""
        check_fitted(self)
        cols = [
            "arm", "drug", "cohort", "sex", "n_treated", "n_control", "median_control",
            "median_ext_pct", "median_ext_pct_lower", "median_ext_pct_upper", "rmst_diff",
            "rmst_diff_lower", "rmst_diff_upper", "hr", "hr_lower", "hr_upper", "logrank_p",
        ]  # fmt: skip
        return self.effects_[cols].copy()

    def predict(self, arm: str, sex: str, times: Any) -> pd.DataFrame:
        """Kaplan-Meier survival of treated and control mice of one arm and sex at ``times``."""
        check_fitted(self)
        if (arm, sex) not in self.curves_:
            raise InputError(f"arm {arm!r}, sex {sex!r} was not analysed; see effects_.")
        km_t, km_c = self.curves_[(arm, sex)]
        tt = np.atleast_1d(np.asarray(times, dtype=float))
        return pd.DataFrame(
            {"time": tt, "treated": km_t.survival_at(tt), "control": km_c.survival_at(tt)}
        )

    def plot(self, arms: Sequence[str] | None = None, *, figsize: Any = None) -> Any:
        """Forest plot: hazard ratio and median-extension (%) with intervals per arm x sex."""
        check_fitted(self)
        return forest_plot(self.effects_, arms=arms, figsize=figsize)


def forest_plot(
    effects: pd.DataFrame, *, arms: Sequence[str] | None = None, figsize: Any = None
) -> Any:
    """Two-panel forest plot (hazard ratio, median extension %) of an effects table."""
    import matplotlib.pyplot as plt

    eff = effects if arms is None else effects[effects["arm"].isin(list(arms))]
    eff = eff.reset_index(drop=True)
    n = len(eff)
    fig, axes = plt.subplots(
        1, 2, figsize=figsize or (10, 0.32 * n + 1.4), sharey=True,
        gridspec_kw={"wspace": 0.05},
    )  # fmt: skip
    y = np.arange(n)[::-1]
    colours = eff["sex"].map({"F": "#c0392b", "M": "#2e86c1"}).fillna("#444444")
    for i in range(n):
        r = eff.iloc[i]
        axes[0].errorbar(
            r["hr"],
            y[i],
            xerr=[[r["hr"] - r["hr_lower"]], [r["hr_upper"] - r["hr"]]],
            fmt="s",
            color=colours.iloc[i],
            capsize=2,
            ms=4,
        )
        axes[1].errorbar(
            r["median_ext_pct"],
            y[i],
            xerr=[
                [r["median_ext_pct"] - r["median_ext_pct_lower"]],
                [r["median_ext_pct_upper"] - r["median_ext_pct"]],
            ],
            fmt="o",
            color=colours.iloc[i],
            capsize=2,
            ms=4,
        )
    axes[0].axvline(1, color="grey", ls="--", lw=0.8)
    axes[0].set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    axes[0].xaxis.set_major_formatter(FormatStrFormatter("%.2g"))
    axes[0].xaxis.set_minor_formatter(NullFormatter())
    axes[0].set_xticks(
        [
            t
            for t in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0)
            if eff["hr_lower"].min() / 1.2 <= t <= max(1.0, eff["hr_upper"].max()) * 1.2
        ]
    )
    axes[0].set_xlabel("hazard ratio (site-stratified Cox)")
    axes[1].axvline(0, color="grey", ls="--", lw=0.8)
    axes[1].set_xlabel("median lifespan extension (%)")
    labels = [f"{r.arm} ({r.cohort}) {r.sex}" for r in eff.itertuples()]
    axes[0].set_yticks(y, labels, fontsize=8)
    return fig


def lifespan_effects(
    data: LifespanTable | pd.DataFrame,
    *,
    arms: Sequence[str] | None = None,
    sexes: Sequence[str] = ("F", "M", "pooled"),
    n_boot: int = 1000,
    random_state: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Convenience wrapper: the ``effects_`` table of :class:`LifespanInterventionEffects`."""
    model = LifespanInterventionEffects(
        arms=arms, sexes=sexes, n_boot=n_boot, random_state=random_state, level=level
    ).fit(data)
    return model.effects_
