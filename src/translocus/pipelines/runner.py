"""Run a pipeline into a run folder: validate, compute, write, record, swap in.

Every command is a pipeline: a validated *request* (a frozen dataclass of the command's
options), a function ``run(request, log) -> output`` that calls the engines, and an
*output* that writes itself into a folder. :func:`execute` is the one place where the three
meet a run folder, so every command gets the same contract (see :mod:`translocus.core.runs`).

>>> import tempfile, pathlib
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Request:
...     n: int
...     def validate(self) -> None: ...
>>> @dataclass
... class Output:
...     total: int
...     def write(self, folder: pathlib.Path) -> None:
...         _ = (folder / "total.txt").write_text(str(self.total))
...     def summary(self) -> dict:
...         return {"total": self.total}
>>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
>>> done = execute("sum", Request(4), lambda r, log: Output(sum(range(r.n))), out=out)
>>> (out / "total.txt").read_text(), done.record["summary"]
('6', {'total': 6})
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from translocus.core.runs import RunFolder, RunLog, checkpoint, read_run, recover

__all__ = ["Executed", "Output", "Request", "execute", "request_options"]


class Request(Protocol):
    """A command's options, checked by :meth:`validate` before any heavy step."""

    def validate(self) -> None:
        """Raise :class:`~translocus.core.errors.OptionError` or ``InputError`` on a bad request."""


class Output(Protocol):
    """What a pipeline returns: it writes itself into a folder and summarises itself."""

    def write(self, folder: Path) -> None:
        """Write the tables, figures and files of the run into ``folder``."""

    def summary(self) -> dict[str, Any]:
        """The short summary printed after the run and kept in ``run.json``."""


R = TypeVar("R", bound=Request)
O = TypeVar("O", bound=Output)


@dataclass
class Executed(Generic[O]):
    """A finished run: the pipeline's output, the run folder and its ``run.json``."""

    output: O
    folder: Path | None
    record: dict[str, Any]
    log: RunLog


def request_options(request: Any) -> dict[str, Any]:
    """The resolved options of a request dataclass, for ``run.json``."""
    if is_dataclass(request) and not isinstance(request, type):
        return {f.name: getattr(request, f.name) for f in fields(request)}
    return dict(getattr(request, "__dict__", {}))


def execute(
    command: str,
    request: R,
    pipeline: Callable[[R, RunLog], O],
    *,
    out: Path | None,
    inputs: Sequence[Path] = (),
    log: RunLog | None = None,
    argv: Sequence[str] | None = None,
    extra_writers: Sequence[Callable[[O, Path], object]] = (),
) -> Executed[O]:
    """Validate ``request``, run ``pipeline`` and write its output as a run folder at ``out``.

    The request and ``out`` are checked before anything is computed; the output is written
    into a temporary sibling of ``out``, ``run.json`` last, and swapped in whole. On any
    error the temporary folder is removed and ``out`` is left as it was. Python warnings
    raised while computing are recorded in the log (and ``run.json``) instead of printed.
    With ``out=None`` nothing is written and the output is returned.

    ``extra_writers`` add files of a layer above the pipelines (the HTML report) before
    ``run.json`` is written.
    """
    log = log or RunLog()
    if out is not None:
        with contextlib.suppress(OSError):  # restore a swap a kill interrupted, first of all
            recover(Path(out).expanduser().absolute())
    request.validate()
    if out is None:
        with log.capture_warnings():
            output = pipeline(request, log)
        return Executed(output, None, {"summary": output.summary()}, log)
    folder = RunFolder(
        out, command=command, options=request_options(request), inputs=inputs, log=log, argv=argv
    )
    with folder:
        with log.capture_warnings():
            output = pipeline(request, log)
            checkpoint("computed")
            with log.step("write results"):
                output.write(folder.path)
                for writer in extra_writers:
                    writer(output, folder.path)
        target = folder.commit(output.summary())
    record = read_run(target) or {}
    return Executed(output, target, record, log)
