"""Every model of every corpus nango.yaml: generated examples pass pydantic and the JSON schema.

For each model an example generator walks the parsed definition (`Model.fields`) and builds JSON
records: one with the required fields only, one with every optional field too (and extra keys).
Both the pydantic model (a `TypeAdapter` of the alias for anonymous models) and the JSON schema
must accept them, and the model must dump them back unchanged. Negative examples (a required
field left out, a value of the wrong JSON type) must be rejected by both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydantic
import pytest
from jsonschema import Draft7Validator

from cli.codegen.json_schema import render_json_schema
from cli.codegen.naming import python_identifier
from cli.codegen.python_models import module_names, render_models
from cli.config.loader import load_config
from cli.config.model import Model, ModelField, ParsedConfig
from runtime.sdk.types import PUBLIC_TYPES

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "nango-yaml"
FOLDERS = (
    sorted(p.name for p in CORPUS.iterdir() if (p / "nango.yaml").is_file())
    if CORPUS.is_dir()
    else []
)
SKIP_REASON = f"shared nango.yaml corpus not found at {CORPUS}"

ABSENT_TYPES = frozenset({"undefined", "void", "never"})
MAX_DEPTH = 6


class Unbuildable(Exception):
    """The definition has no finite example (a required reference cycle with no way out)."""


class _Absent:
    """A field type that only allows the field to be left out (`undefined`)."""


ABSENT = _Absent()

# JSON kinds, to find a value of a wrong type for a field.
STRING, INT, FLOAT, BOOL = "string", "int", "float", "bool"
NULL, OBJECT, ARRAY = "null", "object", "array"
ALL_KINDS = frozenset({STRING, INT, FLOAT, BOOL, NULL, OBJECT, ARRAY})
WRONG_VALUES: list[tuple[str, Any]] = [
    (NULL, None),
    (STRING, "zz-wrong-type"),
    (INT, 987654321),
    (FLOAT, 0.25),
    (BOOL, False),
    (OBJECT, {"zz": "wrong"}),
    (ARRAY, [["zz"]]),
]
TS_KINDS: dict[str, frozenset[str]] = {
    "string": frozenset({STRING}),
    "number": frozenset({INT, FLOAT}),
    "bigint": frozenset({INT}),
    "boolean": frozenset({BOOL}),
    "Date": frozenset({STRING}),
    "any": ALL_KINDS,
    "Record<string, any>": frozenset({OBJECT}),
    "any[]": frozenset({ARRAY}),
}


# Example values of the YAML types, by type name (`value` of a `tsType` field).
SCALARS: dict[str, Any] = {
    "string": "text",
    "number": 18,
    "bigint": 7,
    "boolean": True,
    "Date": "2024-01-02T03:04:05Z",
    "any": {"any": [1, "x", None]},
    "Record<string, any>": {"k": {"v": 1}},
    "any[]": [1, "two", None],
}
FULL_SCALARS: dict[str, Any] = {
    **SCALARS,
    "string": "more text",
    "number": 1.5,
    "boolean": False,
    "Date": "2024-01-02T03:04:05.678+02:00",
}


def _may_be_absent(item: ModelField) -> bool:
    if item.optional:
        return True
    if item.union:
        return any(m.ts_type and m.value in ABSENT_TYPES for m in item.members)
    return bool(item.ts_type and item.value in ABSENT_TYPES and not item.array)


@dataclass
class Examples:
    """Builds example values for the fields of the models of one config."""

    models: dict[str, Model]
    full: bool  # include optional fields, extra keys, and the last member of each union

    def record(self, model: Model) -> Any:
        if model.is_anon:
            value = self.value(model.fields[0], (model.name,)) if model.fields else None
            if value is ABSENT:
                raise Unbuildable(f"{model.name} is only `undefined`")
            return value
        return self.object(model.fields, (model.name,))

    def object(self, fields: list[ModelField], stack: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        extra: ModelField | None = None
        for item in fields:
            if item.dynamic:
                extra = item
                continue
            if _may_be_absent(item) and not (self.full and len(stack) <= 3):
                continue
            value = self.value(item, stack)
            if value is not ABSENT:
                out[item.name] = value
        if self.full and len(stack) <= 3:
            key = self._extra_key(fields)
            if extra is not None:
                value = self.value(replace(extra, dynamic=None, optional=None), stack)
                if value is not ABSENT:
                    out[key] = value
            else:
                out[key] = {"kept": ["as", 1, 2.5, True, None]}
        return out

    @staticmethod
    def _extra_key(fields: list[ModelField]) -> str:
        names = {f.name for f in fields} | {python_identifier(f.name) for f in fields}
        key = "zz_undeclared"
        while key in names:
            key += "_"
        return key

    def value(self, item: ModelField, stack: tuple[str, ...]) -> Any:
        if len(stack) > MAX_DEPTH:
            raise Unbuildable(" -> ".join(stack))
        if item.union:
            return self._union(item.members, stack)
        if item.array:
            if isinstance(item.value, list):
                members = [self.value(m, stack) for m in item.members if self._usable(m, stack)]
                return [m for m in members if m is not ABSENT]
            inner = replace(item, array=None)
            if not self._usable(inner, stack):
                return []
            value = self.value(inner, stack)
            return [] if value is ABSENT else [value]
        if isinstance(item.value, list):
            return self.object(item.members, (*stack, item.name))
        if item.model and isinstance(item.value, str):
            model = self.models[item.value]
            return self.object(model.fields, (*stack, item.value))
        return self._scalar(item)

    def _usable(self, item: ModelField, stack: tuple[str, ...]) -> bool:
        """False for members that only mean "absent", and for references back into `stack`."""
        if item.ts_type and item.value in ABSENT_TYPES and not item.array:
            return False
        return not (item.model and not item.array and item.value in stack)

    def _union(self, members: list[ModelField], stack: tuple[str, ...]) -> Any:
        usable = [m for m in members if self._usable(m, stack)]
        if not usable:
            if any(m.ts_type and m.value in ABSENT_TYPES for m in members):
                return ABSENT
            usable = members
        non_null = [m for m in usable if m.value is not None]
        choice = usable[-1] if self.full else (non_null or usable)[0]
        return self.value(choice, stack)

    def _scalar(self, item: ModelField) -> Any:
        value = item.value
        if item.ts_type and isinstance(value, str):
            if value in ABSENT_TYPES:
                return ABSENT
            return (FULL_SCALARS if self.full else SCALARS)[value]
        return value  # a literal: string, number, boolean or null


def kinds(item: ModelField) -> frozenset[str]:
    """The JSON kinds a field's type may accept (an over-approximation)."""
    if item.union:
        return frozenset().union(*(kinds(m) for m in item.members))
    if item.array:
        return frozenset({ARRAY})
    if isinstance(item.value, list) or item.model:
        return frozenset({OBJECT})
    value = item.value
    if item.ts_type and isinstance(value, str):
        return TS_KINDS.get(value, frozenset())
    if value is None:
        return frozenset({NULL})
    if isinstance(value, bool):
        return frozenset({BOOL})
    if isinstance(value, int):
        return frozenset({INT})
    if isinstance(value, float):
        return frozenset({FLOAT})
    return frozenset({STRING})


