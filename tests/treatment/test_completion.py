"""Response completion across PDX models and drugs: closed forms, simulated recovery, PDXE.

References: the additive fit against two-way fixed-effects least squares (numpy ``lstsq``);
recovery of planted low-rank and tumour-type structure against the closed-form mean absolute
error of Gaussian noise, ``sigma * sqrt(2 / pi)``; the PDXE against the drug-mean, model-mean
and additive baselines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from estimator_contract import Case, check_estimator
from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import NotFittedError
from translocus.core.provenance import LicenseRefusedError, Provenance
from translocus.treatment.completion import (
    ResponseCompletion,
    drug_side_features,
    model_side_features,
    pair_table,
    validate_completion,
)

HALF_NORMAL = np.sqrt(2 / np.pi)  # E|e| / sigma for Gaussian e


def _simulate(
    n_models: int = 80,
    n_drugs: int = 20,
    *,
    rank: int = 0,
    types: int = 0,
    sigma: float = 5.0,
    observed: float = 0.6,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Observed pairs, the full noiseless matrix (long) and model side features."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0, 15, n_models), rng.normal(0, 15, n_drugs)
    mean = 20 + a[:, None] + b[None, :]
    if rank:
        u, v = rng.normal(0, 1, (n_models, rank)), rng.normal(0, 1, (n_drugs, rank))
        mean = mean + 8 * u @ v.T
    kind = rng.integers(0, max(types, 1), n_models)
    if types:
        effect = rng.normal(0, 25, (types, n_drugs))
        mean = mean + effect[kind]
    models = np.array([f"M{i:03d}" for i in range(n_models)])
    drugs = np.array([f"D{j:02d}" for j in range(n_drugs)])
    full = pd.DataFrame(
        {"model": np.repeat(models, n_drugs), "drug": np.tile(drugs, n_models),
         "mean": mean.ravel()}
    )  # fmt: skip
    full["best_avg_response"] = full["mean"] + rng.normal(0, sigma, len(full))
    full["observed"] = rng.random(len(full)) < observed
    features = pd.DataFrame({"tumor_type": [f"T{k}" for k in kind]}, index=models)
    return full.loc[full["observed"]].reset_index(drop=True), full, features


def test_additive_fit_equals_two_way_least_squares() -> None:
    """With no penalty to speak of, no side information and squared loss the fit is the
    two-way fixed-effects least-squares fit (numpy lstsq on model + drug indicators)."""
    obs, full, _ = _simulate(30, 8, sigma=5.0, observed=0.7, seed=1)
    fit = ResponseCompletion(alpha=1e-6, interaction=0, rank=0, huber=None).fit(
        obs, drug_features=pd.DataFrame(index=sorted(obs["drug"].unique())), license="CC0-1.0"
    )
    mi = pd.Categorical(obs["model"]).codes
    di = pd.Categorical(obs["drug"]).codes
    design = np.zeros((len(obs), 30 + 8))
    design[np.arange(len(obs)), mi] = 1
    design[np.arange(len(obs)), 30 + di] = 1
    beta = np.linalg.lstsq(design, obs["best_avg_response"].to_numpy(), rcond=None)[0]
    missing = full.loc[~full["observed"]]
    m_codes = pd.Categorical(missing["model"], categories=sorted(obs["model"].unique())).codes
    d_codes = pd.Categorical(missing["drug"], categories=sorted(obs["drug"].unique())).codes
    expect = beta[m_codes] + beta[30 + d_codes]
    np.testing.assert_allclose(fit.predict(missing), expect, atol=1e-3)


def test_low_rank_recovery_reaches_the_noise_floor() -> None:
    """Additive + rank-2 signal with Gaussian noise (sigma 5): the rank-2 completion's
    held-out MAE is close to sigma * sqrt(2/pi) (about 3.99) — inflated only by estimation
    error, sqrt(1 + parameters / pairs) — while the additive fit is far above it."""
    sigma = 5.0
    obs, full, _ = _simulate(80, 20, rank=2, sigma=sigma, observed=0.6, seed=2)
    held = full.loc[~full["observed"]]
    y = held["best_avg_response"].to_numpy()
    common = dict(interaction=0, huber=None, alpha=1.0)
    nofeat = pd.DataFrame(index=sorted(obs["drug"].unique()))
    lowrank = ResponseCompletion(rank=2, rank_penalty=0.3, **common).fit(  # type: ignore[arg-type]
        obs, drug_features=nofeat, license="CC0-1.0"
    )
    additive = ResponseCompletion(rank=0, **common).fit(  # type: ignore[arg-type]
        obs, drug_features=nofeat, license="CC0-1.0"
    )
    floor = sigma * HALF_NORMAL
    inflation = np.sqrt(1 + 3 * (80 + 20) / len(obs))  # additive + 2 factors per row/column
    mae = float(np.mean(np.abs(lowrank.predict(held) - y)))
    assert floor < mae < 1.2 * floor * inflation  # shrinkage adds a little bias
    assert float(np.mean(np.abs(additive.predict(held) - y))) > 1.5 * mae
    # the 90 % intervals from held-out residual quantiles cover about 90 % of new pairs
    band = lowrank.predict_interval(held)
    inside = (band["low"].to_numpy() <= y) & (y <= band["high"].to_numpy())
    # (slightly conservative: the inner folds' fits see two thirds of the pairs)
    assert 0.85 < inside.mean() < 0.98


def test_tumour_type_interaction_predicts_new_models() -> None:
    """Drug effects that differ by tumour type (sd 25) are learnt from the side information:
    for models with no pair at all (a new model), the completion's MAE is near the closed
    form sqrt(15^2 + 5^2) * sqrt(2/pi) (the unknown model effect plus noise), the additive
    fit's is far above."""
    obs, full, features = _simulate(120, 15, types=3, sigma=5.0, observed=0.5, seed=3)
    new_models = full["model"].unique()[:20]
    train = obs.loc[~obs["model"].isin(new_models)]
    held = full.loc[full["model"].isin(new_models)]
    y = held["best_avg_response"].to_numpy()
    fit = ResponseCompletion(alpha=1.0, interaction=(0.0, 1.0), rank=0, huber=None).fit(
        train, model_features=features, license="CC0-1.0"
    )
    assert fit.params_["interaction"] == 1.0  # chosen by inner cross-validation
    additive = ResponseCompletion(alpha=1.0, interaction=0, rank=0, huber=None).fit(
        train, license="CC0-1.0"
    )
    expect = np.hypot(15, 5) * HALF_NORMAL
    mae = float(np.mean(np.abs(fit.predict(held) - y)))
    assert 0.7 * expect < mae < 1.3 * expect
    assert float(np.mean(np.abs(additive.predict(held) - y))) > 1.3 * mae


