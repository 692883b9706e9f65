"""Croissant metadata: writing, reading, the shipped catalogue, and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from translocus.core.croissant import (
    CroissantDataset,
    FileEntry,
    file_entry,
    from_jsonld,
    normalise_license,
    read_croissant,
    to_jsonld,
    validate_croissant,
    write_croissant,
)
from translocus.core.errors import InputError
from translocus.core.provenance import Provenance
from translocus.datasets import (
    catalog_files,
    dataset_folder,
    dataset_metadata,
    dataset_provenance,
    list_datasets,
)
from translocus.datasets.build import describe_entry, parse_manifest


def _toy(tmp_path: Path) -> CroissantDataset:
    folder = tmp_path / "data" / "toy"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("id,value\n1,2.5\n2,3.5\n")
    entry = file_entry(tmp_path / "data", "toy/a.csv")
    return CroissantDataset(
        provenance=Provenance(
            name="toy",
            license="CC-BY-4.0",
            source="example/toy @ abc1234",
            citation="Doe 2024",
            retrieved="2026-01-02",
            usage_terms="cite Doe 2024",
            description="A toy table",
        ),
        files=(entry,),
        url="https://github.com/example/toy",
        version="1.0.0+abc1234",
    )


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    meta = _toy(tmp_path)
    path = write_croissant(meta, tmp_path / "toy.croissant.json")
    back = read_croissant(path)
    assert back.provenance == meta.provenance
    assert back.files == meta.files
    assert (back.url, back.version, back.commit, back.folder) == (
        meta.url,
        "1.0.0+abc1234",
        "abc1234",
        "toy",
    )
    entry = back.files[0]
    content = (tmp_path / "data" / "toy" / "a.csv").read_bytes()
    assert entry.sha256 == hashlib.sha256(content).hexdigest()
    assert entry.size == len(content)
    assert entry.encoding_format == "text/csv"
    doc = json.loads(path.read_text())
    assert doc["@type"] == "sc:Dataset"
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert doc["distribution"][0]["@type"] == "cr:FileObject"
    assert doc["license"] == "CC-BY-4.0" and doc["citeAs"] == "Doe 2024"
    # the dataset's folder is found beside the Croissant file (relative contentUrl)
    assert back.resolve_folder() is None
    assert back.resolve_folder(tmp_path / "data") == (tmp_path / "data" / "toy").resolve()


def test_mlcroissant_validates_what_we_write(tmp_path: Path) -> None:
    path = write_croissant(_toy(tmp_path), tmp_path / "data" / "toy.croissant.json")
    issues = validate_croissant(path)
    assert not [i for i in issues if i.startswith("error")], issues


def test_missing_licence_is_one_clear_error(tmp_path: Path) -> None:
    doc = to_jsonld(_toy(tmp_path))
    del doc["license"]
    path = tmp_path / "nolicence.croissant.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        read_croissant(path)
    message = str(info.value)
    assert str(path) in message
    assert "'toy' has no licence" in message
    assert 'add a "license" property' in message
    assert "\n" not in message


def test_other_bad_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_croissant(broken)
    with pytest.raises(InputError, match="no such Croissant file"):
        read_croissant(tmp_path / "absent.json")
    with pytest.raises(InputError, match="not sc:Dataset"):
        from_jsonld({"@type": "cr:RecordSet", "name": "x", "license": "MIT"})
    with pytest.raises(InputError, match='no "name"'):
        from_jsonld({"@type": "sc:Dataset", "license": "MIT"})


def test_licence_forms_are_normalised_to_spdx() -> None:
    assert normalise_license("https://spdx.org/licenses/GPL-3.0-only.html") == "GPL-3.0-only"
    assert normalise_license("https://creativecommons.org/licenses/by/4.0/") == "CC-BY-4.0"
    assert normalise_license({"@id": "https://spdx.org/licenses/MIT"}) == "MIT"
    assert normalise_license(["MIT", "CC0-1.0"]) == "MIT AND CC0-1.0"
    assert normalise_license(["MIT OR Apache-2.0", "CC0-1.0"]) == "(MIT OR Apache-2.0) AND CC0-1.0"
    assert normalise_license(None) == ""
    # unknown URLs stay as they are, so the licence gate refuses them
    assert normalise_license("https://example.org/terms") == "https://example.org/terms"
    meta = from_jsonld({"@type": "sc:Dataset", "sc:name": "x", "https://schema.org/license": "MIT"})
    assert (meta.name, meta.provenance.license) == ("x", "MIT")


# -- the catalogue of the shared datasets --------------------------------------------------

EXPECTED_LICENCES = {
    "DO_Recla": "NOASSERTION",
    "DOex": "NOASSERTION",
    "BXD": "NOASSERTION",
    "B6BTBR": "NOASSERTION",
    "iron": "GPL-3.0-only",
    "grav2": "GPL-3.0-only",
    "model_ad": "LicenseRef-AD-Knowledge-Portal-Terms",
    "slam": "MIT",
    "itp": "GPL-3.0-only",
    "pdxe": "GPL-3.0-only",
    "xeva_brca": "GPL-3.0-only",
    "jax_format": "GPL-3.0-only",
    "iowa": "GPL-3.0-only",
    "orthology": "MIT",
    "genes": "GPL-3.0-only",
    "gwas": "NOASSERTION",
    "DO_Gatti2014": "NOASSERTION",
    "CC": "NOASSERTION",
    "ArabMAGIC": "NOASSERTION",
    "Gough": "NOASSERTION",
    "variants": "GPL-3.0-only",
}


def test_catalogue_has_one_file_per_dataset_with_manifest_licence() -> None:
    assert sorted(list_datasets()) == sorted(EXPECTED_LICENCES)
    for name, licence in EXPECTED_LICENCES.items():
        assert dataset_provenance(name).license == licence, name
    ad = dataset_metadata("model_ad")
    assert ad.commit == "d4f21ca"
    assert ad.url == "https://github.com/Sage-Bionetworks/magora/tree/d4f21ca"
    assert "AD Knowledge Portal" in ad.provenance.usage_terms
    assert ad.provenance.citation.startswith("Forner et al. 2021")
    assert dataset_metadata("DOex").provenance.citation.startswith("Recla et al. 2014")
    assert dataset_metadata("DO_Recla").folder == "qtl2/DO_Recla"
    assert dataset_folder("slam", root=Path("/data")) == Path("/data/slam")
    with pytest.raises(InputError, match="unknown dataset 'nope'"):
        dataset_provenance("nope")
    # the catalogue describes the data, it does not copy it
    assert sum(p.stat().st_size for p in catalog_files()) < 1_000_000


def test_catalogue_matches_the_data_and_the_manifest(shared_data: Path) -> None:
    entries = {e.name: e for e in parse_manifest(shared_data / "MANIFEST.md")}
    assert set(entries) == set(EXPECTED_LICENCES)
    for name in ("model_ad", "DOex", "slam"):
        meta = dataset_metadata(name)
        fresh = describe_entry(entries[name], shared_data, retrieved="x", checksum=False)
        assert [f.path for f in meta.files] == [f.path for f in fresh.files]
        assert [f.size for f in meta.files] == [f.size for f in fresh.files]
        assert meta.provenance.license == fresh.provenance.license
    small = min(dataset_metadata("DOex").files, key=lambda f: f.size or 0)
    digest = hashlib.sha256((shared_data / small.path).read_bytes()).hexdigest()
    assert small.sha256 == digest


def test_manifest_parser_on_a_small_table(tmp_path: Path) -> None:
    manifest = tmp_path / "MANIFEST.md"
    manifest.write_text(
        "| folder | what | rows / size | source (repository @ commit, or package) "
        "| licence | citation |\n|---|---|---|---|---|---|\n"
        "| a/x, a/y | two | 1 | owner/repo @ 0123abc | MIT OR Apache-2.0 (package) | P 2020 |\n"
        "| b | other | 2 | PyPI `pkg` 1.2 | LicenseRef-Terms (data: ask) | as above |\n"
    )
    entries = parse_manifest(manifest)
    assert [(e.name, e.folder, e.license) for e in entries] == [
        ("x", "a/x", "MIT OR Apache-2.0"),
        ("y", "a/y", "MIT OR Apache-2.0"),
        ("b", "b", "LicenseRef-Terms"),
    ]
    assert entries[2].usage_terms == "data: ask"
    assert entries[2].citation == "P 2020"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "t.csv").write_text("k,v\n1,2\n")
    meta = describe_entry(entries[2], tmp_path, retrieved="2026-01-01")
    assert meta.url == "https://pypi.org/project/pkg/1.2/"
    assert [r["name"] for r in meta.record_sets] == ["b/t.csv"]
    assert [f["dataType"] for f in meta.record_sets[0]["field"]] == ["sc:Integer", "sc:Integer"]
    bad = tmp_path / "BAD.md"
    bad.write_text("| folder | licence |\n|---|---|\n| z | (nothing) |\n")
    with pytest.raises(InputError, match="does not start with an SPDX expression"):
        parse_manifest(bad)


def test_file_entry_types() -> None:
    assert FileEntry(path="q/r.zip").name == "r.zip"


def test_provenance_for_a_data_file(tmp_path: Path) -> None:
    from translocus.datasets import provenance_for_path

    root = tmp_path / "data"
    prov = provenance_for_path(root / "qtl2" / "DO_Recla" / "recla.zip", root=root)
    assert prov is not None and (prov.name, prov.license) == ("DO_Recla", "NOASSERTION")
    prov = provenance_for_path(root / "model_ad" / "pathology_long.csv", root=root)
    assert prov is not None and prov.license == "LicenseRef-AD-Knowledge-Portal-Terms"
    assert provenance_for_path(root / "qtl2" / "unknown.csv", root=root) is None
    assert provenance_for_path(tmp_path / "elsewhere.csv", root=root) is None
