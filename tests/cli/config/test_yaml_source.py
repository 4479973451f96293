"""YAML is read as Nango's js-yaml reads it, with positions for every key."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from cli.config.issues import ConfigError
from cli.config.yaml_source import js_number, load_yaml_file, parse_yaml


def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    doc = parse_yaml("a: [yes, no, on, ~, null, true, 'true', 0x1F, 0o17, 1.0, 1.5, 1_000, 1e999]")
    assert doc.data["a"] == [
        "yes",
        "no",
        "on",
        None,
        None,
        True,
        "true",
        31,
        15,
        1,
        1.5,
        "1_000",
        "1e999",
    ]


def test_special_floats_and_negative_numbers() -> None:
    values = parse_yaml("a: [.inf, -.inf, .nan, -3, +4, -0x10]").data["a"]
    assert values[0] == math.inf and values[1] == -math.inf and math.isnan(values[2])
    assert values[3:] == [-3, 4, -16]
    assert js_number("2.50") == 2.5
    assert isinstance(js_number("2.0"), int)


def test_keys_are_javascript_object_keys_in_javascript_order() -> None:
    doc = parse_yaml("b: 1\n10: x\n2: y\ntrue: z\n~: n\n1.0: f\n")
    assert list(doc.data) == ["1", "2", "10", "b", "true", "null"]


def test_positions_of_keys_and_items() -> None:
    doc = parse_yaml("integrations:\n  github:\n    syncs:\n      - a\n      - b\n")
    assert doc.positions[("integrations", "github", "syncs")] == (3, 5)
    assert doc.positions[("integrations", "github", "syncs", 1)] == (5, 9)
    assert doc.locate(("integrations", "github", "syncs", "missing")) == (3, 5)
    assert doc.locate(()) == (None, None)


def test_an_optional_key_is_located_by_its_name() -> None:
    doc = parse_yaml("models:\n  Foo:\n    body?: string\n")
    assert doc.locate(("models", "Foo", "body")) == (3, 5)


def test_merge_keys_and_anchors() -> None:
    doc = parse_yaml("base: &b {x: 1, y: 1}\nother: &o {z: 3}\nc:\n  <<: [*b, *o]\n  y: 2\n")
    assert doc.data["c"] == {"x": 1, "y": 2, "z": 3}


def test_duplicate_keys_are_errors_with_their_position() -> None:
    with pytest.raises(ConfigError) as failure:
        parse_yaml("a: 1\nb: 2\na: 3\n")
    issue = failure.value.issues[0]
    assert (issue.code, issue.line, issue.column) == ("duplicated_mapping_key", 3, 1)


def test_a_syntax_error_has_its_position() -> None:
    with pytest.raises(ConfigError) as failure:
        parse_yaml("a:\n  - b\n c: d\n")
    issue = failure.value.issues[0]
    assert issue.code == "invalid_yaml"
    assert issue.line is not None and issue.line >= 2


def test_an_alias_inside_itself_is_an_error() -> None:
    with pytest.raises(ConfigError, match="error"):
        parse_yaml("a: &x\n  b: *x\n")


def test_an_empty_document_is_none() -> None:
    assert parse_yaml("").data is None


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        load_yaml_file(tmp_path / "nango.yaml")
    assert missing.value.issues[0].code == "file_not_found"
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(ConfigError) as unreadable:
        load_yaml_file(folder)
    assert unreadable.value.issues[0].code == "file_unreadable"
    assert "Is a directory" in unreadable.value.issues[0].message
