"""Array backends for the GEMM-shaped parts of the engines: numpy (CPU) or torch (CPU/CUDA).

A backend is a small object with the few operations the genome scan needs (array transfer,
matrix products, batched Cholesky and triangular solves, reductions), so one kernel runs on the
CPU with numpy or on an accelerator with torch. Arrays are float64 unless a backend is asked for
another precision; the exactness guarantees of the scans hold for float64 only.

torch is optional (``pip install 'translocus[gpu]'``, i.e. ``pip install torch==2.13.0``) and is
imported only when a torch backend is requested.

Examples
--------
>>> import numpy as np
>>> be = get_backend("numpy")
>>> a = be.asarray(np.array([[4.0, 2.0], [2.0, 3.0]]))
>>> low, ok = be.cholesky(a[None])
>>> bool(ok[0]), np.round(be.to_numpy(low[0] @ low[0].T), 12).tolist()
(True, [[4.0, 2.0], [2.0, 3.0]])
>>> "numpy" in available_backends()
True
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any

import numpy as np

from translocus.core.errors import InputError

__all__ = [
    "ArrayBackend",
    "NumpyBackend",
    "TorchBackend",
    "available_backends",
    "cuda_available",
    "get_backend",
]

#: The torch release the ``gpu`` extra pins.
TORCH_PIN = "torch==2.13.0"

_DTYPES = ("float64", "float32")


@lru_cache(maxsize=1)
def _torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def _import_torch() -> Any:
    if not _torch_installed():
        raise InputError(
            "the torch backend needs PyTorch, which is not installed; install it with "
            f"`pip install {TORCH_PIN}` (or the package's `gpu` extra), or use backend='numpy'"
        )
    return importlib.import_module("torch")


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device (imports torch only if installed)."""
    if not _torch_installed():
        return False
    return bool(_import_torch().cuda.is_available())


def available_backends() -> list[str]:
    """Names of the backends usable here: ``"numpy"`` always, ``"torch"`` when installed.

    ``"torch"`` runs on CUDA when :func:`cuda_available`, otherwise on the CPU.
    """
    out = ["numpy"]
    if _torch_installed():
        out.append("torch")
    return out


