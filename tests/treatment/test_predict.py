"""Response prediction: AUC against scikit-learn, the licence gate, model-held-out folds,
and a synthetic panel whose signal the model must find."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from translocus.core.errors import InputError, OptionError
from translocus.core.provenance import LicenseRefusedError, Provenance
from translocus.treatment.predict import (
    MolecularProfile,
    ResponsePredictor,
    _auc,
    _group_folds,
    cross_validate_response,
    read_xeva_drug_targets,
    read_xeva_molecular,
    response_table,
)

OPEN = Provenance(name="synthetic", license="CC0-1.0")


def _synthetic(seed: int = 0, n_models: int = 40) -> tuple[pd.DataFrame, MolecularProfile]:
    rng = np.random.default_rng(seed)
    models = [f"P{i:02d}" for i in range(n_models)]
    genes = ["EGFR", "KRAS", "TP53", "MYC"]
    feats = pd.DataFrame(
        rng.standard_normal((n_models, 4)), index=models, columns=[f"expr:{g}" for g in genes]
    )
    profile = MolecularProfile(
        feats,
        pd.Series({c: c.split(":")[1] for c in feats.columns}),
        pd.Series("expression", index=feats.columns),
        OPEN,
    )
    rows = []
    for m in models:
        for drug, shift in (("d1", 0.0), ("d2", 1.0), ("d3", -1.0)):
            score = 2.5 * feats.loc[m, "expr:EGFR"] + shift + 0.5 * rng.standard_normal()
            rows.append(
                {
                    "model": m,
                    "drug": drug,
                    "responder": int(score > 0.5),
                    "best_avg_response": -10 * score,
                }
            )
    return pd.DataFrame(rows), profile


def test_auc_matches_sklearn() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.round(rng.random(200), 1)  # with ties
    assert _auc(y, p) == pytest.approx(roc_auc_score(y, p))


def test_folds_hold_out_whole_models() -> None:
    groups = np.repeat([f"m{i}" for i in range(11)], 4)
    rng = np.random.default_rng(0)
    folds = _group_folds(groups, 5, rng)
    seen = []
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert len(set(groups[test])) in (2, 3)  # 11 models in 5 folds
        seen += list(test)
    assert sorted(seen) == list(range(len(groups)))
    # Each repeat draws a new order from the same generator; reproducible from the seed.
    again = _group_folds(groups, 5, rng)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    same = _group_folds(groups, 5, np.random.default_rng(0))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, same, strict=True))
    # Fewer models than folds: one fold per model; a single model cannot be held out.
    assert len(_group_folds(groups[:8], 5, rng)) == 2
    ((train, test),) = _group_folds(groups[:4], 5, rng)
    assert len(train) == 0 and list(test) == [0, 1, 2, 3]


def test_cross_validation_finds_signal_and_gene() -> None:
    table, profile = _synthetic()
    cv = cross_validate_response(table, profile, provenance=OPEN, n_repeats=1, n_boot=100, C=1.0)
    scores = cv.scores.set_index("features")["auc"]
    assert scores["drug + molecular"] > 0.85 > scores["drug only"]
    assert cv.comparisons.iloc[0]["ci_low"] > 0
    assert cv.importance.iloc[0]["gene"] == "EGFR"
    assert cv.n_models == 40 and cv.calibration["n"].sum() == len(table)


def test_predictor_fit_predict_and_importance() -> None:
    table, profile = _synthetic(seed=3)
    model = ResponsePredictor(feature_sets=("drug", "molecular"), C=1.0).fit(
        table, profile, provenance=OPEN
    )
    p = model.predict(table)
    assert ((p > 0) & (p < 1)).all()
    assert model.gene_importance().iloc[0]["gene"] == "EGFR"
    reg = ResponsePredictor(task="regress", feature_sets=("drug", "molecular")).fit(
        table, profile, provenance=OPEN
    )
    assert np.corrcoef(reg.predict(table), table["best_avg_response"])[0, 1] > 0.8


def test_training_refused_without_open_licence() -> None:
    table, profile = _synthetic()
    closed = Provenance(name="closed", license="NOASSERTION")
    with pytest.raises(LicenseRefusedError, match="closed"):
        ResponsePredictor().fit(table, profile, provenance=closed)
    restricted = MolecularProfile(
        profile.features, profile.gene, profile.kind, Provenance(name="ad", license="LicenseRef-x")
    )
    with pytest.raises(LicenseRefusedError, match="ad"):
        ResponsePredictor(feature_sets=("drug", "molecular")).fit(
            table, restricted, provenance=OPEN
        )


def test_xeva_panel_and_response_table(pdx_dir: Path, pdxe_metrics: pd.DataFrame) -> None:
    profile = read_xeva_molecular(pdx_dir / "xeva_brca")
    kinds = profile.kind.value_counts().to_dict()
    assert kinds == {"expression": 22, "copy_number": 20, "mutation": 9}
    assert profile.provenance.license == "GPL-3.0-only"
    assert set(np.unique(profile.features.filter(like="mut:").to_numpy())) <= {0.0, 1.0}
    targets = read_xeva_drug_targets(pdx_dir / "xeva_brca")
    assert targets["LEE011"] == ["CDK4", "CDK6"] and targets["LLM871"] == ["FGFR2", "FGFR4"]
    table = response_table(pdxe_metrics.loc[pdxe_metrics["tumor_type"] == "BRCA"])
    assert "untreated" not in set(table["drug"])
    assert (
        table["responder"].sum() == ((table["mrecist"] == "CR") | (table["mrecist"] == "PR")).sum()
    )


def test_calibration_keeps_ranking_and_improves_held_out_brier() -> None:
    """A heavily penalised logistic regression squeezes probabilities towards the base rate;
    the sigmoid fitted on model-held-out folds is monotone (same AUC) and restores them."""
    train, profile = _synthetic(seed=4, n_models=60)
    test, test_profile = _synthetic(seed=5, n_models=60)
    test["model"] = "T" + test["model"]
    both = MolecularProfile(
        pd.concat([profile.features, test_profile.features.rename(index=lambda m: "T" + m)]),
        profile.gene,
        profile.kind,
        OPEN,
    )
    kw = {"feature_sets": ("drug", "molecular"), "C": 0.005}
    raw = ResponsePredictor(calibrate=False, **kw).fit(train, both, provenance=OPEN)
    cal = ResponsePredictor(**kw).fit(train, both, provenance=OPEN)
    assert cal.calibration_ == "sigmoid on 3 model-held-out folds"
    assert raw.calibration_.startswith("none")
    y = test["responder"].to_numpy()
    p_raw, p_cal = raw.predict(test), cal.predict(test)
    assert _auc(y, p_cal) == pytest.approx(_auc(y, p_raw), abs=1e-12)
    brier_raw, brier_cal = np.mean((p_raw - y) ** 2), np.mean((p_cal - y) ** 2)
    assert brier_cal < 0.8 * brier_raw
    # The classifier behind the calibration is refitted on every row: same coefficients.
    assert np.allclose(cal.coef_, raw.coef_, atol=1e-8)


def test_plain_table_with_license_and_refusal() -> None:
    table, profile = _synthetic()
    model = ResponsePredictor(feature_sets=("drug",)).fit(table, license="CC0-1.0")
    assert model.licence_decision_.allowed
    with pytest.raises(LicenseRefusedError, match=r"license='SPDX'"):
        ResponsePredictor(feature_sets=("drug",)).fit(table, license="NOASSERTION")
    with pytest.raises(OptionError, match=r"^license: the response table's licence"):
        ResponsePredictor(feature_sets=("drug",)).fit(table)
    with pytest.raises(OptionError, match=r"either provenance= or license="):
        ResponsePredictor(feature_sets=("drug",)).fit(table, provenance=OPEN, license="MIT")


def test_unknown_drug_is_refused_or_predicted_without_drug_term() -> None:
    table, profile = _synthetic()
    model = ResponsePredictor(feature_sets=("drug", "molecular")).fit(
        table, profile, provenance=OPEN
    )
    new = table.head(3).assign(drug="d9")
    with pytest.raises(
        InputError, match=r"column 'drug': 1 drug\(s\) the model was not trained on \(d9\)"
    ):
        model.predict(new)
    p = model.predict(new, unknown_drugs="ignore")
    assert ((p > 0) & (p < 1)).all()
    # Molecular-only models have no drug term: any drug is fine.
    mol = ResponsePredictor(feature_sets=("molecular",)).fit(table, profile, provenance=OPEN)
    assert mol.predict(new).shape == (3,)
