"""The Study, Progression, Treatment and Human pages in a real browser (chromium, Playwright).

Each page is opened over the demo run and the run folders ``tests/viewer_runs.py`` makes from
it; a group, arm, animal or interval is picked through the page's own controls, and what is
drawn (the plot's trace data, read from the page) and listed (table rows, a downloaded CSV)
is compared with the run's files. Any script error or content-policy violation fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest

from browser import launch, open_pages, plot_data, wait_js
from viewer_runs import SPIDER_MODEL, build_section_runs


def wait_title(page: Any, element: str, text: str) -> None:
    wait_js(
        page,
        f"""() => {{ const el = document.getElementById({element!r});
            const t = el && el.layout && el.layout.title;
            return !!t && String(t.text || t).includes({text!r}); }}""",
    )


def table_rows(page: Any, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(  # type: ignore[no-any-return]
        f"{selector} table.data tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))",
    )


def download(page: Any, selector: str, tmp_path: Path) -> pd.DataFrame:
    with page.expect_download() as info:
        page.click(selector)
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    return pd.read_csv(target)


def state(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


@pytest.fixture(scope="module")
def runs(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_section_runs(demo_run, tmp_path_factory.mktemp("section_runs"))


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    yield from launch(chromium)


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[str], Any]]:
    """A page that records console errors and policy violations (asserted empty at the end)."""
    yield from open_pages(browser)


def test_study_page(demo_run: Path, runs: Path, live_server: Any, open_page: Any,
                    tmp_path: Path) -> None:  # fmt: skip
    with live_server([demo_run, runs]) as base:
        page = open_page(f"{base}/study")
        wait_js(page, "() => document.querySelectorAll('#runs tbody tr').length > 5")
        page.click("#runs tbody tr:has(td:first-child:text-is('respond'))")
        wait_js(page, "() => document.getElementById('run-facts')?.textContent.includes('respond')")
        assert state(page)["run"] == ["respond"]
        wait_js(page, "() => document.querySelectorAll('#run-files tbody tr').length > 0")
        files = {row[0] for row in table_rows(page, "#run-files")}
        assert files == {p.name for p in (runs / "respond").iterdir() if p.name != "run.json"}
        wait_js(page, "() => document.querySelectorAll('#licenses tbody tr').length > 0")
        licences = download(page, "#licenses a.csv", tmp_path)
        written = pd.read_csv(demo_run / "licenses.csv")
        assert licences["dataset"].tolist() == written["dataset"].tolist()
        assert licences["training"].tolist() == written["training"].tolist()


def test_progression_page(runs: Path, demo_run: Path, live_server: Any, open_page: Any) -> None:
    curves = pd.read_csv(runs / "progress" / "curves.csv")
    data = pd.read_parquet(runs / "progress" / "measurements.parquet")
    measure, tissue, sex = "Plaque Density (Thio-S)", "Hippocampus", "Male"
    with live_server([demo_run, runs]) as base:
        page = open_page(f"{base}/progression?run=progress")
        wait_js(page, "() => document.querySelectorAll('#panel option').length > 1")
        page.select_option("#panel", label=f"{measure} · {tissue} · {sex}")
        wait_title(page, "trajectory", f"{measure} · {tissue} · {sex}")
        drawn = {t["name"]: t for t in plot_data(page, "trajectory")}
        for model in ("5xFAD", "C57BL/6J"):
            rows = curves[(curves.measure == measure) & (curves.tissue == tissue)
                          & (curves.sex == sex) & (curves.mouse_model == model)]  # fmt: skip
            np.testing.assert_allclose(drawn[model]["x"], rows["age"])
            np.testing.assert_allclose(drawn[model]["y"], rows["mean"], rtol=1e-15)
        assert state(page)["sex"] == [sex] and state(page)["measure"] == [measure]

        animal = "C57BL/6J-Male-2"
        page.select_option("#animal-select", animal)
        wait_title(page, "animal", f"animal {animal}")
        first_measure = sorted(data.loc[data.animal == animal, "measure"].unique())[0]
        rows = data[(data.animal == animal) & (data.measure == first_measure)]
        lines = {t["name"]: t for t in plot_data(page, "animal")}
        for tissue_name, own in rows.groupby("tissue"):
            own = own.sort_values("age")
            assert lines[f"measured ({tissue_name})"]["y"] == own["value"].tolist()
        assert "forecast" in lines
        assert state(page)["animal"] == [animal]

        km = pd.read_csv(runs / "survival" / "km.csv")
        page = open_page(f"{base}/progression?run=survival")
        wait_title(page, "survival", "Kaplan-Meier")
        lines = {t["name"]: t for t in plot_data(page, "survival")}
        for group, own in km.groupby("group"):
            assert lines[group]["x"] == own["time"].tolist()
            assert lines[group]["y"] == own["survival"].tolist()
        wait_js(page, "() => document.querySelectorAll('#hazards-table tbody tr').length > 0")
        assert len(table_rows(page, "#hazards-table")) == len(
            pd.read_csv(runs / "survival" / "cox.csv")
        )


def test_treatment_page(runs: Path, demo_run: Path, live_server: Any, open_page: Any,
                        tmp_path: Path) -> None:  # fmt: skip
    metrics = pd.read_csv(runs / "respond" / "metrics.csv")
    volumes = pd.read_parquet(runs / "respond" / "volumes.parquet")
    arm = "BYL719"
    with live_server([demo_run, runs]) as base:
        page = open_page(f"{base}/treatment?run=respond&model={SPIDER_MODEL}")
        wait_js(page, "() => document.querySelectorAll('#arm option').length > 1")
        page.select_option("#arm", arm)
        wait_title(page, "waterfall", arm)
        bars = {}
        for bar in plot_data(page, "waterfall"):
            bars.update(
                {label: (y, bar["name"]) for label, y in zip(bar["x"], bar["y"], strict=True)}
            )
        rows = metrics[(metrics.arm == arm) & metrics.best_avg_response.notna()]
        assert bars == {m: (v, c if isinstance(c, str) else "NA") for m, v, c in
                        rows[["model", "best_avg_response", "mrecist"]].itertuples(index=False)}  # fmt: skip
        assert state(page)["arm"] == [arm]
        wait_js(page, "() => document.querySelectorAll('#waterfall-table tbody tr').length > 0")
        listed = download(page, "#waterfall-table a.csv", tmp_path)
        pd.testing.assert_frame_equal(listed, metrics[metrics.arm == arm].reset_index(drop=True))

        wait_title(page, "spider", SPIDER_MODEL)
        spider = plot_data(page, "spider")
        assert len(spider) == volumes.groupby(["arm", "animal"]).ngroups
        assert {t["name"] for t in spider} == set(volumes["arm"])
        wait_title(page, "synergy", SPIDER_MODEL)

        page.select_option("#spider-of", "arm")  # the waterfall's arm across models
        wait_title(page, "spider", arm)
        across = plot_data(page, "spider")
        rows = volumes[volumes.arm == arm]
        assert len(across) == rows.groupby(["model", "animal"]).ngroups
        assert {t["name"] for t in across} == set(rows["mrecist"].fillna("NA"))
        assert state(page)["spider"] == ["arm"]


def test_human_page(demo_run: Path, runs: Path, live_server: Any, open_page: Any) -> None:
    from translocus.translate import translate_interval

    expected = translate_interval(chr="7", start_mbp=18.9, end_mbp=19.9).candidates
    near = expected[expected.distance_kb.notna()].sort_values("rank").head(30)
    link = f"/human?run={demo_run.name}/cause_lmm&chr=7&start=18.9&end=19.9"
    with live_server([demo_run, runs]) as base:
        page = open_page(base + link)
        wait_title(page, "interval", "chr7:18.9-19.9")
        (bars,) = plot_data(page, "interval")
        assert bars["y"] == (near["human_symbol"] + " (" + near["mouse_symbol"] + ")").tolist()
        assert bars["customdata"] == pytest.approx(near["distance_kb"].astype(float).tolist())
        wait_js(page, "() => document.querySelectorAll('#interval-table tbody tr').length > 0")
        first = table_rows(page, "#interval-table")[0]
        assert first[1] == expected["mouse_symbol"].iloc[0]
        assert first[7] == expected["human_symbol"].iloc[0]
        heading = page.text_content("#interval-card h2")
        assert "chr7:18.9–19.9 Mbp (GRCm39)" in heading

        page.fill("#interval-form input[name=start]", "19.3")
        page.click("#interval-form button[type=submit]")
        wait_title(page, "interval", "chr7:19.3-19.9")
        assert state(page)["start"] == ["19.3"]

        genes = f"{demo_run.name}/translation_genes"
        page.select_option("#run-picker", genes)
        wait_js(page, "() => document.querySelectorAll('#orthologs-table tbody tr').length > 0")
        orthologs = pd.read_csv(demo_run / "translation_genes" / "orthologs.csv")
        assert [r[0] for r in table_rows(page, "#orthologs-table")] == orthologs["query"].tolist()[
            :15
        ]
