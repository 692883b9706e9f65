"""The "Human relevance" report section and the parquet table cache."""

from __future__ import annotations

import pandas as pd

from translocus.translate._tables import read_cached


def test_build_section(engine, tmp_path):
    from translocus.report.sections.translation import build_section

    (tmp_path / "scan").mkdir()
    pd.DataFrame(
        {
            "lodindex": [1],
            "lodcolumn": ["t"],
            "chr": ["7"],
            "pos": [19.4],
            "lod": [8.0],
            "ci_lo": [18.9],
            "ci_hi": [19.9],
        }  # fmt: skip
    ).to_csv(tmp_path / "scan" / "peaks.csv", index=False)
    section = build_section(tmp_path, quick=True)
    assert section.title == "Human relevance"
    assert "APOE (0 kb from APOE)" in section.body
    assert "<img" in section.body
    assert "QTL peaks" in section.body
    assert "NOASSERTION" in section.body  # GWAS licence shown with its source


def test_read_cached_keys_by_content(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSLOCUS_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "t.csv"
    source.write_text("a,b\n1,2\n")
    calls = []

    def parse(path):
        calls.append(path)
        return pd.read_csv(path)

    first = read_cached(source, parse, parser_version="v1")
    second = read_cached(source, parse, parser_version="v1")
    assert len(calls) == 1  # the second read came from the parquet copy
    pd.testing.assert_frame_equal(first, second)
    assert len(list((tmp_path / "cache").glob("t.csv.v1.*.parquet"))) == 1
    source.write_text("a,b\n3,4\n5,6\n")
    third = read_cached(source, parse, parser_version="v1")
    assert len(calls) == 2 and len(third) == 2
    assert not list((tmp_path / "cache").glob(".*tmp"))  # no half-written files left
