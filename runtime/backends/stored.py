"""The runtime's backend: a run's requests go to the provider with the connection's stored
credentials, and everything it writes goes to the store, fenced by the run's lease.

- Requests: each call reads the connection again (`load_connection`, the one place credentials
  are read, refreshed by `runtime.credentials` when that is installed) and goes through the proxy
  engine over one HTTP client; a 401 asks for a forced refresh. Every attempt is logged.
- Writes (records, checkpoints, metadata, the run's counts): each in a transaction that first
  checks the lease (`Store.fenced`), so a run that lost its lease writes nothing more. A batch
  of records is written while the script goes on (one batch in flight, from the JSON it was
  encoded to when `batch_*` was called): the next `batch_*` call, a checkpoint, metadata, a
  read of records, `track_deletes_*` and the end of the run wait for it first (and fail if it
  failed), so writes land in the order the script made them.
- Delete detection: saves mark records seen with the run's generation while a model is tracked
  (the legacy `track_deletes` flag, or after `track_deletes_start`). `track_deletes_end` only
  notes the model: the deletes are applied by the success transaction (`RunState`), never by a
  failed run.
- Logs: redacted, buffered, written in batches (logs are not fenced).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from runtime import jsjson
from runtime.errors import ActionError, ScriptError, SDKUsageError
from runtime.http.client import AnyClient, build_client, close
from runtime.http.providers import Provider
from runtime.http.proxy import Attempt, ProxyEngine
from runtime.http.request import ProxyCall
from runtime.redaction import Redactor, credential_secrets
from runtime.sdk import values
from runtime.sdk.types import Checkpoint, Connection, LogLevel, ProxyResponse
from runtime.settings import RuntimeSettings
from runtime.store import Connection as StoredConnection
from runtime.store import Environment, Store, model_name
from runtime.store.tasks import Task

__all__ = [
    "ActionWaiter",
    "RunState",
    "StoredBackend",
    "load_connection",
    "sdk_connection",
    "usable_connection",
]

LOG_FLUSH_LINES = 50
LOG_FLUSH_SECONDS = 1.0
_TRACK_DELETES = "trackDeletes"


def load_connection(
    store: Store,
    settings: RuntimeSettings,
    environment: Environment,
    connection: StoredConnection,
    *,
    force: bool = False,
) -> StoredConnection:
    """The connection with its current credentials: the one place a run reads them, through
    `runtime.credentials.fresh_connection` (expired tokens refreshed first, one refresh at a
    time per connection, and any on `force`)."""
    from runtime.credentials import fresh_connection

    key, name = connection.provider_config_key, connection.connection_id
    with _connection_errors():
        return fresh_connection(store, settings, environment, key, name, force=force)


def usable_connection(
    store: Store, settings: RuntimeSettings, connection: StoredConnection
) -> StoredConnection:
    """`load_connection` for a connection just read with its credentials: they are read again
    only when they must be refreshed."""
    from runtime.credentials.refresh import ensure_fresh

    with _connection_errors():
        return ensure_fresh(store, settings, connection)


@contextmanager
def _connection_errors() -> Iterator[None]:
    """A deleted connection or credentials that cannot be refreshed, as the run's error."""
    from runtime.credentials.errors import RefreshFailedError
    from runtime.store.errors import NotFoundError

    try:
        yield
    except NotFoundError:
        raise ScriptError(
            "The connection of this run was deleted", error_type="unknown_connection"
        ) from None
    except RefreshFailedError as exc:
        raise ScriptError(exc.message, error_type="invalid_credentials", hint=exc.hint) from None


def sdk_connection(connection: StoredConnection) -> Connection:
    """What `nango.get_connection()` returns for a stored connection."""
    return Connection(
        connection_id=connection.connection_id,
        provider_config_key=connection.provider_config_key,
        provider=connection.provider,
        connection_config=dict(connection.connection_config),
        metadata=None if connection.metadata is None else dict(connection.metadata),
        credentials=dict(connection.credentials or {}),
    )


@dataclass
class RunState:
    """What a run did that its end needs: counts per model, and the delete detection."""

    generation: int | None
    track_all_deletes: bool
    declared_models: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    markers: dict[str, int | None] = field(default_factory=dict)
    pending_deletes: dict[str, int] = field(default_factory=dict)

    def add(self, model: str, **changes: int) -> None:
        counts = self.counts.setdefault(model, {"added": 0, "updated": 0, "deleted": 0})
        for name, value in changes.items():
            counts[name] += value

    def marks_seen(self, model: str) -> bool:
        return self.track_all_deletes or self.markers.get(model) is not None


class ActionWaiter(Protocol):
    """Runs an action on a connection and waits for its output (`trigger_action`)."""

    def __call__(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any
    ) -> Awaitable[Any]: ...