def wrong_value(item: ModelField) -> tuple[bool, Any]:
    """A value of a JSON kind the field's type never accepts, if there is one."""
    accepted = kinds(item)
    for kind, value in WRONG_VALUES:
        if kind not in accepted:
            return True, value
    return False, None


def negatives(model: Model, valid: Any) -> list[tuple[str, Any]]:
    """Examples that must be rejected: a required field left out, a value of a wrong type."""
    found: list[tuple[str, Any]] = []
    if model.is_anon:
        ok, value = wrong_value(model.fields[0]) if model.fields else (False, None)
        if ok:
            found.append(("wrong type", value))
        return found
    fields = [f for f in model.fields if not f.dynamic]
    required = [f for f in fields if not _may_be_absent(f)]
    if required:
        found.append((f"without {required[0].name}", _without(valid, required[0].name)))
    for item in fields:
        ok, value = wrong_value(item)
        if ok:
            found.append((f"{item.name} = {value!r}", {**valid, item.name: value}))
            break
    if not found:
        found.append(("not an object", ["not", "an", "object"]))
    return found


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# ----- generation, once per corpus folder


@dataclass
class Generated:
    parsed: ParsedConfig
    text: str
    module: Any
    schema: dict[str, Any]


@pytest.fixture(scope="module")
def corpus(
    tmp_path_factory: pytest.TempPathFactory, import_models: Any
) -> Callable[[str], Generated]:
    """Render, import and describe a corpus folder's models once per module."""
    cache: dict[str, Generated] = {}

    def get(folder: str) -> Generated:
        if folder not in cache:
            parsed = load_config(CORPUS / folder / "nango.yaml").parsed
            text = render_models(parsed, header=f"# models of {folder}", sdk_exports=PUBLIC_TYPES)
            module = import_models(text, tmp_path_factory.mktemp(f"corpus-{folder}"))
            schema = render_json_schema(parsed, comment=f"corpus {folder}")
            cache[folder] = Generated(parsed, text, module, schema)
        return cache[folder]

    return get


