"""Hostile or careless YAML: alias bombs, deep nesting, odd encodings, empty files.

Each fails with a clear `ConfigError` (positioned where the text is at fault, or file-level
with a reason), never with a hang, a MemoryError or a RecursionError.
"""

from __future__ import annotations

import codecs
import math
from pathlib import Path

import pytest

from cli.config.issues import ConfigError, ConfigIssue
from cli.config.loader import load_config, load_config_text
from cli.config.yaml_builder import MAX_ALIAS_NODES, MAX_NESTING
from cli.config.yaml_source import load_yaml_file, parse_yaml

VALID = """\
integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: Issue
        endpoint: GET /issues
models:
  Issue:
    id: string
    title: string
"""


def only_issue(text: str) -> ConfigIssue:
    with pytest.raises(ConfigError) as caught:
        parse_yaml(text)
    assert len(caught.value.issues) == 1
    return caught.value.issues[0]


def laughs(levels: int, width: int = 9) -> str:
    """The classic "billion laughs": each level repeats the previous one `width` times."""
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        items = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{items}]")
    return "\n".join(lines) + "\n"


# ----- aliases


def test_an_alias_bomb_is_refused_at_the_alias_that_crosses_the_bound() -> None:
    issue = only_issue(laughs(9))  # 558 bytes; 9**9 strings once expanded
    assert issue.code == "invalid_yaml"
    assert "alias" in issue.message
    # Levels 1-4 repeat about 75,000 nodes; the first alias of level 5 adds 66,430 more.
    assert (issue.line, issue.column) == (6, 10)


def test_a_bomb_through_merge_keys_is_refused_too() -> None:
    lines = ["b0: &b0 {x: 1, y: 2, z: 3}"]
    for level in range(1, 30):
        before = f"*b{level - 1}"
        lines.append(f"b{level}: &b{level} {{<<: [{before}], k{level}: [{before}, {before}]}}")
    issue = only_issue("\n".join(lines) + "\n")
    assert issue.code == "invalid_yaml" and "alias" in issue.message
    assert issue.line is not None and issue.column is not None


def test_aliases_below_the_bound_load_and_share_their_value() -> None:
    doc = parse_yaml(laughs(4))  # 9**4 = 6,561 nodes per alias of the last level
    assert len(doc.data["a3"]) == 9
    assert doc.data["a3"][0] is doc.data["a2"]
    assert sum(1 for _ in doc.data["a3"][8][8]) == 9
    assert MAX_ALIAS_NODES >= 9**4 * 9


def test_an_alias_to_an_undefined_anchor_has_its_position() -> None:
    issue = only_issue("a: 1\nb: *nowhere\n")
    assert (issue.code, issue.line, issue.column) == ("invalid_yaml", 2, 4)
    assert "*nowhere" in issue.message


def test_an_alias_inside_its_own_anchor_has_its_position() -> None:
    issue = only_issue("a: &x\n  b: [1, *x]\n")
    assert (issue.code, issue.line, issue.column) == ("invalid_yaml", 2, 10)


def test_a_problem_inside_aliased_content_points_at_where_it_is_written() -> None:
    text = VALID.replace("    title: string\n", "    title: string\n    bad: Record<string, x>\n")
    text += "  Copy: *issue\n"
    text = text.replace("  Issue:\n", "  Issue: &issue\n")
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    found = {(i.path, i.line, i.column) for i in caught.value.errors}
    assert (("models", "Issue", "bad"), 12, 5) in found
    assert (("models", "Copy", "bad"), 12, 5) in found


def test_merged_keys_keep_the_position_of_their_source() -> None:
    doc = parse_yaml("base: &b\n  x: 1\n  y: 2\nc:\n  <<: *b\n  y: 3\n")
    assert doc.data["c"] == {"x": 1, "y": 3}
    assert doc.locate(("c", "x")) == (2, 3)
    assert doc.locate(("c", "y")) == (6, 3)
    assert doc.locate(("c", "y", "deeper")) == (6, 3)
    assert doc.locate(("c", "x", "deeper")) == (2, 3)


# ----- nesting


@pytest.mark.parametrize(
    ("text", "position"),
    [
        # The root mapping is the first level: the error is at the 100th list or mapping.
        ("a: " + "[" * 500 + "]" * 500 + "\n", (1, 3 + MAX_NESTING)),
        ("a: " + "{b: " * 400 + "c" + "}" * 400 + "\n", (1, 4 * MAX_NESTING)),
        (
            "a:\n" + "".join(" " * (2 * i) + "-\n" for i in range(1, 601)),
            (MAX_NESTING + 1, 2 * MAX_NESTING + 1),
        ),
        ("".join(" " * (2 * i) + f"k{i}:\n" for i in range(300)) + " " * 600 + "x: 1\n", None),
    ],
    ids=["flow-lists-500", "flow-maps-400", "block-lists-600", "block-maps-300"],
)
def test_deep_nesting_is_refused_with_a_position(
    text: str, position: tuple[int, int] | None
) -> None:
    issue = only_issue(text)
    assert issue.code == "invalid_yaml"
    assert f"more than {MAX_NESTING} levels" in issue.message
    assert issue.line is not None and issue.column is not None
    if position is not None:
        assert (issue.line, issue.column) == position


def test_nesting_up_to_the_limit_loads() -> None:
    value = parse_yaml("[" * MAX_NESTING + "]" * MAX_NESTING).data
    for _ in range(MAX_NESTING - 1):
        value = value[0]
    assert value == []


