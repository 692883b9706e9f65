"""The data model: phenotype reshaping, subsetting and summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.model import Cross, long_phenotypes, wide_phenotypes


def _toy_cross() -> Cross:
    rng = np.random.default_rng(0)
    ids = ("a", "b", "c")
    return Cross(
        crosstype="f2",
        individuals=ids,
        geno={"1": rng.integers(0, 4, (3, 4)).astype(np.int8), "X": np.ones((3, 2), np.int8)},
        gmap={
            "1": pd.Series([0.0, 10.0, 20.0, 35.0], index=["m1", "m2", "m3", "m4"]),
            "X": pd.Series([0.0, 5.0], index=["x1", "x2"]),
        },
        pheno=pd.DataFrame({"y": [1.0, np.nan, 3.0]}, index=list(ids)),
        is_female=pd.Series([True, False, True], index=list(ids)),
        cross_info=pd.DataFrame({"dir": [0, 1, 0]}, index=list(ids)),
        genotypes={"AA": 1, "AB": 2, "BB": 3},
    )


def test_wide_long_round_trip():
    wide = pd.DataFrame({"x": [1.0, np.nan], "y": [2.0, 3.0]}, index=["s1", "s2"])
    long = long_phenotypes(wide)
    assert len(long) == 3  # the NA is dropped
    assert list(long.columns) == ["animal", "measure", "value"]
    back = wide_phenotypes(long)
    pd.testing.assert_frame_equal(back, wide, check_names=False)
    mouse = long.rename(columns={"animal": "mouse_id"})
    pd.testing.assert_frame_equal(wide_phenotypes(mouse, animal="mouse_id"), back)


def test_wide_phenotypes_rejects_duplicates_and_names_missing_columns():
    long = pd.DataFrame({"animal": ["a", "a"], "measure": ["x", "x"], "value": [1.0, 2.0]})
    with pytest.raises(InputError, match=r"1 duplicated \(animal, measure\) rows, first \(a, x\)"):
        wide_phenotypes(long)
    with pytest.raises(InputError, match=r"column\(s\) 'animal' not found; .* animal="):
        wide_phenotypes(long.rename(columns={"animal": "mouse"}))


def test_summary_and_subset():
    cross = _toy_cross()
    s = cross.summary()
    assert (s["individuals"], s["markers"], s["chromosomes"], s["females"]) == (3, 6, 2, 2)
    assert s["total_cM"] == 40.0
    sub = cross.subset(chromosomes=["X"], individuals=["c", "a"])
    assert sub.individuals == ("c", "a")
    np.testing.assert_array_equal(sub.geno["X"], cross.geno["X"][[2, 0]])
    assert list(sub.is_female) == [True, True]
    assert sub.n_markers == 2
    with pytest.raises(KeyError, match="not genotyped"):
        cross.subset(individuals=["zzz"])
