"""The one data model of the phenotype engines: a table that carries its provenance.

:class:`ProvenanceTable` is the base of the measure tables of the progression engine
(:class:`~translocus.progression.data.MeasureTable`), its lifespan tables
(:class:`~translocus.progression.lifespan_data.LifespanTable`) and the tumour-volume studies
of the treatment engine (:class:`~translocus.treatment.study.TreatmentStudy`). Each holds

- ``data``: a long ``pandas.DataFrame`` whose columns are named by their roles
  (:data:`translocus.core.tables.ROLES`: ``animal``, ``age``, ``time``, ``volume``, ...);
- ``provenance``: where the data came from and under what licence
  (:class:`~translocus.core.provenance.Provenance`), which decides whether a model may
  learn from them (:func:`licence_gate`);
- ``units``: the unit of each column that has one (``{"age": "month"}``);
- ``id_column``: the column naming the subject of a row (``animal``; ``model`` for PDX);
- ``roles``: which column plays which role of the reading command
  (:data:`translocus.core.tables.COMMAND_ROLES`);
- ``source``, ``notes`` and ``counts``: the file read, and what the reader changed, in words
  and as numbers.

Each engine builds its table from a plain data frame with one ``from_frame(df, columns=...,
license=... | provenance=...)``; :func:`provenance_for` is the rule they share: a licence
named by ``license=`` makes a provenance, ``provenance=`` is taken as it is, and neither
records ``NOASSERTION`` (so training refuses the data until their licence is named).

Examples
--------
>>> prov = provenance_for(license="MIT")
>>> prov.name, prov.license
('user data', 'MIT')
>>> provenance_for().license
'NOASSERTION'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

import numpy as np

from translocus.core.errors import InputError, OptionError
from translocus.core.provenance import (
    LicenseDecision,
    LicensePolicy,
    LicenseRefusedError,
    Provenance,
    check_training,
)
from translocus.core.tables import COMMAND_ROLES

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["USER_DATA", "ProvenanceTable", "as_table", "licence_gate", "provenance_for"]

TableT = TypeVar("TableT", bound="ProvenanceTable")

#: Dataset name of a plain data frame given without ``name=``.
USER_DATA = "user data"


def provenance_for(
    *,
    license: str | None = None,
    provenance: Provenance | None = None,
    name: str | None = None,
    source: str = "",
) -> Provenance:
    """The provenance of a plain data frame: from ``license=``, or ``provenance=`` as given.

    Giving both is refused (they could disagree); giving neither records ``NOASSERTION``,
    which the training gate refuses with a message naming ``license=``.
    """
    if provenance is not None:
        if license is not None:
            raise OptionError(
                "license",
                license,
                "give either license= or provenance= (whose licence is "
                f"{provenance.license!r}), not both",
            )
        return provenance
    return Provenance(name=name or USER_DATA, license=license or "NOASSERTION", source=source or "")


@dataclass(frozen=True, kw_only=True)
class ProvenanceTable:
    """A long table of one study with its provenance, units, subject column and roles.

    Subclasses (one per engine) hold the table itself and its provenance as their own
    fields (``data``/``records``, ``provenance``, ``source``, ``notes``, ``counts``); this
    base adds the keyword-only fields ``units`` and ``id_column`` and the shared helpers
    (:meth:`select`, :attr:`n_rows`, :attr:`roles`, :meth:`with_notes`).

    Attributes
    ----------
    units
        Unit of each column that has one (``{"age": "month"}``); the class's
        :attr:`default_units` fill the columns not given.
    id_column
        The column naming the subject of each row (``animal``; ``model`` for PDX studies).
    """

    #: Whose roles (:data:`translocus.core.tables.COMMAND_ROLES`) the columns play.
    command: ClassVar[str] = ""
    #: Units of the canonical columns when a reader says nothing else.
    default_units: ClassVar[Mapping[str, str]] = {}
    #: The field holding the table (``records`` for a treatment study).
    data_field: ClassVar[str] = "data"

    units: Mapping[str, str] = field(default_factory=dict)
    id_column: str = "animal"

    if TYPE_CHECKING:  # supplied by each subclass as dataclass fields (or a property)

        @property
        def data(self) -> pd.DataFrame:
            """The long table, one row per measurement or animal."""

        @property
        def provenance(self) -> Provenance:
            """Source and licence of the data."""

        @property
        def source(self) -> str:
            """The file (or files) read, for messages."""

        @property
        def notes(self) -> tuple[str, ...]:
            """What the reader changed or dropped, in words."""

        @property
        def counts(self) -> tuple[tuple[str, int, str], ...]:
            """The same changes as ``(what, n, why)`` counts, for ``run.json``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", {**self.default_units, **dict(self.units)})

    # -- shared views ----------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Rows of the table."""
        return int(len(self.data))

    @property
    def license(self) -> str:
        """SPDX licence expression of the data (from :attr:`provenance`)."""
        return self.provenance.license

    @property
    def roles(self) -> dict[str, str]:
        """``{role: column}`` for each role of :attr:`command` the table has a column for."""
        present = {str(c) for c in self.data.columns}
        return {r.name: r.name for r in COMMAND_ROLES.get(self.command, ()) if r.name in present}

    def select(self, **equals: object) -> Any:
        """Rows whose columns equal the given values (a list/tuple value means "any of").

        Returns a table of the same type, provenance and notes.
        """
        data = self.data
        mask = np.ones(len(data), dtype=bool)
        for column, wanted in equals.items():
            if column not in data.columns:
                raise InputError(
                    f"{self.source or 'table'}: no column {column!r} to select on; "
                    f"columns are {', '.join(map(str, data.columns))}."
                )
            values = list(wanted) if isinstance(wanted, list | tuple | set) else [wanted]
            mask &= data[column].isin(values).to_numpy()
        changes: dict[str, Any] = {self.data_field: data.loc[mask].reset_index(drop=True)}
        return replace(self, **changes)

    def with_notes(self, *notes: str) -> Any:
        """The same table with ``notes`` appended to what the reader noted."""
        changes: dict[str, Any] = {"notes": (*self.notes, *notes)}
        return replace(self, **changes)

    def describe(self) -> dict[str, object]:
        """Name, licence, rows, subjects, units and roles, as a dict (for ``run.json``)."""
        subjects = int(self.data[self.id_column].nunique()) if self.id_column in self.data else None
        return {
            "dataset": self.provenance.name,
            "license": self.provenance.license,
            "source": self.source,
            "rows": self.n_rows,
            "id_column": self.id_column,
            "subjects": subjects,
            "units": dict(self.units),
            "roles": self.roles,
            "notes": list(self.notes),
        }


