"""Benchmark of the tumour-treatment engine on the PDX Encyclopedia.

Times the response metrics (mRECIST, best/average response, AUC, angle, growth rate) over
all 4,712 PDXE animal series, tumour growth inhibition, growth-model fits (fits per
second), the growth-rate treatment effects of every model × drug and synergy. Prints a
table and writes JSON.

Usage: python benchmarks/treatment.py [--repeats 5] [--out benchmarks/results/treatment.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from translocus.core.atomic import atomic_write_text


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/treatment.json"))
    args = parser.parse_args()

    from translocus.treatment.growth import GrowthModel, synergy, treatment_effects
    from translocus.treatment.metrics import (
        category_counts,
        response_metrics,
        tumor_growth_inhibition,
    )
    from translocus.treatment.study import read_pdxe

    t_read, study = _time(read_pdxe, 1)
    response_metrics(study)  # warm caches (series codes)
    t_metrics, metrics = _time(lambda: response_metrics(study), args.repeats)
    counts = category_counts(metrics)
    rows: list[dict[str, Any]] = [
        {"step": "read PDXE (67,445 rows)", "seconds": t_read, "items": len(study.records)},
        {"step": "response metrics, all series", "seconds": t_metrics, "items": len(metrics)},
    ]
    t_tgi, tgi = _time(lambda: tumor_growth_inhibition(study), 1)
    rows.append({"step": "TGI (T/C, ΔT/ΔC), all pairs", "seconds": t_tgi, "items": len(tgi)})
    for kind in ("exponential", "gompertz", "exponential_linear"):
        t_fit, fit = _time(lambda k=kind: GrowthModel(k).fit(study), 1)  # type: ignore[misc]
        rows.append(
            {
                "step": f"growth fits: {kind}",
                "seconds": t_fit,
                "items": len(fit.params_),
                "fits_per_second": len(fit.params_) / t_fit,
                "converged": float(fit.params_["converged"].mean()),
            }
        )
    t_eff, effects = _time(lambda: treatment_effects(study), 1)
    rows.append(
        {
            "step": "treatment effects (OLS + mixed), all pairs",
            "seconds": t_eff,
            "items": len(effects),
            "fits_per_second": len(effects) / t_eff,
        }
    )
    t_syn, syn = _time(lambda: synergy(study, tgi=tgi), 1)
    rows.append({"step": "Bliss / HSA synergy", "seconds": t_syn, "items": len(syn)})

    print(f"{'step':48s} {'seconds':>9s} {'items':>7s} {'per second':>11s}")
    for r in rows:
        rate = r.get("fits_per_second", r["items"] / r["seconds"] if r["seconds"] else 0)
        print(f"{r['step']:48s} {r['seconds']:9.3f} {r['items']:7d} {rate:11.0f}")
    total = counts.loc["total"]
    print(
        f"\nmRECIST over {int(total['total'])} series: CR {total['CR']}, PR {total['PR']}, "
        f"SD {total['SD']}, PD {total['PD']}, no category {total['NA']}"
    )
    print(counts.to_string())
    sig = effects["p_value"] < 0.05
    print(
        f"\n{len(effects)} growth-rate effects with intervals "
        f"({int(effects['ci_low'].notna().sum())} finite); p < 0.05: {int(sig.sum())} "
        f"(slower {int((sig & (effects['effect'] < 0)).sum())}, "
        f"faster {int((sig & (effects['effect'] > 0)).sum())})"
    )
    result = {
        "benchmark": "treatment",
        "machine": platform.platform(),
        "python": platform.python_version(),
        "repeats": args.repeats,
        "steps": rows,
        "mrecist_counts": {
            str(k): {c: int(v) for c, v in row.items()} for k, row in counts.iterrows()
        },
        "effects": {
            "pairs": len(effects),
            "finite_interval": int(effects["ci_low"].notna().sum()),
            "p_below_0_05": int(sig.sum()),
        },
    }
    atomic_write_text(args.out, json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
