"""Dataset discovery and the licence report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from translocus.core.croissant import CroissantDataset, FileEntry, file_entry, write_croissant
from translocus.core.errors import InputError
from translocus.core.licenses import discover_datasets, license_report, license_table
from translocus.core.provenance import LicensePolicy, Provenance


def _describe(root: Path, folder: str, name: str, license: str) -> CroissantDataset:
    files = tuple(
        file_entry(root, p.relative_to(root).as_posix())
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    )
    return CroissantDataset(provenance=Provenance(name=name, license=license), files=files)


@pytest.fixture()
def data_folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for rel in (
        "open/a.csv",
        "group/inner/b.csv",
        "group/loose.csv",
        "terms/c.csv",
        "own/d.csv",
        "stray/e/f.csv",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x,y\n1,2\n")
    (root / "MANIFEST.md").write_text("# not a dataset\n")
    # a description kept beside the data wins over the catalogue
    own = _describe(root, "own", "own_data", "CC0-1.0")
    write_croissant(own, root / "own" / "metadata.json")
    return root


def _catalog(root: Path) -> list[CroissantDataset]:
    return [
        _describe(root, "open", "open_data", "MIT"),
        _describe(root, "group/inner", "inner", "GPL-3.0-only"),
        _describe(root, "terms", "ad_like", "LicenseRef-AD-Knowledge-Portal-Terms"),
        _describe(root, "own", "catalogue_own", "LicenseRef-x"),
        CroissantDataset(
            provenance=Provenance(name="absent", license="MIT"),
            files=(FileEntry(path="elsewhere/z.csv", encoding_format="text/csv"),),
        ),
    ]


def test_data_folder_is_matched_by_folder(data_folder: Path) -> None:
    entries = discover_datasets(data_folder, catalog=_catalog(data_folder))
    by_name = {e.name: e for e in entries}
    assert set(by_name) == {"open_data", "inner", "ad_like", "own_data", "group", "stray"}
    assert by_name["inner"].folder == (data_folder / "group" / "inner").resolve()
    assert by_name["own_data"].provenance.license == "CC0-1.0"  # own metadata.json wins
    assert not by_name["stray"].described and not by_name["group"].described
    report = license_report(entries).set_index("dataset")
    assert report.loc["open_data", "training"] == "allowed"
    assert report.loc["inner", "training"] == "allowed"
    assert report.loc["own_data", "training"] == "allowed"
    assert report.loc["ad_like", "training"] == "refused"
    assert "LicenseRef-AD-Knowledge-Portal-Terms" in report.loc["ad_like", "reason"]
    for undescribed in ("stray", "group"):
        assert report.loc[undescribed, "training"] == "refused"
        assert report.loc[undescribed, "license"] == "unknown"
        assert "no Croissant metadata" in report.loc[undescribed, "reason"]


def test_report_records_decisions_in_the_policy(data_folder: Path) -> None:
    policy = LicensePolicy(allowed_datasets=frozenset({"ad_like"}))
    entries = discover_datasets(data_folder, catalog=_catalog(data_folder))
    report = license_report(entries, policy, purpose="progression fit").set_index("dataset")
    assert report.loc["ad_like", "training"] == "allowed"
    assert len(policy.log) == len(entries)
    assert {d.purpose for d in policy.log} == {"progression fit"}


def test_single_file_and_folder_of_croissant_files(tmp_path: Path) -> None:
    folder = tmp_path / "meta"
    folder.mkdir()
    for name, lic in (("one", "MIT"), ("two", "LicenseRef-private")):
        meta = CroissantDataset(provenance=Provenance(name=name, license=lic))
        write_croissant(meta, folder / f"{name}.croissant.json")
    entries = discover_datasets(folder)
    assert [e.name for e in entries] == ["one", "two"]
    single = discover_datasets(folder / "two.croissant.json")
    assert [(e.name, e.provenance.license) for e in single] == [("two", "LicenseRef-private")]
    report = license_report(entries)
    assert report["training"].tolist() == ["allowed", "refused"]


def test_bad_paths_and_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        discover_datasets(tmp_path / "absent")
    text = tmp_path / "notes.txt"
    text.write_text("x")
    with pytest.raises(InputError, match="not a Croissant file"):
        discover_datasets(text)
    folder = tmp_path / "d" / "x"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("1\n")
    (folder / "metadata.json").write_text(json.dumps({"@type": "sc:Dataset", "name": "x"}))
    with pytest.raises(InputError, match=r"metadata.json: dataset 'x' has no licence"):
        discover_datasets(tmp_path / "d", catalog=[])


def test_shared_data_uses_the_catalogue(shared_data: Path) -> None:
    entries = discover_datasets(shared_data)
    assert all(e.described for e in entries), [e.name for e in entries if not e.described]
    report = license_report(entries).set_index("dataset")
    assert len(report) == 21
    assert report.loc["model_ad", "training"] == "refused"
    assert report.loc["model_ad", "license"] == "LicenseRef-AD-Knowledge-Portal-Terms"
    assert set(report.index[report["training"] == "refused"]) == {
        "model_ad",
        "DO_Recla",
        "DOex",
        "BXD",
        "B6BTBR",
        "gwas",
        "DO_Gatti2014",
        "CC",
        "ArabMAGIC",
        "Gough",
    }
    table = license_table(report.reset_index())
    assert table.row_count == 21  # type: ignore[attr-defined]
