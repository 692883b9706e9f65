"""Compiled kernel of genotype QC: markers whose genotypes another marker's contain."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["dup_markers_contained"]


@numba.njit(cache=True)
def dup_markers_contained(geno, order, location, adjacent_only):
    """R/qtl2's inexact duplicate markers (``find_dup_markers(exact_only=FALSE)``).

    Parameters
    ----------
    geno : int64 ``[individual, marker]`` codes, 0 missing.
    order : int64 ``[marker]`` markers from most to fewest typed.
    location : int64 ``[marker]`` positions on one line; adjacent markers differ by 1.
    adjacent_only : bool, only markers next to each other are compared.

    Returns
    -------
    int64 ``[marker]``: 0, or 1 + the marker whose group this one joins. Marker ``b`` joins
    ``a`` (taken earlier in ``order``) when ``b`` is typed only where ``a`` is and agrees with
    it there.
    """
    n_ind, n_mar = geno.shape
    result = np.zeros(n_mar, dtype=np.int64)
    for i in range(n_mar - 1):
        oi = order[i]
        for j in range(i + 1, n_mar):
            oj = order[j]
            if result[oj] != 0 or (adjacent_only and abs(location[oi] - location[oj]) > 1):
                continue
            contained = True
            for k in range(n_ind):
                a = geno[k, oi]
                b = geno[k, oj]
                if b != 0 and a != b:
                    contained = False
                    break
            if contained:
                result[oj] = result[oi] if result[oi] != 0 else oi + 1
    return result
