"""``est_map`` of an 8-way RIL panel by sib mating (``risib8``, CC-like) against R/qtl2 0.43-5.

Reference: ``tests/reference/qtl2/estmap/estmap.R`` run ``sim_risib8``
(``cd tests/reference/qtl2/estmap && R_LIBS=/opt/rlib Rscript estmap.R
../../../../../shared/data/qtl2 sim_risib8``): ``est_map(error_prob=0.002)`` of the 60 lines in
``sim_risib8.zip`` (each line its own funnel, both sexes, with X). Positions agree to 1e-6 cM
and log likelihoods to 1e-6 on chromosomes that converge in a few hundred iterations (an
autosome, whose M step is ``R / (7 - 6R)``, and the X, with R/qtl2's root).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.qtl2io import read_cross
from translocus.genetics.estmap import est_map

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "estmap"
CHROMOSOMES = ["19", "X"]


def test_risib8_map_matches_r_qtl2() -> None:
    ref_file = REF / "sim_risib8.csv"
    if not ref_file.exists():
        pytest.skip(f"no R/qtl2 reference {ref_file}")
    cross = read_cross(REF / "sim_risib8.zip")
    assert cross.crosstype == "risib8" and cross.x_chr == "X"
    fit = est_map(cross, chromosomes=CHROMOSOMES, error_prob=0.002)
    ref = pd.read_csv(ref_file, dtype={"chr": str, "marker": str})
    ref = ref[ref["chr"].isin(CHROMOSOMES)]
    assert list(fit.chromosomes) == CHROMOSOMES
    for chrom, part in ref.groupby("chr", sort=False):
        ours = fit[chrom]
        assert list(ours.index) == part["marker"].tolist()
        np.testing.assert_allclose(ours.to_numpy(), part["pos"].to_numpy(), rtol=0, atol=1e-6)
        assert fit.loglik[chrom] == pytest.approx(part["loglik"].iloc[0], abs=1e-6)
        # the map moved away from the simulated one: the comparison is not trivially equal
        assert not np.allclose(ours.to_numpy(), cross.gmap[chrom].to_numpy(), atol=1e-3)
    assert fit.converged