class RunLog:
    """The run's log lines: redacted, buffered, appended in batches."""

    def __init__(self, store: Store, task_id: str, redact: Redactor) -> None:
        self._store = store
        self._task_id = task_id
        self._redact = redact
        self._pending: list[tuple[str, str]] = []
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()  # lines come from the script's loop and its DB threads

    def redact(self, text: str) -> str:
        """`text` with the run's secrets replaced."""
        return self._redact(text)

    def add(self, level: str, message: str) -> str:
        """Add a line; returns it as stored (redacted)."""
        redacted = self._redact(message)
        with self._lock:
            self._pending.append((level, redacted))
            due = time.monotonic() - self._flushed_at > LOG_FLUSH_SECONDS
        if len(self._pending) >= LOG_FLUSH_LINES or due:
            self.flush()
        return redacted

    def take(self) -> list[tuple[str, str]]:
        """The lines not written yet, now no longer pending (their writer is someone else)."""
        with self._lock:
            lines, self._pending = self._pending, []
        return lines

    def flush(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
            self._flushed_at = time.monotonic()
            if lines:
                self._store.logs.append(self._task_id, lines)


class StoredBackend:
    """Implements `runtime.sdk.backend.Backend` over the store, for one claimed task."""

    def __init__(
        self,
        *,
        store: Store,
        settings: RuntimeSettings,
        environment: Environment,
        task: Task,
        lease_token: str,
        connection: StoredConnection,
        provider: Provider,
        state: RunState,
        checkpoint_key: str,
        variant: str = "base",
        webhook_url: str | None = None,
        trigger_action: ActionWaiter | None = None,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._environment = environment
        self._task = task
        self._token = lease_token
        self._connection_id = connection.id
        self._connection = connection
        self._provider = provider
        self.state = state
        self._checkpoint_key = checkpoint_key
        self._variant = variant
        self._webhook_url = webhook_url
        self._trigger = trigger_action
        self._transport = transport
        self.redactor = Redactor(credential_secrets(connection.credentials or {}))
        # some providers keep a password or an app secret in the connection config
        self.redactor.add(*credential_secrets(connection.connection_config or {}))
        self.log_lines = RunLog(store, task.id, self.redactor)
        # False in a run process: the lines still pending at the end go to its worker, which
        # writes them with the run's end (a run that never touched data opens no connection)
        self.flush_logs_at_stop = True
        self._client: AnyClient | None = None
        self._engine: tuple[dict[str, Any], ProxyEngine] | None = None
        self._in_flight: asyncio.Future[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._client = build_client(transport=self._transport)

    async def stop(self) -> None:
        try:
            await self._drain()
        finally:
            if self._client is not None:
                await close(self._client)
                self._client = None
                self._engine = None
            if self.flush_logs_at_stop:
                await asyncio.to_thread(self.log_lines.flush)

    async def _drain(self) -> None:
        """Wait for the batch being written (its error, if it failed, is raised here)."""
        pending, self._in_flight = self._in_flight, None
        if pending is not None:
            await pending

    # --- requests ----------------------------------------------------------------------------

    def pagination_defaults(self) -> dict[str, Any] | None:
        if self._provider.paginate is None:
            return None
        return self._provider.paginate.model_dump(exclude_none=True)

    async def send(self, call: ProxyCall) -> ProxyResponse:
        if self._client is None:
            await self.start()
        connection = await asyncio.to_thread(self._load)
        self.redactor.add(*credential_secrets(connection.credentials or {}))
        return await self._engine_for(connection).send(call)

    def _load(self, *, force: bool = False) -> StoredConnection:
        return load_connection(
            self._store, self._settings, self._environment, self._connection, force=force
        )

    def _engine_for(self, connection: StoredConnection) -> ProxyEngine:
        """One engine while the credentials stay the same (it caches fetched tokens)."""
        credentials = dict(connection.credentials or {})
        if self._engine is not None and self._engine[0] == credentials:
            return self._engine[1]
        assert self._client is not None
        engine = ProxyEngine(
            client=self._client,
            provider=self._provider,
            connection=sdk_connection(connection),
            refresh_connection=self._refreshed,
            on_attempt=self._log_attempt,
            on_secret=self.redactor.add,
        )
        self._engine = (credentials, engine)
        return engine

    async def _refreshed(self) -> Connection:
        connection = await asyncio.to_thread(lambda: self._load(force=True))
        self.redactor.add(*credential_secrets(connection.credentials or {}))
        return sdk_connection(connection)

    def _log_attempt(self, attempt: Attempt) -> None:
        status = attempt.error or (str(attempt.status) if attempt.status is not None else "-")
        line = f"{attempt.method} {attempt.url} -> {status} ({attempt.duration_ms:.0f} ms)"
        if attempt.wait_ms is not None:
            line += f"; retrying in {attempt.wait_ms:.0f} ms ({attempt.reason})"
        failed = attempt.status is None or attempt.status >= 400
        self.log_lines.add("warn" if failed else "info", line)

    # --- connection, metadata, environment ---------------------------------------------------

    async def get_connection(self) -> Connection:
        return sdk_connection(await asyncio.to_thread(self._load))

    async def set_metadata(self, metadata: dict[str, Any], *, merge: bool) -> None:
        key, name = self._connection.provider_config_key, self._connection.connection_id
        environment = self._connection.environment_id

        def write() -> None:
            with self._store.fenced(self._task.id, self._token) as tx:
                change = tx.connections.update_metadata if merge else tx.connections.set_metadata
                change(environment, key, [name], metadata)

        await self._drain()
        await asyncio.to_thread(write)

    async def get_environment_variables(self) -> dict[str, str]:
        variables = await asyncio.to_thread(
            self._store.variables.list_all, self._connection.environment_id
        )
        self.redactor.add(*(variable.value for variable in variables))  # often keys: not logged
        return {variable.name: variable.value for variable in variables}

    async def trigger_action(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any
    ) -> Any:
        if self._trigger is None:
            raise SDKUsageError("trigger_action is not available in this run")
        return await self._trigger(provider_config_key, connection_id, action_name, input)

    async def get_webhook_url(self) -> str | None:
        return self._webhook_url

    # --- checkpoints -------------------------------------------------------------------------

    async def get_checkpoint(self) -> Checkpoint | None:
        found = await asyncio.to_thread(
            self._store.checkpoints.get, self._connection_id, self._checkpoint_key
        )
        return None if found.value is None else dict(found.value)

    async def save_checkpoint(self, checkpoint: Checkpoint | None) -> None:
        def write() -> None:
            with self._store.fenced(self._task.id, self._token) as tx:
                if checkpoint is None:
                    tx.checkpoints.clear(self._connection_id, self._checkpoint_key)
                else:
                    tx.checkpoints.save(self._connection_id, self._checkpoint_key, checkpoint)

        await self._drain()
        await asyncio.to_thread(write)

    # --- logs --------------------------------------------------------------------------------

    def log(self, level: LogLevel, message: str) -> None:
        self.log_lines.add(level, message)

    # --- records -----------------------------------------------------------------------------

    async def write_records(
        self, kind: str, model: str, records: list[Any], encoded: bytes
    ) -> None:
        del records  # the script may change them once this returns: their JSON is a snapshot
        await self._drain()
        snapshot = encoded
        self._in_flight = asyncio.ensure_future(
            asyncio.to_thread(lambda: self._write_records(kind, model, _loads(snapshot)))
        )

    def _write_records(self, kind: str, model: str, records: list[Any]) -> None:
        self._load_marker(model)
        generation = self.state.generation if self.state.marks_seen(model) else None
        full = model_name(model, self._variant)
        self.log_lines.flush()
        with self._store.fenced(self._task.id, self._token) as tx:
            if kind == "save":
                done = tx.records.save(self._connection_id, full, records, generation=generation)
                self.state.add(model, added=done.added, updated=done.updated)
            elif kind == "delete":
                done = tx.records.delete(self._connection_id, full, records)
                self.state.add(model, deleted=done.deleted)
            else:
                done = tx.records.update(self._connection_id, full, records, generation=generation)
                self.state.add(model, updated=done.updated)
            tx.tasks.update_counts(self._task.id, self.state.counts)
        if done.duplicate_ids:
            shown = ", ".join(done.duplicate_ids[:5])
            self.log_lines.add("warn", f"Found duplicate keys for model {model}: {shown}")

    async def get_records_by_ids(self, model: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        await self._drain()
        full = model_name(model, self._variant)
        return await asyncio.to_thread(
            self._store.records.get_by_ids, self._connection_id, full, ids
        )

    async def track_deletes(self, model: str, *, start: bool) -> None:
        await self._drain()
        await asyncio.to_thread(self._track_deletes, model, start)

    def _track_deletes(self, model: str, start: bool) -> None:
        marker = self._load_marker(model)
        if not start:
            if marker is None:
                raise SDKUsageError(f"No track deletes starting point found for model '{model}'.")
            self.state.pending_deletes[model] = marker
            return
        if marker is not None:
            return  # a resumed run keeps the generation its first attempt started from
        generation = self.state.generation
        assert generation is not None, "sync runs have a generation"
        with self._store.fenced(self._task.id, self._token) as tx:
            tx.checkpoints.save(self._connection_id, self.marker_key(model), {"since": generation})
        self.state.markers[model] = generation

    def marker_key(self, model: str) -> str:
        return f"{self._checkpoint_key}:{_TRACK_DELETES}:{model}"

    def _load_marker(self, model: str) -> int | None:
        if model not in self.state.markers:
            found = self._store.checkpoints.get(self._connection_id, self.marker_key(model))
            since = (found.value or {}).get("since")
            self.state.markers[model] = since if isinstance(since, int) else None
        return self.state.markers[model]


def _loads(encoded: bytes) -> list[Any]:
    """The records of a batch from its JSON array (integers beyond 64 bits kept exact)."""
    records: list[Any] = values.decode(encoded)
    return records


def action_failure(error: dict[str, Any] | None, action_name: str) -> Exception:
    """What `trigger_action` raises in the calling script when the action failed."""
    error = error or {}
    kind = str(error.get("type") or "script_internal_error")
    if kind == "action_script_failure":
        return ActionError(error.get("payload"))
    message = str(error.get("message") or "it failed")
    detail = jsjson.stringify(error.get("payload")) if error.get("payload") is not None else ""
    return ScriptError(
        f"trigger_action({action_name!r}) failed: {message}{' ' + detail if detail else ''}",
        error_type=kind,
        payload=error.get("payload"),
    )
