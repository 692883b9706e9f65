"""Plotly figures as plain JSON for the browser (lists and numbers, no numpy, no NaN).

plotly's own serialisation may encode arrays as base64 typed arrays; the viewer sends plain
lists so that scripts reading the API (and tests reading a plot's data) see numbers.

>>> import numpy as np, plotly.graph_objects as go
>>> fig = go.Figure(go.Scatter(x=np.arange(3), y=np.array([1.0, np.nan, 2.5])))
>>> figure_json(fig)["data"][0]["y"]
[1.0, None, 2.5]
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
from typing import Any

import numpy as np

__all__ = ["figure_json", "plain"]


def plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as lists and numbers, NaN and inf as ``None``."""
    if isinstance(value, dict):
        if "bdata" in value and "dtype" in value:  # plotly's base64 typed array
            return plain(_typed_array(value))
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return [None if not math.isfinite(v) else v for v in value.astype(float).tolist()]
        return plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (_dt.date, _dt.datetime, np.datetime64)):
        return str(value)
    if hasattr(value, "tolist"):  # pandas objects
        return plain(value.tolist())
    return value


def _typed_array(spec: dict[str, Any]) -> np.ndarray:
    array = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    shape = spec.get("shape")
    if shape:
        dims = [
            int(d) for d in str(shape).replace("(", "").replace(")", "").split(",") if d.strip()
        ]
        array = array.reshape(dims)
    return array


def figure_json(fig: Any) -> dict[str, Any]:
    """A plotly ``Figure`` as ``{"data": [...], "layout": {...}}`` of plain JSON values."""
    raw = fig.to_plotly_json()
    return {"data": plain(raw.get("data", [])), "layout": plain(raw.get("layout", {}))}
