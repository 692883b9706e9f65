"""Gene coordinate tables: chromosome names, interval and nearest-gene queries."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from translocus.core.errors import InputError
from translocus.core.paths import data_dir
from translocus.translate._chromosomes import CHROMOSOME_LENGTHS, chromosome_length, normalize_chr
from translocus.translate.genes import GENE_TABLES, load_genes


def test_normalize_chr():
    assert normalize_chr("chr7") == "7"
    assert normalize_chr(7) == "7"
    assert normalize_chr("chrX") == "X"
    assert normalize_chr("M") == "MT"
    assert normalize_chr("07") == "7"


def test_chromosome_length_errors():
    assert chromosome_length("GRCm39", "chr2") == 181_755_017
    with pytest.raises(InputError, match="not a chromosome of GRCm39"):
        chromosome_length("GRCm39", "22")
    with pytest.raises(InputError, match="assembly"):
        chromosome_length("mm9", "1")


@pytest.mark.parametrize("key", list(GENE_TABLES))
def test_every_gene_fits_its_chromosome(key):
    """Property: no gene ends past its chromosome's assembly length (checks the constants)."""
    species, assembly = key
    if not (data_dir() / "genes" / GENE_TABLES[key][0]).is_file():
        pytest.skip("gene tables missing")
    table = load_genes(species, assembly)
    lengths = table.genes["chr"].map(CHROMOSOME_LENGTHS[assembly])
    assert (table.genes["end"] <= lengths).all()
    assert table.provenance.license == "GPL-3.0-only"
    assert assembly in table.provenance.description


def test_apoe_coordinates_match_raw_csv(mouse_genes):
    """The parsed table keeps the CSV's coordinates (read independently with csv)."""
    path = data_dir() / "genes" / "mouse_genes_grcm39_ensembl109.csv"
    with path.open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["symbol"] == "Apoe")
    apoe = mouse_genes.genes.set_index("symbol").loc["Apoe"]
    assert (apoe["chr"], apoe["start"], apoe["end"]) == (
        row["chr"],
        int(row["start"]),
        int(row["end"]),
    )


def test_interval_matches_brute_force(mouse_genes):
    """Property: the indexed query equals a full scan of the table (seeded intervals)."""
    rng = np.random.default_rng(7)
    genes = mouse_genes.genes
    for _ in range(25):
        chr_ = str(rng.choice(["1", "2", "7", "11", "X"]))
        start = float(rng.uniform(0, 100e6))
        end = start + float(rng.uniform(0, 5e6))
        got = mouse_genes.in_interval(chr=chr_, start_bp=start, end_bp=end)["gene_id"]
        mask = (genes["chr"] == chr_) & (genes["start"] <= end) & (genes["end"] >= start)
        assert sorted(got) == sorted(genes.loc[mask, "gene_id"])


def test_nearest(mouse_genes):
    apoe = mouse_genes.genes.set_index("symbol").loc["Apoe"]
    near = mouse_genes.nearest(chr="7", pos_bp=float(apoe["start"] + 10), n=3)
    assert near["symbol"].iloc[0] == "Apoe"
    assert near["distance_bp"].iloc[0] == 0
    assert near["distance_bp"].is_monotonic_increasing


def test_interval_errors(mouse_genes):
    with pytest.raises(InputError, match="runs past the end of chromosome 7"):
        mouse_genes.in_interval(chr="7", start_bp=140e6, end_bp=150e6)
    with pytest.raises(InputError, match="starts after it ends"):
        mouse_genes.in_interval(chr="7", start_bp=20e6, end_bp=19e6)
    with pytest.raises(InputError, match="not a chromosome"):
        mouse_genes.in_interval(chr="25", start_bp=1, end_bp=2)
    with pytest.raises(InputError, match="outside chromosome"):
        mouse_genes.nearest(chr="19", pos_bp=70e6)
