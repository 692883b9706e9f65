"""R/qtl2 input files: every shared dataset, round trips, and each kind of bad input."""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from translocus.core.errors import InputError
from translocus.core.qtl2io import UndeclaredGenotypeWarning, read_cross, write_cross

DATASETS = {
    "DO_Recla": "DO_Recla/recla.zip",
    "DOex": "DOex/DOex.zip",
    "BXD": "BXD/bxd.zip",
    "B6BTBR": "B6BTBR/b6btbr.zip",
    "iron": "iron/iron.zip",
    "grav2": "grav2/grav2.zip",
}


def _read(path: Path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndeclaredGenotypeWarning)
        return read_cross(path, **kwargs)


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_dataset_matches_rqtl2_summary(dataset, shared_data, qtl2_ref):
    """Sizes agree with R/qtl2 0.43-5 (`scripts/00_data_summary.R` → datasets_summary.csv)."""
    ref = pd.read_csv(qtl2_ref / "datasets_summary.csv").set_index("dataset").loc[dataset]
    cross = _read(shared_data / "qtl2" / DATASETS[dataset])
    both, _ = cross.pheno_individuals_in_geno()
    assert cross.crosstype == ref.crosstype
    assert cross.n_individuals == ref.n_ind_geno
    assert cross.pheno.shape[0] == ref.n_ind_pheno
    assert len(both) == ref.n_ind_both
    assert len(cross.chromosomes) == ref.n_chr
    assert cross.n_markers == ref.n_markers
    assert cross.n_phenotypes == ref.n_pheno
    assert cross.n_covariates == ref.n_covar
    assert cross.n_founders == (0 if pd.isna(ref.n_founders) else ref.n_founders)
    assert (cross.pmap is not None) == bool(ref.has_pmap)


def test_do_recla_inputs_equal_rqtl2_parsed_inputs(shared_data, qtl2_ref):
    """Genotype codes, maps, sex and ngen equal what read_cross2 parsed (input_*.csv)."""
    cross = _read(shared_data / "qtl2" / DATASETS["DO_Recla"])
    ref_dir = qtl2_ref / "DO_Recla"
    geno_ref = pd.read_csv(ref_dir / "input_geno_int.csv.gz", index_col=0)
    geno_ref.index = geno_ref.index.astype(str)
    ours = np.concatenate([cross.geno[c] for c in cross.chromosomes], axis=1)
    ours_df = pd.DataFrame(ours, index=list(cross.individuals), columns=cross.marker_names)
    common = [m for m in geno_ref.columns if m in ours_df.columns]
    assert len(common) == geno_ref.shape[1]
    np.testing.assert_array_equal(
        ours_df.loc[geno_ref.index, common].to_numpy(), geno_ref.fillna(0).to_numpy()
    )
    gmap_ref = pd.read_csv(ref_dir / "input_gmap_cM.csv")
    ours_gmap = pd.concat(list(cross.gmap.values()))
    np.testing.assert_allclose(
        ours_gmap.loc[gmap_ref.iloc[:, 0]].to_numpy(), gmap_ref.iloc[:, -1].to_numpy()
    )
    sex_ref = pd.read_csv(ref_dir / "input_sex_crossinfo.csv", index_col=0)
    sex_ref.index = sex_ref.index.astype(str)
    assert (cross.is_female.loc[sex_ref.index].to_numpy() == sex_ref["is_female"].to_numpy()).all()
    assert (cross.cross_info.loc[sex_ref.index, "ngen"].to_numpy() == sex_ref["ngen"]).all()


def test_bxd_heterozygous_calls_become_missing_with_a_warning(shared_data):
    with pytest.warns(UndeclaredGenotypeWarning, match="bxd_geno.csv.*'H'.*set to missing"):
        cross = read_cross(shared_data / "qtl2" / "BXD" / "bxd.zip")
    assert set(np.unique(np.concatenate([g.ravel() for g in cross.geno.values()]))) <= {0, 1, 2}


