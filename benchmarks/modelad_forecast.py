"""MODEL-AD: forecast every group's mean at its oldest age from its younger ages.

For every study family × mouse model × sex × tissue × measure with four or more ages in
MODEL-AD (the 5xFAD study family: 5xFAD and C57BL/6J at 4, 8, 12 and 18 months), the
18-month animals are held out, :class:`AgeTrajectoryModel` (defaults, ``n_boot=0``) is
fitted on the rest of MODEL-AD and forecasts the group mean at 18 months; the baselines
carry the 12-month mean forward and extend the least-squares line through the 4, 8 and 12
month means. Everything is on ``log(value + offset)``, ``offset`` half the smallest
positive value of the measure and tissue in the training rows (0 when all are positive),
the model's own scale (:func:`~translocus.progression.trajectory.oldest_age_backtest`).

Two designs: the study family as a group column (each family's groups fitted apart), and
the study family as a covariate of ``mouse_model`` × ``sex`` groups (the Abca7 and Trem2
families' 5xFAD animals, measured at 4 and 12 months, share the curve's shape with a level
of their own). Printed per measure: median absolute log error of the model and of the two
baselines, and the coverage of the calibrated 90% intervals.

Run: python benchmarks/modelad_forecast.py [--out benchmarks/results/modelad_forecast.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.progression.data import read_model_ad
from translocus.progression.trajectory import (
    AgeTrajectoryModel,
    oldest_age_backtest,
    summarise_backtest,
)

#: The two designs: keyword arguments of ``oldest_age_backtest``.
DESIGNS: dict[str, dict[str, list[str]]] = {
    "family_as_group": {"group": ["model_group", "mouse_model", "sex"], "covariates": []},
    "family_as_covariate": {"group": ["mouse_model", "sex"], "covariates": ["model_group"]},
}


def run_design(table: object, name: str) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """The backtest table, its per-measure summary and the seconds it took."""
    start = time.perf_counter()
    result = oldest_age_backtest(table, model=AgeTrajectoryModel(n_boot=0), **DESIGNS[name])
    seconds = time.perf_counter() - start
    return result, summarise_backtest(result), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/modelad_forecast.json")
    args = parser.parse_args()
    table = read_model_ad()
    report: dict[str, object] = {
        "description": __doc__.split("\n\n")[1].replace("\n", " "),
        "machine": platform.platform(),
        "offset": "half the smallest positive value of the measure and tissue in the "
        "training rows; 0 when all values are positive",
    }
    for name in DESIGNS:
        result, summary, seconds = run_design(table, name)
        print(f"\n{name}: {len(result)} held-out group means, {seconds:.1f} s")
        shown = summary.rename(
            columns={
                "error_model": "model",
                "error_carry_forward": "carry",
                "error_linear_trend": "linear",
                "coverage_0.9": "cover90",
            }
        )
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        report[name] = {
            "seconds": round(seconds, 2),
            "n_groups": len(result),
            "per_measure": summary.to_dict(orient="records"),
            "groups": result.to_dict(orient="records"),
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(report, indent=1, default=float) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
