"""Every simulated cross type against R/qtl2: genotype probabilities and Haley-Knott LODs.

References (qtl2 0.43-5), written by ``tests/reference/qtl2/crosstypes/crosstypes.R`` from
the crosses that ``make_crosses.py`` simulated there::

    x <- read_cross2("<type>/cross/<type>.json")
    pr <- calc_genoprob(x, error_prob=0.002)      # genoprob_<chr>.csv.gz (10 individuals)
    scan1(pr, x$pheno)                            # lod_hk.csv

and for the published Arabidopsis MAGIC lines (magic19) the same on
``ArabMAGIC/arabmagic_tair9.zip`` (probabilities of 5 lines on chromosome 1, LODs of the first
three phenotypes). ``lmm_loco.R`` there wrote LMM scans with LOCO kinship of the simulated
riself8, magic19 and hs crosses (hs on allele probabilities)::

    k <- calc_kinship(probs, "loco")
    scan1(probs, x$pheno, k, Xcovar=get_x_covar(x))  # lod_lmm_loco.csv, hsq_lmm_loco.csv
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.qtl2io import read_cross
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship
from translocus.genetics.scan import scan, x_covar

REF = Path(__file__).parents[1] / "reference" / "qtl2" / "crosstypes"
TYPES = ["bc", "f2", "risib", "riself", "dh", "haploid", "riself4", "riself8", "riself16",
         "risib4", "risib8", "magic19", "dh6", "genril4", "hs", "genail4", "ail", "ail_ab", "dof1", "hsf1",
         "ail3", "do"]  # fmt: skip
PROB_TOL = 1e-6
LOD_TOL = 1e-5


def _compare(cross, folder: Path, phenos: list[str] | None = None) -> None:
    probs = calc_genoprob(cross, error_prob=0.002)
    files = sorted(folder.glob("genoprob_*.csv.gz"))
    assert files
    for path in files:
        chrom = path.name[len("genoprob_") : -len(".csv.gz")]
        ref = pd.read_csv(path, dtype={"ind": str, "marker": str})
        genotypes = list(ref.columns[2:])
        arr = probs[chrom]
        names = list(arr.genotype.values)
        # the genotypes R/qtl2 lists for this chromosome; any others carry no probability
        # (R/qtl2 has no names for the phase-known types: columns by position there)
        by_position = genotypes == [str(k + 1) for k in range(len(names))]
        cols = list(range(len(names))) if by_position else [names.index(g) for g in genotypes]
        marker = pd.Index(arr.marker.values).get_indexer(ref["marker"])
        sample = pd.Index(arr.sample.values).get_indexer(ref["ind"])
        assert (marker >= 0).all() and (sample >= 0).all()
        got = arr.values[marker, sample, :]  # [row, genotype]
        np.testing.assert_allclose(got[:, cols], ref[genotypes].to_numpy(), rtol=0, atol=PROB_TOL)
        assert np.all(np.delete(got, cols, axis=1) == 0)

    alleles = genoprob_to_alleleprob(probs)
    for arr in alleles.probs.values():
        assert arr.sizes["founder"] == len(alleles.alleles)
        np.testing.assert_allclose(arr.values.sum(axis=2), 1.0, atol=1e-12)

    lod_ref = pd.read_csv(folder / "lod_hk.csv", dtype={"marker": str, "chr": str})
    lod_ref = lod_ref.set_index("marker")
    traits = phenos or list(lod_ref.columns[2:])
    out = scan(cross.pheno[traits], probs)
    ours = out.lod.loc[lod_ref.index, traits].to_numpy()
    np.testing.assert_allclose(ours, lod_ref[traits].to_numpy(), rtol=0, atol=LOD_TOL)


@pytest.mark.parametrize("crosstype", TYPES)
def test_simulated_cross_matches_r_qtl2(crosstype):
    """``ail_ab``: the simulated AIL read as founded by A x B only (the one-direction X)."""
    cross = read_cross(REF / crosstype / "cross" / f"{crosstype}.json")
    assert cross.crosstype == crosstype.split("_")[0]
    _compare(cross, REF / crosstype)


#: phase-known type (folder) -> the simulated unphased cross R/qtl2 ran it on
PHASE_KNOWN = {"f2pk": "f2", "ailpk": "ail", "ailpk_ab": "ail_ab", "ail3pk": "ail3",
               "dopk": "do", "hspk": "hs"}  # fmt: skip


@pytest.mark.parametrize("folder", list(PHASE_KNOWN))
def test_phase_known_type_matches_r_qtl2(folder):
    """R/qtl2 reads no phase-known cross (read_cross2 refuses the type); its HMM runs one when
    the crosstype of the unphased cross is set to it, as ``crosstypes.R`` did here."""
    source = PHASE_KNOWN[folder]
    cross = read_cross(REF / source / "cross" / f"{source}.json")
    _compare(replace(cross, crosstype=folder.split("_")[0]), REF / folder)


def test_published_arabmagic_matches_r_qtl2(shared_data):
    path = shared_data / "qtl2" / "ArabMAGIC" / "arabmagic_tair9.zip"
    if not path.exists():
        pytest.skip(f"{path} is not available")
    cross = read_cross(path)
    assert (cross.crosstype, cross.n_individuals, len(cross.founders)) == ("magic19", 703, 19)
    _compare(cross, REF / "arabmagic")


@pytest.mark.parametrize("crosstype", ["riself8", "magic19", "hs"])
def test_lmm_loco_matches_r_qtl2(crosstype):
    cross = read_cross(REF / crosstype / "cross" / f"{crosstype}.json")
    probs = calc_genoprob(cross, error_prob=0.002)
    scanned = genoprob_to_alleleprob(probs) if crosstype == "hs" else probs
    kinship = calc_kinship(scanned, type="loco")
    out = scan(cross.pheno, scanned, kinship=kinship, Xcovar=x_covar(cross))
    ref = pd.read_csv(REF / crosstype / "lod_lmm_loco.csv", dtype={"marker": str, "chr": str})
    ref = ref.set_index("marker")
    traits = list(ref.columns[2:])
    ours = out.lod.loc[ref.index, traits].to_numpy()
    np.testing.assert_allclose(ours, ref[traits].to_numpy(), rtol=0, atol=LOD_TOL)
    hsq = pd.read_csv(REF / crosstype / "hsq_lmm_loco.csv", dtype={"chr": str}).set_index("chr")
    got = out.hsq.loc[hsq.index, traits].to_numpy()
    np.testing.assert_allclose(got, hsq[traits].to_numpy(), rtol=0, atol=LOD_TOL)
