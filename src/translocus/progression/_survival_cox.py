"""Cox partial likelihood with Efron (or Breslow) ties, vectorised per stratum.

The fit loops over strata (a handful in practice); within a stratum every sum is a numpy
cumulative sum over subjects sorted by time, so one likelihood evaluation costs
``O(n p^2)``. Tied deaths are handled by Efron's approximation (lifelines' and R
``survival``'s default): the ``l``-th of ``d`` tied deaths sees the risk set minus
``l/d`` of the tied deaths' weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CoxStratum",
    "baseline_increments",
    "build_strata",
    "efron_terms",
    "fit_newton",
    "score_residuals",
    "subject_cumulative_hazard",
]


@dataclass(frozen=True)
class CoxStratum:
    """One stratum, subjects sorted by increasing time.

    ``rows`` maps back to the caller's row order. ``block`` numbers each subject's
    distinct-time block (0..B-1, increasing time); ``death_rows`` lists the deaths, with
    ``death_block`` their block and ``death_rank`` their 0-based rank among that block's
    ``d`` tied deaths (``death_d``).
    """

    rows: np.ndarray
    time: np.ndarray
    event: np.ndarray
    block: np.ndarray
    block_time: np.ndarray
    block_start: np.ndarray
    death_rows: np.ndarray
    death_block: np.ndarray
    death_rank: np.ndarray
    death_d: np.ndarray


def build_strata(time: np.ndarray, event: np.ndarray, strata: np.ndarray) -> list[CoxStratum]:
    """Sort subjects within each stratum and precompute the tie structure."""
    out = []
    for s in np.unique(strata):
        rows = np.flatnonzero(strata == s)
        order = np.argsort(time[rows], kind="stable")
        rows = rows[order]
        t = time[rows]
        e = event[rows].astype(bool)
        new = np.r_[True, t[1:] != t[:-1]]
        block = np.cumsum(new) - 1
        block_start = np.flatnonzero(new)
        block_time = t[block_start]
        death_local = np.flatnonzero(e)
        death_block = block[death_local]
        # rank of each death among the deaths of its block
        first = np.r_[True, death_block[1:] != death_block[:-1]]
        start_idx = np.maximum.accumulate(np.where(first, np.arange(death_block.size), 0))
        death_rank = np.arange(death_block.size) - start_idx
        counts = np.bincount(death_block, minlength=block_time.size)
        out.append(
            CoxStratum(
                rows=rows,
                time=t,
                event=e,
                block=block,
                block_time=block_time,
                block_start=block_start,
                death_rows=death_local,
                death_block=death_block,
                death_rank=death_rank,
                death_d=counts[death_block],
            )
        )
    return out


def _block_sum(block: np.ndarray, values: np.ndarray, nb: int) -> np.ndarray:
    """Column-wise sums of ``values [k, m]`` into ``nb`` blocks (faster than ``np.add.at``)."""
    out = np.empty((nb, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(block, weights=values[:, j], minlength=nb)
    return out


def _stratum_sums(
    st: CoxStratum, x: np.ndarray, eta: np.ndarray, ties: str, need_hess: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Efron-adjusted risk-set sums per death: ``S0 [k]``, ``S1 [k, p]``, ``S2 [k, p, p]``."""
    r = np.exp(eta)
    xr = x * r[:, None]
    # reverse cumulative sums: risk set at block b = subjects with time >= block_time[b]
    c0 = np.cumsum(r[::-1])[::-1]
    c1 = np.cumsum(xr[::-1], axis=0)[::-1]
    s0_block = c0[st.block_start]
    s1_block = c1[st.block_start]
    nb = st.block_time.size
    d0 = np.bincount(st.death_block, weights=r[st.death_rows], minlength=nb)
    d1 = _block_sum(st.death_block, xr[st.death_rows], nb)
    frac = st.death_rank / st.death_d if ties == "efron" else np.zeros(st.death_rank.size)
    s0 = s0_block[st.death_block] - frac * d0[st.death_block]
    s1 = s1_block[st.death_block] - frac[:, None] * d1[st.death_block]
    s2 = None
    if need_hess:
        xxr = x[:, :, None] * xr[:, None, :]
        c2 = np.cumsum(xxr[::-1], axis=0)[::-1]
        s2_block = c2[st.block_start]
        p = x.shape[1]
        d2 = _block_sum(st.death_block, xxr[st.death_rows].reshape(-1, p * p), nb).reshape(nb, p, p)
        s2 = s2_block[st.death_block] - frac[:, None, None] * d2[st.death_block]
    return s0, s1, s2, r, frac


