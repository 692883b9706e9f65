r"""Run folders: every command that writes results writes one, whole or not at all.

The contract (README, "Run folders"):

- ``out`` that does not exist is created. ``out`` that is an earlier translocus run folder
  (its files are exactly those its ``run.json`` lists) is replaced as a whole. Any other
  non-empty ``out`` is refused, and so is an ``out`` that is, contains or lies inside an
  input. Nothing translocus did not write is ever deleted.
- The new run is built in a temporary sibling (``.NAME.translocus-tmp-XXXX``) and swapped in
  when complete, by one atomic exchange of the two folders where the system has it
  (``renameat2(RENAME_EXCHANGE)`` on Linux), else by two renames; the next run into the same
  place first restores a swap that a kill interrupted between the two. ``kill -9`` at any
  moment therefore leaves the previous complete run or the new complete run.
- Temporary folders of killed runs are removed by the next run into the same place (a
  folder is stale when no process holds its lock).
- ``run.json`` is written last: command line, the folder it ran in, resolved options,
  version, input files with size and SHA-256, provenance and licence decisions, per-step wall and CPU time, rows read /
  dropped / merged and why, warnings, the files written with size and SHA-256, and
  ``"status": "complete"``.

:class:`RunLog` is what a pipeline sees (steps, counts, warnings, progress);
:class:`RunFolder` owns the folder and writes the log into ``run.json``.

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> with RunFolder(root / "out", command="example") as run:
...     _ = (run.path / "result.csv").write_text("a,b\n1,2\n")
...     _ = run.commit({"rows": 1})
>>> sorted(p.name for p in (root / "out").iterdir())
['result.csv', 'run.json']
>>> read_run(root / "out")["status"]
'complete'
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as _dt
import errno
import fcntl
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translocus.core.errors import OptionError

__all__ = [
    "RUN_FILE",
    "Advance",
    "Reporter",
    "RunFolder",
    "RunLog",
    "checkpoint",
    "check_out",
    "folder_state",
    "read_run",
    "recorded_path",
    "recover",
    "sha256_file",
]

_LOG = logging.getLogger("translocus.runs")

RUN_FILE = "run.json"
RUN_FORMAT = 1
_TMP_TAG = ".translocus-tmp-"
_OLD_TAG = ".translocus-old"

Advance = Callable[[float], None]
#: Progress display: ``reporter(description, total)`` is a context manager yielding a
#: function that advances the bar. The command line shows bars with ETA; Python is silent.
Reporter = Callable[[str, float | None], contextlib.AbstractContextManager[Advance]]


@contextlib.contextmanager
def _silent(description: str, total: float | None) -> Iterator[Advance]:
    yield lambda n: None


def checkpoint(name: str) -> None:
    """Pause here when a test asks to (``TRANSLOCUS_TEST_PAUSE_AT=name[,name]``).

    Kill tests set ``TRANSLOCUS_TEST_PAUSE_AT`` and ``TRANSLOCUS_TEST_PAUSE_FILE``; on
    reaching a named checkpoint the run writes ``NAME PID`` to the file and sleeps, so the
    test's ``kill -9`` lands exactly there. Without the variables this does nothing.
    """
    wanted = os.environ.get("TRANSLOCUS_TEST_PAUSE_AT")
    if not wanted or name not in wanted.split(","):
        return
    flag = os.environ.get("TRANSLOCUS_TEST_PAUSE_FILE")
    if flag:
        Path(flag).write_text(f"{name} {os.getpid()}\n")
    time.sleep(600)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files_under(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file under ``folder`` (recursively)."""
    out: dict[str, int] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            out[path.relative_to(folder).as_posix()] = path.lstat().st_size
    return out


def read_run(folder: Path) -> dict[str, Any] | None:
    """The ``run.json`` of a translocus run folder, or ``None`` when there is none."""
    path = Path(folder) / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("translocus_run") != RUN_FORMAT:
        return None
    return record


@dataclass(frozen=True)
class FolderState:
    """What is at an ``out`` path: ``absent``, ``empty``, ``run`` or ``foreign``."""

    kind: str
    foreign: tuple[str, ...] = ()


