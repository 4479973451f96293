"""The model type language, checked against Nango's own `modelsParser.unit.test` cases.

Every case of `@nangohq/nango-yaml` 0.71.10 `modelsParser.unit.test.js` is ported here. The JSON
shapes are Nango's exactly; issue paths follow our convention (full document paths starting at
`models`), where Nango's start at the model name. Nango's `type_syntax_error` message carries a
documentation link that ours leaves out.
"""

from __future__ import annotations

from typing import Any

import pytest

from cli.config.issues import ConfigIssue, IssueList
from cli.config.loader import load_config_text
from cli.config.model_types import ModelsParser


def parse_models(raw: dict[str, Any]) -> tuple[ModelsParser, IssueList]:
    issues = IssueList()
    parser = ModelsParser(raw, issues)
    parser.parse_all()
    return parser, issues


def as_json(parser: ModelsParser) -> dict[str, Any]:
    return {name: model.to_json() for name, model in parser.parsed.items()}


def summary(items: list[ConfigIssue]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(i.code, i.message, i.path) for i in items]


def plain(name: str, value: Any, **flags: Any) -> dict[str, Any]:
    """A field as Nango writes it, `array` and `optional` defaulting to false."""
    return {"name": name, "value": value, "array": False, "optional": False, **flags}


def ts(name: str, value: Any, **flags: Any) -> dict[str, Any]:
    return plain(name, value, tsType=True, **flags)


def ref(name: str, value: str, **flags: Any) -> dict[str, Any]:
    return plain(name, value, model=True, **flags)


def cyclic(message: str, path: tuple[str, ...]) -> tuple[str, str, tuple[str, ...]]:
    return ("cyclic_model", message, path)


# ----- parse


def test_should_parse_simple_object() -> None:
    parser, issues = parse_models({"Test": {"id": "string"}})
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("id", "string")]}}
    assert issues.items == []


# ----- dynamic key


def test_dynamic_key_should_handle_string_key() -> None:
    parser, issues = parse_models({"Test": {"__string": "string"}})
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("__string", "string", dynamic=True)]}
    }
    assert issues.items == []


# ----- inheritance


def test_inheritance_should_handle_extends() -> None:
    parser, issues = parse_models({"Test": {"__extends": "TestBase"}, "TestBase": {"id": "1"}})
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("id", 1)]},
        "TestBase": {"name": "TestBase", "fields": [ts("id", 1)]},
    }
    # The base is parsed on first sight, while Test is being parsed.
    assert list(parser.parsed) == ["TestBase", "Test"]
    assert issues.items == []


def test_inheritance_should_handle_nested_extends() -> None:
    parser, issues = parse_models(
        {
            "Test": {"__extends": "TestBase"},
            "TestBase": {"__extends": "TestBase2"},
            "TestBase2": {"id": "integer"},
        }
    )
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("id", "number")]},
        "TestBase": {"name": "TestBase", "fields": [ts("id", "number")]},
        "TestBase2": {"name": "TestBase2", "fields": [ts("id", "number")]},
    }
    assert issues.items == []


def test_inheritance_should_handle_and_dedup_nested_string_key() -> None:
    parser, issues = parse_models({"Test": {"__string": "string"}})
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("__string", "string", dynamic=True)]}
    }
    assert issues.items == []


def test_inheritance_should_handle_missing_extends() -> None:
    parser, issues = parse_models({"Test": {"__extends": "Unknown"}})
    assert as_json(parser) == {"Test": {"name": "Test", "fields": []}}
    assert summary(issues.errors) == [
        (
            "model_extends_not_found",
            'Model "Test" is extending "Unknown", but it does not exists',
            ("models", "Test", "__extends"),
        )
    ]
    # Nango also warns (untested upstream) that the unknown name falls back to a literal.
    assert [(w.code, w.message) for w in issues.warnings] == [
        ("model_not_found_fallback", 'Model "Unknown" is not defined, using as string literal')
    ]


def test_inheritance_should_handle_multiple_extends() -> None:
    parser, issues = parse_models(
        {"Test": {"__extends": "Test1,Test2"}, "Test1": {"id": "null"}, "Test2": {"name": "null"}}
    )
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("id", None), ts("name", None)]},
        "Test1": {"name": "Test1", "fields": [ts("id", None)]},
        "Test2": {"name": "Test2", "fields": [ts("name", None)]},
    }
    assert issues.items == []


