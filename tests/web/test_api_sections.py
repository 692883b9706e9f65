"""The Study, Progression, Treatment and Human API: what it answers equals the run's files.

Over a ``translocus demo`` run (core's ``demo_run`` fixture) and run folders made from it
(``tests/viewer_runs.py``) that also hold the files newer progress, survival and respond runs
write. Each figure's traces are compared with the rows of the file they come from; each
table with the file read by pandas; bad parameters are 4xx with a sentence, never 5xx.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from translocus.translate import translate_interval
from viewer_runs import SPIDER_MODEL, build_section_runs


@pytest.fixture(scope="module")
def runs(demo_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_section_runs(demo_run, tmp_path_factory.mktemp("section_runs"))


@pytest.fixture(scope="module")
def client(demo_run: Path, runs: Path) -> Any:
    from fastapi.testclient import TestClient

    from translocus.web import create_app

    return TestClient(create_app([demo_run, runs]))


def demo_id(demo_run: Path, part: str) -> str:
    return f"{demo_run.name}/{part}"


def get(client: Any, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def table(client: Any, url: str, **params: Any) -> pd.DataFrame:
    """Every row of a table endpoint, through its CSV download."""
    response = client.get(url, params={**params, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return pd.read_csv(io.StringIO(response.text))


def trace(figure: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in figure["data"] if t.get("name") == name]
    assert len(found) == 1, [t.get("name") for t in figure["data"]]
    return found[0]


# -- Progression ------------------------------------------------------------------------------
def test_trajectory_curves_equal_curves_csv(client: Any, demo_run: Path) -> None:
    part = demo_id(demo_run, "progression_model_ad")
    curves = pd.read_csv(demo_run / "progression_model_ad" / "curves.csv")
    options = get(client, "/api/progression/options", run=part)
    assert options["trace"] == "mouse_model" and options["control"] == "C57BL/6J"
    panels = {tuple(p.values()) for p in options["panels"]}
    assert panels == set(curves[["measure", "tissue", "sex"]].itertuples(index=False, name=None))

    measure, tissue = "Plaque Density (Thio-S)", "Hippocampus"
    answer = get(client, "/api/progression/trajectory", run=part, measure=measure,
                 tissue=tissue, where="sex=Male")  # fmt: skip
    for model in ("5xFAD", "C57BL/6J"):
        rows = curves[(curves.measure == measure) & (curves.tissue == tissue)
                      & (curves.sex == "Male") & (curves.mouse_model == model)].sort_values("age")  # fmt: skip
        line = trace(answer["figure"], model)
        np.testing.assert_allclose(line["x"], rows["age"], rtol=0, atol=0)
        np.testing.assert_allclose(line["y"], rows["mean"], rtol=1e-15)
        band = trace(answer["figure"], f"{model} interval")
        np.testing.assert_allclose(band["y"], np.r_[rows["upper"], rows["lower"][::-1]])
    onsets = pd.read_csv(demo_run / "progression_model_ad" / "onsets.csv")
    onset = onsets[(onsets.measure == measure) & (onsets.tissue == tissue)
                   & (onsets.sex == "Male")].iloc[0]  # fmt: skip
    marker = trace(answer["figure"], "5xFAD onset")
    assert marker["x"] == [onset["onset_age"]]
    assert marker["x"][0] - marker["error_x"]["arrayminus"][0] == pytest.approx(onset["lower"])


def test_trajectory_points_are_the_measurements_on_the_curves_scale(client: Any,
                                                                     runs: Path) -> None:  # fmt: skip
    measure, tissue = "Astrocyte Cell Density (GFAP)", "Hippocampus"
    answer = get(client, "/api/progression/trajectory", run="progress", measure=measure,
                 tissue=tissue, where="sex=Female")  # fmt: skip
    data = pd.read_parquet(runs / "progress" / "measurements.parquet")
    offset = pd.read_csv(runs / "progress" / "hyper.csv").set_index(["measure", "tissue"])
    rows = data[(data.measure == measure) & (data.tissue == tissue) & (data.sex == "Female")
                & (data.mouse_model == "5xFAD")]  # fmt: skip
    points = trace(answer["figure"], "5xFAD animals")
    expected = np.log(rows["value"] + offset.loc[(measure, tissue), "offset"])
    np.testing.assert_allclose(
        sorted(zip(points["x"], points["y"], strict=True)),
        sorted(zip(rows["age"], expected, strict=True)),
        rtol=1e-12,
    )
    assert answer["messages"] == []


def test_one_animal_measurements_and_forecast(client: Any, runs: Path) -> None:
    options = get(client, "/api/progression/options", run="progress")
    data = pd.read_parquet(runs / "progress" / "measurements.parquet")
    forecast = pd.read_csv(runs / "progress" / "forecast.csv")
    assert set(options["animals"]) == set(data["animal"]) | set(forecast["animal"])
    animal = forecast["animal"].iloc[0]
    measure = forecast["measure"].iloc[0]
    answer = get(client, "/api/progression/animal", run="progress", animal=animal,
                 measure=measure)  # fmt: skip
    rows = data[(data.animal == animal) & (data.measure == measure)]
    for tissue, own in rows.groupby("tissue"):
        line = trace(answer["figure"], f"measured ({tissue})")
        own = own.sort_values("age")
        assert line["x"] == own["age"].tolist() and line["y"] == own["value"].tolist()
    mine = forecast[(forecast.animal == animal) & (forecast.measure == measure)]
    mine = mine.sort_values("age")
    assert trace(answer["figure"], "forecast")["y"] == mine["point"].tolist()
    band = trace(answer["figure"], "90% interval")
    assert band["y"] == mine["upper_90"].tolist() + mine["lower_90"].tolist()[::-1]
    page = get(client, "/api/progression/forecast", run="progress", animal=animal)
    assert page["total"] == int((forecast.animal == animal).sum())


def test_progress_run_without_newer_files_says_what_is_missing(client: Any) -> None:
    options = get(client, "/api/progression/options", run="older_progress")
    text = " ".join(options["messages"])
    assert "measurements.parquet" in text and "forecast.csv" in text
    assert options["animals"] == []
    answer = get(client, "/api/progression/animal", run="older_progress", animal="1")
    assert any("measurements.parquet" in m for m in answer["messages"])
    assert (
        client.get("/api/progression/forecast", params={"run": "older_progress"}).status_code == 404
    )


def test_survival_curves_numbers_at_risk_and_hazards(client: Any, runs: Path) -> None:
    km = pd.read_csv(runs / "survival" / "km.csv")
    answer = get(client, "/api/progression/survival", run="survival")
    for group, rows in km.groupby("group"):
        line = trace(answer["figure"], group)
        assert line["x"] == rows["time"].tolist() and line["y"] == rows["survival"].tolist()
        assert line["line"]["shape"] == "hv"
        at_risk = trace(answer["figure"], f"{group} at risk")
        for t, count in zip(at_risk["x"], at_risk["customdata"], strict=True):
            later = rows[rows["time"] >= t]
            assert count == (int(later["at_risk"].iloc[0]) if len(later) else 0)
    pd.testing.assert_frame_equal(table(client, "/api/progression/km", run="survival"), km)
    cox = pd.read_csv(runs / "survival" / "cox.csv")
    hazards = get(client, "/api/progression/hazards", run="survival")["figure"]["data"][0]
    assert sorted(hazards["x"]) == pytest.approx(sorted(cox["exp(coef)"]))


def test_survival_run_without_km_csv_shows_its_summary(client: Any, runs: Path) -> None:
    answer = get(client, "/api/progression/survival", run="older_survival")
    assert answer["figure"] is None and "km.csv" in answer["messages"][0]
    summary = pd.read_csv(runs / "older_survival" / "km_summary.csv")
    pd.testing.assert_frame_equal(
        table(client, "/api/progression/km", run="older_survival"), summary
    )


# -- Treatment --------------------------------------------------------------------------------
def test_waterfall_bars_are_the_arms_best_responses_by_mrecist(client: Any, runs: Path) -> None:
    metrics = pd.read_csv(runs / "respond" / "metrics.csv")
    arm = "BYL719"
    answer = get(client, "/api/treatment/waterfall", run="respond", arm=arm)
    rows = metrics[(metrics.arm == arm) & metrics.best_avg_response.notna()]
    drawn = {}
    for bar in answer["figure"]["data"]:
        for label, value in zip(bar["x"], bar["y"], strict=True):
            drawn[label] = (value, bar["name"])
    expected = {m: (v, c if isinstance(c, str) else "NA")
                for m, v, c in rows[["model", "best_avg_response", "mrecist"]].itertuples(index=False)}  # fmt: skip
    assert drawn == expected
    order = answer["figure"]["layout"]["xaxis"]["categoryarray"]
    assert order == rows.sort_values("best_avg_response", ascending=False)["model"].tolist()
    listed = table(client, "/api/treatment/metrics", run="respond", arm=arm)
    pd.testing.assert_frame_equal(listed, metrics[metrics.arm == arm].reset_index(drop=True))


def test_spider_lines_are_percent_change_of_the_volumes(client: Any, runs: Path) -> None:
    volumes = pd.read_parquet(runs / "respond" / "volumes.parquet")
    answer = get(client, "/api/treatment/spider", run="respond", model=SPIDER_MODEL)
    lines = answer["figure"]["data"]
    assert len(lines) == volumes.groupby(["arm", "animal"]).ngroups
    for line in lines:
        model, rest = line["meta"]["series"].split(" ", 1)
        arm, animal = rest.rsplit(" ", 1)
        rows = volumes[(volumes.arm == arm) & (volumes.animal.astype(str) == animal)]
        rows = rows.sort_values("day")
        v = rows["volume"].to_numpy()
        assert model == SPIDER_MODEL and line["name"] == arm
        np.testing.assert_allclose(line["y"], 100 * (v - v[0]) / v[0], rtol=1e-12)
    arm = volumes["arm"].iloc[0]
    across = get(client, "/api/treatment/spider", run="respond", arm=arm)["figure"]["data"]
    rows = volumes[volumes.arm == arm]
    assert len(across) == rows.groupby(["model", "animal"]).ngroups
    for line in across:  # one arm across models: coloured by each series' mRECIST class
        series = line["meta"]["series"]  # "model arm animal"; an arm may hold spaces
        model, animal = series.split(" ", 1)[0], series.rsplit(" ", 1)[1]
        own = rows[(rows.model == model) & (rows.animal.astype(str) == animal)]
        assert line["name"] == (
            own["mrecist"].iloc[0] if isinstance(own["mrecist"].iloc[0], str) else "NA"
        )
    older = get(client, "/api/treatment/spider", run="older_respond", model=SPIDER_MODEL)
    assert older["figure"] is None and "volumes.parquet" in older["messages"][0]


def test_growth_curves_are_the_fitted_models_own() -> None:
    """Curves rebuilt from growth_fits.csv equal GrowthModel.predict of the fitted model."""
    from translocus.treatment.growth import GrowthModel
    from translocus.treatment.study import TreatmentStudy
    from translocus.web.sections.treatment import growth_curves

    rng = np.random.default_rng(3)
    days = np.arange(0.0, 30.0, 3.0)
    frame = pd.concat(
        pd.DataFrame({"model": "M", "arm": arm, "animal": str(i), "day": days + 2 * i,
                      "volume": 150 * np.exp(rate * days) * rng.uniform(0.95, 1.05, len(days))})
        for i, (arm, rate) in enumerate((("ctl", 0.08), ("a", 0.03), ("b", -0.01)))
    )  # fmt: skip
    study = TreatmentStudy.from_frame(frame)
    grid = np.linspace(0.0, 40.0, 9)
    for kind in ("exponential", "gompertz", "exponential_linear"):
        fit = GrowthModel(kind).fit(study)
        written = pd.read_csv(io.StringIO(fit.params_.to_csv(index=False)))
        np.testing.assert_allclose(growth_curves(written, grid), fit.predict(grid), rtol=1e-9)


def test_fits_effects_synergy_and_lifespan_equal_their_files(client: Any, runs: Path,
                                                            demo_run: Path) -> None:  # fmt: skip
    effects = pd.read_csv(runs / "respond" / "treatment_effects.csv")
    answer = get(client, "/api/treatment/fits", run="respond", model=SPIDER_MODEL)
    forest = answer["effects"]["data"][0]
    rows = effects[effects.model == SPIDER_MODEL]
    assert dict(zip(forest["y"], forest["x"], strict=True)) == pytest.approx(
        dict(zip(rows["arm"], rows["effect"], strict=True))
    )
    fits = pd.read_csv(runs / "respond" / "growth_fits.csv")
    drawn = [t for t in answer["figure"]["data"] if t["name"].endswith(" fit")]
    assert len(drawn) == int(((fits.model == SPIDER_MODEL) & (fits.n_obs > 0)).sum())

    synergy = pd.read_csv(runs / "respond" / "synergy.csv")
    bliss = trace(get(client, "/api/treatment/synergy_figure", run="respond",
                      model=SPIDER_MODEL)["figure"], "Bliss excess")  # fmt: skip
    rows = synergy[synergy.model == SPIDER_MODEL]
    assert bliss["y"] == rows["arm"].tolist()
    np.testing.assert_allclose(bliss["x"], rows["bliss_excess"])
    np.testing.assert_allclose(
        bliss["error_x"]["array"], rows["bliss_ci_high"] - rows["bliss_excess"]
    )

    part = demo_id(demo_run, "lifespan_itp")
    lifespan = pd.read_csv(demo_run / "lifespan_itp" / "lifespan_effects.csv")
    figure = get(client, "/api/treatment/lifespan", run=part, value="hr")["figure"]
    for sex, rows in lifespan.groupby("sex"):
        np.testing.assert_allclose(trace(figure, sex)["x"], rows["hr"])
    listed = table(client, "/api/treatment/lifespan_effects", run=part, sex="F")
    assert listed["hr"].tolist() == pytest.approx(lifespan[lifespan.sex == "F"]["hr"].tolist())


# -- Human ------------------------------------------------------------------------------------
def test_orthologs_and_candidates_equal_the_translate_files(client: Any, demo_run: Path) -> None:
    genes = demo_id(demo_run, "translation_genes")
    orthologs = pd.read_csv(demo_run / "translation_genes" / "orthologs.csv")
    pd.testing.assert_frame_equal(table(client, "/api/human/orthologs", run=genes), orthologs)
    interval = demo_id(demo_run, "translation_interval")
    candidates = pd.read_csv(demo_run / "translation_interval" / "candidates.csv")
    pd.testing.assert_frame_equal(table(client, "/api/human/candidates", run=interval), candidates)
    figure = get(client, "/api/human/candidates_figure", run=interval)["figure"]
    top = candidates[candidates.distance_kb.notna()].sort_values("rank").head(30)
    assert figure["data"][0]["customdata"] == pytest.approx(top["distance_kb"].tolist())
    assert (
        figure["data"][0]["y"] == (top["human_symbol"] + " (" + top["mouse_symbol"] + ")").tolist()
    )
    if not (demo_run / "translation_peaks").is_dir():
        return  # a small demo may find no peak to translate
    peaks = demo_id(demo_run, "translation_peaks")
    candidates = pd.read_csv(demo_run / "translation_peaks" / "candidates.csv")
    listed = table(client, "/api/human/candidates", run=peaks, peak=0)
    pd.testing.assert_frame_equal(listed, candidates[candidates.peak == 0].reset_index(drop=True))


def test_an_interval_is_translated_on_request(client: Any, demo_run: Path) -> None:
    """Reference: the translate engine called directly on the same interval."""
    expected = translate_interval(chr="7", start_mbp=18.9, end_mbp=19.9).candidates
    listed = table(client, "/api/human/interval", chr="7", start=18.9, end=19.9,
                   run=demo_id(demo_run, "cause_lmm"))  # fmt: skip
    assert len(listed) == len(expected) > 0
    assert listed["human_symbol"].tolist() == expected["human_symbol"].tolist()
    np.testing.assert_allclose(listed["distance_kb"], expected["distance_kb"].astype(float))
    answer = get(client, "/api/human/interval_figure", chr="chr7", start=18.9, end=19.9)
    assert answer["query"]["assembly"] == "GRCm39" and answer["candidates"] == len(expected)


# -- Study ------------------------------------------------------------------------------------
def test_study_lists_runs_their_records_files_and_licences(client: Any, demo_run: Path) -> None:
    record = json.loads((demo_run / "run.json").read_text())
    runs = table(client, "/api/study/runs")
    assert demo_run.name in set(runs["run"]) and {"progress", "survival", "respond"} <= set(
        runs["run"]
    )
    detail = get(client, "/api/study/run", run=demo_run.name)
    for key in ("argv", "version", "steps", "warnings", "provenance"):
        assert detail[key] == record[key]
    part = demo_id(demo_run, "treatment_pdxe")
    files = table(client, "/api/study/files", run=part)
    expected = {k.split("/", 1)[1]: v["size"] for k, v in record["files"].items()
                if k.startswith("treatment_pdxe/")}  # fmt: skip
    assert dict(zip(files["file"], files["size"], strict=True)) == expected
    assert set(files["page"]) == {f"/treatment?run={part}"}
    steps = table(client, "/api/study/record", run=demo_run.name, key="steps")
    assert steps["name"].tolist() == [s["name"] for s in record["steps"]]
    datasets = table(client, "/api/study/datasets")
    assert set(datasets["name"]) == {p["name"] for p in record["provenance"]}
    licences = table(client, "/api/study/licenses")
    written = pd.read_csv(demo_run / "licenses.csv")
    assert licences["dataset"].tolist() == written["dataset"].tolist()
    assert licences["training"].tolist() == written["training"].tolist()


# -- bad parameters ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        ("/api/progression/options", {"run": "nope"}, 404),
        ("/api/progression/options", {"run": "respond"}, 422),
        ("/api/progression/trajectory", {"run": "progress", "measure": "x", "where": "bad=1"}, 422),
        ("/api/progression/trajectory", {"run": "progress", "measure": "x"}, 404),
        ("/api/progression/trajectory", {"run": "progress", "measure": "x" * 201}, 422),
        (
            "/api/progression/trajectory",
            {"run": "progress", "measure": "x", "where": ["a=b"] * 9},
            422,
        ),
        ("/api/progression/onsets", {"run": "progress", "limit": 5001}, 422),
        ("/api/progression/onsets", {"run": "progress", "format": "xml"}, 422),
        ("/api/treatment/waterfall", {"run": "respond", "value": "auc"}, 422),
        ("/api/treatment/spider", {"run": "respond"}, 422),
        ("/api/treatment/lifespan", {"run": "respond"}, 422),
        ("/api/treatment/fits", {"run": "respond", "model": "no-such-model"}, 404),
        ("/api/human/interval", {"chr": "7", "start": 19, "end": 18}, 422),
        ("/api/human/interval", {"chr": "7", "start": 1, "end": 140}, 422),
        ("/api/human/interval", {"chr": "7", "start": 150, "end": 151}, 422),
        ("/api/human/interval", {"chr": "../7", "start": 1, "end": 2}, 422),
        ("/api/human/interval", {"chr": "7", "start": "nan", "end": 2}, 422),
        ("/api/human/candidates", {"run": "progress"}, 422),
        ("/api/study/record", {"run": "progress", "key": "files"}, 422),
        ("/api/study/run", {"run": "x" * 301}, 422),
    ],
)
def test_bad_parameters_are_4xx_with_a_sentence(client: Any, url: str, params: dict[str, Any],
                                                status: int) -> None:  # fmt: skip
    response = client.get(url, params=params)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
