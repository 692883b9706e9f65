"""Table roles (``--columns``) and the careful table reader."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from translocus.core.errors import InputError, OptionError
from translocus.core.tables import (
    COMMAND_ROLES,
    ROLES,
    parse_columns,
    read_table,
    resolve_columns,
    roles_markdown,
)


def test_every_role_is_described() -> None:
    for roles in COMMAND_ROLES.values():
        assert {r.name for r in roles} <= set(ROLES)
    assert roles_markdown().count("\n") == sum(len(r) for r in COMMAND_ROLES.values()) + 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("animal", "is not ROLE=COLUMN"),
        ("mouse=id", "'mouse' is not a role of progress"),
        ("animal=", "names no column"),
        ("animal=a,animal=b", "given twice"),
    ],
)
def test_parse_columns_errors(text: str, match: str) -> None:
    with pytest.raises(OptionError, match=match) as info:
        parse_columns(text, command="progress")
    assert info.value.cli_message().startswith("--columns ")


def test_resolve_columns_maps_defaults_and_names_the_fix() -> None:
    frame = pd.DataFrame({"mouse_id": ["a"], "age": [1.0], "measure": ["w"], "weight_g": [2.0]})
    cols = resolve_columns(
        frame, command="progress", columns={"animal": "mouse_id", "value": "weight_g"}
    )
    assert cols == {"animal": "mouse_id", "age": "age", "measure": "measure", "value": "weight_g"}
    with pytest.raises(OptionError, match="no column for animal, value") as info:
        resolve_columns(frame, command="progress", source="t.csv")
    assert "--columns animal=COLUMN,value=COLUMN" in info.value.cli_message()
    with pytest.raises(OptionError, match="has no column 'nope'"):
        resolve_columns(frame, command="progress", columns={"animal": "nope"}, source="t.csv")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"\x00\x01\x02binary\xff", "binary file"),
        (b"a,b,c\n", "header but no rows"),
        (b"\xff\xfe\xfa,1\n2,3\n", "not UTF-8"),
        (b'a,b\n"1,2\n', "cannot be read as a table"),
    ],
    ids=["empty", "binary", "header-only", "not-utf8", "unparsable"],
)
def test_read_table_refuses_bad_files(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        read_table(path)
    assert str(path) in str(info.value)


def test_read_table_paths_and_formats(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(InputError, match="is a folder"):
        read_table(tmp_path)
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_csv(tmp_path / "t.csv", index=False)
    for name in ("t.parquet", "t.tsv", "t.csv"):
        pd.testing.assert_frame_equal(read_table(tmp_path / name), frame)


def test_docs_list_the_roles_of_every_command() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "tables.md"
    assert roles_markdown() in docs.read_text(), "regenerate docs/tables.md from roles_markdown()"
