"""Deployed scripts: deployments, and every deployed version of each script.

A script is a sync, an action or an on-event script of one integration, by name. Each deploy
that changes one adds a row (its version, what nango.yaml declares for it in `config`, and the
hashes of its source, of `models.py` and of the other project modules packed with it) and makes
it the active one; the previous row stays, inactive, as history. A removed script has no active
row (its last row gets `deleted_at`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.engine import Row

from runtime.store.base import Part, check_name, require_id
from runtime.store.errors import InvalidValueError
from runtime.store.schema import connections, deployments, environments, integrations, scripts
from runtime.store.timestamps import from_us, now_us

ScriptType = Literal["sync", "action", "on-event"]
SCRIPT_TYPES: tuple[ScriptType, ...] = ("sync", "action", "on-event")
_KEY = integrations.c.unique_key.label("integration_key")


@dataclass(frozen=True)
class Script:
    """One deployed version of a script. `files` maps the relative path of each project module
    packed with it to the hash of its source; `config` is what nango.yaml declares for it."""

    id: int
    environment_id: int
    integration_id: int
    integration_key: str
    deployment_id: int
    name: str
    type: ScriptType
    version: str
    active: bool
    config: dict[str, Any]
    source_hash: str
    models_hash: str
    files: dict[str, str]
    content_hash: str
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class NewScript:
    """What `activate` needs to add a version."""

    integration_id: int
    name: str
    type: ScriptType
    version: str
    config: Mapping[str, Any]
    source_hash: str
    models_hash: str
    files: Mapping[str, str]
    content_hash: str


def _script(row: Row[Any]) -> Script:
    return Script(
        id=row.id,
        environment_id=row.environment_id,
        integration_id=row.integration_id,
        integration_key=row.integration_key,
        deployment_id=row.deployment_id,
        name=row.name,
        type=row.type,
        version=row.version,
        active=bool(row.active),
        config=dict(row.config),
        source_hash=row.source_hash,
        models_hash=row.models_hash,
        files=dict(row.files),
        content_hash=row.content_hash,
        created_at=from_us(row.created_at),
        deleted_at=None if row.deleted_at is None else from_us(row.deleted_at),
    )


def _base() -> Select[Any]:
    return select(scripts, _KEY).join(integrations, integrations.c.id == scripts.c.integration_id)


class Scripts(Part):
    """Deployments and script versions of each environment."""

    def create_deployment(
        self, environment_id: int, *, mode: str, sdk_version: str, summary: Mapping[str, Any]
    ) -> int:
        """A new deployment row; its id."""
        row = {
            "environment_id": environment_id,
            "mode": mode,
            "sdk_version": sdk_version,
            "summary": dict(summary),
            "created_at": now_us(),
        }
        with self._db.write() as connection:
            require_id(connection, environments, environment_id, "environment")
            result = connection.execute(insert(deployments).values(**row))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def active(
        self, environment_id: int, integration_key: str, type: ScriptType, name: str
    ) -> Script | None:
        """The active version of a script, or None."""
        query = _base().where(
            scripts.c.environment_id == environment_id,
            integrations.c.unique_key == integration_key,
            scripts.c.type == type,
            scripts.c.name == name,
            scripts.c.active.is_(True),
        )
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _script(row)

    def list_active(
        self,
        environment_id: int,
        *,
        integration_key: str | None = None,
        type: ScriptType | None = None,
    ) -> list[Script]:
        """The active scripts of an environment, by integration, type and name."""
        query = _base().where(
            scripts.c.environment_id == environment_id, scripts.c.active.is_(True)
        )
        if integration_key is not None:
            query = query.where(integrations.c.unique_key == integration_key)
        if type is not None:
            query = query.where(scripts.c.type == type)
        query = query.order_by(integrations.c.unique_key, scripts.c.type, scripts.c.name)
        with self._db.read() as connection:
            return [_script(row) for row in connection.execute(query)]

    def connection_counts(self, environment_id: int) -> dict[str, int]:
        """How many connections each integration of the environment has (a deploy's impact)."""
        query = (
            select(integrations.c.unique_key, func.count(connections.c.id))
            .join(connections, connections.c.integration_id == integrations.c.id)
            .where(integrations.c.environment_id == environment_id)
            .group_by(integrations.c.unique_key)
        )
        with self._db.read() as connection:
            return {str(key): int(count) for key, count in connection.execute(query)}

    def get(self, script_id: int) -> Script | None:
        """A version by id, active or not."""
        with self._db.read() as connection:
            row = connection.execute(_base().where(scripts.c.id == script_id)).first()
        return None if row is None else _script(row)

    def latest(self, integration_id: int, type: ScriptType, name: str) -> Script | None:
        """The last version ever deployed of a script (active or removed since)."""
        query = (
            _base()
            .where(
                scripts.c.integration_id == integration_id,
                scripts.c.type == type,
                scripts.c.name == name,
            )
            .order_by(scripts.c.id.desc())
            .limit(1)
        )
        with self._db.read() as connection:
            row = connection.execute(query).first()
        return None if row is None else _script(row)

    def activate(self, environment_id: int, deployment_id: int, new: NewScript) -> Script:
        """Add a version and make it the active one (the previous one stays, inactive)."""
        check_name(new.name, "script name")
        if new.type not in SCRIPT_TYPES:
            raise InvalidValueError(f"Unknown script type {new.type!r}")
        now = now_us()
        with self._db.write() as connection:
            require_id(connection, integrations, new.integration_id, "integration")
            connection.execute(
                self._deactivate_statement(new.integration_id, new.type, new.name).values(
                    active=False
                )
            )
            values = {
                "environment_id": environment_id,
                "integration_id": new.integration_id,
                "deployment_id": deployment_id,
                "name": new.name,
                "type": new.type,
                "version": new.version,
                "active": True,
                "config": dict(new.config),
                "source_hash": new.source_hash,
                "models_hash": new.models_hash,
                "files": dict(new.files),
                "content_hash": new.content_hash,
                "created_at": now,
            }
            result = connection.execute(insert(scripts).values(**values))
            key = result.inserted_primary_key
            assert key is not None
            row = connection.execute(_base().where(scripts.c.id == key[0])).one()
        return _script(row)

    def remove(self, integration_id: int, type: ScriptType, name: str) -> bool:
        """Make a script inactive (removed); False when it had no active version."""
        statement = self._deactivate_statement(integration_id, type, name)
        with self._db.write() as connection:
            done = connection.execute(statement.values(active=False, deleted_at=now_us()))
            return done.rowcount > 0

    def _deactivate_statement(self, integration_id: int, type: str, name: str) -> Any:
        return update(scripts).where(
            scripts.c.integration_id == integration_id,
            scripts.c.type == type,
            scripts.c.name == name,
            scripts.c.active.is_(True),
        )