def test_inheritance_should_handle_duplicate_field_ordered() -> None:
    parser, issues = parse_models(
        {"Test": {"__extends": "TestBase", "id": "string"}, "TestBase": {"id": "number"}}
    )
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("id", "string")]},
        "TestBase": {"name": "TestBase", "fields": [ts("id", "number")]},
    }
    assert issues.items == []


def test_inheritance_should_handle_duplicate_field_unordered() -> None:
    parser, issues = parse_models(
        {"Test": {"id": "string", "__extends": "TestBase"}, "TestBase": {"id": "number"}}
    )
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("id", "string")]},
        "TestBase": {"name": "TestBase", "fields": [ts("id", "number")]},
    }
    assert issues.items == []


# ----- object literal


def test_object_literal_should_handle_yaml_object() -> None:
    parser, issues = parse_models({"Test": {"sub": {"id": "boolean"}}})
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [{"name": "sub", "optional": False, "value": [ts("id", "boolean")]}],
        }
    }
    assert issues.items == []


def test_object_literal_should_handle_and_dedup_string_key_in_object() -> None:
    parser, issues = parse_models(
        {
            "Test": {"sub": {"__string": "string", "__extends": "TestBase"}},
            "TestBase": {"__string": "number"},
        }
    )
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                {
                    "name": "sub",
                    "optional": False,
                    "value": [ts("__string", "number", dynamic=True)],
                }
            ],
        },
        "TestBase": {"name": "TestBase", "fields": [ts("__string", "number", dynamic=True)]},
    }
    assert issues.items == []


def test_object_literal_should_handle_literal_object_name() -> None:
    parser, issues = parse_models({"Test": {"sub": "object"}})
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("sub", "Record<string, any>")]}
    }
    assert issues.items == []


# ----- string literal


def test_string_literal_should_handle_string_literal() -> None:
    parser, issues = parse_models({"Test": {"user": "literal"}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [plain("user", "literal")]}}


# ----- array literal


def test_array_literal_should_handle_array() -> None:
    parser, issues = parse_models({"Test": {"user": ["foo", "bar"]}})
    assert issues.errors == []
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                {
                    "name": "user",
                    "optional": False,
                    "array": True,
                    "value": [plain("0", "foo"), plain("1", "bar")],
                }
            ],
        }
    }


def test_array_literal_should_handle_array_with_model_and_ts_type() -> None:
    parser, issues = parse_models({"Test": {"user": ["string", "User"]}, "User": {"id": "string"}})
    assert issues.errors == []
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                {
                    "name": "user",
                    "optional": False,
                    "array": True,
                    "value": [ts("0", "string"), ref("1", "User")],
                }
            ],
        },
        "User": {"name": "User", "fields": [ts("id", "string")]},
    }


# ----- union


def test_union_should_handle_union_literal() -> None:
    parser, issues = parse_models({"Test": {"user": "literal1 | literal2"}})
    assert issues.errors == []
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                {
                    "name": "user",
                    "optional": False,
                    "value": [plain("0", "literal1"), plain("1", "literal2")],
                    "union": True,
                }
            ],
        }
    }


def test_union_should_handle_union_with_model_ts_types_and_data_types() -> None:
    parser, issues = parse_models(
        {
            "Test": {"user": "true | literal | GithubIssue[] | boolean[]"},
            "GithubIssue": {"id": "string"},
        }
    )
    assert issues.errors == []
    assert as_json(parser) == {
        "GithubIssue": {"name": "GithubIssue", "fields": [ts("id", "string")]},
        "Test": {
            "name": "Test",
            "fields": [
                {
                    "name": "user",
                    "optional": False,
                    "value": [
                        ts("0", True),
                        plain("1", "literal"),
                        ref("2", "GithubIssue", array=True),
                        ts("3", "boolean", array=True),
                    ],
                    "union": True,
                }
            ],
        },
    }


# ----- optional type


def test_optional_type_should_handle_optional_type() -> None:
    parser, issues = parse_models({"Test": {"user?": "string"}})
    assert issues.errors == []
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ts("user", "string", optional=True)]}
    }


