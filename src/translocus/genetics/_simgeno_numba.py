"""Compiled forward-filtering, backward-sampling kernel: draws from the genotypes' joint posterior.

The forward pass is the one of :func:`translocus.genetics._hmm_numba.forward_backward_dense`
(normalised at every position). A draw then takes the last position's genotype from the
filtered probabilities and walks back: the genotype at ``p`` given the one drawn at ``p + 1``
has probability proportional to ``alpha[p, s] * trans[p, s, next]``. Uniform numbers come
from the caller, so draws depend on the seed only, never on the number of threads.
Individuals are processed in parallel (``prange``); each writes only its own column of
``out``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from translocus.genetics._hmm_numba import forward_normalised

__all__ = ["sample_paths_dense"]


@numba.njit(parallel=True, cache=True)
def sample_paths_dense(geno, rows, marker_index, emit, init, trans, uniforms, out, cols):  # noqa: PLR0913
    """Draw genotype paths of the individuals ``rows``.

    Parameters
    ----------
    geno : int8 ``[individual, marker]`` observed codes of the chromosome.
    rows : int64 ``[k]`` individuals to process (rows of ``geno``, columns of ``out``).
    marker_index : int64 ``[position]`` column of ``geno`` at each position, or -1.
    emit : float64 ``[marker, code, state]`` emission probabilities.
    init : float64 ``[state]`` prior at the first position.
    trans : float64 ``[position - 1, state, state]`` ``Pr(right | left)``.
    uniforms : float64 ``[individual, draw, position]`` uniform numbers in ``[0, 1)``.
    out : int ``[draw, position, individual]``, written with the 1-based genotype
        ``cols[state] + 1``.
    cols : int64 ``[state]`` genotype column of each state.
    """
    n_pos = marker_index.shape[0]
    n_state = init.shape[0]
    n_draws = uniforms.shape[1]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        alpha = forward_normalised(geno, ind, marker_index, emit, init, trans)
        weight = np.empty(n_state)
        for d in range(n_draws):
            for s in range(n_state):
                weight[s] = alpha[n_pos - 1, s]
            state = _pick(weight, uniforms[ind, d, n_pos - 1])
            out[d, n_pos - 1, ind] = cols[state] + 1
            for p in range(n_pos - 2, -1, -1):
                for s in range(n_state):
                    weight[s] = alpha[p, s] * trans[p, s, state]
                state = _pick(weight, uniforms[ind, d, p])
                out[d, p, ind] = cols[state] + 1


@numba.njit(cache=True, inline="always")
def _pick(weight, u):
    """The state whose cumulative share of ``weight`` first exceeds ``u``."""
    total = 0.0
    for s in range(weight.shape[0]):
        total += weight[s]
    target = u * total
    acc = 0.0
    last = 0
    for s in range(weight.shape[0]):
        if weight[s] > 0.0:
            last = s
            acc += weight[s]
            if acc > target:
                return s
    return last
