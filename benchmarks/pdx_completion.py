"""Treatment response learnt across models and drugs: held-out validation on all of the PDXE.

All PDXE pairs (TAone: 275 models with a treated response, 61 treated arms, 4,422 observed
pairs) are completed by :class:`~translocus.treatment.completion.ResponseCompletion` (side
information: tumour type, the untreated tumour's growth rate and best average response,
combination components; hyper-parameters by inner cross-validation on training pairs) and
compared with drug-mean, model-mean, additive (model + drug ridge) and additive with the
completion's Huber loss, on two splits:

- ``pairs``: 20 % of the observed pairs held out at random, five seeds (pooled);
- ``new_model``: models in ten folds; each fold's models are held out together, keeping
  three random drugs of each in training, so every model is predicted once as a new model.

Responses: best average response and best response (their predictions give the mRECIST
class, scored by accuracy, and the responder (CR/PR) AUC by predicted best average response),
and the growth-rate treatment effect. Intervals: 95 % cluster bootstrap (models resampled).
Also reports the gain in best-average-response MAE per tumour type and for single drugs vs
combinations. Prints tables and writes JSON.

With ``--side-information`` it instead compares side information on the pairs split (same
seeds, hyper-parameters fixed at the values inner cross-validation chose above: alpha 3,
interaction 0.3): the default features; plus the drug targets of the Xeva drug table
(21 of the 61 arms); plus the Xeva breast panel's expression and mutation features (57 of the
275 models, all breast). Writes ``pdx_completion_side.json``.

Usage: nice -n 10 python benchmarks/pdx_completion.py [--seeds 5] [--folds 10] [--n-boot 1000]
       [--side-information] [--out benchmarks/results/pdx_completion.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.atomic import atomic_write_text


def _breakdown(
    preds: pd.DataFrame, table: pd.DataFrame, n_boot: int, seed: int
) -> list[dict[str, Any]]:
    """MAE gain of the completion over the additive baseline per tumour type and arm kind."""
    rng = np.random.default_rng(seed)
    resp = "best_avg_response"
    frame = preds.merge(table[["model", "drug", "tumor_type"]], on=["model", "drug"])
    frame["arm_kind"] = np.where(frame["drug"].str.contains(r"\+"), "combination", "single")
    frame["err_add"] = (frame[f"{resp}|additive"] - frame[resp]).abs()
    frame["err_new"] = (frame[f"{resp}|completion"] - frame[resp]).abs()
    rows = []
    for split, by_split in frame.groupby("split"):
        for col in ("tumor_type", "arm_kind"):
            for value, part in by_split.groupby(col):
                models, inv = np.unique(part["model"].to_numpy(), return_inverse=True)
                gain = (part["err_add"] - part["err_new"]).to_numpy()
                sums = np.bincount(inv, gain, len(models))
                counts = np.bincount(inv, None, len(models))
                boot = []
                for _ in range(n_boot):
                    pick = rng.integers(0, len(models), len(models))
                    boot.append(sums[pick].sum() / counts[pick].sum())
                rows.append(
                    {"split": split, "by": col, "group": value, "pairs": len(part),
                     "models": len(models), "mae_additive": float(part["err_add"].mean()),
                     "mae_completion": float(part["err_new"].mean()),
                     "mae_gain": float(gain.mean()),
                     "mae_gain_low": float(np.percentile(boot, 2.5)),
                     "mae_gain_high": float(np.percentile(boot, 97.5))}
                )  # fmt: skip
    return rows


def _side_information(seeds: int, n_boot: int) -> dict[str, Any]:
    """Held-out pairs: the completion with more side information against its defaults."""
    import warnings

    from translocus.core.estimator import ConvergenceWarning
    from translocus.treatment.completion import (
        ResponseCompletion,
        drug_side_features,
        model_side_features,
        pair_table,
    )
    from translocus.treatment.metrics import response_metrics
    from translocus.treatment.predict import read_xeva_drug_targets, read_xeva_molecular
    from translocus.treatment.study import read_pdxe

    study = read_pdxe()
    metrics = response_metrics(study)
    table = pair_table(metrics, control=study.control)
    features = model_side_features(metrics, control=study.control)
    drugs = sorted(table["drug"].unique())
    targets = {k: v for k, v in read_xeva_drug_targets().items() if k != "untreated"}
    panel = read_xeva_molecular()
    mol = panel.features[[c for c in panel.features if c.startswith(("expr:", "mut:"))]]
    variants = {
        "default": (features, drug_side_features(drugs)),
        "+ drug targets": (features, drug_side_features(drugs, targets)),
        "+ molecular (breast panel)": (features.join(mol, how="left"), drug_side_features(drugs)),
    }
    frames = []
    t0 = time.perf_counter()
    for seed in range(seeds):
        test = np.random.default_rng(seed).random(len(table)) < 0.2
        held = table.loc[test]
        for name, (mf, df) in variants.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fit = ResponseCompletion(alpha=3.0, interaction=0.3).fit(
                    table.loc[~test], model_features=mf, drug_features=df,
                    provenance=study.provenance,
                )  # fmt: skip
            err = np.abs(fit.predict(held) - held["best_avg_response"].to_numpy())
            frames.append(pd.DataFrame({"variant": name, "seed": seed, "model": held["model"],
                                        "tumor_type": held["tumor_type"], "err": err}))  # fmt: skip
    errors = pd.concat(frames, ignore_index=True)
    rng = np.random.default_rng(2)
    rows = []
    for subset, part in (("all", errors), ("BRCA", errors[errors["tumor_type"] == "BRCA"])):
        wide = part.pivot_table(index=["seed", "model", part.groupby(["variant", "seed", "model"])
                                       .cumcount()], columns="variant", values="err")  # fmt: skip
        models, inv = np.unique(wide.index.get_level_values("model"), return_inverse=True)
        for name in variants:
            gain = (wide["default"] - wide[name]).to_numpy()
            sums, counts = np.bincount(inv, gain), np.bincount(inv)
            boot = [sums[p].sum() / counts[p].sum()
                    for p in (rng.integers(0, len(models), len(models)) for _ in range(n_boot))]  # fmt: skip
            rows.append({"pairs": subset, "variant": name, "n": len(wide),
                         "mae": float(wide[name].mean()),
                         "mae_gain_over_default": float(gain.mean()),
                         "gain_low": float(np.percentile(boot, 2.5)),
                         "gain_high": float(np.percentile(boot, 97.5))})  # fmt: skip
    return {"rows": rows, "seconds": round(time.perf_counter() - t0, 1),
            "settings": {"seeds": seeds, "holdout": 0.2, "alpha": 3.0, "interaction": 0.3,
                         "n_boot": n_boot, "drugs_with_targets": sorted(set(targets) & set(drugs)),
                         "models_with_panel": int(mol.index.isin(table["model"]).sum())}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--side-information", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.side_information:
        side = _side_information(args.seeds, args.n_boot)
        print(pd.DataFrame(side["rows"]).round(3).to_string(index=False))
        out = args.out or Path("benchmarks/results/pdx_completion_side.json")
        atomic_write_text(out, json.dumps({"benchmark": "pdx_completion --side-information",
                                           "platform": platform.platform(), **side}, indent=2))  # fmt: skip
        print(f"\nwrote {out} ({side['seconds']:.0f} s)")
        return
    args.out = args.out or Path("benchmarks/results/pdx_completion.json")

    from translocus.treatment.completion import model_side_features, pair_table, validate_completion
    from translocus.treatment.growth import treatment_effects
    from translocus.treatment.metrics import response_metrics
    from translocus.treatment.study import read_pdxe

    study = read_pdxe()
    metrics = response_metrics(study)
    table = pair_table(metrics, treatment_effects(study), control=study.control)
    features = model_side_features(metrics, control=study.control)
    common = dict(provenance=study.provenance, model_features=features, seeds=args.seeds,
                  n_folds=args.folds, n_boot=args.n_boot)  # fmt: skip
    t0 = time.perf_counter()
    main_run = validate_completion(table, responses=("best_avg_response", "best_response"),
                                   **common)  # type: ignore[arg-type]  # fmt: skip
    t_main = time.perf_counter() - t0
    t0 = time.perf_counter()
    effect_run = validate_completion(table, responses=("effect",), **common)  # type: ignore[arg-type]
    t_effect = time.perf_counter() - t0

    scores = pd.concat([main_run.scores, effect_run.scores], ignore_index=True)
    comps = pd.concat([main_run.comparisons, effect_run.comparisons], ignore_index=True)
    choices = pd.concat([main_run.choices, effect_run.choices], ignore_index=True)
    breakdown = _breakdown(main_run.predictions, table, args.n_boot, 1)

    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    show = ["split", "response", "method", "mae", "mae_low", "mae_high", "spearman",
            "spearman_low", "spearman_high", "mrecist_accuracy", "responder_auc"]  # fmt: skip
    print(scores[[c for c in show if c in scores]].round(4).to_string(index=False))
    print()
    show = ["split", "response", "method", "mae_gain", "mae_gain_low", "mae_gain_high",
            "spearman_gain", "spearman_gain_low", "spearman_gain_high"]  # fmt: skip
    print(comps[show].round(4).to_string(index=False))
    print()
    print(pd.DataFrame(breakdown).round(3).to_string(index=False))
    print()
    print(choices.groupby(["split", "response"])[["alpha", "interaction"]].agg(
        lambda s: s.value_counts().to_dict()).to_string())  # fmt: skip
    result = {
        "benchmark": "pdx_completion",
        "data": "PDXE TAone (read_pdxe), licence " + study.provenance.license,
        "settings": {
            **main_run.settings,
            "responses": ["best_avg_response", "best_response", "effect"],
        },  # fmt: skip
        "seconds": {"bar_and_best_response": round(t_main, 1), "effect": round(t_effect, 1)},
        "platform": platform.platform(),
        "scores": scores.to_dict(orient="records"),
        "gain_over_additive": comps.to_dict(orient="records"),
        "breakdown_best_avg_response": breakdown,
        "choices": choices.to_dict(orient="records"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2, default=float))
    print(f"\nwrote {args.out} ({t_main + t_effect:.0f} s)")


if __name__ == "__main__":
    main()
