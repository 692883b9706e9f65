"""Benchmark the cross simulator: seconds per design and size (prints a table, writes JSON).

Run: python benchmarks/bench_simulate.py [--out benchmarks/results/simulate.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from translocus.core.simulate import simulate_cross, write_simulated

CASES = [
    ("do", 500, 2_000),
    ("do", 500, 40_000),
    ("bxd", 198, 7_000),
    ("f2", 500, 2_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/simulate.json"))
    args = parser.parse_args()
    simulate_cross(cross_type="f2", n=10, n_markers=60, seed=0)  # numba compile / cache load
    rows = []
    for cross_type, n, markers in CASES:
        start = time.perf_counter()
        sim = simulate_cross(cross_type=cross_type, n=n, n_markers=markers, seed=1)  # type: ignore[arg-type]
        simulate_s = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            write_simulated(sim, Path(tmp) / "sim")
            write_s = time.perf_counter() - start
        rows.append(
            {
                "cross": cross_type,
                "n": n,
                "markers": markers,
                "chromosomes": len(sim.cross.chromosomes),
                "simulate_s": round(simulate_s, 3),
                "write_qtl2_s": round(write_s, 3),
            }
        )
        print(
            f"{cross_type:>4} n={n:>4} markers={markers:>6} chr={len(sim.cross.chromosomes)}"
            f"  simulate {simulate_s:7.2f} s  write R/qtl2 {write_s:7.2f} s",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
