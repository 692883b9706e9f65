"""``est_map`` of multi-parent RIL panels against R/qtl2 0.43-5.

Reference: ``tests/reference/qtl2/estmap/estmap.R``, runs ``sim_risib8`` and ``sim_magic19``
(``cd tests/reference/qtl2/estmap && R_LIBS=/opt/rlib Rscript estmap.R
../../../../../shared/data/qtl2 sim_risib8 sim_magic19``): ``est_map(error_prob=0.002)`` of
the 60 lines in ``sim_risib8.zip`` (8-way RIL by sib mating, each line its own funnel, both
sexes, with X) and ``sim_magic19.zip`` (19-way MAGIC by selfing). Positions agree to 1e-6 cM
and log likelihoods to 1e-6 on chromosomes that converge in a few hundred iterations (for
risib8 an autosome, whose M step is ``R / (7 - 6R)``, and the X, with R/qtl2's root).

On magic19 chromosomes 8 and 11 the first interval's markers look unlinked: R/qtl2 returns
NaN positions and log likelihood (``sim_magic19.csv``). Run ``sim_magic19_cut``
(``... Rscript estmap.R ../../../../../shared/data/qtl2 sim_magic19_cut``) is R/qtl2's
``est_map(error_prob=0.002, tol=1e-10)`` of those chromosomes without their first marker:
our map of the whole chromosome, whose first fraction stays at the upper bound (an
interval of independent sides), equals it past the first marker to 1e-6 cM, and our log
likelihood equals its plus that of the first marker alone.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.qtl2io import read_cross
from translocus.genetics.crosstypes import get_cross_model
from translocus.genetics.estmap import UnlinkedIntervalWarning, _magic19_rf, est_map
from translocus.genetics.mapfunctions import rf_to_map

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


def test_magic19_share_inverts_the_model() -> None:
    """The M step's ``r`` has the model's share of founder changes; 18/19 and above give 1."""
    rf = np.linspace(1e-6, 0.999, 400)
    trans = get_cross_model("magic19").transition(
        rf, is_x=False, is_female=True, cross_info=np.zeros(0)
    )
    share = 1.0 - trans[:, 0, 0]
    np.testing.assert_allclose(_magic19_rf(share), rf, rtol=0, atol=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NaN from a negative cube root
        assert _magic19_rf(np.array([18 / 19, 0.96, 1.0])).tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("chrom", ["8", "11"])
def test_magic19_unlinked_interval(chrom: str) -> None:
    """Where R/qtl2 gives NaN, the first fraction stays at 0.999 and the rest is R/qtl2's cut map."""
    cross = read_cross(REF / "sim_magic19.zip")
    ref = pd.read_csv(REF / "sim_magic19.csv", dtype={"chr": str, "marker": str})
    assert ref.loc[ref["chr"] == chrom, "pos"].iloc[1:].isna().all()  # R/qtl2's NaN
    interval = f"chromosome {chrom} interval S{chrom}_00001-S{chrom}_00002"
    with pytest.warns(UnlinkedIntervalWarning, match=interval):
        fit = est_map(cross, chromosomes=[chrom], error_prob=0.002, tol=1e-10)
    assert fit.converged
    assert fit.rf[chrom][0] == 0.999
    pos = fit[chrom].to_numpy()
    assert np.all(np.isfinite(pos))
    assert pos[1] - pos[0] == pytest.approx(rf_to_map(np.array([0.999]))[0], abs=1e-9)
    cut = pd.read_csv(REF / "sim_magic19_cut.csv", dtype={"chr": str, "marker": str})
    cut = cut[cut["chr"] == chrom]
    assert list(fit[chrom].index[1:]) == cut["marker"].tolist()
    np.testing.assert_allclose(
        pos[1:] - pos[1], cut["pos"].to_numpy() - cut["pos"].iloc[0], rtol=0, atol=1e-6
    )
    # first marker alone: each line's call has the share of founders that carry it
    error = 0.002
    calls = cross.geno[chrom][:, 0]
    founders = np.asarray(cross.founder_geno[chrom])[:, 0]
    first = sum(
        math.log(np.mean(np.where(founders == call, 1 - error, error))) for call in calls if call
    )
    assert fit.loglik[chrom] == pytest.approx(cut["loglik"].iloc[0] + first, abs=1e-6)
