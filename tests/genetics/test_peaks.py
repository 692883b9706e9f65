"""Peaks and intervals against R/qtl2's ``find_peaks`` on its own LOD curves (``peaks.csv``).

Reference (``scripts/01_do_recla.R``)::

    find_peaks(scan, pmap, threshold=6, drop=1.5)                 # map == "pmap_Mbp"
    find_peaks(scan, gmap, threshold=6, drop=1.5)                 # map == "gmap_cM"
    find_peaks(scan, pmap, threshold=4, peakdrop=1.8, drop=1.5)   # map == "pmap_Mbp_thr4_peakdrop1.8"
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scan_refs  # tests/genetics/scan_refs.py (on the pytest pythonpath)

from translocus.core.errors import InputError
from translocus.genetics.peaks import bayes_int, find_peaks, lod_int

read_ref_lod = scan_refs.read_ref_lod
ref_path = scan_refs.ref_path

SCANS = ["hk", "hk_sex", "lmm_loco", "lmm_loco_sex", "lmm_overall", "lmm_loco_ml"]
SETTINGS = {
    "pmap_Mbp": dict(map_name="pos_Mbp", threshold=6, drop=1.5),
    "gmap_cM": dict(map_name="pos_cM", threshold=6, drop=1.5),
    "pmap_Mbp_thr4_peakdrop1.8": dict(map_name="pos_Mbp", threshold=4, peakdrop=1.8, drop=1.5),
}


@pytest.fixture(scope="module")
def ref_peaks() -> pd.DataFrame:
    return pd.read_csv(ref_path("DO_Recla", "peaks.csv"), dtype={"chr": str})


@pytest.mark.parametrize("scan_name", SCANS)
def test_peaks_identical_to_qtl2(scan_name, ref_peaks):
    lod = read_ref_lod("DO_Recla", f"lod_{scan_name}.csv.gz")
    for map_tag, kwargs in SETTINGS.items():
        ours = find_peaks(lod, x_chr="X", **kwargs)
        ref = ref_peaks[(ref_peaks["scan"] == scan_name) & (ref_peaks["map"] == map_tag)]
        ref = ref.reset_index(drop=True)
        assert len(ours) == len(ref), (scan_name, map_tag)
        assert ours["lodcolumn"].tolist() == ref["lodcolumn"].tolist()
        assert ours["chr"].tolist() == ref["chr"].tolist()
        assert (ours["lodindex"].to_numpy() == ref["lodindex"].to_numpy()).all()
        for col in ("pos", "lod", "ci_lo", "ci_hi"):
            np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), atol=1e-10)


def test_lod_int_and_bayes_int_on_closed_form_curve():
    lod = pd.DataFrame({"chr": ["1"] * 6, "pos_cM": [0.0, 1, 2, 3, 4, 5],
                        "y": [0.0, 1.0, 4.0, 5.0, 3.0, 0.0]}, index=list("abcdef"))  # fmt: skip
    ci = lod_int(lod, chrom="1", map_name="pos_cM", drop=1.5)
    # positions above 5 - 1.5 are 2 and 3; the interval extends to the flanking markers
    assert (ci["ci_lo"], ci["pos"], ci["ci_hi"]) == (1.0, 3.0, 4.0)
    # Bayes: masses 10^lod x width; the top two hold 10^5 + 10^4 of ~1.11e5 (> 0.95)
    bi = bayes_int(lod, chrom="1", map_name="pos_cM", prob=0.95)
    assert (bi["ci_lo"], bi["pos"], bi["ci_hi"]) == (2.0, 3.0, 3.0)


def test_ties_take_mean_position_and_peakdrop_splits():
    lod = pd.DataFrame({"chr": ["2"] * 7, "pos_Mbp": [10.0, 20, 30, 40, 50, 60, 70],
                        "y": [7.0, 7.0, 1.0, 0.5, 6.5, 2.0, 0.0]}, index=list("abcdefg"))  # fmt: skip
    one = find_peaks(lod, threshold=3)
    assert one["pos"].tolist() == [15.0]
    two = find_peaks(lod, threshold=3, peakdrop=2)
    assert two["pos"].tolist() == [15.0, 50.0]


def test_bad_arguments():
    lod = pd.DataFrame({"chr": ["1"], "pos_Mbp": [1.0], "y": [3.0]}, index=["a"])
    with pytest.raises(InputError, match="at most one"):
        find_peaks(lod, drop=1.5, prob=0.95)
    with pytest.raises(InputError, match="peakdrop"):
        find_peaks(lod, drop=2.0, peakdrop=1.0)
    with pytest.raises(InputError, match="pos_cM"):
        find_peaks(lod, map_name="pos_cM")