def efron_terms(
    strata: list[CoxStratum],
    x: np.ndarray,
    beta: np.ndarray,
    offset: np.ndarray,
    *,
    ties: str = "efron",
    need_hess: bool = True,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, gradient and Hessian at ``beta`` (``x`` is ``[n, p]``)."""
    p = x.shape[1]
    loglik = 0.0
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    for st in strata:
        xs = x[st.rows]
        eta = xs @ beta + offset[st.rows]
        s0, s1, s2, _, _ = _stratum_sums(st, xs, eta, ties, need_hess)
        loglik += float(eta[st.death_rows].sum() - np.log(s0).sum())
        xbar = s1 / s0[:, None]
        grad += xs[st.death_rows].sum(axis=0) - xbar.sum(axis=0)
        if need_hess and s2 is not None:
            hess -= (s2 / s0[:, None, None]).sum(axis=0) - np.einsum("ki,kj->ij", xbar, xbar)
    return loglik, grad, hess


def fit_newton(
    strata: list[CoxStratum],
    x: np.ndarray,
    offset: np.ndarray,
    *,
    ties: str = "efron",
    beta0: np.ndarray | None = None,
    penalizer: float = 0.0,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """Maximise the (optionally ridge-penalised) partial likelihood by Newton-Raphson.

    Returns ``beta``, the log partial likelihood (unpenalised), the Hessian of the
    penalised log likelihood at ``beta`` and the number of iterations.
    """
    p = x.shape[1]
    beta = np.zeros(p) if beta0 is None else np.asarray(beta0, dtype=float).copy()
    if p == 0:
        ll, _, _ = efron_terms(strata, x, beta, offset, ties=ties, need_hess=False)
        return beta, ll, np.zeros((0, 0)), 0

    def objective(b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        ll, g, h = efron_terms(strata, x, b, offset, ties=ties)
        return (
            ll - 0.5 * penalizer * float(b @ b),
            g - penalizer * b,
            h - penalizer * np.eye(p),
            ll,
        )

    pll, g, h, ll = objective(beta)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        try:
            step = np.linalg.solve(-h, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(-h, g, rcond=None)[0]
        # large steps from a flat start are damped, as R survival does
        scale = 1.0
        for _ in range(30):
            cand = beta + scale * step
            cpll, cg, ch, cll = objective(cand)
            if np.isfinite(cpll) and cpll >= pll - 1e-12 * max(1.0, abs(pll)):
                break
            scale *= 0.5
        converged = np.max(np.abs(scale * step)) < tol or abs(cpll - pll) < 1e-14 * max(
            1.0, abs(pll)
        )
        beta, pll, g, h, ll = cand, cpll, cg, ch, cll
        if converged:
            break
    return beta, ll, h, it


def baseline_increments(
    strata: list[CoxStratum], x: np.ndarray, beta: np.ndarray, offset: np.ndarray, ties: str
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per stratum, ``(block_time, dLambda0)``: baseline hazard jumps at each distinct time.

    With Efron ties the jump at a block with ``d`` deaths is ``sum_l 1 / S0_l`` (R survival's
    Efron baseline); blocks without deaths get a zero jump. Linear predictors use the
    same centred ``x`` as the fit.
    """
    out = []
    for st in strata:
        xs = x[st.rows]
        eta = xs @ beta + offset[st.rows]
        s0, _, _, _, _ = _stratum_sums(st, xs, eta, ties, False)
        jumps = np.bincount(st.death_block, weights=1.0 / s0, minlength=st.block_time.size)
        out.append((st.block_time, jumps))
    return out


def subject_cumulative_hazard(
    strata: list[CoxStratum], x: np.ndarray, beta: np.ndarray, offset: np.ndarray, ties: str
) -> tuple[np.ndarray, np.ndarray]:
    """Baseline cumulative hazard each subject was exposed to, and the jump at its time.

    Both in the caller's row order. With Efron ties a subject that dies in a block of ``d``
    tied deaths is at risk for only ``1 - l/d`` of the ``l``-th death's term, so its
    exposure is the cumulative hazard up to its time less ``sum_l (l/d) / S0_l`` (the
    compensator of R survival's Efron martingale residuals); censored subjects and
    Breslow ties get the whole cumulative hazard.
    """
    n = x.shape[0]
    cum = np.zeros(n)
    jump_at = np.zeros(n)
    for st in strata:
        xs = x[st.rows]
        eta = xs @ beta + offset[st.rows]
        s0, _, _, _, frac = _stratum_sums(st, xs, eta, ties, False)
        nb = st.block_time.size
        jumps = np.bincount(st.death_block, weights=1.0 / s0, minlength=nb)
        down = np.bincount(st.death_block, weights=frac / s0, minlength=nb)
        h = np.cumsum(jumps)[st.block]
        h[st.death_rows] -= down[st.death_block]
        cum[st.rows] = h
        jump_at[st.rows] = jumps[st.block]
    return cum, jump_at


def score_residuals(
    strata: list[CoxStratum],
    x: np.ndarray,
    beta: np.ndarray,
    offset: np.ndarray,
    ties: str = "efron",
) -> np.ndarray:
    """Score residuals ``[n, p]`` in the caller's row order (they sum to the score).

    Subject ``i`` gets ``delta_i (x_i - mean_l xbar_l)`` for its own death block minus
    ``r_i sum_k w_ik (x_i - xbar_k) / S0_k`` over the deaths ``k`` it was at risk for, where
    ``w_ik = 1 - l_k/d`` when ``i`` is one of the tied deaths at ``k`` (Efron) and ``1``
    otherwise.
    """
    n, p = x.shape
    out = np.zeros((n, p))
    for st in strata:
        xs = x[st.rows]
        eta = xs @ beta + offset[st.rows]
        s0, s1, _, r, frac = _stratum_sums(st, xs, eta, ties, False)
        xbar = s1 / s0[:, None]
        nb = st.block_time.size
        a = np.bincount(st.death_block, weights=1.0 / s0, minlength=nb)
        b = _block_sum(st.death_block, xbar / s0[:, None], nb)
        # cumulative over blocks up to and including each subject's block
        cum_a = np.cumsum(a)[st.block]
        cum_b = np.cumsum(b, axis=0)[st.block]
        res = -(r[:, None] * (xs * cum_a[:, None] - cum_b))
        # own death block: Efron down-weighting and the death term
        a2 = np.bincount(st.death_block, weights=frac / s0, minlength=nb)
        b2 = _block_sum(st.death_block, frac[:, None] * xbar / s0[:, None], nb)
        dcount = np.bincount(st.death_block, minlength=nb).astype(float)
        xbar_mean = _block_sum(st.death_block, xbar, nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            xbar_mean = xbar_mean / dcount[:, None]
        dr = st.death_rows
        db = st.death_block
        res[dr] += xs[dr] - xbar_mean[db]
        res[dr] += r[dr, None] * (xs[dr] * a2[db, None] - b2[db])
        out[st.rows] = res
    return out
