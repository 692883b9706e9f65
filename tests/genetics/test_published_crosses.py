"""Published crosses in the shared data against R/qtl2 0.43-5, read with our own reader.

References: ``tests/reference/qtl2/published.R`` (R 4.2.2, R/qtl2 0.43-5) wrote, for each
cross, a subset of the genotype probabilities, HK and LMM-LOCO LODs at every marker and the
LOCO heritabilities, with ``calc_genoprob(error_prob=0.002)`` on the genetic map (Haldane for
the plant and F2 crosses, Carter-Falconer for DO and CC), kinship from the probabilities
scanned and ``Xcovar = get_x_covar(cross)``. CC has no published phenotypes: the script
simulates two (``CC/pheno.csv``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import scan, x_covar

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2"

#: cross -> (file under the data folder's qtl2/, map function, scan allele probabilities)
CROSSES = {
    "grav2": ("grav2/grav2.zip", "haldane", False),
    "Gough": ("Gough/gough.zip", "haldane", False),
    "ArabMAGIC": ("ArabMAGIC/arabmagic_tair9.zip", "haldane", True),
    "CC": ("CC/cc.zip", "c-f", True),
    "DO_Gatti2014": ("DO_Gatti2014/do.zip", "c-f", True),
}
#: the larger crosses run in the slow set only
SLOW = {"CC", "DO_Gatti2014", "Gough"}
PROB_TOL, LOD_TOL = 1e-6, 1e-5


def _params() -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else []) for name in CROSSES
    ]


@cache
def _computed(name: str) -> tuple[Any, Any, Any]:
    file, map_function, alleles = CROSSES[name]
    path = data_dir() / "qtl2" / file
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    cross = read_cross(path)
    probs = calc_genoprob(cross, error_prob=0.002, map_function=map_function)
    scanned = genoprob_to_alleleprob(probs) if alleles else probs
    pheno = pd.read_csv(REF / name / "pheno.csv", dtype={"id": str}).set_index("id")
    kinship = calc_kinship(scanned, type="loco")
    xcov = x_covar(cross)
    hk = scan(pheno, scanned, Xcovar=xcov)
    lmm = scan(pheno, scanned, kinship=kinship, Xcovar=xcov)
    return probs, hk, lmm


def _ref_lod(name: str, which: str) -> pd.DataFrame:
    path = REF / name / f"lod_{which}.csv.gz"
    return pd.read_csv(path, dtype={"marker": str, "chr": str}).set_index("marker")


@pytest.mark.parametrize("name", _params())
def test_genotype_probabilities_match_r(name: str) -> None:
    probs, _, _ = _computed(name)
    files = sorted((REF / name).glob("genoprob_*.csv.gz"))
    assert files
    for path in files:
        chrom = path.name[len("genoprob_") : -len(".csv.gz")]
        ref = pd.read_csv(path, dtype={"ind": str, "marker": str})
        states = [c for c in ref.columns if c not in ("ind", "marker")]
        ours = probs[chrom]
        markers = pd.Index(ours.coords["marker"].values.astype(str))
        samples = pd.Index(ours.coords["sample"].values.astype(str))
        genotypes = list(ours.coords[ours.dims[2]].values.astype(str))
        assert genotypes == states, chrom
        got = ours.to_numpy()[markers.get_indexer(ref["marker"]), samples.get_indexer(ref["ind"])]
        assert np.abs(got - ref[states].to_numpy(float)).max() < PROB_TOL, chrom


@pytest.mark.parametrize("which", ["hk", "lmm_loco"])
@pytest.mark.parametrize("name", _params())
def test_lods_match_r(name: str, which: str) -> None:
    _, hk, lmm = _computed(name)
    out = hk if which == "hk" else lmm
    ref = _ref_lod(name, which)
    ours = out.lod.loc[ref.index, out.traits].to_numpy()
    assert np.nanmax(np.abs(ours - ref[out.traits].to_numpy(float))) < LOD_TOL
    if which == "lmm_loco":
        hsq = pd.read_csv(REF / name / "hsq_lmm_loco.csv", dtype={"chr": str}).set_index("chr")
        got = out.hsq.loc[hsq.index, out.traits].to_numpy()
        assert np.abs(got - hsq[out.traits].to_numpy(float)).max() < LOD_TOL
