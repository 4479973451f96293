"""Records a sync hands to `batch_save` / `batch_delete` / `batch_update`: turned into plain JSON
objects exactly as the script built them, checked against their model, de-duplicated by id.

Validation checks and keeps: a record that passes is saved as given (a model instance as
`model_dump(by_alias=True, exclude_unset=True)`), never as pydantic re-serialised it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

METADATA_KEY = "_nango_metadata"
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

    def check(self, name: str, value: Any) -> list[FieldError]:
        """The validation errors of `value` against model `name` (empty when valid)."""
        try:
            self.validator(name)(value)
        except ValidationError as exc:
            return field_errors(exc, value)
        return []


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


def to_json_value(value: Any) -> Any:
    """A record or output as plain JSON-ready data: model instances dumped by their original
    names with unset optional fields left out; everything else as it is."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


def _record_of(item: Any) -> Any:
    record = to_json_value(item)
    if isinstance(record, dict) and METADATA_KEY in record:
        record = {k: v for k, v in record.items() if k != METADATA_KEY}
    return record


@dataclass
class PreparedBatch:
    records: list[Any]
    invalid: list[InvalidRecord] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)


def prepare_batch(
    items: Iterable[Any], model: str, registry: ModelRegistry, *, validate: bool = True
) -> PreparedBatch:
    """Records as JSON objects, `_nango_metadata` stripped, checked against `model` (dicts only:
    model instances were checked when built), of duplicate ids the last kept."""
    validator = registry.validator(model) if validate and model in registry else None
    originals = list(items)
    plain = _plain_batch(originals, model, validator)
    if plain is not None:
        invalid, ids = plain
        kept, duplicates = keep_last_by_id(originals, ids)
        return PreparedBatch(kept, invalid, duplicates)
    records = [_record_of(item) for item in originals]
    built = zip(records, originals, strict=True)
    dicts = [r for r, item in built if not isinstance(item, BaseModel)]
    invalid = _invalid_records(dicts, model, validator) if validator else []
    kept, duplicates = keep_last_by_id(records)
    return PreparedBatch(kept, invalid, duplicates)


def _plain_batch(
    records: list[Any], model: str, validator: Callable[[Any], Any] | None
) -> tuple[list[InvalidRecord], list[Any]] | None:
    """The common case in one pass: plain dicts without `_nango_metadata`, each checked with the
    model's core validator (validating the whole list at once keeps every instance alive and
    costs more in garbage collection). None when the batch is not all such dicts."""
    invalid: list[InvalidRecord] = []
    ids: list[Any] = []
    for record in records:
        if type(record) is not dict or METADATA_KEY in record:
            return None
        ids.append(record.get("id"))
        if validator is not None:
            try:
                validator(record)
            except ValidationError as exc:
                invalid.append(InvalidRecord(model, record, field_errors(exc, record)))
    return invalid, ids


def _invalid_records(
    records: list[Any], model: str, validator: Callable[[Any], Any]
) -> list[InvalidRecord]:
    invalid: list[InvalidRecord] = []
    for record in records:
        try:
            validator(record)
        except ValidationError as exc:
            invalid.append(InvalidRecord(model, record, field_errors(exc, record)))
    return invalid


def _without_metadata(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != METADATA_KEY}


def _id_of(record: Any) -> Any:
    if isinstance(record, dict):
        value = record.get("id")
        return value if isinstance(value, str | int | float | bool) else repr(value)
    return None


def keep_last_by_id(
    records: list[Any], ids: list[Any] | None = None
) -> tuple[list[Any], list[str]]:
    """Of records sharing an `id`, keep the last (in its place); the repeated ids, in order.
    `ids` may give the records' `id` values when the caller already has them."""
    try:
        ids = [r.get("id") for r in records] if ids is None else ids
        if len(set(ids)) == len(ids) and None not in ids:
            return records, []
    except (AttributeError, TypeError):  # not all dicts, or ids that are not hashable
        pass
    ids = [_id_of(r) for r in records]
    last = {key: index for index, key in enumerate(ids) if key is not None}
    kept: list[Any] = []
    repeated: dict[str, None] = {}
    for index, (record, key) in enumerate(zip(records, ids, strict=True)):
        if key is None or last[key] == index:
            kept.append(record)
        else:
            repeated[str(key)] = None
    return kept, list(repeated)


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
