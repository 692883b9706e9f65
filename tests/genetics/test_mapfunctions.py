"""Map functions against closed forms and an independent root finder (scipy's brentq)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from translocus.core.errors import InputError
from translocus.genetics.mapfunctions import MAP_FUNCTIONS, interval_rf, map_to_rf, rf_to_map

DIST = np.array([0.0, 0.01, 0.5, 1.0, 10.0, 37.3, 50.0, 150.0])


def test_closed_forms():
    np.testing.assert_allclose(
        map_to_rf(DIST, map_function="haldane"), 0.5 * (1 - np.exp(-2 * DIST / 100)), rtol=1e-15
    )
    np.testing.assert_allclose(
        map_to_rf(DIST, map_function="kosambi"), 0.5 * np.tanh(2 * DIST / 100), rtol=1e-15
    )
    np.testing.assert_allclose(
        map_to_rf(DIST, map_function="morgan"), np.minimum(DIST / 100, 0.5), rtol=1e-15
    )


def _cf_inverse(r: float) -> float:
    return 12.5 * (np.log(1 + 2 * r) - np.log(1 - 2 * r)) + 25 * np.arctan(2 * r)


def test_carter_falconer_matches_independent_root():
    """R: mf.cf(d) = uniroot(imf.cf(r) - d, c(0, 0.5 - 1e-14), tol = 1e-12)$root."""
    got = map_to_rf(DIST, map_function="c-f")
    for d, r in zip(DIST, got, strict=True):
        if d == 0:
            assert r == 0.0
            continue
        ref = brentq(lambda x, d=d: _cf_inverse(x) - d, 0.0, 0.5 - 1e-14, xtol=1e-14)
        assert abs(r - ref) < 1e-12
        if d <= 50:  # beyond, d(r) is so steep that 1e-12 in r is far more in d
            assert abs(_cf_inverse(r) - d) < 1e-9


def test_carter_falconer_caps_at_300_cM():
    got = map_to_rf(np.array([300.0, 1000.0]), map_function="c-f")
    assert got[0] == got[1]
    assert 0.4999 < got[0] < 0.5


@pytest.mark.parametrize("name", MAP_FUNCTIONS)
def test_round_trip(name):
    d = DIST[DIST < 50]  # morgan saturates at 50 cM
    np.testing.assert_allclose(rf_to_map(map_to_rf(d, map_function=name), map_function=name), d,
                               atol=1e-9)  # fmt: skip


def test_interval_rf_floors_coincident_markers():
    rf = interval_rf(np.array([1.0, 1.0, 11.0]), map_function="haldane")
    assert rf[0] == 1e-12
    assert rf[1] == pytest.approx(0.5 * (1 - np.exp(-0.2)), rel=1e-14)


def test_bad_input():
    with pytest.raises(InputError, match="map_function"):
        map_to_rf(DIST, map_function="felsenstein")
    with pytest.raises(InputError, match="increasing"):
        interval_rf(np.array([2.0, 1.0]))
