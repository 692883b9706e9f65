"""Orthology: the acceptance gene list, full one-to-one coverage, name resolution."""

from __future__ import annotations

import csv

import pytest

from translocus.core.errors import InputError
from translocus.core.paths import data_dir

AD_MOUSE = ["App", "Apoe", "Trem2", "Bin1", "Picalm", "Clu", "Abca7", "Sorl1", "Cd33"]
AD_HUMAN = ["APP", "APOE", "TREM2", "BIN1", "PICALM", "CLU", "ABCA7", "SORL1", "CD33"]


def _raw_one2one() -> set[str]:
    """Mouse genes with an ortholog_one2one row in the BioMart CSV, read with csv."""
    path = data_dir() / "orthology" / "biomart_mouse_to_human.csv"
    with path.open() as handle:
        reader = csv.reader(handle)
        next(reader)
        return {row[0] for row in reader if row[4] == "ortholog_one2one"}


def test_ad_genes_map_to_human(orthology):
    result = orthology.mouse_to_human(AD_MOUSE)
    best = result.best().set_index("query")
    assert best.loc[AD_MOUSE, "human_symbol"].tolist() == AD_HUMAN
    types = best["homology_type"].to_dict()
    assert all(types[g] == "one2one" for g in AD_MOUSE[:-1])
    assert types["Cd33"] == "many2many"
    cd33 = result.table[result.table["query"] == "Cd33"]
    assert set(cd33["human_symbol"]) == {"CD33", "SIGLEC6"}
    assert any("Cd33" in m and "not one-to-one" in m for m in result.messages())
    assert "9 have a human ortholog, 8 one-to-one" in result.summary()


def test_every_one2one_ortholog_is_found(orthology):
    """All mouse one-to-one genes of the Ensembl table translate one-to-one (by ID and name)."""
    expected = _raw_one2one()
    assert 16_000 <= len(expected) <= 17_500
    by_id = orthology.mouse_to_human(sorted(expected)).best()
    found = set(by_id.loc[by_id["homology_type"] == "one2one", "mouse_gene_id"])
    assert found == expected
    symbols = orthology.one2one()["mouse_symbol"].unique().tolist()
    by_name = orthology.mouse_to_human(symbols).table
    assert (by_name["status"] != "unknown").all()
    assert by_name.loc[by_name["homology_type"] == "one2one", "query"].nunique() == len(symbols)


def test_resolution_by_id_entrez_synonym_and_case(orthology):
    queries = ["ENSMUSG00000002985.7", "11816", "Olfr762-ps1", "apoe", "APP"]
    table = orthology.mouse.resolve(queries).set_index("query")
    assert table.loc["ENSMUSG00000002985.7", "symbol"] == "Apoe"
    assert table.loc["ENSMUSG00000002985.7", "resolved_by"] == "ensembl_id"
    assert table.loc["11816", "symbol"] == "Apoe"  # Entrez 11816 = Apoe (gene table)
    assert table.loc["11816", "resolved_by"] == "entrez"
    # Ensembl 90 name of ENSMUSG... renamed Or2au1-ps1 in Ensembl 109
    assert table.loc["Olfr762-ps1", "resolved_by"] == "previous_symbol"
    assert table.loc["Olfr762-ps1", "symbol"] == "Or2au1-ps1"
    assert table.loc["apoe", "resolved_by"] == "case_insensitive"
    assert table.loc["APP", "symbol"] == "App"


def test_unknown_gene_suggests_close_matches(orthology):
    result = orthology.mouse_to_human(["Trem22", "Zzzzzzq"])
    notes = dict(zip(result.table["query"], result.table["note"], strict=True))
    assert "did you mean" in notes["Trem22"] and "Trem2" in notes["Trem22"]
    assert notes["Zzzzzzq"].startswith("not a known mouse gene")
    assert set(result.table["status"]) == {"unknown"}


def test_ambiguous_symbol_lists_every_gene(orthology):
    names = orthology.mouse.names
    current = names[names["level"] == 1]
    counts = current.groupby("key")["gene_id"].nunique()
    symbol = counts[counts > 1].index[0]
    table = orthology.mouse.resolve([symbol])
    assert (table["status"] == "ambiguous").all()
    assert set(table["gene_id"]) == set(current.loc[current["key"] == symbol, "gene_id"])


def test_human_to_mouse(orthology):
    best = orthology.human_to_mouse(["APOE", "CD33"]).best().set_index("query")
    assert best.loc["APOE", "mouse_symbol"] == "Apoe"
    assert best.loc["CD33", "homology_type"] == "many2many"


def test_hcop_fills_ensembl_gaps(orthology):
    """Mouse Abcg2 has no Ensembl ortholog in this export; HCOP (10 resources) supplies ABCG2."""
    best = orthology.mouse_to_human(["Abcg2"]).best().iloc[0]
    assert best["human_symbol"] == "ABCG2"
    assert best["ortholog_source"] == "HCOP"
    assert best["hcop_n_sources"] >= 3


def test_provenance_recorded(orthology):
    names = {p.name: p for p in orthology.provenance}
    assert names["ensembl_biomart_mouse_human_orthologs"].license == "MIT"
    assert "release" in names["ensembl_biomart_mouse_human_orthologs"].source
    assert "hgnc_hcop_mouse_human" in names


def test_empty_gene_list(orthology):
    with pytest.raises(InputError, match="no gene names"):
        orthology.mouse_to_human([])
