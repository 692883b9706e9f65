"""Treatment engine: what a drug does to a tumour, a model or a lifespan."""

# lifespan interventions (ITP-style drug effects on survival)
from translocus.treatment.lifespan import LifespanInterventionEffects, lifespan_effects

# modules appending exports below extend __all__ with ``__all__ += [...]``
__all__ = ["LifespanInterventionEffects", "lifespan_effects"]
