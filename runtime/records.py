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
                found = target.model_validate
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
            return field_errors(exc)
        return []


def field_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(p) for p in error["loc"]) or "(record)", error["msg"])
        for error in exc.errors(include_url=False)
    ]


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
    batch = PreparedBatch([])
    validator = registry.validator(model) if validate and model in registry else None
    for item in items:
        record = _record_of(item)
        if validator is not None and not isinstance(item, BaseModel):
            try:
                validator(record)
            except ValidationError as exc:
                batch.invalid.append(InvalidRecord(model, record, field_errors(exc)))
        batch.records.append(record)
    batch.records, batch.duplicate_ids = keep_last_by_id(batch.records)
    return batch


def keep_last_by_id(records: list[Any]) -> tuple[list[Any], list[str]]:
    """Of records sharing an `id`, keep the last (in its place); the repeated ids, in order."""
    last: dict[str, int] = {}
    for index, record in enumerate(records):
        if isinstance(record, dict) and "id" in record:
            last[str(record["id"])] = index
    if len(last) == len(records):
        return records, []
    kept: list[Any] = []
    repeated: dict[str, None] = {}
    for index, record in enumerate(records):
        key = str(record["id"]) if isinstance(record, dict) and "id" in record else None
        if key is None or last[key] == index:
            kept.append(record)
        else:
            repeated[key] = None
    return kept, list(repeated)


@dataclass
class ValidationSummary:
    """Invalid records of one model: counts by field path, and the first few in full."""

    model: str
    invalid: int = 0
    by_path: Counter[str] = field(default_factory=Counter)
    samples: list[InvalidRecord] = field(default_factory=list)

    def add(self, found: InvalidRecord) -> None:
        self.invalid += 1
        for error in found.errors:
            self.by_path[f"{error.path}: {error.message}"] += 1
        if len(self.samples) < SAMPLE_SIZE:
            self.samples.append(found)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "invalid": self.invalid,
            "errors_by_path": dict(self.by_path.most_common()),
            "first_records": [
                {"record": s.record, "errors": [e.__dict__ for e in s.errors]} for s in self.samples
            ],
        }
