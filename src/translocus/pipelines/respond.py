"""``respond``: tumour response (mRECIST), growth fits, treatment effects and synergy.

One run reads a tumour-volume study (a long table in any layout, the PDXE or Xeva folder,
or the JAX app layout), finds its control arm, and computes per-series response metrics
and mRECIST categories, tumour growth inhibition, growth-rate treatment effects, synergy of
combination arms and per-animal growth-curve fits; :class:`RespondOutput` writes them as
CSV tables and PNG plots.

>>> import tempfile, pathlib
>>> import numpy as np, pandas as pd
>>> days = np.arange(0, 28, 3.0)
>>> table = pd.concat(
...     pd.DataFrame({"model": "M", "arm": arm, "animal": f"{arm}{i}", "day": days,
...                   "volume": 150 * np.exp(rate * days + 0.02 * np.sin(days + i))})
...     for arm, rate in (("vehicle", 0.1), ("drug", 0.02)) for i in (1, 2))
>>> path = pathlib.Path(tempfile.mkdtemp()) / "study.csv"
>>> table.to_csv(path, index=False)
>>> output = run_respond(RespondRequest(data=path, growth_model="exponential"))
>>> output.control, output.control_source, len(output.effects)
('vehicle', 'detected by name', 1)
>>> RespondRequest(data=path, growth_model="logistic").validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: growth_model='logistic': use one of exponential, gompertz, exponential_linear
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog
from translocus.core.tables import parse_columns
from translocus.treatment.study import DAY_UNITS, VOLUME_UNITS, TreatmentStudy

__all__ = [
    "CONTROL_NAMES",
    "DUPLICATES",
    "GROWTH_MODELS",
    "MISSING",
    "ZERO_BASELINE",
    "RespondOutput",
    "ResponsePrediction",
    "RespondRequest",
    "run_respond",
]

GROWTH_MODELS = ("exponential", "gompertz", "exponential_linear")
DUPLICATES = ("error", "mean", "first", "last")
MISSING = ("error", "drop")
ZERO_BASELINE = ("error", "drop")
#: Arm names taken as the control arm when ``--control`` is not given (any case).
CONTROL_NAMES = ("untreated", "control", "vehicle")


def _number(value: float) -> Any:
    """``1000.0`` -> ``1000`` in messages (as the user typed it)."""
    return int(value) if math.isfinite(value) and float(value).is_integer() else value


def _shown(names: list[str] | tuple[str, ...], limit: int = 12) -> str:
    text = ", ".join(map(str, names[:limit]))
    return text + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


@dataclass(frozen=True)
class RespondRequest:
    """Options of ``translocus respond`` (see its ``--help``)."""

    data: Path
    control: str | None = None
    min_day: float = 10.0
    growth_model: str = "gompertz"
    duplicates: str = "error"
    missing: str = "error"
    zero_baseline: str = "error"
    spider_model: str | None = None
    columns: str | Mapping[str, str] | None = None
    volume_unit: str = "mm3"
    day_unit: str = "day"
    predict: bool = False
    allow_dataset: tuple[str, ...] = ()

    def validate(self) -> None:
        """Cheap checks of every option and of the input path (before anything is read)."""
        if self.growth_model not in GROWTH_MODELS:
            raise OptionError(
                "growth_model", self.growth_model, f"use one of {', '.join(GROWTH_MODELS)}"
            )
        if self.duplicates not in DUPLICATES:
            raise OptionError("duplicates", self.duplicates, f"use one of {', '.join(DUPLICATES)}")
        if self.missing not in MISSING:
            raise OptionError("missing", self.missing, f"use one of {', '.join(MISSING)}")
        if self.zero_baseline not in ZERO_BASELINE:
            raise OptionError(
                "zero_baseline", self.zero_baseline, f"use one of {', '.join(ZERO_BASELINE)}"
            )
        if self.volume_unit not in VOLUME_UNITS:
            raise OptionError(
                "volume_unit", self.volume_unit, f"use one of {', '.join(VOLUME_UNITS)}"
            )
        if self.day_unit not in DAY_UNITS:
            raise OptionError("day_unit", self.day_unit, f"use one of {', '.join(DAY_UNITS)}")
        if not math.isfinite(self.min_day) or self.min_day < 0:
            raise OptionError(
                "min_day",
                _number(self.min_day),
                "must be a day of 0 or more (10 in Gao et al. 2015)",
            )
        if self.allow_dataset and not self.predict:
            raise OptionError(
                "allow_dataset",
                self.allow_dataset[0],
                "only applies to training; add {predict} to learn response across models",
            )
        if self.control is not None and not self.control.strip():
            raise OptionError("control", self.control, "name the control arm, e.g. untreated")
        mapping = self.column_map()
        data = Path(self.data)
        if not data.exists():
            raise InputError(
                f"{data}: not found; give a tumour-volume table (CSV, TSV or parquet) or a "
                "PDXE or Xeva folder"
            )
        if mapping and data.is_dir():
            raise OptionError(
                "columns",
                self.columns if isinstance(self.columns, str) else None,
                f"{data} is a folder (PDXE or Xeva layout); --columns maps the columns of a "
                "table file",
            )

    def column_map(self) -> dict[str, str]:
        """``--columns`` as ``{role: column}`` (checked against the roles of ``respond``)."""
        return parse_columns(self.columns, command="respond")


#: Held-out validation inside a ``--predict`` run (the benchmark runs five seeds, ten folds).
PREDICT_VALIDATION: dict[str, Any] = {"seeds": 1, "n_folds": 5, "n_boot": 200}


@dataclass
class ResponsePrediction:
    """Responses predicted for unobserved (model, drug) pairs, and their validation.

    Attributes
    ----------
    predictions
        One row per unobserved (model, drug) pair: predicted ``best_avg_response``,
        ``best_response`` (%) and growth-rate ``effect`` (when the study has a control
        arm), each with ``_low``/``_high`` bounds of the ``level`` interval (held-out
        residual quantiles), and the ``mrecist`` class of the two predicted responses.
    validation, gain
        Held-out scores of every method and each method's gain over the additive baseline
        (:func:`~translocus.treatment.completion.validate_completion`).
    fits
        The fitted models' summaries (one row per response).
    """

    predictions: pd.DataFrame
    validation: pd.DataFrame
    gain: pd.DataFrame
    fits: pd.DataFrame
    settings: dict[str, Any]

    def write(self, folder: Path) -> None:
        """Write the four tables as CSV into ``folder``.

        ``predictions.csv``, ``prediction_validation.csv``, ``prediction_gain.csv`` and
        ``prediction_models.csv``.
        """
        self.predictions.to_csv(folder / "predictions.csv", index=False)
        self.validation.to_csv(folder / "prediction_validation.csv", index=False)
        self.gain.to_csv(folder / "prediction_gain.csv", index=False)
        self.fits.to_csv(folder / "prediction_models.csv", index=False)

    def summary(self) -> dict[str, Any]:
        """Pairs predicted and the held-out best-average-response MAE per split and method."""
        v = self.validation.loc[self.validation["response"] == "best_avg_response"]
        return {
            "pairs_predicted": len(self.predictions),
            "responses": list(self.fits["response"]),
            "level": self.settings["level"],
            "validation": self.settings["validation"],
            "mae_best_avg_response": {
                f"{split} / {method}": round(float(mae), 3)
                for split, method, mae in v[["split", "method", "mae"]].itertuples(index=False)
            },
        }


@dataclass
class RespondOutput:
    """Response metrics, treatment effects, synergy and growth fits of one study.

    Attributes
    ----------
    study
        The tumour-volume records as read (mm³, days), with the control arm used.
    metrics
        One row per series: response metrics and mRECIST category.
    counts
        mRECIST categories per tumour type (or per arm when the types are unknown).
    tgi, effects, synergy
        Tumour growth inhibition, growth-rate treatment effects and synergy of combination
        arms (empty tables when the study has no usable control arm).
    growth
        The fitted :class:`~translocus.treatment.growth.GrowthModel` (one row per series).
    control, control_source
        The control arm (or ``None``) and how it was chosen: ``--control``, ``layout``
        (the PDXE/JAX/Xeva layout's), ``detected by name`` or ``None``.
    """

    request: RespondRequest
    study: TreatmentStudy
    metrics: pd.DataFrame
    counts: pd.DataFrame
    tgi: pd.DataFrame
    effects: pd.DataFrame
    synergy: pd.DataFrame
    growth: Any
    control: str | None
    control_source: str | None
    spider_model: str
    examples: TreatmentStudy
    example_fits: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prediction: ResponsePrediction | None = None

    def volumes(self) -> pd.DataFrame:
        """Tumour volume curves with each series' mRECIST class and best average response.

        One row per measurement: ``model, arm, animal, day, volume`` (mm³, days),
        ``tumor_type`` when known, and the series' ``mrecist`` and ``best_avg_response`` (%).
        """
        rec = self.study.records
        cols = ["model", "arm", "animal", "day", "volume"]
        cols += [c for c in ("tumor_type",) if c in rec]
        keys = ["model", "arm", "animal"]
        joined = self.metrics[[*keys, "mrecist", "best_avg_response"]]
        return rec[cols].merge(joined, on=keys, how="left", validate="many_to_one")

    def write(self, folder: Path) -> None:
        """Tables as CSV and the waterfall, spider and growth-fit plots as PNG."""
        from matplotlib.figure import Figure

        from translocus.treatment.plot import growth_fit_plot, spider_plot, waterfall_plot

        folder = Path(folder)
        self.metrics.to_csv(folder / "metrics.csv", index=False)
        self.counts.to_csv(folder / "categories.csv")
        self.tgi.to_csv(folder / "tgi.csv", index=False)
        self.effects.to_csv(folder / "treatment_effects.csv", index=False)
        self.synergy.to_csv(folder / "synergy.csv", index=False)
        self.growth.params_.to_csv(folder / "growth_fits.csv", index=False)
        self.volumes().to_parquet(folder / "volumes.parquet", index=False)
        if self.prediction is not None:
            self.prediction.write(folder)

        metrics = self.metrics
        treated = metrics if self.control is None else metrics[metrics["arm"] != self.control]
        fig = Figure(figsize=(9, 3.5))
        ax = fig.subplots()
        if treated["best_avg_response"].notna().any():
            waterfall_plot(treated, ax=ax, title="Best average response, coloured by mRECIST")
        else:
            ax.text(0.5, 0.5, "no treated series with a best average response", ha="center")
            ax.set_axis_off()
        fig.savefig(folder / "waterfall.png", dpi=120, bbox_inches="tight")
        fig = Figure(figsize=(6, 4))
        spider_plot(self.study, model=self.spider_model, metrics=metrics, ax=fig.subplots())
        fig.savefig(folder / "spider.png", dpi=120, bbox_inches="tight")
        fig = Figure(figsize=(6, 4))
        growth_fit_plot(
            self.examples,
            self.example_fits,
            series=range(self.examples.n_series),
            ax=fig.subplots(),
        )
        fig.savefig(folder / "growth_fits.png", dpi=120, bbox_inches="tight")

    def summary(self) -> dict[str, Any]:
        """The key numbers (``run.json`` "summary")."""
        study, effects = self.study, self.effects
        arms = list(study.arms)
        return {
            "source": str(self.request.data),
            "license": study.provenance.license,
            "control": self.control,
            "control_source": self.control_source,
            "arms": arms[:100],
            "n_arms": len(arms),
            "models": study.n_models,
            "series": study.n_series,
            "measurements": len(study.records),
            "mrecist_counts": {
                str(k): int(v)
                for k, v in self.metrics["mrecist"].fillna("NA").value_counts().items()
            },
            "models_without_control": (
                study.models_without_control() if self.control is not None else []
            ),
            "treatment_effects": len(effects),
            "significant_effects_p05": (
                int((effects["p_value"] < 0.05).sum()) if len(effects) else 0
            ),
            "combinations_scored": len(self.synergy),
            "growth_model": self.request.growth_model,
            "growth_converged": float(self.growth.params_["converged"].mean()),
            "spider_model": self.spider_model,
            "prediction": self.prediction.summary() if self.prediction is not None else None,
            "notes": [*self.notes, *study.notes],
        }


def _choose_control(study: TreatmentStudy, given: str | None) -> tuple[str | None, str | None]:
    """The control arm and how it was found; an unknown ``--control`` is an error."""
    arms = study.arms
    if given is not None:
        if given in arms:
            return given, "--control"
        near = [a for a in arms if a.lower() == given.lower()]
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise OptionError(
            "control",
            given,
            f"no control arm named {given!r} in {study.source}{hint}; arms are {_shown(arms)}",
        )
    if study.control is not None and study.control in arms:
        return study.control, "layout"
    named = [a for a in arms if a.strip().lower() in CONTROL_NAMES]
    if len(named) > 1:
        raise OptionError(
            "control",
            None,
            f"arms {' and '.join(map(repr, named))} of {study.source} both look like a control "
            f"arm; name the one to use, e.g. {{control}} {named[0]}",
        )
    if named:
        return named[0], "detected by name"
    return None, None


def _has_pairs(study: TreatmentStudy, control: str) -> bool:
    """Whether some model has both the control arm and a treated arm."""
    rec = study.records
    with_control = set(rec.loc[rec["arm"] == control, "model"])
    treated = set(rec.loc[rec["arm"] != control, "model"])
    return bool(with_control & treated)


def run_respond(request: RespondRequest, log: RunLog | None = None) -> RespondOutput:
    """Read the study ``request`` names and compute its response, effects and growth fits."""
    from translocus.treatment.growth import GrowthModel, synergy, treatment_effects
    from translocus.treatment.metrics import (
        category_counts,
        response_metrics,
        tumor_growth_inhibition,
    )
    from translocus.treatment.plot import example_series
    from translocus.treatment.study import read_study

    request.validate()
    log = log or RunLog()
    with log.step("read study"):
        study = read_study(
            request.data,
            duplicates=request.duplicates,  # type: ignore[arg-type]
            missing=request.missing,  # type: ignore[arg-type]
            zero_baseline=request.zero_baseline,  # type: ignore[arg-type]
            columns=request.column_map() or None,
            volume_unit=request.volume_unit,
            day_unit=request.day_unit,
        )
    for what, n, reason in study.counts:
        log.count(what, n, reason)
    log.add_provenance(study.provenance)
    policy = _training_policy(study, request) if request.predict else None
    if study.records.empty:
        raise InputError(
            f"{study.source}: no measurements left to analyse (every row was dropped); "
            "check the volume column (--columns volume=NAME)"
        )

    # Choices that depend on the data, checked before any computation.
    control, control_source = _choose_control(study, request.control)
    notes: list[str] = []
    if control is None:
        notes.append(
            f"no control arm: no arm is named {', '.join(CONTROL_NAMES)} (arms: "
            f"{_shown(study.arms)}); no treatment effects, TGI or synergy computed — give "
            "--control ARM"
        )
    elif not _has_pairs(study, control):
        if control_source == "--control":
            raise OptionError(
                "control",
                control,
                f"no model of {study.source} has both this arm and a treated arm; name the "
                f"control arm of your models (arms: {_shown(study.arms)})",
            )
        notes.append(
            f"control arm {control!r} ({control_source}): no model has both it and a treated "
            "arm; no treatment effects, TGI or synergy computed"
        )
    study = replace(study, control=control)
    usable_control = control is not None and _has_pairs(study, control)
    last_day = float(study.records["day"].max())
    if last_day < request.min_day:
        raise OptionError(
            "min_day",
            _number(request.min_day),
            f"no series of {study.source} reaches that day (the last measurement is on day "
            f"{last_day:g}); give a smaller {{min_day}} (default 10)",
        )
    models = list(study.models)
    spider_model = request.spider_model if request.spider_model is not None else models[0]
    if spider_model not in models:
        raise OptionError(
            "spider_model",
            spider_model,
            f"no model of that name in {study.source}; models are {_shown(models, 8)}",
        )

    with log.step("response metrics"):
        metrics = response_metrics(study, min_day=request.min_day)
        by = "tumor_type" if "tumor_type" in metrics else "arm"
        counts = category_counts(metrics, by=by)
    if request.predict:
        _check_pairs(metrics, control if usable_control else None, study.source)
    unscored = int(metrics["mrecist"].isna().sum())
    if unscored:
        log.count(
            "series without mRECIST",
            unscored,
            f"no measurement on or after day {request.min_day:g} (--min-day)",
        )
    if usable_control:
        with log.step("treatment effects"):
            tgi = tumor_growth_inhibition(study)
            effects = treatment_effects(study)
            syn = synergy(study, tgi=tgi)
    else:
        tgi = effects = syn = pd.DataFrame()
    from translocus.core.estimator import ConvergenceWarning

    unconverged: list[str] = []  # the engine's wording names Python options; said below instead
    with (
        log.step("growth fits"),
        log.capture_warnings(quiet=(ConvergenceWarning,), into=unconverged),
    ):
        growth = GrowthModel(request.growth_model).fit(study)  # type: ignore[arg-type]
        examples = example_series(study)
        example_fits = [GrowthModel(kind).fit(examples) for kind in GROWTH_MODELS]  # type: ignore[arg-type]
    if not growth.converged_:
        log.warn(
            f"some {request.growth_model} growth fits did not converge (column 'converged' of "
            "growth_fits.csv); --growth-model exponential always fits",
            detail=unconverged,
        )
    prediction = None
    if request.predict:
        prediction = _predict(study, metrics, effects, control if usable_control else None,
                              policy, log)  # fmt: skip
    return RespondOutput(
        request=request,
        study=study,
        metrics=metrics,
        counts=counts,
        tgi=tgi,
        effects=effects,
        synergy=syn,
        growth=growth,
        control=control,
        control_source=control_source,
        spider_model=spider_model,
        examples=examples,
        example_fits=example_fits,
        notes=notes,
        prediction=prediction,
    )


def _training_policy(study: TreatmentStudy, request: RespondRequest) -> Any:
    """``--predict`` trains a model: the licence gate, in command-line terms (before any work)."""
    from translocus.core.provenance import LicensePolicy, LicenseRefusedError

    unknown = [d for d in request.allow_dataset if d != study.provenance.name]
    if unknown:
        raise OptionError(
            "allow_dataset",
            unknown[0],
            f"this run reads only dataset {study.provenance.name!r}; "
            f"give --allow-dataset {study.provenance.name}",
        )
    policy = LicensePolicy(allowed_datasets=frozenset(request.allow_dataset))
    decision = LicensePolicy(allowed_datasets=policy.allowed_datasets).decide(
        study.provenance, "response prediction"
    )
    if not decision.allowed:
        name, licence = study.provenance.name, study.provenance.license or "none"
        raise LicenseRefusedError(
            f"dataset '{name}' (licence {licence}) may not be used for response prediction "
            f"(--predict trains a model): {decision.reason}; once its terms permit this use, "
            f"give --allow-dataset {name}",
            dataset=name,
        )
    return policy


def _check_pairs(metrics: pd.DataFrame, control: str | None, source: str) -> None:
    """``--predict`` needs a response matrix to learn from."""
    from translocus.treatment.completion import pair_table

    table = pair_table(metrics, control=control)
    n_models, n_drugs = table["model"].nunique(), table["drug"].nunique()
    if len(table) < 20 or n_models < 3 or n_drugs < 2:
        raise OptionError(
            "predict",
            None,
            f"{source} has {len(table)} treated (model, arm) pairs with a best average "
            f"response ({n_models} models, {n_drugs} treated arms); learning across models "
            "and drugs needs at least 20 pairs of 3 models and 2 arms — leave out --predict",
        )


def _predict(
    study: TreatmentStudy,
    metrics: pd.DataFrame,
    effects: pd.DataFrame,
    control: str | None,
    policy: Any,
    log: RunLog,
) -> ResponsePrediction:
    """``--predict``: learn response across models and drugs, validate, fill the matrix."""
    from translocus.core.estimator import ConvergenceWarning
    from translocus.treatment.completion import (
        ResponseCompletion,
        model_side_features,
        pair_table,
        validate_completion,
    )
    from translocus.treatment.metrics import mrecist_category

    table = pair_table(metrics, effects if len(effects) else None, control=control)
    n_models = table["model"].nunique()
    features = model_side_features(metrics, control=control)
    responses = ["best_avg_response", "best_response"]
    if "effect" in table and table["effect"].notna().sum() >= 20:
        responses.append("effect")
    level = 0.9
    splits = ("pairs", "new_model") if n_models >= 10 else ("pairs",)
    settings = {"level": level, "validation": {**PREDICT_VALIDATION, "splits": list(splits)}}
    quiet: list[str] = []
    with (
        log.step("response prediction: validation"),
        log.capture_warnings(quiet=(ConvergenceWarning,), into=quiet),
    ):
        checked = validate_completion(
            table, provenance=study.provenance, model_features=features,
            responses=responses[:2], splits=splits, policy=policy,
            n_folds=min(PREDICT_VALIDATION["n_folds"], n_models),
            seeds=PREDICT_VALIDATION["seeds"], n_boot=PREDICT_VALIDATION["n_boot"],
        )  # fmt: skip
    models = sorted(table["model"].unique())
    drugs = sorted(table["drug"].unique())
    grid = pd.DataFrame([(m, d) for m in models for d in drugs], columns=["model", "drug"]).merge(
        table[["model", "drug"]].assign(observed=True), on=["model", "drug"], how="left"
    )
    out = grid.loc[grid["observed"].isna(), ["model", "drug"]].reset_index(drop=True)
    if "tumor_type" in features:
        out.insert(2, "tumor_type", out["model"].map(features["tumor_type"]))
    fits = []
    with (
        log.step("response prediction: fit"),
        log.capture_warnings(quiet=(ConvergenceWarning,), into=quiet),
    ):
        for resp in responses:
            fit = ResponseCompletion(response=resp, level=level).fit(
                table, model_features=features, provenance=study.provenance, policy=policy
            )
            band = fit.predict_interval(out)
            out[resp] = band["prediction"].to_numpy()
            out[f"{resp}_low"] = band["low"].to_numpy()
            out[f"{resp}_high"] = band["high"].to_numpy()
            fits.append(fit.summary)
            if not fit.converged_:
                log.warn(f"response prediction ({resp}): the robust fit did not settle")
    out["mrecist"] = mrecist_category(
        out["best_response"].to_numpy(float), out["best_avg_response"].to_numpy(float)
    )
    log.count(
        "pairs predicted", len(out), f"unobserved of {len(models)} models x {len(drugs)} arms"
    )
    return ResponsePrediction(
        predictions=out,
        validation=checked.scores,
        gain=checked.comparisons,
        fits=pd.concat(fits, ignore_index=True),
        settings=settings,
    )