def test_json_folder_and_zip_give_the_same_cross(shared_data):
    folder = _read(shared_data / "qtl2" / "DOex" / "DOex.json")
    zipped = _read(shared_data / "qtl2" / "DOex" / "DOex.zip")
    _assert_same(folder, zipped)


def _assert_same(a, b):
    assert a.crosstype == b.crosstype
    assert a.individuals == b.individuals
    assert a.chromosomes == b.chromosomes
    for c in a.chromosomes:
        np.testing.assert_array_equal(a.geno[c], b.geno[c])
        pd.testing.assert_series_equal(a.gmap[c], b.gmap[c], check_names=False)
        if a.pmap is not None:
            pd.testing.assert_series_equal(a.pmap[c], b.pmap[c], check_names=False)
        if a.founder_geno is not None:
            np.testing.assert_array_equal(a.founder_geno[c], b.founder_geno[c])
    pd.testing.assert_frame_equal(a.pheno, b.pheno, check_names=False)
    pd.testing.assert_frame_equal(a.covar, b.covar, check_names=False, check_dtype=False)
    pd.testing.assert_series_equal(a.is_female, b.is_female, check_names=False)
    pd.testing.assert_frame_equal(a.cross_info, b.cross_info, check_names=False)
    assert a.alleles == b.alleles
    assert a.founders == b.founders
    assert dict(a.genotypes) == dict(b.genotypes)


@pytest.mark.parametrize("dataset", ["DOex", "iron", "grav2"])
def test_write_cross_round_trip(dataset, shared_data, tmp_path):
    original = _read(shared_data / "qtl2" / DATASETS[dataset])
    control = write_cross(original, tmp_path / "out", name=dataset.lower())
    _assert_same(original, _read(control))


# --------------------------------------------------------------------------------------
# Bad input: each gives one clear sentence naming the file, the row/column and the fix.
# --------------------------------------------------------------------------------------
@pytest.fixture
def doex_dir(shared_data, tmp_path) -> Path:
    src = shared_data / "qtl2" / "DOex"
    dst = tmp_path / "DOex"
    dst.mkdir()
    for name in src.iterdir():
        if name.suffix in (".csv", ".json"):
            shutil.copy(name, dst / name.name)
    return dst


def _edit_control(folder: Path, **changes):
    path = folder / "DOex.json"
    control = json.loads(path.read_text())
    control.update(changes)
    path.write_text(json.dumps(control))
    return path


def _header(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line and not line.startswith("#"))


def _edit_csv(path: Path, old: str, new: str, count: int = 1):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, count))


def test_missing_file(doex_dir):
    (doex_dir / "DOex_pheno.csv").unlink()
    with pytest.raises(
        InputError, match=r"DOex_pheno.csv: file named in the control file does not"
    ):
        read_cross(doex_dir / "DOex.json")


def test_unknown_crosstype(doex_dir):
    path = _edit_control(doex_dir, crosstype="xyz")
    with pytest.raises(InputError, match=r"crosstype 'xyz' is not supported; use one of"):
        read_cross(path)


def test_undeclared_genotype_code_is_an_error_when_strict(doex_dir):
    _edit_csv(doex_dir / "DOex_geno.csv", ",A,", ",Q,")
    with pytest.raises(InputError, match=r"DOex_geno.csv, individual .* genotype code 'Q' is not"):
        read_cross(doex_dir / "DOex.json", undeclared_genotypes="error")
    with pytest.warns(UndeclaredGenotypeWarning):
        read_cross(doex_dir / "DOex.json")


