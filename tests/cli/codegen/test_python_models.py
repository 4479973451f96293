"""`render_models`: the text of models.py, Python names for YAML fields, and data kept as it is."""

from __future__ import annotations

import ast
import json
import keyword
from pathlib import Path
from typing import Any

import pydantic
import pytest

import runtime.sdk.nango
from cli.codegen.python_models import render_models
from cli.config.loader import load_config_text
from runtime.sdk.models import NangoModel

YAML = """\
integrations:
  github:
    syncs:
      records:
        runs: every 1h
        output: Record
        endpoint: GET /records
    actions:
      create-record:
        input: string | number
        output: Record
        endpoint: POST /records
      add-people:
        input: Person[]
        output: Person | null
        endpoint: POST /people
models:
  Record:
    id: string
    count?: number
    ratio: number
    created: date
  Names:
    class: string
    from?: string
    first-name: string
    $ref: string
    model_config: string
    schema: string
    json: string
    _id: string
    123abc: string
    to_record?: string
  Person:
    id: string
    first-name?: string
    $ref?: string
  Both:
    first-name?: string
    first_name?: string
  Team:
    id: string
    lead: Person
  Counters:
    id: string
    __string: number
  Category:
    id: string
    parent?: Category
    children: Category[]
"""

NAMES_RECORD = {
    "class": "c",
    "from": "f",
    "first-name": "Ada",
    "$ref": "#/x",
    "model_config": "mc",
    "schema": "s",
    "json": "j",
    "_id": "i",
    "123abc": "n",
    "to_record": "t",
}


@pytest.fixture(scope="module")
def gen(generate: Any) -> Any:
    return generate(YAML)


def _render(yaml_text: str = YAML) -> str:
    parsed = load_config_text(yaml_text).parsed
    return render_models(parsed, header="# header", sdk_exports=runtime.sdk.nango.PUBLIC_TYPES)


# ----- the module


def test_rendering_is_deterministic() -> None:
    assert _render() == _render()


def test_starts_with_the_header() -> None:
    assert _render().startswith("# header\n")


def test_is_valid_python() -> None:
    ast.parse(_render())


@pytest.mark.parametrize("name", ["NangoSync", "NangoAction", "ActionError"])
def test_reexports_the_sdk(gen: Any, name: str) -> None:
    assert getattr(gen.module, name) is getattr(runtime.sdk.nango, name)
    assert name in gen.module.__all__


def test_all_lists_models_and_aliases(gen: Any) -> None:
    exported = set(gen.module.__all__)
    assert {"Record", "Names", "Person", "Counters", "Category"} <= exported
    assert "Anonymous_github_action_createrecord_input" in exported
    for name in gen.module.__all__:
        assert hasattr(gen.module, name), name


def test_models_derive_from_nango_model(gen: Any) -> None:
    for name in ("Record", "Names", "Person", "Counters", "Category"):
        assert issubclass(gen.cls(name), NangoModel)


def test_anonymous_model_is_a_type_alias(gen: Any) -> None:
    adapter = gen.adapter("Anonymous_github_action_createrecord_input")
    assert adapter.validate_python("x") == "x"
    assert type(adapter.validate_python(2)) is int
    with pytest.raises(pydantic.ValidationError):
        adapter.validate_python([])
    assert not isinstance(gen.module.Anonymous_github_action_createrecord_input, type)


# ----- data is never changed


def test_number_keeps_ints_and_floats(gen: Any) -> None:
    record = gen.cls("Record").model_validate(
        {"id": "1", "count": 18, "ratio": 1.5, "created": "2024-01-02T03:04:05Z"}
    )
    assert type(record.count) is int and record.count == 18
    assert type(record.ratio) is float and record.ratio == 1.5
    dumped = record.to_record()
    assert type(dumped["count"]) is int
    assert type(dumped["ratio"]) is float


def test_number_rejects_strings_and_bools(gen: Any) -> None:
    cls = gen.cls("Record")
    for bad in ("18", True, None, [18]):
        with pytest.raises(pydantic.ValidationError):
            cls.model_validate({"id": "1", "ratio": bad, "created": "2024-01-02"})


