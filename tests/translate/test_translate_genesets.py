"""Signature translation rules, gene-set files and the hypergeometric test with BH FDR."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.provenance import Provenance
from translocus.translate.genesets import (
    GeneSets,
    benjamini_hochberg,
    overrepresentation,
    read_gene_sets,
    translate_statistic,
)


def test_bh_closed_form():
    """q_(i) = min_{j >= i} p_(j) m / j, capped at 1, in the input order (m = 5)."""
    p = [0.04, 0.001, 0.03, 0.5, 0.012]
    # sorted: 0.001, 0.012, 0.03, 0.04, 0.5 -> scaled 0.005, 0.03, 0.05, 0.05, 0.5
    np.testing.assert_allclose(benjamini_hochberg(p), [0.05, 0.005, 0.05, 0.5, 0.03], rtol=1e-12)
    np.testing.assert_allclose(benjamini_hochberg(iter([0.9, 0.95])), [0.95, 0.95], rtol=1e-12)
    assert benjamini_hochberg([]).shape == (0,)


def test_hypergeometric_closed_form():
    """p = sum_{x>=k} C(K,x) C(M-K,N-x) / C(M,N) on a small universe."""
    universe = [f"G{i}" for i in range(30)]
    sets = GeneSets(
        {"s1": frozenset(universe[:10]), "s2": frozenset(universe[5:20])},
        {"s1": "first", "s2": "second"},
        Provenance(name="toy"),
    )
    query = universe[:4] + universe[25:27]  # 4 in s1, 0 in s2
    table = overrepresentation(query, sets, universe=universe, min_size=1).set_index("gene_set")
    M, K, N, k = 30, 10, 6, 4
    exact = sum(comb(K, x) * comb(M - K, N - x) for x in range(k, min(K, N) + 1)) / comb(M, N)
    assert table.loc["s1", "p"] == pytest.approx(exact, rel=1e-12)
    assert table.loc["s1", "overlap"] == 4
    assert table.loc["s1", "expected"] == pytest.approx(N * K / M)
    assert table.loc["s2", "p"] == pytest.approx(1.0)
    assert (table["fdr"] >= table["p"]).all()


def test_overrepresentation_errors():
    sets = GeneSets({"s": frozenset({"A", "B"})}, {"s": ""}, Provenance(name="toy"))
    with pytest.raises(InputError, match="no genes"):
        overrepresentation([], sets)
    with pytest.raises(InputError, match="translate mouse genes first"):
        overrepresentation(["App"], sets)


def test_read_gene_sets(tmp_path):
    gmt = tmp_path / "sets.gmt"
    gmt.write_text("alpha\tfirst set\tAPP\tAPOE\nbeta\tsecond\tCLU\n")
    sets = read_gene_sets(gmt)
    assert sets.sets["alpha"] == frozenset({"APP", "APOE"})
    assert sets.descriptions["beta"] == "second"
    long = tmp_path / "sets.csv"
    pd.DataFrame({"gene_set": ["a", "a", "b"], "gene": ["X", "Y", "Z"]}).to_csv(long, index=False)
    assert read_gene_sets(long).sets["a"] == frozenset({"X", "Y"})
    bad = tmp_path / "bad.gmt"
    bad.write_text("alpha only\n")
    with pytest.raises(InputError, match="line 1"):
        read_gene_sets(bad)
    with pytest.raises(InputError, match="gene_set and gene"):
        (tmp_path / "x.csv").write_text("a,b\n1,2\n")
        read_gene_sets(tmp_path / "x.csv")


def test_mgi_phenotype_sets(orthology):
    from translocus.translate.genesets import mgi_phenotype_gene_sets

    sets = mgi_phenotype_gene_sets()
    assert sets.descriptions["MP:0003631"] == "nervous system phenotype"
    assert "APP" in sets.sets["MP:0003631"]
    assert sets.provenance.license == "NOASSERTION"


def _expected(table: pd.DataFrame, values: pd.Series, one_to_many: str, many_to_one: str):
    """The stated rules, re-implemented with plain loops over the mapping table."""
    received: dict[str, list[tuple[str, float]]] = {}
    for query, rows in table[table["status"] == "ok"].groupby("query"):
        rows = rows.dropna(subset=["human_symbol"])
        if len(rows) > 1 and one_to_many == "drop":
            continue
        if len(rows) > 1 and one_to_many == "best":
            rows = rows[rows["is_best"]]
        for human in rows["human_symbol"]:
            received.setdefault(human, []).append((query, float(values[query])))
    out = {}
    for human, items in received.items():
        vals = [v for _, v in items]
        if len(items) > 1 and many_to_one == "drop":
            continue
        out[human] = max(vals, key=abs) if many_to_one == "max_abs" else float(np.mean(vals))
    return out


@pytest.mark.parametrize(
    ("one_to_many", "many_to_one"),
    [("best", "mean"), ("copy", "max_abs"), ("copy", "mean"), ("drop", "mean"), ("copy", "drop")],
)
def test_statistic_rules(orthology, one_to_many, many_to_one):
    """Cd33 has two human co-orthologs; Cd33, Siglech and Siglecf share CD33 and SIGLEC6."""
    values = pd.Series({"Apoe": 2.0, "Cd33": 1.0, "Siglech": -3.0, "Siglecf": 0.5, "Nosuch1": 5.0})
    table = orthology.mouse_to_human(list(values.index)).table
    got = translate_statistic(
        values, one_to_many=one_to_many, many_to_one=many_to_one, orthology=orthology
    )
    expected = _expected(table, values, one_to_many, many_to_one)
    assert got.values.to_dict() == pytest.approx(expected)
    assert got.values["APOE"] == 2.0  # one-to-one: passed through unchanged
    reason = got.mapping.set_index("query").loc["Nosuch1", "reason"]
    assert reason == "unknown gene"


def test_statistic_errors(orthology):
    with pytest.raises(InputError, match="one_to_many"):
        translate_statistic(pd.Series({"Apoe": 1.0}), one_to_many="all", orthology=orthology)
    with pytest.raises(InputError, match="not numbers"):
        translate_statistic(pd.Series({"Apoe": "x"}), orthology=orthology)