def test_optional_type_should_not_confuse_question_mark_when_not_at_the_end() -> None:
    parser, issues = parse_models({"Test": {"use?r": "string"}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("use?r", "string")]}}


# ----- exotic model name


@pytest.mark.parametrize("name", ['è!à"', "<>", ":=ù"])
def test_exotic_model_name_should_handle_exotic_model_name(name: str) -> None:
    parser, issues = parse_models({name: {"user": "string"}})
    assert summary(issues.errors) == [
        ("invalid_model_name", f'Model "{name}" contains invalid characters', ("models", name))
    ]
    assert as_json(parser) == {}


# ----- exotic data type


@pytest.mark.parametrize("value", ["date", "Date"])
def test_exotic_data_type_should_handle_date(value: str) -> None:
    parser, issues = parse_models({"Test": {"user": value}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("user", "Date")]}}


@pytest.mark.parametrize("value", ["Pick<", "Omit<", "Array<", "Readonly<"])
def test_exotic_data_type_should_refuse_typescript_advanced_feature(value: str) -> None:
    parser, issues = parse_models({"Test": {"user": value}})
    assert issues.warnings == []
    assert summary(issues.errors) == [
        (
            "type_syntax_error",
            f'Type "{value}" contains some unsupported typescript syntax',
            ("models", "Test", "user"),
        )
    ]
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [plain("user", value)]}}


# ----- typescript arrays


def test_typescript_arrays_should_handle_arrays() -> None:
    parser, issues = parse_models({"Test": {"user": "true[]"}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("user", True, array=True)]}}


def test_typescript_arrays_should_handle_array_type() -> None:
    parser, issues = parse_models({"Test": {"user": "array"}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("user", "any[]")]}}


def test_typescript_arrays_should_throw_on_empty_array_type() -> None:
    _, issues = parse_models({"Test": {"user": "[]"}})
    assert summary(issues.errors) == [
        (
            "type_syntax_error",
            'Type "[]" contains some unsupported typescript syntax',
            ("models", "Test", "user"),
        )
    ]


# ----- typescript any


def test_typescript_any_should_handle_any() -> None:
    parser, issues = parse_models({"Test": {"user": "any[]"}})
    assert issues.errors == []
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ts("user", "any", array=True)]}}


# ----- Model


def test_model_should_handle_model() -> None:
    parser, issues = parse_models({"User": {"id": "string"}, "Test": {"user": "User"}})
    assert as_json(parser) == {
        "User": {"name": "User", "fields": [ts("id", "string")]},
        "Test": {"name": "Test", "fields": [ref("user", "User")]},
    }
    assert issues.warnings == []


def test_model_should_handle_model_out_of_order() -> None:
    parser, issues = parse_models({"Test": {"user": "User"}, "User": {"id": "string"}})
    assert as_json(parser) == {
        "Test": {"name": "Test", "fields": [ref("user", "User")]},
        "User": {"name": "User", "fields": [ts("id", "string")]},
    }
    assert list(parser.parsed) == ["User", "Test"]
    assert issues.items == []


def test_model_should_handle_missing_model() -> None:
    parser, issues = parse_models({"Test": {"user": "User"}})
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [plain("user", "User")]}}
    assert summary(issues.warnings) == [
        (
            "model_not_found_fallback",
            'Model "User" is not defined, using as string literal',
            ("models", "Test", "user"),
        )
    ]
    assert issues.errors == []


def test_model_should_handle_cyclic_model() -> None:
    parser, issues = parse_models({"Test": {"user": "Test"}})
    # Nango renders the end of a one-model stack as "undefined".
    assert summary(issues.warnings) == [
        cyclic("Cyclic import Test->undefined", ("models", "Test", "user"))
    ]
    assert as_json(parser) == {"Test": {"name": "Test", "fields": [ref("user", "Test")]}}


def test_model_should_handle_cyclic_through_object() -> None:
    parser, issues = parse_models({"Test": {"user": {"author": "Test"}}})
    assert summary(issues.warnings) == [
        cyclic("Cyclic import Test->undefined", ("models", "Test", "user", "author"))
    ]
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [{"name": "user", "optional": False, "value": [ref("author", "Test")]}],
        }
    }


