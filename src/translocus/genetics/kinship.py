"""Kinship (genetic similarity) matrices from genotype or allele probabilities.

As R/qtl2's ``calc_kinship``: for each chromosome ``S_c[i, j] = sum over positions and alleles
of p_i(a) p_j(a)``, the expected allele sharing, computed as one matrix product per chromosome.

- ``overall``: ``K = sum_c S_c / sum_c n_pos(c)``;
- ``loco``: for each chromosome ``c``, ``K_-c = (sum S - S_c) / (N_pos - n_pos(c))``;
- ``chr``: ``S_c / n_pos(c)``.

No centring or scaling is applied (diagonals lie in [0.5, 1] for DO). Linear mixed models in
R/qtl2 use ``2 K``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> from translocus.genetics.genoprob import calc_genoprob
>>> cross = Cross(crosstype="riself", individuals=("a", "b"),
...               geno={"1": np.array([[1, 1], [1, 2]], dtype=np.int8)},
...               gmap={"1": pd.Series([0.0, 50.0], index=["m1", "m2"])},
...               alleles=("A", "B"), x_chr=None)
>>> k = calc_kinship(calc_genoprob(cross, error_prob=0.0))
>>> k.values.round(3).tolist()
[[1.0, 0.5], [0.5, 1.0]]
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.core.threads import parallel_map, worker_count
from translocus.genetics.genoprob import genoprob_to_alleleprob

__all__ = ["KINSHIP_TYPES", "calc_kinship"]

#: Accepted values of ``type``.
KINSHIP_TYPES: tuple[str, ...] = ("overall", "loco", "chr")


#: Positions per block of the product: a block's transposed copy is small, and the blocks (so
#: the order of the sums) do not depend on the number of threads.
BLOCK_POSITIONS = 512


def _allele_sharing(values: np.ndarray) -> np.ndarray:
    """``[marker, sample, state]`` probabilities -> ``[sample, sample]`` summed cross products.

    One symmetric rank-k update (syrk) per block of :data:`BLOCK_POSITIONS` positions, on the
    BLAS thread of the caller (:func:`calc_kinship` runs chromosomes side by side, each with a
    single-threaded BLAS, so the result does not depend on the number of threads).
    """
    n_pos, n_ind, n_state = values.shape
    total = np.zeros((n_ind, n_ind))
    for start in range(0, n_pos, BLOCK_POSITIONS):
        block = values[start : start + BLOCK_POSITIONS]
        # [position * state, sample] in C order, i.e. [sample, position * state] in Fortran
        # order, the layout in which numpy's symmetric rank-k update is fastest
        columns = np.ascontiguousarray(block.transpose(0, 2, 1), dtype=np.float64)
        columns = columns.reshape(block.shape[0] * n_state, n_ind)
        total += columns.T @ columns
    return total


def _as_dataarray(matrix: np.ndarray, samples: tuple[str, ...], n_pos: int) -> xr.DataArray:
    ids = np.asarray(samples, dtype=object)
    return xr.DataArray(
        matrix,
        dims=("sample", "sample2"),
        coords={"sample": ids, "sample2": ids},
        attrs={"n_pos": int(n_pos)},
        name="kinship",
    )


@overload
def calc_kinship(
    probs: GenoProbs,
    *,
    type: Literal["overall"] = "overall",  # noqa: A002
    omit_x: bool = False,
    use_allele_probs: bool = True,
) -> xr.DataArray: ...


@overload
def calc_kinship(
    probs: GenoProbs,
    *,
    type: Literal["loco", "chr"],  # noqa: A002
    omit_x: bool = False,
    use_allele_probs: bool = True,
) -> dict[str, xr.DataArray]: ...


@overload
def calc_kinship(
    probs: GenoProbs,
    *,
    type: str,  # noqa: A002
    omit_x: bool = False,
    use_allele_probs: bool = True,
) -> xr.DataArray | dict[str, xr.DataArray]: ...


def calc_kinship(
    probs: GenoProbs,
    *,
    type: str = "overall",  # noqa: A002 - the R/qtl2 argument name
    omit_x: bool = False,
    use_allele_probs: bool = True,
) -> xr.DataArray | dict[str, xr.DataArray]:
    """Kinship matrix (or one per chromosome) from genotype probabilities.

    Parameters
    ----------
    probs
        Output of :func:`~translocus.genetics.genoprob.calc_genoprob` (or allele
        probabilities from :func:`~translocus.genetics.genoprob.genoprob_to_alleleprob`).
    type
        ``"overall"`` (one matrix), ``"loco"`` (leave one chromosome out: one matrix per
        chromosome, from all the others) or ``"chr"`` (one matrix per chromosome, from it).
    omit_x
        Leave the X chromosome out of ``overall`` and ``loco`` (its LOCO matrix is then the
        autosomal overall matrix).
    use_allele_probs
        Convert genotype to allele probabilities first (R/qtl2's default).

    Returns
    -------
    xarray.DataArray or dict of str to xarray.DataArray
        ``[sample, sample2]`` symmetric matrices; attribute ``n_pos`` is the number of positions
        averaged over.

    Examples
    --------
    See the module docstring.
    """
    if type not in KINSHIP_TYPES:
        raise InputError(
            f"kinship type={type!r} is not known; use one of {', '.join(KINSHIP_TYPES)}"
        )
    if len(probs) == 0:
        raise InputError("calc_kinship: the genotype probabilities have no chromosomes")
    if use_allele_probs and probs.kind != "allele":
        probs = genoprob_to_alleleprob(probs)
    samples = probs.samples
    for chrom in probs:
        got = tuple(str(s) for s in probs[chrom].coords["sample"].values)
        if got != samples:
            raise InputError(
                f"chromosome {chrom} of the probabilities has different samples from the first "
                "chromosome; subset all chromosomes to the same samples"
            )
    all_chroms = list(probs.chromosomes)
    used = [c for c in all_chroms if not (omit_x and type != "chr" and probs.is_x(c))]
    # chromosomes side by side, largest first, each product on one BLAS thread: a threaded
    # BLAS on these products is slower on a busy machine and rounds by its thread count
    order = sorted(used, key=lambda c: -int(probs[c].sizes["marker"]))
    products = parallel_map(lambda c: _allele_sharing(probs[c].values), order, worker_count())
    sharing = dict(zip(order, products, strict=True))
    n_pos = {c: int(probs[c].sizes["marker"]) for c in used}

    if type == "chr":
        out = {}
        for c in used:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[c] = _as_dataarray(sharing[c] / n_pos[c], samples, n_pos[c])
        return out

    total = np.zeros((len(samples), len(samples)))
    for c in used:
        total += sharing[c]
    total_pos = sum(n_pos.values())
    if total_pos == 0:
        raise InputError("calc_kinship: no positions to average over; check omit_x and the probs")
    if type == "overall":
        return _as_dataarray(total / total_pos, samples, total_pos)
    loco = {}
    for c in all_chroms:
        if c in sharing:
            rest = total_pos - n_pos[c]
            with np.errstate(invalid="ignore", divide="ignore"):
                loco[c] = _as_dataarray((total - sharing[c]) / rest, samples, rest)
        else:
            loco[c] = _as_dataarray(total / total_pos, samples, total_pos)
    return loco
