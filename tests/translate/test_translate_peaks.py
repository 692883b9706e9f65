"""Cause-engine peaks → human candidates, with founder-allele effect patterns."""

from __future__ import annotations

import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.translate.peaks import founder_pattern, read_peaks, translate_peaks

FOUNDERS = list("ABCDEFGH")


def _peaks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lodindex": [1, 2],
            "lodcolumn": ["plaques", "weight"],
            "chr": ["7", "1"],
            "pos": [19.4, 32.0],
            "lod": [9.1, 6.3],
            "ci_lo": [18.9, 30.0],
            "ci_hi": [19.9, 35.0],
        }
    )


def test_founder_pattern():
    effects = pd.Series(dict(zip(FOUNDERS, [0, 0, 0, 0, 2.0, 0, 0, -2.0], strict=True)))
    assert founder_pattern(effects) == "high: NZO; low: WSB"
    assert founder_pattern(pd.Series(dict.fromkeys(FOUNDERS, 1.0))) == (
        "no difference between founders"
    )


def test_translate_peaks_with_effects(engine, tmp_path):
    wide = pd.DataFrame(
        [[1, 0, 0, 0, 0, 0, 3.0, 0, 0], [2, 0, 0, 0, 0, 0, 0, -3.0, 0]],
        columns=["lodindex", *FOUNDERS],
    )
    _peaks().to_csv(tmp_path / "peaks.csv", index=False)
    wide.to_csv(tmp_path / "effects.csv", index=False)
    peaks, effects, _ = read_peaks(tmp_path)
    result = translate_peaks(peaks, effects=effects, engine=engine)
    first = result.peaks.iloc[0]
    assert first["top_candidate"].startswith("APOE")
    assert first["founder_pattern"] == "high: CAST"
    assert result.peaks.iloc[1]["n_near_locus"] == 0
    assert result.peaks.iloc[1]["founder_pattern"] == "low: PWK"
    hits = result.hits
    assert set(hits["lodcolumn"]) == {"plaques"}
    assert (hits["founder_pattern"] == "high: CAST").all()

    long = wide.melt(id_vars="lodindex", var_name="founder", value_name="effect")
    again = translate_peaks(peaks, effects=long, engine=engine)
    assert again.peaks["founder_pattern"].tolist() == result.peaks["founder_pattern"].tolist()


def test_peaks_in_bp_and_without_support_interval(engine):
    peaks = pd.DataFrame({"chr": ["7"], "pos": [19_431_000.0]})
    result = translate_peaks(peaks, engine=engine)
    assert any("bp" in m for m in result.messages)
    assert any("no support interval" in m for m in result.messages)
    assert result.peaks.iloc[0]["top_candidate"].startswith("APOE")


def test_peak_errors(tmp_path, engine):
    with pytest.raises(InputError, match="no peaks.parquet or peaks.csv"):
        read_peaks(tmp_path)
    (tmp_path / "peaks.csv").write_text("lodcolumn,lod\nx,3\n")
    with pytest.raises(InputError, match="chr, pos"):
        read_peaks(tmp_path)
    with pytest.raises(InputError, match="empty"):
        translate_peaks(_peaks().iloc[:0], engine=engine)
    with pytest.raises(InputError, match="does not exist"):
        read_peaks(tmp_path / "missing")


def test_rqtl2_do_recla_peaks_on_grcm38(orthology):
    """R/qtl2 find_peaks output for DO_Recla (physical map = GRCm38) with the GRCm38 engine.

    Reference: /work/shared/ref/qtl2/DO_Recla/peaks.csv, from R/qtl2
    ``find_peaks(scan1(pr, pheno), pmap, threshold=..., drop=1.5)``; gene counts are
    checked against a direct filter of the Ensembl 90 (GRCm38) gene table.
    """
    from translocus.core.paths import reference_dir
    from translocus.translate.interval import TranslationEngine

    path = reference_dir() / "qtl2" / "DO_Recla" / "peaks.csv"
    if not path.is_file():
        pytest.skip(f"R/qtl2 reference missing: {path}")
    peaks = pd.read_csv(path, dtype={"chr": str})
    peaks = peaks[(peaks["scan"] == "hk") & (peaks["lodcolumn"] == "OF_immobile_pct")]
    engine = TranslationEngine(orthology=orthology, mouse_assembly="GRCm38")
    result = translate_peaks(peaks, engine=engine)
    assert any("genetic map (cM) left out" in m for m in result.messages)
    genes = engine.mouse_genes.genes
    for row in result.peaks.itertuples():
        inside = (
            (genes["chr"] == str(row.chr))
            & (genes["start"] <= row.end_mbp * 1e6)
            & (genes["end"] >= row.start_mbp * 1e6)
        )
        assert row.n_genes == int(inside.sum())
    assert result.peaks["map"].str.startswith("pmap_Mbp").all()


