"""Central finite differences: the independent reference for analytic gradients in tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def central_gradient(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Gradient of ``f`` at ``x`` by central differences, step ``1e-5 * max(1, |x_j|)``."""
    g = np.empty_like(x, dtype=float)
    for j in range(x.size):
        h = 1e-5 * max(1.0, abs(x[j]))
        e = np.zeros_like(x, dtype=float)
        e[j] = h
        g[j] = (f(x + e) - f(x - e)) / (2 * h)
    return g
