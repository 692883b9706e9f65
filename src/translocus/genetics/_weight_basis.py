"""A trait-independent basis for the LMM weights ``w(h, λ) = 1 / (h λ + 1 - h)``.

The many-trait LMM scan weighs each rotated individual ``i`` of trait ``t`` by
``w(h_t, λ_i)``. As a function of the eigenvalue ``λ`` this is ``(1/h) / (λ - s)`` with its
pole at ``s = -(1 - h)/h <= 0``, so on an interval ``[a, b]`` with ``a > 0`` it is
interpolated by a polynomial at ``N`` Chebyshev points ``μ_j`` with relative error
exactly ``|T_N(x̂) / T_N(ŝ)| <= 1 / T_N((b + a)/(b - a))`` (``x̂``, ``ŝ`` the point and the
pole mapped to ``[-1, 1]``; the worst pole is ``s = 0``, at ``h = 1``), uniformly in
``h`` in ``[0, 1]``. So

    w(h_t, λ_i) = Σ_j l_j(λ_i) w(h_t, μ_j)

to rounding, with ``l_j`` the Lagrange basis of the interval holding ``λ_i``. The basis
``B[i, j] = l_j(λ_i)`` depends on the eigenvalues alone (never on the traits), so any
weighted moment ``Σ_i w_ti p_i`` becomes ``Σ_j w(h_t, μ_j) P_j`` with ``P = p B`` formed once
for all traits: ``K`` (the nodes of all intervals) instead of ``n`` terms per trait.

The eigenvalues are split into intervals by dynamic programming over the sorted values:
an interval costs its node count ``N`` or, when it holds no more eigenvalues than that,
its eigenvalues themselves (then ``l_j`` is the indicator and the weights are exact).
Eigenvalues at or below zero are always taken exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TRUNCATION", "WeightBasis", "interpolation_nodes", "weight_basis", "weights"]

#: Relative truncation error allowed to each interval's interpolant (below the rounding
#: of the weights themselves, so the basis is exact to rounding).
TRUNCATION = 2.0**-56
#: Largest ratio ``b / a`` of an interpolated interval: bounds the coefficients ``w(h, μ_j)``
#: against the weights they reproduce (at most this ratio apart), and so the rounding.
MAX_RATIO = 8.0
#: The basis is used only when it has at most this fraction of the individuals' columns.
MAX_FRACTION = 0.5


@dataclass(frozen=True)
class WeightBasis:
    """``w(h, λ_i) = Σ_j basis[i, j] w(h, nodes[j])`` to rounding, for ``h`` in ``[0, 1]``.

    Attributes
    ----------
    basis
        ``[n, K]`` Lagrange basis values ``l_j(λ_i)`` (0 outside ``λ_i``'s interval).
    nodes
        ``[K]`` the interpolation nodes (an exact eigenvalue where its interval is exact).
    intervals
        ``[(first, last, nodes)]``: each interval's eigenvalue index range (inclusive) and
        node count (``0``: its eigenvalues taken exactly).
    """

    basis: np.ndarray
    nodes: np.ndarray
    intervals: tuple[tuple[int, int, int], ...]

    @property
    def size(self) -> int:
        """``K``, the number of basis columns."""
        return int(self.nodes.size)

    def coefficients(self, hsq: np.ndarray) -> np.ndarray:
        """``[K, T]`` the weights at the nodes, ``w(h_t, μ_j)``."""
        return weights(np.asarray(hsq, dtype=float), self.nodes).T


def weights(hsq: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``[T, n]`` the LMM weights ``1 / (h_t λ_i + 1 - h_t)``."""
    return 1.0 / (hsq[:, None] * values[None, :] + (1.0 - hsq)[:, None])


def _nodes_needed(lo: np.ndarray, hi: float) -> np.ndarray:
    """Chebyshev points needed on ``[lo, hi]`` (``lo > 0``) for :data:`TRUNCATION`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        u = (hi + lo) / (hi - lo)
        n_need = np.ceil(math.acosh(1.0 / TRUNCATION) / np.arccosh(u))
    n_need = np.where(hi > lo, n_need, 1.0)
    return np.where((lo > 0) & (hi <= MAX_RATIO * lo), n_need, np.inf)


def interpolation_nodes(lo: float, hi: float, count: int) -> np.ndarray:
    """``count`` Chebyshev points of the first kind on ``[lo, hi]`` (ascending)."""
    k = np.arange(count)
    x = -np.cos((2 * k + 1) * np.pi / (2 * count))
    return 0.5 * (hi + lo) + 0.5 * (hi - lo) * x


def _lagrange(x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """``[len(x), len(nodes)]`` Lagrange basis values (barycentric form, first-kind points)."""
    count = nodes.size
    k = np.arange(count)
    theta = (2 * k + 1) * np.pi / (2 * count)
    bary = (-1.0) ** k * np.sin(theta)  # barycentric weights of first-kind points (reversed)
    diff = x[:, None] - nodes[None, :]
    hit = diff == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = bary[None, :] / diff
        out = terms / terms.sum(axis=1, keepdims=True)
    rows = hit.any(axis=1)
    out[rows] = hit[rows].astype(float)
    return out


def weight_basis(values: np.ndarray) -> WeightBasis | None:
    """The basis of the eigenvalues ``values`` (ascending), or None where it would not pay.

    None when it has more than :data:`MAX_FRACTION` of ``n`` columns (then the weights
    themselves cost less) or when the eigenvalues are not finite.
    """
    lam = np.asarray(values, dtype=float)
    n = lam.size
    if n == 0 or not np.isfinite(lam).all() or np.any(np.diff(lam) < 0):
        return None
    # cost[j + 1] = fewest columns for lam[: j + 1]; the last interval lam[i .. j]
    cost = np.zeros(n + 1)
    start = np.zeros(n, dtype=np.int64)
    count_of = np.zeros(n, dtype=np.int64)
    idx = np.arange(n)
    for j in range(n):
        lo = lam[: j + 1]
        need = _nodes_needed(lo, float(lam[j]))
        held = (j + 1 - idx[: j + 1]).astype(float)
        cols = np.minimum(need, held)
        total = cost[: j + 1] + cols
        i = int(np.argmin(total))
        cost[j + 1] = total[i]
        start[j] = i
        count_of[j] = 0 if held[i] <= need[i] else int(need[i])
    intervals = []
    j = n - 1
    while j >= 0:
        i = int(start[j])
        intervals.append((i, j, int(count_of[j])))
        j = i - 1
    intervals.reverse()
    k_total = int(cost[n])
    if k_total > MAX_FRACTION * n:
        return None
    basis = np.zeros((n, k_total))
    nodes = np.empty(k_total)
    col = 0
    for i, j, count in intervals:
        if count == 0:  # exact: each eigenvalue its own node
            width = j - i + 1
            nodes[col : col + width] = lam[i : j + 1]
            basis[i : j + 1, col : col + width] = np.eye(width)
        else:
            width = count
            mu = interpolation_nodes(float(lam[i]), float(lam[j]), count)
            nodes[col : col + width] = mu
            basis[i : j + 1, col : col + width] = _lagrange(lam[i : j + 1], mu)
        col += width
    return WeightBasis(basis=basis, nodes=nodes, intervals=tuple(intervals))
