"""The licence gate: SPDX parsing, AND/OR logic, failing closed, and the decision log."""

from __future__ import annotations

import pytest

from translocus.core.provenance import (
    DEFAULT_ALLOWED_LICENSES,
    LicensePolicy,
    LicenseRefusedError,
    Provenance,
    check_training,
    default_policy,
    parse_license,
    require_training_allowed,
)


def _prov(license: str, name: str = "data") -> Provenance:
    return Provenance(name=name, license=license, source="somewhere")


def test_parse_license_lists_the_keys_of_an_expression() -> None:
    assert parse_license("MIT") == ("MIT",)
    assert parse_license("MIT OR Apache-2.0") == ("Apache-2.0", "MIT")
    assert parse_license("(MIT AND BSD-3-Clause) OR GPL-3.0-only") == (
        "BSD-3-Clause",
        "GPL-3.0-only",
        "MIT",
    )
    assert parse_license("LicenseRef-AD-Knowledge-Portal-Terms") == (
        "LicenseRef-AD-Knowledge-Portal-Terms",
    )
    assert parse_license("NOASSERTION") == ("NOASSERTION",)
    assert parse_license("GPL-2.0-or-later WITH Classpath-exception-2.0") == (
        "Classpath-exception-2.0",
        "GPL-2.0-or-later",
    )


@pytest.mark.parametrize("bad", ["", "   ", "MIT OR", "(MIT AND", "MIT AND AND BSD-3-Clause"])
def test_parse_license_rejects_malformed_expressions(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_license(bad)


@pytest.mark.parametrize(
    ("expression", "allowed"),
    [
        ("MIT", True),
        ("CC-BY-4.0", True),
        ("GPL-3.0-only", True),
        ("MIT AND Apache-2.0", True),
        ("MIT AND LicenseRef-AD-Knowledge-Portal-Terms", False),  # AND: every part must pass
        ("MIT OR LicenseRef-AD-Knowledge-Portal-Terms", True),  # OR: one branch suffices
        ("LicenseRef-AD-Knowledge-Portal-Terms OR CC-BY-NC-4.0", False),
        ("(LicenseRef-x OR MIT) AND (CC-BY-NC-4.0 OR Apache-2.0)", True),
        ("(LicenseRef-x OR MIT) AND CC-BY-NC-4.0", False),
        ("LicenseRef-AD-Knowledge-Portal-Terms", False),
        ("CC-BY-NC-4.0", False),  # a real SPDX licence, but not an open one
        ("Some-Unknown-1.0", False),  # unknown identifiers are refused
        ("NOASSERTION", False),
        ("NONE", False),
        ("", False),
        ("MIT OR", False),  # unparsable: refused, never an exception from the check
    ],
)
def test_default_policy_decisions(expression: str, allowed: bool) -> None:
    policy = LicensePolicy()
    assert check_training(_prov(expression), policy).allowed is allowed


def test_require_fails_closed_naming_dataset_and_licence() -> None:
    policy = LicensePolicy()
    ad = _prov("LicenseRef-AD-Knowledge-Portal-Terms", name="model_ad")
    with pytest.raises(LicenseRefusedError) as info:
        require_training_allowed(ad, policy, purpose="fitting a progression model")
    message = str(info.value)
    assert "model_ad" in message
    assert "LicenseRef-AD-Knowledge-Portal-Terms" in message
    assert "fitting a progression model" in message
    assert "allowed_datasets" in message  # says how to allow it
    assert isinstance(info.value, PermissionError)
    with pytest.raises(LicenseRefusedError, match="no licence"):
        require_training_allowed(_prov("NOASSERTION", name="DO_Recla"), policy)
    with pytest.raises(LicenseRefusedError, match="unparsable"):
        require_training_allowed(_prov("MIT AND (", name="broken"), policy)


def test_every_decision_is_logged_allowed_or_not() -> None:
    policy = LicensePolicy()
    require_training_allowed(_prov("MIT", name="slam"), policy)
    with pytest.raises(LicenseRefusedError):
        require_training_allowed(_prov("LicenseRef-x", name="private"), policy, purpose="scan")
    check_training(_prov("NOASSERTION", name="gwas"), policy)
    assert [(d.dataset, d.allowed, d.purpose) for d in policy.log] == [
        ("slam", True, "training"),
        ("private", False, "scan"),
        ("gwas", False, "training"),
    ]
    assert all(d.timestamp.endswith("+00:00") for d in policy.log)
    assert policy.log[1].license == "LicenseRef-x"
    assert "LicenseRef-x" in policy.log[1].reason


def test_explicit_allowances() -> None:
    by_name = LicensePolicy(allowed_datasets=frozenset({"model_ad"}))
    ad = _prov("LicenseRef-AD-Knowledge-Portal-Terms", name="model_ad")
    assert require_training_allowed(ad, by_name).allowed
    assert "explicitly allowed" in by_name.log[-1].reason
    other = _prov("LicenseRef-AD-Knowledge-Portal-Terms", name="another")
    assert not check_training(other, by_name).allowed
    by_licence = LicensePolicy(
        allowed=DEFAULT_ALLOWED_LICENSES | {"LicenseRef-AD-Knowledge-Portal-Terms"}
    )
    assert check_training(other, by_licence).allowed
    only_cc0 = LicensePolicy(allowed=frozenset({"CC0-1.0"}))
    assert not check_training(_prov("MIT"), only_cc0).allowed


def test_default_policy_is_shared_and_logs() -> None:
    policy = default_policy()
    before = len(policy.log)
    require_training_allowed(_prov("BSD-3-Clause", name="shared-log-check"))
    assert len(default_policy().log) == before + 1
    assert default_policy().log[-1].dataset == "shared-log-check"


def test_provenance_round_trips_through_a_dict() -> None:
    prov = Provenance(
        name="slam",
        license="MIT",
        source="wfmueller29/SLAM @ c79b9c0",
        citation="Palliyaguru et al. 2021",
        retrieved="2026-01-01",
        usage_terms="cite the paper",
        description="SLAM",
    )
    assert Provenance.from_dict(prov.to_dict()) == prov
    assert Provenance.from_dict({"name": "x", "license": "MIT", "extra": 1}) == Provenance(
        name="x", license="MIT"
    )
