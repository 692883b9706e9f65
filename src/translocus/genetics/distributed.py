"""Genome scans and permutations spread over a Dask cluster (``dask.distributed``).

``scan(..., client=client)`` splits the traits into chunks and scans each chunk on a worker;
``scan_perm(..., client=client)`` splits the permutation matrix into column chunks
(:func:`scan_distributed` and :func:`permutations_distributed` do the same, with the size of
a task as an argument). The genotype
probabilities and kinship matrices travel to the workers once (scattered to all of them), or
not at all: give :class:`StoredProbs`, a reference to probabilities saved with
:meth:`translocus.core.store.Store.write_genoprobs` on storage every worker can read, and each
worker process loads them once and keeps them for later tasks.

Results equal the single-process functions (:func:`~translocus.genetics.scan.scan`,
:func:`~translocus.genetics.permute.scan_perm`): every trait or permutation is computed by the
same code on the same inputs. The permutation matrix is drawn once on the client from the seed,
so a seeded run gives the maxima of ``scan_perm`` with that seed. One rounding-level caveat: a
scan chunk keeps the individuals with at least one phenotype *in that chunk*, so an LMM trait
with missing values may be analysed inside a different (but equivalent) set of individuals than
in the full scan; its LOD then agrees to rounding (about 1e-10) rather than bit for bit.

The workers run with the call's ``backend``, ``device`` and ``threads``: with
``backend="torch"``, e.g., one worker per GPU.

Examples
--------
>>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
>>> with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
...     out = scan(pheno, probs, client=client)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.store import Store
from translocus.genetics._design import TraitSkippedWarning, as_frame, prepare
from translocus.genetics.permute import (
    check_perms,
    default_strata,
    kinship_subset,
    permutation_matrix,
    region_lengths,
    scan_perm,
    strata_codes,
)
from translocus.genetics.results import PermutationResult, ScanResult
from translocus.genetics.scan import scan
from translocus.genetics.spec import ModelSpec, resolve_spec

__all__ = [
    "StoredProbs",
    "permutations_distributed",
    "permutations_on_client",
    "scan_distributed",
    "scan_on_client",
]


@dataclass(frozen=True)
class StoredProbs:
    """Genotype probabilities saved in a :class:`~translocus.core.store.Store` on shared storage.

    Parameters
    ----------
    store
        Path of the store folder, the same on the client and every worker.
    name
        Item name given to ``Store.write_genoprobs``.
    version
        The item's version; filled in by :meth:`pin` so that every worker reads the same one.
    """

    store: str
    name: str
    version: str | None = None

    def pin(self) -> StoredProbs:
        """Return this reference with the item's current version recorded (checks that it exists)."""
        info = Store(self.store, create=False).info(self.name)
        if info.kind != "genoprobs":
            raise InputError(
                f"{self.store}: item {self.name!r} holds {info.kind}, not genotype "
                "probabilities; write them with Store.write_genoprobs"
            )
        return StoredProbs(str(Path(self.store)), self.name, info.version)

    def load(self) -> GenoProbs:
        """The probabilities (read once per process and kept; version checked when pinned)."""
        key = (str(Path(self.store).resolve()), self.name, self.version)
        with _CACHE_LOCK:
            if key in _PROBS_CACHE:
                return _PROBS_CACHE[key]
        store = Store(self.store, create=False)
        if self.version is not None and store.info(self.name).version != self.version:
            raise InputError(
                f"{self.store}: item {self.name!r} changed (version {self.version} is no longer "
                "current) while the computation ran; run it again"
            )
        probs = store.read_genoprobs(self.name)
        with _CACHE_LOCK:
            _PROBS_CACHE.clear()  # keep one set of probabilities per process
            _PROBS_CACHE[key] = probs
        return probs


#: Name of the helper column that pins each chunk's individuals (see scan_distributed).
_KEEP = "__translocus_observed__"


def _ignore_helper_warning() -> None:
    """Workers drop the helper column as invariant: expected, not worth a warning.

    Real skipped traits are reported once more, on the client. Re-adding the same filter
    replaces it, so calling this for every task does not grow the filter list.
    """
    warnings.filterwarnings("ignore", message=f".*{_KEEP}", category=TraitSkippedWarning)


_PROBS_CACHE: dict[tuple[str, str, str | None], GenoProbs] = {}
_CACHE_LOCK = threading.Lock()


def _resolve_probs(probs: GenoProbs | StoredProbs) -> GenoProbs:
    return probs.load() if isinstance(probs, StoredProbs) else probs