def test_new_combination_is_predicted_from_its_components() -> None:
    """An arm 'A + B' never seen in training gets the components' effects (both negative):
    it is predicted below the arms of the positive component C and below the model's mean."""
    rng = np.random.default_rng(4)
    rows = []
    effect = {"A": -30.0, "B": -20.0, "C": 10.0, "A + C": -25.0, "B + C": -15.0}
    for i in range(60):
        level = rng.normal(0, 10)
        for drug, eff in effect.items():
            rows.append((f"M{i}", drug, 40 + level + eff + rng.normal(0, 3)))
    table = pd.DataFrame(rows, columns=["model", "drug", "best_avg_response"])
    fit = ResponseCompletion(alpha=1.0, interaction=0, huber=None).fit(table, license="MIT")
    new = pd.DataFrame({"model": ["M0", "M1"], "drug": ["A + B", "A + B"]})
    known = pd.DataFrame({"model": ["M0", "M1"], "drug": ["C", "C"]})
    pred_new, pred_c = fit.predict(new), fit.predict(known)
    model_mean = table.groupby("model")["best_avg_response"].mean()[["M0", "M1"]].to_numpy()
    assert np.all(pred_new < model_mean - 10) and np.all(pred_new < pred_c - 30)
    with pytest.raises(InputError, match="neither trained on nor made of trained"):
        fit.predict(pd.DataFrame({"model": ["M0"], "drug": ["Z"]}))


