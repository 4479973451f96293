"""`render_json_schema`: a correct draft-07 document for every model, including anonymous ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft7Validator

from cli.codegen.json_schema import DRAFT_07, render_json_schema
from cli.config.loader import load_config_text

YAML = """\
integrations:
  github:
    syncs:
      categories:
        runs: every day
        output: Category
        endpoint: GET /categories
    actions:
      flag:
        input: string | number
        output: boolean
        endpoint: POST /flag
      ones:
        input: 1 | true
        output: 0 | false
        endpoint: POST /ones
models:
  Fields:
    text: string
    count: number
    flag: boolean
    big: bigint
    when: date
    anything: any
    obj: object
    arr: array
    nothing: null
    state: open | closed
    one: 1
    is_true: true
    optional?: string
    nullable: string | null
    both?: number | null
    maybe: string | undefined
    tags: string[]
    refs: Category[]
    mixed: [string, Category]
    nested:
      inner: string
      deeper?:
        ok: boolean
  Category:
    id: string
    parent?: Category
    children: Category[]
  Counters:
    id: string
    __string: number
  Extended:
    __extends: Category, Counters
    name: string
"""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return render_json_schema(load_config_text(YAML).parsed, comment="made by the tests")


@pytest.fixture(scope="module")
def fields(document: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = document["definitions"]["Fields"]
    return schema


def test_document_is_a_valid_draft_07_schema(document: dict[str, Any]) -> None:
    Draft7Validator.check_schema(document)
    assert document["$schema"] == DRAFT_07 == "http://json-schema.org/draft-07/schema#"
    assert document["$comment"] == "made by the tests"


def test_every_model_has_a_definition(document: dict[str, Any]) -> None:
    parsed = load_config_text(YAML).parsed
    assert set(document["definitions"]) == set(parsed.models)
    for schema in document["definitions"].values():
        Draft7Validator.check_schema(schema)


def test_document_is_deterministic_and_json(document: dict[str, Any]) -> None:
    again = render_json_schema(load_config_text(YAML).parsed, comment="made by the tests")
    assert json.dumps(again) == json.dumps(document)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("text", {"type": "string"}),
        ("count", {"type": "number"}),
        ("flag", {"type": "boolean"}),
        ("big", {"type": "integer"}),
        ("when", {"type": "string", "format": "date-time"}),
        ("anything", {}),
        ("obj", {"type": "object"}),
        ("arr", {"type": "array"}),
        ("nothing", {"type": "null"}),
        ("state", {"enum": ["open", "closed"]}),
        ("one", {"const": 1}),
        ("is_true", {"const": True}),
        ("optional", {"type": "string"}),
        ("nullable", {"anyOf": [{"type": "string"}, {"type": "null"}]}),
        ("both", {"anyOf": [{"type": "number"}, {"type": "null"}]}),
        ("maybe", {"type": "string"}),
        ("tags", {"type": "array", "items": {"type": "string"}}),
        ("refs", {"type": "array", "items": {"$ref": "#/definitions/Category"}}),
        (
            "mixed",
            {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"$ref": "#/definitions/Category"}]},
            },
        ),
    ],
)
def test_field_schema(fields: dict[str, Any], name: str, expected: dict[str, Any]) -> None:
    assert fields["properties"][name] == expected


def test_literal_types_are_kept(fields: dict[str, Any]) -> None:
    assert fields["properties"]["one"]["const"] is not True
    assert fields["properties"]["is_true"]["const"] is True


def test_required_lists_exactly_the_fields_that_may_not_be_absent(fields: dict[str, Any]) -> None:
    assert fields["type"] == "object"
    assert set(fields["required"]) == set(fields["properties"]) - {"optional", "both", "maybe"}
    assert "nothing" in fields["required"]
    assert "nullable" in fields["required"]


def test_nested_object(fields: dict[str, Any]) -> None:
    nested = fields["properties"]["nested"]
    assert nested["type"] == "object"
    assert nested["required"] == ["inner"]
    assert nested["properties"]["deeper"]["properties"]["ok"] == {"type": "boolean"}
    assert nested["additionalProperties"] is True


def test_extra_keys(document: dict[str, Any], fields: dict[str, Any]) -> None:
    assert fields["additionalProperties"] is True
    assert document["definitions"]["Counters"]["additionalProperties"] == {"type": "number"}
    assert "__string" not in document["definitions"]["Counters"]["properties"]


def test_recursive_reference(document: dict[str, Any]) -> None:
    category = document["definitions"]["Category"]
    assert category["properties"]["parent"] == {"$ref": "#/definitions/Category"}
    assert category["required"] == ["id", "children"]


def test_extends_merges_fields_and_extra_type(document: dict[str, Any]) -> None:
    extended = document["definitions"]["Extended"]
    assert list(extended["properties"]) == ["id", "parent", "children", "name"]
    assert extended["required"] == ["id", "children", "name"]
    assert extended["additionalProperties"] == {"type": "number"}


def test_anonymous_models(document: dict[str, Any]) -> None:
    definitions = document["definitions"]
    assert definitions["Anonymous_github_action_flag_input"] == {
        "anyOf": [{"type": "string"}, {"type": "number"}]
    }
    assert definitions["Anonymous_github_action_flag_output"] == {"type": "boolean"}


def test_union_of_literals_equal_in_python_keeps_both(document: dict[str, Any]) -> None:
    """`1 | true` and `0 | false`: 1 == True in Python, but they are different JSON values."""
    definitions = document["definitions"]
    for name, members in (
        ("Anonymous_github_action_ones_input", [1, True]),
        ("Anonymous_github_action_ones_output", [0, False]),
    ):
        validator = Draft7Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})
        for value in members:
            assert validator.is_valid(value), (name, value, definitions[name])


def test_records_validate_against_the_document(document: dict[str, Any]) -> None:
    def validator(model: str) -> Draft7Validator:
        return Draft7Validator(
            {"$ref": f"#/definitions/{model}", "definitions": document["definitions"]}
        )

    leaf = {"id": "c", "children": []}
    record = {
        "text": "t",
        "count": 1,
        "flag": False,
        "big": 3,
        "when": "2024-01-01T00:00:00Z",
        "anything": None,
        "obj": {},
        "arr": [],
        "nothing": None,
        "state": "open",
        "one": 1,
        "is_true": True,
        "nullable": None,
        "tags": [],
        "refs": [leaf],
        "mixed": ["x", leaf],
        "nested": {"inner": "i"},
    }
    assert list(validator("Fields").iter_errors(record)) == []
    assert not validator("Fields").is_valid({**record, "optional": None})
    assert not validator("Fields").is_valid({**record, "refs": [{"id": "c"}]})
    assert validator("Extended").is_valid({"id": "e", "children": [], "name": "n", "x": 2})
    assert not validator("Extended").is_valid({"id": "e", "children": [], "name": "n", "x": "2"})