def _get_client(client: Any) -> Any:
    if client is not None:
        return client
    try:
        from distributed import get_client
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise InputError(
            "distributed scans need dask.distributed; install it with "
            "`pip install 'dask[distributed]'`"
        ) from exc
    try:
        return get_client()
    except ValueError as exc:
        raise InputError(
            "no Dask client is running; start one, e.g. `Client(LocalCluster())` or "
            "`Client('tcp://scheduler:8786')`, and pass it as client="
        ) from exc


def _n_slots(client: Any) -> int:
    info = client.scheduler_info()
    slots = sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values())
    return max(1, slots)


def _check_probs(probs: Any) -> GenoProbs | StoredProbs:
    if isinstance(probs, StoredProbs):
        return probs.pin()
    if not isinstance(probs, GenoProbs):
        raise InputError(
            "probs must be GenoProbs (from calc_genoprob) or StoredProbs(store, name) for "
            "probabilities saved with Store.write_genoprobs"
        )
    return probs


def _share(client: Any, obj: Any) -> Any:
    """One future per object, copied to every worker (small objects pass as they are)."""
    if obj is None or isinstance(obj, StoredProbs):
        return obj
    return client.scatter([obj], broadcast=True, hash=False)[0]


def _scan_task(
    pheno: pd.DataFrame,
    probs: GenoProbs | StoredProbs,
    kinship: Any,
    options: dict[str, Any],
) -> ScanResult:
    gp = _resolve_probs(probs)
    # (a filter, not catch_warnings: that is not thread-safe and workers may be threads)
    _ignore_helper_warning()
    return scan(pheno, gp, kinship=kinship, **options)


def _options(model: ModelSpec, **execution: Any) -> dict[str, Any]:
    """The model's arguments but phenotypes and kinship (shipped on their own), and where to run."""
    return {"addcovar": model.addcovar, "Xcovar": model.Xcovar, "intcovar": model.intcovar,
            "weights": model.weights, "reml": model.reml, **execution}  # fmt: skip


def scan_on_client(
    model: ModelSpec,
    probs: GenoProbs | StoredProbs,
    *,
    tol: float,
    client: Any,
    traits_per_task: int | None = None,
    backend: Any = "cpu",
    device: str | None = None,
    threads: int | None = None,
    chunk_bytes: int | None = None,
) -> ScanResult:
    """``scan(..., client=client)``: the traits in chunks, each scanned on a worker.

    The workers run :func:`~translocus.genetics.scan.scan` with ``backend``, ``device``,
    ``threads`` and ``chunk_bytes``.
    """
    shared_probs = _check_probs(probs)
    pheno = model.phenotypes
    labelled = isinstance(pheno, pd.DataFrame | pd.Series | xr.DataArray)
    samples = None if labelled else list(_resolve_probs(shared_probs).samples)
    frame = as_frame(pheno, "pheno", samples)
    if frame is None or frame.shape[1] == 0:
        raise InputError("pheno has no phenotype columns; pass a [sample, trait] table")
    if _KEEP in frame.columns:
        raise InputError(f"pheno: the column name {_KEEP!r} is reserved; rename that column")
    if traits_per_task is not None and int(traits_per_task) < 1:
        raise InputError(f"traits_per_task={traits_per_task} must be a positive integer")
    client = _get_client(client)
    n_trait = frame.shape[1]
    per = int(traits_per_task) if traits_per_task else math.ceil(n_trait / _n_slots(client))
    probs_f = _share(client, shared_probs)
    kin_f = _share(client, model.kinship)
    options_f = _share(client, _options(model, tol=tol, backend=backend, device=device,
                                        threads=threads, chunk_bytes=chunk_bytes))  # fmt: skip
    chunks = [frame.iloc[:, s : s + per] for s in range(0, n_trait, per)]
    observed = np.isfinite(frame.to_numpy()).any(axis=1)
    if len(chunks) > 1 and not np.all(np.isfinite(frame.to_numpy())):
        # Keep every chunk on the full scan's individuals (those with any phenotype): a constant
        # column observed exactly there fixes the set and is then dropped as invariant.
        marker = pd.Series(np.where(observed, 1.0, np.nan), index=frame.index, name=_KEEP)
        chunks = [pd.concat([c, marker], axis=1) for c in chunks]
    futures = [
        client.submit(_scan_task, chunk, probs_f, kin_f, options_f, pure=False) for chunk in chunks
    ]
    parts: list[ScanResult] = client.gather(futures)
    parts = [p.subset(traits=[t for t in p.traits if t != _KEEP]) for p in parts]
    data = xr.concat([p.data for p in parts], dim="trait", data_vars="minimal",
                     coords="minimal", compat="override", join="exact")  # fmt: skip
    data.attrs = dict(parts[0].data.attrs)
    skipped = tuple(t for p in parts for t in p.skipped)
    if skipped:
        warnings.warn(
            f"{len(skipped)} trait(s) could not be scanned (fewer than 3 observations or no "
            f"variance after the covariates): {list(skipped[:10])}; their LOD is missing. "
            "Drop them or check their values.",
            TraitSkippedWarning,
            stacklevel=3,
        )
    return ScanResult(data=data, skipped=skipped)


