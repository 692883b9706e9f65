"""``est_map`` of multi-parent RIL panels against R/qtl2 0.43-5.

Reference: ``tests/reference/qtl2/estmap/estmap.R``, runs ``sim_risib8`` and ``sim_magic19``
(``cd tests/reference/qtl2/estmap && R_LIBS=/opt/rlib Rscript estmap.R
../../../../../shared/data/qtl2 sim_risib8 sim_magic19``): ``est_map(error_prob=0.002)`` of
the 60 lines in ``sim_risib8.zip`` (8-way RIL by sib mating, each line its own funnel, both
sexes, with X) and ``sim_magic19.zip`` (19-way MAGIC by selfing). Positions agree to 1e-6 cM
and log likelihoods to 1e-6 on chromosomes that converge in a few hundred iterations (for
risib8 an autosome, whose M step is ``R / (7 - 6R)``, and the X, with R/qtl2's root).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.qtl2io import read_cross
from translocus.genetics.estmap import est_map

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "estmap"
RUNS = {"sim_risib8": ("risib8", ["19", "X"]), "sim_magic19": ("magic19", ["13", "5"])}


@pytest.mark.parametrize("run", list(RUNS))
def test_map_matches_r_qtl2(run: str) -> None:
    ref_file = REF / f"{run}.csv"
    if not ref_file.exists():
        pytest.skip(f"no R/qtl2 reference {ref_file}")
    crosstype, chromosomes = RUNS[run]
    cross = read_cross(REF / f"{run}.zip")
    assert cross.crosstype == crosstype
    fit = est_map(cross, chromosomes=chromosomes, error_prob=0.002)
    ref = pd.read_csv(ref_file, dtype={"chr": str, "marker": str})
    ref = ref[ref["chr"].isin(chromosomes)]
    assert sorted(fit.chromosomes) == sorted(set(ref["chr"]))
    for chrom, part in ref.groupby("chr", sort=False):
        ours = fit[chrom]
        assert list(ours.index) == part["marker"].tolist()
        np.testing.assert_allclose(ours.to_numpy(), part["pos"].to_numpy(), rtol=0, atol=1e-6)
        assert fit.loglik[chrom] == pytest.approx(part["loglik"].iloc[0], abs=1e-6)
        # the map moved away from the simulated one: the comparison is not trivially equal
        assert not np.allclose(ours.to_numpy(), cross.gmap[chrom].to_numpy(), atol=1e-3)
    assert fit.converged
