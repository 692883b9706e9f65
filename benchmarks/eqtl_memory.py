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

``--eigen [--eigen-cases before,memory,disk]`` compares the LOCO decompositions made once per scan (``lmm.eigen_store``) with
how they were made before, LMM LOCO in ``--chunk-traits`` chunks (default 64 traits in 4
chunks of 16 on chromosomes 1-3): *before* has no store, the former cache key (blake2b of a
copy of the matrix) and the 256 MB cache scaled to the chromosomes scanned (at 2,000 mice it
held 8 of the 20 decompositions: here ``max(1, 8 x chromosomes / 20)`` of them), so that, as
in the whole-genome run, a cyclic walk over the chromosomes never finds one; *memory* and
*disk* keep them in memory (default budget) or in the temporary folder (a budget that the
probabilities and the LOD table take whole). Each case counts the eigen-decompositions
(``numpy.linalg.eigh`` of a matrix of all mice) and compares its LODs with the first case's
(the same bits expected); a case named again runs again (the spread of its times is the
noise of the machine). JSON to ``results/eqtl_memory_eigen.json``.
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


def _as_before(n_chromosomes: int, n_samples: int) -> None:
    """The LOCO decompositions as they were made before ``eigen_store`` (``--eigen``)."""
    import contextlib
    import hashlib

    from translocus.genetics import eqtl, lmm

    def blake2b_key(values: np.ndarray, samples: tuple[str, ...]) -> bytes:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(values.tobytes())
        digest.update("\0".join(samples).encode())
        return digest.digest()

    lmm._content_key = blake2b_key  # type: ignore[assignment]
    lmm.eigen_store = lambda names, memory_bytes=0: contextlib.nullcontext(  # type: ignore[assignment]
        None)  # fmt: skip
    planned = eqtl.memory_plan

    def plan_without_store(*args: Any, **kwargs: Any) -> Any:
        return planned(*args, **{**kwargs, "decompositions": 0})

    eqtl.memory_plan = plan_without_store  # type: ignore[assignment]
    held = max(1, 8 * n_chromosomes // 20)  # as 8 of 20 at 2,000 mice
    lmm.EIGEN_CACHE_BYTES = held * 8 * n_samples * n_samples


def _count_eighs(n_samples: int) -> list[float]:
    """Seconds of each ``numpy.linalg.eigh`` of an all-mice matrix from now on."""
    seconds: list[float] = []
    original = np.linalg.eigh

    def counted(a: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = original(a, *args, **kwargs)
        if np.shape(a)[0] == n_samples:
            seconds.append(time.perf_counter() - t0)
        return out

    np.linalg.eigh = counted  # type: ignore[assignment]
    return seconds


def child(method: str, traits: int, chromosomes: str, memory: str | None, threads: int,
          lod_out: Path | None, eigen: str | None = None,
          chunk_traits: int | None = None) -> dict[str, Any]:  # fmt: skip
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
            names = [c for c in saved.files if eigen is None or c in probs.chromosomes]
            kinship = {c: pd.DataFrame(saved[c], index=ids, columns=ids) for c in names}
    n_samples = len(pheno.index)
    if eigen == "before":
        _as_before(len(probs.chromosomes), n_samples)
    if eigen == "disk":  # the probabilities and the LOD table take the whole budget
        block = max(int(np.prod(probs[c].shape[:2])) * (probs[c].shape[2] - 1) * 8
                    for c in probs.chromosomes)  # fmt: skip
        memory = str(threads * block + (256 << 20))
    eighs = _count_eighs(n_samples)
    base = _rss()
    sampler = Sampler()
    sampler.start()
    t0 = time.perf_counter()
    res = eqtl_scan(pheno, probs, kinship=kinship, addcovar=addcovar, threshold=6.0,
                    effects=False, threads=threads, chunk_traits=chunk_traits,
                    **({} if memory is None else {"memory": memory}))  # fmt: skip
    seconds = time.perf_counter() - t0
    sampler.stop()
    if lod_out is not None:
        res.max_lod.to_parquet(lod_out)
    return {"seconds": seconds, "inputs_rss_gb": base / 1e9, "peak_rss_gb": sampler.peak / 1e9,
            "at_peak": sampler.where, "peaks": len(res.peaks), "info": res.info,
            "eigh_calls": len(eighs), "eigh_seconds": sum(eighs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traits", type=int, default=300)
    parser.add_argument("--chromosomes", default="1,2,3,4")
    parser.add_argument("--methods", default="lmm,hk")
    parser.add_argument("--memory", default="none,4G",
                        help="budgets to compare (none: the default)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eigen", action="store_true",
                        help="LOCO decompositions made once per scan against before")  # fmt: skip
    parser.add_argument("--eigen-cases", default="before,memory,disk")
    parser.add_argument("--chunk-traits", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--lod-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        method, memory, eigen = (args.child.split(":") + [""])[:3]
        out = child(method, args.traits, args.chromosomes, None if memory == "none" else memory,
                    args.threads, args.lod_out, eigen or None, args.chunk_traits)  # fmt: skip
        print(json.dumps(out, default=str))
        return
    if args.eigen:  # defaults of the comparison
        if args.traits == 300:
            args.traits = 64
        if args.chromosomes == "1,2,3,4":
            args.chromosomes = "1,2,3"
        args.chunk_traits = args.chunk_traits or 16
        cases = [("lmm", "none", eigen) for eigen in args.eigen_cases.split(",")]
    else:
        cases = [(method, memory, "") for method in args.methods.split(",")
                 for memory in args.memory.split(",")]  # fmt: skip
    if args.out is None:
        args.out = HERE / "results" / ("eqtl_memory_eigen.json" if args.eigen
                                       else "eqtl_memory.json")  # fmt: skip
    if not (CACHE / "kinship.npz").is_file():
        raise SystemExit(f"{CACHE}: run benchmarks/eqtl_scale.py --large first (it makes it)")
    result: dict[str, Any] = {
        "benchmark": "eqtl_memory", "data": str(CACHE), "traits": args.traits,
        "chromosomes": args.chromosomes, "threads": args.threads,
        "chunk_traits": args.chunk_traits,
        "load_average_before": os.getloadavg(), "cases": [],
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
    }  # fmt: skip
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    lods: dict[tuple[str, str], Any] = {}
    for number, (method, memory, eigen) in enumerate(cases):
        name = f"{method}_{memory}_{eigen}_{number}"
        lod_out = tmp / f"eqtl_memory_{os.getpid()}_{name}.parquet"
        cmd = [sys.executable, __file__, "--child", f"{method}:{memory}:{eigen}", "--traits",
               str(args.traits), "--chromosomes", args.chromosomes, "--threads",
               str(args.threads), "--lod-out", str(lod_out)]  # fmt: skip
        if args.chunk_traits:
            cmd += ["--chunk-traits", str(args.chunk_traits)]
        t0 = time.perf_counter()
        load = os.getloadavg()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-4000:])
        case = json.loads(proc.stdout.strip().splitlines()[-1])
        case.update(method=method, memory=memory, wall_s=time.perf_counter() - t0,
                    load_average_before=load, load_average_after=os.getloadavg())  # fmt: skip
        if eigen:
            case["eigen"] = eigen
        import pandas as pd

        lods[(method, name)] = pd.read_parquet(lod_out)
        lod_out.unlink()
        first = next(v for k, v in lods.items() if k[0] == method)
        case["max_abs_lod_difference_vs_first"] = float(np.nanmax(np.abs(
            lods[(method, name)]["lod"].to_numpy() - first["lod"].to_numpy())))  # fmt: skip
        result["cases"].append(case)
        label = f"{method:4s} memory={memory:5s}" + (f" {eigen:6s}" if eigen else "")
        print(f"{label} {case['seconds']:8.1f} s  peak "
              f"{case['peak_rss_gb']:.2f} GB (inputs {case['inputs_rss_gb']:.2f} GB)  "
              f"chunks {case['info'].get('chunks')}  eigh {case['eigh_calls']} "
              f"({case['eigh_seconds']:.1f} s)  "
              f"dLOD {case['max_abs_lod_difference_vs_first']:.1e}")  # fmt: skip
        for line in case["at_peak"]:
            print(f"      at peak: {line}")
    result["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
