"""Progression engine: how disease and ageing unfold over age, per strain, sex and animal.

- :class:`AgeTrajectoryModel`: cross-sectional-by-age data (each animal measured once):
  smooth mean curves per group, effect sizes against the matched control, onset ages.
- :class:`DiseaseCourseModel`: repeated measures: a latent disease age per animal (time
  shift and speed) shared by several measures, personalised forecasts, virtual cohorts.
- :mod:`translocus.progression.forecast`: held-out splits, reference forecasters and
  interval calibration.
- survival analysis of lifespans (Kaplan-Meier, Cox, parametric, competing risks).
- :class:`JointModel`: a repeated measure and survival together (the course's current value
  and slope in the hazard), dynamic death risks updated at each visit.

Plain data frames become tables with a licence through :func:`from_frame` (measure tables,
``columns=``, ``license=`` or ``provenance=``) and :meth:`LifespanTable.from_frame`; the
model classes also take a plain frame with ``license=`` in ``fit``.
"""

# age trajectories and disease courses; survival analysis of lifespans (shared with the
# treatment engine)
from translocus.progression.course import DiseaseCourseModel
from translocus.progression.data import (
    MeasureTable,
    from_frame,
    read_long_csv,
    read_model_ad,
    read_slam,
)
from translocus.progression.forecast import (
    LinearMixedModel,
    forecast_metrics,
    horizon_split,
    last_value_forecast,
    select_by_forecast,
)
from translocus.progression.joint import JointModel
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
from translocus.progression.trajectory import AgeTrajectoryModel

# modules appending exports below extend __all__ with ``__all__ += [...]``
__all__ = [
    "AalenJohansen",
    "CoxPH",
    "GammaFrailtyCox",
    "JointModel",
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
    "AgeTrajectoryModel",
    "DiseaseCourseModel",
    "LinearMixedModel",
    "MeasureTable",
    "forecast_metrics",
    "from_frame",
    "horizon_split",
    "last_value_forecast",
    "read_long_csv",
    "read_model_ad",
    "read_slam",
    "select_by_forecast",
]
