"""The contract of the generated models: pydantic models and JSON schema agree, data never changes.

Every case of `CASES` is checked three ways: the pydantic model accepts or rejects it, the JSON
schema (draft-07, with `$ref`s resolved against the whole document) gives the same verdict, and
an accepted record dumps back to exactly the same JSON (types included: `18` is not `18.0`).
"""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from runtime.sdk.validation import ModelRegistry

YAML = """\
integrations:
  github:
    syncs:
      categories:
        runs: every day
        output: Category
        endpoint: GET /categories
    actions:
      create-issue:
        input: string | number
        output: Issue | null
        endpoint: POST /issues
      list-tags:
        input: Tag[]
        output: boolean
        endpoint: POST /tags
      pick-state:
        input: open | closed
        output: date
        endpoint: POST /state
      one-or-true:
        input: 1 | true
        output: "1"
        endpoint: POST /one
models:
  Optionality:
    required: string
    optional?: string
    nullable: string | null
    both?: string | null
    maybe: string | undefined
  Scalars:
    text: string
    count: number
    flag: boolean
    big: bigint
    when: date
    when_upper: Date
    anything: any
    obj: object
    arr: array
  Literals:
    state: open | closed
    one: 1
    is_true: true
    is_false: false
    zero: 0
    mixed: 1 | true | open
    nothing: null
  Tag:
    id: string
    label?: string
  Collections:
    tags: string[]
    counts: number[]
    refs: Tag[]
    mixed: [string, Tag]
    maybe_tags?: string[] | null
  Nested:
    meta:
      source: string
      depth?: number
      inner:
        ok: boolean
  Base:
    id: string
    created: date
  Mixin:
    tenant?: string
  Extended:
    __extends: Base, Mixin
    name: string
  Dictionary:
    id: string
    __string: number
  Category:
    id: string
    parent?: Category
    children: Category[]
  Issue:
    id: string
    title: string
    state: open | closed
    labels: Tag[]
    category?: Category | null
  Aliased:
    class: string
    first-name?: string
"""

DATE = "2024-01-02T03:04:05Z"
OPT = {"required": "r", "nullable": None}
SCALARS = {
    "text": "t",
    "count": 18,
    "flag": True,
    "big": 7,
    "when": DATE,
    "when_upper": "2024-01-02T03:04:05.678+02:00",
    "anything": {"a": [1, "x", None]},
    "obj": {"k": {"nested": 1}},
    "arr": [1, "two", None, {"three": 3}],
}
LITERALS = {
    "state": "open",
    "one": 1,
    "is_true": True,
    "is_false": False,
    "zero": 0,
    "mixed": 1,
    "nothing": None,
}
COLLECTIONS = {
    "tags": ["a"],
    "counts": [1, 2.5],
    "refs": [{"id": "t"}],
    "mixed": ["s", {"id": "t"}],
}
EXTENDED = {"id": "e", "created": DATE, "name": "n"}
LEAF = {"id": "leaf", "children": []}
ISSUE = {"id": "1", "title": "T", "state": "closed", "labels": []}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**base, **changes}


def _without(base: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in base.items() if k not in keys}


