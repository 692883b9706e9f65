"""``translocus serve``: the study viewer over run folders, in a web browser.

Binds 127.0.0.1 by default (only this machine can connect; other ``Host`` names are
refused). Another ``--host`` (e.g. 0.0.0.0, every network) needs a token: the one given by
``--token`` or, without it, a new one printed at start; every request must then carry it.
The viewer only reads: nothing is written into the run folders.
"""

from __future__ import annotations

import socket
import threading
import webbrowser
from pathlib import Path

import typer
from rich.markup import escape

from translocus.cli.contract import out
from translocus.core.errors import OptionError

__all__ = ["register", "serve_command"]


def _check_port(host: str, port: int) -> None:
    """Refuse a port that is taken (or a host this machine does not have) before starting."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise OptionError("host", host, "is not an address of this machine; use 127.0.0.1 "
                          "(this machine only) or 0.0.0.0 (every network, with {token})") from None  # fmt: skip
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            why = (
                "is already in use"
                if exc.errno in (98, 48)
                else f"cannot be opened ({exc.strerror})"
            )
            raise OptionError(
                "port", port, f"{why}; pick another with {{port}}, e.g. 8766"
            ) from None


def serve_command(
    runs: list[Path] = typer.Argument(
        ..., help="Run folders (or folders of run folders) to show, e.g. demo."
    ),  # fmt: skip
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on: 127.0.0.1 (this machine only) or e.g. 0.0.0.0 (every "
        "network; needs a token).",
    ),  # fmt: skip
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    token: str | None = typer.Option(
        None,
        "--token",
        help="A token every request must carry (?token= once, or 'Authorization: Bearer'); "
        "generated and printed when --host is not 127.0.0.1 and none is given.",
    ),  # fmt: skip
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a web browser."),
) -> None:
    """Open the study viewer on run folders: causes, progression, treatment and human genes.

    A read-only web app (FastAPI + uvicorn) on http://127.0.0.1:8765/; stop it with Ctrl+C.

    Example: translocus serve demo
    """
    from translocus.web.security import LOCAL_HOSTS, is_local_host, new_token

    if not 0 < port < 65536:
        raise OptionError("port", port, "must lie between 1 and 65535, e.g. 8765")
    if token is not None and (len(token) < 8 or not token.isprintable() or " " in token):
        raise OptionError("token", "…", "must be at least 8 printable characters without spaces")
    local = is_local_host(host)
    generated = False
    if not local and token is None:
        token, generated = new_token(), True
    try:
        import uvicorn

        from translocus.web.app import create_app
    except ImportError as exc:
        raise OptionError(
            "host", None, f"the viewer needs the web extra ({exc.name} is missing): "
            "pip install 'translocus[web]'"
        ) from None  # fmt: skip
    app = create_app(runs, token=token, allowed_hosts=list(LOCAL_HOSTS) if local else None)
    _check_port(host, port)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}/"
    if token is not None:
        url += f"?token={token}"
    n = len(app.state.index.runs())
    out.print(f"serving {n} run{'s' if n != 1 else ''} at {escape(url)} (Ctrl+C to stop)")
    if generated:
        out.print(f"--host {escape(host)} is reachable from other machines: every request "
                  f"needs the token {escape(str(token))} (give your own with --token)")  # fmt: skip
    if not no_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``translocus`` command."""
    app.command("serve")(serve_command)
