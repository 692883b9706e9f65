"""Array backends: each operation against numpy/LAPACK closed forms, and the error messages."""

from __future__ import annotations

import numpy as np
import pytest

import backends  # tests/backends.py (on the pytest pythonpath)
from translocus.core import compute
from translocus.core.compute import available_backends, cuda_available, get_backend
from translocus.core.errors import InputError

BACKENDS = backends.BACKENDS


def _spd(rng: np.random.Generator, batch: int, k: int) -> np.ndarray:
    a = rng.normal(size=(batch, k + 3, k))
    return np.einsum("bnk,bnl->bkl", a, a)


@pytest.mark.parametrize("name", BACKENDS)
def test_operations_match_numpy(name):
    be = get_backend(name, "cpu")
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 5, 3))
    b = rng.normal(size=(4, 3, 2))
    da, db = be.asarray(a), be.asarray(b)
    np.testing.assert_allclose(be.to_numpy(be.matmul(da, db)), a @ b, rtol=1e-14)
    np.testing.assert_allclose(be.to_numpy(be.einsum("bij,bjk->bik", da, db)), a @ b, rtol=1e-14)
    np.testing.assert_allclose(be.to_numpy(be.sum(da, axis=1)), a.sum(axis=1), rtol=1e-14)
    np.testing.assert_array_equal(be.to_numpy(be.swapaxes(da, 1, 2)), a.transpose(0, 2, 1))
    g = _spd(rng, 6, 4)
    low, ok = be.cholesky(be.asarray(g))
    assert ok.dtype == bool and ok.all()
    np.testing.assert_allclose(be.to_numpy(low), np.linalg.cholesky(g), rtol=1e-12)
    rhs = rng.normal(size=(6, 4, 3))
    z = be.to_numpy(be.solve_triangular(low, be.asarray(rhs)))
    np.testing.assert_allclose(np.linalg.cholesky(g) @ z, rhs, atol=1e-12)
    x = rng.normal(size=(6, 9, 4))
    xt = be.to_numpy(be.solve_triangular_right_t(be.asarray(x), low))
    np.testing.assert_allclose(xt @ np.linalg.cholesky(g).transpose(0, 2, 1), x, atol=1e-12)
    np.testing.assert_allclose(be.to_numpy(be.diagonal(be.asarray(g))),
                               np.diagonal(g, axis1=1, axis2=2))  # fmt: skip
    d = be.asarray(np.array([0.0, 4.0]))
    np.testing.assert_array_equal(be.to_numpy(be.where(d > 0, be.sqrt(d), 7.0)), [7.0, 2.0])
    assert be.to_numpy(da).dtype == np.float64 and be.eps == np.finfo(np.float64).eps
    index = np.array([[3, 0, 3], [1, 2, 0]])
    np.testing.assert_array_equal(be.to_numpy(be.take_rows(da, index)), a[index])


@pytest.mark.parametrize("name", BACKENDS)
def test_failed_cholesky_is_flagged_not_raised(name):
    be = get_backend(name, "cpu")
    g = _spd(np.random.default_rng(1), 3, 3)
    g[1] = np.diag([1.0, -1.0, 1.0])  # indefinite
    _, ok = be.cholesky(be.asarray(g))
    assert ok.tolist() == [True, False, True]


@pytest.mark.parametrize("name", BACKENDS)
def test_float32(name):
    be = get_backend(name, "cpu", dtype="float32")
    arr = be.asarray(np.arange(3.0))
    assert be.dtype_name == "float32" and be.eps == pytest.approx(1.1920929e-07)
    assert be.to_numpy(arr).dtype == np.float64  # host results are float64


def test_available_backends_and_default_device():
    names = available_backends()
    assert names[0] == "numpy"
    assert ("torch" in names) == (compute.importlib.util.find_spec("torch") is not None)
    if "torch" in names:
        be = get_backend("torch")
        assert be.device == ("cuda" if cuda_available() else "cpu")


def test_errors(monkeypatch):
    with pytest.raises(InputError, match="unknown compute backend"):
        get_backend("cupy")
    with pytest.raises(InputError, match="dtype"):
        get_backend("numpy", dtype="float16")
    with pytest.raises(InputError, match="CPU only"):
        get_backend("numpy", "cuda:0")
    assert get_backend(get_backend("numpy")).name == "numpy"
    monkeypatch.setattr(compute, "_torch_installed", lambda: False)
    assert available_backends() == ["numpy"] and not cuda_available()
    with pytest.raises(InputError, match=r"pip install torch==2\.13\.0"):
        get_backend("torch")


@pytest.mark.skipif("torch" not in available_backends(), reason="torch is not installed")
def test_torch_device_errors():
    with pytest.raises(InputError, match="not a torch device"):
        get_backend("torch", "gpu0")
    if not cuda_available():
        with pytest.raises(InputError, match="no CUDA device"):
            get_backend("torch", "cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs torch with a CUDA device")
def test_cuda_operations():
    be = get_backend("torch", "cuda")
    g = _spd(np.random.default_rng(2), 5, 4)
    low, ok = be.cholesky(be.asarray(g))
    assert ok.all() and be.device.startswith("cuda")
    np.testing.assert_allclose(be.to_numpy(low), np.linalg.cholesky(g), rtol=1e-12)