def test_model_should_handle_cyclic_through_model() -> None:
    parser, issues = parse_models(
        {"Start": {"ref": "Middle"}, "Middle": {"ref": "End"}, "End": {"ref": "Start"}}
    )
    assert summary(issues.warnings) == [
        cyclic("Cyclic import Start->End", ("models", "End", "ref"))
    ]
    assert as_json(parser) == {
        "End": {"name": "End", "fields": [ref("ref", "Start")]},
        "Middle": {"name": "Middle", "fields": [ref("ref", "End")]},
        "Start": {"name": "Start", "fields": [ref("ref", "Middle")]},
    }
    # Innermost first, as Nango's Map is filled.
    assert list(parser.parsed) == ["End", "Middle", "Start"]


def test_model_should_handle_cyclic_through_array() -> None:
    parser, issues = parse_models({"Test": {"user": ["Test"]}})
    assert summary(issues.warnings) == [
        cyclic("Cyclic import Test->undefined", ("models", "Test", "user", "0"))
    ]
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                {"name": "user", "optional": False, "array": True, "value": [ref("0", "Test")]}
            ],
        }
    }


# ----- extra cases, checked against Nango's ModelsParser (not in its test file)


def test_model_name_with_trailing_newline_is_invalid() -> None:
    """Nango's name check is JavaScript's `/^[a-zA-Z0-9_]+$/`: no match before a final newline."""
    parser, issues = parse_models({"Test\n": {"id": "string"}})
    assert [(e.code, e.message) for e in issues.errors] == [
        ("invalid_model_name", 'Model "Test\n" contains invalid characters')
    ]
    assert as_json(parser) == {}


def test_leading_integers_read_as_javascript_parse_int() -> None:
    parser, issues = parse_models(
        {"Test": {"m": "12abc", "k": " 7", "neg": "-3", "f": "1.5", "n": "\u0663"}}
    )
    assert as_json(parser) == {
        "Test": {
            "name": "Test",
            "fields": [
                ts("m", 12),
                ts("k", 7),
                ts("neg", -3),
                ts("f", 1),
                # An Arabic-Indic digit is no digit to parseInt: it is a name, then a literal.
                plain("n", "\u0663"),
            ],
        }
    }
    assert [(w.code, w.message) for w in issues.warnings] == [
        ("model_not_found_fallback", 'Model "\u0663" is not defined, using as string literal')
    ]


# ----- key order of the parsed fields (Nango's text output keeps it)


@pytest.mark.parametrize(
    ("yaml_value", "keys"),
    [
        ("string", ["name", "value", "tsType", "array", "optional"]),
        ("Other", ["name", "value", "model", "optional", "array"]),
        ("a | b", ["name", "value", "union", "optional"]),
        ("[string]", ["name", "value", "array", "optional"]),
        ("{x: string}", ["name", "value", "optional"]),
        ("1", ["name", "value", "tsType"]),
        ("word", ["name", "value", "array", "optional"]),
    ],
)
def test_field_keys_are_in_nangos_order(yaml_value: str, keys: list[str]) -> None:
    text = f"integrations: {{}}\nmodels:\n  Other:\n    id: string\n  M:\n    f: {yaml_value}\n"
    field = load_config_text(text).parsed.models["M"].fields[0]
    assert list(field.to_json()) == keys


@pytest.mark.parametrize(
    ("yaml_value", "keys"),
    [
        ("string", ["name", "value", "tsType", "array", "optional", "dynamic"]),
        ("a | b", ["name", "value", "union", "optional", "dynamic"]),
        ("Other", ["name", "value", "model", "optional", "array", "dynamic"]),
        ("1", ["name", "value", "tsType", "dynamic", "optional"]),
        ("true", ["name", "value", "tsType", "dynamic", "optional"]),
    ],
)
def test_string_index_keys_are_in_nangos_order(yaml_value: str, keys: list[str]) -> None:
    text = (
        f"integrations: {{}}\nmodels:\n  Other:\n    id: string\n  M:\n    __string: {yaml_value}\n"
    )
    field = load_config_text(text).parsed.models["M"].fields[0]
    assert list(field.to_json()) == keys
