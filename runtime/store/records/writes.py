"""The writes of records, a batch at a time: a few statements per chunk of records, never one
round trip per record. Rows are found by their internal id (the primary key) alone.

Per record (Nango's classification): not stored -> inserted (ADDED); stored but deleted ->
undeleted, `created_at = updated_at = now` (reads as ADDED again); another hash -> changed
(UPDATED, `updated_at = now`); same hash -> nothing written at all.

"Seen" marks serve delete detection: a save with a `generation` (an increasing number, such
as the run id) sets `seen_generation` on every record it names, changed or not; afterwards
`delete_unseen` soft-deletes the live records no save since that generation has named.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from runtime.store import jsontext
from runtime.store.records.format import PreparedRecord, deep_merge, hash_of, loads_payload
from runtime.store.schema import records

CHUNK = 1000
_c = records.c
T = TypeVar("T")


@dataclass
class RecordCounts:
    """What a write did. `duplicate_ids`: ids repeated within the batch (the first was kept)."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    duplicate_ids: list[str] = field(default_factory=list)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _of_model(connection_id: int, model: str) -> Any:
    return (_c.connection_id == connection_id) & (_c.model == model)


_GENERATION: ColumnElement[Any] = func.coalesce(bindparam("v_generation"), _c.seen_generation)
_CHANGE = (
    update(records)
    .where(_c.id == bindparam("k_id"))
    .values(
        payload=bindparam("v_payload"),
        data_hash=bindparam("v_hash"),
        updated_at=bindparam("v_now"),
        seen_generation=_GENERATION,
    )
)
_UNDELETE = (
    update(records)
    .where(_c.id == bindparam("k_id"))
    .values(
        payload=bindparam("v_payload"),
        data_hash=bindparam("v_hash"),
        created_at=bindparam("v_now"),
        updated_at=bindparam("v_now"),
        deleted_at=None,
        pruned_at=None,
        seen_generation=_GENERATION,
    )
)
_RESTORE = (
    update(records)
    .where(_c.id == bindparam("k_id"))
    .values(payload=bindparam("v_payload"), pruned_at=None, seen_generation=_GENERATION)
)


@dataclass
class _Plan:
    inserts: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    undeletes: list[dict[str, Any]] = field(default_factory=list)
    restores: list[dict[str, Any]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)


def save_chunk(
    connection: Connection,
    chunk: Sequence[PreparedRecord],
    *,
    connection_id: int,
    model: str,
    now: int,
    generation: int | None,
    counts: RecordCounts,
) -> None:
    query = select(_c.id, _c.data_hash, _c.deleted_at, _c.pruned_at, _c.seen_generation).where(
        _c.id.in_([r.id for r in chunk])
    )
    existing = {row.id: row for row in connection.execute(query)}
    plan = _Plan()
    for prepared in chunk:
        old = existing.get(prepared.id)
        if old is None:
            plan.inserts.append(_new_row(prepared, connection_id, model, now, generation))
            counts.added += 1
            continue
        change = _change(prepared, now, generation)
        if old.deleted_at is not None:
            plan.undeletes.append(change)
            counts.added += 1
        elif old.data_hash != prepared.data_hash:
            plan.changes.append(change)
            counts.updated += 1
        else:
            counts.unchanged += 1
            if old.pruned_at is not None:
                plan.restores.append(change)
            elif generation is not None and (old.seen_generation or 0) < generation:
                plan.seen.append(prepared.id)
    _apply(connection, plan, generation)


def _change(prepared: PreparedRecord, now: int, generation: int | None) -> dict[str, Any]:
    return {
        "k_id": prepared.id,
        "v_payload": prepared.payload,
        "v_hash": prepared.data_hash,
        "v_now": now,
        "v_generation": generation,
    }


def _new_row(
    prepared: PreparedRecord, connection_id: int, model: str, now: int, generation: int | None
) -> dict[str, Any]:
    return {
        "id": prepared.id,
        "connection_id": connection_id,
        "model": model,
        "external_id": prepared.external_id,
        "data_hash": prepared.data_hash,
        "payload": prepared.payload,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        "pruned_at": None,
        "seen_generation": generation,
    }


def _apply(connection: Connection, plan: _Plan, generation: int | None) -> None:
    if plan.inserts:
        connection.execute(records.insert(), plan.inserts)
    for statement, rows in (
        (_CHANGE, plan.changes),
        (_UNDELETE, plan.undeletes),
        (_RESTORE, plan.restores),
    ):
        if rows:
            connection.execute(statement, rows)
    if plan.seen and generation is not None:
        statement = update(records).where(_c.id.in_(plan.seen))
        connection.execute(statement.values(seen_generation=generation))


def delete_chunk(connection: Connection, record_ids: list[str], now: int) -> int:
    statement = (
        update(records)
        .where(_c.id.in_(record_ids), _c.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=now)
    )
    return connection.execute(statement).rowcount


def update_chunk(
    connection: Connection,
    chunk: Sequence[PreparedRecord],
    *,
    now: int,
    generation: int | None,
) -> int:
    """Deep-merge each record into the stored live one; only real changes are written."""
    query = select(_c.id, _c.payload, _c.data_hash).where(
        _c.id.in_([r.id for r in chunk]), _c.deleted_at.is_(None)
    )
    stored = {row.id: row for row in connection.execute(query)}
    changes = []
    for prepared in chunk:
        old = stored.get(prepared.id)
        if old is None:
            continue
        payload = jsontext.dumps_text(deep_merge(loads_payload(old.payload), prepared.record))
        digest = hash_of(payload)
        if digest == old.data_hash and old.payload is not None:
            continue
        change = {"k_id": prepared.id, "v_payload": payload, "v_hash": digest, "v_now": now}
        changes.append({**change, "v_generation": generation})
    if changes:
        connection.execute(_CHANGE, changes)
    return len(changes)


def delete_unseen_batch(
    connection: Connection, connection_id: int, model: str, generation: int, now: int, size: int
) -> int:
    unseen = (
        select(_c.id)
        .where(_of_model(connection_id, model), _c.deleted_at.is_(None))
        .where(or_(_c.seen_generation.is_(None), _c.seen_generation < generation))
        .limit(size)
    )
    statement = (
        update(records)
        .where(_c.id.in_(unseen.scalar_subquery()))
        .values(deleted_at=now, updated_at=now)
    )
    return connection.execute(statement).rowcount


def models_named(connection: Connection, connection_id: int, model: str) -> list[str]:
    """`model` and its variants (`model::x`) that have records for this connection."""
    prefix = model + "::"
    query = (
        select(_c.model)
        .where(_c.connection_id == connection_id)
        .where(or_(_c.model == model, func.substr(_c.model, 1, len(prefix)) == prefix))
        .distinct()
    )
    return list(connection.execute(query).scalars())


def purge_batch(connection: Connection, connection_id: int, model: str, size: int) -> int:
    batch = select(_c.id).where(_of_model(connection_id, model)).limit(size)
    statement = delete(records).where(_c.id.in_(batch.scalar_subquery()))
    return connection.execute(statement).rowcount
