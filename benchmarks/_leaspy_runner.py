"""Fit Leaspy on the progression benchmark's split; run inside benchmarks/.venv-leaspy.

Usage: python _leaspy_runner.py WORKDIR N_ITER

Reads WORKDIR/train.csv and WORKDIR/history.csv (columns ID, TIME, one column per
feature, on the standardised analysis scale) and WORKDIR/targets.csv (ID, TIME); writes
WORKDIR/leaspy_predictions.csv (ID, TIME, features) and WORKDIR/leaspy_timing.json.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> None:
    workdir = Path(sys.argv[1])
    n_iter = int(sys.argv[2])
    from leaspy.io.data import Data
    from leaspy.models import LinearModel

    train = pd.read_csv(workdir / "train.csv", dtype={"ID": str})
    history = pd.read_csv(workdir / "history.csv", dtype={"ID": str})
    targets = pd.read_csv(workdir / "targets.csv", dtype={"ID": str})
    features = [c for c in train.columns if c not in ("ID", "TIME")]
    model = LinearModel(name="bench", source_dimension=max(len(features) - 1, 0))
    start = time.perf_counter()
    model.fit(
        Data.from_dataframe(train.set_index(["ID", "TIME"])),
        "mcmc_saem",
        n_iter=n_iter,
        seed=0,
        progress_bar=False,
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    individual = model.personalize(
        Data.from_dataframe(history.set_index(["ID", "TIME"])),
        "scipy_minimize",
        seed=0,
        progress_bar=False,
    )
    times = {i: sorted(g["TIME"].unique().tolist()) for i, g in targets.groupby("ID")}
    estimates = model.estimate(times, individual)
    rows = []
    for animal, ages in times.items():
        values = np.asarray(estimates[animal])
        for j, age in enumerate(ages):
            rows.append({"ID": animal, "TIME": age, **dict(zip(features, values[j], strict=True))})
    pd.DataFrame(rows).to_csv(workdir / "leaspy_predictions.csv", index=False)
    (workdir / "leaspy_timing.json").write_text(
        json.dumps(
            {
                "fit_seconds": fit_seconds,
                "personalize_seconds": time.perf_counter() - start,
                "n_iter": n_iter,
                "noise_std": [float(v) for v in np.ravel(model.parameters["noise_std"])]
                if "noise_std" in getattr(model, "parameters", {})
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
