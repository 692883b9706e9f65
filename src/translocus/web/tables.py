"""Tables as the viewer's API returns them: a page of JSON rows, or the whole table as CSV.

``?offset=&limit=`` page the JSON (``limit`` 100 by default, at most :data:`MAX_LIMIT`);
``?format=csv`` downloads every row as ``NAME.csv``. Missing values are ``null`` in JSON
and empty in CSV.

>>> import pandas as pd
>>> frame = pd.DataFrame({"trait": ["a", "b"], "lod": [3.5, float("nan")]})
>>> table_json(frame, offset=0, limit=1)
{'columns': ['trait', 'lod'], 'rows': [['a', 3.5]], 'total': 2, 'offset': 0, 'limit': 1}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from fastapi import HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "TableParams", "table_json", "table_params",
           "table_response"]  # fmt: skip

DEFAULT_LIMIT = 100
MAX_LIMIT = 5000
MAX_OFFSET = 10**9
_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class TableParams:
    """The paging and format of a table request."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT
    format: Literal["json", "csv"] = "json"


def table_params(
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="First row of the page (0-based)."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page."),
    format: Literal["json", "csv"] = Query(  # noqa: A002 - the URL's word
        "json", description="json (a page of rows) or csv (every row, as a download)."
    ),
) -> TableParams:
    """FastAPI dependency: the table query parameters, validated (and documented in OpenAPI)."""
    return TableParams(offset=offset, limit=limit, format=format)


def _from_request(request: Request) -> TableParams:
    query = request.query_params

    def number(name: str, default: int, low: int, high: int) -> int:
        text = query.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise HTTPException(422, f"{name}={text[:40]!r}: must be a whole number") from None
        if not low <= value <= high:
            raise HTTPException(422, f"{name}={value}: must lie between {low} and {high}")
        return value

    fmt = query.get("format", "json")
    if fmt not in ("json", "csv"):
        raise HTTPException(422, f"format={fmt[:40]!r}: use json or csv")
    return TableParams(
        offset=number("offset", 0, 0, MAX_OFFSET),
        limit=number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        format=fmt,  # type: ignore[arg-type]
    )


def table_json(frame: pd.DataFrame, *, offset: int = 0, limit: int = DEFAULT_LIMIT
               ) -> dict[str, Any]:  # fmt: skip
    """One page of ``frame`` as ``{"columns", "rows", "total", "offset", "limit"}``."""
    page = frame.iloc[offset : offset + limit]
    split = json.loads(page.to_json(orient="split", index=False, double_precision=15))
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": split["data"],
        "total": len(frame),
        "offset": offset,
        "limit": limit,
    }


def table_response(
    frame: pd.DataFrame, *, request: Request, name: str, params: TableParams | None = None
) -> Response:
    """``frame`` as a page of JSON rows, or (``format=csv``) every row as ``NAME.csv``.

    ``params`` are the request's paging and format (:func:`table_params`); read from the
    request's query when not given (bad values are a 422).
    """
    params = params or _from_request(request)
    if params.format == "csv":
        filename = (_FILENAME.sub("_", name).strip("._") or "table") + ".csv"
        return Response(
            frame.to_csv(index=False),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(table_json(frame, offset=params.offset, limit=params.limit))
