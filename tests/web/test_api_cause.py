"""The Cause page's API against the run folders' own files (and translocus.genetics.eqtl.read_lod)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

COORDS = ("marker", "chr", "pos_cM", "pos_Mbp")


def _genome_y(answer: dict[str, Any]) -> np.ndarray:
    traces = [d for d in answer["figure"]["data"] if (d.get("meta") or {}).get("chr")]
    return np.array([v if v is not None else np.nan for d in traces for v in d["y"]], float)


def test_scan_profile_thresholds_peaks_and_effects(demo_run: Path, client_for: Any) -> None:
    client = client_for([demo_run])
    run = f"{demo_run.name}/cause_lmm"
    part = demo_run / "cause_lmm"
    lod = pd.read_parquet(part / "lod.parquet")
    lod["chr"] = lod["chr"].astype(str)
    answer = client.get("/api/cause/lod", params={"run": run, "trait": "trait1"}).json()
    np.testing.assert_allclose(_genome_y(answer), lod["trait1"], rtol=1e-12)
    thresholds = pd.read_csv(part / "thresholds.csv")
    assert [t["alpha"] for t in answer["thresholds"]] == list(thresholds["alpha"])
    np.testing.assert_allclose([t["lod"] for t in answer["thresholds"]], thresholds["trait1"])
    peaks = pd.read_csv(part / "peaks.csv", dtype={"chr": str})
    assert [(p["chr"], p["lod"]) for p in answer["peaks"]] == list(
        zip(peaks.chr, peaks.lod, strict=True)
    )
    chrom = str(peaks.chr.iloc[0])
    assert answer["peaks"][0]["human"].startswith(
        f"/human?run={run.replace('/', '%2F')}&chr={chrom}&"
    )

    one = client.get("/api/cause/lod", params={"run": run, "trait": "trait1", "chr": chrom}).json()
    (line,) = [d for d in one["figure"]["data"] if d["name"] == "LOD"]
    here = lod[lod.chr == chrom]
    np.testing.assert_allclose(line["x"], here["pos_Mbp"], rtol=1e-12)
    np.testing.assert_allclose(line["y"], here["trait1"], rtol=1e-12)

    effects = client.get("/api/cause/effects", params={"run": run, "trait": "trait1",
                                                        "chr": chrom}).json()  # fmt: skip
    assert effects["source"] == "precomputed"
    along = pd.read_parquet(part / "effects_along.parquet")
    for trace in effects["along"]["data"]:
        expect = along[along.coefficient == trace["name"]].sort_values("pos", kind="stable")
        np.testing.assert_allclose(trace["y"], expect["estimate"], rtol=1e-12)
        np.testing.assert_allclose(trace["customdata"], expect["se"], rtol=1e-12)
    at_peak = pd.read_csv(part / "peak_effects.csv")
    got = pd.DataFrame(effects["table"])
    np.testing.assert_allclose(got["estimate"], at_peak["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], at_peak["se"], rtol=1e-12)
    assert list(got["method"]) == list(at_peak["method"])

    blup = client.get("/api/cause/effects", params={"run": run, "trait": "trait1", "chr": chrom,
                                                     "method": "blup"}).json()  # fmt: skip
    assert "along" not in blup and "records none" in blup["message"]

    csv = client.get("/api/cause/peak_effects", params={"run": run, "format": "csv"})
    assert csv.headers["content-disposition"].endswith('_peak_effects.csv"')
    assert len(pd.read_csv(io.StringIO(csv.text))) == len(at_peak)


def test_errors_are_4xx(demo_run: Path, client_for: Any) -> None:
    client = client_for([demo_run])
    run = f"{demo_run.name}/cause_lmm"
    cases = [
        ({"run": run, "trait": "nope"}, 404, "no trait 'nope'"),
        ({"run": run, "trait": "trait1", "chr": "42"}, 404, "no chromosome '42'"),
        ({"run": "nowhere", "trait": "trait1"}, 404, "no run 'nowhere'"),
        ({"run": f"{demo_run.name}/study", "trait": "x"}, 400, "the Cause page shows scan"),
        ({"run": run}, 422, "trait"),
    ]
    for params, status, text in cases:
        response = client.get("/api/cause/lod", params=params)
        assert response.status_code == status, (params, response.text)
        assert text in response.text
    assert client.get("/api/cause/peaks", params={"run": run, "limit": 5001}).status_code == 422
    assert client.get("/api/cause/peaks", params={"run": run, "format": "xml"}).status_code == 422


def test_search_over_5806_traits(bxd_scan_run: Path, client_for: Any) -> None:
    import pyarrow.parquet as pq

    client = client_for([bxd_scan_run])
    run = bxd_scan_run.name
    names = [c for c in pq.read_schema(bxd_scan_run / "lod.parquet").names if c not in COORDS]
    summary = client.get("/api/cause/summary", params={"run": run}).json()
    assert summary["n_traits"] == len(names) == 5806 and summary["unit"] == "Mbp"
    for query in ("100", "99", "1234"):
        answer = client.get("/api/cause/traits", params={"run": run, "q": query,
                                                         "limit": 50}).json()  # fmt: skip
        prefix = [t for t in names if t.startswith(query)]
        inside = [t for t in names if query in t and not t.startswith(query)]
        assert [t["trait"] for t in answer["traits"]] == (prefix + inside)[:50]
        assert answer["total"] == len(prefix) + len(inside)
    record = json.loads((bxd_scan_run / "run.json").read_text())
    best = pd.Series(record["summary"]["max_lod"], dtype=float).sort_values(ascending=False)
    top = client.get("/api/cause/traits", params={"run": run, "limit": 5}).json()["traits"]
    np.testing.assert_allclose([t["max_lod"] for t in top], best.head(5))


def test_eqtl_profiles_peaks_and_maps(eqtl_run: Path, client_for: Any) -> None:
    from translocus.genetics.eqtl import read_lod

    client = client_for([eqtl_run])
    run = eqtl_run.name
    peaks = pd.read_parquet(eqtl_run / "peaks.parquet")
    best = peaks.sort_values("lod", ascending=False).iloc[0]
    trait, chrom = str(best["trait"]), str(best["chr"])
    summary = client.get("/api/cause/summary", params={"run": run}).json()
    assert summary["kind"] == "eqtl" and summary["has_profiles"] and summary["unit"] == "Mbp"

    expect = read_lod(eqtl_run / "lod.zarr", trait)
    answer = client.get("/api/cause/lod", params={"run": run, "trait": trait}).json()
    traces = [d for d in answer["figure"]["data"] if (d.get("meta") or {}).get("chr")]
    assert [m for d in traces for m in d["text"]] == list(expect.index)
    np.testing.assert_allclose(_genome_y(answer), expect.to_numpy(), rtol=1e-12)
    # positions: the cross's physical map
    sim = eqtl_run.parent / f"{eqtl_run.name}_sim"
    pmap = pd.read_csv(sim / "sim_pmap.csv", dtype={"chr": str}).set_index("marker")
    one = client.get("/api/cause/lod", params={"run": run, "trait": trait, "chr": chrom}).json()
    (line,) = [d for d in one["figure"]["data"] if d["name"] == "LOD"]
    np.testing.assert_allclose(line["x"], pmap.loc[line["text"], "pos"], rtol=1e-12)
    assert answer["thresholds"] == [{"label": "LOD 5 (--threshold)", "alpha": None, "lod": 5.0}]

    table = client.get("/api/cause/peaks", params={"run": run, "trait": trait}).json()
    mine = peaks[peaks.trait == trait].sort_values("lod", ascending=False)
    got = pd.DataFrame(table["rows"], columns=table["columns"])
    np.testing.assert_allclose(got["lod"], mine["lod"], rtol=1e-12)
    assert list(got["class"]) == list(mine["class"])

    effects = client.get("/api/cause/effects", params={"run": run, "trait": trait,
                                                        "chr": chrom}).json()  # fmt: skip
    rows = pd.DataFrame(effects["table"])
    top = mine[mine.chr.astype(str) == chrom].iloc[0]
    np.testing.assert_allclose(rows["estimate"], [top[f"coef_{f}"] for f in "ABCDEFGH"])
    np.testing.assert_allclose(rows["se"], [top[f"se_{f}"] for f in "ABCDEFGH"])

    cistrans = client.get("/api/cause/cistrans", params={"run": run}).json()
    annotated = peaks.dropna(subset=["gene_chr", "gene_start"])
    assert sum(len(d["x"]) for d in cistrans["data"]) == len(annotated)
    assert {d["name"] for d in cistrans["data"]} == set(annotated["class"].astype(str))
    spots = client.get("/api/cause/hotspots", params={"run": run, "format": "csv"})
    assert spots.status_code == 200
    assert len(pd.read_csv(io.StringIO(spots.text))) == len(pd.read_csv(eqtl_run / "hotspots.csv"))
    symbol = str(mine["symbol"].iloc[0])
    found = client.get("/api/cause/traits", params={"run": run, "q": symbol.lower()}).json()
    assert trait in [t["trait"] for t in found["traits"]]


def _fake_run(folder: Path, command: str, options: dict[str, Any],
              summary: dict[str, Any]) -> Path:  # fmt: skip
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({
        "translocus_run": 1, "command": command, "status": "complete", "options": options,
        "summary": summary, "files": {}}))  # fmt: skip
    return folder


def test_snps_and_mediation_runs_of_a_scan(demo_run: Path, tmp_path: Path,
                                           client_for: Any) -> None:  # fmt: skip
    """Runs made from a scan's folder are found by it and read (files written here)."""
    scan = demo_run / "cause_lmm"
    snps = _fake_run(tmp_path / "runs" / "snps_t1", "snps", {"run": str(scan)},
                     {"trait": "trait1", "chr": "18", "start": 29.4, "end": 37.5})  # fmt: skip
    assoc = pd.DataFrame({"snp": ["rs1", "rs2", "rs3"], "pos": [30.1, 31.2, 35.0],
                          "lod": [2.5, 7.25, np.nan]})  # fmt: skip
    assoc.to_parquet(snps / "snp_assoc.parquet")
    assoc.iloc[[1]].to_csv(snps / "top_snps.csv", index=False)
    mediate = _fake_run(tmp_path / "runs" / "mediate_t1", "mediate", {"hotspot": str(scan)}, {})
    pd.DataFrame({"mediator": ["g1", "g2"], "lod_drop": [3.5, 0.25]}).to_csv(
        mediate / "mediation.csv", index=False)  # fmt: skip
    client = client_for([demo_run, tmp_path / "runs"])
    summary = client.get("/api/cause/summary", params={"run": f"{demo_run.name}/cause_lmm"}).json()
    assert summary["snps_runs"] == [{"id": "snps_t1", "trait": "trait1", "chr": "18",
                                     "start": 29.4, "end": 37.5}]  # fmt: skip
    assert summary["mediate_runs"] == ["mediate_t1"]
    figure = client.get("/api/cause/snps", params={"run": "snps_t1"}).json()["figure"]
    assert figure["data"][0]["x"] == [30.1, 31.2, 35.0]
    assert figure["data"][0]["y"] == [2.5, 7.25, None]
    top = client.get("/api/cause/top_snps", params={"run": "snps_t1"}).json()
    assert top["rows"] == [["rs2", 31.2, 7.25]]
    table = client.get("/api/cause/mediation", params={"run": "mediate_t1"}).json()
    assert table["rows"] == [["g1", 3.5], ["g2", 0.25]]
    wrong = client.get("/api/cause/mediation", params={"run": "snps_t1"})
    assert wrong.status_code == 400


