"""Readers of the R/qtl2 reference files used by the genome-scan tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.paths import reference_dir

QTL2_REF = reference_dir() / "qtl2"


def ref_path(*parts: str) -> Path:
    """Path of a reference file; skips the test when it is missing."""
    path = QTL2_REF.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"R/qtl2 reference file {path} is not available")
    return path


def read_ref_kinship(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"id": str}).set_index("id")
    df.index = [str(i) for i in df.index]
    df.columns = [str(c) for c in df.columns]
    return df


def load_ref_alleleprobs(dataset: str, chromosomes: list[str], *, name: str = "alleleprob",
                         crosstype: str = "do", alleles: tuple[str, ...] = tuple("ABCDEFGH"),
                         x_chr: str | None = "X", positions: pd.DataFrame | None = None):  # fmt: skip
    """GenoProbs built from R/qtl2 ``alleleprob_chr*``/``genoprob_chr*`` reference files.

    Positions come from the reference ``input_gmap_cM``/``input_pmap_Mbp`` tables; the reader
    uses pyarrow's CSV parser (these files are large).
    """
    import pyarrow.csv as pacsv
    import xarray as xr

    from translocus.core.model import GenoProbs

    if positions is not None:  # marker-indexed table with pos_cM / pos_Mbp columns
        gpos = positions["pos_cM"]
        ppos = positions["pos_Mbp"]
    else:
        gmap = pd.read_csv(ref_path(dataset, "input_gmap_cM.csv"),
                           dtype={"chr": str, "marker": str})  # fmt: skip
        pmap = pd.read_csv(ref_path(dataset, "input_pmap_Mbp.csv"),
                           dtype={"chr": str, "marker": str})  # fmt: skip
        gpos = gmap.set_index("marker")["pos"]
        ppos = pmap.set_index("marker")["pos"]
    out = {}
    for chrom in chromosomes:
        path = ref_path(dataset, f"{name}_chr{chrom}.csv.gz")
        opts = pacsv.ConvertOptions(column_types={"ind": "string", "marker": "string"})
        table = pacsv.read_csv(path, convert_options=opts)
        inds = list(dict.fromkeys(table.column("ind").to_pylist()))
        markers = list(dict.fromkeys(table.column("marker").to_pylist()))
        states = [c for c in table.column_names if c not in ("ind", "marker")]
        values = np.column_stack(
            [table.column(s).combine_chunks().to_numpy(zero_copy_only=False) for s in states]
        ).reshape(len(markers), len(inds), len(states))
        out[chrom] = xr.DataArray(
            values,
            dims=("marker", "sample", "founder" if name == "alleleprob" else "genotype"),
            coords={
                "marker": markers,
                "sample": inds,
                "founder" if name == "alleleprob" else "genotype": states,
                "pos_cM": ("marker", gpos.loc[markers].to_numpy(dtype=float)),
                "pos_Mbp": ("marker", ppos.loc[markers].to_numpy(dtype=float)),
            },
        )
    return GenoProbs(probs=out, crosstype=crosstype, alleles=alleles, x_chr=x_chr,
                     kind="allele" if name == "alleleprob" else "genotype")  # fmt: skip


def read_ref_lod(dataset: str, name: str) -> pd.DataFrame:
    """A reference LOD table indexed by marker (columns ``chr, pos_cM, pos_Mbp`` + traits)."""
    df = pd.read_csv(ref_path(dataset, name), dtype={"marker": str, "chr": str})
    return df.set_index("marker")
