"""The viewer's safety rules, applied to every request before any route sees it.

- Read-only: only ``GET`` and ``HEAD`` (answered as ``GET`` without the body); any other
  method is a 405.
- Bounded requests: a path longer than :data:`MAX_PATH`, a query longer than
  :data:`MAX_QUERY` bytes (414) or with more than :data:`MAX_PARAMS` parameters (400).
- Hosts: with ``allowed_hosts`` (the server on 127.0.0.1 without a token) a request naming
  another ``Host`` is refused (400), so a web page elsewhere cannot reach the viewer through
  DNS rebinding.
- Token: with a ``token`` every request carries it — ``Authorization: Bearer T``, the
  cookie set after ``?token=T`` was given once, or ``?token=T`` itself; otherwise a 401. A
  page opened with ``?token=T`` is redirected to the same URL without it.
- Headers: a content security policy that allows only the viewer's own scripts, styles and
  connections (no inline script), ``X-Content-Type-Options: nosniff``, no referrer, no
  framing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "COOKIE",
    "CSP",
    "LOCAL_HOSTS",
    "MAX_PARAMS",
    "MAX_PATH",
    "MAX_QUERY",
    "SecurityMiddleware",
    "is_local_host",
    "new_token",
]

#: Hosts that only this machine can reach.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
MAX_PATH = 1024
MAX_QUERY = 4096
MAX_PARAMS = 32
COOKIE = "translocus_token"
#: plotly draws with inline styles (hence ``'unsafe-inline'`` for styles only), exports
#: PNG/SVG through ``data:``/``blob:`` images; everything else comes from the viewer itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_METHODS = ("GET", "HEAD")


def is_local_host(host: str) -> bool:
    """Whether ``host`` (as given to ``--host``) is reachable only from this machine."""
    return host.strip("[]").lower() in LOCAL_HOSTS


def new_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


class SecurityMiddleware:
    """ASGI middleware applying the rules above (see the module's docstring).

    Parameters
    ----------
    app
        The ASGI application it guards.
    token
        The token every request must carry; ``None`` for none.
    allowed_hosts
        The ``Host`` names accepted (without port); ``None`` accepts any.
    """

    def __init__(self, app: Any, *, token: str | None = None,
                 allowed_hosts: Sequence[str] | None = None) -> None:  # fmt: skip
        self.app = app
        self.token = token
        self.allowed_hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Check the request, then pass it on with the security headers added."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(k).lower() for k, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in present]
                headers += extra
                message = {**message, "headers": headers}
            await send(message)

        extra: list[tuple[bytes, bytes]] = []
        refusal = self._refusal(scope)
        if refusal is not None:
            status, detail, more = refusal
            await _reply(send_with_headers, status, detail, more)
            return
        if self.token is not None:
            outcome = self._token(scope)
            if outcome == "refused":
                await _reply(send_with_headers, 401, "this viewer needs its token: open the URL "
                             "printed by `translocus serve` (with ?token=...) or send "
                             "'Authorization: Bearer TOKEN'", [(b"www-authenticate", b"Bearer")])  # fmt: skip
                return
            if outcome == "query":
                cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                extra.append((b"set-cookie", cookie.encode("latin-1")))
                path = scope.get("path", "/")
                if scope["method"] == "GET" and not path.startswith(("/api/", "/static/")):
                    pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                      keep_blank_values=True)  # fmt: skip
                    rest = urlencode([(k, v) for k, v in pairs if k != "token"])
                    location = path + (f"?{rest}" if rest else "")
                    await _reply(send_with_headers, 303, "signed in",
                                 [(b"location", location.encode("latin-1"))])  # fmt: skip
                    return
        if scope["method"] == "HEAD":  # the routes answer GET; HEAD is the same without a body
            scope = {**scope, "method": "GET"}

            async def send_head(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.body":
                    message = {**message, "body": b"", "more_body": False}
                    if sent_body:
                        return
                    sent_body.append(True)
                await send_with_headers(message)

            sent_body: list[bool] = []
            await self.app(scope, receive, send_head)
            return
        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: dict[str, Any]) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        if scope["method"] not in _METHODS:
            return 405, "the viewer is read-only: only GET and HEAD", [(b"allow", b"GET, HEAD")]
        path = scope.get("path", "")
        query = bytes(scope.get("query_string", b""))
        if len(path) > MAX_PATH:
            return 414, f"the path is longer than {MAX_PATH} characters", []
        if len(query) > MAX_QUERY:
            return 414, f"the query is longer than {MAX_QUERY} bytes", []
        if query.count(b"&") + 1 > MAX_PARAMS:
            return 400, f"more than {MAX_PARAMS} query parameters", []
        if self.allowed_hosts is not None:
            host = _header(scope, b"host")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.strip("[]").lower() not in self.allowed_hosts:
                return 400, "this viewer answers only on its own address (Host header)", []
        return None

    def _token(self, scope: dict[str, Any]) -> str:
        assert self.token is not None
        given = _header(scope, b"authorization")
        if given.lower().startswith("bearer ") and secrets.compare_digest(
            given[7:].strip().encode(), self.token.encode()
        ):
            return "header"
        cookies = SimpleCookie()
        try:
            cookies.load(_header(scope, b"cookie"))
        except Exception:  # a malformed cookie header is simply no cookie
            cookies = SimpleCookie()
        if COOKIE in cookies and secrets.compare_digest(
            cookies[COOKIE].value.encode(), self.token.encode()
        ):
            return "cookie"
        pairs = parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1"))
        for key, value in pairs:
            if key == "token" and secrets.compare_digest(value.encode(), self.token.encode()):
                return "query"
        return "refused"


async def _reply(send: Any, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()), *headers],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})
