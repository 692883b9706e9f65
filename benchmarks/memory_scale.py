"""Peak memory and time of genoprob -> alleleprob -> kinship -> LMM LOCO at study size.

A simulated DO (:func:`translocus.core.simulate.simulate_cross`, GigaMUGA-like density) of
2,000 mice x 20,000 and x 110,000 markers with 5 traits. Each step runs in its own child
process; its peak resident memory is the child's own high-water mark (``ru_maxrss`` from
``wait4``), its time the wall seconds:

- ``genoprob``: genotype probabilities chromosome by chromosome in blocks of animals, reduced to
  allele probabilities and written to a store (``genotype_probabilities(..., store=)``);
- ``kinship``: LOCO kinship from the stored allele probabilities, read a chromosome at a time;
- ``scan``: LMM LOCO scan of the 5 traits from the store and the kinships;
- ``command``: the whole ``translocus scan CROSS --kinship loco -o DIR`` (reading the cross,
  probabilities to a temporary store, kinship, scan, peaks, effects at the peaks, report);
- ``before`` (20,000 markers only): the in-memory path (every chromosome's genotype
  probabilities held, as before) - genotype and allele probabilities, kinship and scan in one
  process - and ``command-before``: the command with a memory budget that keeps everything
  in memory. Their LODs are compared with the streamed scan's.

The simulated cross is written once to ``--cache`` (a pickle for the steps, R/qtl2 files for
the command). Run: ``nice python benchmarks/memory_scale.py [--markers 20000,110000]
[--steps genoprob,kinship,scan,command,before] [--cache DIR] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

N_MICE = 2000
N_TRAITS = 5
SEED = 20261206
STEPS = ("genoprob", "kinship", "scan", "command", "before", "command-before")
#: Targets of peak resident memory (GB) for the streamed pipeline per marker count.
TARGET_GB = {20000: 4.0, 110000: 8.0}


def _folder(cache: Path, markers: int, mice: int = N_MICE) -> Path:
    return cache / f"do_{mice}x{markers}"


def simulate(cache: Path, markers: int, mice: int = N_MICE) -> Path:
    """The simulated cross of ``mice`` x ``markers`` in ``cache`` (made once)."""
    from translocus.core.qtl2io import write_cross
    from translocus.core.simulate import simulate_cross

    folder = _folder(cache, markers, mice)
    if (folder / "cross.pkl").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    sim = simulate_cross(cross_type="do", n=mice, n_markers=markers, seed=SEED,
                         n_traits=N_TRAITS)  # fmt: skip
    write_cross(sim.cross, folder / "files", name="do")
    with open(folder / "cross.tmp", "wb") as handle:
        pickle.dump(sim.cross, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(folder / "cross.tmp", folder / "cross.pkl")
    return folder


def _cross(folder: Path) -> Any:
    with open(folder / "cross.pkl", "rb") as handle:
        return pickle.load(handle)


def run_step(step: str, folder: Path) -> dict[str, Any]:
    """One step, in this process (the parent measures its memory)."""
    import shutil

    import pandas as pd

    from translocus.core.runs import RunLog
    from translocus.core.store import Store
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.scan import scan
    from translocus.pipelines.genoprob import genotype_probabilities

    out: dict[str, Any] = {}
    cross = _cross(folder) if step in ("genoprob", "before", "scan") else None
    if step == "genoprob":
        assert cross is not None
        shutil.rmtree(folder / "probs", ignore_errors=True)
        log = RunLog()
        t0 = time.perf_counter()
        genotype_probabilities(cross, 0.002, "c-f", log, store=Store(folder / "probs"))
        out["seconds"] = time.perf_counter() - t0
        out["block"] = next(r["n"] for r in log.rows if "block" in r["what"])
        return out
    if step == "kinship":
        alleles = Store(folder / "probs", create=False).read_genoprobs("alleleprob", lazy=True)
        t0 = time.perf_counter()
        kinship = calc_kinship(alleles, type="loco")
        out["seconds"] = time.perf_counter() - t0
        np.savez(folder / "kinship.npz", **{c: k.values for c, k in kinship.items()})
        return out
    if step == "scan":
        assert cross is not None
        alleles = Store(folder / "probs", create=False).read_genoprobs("alleleprob", lazy=True)
        with np.load(folder / "kinship.npz") as saved:
            ids = list(alleles.samples)
            kinship = {c: pd.DataFrame(saved[c], index=ids, columns=ids) for c in saved.files}
        t0 = time.perf_counter()
        result = scan(cross.pheno, alleles, kinship=kinship)
        out["seconds"] = time.perf_counter() - t0
        np.save(folder / "lod_streamed.npy", result.lod.to_numpy())
        return out
    if step == "before":
        assert cross is not None
        t0 = time.perf_counter()
        _, alleles = genotype_probabilities(cross, 0.002, "c-f", RunLog(), memory=1 << 40)
        out["genoprob_seconds"] = time.perf_counter() - t0
        kinship = calc_kinship(alleles, type="loco")
        out["kinship_seconds"] = time.perf_counter() - t0 - out["genoprob_seconds"]
        result = scan(cross.pheno, alleles, kinship=kinship)
        out["seconds"] = time.perf_counter() - t0
        np.save(folder / "lod_in_memory.npy", result.lod.to_numpy())
        return out
    raise SystemExit(f"unknown step {step!r}; use one of {', '.join(STEPS)}")


def measure(step: str, folder: Path) -> dict[str, Any]:
    """Run ``step`` in a child process: its wall time and peak resident memory."""
    env = dict(os.environ)
    if step in ("command", "command-before"):
        out_dir = folder / f"run_{step}"
        if step == "command-before":
            env["TRANSLOCUS_MEMORY"] = "1T"
        args = [sys.executable, "-m", "translocus.cli.main", "scan",
                str(folder / "files" / "do.json"), "--kinship", "loco", "-o", str(out_dir)]  # fmt: skip
    else:
        args = [sys.executable, __file__, "--child", step, "--cache", str(folder.parent),
                "--markers", folder.name.split("x")[-1],
                "--mice", folder.name.split("_")[-1].split("x")[0]]  # fmt: skip
    t0 = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    text = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if child.returncode != 0:
        raise SystemExit(f"step {step} failed (exit {child.returncode})")
    lines = [line for line in text.splitlines() if line.startswith("{")]
    inner = json.loads(lines[-1]) if lines and "--child" in args else {}
    if step.startswith("command"):  # the command's own steps, from its run.json
        record = json.loads((folder / f"run_{step}" / "run.json").read_text())
        inner = {"run_steps_s": {s["name"]: s["wall_s"] for s in record["steps"]},
                 "rows": [r for r in record["rows"] if "block" in r["what"]]}  # fmt: skip
    return {"step": step, "wall_s": round(wall, 2), "peak_rss_gb": round(usage.ru_maxrss / 1e6, 3),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in inner.items()}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markers", default="20000")
    parser.add_argument("--mice", type=int, default=N_MICE)
    parser.add_argument("--steps", default="genoprob,kinship,scan,command")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/translocus-memory-scale"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                        "memory_scale.json")  # fmt: skip
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder = _folder(args.cache, int(args.markers), args.mice)
        print(json.dumps(run_step(args.child, folder)))
        return
    results: dict[str, Any] = {}
    if args.out.is_file():
        results = json.loads(args.out.read_text())
    cases = results.setdefault("cases", {})
    for markers in (int(m) for m in args.markers.split(",")):
        t0 = time.perf_counter()
        folder = simulate(args.cache, markers, args.mice)
        print(
            f"{args.mice:,} DO x {markers:,} markers: cross ready ({time.perf_counter() - t0:.0f} s)"
        )
        case = cases.setdefault(f"{args.mice}x{markers}", {"mice": args.mice, "markers": markers,
                                               "traits": N_TRAITS, "steps": {}})  # fmt: skip
        for step in args.steps.split(","):
            row = measure(step, folder)
            case["steps"][step] = row
            print(f"  {step:15s} {row['wall_s']:8.1f} s  peak {row['peak_rss_gb']:6.2f} GB")
            _save(args.out, results)  # after each step: a long run stopped early keeps it
        a, b = folder / "lod_in_memory.npy", folder / "lod_streamed.npy"
        if a.is_file() and b.is_file():
            diff = float(np.nanmax(np.abs(np.load(a) - np.load(b))))
            case["max_abs_lod_difference_streamed_vs_in_memory"] = diff
            print(f"  max |LOD streamed - in memory| = {diff:.3g}")
        streamed = [case["steps"][s]["peak_rss_gb"] for s in ("genoprob", "kinship", "scan",
                                                               "command") if s in case["steps"]]  # fmt: skip
        if streamed:
            case["peak_rss_gb_streamed"] = max(streamed)
            case["target_gb"] = TARGET_GB.get(markers)
    _save(args.out, results)
    print(f"wrote {args.out}")


def _save(path: Path, results: dict[str, Any]) -> None:
    results["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(),
                          "python": platform.python_version()}  # fmt: skip
    results["notes"] = ("peak RSS is each child process's ru_maxrss; 'before' is the in-memory "
                        "path (all genotype probabilities held), run on 20,000 markers only")  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
