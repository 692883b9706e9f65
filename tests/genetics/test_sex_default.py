"""A cross without sex information: every individual is taken as female, as R/qtl2's
``read_cross2`` does ("No sex information; assuming all female"), with a warning where the
cross type's X chromosome depends on sex."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from translocus.core.simulate import simulate_cross
from translocus.genetics.genoprob import calc_genoprob


def test_missing_sex_is_female_with_a_warning() -> None:
    cross = simulate_cross(cross_type="f2", n=30, n_markers=60, seed=4, n_traits=1).cross
    females = dataclasses.replace(cross, is_female=pd.Series(True, index=list(cross.individuals)))
    unknown = dataclasses.replace(cross, is_female=pd.Series(dtype=bool))
    with pytest.warns(UserWarning, match=r"no sex information .* taken as female"):
        got = calc_genoprob(unknown, error_prob=0.002)
    want = calc_genoprob(females, error_prob=0.002)
    for chrom in cross.chromosomes:
        assert np.array_equal(got[chrom].to_numpy(), want[chrom].to_numpy()), chrom
