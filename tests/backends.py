"""The compute backends the backend tests run on: numpy always, torch (its CPU) when installed."""

from __future__ import annotations

import pytest

from translocus.core.compute import available_backends

BACKENDS = [
    "numpy",
    pytest.param(
        "torch",
        marks=pytest.mark.skipif(
            "torch" not in available_backends(), reason="torch is not installed (extra 'gpu')"
        ),  # fmt: skip
    ),
]
