"""Scans with an interactive covariate (QTL x sex) against R/qtl2 on DO_Recla chromosome 2.

Reference: ``tests/reference/qtl2/intcovar/intcovar.R`` (R/qtl2 0.43-5 ``scan1`` with
``addcovar = intcovar = sex`` on R/qtl2's own allele probabilities, Haley-Knott and LMM with
the chromosome's LOCO kinship).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.genetics.scan import scan

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "intcovar"


@pytest.mark.parametrize("model", ["hk", "lmm_loco"])
def test_intcovar_sex_matches_r_qtl2(do_ref_probs, do_ref_pheno, do_ref_sex,
                                     do_ref_kinship_loco, model):  # fmt: skip
    ref = pd.read_csv(REF / f"lod_{model}_intcovar_sex_chr2.csv", dtype={"marker": str})
    ref.columns = [c.strip() for c in ref.columns]
    ref = ref.set_index("marker")
    kinship = {"2": do_ref_kinship_loco["2"]} if model == "lmm_loco" else None
    ours = scan(do_ref_pheno[list(ref.columns)], do_ref_probs.subset(chromosomes=["2"]),
                kinship=kinship, addcovar=do_ref_sex, intcovar=do_ref_sex).lod  # fmt: skip
    diff = np.abs(ours.loc[ref.index, list(ref.columns)].to_numpy() - ref.to_numpy())
    assert np.nanmax(diff) < 1e-5