def folder_state(folder: Path) -> FolderState:
    """Whether ``folder`` may be replaced by a new run, and if not, which files are in the way."""
    folder = Path(folder)
    if not folder.exists() and not folder.is_symlink():
        return FolderState("absent")
    files = _files_under(folder)
    if not files and not any(folder.iterdir()):
        return FolderState("empty")
    record = read_run(folder)
    if record is None or record.get("status") != "complete":
        return FolderState("foreign", tuple(sorted(files))[:5])
    listed = {name: int(meta["size"]) for name, meta in record.get("files", {}).items()}
    present = {name: size for name, size in files.items() if name != RUN_FILE}
    unknown = sorted(name for name in present if name not in listed)
    changed = sorted(n for n in present if n in listed and present[n] != listed[n])
    if unknown or changed or set(listed) - set(present):
        return FolderState("foreign", tuple(unknown + changed)[:5])
    return FolderState("run")


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_out(out: Path, inputs: Sequence[Path] = (), *, option: str = "out") -> Path:
    """Check that ``out`` may receive a run; return it as an absolute path.

    Raises :class:`OptionError` (``--out`` on the command line) when ``out`` is a file, a
    link, the home folder or a file-system root, is, contains or lies inside an input, or
    is a non-empty folder that is not a complete translocus run folder.
    """
    given = str(out)
    out = Path(os.path.abspath(Path(out).expanduser()))
    if out.is_symlink():
        raise OptionError(option, given, "is a symbolic link; give the folder it points to")
    if out.exists() and not out.is_dir():
        raise OptionError(option, given, "is a file; give a folder name for the results")
    if out == Path(out.anchor) or out == Path.home().resolve() or out == Path.home():
        raise OptionError(option, given, "is the home or root folder; give a new folder")
    real = out.resolve()
    for item in inputs:
        src = Path(os.path.abspath(Path(item).expanduser())).resolve()
        if _inside(real, src) or _inside(src, real):
            where = "is" if real == src else "lies inside" if _inside(real, src) else "contains"
            raise OptionError(
                option, given, f"{where} the input {item}; write the results to another folder"
            )
    for parent in out.parents:
        if read_run(parent) is not None:  # a run inside a run would make the outer one foreign
            raise OptionError(
                option,
                given,
                f"lies inside the run folder {parent}; write the results next to it instead",
            )
    recover(out)
    state = folder_state(out)
    if state.kind == "foreign":
        shown = ", ".join(state.foreign) + (", ..." if len(state.foreign) == 5 else "")
        raise OptionError(
            option,
            given,
            f"is a folder with files translocus did not write ({shown}); give a new or empty "
            "folder",
        )
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise OptionError(option, given, f"{parent} is a file, not a folder")
    return out


# -- the swap -------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_renameat2: Any
try:
    _renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
except (AttributeError, OSError):  # pragma: no cover - not glibc
    _renameat2 = None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two folders; ``False`` where the system cannot."""
    if _renameat2 is None or os.environ.get("TRANSLOCUS_TEST_TWO_RENAMES"):
        return False
    code = _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if code == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _old_path(target: Path) -> Path:
    return target.with_name(f".{target.name}{_OLD_TAG}")


def _try_lock(path: Path) -> int | None:
    """An fd holding an exclusive lock on folder ``path``, or ``None`` if another has it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def recover(target: Path) -> list[str]:
    """Finish what a killed run into ``target`` left.

    Restores an interrupted swap and removes stale temporary folders. Returns what was done
    (for ``run.json``).
    """
    target = Path(target)
    done: list[str] = []
    parent = target.parent
    if not parent.is_dir():
        return done
    old = _old_path(target)
    if old.is_dir():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            done.append(f"removed {old.name} left by a killed run")
        else:
            os.rename(old, target)
            done.append(f"restored {target.name} from an interrupted swap")
    for stale in sorted(parent.glob(f".{target.name}{_TMP_TAG}*")):
        if not stale.is_dir():
            continue
        fd = _try_lock(stale)
        if fd is None:
            continue  # a live run is building it
        try:
            shutil.rmtree(stale, ignore_errors=True)
            done.append(f"removed {stale.name} left by a killed run")
        finally:
            os.close(fd)
    return done


# -- what a pipeline records -----------------------------------------------------------------


