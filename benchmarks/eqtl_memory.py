"""Where the streamed many-trait scan holds its memory: peak resident memory with its place.

Runs :func:`translocus.genetics.eqtl.eqtl_scan` (HK or LMM LOCO) on the cached simulated data
of ``benchmarks/eqtl_scale.py --large`` (2,000 DO mice x 70,000 markers; made by that
benchmark, reused here), on a subset of its traits and chromosomes, in one child process per
case. A thread samples the child's resident memory every 20 ms; at each new high it records
what every thread runs (the innermost translocus frames), so the table says what the scan
was doing when it peaked. Cases with ``memory=`` budgets show the budgeted plan (whole
chromosomes one at a time, smaller trait chunks) against the default, with their LODs
compared.

Run: ``nice python benchmarks/eqtl_memory.py [--traits 300] [--chromosomes 1,2,3,4]
[--methods lmm,hk] [--memory none,4G] [--out FILE]`` (``--chromosomes all``: every one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = Path("/tmp/translocus-eqtl-scale/do_2000x70000x2000")


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Sampler(threading.Thread):
    """Resident memory every ``every`` seconds; the threads' translocus frames at each high."""

    def __init__(self, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.peak = 0
        self.where: list[str] = []
        self._halt = threading.Event()

    def run(self) -> None:
        me = threading.get_ident()
        while not self._halt.is_set():
            rss = _rss()
            if rss > self.peak + (8 << 20):
                self.peak = rss
                where = []
                for ident, frame in sys._current_frames().items():
                    if ident == me:
                        continue
                    frames = [f for f in traceback.extract_stack(frame)
                              if "translocus" in f.filename]  # fmt: skip
                    if frames:
                        where.append(" <- ".join(f"{Path(f.filename).stem}.{f.name}:{f.lineno}"
                                                 for f in reversed(frames[-4:])))  # fmt: skip
                self.where = where
            self.peak = max(self.peak, rss)
            time.sleep(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def child(method: str, traits: int, chromosomes: str, memory: str | None, threads: int,
          lod_out: Path | None) -> dict[str, Any]:  # fmt: skip
    import pickle

    import pandas as pd

    from translocus.core.store import Store
    from translocus.genetics.eqtl import eqtl_scan

    with open(CACHE / "pheno.pkl", "rb") as handle:
        pheno = pickle.load(handle).iloc[:, :traits]  # noqa: S301 - our own cache
    with open(CACHE / "addcovar.pkl", "rb") as handle:
        addcovar = pickle.load(handle)  # noqa: S301
    probs = Store(CACHE / "probs", create=False).read_genoprobs("alleleprob", lazy=True)
    if chromosomes != "all":
        probs = probs.subset(chromosomes=chromosomes.split(","))
    kinship = None
    if method == "lmm":
        ids = list(pheno.index)
        with np.load(CACHE / "kinship.npz") as saved:
            kinship = {c: pd.DataFrame(saved[c], index=ids, columns=ids) for c in saved.files}
    base = _rss()
    sampler = Sampler()
    sampler.start()
    t0 = time.perf_counter()
    res = eqtl_scan(pheno, probs, kinship=kinship, addcovar=addcovar, threshold=6.0,
                    effects=False, threads=threads,
                    **({} if memory is None else {"memory": memory}))  # fmt: skip
    seconds = time.perf_counter() - t0
    sampler.stop()
    if lod_out is not None:
        res.max_lod.to_parquet(lod_out)
    return {"seconds": seconds, "inputs_rss_gb": base / 1e9, "peak_rss_gb": sampler.peak / 1e9,
            "at_peak": sampler.where, "peaks": len(res.peaks), "info": res.info}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traits", type=int, default=300)
    parser.add_argument("--chromosomes", default="1,2,3,4")
    parser.add_argument("--methods", default="lmm,hk")
    parser.add_argument("--memory", default="none,4G",
                        help="budgets to compare (none: the default)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "eqtl_memory.json")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lod-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, memory = args.child.split(":")
        out = child(method, args.traits, args.chromosomes, None if memory == "none" else memory,
                    args.threads, args.lod_out)  # fmt: skip
        print(json.dumps(out, default=str))
        return
    if not (CACHE / "kinship.npz").is_file():
        raise SystemExit(f"{CACHE}: run benchmarks/eqtl_scale.py --large first (it makes it)")
    result: dict[str, Any] = {
        "benchmark": "eqtl_memory", "data": str(CACHE), "traits": args.traits,
        "chromosomes": args.chromosomes, "threads": args.threads,
        "load_average_before": os.getloadavg(), "cases": [],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
    }  # fmt: skip
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for method in args.methods.split(","):
        lods = {}
        for memory in args.memory.split(","):
            lod_out = tmp / f"eqtl_memory_{os.getpid()}_{method}_{memory}.parquet"
            cmd = [sys.executable, __file__, "--child", f"{method}:{memory}", "--traits",
                   str(args.traits), "--chromosomes", args.chromosomes, "--threads",
                   str(args.threads), "--lod-out", str(lod_out)]  # fmt: skip
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-4000:])
            case = json.loads(proc.stdout.strip().splitlines()[-1])
            case.update(method=method, memory=memory, wall_s=time.perf_counter() - t0)
            import pandas as pd

            lods[memory] = pd.read_parquet(lod_out)
            lod_out.unlink()
            first = next(iter(lods.values()))
            case["max_abs_lod_difference_vs_first"] = float(np.nanmax(np.abs(
                lods[memory]["lod"].to_numpy() - first["lod"].to_numpy())))  # fmt: skip
            result["cases"].append(case)
            print(f"{method:4s} memory={memory:5s} {case['seconds']:8.1f} s  peak "
                  f"{case['peak_rss_gb']:.2f} GB (inputs {case['inputs_rss_gb']:.2f} GB)  "
                  f"chunks {case['info'].get('chunks')}  "
                  f"dLOD {case['max_abs_lod_difference_vs_first']:.1e}")  # fmt: skip
            for line in case["at_peak"]:
                print(f"      at peak: {line}")
    result["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
