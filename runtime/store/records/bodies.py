"""A record's body: the exact JSON `GET /records` returns for it, kept in the `body` column.

A body is the stored payload (the record as saved, `id` normalised) with `_nango_metadata`
appended as its last key:

    {"id":"1",...,"_nango_metadata":{"first_seen_at":...,"last_modified_at":...,
     "last_action":...,"deleted_at":...,"pruned_at":...,"cursor":"<base64>"}}

Everything in the metadata follows from the row's timestamps and internal id, which change
only when the row is written: so every write rebuilds the body, and a page of records is its
bodies joined with commas, nothing parsed or encoded on the way out. The payload is the body
up to its last `,"_nango_metadata":` (a payload can hold that text only escaped, or nested,
never after it), closed again; a pruned record's body holds its id alone.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

import orjson

from runtime.store.timestamps import iso_from_us

METADATA_MARK = ',"_nango_metadata":'
METADATA_MARK_BYTES = METADATA_MARK.encode()
_CURSOR_MARK = b'"cursor":"'
_CURSOR_SEPARATOR = "||"


@dataclass(frozen=True, slots=True)
class Stamps:
    """The timestamps of a row (integer microseconds) that its metadata shows."""

    created: int
    updated: int
    deleted: int | None = None
    pruned: int | None = None


def metadata_head(stamps: Stamps) -> str:
    """`_nango_metadata` up to the cursor's value, the only part unique to one record."""
    action = "ADDED" if stamps.created == stamps.updated else "UPDATED"
    deleted_at = "null"
    if stamps.deleted is not None:
        action, deleted_at = "DELETED", f'"{iso_from_us(stamps.deleted)}"'
    pruned_at = "null" if stamps.pruned is None else f'"{iso_from_us(stamps.pruned)}"'
    return (
        f'{METADATA_MARK}{{"first_seen_at":"{iso_from_us(stamps.created)}",'
        f'"last_modified_at":"{iso_from_us(stamps.updated)}","last_action":"{action}",'
        f'"deleted_at":{deleted_at},"pruned_at":{pruned_at},"cursor":"'
    )


def cursor_for(updated: int, record_id: str) -> str:
    """The page cursor pointing at a record: base64 of `<last_modified_at>||<internal id>`."""
    text = f"{iso_from_us(updated)}{_CURSOR_SEPARATOR}{record_id}"
    return binascii.b2a_base64(text.encode(), newline=False).decode()


class Bodies:
    """Builds bodies; rows written together share their timestamps, so the metadata text is
    made once per distinct set of timestamps and only the cursor once per record."""

    def __init__(self) -> None:
        self._heads: dict[Stamps, tuple[str, bytes]] = {}

    def build(self, record_id: str, start: str, stamps: Stamps) -> str:
        """The body of a record from its `start`: the payload without its closing brace
        (`start_of`), or what precedes the metadata in its current body (`start_in`)."""
        found = self._heads.get(stamps)
        if found is None:
            prefix = f"{iso_from_us(stamps.updated)}{_CURSOR_SEPARATOR}".encode()
            found = self._heads[stamps] = (metadata_head(stamps), prefix)
        head, cursor_prefix = found
        cursor = binascii.b2a_base64(cursor_prefix + record_id.encode(), newline=False).decode()
        return f'{start}{head}{cursor}"}}}}'


def start_of(payload: str) -> str:
    """A payload (compact JSON of an object) without its closing brace."""
    return payload[:-1]


def pruned_start(external_id: str) -> str:
    """The start of a pruned record's body: its id alone."""
    return '{"id":' + orjson.dumps(external_id).decode()


def start_in(body: str) -> str:
    """What precedes the metadata in a body: kept as is when only the metadata changes."""
    return body[: body.rindex(METADATA_MARK)]


def payload_in(body: str) -> str:
    """The stored payload inside a body (as the script saved it, `id` normalised)."""
    return start_in(body) + "}"


def cursor_in(body: bytes) -> str:
    """The cursor at the end of a body (or of a page's last body)."""
    start = body.rindex(_CURSOR_MARK) + len(_CURSOR_MARK)
    return body[start : body.index(b'"', start)].decode()