def test_duplicate_individual(doex_dir):
    lines = (doex_dir / "DOex_pheno.csv").read_text().splitlines()
    lines.append(lines[_header(lines) + 1])
    (doex_dir / "DOex_pheno.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"DOex_pheno.csv: duplicate ID .* must be unique"):
        read_cross(doex_dir / "DOex.json")


def test_duplicate_marker_in_map(doex_dir):
    lines = (doex_dir / "DOex_gmap.csv").read_text().splitlines()
    lines.append(lines[3])
    (doex_dir / "DOex_gmap.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"DOex_gmap.csv: (marker|duplicate ID)"):
        read_cross(doex_dir / "DOex.json")


def test_pheno_individuals_absent_from_geno(doex_dir):
    lines = (doex_dir / "DOex_pheno.csv").read_text().splitlines()
    header = _header(lines)
    first = lines[header + 1].split(",")
    lines.append(",".join(["ghost-1", *first[1:]]))
    (doex_dir / "DOex_pheno.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"1 phenotyped individual is not in the genotype file"):
        read_cross(doex_dir / "DOex.json")
    cross = read_cross(doex_dir / "DOex.json", individuals="intersection")
    assert "ghost-1" not in cross.pheno.index


def test_non_numeric_phenotype(doex_dir):
    text = (doex_dir / "DOex_pheno.csv").read_text().splitlines()
    header = _header(text)
    row = text[header + 2].split(",")
    row[1] = "abc"
    text[header + 2] = ",".join(row)
    (doex_dir / "DOex_pheno.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(
        InputError, match=r"DOex_pheno.csv, column .*: 1 value is not a number \(rows"
    ):
        read_cross(doex_dir / "DOex.json")


def test_marker_in_geno_absent_from_map(doex_dir):
    lines = (doex_dir / "DOex_gmap.csv").read_text().splitlines()
    header = _header(lines)
    removed = lines.pop(header + 1).split(",")[0]
    (doex_dir / "DOex_gmap.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"absent from the genetic map .*{removed}"):
        read_cross(doex_dir / "DOex.json")


def test_map_out_of_order(doex_dir):
    lines = (doex_dir / "DOex_gmap.csv").read_text().splitlines()
    header = _header(lines)
    lines[header + 1], lines[header + 5] = lines[header + 5], lines[header + 1]
    (doex_dir / "DOex_gmap.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"sort the map by position within each chromosome"):
        read_cross(doex_dir / "DOex.json")


def test_truncated_zip(shared_data, tmp_path):
    data = (shared_data / "qtl2" / "DOex" / "DOex.zip").read_bytes()
    bad = tmp_path / "DOex.zip"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"DOex.zip: .*damaged or truncated"):
        read_cross(bad)


def test_zip_member_truncated(shared_data, tmp_path):
    src = shared_data / "qtl2" / "DOex" / "DOex.zip"
    out = tmp_path / "DOex.zip"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
    data = bytearray(out.read_bytes())
    # corrupt compressed payload of a member, keeping the central directory
    data[200:400] = b"\x00" * 200
    out.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"damaged or truncated"):
        read_cross(out)


def test_invalid_control_file(doex_dir):
    (doex_dir / "DOex.json").write_text('{"crosstype": "do", "geno": ')
    with pytest.raises(InputError, match=r"DOex.json: the control file is not valid JSON"):
        read_cross(doex_dir / "DOex.json")
    (doex_dir / "DOex.json").unlink()
    (doex_dir / "DOex.yaml").write_text("crosstype: do\ngeno: [unclosed\n")
    with pytest.raises(InputError, match=r"DOex.yaml: the control file is not valid YAML"):
        read_cross(doex_dir / "DOex.yaml")


def test_write_cross_leaves_previous_output_on_failure(shared_data, tmp_path, monkeypatch):
    cross = _read(shared_data / "qtl2" / "iron" / "iron.zip")
    out = tmp_path / "out"
    control = write_cross(cross, out, name="iron")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_cross(cross, out, name="iron")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert control.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_write_cross_never_replaces_a_folder_of_other_files(shared_data, tmp_path):
    cross = _read(shared_data / "qtl2" / "iron" / "iron.zip")
    (tmp_path / "notes.txt").write_text("my notes")
    with pytest.raises(InputError, match=r"not empty and holds no earlier 'iron.json'"):
        write_cross(cross, tmp_path, name="iron")
    assert (tmp_path / "notes.txt").read_text() == "my notes"


def test_shared_crosses_carry_their_catalogued_licence(shared_data):
    cross = _read(shared_data / "qtl2" / "iron" / "iron.zip")
    assert cross.provenance.name == "iron"
    assert cross.provenance.license == "GPL-3.0-only"


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from translocus.core.atomic import atomic_write_text

    atomic_write_text(tmp_path / "a.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_map_columns_are_read_by_position_as_r_qtl2_does(shared_data: Path) -> None:
    """The published CC files name the position column ``Mbp_mm10``; R/qtl2 ignores map
    headers and reads marker, chromosome and position by column. The data manifest
    describes the panel: 69 lines (risib8), 110,054 markers."""
    cross = read_cross(shared_data / "qtl2" / "CC" / "cc.zip")
    assert cross.crosstype == "risib8"
    assert len(cross.individuals) == 69
    assert sum(cross.markers_per_chromosome()) == 110_054
    assert cross.pmap is not None
    assert 3.0 < float(cross.pmap["1"].iloc[0]) < 4.0  # chr 1 starts near 3 Mbp on mm10


def _replace_in_rows(path: Path, rows: list[int], old: str, new: str) -> list[tuple[str, str]]:
    """Replace the first ``old`` in each of the data ``rows``; (row ID, column name) of each."""
    lines = path.read_text().splitlines()
    head = _header(lines)
    columns = lines[head].split(",")
    where = []
    for row in rows:
        cells = lines[head + 1 + row].split(",")
        col = cells.index(old, 1)
        cells[col] = new
        lines[head + 1 + row] = ",".join(cells)
        where.append((cells[0], columns[col]))
    path.write_text("\n".join(lines) + "\n")
    return where


def test_genotypes_coded_in_chunks_as_in_one_read(doex_dir, shared_data, monkeypatch):
    """Genotype files are coded a few rows at a time (a GigaMUGA-size file is never held as
    strings): the codes equal one read's for a plain and a transposed file, the undeclared
    calls of every chunk are counted in one warning naming the first, and a strict read names
    the individual and the marker of a transposed file's call."""
    from translocus.core import qtl2io

    whole = _read(doex_dir / "DOex.json")
    where = _replace_in_rows(doex_dir / "DOex_geno.csv", [0, 100, 200], "A", "Q")
    monkeypatch.setattr(qtl2io, "_CHUNK_CELLS", 50)  # one row per chunk
    pattern = rf"individual '{where[0][0]}', column '{where[0][1]}': .*3 undeclared call\(s\) \(Q\)"
    with pytest.warns(UndeclaredGenotypeWarning, match=pattern):
        chunked = read_cross(doex_dir / "DOex.json")
    ours = np.concatenate([chunked.geno[c] for c in chunked.chromosomes], axis=1)
    before = np.concatenate([whole.geno[c] for c in whole.chromosomes], axis=1)
    changed = np.argwhere(ours != before)
    rows = {ind: i for i, ind in enumerate(chunked.individuals)}
    cols = {m: j for j, m in enumerate(chunked.marker_names)}
    assert sorted(map(tuple, changed)) == sorted((rows[i], cols[m]) for i, m in where)
    assert (before[tuple(changed.T)] == 1).all() and (ours[tuple(changed.T)] == 0).all()
    for chrom in whole.chromosomes:
        np.testing.assert_array_equal(chunked.founder_geno[chrom], whole.founder_geno[chrom])

    shutil.copy(shared_data / "qtl2" / "DOex" / "DOex_geno.csv", doex_dir)
    ((marker, founder),) = _replace_in_rows(doex_dir / "DOex_foundergeno.csv", [5], "A", "Q")
    with pytest.raises(
        InputError, match=rf"DOex_foundergeno.csv, founder '{founder}', column '{marker}'"
    ):
        read_cross(doex_dir / "DOex.json", undeclared_genotypes="error")
