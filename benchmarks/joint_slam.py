"""SLAM: dynamic death risk from body composition, joint model against landmark Cox models.

Animals of the SLAM census with scans (NMR) of ``--measure`` (body weight, lean mass or fat
mass; every method uses the same measure) and a lifespan record are split by animal
(seeded, ``--test`` of them held out whole). On the training animals:

- ``joint``: :class:`~translocus.progression.joint.JointModel` (quadratic age trend,
  per-animal random intercept, slope and curvature with ``--random-degree 2``, Gompertz
  hazard with the course's current value and slope, sex and strain in both submodels, and
  with ``--covariates-by-age`` a Gompertz rate of ageing per sex and strain);
- ``landmark Cox (last value)``: at each landmark, a Cox model (the project's
  :class:`~translocus.progression.survival.CoxPH`) of the time from the landmark on the last
  measured weight, sex and strain of the animals alive then; ``landmark Cox (last value
  and change)`` adds the change per month between the last two weights;
- ``course model + Cox``: the longitudinal submodel alone (the joint model without the
  hazard link, i.e. the linear mixed model with the same random effects) gives each
  animal's current weight and slope at the landmark, which enter a landmark Cox model with
  sex and strain.

Held-out animals alive at each landmark (18, 21, 24, 27 months) with a scan before it get
the risk of death within 3 and 6 months; the inverse-censoring-weighted time-dependent AUC
and Brier score are computed per landmark and averaged over landmarks, with percentile
intervals from ``--n-boot`` bootstrap samples of held-out animals (the differences to the
joint model too). A calibration plot of the joint model is written next to the JSON.

The joint model's association (which features of the course enter the hazard, among
``--candidates``, with associations that change with age among them) and its baseline
hazard (Gompertz, or a natural spline in age with ``--knots-candidates`` knots) are chosen
together by ``--cv-folds``-fold cross-validation on the TRAINING animals only (folds of
whole animals; the mean time-dependent AUC of death within 6 months over the landmarks of
each fold's animals); the held-out animals are not used to choose them. Every candidate's
fold AUCs are kept in the JSON. ``--cv-folds 0`` uses ``--association`` and
``--baseline-knots`` as given.

The committed results: ``--random-degree 2 --covariates-by-age`` (the defaults of
``translocus survival --dynamic``). Body weight (``joint_slam.json``): the association
chosen by 3-fold cross-validation among value and slope (its folds reused from the earlier
run with the same split, ``--reuse-cv``), value and slope with the fall from peak (idem)
and value and slope with both changing with age, Gompertz baseline::

    B=value,slope,value_by_age,slope_by_age
    nice -n 10 python benchmarks/joint_slam.py --covariates-by-age --jobs 6 --speculate \
        --candidates "value,slope@0;$B@0" --reuse-cv joint_slam_5917db3.json

(``joint_slam_5917db3.json``: ``benchmarks/results/joint_slam.json`` as of commit
5917db3). ``--measure lean_mass`` or ``fat_mass`` runs the same comparison on that
measure, every comparator on it too (``--out`` defaults to ``joint_slam_<measure>.json``).

Run: nice -n 10 python benchmarks/joint_slam.py [--measure body_weight] [--out FILE]
     [--test 0.3] [--seed 0] [--n-boot 200] [--max-animals N] [--random-degree 2]
     [--association value,slope] [--covariates-by-age] [--cv-folds 3]
     [--candidates "value,slope;value,slope,value_by_age,slope_by_age"]
     [--knots-candidates 0,5] [--baseline-knots 0]   (a candidate "value,slope@5": 5 knots)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text
from translocus.progression.data import DAYS_PER_MONTH, read_slam
from translocus.progression.joint import (
    JointModel,
    brier_score,
    calibration_table,
    time_dependent_auc,
)
from translocus.progression.lifespan_data import read_slam_lifespans
from translocus.progression.survival import CoxPH, dummy_covariates

LANDMARKS = (18.0, 21.0, 24.0, 27.0)
HORIZONS = (3.0, 6.0)
COVARIATES = ("sex", "strain")


MEASURES = ("body_weight", "lean_mass", "fat_mass")


def load(
    max_animals: int | None, seed: int, measure: str = "body_weight"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    measures = read_slam(measures=(measure,)).data
    life = read_slam_lifespans().data
    life = life.assign(animal=life["idno"].astype(str), time=life["time"] / DAYS_PER_MONTH)
    life = life[life["animal"].isin(set(measures["animal"]))].reset_index(drop=True)
    # a SLAM idno on two census rows cannot be matched to its scans: leave it out
    twice = life["animal"].duplicated(keep=False)
    if twice.any():
        print(f"left out: {int(twice.sum())} census rows sharing an idno")
    life = life[~twice].reset_index(drop=True)
    if max_animals:
        life = life.sample(n=min(max_animals, len(life)), random_state=seed)
    measures = measures[measures["animal"].isin(set(life["animal"]))]
    return measures[["animal", "age", "value"]].reset_index(drop=True), life[
        ["animal", "time", "event", *COVARIATES]
    ].reset_index(drop=True)


def last_values(measures: pd.DataFrame, landmark: float) -> pd.DataFrame:
    """Last weight before the landmark and its change per month from the one before."""
    seen = measures[measures["age"] <= landmark].sort_values(["animal", "age"])
    last = seen.groupby("animal").tail(2)
    g = last.groupby("animal")
    out = pd.DataFrame({"last_value": g["value"].last(), "last_age": g["age"].last()})
    first_v, first_a = g["value"].first(), g["age"].first()
    gap = (out["last_age"] - first_a).where(lambda x: x > 0)
    out["last_change"] = ((out["last_value"] - first_v) / gap).fillna(0.0)
    return out.reset_index()


def landmark_cox(
    train: pd.DataFrame, test: pd.DataFrame, features: list[str], landmark: float
) -> pd.DataFrame:
    """Risks of death within each horizon of a Cox model fitted at ``landmark``."""
    frames = []
    for part in (train, test):
        x = dummy_covariates(part, [*features, *COVARIATES])
        frames.append(
            pd.concat([part[["animal"]], x], axis=1).assign(
                time=np.minimum(part["time"] - landmark, max(HORIZONS)),
                event=np.where(part["time"] - landmark <= max(HORIZONS), part["event"], 0.0),
            )
        )
    fit, new = frames
    names = [c for c in fit.columns if c not in ("animal", "time", "event")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cox = CoxPH().fit(fit, covariates=names, license="MIT")
    surv = cox.predict_survival_function(new[names], list(HORIZONS))
    rows = [
        pd.DataFrame(
            {
                "animal": new["animal"].to_numpy(),
                "landmark": landmark,
                "horizon": h,
                "risk": 1.0 - surv.loc[h].to_numpy(),
            }
        )  # fmt: skip
        for h in HORIZONS
    ]
    return pd.concat(rows, ignore_index=True)


def at_landmark(
    measures: pd.DataFrame, life: pd.DataFrame, landmark: float, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Animals alive at ``landmark`` with a scan before it, with their last values."""
    alive = life[life["time"] > landmark]
    rows = alive.merge(last_values(measures, landmark), on="animal", how="inner")
    if extra is not None:
        rows = rows.merge(extra, on="animal", how="inner")
    return rows


