"""The Cause page in a real browser (Debian's chromium through Playwright).

Over the demo's LMM scan and a 5,806-trait BXD scan: search a trait, read what is drawn
(the plot's trace data, from the page), download the figure as SVG and PNG, zoom to a
chromosome, open a peak's allele effects, follow the human-candidates link and download a
table — each compared with the run's files.
The page runs under the viewer's content security policy; any script error or policy
violation fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest

from browser import launch, open_pages, plot_data, wait_js


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    yield from launch(chromium)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[str], Any]]:
    """A page that records console errors and policy violations (asserted empty at the end)."""
    yield from open_pages(browser)


def _search(page: Any, text: str) -> list[str]:
    page.fill("#trait-search", text)
    wait_js(page, f"() => document.getElementById('trait-suggestions').dataset.query === {text!r}")
    return page.eval_on_selector_all(
        "#trait-suggestions li", "els => els.map(e => e.dataset.trait)"
    )  # type: ignore[no-any-return]


def _lod_traces(page: Any) -> list[dict[str, Any]]:
    return [d for d in plot_data(page, "lod-plot") if d["meta"] and d["meta"].get("chr")]


def test_cause_page_over_the_demo(demo_run: Path, live_server: Any, open_page: Any,
                                  tmp_path: Path) -> None:  # fmt: skip
    part = demo_run / "cause_lmm"
    lod = pd.read_parquet(part / "lod.parquet")
    lod["chr"] = lod["chr"].astype(str)
    peaks = pd.read_csv(part / "peaks.csv", dtype={"chr": str})
    best = peaks.sort_values("lod", ascending=False).iloc[0]
    chrom, trait = str(best["chr"]), str(best["lodcolumn"])
    run_id = f"{demo_run.name}/cause_lmm"
    with live_server([demo_run]) as base:
        page = open_page(f"{base}/cause?run={run_id}")
        wait_js(page, "() => document.getElementById('run-summary').textContent.length > 0")
        assert trait in _search(page, trait[:3])
        page.keyboard.press("Enter")
        wait_js(page, "() => (document.getElementById('lod-plot').data || []).length > 1")
        traces = _lod_traces(page)
        assert [t["meta"]["chr"] for t in traces] == list(dict.fromkeys(lod["chr"]))
        drawn = np.concatenate([t["y"] for t in traces])
        np.testing.assert_allclose(drawn, lod[trait].to_numpy(), rtol=1e-12)
        (peak_trace,) = [d for d in plot_data(page, "lod-plot") if d["name"] == "peaks"]
        np.testing.assert_allclose(peak_trace["y"], peaks.loc[peaks.lodcolumn == trait, "lod"])

        # the figure downloads as SVG and PNG (plotly's own export, under the page's policy)
        page.hover("#lod-plot")
        titles = page.eval_on_selector_all(
            "#lod-plot .modebar-btn", "els => els.map(e => e.dataset.title)"
        )
        assert not [t for t in titles if "Share" in t or "Chart Studio" in t], titles
        for title, head in (
            ("Download plot as SVG", b"<svg"),
            ("Download plot as a PNG", b"\x89PNG"),
        ):
            with page.expect_download() as download:
                page.click(f"#lod-plot .modebar-btn[data-title='{title}']")
            assert download.value.suggested_filename.startswith(f"{trait}_lod.")
            assert Path(download.value.path()).read_bytes().startswith(head)

        # zoom: a click on the peak's chromosome in the genome-wide plot
        k = [t["meta"]["chr"] for t in traces].index(chrom)
        page.evaluate(f"""() => {{ const el = document.getElementById('lod-plot');
            el.emit('plotly_click', {{points: [{{data: el.data[{k}], curveNumber: {k}}}]}}); }}""")
        wait_js(page, f"() => document.getElementById('lod-plot').dataset.chr === {chrom!r}")
        (line,) = _lod_traces(page)
        on_chrom = lod[lod["chr"] == chrom]
        np.testing.assert_allclose(line["x"], on_chrom["pos_Mbp"], rtol=1e-12)
        np.testing.assert_allclose(line["y"], on_chrom[trait], rtol=1e-12)
        assert parse_qs(urlparse(page.url).query)["chr"] == [chrom]

        # the peak's row opens its allele effects, along the chromosome and at the peak
        rows = page.eval_on_selector_all("#peaks-table tbody tr",
                                         "trs => trs.map(r => r.innerText)")  # fmt: skip
        assert len(rows) == 1 and rows[0].startswith(chrom)
        page.click("#peaks-table tbody tr")
        wait_js(page, "() => (document.getElementById('effects-along').data || []).length === 8")
        along = pd.read_parquet(part / "effects_along.parquet")
        for trace in plot_data(page, "effects-along"):
            expect = along[along.coefficient == trace["name"]].sort_values("pos", kind="stable")
            np.testing.assert_allclose(trace["y"], expect["estimate"], rtol=1e-12)
        wait_js(page, "() => (document.getElementById('effects-peak').data || []).length === 2")
        at_peak = pd.read_csv(part / "peak_effects.csv")
        for trace in plot_data(page, "effects-peak"):
            expect = at_peak[(at_peak.method == trace["name"])
                             & at_peak.coefficient.isin(list("ABCDEFGH"))]  # fmt: skip
            assert trace["x"] == list(expect["coefficient"])
            np.testing.assert_allclose(trace["y"], expect["estimate"], rtol=1e-12)

        # the peaks table downloads as CSV
        with page.expect_download() as download:
            page.click("#peaks-table a.csv")
        saved = tmp_path / "peaks.csv"
        download.value.save_as(saved)
        got = pd.read_csv(saved, dtype={"chr": str})
        np.testing.assert_allclose(got[["pos", "lod", "ci_lo", "ci_hi"]],
                                   peaks[["pos", "lod", "ci_lo", "ci_hi"]], rtol=1e-12)  # fmt: skip

        # and the peak leads to its human candidates
        href = page.get_attribute("#peaks-table a.human-link", "href")
        query = parse_qs(urlparse(href).query)
        assert query["chr"] == [chrom] and query["run"] == [run_id]
        assert float(query["start"][0]) == pytest.approx(best["ci_lo"], rel=1e-5)
        assert float(query["end"][0]) == pytest.approx(best["ci_hi"], rel=1e-5)
        page.click("#peaks-table a.human-link")
        page.wait_for_url("**/human?**")
        assert page.get_attribute("main#app", "data-section") == "human"
        page.wait_for_load_state("networkidle")  # before the server stops


def test_cause_page_over_5806_bxd_traits(bxd_scan_run: Path, live_server: Any,
                                         open_page: Any, tmp_path: Path) -> None:  # fmt: skip
    import pyarrow.parquet as pq

    peaks = pd.read_csv(bxd_scan_run / "peaks.csv", dtype={"chr": str, "lodcolumn": str})
    best = peaks.sort_values("lod", ascending=False).iloc[0]
    trait, chrom = str(best["lodcolumn"]), str(best["chr"])
    table = pq.read_table(bxd_scan_run / "lod.parquet", columns=["chr", "pos_Mbp", trait])
    lod = table.to_pandas()
    lod["chr"] = lod["chr"].astype(str)
    with live_server([bxd_scan_run]) as base:
        page = open_page(f"{base}/cause")
        wait_js(page, "() => document.getElementById('run-summary').textContent.includes('5,806')")
        names = [c for c in pq.read_schema(bxd_scan_run / "lod.parquet").names
                 if c not in ("marker", "chr", "pos_cM", "pos_Mbp")]  # fmt: skip
        assert len(names) == 5806
        query = trait[:3]
        expect = ([t for t in names if t.startswith(query)]
                  + [t for t in names if query in t and not t.startswith(query)])[:20]  # fmt: skip
        assert _search(page, query) == expect
        found = _search(page, trait)
        assert found[0] == trait
        page.click(f"#trait-suggestions li[data-trait='{trait}']")
        wait_js(page, "() => (document.getElementById('lod-plot').data || []).length > 1")
        drawn = np.concatenate([t["y"] for t in _lod_traces(page)])
        np.testing.assert_allclose(drawn, lod[trait].to_numpy(), rtol=1e-12, equal_nan=True)

        page.select_option("#chr-select", chrom)
        wait_js(page, f"() => document.getElementById('lod-plot').dataset.chr === {chrom!r}")
        (line,) = _lod_traces(page)
        on_chrom = lod[lod["chr"] == chrom]
        np.testing.assert_allclose(line["x"], on_chrom["pos_Mbp"], rtol=1e-12)
        np.testing.assert_allclose(line["y"], on_chrom[trait], rtol=1e-12, equal_nan=True)

        page.click("#peaks-table tbody tr")
        wait_js(page, "() => (document.getElementById('effects-peak').data || []).length === 2")
        at_peak = pd.read_csv(bxd_scan_run / "peak_effects.csv", dtype={"lodcolumn": str})
        mine = at_peak[(at_peak.lodcolumn == trait) & (at_peak.method == "coef")
                       & at_peak.coefficient.isin(["B", "D"])]  # fmt: skip
        (coef,) = [d for d in plot_data(page, "effects-peak") if d["name"] == "coef"]
        np.testing.assert_allclose(coef["y"], mine["estimate"], rtol=1e-12)
        # BLUPs along the chromosome, computed on request from the scan's inputs
        page.check("input[name='effects-method'][value='blup']")
        wait_js(page, "() => ((document.getElementById('effects-along').layout || {}).title"
                      " || {text: ''}).text.includes('(blup)')", timeout=120)  # fmt: skip
        assert parse_qs(urlparse(page.url).query)["method"] == ["blup"]
        assert {d["name"] for d in plot_data(page, "effects-along")} == {"B", "D"}

        # the run's whole peak table, downloaded
        with page.expect_download() as download:
            page.click("#all-peaks-table a.csv")
        got = pd.read_csv(io.BytesIO(Path(download.value.path()).read_bytes()))
        assert len(got) == len(peaks)
        assert sorted(got["lod"].round(9)) == sorted(peaks["lod"].round(9))


def test_cause_page_over_an_eqtl_run(eqtl_run: Path, live_server: Any, open_page: Any) -> None:
    from translocus.genetics.eqtl import read_lod

    peaks = pd.read_parquet(eqtl_run / "peaks.parquet")
    best = peaks.sort_values("lod", ascending=False).iloc[0]
    trait, symbol = str(best["trait"]), str(best["symbol"])
    with live_server([eqtl_run]) as base:
        page = open_page(f"{base}/cause?run={eqtl_run.name}")
        wait_js(page, "() => (document.getElementById('cistrans-plot').data || []).length > 0")
        drawn = plot_data(page, "cistrans-plot")
        annotated = peaks.dropna(subset=["gene_chr", "gene_start"])
        assert sum(len(d["x"]) for d in drawn) == len(annotated)
        assert trait in _search(page, symbol.lower())
        page.click(f"#trait-suggestions li[data-trait='{trait}']")
        wait_js(page, "() => (document.getElementById('lod-plot').data || []).length > 1")
        np.testing.assert_allclose(np.concatenate([t["y"] for t in _lod_traces(page)]),
                                   read_lod(eqtl_run / "lod.zarr", trait).to_numpy(),
                                   rtol=1e-12)  # fmt: skip
        rows = page.eval_on_selector_all("#peaks-table tbody tr", "trs => trs.length")
        assert rows == int((peaks.trait == trait).sum())
