"""``lifespan``: the effect of each intervention on lifespan against same-cohort controls.

Reads the ITP GeneNetwork export, or any table with one row per animal holding its arm and
sex and either a time column or birth and death dates (``--columns``); the control arm of
such a table is ``--control`` or the arm named control/untreated/vehicle/placebo.

>>> LifespanRequest(data=Path("x.csv"), n_boot=-5).validate()
Traceback (most recent call last):
...
translocus.core.errors.OptionError: n_boot=-5: must be 0 or more (0: no bootstrap intervals of the median extension)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from translocus.core.errors import InputError, OptionError
from translocus.core.runs import RunLog
from translocus.pipelines.survival import (
    DUPLICATE_CHOICES,
    _check_path,
    _record_reading,
    _shown,
    read_lifespans,
)
from translocus.progression.lifespan_data import TIME_UNITS, LifespanTable

__all__ = ["SEXES", "LifespanOutput", "LifespanRequest", "run_lifespan"]

SEXES = ("F", "M", "pooled")
#: Arm names taken as the control arm of a table (case-insensitive).
CONTROL_NAMES = ("control", "controls", "untreated", "vehicle", "placebo", "cont", "ctrl")
#: Columns of the effects table that come from the bootstrap.
BOOTSTRAP_COLUMNS = (
    "median_ext_lower",
    "median_ext_upper",
    "median_ext_pct_lower",
    "median_ext_pct_upper",
)
_SEX_CODES = {"f": "F", "female": "F", "females": "F", "m": "M", "male": "M", "males": "M"}


@dataclass(frozen=True)
class LifespanRequest:
    """Options of ``translocus lifespan`` (see its ``--help``)."""

    data: Path
    arms: tuple[str, ...] = ()
    sexes: tuple[str, ...] = SEXES
    n_boot: int = 1000
    seed: int = 0
    control: str | None = None
    columns: str | None = None
    time_unit: str = "day"
    duplicates: str = "error"

    def validate(self) -> None:
        from translocus.core.tables import parse_columns

        if self.n_boot < 0:
            raise OptionError(
                "n_boot",
                self.n_boot,
                "must be 0 or more (0: no bootstrap intervals of the median extension)",
            )
        if not self.sexes:
            raise OptionError("sexes", "", f"name one or more of {', '.join(SEXES)}")
        unknown = [s for s in self.sexes if s not in SEXES]
        if unknown:
            raise OptionError(
                "sexes", ",".join(self.sexes), f"{unknown[0]!r} is not one of {', '.join(SEXES)}"
            )
        if self.time_unit not in TIME_UNITS:
            raise OptionError("time_unit", self.time_unit, f"use one of {', '.join(TIME_UNITS)}")
        if self.duplicates not in DUPLICATE_CHOICES:
            raise OptionError(
                "duplicates", self.duplicates, f"use one of {', '.join(DUPLICATE_CHOICES)}"
            )
        if self.seed < 0:
            raise OptionError("seed", self.seed, "must be 0 or more")
        parse_columns(self.columns, command="lifespan")
        path = Path(self.data)
        if path.is_dir():
            found = ", ".join(str(f) for f in sorted(path.rglob("ITP_*.csv"))[:3])
            hint = f" (ITP exports there: {found})" if found else ""
            raise InputError(
                f"{path}: is a folder; give one lifespan table or ITP export file{hint}"
            )
        _check_path(path, self.columns, what="an ITP export")


@dataclass
class LifespanOutput:
    """Lifespan effects of each arm and sex against its controls, ready to be written."""

    request: LifespanRequest
    table: LifespanTable
    model: Any
    effects: pd.DataFrame
    shown_arms: list[str]
    notes: list[str] = field(default_factory=list)
    numerical_warnings: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        import matplotlib.pyplot as plt

        from translocus.treatment.lifespan import forest_plot

        self.effects.to_csv(folder / "lifespan_effects.csv", index=False)
        fig = forest_plot(self.effects, arms=self.shown_arms)
        try:
            fig.savefig(folder / "forest.png", dpi=120, bbox_inches="tight")
        finally:
            plt.close(fig)

    def rows(self) -> pd.DataFrame:
        """The effects of the arms shown in the figure (all arms asked for)."""
        return self.effects[self.effects["arm"].isin(self.shown_arms)]

    def summary(self) -> dict[str, Any]:
        keep = [
            "arm", "drug", "cohort", "sex", "n_treated", "n_control", "median_control",
            "median_ext_pct", "median_ext_pct_lower", "median_ext_pct_upper", "hr",
            "hr_lower", "hr_upper", "logrank_p",
        ]  # fmt: skip
        return {
            "data": str(self.request.data),
            "animals": self.table.n_animals,
            "arms": int(self.effects["arm"].nunique()),
            "rows": int(len(self.effects)),
            "bootstrap_samples": self.request.n_boot,
            "intervals": "bootstrap" if self.request.n_boot else "none (--n-boot 0)",
            "effects": _rounded(self.rows()[keep]).to_dict(orient="records"),
            "notes": list(self.notes),
            "numerical_warnings": list(self.numerical_warnings),
            "files": ["lifespan_effects.csv", "forest.png"],
        }


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """Estimates to 4 decimals; p-values (``*_p``) keep their significant digits."""
    estimates = [c for c in frame.columns if not str(c).endswith("_p")]
    return frame.round(dict.fromkeys(estimates, 4))


def _control_arm(arms: list[str], given: str | None, source: str, column: str) -> str:
    if given is not None:
        if given not in arms:
            raise OptionError(
                "control", given, f"is not an arm of {source} (column {column!r}); arms are "
                f"{_shown(sorted(arms))}",
            )  # fmt: skip
        return given
    found = [a for a in arms if a.strip().lower() in CONTROL_NAMES]
    if len(found) == 1:
        return found[0]
    if not found:
        raise OptionError(
            "control", None, f"{source} has no arm named control, untreated, vehicle or "
            f"placebo (arms: {_shown(sorted(arms))}); name the control arm with {{control}} ARM",
        )  # fmt: skip
    raise OptionError(
        "control", None, f"{source} has several control-like arms ({', '.join(found)}); "
        "name one with {control} ARM",
    )  # fmt: skip


def _engine_frame(
    table: LifespanTable, request: LifespanRequest, log: RunLog, notes: list[str]
) -> pd.DataFrame:
    """A generic lifespan table in the layout of the intervention engine."""
    source = str(request.data)
    df = table.data.copy()
    df["arm"] = df["arm"].astype(str).str.strip()
    raw_sex = df["sex"].astype(str).str.strip()
    sex = raw_sex.str.lower().map(_SEX_CODES)
    unknown = sorted(set(raw_sex[sex.isna()]) - {"nan", ""})
    if unknown:
        raise InputError(
            f"{source}, sex column: values {', '.join(map(repr, unknown[:5]))} are not F/M "
            "(female/male); recode them or map another column with --columns sex=COLUMN"
        )
    no_sex = sex.isna().to_numpy()
    if no_sex.any():
        log.count("animals dropped", int(no_sex.sum()), "no sex (column blank)")
        df, sex = df.loc[~no_sex], sex[~no_sex]
    df["sex"] = sex
    if "site" in df.columns and df["site"].notna().any():
        no_site = df["site"].isna().to_numpy()
        if no_site.any():
            log.count("animals dropped", int(no_site.sum()), "no site (column blank)")
            df = df.loc[~no_site]
        df["site"] = df["site"].astype(str)
    else:
        df["site"] = "all"
        notes.append("no site column: one site")
    if "cohort" in df.columns:
        cohort = pd.to_numeric(df["cohort"], errors="coerce")
        if cohort.isna().any():
            raise InputError(
                f"{source}, column 'cohort': {int(cohort.isna().sum())} values are not years "
                "or numbers; fix them, or rename the column to compare every arm with all "
                "controls"
            )
        df["cohort"] = cohort.astype(int)
    else:
        df["cohort"] = 0
        notes.append("no cohort column: every arm is compared with all controls")
    control = _control_arm(sorted(df["arm"].unique()), request.control, source, "arm")
    df["control"] = df["arm"] == control
    df["main_study"] = True
    notes.append(f"control arm: {control}")
    return df.reset_index(drop=True)


def _shown_arms(effects: pd.DataFrame, asked: bool, limit: int = 12) -> list[str]:
    if asked:
        return list(dict.fromkeys(effects["arm"]))
    ranked = effects[effects["sex"] == "pooled"]
    if ranked.empty:
        ranked = effects
    ranked = ranked.sort_values("logrank_p", kind="stable")
    return list(dict.fromkeys(ranked["arm"]))[:limit]


def run_lifespan(request: LifespanRequest, log: RunLog | None = None) -> LifespanOutput:
    """Read the lifespans ``request`` names and estimate each arm's effect by sex."""
    from translocus.core.tables import parse_columns
    from translocus.progression.lifespan_data import is_itp_export
    from translocus.treatment.lifespan import LifespanInterventionEffects

    request.validate()
    log = log or RunLog()
    source = str(request.data)
    notes: list[str] = []
    with log.step("read table"):
        table, _, roles = read_lifespans(
            request.data,
            command="lifespan",
            columns=parse_columns(request.columns, command="lifespan"),
            time_unit=request.time_unit,
            duplicates=request.duplicates,
            event_default=1.0,
        )
    _record_reading(table, log)
    notes.extend(table.notes)
    if is_itp_export(Path(request.data)):
        frame = table.data
    else:
        if "event" not in roles:
            log.warn(
                "no event column: every animal is counted as a death; map censoring with "
                "--columns event=COLUMN (1 = death, 0 = censored)"
            )
        frame = _engine_frame(table, request, log, notes)
    main = frame[frame["main_study"].astype(bool)] if "main_study" in frame else frame
    treated = sorted(set(main.loc[~main["control"].astype(bool), "arm"]))
    unknown = [a for a in request.arms if a not in treated]
    if unknown:
        raise OptionError(
            "arms", ",".join(request.arms), f"{unknown[0]!r} is not a treated arm of {source}; "
            f"arms are {_shown(treated, limit=40)}",
        )  # fmt: skip
    wanted = [s for s in request.sexes if s != "pooled"]
    absent = [s for s in wanted if s not in set(main["sex"])]
    if absent:
        raise OptionError(
            "sexes", ",".join(request.sexes), f"{source} has no animals of sex {absent[0]}; "
            f"sexes are {', '.join(sorted(map(str, main['sex'].unique())))}",
        )  # fmt: skip
    # The engine always draws bootstrap samples; with --n-boot 0 it draws one (cheap) and
    # the intervals it gives are discarded: the point estimates do not use the bootstrap.
    model = LifespanInterventionEffects(
        arms=list(request.arms) or None,
        sexes=list(request.sexes),
        n_boot=request.n_boot or 1,
        random_state=request.seed,
    )
    numerical: list[str] = []
    with (
        log.step("lifespan effects"),
        log.capture_warnings(quiet=(RuntimeWarning,), into=numerical),
    ):
        model.fit(frame, source=source)
    effects = model.effects_.copy()
    effects.attrs["provenance"] = table.provenance.to_dict()
    if request.n_boot == 0:
        for column in BOOTSTRAP_COLUMNS:
            effects[column] = np.nan
        model.effects_ = effects  # the one-sample intervals are not kept anywhere
        notes.append("no bootstrap (--n-boot 0): median-extension intervals are not given")
    analysed = set(zip(effects["arm"], effects["sex"], strict=True))
    skipped = [
        f"{arm} {sex}"
        for arm in (request.arms or treated)
        for sex in request.sexes
        if (arm, sex) not in analysed
    ]
    if skipped:
        log.count(
            "arm and sex combinations skipped", len(skipped),
            f"fewer than {model.min_per_group} treated or control mice: {', '.join(skipped[:5])}",
        )  # fmt: skip
    if numerical:
        log.count("numerical warnings", len(numerical), "; ".join(numerical)[:500])
    shown = _shown_arms(effects, bool(request.arms))
    return LifespanOutput(request, table, model, effects, shown, notes, numerical)
