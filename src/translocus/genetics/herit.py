"""Heritability of each trait under the null LMM (R/qtl2 ``est_herit``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(3)
>>> g = rng.random((50, 200))
>>> kin = pd.DataFrame(g @ g.T / 200 / 2, index=[f"s{i}" for i in range(50)],
...                    columns=[f"s{i}" for i in range(50)])
>>> y = pd.DataFrame({"y": rng.normal(size=50)}, index=kin.index)
>>> est_herit(y, kin).columns.tolist()
['hsq', 'log10lik', 'resid_sd', 'n']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError
from translocus.genetics._design import as_frame, batch_by_missing, drop_depcols
from translocus.genetics.lmm import as_kinship_frame, decompose_kinship, fit_null_lmm

__all__ = ["est_herit"]


def est_herit(
    pheno: Any,
    kinship: Any,
    *,
    addcovar: Any = None,
    weights: Any = None,
    reml: bool = True,
    tol: float = 1e-12,
) -> pd.DataFrame:
    """Estimate h² of each trait with one kinship matrix (uses 2K, as R/qtl2).

    Parameters
    ----------
    pheno
        ``[sample, trait]`` table; each trait uses its own non-missing individuals.
    kinship
        Square kinship matrix (DataFrame indexed by sample ID), e.g. ``calc_kinship(probs)``.
    addcovar
        Additive covariates (an intercept is always included).
    weights
        Positive per-sample weights.
    reml
        REML (default) or ML.

    Returns
    -------
    pandas.DataFrame
        Indexed by trait: ``hsq``; ``log10lik``, the ML log-likelihood at ``hsq`` divided by
        ln 10 (constants dropped, as R/qtl2); ``resid_sd``, the square root of the total variance
        estimate; ``n``, the individuals used.
    """
    ph = as_frame(pheno, "pheno")
    if ph is None or ph.shape[1] == 0:
        raise InputError("pheno has no phenotype columns; pass a [sample, trait] table")
    kin = as_kinship_frame(kinship, label="kinship")
    ac = as_frame(addcovar, "addcovar")
    wt = as_frame(weights, "weights")
    keep = [s for s in kin.index if s in ph.index and np.isfinite(ph.loc[s].to_numpy()).any()]
    for frame in (ac, wt):
        if frame is not None:
            ok = set(frame.dropna().index)
            keep = [s for s in keep if s in ok]
    if len(keep) <= 2:
        raise InputError(
            f"only {len(keep)} individuals have a phenotype, a kinship row and complete "
            "covariates; check that the sample IDs match"
        )
    ac = drop_depcols(ac.loc[keep] if ac is not None else None, add_intercept=True, tol=tol)
    y_all = ph.loc[keep].to_numpy(dtype=float)
    y_all[~np.isfinite(y_all)] = np.nan
    sw_all = None
    if wt is not None:
        w = wt.loc[keep].iloc[:, 0].to_numpy(dtype=float)
        if np.any(w <= 0):
            raise InputError("weights must all be positive; drop or fix the non-positive ones")
        sw_all = np.sqrt(w)
    out = pd.DataFrame(index=list(ph.columns), columns=["hsq", "log10lik", "resid_sd", "n"],
                       dtype=float)  # fmt: skip
    for batch in batch_by_missing(y_all):
        rows = np.setdiff1d(np.arange(len(keep)), batch.omit)
        traits = [ph.columns[j] for j in batch.cols]
        out.loc[traits, "n"] = rows.size
        if rows.size <= 2:
            continue
        ids = [keep[i] for i in rows]
        k = kin.loc[ids, ids].to_numpy(dtype=float)
        x = np.ones((rows.size, 1))
        if ac is not None:
            x = np.column_stack([x, ac.to_numpy(dtype=float)[rows]])
        y = y_all[np.ix_(rows, batch.cols)]
        if sw_all is not None:
            sw = sw_all[rows]
            k = k * np.outer(sw, sw)
            x = x * sw[:, None]
            y = y * sw[:, None]
        eig = decompose_kinship(pd.DataFrame(k, index=ids, columns=ids))
        fit = fit_null_lmm(eig, y, x, reml=reml, tol=tol)
        out.loc[traits, "hsq"] = fit.hsq
        out.loc[traits, "log10lik"] = fit.loglik / np.log(10.0)
        out.loc[traits, "resid_sd"] = np.sqrt(fit.sigmasq)
    out["n"] = out["n"].astype(int)
    return out