class ArrayBackend(ABC):
    """Common interface of the backends (numpy semantics; ``axis`` arguments are ints).

    Attributes
    ----------
    name
        ``"numpy"`` or ``"torch"``.
    device
        ``"cpu"`` or a torch device string such as ``"cuda"``/``"cuda:1"``.
    dtype_name
        ``"float64"`` (default) or ``"float32"``.
    """

    name: str = "abstract"
    device: str = "cpu"
    dtype_name: str = "float64"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device!r}, dtype={self.dtype_name!r})"

    @property
    def eps(self) -> float:
        """Machine epsilon of the backend's floating-point type."""
        return float(np.finfo(self.dtype_name).eps)

    # -- transfer ------------------------------------------------------------------------------
    @abstractmethod
    def asarray(self, x: Any) -> Any:
        """Floating-point array on the backend's device (copies only when needed)."""

    @abstractmethod
    def to_numpy(self, x: Any) -> np.ndarray:
        """A numpy array (float64 for floating point) on the host."""

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU); for timing."""
        return None

    # -- algebra -------------------------------------------------------------------------------
    def matmul(self, a: Any, b: Any) -> Any:
        """Matrix product, batched over leading dimensions (``a @ b``)."""
        return a @ b

    @abstractmethod
    def einsum(self, spec: str, *operands: Any) -> Any: ...

    @abstractmethod
    def take_rows(self, a: Any, index: np.ndarray) -> Any:
        """``a[index]`` for a host integer array ``index`` of any shape (a gather)."""

    @abstractmethod
    def swapaxes(self, a: Any, i: int, j: int) -> Any: ...

    @abstractmethod
    def cholesky(self, a: Any) -> tuple[Any, np.ndarray]:
        """Batched lower Cholesky factors of ``[..., k, k]`` and a host mask of successes.

        Failed factorisations (not positive definite) are flagged ``False``; their factor is
        meaningless but finite, so the batch can be used as a whole.
        """

    @abstractmethod
    def solve_triangular(self, low: Any, b: Any) -> Any:
        """``L^-1 b`` for lower-triangular ``[..., k, k]`` factors and ``[..., k, r]`` right sides."""

    def solve_triangular_right_t(self, x: Any, low: Any) -> Any:
        """``X L^-T`` for ``[..., n, k]`` blocks and lower-triangular ``[..., k, k]`` factors."""
        return self.swapaxes(self.solve_triangular(low, self.swapaxes(x, -1, -2)), -1, -2)

    @abstractmethod
    def sum(self, a: Any, axis: int) -> Any: ...

    @abstractmethod
    def sqrt(self, a: Any) -> Any: ...

    @abstractmethod
    def diagonal(self, a: Any) -> Any:
        """Diagonals of a batch of square matrices (``[..., k, k] -> [..., k]``)."""

    @abstractmethod
    def where(self, cond: Any, a: Any, b: Any) -> Any: ...


class NumpyBackend(ArrayBackend):
    """The CPU reference backend (numpy + the installed BLAS/LAPACK)."""

    name = "numpy"

    def __init__(self, dtype: str = "float64") -> None:
        self.device = "cpu"
        self.dtype_name = dtype
        self._dtype = np.dtype(dtype)

    def asarray(self, x: Any) -> np.ndarray:
        return np.asarray(x, dtype=self._dtype)

    def to_numpy(self, x: Any) -> np.ndarray:
        arr = np.asarray(x)
        return arr.astype(np.float64) if arr.dtype.kind == "f" else arr

    def einsum(self, spec: str, *operands: Any) -> np.ndarray:
        return np.einsum(spec, *operands, optimize=True)

    def take_rows(self, a: Any, index: np.ndarray) -> np.ndarray:
        return np.asarray(a)[np.asarray(index, dtype=np.int64)]

    def swapaxes(self, a: Any, i: int, j: int) -> np.ndarray:
        return np.swapaxes(a, i, j)

    def cholesky(self, a: Any) -> tuple[np.ndarray, np.ndarray]:
        arr = np.asarray(a)
        batch = arr.shape[:-2]
        try:
            return np.linalg.cholesky(arr), np.ones(batch, dtype=bool)
        except np.linalg.LinAlgError:
            pass
        k = arr.shape[-1]
        flat = arr.reshape(-1, k, k)
        low = np.zeros_like(flat)
        ok = np.ones(flat.shape[0], dtype=bool)
        for i in range(flat.shape[0]):
            try:
                low[i] = np.linalg.cholesky(flat[i])
            except np.linalg.LinAlgError:
                ok[i] = False
                low[i] = np.eye(k, dtype=flat.dtype)
        return low.reshape(arr.shape), ok.reshape(batch)

    def solve_triangular(self, low: Any, b: Any) -> np.ndarray:
        # LU on a triangular matrix performs no row exchanges: this is forward substitution.
        return np.linalg.solve(low, b)

    def sum(self, a: Any, axis: int) -> np.ndarray:
        return np.sum(a, axis=axis)

    def sqrt(self, a: Any) -> np.ndarray:
        return np.sqrt(a)

    def diagonal(self, a: Any) -> np.ndarray:
        return np.diagonal(a, axis1=-2, axis2=-1)

    def where(self, cond: Any, a: Any, b: Any) -> np.ndarray:
        return np.where(cond, a, b)


class TorchBackend(ArrayBackend):
    """PyTorch on a CPU or CUDA device."""

    name = "torch"

    def __init__(self, device: str | None = None, dtype: str = "float64") -> None:
        torch = _import_torch()
        self._torch = torch
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(
                f"device={device!r} is not a torch device; use 'cpu', 'cuda' or 'cuda:N'"
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise InputError(
                f"device={device!r} was requested but torch sees no CUDA device; "
                "use device='cpu' (or None to choose automatically)"
            )
        if dev.type not in ("cpu", "cuda"):
            raise InputError(f"device={device!r} is not supported; use 'cpu' or 'cuda'")
        self.device = str(dev)
        self.dtype_name = dtype
        self._dtype = getattr(torch, dtype)

    def asarray(self, x: Any) -> Any:
        torch = self._torch
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self._dtype)
        arr = np.ascontiguousarray(np.asarray(x, dtype=self.dtype_name))
        return torch.from_numpy(arr).to(self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        torch = self._torch
        if isinstance(x, torch.Tensor):
            t = x.detach().cpu()
            if t.is_floating_point():
                t = t.to(torch.float64)
            return t.numpy()
        return np.asarray(x)

    def synchronize(self) -> None:
        if self.device.startswith("cuda"):
            self._torch.cuda.synchronize(self.device)

    def matmul(self, a: Any, b: Any) -> Any:
        return self._torch.matmul(a, b)

    def einsum(self, spec: str, *operands: Any) -> Any:
        return self._torch.einsum(spec, *operands)

    def take_rows(self, a: Any, index: np.ndarray) -> Any:
        idx = self._torch.as_tensor(np.asarray(index, dtype=np.int64), device=a.device)
        return a[idx]

    def swapaxes(self, a: Any, i: int, j: int) -> Any:
        return a.transpose(i, j)

    def cholesky(self, a: Any) -> tuple[Any, np.ndarray]:
        low, info = self._torch.linalg.cholesky_ex(a)
        ok = self.to_numpy(info) == 0
        return low, ok

    def solve_triangular(self, low: Any, b: Any) -> Any:
        return self._torch.linalg.solve_triangular(low, b, upper=False)

    def sum(self, a: Any, axis: int) -> Any:
        return self._torch.sum(a, dim=axis)

    def sqrt(self, a: Any) -> Any:
        return self._torch.sqrt(a)

    def diagonal(self, a: Any) -> Any:
        return self._torch.diagonal(a, dim1=-2, dim2=-1)

    def where(self, cond: Any, a: Any, b: Any) -> Any:
        torch = self._torch
        if not isinstance(b, torch.Tensor):
            b = torch.as_tensor(b, dtype=self._dtype, device=self.device)
        if not isinstance(a, torch.Tensor):
            a = torch.as_tensor(a, dtype=self._dtype, device=self.device)
        return torch.where(cond, a, b)


def get_backend(
    name: str | ArrayBackend = "numpy", device: str | None = None, *, dtype: str = "float64"
) -> ArrayBackend:
    """An array backend by name.

    Parameters
    ----------
    name
        ``"numpy"`` (CPU) or ``"torch"``; an :class:`ArrayBackend` passes through.
    device
        For torch: ``None`` picks ``"cuda"`` when available, else ``"cpu"``; or ``"cpu"``,
        ``"cuda"``, ``"cuda:N"``. numpy accepts only ``None``/``"cpu"``.
    dtype
        ``"float64"`` (default) or ``"float32"``.

    Raises
    ------
    InputError
        Unknown backend, dtype or device, or torch requested but not installed.
    """
    if isinstance(name, ArrayBackend):
        return name
    if dtype not in _DTYPES:
        raise InputError(f"dtype={dtype!r} is not supported; use one of {list(_DTYPES)}")
    key = str(name).lower()
    if key == "numpy":
        if device not in (None, "cpu"):
            raise InputError(
                f"the numpy backend runs on the CPU only (device={device!r}); "
                "use backend='torch' for an accelerator"
            )
        return NumpyBackend(dtype)
    if key == "torch":
        return TorchBackend(device, dtype)
    raise InputError(f"unknown compute backend {name!r}; use one of ['numpy', 'torch']")
