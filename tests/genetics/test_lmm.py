"""Heritability and LMM pieces against R/qtl2 and closed forms.

Reference (``scripts/01_do_recla.R``)::

    est_herit(pheno, k_overall)                  # hsq_reml, log10lik, resid_sd, n
    est_herit(pheno, k_overall, addcovar=sexm)   # *_sex
    est_herit(pheno, k_overall, reml=FALSE)      # *_ml
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

from translocus.core.errors import InputError
from translocus.genetics.herit import est_herit
from translocus.genetics.lmm import decompose_kinship, fit_null_lmm

ref_path = scan_refs.ref_path

TOL = 1e-5


@pytest.fixture(scope="module")
def herit_ref() -> pd.DataFrame:
    return pd.read_csv(ref_path("DO_Recla", "herit_overall.csv")).set_index("pheno")


@pytest.mark.parametrize(("suffix", "kwargs"), [("", {}), ("_sex", {"sex": True}),
                                                ("_ml", {"reml": False})])  # fmt: skip
def test_est_herit_matches_qtl2(herit_ref, do_ref_pheno, do_ref_sex, do_ref_kinship_overall,
                                suffix, kwargs):  # fmt: skip
    addcovar = do_ref_sex if kwargs.get("sex") else None
    out = est_herit(do_ref_pheno, do_ref_kinship_overall, addcovar=addcovar,
                    reml=kwargs.get("reml", True))  # fmt: skip
    hcol = "hsq_ml" if suffix == "_ml" else f"hsq_reml{suffix}"
    ref = herit_ref.loc[out.index]
    assert np.abs(out["hsq"] - ref[hcol]).max() < TOL
    assert np.abs(out["log10lik"] - ref[f"log10lik{suffix}"]).max() < TOL
    assert (
        np.abs(out["resid_sd"] - ref[f"resid_sd{suffix}"]) / ref[f"resid_sd{suffix}"]
    ).max() < TOL
    assert (out["n"] == ref["n"]).all()


def test_ml_fit_matches_closed_form_without_kinship_signal():
    """With K = I/2 (2K = I) the likelihood is flat in h²; sigma² is the OLS variance."""
    rng = np.random.default_rng(5)
    n = 40
    ids = [f"s{i}" for i in range(n)]
    kin = pd.DataFrame(np.eye(n) / 2, index=ids, columns=ids)
    y = rng.normal(size=(n, 1))
    x = np.ones((n, 1))
    fit = fit_null_lmm(decompose_kinship(kin), y, x, reml=False)
    rss = float(np.sum((y - y.mean()) ** 2))
    assert abs(fit.sigmasq[0] - rss / n) < 1e-12
    assert abs(fit.loglik[0] - (-0.5 * n * np.log(rss))) < 1e-9


def test_kinship_not_positive_semidefinite_is_refused():
    ids = ["a", "b", "c"]
    bad = pd.DataFrame([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]], index=ids, columns=ids)
    with pytest.raises(InputError, match="not positive semi-definite"):
        decompose_kinship(bad)
    y = pd.DataFrame({"y": [1.0, 2.0, 4.0]}, index=ids)
    with pytest.raises(InputError, match="not positive semi-definite"):
        est_herit(y, bad)


def test_asymmetric_kinship_is_refused():
    ids = ["a", "b"]
    bad = pd.DataFrame([[1.0, 0.2], [0.3, 1.0]], index=ids, columns=ids)
    with pytest.raises(InputError, match="not symmetric"):
        decompose_kinship(bad)
