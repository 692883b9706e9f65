"""The "Human relevance" report section and the parquet table cache."""

from __future__ import annotations

import pandas as pd

from translocus.translate._tables import read_cached


def test_build_section(engine, tmp_path):
    """The section renders the translate pipeline's outputs (genes, interval, scan peaks)."""
    from translocus.pipelines.translate import TranslateRequest, run_translate
    from translocus.report.sections.translation import build_section

    scan = tmp_path / "scan"
    scan.mkdir()
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
    ).to_csv(scan / "peaks.csv", index=False)
    part = {
        "genes": run_translate(TranslateRequest(genes="App,Apoe,Trem2", gene_sets="mgi")),
        "interval": run_translate(TranslateRequest(interval="7:18.9-19.9")),
        "peaks": run_translate(TranslateRequest(peaks=scan, assembly="GRCm39")),
        "loci": engine.loci.loci,
    }
    section = build_section(part)
    assert section.title == "Human relevance"
    assert "APOE (0 kb from APOE)" in section.body
    assert "<img" in section.body
    assert "QTL peaks" in section.body and "GRCm39" in section.body
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
