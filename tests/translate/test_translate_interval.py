"""Interval → human candidates: the Apoe acceptance case, empty results, brute-force check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.translate.interval import parse_interval


def test_apoe_interval_top_candidate(engine):
    result = engine.interval(chr="7", start_mbp=18.9, end_mbp=19.9)
    top = result.hits.iloc[0]
    assert top["human_symbol"] == "APOE"
    assert top["locus_name"] == "APOE"
    assert top["homology_type"] == "one2one"
    assert top["human_chr"] == "19"
    assert top["distance_kb"] == 0.0
    # independent distance: APOE body (GRCh38 table) contains rs429358 at 44,908,684 (dbSNP)
    human = engine.human_genes.genes.set_index("symbol").loc["APOE"]
    assert human["start"] <= 44_908_684 <= human["end"]
    assert "APOE (0 kb from APOE)" in result.summary()
    assert result.n_one2one <= result.n_with_ortholog <= result.n_genes


def test_interval_without_ad_locus_returns_none(engine):
    result = engine.interval(chr="1", start_mbp=30.0, end_mbp=35.0)
    assert result.hits.empty
    assert not result.candidates.empty
    assert any("lies within 500 kb" in m for m in result.messages)


def test_candidates_match_brute_force(engine):
    """Property: the engine's pairs equal a direct join of gene table, orthology and window."""
    genes = engine.mouse_genes.genes
    pairs = engine.orthology.pairs
    rng = np.random.default_rng(3)
    for _ in range(8):
        chr_ = str(rng.choice(["2", "7", "11", "17"]))
        start = float(rng.uniform(5, 90))
        end = start + 5.0
        result = engine.interval(chr=chr_, start_mbp=start, end_mbp=end)
        inside = genes[
            (genes["chr"] == chr_) & (genes["start"] <= end * 1e6) & (genes["end"] >= start * 1e6)
        ]
        joined = inside.merge(pairs, left_on="gene_id", right_on="mouse_gene_id")
        expected = set(zip(joined["gene_id"], joined["human_gene_id"], strict=True))
        got = set(
            zip(result.candidates["mouse_gene_id"], result.candidates["human_gene_id"], strict=True)
        )
        assert got == expected
        assert result.n_genes == len(inside)
        near = result.candidates["near_locus"].to_numpy()
        assert not (near[1:] & ~near[:-1]).any()  # hits are ranked first


def test_batch_equals_single(engine):
    queries = pd.DataFrame({"chr": ["7", "19"], "start_mbp": [18.9, 10.0], "end_mbp": [19.9, 15.0]})
    batch = engine.intervals(queries)
    for i, row in queries.iterrows():
        single = engine.interval(chr=row["chr"], start_mbp=row["start_mbp"], end_mbp=row["end_mbp"])
        part = batch[batch["query"] == i].drop(columns="query").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single.candidates, check_dtype=False)


def test_parse_interval():
    assert parse_interval("2:160.5-164.2") == ("2", 160.5, 164.2, "")
    assert parse_interval("chrX:1..2")[:3] == ("X", 1.0, 2.0)
    chr_, start, end, note = parse_interval("7:18,900,000-19,900,000")
    assert (chr_, start, end) == ("7", 18.9, 19.9) and "bp" in note
    assert parse_interval("7:500-700kb")[1:3] == (0.5, 0.7)
    with pytest.raises(InputError, match="CHR:START-END"):
        parse_interval("seven:1-2")
    with pytest.raises(InputError, match="starts after it ends"):
        parse_interval("7:20-19")


def test_bad_intervals(engine):
    with pytest.raises(InputError, match="runs past the end"):
        engine.interval(chr="7", start_mbp=140.0, end_mbp=150.0)
    with pytest.raises(InputError, match="GRCm38 coordinates"):
        engine.interval(chr="1", start_mbp=195.0, end_mbp=195.3)
    with pytest.raises(InputError, match="not a mouse chromosome"):
        engine.interval(chr="21", start_mbp=1.0, end_mbp=2.0)


def test_empty_interval_message(engine):
    result = engine.interval(chr="7", start_mbp=144.99, end_mbp=144.995)
    assert result.n_genes == 0
    assert any("no GRCm39 gene overlaps" in m for m in result.messages)