class _Checker:
    """Validates one model as scripts do: `Model.model_validate`, or a TypeAdapter of an alias."""

    def __init__(self, gen: Generated, model: Model) -> None:
        found = getattr(gen.module, module_names(gen.parsed)[model.name])
        if not model.is_anon:
            assert isinstance(found, type) and issubclass(found, pydantic.BaseModel), model.name
        self.cls = None if model.is_anon else found
        self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(found)

    def validate(self, record: Any) -> Any:
        if self.cls is not None:
            return self.cls.model_validate(record)
        return self.adapter.validate_python(record)

    def accepts(self, record: Any) -> bool:
        try:
            self.validate(record)
        except pydantic.ValidationError:
            return False
        return True

    def round_trip(self, record: Any) -> Any:
        return self.adapter.dump_python(self.validate(record), by_alias=True, exclude_unset=True)


needs_corpus = pytest.mark.skipif(not FOLDERS, reason=SKIP_REASON)


@needs_corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_models(folder: str, corpus: Any, validator_for: Any) -> None:
    gen = corpus(folder)
    Draft7Validator.check_schema(gen.schema)
    assert set(gen.schema["definitions"]) == set(gen.parsed.models)
    problems: list[str] = []
    checked = 0
    for model in gen.parsed.models.values():
        checker = _Checker(gen, model)
        validator = validator_for(gen.schema, model.name)
        records = []
        for full in (False, True):
            try:
                records.append(Examples(gen.parsed.models, full).record(model))
            except Unbuildable as exc:
                problems.append(f"{model.name}: no example ({exc})")
        for record in records:
            checked += 1
            shown = json.dumps(record)[:300]
            if not checker.accepts(record):
                problems.append(f"{model.name}: pydantic rejects {shown}")
                continue
            dumped = checker.round_trip(record)
            if _canonical(dumped) != _canonical(record):
                problems.append(f"{model.name}: dump changed {shown} into {dumped!r:.300}")
            errors = [e.message for e in validator.iter_errors(record)]
            if errors:
                problems.append(f"{model.name}: schema rejects {shown}: {errors[:3]}")
        if not records:
            continue
        for label, bad in negatives(model, records[0]):
            checked += 1
            if checker.accepts(bad):
                problems.append(f"{model.name}: pydantic accepts the negative example ({label})")
            if validator.is_valid(bad):
                problems.append(f"{model.name}: schema accepts the negative example ({label})")
    assert checked > 0
    assert not problems, "\n".join(problems)


@needs_corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_models_are_deterministic(folder: str) -> None:
    parsed = load_config(CORPUS / folder / "nango.yaml").parsed
    first = render_models(parsed, header="# h", sdk_exports=PUBLIC_TYPES)
    again = render_models(
        load_config(CORPUS / folder / "nango.yaml").parsed, header="# h", sdk_exports=PUBLIC_TYPES
    )
    assert first == again
    assert first.startswith("# h\n")


@pytest.mark.slow
@needs_corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_models_pass_mypy_strict(folder: str, tmp_path: Path, run_mypy: Any) -> None:
    """mypy --strict (MYPYPATH = repo root) on each corpus models.py, in a folder of its own."""
    parsed = load_config(CORPUS / folder / "nango.yaml").parsed
    text = render_models(parsed, header=f"# models of {folder}", sdk_exports=PUBLIC_TYPES)
    result = run_mypy(text, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
