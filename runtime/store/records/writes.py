"""The writes of records, a batch at a time: a few statements per chunk of records, never one
round trip per record. Rows are found by their internal id (the primary key) alone.

Per record (Nango's classification): not stored -> inserted (ADDED); stored but deleted ->
undeleted, `created_at = updated_at = now` (reads as ADDED again); another hash -> changed
(UPDATED, `updated_at = now`); same hash -> nothing written at all.

Delete detection: a save with a `generation` (an increasing number, such as the run id) adds
one `records_seen` row naming every record of the chunk, changed or not (cheaper than touching
each record's row); `delete_unseen` later soft-deletes the live records that no such row since
the run's starting generation names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import Connection

from runtime.store import jsontext
from runtime.store.records.bodies import Bodies, Stamps, payload_in, start_of
from runtime.store.records.compiled import fetch_all
from runtime.store.records.format import PreparedRecord, deep_merge, hash_of, loads_payload
from runtime.store.records.statements import (
    CHANGE,
    RESTORE,
    UNDELETE,
    id_in,
    id_in_parameter,
    ids_value,
    insert_rows,
    is_postgresql,
    mark_seen,
    update_rows,
)
from runtime.store.schema import records, records_seen

CHUNK = 1000
_c = records.c
_EXISTING = (_c.id, _c.data_hash, _c.created_at, _c.updated_at, _c.deleted_at, _c.pruned_at)
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


@dataclass
class _Plan:
    inserts: list[tuple[str, str, str, str]] = field(default_factory=list)
    updates: dict[str, list[tuple[str, str, str]]] = field(
        default_factory=lambda: {CHANGE: [], UNDELETE: [], RESTORE: []}
    )


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
    ids = [r.id for r in chunk]
    postgresql = is_postgresql(connection)
    found = fetch_all(
        connection,
        "records to save",
        lambda: select(*_EXISTING).where(id_in_parameter(postgresql)),
        {"id_list": ids_value(connection, ids)},
    )
    existing = {row[0]: row for row in found}
    plan = _Plan()
    bodies, fresh = Bodies(), Stamps(now, now)
    for prepared in chunk:
        old = existing.get(prepared.id)
        if old is None:
            body = bodies.build(prepared.id, start_of(prepared.payload), fresh)
            plan.inserts.append((prepared.id, prepared.external_id, prepared.data_hash, body))
            counts.added += 1
            continue
        _, data_hash, created, updated, deleted, pruned = old
        if deleted is not None:
            kind, stamps = UNDELETE, fresh
            counts.added += 1
        elif data_hash != prepared.data_hash:
            kind, stamps = CHANGE, Stamps(created, now)
            counts.updated += 1
        else:
            counts.unchanged += 1
            if pruned is None:
                continue
            kind, stamps = RESTORE, Stamps(created, updated)
        body = bodies.build(prepared.id, start_of(prepared.payload), stamps)
        plan.updates[kind].append((prepared.id, prepared.data_hash, body))
    insert_rows(connection, plan.inserts, connection_id=connection_id, model=model, now=now)
    for kind, rows in plan.updates.items():
        update_rows(connection, kind, rows, now=now)
    if generation is not None:
        mark_seen(connection, ids, connection_id=connection_id, model=model, generation=generation)


def update_chunk(
    connection: Connection,
    chunk: Sequence[PreparedRecord],
    *,
    connection_id: int,
    model: str,
    now: int,
    generation: int | None,
) -> int:
    """Deep-merge each record into the stored live one; only real changes are written (every
    record found counts as seen)."""
    query = select(_c.id, _c.body, _c.data_hash, _c.created_at, _c.pruned_at).where(
        id_in(connection, [r.id for r in chunk]), _c.deleted_at.is_(None)
    )
    stored = {row.id: row for row in connection.execute(query)}
    changes = []
    bodies = Bodies()
    for prepared in chunk:
        old = stored.get(prepared.id)
        if old is None:
            continue
        current = {} if old.pruned_at is not None else loads_payload(payload_in(old.body))
        payload = jsontext.dumps_text(deep_merge(current, prepared.record))
        digest = hash_of(payload)
        if digest != old.data_hash or old.pruned_at is not None:
            body = bodies.build(prepared.id, start_of(payload), Stamps(old.created_at, now))
            changes.append((prepared.id, digest, body))
    update_rows(connection, CHANGE, changes, now=now)
    if generation is not None:
        found = list(stored)
        mark_seen(
            connection, found, connection_id=connection_id, model=model, generation=generation
        )
    return len(changes)


def unseen_ids(
    connection: Connection, connection_id: int, model: str, generation: int
) -> list[str]:
    """The live records that no save since `generation` named, oldest first."""
    seen: set[str] = set()
    marks = select(records_seen.c.record_ids).where(
        records_seen.c.connection_id == connection_id,
        records_seen.c.model == model,
        records_seen.c.generation >= generation,
    )
    for (text,) in connection.execute(marks):
        seen.update(jsontext.loads(text))
    live = (
        select(_c.id)
        .where(_of_model(connection_id, model), _c.deleted_at.is_(None))
        .order_by(_c.updated_at, _c.id)
    )
    return [record_id for (record_id,) in connection.execute(live) if record_id not in seen]


def forget_seen(
    connection: Connection, connection_id: int, model: str, *, before: int | None = None
) -> None:
    """Drop the seen marks of a model (those older than generation `before`, when given)."""
    statement = delete(records_seen).where(
        records_seen.c.connection_id == connection_id, records_seen.c.model == model
    )
    if before is not None:
        statement = statement.where(records_seen.c.generation < before)
    connection.execute(statement)


def models_named(connection: Connection, connection_id: int, model: str) -> list[str]:
    """`model` and its variants (`model::x`) that have records or seen marks for this
    connection."""
    prefix = model + "::"
    found: set[str] = set()
    for table in (records, records_seen):
        column = table.c.model
        query = (
            select(column)
            .where(table.c.connection_id == connection_id)
            .where(or_(column == model, func.substr(column, 1, len(prefix)) == prefix))
            .distinct()
        )
        found.update(connection.execute(query).scalars())
    return sorted(found)


def purge_batch(connection: Connection, connection_id: int, model: str, size: int) -> int:
    batch = select(_c.id).where(_of_model(connection_id, model)).limit(size)
    statement = delete(records).where(_c.id.in_(batch.scalar_subquery()))
    return connection.execute(statement).rowcount
