"""Small dense linear algebra for the compiled progression kernels (matrices of a few rows).

Each routine sums in one fixed order (ascending index), so a kernel that calls it gives the
same bits as the loops it replaces, whichever kernel calls it.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lower_inverse(low: np.ndarray, out: np.ndarray) -> None:
    """The inverse of the lower-triangular ``low`` into the lower triangle of ``out``."""
    r = low.shape[0]
    for a in range(r):
        out[a, a] = 1.0 / low[a, a]
        for b in range(a):
            v = 0.0
            for p in range(b, a):
                v -= low[a, p] * out[p, b]
            out[a, b] = v / low[a, a]


@njit(cache=True, nogil=True)
def inverse_from_factor(linv: np.ndarray, out: np.ndarray) -> None:
    """``(L L')^-1 = L^-T L^-1`` into ``out`` (both triangles) from ``linv = L^-1``."""
    r = linv.shape[0]
    for a in range(r):
        for b in range(a + 1):
            v = 0.0
            for p in range(a, r):
                v += linv[p, a] * linv[p, b]
            out[a, b] = v
            out[b, a] = v


@njit(cache=True, nogil=True)
def matmul(left: np.ndarray, right: np.ndarray, out: np.ndarray) -> None:
    """``out = left @ right`` for small square matrices, each entry summed in index order."""
    r = left.shape[0]
    for a in range(r):
        for b in range(r):
            v = 0.0
            for p in range(r):
                v += left[a, p] * right[p, b]
            out[a, b] = v
