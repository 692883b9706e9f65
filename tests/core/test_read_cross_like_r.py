"""Every cross in the shared data reads as R/qtl2's ``read_cross2`` reads it.

``tests/reference/qtl2/read_cross2.R`` (R/qtl2 0.43-5) summarised what ``read_cross2`` made
of each cross: per chromosome the markers (count, first, last), the sum of the genotype codes
and the number of missing calls, the sums of the genetic and physical maps and of the founder
genotypes; per cross the individuals, the number of females, the cross information, the
alleles and the phenotype and covariate tables. ``read_cross`` must give the same numbers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.model import Cross
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2"
FILES = {
    "DO_Recla": "DO_Recla/recla.zip",
    "DO_Gatti2014": "DO_Gatti2014/do.zip",
    "DOex": "DOex/DOex.zip",
    "BXD": "BXD/bxd.zip",
    "CC": "CC/cc.zip",
    "B6BTBR": "B6BTBR/b6btbr.zip",
    "Gough": "Gough/gough.zip",
    "ArabMAGIC": "ArabMAGIC/arabmagic_tair9.zip",
    "iron": "iron/iron.zip",
    "grav2": "grav2/grav2.zip",
}
SLOW = {"CC", "Gough", "DO_Gatti2014", "BXD"}


@cache
def _cross(name: str) -> Cross:
    path = data_dir() / "qtl2" / FILES[name]
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    return read_cross(path)


def _reference(kind: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"read_cross2_{kind}.csv", dtype=str, keep_default_na=False).set_index(
        "cross"
    )


# BXD's genotypes hold undeclared "H" calls; R/qtl2 also sets them to missing, with a warning
@pytest.mark.filterwarnings("ignore::translocus.core.qtl2io.UndeclaredGenotypeWarning")
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.slow] if n in SLOW else []) for n in FILES]
)
def test_cross_reads_as_r_reads_it(name: str) -> None:
    cross = _cross(name)
    whole = _reference("cross").loc[name]
    assert cross.crosstype == whole["crosstype"]
    assert cross.n_individuals == int(whole["n_ind"])
    assert cross.individuals[0] == whole["first_ind"]
    if len(cross.is_female):
        assert int(cross.is_female.sum()) == int(whole["n_female"])
    else:  # no sex given: R/qtl2 takes every individual as female, and so do our models
        assert int(whole["n_female"]) == cross.n_individuals
    assert "|".join(cross.alleles) == whole["alleles"]
    info_cols = whole["cross_info_cols"]
    if info_cols:
        assert "|".join(map(str, cross.cross_info.columns)) == info_cols
        assert int(cross.cross_info.to_numpy().sum()) == int(whole["cross_info_sum"])
    assert cross.pheno.shape[1] == int(whole["pheno_cols"])
    assert int(cross.pheno.notna().to_numpy().sum()) == int(whole["pheno_nonmissing"])
    if cross.pheno.shape[1]:
        total = float(np.nansum(cross.pheno.to_numpy(dtype=float)))
        assert total == pytest.approx(float(whole["pheno_sum"]), rel=1e-12)
    assert "|".join(map(str, cross.covar.columns)) == whole["covar_cols"]
    assert int(cross.covar.notna().to_numpy().sum()) == int(whole["covar_nonmissing"])

    per_chr = _reference("chr").loc[[name]].set_index("chr")
    assert list(cross.chromosomes) == list(per_chr.index)
    for chrom, row in per_chr.iterrows():
        geno = np.asarray(cross.geno[chrom])
        markers = list(cross.gmap[chrom].index)
        assert (geno.shape[1], markers[0], markers[-1]) == (
            int(row["n_markers"]),
            row["first_marker"],
            row["last_marker"],
        ), chrom
        assert int(geno.astype(np.int64).sum()) == int(row["geno_sum"]), chrom
        assert int((geno == 0).sum()) == int(row["geno_missing"]), chrom
        assert (cross.x_chr == chrom) == (row["is_x"] == "TRUE"), chrom
        if row["gmap_sum"] != "NA":
            assert cross.gmap[chrom].sum() == pytest.approx(float(row["gmap_sum"]), rel=1e-12)
        if row["pmap_sum"] != "NA":
            assert cross.pmap is not None
            assert cross.pmap[chrom].sum() == pytest.approx(float(row["pmap_sum"]), rel=1e-12)
        if row["founder_geno_sum"] != "NA":
            assert cross.founder_geno is not None
            fg = np.asarray(cross.founder_geno[chrom]).astype(np.int64).sum()
            assert int(fg) == int(row["founder_geno_sum"]), chrom