def scan_distributed(
    pheno: Any,
    probs: GenoProbs | StoredProbs,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool = True,
    tol: float = 1e-12,
    client: Any = None,
    traits_per_task: int | None = None,
    backend: str | None = None,
    device: str | None = None,
) -> ScanResult:
    """Genome scan with trait chunks on Dask workers: the same as ``scan(..., client=client)``.

    Parameters
    ----------
    pheno, kinship, addcovar, Xcovar, intcovar, weights, reml, tol
        As :func:`~translocus.genetics.scan.scan`.
    probs
        :class:`~translocus.core.model.GenoProbs` (scattered to every worker once) or
        :class:`StoredProbs` (each worker reads the store).
    client
        A ``dask.distributed.Client``; ``None`` uses the current default client.
    traits_per_task
        Traits per task; default: the traits spread evenly over the cluster's worker threads.
    backend, device
        ``None`` runs the CPU scan on the workers; ``"numpy"``/``"torch"`` the array backend
        (as ``scan(backend=...)``).

    Returns
    -------
    ScanResult
        The same result as the single-process scan (traits in the input order).

    Raises
    ------
    InputError
        Bad inputs (as the scan), no client, or ``traits_per_task < 1``.
    """
    model = resolve_spec(pheno, None, reml, "scan_distributed", kinship=kinship,
                         addcovar=addcovar, Xcovar=Xcovar, intcovar=intcovar,
                         weights=weights)  # fmt: skip
    return scan_on_client(model, probs, tol=tol, client=client, traits_per_task=traits_per_task,
                          backend=backend, device=device)  # fmt: skip


def _perm_task(
    pheno: Any,
    probs: GenoProbs | StoredProbs,
    kinship: Any,
    options: dict[str, Any],
    perms: np.ndarray,
) -> pd.DataFrame:
    gp = _resolve_probs(probs)
    return scan_perm(pheno, gp, kinship=kinship, perms=perms, **options).maxlod


def _perm_run(client: Any, model: ModelSpec, probs: GenoProbs | StoredProbs, gp: GenoProbs,
              options: dict[str, Any], strata_in: Any, n_perm: int, perms: Any,
              seed: int | None, per: int | None,
              progress: Callable[[int], None] | None) -> tuple[pd.DataFrame, str]:  # fmt: skip
    prep = prepare(model.phenotypes, gp, kinship=model.kinship, addcovar=model.addcovar,
                   Xcovar=model.Xcovar, intcovar=model.intcovar, weights=model.weights,
                   tol=options["tol"])  # fmt: skip
    n = len(prep.samples)
    if perms is None:
        if int(n_perm) < 1:
            raise InputError("n_perm must be a positive integer")
        strata = strata_codes(strata_in, prep.samples) if strata_in is not None else None
        mat = permutation_matrix(n, int(n_perm), strata=strata, seed=seed)
    else:
        mat = check_perms(np.asarray(perms), n)
    total = mat.shape[1]
    chunk = int(per) if per else math.ceil(total / _n_slots(client))
    probs_f = _share(client, probs)
    kin_f = _share(client, model.kinship)
    pheno_f = _share(client, model.phenotypes)
    options_f = _share(client, options)
    futures = {
        client.submit(_perm_task, pheno_f, probs_f, kin_f, options_f,
                      np.ascontiguousarray(mat[:, s : s + chunk]), pure=False):
            min(chunk, total - s)
        for s in range(0, total, chunk)
    }  # fmt: skip
    if progress is not None:
        from distributed import as_completed

        for done in as_completed(list(futures)):
            progress(futures[done])
    parts: list[pd.DataFrame] = client.gather(list(futures))
    maxlod = pd.concat(parts, ignore_index=True)
    return maxlod, "hk" if prep.kinship is None else "lmm"


