"""Compiled forward-backward kernels for genotype probabilities.

Both kernels work in scaled probability space: each forward and backward vector is
normalised to sum 1 at every position, which is exact for conditional probabilities (the
scale factors cancel) and avoids the log/exp of a log-space implementation. Individuals are
processed in parallel (``prange``); each writes only its own rows of ``out``.

Observed genotype codes index the emission tables directly (``emit[marker, code, state]``);
positions with ``marker_index < 0`` are pseudomarkers without data.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

__all__ = [
    "forward_backward_dense",
    "forward_backward_do",
    "forward_backward_tables",
    "forward_backward_uniform",
]

# allele pair (a <= b) of each of the 36 unphased DO genotypes, in R/qtl2 order (AA, AB, BB,
# AC, BC, CC, ...: the pairs of b = 0..7 with a = 0..b), and how many of the 8 x 8 ordered
# haplotype pairs each stands for
_PAIR_A = np.array([a for b in range(8) for a in range(b + 1)], dtype=np.int64)
_PAIR_B = np.array([b for b in range(8) for a in range(b + 1)], dtype=np.int64)
_PAIR_MULT = np.where(_PAIR_A == _PAIR_B, 1.0, 2.0)


def do_pair_prior(init: np.ndarray) -> np.ndarray:
    """The 36-genotype prior as one cell of the symmetric 8 x 8 haplotype-pair matrix each.

    A heterozygote's prior is split equally between its two phases, so each off-diagonal
    cell holds half of it (:func:`forward_backward_do`).
    """
    return np.ascontiguousarray(np.asarray(init, dtype=np.float64) / _PAIR_MULT)


@numba.njit(cache=True, inline="always")
def forward_normalised(geno, ind, marker_index, emit, init, trans):
    """Forward probabilities of individual ``ind``, normalised at every position.

    ``[position, state]``; arguments as in :func:`forward_backward_dense`. Shared by the
    genotype probabilities and the posterior draws (``_simgeno_numba``), so both rest on the
    same numbers.
    """
    n_pos = marker_index.shape[0]
    n_state = init.shape[0]
    alpha = np.empty((n_pos, n_state))
    total = 0.0
    m = marker_index[0]
    for s in range(n_state):
        v = init[s]
        if m >= 0:
            v *= emit[m, geno[ind, m], s]
        alpha[0, s] = v
        total += v
    for s in range(n_state):
        alpha[0, s] /= total
    for p in range(1, n_pos):
        m = marker_index[p]
        total = 0.0
        for s in range(n_state):
            v = 0.0
            for q in range(n_state):
                v += alpha[p - 1, q] * trans[p - 1, q, s]
            if m >= 0:
                v *= emit[m, geno[ind, m], s]
            alpha[p, s] = v
            total += v
        for s in range(n_state):
            alpha[p, s] /= total
    return alpha


@numba.njit(parallel=True, cache=True)
def forward_backward_dense(geno, rows, marker_index, emit, init, trans, out, cols):  # noqa: PLR0913
    """Forward-backward with a dense transition matrix per interval.

    Parameters
    ----------
    geno : int8 ``[individual, marker]`` observed codes of the chromosome.
    rows : int64 ``[k]`` individuals to process (rows of ``geno`` and of ``out``).
    marker_index : int64 ``[position]`` column of ``geno`` at each position, or -1.
    emit : float64 ``[marker, code, state]`` emission probabilities.
    init : float64 ``[state]`` prior at the first position.
    trans : float64 ``[position - 1, state, state]`` ``Pr(right | left)``.
    out : float64 ``[position, individual, genotype]``, written at ``cols`` of each row.
    cols : int64 ``[state]`` genotype column of each state.
    """
    n_pos = marker_index.shape[0]
    n_state = init.shape[0]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        alpha = forward_normalised(geno, ind, marker_index, emit, init, trans)
        # backward pass; combine with alpha on the fly
        beta = np.ones(n_state)
        nxt = np.empty(n_state)
        for s in range(n_state):
            out[n_pos - 1, ind, cols[s]] = alpha[n_pos - 1, s]
        for p in range(n_pos - 2, -1, -1):
            m = marker_index[p + 1]
            for s in range(n_state):
                nxt[s] = beta[s]
                if m >= 0:
                    nxt[s] *= emit[m, geno[ind, m], s]
            bsum = 0.0
            for s in range(n_state):
                v = 0.0
                for q in range(n_state):
                    v += trans[p, s, q] * nxt[q]
                beta[s] = v
                bsum += v
            total = 0.0
            for s in range(n_state):
                beta[s] /= bsum
                total += alpha[p, s] * beta[s]
            for s in range(n_state):
                out[p, ind, cols[s]] = alpha[p, s] * beta[s] / total


@numba.njit(parallel=True, cache=True)
def forward_backward_tables(
    geno, rows, marker_index, emit, emit_of, init, trans, trans_of, cols, out
):  # noqa: PLR0913
    """Forward-backward for individuals with their own tables, in one parallel loop.

    The model of :func:`forward_backward_dense`, with each individual's emission, prior and
    transition tables looked up by index, so that lines with different funnels (each with
    its own transition matrices) share one call and the threads split the lines. The
    states are those of the individual's transition table; ``cols`` maps them to genotype
    columns, so one table serves lines whose founders play the same parts in a different
    order.

    Parameters
    ----------
    geno, marker_index, out
        As in :func:`forward_backward_dense`.
    rows : int64 ``[k]`` individuals to process.
    emit : float64 ``[table, marker, code, genotype]`` emission probabilities over all genotype
        columns; ``emit_of`` : int64 ``[k]`` the table of each individual.
    init : float64 ``[k, state]`` prior of each individual's states.
    trans : float64 ``[table, position - 1, state, state]`` ``Pr(right | left)``;
        ``trans_of`` : int64 ``[k]`` the table of each individual.
    cols : int64 ``[k, state]`` genotype column of each state (emission and ``out``).
    """
    n_pos = marker_index.shape[0]
    n_state = init.shape[1]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        e = emit_of[ii]
        t = trans_of[ii]
        cl = cols[ii]
        alpha = np.empty((n_pos, n_state))
        acc = np.empty(n_state)
        total = 0.0
        m = marker_index[0]
        for s in range(n_state):
            v = init[ii, s]
            if m >= 0:
                v *= emit[e, m, geno[ind, m], cl[s]]
            alpha[0, s] = v
            total += v
        inv = 1.0 / total
        for s in range(n_state):
            alpha[0, s] *= inv
        for p in range(1, n_pos):
            # q outer, s inner: rows of the transition matrix are read contiguously, and each
            # sum still runs over q in order
            for s in range(n_state):
                acc[s] = 0.0
            for q in range(n_state):
                a = alpha[p - 1, q]
                for s in range(n_state):
                    acc[s] += a * trans[t, p - 1, q, s]
            m = marker_index[p]
            total = 0.0
            if m >= 0:
                g = geno[ind, m]
                for s in range(n_state):
                    acc[s] *= emit[e, m, g, cl[s]]
            for s in range(n_state):
                total += acc[s]
            inv = 1.0 / total
            for s in range(n_state):
                alpha[p, s] = acc[s] * inv
        beta = np.ones(n_state)
        nxt = np.empty(n_state)
        for s in range(n_state):
            out[n_pos - 1, ind, cl[s]] = alpha[n_pos - 1, s]
        for p in range(n_pos - 2, -1, -1):
            m = marker_index[p + 1]
            for s in range(n_state):
                nxt[s] = beta[s]
            if m >= 0:
                g = geno[ind, m]
                for s in range(n_state):
                    nxt[s] *= emit[e, m, g, cl[s]]
            bsum = 0.0
            for s in range(n_state):
                v = 0.0
                for q in range(n_state):
                    v += trans[t, p, s, q] * nxt[q]
                beta[s] = v
                bsum += v
            inv = 1.0 / bsum
            total = 0.0
            for s in range(n_state):
                beta[s] *= inv
                nxt[s] = alpha[p, s] * beta[s]
                total += nxt[s]
            inv = 1.0 / total
            for s in range(n_state):
                out[p, ind, cl[s]] = nxt[s] * inv


@numba.njit(cache=True, inline="always")
def _sum_by_four(x, n):
    """``x[0] + ... + x[n - 1]`` in four interleaved partial sums.

    One running sum is a chain of dependent additions whose latency, not the arithmetic,
    bounds the HMM kernels; four chains overlap. The order is fixed, so the result does not
    depend on the number of threads.
    """
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    s = 0
    while s + 4 <= n:
        a0 += x[s]
        a1 += x[s + 1]
        a2 += x[s + 2]
        a3 += x[s + 3]
        s += 4
    while s < n:
        a0 += x[s]
        s += 1
    return (a0 + a1) + (a2 + a3)


@numba.njit(parallel=True, cache=True)
def forward_backward_uniform(geno, rows, marker_index, emit, emit_of, init, stay, move, trans_of,
                             out):  # fmt: skip  # noqa: PLR0913
    """:func:`forward_backward_tables` for transitions that stay with one probability and
    move to every other state with another (``risib8`` autosomes, for example).

    ``T = (stay - move) I + move J``, so one step is ``(stay - move) x + move sum(x)``: a
    multiply-add per state instead of a matrix-vector product. ``T`` is the same in any
    order of the states, so the states are the genotype columns themselves (a line's funnel
    only permutes its prior, ``init``): emission rows and output rows are read and written
    contiguously. The forward vectors are kept unnormalised (each step divides by the
    previous sum); the backward ones are divided by their sum before each step, after which
    they sum to ``stay + (n - 1) move = 1``.

    Parameters
    ----------
    geno, rows, marker_index, out
        As in :func:`forward_backward_dense`.
    emit : float64 ``[table, marker, code, genotype]``; ``emit_of`` : int64 ``[k]``.
    init : float64 ``[k, genotype]`` prior of each individual.
    stay, move : float64 ``[table, position - 1]``
        The diagonal and the off-diagonal of each interval's transition matrix;
        ``trans_of`` : int64 ``[k]`` the table of each individual.
    """
    n_pos = marker_index.shape[0]
    n_state = init.shape[1]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        e = emit_of[ii]
        t = trans_of[ii]
        alpha = np.empty((n_pos, n_state))
        beta = np.empty(n_state)
        y = np.empty(n_state)
        m = marker_index[0]
        for s in range(n_state):
            v = init[ii, s]
            if m >= 0:
                v *= emit[e, m, geno[ind, m], s]
            alpha[0, s] = v
        total = _sum_by_four(alpha[0], n_state)
        for p in range(1, n_pos):
            a = (stay[t, p - 1] - move[t, p - 1]) / total
            b = move[t, p - 1]
            m = marker_index[p]
            now = alpha[p]
            before = alpha[p - 1]
            if m >= 0:
                em = emit[e, m, geno[ind, m]]
                for s in range(n_state):
                    now[s] = (a * before[s] + b) * em[s]
            else:
                for s in range(n_state):
                    now[s] = a * before[s] + b
            total = _sum_by_four(now, n_state)
        inv = 1.0 / total
        for s in range(n_state):
            beta[s] = 1.0
            out[n_pos - 1, ind, s] = alpha[n_pos - 1, s] * inv
        for p in range(n_pos - 2, -1, -1):
            m = marker_index[p + 1]
            if m >= 0:
                em = emit[e, m, geno[ind, m]]
                for s in range(n_state):
                    beta[s] *= em[s]
            a = (stay[t, p] - move[t, p]) / _sum_by_four(beta, n_state)
            b = move[t, p]
            now = alpha[p]
            for s in range(n_state):
                beta[s] = a * beta[s] + b
                y[s] = now[s] * beta[s]
            inv = 1.0 / _sum_by_four(y, n_state)
            row = out[p, ind]
            for s in range(n_state):
                row[s] = y[s] * inv


@numba.njit(parallel=True, cache=True, fastmath=True)
def forward_backward_do(geno, rows, marker_index, emit, init36, stay, move, out, col0):
    """Forward-backward for the 36 unphased DO genotypes (autosome or female X).

    Each haplotype follows ``t = stay I + move J`` (``stay = 1 - 8R/7``, ``move = R/7``) and the
    pair of haplotypes follows ``t (x) t``. Held as a symmetric 8 x 8 matrix ``X`` over ordered
    haplotype pairs (a heterozygote's mass split between its phases), one step is
    ``X' = t X t = stay^2 X + stay move (r 1' + 1 r') + move^2 sum(X) 11'`` with ``r`` the row
    sums: a few multiply-adds per genotype instead of a 36 x 36 matrix-vector product. ``X`` is
    symmetric, so only its 36 cells ``a <= b`` are kept, one per genotype in R/qtl2's order.
    The backward step is the same map applied to the (unsplit, also symmetric) backward
    variables.

    Parameters
    ----------
    geno, rows, marker_index, out
        As in :func:`forward_backward_dense`.
    emit : float64 ``[marker, code, 36]``
        Emission probabilities of the 36 genotypes.
    init36 : float64 ``[36]``
        From :func:`do_pair_prior`.
    stay, move : float64 ``[position - 1]``.
    col0 : int
        Column of ``out`` holding genotype AA; the 36 genotypes are contiguous.
    """
    n_pos = marker_index.shape[0]
    for ii in prange(rows.shape[0]):
        ind = rows[ii]
        alpha = np.empty((n_pos, 36))
        x = np.empty(36)
        y = np.empty(36)
        r = np.empty(8)
        # forward pass. The step coefficients divide by the sum of the previous vector, so
        # every vector is normalised before it is propagated without a separate pass over it.
        m = marker_index[0]
        for k in range(36):
            v = init36[k]
            if m >= 0:
                v *= emit[m, geno[ind, m], k]
            x[k] = v
            alpha[0, k] = v
        for p in range(1, n_pos):
            a2, c = _pair_step_coefficients(x, stay[p - 1], move[p - 1], r)
            m = marker_index[p]
            now = alpha[p]
            if m >= 0:
                em = emit[m, geno[ind, m]]
                k = 0
                for b in range(8):
                    rb = r[b] + c
                    for a in range(b + 1):
                        v = (a2 * x[k] + r[a] + rb) * em[k]
                        x[k] = v
                        now[k] = v
                        k += 1
            else:
                k = 0
                for b in range(8):
                    rb = r[b] + c
                    for a in range(b + 1):
                        v = a2 * x[k] + r[a] + rb
                        x[k] = v
                        now[k] = v
                        k += 1
        # backward pass: x now holds the backward variables, combined with alpha on the fly
        tot = 0.0
        for k in range(36):
            y[k] = alpha[n_pos - 1, k] * _PAIR_MULT[k]
            tot += y[k]
        inv = 1.0 / tot
        row = out[n_pos - 1, ind]
        for k in range(36):
            row[col0 + k] = y[k] * inv
        for k in range(36):
            x[k] = 1.0
        for p in range(n_pos - 2, -1, -1):
            m = marker_index[p + 1]
            if m >= 0:
                em = emit[m, geno[ind, m]]
                for k in range(36):
                    y[k] = x[k] * em[k]
            else:
                for k in range(36):
                    y[k] = x[k]
            a2, c = _pair_step_coefficients(y, stay[p], move[p], r)
            now = alpha[p]
            tot = 0.0
            k = 0
            for b in range(8):
                rb = r[b] + c
                for a in range(b + 1):
                    v = a2 * y[k] + r[a] + rb
                    x[k] = v
                    w = now[k] * v * _PAIR_MULT[k]
                    y[k] = w
                    tot += w
                    k += 1
            inv = 1.0 / tot
            row = out[p, ind]
            for k in range(36):
                row[col0 + k] = y[k] * inv


@numba.njit(cache=True, fastmath=True, inline="always")
def _pair_step_coefficients(x, stay, move, r):
    """Coefficients of ``t X t / sum(X)`` for the symmetric 8 x 8 ``X`` held as its 36 cells
    ``a <= b`` (:func:`forward_backward_do`).

    Writes the row sums of ``X`` times ``stay * move / sum(X)`` into ``r`` and returns
    ``stay^2 / sum(X)`` and ``move^2``; then ``(t X t)[a, b] / sum(X) =
    a2 X[a, b] + r[a] + r[b] + c``.
    """
    for i in range(8):
        r[i] = 0.0
    k = 0
    for b in range(8):
        rb = 0.0
        for a in range(b):  # cell (a, b) also stands for (b, a)
            v = x[k]
            r[a] += v
            rb += v
            k += 1
        r[b] += rb + x[k]
        k += 1
    total = 0.0
    for i in range(8):
        total += r[i]
    scale = 1.0 / total
    ab = stay * move * scale
    for i in range(8):
        r[i] *= ab
    return stay * stay * scale, move * move


@numba.njit(parallel=True, cache=True)
def collapse_states(values, target, weight, n_out):
    """``out[..., t] = sum over states s with target[s, e] == t of weight[s, e] * values[..., s]``.

    A sparse ``[position * individual, state] @ [state, allele]`` product: each genotype adds to
    at most ``target.shape[1]`` alleles (a DO genotype ``ab`` adds 1/2 to ``a`` and to ``b``).

    Parameters
    ----------
    values : float64 ``[row, state]``
    target : int64 ``[state, entries]`` output column of each entry, -1 for none.
    weight : float64 ``[state, entries]``
    n_out : int
    """
    n_row, n_state = values.shape
    out = np.zeros((n_row, n_out))
    for row in prange(n_row):
        for s in range(n_state):
            v = values[row, s]
            for e in range(target.shape[1]):
                t = target[s, e]
                if t >= 0:
                    out[row, t] += weight[s, e] * v
    return out
