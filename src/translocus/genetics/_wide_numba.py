"""Small solves of the many-trait scan (numba), traits in the innermost (vectorised) loop.

The moments of a block of traits and a chunk of markers come from wide matrix products
(:func:`~translocus.genetics._moments.chromosome_lod`); these kernels turn them into the
alternative-model RSS of every (trait, marker) with the arithmetic of
:func:`~translocus.genetics._scan_numba.rss_from_moment_rows`, lane by lane:

- :func:`covariate_factors`: each trait's Cholesky factor of ``C'WC``, ``z = L⁻¹C'Wy`` and
  the null RSS;
- :func:`rss_lanes`: one ``p x p`` system per trait and marker (LMM: each trait has its own
  weights), factorised for all traits of the block at once;
- :func:`rss_shared`: one system per marker shared by all traits of the block (Haley-Knott
  traits with one pattern of missing values), factorised once and solved for each trait.

Arrays put the traits (lanes) last. Entries whose moments would lose accuracy, or whose
block is not clearly of full rank, get ``ok = False`` for the caller's exact path.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from translocus.genetics._scan_numba import clearly_full_rank

__all__ = ["covariate_factors", "rss_lanes", "rss_shared"]


@njit(cache=True, nogil=True, error_model="numpy")
def covariate_factors(cov_gram: np.ndarray, cov_y: np.ndarray, yty: np.ndarray,
                      low: np.ndarray, z: np.ndarray, rss0: np.ndarray,
                      usable: np.ndarray) -> None:  # fmt: skip
    """Per lane: ``low`` (``[c, c, L]``) the Cholesky factor of ``cov_gram`` (``[c, c, L]``),
    ``z = low⁻¹ cov_y`` (``[c, L]``), ``rss0 = yty - z'z`` and whether ``C'WC`` is clearly
    positive definite (``usable``)."""
    c = cov_gram.shape[0]
    n_lane = cov_gram.shape[2]
    tmp = np.empty(n_lane)
    for k in range(n_lane):
        usable[k] = True
        rss0[k] = yty[k]
    for j in range(c):
        for k in range(n_lane):
            tmp[k] = cov_gram[j, j, k]
        for q in range(j):
            for k in range(n_lane):
                tmp[k] -= low[j, q, k] * low[j, q, k]
        for k in range(n_lane):
            s = tmp[k]
            if not (s > 1e-10 * cov_gram[j, j, k]):
                usable[k] = False
                s = max(abs(cov_gram[j, j, k]), 1e-300)
            low[j, j, k] = math.sqrt(s)
        for i in range(j + 1, c):
            for k in range(n_lane):
                tmp[k] = cov_gram[i, j, k]
            for q in range(j):
                for k in range(n_lane):
                    tmp[k] -= low[i, q, k] * low[j, q, k]
            for k in range(n_lane):
                low[i, j, k] = tmp[k] / low[j, j, k]
    for i in range(c):
        for k in range(n_lane):
            tmp[k] = cov_y[i, k]
        for q in range(i):
            for k in range(n_lane):
                tmp[k] -= low[i, q, k] * z[q, k]
        for k in range(n_lane):
            z[i, k] = tmp[k] / low[i, i, k]
            rss0[k] -= z[i, k] * z[i, k]


@njit(cache=True, nogil=True, error_model="numpy")
def rss_lanes(gram: np.ndarray, fxc: np.ndarray, fxy: np.ndarray, low: np.ndarray,
              z: np.ndarray, rss0: np.ndarray, usable: np.ndarray, pair_a: np.ndarray,
              pair_b: np.ndarray, rel_tol: float, rank_clear: float, rss: np.ndarray,
              ok: np.ndarray) -> None:  # fmt: skip
    """Alternative-model RSS of every lane (trait) and marker of a chunk, each with its weights.

    ``gram`` ``[mc, npair, L]`` packed ``X'WX``; ``fxc`` ``[mc, p, c, L]`` ``C'WX`` and ``fxy``
    ``[mc, p, L]`` ``X'Wy``; ``low``, ``z``, ``rss0``, ``usable`` from
    :func:`covariate_factors`. Writes ``rss[j, k]`` and ``ok[j, k]`` (``[mc, L]``).
    """
    mc, npair, n_lane = gram.shape
    p = fxy.shape[1]
    c = fxc.shape[2]
    if (fxc.shape[3] != n_lane or fxy.shape[2] != n_lane or low.shape[2] != n_lane
            or z.shape[1] != n_lane or rss0.shape[0] != n_lane or usable.shape[0] != n_lane
            or rss.shape[1] != n_lane or ok.shape[1] != n_lane or rss.shape[0] < mc
            or ok.shape[0] < mc or fxc.shape[0] < mc or fxy.shape[0] < mc):  # fmt: skip
        raise ValueError("rss_lanes: the lanes or markers of its arrays differ")
    h = np.empty((c, p, n_lane))
    g = np.empty((p, p, n_lane))
    lg = np.zeros((p, p, n_lane))
    ds = np.empty((p, n_lane))
    zz = np.empty((p, n_lane))
    gmax = np.empty(n_lane)
    bound = np.empty(n_lane)
    raw = np.empty(n_lane)
    quad = np.empty(n_lane)
    tmp = np.empty(n_lane)
    st = np.empty(n_lane, dtype=np.bool_)
    gk = np.empty((p, p))
    piv = np.empty((p, p))
    for j in range(mc):
        for k in range(n_lane):
            st[k] = usable[k]
        # covariates absorbed: H = L⁻¹ C'WX, then the Schur complement G = X'WX - H'H
        for a in range(p):
            for i in range(c):
                for k in range(n_lane):
                    tmp[k] = fxc[j, a, i, k]
                for q in range(i):
                    for k in range(n_lane):
                        tmp[k] -= low[i, q, k] * h[q, a, k]
                for k in range(n_lane):
                    h[i, a, k] = tmp[k] / low[i, i, k]
        for q in range(npair):
            qa = pair_a[q]
            qb = pair_b[q]
            for k in range(n_lane):
                g[qa, qb, k] = gram[j, q, k]
                g[qb, qa, k] = gram[j, q, k]
        for a in range(p):
            for k in range(n_lane):
                raw[k] = g[a, a, k]
            for b in range(a, p):
                for k in range(n_lane):
                    tmp[k] = g[a, b, k]
                for q in range(c):
                    for k in range(n_lane):
                        tmp[k] -= h[q, a, k] * h[q, b, k]
                for k in range(n_lane):
                    g[a, b, k] = tmp[k]
                    g[b, a, k] = tmp[k]
            for k in range(n_lane):
                if not (g[a, a, k] > rel_tol * raw[k]) or raw[k] <= 0.0:
                    st[k] = False
        # Cholesky of the Jacobi-scaled complement; det bound of R/qtl2's rank rule
        for k in range(n_lane):
            gmax[k] = 0.0
            bound[k] = 1.0
        for a in range(p):
            for k in range(n_lane):
                ds[a, k] = 1.0 / math.sqrt(g[a, a, k])
                gmax[k] = max(gmax[k], g[a, a, k])
        for a in range(p):
            for k in range(n_lane):
                tmp[k] = 1.0
            for q in range(a):
                for k in range(n_lane):
                    tmp[k] -= lg[a, q, k] * lg[a, q, k]
            for k in range(n_lane):
                s = tmp[k]
                if s <= rel_tol:
                    st[k] = False
                lg[a, a, k] = math.sqrt(s)
                bound[k] *= s * (g[a, a, k] / gmax[k])
            for i in range(a + 1, p):
                for k in range(n_lane):
                    tmp[k] = g[i, a, k] * ds[i, k] * ds[a, k]
                for q in range(a):
                    for k in range(n_lane):
                        tmp[k] -= lg[i, q, k] * lg[a, q, k]
                for k in range(n_lane):
                    lg[i, a, k] = tmp[k] / lg[a, a, k]
        for k in range(n_lane):
            if st[k] and not (bound[k] > rank_clear):
                for a in range(p):
                    for b in range(p):
                        gk[a, b] = g[a, b, k]
                if not clearly_full_rank(gk, p, rank_clear, piv):
                    st[k] = False
        # b = X'Wy - H'z, then b' G⁻¹ b by forward substitution
        for k in range(n_lane):
            quad[k] = 0.0
        for a in range(p):
            for k in range(n_lane):
                tmp[k] = fxy[j, a, k]
            for q in range(c):
                for k in range(n_lane):
                    tmp[k] -= h[q, a, k] * z[q, k]
            for k in range(n_lane):
                tmp[k] *= ds[a, k]
            for q in range(a):
                for k in range(n_lane):
                    tmp[k] -= lg[a, q, k] * zz[q, k]
            for k in range(n_lane):
                zz[a, k] = tmp[k] / lg[a, a, k]
                quad[k] += zz[a, k] * zz[a, k]
        for k in range(n_lane):
            r1 = rss0[k] - quad[k]
            if st[k] and r1 > rel_tol * rss0[k]:
                rss[j, k] = r1
                ok[j, k] = True
            else:
                ok[j, k] = False


@njit(cache=True, nogil=True, error_model="numpy")
def rss_shared(gram: np.ndarray, fxc: np.ndarray, fxy: np.ndarray, low: np.ndarray,
               usable: bool, z: np.ndarray, rss0: np.ndarray, pair_a: np.ndarray,
               pair_b: np.ndarray, rel_tol: float, rank_clear: float, rss: np.ndarray,
               ok: np.ndarray) -> None:  # fmt: skip
    """Alternative-model RSS of lanes (traits) that share weights and covariates.

    ``gram`` ``[mc, npair]`` packed ``X'WX``; ``fxc`` ``[c, mc, p]`` ``C'WX``; ``fxy``
    ``[mc, p, L]`` each lane's ``X'Wy``; ``low`` ``[c, c]`` the factor of ``C'WC`` (``usable``
    when clearly positive definite), ``z`` ``[c, L]`` and ``rss0`` ``[L]`` per lane. One
    factorisation per marker serves all lanes. Writes ``rss[j, k]`` and ``ok[j, k]``
    (``[mc, L]``).
    """
    mc, p, n_lane = fxy.shape
    c = fxc.shape[0]
    npair = pair_a.shape[0]
    h = np.empty((c, p))
    g = np.empty((p, p))
    lg = np.zeros((p, p))
    ds = np.empty(p)
    piv = np.empty((p, p))
    zz = np.empty((p, n_lane))
    quad = np.empty(n_lane)
    tmp = np.empty(n_lane)
    for j in range(mc):
        good = usable
        for a in range(p):
            for i in range(c):
                u = fxc[i, j, a]
                for q in range(i):
                    u -= low[i, q] * h[q, a]
                h[i, a] = u / low[i, i]
        for q in range(npair):
            g[pair_a[q], pair_b[q]] = gram[j, q]
            g[pair_b[q], pair_a[q]] = gram[j, q]
        for a in range(p):
            raw = g[a, a]
            for b in range(a, p):
                u = g[a, b]
                for q in range(c):
                    u -= h[q, a] * h[q, b]
                g[a, b] = u
                g[b, a] = u
            if not (g[a, a] > rel_tol * raw) or raw <= 0.0:
                good = False
        if good:
            gmax = 0.0
            for a in range(p):
                ds[a] = 1.0 / math.sqrt(g[a, a])
                gmax = max(gmax, g[a, a])
            bound = 1.0
            for a in range(p):
                s = 1.0
                for q in range(a):
                    s -= lg[a, q] * lg[a, q]
                if s <= rel_tol:
                    good = False
                    break
                lg[a, a] = math.sqrt(s)
                bound *= s * (g[a, a] / gmax)
                for i in range(a + 1, p):
                    u = g[i, a] * ds[i] * ds[a]
                    for q in range(a):
                        u -= lg[i, q] * lg[a, q]
                    lg[i, a] = u / lg[a, a]
            if good and not (bound > rank_clear) and not clearly_full_rank(g, p, rank_clear, piv):
                good = False
        if not good:
            for k in range(n_lane):
                ok[j, k] = False
            continue
        for k in range(n_lane):
            quad[k] = 0.0
        for a in range(p):
            for k in range(n_lane):
                tmp[k] = fxy[j, a, k]
            for q in range(c):
                for k in range(n_lane):
                    tmp[k] -= h[q, a] * z[q, k]
            for k in range(n_lane):
                tmp[k] *= ds[a]
            for q in range(a):
                for k in range(n_lane):
                    tmp[k] -= lg[a, q] * zz[q, k]
            for k in range(n_lane):
                zz[a, k] = tmp[k] / lg[a, a]
                quad[k] += zz[a, k] * zz[a, k]
        for k in range(n_lane):
            r1 = rss0[k] - quad[k]
            if r1 > rel_tol * rss0[k]:
                rss[j, k] = r1
                ok[j, k] = True
            else:
                ok[j, k] = False
