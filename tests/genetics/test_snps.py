"""SNP association in a QTL interval against R/qtl2 0.43-5 on DOex (chr 2, 96.5-98.5 Mbp).

References: ``tests/reference/qtl2/snps/snps.R``, run as
``cd tests/reference/qtl2/snps && R_LIBS=/opt/rlib Rscript snps.R``: DOex with
``calc_genoprob(error_prob=0.002, map_function="c-f")``, ``genoprob_to_alleleprob``,
``calc_kinship(type="loco")``; the variants of R/qtl2's ``cc_variants_small.sqlite`` in
chr 2, 96.5-98.5 Mbp (the database holds 97.0-98.0) through ``create_variant_query_func``,
``index_snps``, ``genoprob_to_snpprob`` (allele, genotype and X genotype probabilities),
``scan1snps`` (Haley-Knott and LMM LOCO, without and with sex as additive covariate),
``top_snps`` and the genes of ``create_gene_query_func``; and ``scan1snps`` with no region (the
whole genome in 20-Mbp batches).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError, OptionError
from translocus.core.model import GenoProbs
from translocus.core.paths import data_dir
from translocus.core.qtl2io import read_cross
from translocus.genetics import snps
from translocus.genetics.genoprob import calc_genoprob, genoprob_to_alleleprob
from translocus.genetics.kinship import calc_kinship

REF = Path(__file__).resolve().parents[1] / "reference" / "qtl2" / "snps"
LOD_TOL = 1e-5
PROB_TOL = 1e-6


@cache
def _doex() -> dict[str, Any]:
    path = data_dir() / "qtl2" / "DOex" / "DOex.json"
    if not path.exists() or not snps.default_variant_db().exists():
        pytest.skip(f"shared data {path} or the variant database is not available")
    cross = read_cross(path)
    pr = calc_genoprob(cross, error_prob=0.002, map_function="c-f")
    apr = genoprob_to_alleleprob(pr)
    return {"cross": cross, "pr": pr, "apr": apr, "kinship": calc_kinship(apr, type="loco")}


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name, dtype={"snp": str, "chr": str, "ind": str})


def _sex(cross: Any) -> pd.DataFrame:
    sex = (~cross.is_female.astype(bool)).astype(float)
    return pd.DataFrame({"sex": sex.to_numpy()}, index=[str(i) for i in sex.index])


def test_variant_query_and_index_match_r() -> None:
    apr = _doex()["apr"]
    variants = snps.create_variant_query_func()("2", 96.5, 98.5)
    indexed = snps.index_snps(apr, variants)
    ref = _ref("snpinfo.csv.gz")
    assert indexed["snp"].tolist() == ref["snp"].tolist()
    assert indexed["type"].tolist() == ref["type"].tolist()
    np.testing.assert_allclose(indexed["pos"], ref["pos"], rtol=0, atol=1e-12)
    for column in ("sdp", "index", "interval", "on_map"):
        assert indexed[column].tolist() == ref[column].tolist(), column


def test_snp_probabilities_match_r() -> None:
    doex = _doex()
    indexed = snps.index_snps(doex["apr"], snps.create_variant_query_func()("2", 96.5, 98.5))
    for probs, file, states in (
        (doex["apr"], "snpprob_allele.csv.gz", ["A", "B"]),
        (doex["pr"], "snpprob_geno.csv.gz", ["AA", "AB", "BB"]),
    ):
        ref = _ref(file)
        got = snps.genoprob_to_snpprob(probs.subset(chromosomes=["2"]), indexed)["2"]
        assert list(got.coords["genotype"].values) == states
        for snp, part in ref.groupby("snp", sort=False):
            values = got.sel(marker=snp).to_pandas().reindex(part["ind"])
            np.testing.assert_allclose(values[states].to_numpy(), part[states].to_numpy(),
                                       rtol=0, atol=PROB_TOL)  # fmt: skip


def test_x_snp_probabilities_match_r() -> None:
    """Made-up X variants on, between and at the last marker; 44 genotypes -> 5 SNP states."""
    pr = _doex()["pr"]
    ref_info = _ref("snpinfo_x.csv")
    indexed = snps.index_snps(pr, ref_info[["snp", "chr", "pos", "sdp"]])
    for column in ("index", "interval", "on_map"):
        assert indexed[column].tolist() == ref_info[column].tolist(), column
    got = snps.genoprob_to_snpprob(pr, indexed)["X"]
    ref = _ref("snpprob_x.csv.gz")
    states = ["AA", "AB", "BB", "AY", "BY"]
    assert list(got.coords["marker"].values) == list(dict.fromkeys(ref["snp"]))
    for snp, part in ref.groupby("snp", sort=False):
        values = got.sel(marker=snp).to_pandas().reindex(part["ind"])
        np.testing.assert_allclose(values[states].to_numpy(), part[states].to_numpy(),
                                   rtol=0, atol=PROB_TOL)  # fmt: skip


@pytest.mark.parametrize(
    ("column", "lmm", "sex"),
    [("hk", False, False), ("loco", True, False), ("loco_sex", True, True),
     ("hk_sex", False, True)],
)  # fmt: skip
def test_scan1snps_matches_r(column: str, lmm: bool, sex: bool) -> None:
    doex = _doex()
    cross = doex["cross"]
    out = snps.scan1snps(doex["apr"], cross.pheno, chromosome="2", start=96.5, end=98.5,
                         kinship=doex["kinship"] if lmm else None,
                         addcovar=_sex(cross) if sex else None)  # fmt: skip
    ref = _ref("lod.csv")
    assert out.snpinfo["snp"].tolist() == ref["snp"].tolist()
    assert out.snpinfo["index"].tolist() == list(range(1, len(ref) + 1))
    assert out.lod.index.tolist() == ref["snp"].tolist()
    np.testing.assert_allclose(out.lod.iloc[:, 0], ref[column], rtol=0, atol=LOD_TOL)
    if lmm:
        hsq = _ref("hsq.csv").set_index("scan")["hsq"]
        assert out.result.hsq is not None
        assert float(out.result.hsq.iloc[0, 0]) == pytest.approx(hsq[column], abs=1e-6)


@pytest.mark.parametrize(
    ("file", "drop", "show_all"),
    [("top_snps.csv", 1.5, True), ("top_snps_used.csv", 1.5, False),
     ("top_snps_drop05.csv", 0.5, True)],
)  # fmt: skip
def test_top_snps_match_r(file: str, drop: float, show_all: bool) -> None:
    doex = _doex()
    out = snps.scan1snps(doex["apr"], doex["cross"].pheno, chromosome="2", start=96.5,
                         end=98.5, kinship=doex["kinship"], keep_all_snps=True)  # fmt: skip
    assert len(out.snpinfo) == len(_ref("snpinfo.csv.gz"))
    top = snps.top_snps(out, drop=drop, show_all_snps=show_all)
    ref = _ref(file)
    assert top["snp"].tolist() == ref["snp"].tolist()
    assert top["index"].tolist() == ref["index"].tolist()
    np.testing.assert_allclose(top["lod"], ref["lod"], rtol=0, atol=LOD_TOL)
    if file == "top_snps.csv":
        genes = snps.create_gene_query_func()("2", 96.5, 98.5)
        fig = out.plot(genes=genes, drop_hilit=drop)
        lod_axis = fig.axes[0]
        hilit = lod_axis.collections[1].get_offsets()
        assert sorted(np.round(hilit[:, 0], 6)) == sorted(np.round(ref["pos"], 6))
        assert len(fig.axes[1].patches) == len(genes)


def test_genes_match_r() -> None:
    if not snps.default_gene_db().exists():
        pytest.skip("the gene database is not available")
    genes = snps.create_gene_query_func()("2", 96.5, 98.5)
    ref = _ref("genes.csv")
    assert genes["Name"].tolist() == ref["Name"].tolist()
    assert genes["strand"].tolist() == ref["strand"].tolist()
    np.testing.assert_allclose(genes["start"], ref["start"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(genes["stop"], ref["stop"], rtol=0, atol=1e-12)


def test_coverage_and_sdp_strains() -> None:
    if not snps.default_variant_db().exists():
        pytest.skip("the variant database is not available")
    cover = snps.variant_coverage().set_index("chr")
    assert cover.loc["2"].tolist() == [97.000027, 97.999988]
    assert snps.sdp_strains([1, 6, 255], "ABCDEFGH") == ["A|BCDEFGH", "BC|ADEFGH", "ABCDEFGH|"]


def test_snp_probabilities_sum_to_one_and_follow_the_pattern() -> None:
    """A property: SNP states sum to 1, and SDP 2^n - 1 minus s swaps A and B of SDP s."""
    rng = np.random.default_rng(5)
    raw = rng.dirichlet(np.ones(8), size=(4, 30))
    import xarray as xr

    arr = xr.DataArray(raw, dims=("marker", "sample", "founder"),
                       coords={"marker": list("abcd"), "sample": [f"s{i}" for i in range(30)],
                               "founder": list("ABCDEFGH"),
                               "pos_Mbp": ("marker", [1.0, 2.0, 3.0, 4.0])})  # fmt: skip
    probs = GenoProbs(probs={"1": arr}, crosstype="do", alleles=tuple("ABCDEFGH"), kind="allele")
    info = pd.DataFrame({"snp": ["x", "y"], "chr": "1", "pos": [2.5, 2.6], "sdp": [37, 255 - 37]})
    got = snps.genoprob_to_snpprob(probs, snps.index_snps(probs, info))["1"].values
    np.testing.assert_allclose(got.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(got[0, :, 0], got[1, :, 1], atol=1e-15)
    mean = (raw[1] + raw[2]) / 2
    bits = [(37 >> j) & 1 for j in range(8)]
    np.testing.assert_allclose(got[0, :, 1], mean[:, np.array(bits, bool)].sum(axis=1),
                               atol=1e-15)  # fmt: skip


def test_bad_inputs_are_clear() -> None:
    apr = _doex()["apr"]
    with pytest.raises(InputError, match="no variants in chromosome 2 50-60 Mbp"):
        snps.scan1snps(apr, _doex()["cross"].pheno, chromosome="2", start=50, end=60)
    with pytest.raises(OptionError, match="must be below end"):
        snps.scan1snps(apr, _doex()["cross"].pheno, chromosome="2", start=98, end=97)
    with pytest.raises(OptionError, match="no such file"):
        snps.create_variant_query_func("/nonexistent/variants.sqlite")("2", 97, 98)
    with pytest.raises(InputError, match="chromosome.*7"):
        snps.index_snps(apr, pd.DataFrame({"snp": ["a"], "chr": ["7"], "pos": [1.0],
                                           "sdp": [3]}))  # fmt: skip
    with pytest.raises(InputError, match="run index_snps"):
        snps.genoprob_to_snpprob(apr, pd.DataFrame({"snp": ["a"], "chr": ["2"], "sdp": [3]}))


def test_scan1snps_over_the_genome_matches_r() -> None:
    """No region: every chromosome read in 20-Mbp pieces, each indexed on its own, as R."""
    doex = _doex()
    out = snps.scan1snps(doex["apr"], doex["cross"].pheno, kinship=doex["kinship"])
    ref = _ref("genome_lod.csv")
    assert out.snpinfo["snp"].tolist() == ref["snp"].tolist()
    assert out.snpinfo["chr"].tolist() == ref["chr"].tolist()
    assert out.snpinfo["index"].tolist() == ref["index"].tolist()
    np.testing.assert_allclose(out.lod.iloc[:, 0], ref["lod"], rtol=0, atol=LOD_TOL)
    every = snps.scan1snps(doex["apr"], doex["cross"].pheno, keep_all_snps=True)
    ref_all = _ref("genome_all_index.csv.gz")
    assert every.snpinfo["chr"].tolist() == ref_all["chr"].tolist()
    assert every.snpinfo["index"].tolist() == ref_all["index"].tolist()
    fig = every.plot()  # the chromosomes side by side
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2", "3"]