def test_peak_past_grcm39_end_suggests_grcm38(engine):
    """DO_Recla's chr X peak support interval ends at 169.98 Mbp: past GRCm39 X (169.48)."""
    peaks = pd.DataFrame({"chr": ["X"], "pos": [86.18], "ci_lo": [53.07], "ci_hi": [169.98]})
    result = translate_peaks(peaks, engine=engine)
    assert any("are these GRCm38 coordinates" in m for m in result.messages)
    assert result.peaks.iloc[0]["end_mbp"] == pytest.approx(169.476592)


def test_peaks_assembly_from_run_json_or_summary_json(tmp_path):
    """The build comes from the scan run folder's run.json (or an older summary.json);
    unknown (null, absent, unrecognised) is None, never a guess."""
    import json

    from translocus.translate.peaks import peaks_assembly

    def run(summary):
        record = {"translocus_run": 1, "status": "complete", "command": "scan",
                  "summary": summary, "files": {}}  # fmt: skip
        (tmp_path / "run.json").write_text(json.dumps(record))

    run({"assembly": "GRCm38"})
    assert peaks_assembly(tmp_path) == "GRCm38"
    assert peaks_assembly(tmp_path / "peaks.csv") == "GRCm38"  # the file's folder
    run({"assembly": "mm39"})
    assert peaks_assembly(tmp_path) == "GRCm39"
    for summary in ({"assembly": None}, {}, {"assembly": "hg19"}):
        run(summary)
        assert peaks_assembly(tmp_path) is None
    (tmp_path / "run.json").unlink()
    assert peaks_assembly(tmp_path) is None
    (tmp_path / "summary.json").write_text(json.dumps({"assembly": "GRCm39"}))
    assert peaks_assembly(tmp_path) == "GRCm39"


def test_read_peaks_refuses_other_runs_and_unreadable_files(tmp_path):
    import json

    _peaks().to_csv(tmp_path / "peaks.csv", index=False)
    record = {"translocus_run": 1, "status": "complete", "command": "respond", "files": {}}
    (tmp_path / "run.json").write_text(json.dumps(record))
    with pytest.raises(InputError, match="run folder of `translocus respond`"):
        read_peaks(tmp_path)
    (tmp_path / "run.json").unlink()
    (tmp_path / "peaks.csv").write_bytes(b"\x00\x01PK\x03\x04binary")
    with pytest.raises(InputError, match="binary file"):
        read_peaks(tmp_path)
    (tmp_path / "peaks.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_peaks(tmp_path)


def test_scan_peak_effects_give_founder_patterns(engine, tmp_path):
    """``scan``'s long peak_effects.csv (coefficients A-H plus the intercept)."""
    _peaks().to_csv(tmp_path / "peaks.csv", index=False)
    rows = [
        {"lodindex": 1, "lodcolumn": "plaques", "chr": "7", "coefficient": c,
         "estimate": {"E": 2.0, "H": -2.0}.get(c, 0.0), "se": 0.1}
        for c in [*FOUNDERS, "intercept"]
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "peak_effects.csv", index=False)
    peaks, effects, _ = read_peaks(tmp_path)
    result = translate_peaks(peaks, effects=effects, engine=engine)
    assert result.peaks["founder_pattern"].tolist() == ["high: NZO; low: WSB", ""]
