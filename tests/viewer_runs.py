"""Run folders for the viewer's section tests, built from a demo run in milliseconds.

The demo's parts hold what the progress, survival and respond commands always write; the
files those commands write only in their newer versions (``measurements.parquet`` and
``forecast.csv`` of progress, ``km.csv`` of survival, ``volumes.parquet`` of respond) are
added here from the demo's own numbers, so that every view of the Progression and
Treatment pages has something to draw and a file to compare with:

- ``progress``: the demo's trajectory tables, three animals per group measured at three
  ages on their group's curve (back on the data's scale), forecasts of two animals;
- ``survival``: the demo's Cox table and Kaplan-Meier curves (lifelines) of a small
  seeded cohort in two groups, with numbers at risk;
- ``respond``: the demo's response tables and, for one model, each arm's measured volumes
  (its fitted growth curve times a seeded wobble).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

#: The respond model given volumes.
SPIDER_MODEL = "X-010"


def _run_json(folder: Path, command: str) -> None:
    files = {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": ""}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
    record = {
        "translocus_run": 1,
        "status": "complete",
        "command": command,
        "argv": ["translocus", command],
        "options": {},
        "version": "test",
        "inputs": [],
        "provenance": [],
        "steps": [],
        "warnings": [],
        "files": files,
        "summary": {},
    }
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")


def _progress(demo: Path, folder: Path, *, newer: bool = True) -> None:
    part = demo / "progression_model_ad"
    folder.mkdir()
    for name in ("curves.csv", "effects.csv", "onsets.csv", "hyper.csv", "skipped.csv"):
        shutil.copy(part / name, folder / name)
    if not newer:
        _run_json(folder, "progress")
        return
    curves = pd.read_csv(part / "curves.csv")
    hyper = pd.read_csv(part / "hyper.csv").set_index(["measure", "tissue"])["offset"]
    rng = np.random.default_rng(7)
    rows = []
    keys = ["measure", "tissue", "mouse_model", "sex"]
    for (measure, tissue, model, sex), group in curves.groupby(keys):
        offset = float(hyper[(measure, tissue)])
        for k in range(3):
            animal = f"{model}-{sex}-{k + 1}"
            for age in (4.0, 8.0, 12.0):
                mean = float(np.interp(age, group["age"], group["mean"]))
                value = float(np.exp(mean + rng.normal(0, 0.1)) - offset)
                rows.append((animal, age, measure, tissue, model, sex, max(value, 0.01)))
    measurements = pd.DataFrame(
        rows, columns=["animal", "age", "measure", "tissue", "mouse_model", "sex", "value"]
    )
    measurements.to_parquet(folder / "measurements.parquet", index=False)
    first = measurements["animal"].iloc[0]
    forecast = []
    for animal in (first, "C57BL/6J-Male-2"):
        for measure in sorted(measurements["measure"].unique())[:2]:
            for age in (15.0, 18.0):
                point = 10.0 + age
                forecast.append((animal, measure, age, point, point - 3.0, point + 4.0, 0.9))
    pd.DataFrame(
        forecast,
        columns=["animal", "measure", "age", "point", "lower_90", "upper_90", "coverage_90"],
    ).to_csv(folder / "forecast.csv", index=False)
    _run_json(folder, "progress")


def _survival(demo: Path, folder: Path, *, newer: bool = True) -> None:
    from lifelines import KaplanMeierFitter

    folder.mkdir()
    shutil.copy(demo / "lifespan_slam" / "cox.csv", folder / "cox.csv")
    shutil.copy(demo / "lifespan_slam" / "km_summary.csv", folder / "km_summary.csv")
    if not newer:
        _run_json(folder, "survival")
        return
    rng = np.random.default_rng(11)
    parts = []
    for group, scale in (("B6 F", 800.0), ("HET3 F", 900.0)):
        times = np.round(rng.weibull(3.0, 40) * scale)
        events = rng.random(40) < 0.8
        fit = KaplanMeierFitter().fit(times, events)
        table = fit.event_table
        curve = fit.survival_function_.iloc[:, 0]
        band = fit.confidence_interval_survival_function_
        parts.append(
            pd.DataFrame(
                {
                    "group": group,
                    "time": curve.index.to_numpy(float),
                    "survival": curve.to_numpy(),
                    "lower": band.iloc[:, 0].to_numpy(),
                    "upper": band.iloc[:, 1].to_numpy(),
                    "at_risk": table["at_risk"].reindex(curve.index).to_numpy(int),
                }
            )
        )
    pd.concat(parts, ignore_index=True).to_csv(folder / "km.csv", index=False)
    _run_json(folder, "survival")


def _respond(demo: Path, folder: Path, *, newer: bool = True) -> None:
    from translocus.web.sections.treatment import growth_curves

    part = demo / "treatment_pdxe"
    folder.mkdir()
    names = ("metrics.csv", "categories.csv", "growth_fits.csv", "treatment_effects.csv",
             "synergy.csv", "tgi.csv")  # fmt: skip
    for name in names:
        shutil.copy(part / name, folder / name)
    if not newer:
        _run_json(folder, "respond")
        return
    fits = pd.read_csv(part / "growth_fits.csv")
    fits = fits[(fits["model"] == SPIDER_MODEL) & fits["converged"]].reset_index(drop=True)
    metrics = pd.read_csv(part / "metrics.csv")
    days = np.arange(0.0, 29.0, 4.0)
    curves = growth_curves(fits, days)
    rng = np.random.default_rng(5)
    rows = []
    for i, fit in fits.iterrows():
        for d, v in zip(days, curves[i], strict=True):
            rows.append((fit["model"], fit["arm"], fit["animal"], d, v * rng.uniform(0.9, 1.1)))
    volumes = pd.DataFrame(rows, columns=["model", "arm", "animal", "day", "volume"])
    volumes = volumes.merge(
        metrics[["model", "arm", "animal", "mrecist", "best_avg_response"]],
        on=["model", "arm", "animal"],
        how="left",
    )
    volumes.to_parquet(folder / "volumes.parquet", index=False)
    _run_json(folder, "respond")


def build_section_runs(demo: Path, out: Path) -> Path:
    """Run folders ``progress``, ``survival``, ``respond`` under ``out`` (a folder of runs).

    ``older_progress``, ``older_survival`` and ``older_respond`` hold only the files the
    older versions of the commands wrote (no measurements, forecasts, curves or volumes).
    """
    out.mkdir(parents=True, exist_ok=True)
    for name, build in (("progress", _progress), ("survival", _survival), ("respond", _respond)):
        for newer in (True, False):
            folder = out / (name if newer else f"older_{name}")
            if not (folder / "run.json").exists():
                build(demo, folder, newer=newer)
    return out
