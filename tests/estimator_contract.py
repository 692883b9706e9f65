"""The estimator contract, checked the same way for every model class.

Each engine's contract test lists its estimators as :class:`Case` (an unfitted estimator,
a function that fits it on small data, and one call that needs a fitted model) and calls
:func:`check_estimator` on each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from sklearn.base import clone

from translocus.core.estimator import Estimator, NotFittedError


@dataclass
class Case:
    name: str
    make: Callable[[], Any]
    fit: Callable[[Any], Any]
    use_fitted: Callable[[Any], Any]


def check_estimator(case: Case) -> None:
    """Parameters, clone, unfitted use, fit returning self, summary as a DataFrame."""
    model = case.make()
    assert isinstance(model, Estimator), f"{case.name} does not follow the estimator contract"
    assert model.use in ("analysis", "training")
    params = model.get_params(deep=True)
    assert params == clone(model).get_params(deep=True)
    assert not [k for k in vars(model) if k.endswith("_") and not k.startswith("_")], (
        f"{case.name}: the constructor sets learned attributes"
    )
    model.set_params(**params)
    with pytest.raises(NotFittedError):
        case.use_fitted(model)
    with pytest.raises(NotFittedError):
        _ = model.summary
    fitted = case.fit(model)
    assert fitted is model, f"{case.name}.fit must return self"
    assert isinstance(model.summary, pd.DataFrame), f"{case.name}.summary is not a DataFrame"
    case.use_fitted(model)
    copy = clone(model)
    assert copy.get_params() == params
    with pytest.raises(NotFittedError):
        case.use_fitted(copy)
