r"""Tumour response metrics per animal series and per model × drug.

All per-series metrics are computed in one vectorised pass over the long, sorted records
(no Python loop over series): every PDXE series (4,712) takes a few tens of milliseconds.

mRECIST (Gao et al. 2015, Nat Med 21:1318, Online Methods "Response criteria")
-------------------------------------------------------------------------------
For each series, with :math:`V_0` the volume at the first measurement (day 0 in the PDXE):

- volume change :math:`\Delta V_t = 100\,(V_t - V_0)/V_0` (%);
- **BestResponse** is the minimum of :math:`\Delta V_t` over :math:`t \ge 10` days;
- the *average response* at :math:`t` is the mean of :math:`\Delta V_{t_i}` over the
  measurements :math:`0 \le t_i \le t` (a running mean over measurements, as in Gao et al.
  and Xeva), and **BestAvgResponse** is its minimum over :math:`t \ge 10` days;
- categories, applied in this order (strict inequalities, as in the paper):

  ====  ================================================================
  CR    BestResponse < −95 %  and  BestAvgResponse < −40 %
  PR    BestResponse < −50 %  and  BestAvgResponse < −20 %
  SD    BestResponse < +35 %  and  BestAvgResponse < +30 %
  PD    otherwise
  ====  ================================================================

A series with no measurement at or after day 10 gets no BestResponse, BestAvgResponse or
category (NaN / ``None``), as in Xeva's current implementation.

Other per-series metrics
------------------------
- ``auc``: area under the :math:`\Delta V_t` curve (trapezoids) divided by the time span,
  i.e. the time-averaged % volume change (the normalised AUC of the JAX tumour-volume app;
  trapezoids instead of its spline).
- ``angle``: the angle in degrees, :math:`\arctan(b)\cdot 180/\pi`, of the least-squares
  line of volume (mm³) on day (Xeva's "angle"; compare treated and control angles).
- ``log_growth_rate``: slope of the least-squares line of :math:`\ln(V + 1)` on day
  (per day); 1 mm³ is added so that a tumour measured at 0 mm³ stays in the fit.
- ``time_to_double``: first day at which :math:`V_t \ge 2 V_0` (NaN if never).
- ``body_weight_nadir`` (when body weights are given): the lowest body weight relative to
  the first weighed measurement, in % (toxicity).

Tumour growth inhibition (per model × arm against the control arm)
------------------------------------------------------------------
At the evaluation day :math:`t` (default: the last day both arms were measured, with
volumes linearly interpolated between measurements, arms averaged over animals):

- ``tc`` = :math:`T_t / C_t` and ``tgi_tc`` = :math:`100\,(1 - T_t/C_t)`;
- ``delta_tc`` = :math:`(T_t - T_0)/(C_t - C_0)` and ``tgi_delta`` =
  :math:`100\,(1 - \Delta T/\Delta C)` (the NCI ΔT/ΔC form; undefined when the control
  did not grow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.treatment.study import TreatmentStudy

__all__ = [
    "MRECIST_CATEGORIES",
    "MRECIST_THRESHOLDS",
    "arm_response",
    "category_counts",
    "mrecist_category",
    "response_metrics",
    "series_log_slopes",
    "tumor_growth_inhibition",
]

#: mRECIST categories in order of decreasing response.
MRECIST_CATEGORIES: tuple[str, ...] = ("CR", "PR", "SD", "PD")
#: (category, BestResponse bound %, BestAvgResponse bound %), strict "<", applied in order.
MRECIST_THRESHOLDS: tuple[tuple[str, float, float], ...] = (
    ("CR", -95.0, -40.0),
    ("PR", -50.0, -20.0),
    ("SD", 35.0, 30.0),
)


def mrecist_category(best_response: np.ndarray, best_avg_response: np.ndarray) -> np.ndarray:
    """mRECIST category of each (BestResponse, BestAvgResponse) pair, in %.

    Returns an object array of ``"CR"``, ``"PR"``, ``"SD"``, ``"PD"`` or ``None`` where
    either input is NaN.

    Examples
    --------
    >>> mrecist_category(np.array([-96.0, -96.0, -60.0, 34.9, 35.0]),
    ...                  np.array([-41.0, -39.0, -25.0, 29.0, 0.0])).tolist()
    ['CR', 'PR', 'PR', 'SD', 'PD']
    """
    br = np.asarray(best_response, dtype=float)
    bar = np.asarray(best_avg_response, dtype=float)
    out = np.full(br.shape, "PD", dtype=object)
    assigned = np.zeros(br.shape, dtype=bool)
    for name, br_max, bar_max in MRECIST_THRESHOLDS:
        hit = ~assigned & (br < br_max) & (bar < bar_max)
        out[hit] = name
        assigned |= hit
    out[np.isnan(br) | np.isnan(bar)] = None
    return out


def _segments(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    counts = np.diff(np.r_[starts, len(codes)])
    return starts, counts


def _group_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(values, starts) if len(values) else np.zeros(0)


def _group_ols(
    x: np.ndarray, y: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-group least-squares slope, intercept, slope SE and residual df."""
    n = counts.astype(float)
    sx, sy = _group_sum(x, starts), _group_sum(y, starts)
    mx, my = sx / n, sy / n
    code = np.repeat(np.arange(len(starts)), counts)
    dx, dy = x - mx[code], y - my[code]
    sxx, sxy, syy = (
        _group_sum(dx * dx, starts),
        _group_sum(dx * dy, starts),
        _group_sum(dy * dy, starts),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 0, sxy / sxx, np.nan)
        intercept = my - slope * mx
        rss = np.maximum(syy - slope * sxy, 0.0)
        df = n - 2
        se = np.where(df > 0, np.sqrt(rss / np.maximum(df, 1) / sxx), np.nan)
    return slope, intercept, se, df


