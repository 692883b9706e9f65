"""``est_map`` against R/qtl2 0.43-5's estimated maps.

Reference: ``tests/reference/qtl2/estmap/estmap.R``, run as
``cd tests/reference/qtl2/estmap && R_LIBS=/opt/rlib Rscript estmap.R``: ``est_map`` of iron
(f2 with X; ``error_prob=1e-4`` Haldane, and ``error_prob=0.002`` Kosambi), grav2 (riself) and
BXD chromosomes 19 and X (risib; thousands of iterations, in the slow set) and their first 60
markers, and simulated crosses stored there (``sim_<type>.zip``): a backcross (with X), a
doubled-haploid cross, 4-, 8- and 16-way RIL by selfing (each line its own funnel) and 4-way
RIL by sib mating (with X). Positions agree to 1e-6 cM and log likelihoods to 1e-6.
"""

from __future__ import annotations

import dataclasses
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.estimator import ConvergenceWarning
from translocus.core.model import Cross
from translocus.core.paths import data_dir
from translocus.core.qtl2io import UndeclaredGenotypeWarning, read_cross
from translocus.genetics.estmap import est_map
from translocus.genetics.genoprob import calc_genoprob
from translocus.genetics.mapfunctions import rf_to_map

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "estmap"
FILES = {"iron": "iron/iron.zip", "grav2": "grav2/grav2.zip", "bxd": "BXD/bxd.zip"}
RUNS = {
    "iron_haldane": ("iron", None, {"error_prob": 1e-4, "map_function": "haldane"}),
    "iron_kosambi": ("iron", None, {"error_prob": 0.002, "map_function": "kosambi"}),
    "grav2": ("grav2", None, {"error_prob": 1e-4}),
    "bxd_19_X": ("bxd", ["19", "X"], {"error_prob": 0.002}),
    "bxd_19_X_first60": ("bxd", ["19", "X"], {"error_prob": 0.002}),
    "sim_bc": ("sim_bc", None, {"error_prob": 0.002}),
    "sim_dh": ("sim_dh", None, {"error_prob": 0.002}),
    # chromosomes that converge in a few hundred iterations (others take thousands)
    "sim_riself4": ("sim_riself4", ["1", "5", "14", "X"], {"error_prob": 0.002}),
    "sim_riself8": ("sim_riself8", ["1", "2"], {"error_prob": 0.002}),
    "sim_riself16": ("sim_riself16", ["14", "X"], {"error_prob": 0.002}),
    "sim_risib4": ("sim_risib4", ["2", "14", "X"], {"error_prob": 0.002}),
}


@cache
def _cross(name: str) -> Cross:
    if name.startswith("sim_"):  # simulated crosses stored beside the references
        return read_cross(REF / f"{name}.zip")
    path = data_dir() / "qtl2" / FILES[name]
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    with warnings.catch_warnings():
        # BXD's genotypes hold 'H' calls its control file does not declare: missing, as in R
        warnings.simplefilter("ignore", UndeclaredGenotypeWarning)
        return read_cross(path)


@pytest.mark.parametrize(
    "run", [pytest.param(r, marks=[pytest.mark.slow] if r == "bxd_19_X" else []) for r in RUNS]
)
def test_maps_match_r_qtl2(run: str) -> None:
    ref_file = REF / f"{run}.csv"
    if not ref_file.exists():
        pytest.skip(f"no R/qtl2 reference {ref_file}")
    name, chroms, kwargs = RUNS[run]
    cross = _cross(name)
    if run.endswith("_first60"):
        cross = dataclasses.replace(
            cross.subset(chromosomes=chroms),
            geno={c: cross.geno[c][:, :60] for c in chroms},
            gmap={c: cross.gmap[c].iloc[:60] for c in chroms},
            pmap=None,
        )
    fit = est_map(cross, chromosomes=chroms, **kwargs)
    ref = pd.read_csv(ref_file, dtype={"chr": str, "marker": str})
    if chroms is not None:
        ref = ref[ref["chr"].isin(chroms)]
    assert list(fit.chromosomes) == list(dict.fromkeys(ref["chr"]))
    for chrom, part in ref.groupby("chr", sort=False):
        ours = fit[chrom]
        assert list(ours.index) == part["marker"].tolist()
        np.testing.assert_allclose(ours.to_numpy(), part["pos"].to_numpy(), rtol=0, atol=1e-6)
        assert fit.loglik[chrom] == pytest.approx(part["loglik"].iloc[0], abs=1e-6)
    assert fit.converged


def test_estimated_map_replaces_the_cross_map() -> None:
    cross = _cross("grav2")
    fit = est_map(cross, chromosomes=["1"])
    assert isinstance(fit["1"], pd.Series)
    assert fit["1"].iloc[0] == cross.gmap["1"].iloc[0]
    assert np.all(np.diff(fit["1"].to_numpy()) >= 0)
    refit = dataclasses.replace(cross, gmap={**cross.gmap, **fit.gmap})
    probs = calc_genoprob(refit, chromosomes=["1"])
    np.testing.assert_allclose(probs["1"].coords["pos_cM"].values, fit["1"].to_numpy())


def test_fixed_point_is_a_likelihood_maximum() -> None:
    """Moving any one estimated fraction lowers the likelihood (a property, no reference)."""
    cross = _cross("iron").subset(chromosomes=["7"])
    fit = est_map(cross, tol=1e-10)
    base = fit.loglik["7"]
    for k in range(fit.rf["7"].size):
        for delta in (-1e-3, 1e-3):
            rf = fit.rf["7"].copy()
            rf[k] += delta
            steps = rf_to_map(rf, map_function="haldane")  # est_map starts from Haldane's
            pos = cross.gmap["7"].iloc[0] + np.concatenate([[0.0], np.cumsum(steps)])
            moved = dataclasses.replace(
                cross, gmap={"7": pd.Series(pos, index=cross.gmap["7"].index)}
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                other = est_map(moved, maxit=0)  # the log likelihood at the given map
            assert other.loglik["7"] < base


def test_maxit_warns() -> None:
    with pytest.warns(ConvergenceWarning, match="maxit=2"):
        fit = est_map(_cross("grav2"), maxit=2, chromosomes=["1"])
    assert not fit.converged
    assert fit.n_iterations["1"] == 2


def test_unsupported_cross_and_bad_arguments() -> None:
    cross = _cross("grav2")
    with pytest.raises(InputError, match="does not support crosstype 'do'"):
        est_map(dataclasses.replace(cross, crosstype="do"))
    with pytest.raises(InputError, match="tol=0"):
        est_map(cross, tol=0)
    with pytest.raises(InputError, match="maxit=-1"):
        est_map(cross, maxit=-1)
