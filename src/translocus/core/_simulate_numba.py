"""Numba kernels of the cross simulator: gene dropping of haplotype mosaics.

A haplotype on one chromosome is a run of segments ``[end_{j-1}, end_j)`` (cM, the last
``end`` equals the chromosome length), each labelled with the founder it descends from.
Arrays for a population of ``n`` individuals:

- ``ends``   float64 ``[n, 2, max_segments]``
- ``labels`` int8    ``[n, 2, max_segments]``
- ``counts`` int32   ``[n, 2]`` (segments in use)

Slot 0 is the maternal haplotype and slot 1 the paternal one. On the X chromosome a male
carries his maternal X in slot 0 and a copy of it in slot 1 (hemizygous), so that allele
dosages stay on the same 0/1/2 scale.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["drop_chromosome", "founders_at"]


@njit(cache=True)
def _append_range(src_ends, src_labels, n_src, a, b, out_ends, out_labels, n_out):  # type: ignore[no-untyped-def]
    """Append the source segments that cover ``[a, b)``; return the new count (-1: full)."""
    if b <= a:
        return n_out
    cap = out_ends.shape[0]
    j = 0
    while j < n_src - 1 and src_ends[j] <= a:
        j += 1
    while True:
        end = src_ends[j] if src_ends[j] < b else b
        lab = src_labels[j]
        if n_out > 0 and out_labels[n_out - 1] == lab:
            out_ends[n_out - 1] = end
        else:
            if n_out >= cap:
                return -1
            out_ends[n_out] = end
            out_labels[n_out] = lab
            n_out += 1
        if src_ends[j] >= b or j >= n_src - 1:
            break
        j += 1
    return n_out


@njit(cache=True)
def drop_chromosome(  # type: ignore[no-untyped-def]
    mother,
    father,
    is_female,
    founder_label,
    length,
    is_x,
    xo_offsets,
    xo_positions,
    start_strand,
    ends,
    labels,
    counts,
):
    """Fill ``ends/labels/counts`` for every individual of a pedigree on one chromosome.

    Individuals are in an order where parents come before children. Founders
    (``mother == -1``) are inbred: both haplotypes are one segment of ``founder_label``.
    Meiosis ``2*i`` makes the maternal haplotype of ``i`` and ``2*i + 1`` the paternal one;
    its crossovers are ``xo_positions[xo_offsets[k]:xo_offsets[k+1]]`` (any order) and it
    starts on the parent's haplotype ``start_strand[k]``.

    Returns 0 on success, or ``i + 1`` when individual ``i`` needs more than
    ``ends.shape[2]`` segments (call again with more room).
    """
    n = mother.shape[0]
    for i in range(n):
        if mother[i] < 0:
            for s in range(2):
                ends[i, s, 0] = length
                labels[i, s, 0] = founder_label[i]
                counts[i, s] = 1
            continue
        for s in range(2):
            parent = mother[i] if s == 0 else father[i]
            if is_x and s == 1:
                if not is_female[i]:
                    # a son gets the Y from his father: keep his maternal X on both slots
                    m = counts[i, 0]
                    for j in range(m):
                        ends[i, 1, j] = ends[i, 0, j]
                        labels[i, 1, j] = labels[i, 0, j]
                    counts[i, 1] = m
                    continue
                # a daughter gets her father's single X unchanged
                m = counts[parent, 0]
                for j in range(m):
                    ends[i, 1, j] = ends[parent, 0, j]
                    labels[i, 1, j] = labels[parent, 0, j]
                counts[i, 1] = m
                continue
            k = 2 * i + s
            xs = np.sort(xo_positions[xo_offsets[k] : xo_offsets[k + 1]])
            strand = start_strand[k]
            prev = 0.0
            n_out = 0
            for x in xs:
                n_out = _append_range(
                    ends[parent, strand],
                    labels[parent, strand],
                    counts[parent, strand],
                    prev,
                    x,
                    ends[i, s],
                    labels[i, s],
                    n_out,
                )
                if n_out < 0:
                    return i + 1
                strand = 1 - strand
                prev = x
            n_out = _append_range(
                ends[parent, strand],
                labels[parent, strand],
                counts[parent, strand],
                prev,
                length,
                ends[i, s],
                labels[i, s],
                n_out,
            )
            if n_out < 0:
                return i + 1
            counts[i, s] = n_out
    return 0


@njit(cache=True)
def founders_at(ends, labels, counts, positions):  # type: ignore[no-untyped-def]
    """Founder label ``int8 [n, 2, p]`` at each of the sorted ``positions`` (cM)."""
    n = ends.shape[0]
    p = positions.shape[0]
    out = np.empty((n, 2, p), dtype=np.int8)
    for i in range(n):
        for s in range(2):
            m = counts[i, s]
            j = 0
            for q in range(p):
                pos = positions[q]
                while j < m - 1 and ends[i, s, j] <= pos:
                    j += 1
                out[i, s, q] = labels[i, s, j]
    return out
