"""Predicting a PDX model's response to a drug from its molecular features and the drug.

Inputs
------
- a response table, one row per model × drug (from :func:`response_table`): the model's
  BestAvgResponse (%) and mRECIST category; a *responder* is a model × drug whose category
  is in ``responder`` (default ``("CR", "PR")``, objective response as in Gao et al. 2015);
- a :class:`MolecularProfile`: per model expression, copy number and mutation features,
  each mapped to its gene (:func:`read_xeva_molecular` reads the Xeva breast panel);
- optionally drug targets (gene lists per drug), which add *target* features: the mean
  expression, mean copy number and any functional mutation of the drug's target genes.

Models: an L2-penalised logistic regression (responder yes/no) with probabilities
calibrated by a sigmoid (scikit-learn's ``CalibratedClassifierCV``) on folds that hold out
whole models, or ridge regression (BestAvgResponse).
Every fit goes through the licence gate (:func:`~translocus.core.table.licence_gate`) for the
response data and the molecular data.

Evaluation (:func:`cross_validate_response`) holds out whole PDX models: all drugs of a
held-out model are predicted by a model trained without it (repeated grouped K-fold). It
reports the pooled out-of-fold AUC with a cluster-bootstrap interval (models resampled),
the Brier score and a calibration table, for each feature set (the drug-only baseline
first), the AUC difference against the baseline with its interval, and permutation
importance per gene (AUC lost when the gene's features are shuffled across held-out models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.estimator import Estimator, check_fitted
from translocus.core.paths import data_dir
from translocus.core.provenance import LicenseDecision, LicensePolicy, Provenance
from translocus.core.table import licence_gate

__all__ = [
    "CVResult",
    "MolecularProfile",
    "ResponsePredictor",
    "cross_validate_response",
    "read_xeva_drug_targets",
    "read_xeva_molecular",
    "response_table",
]

FeatureSet = Literal["drug", "molecular", "target"]
_FUNCTIONAL = ("MutKnownFunctional", "MutLikelyFunctional")


@dataclass(frozen=True)
class MolecularProfile:
    """Molecular features per PDX model.

    Attributes
    ----------
    features
        ``[model, feature]`` float table (index: model id).
    gene
        Gene symbol of each feature (index: feature name).
    kind
        ``"expression"``, ``"copy_number"`` or ``"mutation"`` per feature.
    provenance
        Source and licence.
    """

    features: pd.DataFrame
    gene: pd.Series
    kind: pd.Series
    provenance: Provenance = field(default_factory=lambda: Provenance(name="molecular"))

    def value(self, model: str, kind: str, genes: Sequence[str]) -> np.ndarray:
        """One model's feature values of one kind for the given genes (empty when none)."""
        cols = [f for f in self.features.columns if self.kind[f] == kind and self.gene[f] in genes]
        if model not in self.features.index or not cols:
            return np.array([])
        return self.features.loc[model, cols].to_numpy(float)