def licence_gate(
    provenance: Provenance,
    policy: LicensePolicy | None = None,
    *,
    use: Literal["analysis", "training"],
    purpose: str,
    estimator: str = "",
) -> LicenseDecision:
    """Decide whether an estimator of ``use`` may fit data of ``provenance``, and record it.

    ``"analysis"`` is recorded (purpose ``"analysis"``) and never refused; ``"training"``
    fails closed: a licence the policy does not allow raises
    :class:`~translocus.core.provenance.LicenseRefusedError` in one line that names the
    way out, ``license=`` (when the data state no licence) or ``policy=``.

    >>> licence_gate(Provenance("d", "MIT"), LicensePolicy(), use="training",
    ...              purpose="training a model").allowed
    True
    >>> licence_gate(Provenance("d"), LicensePolicy(), use="training", purpose="training")
    Traceback (most recent call last):
    ...
    translocus.core.provenance.LicenseRefusedError: dataset 'd' (licence NOASSERTION) may not be used for training: the source states no licence (NOASSERTION); name the data's licence with license='SPDX' (e.g. license='MIT') if it has one, or allow the dataset with policy=LicensePolicy(allowed_datasets={'d'}) once its terms permit this use.
    """
    if use == "analysis":
        return check_training(provenance, policy, purpose="analysis")
    decision = check_training(provenance, policy, purpose=purpose)
    if decision.allowed:
        return decision
    name, licence = provenance.name, provenance.license or "none"
    unstated = licence.strip() in ("NOASSERTION", "NONE", "none", "")
    who = f"{estimator}: " if estimator else ""
    head = (
        f"dataset '{name}' (licence {licence}) may not be used for {purpose}: {decision.reason}; "
    )
    python = (
        "name the data's licence with license='SPDX' (e.g. license='MIT') if it has one, or "
        if unstated
        else ""
    )
    cli = (
        "give the table's licence with --license SPDX (e.g. --license CC-BY-4.0) if it has one, or "
        if unstated
        else ""
    )
    raise LicenseRefusedError(
        f"{who}{head}{python}allow the dataset with policy=LicensePolicy(allowed_datasets="
        f"{{'{name}'}}) once its terms permit this use.",
        dataset=name,
        cli_fix=f"{head}{cli}give --allow-dataset {name} once its terms permit this use.",
    )


def as_table(
    data: Any,
    kind: type[TableT],
    from_frame: Callable[..., TableT],
    *,
    license: str | None = None,
    estimator: str = "fit",
) -> TableT:
    """``data`` if it is a ``kind`` table, else a plain frame turned into one with ``license``.

    A table carries its own licence, so ``license=`` given with one is refused rather than
    silently ignored or applied.
    """
    if isinstance(data, kind):
        if license is not None:
            raise OptionError(
                "license",
                license,
                f"{estimator} was given a {kind.__name__}, which carries its own licence "
                f"({data.provenance.license}); license= names the licence of a plain DataFrame",
            )
        return data
    return from_frame(data, license=license)
