"""Records keep their `GET /records` JSON ready to send: `body` replaces `payload`.

A body is the payload with `_nango_metadata` appended (see `runtime.store.records.bodies`);
every write rebuilds it, so a page of records is its bodies joined, nothing parsed or encoded.
Existing rows get theirs here, a batch at a time, then `payload` is dropped (a body holds it).

Revision 0004. Never edit a migration once committed: add the next one. The body is built by
code of its own below, frozen with this revision (later changes to the store's code must not
change what this migration wrote).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SELECT = sa.text(
    "SELECT id, external_id, payload, created_at, updated_at, deleted_at, pruned_at "
    "FROM records WHERE id > :after ORDER BY id LIMIT :size"
)
_UPDATE = sa.text("UPDATE records SET body = :body WHERE id = :id")


def _iso(value: int) -> str:
    seconds, micros = divmod(value, 1_000_000)
    text = (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if micros:
        text += f".{micros:06d}".rstrip("0")
    return text + "+00:00"


def _quoted(value: int | None) -> str:
    return "null" if value is None else f'"{_iso(value)}"'


def body_of(row: Sequence[Any]) -> str:
    """The body of a row (id, external_id, payload, created, updated, deleted, pruned)."""
    record_id, external_id, payload, created, updated, deleted, pruned = row
    action = "DELETED" if deleted is not None else "ADDED" if created == updated else "UPDATED"
    cursor = base64.b64encode(f"{_iso(updated)}||{record_id}".encode()).decode()
    start = payload[:-1] if payload is not None else '{"id":' + orjson.dumps(external_id).decode()
    return (
        f'{start},"_nango_metadata":{{"first_seen_at":"{_iso(created)}",'
        f'"last_modified_at":"{_iso(updated)}","last_action":"{action}",'
        f'"deleted_at":{_quoted(deleted)},"pruned_at":{_quoted(pruned)},"cursor":"{cursor}"}}}}'
    )


def _fill_bodies() -> None:
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(_SELECT, {"after": after, "size": _BATCH}).all()
        if not rows:
            return
        connection.execute(_UPDATE, [{"id": row[0], "body": body_of(row)} for row in rows])
        after = rows[-1][0]


def upgrade() -> None:
    op.add_column("records", sa.Column("body", sa.Text(), nullable=True))
    _fill_bodies()
    # On SQLite this copies the table once (a column cannot be made NOT NULL in place).
    with op.batch_alter_table("records") as batch:
        batch.drop_column("payload")
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)


def _payload_of(body: str, pruned: int | None) -> str | None:
    if pruned is not None:
        return None
    return body[: body.rindex(',"_nango_metadata":')] + "}"


def downgrade() -> None:
    op.add_column("records", sa.Column("payload", sa.Text(), nullable=True))
    connection = op.get_bind()
    select = sa.text(
        "SELECT id, body, pruned_at FROM records WHERE id > :after ORDER BY id LIMIT :size"
    )
    update = sa.text("UPDATE records SET payload = :payload WHERE id = :id")
    after = ""
    while rows := connection.execute(select, {"after": after, "size": _BATCH}).all():
        changes = [{"id": row[0], "payload": _payload_of(row[1], row[2])} for row in rows]
        connection.execute(update, changes)
        after = rows[-1][0]
    with op.batch_alter_table("records") as batch:
        batch.drop_column("body")