@dataclass
class RunLog:
    """Steps, row counts, warnings and provenance of one run, and its progress display.

    Pipelines take a ``RunLog`` (a silent one by default) and record into it; the run
    folder writes it into ``run.json`` and the command line prints its warnings.
    """

    reporter: Reporter = _silent
    steps: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    provenance: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.contextmanager
    def step(self, name: str, total: float | None = None) -> Iterator[Advance]:
        """Time a step (wall and CPU seconds) and show its progress; yields ``advance(n)``."""
        wall, cpu = time.perf_counter(), time.process_time()
        checkpoint(name)
        with self.reporter(name, total) as advance:
            yield advance
        self.steps.append(
            {
                "name": name,
                "wall_s": round(time.perf_counter() - wall, 4),
                "cpu_s": round(time.process_time() - cpu, 4),
            }
        )

    def count(self, what: str, n: int, reason: str) -> None:
        """Record ``n`` rows (animals, traits, ...) read, dropped or merged, and why."""
        self.rows.append({"what": what, "n": int(n), "reason": reason})
        _LOG.info("%s: %d (%s)", what, n, reason)
        if n and any(word in what for word in ("dropped", "merged", "skipped", "duplicate")):
            self.warn(f"{n:,} {_singular(what) if n == 1 else what}: {reason}")

    def warn(self, message: str, *, detail: Any = None) -> None:
        """Record a warning (one line; the detail goes to ``run.json`` only)."""
        _LOG.info("warning: %s", message)
        for item in self.warnings:
            if item["message"] == message:
                item["count"] += 1
                return
        entry: dict[str, Any] = {"message": message, "count": 1}
        if detail is not None:
            entry["detail"] = detail
        self.warnings.append(entry)

    def add_provenance(self, provenance: Any) -> None:
        """Record the provenance of a dataset the run used (a ``Provenance`` or a dict)."""
        record = provenance.to_dict() if hasattr(provenance, "to_dict") else dict(provenance)
        if record not in self.provenance:
            self.provenance.append(record)

    def add_decision(self, decision: Any) -> None:
        """Record a licence decision (a ``LicenseDecision`` or a dict)."""
        record = decision.to_dict() if hasattr(decision, "to_dict") else dict(decision)
        self.decisions.append(record)

    @contextlib.contextmanager
    def capture_warnings(
        self, *, quiet: tuple[type[Warning], ...] = (), into: list[str] | None = None
    ) -> Iterator[None]:
        """Turn Python warnings raised inside into recorded one-line warnings.

        Warnings of a ``quiet`` category (e.g. numpy's ``RuntimeWarning`` while fitting) are
        appended once each to ``into`` instead — kept for ``run.json``, not shown.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            finally:
                for item in caught:
                    text = " ".join(str(item.message).split())
                    if quiet and into is not None and issubclass(item.category, quiet):
                        if text not in into:
                            into.append(text)
                    elif quiet:
                        self.warn(text)
                    else:
                        self.warn(
                            f"{item.category.__name__}: {text}",
                            detail=f"{item.filename}:{item.lineno}",
                        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def describe_inputs(inputs: Sequence[Path]) -> list[dict[str, Any]]:
    """Every input file (folders expanded) with its size and SHA-256."""
    out: list[dict[str, Any]] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            for name, size in _files_under(path).items():
                out.append(
                    {"path": str(path / name), "size": size, "sha256": sha256_file(path / name)}
                )
        elif path.is_file():
            out.append(
                {"path": str(path), "size": path.stat().st_size, "sha256": sha256_file(path)}
            )
    return out


def recorded_path(record: Mapping[str, Any], given: str | None, run: Path) -> Path | None:
    """A path of a run's ``run.json`` (an option's value as typed) as it is found now.

    A relative path is taken from the folder the command ran in (``cwd`` in ``run.json``),
    then, for runs recorded without it or moved since, from the run folder's parent and the
    current folder; last, a recorded absolute input path of the same name. None if none exists.
    """
    if not given:
        return None
    path = Path(given)
    if path.is_absolute():
        candidates = [path]
    else:
        bases = [Path(str(record["cwd"]))] if record.get("cwd") else []
        candidates = [base / path for base in [*bases, run.parent, Path.cwd()]]
    for item in record.get("inputs") or []:
        found = Path(str(item.get("path", "")))
        if found.is_absolute() and found.name == path.name:
            candidates.append(found)
    return next((c.resolve() for c in candidates if c.exists()), None)


class RunFolder:
    """A run folder under construction: write into :attr:`path`, then :meth:`commit`.

    Parameters
    ----------
    out
        Where the run goes (``--out``).
    command
        The command's name (``scan``).
    options
        The resolved options, recorded in ``run.json``.
    inputs
        Input files or folders: ``out`` may not be, contain or lie inside them, and each is
        recorded with its size and SHA-256.
    log
        The :class:`RunLog` the pipeline records into.
    argv
        The command line (default ``sys.argv``).
    option
        The argument name of ``out`` in messages (``out`` -> ``--out``).
    """

    def __init__(
        self,
        out: Path,
        *,
        command: str,
        options: Mapping[str, Any] | None = None,
        inputs: Sequence[Path] = (),
        log: RunLog | None = None,
        argv: Sequence[str] | None = None,
        option: str = "out",
    ) -> None:
        self.target = check_out(out, inputs, option=option)
        self.command = command
        self.options = dict(options or {})
        self.inputs = [Path(p) for p in inputs]
        self.log = log or RunLog()
        self.argv = list(sys.argv if argv is None else argv)
        self.option = option
        self._fd: int | None = None
        self._path: Path | None = None
        self._cwd = os.getcwd()
        self._started = _dt.datetime.now(_dt.UTC)
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self._committed = False

    @property
    def path(self) -> Path:
        """The temporary folder the run is written into."""
        if self._path is None:
            raise RuntimeError("the run folder is not open; use it in a with block")
        return self._path

    def __enter__(self) -> RunFolder:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._committed:
            self.abort()

    def open(self) -> Path:
        """Create the temporary sibling folder (and the parent folders) and lock it."""
        target = self.target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            path = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}", dir=target.parent))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OptionError(
                self.option, str(target), f"cannot write there ({reason}); give another folder"
            ) from None
        os.chmod(path, 0o777 & ~_umask())
        self._fd = _try_lock(path)
        self._path = path
        checkpoint("prepared")
        return path

    def abort(self) -> None:
        """Remove the temporary folder; the target is left as it was."""
        if self._path is not None and self._path.exists():
            shutil.rmtree(self._path, ignore_errors=True)
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def record(self, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ``run.json`` content for the files written so far."""
        from translocus import __version__

        files = {
            name: {"size": size, "sha256": sha256_file(self.path / name)}
            for name, size in _files_under(self.path).items()
            if name != RUN_FILE
        }
        now = _dt.datetime.now(_dt.UTC)
        return {
            "translocus_run": RUN_FORMAT,
            "status": "complete",
            "command": self.command,
            "argv": self.argv,
            "cwd": self._cwd,
            "options": _jsonable(self.options),
            "version": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "started": self._started.isoformat(timespec="seconds"),
            "finished": now.isoformat(timespec="seconds"),
            "wall_s": round(time.perf_counter() - self._wall, 3),
            "cpu_s": round(time.process_time() - self._cpu, 3),
            "inputs": describe_inputs(self.inputs),
            "provenance": _jsonable(self.log.provenance),
            "licence_decisions": _jsonable(self.log.decisions),
            "steps": self.log.steps,
            "rows": self.log.rows,
            "warnings": _jsonable(self.log.warnings),
            "summary": _jsonable(dict(summary or {})),
            "files": files,
        }

    def commit(self, summary: Mapping[str, Any] | None = None) -> Path:
        """Write ``run.json`` last, then swap the complete run into place."""
        record = self.record(summary)
        text = json.dumps(record, indent=1, allow_nan=False)
        with open(self.path / RUN_FILE, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        checkpoint("written")
        self._swap()
        self._committed = True
        self._release()
        return self.target

    def _swap(self) -> None:
        target, tmp = self.target, self.path
        recover(target)
        state = folder_state(target)  # again: files may have been added while the run computed
        if state.kind == "foreign":
            raise OptionError(
                self.option,
                str(target),
                f"gained files translocus did not write while the run computed "
                f"({', '.join(state.foreign)}); nothing was replaced, run again into a new folder",
            )
        if not target.exists():
            os.rename(tmp, target)
            checkpoint("swapped")
        elif _exchange(tmp, target):
            checkpoint("swapped")
            shutil.rmtree(tmp, ignore_errors=True)  # the previous run, now at tmp
        else:
            old = _old_path(target)
            os.rename(target, old)
            checkpoint("swapping")
            os.rename(tmp, target)
            checkpoint("swapped")
            shutil.rmtree(old, ignore_errors=True)
        _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _singular(what: str) -> str:
    """``what`` of one row: its noun before the verb in the singular.

    >>> _singular("duplicate visits merged"), _singular("animals dropped (--forecast-from)")
    ('duplicate visit merged', 'animal dropped (--forecast-from)')
    """
    words = what.split(" ")
    verb = next((i for i, w in enumerate(words) if w in ("dropped", "merged", "skipped")), 0)
    noun = words[verb - 1] if verb else ""
    if noun.endswith("ies"):
        words[verb - 1] = noun[:-3] + "y"
    elif noun.endswith("s") and not noun.endswith("ss") and len(noun) > 3:
        words[verb - 1] = noun[:-1]
    return " ".join(words)
