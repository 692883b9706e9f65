"""Thread pools: BLAS limits and a thread map for compiled kernels that release the GIL.

A threaded BLAS busy-waits between calls; next to numba's own threads (or a pool of
Python threads) on a small machine that spinning takes the cores the real work needs, so
code that does many small products runs its BLAS single-threaded inside
:func:`blas_threads` and parallelises at a coarser level instead.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import ThreadpoolController

__all__ = ["blas_threads", "parallel_map", "worker_count"]

T_in = TypeVar("T_in")
T_out = TypeVar("T_out")

_CONTROLLER: list[ThreadpoolController] = []
_CONTROLLER_LOCK = threading.Lock()
_LIMIT_DEPTH = threading.local()


def _controller() -> ThreadpoolController:
    # inspecting the loaded libraries costs milliseconds: do it once per process
    with _CONTROLLER_LOCK:
        if not _CONTROLLER:
            _CONTROLLER.append(ThreadpoolController())
        return _CONTROLLER[0]


@contextlib.contextmanager
def blas_threads(limit: int) -> Iterator[None]:
    """Limit the BLAS thread pool within the block (nested calls inside it are free).

    The limit is process-wide, so only the outermost call of a thread sets it, and the worker
    threads of :func:`parallel_map` (which run under their caller's limit) never do.
    """
    depth = getattr(_LIMIT_DEPTH, "value", 0)
    if depth:
        yield
        return
    _LIMIT_DEPTH.value = 1
    try:
        with _controller().limit(limits=limit, user_api="blas"):
            yield
    finally:
        _LIMIT_DEPTH.value = 0


def _mark_worker() -> None:
    _LIMIT_DEPTH.value = 1


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
        with ThreadPoolExecutor(max_workers=workers, initializer=_mark_worker) as pool:
            return list(pool.map(fn, items))


def worker_count() -> int:
    """Number of threads the compiled kernels use.

    ``$TRANSLOCUS_THREADS`` when set, else the CPU cores this process may use (its affinity
    mask); at least 1.
    """
    env = os.environ.get("TRANSLOCUS_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity masks
        return max(1, os.cpu_count() or 1)
