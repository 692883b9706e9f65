"""Benchmark of the translation engine: table loading and genome-wide interval queries.

Measures, on the shared reference tables:

- loading: gene tables, orthology and the engine, from the parquet cache (warm) — and,
  with ``--cold``, from the CSVs into an empty cache folder;
- 1,000 random 5-Mbp mouse intervals (seeded, uniform over GRCm39 chromosomes 1–19, X, Y):
  one ``engine.interval`` call each (ranked candidates, counts and nearest loci), the same
  plus building each result's DataFrame, and one batch ``engine.intervals`` call that
  returns all candidates as a single DataFrame;
- translating all Ensembl one-to-one mouse genes by name.

Run: python benchmarks/translate.py [--out benchmarks/results/translate.json] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.translate.genes import load_genes
from translocus.translate.interval import TranslationEngine
from translocus.translate.orthology import load_orthology


def _intervals(n: int, width_mbp: float, seed: int) -> pd.DataFrame:
    from translocus.translate._chromosomes import CHROMOSOME_LENGTHS

    lengths = {k: v for k, v in CHROMOSOME_LENGTHS["GRCm39"].items() if k != "MT"}
    rng = np.random.default_rng(seed)
    chrs = rng.choice(list(lengths), size=n)
    starts = np.array([rng.uniform(0, lengths[c] / 1e6 - width_mbp) for c in chrs])
    return pd.DataFrame({"chr": chrs, "start_mbp": starts, "end_mbp": starts + width_mbp})


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(
    json_path: str | Path | None = "benchmarks/results/translate.json",
    *,
    repeat: int = 3,
    n_intervals: int = 1000,
    cold: bool = False,
) -> dict[str, object]:
    """Run the benchmark; return the results (and write them as JSON unless ``None``)."""
    results: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },  # fmt: skip
        "n_intervals": n_intervals,
        "interval_mbp": 5.0,
        "seed": 20260101,
    }
    rows: list[tuple[str, float, str]] = []
    if cold:
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["TRANSLOCUS_CACHE"] = tmp
            t0 = time.perf_counter()
            TranslationEngine()
            rows.append(("engine load, cold cache (CSV parse + cache write)",
                         time.perf_counter() - t0, "s"))  # fmt: skip
            del os.environ["TRANSLOCUS_CACHE"]
        from translocus.translate import assembly, genes, interval, loci, orthology

        for module in (genes, orthology, loci, interval, assembly):
            for name in dir(module):
                obj = getattr(module, name)
                if hasattr(obj, "cache_clear"):
                    obj.cache_clear()

    t0 = time.perf_counter()
    load_genes("mouse", "GRCm39")
    load_genes("human", "GRCh38")
    rows.append(("gene tables load (warm cache)", time.perf_counter() - t0, "s"))
    t0 = time.perf_counter()
    orth = load_orthology()
    rows.append(("orthology load (warm cache)", time.perf_counter() - t0, "s"))
    t0 = time.perf_counter()
    engine = TranslationEngine(orthology=orth)
    rows.append(("engine build (loci lift + joins)", time.perf_counter() - t0, "s"))

    queries = _intervals(n_intervals, 5.0, int(results["seed"]))  # type: ignore[call-overload]
    records = list(queries.itertuples(index=False))
    engine.interval(chr="7", start_mbp=18.9, end_mbp=19.9)  # warm-up

    def single() -> None:
        for q in records:
            engine.interval(chr=q.chr, start_mbp=q.start_mbp, end_mbp=q.end_mbp)

    def single_frames() -> None:
        for q in records:
            _ = engine.interval(chr=q.chr, start_mbp=q.start_mbp, end_mbp=q.end_mbp).candidates

    batch_holder: dict[str, pd.DataFrame] = {}

    def batch() -> None:
        batch_holder["table"] = engine.intervals(queries)

    t_single = _best(single, repeat)
    t_frames = _best(single_frames, repeat)
    t_batch = _best(batch, repeat)
    n_rows = len(batch_holder["table"])
    n_hits = int(batch_holder["table"]["near_locus"].sum())
    rows.append((f"{n_intervals} intervals, one call each", t_single, "s"))
    rows.append((f"{n_intervals} intervals, one call each + DataFrame", t_frames, "s"))
    rows.append((f"{n_intervals} intervals, one batch call (DataFrame)", t_batch, "s"))
    rows.append(("per interval (one call each)", 1e3 * t_single / n_intervals, "ms"))

    symbols = orth.one2one()["mouse_symbol"].unique().tolist()
    orth.mouse_to_human(["App"])  # load the name index
    t_names = _best(lambda: orth.mouse_to_human(symbols), 1)
    rows.append((f"{len(symbols):,} one-to-one mouse genes by name", t_names, "s"))

    results["timings"] = [{"step": s, "value": round(v, 4), "unit": u} for s, v, u in rows]
    results["batch_candidate_rows"] = n_rows
    results["batch_near_locus_rows"] = n_hits
    results["one2one_mouse_genes"] = len(symbols)
    width = max(len(s) for s, _, _ in rows)
    print(f"{'step':<{width}}  {'value':>10}  unit")
    for step, value, unit in rows:
        print(f"{step:<{width}}  {value:>10.4f}  {unit}")
    print(f"batch result: {n_rows:,} candidate rows, {n_hits:,} near an AD locus")
    if json_path is not None:
        atomic_write_text(Path(json_path), json.dumps(results, indent=2))
        print(f"wrote {json_path}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/translate.json")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--intervals", type=int, default=1000)
    parser.add_argument("--cold", action="store_true", help="also time a cold-cache load")
    args = parser.parse_args()
    run(args.out, repeat=args.repeat, n_intervals=args.intervals, cold=args.cold)


if __name__ == "__main__":
    main()