def metrics(pred: pd.DataFrame, life: pd.DataFrame) -> dict[tuple[float, float], dict[str, float]]:
    out = {}
    merged = pred.merge(life[["animal", "time", "event"]], on="animal")
    for (lm, h), part in merged.groupby(["landmark", "horizon"]):
        args = (part["risk"], part["time"], part["event"])
        out[(lm, h)] = {
            "auc": time_dependent_auc(*args, landmark=lm, horizon=h),
            "brier": brier_score(*args, landmark=lm, horizon=h),
        }
    return out


def averaged(per: dict[tuple[float, float], dict[str, float]], horizon: float, key: str) -> float:
    return float(np.nanmean([v[key] for (_, h), v in per.items() if h == horizon]))


def _one_core() -> None:
    """A ``--jobs`` worker's compiled kernels and BLAS on one thread."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)
    threadpool_limits(1)


def _fit(
    measures: pd.DataFrame, life: pd.DataFrame, options: dict[str, Any]
) -> tuple[JointModel, float, float]:
    """A joint model fitted on the animals given, with its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = JointModel(**options).fit(
            measures, life, covariates=list(COVARIATES), license="MIT"
        )
    return model, time.perf_counter() - wall, time.process_time() - cpu


def _fold_auc(
    measures: pd.DataFrame, fit_life: pd.DataFrame, val_life: pd.DataFrame,
    options: dict[str, Any],
) -> tuple[float, float]:  # fmt: skip
    """Mean AUC of death within 6 months over the landmarks of one validation fold."""
    fit_m = measures[measures["animal"].isin(set(fit_life["animal"]))]
    val_m = measures[measures["animal"].isin(set(val_life["animal"]))]
    model, _, cpu = _fit(fit_m, fit_life, options)
    preds = [
        model.predict_risk(val_m, at_landmark(val_m, val_life, lm), landmarks=[lm], horizons=[6.0])
        for lm in LANDMARKS
    ]
    per = metrics(pd.concat(preds, ignore_index=True), val_life)
    return averaged(per, 6.0, "auc"), cpu


