"""Every model of every corpus nango.yaml: generated examples pass pydantic and the JSON schema.

For each model an example generator walks the parsed definition (`Model.fields`) and builds JSON
records: one with the required fields only, one with every optional field too (and extra keys).
Both the pydantic model (a `TypeAdapter` of the alias for anonymous models) and the JSON schema
must accept them, and the model must dump them back unchanged. Negative examples (a required
field left out, a value of the wrong JSON type) must be rejected by both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydantic
import pytest
from jsonschema import Draft7Validator

from cli.codegen.json_schema import render_json_schema
from cli.codegen.naming import class_name, python_identifier
from cli.codegen.python_models import render_models
from cli.config.loader import load_config
from cli.config.model import Model, ModelField, ParsedConfig
from runtime.sdk import PUBLIC_TYPES

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "nango-yaml"
FOLDERS = sorted(p.name for p in CORPUS.iterdir() if (p / "nango.yaml").is_file()) if CORPUS.is_dir() else []
SKIP_REASON = f"shared nango.yaml corpus not found at {CORPUS}"

ABSENT_TYPES = frozenset({"undefined", "void", "never"})
MAX_DEPTH = 6


class Unbuildable(Exception):
    """The definition has no finite example (a required reference cycle with no way out)."""


class _Absent:
    """A field type that only allows the field to be left out (`undefined`)."""


ABSENT = _Absent()

# JSON kinds, to find a value of a wrong type for a field.
STRING, INT, FLOAT, BOOL, NULL, OBJECT, ARRAY = "string int float bool null object array".split()
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
            return {
                "string": "text" if not self.full else "more text",
                "number": 18 if not self.full else 1.5,
                "bigint": 7,
                "boolean": True if not self.full else False,
                "Date": "2024-01-02T03:04:05Z" if not self.full else "2024-01-02T03:04:05.678+02:00",
                "any": {"any": [1, "x", None]},
                "Record<string, any>": {"k": {"v": 1}},
                "any[]": [1, "two", None],
            }[value]
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
    if not _may_be_absent(item) or NULL in accepted:
        pass
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
def corpus_generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Generated]:
    from conftest import import_generated

    return {"_import": import_generated, "_tmp": tmp_path_factory}  # type: ignore[dict-item]


_CACHE: dict[str, Generated] = {}


def _generated(folder: str, tmp_path_factory: pytest.TempPathFactory) -> Generated:
    if folder not in _CACHE:
        parsed = load_config(CORPUS / folder / "nango.yaml").parsed
        text = render_models(parsed, header=f"# models of {folder}", sdk_exports=PUBLIC_TYPES)
        module = _import(text, tmp_path_factory.mktemp(f"corpus-{folder}"))
        schema = render_json_schema(parsed, comment=f"corpus {folder}")
        _CACHE[folder] = Generated(parsed, text, module, schema)
    return _CACHE[folder]


def _import(text: str, folder: Path) -> Any:
    import importlib.util

    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "models.py"
    file.write_text(text, encoding="utf-8")
    name = f"_codegen_corpus_{folder.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _adapter(gen: Generated, model: Model) -> pydantic.TypeAdapter[Any]:
    if model.is_anon:
        alias = getattr(gen.module, python_identifier(model.name))
        return pydantic.TypeAdapter(alias)
    cls = getattr(gen.module, class_name(model.name))
    assert isinstance(cls, type) and issubclass(cls, pydantic.BaseModel), model.name
    return pydantic.TypeAdapter(cls)


def _validator(gen: Generated, model: Model) -> Draft7Validator:
    from conftest import schema_validator

    return schema_validator(gen.schema, model.name)


def _accepts(adapter: pydantic.TypeAdapter[Any], record: Any) -> bool:
    try:
        adapter.validate_python(record)
    except pydantic.ValidationError:
        return False
    return True


needs_corpus = pytest.mark.skipif(not FOLDERS, reason=SKIP_REASON)


@needs_corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_models(folder: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    gen = _generated(folder, tmp_path_factory)
    Draft7Validator.check_schema(gen.schema)
    assert set(gen.schema["definitions"]) == set(gen.parsed.models)
    problems: list[str] = []
    checked = 0
    for model in gen.parsed.models.values():
        adapter = _adapter(gen, model)
        validator = _validator(gen, model)
        records = []
        for full in (False, True):
            try:
                records.append(Examples(gen.parsed.models, full).record(model))
            except Unbuildable as exc:
                problems.append(f"{model.name}: no example ({exc})")
        for record in records:
            checked += 1
            shown = json.dumps(record)[:300]
            if not _accepts(adapter, record):
                problems.append(f"{model.name}: pydantic rejects {shown}")
                continue
            dumped = adapter.dump_python(
                adapter.validate_python(record), by_alias=True, exclude_unset=True
            )
            if _canonical(dumped) != _canonical(record):
                problems.append(f"{model.name}: dump changed {shown} into {dumped!r:.300}")
            errors = [e.message for e in validator.iter_errors(record)]
            if errors:
                problems.append(f"{model.name}: schema rejects {shown}: {errors[:3]}")
        if not records:
            continue
        for label, bad in negatives(model, records[0]):
            checked += 1
            if _accepts(adapter, bad):
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
def test_corpus_models_pass_mypy_strict(folder: str, tmp_path: Path) -> None:
    parsed = load_config(CORPUS / folder / "nango.yaml").parsed
    (tmp_path / "models.py").write_text(
        render_models(parsed, header=f"# models of {folder}", sdk_exports=PUBLIC_TYPES),
        encoding="utf-8",
    )
    env = {**os.environ, "MYPYPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--config-file",
            os.devnull,
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "models.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
