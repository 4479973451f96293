"""Records a sync hands to `batch_save` / `batch_delete` / `batch_update`: turned into JSON objects
exactly as the script built them, checked against their model, de-duplicated by id, and encoded.

A record that passes is kept as given (a model instance as `model_dump(by_alias=True,
exclude_unset=True)`), never as pydantic would re-serialise it; dates become JavaScript's ISO text
(see `runtime.sdk.values`). The kept records also come encoded, as one compact JSON array, which is
what the dry-run report and its spool write; a batch of plain JSON data (the common case: records
read from an API) is encoded in one orjson call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from pydantic import BaseModel, ValidationError

from runtime.sdk import values
from runtime.sdk.validation import FieldError, InvalidRecord, ModelRegistry, field_errors

METADATA_KEY = "_nango_metadata"


@dataclass
class PreparedBatch:
    records: list[Any]
    encoded: bytes = b"[]"
    """`records` as one compact JSON array."""
    invalid: list[InvalidRecord] = field(default_factory=list)
    not_json: list[InvalidRecord] = field(default_factory=list)
    duplicate_ids: list[str] = field(default_factory=list)


def to_json_value(value: Any) -> Any:
    """A record or output as plain JSON data (`NotJSONError` names a value JSON cannot hold)."""
    return values.to_json(value)


def _record_of(item: Any) -> Any:
    record = (
        item.model_dump(by_alias=True, exclude_unset=True) if isinstance(item, BaseModel) else item
    )
    if isinstance(record, dict) and METADATA_KEY in record:
        record = {k: v for k, v in record.items() if k != METADATA_KEY}
    return record


def prepare_batch(
    items: Iterable[Any], model: str, registry: ModelRegistry, *, validate: bool = True
) -> PreparedBatch:
    """Records as JSON objects, `_nango_metadata` stripped, checked against `model` (dicts only:
    model instances were checked when built), of duplicate ids the last kept, then encoded."""
    validator = registry.validator(model) if validate and model in registry else None
    originals = list(items)
    plain = _plain_batch(originals, model, registry if validator else None)
    if plain is not None:
        invalid, ids = plain
        kept, duplicates = keep_last_by_id(originals, ids)
    else:
        records = [_record_of(item) for item in originals]
        dicts = [
            r for r, item in zip(records, originals, strict=True) if not isinstance(item, BaseModel)
        ]
        invalid = _invalid_records(dicts, model, validator) if validator else []
        kept, duplicates = keep_last_by_id(records)
    batch = PreparedBatch(kept, invalid=invalid, duplicate_ids=duplicates)
    _encode(batch, model)
    return batch


def _encode(batch: PreparedBatch, model: str) -> None:
    """Fill `batch.encoded`. Record by record when the batch is not plain JSON data: a record
    holding something JSON cannot hold goes to `not_json` (and out of `records`), one whose dates
    were turned into text is replaced by its plain JSON form."""
    whole = values.encode_plain(batch.records)
    if whole is not None:
        batch.encoded = whole
        return
    kept: list[Any] = []
    parts: list[bytes] = []
    for record in batch.records:
        try:
            encoded, plain = values.encode_checked(record)
        except values.NotJSONError as exc:
            batch.not_json.append(InvalidRecord(model, repr(record)[:500], [_not_json(exc)]))
            continue
        kept.append(plain)
        parts.append(encoded)
    batch.records = kept
    batch.encoded = b"[" + b",".join(parts) + b"]"


def _not_json(exc: values.NotJSONError) -> FieldError:
    return FieldError(exc.path or "(record)", str(exc).split(": ", 1)[-1])


def _plain_batch(
    records: list[Any], model: str, registry: ModelRegistry | None
) -> tuple[list[InvalidRecord], list[Any]] | None:
    """The common case, each step one loop in C: plain dicts without `_nango_metadata`, each
    checked with the model's record checker (one at a time, its result dropped at once: checking
    the whole list keeps every result alive and costs more in garbage collection); record by
    record with the model's validator only when one fails. None when the batch is not all such
    dicts. `registry` is None when the records are not to be checked."""
    if not records:
        return [], []
    if set(map(type, records)) != {dict}:
        return None
    keys = set().union(*records)
    if METADATA_KEY in keys:
        return None
    ids = list(map(dict.get, records, repeat("id")))
    if registry is None:
        return [], ids
    validator = registry.validator(model)
    # the checker tells valid records apart only where every key is a string (see its doc)
    check = registry.record_checker(model) if all(isinstance(k, str) for k in keys) else validator
    try:
        deque(map(check, records), maxlen=0)
    except ValidationError:
        return _invalid_records(records, model, validator), ids
    return [], ids


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
