"""Gene-anchor lifting, GRCm38/GRCm39 detection and the AD GWAS loci."""

from __future__ import annotations

import pytest

from translocus.core.errors import InputError
from translocus.core.paths import data_dir


@pytest.fixture(scope="module")
def lift():
    if not (data_dir() / "genes" / "human_genes_grch37.csv").is_file():
        pytest.skip("gene tables missing")
    from translocus.translate.assembly import gene_anchor_lift

    return gene_anchor_lift("human", "GRCh37", "GRCh38")


@pytest.mark.parametrize(
    ("chr_", "grch37", "grch38"),
    [
        ("19", 45_411_941, 44_908_684),  # rs429358 (APOE), dbSNP b151 GRCh37 / GRCh38
        ("2", 127_892_810, 127_135_234),  # rs6733839 (BIN1), dbSNP GRCh37 / GRCh38
    ],
)
def test_lift_matches_dbsnp(lift, chr_, grch37, grch38):
    assert lift.lift(chr_, grch37).pos == grch38


def test_ad_loci(engine):
    loci = engine.loci.loci
    assert len(loci) == 37
    apoe = loci.set_index("locus_name").loc["APOE"]
    assert apoe["lead_snp"] == "rs429358"
    assert apoe["pos"] == 44_908_684
    assert engine.loci.provenance.license == "NOASSERTION"
    assert "GRCh37" in engine.loci.note


def test_kunkle_clumping():
    if not (data_dir() / "gwas" / "kunkle2019").is_dir():
        pytest.skip("Kunkle tables missing")
    from translocus.translate.loci import load_loci

    loci = load_loci("kunkle", p_max=5e-8, clump_kb=500)
    assert (loci.loci["p"] <= 5e-8).all()
    # property of clumping: lead SNPs on one chromosome are more than 500 kb apart
    for _, group in loci.loci.groupby("chr"):
        pos = group["pos_grch37"].sort_values().to_numpy()
        assert (pos[1:] - pos[:-1] > 500_000).all()
    assert "APOE" in set(loci.loci["locus_name"])


def test_read_loci_user_table(tmp_path, engine):
    from translocus.translate.loci import read_loci

    path = tmp_path / "loci.csv"
    path.write_text("chr,pos,name,p\n19,45411941,apoe_snp,1e-30\n")
    loci = read_loci(path, assembly="GRCh37")
    assert loci.loci["pos"].iloc[0] == 44_908_684
    bad = tmp_path / "bad.csv"
    bad.write_text("chrom,position\n1,2\n")
    with pytest.raises(InputError, match="chr, pos"):
        read_loci(bad)
    worse = tmp_path / "worse.csv"
    worse.write_text("chr,pos\n1,abc\n")
    with pytest.raises(InputError, match="not numbers"):
        read_loci(worse)


def test_grcm38_detected_past_grcm39_end(engine):
    from translocus.translate.assembly import check_mouse_interval

    # chr1 is 195.154 Mbp on GRCm39 and 195.472 Mbp on GRCm38
    check = check_mouse_interval(chr="1", start_bp=195.0e6, end_bp=195.3e6)
    assert check.likely == "GRCm38"
    assert "GRCm38 coordinates" in check.message
    with pytest.raises(InputError, match="runs past the end of chromosome 1"):
        check_mouse_interval(chr="1", start_bp=195.0e6, end_bp=196.0e6)


def test_grcm38_detected_from_expected_genes(engine):
    """An interval drawn tightly around genes' GRCm38 positions misses them on GRCm39."""
    from translocus.translate.assembly import check_mouse_interval
    from translocus.translate.genes import load_genes

    old = load_genes("mouse", "GRCm38").genes.set_index("symbol")
    genes = ["Apoe", "Tomm40", "Apoc1"]
    start = float(old.loc[genes, "start"].min())
    end = float(old.loc[genes, "end"].max())
    check = check_mouse_interval(chr="7", start_bp=start, end_bp=end, expected_genes=genes)
    assert check.likely == "GRCm38"
    assert check.evidence["expected_genes_inside"] == {"GRCm39": 0, "GRCm38": 3}
    same = check_mouse_interval(
        chr="7", start_bp=start, end_bp=end, assembly="GRCm38", expected_genes=genes
    )
    assert same.likely == "GRCm38" and same.message == ""