def test_string_rejects_numbers(gen: Any) -> None:
    with pytest.raises(pydantic.ValidationError):
        gen.cls("Record").model_validate({"id": 1, "ratio": 1, "created": "2024-01-02"})


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-02T03:04:05Z",
        "2024-01-02T03:04:05.123456+05:30",
        "2024-01-02T03:04:05",
        "2024-01-02",
    ],
)
def test_date_keeps_the_iso_string(gen: Any, value: str) -> None:
    record = gen.cls("Record").model_validate({"id": "1", "ratio": 1, "created": value})
    assert record.created == value
    assert record.to_record()["created"] == value


@pytest.mark.parametrize("value", ["yesterday", "2024-02-30", "", "01/02/2024"])
def test_date_rejects_non_dates(gen: Any, value: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        gen.cls("Record").model_validate({"id": "1", "ratio": 1, "created": value})


@pytest.mark.parametrize("value", [1700000000, 1.5])
def test_date_rejects_numbers_instead_of_converting_them(gen: Any, value: float) -> None:
    """A number is not an ISO date; it must not become a `datetime` (data would change)."""
    record = {"id": "1", "ratio": 1, "created": value}
    try:
        dumped = gen.cls("Record").model_validate(record).to_record()
    except pydantic.ValidationError:
        return
    pytest.fail(f"date accepted {value!r} and dumped it as {dumped['created']!r}")


def test_absent_optional_stays_absent(gen: Any) -> None:
    record = {"id": "1", "ratio": 2, "created": "2024-01-02"}
    model = gen.cls("Record").model_validate(record)
    assert model.count is None
    assert model.to_record() == record
    assert "count" not in model.model_dump(by_alias=True, exclude_unset=True)


def test_undeclared_fields_are_kept(gen: Any) -> None:
    record = {"id": "1", "ratio": 2, "created": "2024-01-02", "extra": {"a": [1, 2.5]}, "n": None}
    assert gen.cls("Record").model_validate(record).to_record() == record


def test_construction_in_python_keeps_unset_fields_out(gen: Any) -> None:
    model = gen.cls("Record")(id="1", ratio=3, created="2024-01-02")
    assert model.to_record() == {"id": "1", "ratio": 3, "created": "2024-01-02"}


# ----- field names that are not Python attributes


def _attributes(cls: type[pydantic.BaseModel]) -> dict[str, str]:
    """YAML name -> Python attribute name."""
    return {(info.alias or attr): attr for attr, info in cls.model_fields.items()}


def test_every_yaml_name_is_a_field(gen: Any) -> None:
    assert set(_attributes(gen.cls("Names"))) == set(NAMES_RECORD)


def test_attribute_names_are_usable_identifiers(gen: Any) -> None:
    reserved = set(dir(NangoModel))
    for attr in _attributes(gen.cls("Names")).values():
        assert attr.isidentifier(), attr
        assert not keyword.iskeyword(attr), attr
        assert attr not in reserved, attr
        assert not attr.startswith("_"), attr


def test_odd_names_validate_and_dump_by_original_name(gen: Any) -> None:
    model = gen.cls("Names").model_validate(NAMES_RECORD)
    assert model.to_record() == NAMES_RECORD
    assert model.model_dump(by_alias=True, exclude_unset=True) == NAMES_RECORD
    assert model.model_dump(by_alias=True) == NAMES_RECORD
    for yaml_name, attr in _attributes(type(model)).items():
        assert getattr(model, attr) == NAMES_RECORD[yaml_name]


def test_odd_names_construct_by_attribute_name(gen: Any) -> None:
    cls = gen.cls("Names")
    attrs = _attributes(cls)
    model = cls(**{attrs[k]: v for k, v in NAMES_RECORD.items()})
    assert model.to_record() == NAMES_RECORD


def test_readable_attribute_names(gen: Any) -> None:
    attrs = _attributes(gen.cls("Names"))
    assert attrs["first-name"] == "first_name_"
    assert attrs["class"] == "class_"
    assert attrs["from"] == "from_"


def test_pydantic_members_are_not_shadowed(gen: Any) -> None:
    cls = gen.cls("Names")
    model = cls.model_validate(NAMES_RECORD)
    assert isinstance(cls.model_config, dict)
    assert cls.model_config.get("extra") == "allow"
    assert callable(model.to_record)
    assert callable(cls.model_json_schema)
    assert json.loads(model.model_dump_json(by_alias=True, exclude_unset=True)) == NAMES_RECORD


def test_optional_keyword_field_may_be_absent_not_null(gen: Any) -> None:
    cls = gen.cls("Names")
    record = {k: v for k, v in NAMES_RECORD.items() if k != "from"}
    assert cls.model_validate(record).to_record() == record
    with pytest.raises(pydantic.ValidationError):
        cls.model_validate({**record, "from": None})


def test_undeclared_key_equal_to_an_attribute_name_is_kept(gen: Any) -> None:
    """`first_name` is not a field of Person (`first-name` is): it is an extra key, kept as is.

    Accepting Python attribute names when validating records renames such keys.
    """
    cls = gen.cls("Person")
    record = {"id": "1", "first_name": "Ada"}
    assert cls.model_validate(record).to_record() == record


def test_undeclared_key_ref_is_not_taken_for_dollar_ref(gen: Any) -> None:
    cls = gen.cls("Person")
    record = {"id": "1", "ref": "r"}
    assert cls.model_validate(record).to_record() == record


def test_both_original_and_attribute_keys_are_kept(gen: Any) -> None:
    cls = gen.cls("Person")
    record = {"id": "1", "first-name": "Ada", "first_name": "Lovelace"}
    assert cls.model_validate(record).to_record() == record


def test_odd_names_with_attribute_names_in_the_record_too(gen: Any) -> None:
    cls = gen.cls("Both")
    for record in (
        {"first_name": "b"},
        {"first-name": "a"},
        {"first-name": "a", "first_name": "b"},
    ):
        model = cls.model_validate(record)
        assert model.to_record() == record
        assert model.first_name_ == record.get("first-name")
        assert model.first_name == record.get("first_name")


def test_nested_model_keeps_undeclared_key(gen: Any) -> None:
    record = {"id": "t", "lead": {"id": "1", "first_name": "Ada"}}
    model = gen.cls("Team").model_validate(record)
    assert model.to_record() == record
    assert model.lead.first_name_ is None


@pytest.mark.parametrize(
    ("model", "record"),
    [
        ("Person", {"id": "1", "first_name": "Ada"}),
        ("Person", {"id": "1", "ref": "r"}),
        ("Both", {"first_name": "b"}),
        ("Anonymous_github_action_addpeople_input", [{"id": "1", "first_name": "Ada"}]),
        ("Anonymous_github_action_addpeople_output", {"id": "1", "first_name": "Ada"}),
    ],
)
def test_type_adapter_keeps_undeclared_key(gen: Any, model: str, record: Any) -> None:
    """A TypeAdapter (how anonymous inputs and outputs are validated) keeps records as they are."""
    adapter = gen.adapter(model)
    value = adapter.validate_python(record)
    assert adapter.dump_python(value, by_alias=True, exclude_unset=True) == record


# ----- __string and recursion


def test_string_map_types_extra_keys(gen: Any) -> None:
    cls = gen.cls("Counters")
    record = {"id": "c", "a": 1, "b": 2.5}
    model = cls.model_validate(record)
    assert model.to_record() == record
    assert type(model.to_record()["a"]) is int
    for bad in ("1", True, None, {}):
        with pytest.raises(pydantic.ValidationError):
            cls.model_validate({"id": "c", "a": bad})


def test_recursive_model(gen: Any) -> None:
    cls = gen.cls("Category")
    leaf = {"id": "leaf", "children": []}
    record = {"id": "root", "parent": leaf, "children": [leaf, {"id": "mid", "children": [leaf]}]}
    model = cls.model_validate(record)
    assert isinstance(model.parent, cls)
    assert isinstance(model.children[1].children[0], cls)
    assert model.to_record() == record


def test_recursive_model_built_in_python(gen: Any) -> None:
    cls = gen.cls("Category")
    leaf = cls(id="leaf", children=[])
    root = cls(id="root", parent=leaf, children=[leaf])
    assert root.to_record() == {
        "id": "root",
        "parent": {"id": "leaf", "children": []},
        "children": [{"id": "leaf", "children": []}],
    }


# ----- names of models


def test_model_names_that_clash_with_module_names(generate: Any) -> None:
    yaml_text = """\
integrations:
  github:
    syncs:
      things:
        runs: every day
        output: annotations
        endpoint: GET /things
models:
  annotations:
    id: string
    tags: string[]
  Holder:
    id: string
    annotations?: annotations
"""
    gen = generate(yaml_text)
    holder = gen.cls("Holder")
    record = {"id": "h", "annotations": {"id": "a", "tags": ["x"]}}
    assert holder.model_validate(record).to_record() == record


@pytest.mark.parametrize("model_name", ["list", "dict", "float"])
def test_model_named_like_a_builtin_used_by_annotations(generate: Any, model_name: str) -> None:
    """Model names are `[A-Za-z0-9_]+`; `list` must not shadow the builtin the annotations use."""
    yaml_text = f"""\
integrations:
  github:
    syncs:
      things:
        runs: every day
        output: {model_name}
        endpoint: GET /things
models:
  {model_name}:
    id: string
    tags: string[]
    __string: number
    ratio: 1.5
"""
    gen = generate(yaml_text)
    record = {"id": "a", "tags": ["x"], "ratio": 1.5, "n": 1}
    assert (
        gen.adapter(model_name).dump_python(
            gen.adapter(model_name).validate_python(record), by_alias=True, exclude_unset=True
        )
        == record
    )


SHADOWING_MODELS = {
    "optional-fields": """\
  Shadow:
    id: string
    str?: string
    list?: string
    float?: string
    dict?: string
    tags: string[]
    obj: object
    ratio: 1.5
    __string: number
""",
    "required-fields": """\
  Shadow:
    id: string
    list: string
    str: string
    float: string
    tags: string[]
    obj: object
    ratio: 1.5
    __string: number
""",
    "model-named-str": """\
  str:
    id: string
  Shadow:
    id: string
    tags: string[]
    obj: object
    ratio: 1.5
    __string: number
""",
}
SHADOWING_RECORDS = {
    "optional-fields": {"id": "1", "str": "s", "list": "l", "float": "f", "dict": "d"},
    "required-fields": {"id": "1", "str": "s", "list": "l", "float": "f"},
    "model-named-str": {"id": "1"},
}


def _shadowing_yaml(case: str) -> str:
    head = """\
integrations:
  github:
    syncs:
      things:
        runs: every day
        output: Shadow
        endpoint: GET /things
models:
"""
    return head + SHADOWING_MODELS[case]


@pytest.mark.parametrize("case", sorted(SHADOWING_MODELS))
def test_fields_and_models_named_like_builtins(generate: Any, case: str) -> None:
    """Field and model names `str`, `list`, `float` must not break the annotations using them."""
    gen = generate(_shadowing_yaml(case))
    record = {**SHADOWING_RECORDS[case], "tags": ["x"], "obj": {"a": 1}, "ratio": 1.5, "n": 2}
    assert gen.round_trip("Shadow", record) == record
    if case == "optional-fields":
        minimal = {"id": "1", "tags": [], "obj": {}, "ratio": 1.5}
        assert gen.round_trip("Shadow", minimal) == minimal


MYPY_CASES = {"names": YAML} | {case: _shadowing_yaml(case) for case in SHADOWING_MODELS}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(MYPY_CASES))
def test_generated_module_passes_mypy_strict(case: str, tmp_path: Path, run_mypy: Any) -> None:
    result = run_mypy(_render(MYPY_CASES[case]), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
