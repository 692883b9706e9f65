"""Compiled E step of the genetic-map EM: posterior genotype pairs of adjacent markers.

For each individual, scaled forward and backward variables (normalised at every marker, as
in :mod:`translocus.genetics._hmm_numba`) give ``Pr(g_p = l, g_p+1 = r | data)`` for every
interval, ``alpha[p, l] * trans[p, l, r] * emit[p + 1, r] * beta[p + 1, r]`` normalised to
sum 1; the log likelihood is the sum of the logs of the forward normalisers. Individuals
are processed in parallel (``prange``); each writes only its own slice of ``pairs`` and its
own ``loglik`` entry, and the caller sums them in a fixed order, so results do not depend
on the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

__all__ = ["pair_posteriors_dense", "pair_posteriors_serial"]


def _pair_posteriors(geno, rows, table, etable, emit, init, trans, pairs, loglik):  # noqa: PLR0913
    """Posterior probabilities of the genotype pairs of adjacent markers.

    Individuals of different sex or cross information use different tables, stacked on a
    leading axis; states a table does not use have prior and transitions 0.

    Parameters
    ----------
    geno : int8 ``[individual, marker]`` observed codes of the chromosome.
    rows : int64 ``[k]`` individuals to process (rows of ``geno``).
    table : int64 ``[k]`` the table (prior and transitions) of each of them.
    etable : int64 ``[table]`` the emission table of each table.
    emit : float64 ``[emission table, marker, code, state]`` emission probabilities.
    init : float64 ``[table, state]`` prior at the first marker.
    trans : float64 ``[table, marker - 1, state, state]`` ``Pr(right | left)``.
    pairs : float64 ``[k, marker - 1, state, state]``, written: row ``ii`` for ``rows[ii]``.
    loglik : float64 ``[k]``, written: log likelihood of each individual's data.
    """
    n_mar = geno.shape[1]
    n_state = init.shape[1]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        t = table[ii]
        e = etable[t]
        alpha = np.empty((n_mar, n_state))
        beta = np.empty((n_mar, n_state))
        total = 0.0
        for s in range(n_state):
            v = init[t, s] * emit[e, 0, geno[ind, 0], s]
            alpha[0, s] = v
            total += v
        ll = math.log(total)
        for s in range(n_state):
            alpha[0, s] /= total
        for p in range(1, n_mar):
            code = geno[ind, p]
            total = 0.0
            for s in range(n_state):
                v = 0.0
                for q in range(n_state):
                    v += alpha[p - 1, q] * trans[t, p - 1, q, s]
                v *= emit[e, p, code, s]
                alpha[p, s] = v
                total += v
            ll += math.log(total)
            for s in range(n_state):
                alpha[p, s] /= total
        loglik[ii] = ll
        for s in range(n_state):
            beta[n_mar - 1, s] = 1.0
        nxt = np.empty(n_state)
        for p in range(n_mar - 2, -1, -1):
            code = geno[ind, p + 1]
            for s in range(n_state):
                nxt[s] = beta[p + 1, s] * emit[e, p + 1, code, s]
            bsum = 0.0
            for s in range(n_state):
                v = 0.0
                for q in range(n_state):
                    v += trans[t, p, s, q] * nxt[q]
                beta[p, s] = v
                bsum += v
            for s in range(n_state):
                beta[p, s] /= bsum
            psum = 0.0
            for left in range(n_state):
                a = alpha[p, left]
                for right in range(n_state):
                    v = a * trans[t, p, left, right] * nxt[right]
                    pairs[ii, p, left, right] = v
                    psum += v
            for left in range(n_state):
                for right in range(n_state):
                    pairs[ii, p, left, right] /= psum


#: Threads for large chromosomes; one thread where waking the others costs more than the work
#: (EM runs thousands of E steps on small chromosomes).
pair_posteriors_dense = numba.njit(parallel=True, cache=True)(_pair_posteriors)
pair_posteriors_serial = numba.njit(cache=True)(_pair_posteriors)
