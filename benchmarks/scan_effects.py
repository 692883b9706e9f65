"""Time of ``translocus scan``'s "allele effects at peaks" step at study size, before and after.

Data: the simulated DO of ``benchmarks/memory_scale.py`` (``simulate()``, seeded: 2,000 mice x
20,000 markers, 5 traits by default; ``--mice``, ``--markers``) in its ``--cache`` folder. Made
once there, as the command makes them: the allele probabilities in a store (read back lazily,
a chromosome at a time), the LOCO kinship (``calc_kinship(..., type="loco")``), the LMM LOCO
scan of every trait and its peaks (threshold 6, LOD drop 1.5: ``ScanRequest``'s defaults).

Timed: the scan pipeline's own peak-effects function (``pipelines.scan._peak_effects``:
``scan1coef`` and ``scan1blup`` with SEs at the peak marker of each of the highest peaks,
``scan1coef`` along the chromosome of the highest ones) with those inputs, wall and CPU
seconds (``time.process_time``, all threads), with the decomposition cache of
:mod:`translocus.genetics.lmm` emptied before each run, so every run makes its own
decompositions (the floor: one ``eigh`` per LOCO chromosome with a peak). The ``eigh`` calls
of the step are counted and timed (``np.linalg.eigh`` wrapped). Each code state runs in its
own child process after one untimed warm-up run (compiled kernels); ``--baseline-src DIR`` (the
``src`` folder of another checkout, e.g. ``git archive <commit> src | tar -x -C /tmp/base``)
is the code before, run first, then this one, and every estimate and SE of the two is
compared: the largest absolute difference, the largest relative one (of the values above 1e-6
of the table's largest: centred effects near 0 have relative differences that say nothing) and
the largest relative to the table's largest value.

Run it alone on the machine::

    flock /tmp/translocus-bench.lock nice -n 5 python benchmarks/scan_effects.py
        [--mice 2000] [--markers 20000] [--repeat 2] [--baseline-src DIR]
        [--cache DIR] [--out benchmarks/results/scan_effects.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE = Path("/tmp/translocus-memory-scale")


def _folder(opts: argparse.Namespace) -> Path:
    sys.path.insert(0, str(HERE))
    import memory_scale

    return memory_scale._folder(opts.cache, opts.markers, opts.mice)


def prepare(opts: argparse.Namespace) -> Path:
    """The cross, its stored allele probabilities, LOCO kinship, scan and peaks (made once)."""
    sys.path.insert(0, str(HERE))
    import memory_scale

    from translocus.core.runs import RunLog
    from translocus.core.store import Store
    from translocus.genetics.kinship import calc_kinship
    from translocus.genetics.peaks import find_peaks
    from translocus.genetics.scan import cross_covariates, scan
    from translocus.genetics.spec import ModelSpec
    from translocus.pipelines.genoprob import genotype_probabilities
    from translocus.pipelines.scan import ScanRequest, _check_names, _map_name

    folder = memory_scale.simulate(opts.cache, opts.markers, opts.mice)
    done = folder / "scan_effects_inputs.pkl"
    if done.is_file():
        return folder
    cross = memory_scale._cross(folder)
    t0 = time.perf_counter()
    if not (folder / "probs").is_dir():
        genotype_probabilities(cross, 0.002, "c-f", RunLog(), store=Store(folder / "probs"))
    alleles = Store(folder / "probs", create=False).read_genoprobs("alleleprob", lazy=True)
    kinship = calc_kinship(alleles, type="loco")
    request = ScanRequest(kinship="loco")
    names, covar_names, _ = _check_names(cross, request)
    pheno = cross.pheno[names].copy()
    pheno.index = [str(i) for i in pheno.index]
    addcovar, xcovar = cross_covariates(cross, covar_names)
    spec = ModelSpec(pheno, kinship=kinship, addcovar=addcovar, Xcovar=xcovar)
    result = scan(spec, alleles)
    map_name = _map_name(request, result)
    peaks = find_peaks(result, map_name=map_name, threshold=[request.threshold] * len(names),
                       drop=request.drop)  # fmt: skip
    inputs = {"result": result, "peaks": peaks, "pheno": pheno, "addcovar": addcovar,
              "kinship": kinship, "map_name": map_name}  # fmt: skip
    with open(folder / "scan_effects_inputs.tmp", "wb") as handle:
        pickle.dump(inputs, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(folder / "scan_effects_inputs.tmp", done)
    print(f"inputs made in {time.perf_counter() - t0:.0f} s: {len(peaks)} peaks")
    return folder


def child(opts: argparse.Namespace) -> None:
    """Time the step (in a process whose ``translocus`` is the one on ``sys.path``)."""
    import translocus.genetics.lmm as lmm
    from translocus.core.runs import RunLog
    from translocus.core.store import Store
    from translocus.pipelines.scan import _peak_effects

    folder = _folder(opts)
    with open(folder / "scan_effects_inputs.pkl", "rb") as handle:
        inputs = pickle.load(handle)
    alleles = Store(folder / "probs", create=False).read_genoprobs("alleleprob", lazy=True)
    eighs: list[float] = []
    plain_eigh = np.linalg.eigh

    def timed_eigh(a: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = plain_eigh(a, *args, **kwargs)
        eighs.append(time.perf_counter() - t0)
        return out

    np.linalg.eigh = timed_eigh  # type: ignore[assignment]

    def run() -> tuple[Any, Any]:
        return _peak_effects(inputs["result"], inputs["peaks"], inputs["pheno"], alleles,
                             inputs["kinship"], inputs["addcovar"], inputs["map_name"],
                             RunLog())  # fmt: skip

    if opts.warm:
        run()
    walls, cpus, counts, eigh_s = [], [], [], []
    out: tuple[Any, Any] = (None, None)
    for _ in range(opts.repeat):
        lmm._EIGEN_CACHE.clear()
        eighs.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        out = run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        counts.append(len(eighs))
        eigh_s.append(sum(eighs))
    with open(opts.child_out, "wb") as handle:
        pickle.dump(out, handle, protocol=pickle.HIGHEST_PROTOCOL)
    best = int(np.argmin(walls))
    print(json.dumps({"wall_s": walls[best], "cpu_s": cpus[best], "walls_s": walls,
                      "eigh_calls": counts[best], "eigh_s": eigh_s[best],
                      "source": str(Path(lmm.__file__).resolve().parents[2])}))  # fmt: skip


def _in_child(src: Path, opts: argparse.Namespace, out: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src))
    cmd = [sys.executable, __file__, "--child", "--cache", str(opts.cache), "--mice",
           str(opts.mice), "--markers", str(opts.markers), "--repeat", str(opts.repeat),
           "--child-out", str(out)] + ([] if opts.warm else ["--no-warm"])  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"the effects of {src} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _differences(before: Any, after: Any) -> dict[str, float]:
    """Largest absolute and relative difference of every estimate and SE, both tables."""
    out: dict[str, float] = {}
    keys = {"at_peaks": ["lodcolumn", "chr", "pos", "method", "coefficient"],
            "along": ["peak", "marker", "coefficient"]}  # fmt: skip
    for name, a, b in zip(("at_peaks", "along"), before, after, strict=True):
        if len(a) != len(b):
            raise SystemExit(f"{name}: {len(a)} rows before, {len(b)} after")
        both = a.merge(b, on=keys[name], suffixes=("_a", "_b"), validate="one_to_one")
        if len(both) != len(a):
            raise SystemExit(f"{name}: the rows before and after differ")
        for column in ("estimate", "se"):
            x = both[f"{column}_a"].to_numpy(dtype=float)
            y = both[f"{column}_b"].to_numpy(dtype=float)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                raise SystemExit(f"{name} {column}: missing in one and not the other")
            ok = ~np.isnan(x)
            diff = np.abs(x[ok] - y[ok])
            size = np.abs(x[ok])
            top = float(size.max(initial=0.0))
            # relative to each value, leaving out the values near 0 (centred effects) whose
            # relative difference says nothing; and to the largest value of the table
            big = size > 1e-6 * top
            out[f"{name}_{column}_max_abs"] = float(diff.max(initial=0.0))
            out[f"{name}_{column}_max_rel"] = float((diff[big] / size[big]).max(initial=0.0))
            out[f"{name}_{column}_max_rel_to_largest"] = float(diff.max(initial=0.0)) / (top or 1.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mice", type=int, default=2000)
    parser.add_argument("--markers", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--baseline-src", type=Path, default=None)
    parser.add_argument("--baseline-note", default="")
    parser.add_argument("--no-warm", dest="warm", action="store_false",
                        help="skip the untimed warm-up run")  # fmt: skip
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scan_effects.json")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts)
        return
    folder = prepare(opts)
    with open(folder / "scan_effects_inputs.pkl", "rb") as handle:
        inputs = pickle.load(handle)
    peaks = inputs["peaks"]
    sources = {"after": HERE.parent / "src"}
    if opts.baseline_src is not None:
        sources = {"before": opts.baseline_src.resolve(), **sources}
    load = [os.getloadavg()[0]]
    rows: dict[str, dict[str, Any]] = {}
    tables: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, src in sources.items():
            path = Path(tmp) / f"{name}.pkl"
            rows[name] = _in_child(src, opts, path)
            with open(path, "rb") as handle:
                tables[name] = pickle.load(handle)
    load.append(os.getloadavg()[0])
    top = peaks.sort_values("lod", ascending=False).head(50)
    print(f"{opts.mice:,} DO mice x {opts.markers:,} markers: {len(peaks)} peaks on "
          f"{top['chr'].nunique()} chromosomes ({len(top)} with effects), "
          f"{len(tables['after'][1]['peak'].unique())} along a chromosome")  # fmt: skip
    head = ("code", "wall s", "CPU s", "eighs", "eigh s", "per peak s")
    print(f"{head[0]:8s} {head[1]:>8s} {head[2]:>8s} {head[3]:>6s} {head[4]:>8s} {head[5]:>11s}")
    for name, row in rows.items():
        print(f"{name:8s} {row['wall_s']:8.2f} {row['cpu_s']:8.2f} {row['eigh_calls']:6d} "
              f"{row['eigh_s']:8.2f} {row['wall_s'] / max(len(top), 1):11.3f}")  # fmt: skip
    result: dict[str, Any] = {
        "mice": opts.mice, "markers": opts.markers, "peaks": len(peaks),
        "peaks_with_effects": len(top), "peak_chromosomes": int(top["chr"].nunique()),
        "peaks_along": int(len(tables["after"][1]["peak"].unique())), "repeat": opts.repeat,
        "runs": rows, "load_average_before_after": load,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "time_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }  # fmt: skip
    if "before" in tables:
        diffs = _differences(tables["before"], tables["after"])
        result["differences_before_after"] = diffs
        result["baseline_note"] = opts.baseline_note
        for key, value in diffs.items():
            print(f"  {key:40s} {value:.3g}")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
