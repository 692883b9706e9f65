"""Progression engine: how disease and ageing unfold over age, per strain, sex and animal."""

# survival analysis of lifespans (shared with the treatment engine)
from translocus.progression.lifespan_data import (
    LifespanTable,
    read_itp_lifespans,
    read_slam_lifespans,
)
from translocus.progression.survival import (
    AalenJohansen,
    CoxPH,
    GammaFrailtyCox,
    KaplanMeier,
    LifespanForecaster,
    NelsonAalen,
    ParametricSurvival,
    cause_specific_cox,
    fit_parametric_by,
    forecast_backtest,
    forecast_calibration,
    logrank_test,
    survival_table,
)

# modules appending exports below extend __all__ with ``__all__ += [...]``
__all__ = [
    "AalenJohansen",
    "CoxPH",
    "GammaFrailtyCox",
    "KaplanMeier",
    "LifespanForecaster",
    "LifespanTable",
    "NelsonAalen",
    "ParametricSurvival",
    "cause_specific_cox",
    "fit_parametric_by",
    "forecast_backtest",
    "forecast_calibration",
    "logrank_test",
    "read_itp_lifespans",
    "read_slam_lifespans",
    "survival_table",
]
