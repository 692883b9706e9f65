"""Draws from the joint posterior of the genotypes, as R/qtl2's ``sim_geno``.

For each chromosome and individual, :func:`sim_geno` draws whole genotype paths along the
chromosome given all its marker data, on the hidden Markov model of
:func:`~translocus.genetics.genoprob.calc_genoprob` (same cross-type models, same
emission, prior and transition probabilities): forward filtering, then backward sampling.
Over many draws, the share of draws with genotype ``g`` at a position converges to the
genotype probability there, and the share of adjacent pairs ``(g, h)`` to the HMM's
two-locus probability. Draws are R/qtl2's integer codes: ``k`` is the ``k``-th genotype
of the chromosome's list (1-based).

Examples
--------
Fully informative backcross markers leave nothing to draw:

>>> import numpy as np, pandas as pd
>>> from translocus.core.model import Cross
>>> cross = Cross(crosstype="bc", individuals=("a", "b"),
...               geno={"1": np.array([[1, 1, 2], [2, 2, 2]], dtype=np.int8)},
...               gmap={"1": pd.Series([0.0, 10.0, 20.0], index=["m1", "m2", "m3"])},
...               alleles=("A", "B"), x_chr=None)
>>> draws = sim_geno(cross, n_draws=3, error_prob=0.0, seed=1)
>>> draws["1"].dims, draws["1"].shape
(('draw', 'marker', 'sample'), (3, 3, 2))
>>> draws["1"].sel(sample="b").values.tolist()
[[2, 2, 2], [2, 2, 2], [2, 2, 2]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import Cross
from translocus.genetics._simgeno_numba import sample_paths_dense
from translocus.genetics.genoprob import (
    _threads,
    check_codes,
    hmm_setup,
    individual_groups,
    marker_layout,
)

__all__ = ["GenotypeDraws", "sim_geno"]

#: Uniform numbers held at once per chromosome (8 bytes each): draws are made in blocks of
#: this many numbers. The block size depends on the data only, so draws depend on the seed
#: and never on ``cores``.
_UNIFORMS_PER_BLOCK = 4_000_000


@dataclass(frozen=True)
class GenotypeDraws:
    """Genotype paths drawn from their joint posterior, chromosome by chromosome.

    Attributes
    ----------
    draws
        Per chromosome an ``xr.DataArray`` ``[draw, marker, sample]`` of integer codes: ``k``
        is the ``k``-th name of ``genotypes[chrom]`` (1-based), as R/qtl2's ``sim_geno``.
        ``marker`` carries ``pos_cM``.
    crosstype, alleles, x_chr
        As the cross the draws were made for.
    genotypes
        Per chromosome the genotype names, in R/qtl2's order.
    """

    draws: Mapping[str, xr.DataArray]
    crosstype: str
    alleles: tuple[str, ...]
    x_chr: str | None
    genotypes: Mapping[str, tuple[str, ...]]

    def __getitem__(self, chrom: str) -> xr.DataArray:
        return self.draws[chrom]

    @property
    def chromosomes(self) -> tuple[str, ...]:
        """Chromosome names, in order."""
        return tuple(self.draws)

    def frequencies(self, chrom: str) -> xr.DataArray:
        """Share of the draws with each genotype, ``[marker, sample, genotype]`` float64.

        Converges to the genotype probabilities of
        :func:`~translocus.genetics.genoprob.calc_genoprob` as the number of draws grows.
        """
        arr = self.draws[chrom]
        values = arr.values
        names = self.genotypes[chrom]
        n_draws = max(values.shape[0], 1)
        freq = np.stack([(values == k + 1).sum(axis=0) / n_draws for k in range(len(names))], -1)
        coords = {k: v for k, v in arr.coords.items() if k != "draw"}
        return xr.DataArray(
            freq,
            dims=("marker", "sample", "genotype"),
            coords={**coords, "genotype": pd.Index(list(names), dtype=object, name="genotype")},
            name=f"draw_frequency_{chrom}",
        )


def sim_geno(
    cross: Cross,
    *,
    n_draws: int = 1,
    error_prob: float = 1e-4,
    map_function: str = "haldane",
    step: float = 0.0,
    off_end: float = 0.0,
    stepwidth: str = "fixed",
    chromosomes: Sequence[str] | None = None,
    seed: int | None = None,
    cores: int | None = None,
) -> GenotypeDraws:
    """Draw genotype paths from their joint posterior given the marker data (R/qtl2 ``sim_geno``).

    Parameters
    ----------
    cross
        The cross; every cross type :func:`~translocus.genetics.genoprob.calc_genoprob`
        supports.
    n_draws
        Number of paths drawn per individual and chromosome (>= 1).
    error_prob
        Genotyping error probability, in ``[0, 1)`` (R/qtl2's default ``1e-4``).
    map_function
        ``"haldane"`` (R/qtl2's default), ``"kosambi"``, ``"c-f"`` or ``"morgan"``.
    step, off_end, stepwidth
        Pseudomarker grid (see :func:`~translocus.genetics.genoprob.insert_pseudomarkers`);
        ``step=0`` means markers only.
    chromosomes
        Subset of chromosomes, in the order given; default all.
    seed
        Seed of the random numbers (``numpy.random.SeedSequence``); each chromosome draws
        from its own stream, so a chromosome's draws do not depend on which others are
        drawn. ``None`` takes fresh entropy.
    cores
        Number of threads; default numba's setting. Draws do not depend on it.

    Returns
    -------
    GenotypeDraws
        Per chromosome ``[draw, marker, sample]`` integer codes (int8, or int16 where a
        chromosome has more than 127 genotypes).

    Notes
    -----
    The draws agree with R/qtl2's in distribution, not draw by draw: R/qtl2 draws its
    uniform numbers from R's generator.

    Examples
    --------
    See the module docstring.
    """
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise InputError(f"n_draws={n_draws!r} must be a whole number >= 1")
    model, chroms, is_female, cross_info, alleles = hmm_setup(
        cross, error_prob=error_prob, map_function=map_function, chromosomes=chromosomes
    )
    streams = dict(
        zip(
            [str(c) for c in cross.chromosomes],
            np.random.SeedSequence(seed).spawn(len(cross.chromosomes)),
            strict=True,
        )
    )
    samples = pd.Index(list(cross.individuals), dtype=object, name="sample")
    out: dict[str, xr.DataArray] = {}
    names: dict[str, tuple[str, ...]] = {}
    with _threads(cores):
        for chrom in chroms:
            layout = marker_layout(
                cross, chrom, step=float(step), off_end=float(off_end),
                stepwidth=stepwidth, map_function=map_function,
            )  # fmt: skip
            geno = np.ascontiguousarray(cross.geno[chrom], dtype=np.int8)
            if geno.shape != (len(samples), len(cross.gmap[chrom])):
                raise InputError(
                    f"genotypes of chromosome {chrom} have shape {geno.shape}, expected "
                    f"({len(samples)} individuals, {len(cross.gmap[chrom])} markers in the "
                    "map); fix the genotype file"
                )
            check_codes(geno, chrom)
            is_x = model.handles_x and cross.is_x(chrom)
            genotype_names = tuple(model.genotype_names(alleles, is_x))
            dtype = np.int8 if len(genotype_names) < 128 else np.int16
            n_pos = len(layout.positions)
            draws = np.zeros((int(n_draws), n_pos, len(samples)), dtype=dtype)
            if n_pos > 0 and len(samples) > 0:
                _draw_chromosome(
                    cross, chrom, model, layout, geno, is_x, is_female, cross_info,
                    float(error_prob), np.random.default_rng(streams[chrom]), draws,
                )  # fmt: skip
            coords: dict[str, Any] = {
                "draw": np.arange(int(n_draws)),
                "marker": pd.Index(layout.positions.index, dtype=object, name="marker"),
                "pos_cM": ("marker", layout.positions.to_numpy(dtype=float)),
                "sample": samples,
            }
            out[chrom] = xr.DataArray(
                draws, dims=("draw", "marker", "sample"), coords=coords, name=f"draws_{chrom}"
            )
            names[chrom] = genotype_names
    x_chr = cross.x_chr if model.handles_x else None
    return GenotypeDraws(out, cross.crosstype, alleles, x_chr, names)


def _draw_chromosome(  # noqa: PLR0913
    cross: Cross,
    chrom: str,
    model: Any,
    layout: Any,
    geno: np.ndarray,
    is_x: bool,
    is_female: np.ndarray,
    cross_info: np.ndarray,
    error_prob: float,
    rng: np.random.Generator,
    draws: np.ndarray,
) -> None:
    """Fill ``draws`` ``[draw, position, individual]`` for one chromosome."""
    founder = None
    if cross.founder_geno is not None and chrom in cross.founder_geno:
        founder = np.asarray(cross.founder_geno[chrom])
    keys: list[tuple[object, ...]]
    if is_x:
        keys = [(bool(f), tuple(c)) for f, c in zip(is_female, cross_info.tolist(), strict=True)]
    else:
        keys = [((), tuple(c)) for c in cross_info.tolist()]
    tables = []
    for _key, rows in individual_groups(keys):
        args = {"is_x": is_x, "is_female": bool(is_female[rows[0]]),
                "cross_info": cross_info[rows[0]]}  # fmt: skip
        poss = np.asarray(model.possible(**args), dtype=np.int64)
        emit = model.emission(error_prob=error_prob, founder_geno=founder,
                              n_markers=geno.shape[1], **args)  # fmt: skip
        tables.append(
            (
                rows,
                np.ascontiguousarray(emit[:, :, poss]),
                np.ascontiguousarray(model.init(**args)[poss]),
                np.ascontiguousarray(model.transition(layout.rf, **args)[:, poss][:, :, poss]),
                poss,
            )
        )
    n_draws, n_pos, n_ind = draws.shape
    block = max(1, _UNIFORMS_PER_BLOCK // (n_pos * n_ind))
    for start in range(0, n_draws, block):
        stop = min(n_draws, start + block)
        uniforms = rng.random((n_ind, stop - start, n_pos))
        part = np.zeros((stop - start, n_pos, n_ind), dtype=draws.dtype)
        for rows, emit, init, trans, poss in tables:
            sample_paths_dense(
                geno, rows, layout.marker_index, emit, init, trans, uniforms, part, poss
            )
        draws[start:stop] = part
