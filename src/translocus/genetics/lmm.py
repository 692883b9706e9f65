"""Linear mixed model pieces shared by the scan, the heritability and the effects.

The model is R/qtl2's: ``y = X b + g + e`` with ``Var(y) = s² [h² (2K) + (1 - h²) I]``, where
``K`` is the kinship matrix as :func:`~translocus.genetics.kinship.calc_kinship` returns it (the
model uses twice that, Almasy & Blangero 1998). ``2K = U diag(λ) U'``; everything is rotated by
``U'`` so that the covariance is diagonal. h² is estimated by REML (or ML) with R's Brent
minimiser on ``[0, 1]`` plus a check of both boundaries, and the log-likelihood kept for LOD
scores is the ML one evaluated at that h².

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> g = rng.random((30, 60))
>>> kin = g @ g.T / 60
>>> eig = decompose_kinship(kin)
>>> bool(np.allclose((eig.vectors_t.T * eig.values) @ eig.vectors_t, 2 * kin))
True
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.threads import blas_threads
from translocus.genetics._null_numba import brent_fit_lmm
from translocus.genetics._scan_kernels import rotate_traits
from translocus.genetics._scan_numba import symmetric_finite

__all__ = [
    "EigenStore",
    "KinshipEigen",
    "NullFit",
    "as_kinship_frame",
    "decompose_kinship",
    "eigen_2k",
    "eigen_store",
    "fit_null_lmm",
    "loco_label",
    "logdet_xpx",
    "sweep_stale_eigen_folders",
]

#: Relative size of a negative eigenvalue (vs the largest) that is treated as rounding.
PSD_TOL = 1e-8


@dataclass(frozen=True)
class KinshipEigen:
    """Eigen-decomposition of ``2K`` for a set of samples.

    Attributes
    ----------
    values
        ``[n]`` eigenvalues of 2K (ascending).
    vectors_t
        ``[n, n]`` transposed eigenvectors (``U'``): rotate data with ``vectors_t @ data``.
    samples
        Sample IDs, the row/column order of the kinship matrix used.
    """

    values: np.ndarray
    vectors_t: np.ndarray
    samples: tuple[str, ...]


@dataclass(frozen=True)
class NullFit:
    """Null-model LMM fits for the columns of a phenotype matrix (each ``[T]``)."""

    hsq: np.ndarray
    loglik: np.ndarray
    sigmasq: np.ndarray
    rss: np.ndarray


def as_kinship_frame(
    kinship: Any, samples: Sequence[str] | None = None, *, label: str = "kinship"
) -> pd.DataFrame:
    """A kinship matrix as a square DataFrame indexed by sample ID on both axes.

    Accepts a DataFrame, a 2-D ``xr.DataArray`` (both dims carrying sample IDs) or a numpy array
    (then ``samples`` gives its order).
    """
    if isinstance(kinship, pd.DataFrame):
        frame = kinship.copy()
        frame.index = [str(i) for i in frame.index]
        frame.columns = [str(c) for c in frame.columns]
    elif isinstance(kinship, xr.DataArray):
        if kinship.ndim != 2:
            raise InputError(f"{label}: expected a 2-D matrix, got dims {kinship.dims}")
        axes = []
        for dim in kinship.dims:
            if dim in kinship.indexes:
                ids = kinship.indexes[dim]
            else:  # no IDs on this axis: the given samples, else positions
                ids = (
                    pd.Index(samples) if samples is not None else pd.RangeIndex(kinship.sizes[dim])
                )
            axes.append(ids.astype(str))
        frame = pd.DataFrame(kinship.values, index=axes[0], columns=axes[1])
    else:
        arr = np.asarray(kinship, dtype=float)
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise InputError(f"{label}: expected a square matrix, got shape {arr.shape}")
        if samples is None or len(samples) != arr.shape[0]:
            raise InputError(
                f"{label}: a bare array needs one sample ID per row; pass a DataFrame with IDs"
            )
        ids = [str(s) for s in samples]
        frame = pd.DataFrame(arr, index=ids, columns=ids)
    if frame.shape[0] != frame.shape[1] or not frame.index.equals(frame.columns):
        if set(frame.index) == set(frame.columns) and frame.shape[0] == frame.shape[1]:
            frame = frame.loc[:, list(frame.index)]
        else:
            raise InputError(f"{label}: rows and columns must hold the same sample IDs")
    values = frame.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{label}: contains missing or infinite values; recompute the kinship")
    if not kinship_symmetric(values):
        raise InputError(f"{label}: the matrix is not symmetric; pass calc_kinship's output")
    return frame if (frame.dtypes == np.float64).all() else frame.astype(float)


#: The symmetry rule of a kinship matrix: ``|K - K'| <= KINSHIP_ATOL + KINSHIP_RTOL |K|``
#: (``np.allclose``'s, every entry against its transpose).
KINSHIP_RTOL = 1e-8
KINSHIP_ATOL = 1e-10


def kinship_symmetric(values: np.ndarray) -> bool:
    """Whether a square matrix is finite and symmetric by :data:`KINSHIP_RTOL`'s rule."""
    # the rule is the same for the transpose, which is in C order when a frame built from a
    # C-ordered array hands back its block's F-ordered view
    a = values.T if values.flags.f_contiguous else np.ascontiguousarray(values)
    return bool(symmetric_finite(a, KINSHIP_RTOL, KINSHIP_ATOL))


def decompose_kinship(kinship: Any, *, label: str = "kinship") -> KinshipEigen:
    """Eigen-decompose ``2K`` (R/qtl2 doubles the kinship matrix before its LMM).

    Raises :class:`InputError` when the matrix is not positive semi-definite (an eigenvalue
    below ``-1e-8`` times the largest), since the likelihood is then undefined.
    """
    samples = None
    if isinstance(kinship, np.ndarray) and kinship.ndim == 2:
        samples = [str(i) for i in range(kinship.shape[0])]  # positions stand in for IDs
    frame = as_kinship_frame(kinship, samples, label=label)
    return eigen_2k(frame.to_numpy(dtype=float), tuple(frame.index), label=label)


#: Bytes of decompositions kept for reuse (:func:`eigen_2k`): the chunks of a many-trait scan
#: and the effects at its peaks decompose the same LOCO matrices again.
EIGEN_CACHE_BYTES = 256 << 20
_EIGEN_CACHE: OrderedDict[bytes, KinshipEigen] = OrderedDict()
_EIGEN_LOCK = threading.Lock()
#: the open :class:`EigenStore` objects, innermost last
_STORES: list[EigenStore] = []


def loco_label(name: str) -> str:
    """The label of chromosome ``name``'s LOCO kinship: in messages, and what a store keeps."""
    return f"kinship for chromosome {name}"


def _content_key(values: np.ndarray, samples: tuple[str, ...]) -> bytes:
    """Digest of a contiguous matrix and its sample IDs: the cache key of its decomposition."""
    # SHA-256 is hardware-accelerated on current x86 and ARM cores (3x blake2b's speed here),
    # and hashing the buffer itself saves a copy of the matrix
    digest = hashlib.sha256(values.data)
    digest.update(repr(values.shape).encode())
    digest.update("\0".join(samples).encode())
    return digest.digest()


def _cache_put(key: bytes, eig: KinshipEigen) -> None:
    with _EIGEN_LOCK:
        _EIGEN_CACHE[key] = eig
        _EIGEN_CACHE.move_to_end(key)
        while sum(e.vectors_t.nbytes for e in _EIGEN_CACHE.values()) > EIGEN_CACHE_BYTES \
                and len(_EIGEN_CACHE) > 1:  # fmt: skip
            _EIGEN_CACHE.popitem(last=False)


class EigenStore:
    """The LOCO decompositions of one many-trait scan, each made once (:func:`eigen_store`).

    A decomposition is kept in memory while those kept take at most ``memory_bytes``, the
    others in a temporary folder the store makes (``translocus-eigen-*`` in the system's
    temporary directory) and removes when it closes; one read back from there has the same
    bits. It keeps the decompositions labelled as the LOCO kinships of its chromosomes
    (:func:`loco_label`), found by their content (the key of :func:`eigen_2k`'s cache), so a
    changed matrix is never given an old decomposition.

    Attributes
    ----------
    made
        Decompositions made (eigen-decompositions computed) while the store was open.
    reused
        Decompositions given again from the store.
    on_disk
        Decompositions written to the temporary folder.
    swept
        Folders of stores whose process ended without removing them (killed), removed when
        this store made its own (:func:`sweep_stale_eigen_folders`).
    memory_bytes
        Bytes of decompositions the store may keep in memory.
    """

    def __init__(self, names: Sequence[str], memory_bytes: int = 0) -> None:
        self.labels = frozenset(loco_label(name) for name in names)
        self.memory_bytes = int(memory_bytes)
        self.held_bytes = 0
        self.made = 0
        self.reused = 0
        self.on_disk = 0
        self.folder: Path | None = None
        self.swept = 0
        self._entries: dict[bytes, KinshipEigen | Path] = {}
        self._written = 0
        self._lock = threading.Lock()

    def find(self, key: bytes) -> KinshipEigen | None:
        """The decomposition stored under ``key`` (a content key), or ``None``."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None:
            return None
        if isinstance(entry, Path):
            with np.load(entry) as saved:
                eig = KinshipEigen(values=saved["values"], vectors_t=saved["vectors_t"],
                                   samples=tuple(str(s) for s in saved["samples"]))  # fmt: skip
        else:
            eig = entry
        with self._lock:
            self.reused += 1
        return eig

    def keep(self, key: bytes, eig: KinshipEigen, made: bool) -> None:
        """Keep ``eig`` under its content ``key``."""
        size = eig.vectors_t.nbytes + eig.values.nbytes
        with self._lock:
            self.made += int(made)
            if key in self._entries:  # two threads made the same one
                return
            if self.held_bytes + size <= self.memory_bytes:
                self._entries[key] = eig
                self.held_bytes += size
                return
            if self.folder is None:
                self.swept = sweep_stale_eigen_folders()
                self.folder = Path(tempfile.mkdtemp(prefix=_eigen_folder_prefix()))
            self._written += 1
            path = self.folder / f"{self._written:05d}.npz"
        # written whole before it is filed: a thread that finds it reads all of it
        np.savez(path, values=eig.values, vectors_t=eig.vectors_t,
                 samples=np.asarray(eig.samples, dtype=str))  # fmt: skip
        with self._lock:
            if key in self._entries:  # another thread filed the same one meanwhile
                path.unlink()
                return
            self._entries[key] = path
            self.on_disk += 1

    def counts(self) -> dict[str, int]:
        """Decompositions ``made``, ``reused`` and kept ``on_disk`` so far."""
        with self._lock:
            return {"made": self.made, "reused": self.reused, "on_disk": self.on_disk}

    def close(self) -> None:
        """Remove the temporary folder; the decompositions held in memory go to the cache."""
        with self._lock:
            entries = list(self._entries.items())
            self._entries.clear()
            folder, self.folder = self.folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        for key, entry in entries:
            if isinstance(entry, KinshipEigen):
                _cache_put(key, entry)


#: A store's folder: ``translocus-eigen-<host>-<pid>-<random>`` in the temporary directory.
_EIGEN_FOLDER = re.compile(r"translocus-eigen-(?P<host>.+)-(?P<pid>\d+)-[^-]+")
#: What a store writes in its folder.
_EIGEN_FILE = re.compile(r"\d{5}\.npz")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def _eigen_folder_prefix() -> str:
    return f"translocus-eigen-{_host()}-{os.getpid()}-"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_stale_eigen_folders(where: str | Path | None = None) -> int:
    """Remove decomposition folders left by stores whose process is gone; how many.

    A store removes its folder when its scan ends, also on error, but a process killed
    outright (out of memory, ``kill -9``) leaves it behind: 32 MB per decomposition of 2,000
    mice. A folder is removed only when its name says this machine and a process that no
    longer runs made it, and it holds nothing but the files a store writes, so a running scan's
    folder, another machine's (a shared temporary directory) and anything else are left alone.
    """
    root = Path(where) if where is not None else Path(tempfile.gettempdir())
    host, removed = _host(), 0
    try:
        candidates = list(root.glob("translocus-eigen-*"))
    except OSError:
        return 0
    for folder in candidates:
        match = _EIGEN_FOLDER.fullmatch(folder.name)
        if match is None or match["host"] != host or not folder.is_dir() or folder.is_symlink():
            continue
        if _running(int(match["pid"])):
            continue
        try:
            files = list(folder.iterdir())
            if any(not f.is_file() or f.is_symlink() or not _EIGEN_FILE.fullmatch(f.name)
                   for f in files):  # fmt: skip
                continue
            for f in files:
                f.unlink()
            folder.rmdir()
            removed += 1
        except OSError:  # another process swept it first, or it is not ours to remove
            continue
    return removed


@contextlib.contextmanager
def eigen_store(names: Sequence[str], *, memory_bytes: int = 0) -> Iterator[EigenStore]:
    """Make each LOCO decomposition once while the block runs (:class:`EigenStore`).

    Scans run in the block (in any thread) that decompose the kinship matrix of a chromosome
    in ``names`` take it from the store after the first time; decompositions beyond
    ``memory_bytes`` wait in a temporary folder, removed when the block ends (also when it
    raises). Matrices are found by their content, so a matrix changed under the same name is
    decomposed again.

    >>> g = np.random.default_rng(2).random((30, 60))
    >>> kin, ids = g @ g.T / 60, tuple(str(i) for i in range(30))
    >>> with eigen_store(["1"]) as store:
    ...     first = eigen_2k(kin, ids, label=loco_label("1"))
    ...     again = eigen_2k(kin.copy(), ids, label=loco_label("1"))
    >>> store.made, store.on_disk, store.reused, bool(np.all(again.vectors_t == first.vectors_t))
    (1, 1, 1, True)
    """
    store = EigenStore(names, memory_bytes)
    with _EIGEN_LOCK:
        _STORES.append(store)
    try:
        yield store
    finally:
        with _EIGEN_LOCK:
            _STORES.remove(store)
        store.close()


def eigen_2k(kinship: np.ndarray, samples: tuple[str, ...], *, label: str = "kinship"
             ) -> KinshipEigen:  # fmt: skip
    """:func:`decompose_kinship` of an already validated (finite, symmetric) numpy matrix.

    The last decompositions (by content and samples, :data:`EIGEN_CACHE_BYTES` of them) are
    kept and given again for the same matrix; within :func:`eigen_store`, the LOCO ones are
    kept there instead (all of them).
    """
    values = np.ascontiguousarray(kinship, dtype=float)
    with _EIGEN_LOCK:
        stores = list(_STORES)
    store = next((s for s in reversed(stores) if label in s.labels), None)
    key = _content_key(values, samples)
    eig = next((e for e in (s.find(key) for s in reversed(stores)) if e is not None), None)
    if eig is None:
        with _EIGEN_LOCK:
            if key in _EIGEN_CACHE:
                _EIGEN_CACHE.move_to_end(key)
                eig = _EIGEN_CACHE[key]
    made = eig is None
    if eig is None:
        eig = _eigen_2k(values, samples, label)
    if store is not None:
        store.keep(key, eig, made)
    elif made:
        _cache_put(key, eig)
    return eig


def _eigen_2k(kinship: np.ndarray, samples: tuple[str, ...], label: str) -> KinshipEigen:
    # LAPACK's threaded eigensolver is slower than one thread at these sizes (and far slower on
    # a busy machine), so decompose with a single BLAS thread
    with blas_threads(1):
        values, vectors = np.linalg.eigh(2.0 * kinship)
    top = max(float(np.max(np.abs(values))), 1e-300)
    if values[0] < -PSD_TOL * top:
        raise InputError(
            f"{label}: the matrix is not positive semi-definite (smallest eigenvalue "
            f"{values[0] / 2:.3g}); use a kinship from calc_kinship or fix the input matrix"
        )
    return KinshipEigen(values=values, vectors_t=np.ascontiguousarray(vectors.T), samples=samples)


def logdet_xpx(x: np.ndarray) -> float:
    """``log |X'X|`` of the unrotated null design (a REML constant, as R/qtl2 computes it)."""
    ev = np.linalg.eigvalsh(x.T @ x)
    return float(np.sum(np.log(ev)))


def fit_null_lmm(
    eig: KinshipEigen,
    y: np.ndarray,
    x: np.ndarray,
    *,
    reml: bool = True,
    tol: float = 1e-12,
    check_boundary: bool = True,
    rotated: bool = False,
    xpx_logdet: float | None = None,
    n_extra: int = 0,
) -> NullFit:
    """Fit the null LMM ``y ~ X`` for each column of ``y`` (R/qtl2 ``fitLMM``).

    Parameters
    ----------
    eig
        Decomposition of 2K for the rows of ``y``.
    y
        ``[n, T]`` phenotypes (no missing values).
    x
        ``[n, c]`` covariates including the intercept (full column rank).
    rotated
        Whether ``y`` and ``x`` are already multiplied by ``eig.vectors_t``.
    xpx_logdet
        ``log |X'X|`` of the *unrotated* design; computed from ``x`` when not rotated.
    """
    y2 = np.asarray(y, dtype=float)
    if y2.ndim == 1:
        y2 = y2[:, None]
    x2 = np.asarray(x, dtype=float)
    if xpx_logdet is None:
        xpx_logdet = logdet_xpx(x2)  # the rotation is orthogonal: X'X is unchanged
    if not rotated:  # column by column: each trait's fit independent of the others
        y2 = rotate_traits(eig.vectors_t, y2)
        x2 = rotate_traits(eig.vectors_t, x2)
    hsq, loglik, sigmasq, rss = brent_fit_lmm(
        np.ascontiguousarray(eig.values),
        np.ascontiguousarray(y2),
        np.ascontiguousarray(x2),
        bool(reml),
        float(xpx_logdet),
        float(tol),
        bool(check_boundary),
        int(n_extra),
    )
    return NullFit(hsq=hsq, loglik=loglik, sigmasq=sigmasq, rss=rss)


def kinship_ids(kinship: Any) -> set[str] | None:
    """Sample IDs of a kinship matrix (or the common IDs of a LOCO dict); ``None`` if unknown."""
    if kinship is None:
        return None
    if isinstance(kinship, Mapping):
        sets = [kinship_ids(k) for k in kinship.values()]
        known = [s for s in sets if s is not None]
        return set.intersection(*known) if known else None
    if isinstance(kinship, pd.DataFrame):
        return {str(i) for i in kinship.index}
    if isinstance(kinship, xr.DataArray) and kinship.dims[0] in kinship.coords:
        return {str(i) for i in kinship.coords[kinship.dims[0]].values}
    return None
