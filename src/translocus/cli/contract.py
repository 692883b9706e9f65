"""The command-line contract shared by every command.

- A user's mistake exits 2 with one line on stderr naming the file, row/column or flag and
  the fix in command-line terms (:func:`user_error_line`).
- An unexpected error exits 1 with one line and the path of a log file holding the
  traceback (``$TRANSLOCUS_LOG_DIR``, else ``$XDG_CACHE_HOME/translocus/logs``, else
  ``~/.cache/translocus/logs``) — :func:`log_crash`.
- No raw traceback or Python warning reaches the terminal: warnings are summarised one line
  each (:func:`print_warnings`), with the detail in ``run.json``.
- Steps longer than a moment show a progress bar with ETA on stderr (:func:`reporter`).
- Commands that write run folders go through :func:`run_pipeline`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from translocus.core.errors import UserError
from translocus.core.runs import Advance, RunLog

__all__ = [
    "err",
    "follow_terminal_width",
    "log_crash",
    "log_dir",
    "out",
    "print_warnings",
    "reporter",
    "run_pipeline",
    "split_list",
    "user_error_line",
]

#: Results and summaries go to stdout; errors, warnings and progress bars to stderr.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

#: The command line being run (set by :func:`translocus.cli.main.run_cli`).
ARGV: list[str] = []

#: Python argument names whose flag is not ``--`` + the name with dashes.
FLAGS: dict[str, str] = {"license_": "--license", "out": "--out"}


def follow_terminal_width() -> None:
    """Size the consoles from ``COLUMNS`` (or the terminal) now, not when first imported.

    rich fixes a console's width from ``COLUMNS`` when the console is made; a command run
    later in the same process (tests, notebooks) must see the width of its own moment.
    """
    columns = os.environ.get("COLUMNS", "")
    for console in (out, err):
        console._width = int(columns) if columns.isdigit() else None  # noqa: SLF001


def user_error_line(exc: BaseException, flags: Mapping[str, str] | None = None) -> str:
    """The one line a user sees for a :class:`UserError` (command-line terms)."""
    if isinstance(exc, UserError):
        text = exc.cli_message({**FLAGS, **(flags or {})})
    else:
        text = str(exc)
    return " ".join(text.split())


def log_dir() -> Path:
    """Where tracebacks of unexpected errors are kept."""
    env = os.environ.get("TRANSLOCUS_LOG_DIR")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "translocus" / "logs"


def log_crash(exc: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the traceback of an unexpected error to a new log file; return its path."""
    from translocus import __version__

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"translocus-{stamp}-{os.getpid()}.log"
        path.write_text(
            f"translocus {__version__}, Python {sys.version.split()[0]}\n"
            f"command: {' '.join(argv)}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
            encoding="utf-8",
        )
    except OSError:
        return None
    return path


def split_list(text: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@contextlib.contextmanager
def _bar(description: str, total: float | None) -> Iterator[Advance]:
    if not err.is_terminal and not os.environ.get("TRANSLOCUS_PROGRESS"):
        yield lambda n: None
        return
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
    if total:
        columns += [BarColumn(), TaskProgressColumn(), TimeRemainingColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def reporter() -> Callable[[str, float | None], contextlib.AbstractContextManager[Advance]]:
    """Progress bars with ETA on stderr (only when stderr is a terminal)."""
    return _bar


def print_warnings(log: RunLog) -> None:
    """One line per distinct warning (with a count when repeated)."""
    for item in log.warnings:
        count = f" ({item['count']}×)" if item.get("count", 1) > 1 else ""
        err.print(f"[yellow]warning:[/yellow] {escape(item['message'])}{count}")


T = TypeVar("T")


def run_pipeline(
    command: str,
    request: Any,
    pipeline: Callable[[Any, RunLog], T],
    *,
    out_dir: Path | None,
    inputs: Sequence[Path] = (),
    extra_writers: Sequence[Callable[[Any, Path], object]] = (),
) -> tuple[T, RunLog, Path | None]:
    """Execute a pipeline for a command: progress on stderr, warnings summarised.

    User errors propagate to the entry point (one line, exit 2).
    """
    from translocus.pipelines.runner import execute

    log = RunLog(reporter=reporter())
    done = execute(
        command,
        request,
        pipeline,  # type: ignore[arg-type]
        out=out_dir,
        inputs=inputs,
        log=log,
        argv=ARGV or ["translocus", *sys.argv[1:]],
        extra_writers=extra_writers,
    )
    print_warnings(log)
    return done.output, log, done.folder  # type: ignore[return-value]
