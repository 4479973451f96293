"""Checking values against a project's models: the registry of `models.py`, field errors by
path, and the summary of a model's invalid records (counts by path, the first few in full).

Validation checks and never changes: a record that passes is kept as the script built it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import SchemaError, SchemaValidator

SAMPLE_SIZE = 3


@dataclass
class FieldError:
    path: str
    message: str


@dataclass
class InvalidRecord:
    model: str
    record: Any
    errors: list[FieldError]


class ModelRegistry:
    """The models of a project's `models.py` (its `NANGO_MODELS`), by nango.yaml name."""

    def __init__(self, models: Mapping[str, object]) -> None:
        self._models = dict(models)
        self._validators: dict[str, Callable[[Any], Any]] = {}
        self._checkers: dict[str, Callable[[Any], Any]] = {}

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def get(self, name: str) -> object | None:
        return self._models.get(name)

    def validator(self, name: str) -> Callable[[Any], Any]:
        """A function that validates a value against the model (raises `ValidationError`)."""
        found = self._validators.get(name)
        if found is None:
            target = self._models[name]
            if isinstance(target, type) and issubclass(target, BaseModel):
                # the model's core validator: `model_validate` without its per-call overhead
                found = target.__pydantic_validator__.validate_python
            else:
                adapter: TypeAdapter[Any] = TypeAdapter(target)  # type: ignore[arg-type]
                found = adapter.validate_python
            self._validators[name] = found
        return found

    def record_checker(self, name: str) -> Callable[[dict[str, Any]], Any]:
        """A function that raises `ValidationError` for a dict whose top-level keys are all
        strings exactly when `validator(name)` would. Its result means nothing and its errors
        are not the validator's (ask `validator(name)` for those): for a plain model, it checks
        the fields without building an instance, about half the validator's time."""
        found = self._checkers.get(name)
        if found is None:
            target = self._models[name]
            found = _fields_checker(target) or self.validator(name)
            self._checkers[name] = found
        return found

    def check(self, name: str, value: Any) -> list[FieldError]:
        """The validation errors of `value` against model `name` (empty when valid)."""
        try:
            self.validator(name)(value)
        except ValidationError as exc:
            return field_errors(exc, value)
        return []


def _fields_checker(target: object) -> Callable[[Any], Any] | None:
    """The core validator of a plain model's fields alone, as a typed dict's (no instance and no
    set of the fields given are built), undeclared fields ignored rather than copied when the
    model allows them (only a key that is not a string tells the two apart). None for anything
    else: a root model, one with its own `__init__`, `model_post_init`, model validators, a
    schema for its extra fields, strict."""
    if not (isinstance(target, type) and issubclass(target, BaseModel)):
        return None
    try:
        schema = target.__pydantic_core_schema__
        definitions = schema.get("definitions") if schema["type"] == "definitions" else None
        top = schema["schema"] if definitions is not None else schema
        if top["type"] == "definition-ref" and definitions is not None:
            top = next(d for d in definitions if d.get("ref") == top["schema_ref"])
        fields = _fields_as_typed_dict(top)
        if fields is None:
            return None
        if definitions is not None:
            fields = {"type": "definitions", "schema": fields, "definitions": definitions}
        return SchemaValidator(fields, top.get("config")).validate_python
    except (AttributeError, LookupError, SchemaError, StopIteration, TypeError):
        return None


def _fields_as_typed_dict(model: Any) -> dict[str, Any] | None:
    """The `typed-dict` schema that checks what the `model-fields` schema of a `model` schema
    checks, or None when the model checks more than its fields."""
    config = model.get("config") or {}
    if (
        model["type"] != "model"
        or model.get("root_model")
        or model.get("custom_init")
        or model.get("post_init")
        or model.get("strict")
        or config.get("strict")
    ):
        return None
    fields: dict[str, Any] = model["schema"]
    if fields["type"] != "model-fields" or fields.get("strict"):
        return None
    if fields.get("extras_schema") is not None or fields.get("extras_keys_schema") is not None:
        return None
    extra = fields.get("extra_behavior") or config.get("extra_fields_behavior") or "ignore"
    typed = {name: _typed_dict_field(field) for name, field in fields["fields"].items()}
    return {
        "type": "typed-dict",
        "fields": typed,
        "extra_behavior": "ignore" if extra == "allow" else extra,
    }


def _typed_dict_field(field: dict[str, Any]) -> dict[str, Any]:
    """A `model-field` as a `typed-dict-field` (its schema, alias and the rest kept; `frozen`
    only matters to assignments): required unless it has a default (a model field's default is
    the `default` schema around its type)."""
    typed = {key: value for key, value in field.items() if key != "frozen"}
    typed["type"] = "typed-dict-field"
    typed["required"] = field["schema"]["type"] != "default"
    return typed


def field_errors(exc: ValidationError, value: Any = None) -> list[FieldError]:
    """One error per field path of `value` (union branches that failed are merged into one)."""
    found: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        path = _value_path(value, error["loc"]) if value is not None else _dotted(error["loc"])
        messages = found.setdefault(path or "(record)", [])
        if error["msg"] not in messages:
            messages.append(error["msg"])
    return [FieldError(path, " or ".join(messages)) for path, messages in found.items()]


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _value_path(value: Any, loc: tuple[Any, ...]) -> str:
    """The part of a pydantic location that exists in `value` (or is a missing key): drops the
    names of union branches (`number.int`, `owner.User`) that are not in the data."""
    parts: list[str] = []
    current = value
    for index, part in enumerate(loc):
        if isinstance(current, dict):
            if part in current:
                parts.append(str(part))
                current = current[part]
            elif index == len(loc) - 1 and isinstance(part, str):
                parts.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            parts.append(str(part))
            current = current[part]
    return ".".join(parts)


@dataclass
class ValidationSummary:
    """Invalid records of one model: counts by field path, and the first few in full."""

    model: str
    invalid: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    messages: dict[str, str] = field(default_factory=dict)
    samples: list[InvalidRecord] = field(default_factory=list)

    def add(self, found: InvalidRecord) -> None:
        self.invalid += 1
        for error in found.errors:
            self.by_path[error.path] += 1
            self.messages.setdefault(error.path, error.message)
        if len(self.samples) < SAMPLE_SIZE:
            self.samples.append(found)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "invalid": self.invalid,
            "errors_by_path": {
                path: {"count": count, "message": self.messages.get(path, "")}
                for path, count in self.by_path.most_common()
            },
            "first_records": [
                {"record": s.record, "errors": [e.__dict__ for e in s.errors]} for s in self.samples
            ],
        }
