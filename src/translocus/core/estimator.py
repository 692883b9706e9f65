"""The estimator contract every model class in translocus follows (scikit-learn's).

- The constructor only stores its parameters, under their own names (so
  ``get_params(deep=True)``/``set_params`` work and ``sklearn.base.clone`` makes an unfitted
  copy).
- ``fit(...)`` returns ``self``; what it learns ends in ``_`` (``onset_``, ``coef_``).
- Using a model before ``fit`` raises one :class:`NotFittedError` (scikit-learn's).
- ``summary`` is a property returning a ``pandas.DataFrame``.
- An optimiser that stops without converging warns with :class:`ConvergenceWarning`
  (scikit-learn's) and says which model and what to change.
- Each estimator declares its :attr:`Estimator.use`: ``"analysis"`` (describing these data:
  recorded, never refused) or ``"training"`` (parameters meant to be applied to other animals
  or studies: passes the licence gate, fails closed).

>>> class Mean(Estimator):
...     use = "analysis"
...     def __init__(self, shift: float = 0.0) -> None:
...         self.shift = shift
...     def fit(self, x):
...         self.mean_ = sum(x) / len(x) + self.shift
...         return self
>>> Mean(shift=1.0).get_params()
{'shift': 1.0}
>>> check_fitted(Mean())
Traceback (most recent call last):
...
sklearn.exceptions.NotFittedError: Mean is not fitted yet; call fit(...) first
"""

from __future__ import annotations

from typing import ClassVar, Literal

from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning, NotFittedError

__all__ = ["ConvergenceWarning", "Estimator", "NotFittedError", "check_fitted"]


class Estimator(BaseEstimator):  # type: ignore[misc]
    """Base of translocus' model classes: scikit-learn's parameter handling and fit checks."""

    #: ``"analysis"`` (never refused) or ``"training"`` (licence gate, fails closed).
    use: ClassVar[Literal["analysis", "training"]] = "analysis"


def check_fitted(estimator: object) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has learned attributes (``name_``)."""
    fitted = [k for k in vars(estimator) if k.endswith("_") and not k.startswith("__")]
    if not fitted:
        raise NotFittedError(f"{type(estimator).__name__} is not fitted yet; call fit(...) first")
