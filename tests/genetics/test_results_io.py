"""Saving, loading and R/qtl2-style CSV export of scan and permutation results.

The CSV layouts are those of R's ``write.csv`` on R/qtl2 0.43-5 objects: ``write.csv(out)`` of a
``scan1`` matrix (markers as row names, one column per trait), a map as ``marker,chr,pos``, and
``write.csv(operm)`` of ``scan1perm`` maxima (row names ``1..n_perm``; with ``perm_Xsp=TRUE``
the ``A`` and ``X`` matrices and the ``chr_lengths`` attribute in three files).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from translocus.core.errors import InputError
from translocus.core.model import GenoProbs
from translocus.genetics import PermutationResult, ScanResult, calc_kinship, scan, scan_perm
from translocus.genetics import results as results_module


def _probs(n: int = 30, seed: int = 0) -> tuple[GenoProbs, list[str]]:
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]

    def chrom(name: str, m: int) -> xr.DataArray:
        return xr.DataArray(
            rng.dirichlet(np.ones(4), size=(m, n)),
            dims=("marker", "sample", "founder"),
            coords={"marker": [f"{name}_{i}" for i in range(m)], "sample": ids,
                    "founder": list("ABCD"), "pos_cM": ("marker", np.arange(m) * 5.0 + 0.25),
                    "pos_Mbp": ("marker", np.arange(m) * 3.1 + 1.0)},
        )  # fmt: skip

    arrays = {"1": chrom("1", 4), "2": chrom("2", 3), "X": chrom("X", 3)}
    return GenoProbs(probs=arrays, crosstype="do", alleles=tuple("ABCD"), kind="allele"), ids


@pytest.fixture(scope="module")
def cross() -> tuple[GenoProbs, pd.DataFrame]:
    probs, ids = _probs()
    rng = np.random.default_rng(1)
    pheno = pd.DataFrame({"BW": rng.normal(size=len(ids)), "Hb,1": rng.normal(size=len(ids)),
                          "flat": 2.0}, index=ids)  # fmt: skip
    pheno.iloc[:4, 1] = np.nan
    return probs, pheno


@pytest.fixture(scope="module")
def hk(cross) -> ScanResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the constant trait is skipped with a warning
        return scan(cross[1], cross[0])


@pytest.fixture(scope="module")
def lmm(cross) -> ScanResult:
    probs, pheno = cross
    return scan(pheno[["BW", "Hb,1"]], probs, kinship=calc_kinship(probs, type="loco"))


@pytest.fixture(scope="module")
def perm_xsp(cross) -> PermutationResult:
    return scan_perm(cross[1][["BW", "Hb,1"]], cross[0], n_perm=4, perm_Xsp=True, seed=3)


def _assert_same_scan(got: ScanResult, want: ScanResult) -> None:
    xr.testing.assert_identical(got.data, want.data)
    assert {k: v.dtype for k, v in got.data.variables.items()} == {
        k: v.dtype for k, v in want.data.variables.items()
    }
    assert got.data.attrs == want.data.attrs
    assert got.skipped == want.skipped


def _assert_same_perm(got: PermutationResult, want: PermutationResult) -> None:
    pd.testing.assert_frame_equal(got.maxlod, want.maxlod)
    if want.maxlod_x is None:
        assert got.maxlod_x is None
    else:
        assert got.maxlod_x is not None
        pd.testing.assert_frame_equal(got.maxlod_x, want.maxlod_x)
    assert got.chr_lengths == want.chr_lengths
    assert got.method == want.method


def test_scan_round_trip_is_lossless(hk, lmm, tmp_path):
    assert hk.skipped == ("flat",)
    assert lmm.hsq is not None
    for name, result in (("hk", hk), ("lmm", lmm)):
        path = result.save(tmp_path / f"{name}.nc")
        _assert_same_scan(ScanResult.load(path), result)


def test_permutation_round_trip_is_lossless(cross, perm_xsp, tmp_path):
    plain = scan_perm(cross[1][["BW"]], cross[0], n_perm=3, seed=2)
    for name, result in (("plain", plain), ("xsp", perm_xsp)):
        path = result.save(tmp_path / f"{name}.nc")
        _assert_same_perm(PermutationResult.load(path), result)
    assert perm_xsp.maxlod_x is not None and perm_xsp.maxlod_x.shape[0] > perm_xsp.n_perm


def test_zarr_is_used_without_a_netcdf_engine(hk, perm_xsp, tmp_path, monkeypatch):
    monkeypatch.setattr(results_module, "_netcdf_engine", lambda: None)
    scan_path = hk.save(tmp_path / "scan.zarr")
    perm_path = perm_xsp.save(tmp_path / "perm.zarr")
    assert scan_path.is_dir() and perm_path.is_dir()
    _assert_same_scan(ScanResult.load(scan_path), hk)
    _assert_same_perm(PermutationResult.load(perm_path), perm_xsp)


def test_load_refuses_other_files(hk, tmp_path):
    path = hk.save(tmp_path / "scan.nc")
    with pytest.raises(InputError, match="not a saved PermutationResult"):
        PermutationResult.load(path)
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(InputError, match="junk.nc"):
        ScanResult.load(tmp_path / "junk.nc")


def test_scan_csv_has_write_csv_layout_and_reads_back(hk, tmp_path):
    lod_path, map_path = hk.to_qtl2_csv(tmp_path / "scan1.csv")
    assert map_path == tmp_path / "scan1_map.csv"
    lines = lod_path.read_text().splitlines()
    assert lines[0] == '"","BW","Hb,1","flat"'
    assert lines[1].startswith('"1_0",') and lines[1].endswith(",NA")
    assert len(lines) == 1 + len(hk.markers)
    back = pd.read_csv(lod_path, index_col=0)
    back.index.name = None
    pd.testing.assert_frame_equal(back, hk.lod)

    assert map_path.read_text().splitlines()[0] == '"marker","chr","pos"'
    gmap = pd.read_csv(map_path, dtype={"marker": str, "chr": str})
    assert gmap["marker"].tolist() == hk.markers
    assert gmap["chr"].tolist() == [str(c) for c in hk.data.coords["chr"].values]
    np.testing.assert_array_equal(gmap["pos"], hk.data.coords["pos_cM"].values)

    _, pmap_path = hk.to_qtl2_csv(tmp_path / "scan1.csv", map_name="pos_Mbp",
                                  map_path=tmp_path / "pmap.csv")  # fmt: skip
    pmap = pd.read_csv(pmap_path)
    np.testing.assert_array_equal(pmap["pos"], hk.data.coords["pos_Mbp"].values)


def test_permutation_csv_layouts_read_back(cross, perm_xsp, tmp_path):
    plain = scan_perm(cross[1][["BW"]], cross[0], n_perm=3, seed=2)
    (path,) = plain.to_qtl2_csv(tmp_path / "operm.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == '"","BW"'
    assert [line.split(",")[0] for line in lines[1:]] == ['"1"', '"2"', '"3"']
    back = pd.read_csv(path, index_col=0).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, plain.maxlod)

    paths = perm_xsp.to_qtl2_csv(tmp_path / "operm.csv")
    assert [p.name for p in paths] == ["operm_A.csv", "operm_X.csv", "operm_chr_lengths.csv"]
    assert perm_xsp.maxlod_x is not None
    for p, table in zip(paths[:2], (perm_xsp.maxlod, perm_xsp.maxlod_x), strict=True):
        assert p.read_text().splitlines()[0] == '"","BW","Hb,1"'
        pd.testing.assert_frame_equal(pd.read_csv(p, index_col=0).reset_index(drop=True), table)
    lengths = pd.read_csv(paths[2], index_col=0)["x"].to_dict()
    assert lengths == perm_xsp.chr_lengths