# (case id, model, record, valid)
CASES: list[tuple[str, str, Any, bool]] = [
    # optional (may be absent) and nullable (may be null) are distinct
    ("opt-minimal", "Optionality", OPT, True),
    ("opt-optional-set", "Optionality", _with(OPT, optional="o"), True),
    ("opt-optional-null", "Optionality", _with(OPT, optional=None), False),
    ("opt-nullable-missing", "Optionality", _without(OPT, "nullable"), False),
    ("opt-nullable-set", "Optionality", _with(OPT, nullable="n"), True),
    ("opt-both-null", "Optionality", _with(OPT, both=None), True),
    ("opt-both-set", "Optionality", _with(OPT, both="b"), True),
    ("opt-undefined-union-set", "Optionality", _with(OPT, maybe="m"), True),
    ("opt-undefined-union-null", "Optionality", _with(OPT, maybe=None), False),
    ("opt-required-missing", "Optionality", _without(OPT, "required"), False),
    ("opt-required-null", "Optionality", _with(OPT, required=None), False),
    # scalars: no coercion either way
    ("scalars", "Scalars", SCALARS, True),
    ("scalars-float", "Scalars", _with(SCALARS, count=1.5), True),
    ("scalars-negative-zero-int", "Scalars", _with(SCALARS, count=0), True),
    ("scalars-string-for-number", "Scalars", _with(SCALARS, count="18"), False),
    ("scalars-bool-for-number", "Scalars", _with(SCALARS, count=True), False),
    ("scalars-int-for-string", "Scalars", _with(SCALARS, text=18), False),
    ("scalars-int-for-bool", "Scalars", _with(SCALARS, flag=1), False),
    ("scalars-string-for-bool", "Scalars", _with(SCALARS, flag="true"), False),
    ("scalars-float-for-bigint", "Scalars", _with(SCALARS, big=1.5), False),
    ("scalars-string-for-bigint", "Scalars", _with(SCALARS, big="7"), False),
    ("scalars-bool-for-bigint", "Scalars", _with(SCALARS, big=True), False),
    ("scalars-list-for-object", "Scalars", _with(SCALARS, obj=[1]), False),
    ("scalars-dict-for-array", "Scalars", _with(SCALARS, arr={"a": 1}), False),
    ("scalars-any-null", "Scalars", _with(SCALARS, anything=None), True),
    ("scalars-date-garbage", "Scalars", _with(SCALARS, when="not a date"), False),
    ("scalars-date-bad-month", "Scalars", _with(SCALARS, when="2024-13-02T03:04:05Z"), False),
    ("scalars-date-empty", "Scalars", _with(SCALARS, when=""), False),
    ("scalars-date-null", "Scalars", _with(SCALARS, when=None), False),
    ("scalars-date-number", "Scalars", _with(SCALARS, when=1700000000), False),
    ("scalars-date-float", "Scalars", _with(SCALARS, when=1.5), False),
    ("scalars-date-offset", "Scalars", _with(SCALARS, when="2024-01-02T03:04:05.5-07:00"), True),
    # literals: types are compared too (1 is not true, 0 is not false)
    ("literals", "Literals", LITERALS, True),
    ("literals-mixed-true", "Literals", _with(LITERALS, mixed=True), True),
    ("literals-mixed-open", "Literals", _with(LITERALS, mixed="open"), True),
    ("literals-mixed-other", "Literals", _with(LITERALS, mixed="closed"), False),
    ("literals-mixed-false", "Literals", _with(LITERALS, mixed=False), False),
    ("literals-state-other", "Literals", _with(LITERALS, state="merged"), False),
    ("literals-one-as-true", "Literals", _with(LITERALS, one=True), False),
    ("literals-one-as-two", "Literals", _with(LITERALS, one=2), False),
    ("literals-one-as-string", "Literals", _with(LITERALS, one="1"), False),
    ("literals-true-as-one", "Literals", _with(LITERALS, is_true=1), False),
    ("literals-false-as-zero", "Literals", _with(LITERALS, is_false=0), False),
    ("literals-zero-as-false", "Literals", _with(LITERALS, zero=False), False),
    ("literals-null-as-string", "Literals", _with(LITERALS, nothing="null"), False),
    ("literals-null-missing", "Literals", _without(LITERALS, "nothing"), False),
    # arrays, YAML lists (array of a union), model references
    ("collections", "Collections", COLLECTIONS, True),
    ("collections-empty", "Collections", _with(COLLECTIONS, tags=[], refs=[], mixed=[]), True),
    ("collections-maybe-null", "Collections", _with(COLLECTIONS, maybe_tags=None), True),
    ("collections-maybe-set", "Collections", _with(COLLECTIONS, maybe_tags=["x"]), True),
    ("collections-string-not-list", "Collections", _with(COLLECTIONS, tags="a"), False),
    ("collections-wrong-item", "Collections", _with(COLLECTIONS, tags=["a", 1]), False),
    ("collections-bool-number-item", "Collections", _with(COLLECTIONS, counts=[True]), False),
    ("collections-ref-missing-id", "Collections", _with(COLLECTIONS, refs=[{}]), False),
    ("collections-mixed-number", "Collections", _with(COLLECTIONS, mixed=[1]), False),
    (
        "collections-ref-extra-kept",
        "Collections",
        _with(COLLECTIONS, refs=[{"id": "t", "x": 1}]),
        True,
    ),
    # nested objects keep their extra keys too
    ("nested", "Nested", {"meta": {"source": "s", "inner": {"ok": False}}}, True),
    (
        "nested-extras",
        "Nested",
        {"meta": {"source": "s", "z": 1, "inner": {"ok": True, "y": [1]}}},
        True,
    ),
    (
        "nested-optional",
        "Nested",
        {"meta": {"source": "s", "depth": 2, "inner": {"ok": True}}},
        True,
    ),
    ("nested-missing-inner", "Nested", {"meta": {"source": "s"}}, False),
    ("nested-wrong-deep", "Nested", {"meta": {"source": "s", "inner": {"ok": "yes"}}}, False),
    (
        "nested-null-optional",
        "Nested",
        {"meta": {"source": "s", "depth": None, "inner": {"ok": True}}},
        False,
    ),
    # __extends: A, B
    ("extended", "Extended", EXTENDED, True),
    ("extended-with-mixin", "Extended", _with(EXTENDED, tenant="t"), True),
    ("extended-missing-base-field", "Extended", _without(EXTENDED, "created"), False),
    ("extended-missing-own-field", "Extended", _without(EXTENDED, "name"), False),
    ("extended-mixin-null", "Extended", _with(EXTENDED, tenant=None), False),
    # __string: type for extra keys; other models keep any extra key as it is
    ("dictionary", "Dictionary", {"id": "d", "a": 1, "b": 2.5}, True),
    ("dictionary-no-extras", "Dictionary", {"id": "d"}, True),
    ("dictionary-wrong-extra", "Dictionary", {"id": "d", "a": "1"}, False),
    ("dictionary-bool-extra", "Dictionary", {"id": "d", "a": True}, False),
    ("dictionary-declared-still-typed", "Dictionary", {"id": 1}, False),
    ("extra-kept", "Tag", {"id": "t", "unknown": {"deep": [1, 2.0, None]}, "n": 1}, True),
    # recursive models
    ("category-leaf", "Category", LEAF, True),
    (
        "category-tree",
        "Category",
        {"id": "root", "parent": LEAF, "children": [LEAF, {"id": "c", "children": [LEAF]}]},
        True,
    ),
    ("category-deep-error", "Category", {"id": "r", "children": [{"id": "c"}]}, False),
    ("category-parent-null", "Category", _with(LEAF, parent=None), False),
    # references in unions
    ("issue", "Issue", ISSUE, True),
    ("issue-category-null", "Issue", _with(ISSUE, category=None), True),
    ("issue-category", "Issue", _with(ISSUE, category=LEAF, labels=[{"id": "x"}]), True),
    ("issue-category-wrong", "Issue", _with(ISSUE, category={"id": "x"}), False),
    # fields whose names are not Python names (an alias)
    ("aliased", "Aliased", {"class": "c", "first-name": "f"}, True),
    ("aliased-optional-absent", "Aliased", {"class": "c"}, True),
    ("aliased-missing", "Aliased", {"first-name": "f"}, False),
    ("aliased-wrong", "Aliased", {"class": "c", "first-name": 1}, False),
    # anonymous models (action inputs and outputs that are not model names)
    ("anon-union-string", "Anonymous_github_action_createissue_input", "x", True),
    ("anon-union-int", "Anonymous_github_action_createissue_input", 3, True),
    ("anon-union-float", "Anonymous_github_action_createissue_input", 3.5, True),
    ("anon-union-bool", "Anonymous_github_action_createissue_input", False, False),
    ("anon-union-null", "Anonymous_github_action_createissue_input", None, False),
    ("anon-model-or-null", "Anonymous_github_action_createissue_output", ISSUE, True),
    ("anon-model-or-null-null", "Anonymous_github_action_createissue_output", None, True),
    ("anon-model-or-null-bad", "Anonymous_github_action_createissue_output", {"id": "1"}, False),
    (
        "anon-array",
        "Anonymous_github_action_listtags_input",
        [{"id": "a"}, {"id": "b", "x": 1}],
        True,
    ),
    ("anon-array-bad", "Anonymous_github_action_listtags_input", [{"label": "a"}], False),
    ("anon-array-not-list", "Anonymous_github_action_listtags_input", {"id": "a"}, False),
    ("anon-bool", "Anonymous_github_action_listtags_output", True, True),
    ("anon-bool-int", "Anonymous_github_action_listtags_output", 1, False),
    ("anon-enum", "Anonymous_github_action_pickstate_input", "closed", True),
    ("anon-enum-other", "Anonymous_github_action_pickstate_input", "merged", False),
    ("anon-date", "Anonymous_github_action_pickstate_output", DATE, True),
    ("anon-date-bad", "Anonymous_github_action_pickstate_output", "soon", False),
    ("anon-literal-one", "Anonymous_github_action_oneortrue_output", 1, True),
    ("anon-literal-one-true", "Anonymous_github_action_oneortrue_output", True, False),
    ("anon-literal-one-or-true-1", "Anonymous_github_action_oneortrue_input", 1, True),
    ("anon-literal-one-or-true-true", "Anonymous_github_action_oneortrue_input", True, True),
    ("anon-literal-one-or-true-false", "Anonymous_github_action_oneortrue_input", False, False),
    ("anon-literal-one-or-true-0", "Anonymous_github_action_oneortrue_input", 0, False),
]


