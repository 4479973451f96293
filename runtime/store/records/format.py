"""How a record is kept, as Nango's records service keeps it: its external id, a stable internal
id, its payload as JSON text and the MD5 of that text.

The payload is the record as the script gave it (key order, values), with one normalisation:
its `id` is the external id string (in its place), as every read of a record in Nango returns
it, and `_nango_metadata` (added on reads) is left out. So a payload is ready to be sent as it
is, with only `_nango_metadata` appended: the stored body (`bodies`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from runtime.jsjson import js_number
from runtime.store import jsontext
from runtime.store.errors import InvalidRecordError

MAX_ID_LENGTH = 8192
METADATA_KEY = "_nango_metadata"
_NIL = uuid.UUID(int=0)


class PreparedRecord(NamedTuple):  # a tuple: made for every record saved, cheap to build
    id: str
    external_id: str
    payload: str
    data_hash: str
    record: Mapping[str, Any]


def external_id_of(record: Any) -> str:
    """`String(record.id)` with NUL characters removed (numbers written as JavaScript does:
    `18` and `18.0` both give "18"). A missing or empty id is an error, as in Nango."""
    if not isinstance(record, Mapping):
        raise InvalidRecordError(f"A record must be an object, not {type(record).__name__}")
    value = record.get("id")
    if type(value) is str and value and "\x00" not in value and len(value) <= MAX_ID_LENGTH:
        return value  # the common case, checked first
    if value is None or value is False or value == "" or value == 0:
        raise InvalidRecordError(f"Missing id field in record: {_preview(record)}")
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true"
    elif isinstance(value, int | float):
        text = _number_text(value)
    else:
        raise InvalidRecordError(
            f"The id of a record must be a string or a number, not {type(value).__name__}"
        )
    text = text.replace("\x00", "")
    if not text:
        raise InvalidRecordError(f"Missing id field in record: {_preview(record)}")
    if len(text) > MAX_ID_LENGTH:
        raise InvalidRecordError(f"A record id is longer than {MAX_ID_LENGTH} characters")
    return text


def _number_text(value: float) -> str:
    try:
        return js_number(value)
    except ValueError:  # an integer of thousands of digits
        raise InvalidRecordError(f"A record id is longer than {MAX_ID_LENGTH} characters") from None


def _preview(record: Mapping[str, Any]) -> str:
    try:
        text = jsontext.dumps_text(record)
    except (TypeError, ValueError, RecursionError):
        text = "{...}"
    return text if len(text) <= 200 else text[:200] + "..."


class RecordIds:
    """Nango's internal record ids: UUIDv5 of `<connection><model><external id>` in the namespace
    UUIDv5(NIL, `<connection><model>`), stable across runs."""

    def __init__(self, connection_id: int, model: str) -> None:
        prefix = f"{connection_id}{model}"
        namespace = uuid.uuid5(_NIL, prefix).bytes
        # SHA-1 of namespace + prefix + external id: the common start is hashed once, copied.
        self._start = hashlib.sha1(namespace + prefix.encode(), usedforsecurity=False)

    def of(self, external_id: str) -> str:
        hashing = self._start.copy()
        hashing.update(external_id.encode())
        digest = bytearray(hashing.digest()[:16])
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        h = digest.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def payload_of(record: Mapping[str, Any]) -> bytes:
    """The record as compact JSON, key order kept."""
    try:
        return jsontext.dumps(record)
    except RecursionError:
        raise InvalidRecordError("A record is nested too deeply to be stored") from None
    except (TypeError, ValueError) as exc:  # a value JSON has no form for, a huge integer
        raise InvalidRecordError(f"A record cannot be written as JSON: {exc}") from None


def normalised(record: Mapping[str, Any], external_id: str) -> Mapping[str, Any]:
    """The record with `id` as its external id string and no `_nango_metadata`."""
    if record["id"] == external_id and type(record["id"]) is str and METADATA_KEY not in record:
        return record
    copy = {key: value for key, value in record.items() if key != METADATA_KEY}
    copy["id"] = external_id
    return copy


def prepare(records: Iterable[Any], ids: RecordIds) -> tuple[list[PreparedRecord], list[str]]:
    """Records ready to store, in order; of records sharing an id the first is kept (as Nango's
    records service does), and the repeated ids are returned too."""
    kept: dict[str, PreparedRecord] = {}
    duplicates: list[str] = []
    md5 = hashlib.md5
    for original in records:
        external_id = external_id_of(original)
        if external_id in kept:
            duplicates.append(external_id)
            continue
        record = normalised(original, external_id)
        payload = payload_of(record)
        digest = md5(payload, usedforsecurity=False).hexdigest()
        internal = ids.of(external_id)
        kept[external_id] = PreparedRecord(internal, external_id, payload.decode(), digest, record)
    return list(kept.values()), duplicates


def hash_of(payload: str) -> str:
    return hashlib.md5(payload.encode(), usedforsecurity=False).hexdigest()


def deep_merge(stored: Any, change: Any) -> Any:
    """`change` merged into `stored`: objects merged key by key, recursively; anything else
    (arrays included) replaced; keys absent from `change` untouched."""
    try:
        return _merge(stored, change)
    except RecursionError:
        raise InvalidRecordError("A record is nested too deeply to be merged") from None


def _merge(stored: Any, change: Any) -> Any:
    if not isinstance(stored, dict) or not isinstance(change, Mapping):
        return change
    merged = dict(stored)
    for key, value in change.items():
        merged[key] = _merge(stored[key], value) if key in stored else value
    return merged


def loads_payload(text: str | None) -> dict[str, Any]:
    """A stored payload as a dict (a pruned record has none: `{}`)."""
    if text is None:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}
