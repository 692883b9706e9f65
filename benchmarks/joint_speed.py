"""Fit time of the SLAM joint model: the current code against the code before it.

Last run: the exact gradient in every parameter (and the Hessian as central differences of
it) against forward differences in the longitudinal parameters and second differences of
the likelihood for the Hessian (``--baseline-commit 60fd0d9``); before that, the compiled
likelihood against the numpy one (``40dd1d9``).

The model of ``translocus survival --dynamic`` and ``benchmarks/joint_slam.py`` (body
weight; quadratic age trend, random intercept, slope and curvature, Gompertz hazard with the
course's value and slope, sex and strain in both submodels with a rate of ageing per sex and
strain: ``random_degree=2, covariates_by_age=True``), fitted on

- ``600``: 600 SLAM animals drawn with seed 0 (``joint_slam.load(600, 0)``, as profiled);
- ``training``: the training animals of ``joint_slam.py`` (all animals with scans and a
  lifespan, 30 % held out with seed 0), the fit ``translocus survival --dynamic`` makes.

Each fit runs in a child process per source tree: this checkout's ``src`` and
``--baseline-src`` (the ``src`` folder of the code before, e.g. ``git archive 60fd0d9 src |
tar -x -C /tmp/base``; with ``--baseline-commit`` instead, that commit is unpacked so into a
temporary folder). A child first fits a small simulated model (compiled kernels, imports),
then times ``JointModel.fit`` (wall and CPU seconds, ``time.process_time``: all threads), its
Hessian for the standard errors once more (``_covariance``, wall seconds) and
``predict_risk`` at landmarks 18, 21, 24, 27 months and horizons 3, 6 months on the same
animals. The parent compares the two fits: the largest absolute difference of ``params_``
(and relative to the standard errors), of ``loglik_``, of the predicted risks and the
largest relative difference of the standard errors. Load averages before and after are
recorded; run it alone on the machine::

    flock /tmp/translocus-bench.lock nice -n 5 python benchmarks/joint_speed.py
        [--sizes 600,training] [--baseline-src DIR | --baseline-commit 60fd0d9]
        [--out benchmarks/results/joint_speed.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OPTIONS: dict[str, Any] = {
    "random_degree": 2,
    "covariates_by_age": True,
    "association": ("value", "slope"),
}
COVARIATES = ["sex", "strain"]
LANDMARKS = (18.0, 21.0, 24.0, 27.0)
HORIZONS = (3.0, 6.0)


def _animals(size: str) -> tuple[Any, Any]:
    """The measures and lifespans of one benchmark size (see the module docstring)."""
    sys.path.insert(0, str(HERE))
    import joint_slam  # the SLAM benchmark's own loader

    if size == "training":
        measures, life = joint_slam.load(None, 0)
        rng = np.random.default_rng(0)  # joint_slam.py's split, --test 0.3 --seed 0
        animals = life["animal"].to_numpy()
        test = set(rng.choice(animals, size=int(round(0.3 * animals.size)), replace=False))
        life = life[~life["animal"].isin(test)]
        return measures[measures["animal"].isin(set(life["animal"]))], life
    return joint_slam.load(int(size), 0)


def child(size: str, out: Path) -> None:
    """Time one fit and its predictions with the ``translocus`` on ``sys.path``."""
    import translocus.progression.joint as joint
    from translocus.core.threads import blas_threads
    from translocus.progression.joint import JointModel, simulate_joint

    measures, life = _animals(size)
    small_m, small_life = simulate_joint(60, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        JointModel(**OPTIONS, max_iter=2).fit(small_m, small_life, license="CC0-1.0")
        wall, cpu = time.perf_counter(), time.process_time()
        model = JointModel(**OPTIONS).fit(measures, life, covariates=COVARIATES, license="MIT")
        fit_wall, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        risk = model.predict_risk(measures, life, landmarks=LANDMARKS, horizons=HORIZONS)
        pred_wall, pred_cpu = time.perf_counter() - wall, time.process_time() - cpu
        # the standard errors' share of the fit: the Hessian once more, as the fit makes it
        data, _ = model._design(measures, life, fitting=True, source="benchmark")
        data.y = (data.y - model.value_mean_) / model.value_sd_
        with blas_threads(1):
            wall = time.perf_counter()
            model._covariance(data)
            hessian_wall = time.perf_counter() - wall
    se = np.sqrt(np.diag(model.covariance_.to_numpy()))
    result = {
        "source": str(Path(joint.__file__).resolve().parents[2]),
        "n_animals": model.n_animals_,
        "n_measurements": model.n_measurements_,
        "fit_wall_s": fit_wall,
        "fit_cpu_s": fit_cpu,
        "hessian_wall_s": hessian_wall,
        "predict_wall_s": pred_wall,
        "predict_cpu_s": pred_cpu,
        "n_iter": model.n_iter_,
        "converged": model.converged_,
        "loglik": model.loglik_,
        "params": model.params_.to_dict(),
        "std_error": dict(zip(model.params_.index, se.tolist(), strict=True)),
        "risk": risk["risk"].tolist(),
    }
    out.write_text(json.dumps(result))


def _run(src: Path, size: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "child.json"
        # the data folder of this checkout, wherever the other source tree lies
        from translocus.core.paths import data_dir

        env = dict(os.environ, PYTHONPATH=str(src), TRANSLOCUS_DATA=str(data_dir()))
        cmd = [sys.executable, __file__, "--child", size, "--child-out", str(out)]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise SystemExit(f"the fit with {src} failed:\n{done.stderr[-3000:]}")
        return dict(json.loads(out.read_text()))


def _compare(base: dict[str, Any], new: dict[str, Any]) -> dict[str, float]:
    names = list(base["params"])
    pb = np.array([base["params"][k] for k in names])
    pn = np.array([new["params"][k] for k in names])
    se = np.array([base["std_error"][k] for k in names])
    se_new = np.array([new["std_error"][k] for k in names])
    return {
        "max_abs_params": float(np.max(np.abs(pb - pn))),
        "max_abs_params_over_se": float(np.nanmax(np.abs(pb - pn) / se)),
        "max_rel_std_error": float(np.nanmax(np.abs(se_new - se) / se)),
        "abs_loglik": abs(base["loglik"] - new["loglik"]),
        "max_abs_risk": float(np.max(np.abs(np.subtract(base["risk"], new["risk"])))),
    }


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="600,training")
    parser.add_argument("--baseline-src", default=None)
    parser.add_argument("--baseline-commit", default="60fd0d9")
    parser.add_argument("--out", default=str(HERE / "results" / "joint_speed.json"))
    parser.add_argument("--child", default=None)
    parser.add_argument("--child-out", default=None)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.child_out))
        return
    from translocus.core.atomic import atomic_write_text

    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline_src:
            base_src, base_note = Path(args.baseline_src).resolve(), args.baseline_src
        else:
            archive = subprocess.run(["git", "archive", args.baseline_commit, "src"], cwd=ROOT,
                                     capture_output=True, check=True).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            base_src, base_note = Path(tmp) / "src", f"git archive {args.baseline_commit}"
        load_before = os.getloadavg()
        rows = []
        for size in [s.strip() for s in args.sizes.split(",") if s.strip()]:
            base = _run(base_src, size)
            new = _run(ROOT / "src", size)
            diff = _compare(base, new)
            rows.append({"size": size, "baseline": base, "current": new, "difference": diff})
            print(
                f"{size:>9} {new['n_animals']:5d} animals  fit wall {base['fit_wall_s']:7.1f} s"
                f" -> {new['fit_wall_s']:6.1f} s ({base['fit_wall_s'] / new['fit_wall_s']:4.1f}x)"
                f"  cpu {base['fit_cpu_s']:7.1f} -> {new['fit_cpu_s']:6.1f} s"
                f"  iterations {base['n_iter']} -> {new['n_iter']}"
                f"  hessian {base['hessian_wall_s']:4.1f} -> {new['hessian_wall_s']:4.1f} s"
                f"  predict {base['predict_wall_s']:5.2f} -> {new['predict_wall_s']:5.2f} s"
                f"  max|dparam| {diff['max_abs_params']:.1e}"
                f" ({diff['max_abs_params_over_se']:.1e} se)  |dloglik| {diff['abs_loglik']:.1e}"
                f"  max|dse|/se {diff['max_rel_std_error']:.1e}"
                f"  max|drisk| {diff['max_abs_risk']:.1e}",
                flush=True,
            )
        load_after = os.getloadavg()
    for row in rows:  # the tables, not every risk, go in the JSON
        for side in ("baseline", "current"):
            row[side].pop("risk")
    result = {
        "benchmark": "joint_speed",
        "options": {**OPTIONS, "covariates": COVARIATES},
        "commit": _git("rev-parse", "--short", "HEAD"),
        "baseline": base_note,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "load_before": load_before,
        "load_after": load_after,
        "rows": rows,
    }
    atomic_write_text(Path(args.out), json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