@pytest.fixture(scope="module")
def gen(generate: Any) -> Any:
    return generate(YAML)


def _canonical(value: Any) -> str:
    """JSON text that tells `1`, `1.0` and `true` apart (Python's `==` does not)."""
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize(
    ("model", "record", "valid"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_pydantic_verdict(gen: Any, model: str, record: Any, valid: bool) -> None:
    assert gen.pydantic_accepts(model, record) is valid


@pytest.mark.parametrize(
    ("model", "record", "valid"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_json_schema_verdict(gen: Any, model: str, record: Any, valid: bool) -> None:
    assert gen.schema_accepts(model, record) is valid


RECORDS = [c for c in CASES if isinstance(c[2], dict)]


@pytest.mark.parametrize(
    ("model", "record", "valid"), [c[1:] for c in RECORDS], ids=[c[0] for c in RECORDS]
)
def test_record_checker_verdict(gen: Any, model: str, record: Any, valid: bool) -> None:
    """What `batch_save` checks a page of records with gives the model's verdict."""
    checker = ModelRegistry(gen.module.NANGO_MODELS).record_checker(model)
    try:
        checker(record)
    except pydantic.ValidationError:
        assert not valid
    else:
        assert valid


def test_record_checker_agrees_with_the_model_on_every_record_of_every_case(gen: Any) -> None:
    registry = ModelRegistry(gen.module.NANGO_MODELS)
    disagree = []
    for model in gen.module.NANGO_MODELS:
        checker, validate = registry.record_checker(model), registry.validator(model)
        for case, _, record, _ in RECORDS:
            if _refuses(checker, record) != _refuses(validate, record):
                disagree.append((model, case))
    assert disagree == []


def _refuses(check: Any, record: Any) -> bool:
    try:
        check(record)
    except pydantic.ValidationError:
        return True
    return False


VALID = [c for c in CASES if c[3]]


@pytest.mark.parametrize(("model", "record"), [c[1:3] for c in VALID], ids=[c[0] for c in VALID])
def test_dump_round_trip_is_unchanged(gen: Any, model: str, record: Any) -> None:
    assert _canonical(gen.round_trip(model, record)) == _canonical(record)


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_every_model_has_cases(gen: Any) -> None:
    covered = {c[1] for c in CASES}
    assert covered >= set(gen.parsed.models) - {"Base", "Mixin"}


@pytest.mark.slow
def test_contract_models_pass_mypy_strict(gen: Any, tmp_path: Any, run_mypy: Any) -> None:
    result = run_mypy(gen.text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_date_only_string_is_the_known_difference(gen: Any) -> None:
    """pydantic takes any ISO 8601 date string; the schema's `date-time` needs a full RFC 3339
    date-time. This is the one accepted disagreement between the two."""
    record = _with(SCALARS, when="2024-01-02")
    assert gen.pydantic_accepts("Scalars", record)
    assert gen.round_trip("Scalars", record) == record
    assert not gen.schema_accepts("Scalars", record)
