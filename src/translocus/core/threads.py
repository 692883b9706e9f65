"""Thread pools: BLAS limits and a thread map for compiled kernels that release the GIL.

A threaded BLAS busy-waits between calls; next to numba's own threads (or a pool of
Python threads) on a small machine that spinning takes the cores the real work needs, so
code that does many small products runs its BLAS single-threaded inside
:func:`blas_threads` and parallelises at a coarser level instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from threadpoolctl import ThreadpoolController

from translocus.core.errors import InputError

__all__ = ["blas_threads", "parallel_map", "thread_limit", "worker_count"]

T_in = TypeVar("T_in")
T_out = TypeVar("T_out")

_CONTROLLER: list[ThreadpoolController] = []
_CONTROLLER_LOCK = threading.Lock()
_LIMIT_DEPTH = threading.local()
#: the worker count of the innermost :func:`thread_limit` of this thread (``None``: no limit)
_WORKERS: contextvars.ContextVar[int | None] = contextvars.ContextVar("workers", default=None)


def _controller() -> ThreadpoolController:
    # inspecting the loaded libraries costs milliseconds: do it once per process
    with _CONTROLLER_LOCK:
        if not _CONTROLLER:
            _CONTROLLER.append(ThreadpoolController())
        return _CONTROLLER[0]


class _BlasLimits:
    """The one BLAS thread limit of the process, agreed by every thread that asks for one.

    The limit is process-wide, so threads that set and restore it on their own undo each
    other's: a scan whose products must run on one thread could find the pool back at two
    threads halfway (a threaded BLAS may round a product differently). Here every request is
    counted: while any thread asks for one thread the pool has one; otherwise it has the
    smallest limit asked for; when nobody asks any more the limits found before the first
    request come back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._single = 0
        self._asked: list[int] = []
        self._first: Any = None  # the limiter that saved the original limits

    def _apply(self) -> None:
        want = 1 if self._single else (min(self._asked) if self._asked else None)
        if want is None:
            if self._first is not None:
                self._first.restore_original_limits()
                self._first = None
        else:
            limiter = _controller().limit(limits=want, user_api="blas")
            if self._first is None:
                self._first = limiter
        _release_control()

    @contextlib.contextmanager
    def hold(self, limit: int) -> Iterator[None]:
        with self._lock:
            if limit == 1:
                self._single += 1
            else:
                self._asked.append(limit)
            self._apply()
        try:
            yield
        finally:
            with self._lock:
                if limit == 1:
                    self._single -= 1
                else:
                    self._asked.remove(limit)
                self._apply()


_BLAS = _BlasLimits()


def _release_control() -> None:
    """Let the next thread set the limits of a pthreads OpenBLAS.

    threadpoolctl lets one Python thread at a time change such a pool (the others' requests
    are silently ignored) and keeps it in control until it leaves a ``with limit(...)``
    block. Every limit here is set under one lock for the whole process, so control goes
    back at once; otherwise the thread that first set a limit (the main thread, say) keeps it
    for good and a limit asked by another thread (a Dask worker's) would not hold.
    """
    from threadpoolctl import OpenBLASController

    clear = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:  # threadpoolctl < 3.6 has no controlling thread
        clear(force=True)


@contextlib.contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """Limit the BLAS thread pool within the block (nested calls inside it are free).

    The limit is process-wide, so only the outermost call of a thread sets it, and the worker
    threads of :func:`parallel_map` (which run under their caller's limit) never do. A limit
    of one thread holds while any thread asks for it (:class:`_BlasLimits`), so results
    computed under it do not depend on what other threads run at the same time.
    """
    depth = getattr(_LIMIT_DEPTH, "value", 0)
    if depth:
        yield
        return
    _LIMIT_DEPTH.value = 1
    try:
        with _BLAS.hold(limit):
            yield
    finally:
        _LIMIT_DEPTH.value = 0


def _mark_worker(limit: int | None) -> None:
    _LIMIT_DEPTH.value = 1
    if limit is not None:  # the caller's thread_limit holds in the pool's threads too
        import numba

        _WORKERS.set(limit)
        numba.set_num_threads(min(limit, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


def parallel_map(fn: Callable[[T_in], T_out], items: Sequence[T_in], workers: int) -> list[T_out]:
    """``[fn(x) for x in items]`` on a pool of threads, each with a single-threaded BLAS.

    The scans run whole chromosomes in parallel this way: the cores are used without the
    busy-waiting of a threaded BLAS on small products (costly on a shared machine), and the
    eigen-decompositions, which a threaded LAPACK slows down at these sizes, run in parallel
    too. The numba kernels called inside release the GIL.
    """
    workers = min(workers, len(items))
    with blas_threads(1):
        if workers <= 1:
            return [fn(x) for x in items]
        with ThreadPoolExecutor(max_workers=workers, initializer=_mark_worker,
                                initargs=(_WORKERS.get(),)) as pool:  # fmt: skip
            return list(pool.map(fn, items))


def worker_count() -> int:
    """Number of threads the compiled kernels use.

    The limit of the enclosing :func:`thread_limit` when there is one, else
    ``$TRANSLOCUS_THREADS`` when set, else the CPU cores this process may use (its affinity
    mask); at least 1.
    """
    limit = _WORKERS.get()
    if limit is not None:
        return limit
    env = os.environ.get("TRANSLOCUS_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity masks
        return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Run the block with at most ``threads`` workers; every setting is restored after.

    Within the block :func:`worker_count` returns ``threads`` (for the calling thread and
    code it runs; nothing is written to the environment), numba's parallel kernels started
    from this thread use at most that many threads, and the BLAS pool is limited to it
    (threadpoolctl; :func:`parallel_map` still runs its tasks with a single-threaded BLAS).
    ``None`` changes nothing.

    >>> with thread_limit(1):
    ...     worker_count()
    1
    """
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"threads={threads!r} must be a positive whole number (or None)")
    import numba  # only calls that set a limit pay for importing it

    numba_before = numba.get_num_threads()
    token = _WORKERS.set(threads)
    # numba's thread count is per calling thread; its pool has NUMBA_NUM_THREADS at most
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]
    try:
        if getattr(_LIMIT_DEPTH, "value", 0):  # inside a BLAS limit of this thread already
            yield
        else:
            # not blas_threads: that would also disable the single-threaded BLAS of the
            # parallel_map calls inside this block
            with _BLAS.hold(threads):
                yield
    finally:
        numba.set_num_threads(numba_before)
        _WORKERS.reset(token)