def permutations_on_client(
    model: ModelSpec,
    probs: GenoProbs | StoredProbs,
    *,
    n_perm: int,
    perm_strata: Any,
    perm_Xsp: bool,
    chr_lengths: Mapping[str, float] | None,
    perms: np.ndarray | tuple[np.ndarray, np.ndarray] | None,
    seed: int | None,
    tol: float,
    client: Any,
    perms_per_task: int | None = None,
    progress: Callable[[int], None] | None = None,
    backend: Any = "cpu",
    device: str | None = None,
    threads: int | None = None,
    chunk_bytes: int | None = None,
) -> PermutationResult:
    """``scan_perm(..., client=client)``: the permutation matrix in column chunks on workers.

    The matrix is drawn here exactly as ``scan_perm`` draws it, so the same ``seed`` gives the
    same maxima; the workers run ``scan_perm`` on their columns with ``backend``, ``device``,
    ``threads`` and ``chunk_bytes``.
    """
    if perms_per_task is not None and int(perms_per_task) < 1:
        raise InputError(f"perms_per_task={perms_per_task} must be a positive integer")
    shared_probs = _check_probs(probs)
    gp = _resolve_probs(shared_probs)
    client = _get_client(client)
    options = _options(model, tol=tol, backend=backend, device=device, threads=threads,
                       chunk_bytes=chunk_bytes)  # fmt: skip
    strata = default_strata(perm_strata, model.Xcovar)
    if not perm_Xsp:
        maxlod, method = _perm_run(client, model, shared_probs, gp, options, strata, n_perm,
                                   perms, seed, perms_per_task, progress)  # fmt: skip
        maxlod[~np.isfinite(maxlod.to_numpy(dtype=float))] = np.nan
        return PermutationResult(maxlod=maxlod, method=method)
    # X-specific permutations: the same two runs (and seeds) as scan_perm
    auto = [c for c in gp.chromosomes if not gp.is_x(c)]
    xs = [c for c in gp.chromosomes if gp.is_x(c)]
    if not auto or not xs:
        raise InputError("perm_Xsp needs both autosomes and an X chromosome in probs")
    lengths = region_lengths(gp, chr_lengths)
    if lengths["A"] < 1e-12 or lengths["X"] < 1e-12:
        raise InputError("perm_Xsp needs autosomes and X of positive length; skip perm_Xsp")
    n_perm_x = math.ceil(n_perm * lengths["A"] / lengths["X"])
    pa, px = perms if perms is not None else (None, None)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=2)
    gp_a, gp_x = gp.subset(chromosomes=auto), gp.subset(chromosomes=xs)
    res = []
    for sub, chroms, xcov, count, given, sd in (
        (gp_a, auto, None, n_perm, pa, seeds[0]),
        (gp_x, xs, model.Xcovar, n_perm_x, px, seeds[1]),
    ):
        sub_model = replace(model, Xcovar=xcov, kinship=kinship_subset(model.kinship, chroms))
        maxlod, method = _perm_run(client, sub_model, sub, sub, dict(options, Xcovar=xcov),
                                   strata, count, given, int(sd), perms_per_task,
                                   progress)  # fmt: skip
        maxlod[~np.isfinite(maxlod.to_numpy(dtype=float))] = np.nan
        res.append(maxlod)
    return PermutationResult(maxlod=res[0], maxlod_x=res[1], chr_lengths=lengths, method=method)


def permutations_distributed(
    pheno: Any,
    probs: GenoProbs | StoredProbs,
    *,
    kinship: Any = None,
    addcovar: Any = None,
    Xcovar: Any = None,
    intcovar: Any = None,
    weights: Any = None,
    reml: bool = True,
    n_perm: int = 1000,
    perm_strata: Any = None,
    perm_Xsp: bool = False,
    chr_lengths: Mapping[str, float] | None = None,
    perms: np.ndarray | tuple[np.ndarray, np.ndarray] | None = None,
    seed: int | None = None,
    tol: float = 1e-12,
    client: Any = None,
    perms_per_task: int | None = None,
) -> PermutationResult:
    """Permutation maxima on Dask workers: the same as ``scan_perm(..., client=client)``.

    Arguments as :func:`~translocus.genetics.permute.scan_perm`, plus ``client`` (default: the
    current client) and ``perms_per_task`` (default: the permutations spread evenly over the
    worker threads). The permutation matrix is drawn on the client exactly as ``scan_perm``
    draws it, so the same ``seed`` gives the same maxima.

    Raises
    ------
    InputError
        Bad inputs (as ``scan_perm``), no client, or ``perms_per_task < 1``.
    """
    model = resolve_spec(pheno, None, reml, "permutations_distributed", kinship=kinship,
                         addcovar=addcovar, Xcovar=Xcovar, intcovar=intcovar,
                         weights=weights)  # fmt: skip
    return permutations_on_client(model, probs, n_perm=n_perm, perm_strata=perm_strata,
                                  perm_Xsp=perm_Xsp, chr_lengths=chr_lengths, perms=perms,
                                  seed=seed, tol=tol, client=client,
                                  perms_per_task=perms_per_task)  # fmt: skip