def test_drug_side_features_split_combinations_and_targets() -> None:
    feats = drug_side_features(["BYL719", "BYL719 + LEE011"], {"LEE011": ["CDK4", "CDK6"]})
    assert list(feats.columns) == [
        "component:BYL719", "component:LEE011", "target:CDK4", "target:CDK6",
    ]  # fmt: skip
    assert feats.loc["BYL719 + LEE011"].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_licence_gate_and_estimator_contract() -> None:
    obs, _, _ = _simulate(20, 6, seed=5)
    est = ResponseCompletion(alpha=2.0, interaction=0)
    assert clone(est).get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(obs)
    with pytest.raises(LicenseRefusedError, match="NOASSERTION"):
        est.fit(obs, provenance=Provenance(name="mine"))
    with pytest.raises(OptionError, match="licence once"):
        est.fit(obs)
    check_estimator(
        Case("ResponseCompletion", lambda: ResponseCompletion(alpha=2.0, interaction=0),
             lambda m: m.fit(obs, license="CC-BY-4.0"), lambda m: m.predict(obs))
    )  # fmt: skip
    est.fit(obs, license="CC-BY-4.0")
    assert est.licence_decision_.allowed and est.summary.loc[0, "pairs"] == len(obs)
    with pytest.raises(OptionError, match="level"):
        ResponseCompletion(level=1.5).fit(obs, license="MIT")
    with pytest.raises(InputError, match="more than once"):
        ResponseCompletion().fit(pd.concat([obs, obs.iloc[:1]]), license="MIT")
    with pytest.raises(InputError, match="'effect'"):
        ResponseCompletion(response="effect").fit(obs, license="MIT")


def test_pdxe_completion_beats_the_baselines(pdxe, pdxe_metrics) -> None:  # type: ignore[no-untyped-def]
    """All PDXE pairs (TAone), 20 % held out once: the completion (side information:
    tumour type, untreated growth, combination components) has a lower MAE than the additive
    baseline, and both are far better than the drug and model means (benchmarks/
    pdx_completion.py runs five seeds and the new-model split)."""
    table = pair_table(pdxe_metrics, control="untreated")
    assert len(table) == 4422 and table["model"].nunique() == 275
    features = model_side_features(pdxe_metrics, control="untreated")
    result = validate_completion(
        table, provenance=pdxe.provenance, model_features=features, splits=("pairs",),
        seeds=1, n_boot=100, params={"alpha": (1.0, 3.0, 10.0), "interaction": (0.0, 0.3)},
    )  # fmt: skip
    scores = result.scores.set_index("method")
    assert scores.loc["completion", "mae"] < scores.loc["additive", "mae"]
    assert scores.loc["additive", "mae"] < scores.loc["model mean", "mae"]
    assert scores.loc["additive", "mae"] < scores.loc["drug mean", "mae"]
    assert scores.loc["completion", "spearman"] > 0.5
    assert set(result.comparisons["method"]) == {
        "drug mean", "model mean", "additive huber", "completion",
    }  # fmt: skip


def test_model_features_missing_together_share_one_indicator() -> None:
    """A panel measured on some models only: its columns get one missing-value indicator."""
    obs, _, features = _simulate(20, 6, types=2, seed=6)
    panel = pd.DataFrame(
        {"expr:A": np.linspace(0, 1, 20), "expr:B": np.linspace(1, 0, 20)}, index=features.index
    )
    panel.iloc[:8] = np.nan
    fit = ResponseCompletion(alpha=1.0, interaction=0).fit(
        obs, model_features=features.join(panel), license="MIT"
    )
    flags = [c for c in fit.coef_.index if str(c).endswith(":missing")]
    assert flags == ["expr:A:missing"]
