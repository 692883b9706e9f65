"""Where a dataset came from, under what licence, and whether a model may learn from it.

Every dataset object in translocus carries a :class:`Provenance`. Before any model is
trained, the training API calls :func:`require_training_allowed`, which fails closed:
a licence that is unknown, unparsable, ``NOASSERTION`` or a ``LicenseRef-*`` is refused
unless the :class:`LicensePolicy` explicitly allows it. Each decision is recorded in the
policy's audit log so that a trained model can say what it was trained on.

Examples
--------
>>> prov = Provenance(name="slam", license="MIT", source="wfmueller29/SLAM")
>>> require_training_allowed(prov).allowed
True
>>> ad = Provenance(name="model_ad", license="LicenseRef-AD-Knowledge-Portal-Terms")
>>> check_training(ad).allowed
False
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from license_expression import ExpressionError, get_spdx_licensing

from translocus.core.errors import UserError

_LOG = logging.getLogger("translocus.licence")

__all__ = [
    "DEFAULT_ALLOWED_LICENSES",
    "LicenseDecision",
    "LicensePolicy",
    "LicenseRefusedError",
    "Provenance",
    "check_training",
    "default_policy",
    "parse_license",
    "require_training_allowed",
]

#: Open licences under which model training is allowed by default (SPDX identifiers).
DEFAULT_ALLOWED_LICENSES: frozenset[str] = frozenset(
    {
        "CC0-1.0",
        "CC-BY-4.0",
        "CC-BY-3.0",
        "CC-BY-SA-4.0",
        "PDDL-1.0",
        "ODC-By-1.0",
        "ODbL-1.0",
        "MIT",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "Apache-2.0",
        "GPL-2.0-only",
        "GPL-2.0-or-later",
        "GPL-3.0-only",
        "GPL-3.0-or-later",
        "LGPL-3.0-only",
        "Artistic-2.0",
    }
)

_LICENSING = get_spdx_licensing()


@dataclass(frozen=True)
class Provenance:
    """Source, citation and licence of one dataset.

    Parameters
    ----------
    name
        Short dataset name, unique within a project (``"DO_Recla"``).
    license
        SPDX licence expression (``"MIT"``, ``"GPL-3.0-only"``, ``"LicenseRef-…"``, or
        ``"NOASSERTION"`` when the source states none).
    source
        Where the data came from (repository @ commit, package, URL).
    citation
        The paper or resource to cite.
    retrieved
        ISO date on which the data were retrieved.
    usage_terms
        Free-text conditions of use beyond the licence.
    description
        What the dataset holds.
    """

    name: str
    license: str = "NOASSERTION"
    source: str = ""
    citation: str = ""
    retrieved: str = ""
    usage_terms: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, str]:
        """The fields as a dictionary of strings (the inverse of :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance:
        """Provenance from a dictionary; keys that are not fields are ignored."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: str(v) for k, v in data.items() if k in known})


def parse_license(expression: str) -> tuple[str, ...]:
    """Return the licence keys an SPDX expression names, or raise ``ValueError``.

    >>> parse_license("MIT OR Apache-2.0")
    ('Apache-2.0', 'MIT')
    """
    text = expression.strip()
    if not text:
        raise ValueError("empty licence expression")
    if text == "NOASSERTION" or text == "NONE":
        return (text,)
    try:
        parsed = _LICENSING.parse(text, validate=False, strict=True)
    except ExpressionError as exc:
        raise ValueError(f"not a valid SPDX licence expression: {expression!r} ({exc})") from exc
    if parsed is None:
        raise ValueError(f"not a valid SPDX licence expression: {expression!r}")
    return tuple(sorted(str(key) for key in _LICENSING.license_keys(parsed)))


@dataclass(frozen=True)
class LicenseDecision:
    """One recorded answer of the licence gate."""

    dataset: str
    license: str
    purpose: str
    allowed: bool
    reason: str
    timestamp: str


class LicenseRefusedError(UserError, PermissionError):
    """Training was asked for on data whose licence the policy does not allow.

    The message names the Python way out (``LicensePolicy(allowed_datasets=...)``); on the
    command line the same refusal names ``--allow-dataset`` (:meth:`cli_message`).
    """

    def __init__(self, message: str, *, dataset: str | None = None, cli_fix: str = "") -> None:
        super().__init__(message)
        self.dataset = dataset
        self.cli_fix = cli_fix

    def cli_message(self, flags: Any = None) -> str:
        """The refusal in command-line terms (the flag that allows the dataset), else in Python terms."""
        return self.cli_fix or str(self)


@dataclass
class LicensePolicy:
    """Which licences allow model training.

    ``allowed`` lists SPDX licence keys (an expression is allowed when it can be satisfied
    using only these: every key of an ``AND``, at least one branch of an ``OR``).
    ``allowed_datasets`` names datasets allowed whatever their licence, for terms that a
    person has read and accepted (``LicenseRef-*`` data used under an agreement).
    """

    allowed: frozenset[str] = DEFAULT_ALLOWED_LICENSES
    allowed_datasets: frozenset[str] = frozenset()
    log: list[LicenseDecision] = field(default_factory=list)

    def decide(self, provenance: Provenance, purpose: str = "training") -> LicenseDecision:
        """Decide whether ``provenance`` allows ``purpose``, and log the decision."""
        allowed, reason = self._evaluate(provenance)
        decision = LicenseDecision(
            dataset=provenance.name,
            license=provenance.license,
            purpose=purpose,
            allowed=allowed,
            reason=reason,
            timestamp=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        )
        self.log.append(decision)
        _LOG.info(
            "licence gate: %s (%s) %s for %s: %s",
            decision.dataset, decision.license, "allowed" if allowed else "refused", purpose,
            reason,
        )  # fmt: skip
        return decision

    def _evaluate(self, provenance: Provenance) -> tuple[bool, str]:
        if provenance.name in self.allowed_datasets:
            return True, "dataset explicitly allowed by the policy"
        expression = provenance.license.strip()
        if expression in ("", "NOASSERTION", "NONE"):
            return False, "the source states no licence (NOASSERTION)"
        try:
            parsed = _LICENSING.parse(expression, validate=False, strict=True)
        except ExpressionError as exc:
            return False, f"unparsable licence expression ({exc})"
        if parsed is None:
            return False, "empty licence expression"
        if _satisfiable(parsed, self.allowed):
            return True, "licence is on the policy's allow-list"
        keys = sorted(str(k) for k in _LICENSING.license_keys(parsed))
        refused = [k for k in keys if k not in self.allowed]
        return False, f"licence not on the allow-list: {', '.join(refused)}"


def _satisfiable(node: Any, allowed: frozenset[str]) -> bool:
    """True when an AND/OR licence expression tree can be met using allowed keys only."""
    from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol

    if isinstance(node, LicenseWithExceptionSymbol):
        return str(node.license_symbol.key) in allowed
    if isinstance(node, LicenseSymbol):
        return str(node.key) in allowed
    if isinstance(node, AND):
        return all(_satisfiable(arg, allowed) for arg in node.args)
    if isinstance(node, OR):
        return any(_satisfiable(arg, allowed) for arg in node.args)
    return False


_DEFAULT_POLICY = LicensePolicy()


def default_policy() -> LicensePolicy:
    """The process-wide default policy (open licences only); its ``log`` records decisions."""
    return _DEFAULT_POLICY


def check_training(
    provenance: Provenance, policy: LicensePolicy | None = None, *, purpose: str = "training"
) -> LicenseDecision:
    """Decide (and record) whether ``provenance`` may be used for ``purpose``; never raises."""
    return (policy or _DEFAULT_POLICY).decide(provenance, purpose)


def require_training_allowed(
    provenance: Provenance, policy: LicensePolicy | None = None, *, purpose: str = "training"
) -> LicenseDecision:
    """The one gate every model-training API calls before it learns from data.

    Fails closed: raises :class:`LicenseRefusedError` naming the dataset and its licence
    unless the policy allows it. The decision is recorded in ``policy.log`` either way.
    """
    decision = check_training(provenance, policy, purpose=purpose)
    if not decision.allowed:
        head = (
            f"dataset '{provenance.name}' (licence {provenance.license or 'none'}) may not be "
            f"used for {purpose}: {decision.reason}. Use data under an open licence, or "
            "allow it explicitly with "
        )
        raise LicenseRefusedError(
            head + f"LicensePolicy(allowed_datasets={{'{provenance.name}'}}) once its terms "
            "permit this use.",
            dataset=provenance.name,
            cli_fix=head + f"--allow-dataset {provenance.name} once its terms permit this use.",
        )
    return decision
