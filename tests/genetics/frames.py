"""Comparison of result tables (peaks, maxima) in the genome-scan tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def assert_same_frames(a: pd.DataFrame, b: pd.DataFrame, tol: float = 0.0) -> None:
    """Same columns and rows; numbers within ``tol`` (absolute), everything else equal."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for col in a.columns:
        if pd.api.types.is_numeric_dtype(a[col]):
            np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float),
                                       rtol=0, atol=tol)  # fmt: skip
        else:
            assert a[col].tolist() == b[col].tolist()