def read_xeva_molecular(path: str | Path | None = None) -> MolecularProfile:
    """Read the Xeva breast panel: RNA-seq (log expression), copy number and mutations.

    Mutations become 1 where the gene carries a known or likely functional mutation
    (``MutKnownFunctional``/``MutLikelyFunctional``), else 0 (``MutNovel`` alone counts 0).
    Copy number is ``log2(cn / 2)``.
    """
    base = Path(path) if path is not None else data_dir() / "pdx" / "xeva_brca"
    tables = []
    for fname, kind, prefix in (
        ("molecular_RNASeq.csv", "expression", "expr"),
        ("molecular_cnv.csv", "copy_number", "cnv"),
        ("molecular_mutation.csv", "mutation", "mut"),
    ):
        fpath = base / fname
        if not fpath.exists():
            raise InputError(f"{fpath}: file not found; the Xeva panel needs {fname}.")
        raw = pd.read_csv(fpath, dtype={"gene": str})
        if "gene" not in raw:
            raise InputError(f"{fpath}: no 'gene' column; the first column must name genes.")
        raw = raw.set_index("gene")
        if kind == "mutation":
            values = raw.astype(str).apply(
                lambda col: col.str.contains("|".join(_FUNCTIONAL), regex=True).astype(float)
            )
        else:
            values = raw.apply(pd.to_numeric, errors="coerce")
            if kind == "copy_number":
                values = np.log2(values.clip(lower=0.05) / 2.0)
        t = values.T
        t.columns = [f"{prefix}:{g}" for g in values.index]
        tables.append((t, kind, list(values.index)))
    features = pd.concat([t for t, _, _ in tables], axis=1)
    gene = pd.Series({c: c.split(":", 1)[1] for c in features.columns})
    kind = pd.Series(
        {c: k for t, k, _ in tables for c in t.columns},
    )
    prov = Provenance(
        name="xeva_brca_molecular",
        license="GPL-3.0-only",
        source="bhklab/Xeva @ 54c191f (brca.rda molecular profiles)",
        citation="Mer AS et al. (2019) Cancer Res 79:4539; Gao H et al. (2015) Nat Med 21:1318.",
        description="RNA-seq (22 genes), copy number (20), mutations (9) for breast PDX models",
    )
    return MolecularProfile(features.astype(float), gene, kind, prov)


def read_xeva_drug_targets(path: str | Path | None = None) -> dict[str, list[str]]:
    """Drug → target gene symbols from the Xeva ``drug.csv`` (``CDK4/6`` → CDK4, CDK6)."""
    base = Path(path) if path is not None else data_dir() / "pdx" / "xeva_brca"
    raw = pd.read_csv(base / "drug.csv")
    out: dict[str, list[str]] = {}
    for drug, targets in raw[["drug.id", "treatment.target"]].itertuples(index=False):
        genes: list[str] = []
        for t in str(targets).split(","):
            t = t.strip()
            if "/" in t and t[:-1].rstrip("0123456789/").isalpha():
                stem = t.rstrip("0123456789/")
                genes += [stem + n for n in t[len(stem) :].split("/") if n]
            elif t:
                genes.append(t)
        out[str(drug)] = sorted(set(genes))
    return out


def response_table(
    metrics: pd.DataFrame,
    *,
    control: str | None = "untreated",
    responder: Sequence[str] = ("CR", "PR"),
) -> pd.DataFrame:
    """Model × drug response table from per-series metrics (treated arms only).

    With replicate animals the BestAvgResponse is averaged and the category is the most
    frequent one. Series without a category (too short) are left out.
    """
    m = metrics.loc[metrics["mrecist"].notna()]
    if control is not None:
        m = m.loc[m["arm"] != control]
    g = m.groupby(["model", "arm"], sort=True)
    out = g.agg(
        best_avg_response=("best_avg_response", "mean"),
        best_response=("best_response", "mean"),
        mrecist=("mrecist", lambda s: s.mode().iloc[0]),
    ).reset_index()
    out = out.rename(columns={"arm": "drug"})
    out["responder"] = out["mrecist"].isin(list(responder)).astype(int)
    return out


def _design(
    table: pd.DataFrame,
    profile: MolecularProfile | None,
    targets: Mapping[str, Sequence[str]] | None,
    feature_sets: Sequence[str],
    drugs: Sequence[str],
) -> pd.DataFrame:
    """Design matrix (rows aligned with table) for the requested feature sets."""
    parts = []
    if "drug" in feature_sets:
        onehot = pd.DataFrame(
            {f"drug:{d}": (table["drug"].to_numpy() == d).astype(float) for d in drugs},
            index=table.index,
        )
        parts.append(onehot)
    if "molecular" in feature_sets or "target" in feature_sets:
        if profile is None:
            raise InputError("molecular features were asked for but no MolecularProfile was given.")
        missing = sorted(set(table["model"]) - set(profile.features.index))
        if missing:
            raise InputError(
                f"molecular profile: no features for {len(missing)} model(s) (e.g. "
                f"{', '.join(missing[:3])}); restrict the response table to profiled models."
            )
    if "molecular" in feature_sets and profile is not None:
        mol = profile.features.loc[table["model"].to_numpy()].set_axis(table.index)
        parts.append(mol)
    if "target" in feature_sets and profile is not None:
        parts.append(_target_features(table, profile, targets or {}))
    if not parts:
        raise ValueError("no feature sets chosen; use any of 'drug', 'molecular', 'target'")
    return pd.concat(parts, axis=1).fillna(0.0)


