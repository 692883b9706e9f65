"""The run folders a viewer serves: which runs there are, and the files inside each.

A root given to :class:`RunIndex` is a run folder (its ``run.json`` says ``"status":
"complete"``) or a folder of run folders. A ``demo`` run holds one part per subfolder
(``cause_lmm``, ``progression_model_ad``, ...); each part is a run of its own in the index,
with the id ``"<demo>/<part>"`` and the command its files come from (:func:`part_command`).

Files are only ever read from inside a run's folder: :meth:`RunIndex.file` refuses a name
that leaves it (``..``, an absolute path, a link pointing out) with a 400.

>>> part_command("cause_lmm"), part_command("treatment_tables"), part_command("study")
('scan', 'tables', 'cross')
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from fastapi import HTTPException, Request

from translocus.core.errors import InputError
from translocus.core.runs import read_run

__all__ = ["RunIndex", "RunInfo", "get_index", "part_command"]

T = TypeVar("T")

#: Demo parts whose name starts with one of these hold the files of that command.
_PART_PREFIXES = (
    ("cause_", "scan"),
    ("progression_", "progress"),
    ("treatment_", "respond"),
    ("translation_", "translate"),
)
_PART_NAMES = {"lifespan_slam": "survival", "lifespan_itp": "lifespan", "study": "cross"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Small things kept per run (trait lists, parquet footers): at most this many, least
#: recently used dropped first.
CACHE_ITEMS = 256


def part_command(name: str) -> str:
    """The command whose files a demo part holds (``"part"`` when it is not one we know)."""
    if name.endswith("_tables"):
        return "tables"
    if name in _PART_NAMES:
        return _PART_NAMES[name]
    for prefix, command in _PART_PREFIXES:
        if name.startswith(prefix):
            return command
    return "part"


@dataclass(frozen=True)
class RunInfo:
    """One served run: its URL-safe id, command, resolved folder and ``run.json``."""

    id: str
    command: str
    path: Path
    meta: dict[str, Any] = field(hash=False, compare=False, repr=False)

    @property
    def title(self) -> str:
        """A short label for pickers: ``"cause_lmm (scan)"``."""
        return f"{self.id} ({self.command})"


def _complete(folder: Path) -> dict[str, Any] | None:
    record = read_run(folder)
    if record is None or record.get("status") != "complete":
        return None
    return record


class RunIndex:
    """The runs under ``roots``; raises :class:`InputError` for a root that holds none.

    Parameters
    ----------
    roots
        Run folders, or folders whose subfolders are run folders.
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        self._runs: dict[str, RunInfo] = {}
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[tuple[str, str], threading.Lock] = {}
        if not roots:
            raise InputError("no run folder given; give one or more, e.g. translocus serve demo")
        for root in roots:
            self._add_root(Path(root))

    # -- building ---------------------------------------------------------------------------
    def _add_root(self, root: Path) -> None:
        if not root.exists():
            raise InputError(f"{root}: no such folder; give a run folder written by translocus")
        if not root.is_dir():
            raise InputError(f"{root}: is a file, not a run folder; give the folder it is in")
        folder = root.resolve()
        meta = _complete(folder)
        if meta is not None:
            self._add_run(folder, meta)
            return
        found = 0
        for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()):
            child_meta = _complete(child)
            if child_meta is not None:
                self._add_run(child, child_meta)
                found += 1
        if not found:
            raise InputError(
                f"{root}: holds no complete translocus run (no run.json with status complete, "
                "here or in its subfolders); give a folder written by a translocus command "
                "such as `translocus demo --out demo`"
            )

    def _unique(self, name: str) -> str:
        base = _UNSAFE.sub("_", name).strip("._") or "run"
        candidate, k = base, 2
        while candidate in self._runs:
            candidate, k = f"{base}-{k}", k + 1
        return candidate

    def _add_run(self, folder: Path, meta: dict[str, Any]) -> None:
        command = str(meta.get("command", "run"))
        run_id = self._unique(folder.name)
        self._runs[run_id] = RunInfo(run_id, command, folder, meta)
        if command != "demo":
            return
        for part in sorted(p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()):
            part_id = f"{run_id}/{_UNSAFE.sub('_', part.name)}"
            self._runs[part_id] = RunInfo(part_id, part_command(part.name), part, meta)

    # -- queries ----------------------------------------------------------------------------
    def runs(self, command: str | None = None) -> list[RunInfo]:
        """Every run (or those of ``command``), in the order the roots were given."""
        return [r for r in self._runs.values() if command is None or r.command == command]

    def get(self, run_id: str) -> RunInfo:
        """The run with id ``run_id``; a 404 when there is none."""
        try:
            return self._runs[run_id]
        except KeyError:
            raise HTTPException(
                status_code=404, detail=f"no run {run_id!r}; /api/runs lists the runs"
            ) from None

    def file(self, run: RunInfo, name: str) -> Path | None:
        """The file ``name`` (relative, ``/``-separated) of ``run``; ``None`` when absent.

        A name that leaves the run's folder — absolute, with ``..``, or through a link that
        points outside — is a 400.
        """
        pure = PurePosixPath(name)
        if (
            not name
            or "\\" in name
            or "\x00" in name
            or pure.is_absolute()
            or any(part in ("..", "") for part in name.split("/"))
        ):
            raise HTTPException(status_code=400, detail=f"{name!r}: not a file name inside a run")
        path = run.path / pure
        try:
            resolved = path.resolve(strict=False)
        except (OSError, RuntimeError):  # a loop of links
            raise HTTPException(status_code=400, detail=f"{name!r}: cannot be resolved") from None
        if not resolved.is_relative_to(run.path):
            raise HTTPException(status_code=400, detail=f"{name!r}: leaves the run's folder")
        return resolved if resolved.is_file() else None

    def need(self, run: RunInfo, *names: str) -> Path:
        """The first of the files ``names`` that ``run`` has; a 404 naming them when none."""
        for name in names:
            path = self.file(run, name)
            if path is not None:
                return path
        raise HTTPException(status_code=404, detail=f"run {run.id!r} has no {' or '.join(names)}")

    def cached(self, run: RunInfo, key: str, make: Callable[[], T]) -> T:
        """``make()`` once per run and key (kept for small things: trait lists, footers).

        Requests asking for the same thing at once wait for the one making it.
        """
        slot = (run.id, key)
        with self._lock:
            if slot in self._cache:
                self._cache.move_to_end(slot)
                return self._cache[slot]  # type: ignore[no-any-return]
            making = self._making.setdefault(slot, threading.Lock())
        with making:
            with self._lock:
                if slot in self._cache:
                    return self._cache[slot]  # type: ignore[no-any-return]
            try:
                value = make()
            except BaseException:
                with self._lock:
                    self._making.pop(slot, None)
                raise
            with self._lock:
                self._cache[slot] = value
                self._making.pop(slot, None)
                while len(self._cache) > CACHE_ITEMS:
                    self._cache.popitem(last=False)
        return value


def get_index(request: Request) -> RunIndex:
    """FastAPI dependency: the app's :class:`RunIndex`."""
    return request.app.state.index  # type: ignore[no-any-return]
