"""Genetic map functions: distance (cM) <-> recombination fraction.

The four map functions of R/qtl2 (``haldane``, ``kosambi``, ``c-f`` for Carter-Falconer and
``morgan``). Carter-Falconer has no closed-form map-to-recombination function; it is obtained
by inverting ``d(r) = 12.5 (log(1 + 2r) - log(1 - 2r)) + 25 atan(2r)`` with Brent's root finder
on ``[0, 0.5 - 1e-14]`` with absolute tolerance ``1e-12`` (as ``stats::uniroot`` does in R),
and distances are capped at 300 cM first.

Examples
--------
>>> import numpy as np
>>> round(float(map_to_rf(np.array([50.0]), map_function="haldane")[0]), 6)
0.31606
>>> round(float(rf_to_map(map_to_rf(np.array([12.0]), map_function="c-f"),
...                       map_function="c-f")[0]), 9)
12.0
"""

from __future__ import annotations

import math

import numba
import numpy as np

from translocus.core.errors import InputError

__all__ = [
    "MAP_FUNCTIONS",
    "interval_rf",
    "map_to_rf",
    "rf_to_map",
]

#: Accepted names of map functions.
MAP_FUNCTIONS: tuple[str, ...] = ("haldane", "kosambi", "c-f", "morgan")

_RF_CAP = 0.5 - 1e-14
_CF_TOL = 1e-12
_CF_MAX_CM = 300.0


def _check_name(map_function: str) -> str:
    if map_function not in MAP_FUNCTIONS:
        raise InputError(
            f"map_function={map_function!r} is not known; use one of {', '.join(MAP_FUNCTIONS)}"
        )
    return map_function


@numba.njit(cache=True)
def _cf_distance(r: float) -> float:
    """Carter-Falconer map distance (cM) of recombination fraction ``r``."""
    if r >= 0.5:
        r = _RF_CAP
    return 12.5 * (math.log(1.0 + 2.0 * r) - math.log(1.0 - 2.0 * r)) + 25.0 * math.atan(2.0 * r)


@numba.njit(cache=True)
def _brent_root_cf(d: float, tol: float) -> float:
    """Root of ``_cf_distance(r) - d`` on ``[0, 0.5 - 1e-14]`` by Brent's method.

    Bisection safeguarded by secant / inverse quadratic interpolation (Brent 1973, ch. 4);
    the stopping rule uses ``2 eps |b| + tol / 2`` as in R's ``zeroin``.
    """
    eps = 2.220446049250313e-16
    a = 0.0
    b = _RF_CAP
    fa = -d
    fb = _cf_distance(b) - d
    c = a
    fc = fa
    for _ in range(1000):
        # keep b the best estimate and [b, c] bracketing the root
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * eps * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        prev_step = b - a
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q0 = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0))
                q = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < 0.75 * cb * q - abs(tol_act * q) / 2.0 and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a = b
        fa = fb
        b += new_step
        fb = _cf_distance(b) - d
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c = a
            fc = fa
    return b


@numba.njit(cache=True)
def _cf_rf(d: np.ndarray, tol: float) -> np.ndarray:
    out = np.empty(d.shape[0])
    for i in range(d.shape[0]):
        di = min(d[i], _CF_MAX_CM)
        out[i] = 0.0 if di == 0.0 else _brent_root_cf(di, tol)
    return out


def map_to_rf(distance_cM: np.ndarray, *, map_function: str = "haldane") -> np.ndarray:
    """Recombination fraction for each map distance.

    Parameters
    ----------
    distance_cM
        Non-negative distances in centiMorgans, any shape.
    map_function
        ``"haldane"``, ``"kosambi"``, ``"c-f"`` (Carter-Falconer) or ``"morgan"``.

    Returns
    -------
    numpy.ndarray
        Recombination fractions in ``[0, 0.5]``, same shape as the input.

    Examples
    --------
    >>> map_to_rf(np.array([0.0, 10.0]), map_function="morgan").tolist()
    [0.0, 0.1]
    """
    _check_name(map_function)
    d = np.asarray(distance_cM, dtype=np.float64)
    if map_function == "haldane":
        return 0.5 * (1.0 - np.exp(-d / 50.0))
    if map_function == "kosambi":
        return 0.5 * np.tanh(d / 50.0)
    if map_function == "morgan":
        return np.minimum(d / 100.0, 0.5)
    flat = np.ascontiguousarray(d.ravel())
    if np.any(flat < 0):
        raise InputError("map_to_rf: Carter-Falconer distances must be >= 0; sort the map first")
    return _cf_rf(flat, _CF_TOL).reshape(d.shape)


def rf_to_map(rf: np.ndarray, *, map_function: str = "haldane") -> np.ndarray:
    """Map distance (cM) for each recombination fraction (the inverse of :func:`map_to_rf`).

    Fractions at or above 0.5 are set to ``0.5 - 1e-14`` first (as R/qtl2 does), except for
    ``morgan``, which caps the distance at 50 cM.

    Examples
    --------
    >>> float(rf_to_map(np.array([0.1]), map_function="morgan")[0])
    10.0
    """
    _check_name(map_function)
    r = np.asarray(rf, dtype=np.float64)
    if map_function == "morgan":
        return np.minimum(r * 100.0, 50.0)
    r = np.where(r >= 0.5, _RF_CAP, r)
    if map_function == "haldane":
        return -50.0 * np.log(1.0 - 2.0 * r)
    if map_function == "kosambi":
        return 50.0 * np.arctanh(2.0 * r)
    return 12.5 * (np.log(1.0 + 2.0 * r) - np.log(1.0 - 2.0 * r)) + 25.0 * np.arctan(2.0 * r)


def interval_rf(
    positions_cM: np.ndarray, *, map_function: str = "haldane", tol: float = 1e-12
) -> np.ndarray:
    """Recombination fractions between adjacent positions, floored at ``tol``.

    This is R/qtl2's ``map2rf`` for one chromosome: ``mf(diff(map))`` with values below
    ``tol`` raised to ``tol`` so that coincident positions stay connected.

    Examples
    --------
    >>> interval_rf(np.array([0.0, 0.0, 10.0]), map_function="morgan").tolist()
    [1e-12, 0.1]
    """
    pos = np.asarray(positions_cM, dtype=np.float64)
    d = np.diff(pos)
    if np.any(d < 0):
        raise InputError("interval_rf: positions must be in increasing order; sort the map")
    rf = map_to_rf(d, map_function=map_function)
    return np.maximum(rf, tol)
