"""Treatment engine: what a drug does to a tumour, a model or a lifespan.

Tumour studies: :class:`TreatmentStudy` and its readers (``study``), response metrics and
mRECIST (``metrics``), growth models, mixed models, treatment effects and synergy
(``growth``), response prediction from molecular features (``predict``) and learnt across
models and drugs (``completion``) and plots (``plot``).
"""

# tumour-volume studies
from translocus.treatment.completion import ResponseCompletion, validate_completion
from translocus.treatment.growth import (
    GROWTH_MODELS,
    GrowthModel,
    MixedGrowthModel,
    MixedModelFit,
    arm_growth_rates,
    compare_growth_models,
    fit_lmm,
    synergy,
    treatment_effects,
)

# lifespan interventions (ITP-style drug effects on survival)
from translocus.treatment.lifespan import LifespanInterventionEffects, lifespan_effects
from translocus.treatment.metrics import (
    MRECIST_CATEGORIES,
    MRECIST_THRESHOLDS,
    arm_response,
    category_counts,
    mrecist_category,
    response_metrics,
    series_log_slopes,
    tumor_growth_inhibition,
)
from translocus.treatment.predict import (
    CVResult,
    MolecularProfile,
    ResponsePredictor,
    cross_validate_response,
    read_xeva_drug_targets,
    read_xeva_molecular,
    response_table,
)
from translocus.treatment.study import (
    TreatmentStudy,
    from_frame,
    read_jax,
    read_long_table,
    read_pdxe,
    read_study,
    read_xeva,
)

# modules appending exports below extend __all__ with ``__all__ += [...]``
__all__ = [
    "CVResult",
    "GROWTH_MODELS",
    "GrowthModel",
    "MRECIST_CATEGORIES",
    "MRECIST_THRESHOLDS",
    "MixedGrowthModel",
    "MixedModelFit",
    "MolecularProfile",
    "ResponsePredictor",
    "TreatmentStudy",
    "arm_growth_rates",
    "arm_response",
    "category_counts",
    "compare_growth_models",
    "cross_validate_response",
    "fit_lmm",
    "from_frame",
    "mrecist_category",
    "read_jax",
    "read_long_table",
    "read_pdxe",
    "read_study",
    "read_xeva",
    "read_xeva_drug_targets",
    "read_xeva_molecular",
    "response_metrics",
    "response_table",
    "series_log_slopes",
    "synergy",
    "treatment_effects",
    "tumor_growth_inhibition",
]
__all__ += ["LifespanInterventionEffects", "lifespan_effects"]
__all__ += ["ResponseCompletion", "validate_completion"]
