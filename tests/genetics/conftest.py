"""Shared fixtures for the genetics tests: crosses and R/qtl2 reference outputs.

The DO_Recla cross is rebuilt from the reference folder's ``input_*`` files (the data exactly as
R/qtl2's ``read_cross2`` parsed them), so these tests do not depend on the cross reader.
Other crosses come from :func:`translocus.core.qtl2io.read_cross` when it is available.
Tests skip with a message when the shared data or references are absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.model import Cross
from translocus.core.paths import data_dir, reference_dir

QTL2_REF = reference_dir() / "qtl2"


def ref_path(*parts: str) -> Path:
    """Path of a reference file; skips the test when it is missing."""
    path = QTL2_REF.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"R/qtl2 reference file {path} is not available")
    return path


def read_ref_probs(path: Path) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """A ``genoprob_*``/``alleleprob_*`` reference as ``[marker, ind, state]`` plus names."""
    df = pd.read_csv(path, dtype={"ind": str, "marker": str})
    inds = list(dict.fromkeys(df["ind"]))
    markers = list(dict.fromkeys(df["marker"]))
    states = [c for c in df.columns if c not in ("ind", "marker")]
    values = df[states].to_numpy(dtype=float).reshape(len(markers), len(inds), len(states))
    return values, markers, inds, states


def read_ref_kinship(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"id": str}).set_index("id")
    df.columns = [str(c) for c in df.columns]
    return df


def _split_map(df: pd.DataFrame) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    for chrom, part in df.groupby("chr", sort=False):
        out[str(chrom)] = pd.Series(part["pos"].to_numpy(float), index=part["marker"].to_numpy())
    return out


def load_do_recla_reference_cross() -> Cross:
    """DO_Recla from the R/qtl2 reference inputs (``input_*`` files)."""
    base = QTL2_REF / "DO_Recla"
    files = ["input_geno_int.csv.gz", "input_founder_geno_int.csv", "input_gmap_cM.csv",
             "input_pmap_Mbp.csv", "input_sex_crossinfo.csv"]  # fmt: skip
    for f in files:
        if not (base / f).exists():
            pytest.skip(f"R/qtl2 reference input {base / f} is not available")
    geno = pd.read_csv(base / "input_geno_int.csv.gz", dtype={"id": str}).set_index("id")
    founder = pd.read_csv(base / "input_founder_geno_int.csv").set_index("founder")
    gmap_df = pd.read_csv(base / "input_gmap_cM.csv", dtype={"chr": str, "marker": str})
    pmap_df = pd.read_csv(base / "input_pmap_Mbp.csv", dtype={"chr": str, "marker": str})
    info = pd.read_csv(base / "input_sex_crossinfo.csv", dtype={"id": str}).set_index("id")
    gmap = _split_map(gmap_df)
    pmap = _split_map(pmap_df)
    geno_chr = {c: geno[m.index].to_numpy(dtype=np.int8) for c, m in gmap.items()}
    fg_chr = {c: founder[m.index].to_numpy(dtype=np.int8) for c, m in gmap.items()}
    ids = tuple(str(i) for i in geno.index)
    return Cross(
        crosstype="do",
        individuals=ids,
        geno=geno_chr,
        gmap=gmap,
        pmap=pmap,
        founder_geno=fg_chr,
        is_female=info["is_female"].astype(bool),
        cross_info=info[["ngen"]].astype(int),
        alleles=tuple("ABCDEFGH"),
        x_chr="X",
    )


def read_qtl2_cross(folder: str, name: str) -> Cross:
    """A cross from the shared data folder through the project's reader (skips if absent)."""
    try:
        from translocus.core.qtl2io import read_cross
    except ImportError:
        pytest.skip("translocus.core.qtl2io.read_cross is not available yet")
    path = data_dir() / "qtl2" / folder / name
    if not path.exists():
        pytest.skip(f"shared data file {path} is not available")
    return read_cross(path)


@pytest.fixture(scope="session")
def do_recla_cross() -> Cross:
    return load_do_recla_reference_cross()


# ---- genome-scan fixtures (reference probabilities, kinships and phenotypes) -------------------


@pytest.fixture(scope="session")
def do_ref_probs():
    """DO_Recla allele probabilities of chromosomes 1, 2, 19 and X from R/qtl2."""
    from scan_refs import load_ref_alleleprobs

    return load_ref_alleleprobs("DO_Recla", ["1", "2", "19", "X"])


@pytest.fixture(scope="session")
def do_ref_pheno() -> pd.DataFrame:
    from scan_refs import ref_path

    df = pd.read_csv(ref_path("DO_Recla", "input_pheno.csv"), dtype={"id": str}).set_index("id")
    df.index = [str(i) for i in df.index]
    return df


@pytest.fixture(scope="session")
def do_ref_sex() -> pd.DataFrame:
    """Sex (male = 1), the covariate R/qtl2 used (``covariates_used.csv``)."""
    from scan_refs import ref_path

    df = pd.read_csv(ref_path("DO_Recla", "covariates_used.csv"), dtype={"id": str})
    return pd.DataFrame({"sex": df.iloc[:, 1].to_numpy(float)}, index=df["id"].astype(str))


@pytest.fixture(scope="session")
def do_ref_kinship_loco() -> dict[str, pd.DataFrame]:
    chroms = [str(c) for c in range(1, 20)] + ["X"]
    from scan_refs import read_ref_kinship

    return {c: read_ref_kinship(ref_path("DO_Recla", "kinship_loco", f"chr{c}.csv.gz"))
            for c in chroms}  # fmt: skip


@pytest.fixture(scope="session")
def do_ref_kinship_overall() -> pd.DataFrame:
    from scan_refs import read_ref_kinship

    return read_ref_kinship(ref_path("DO_Recla", "kinship_overall.csv.gz"))


# ---- genotype-probability fixtures ------------------------------------------------------------


@pytest.fixture(scope="session")
def do_recla_genoprob(do_recla_cross: Cross):
    """DO_Recla genotype probabilities, whole genome, with the reference settings."""
    from translocus.genetics.genoprob import calc_genoprob

    return calc_genoprob(do_recla_cross, error_prob=0.002, map_function="c-f")


@pytest.fixture(scope="session")
def do_recla_alleleprob(do_recla_genoprob):
    from translocus.genetics.genoprob import genoprob_to_alleleprob

    return genoprob_to_alleleprob(do_recla_genoprob)


@pytest.fixture(scope="session")
def bxd_cross() -> Cross:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'H' calls are undeclared and read as missing
        return read_qtl2_cross("BXD", "bxd.zip")


@pytest.fixture(scope="session")
def bxd_genoprob(bxd_cross: Cross):
    from translocus.genetics.genoprob import calc_genoprob

    return calc_genoprob(bxd_cross, error_prob=0.002, map_function="c-f")


@pytest.fixture(scope="session")
def qtl2_ref_tools():
    """The reference readers above, for test modules (the import mode hides this module)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        ref_path=ref_path,
        read_ref_probs=read_ref_probs,
        read_ref_kinship=read_ref_kinship,
        read_qtl2_cross=read_qtl2_cross,
    )
