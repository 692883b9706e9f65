"""Compiled Viterbi kernel: the most probable genotype sequence of each individual.

Works in log space (sums of log probabilities), as R/qtl2's ``viterbi``; a genotype an
individual cannot have carries ``-inf``. Individuals are processed in parallel (``prange``);
each writes only its own row of ``out``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

__all__ = ["viterbi_dense"]


@numba.njit(parallel=True, cache=True)
def viterbi_dense(geno, rows, log_emit, log_init, log_trans, out, cols):  # noqa: PLR0913
    """Viterbi path with a dense transition matrix per interval (markers only).

    Parameters
    ----------
    geno : int8 ``[individual, marker]`` observed codes of the chromosome.
    rows : int64 ``[k]`` individuals to process (rows of ``geno`` and of ``out``).
    log_emit : float64 ``[marker, code, state]`` log emission probabilities.
    log_init : float64 ``[state]`` log prior at the first marker.
    log_trans : float64 ``[marker - 1, state, state]`` ``log Pr(right | left)``.
    out : int16 ``[individual, marker]``, written with the 1-based genotype ``cols[state] + 1``.
    cols : int64 ``[state]`` genotype column of each state.

    Ties (equal log probabilities) go to the lowest state; R/qtl2 breaks them at random.
    """
    n_mar = geno.shape[1]
    n_state = log_init.shape[0]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        back = np.zeros((n_mar, n_state), dtype=np.int64)
        gamma = np.empty(n_state)
        new = np.empty(n_state)
        for s in range(n_state):
            gamma[s] = log_init[s] + log_emit[0, geno[ind, 0], s]
        for pos in range(n_mar - 1):
            code = geno[ind, pos + 1]
            for right in range(n_state):
                best = gamma[0] + log_trans[pos, 0, right]
                arg = 0
                for left in range(1, n_state):
                    value = gamma[left] + log_trans[pos, left, right]
                    if value > best:
                        best = value
                        arg = left
                back[pos + 1, right] = arg
                new[right] = best + log_emit[pos + 1, code, right]
            for s in range(n_state):
                gamma[s] = new[s]
        state = 0
        best = gamma[0]
        for s in range(1, n_state):
            if gamma[s] > best:
                best = gamma[s]
                state = s
        out[ind, n_mar - 1] = cols[state] + 1
        for pos in range(n_mar - 1, 0, -1):
            state = back[pos, state]
            out[ind, pos - 1] = cols[state] + 1