def _target_features(
    table: pd.DataFrame, profile: MolecularProfile, targets: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """Mean expression, mean copy number and any functional mutation of the drug's targets."""
    names = ["target:expression", "target:copy_number", "target:mutation"]
    kinds = ("expression", "copy_number", "mutation")
    feats = profile.features
    out = np.zeros((len(table), 3))
    drugs = table["drug"].to_numpy()
    rows = feats.index.get_indexer(table["model"].to_numpy())
    values = feats.to_numpy(float)
    kind_of = profile.kind.reindex(feats.columns).to_numpy()
    gene_of = profile.gene.reindex(feats.columns).to_numpy()
    for drug in pd.unique(drugs):
        wanted: set[str] = set()
        for part in str(drug).split("+"):
            wanted |= set(targets.get(part.strip(), []))
        # A family name without digits ("FGFR", "JAK") stands for the panel's members.
        families = tuple(t for t in wanted if t.isalpha() and t.isupper())
        hit = np.array(
            [g in wanted or (bool(families) and str(g).startswith(families)) for g in gene_of]
        )
        sel = drugs == drug
        for j, kind in enumerate(kinds):
            cols = np.flatnonzero(hit & (kind_of == kind))
            if not len(cols):
                continue
            block = values[np.ix_(rows[sel], cols)]
            with np.errstate(all="ignore"):
                out[sel, j] = (
                    np.nanmax(block, axis=1) if kind == "mutation" else np.nanmean(block, axis=1)
                )
    return pd.DataFrame(out, columns=names, index=table.index)


def _group_folds(
    groups: np.ndarray, n_splits: int, rng: np.random.Generator
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that hold out whole models: ``GroupKFold`` over groups shuffled by ``rng``.

    Fold sizes in models differ by at most one. With one group no model can be held out:
    one fold tests it all and trains on nothing.
    """
    from sklearn.model_selection import GroupKFold

    k = min(n_splits, len(np.unique(groups)))
    if k < 2:
        return [(np.empty(0, dtype=np.int64), np.arange(len(groups)))]
    seed = int(rng.integers(0, 2**32 - 1))
    folds = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros((len(groups), 1)), groups=groups))


class ResponsePredictor(Estimator):
    """Predict responder (probability) or BestAvgResponse from molecular features and drug.

    A *training* estimator (``use = "training"``): its coefficients are meant to predict the
    response of other PDX models and drugs, so every fit passes the licence gate and fails
    closed.

    Parameters
    ----------
    task
        ``"classify"`` (responder yes/no, calibrated probabilities) or ``"regress"``
        (BestAvgResponse, %).
    feature_sets
        Any of ``"drug"`` (one-hot drug), ``"molecular"`` (all panel features) and
        ``"target"`` (features of the drug's target genes).
    C
        Inverse L2 penalty of the logistic regression (``task="classify"``).
    penalty
        Ridge penalty (scikit-learn's ``Ridge(alpha=...)``, ``task="regress"``).
    calibrate
        Calibrate probabilities with a sigmoid fitted to out-of-fold decision values of
        three folds that hold out whole models (scikit-learn's ``CalibratedClassifierCV``,
        ``method="sigmoid"``, ``ensemble=False``); skipped, and said in ``calibration_``,
        when a fold's training part has one class only or there are fewer than 10 rows.

    Attributes
    ----------
    columns_ : list of str
        Design-matrix columns.
    coef_ : pandas.Series
        Standardised coefficients of the final (uncalibrated) linear model per column.
    licence_decisions_ : list
        The licence gate's decisions for the data used.
    calibration_ : str
        How probabilities are calibrated (``"sigmoid on 3 model-held-out folds"``, or why not).
    licence_decision_ : LicenseDecision
        The licence gate's decision for the response data (the first of ``licence_decisions_``).
    converged_ : bool
        Whether the logistic regression (liblinear, ``max_iter=1000``) converged
        (scikit-learn warns when it does not).
    """

    use = "training"

    def __init__(
        self,
        *,
        task: Literal["classify", "regress"] = "classify",
        feature_sets: Sequence[str] = ("drug", "molecular", "target"),
        C: float = 0.1,
        penalty: float = 10.0,
        calibrate: bool = True,
        random_state: int = 0,
    ):
        self.task = task
        self.feature_sets = feature_sets
        self.C = C
        self.penalty = penalty
        self.calibrate = calibrate
        self.random_state = random_state

    def _estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.task == "regress":
            return make_pipeline(StandardScaler(), Ridge(alpha=self.penalty))
        # liblinear: an order of magnitude faster than lbfgs on these small problems.
        return make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=self.C, solver="liblinear", intercept_scaling=100.0, max_iter=1000
            ),
        )

    def fit(
        self,
        table: pd.DataFrame,
        profile: MolecularProfile | None = None,
        *,
        targets: Mapping[str, Sequence[str]] | None = None,
        provenance: Provenance | None = None,
        license: str | None = None,
        policy: LicensePolicy | None = None,
    ) -> ResponsePredictor:
        """Train on a response table (columns model, drug, responder, best_avg_response).

        The table's licence is given as ``provenance=`` (e.g. ``study.provenance``) or, for
        a plain table, as ``license=`` (an SPDX identifier, ``"CC-BY-4.0"``); fitting is
        training, so data whose licence ``policy`` does not allow are refused.
        """
        if provenance is None and license is None:
            raise OptionError(
                "license",
                None,
                "the response table's licence is needed so the licence gate can check that "
                "training on it is allowed; give provenance=study.provenance, or license='SPDX' "
                "for a plain table",
            )
        if provenance is not None and license is not None:
            raise OptionError(
                "license",
                license,
                "give either provenance= or license=, not both (the provenance carries its "
                "own licence)",
            )
        if provenance is None:
            provenance = Provenance(name="response table", license=str(license))
        decisions = [
            licence_gate(
                provenance,
                policy,
                use=self.use,
                purpose="response prediction",
                estimator="ResponsePredictor.fit",
            )
        ]
        if profile is not None and {"molecular", "target"} & set(self.feature_sets):
            decisions.append(
                licence_gate(
                    profile.provenance,
                    policy,
                    use=self.use,
                    purpose="response prediction",
                    estimator="ResponsePredictor.fit",
                )
            )
        drugs = sorted(pd.unique(table["drug"]))
        x = _design(table, profile, targets, self.feature_sets, drugs)
        y = self._target(table)
        xv = x.to_numpy()
        self.calibrated_: Any = None
        self.calibration_ = "none (calibrate=False)" if self.task == "classify" else "none"
        if self.task == "classify" and self.calibrate:
            # Sigmoid on decision values of models that never saw the animal's model, then
            # the classifier refitted on every row (ensemble=False).
            folds = _group_folds(
                table["model"].to_numpy(), 3, np.random.default_rng(self.random_state)
            )
            usable = len(y) >= 10 and len(folds) > 1
            usable = usable and all(len(np.unique(y[tr])) == 2 for tr, _ in folds)
            if usable:
                from sklearn.calibration import CalibratedClassifierCV

                self.calibrated_ = CalibratedClassifierCV(
                    self._estimator(), method="sigmoid", cv=folds, ensemble=False
                ).fit(xv, y)
                est = self.calibrated_.calibrated_classifiers_[0].estimator
                self.calibration_ = f"sigmoid on {len(folds)} model-held-out folds"
            else:
                self.calibration_ = (
                    "none: too few rows, or a fold whose training models have one class only"
                )
        if self.calibrated_ is None:
            est = self._estimator().fit(xv, y)
        linear = est.steps[-1][1]
        # scikit-learn warns itself when liblinear stops at max_iter; record it here too.
        self.converged_ = self.task == "regress" or bool(np.max(linear.n_iter_) < linear.max_iter)
        self.licence_decisions_ = decisions
        self.licence_decision_: LicenseDecision = decisions[0]
        self.drugs_ = drugs
        self.columns_ = list(x.columns)
        self.profile_ = profile
        self.targets_ = targets
        self.estimator_ = est
        self.coef_ = pd.Series(np.ravel(linear.coef_), index=self.columns_)
        return self

    def _target(self, table: pd.DataFrame) -> np.ndarray:
        col = "responder" if self.task == "classify" else "best_avg_response"
        if col not in table:
            raise InputError(
                f"response table: column {col!r} missing; build it with response_table()."
            )
        y = table[col].to_numpy(float)
        if self.task == "classify":
            if len(np.unique(y)) < 2:
                raise InputError(
                    "response table, column 'responder': only one class present; widen the "
                    "responder categories (e.g. responder=('CR', 'PR', 'SD'))."
                )
            return y.astype(int)
        return y

    def predict(
        self, table: pd.DataFrame, *, unknown_drugs: Literal["raise", "ignore"] = "raise"
    ) -> np.ndarray:
        """Probability of response (classify) or predicted BestAvgResponse (regress).

        A drug the model was not trained on has no drug term: ``unknown_drugs="raise"``
        (the default) refuses it, naming the drugs; ``"ignore"`` predicts its rows from the
        other features with every drug indicator at 0.
        """
        check_fitted(self)
        if unknown_drugs not in ("raise", "ignore"):
            raise OptionError("unknown_drugs", unknown_drugs, "must be 'raise' or 'ignore'.")
        if "drug" in self.feature_sets and unknown_drugs == "raise":
            unknown = sorted(set(map(str, pd.unique(table["drug"]))) - set(map(str, self.drugs_)))
            if unknown:
                raise InputError(
                    f"table, column 'drug': {len(unknown)} drug(s) the model was not trained on "
                    f"({', '.join(unknown[:5])}); it knows {', '.join(map(str, self.drugs_[:10]))}"
                    f"{' ...' if len(self.drugs_) > 10 else ''}. Remove those rows, or pass "
                    "unknown_drugs='ignore' to predict them without a drug term."
                )
        x = _design(table, self.profile_, self.targets_, self.feature_sets, self.drugs_)
        if self.task == "classify":
            model = self.calibrated_ if self.calibrated_ is not None else self.estimator_
            return np.asarray(model.predict_proba(x.to_numpy())[:, 1])
        return np.asarray(self.estimator_.predict(x.to_numpy()))

    def gene_importance(self) -> pd.DataFrame:
        """Absolute standardised coefficients summed per gene (molecular and target terms)."""
        check_fitted(self)
        rows = []
        for col, w in self.coef_.items():
            if str(col).startswith(("expr:", "cnv:", "mut:")):
                rows.append((str(col).split(":", 1)[1], str(col).split(":", 1)[0], float(w)))
        df = pd.DataFrame(rows, columns=["gene", "feature", "coef"])
        df["abs_coef"] = df["coef"].abs()
        return df.sort_values("abs_coef", ascending=False).reset_index(drop=True)

    @property
    def summary(self) -> pd.DataFrame:
        """Standardised coefficient per design column (``feature``, ``coef``)."""
        check_fitted(self)
        return self.coef_.rename("coef").reset_index().rename(columns={"index": "feature"})

    def plot(self, ax: object = None, top: int = 15) -> object:
        """Bar chart of the ``top`` genes by importance; return the axes."""
        import matplotlib.pyplot as plt

        imp = self.gene_importance().head(top)
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 0.3 * len(imp) + 1))
        ax.barh(imp["gene"] + " (" + imp["feature"] + ")", imp["coef"])  # type: ignore[attr-defined]
        ax.set_xlabel("standardised coefficient")  # type: ignore[attr-defined]
        return ax


@dataclass
class CVResult:
    """Model-held-out cross-validation of response prediction."""

    scores: pd.DataFrame
    comparisons: pd.DataFrame
    predictions: pd.DataFrame
    calibration: pd.DataFrame
    importance: pd.DataFrame
    n_models: int
    n_rows: int
    n_responders: int


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC by the Mann–Whitney rank sum (ties count one half)."""
    from scipy.stats import rankdata

    y = np.asarray(y)
    n_pos = int(np.sum(y == 1))
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _cluster_bootstrap(
    y: np.ndarray,
    preds: Mapping[str, np.ndarray],
    groups: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    uniq, inv = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inv == i) for i in range(len(uniq))]
    out: dict[str, list[float]] = {k: [] for k in preds}
    for _ in range(n_boot):
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[i] for i in pick])
        for k, p in preds.items():
            out[k].append(_auc(y[idx], p[idx]))
    return {k: np.asarray(v) for k, v in out.items()}


def cross_validate_response(
    table: pd.DataFrame,
    profile: MolecularProfile | None,
    *,
    provenance: Provenance,
    targets: Mapping[str, Sequence[str]] | None = None,
    feature_sets: Mapping[str, Sequence[str]] | None = None,
    n_splits: int = 5,
    n_repeats: int = 3,
    n_boot: int = 500,
    C: float = 0.1,
    random_state: int = 0,
    importance_for: str | None = None,
    importance: bool = True,
    policy: LicensePolicy | None = None,
) -> CVResult:
    """Repeated K-fold cross-validation holding out whole PDX models.

    Parameters
    ----------
    table
        Response table (:func:`response_table`).
    profile
        Molecular features; rows of models without a profile must be removed first.
    feature_sets
        Name → feature sets; default ``{"drug only": ["drug"], "drug + molecular":
        ["drug", "molecular"], "drug + molecular + target": ["drug", "molecular", "target"]}``.
        The first entry is the baseline.
    n_splits, n_repeats
        Folds (over models) and repeats; out-of-fold probabilities are averaged over repeats.
    importance_for
        Feature set whose per-gene permutation importance is computed (default: the last).
    importance
        Compute permutation importance at all (the slowest part).

    Returns
    -------
    CVResult
        ``scores`` (AUC, 95 % cluster-bootstrap interval, Brier score per feature set),
        ``comparisons`` (AUC − baseline AUC with interval), out-of-fold ``predictions``,
        a ``calibration`` table (deciles of predicted probability) and per-gene
        ``importance``.
    """
    sets = dict(
        feature_sets
        or {
            "drug only": ["drug"],
            "drug + molecular": ["drug", "molecular"],
            "drug + molecular + target": ["drug", "molecular", "target"],
        }
    )
    table = table.reset_index(drop=True)
    y = table["responder"].to_numpy(int)
    groups = table["model"].to_numpy()
    rng = np.random.default_rng(random_state)
    oof = {name: np.zeros(len(table)) for name in sets}
    imp_set = importance_for or list(sets)[-1]
    gene_cols: dict[str, list[str]] = {}
    imp_acc: dict[str, list[float]] = {}
    for _ in range(n_repeats):
        folds = _group_folds(groups, n_splits, rng)
        for tr, te in folds:
            for name, fs in sets.items():
                model = ResponsePredictor(feature_sets=fs, C=C, random_state=random_state)
                model.fit(
                    table.iloc[tr], profile, targets=targets, provenance=provenance, policy=policy
                )
                p = model.predict(table.iloc[te], unknown_drugs="ignore")
                oof[name][te] += p / n_repeats
                if importance and name == imp_set and len(np.unique(y[te])) == 2:
                    _permutation_importance(model, table.iloc[te], y[te], rng, gene_cols, imp_acc)
    scores, boots = [], _cluster_bootstrap(y, oof, groups, n_boot, rng)
    for name, p in oof.items():
        auc = _auc(y, p)
        b = boots[name]
        scores.append(
            {
                "features": name,
                "auc": auc,
                "auc_ci_low": float(np.nanpercentile(b, 2.5)),
                "auc_ci_high": float(np.nanpercentile(b, 97.5)),
                "brier": float(np.mean((p - y) ** 2)),
                "brier_prevalence": float(np.mean((y.mean() - y) ** 2)),
            }
        )
    base = list(sets)[0]
    comps = []
    for name in list(sets)[1:]:
        diff = boots[name] - boots[base]
        comps.append(
            {
                "features": name,
                "baseline": base,
                "auc_difference": _auc(y, oof[name]) - _auc(y, oof[base]),
                "ci_low": float(np.nanpercentile(diff, 2.5)),
                "ci_high": float(np.nanpercentile(diff, 97.5)),
                "share_bootstrap_better": float(np.nanmean(diff > 0)),
            }
        )
    preds = table[["model", "drug", "responder", "best_avg_response"]].copy()
    for name, p in oof.items():
        preds[f"p[{name}]"] = p
    p_last = oof[list(sets)[-1]]
    bins = pd.qcut(p_last, q=min(10, max(2, len(np.unique(p_last)) // 2)), duplicates="drop")
    calib = (
        pd.DataFrame({"bin": bins, "p": p_last, "y": y})
        .groupby("bin", observed=True)
        .agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index(drop=True)
    )
    imp = pd.DataFrame(
        [
            {"gene": g, "auc_drop": float(np.mean(v)), "auc_drop_sd": float(np.std(v))}
            for g, v in imp_acc.items()
        ],
        columns=["gene", "auc_drop", "auc_drop_sd"],
    ).sort_values("auc_drop", ascending=False, ignore_index=True)
    return CVResult(
        scores=pd.DataFrame(scores),
        comparisons=pd.DataFrame(comps),
        predictions=preds,
        calibration=calib,
        importance=imp,
        n_models=int(len(np.unique(groups))),
        n_rows=len(table),
        n_responders=int(y.sum()),
    )


def _permutation_importance(
    model: ResponsePredictor,
    test: pd.DataFrame,
    y: np.ndarray,
    rng: np.random.Generator,
    gene_cols: dict[str, list[str]],
    acc: dict[str, list[float]],
) -> None:
    """AUC drop when a gene's molecular features are shuffled across held-out models."""
    profile = model.profile_
    if profile is None or "molecular" not in model.feature_sets:
        return
    base_auc = _auc(y, model.predict(test, unknown_drugs="ignore"))
    models = np.unique(test["model"])
    gene_of = profile.gene.reindex(profile.features.columns)
    for gene in sorted(set(profile.gene)):
        cols = list(gene_of.index[gene_of.to_numpy() == gene])
        shuffled = profile.features.copy()
        perm = rng.permutation(models)
        shuffled.loc[models, cols] = profile.features.loc[perm, cols].to_numpy()
        saved = model.profile_
        model.profile_ = MolecularProfile(shuffled, profile.gene, profile.kind, profile.provenance)
        try:
            auc = _auc(y, model.predict(test, unknown_drugs="ignore"))
        finally:
            model.profile_ = saved
        acc.setdefault(gene, []).append(base_auc - auc)
        gene_cols[gene] = cols