def cross_validate(
    measures: pd.DataFrame,
    life: pd.DataFrame,
    candidates: list[tuple[tuple[str, ...], int]],
    folds: int,
    seed: int,
    pool: Executor,
    **options: Any,
) -> list[dict[str, Any]]:
    """Mean AUC of death within 6 months of each candidate (association, baseline knots)."""
    rng = np.random.default_rng(seed + 1)
    fold = rng.permutation(len(life)) % folds
    jobs = {
        (c, f): pool.submit(
            _fold_auc,
            measures,
            life[fold != f],
            life[fold == f],
            {"association": assoc, "baseline_knots": knots, **options},
        )  # fmt: skip
        for c, (assoc, knots) in enumerate(candidates)
        for f in range(folds)
    }
    rows = []
    for c, (assoc, knots) in enumerate(candidates):
        done = [jobs[(c, f)].result() for f in range(folds)]
        per_fold = [auc for auc, _ in done]
        rows.append(
            {"association": list(assoc), "baseline_knots": knots, "fold_auc_6": per_fold,
             "mean_auc_6": float(np.mean(per_fold)),
             "fit_cpu_seconds": [cpu for _, cpu in done]}
        )  # fmt: skip
        print(f"cross-validation (training animals only) {','.join(assoc)}, baseline knots "
              f"{knots}: AUC(6 mo) {np.mean(per_fold):.3f} per fold "
              f"{np.round(per_fold, 3).tolist()}", flush=True)  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", default="body_weight", choices=MEASURES)
    parser.add_argument(
        "--out", default="", help="default benchmarks/results/joint_slam[_<measure>].json"
    )
    parser.add_argument("--test", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--max-animals", type=int, default=0)
    parser.add_argument("--random-degree", type=int, default=2)
    parser.add_argument("--covariates-by-age", action="store_true")
    parser.add_argument(
        "--association", default="value,slope", help="comma-separated, of value, slope, "
        "value_by_age, slope_by_age, from_peak",
    )  # fmt: skip
    parser.add_argument("--baseline-knots", type=int, default=0)
    parser.add_argument("--cv-folds", type=int, default=3)
    parser.add_argument("--candidates", default="value,slope;value,slope,value_by_age,slope_by_age")
    parser.add_argument("--knots-candidates", default="0,5")
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes for the cross-validation fits"
    )
    parser.add_argument(
        "--speculate", action="store_true", help="fit every candidate on all training "
        "animals while the cross-validation runs (needs --jobs of at least the candidates + 4)",
    )  # fmt: skip
    parser.add_argument(
        "--reuse-cv", default="", help="results JSON of an earlier run with the same split "
        "and folds: its cross-validated candidates are taken from it, not refitted",
    )  # fmt: skip
    args = parser.parse_args()
    if not args.out:
        suffix = "" if args.measure == "body_weight" else f"_{args.measure}"
        args.out = f"benchmarks/results/joint_slam{suffix}.json"

    measures, life = load(args.max_animals or None, args.seed, args.measure)
    rng = np.random.default_rng(args.seed)
    animals = life["animal"].to_numpy()
    test_ids = set(rng.choice(animals, size=int(round(args.test * animals.size)), replace=False))
    is_test = life["animal"].isin(test_ids)
    life_train, life_test = life[~is_test], life[is_test]
    m_train = measures[measures["animal"].isin(set(life_train["animal"]))]
    m_test = measures[measures["animal"].isin(test_ids)]

    timings: dict[str, float] = {}
    load_before = os.getloadavg()
    start = time.perf_counter()
    association = tuple(a.strip() for a in args.association.split(",") if a.strip())
    knots = args.baseline_knots
    cv: list[dict[str, Any]] = []
    common = {"random_degree": args.random_degree}
    # side by side, each worker's fits on one core (numba would give each of them every core)
    pool = ProcessPoolExecutor(max_workers=max(1, args.jobs),
                               initializer=_one_core if args.jobs > 1 else None)  # fmt: skip

    def options(assoc: tuple[str, ...], n_knots: int) -> dict[str, Any]:
        return {"association": assoc, "covariates_by_age": args.covariates_by_age,
                "baseline_knots": n_knots, **common}  # fmt: skip

    # the course model alone, and with --speculate every candidate's joint model on all
    # training animals, fitted while the cross-validation runs (only the chosen one is
    # compared in the results table; the others are reported apart, as not chosen)
    course_job = pool.submit(_fit, m_train, life_train, {"association": (), **common})
    fits: dict[tuple[tuple[str, ...], int], Any] = {}
    if args.cv_folds > 1:
        # "assoc,...@K" is one candidate with K baseline knots; without "@" the association
        # is tried with each of --knots-candidates
        candidates = [
            (tuple(a.strip() for a in c.split("@")[0].split(",") if a.strip()), int(k))
            for c in args.candidates.split(";")
            for k in (c.split("@")[1:] or args.knots_candidates.split(","))
        ]
        if args.speculate:
            fits = {c: pool.submit(_fit, m_train, life_train, options(*c)) for c in candidates}
        reused: list[dict[str, Any]] = []
        if args.reuse_cv:
            earlier = json.loads(Path(args.reuse_cv).read_text())
            same = (
                earlier["split"]["seed"] == args.seed
                and earlier["split"]["test_fraction"] == args.test
                and earlier.get("measure", "body_weight") == args.measure
                and earlier["random_degree"] == args.random_degree
                and earlier["covariates_by_age"] == args.covariates_by_age
                and len(earlier["association_choice"]["candidates"][0]["fold_auc_6"])
                == args.cv_folds
            )
            if not same:
                raise SystemExit(f"{args.reuse_cv}: another split, measure or model")
            reused = [
                {**row, "baseline_knots": row.get("baseline_knots", 0),
                 "reused_from": Path(args.reuse_cv).name}
                for row in earlier["association_choice"]["candidates"]
            ]  # fmt: skip
            done = {(tuple(r["association"]), r["baseline_knots"]) for r in reused}
            candidates = [c for c in candidates if c not in done]
        cv = reused + cross_validate(
            m_train, life_train, candidates, args.cv_folds, args.seed, pool,
            covariates_by_age=args.covariates_by_age, **common,
        )  # fmt: skip
        best = max(cv, key=lambda r: r["mean_auc_6"])
        association, knots = tuple(best["association"]), int(best["baseline_knots"])
        print(f"chosen on the training animals only: {','.join(association)}, baseline "
              f"knots {knots}")  # fmt: skip
        timings["cross-validation (s)"] = time.perf_counter() - start
    chosen = (association, knots)
    joint_job = fits.pop(chosen, None) or pool.submit(_fit, m_train, life_train, options(*chosen))
    joint, timings["joint fit (s)"], timings["joint fit (CPU s)"] = joint_job.result()
    not_chosen = {
        f"joint, not chosen ({','.join(a)}; baseline knots {k})": job.result()[0]
        for (a, k), job in fits.items()
    }
    course, timings["course model fit (s)"], timings["course model fit (CPU s)"] = (
        course_job.result()
    )
    pool.shutdown()

    predictions: dict[str, list[pd.DataFrame]] = {
        "joint": [],
        "landmark Cox (last value)": [],
        "landmark Cox (last value and change)": [],
        "course model + Cox": [],
        **{name: [] for name in not_chosen},
    }
    for lm in LANDMARKS:
        test_rows = at_landmark(m_test, life_test, lm)
        train_rows = at_landmark(m_train, life_train, lm)
        start = time.perf_counter()
        pred = joint.predict_risk(m_test, test_rows, landmarks=[lm], horizons=HORIZONS)
        timings[f"joint predict at {lm:g} (s)"] = time.perf_counter() - start
        predictions["joint"].append(pred)
        for name, model in not_chosen.items():
            predictions[name].append(
                model.predict_risk(m_test, test_rows, landmarks=[lm], horizons=HORIZONS)
            )
        predictions["landmark Cox (last value)"].append(
            landmark_cox(train_rows, test_rows, ["last_value"], lm)
        )
        predictions["landmark Cox (last value and change)"].append(
            landmark_cox(train_rows, test_rows, ["last_value", "last_change"], lm)
        )
        course_feats = []
        for m_part, rows in ((m_train, train_rows), (m_test, test_rows)):
            cur = course.predict_risk(m_part, rows, landmarks=[lm], horizons=[3.0])
            course_feats.append(
                rows.merge(
                    cur[["animal", "value", "slope"]].rename(
                        columns={"value": "course_value", "slope": "course_slope"}
                    ),
                    on="animal",
                )
            )
        predictions["course model + Cox"].append(
            landmark_cox(course_feats[0], course_feats[1], ["course_value", "course_slope"], lm)
        )
    preds = {k: pd.concat(v, ignore_index=True) for k, v in predictions.items()}

    # bootstrap over held-out animals
    point = {k: metrics(p, life_test) for k, p in preds.items()}
    test_animals = life_test["animal"].to_numpy()
    boots: dict[str, dict[str, list[float]]] = {
        k: {f"{key}_{h:g}": [] for key in ("auc", "brier") for h in HORIZONS} for k in preds
    }
    life_idx = life_test.set_index("animal")
    for _ in range(args.n_boot):
        draw = rng.choice(test_animals, size=test_animals.size, replace=True)
        ids = pd.DataFrame({"orig": draw, "new": np.arange(draw.size)})
        life_b = life_idx.loc[draw].reset_index(drop=True).assign(animal=ids["new"])
        for k, p in preds.items():
            sub = ids.merge(p, left_on="orig", right_on="animal")
            sub = sub.drop(columns=["animal", "orig"]).rename(columns={"new": "animal"})
            m = metrics(sub, life_b)
            for key in ("auc", "brier"):
                for h in HORIZONS:
                    boots[k][f"{key}_{h:g}"].append(averaged(m, h, key))

    rows = []
    for k in preds:
        for h in HORIZONS:
            row: dict[str, Any] = {"method": k, "horizon_months": h}
            for key in ("auc", "brier"):
                values = np.asarray(boots[k][f"{key}_{h:g}"])
                row[key] = averaged(point[k], h, key)
                row[f"{key}_lower"], row[f"{key}_upper"] = (
                    np.nanpercentile(values, [2.5, 97.5]).tolist() if values.size else [None] * 2
                )
                if k != "joint" and values.size:
                    diff = np.asarray(boots["joint"][f"{key}_{h:g}"]) - values
                    row[f"joint_minus_{key}"] = averaged(point["joint"], h, key) - row[key]
                    row[f"joint_minus_{key}_lower"], row[f"joint_minus_{key}_upper"] = (
                        np.nanpercentile(diff, [2.5, 97.5]).tolist()
                    )
            for lm in LANDMARKS:
                row[f"auc_at_{lm:g}"] = point[k][(lm, h)]["auc"]
            rows.append(row)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table[["method", "horizon_months", "auc", "auc_lower", "auc_upper", "brier",
                     "brier_lower", "brier_upper"]].round(3).to_string(index=False))  # fmt: skip
        diffs = [c for c in table.columns if c.startswith("joint_minus_auc")]
        print(table.loc[table["method"] != "joint", ["method", "horizon_months", *diffs]]
              .round(3).to_string(index=False))  # fmt: skip
    print(joint.association_.round(4).to_string())
    for k, v in timings.items():
        print(f"{k}: {v:.1f}")

    # calibration of the joint model, pooled over landmarks (groups per landmark)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4))
    calib = {}
    for j, h in enumerate(HORIZONS):
        ax = fig.add_subplot(1, 2, j + 1)
        tabs = []
        for lm in LANDMARKS:
            part = (
                preds["joint"]
                .query("landmark == @lm and horizon == @h")
                .merge(life_test[["animal", "time", "event"]], on="animal")
            )
            tab = calibration_table(
                part["risk"], part["time"], part["event"], landmark=lm, horizon=h, bins=5
            ).assign(landmark=lm)
            tabs.append(tab)
            ax.errorbar(
                tab["predicted"], tab["observed"],
                yerr=[tab["observed"] - tab["observed_lower"],
                      tab["observed_upper"] - tab["observed"]],
                fmt="o", label=f"landmark {lm:g} months", alpha=0.8,
            )  # fmt: skip
        top = max(0.05, max(float(t[["predicted", "observed"]].max().max()) for t in tabs))
        ax.plot([0, top], [0, top], color="grey", lw=0.8)
        ax.set_xlabel(f"predicted risk of death within {h:g} months")
        ax.set_ylabel("observed (Kaplan-Meier)")
        ax.legend(fontsize=7)
        calib[f"{h:g}"] = pd.concat(tabs).to_dict(orient="records")
    fig.savefig(out.with_name(out.stem + "_calibration.png"), dpi=110, bbox_inches="tight")

    result = {
        "benchmark": "joint_slam",
        "data": f"SLAM {args.measure.replace('_', ' ')} (NMR) and lifespans, animals held out "
        "whole",
        "measure": args.measure,
        "split": {
            "test_fraction": args.test,
            "seed": args.seed,
            "train_animals": int(len(life_train)),
            "test_animals": int(len(life_test)),
        },  # fmt: skip
        "landmarks_months": list(LANDMARKS),
        "n_boot": args.n_boot,
        "random_degree": args.random_degree,
        "association": list(association),
        "baseline_knots": knots,
        "baseline_knot_ages_months": joint.baseline_knots_,
        "association_choice": {
            "how": f"{args.cv_folds}-fold cross-validation on the training animals only "
            "(mean time-dependent AUC of death within 6 months over the landmarks), the "
            "association and the baseline (knots) chosen together; the held-out animals were "
            "not used to choose"
            if cv
            else "given (--association, --baseline-knots)",
            "candidates": cv,
        },
        "covariates_by_age": args.covariates_by_age,
        "not_chosen": {
            name: {
                "converged": bool(m.converged_),
                "association": m.association_.reset_index(names="term").to_dict(orient="records"),
            }
            for name, m in not_chosen.items()
        },  # fmt: skip
        "joint": {
            "converged": bool(joint.converged_),
            "iterations": joint.n_iter_,
            "animals": joint.n_animals_,
            "deaths": joint.n_deaths_,
            "measurements": joint.n_measurements_,
            "association": joint.association_.reset_index(names="term").to_dict(orient="records"),
        },
        "at_risk_test_animals": {
            f"{lm:g}": int((preds["joint"]["landmark"] == lm).sum() // len(HORIZONS))
            for lm in LANDMARKS
        },
        "results": table.to_dict(orient="records"),
        "calibration": calib,
        "timings_s": timings,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "machine": {"python": platform.python_version(), "processor": platform.processor()},
    }
    atomic_write_text(out, json.dumps(result, indent=2, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
