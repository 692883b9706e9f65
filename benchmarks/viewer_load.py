"""Viewer under load: 50 clients on a 20,000-trait eqtl run of 742 mice x 6,400 markers.

The study: ``translocus simulate --cross do --n 742 --markers 6400 --genes 20000`` and
``translocus eqtl ... --kinship none --covar Sex --keep-lod`` (built once into ``--cache``,
or give an eqtl run folder with ``--run``). The server is the real command,
``translocus serve RUN --no-browser`` (uvicorn, one process), started as a subprocess; its
memory is read from /proc (resident set, and its peak ``VmHWM``).

Each of ``--clients`` clients (asyncio + httpx, in this one process, on the same machine)
repeats for ``--seconds`` (after one request of each kind has warmed the server): pick a random trait, request either its genome-wide LOD profile
(``/api/cause/lod``: one row of the zarr store per chromosome, as plotly JSON) or its allele
effects at its highest peak (``/api/cause/effects``; traits with a peak), then pause
``--pause`` seconds. Latency is measured per request, from send to the whole body read.

Prints a table (latency percentiles per request kind, throughput, server memory) and writes
JSON (default benchmarks/results/viewer_load.json). The load average at the start is
recorded, since the machine may be shared.

Run: nice python benchmarks/viewer_load.py [--clients 50] [--seconds 60] [--run EQTL_RUN]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from translocus.core.atomic import atomic_write_text
from translocus.core.runs import read_run

MICE, MARKERS, GENES = 742, 6400, 20_000


def _run(argv: list[str]) -> None:
    print("$ translocus " + " ".join(argv), flush=True)
    subprocess.run([sys.executable, "-m", "translocus.cli.main", *argv], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def build(cache: Path) -> Path:
    """The simulated study and its eqtl run (kept in ``cache`` for the next time)."""
    sim, run = cache / "sim", cache / "eqtl"
    if read_run(sim) is None:
        _run(["simulate", "--cross", "do", "--n", str(MICE), "--markers", str(MARKERS),
              "--genes", str(GENES), "--seed", "1", "--out", str(sim)])  # fmt: skip
    if read_run(run) is None:
        _run(["eqtl", str(sim / "sim.json"), "--traits", str(sim / "expression.parquet"),
              "--kinship", "none", "--covar", "Sex", "--keep-lod", "-o", str(run)])  # fmt: skip
    return run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of ``pid`` in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))


async def _client(http: Any, base: str, run_id: str, traits: list[str],
                  peaks: dict[str, str], until: float, pause: float,
                  records: list[tuple[str, float, int]], seed: int) -> None:  # fmt: skip
    rng = random.Random(seed)
    with_peaks = list(peaks)
    while time.monotonic() < until:
        if rng.random() < 0.5 or not with_peaks:
            kind, trait = "lod", rng.choice(traits)
            params = {"run": run_id, "trait": trait}
        else:
            kind, trait = "effects", rng.choice(with_peaks)
            params = {"run": run_id, "trait": trait, "chr": peaks[trait]}
        start = time.perf_counter()
        try:
            response = await http.get(f"{base}/api/cause/{kind}", params=params)
            await response.aread()
            status = response.status_code
        except Exception:  # a refused or dropped connection counts as an error
            status = 0
        records.append((kind, time.perf_counter() - start, status))
        await asyncio.sleep(pause)


async def _load(base: str, run_id: str, traits: list[str], peaks: dict[str, str],
                clients: int, seconds: float, pause: float, pid: int
                ) -> tuple[list[tuple[str, float, int]], list[float]]:  # fmt: skip
    import httpx

    records: list[tuple[str, float, int]] = []
    rss: list[float] = []
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as http:

        async def sample() -> None:
            while time.monotonic() < until:
                rss.append(_memory(pid)[0])
                await asyncio.sleep(0.5)

        tasks = [_client(http, base, run_id, traits, peaks, until, pause, records, seed=k)
                 for k in range(clients)]  # fmt: skip
        await asyncio.gather(sample(), *tasks)
    return records, rss


def _stats(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"n": 0}
    ms = values * 1000
    return {"n": int(len(ms)), "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "mean_ms": float(ms.mean())}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, help="an eqtl run folder (kept LODs); default: build one")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/translocus-viewer-load"))
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--pause", type=float, default=1.0)
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).parent / "results" / "viewer_load.json")  # fmt: skip
    args = ap.parse_args()
    import httpx
    import pandas as pd

    load_start = os.getloadavg()
    run = args.run or build(args.cache)
    record = read_run(run) or {}
    summary = record.get("summary") or {}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "translocus.cli.main", "serve", str(run), "--no-browser",
         "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                runs = httpx.get(f"{base}/api/runs", timeout=5).json()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the viewer did not start") from None
                time.sleep(0.2)
        run_id = runs[0]["id"]
        idle_rss = _memory(server.pid)[0]
        t0 = time.perf_counter()
        facts = httpx.get(f"{base}/api/cause/summary", params={"run": run_id}, timeout=120).json()
        first_summary_s = time.perf_counter() - t0
        traits = pd.read_parquet(run / "max_lod.parquet", columns=["trait"])["trait"]
        traits = [str(t) for t in traits]
        peaks_table = pd.read_parquet(run / "peaks.parquet", columns=["trait", "chr", "lod"])
        best = peaks_table.sort_values("lod").drop_duplicates("trait", keep="last")
        peaks = dict(zip(best["trait"].astype(str), best["chr"].astype(str), strict=True))
        t0 = time.perf_counter()
        httpx.get(f"{base}/api/cause/lod", params={"run": run_id, "trait": traits[0]}, timeout=120)
        first_lod_s = time.perf_counter() - t0
        # warm: the first effects request waits for the peaks grouped by trait
        some = next(iter(peaks))
        httpx.get(f"{base}/api/cause/effects", params={"run": run_id, "trait": some,
                                                        "chr": peaks[some]}, timeout=120)  # fmt: skip
        warm_s = time.perf_counter() - t0
        cpu_before = _cpu_seconds(server.pid)
        print(f"server up: {facts['n_traits']:,} traits, {facts.get('n_markers', 0):,} markers; "
              f"first summary {first_summary_s:.2f} s, first profile {first_lod_s:.2f} s; "
              f"{args.clients} clients for {args.seconds:g} s", flush=True)  # fmt: skip
        records, rss = asyncio.run(_load(base, run_id, traits, peaks, args.clients,
                                         args.seconds, args.pause, server.pid))  # fmt: skip
        rss_now, rss_peak = _memory(server.pid)
        server_cpu_s = _cpu_seconds(server.pid) - cpu_before
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    kinds = np.array([r[0] for r in records])
    latency = np.array([r[1] for r in records])
    ok = np.array([r[2] == 200 for r in records])
    rows = {kind: _stats(latency[(kinds == kind) & ok]) for kind in ("lod", "effects")}
    rows["all"] = _stats(latency[ok])
    result: dict[str, Any] = {
        "benchmark": "viewer_load",
        "study": {"mice": int(summary.get("n_samples", MICE)), "markers": facts.get("n_markers"),
                  "traits": facts.get("n_traits"), "peaks": facts.get("n_peaks"),
                  "run": str(run)},
        "clients": args.clients, "seconds": args.seconds, "pause_s": args.pause,
        "requests": len(records), "errors": int((~ok).sum()),
        "throughput_per_s": len(records) / args.seconds,
        "latency": rows,
        "server_memory_mb": {"idle": idle_rss, "mean": float(np.mean(rss)) if rss else None,
                             "max_sampled": float(np.max(rss)) if rss else None,
                             "peak_vmhwm": rss_peak, "end": rss_now},
        "first_summary_s": first_summary_s, "first_profile_s": first_lod_s,
        "warm_up_s": warm_s, "server_cpu_s": server_cpu_s,
        "server_cpu_ms_per_request": 1000 * server_cpu_s / max(len(records), 1),
        "cpus": os.cpu_count(), "load_average_start": list(load_start),
        "load_average_end": list(os.getloadavg()),
        "targets": {"p95_ms": 200, "server_memory_mb": 1024},
    }  # fmt: skip
    print(f"\n{'request':<10}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind, row in rows.items():
        if row["n"]:
            print(f"{kind:<10}{row['n']:>7}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}"
                  f"{row['p99_ms']:>10.1f}{row['max_ms']:>10.1f}")  # fmt: skip
    memory = result["server_memory_mb"]
    print(f"\n{len(records):,} requests ({result['throughput_per_s']:.1f}/s), "
          f"{result['errors']} errors; server memory: idle {memory['idle']:.0f} MB, "
          f"peak {memory['peak_vmhwm']:.0f} MB; server CPU "
          f"{result['server_cpu_ms_per_request']:.1f} ms per request; load average at start "
          f"{load_start[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
