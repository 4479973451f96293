"""Records, kept as Nango keeps them: per (connection, model, external id), de-duplicated,
hashed, soft-deleted, paged by cursor (reference §7.2 to §7.5).

`model` is always the full name, `Model` or `Model::variant` (`model_name()` builds it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select

from runtime.store.base import Part, check_name, lock_key, require_id
from runtime.store.records.bodies import payload_in
from runtime.store.records.format import RecordIds, external_id_of, loads_payload, prepare
from runtime.store.records.pages import (
    DEFAULT_LIMIT,
    PageQuery,
    RecordPage,
    model_name,
    parse_actions,
)
from runtime.store.records.reads import read_named_page_json, read_page_json
from runtime.store.records.statements import id_in, soft_delete
from runtime.store.records.writes import (
    RecordCounts,
    chunks,
    forget_seen,
    models_named,
    purge_batch,
    save_chunk,
    unseen_ids,
    update_chunk,
)
from runtime.store.schema import connections, records
from runtime.store.timestamps import now_us, to_us

DELETE_BATCH = 10_000

__all__ = ["RecordCounts", "RecordPage", "Records", "model_name"]


class Records(Part):
    """The records of every connection."""

    def save(
        self,
        connection_id: int,
        model: str,
        batch: Iterable[Any],
        *,
        generation: int | None = None,
        now: datetime | None = None,
    ) -> RecordCounts:
        """Insert or update a batch (one transaction); unchanged records are not written."""
        check_name(model, "model")
        prepared, duplicates = prepare(batch, RecordIds(connection_id, model))
        counts = RecordCounts(duplicate_ids=duplicates)
        if not prepared:
            return counts
        with self._db.write() as connection:
            self._lock(connection, connection_id, model)
            at = now_us() if now is None else to_us(now)
            for chunk in chunks(prepared):
                save_chunk(
                    connection,
                    chunk,
                    connection_id=connection_id,
                    model=model,
                    now=at,
                    generation=generation,
                    counts=counts,
                )
        return counts

    def delete(
        self, connection_id: int, model: str, batch: Iterable[Any], *, now: datetime | None = None
    ) -> RecordCounts:
        """Soft-delete the live records with these ids (`deleted_at = updated_at = now`); unknown
        and already deleted ids are ignored, and payloads are kept."""
        check_name(model, "model")
        ids = RecordIds(connection_id, model)
        record_ids = list(dict.fromkeys(ids.of(external_id_of(record)) for record in batch))
        counts = RecordCounts()
        if not record_ids:
            return counts
        with self._db.write() as connection:
            self._lock(connection, connection_id, model)
            at = now_us() if now is None else to_us(now)
            for chunk in chunks(record_ids):
                counts.deleted += soft_delete(connection, list(chunk), at)
        return counts

    def update(
        self,
        connection_id: int,
        model: str,
        batch: Iterable[Any],
        *,
        generation: int | None = None,
        now: datetime | None = None,
    ) -> RecordCounts:
        """Deep-merge partial records into the live stored ones (objects merged recursively,
        arrays replaced, absent fields untouched); unknown or deleted ids are ignored."""
        check_name(model, "model")
        prepared, duplicates = prepare(batch, RecordIds(connection_id, model))
        counts = RecordCounts(duplicate_ids=duplicates)
        if not prepared:
            return counts
        with self._db.write() as connection:
            self._lock(connection, connection_id, model)
            at = now_us() if now is None else to_us(now)
            for chunk in chunks(prepared):
                counts.updated += update_chunk(
                    connection,
                    chunk,
                    connection_id=connection_id,
                    model=model,
                    now=at,
                    generation=generation,
                )
        return counts

    def get_by_ids(
        self, connection_id: int, model: str, ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The live records with these external ids, by id, in the order asked."""
        wanted = list(dict.fromkeys(str(i).replace("\x00", "") for i in ids))
        record_ids = RecordIds(connection_id, model)
        found: dict[str, dict[str, Any]] = {}
        with self._db.read() as connection:
            for chunk in chunks(wanted):
                query = select(records.c.external_id, records.c.body, records.c.pruned_at).where(
                    id_in(connection, [record_ids.of(i) for i in chunk]),
                    records.c.deleted_at.is_(None),
                )
                for external_id, body, pruned_at in connection.execute(query):
                    payload = None if pruned_at is not None else payload_in(body)
                    found[external_id] = loads_payload(payload) or {"id": external_id}
        return {i: found[i] for i in wanted if i in found}

    def list_page(
        self,
        connection_id: int,
        model: str,
        *,
        variant: str | None = None,
        modified_after: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        filter: str | Collection[str] | None = None,
        cursor: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> RecordPage:
        """One page of `GET /records`: records after `cursor`, ordered by (last modified,
        internal id), each with `id` and `_nango_metadata`; `next_cursor` when more exist.
        `filter`: `added`, `updated`, `deleted` (a comma list or a collection, any case)."""
        body = self.list_page_json(
            connection_id,
            model,
            variant=variant,
            modified_after=modified_after,
            limit=limit,
            filter=filter,
            cursor=cursor,
            ids=ids,
        )
        parsed = orjson.loads(body)
        return RecordPage(parsed["records"], parsed["next_cursor"])

    def list_page_json(
        self,
        connection_id: int,
        model: str,
        *,
        variant: str | None = None,
        modified_after: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        filter: str | Collection[str] | None = None,
        cursor: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> bytes:
        """`list_page` as the exact JSON body of `GET /records` (built without parsing a
        record: the fast path for the API)."""
        query = PageQuery(
            model=model_name(model, variant),
            limit=limit,
            modified_after=modified_after,
            actions=parse_actions(filter),
            cursor=cursor,
            ids=ids,
        )
        with self._db.read_once() as connection:
            return read_page_json(connection, connection_id, query)

    def list_page_json_of(
        self,
        environment_id: int,
        integration_key: str,
        connection_id: str,
        model: str,
        *,
        variant: str | None = None,
        modified_after: datetime | None = None,
        limit: int = DEFAULT_LIMIT,
        filter: str | Collection[str] | None = None,
        cursor: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> bytes | None:
        """`list_page_json` of a connection named as the API names it (the records API's whole
        work, most often one statement: `reads`); None when there is no such connection."""
        query = PageQuery(
            model=model_name(model, variant),
            limit=limit,
            modified_after=modified_after,
            actions=parse_actions(filter),
            cursor=cursor,
            ids=ids,
        )
        with self._db.read_once() as connection:
            return read_named_page_json(
                connection, environment_id, integration_key, connection_id, query
            )

    def delete_unseen(
        self,
        connection_id: int,
        model: str,
        generation: int,
        *,
        now: datetime | None = None,
        batch_size: int = DELETE_BATCH,
    ) -> int:
        """Soft-delete the live records that no save since `generation` named (delete
        detection), in batches of their own transactions; then forget the seen marks older
        than `generation`. Returns how many records were deleted."""
        with self._db.read() as connection:
            unseen = unseen_ids(connection, connection_id, model, generation)
        total = 0
        for batch in chunks(unseen, batch_size):
            with self._db.write() as connection:
                self._lock(connection, connection_id, model)
                at = now_us() if now is None else to_us(now)
                total += soft_delete(connection, list(batch), at)
        with self._db.write() as connection:
            self._lock(connection, connection_id, model)
            forget_seen(connection, connection_id, model, before=generation)
        return total

    def delete_all_for_model(
        self, connection_id: int, model: str, *, batch_size: int = DELETE_BATCH
    ) -> int:
        """Remove (for good) every record of `model` and of its variants: a removed sync, or
        an `emptyCache` trigger. Returns how many."""
        with self._db.read() as connection:
            names = models_named(connection, connection_id, model)
        total = 0
        for name in names:
            while True:
                with self._db.write() as connection:
                    self._lock(connection, connection_id, name)
                    done = purge_batch(connection, connection_id, name, batch_size)
                    if done < batch_size:
                        forget_seen(connection, connection_id, name)
                total += done
                if done < batch_size:
                    break
        return total

    def count_live(self, connection_id: int, models: Sequence[str] | None = None) -> dict[str, int]:
        """Live (not deleted) records per model: `recordCount` of `/sync/status`."""
        query = (
            select(records.c.model, func.count())
            .where(records.c.connection_id == connection_id, records.c.deleted_at.is_(None))
            .group_by(records.c.model)
        )
        if models is not None:
            query = query.where(records.c.model.in_(list(models)))
        with self._db.read() as connection:
            found = {str(name): int(count) for name, count in connection.execute(query)}
        if models is not None:
            return {name: found.get(name, 0) for name in models}
        return found

    def _lock(self, connection: Any, connection_id: int, model: str) -> None:
        self._db.advisory_lock(connection, lock_key("records", connection_id, model))
        require_id(connection, connections, connection_id, "connection")