@pytest.mark.parametrize("name", ["peaks.csv", "lod.parquet"])
def test_a_file_linked_out_of_the_run_is_refused(tmp_path: Path, demo_run: Path, name: str,
                                                 client_for: Any) -> None:  # fmt: skip
    import shutil

    run = tmp_path / "scan_copy"
    shutil.copytree(demo_run / "cause_hk", run)
    (run / "run.json").write_text(json.dumps({"translocus_run": 1, "command": "scan",
                                              "status": "complete", "files": {}}))  # fmt: skip
    outside = tmp_path / f"outside_{name}"
    (run / name).rename(outside)
    (run / name).symlink_to(outside)
    client = client_for([run])
    endpoint = "/api/cause/peaks" if name == "peaks.csv" else "/api/cause/summary"
    response = client.get(endpoint, params={"run": "scan_copy"})
    assert response.status_code == 400 and "leaves the run's folder" in response.text


def test_effects_computed_on_request_equal_the_scans(bxd_scan_run: Path, client_for: Any) -> None:
    """A peak among the 50 with effects but past the 20 with effects along the chromosome."""
    client = client_for([bxd_scan_run])
    run = bxd_scan_run.name
    at_peak = pd.read_csv(bxd_scan_run / "peak_effects.csv", dtype={"lodcolumn": str, "chr": str})
    along = pd.read_parquet(bxd_scan_run / "effects_along.parquet")
    with_along = set(zip(along.lodcolumn.astype(str), along.chr.astype(str), strict=True))
    candidates = at_peak[[(t, c) not in with_along
                          for t, c in zip(at_peak.lodcolumn, at_peak.chr, strict=True)]]  # fmt: skip
    trait, chrom = str(candidates.lodcolumn.iloc[0]), str(candidates.chr.iloc[0])
    answer = client.get("/api/cause/effects", params={"run": run, "trait": trait,
                                                       "chr": chrom}).json()  # fmt: skip
    assert answer["source"] == "computed", answer.get("message")
    kept = at_peak[(at_peak.lodcolumn == trait) & (at_peak.chr == chrom)]
    assert answer["marker"] == kept.marker.iloc[0]
    got = pd.DataFrame(answer["table"])
    pair = kept.merge(got, on=["method", "coefficient"], suffixes=("_kept", ""))
    assert len(pair) == len(kept)
    np.testing.assert_allclose(pair["estimate"], pair["estimate_kept"], rtol=1e-10)
    np.testing.assert_allclose(pair["se"], pair["se_kept"], rtol=1e-10)
    names = {d["name"] for d in answer["along"]["data"]}
    assert names == {"B", "D"}


def test_eqtl_run_without_kept_lods_says_so(eqtl_run: Path, tmp_path: Path,
                                            client_for: Any) -> None:  # fmt: skip
    import shutil

    copy = tmp_path / "no_lods"
    shutil.copytree(eqtl_run, copy, ignore=shutil.ignore_patterns("lod.zarr"))
    client = client_for([copy])
    summary = client.get("/api/cause/summary", params={"run": "no_lods"}).json()
    assert summary["has_profiles"] is False and "n_markers" not in summary
    trait = summary["top_traits"][0]["trait"]
    lod = client.get("/api/cause/lod", params={"run": "no_lods", "trait": trait})
    assert lod.status_code == 404 and "--keep-lod" in lod.json()["detail"]
    peaks = client.get("/api/cause/peaks", params={"run": "no_lods", "trait": trait})
    assert peaks.status_code == 200
