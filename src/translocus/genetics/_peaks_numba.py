"""Peak finding and support intervals along one chromosome (numba; R/qtl2's algorithms)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["chromosome_peaks"]


@njit(cache=True)
def _peaks_valleys(lod: np.ndarray, threshold: float, peakdrop: float):  # type: ignore[no-untyped-def]
    n = lod.shape[0]
    peaks = np.empty(n, dtype=np.int64)
    valleys = np.empty(n + 2, dtype=np.int64)
    n_peaks = 0
    valleys[0] = 0
    n_valleys = 1
    last_peak = 0.0
    min_since = 0.0
    min_loc = 0
    for i in range(n):
        if lod[i] < min_since:
            min_since = lod[i]
            min_loc = i
        if lod[i] > threshold:
            if n_peaks == 0:
                peaks[0] = i
                last_peak = lod[i]
                min_since = lod[i]
                n_peaks = 1
            elif last_peak > min_since + peakdrop and lod[i] > min_since + peakdrop:
                peaks[n_peaks] = i
                valleys[n_valleys] = min_loc
                n_valleys += 1
                min_loc = i
                last_peak = lod[i]
                min_since = lod[i]
                n_peaks += 1
            elif lod[i] > last_peak:
                peaks[n_peaks - 1] = i
                last_peak = lod[i]
                min_since = lod[i]
                min_loc = i
    valleys[n_valleys] = n - 1
    return peaks[:n_peaks], valleys[: n_valleys + 1]


@njit(cache=True)
def _addlog(a: float, b: float) -> float:
    if a > b + 200.0:
        return a
    if b > a + 200.0:
        return b
    return a + math.log1p(math.exp(b - a))


@njit(cache=True)
def chromosome_peaks(
    lod: np.ndarray,
    pos: np.ndarray,
    threshold: float,
    peakdrop: float,
    mode: int,
    width: float,
) -> np.ndarray:
    """Peaks of one LOD curve, as rows ``[index, pos, lod, ci_lo_index, ci_hi_index]``.

    ``mode`` 0: peaks only (ties: the mean position of the adjacent equal maxima);
    1: LOD support interval with drop ``width``; 2: Bayes credible interval with probability
    ``width``. Intervals are confined to the valleys around each peak, as in R/qtl2.
    """
    n = lod.shape[0]
    peaks, valleys = _peaks_valleys(lod, threshold, peakdrop)
    out = np.full((peaks.shape[0], 5), np.nan)
    for k in range(peaks.shape[0]):
        p = peaks[k]
        maxlod = lod[p]
        possum = pos[p]
        n_max = 1
        lo = p
        hi = p
        if mode == 0:
            for j in range(p - 1, -1, -1):
                if lod[j] == maxlod:
                    possum += pos[j]
                    n_max += 1
                if lod[j] < maxlod:
                    break
            for j in range(p + 1, n):
                if lod[j] == maxlod:
                    possum += pos[j]
                    n_max += 1
                if lod[j] < maxlod:
                    break
        elif mode == 1:
            start = valleys[k]
            end = valleys[k + 1]
            cut = maxlod - width
            right = p
            for j in range(p + 1, end + 1):
                if lod[j] == maxlod:
                    possum += pos[j]
                    n_max += 1
                if lod[j] > cut:
                    right = j
            right += 1
            left = p
            for j in range(p - 1, start - 1, -1):
                if lod[j] == maxlod:
                    possum += pos[j]
                    n_max += 1
                if lod[j] > cut:
                    left = j
            left -= 1
            lo = max(left, start)
            hi = min(right, end)
        elif n >= 2:
            start = valleys[k]
            end = valleys[k + 1]
            m = end - start + 1
            area = np.empty(m)
            for j in range(m):
                i = start + j
                if i == 0:
                    lw = math.log(pos[1] - pos[0])
                elif i == n - 1:
                    lw = math.log(pos[n - 1] - pos[n - 2])
                else:
                    lw = math.log((pos[i + 1] - pos[i - 1]) / 2.0)
                area[j] = lod[i] * math.log(10.0) + lw
            total = area[0]
            for j in range(1, m):
                total = _addlog(total, area[j])
            order = np.argsort(-lod[start : end + 1], kind="mergesort")
            cum = 0.0
            for j in range(m):
                i = start + order[j]
                cum += math.exp(area[order[j]] - total)
                lo = min(lo, i)
                hi = max(hi, i)
                if cum >= width:
                    break
        out[k, 0] = p
        out[k, 1] = possum / n_max
        out[k, 2] = maxlod
        out[k, 3] = lo
        out[k, 4] = hi
    return out