def series_log_slopes(study: TreatmentStudy, *, offset: float = 1.0) -> pd.DataFrame:
    """Per-series least-squares growth rate of ln(volume + offset) on day.

    Returns the series table with ``rate`` (per day), ``intercept``, ``rate_se``,
    ``rss`` (residual sum of squares), ``sxx`` (centred sum of squares of day), ``df``.
    """
    rec = study.records
    codes = study.series_codes()
    starts, counts = _segments(codes)
    day = rec["day"].to_numpy(float)
    logv = np.log(rec["volume"].to_numpy(float) + offset)
    slope, intercept, se, df = _group_ols(day, logv, starts, counts)
    out = study.series()
    n = counts.astype(float)
    code = np.repeat(np.arange(len(starts)), counts)
    mx = _group_sum(day, starts) / n
    sxx = _group_sum((day - mx[code]) ** 2, starts)
    fitted = intercept[code] + slope[code] * day
    rss = _group_sum((logv - fitted) ** 2, starts)
    out["rate"] = slope
    out["intercept"] = intercept
    out["rate_se"] = se
    out["rss"] = rss
    out["sxx"] = sxx
    out["df"] = df
    return out


def response_metrics(
    study: TreatmentStudy, *, min_day: float = 10.0, growth_offset: float = 1.0
) -> pd.DataFrame:
    """Response metrics of every series (one row per model × arm × animal).

    Parameters
    ----------
    study
        The tumour-volume records.
    min_day
        Best (average) response is taken over days ``≥ min_day`` (10 in Gao et al. 2015).
    growth_offset
        mm³ added to volumes before taking logs for ``log_growth_rate``.

    Returns
    -------
    pandas.DataFrame
        Key columns, ``tumor_type`` (if known), ``n_obs``, ``baseline_day``,
        ``baseline_volume`` (mm³), ``last_day``, ``best_response`` (%),
        ``day_best_response``, ``best_avg_response`` (%), ``day_best_avg_response``,
        ``mrecist``, ``auc`` (%), ``angle`` (degrees), ``log_growth_rate`` (1/day),
        ``time_to_double`` (day).

    Examples
    --------
    >>> df = pd.DataFrame({"model": "M", "arm": "drug", "animal": "1",
    ...                    "day": [0, 5, 10, 15], "volume": [100.0, 60, 30, 2]})
    >>> m = response_metrics(TreatmentStudy.from_frame(df, check_volume_range=False))
    >>> m[["best_response", "best_avg_response", "mrecist"]].round(2).values.tolist()
    [[-98.0, -52.0, 'CR']]
    """
    rec = study.records
    codes = study.series_codes()
    starts, counts = _segments(codes)
    n_series = len(starts)
    day = rec["day"].to_numpy(float)
    vol = rec["volume"].to_numpy(float)
    v0 = vol[starts]
    v0_row = np.repeat(v0, counts)
    change = 100.0 * (vol - v0_row) / v0_row

    # Running mean over measurements within each series.
    # Per-series cumulative sums (a global cumsum minus offsets loses digits over 67k rows).
    cs = pd.Series(change).groupby(codes).cumsum().to_numpy()
    position = np.arange(len(vol)) - np.repeat(starts, counts)
    running = cs / (position + 1)

    eligible = day >= min_day
    has = np.add.reduceat(eligible.astype(np.int64), starts) > 0 if n_series else np.zeros(0, bool)
    br, br_day = _masked_group_min(change, day, eligible, starts, counts)
    bar, bar_day = _masked_group_min(running, day, eligible, starts, counts)
    br[~has] = np.nan
    bar[~has] = np.nan

    # Time-averaged % change (trapezoids).
    last = starts + counts - 1
    same = np.r_[codes[1:] == codes[:-1], False]
    seg = np.where(same, 0.5 * (change + np.r_[change[1:], 0.0]) * (np.r_[day[1:], 0.0] - day), 0)
    span = day[last] - day[starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where(span > 0, _group_sum(seg, starts) / span, np.nan)

    slope_v, _, _, _ = _group_ols(day, vol, starts, counts)
    angle = np.degrees(np.arctan(slope_v))
    rate, _, _, _ = _group_ols(day, np.log(vol + growth_offset), starts, counts)

    doubled = vol >= 2.0 * v0_row
    first_double = np.full(n_series, np.nan)
    idx = np.flatnonzero(doubled)
    if len(idx):
        c = codes[idx]
        first_of = np.r_[True, c[1:] != c[:-1]]
        first_double[c[first_of]] = day[idx[first_of]]

    out = study.series().rename(columns={"first_day": "baseline_day"})
    out["baseline_volume"] = v0
    out["best_response"] = br
    out["day_best_response"] = np.where(has, br_day, np.nan)
    out["best_avg_response"] = bar
    out["day_best_avg_response"] = np.where(has, bar_day, np.nan)
    out["mrecist"] = mrecist_category(br, bar)
    out["auc"] = auc
    out["angle"] = angle
    out["log_growth_rate"] = rate
    out["time_to_double"] = first_double
    if "body_weight" in rec:
        # Toxicity: largest loss of body weight from the first weighed day (%, ≤ 0 = loss).
        bw = rec["body_weight"].to_numpy(float)
        first_bw = pd.Series(bw).groupby(codes).transform("first").to_numpy()
        bw_change = 100.0 * (bw - first_bw) / first_bw
        nadir = pd.Series(bw_change).groupby(codes).min().reindex(range(n_series)).to_numpy()
        out["body_weight_nadir"] = nadir
    return out


def _masked_group_min(
    values: np.ndarray, day: np.ndarray, mask: np.ndarray, starts: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group minimum of values where mask, and the day of the (first) minimum."""
    if len(starts) == 0:
        return np.zeros(0), np.zeros(0)
    masked = np.where(mask, values, np.inf)
    mins = np.minimum.reduceat(masked, starts)
    at_min = masked == np.repeat(mins, counts)
    idx = np.flatnonzero(at_min)
    code = np.repeat(np.arange(len(starts)), counts)[idx]
    first = np.r_[True, code[1:] != code[:-1]]
    when = np.full(len(starts), np.nan)
    when[code[first]] = day[idx[first]]
    return np.where(np.isfinite(mins), mins, np.nan), when


def category_counts(metrics: pd.DataFrame, *, by: str | list[str] = "tumor_type") -> pd.DataFrame:
    """Counts of mRECIST categories (columns CR, PR, SD, PD, NA) per group, with totals."""
    keys = [by] if isinstance(by, str) else list(by)
    cat = metrics["mrecist"].fillna("NA")
    table = pd.crosstab([metrics[k] for k in keys], cat)
    for c in (*MRECIST_CATEGORIES, "NA"):
        if c not in table:
            table[c] = 0
    table = table[[*MRECIST_CATEGORIES, "NA"]]
    table.loc["total"] = table.sum()
    table["total"] = table.sum(axis=1)
    table.columns.name = None
    return table


def arm_response(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per model × arm summary over animals (replicate designs).

    Mean and minimum of BestResponse, mean BestAvgResponse, animals per category and the
    category of the arm from the mean BestResponse and mean BestAvgResponse (Gao's rule
    applied to arm means; with one animal per arm this is that animal's category).
    """
    g = metrics.groupby(["model", "arm"], sort=True)
    out = g.agg(
        n_animals=("animal", "size"),
        best_response_mean=("best_response", "mean"),
        best_response_min=("best_response", "min"),
        best_avg_response_mean=("best_avg_response", "mean"),
        auc_mean=("auc", "mean"),
        log_growth_rate_mean=("log_growth_rate", "mean"),
    ).reset_index()
    counts = pd.crosstab([metrics["model"], metrics["arm"]], metrics["mrecist"].fillna("NA"))
    index = pd.MultiIndex.from_frame(out[["model", "arm"]])
    for c in MRECIST_CATEGORIES:
        column = counts[c] if c in counts else pd.Series(0, index=counts.index)
        out[f"n_{c}"] = column.reindex(index).fillna(0).astype(int).to_numpy()
    out["mrecist"] = mrecist_category(
        out["best_response_mean"].to_numpy(), out["best_avg_response_mean"].to_numpy()
    )
    return out


def _arm_curves(study: TreatmentStudy) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Mean volume curve of each model × arm on the union of its animals' days."""
    curves: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    rec = study.records
    multi = rec.groupby(["model", "arm"], sort=False)["animal"].nunique()
    single_keys = set(multi[multi == 1].index)
    for (model, arm), grp in rec.groupby(["model", "arm"], sort=False):
        if (model, arm) in single_keys:
            curves[(model, arm)] = (grp["day"].to_numpy(float), grp["volume"].to_numpy(float))
            continue
        days = np.unique(grp["day"].to_numpy(float))
        stack = []
        for _, a in grp.groupby("animal", sort=False):
            d, v = a["day"].to_numpy(float), a["volume"].to_numpy(float)
            stack.append(np.where((days >= d[0]) & (days <= d[-1]), np.interp(days, d, v), np.nan))
        curves[(model, arm)] = (days, np.nanmean(np.vstack(stack), axis=0))
    return curves


def tumor_growth_inhibition(study: TreatmentStudy, *, day: float | None = None) -> pd.DataFrame:
    """Tumour growth inhibition of every treated arm against its model's control arm.

    Parameters
    ----------
    study
        Records with a control arm (:attr:`TreatmentStudy.control`).
    day
        Evaluation day; default: per pair, the last day both arms were measured. Volumes are
        linearly interpolated between measurements; days outside an arm's span give NaN.

    Returns
    -------
    pandas.DataFrame
        ``model, arm, day, treated_volume, control_volume, tc, tgi_tc, delta_tc, tgi_delta``
        (see the module docstring for the formulas). Models without a control arm are left
        out; ``study.models_without_control()`` lists them.

    Examples
    --------
    >>> df = pd.DataFrame({"model": "M", "arm": ["ctl"] * 2 + ["drug"] * 2, "animal": "1",
    ...                    "day": [0, 20] * 2, "volume": [100.0, 500, 100, 200]})
    >>> tgi = tumor_growth_inhibition(TreatmentStudy.from_frame(df, control="ctl"))
    >>> tgi[["tc", "tgi_tc", "delta_tc", "tgi_delta"]].round(3).values.tolist()
    [[0.4, 60.0, 0.25, 75.0]]
    """
    control = study.require_control()
    curves = _arm_curves(study)
    rows = []
    for (model, arm), (t_day, t_vol) in curves.items():
        if arm == control or (model, control) not in curves:
            continue
        c_day, c_vol = curves[(model, control)]
        at = min(t_day[-1], c_day[-1]) if day is None else float(day)

        def value(d: np.ndarray, v: np.ndarray, t: float) -> float:
            return float(np.interp(t, d, v)) if d[0] <= t <= d[-1] else np.nan

        tv, cv = value(t_day, t_vol, at), value(c_day, c_vol, at)
        t0, c0 = float(t_vol[0]), float(c_vol[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            tc = tv / cv if cv > 0 else np.nan
            dc = cv - c0
            delta = (tv - t0) / dc if dc > 0 else np.nan
        rows.append((model, arm, at, tv, cv, tc, 100 * (1 - tc), delta, 100 * (1 - delta)))
    cols = ["model", "arm", "day", "treated_volume", "control_volume", "tc", "tgi_tc"]
    cols += ["delta_tc", "tgi_delta"]
    out = pd.DataFrame(rows, columns=cols)
    if out.empty and study.n_models:
        raise InputError(
            f"{study.source}, column 'arm': no model has both the control arm "
            f"{control!r} and a treated arm; check the control arm's name."
        )
    return out.sort_values(["model", "arm"]).reset_index(drop=True)