def test_an_alias_may_not_nest_deeper_than_the_limit() -> None:
    half = MAX_NESTING // 2 + 1
    text = "a: &deep " + "[" * half + "]" * half + "\nb: " + "[" * half + "*deep" + "]" * half
    issue = only_issue(text + "\n")
    assert (issue.code, issue.line, issue.column) == ("invalid_yaml", 2, 4 + half)


def test_a_deeply_nested_model_is_a_config_error_not_a_crash() -> None:
    fields = "".join(" " * (4 + 2 * i) + f"f{i}:\n" for i in range(300))
    text = VALID + "  Deep:\n" + fields + " " * 604 + "x: string\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)
    assert [i.code for i in caught.value.errors] == ["invalid_yaml"]


# ----- scalars and characters


def test_a_huge_integer_is_infinity_as_in_javascript() -> None:
    doc = parse_yaml("a: " + "9" * 5000 + "\nb: -" + "0" * 5000 + "7\nc: 0x" + "f" * 400 + "\n")
    assert doc.data["a"] == math.inf
    assert doc.data["b"] == -7
    assert doc.data["c"] == int("f" * 400, 16)


def test_huge_integer_keys() -> None:
    key = "1" * 5000
    assert list(parse_yaml(f'b: 1\n? "{key}"\n: 2\n0: 3\n').data) == ["0", "b", key]
    assert list(parse_yaml(f"? {key}\n: 2\n").data) == ["Infinity"]


def test_special_float_keys_are_named_as_javascript_names_them() -> None:
    doc = parse_yaml(".inf: a\n-.inf: b\n.nan: c\n1.5e-7: d\n")
    assert list(doc.data) == ["Infinity", "-Infinity", "NaN", "1.5e-7"]


@pytest.mark.parametrize(
    ("text", "position"),
    [("a: b\x00c\n", (1, 5)), ("a:\n  b: c\x07\n", (2, 7)), ("a: b\x1b[31m\n", (1, 5))],
    ids=["nul", "bell", "escape"],
)
def test_a_raw_control_character_has_its_position(text: str, position: tuple[int, int]) -> None:
    issue = only_issue(text)
    assert issue.code == "invalid_yaml"
    assert (issue.line, issue.column) == position
    assert "U+00" in issue.message


def test_a_second_document_is_refused_at_its_start() -> None:
    issue = only_issue("a: 1\n---\nb: 2\n")
    assert (issue.code, issue.line, issue.column) == ("invalid_yaml", 2, 1)
    assert "more than one YAML document" in issue.message


# ----- encodings and empty files


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_a_file_with_a_byte_order_mark_is_decoded(tmp_path: Path, codec: str) -> None:
    boms = {
        "utf-8-sig": b"",
        "utf-16-le": codecs.BOM_UTF16_LE,
        "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE,
        "utf-32-be": codecs.BOM_UTF32_BE,
    }
    file = tmp_path / "nango.yaml"
    file.write_bytes(boms[codec] + VALID.replace("title", "tïtle").encode(codec))
    loaded = load_config(file)
    assert [f.name for f in loaded.parsed.models["Issue"].fields] == ["id", "tïtle"]


def test_a_file_that_is_not_utf8_names_the_bytes_and_their_position(tmp_path: Path) -> None:
    file = tmp_path / "nango.yaml"
    file.write_bytes(VALID.replace("title", "t\xeftle").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_yaml_file(file)
    issue = caught.value.issues[0]
    assert issue.code == "invalid_encoding"
    assert "not valid UTF-8" in issue.message and "ef" in issue.message
    assert (issue.file, issue.line, issue.column) == (file, 11, 6)
    assert issue.hint is not None and "UTF-8" in issue.hint


def test_a_broken_utf16_file_says_so(tmp_path: Path) -> None:
    file = tmp_path / "nango.yaml"
    file.write_bytes(codecs.BOM_UTF16_LE + "integrations: {}\n".encode("utf-16-le") + b"\x00")
    with pytest.raises(ConfigError) as caught:
        load_yaml_file(file)
    issue = caught.value.issues[0]
    assert issue.code == "invalid_encoding"
    assert "not valid UTF-16" in issue.message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "is empty"),
        ("\n  \n", "is empty"),
        ("# integrations: to come\n\n# more\n", "holds only comments"),
    ],
    ids=["empty", "blank", "comments"],
)
def test_an_empty_or_comment_only_file_says_what_is_wrong(
    tmp_path: Path, content: str, reason: str
) -> None:
    file = tmp_path / "nango.yaml"
    file.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    [issue] = caught.value.issues
    assert issue.code == "empty_file"
    assert issue.message == f"nango.yaml {reason}: it needs at least an `integrations` section"
    assert issue.file == file and issue.line is None
    assert issue.hint


def test_merge_forms() -> None:
    text = (
        "a: &a {x: 1}\n"
        "l: &l [*a, {y: 2}, 3]\n"
        "inline:\n  <<: {z: 3}\n"
        "listed:\n  <<: *l\n"
        "scalar:\n  <<: 5\n  k: v\n"
    )
    doc = parse_yaml(text)
    assert doc.data["inline"] == {"z": 3}
    assert doc.data["listed"] == {"x": 1, "y": 2}
    assert doc.data["scalar"] == {"k": "v"}
    assert doc.locate(("inline", "z")) == (4, 8)
    assert doc.locate(("listed", "y")) == (2, 13)
    assert doc.locate(("listed", "x")) == (1, 8)
