"""The backend of dry runs and replays: requests go to an HTTP source (the live API, the live API
while recording, or recorded fixtures); every write is captured and sent nowhere."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, Protocol

from runtime.backends.capture import Capture
from runtime.errors import SDKUsageError
from runtime.http.providers import Provider
from runtime.http.request import ProxyCall
from runtime.sdk.types import Checkpoint, Connection, LogLevel, ProxyResponse


class HttpSource(Protocol):
    """Where a run's requests go: the live API (`LiveHttp`), the live API while recording
    (`RecordingHttp`), or recorded fixtures (`ReplayHttp`)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, call: ProxyCall) -> ProxyResponse: ...


class WriteListener(Protocol):
    """Told about every write (the fixture recorder of `--save`)."""

    def on_records(self, kind: str, model: str, records: list[Any]) -> None: ...


class LocalBackend:
    """Implements `runtime.sdk.backend.Backend` for a run on the developer's machine."""

    def __init__(
        self,
        *,
        http: HttpSource,
        connection: Connection,
        capture: Capture,
        provider: Provider | None = None,
        checkpoint: Checkpoint | None = None,
        environment_variables: dict[str, str] | None = None,
        webhook_url: str | None = None,
        listener: WriteListener | None = None,
    ) -> None:
        self._http = http
        self._connection = connection
        self.capture = capture
        self._provider = provider
        self._checkpoint = dict(checkpoint) if checkpoint is not None else None
        self._environment = dict(environment_variables or {})
        self._webhook_url = webhook_url
        self._listener = listener

    async def start(self) -> None:
        await self._http.start()

    async def stop(self) -> None:
        await self._http.stop()

    def pagination_defaults(self) -> dict[str, Any] | None:
        if self._provider is None or self._provider.paginate is None:
            return None
        return self._provider.paginate.model_dump(exclude_none=True)

    async def send(self, call: ProxyCall) -> ProxyResponse:
        return await self._http.send(call)

    async def get_connection(self) -> Connection:
        return copy.deepcopy(self._connection)

    async def set_metadata(self, metadata: dict[str, Any], *, merge: bool) -> None:
        current = dict(self._connection.metadata or {}) if merge else {}
        current.update(metadata)
        self._connection = replace(self._connection, metadata=current)
        self.capture.metadata_writes.append({"merge": merge, "metadata": metadata})
        verb = "update" if merge else "set"
        self.capture.add_log("info", f"{verb}_metadata captured (not sent): {sorted(metadata)}")

    async def get_environment_variables(self) -> dict[str, str]:
        return dict(self._environment)

    async def trigger_action(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any
    ) -> Any:
        target = f"{provider_config_key}/{connection_id}"
        kind = "no input" if input is None else "an input"
        raise SDKUsageError(
            f"trigger_action({action_name!r}) on {target} with {kind} needs the runtime; "
            "a local run cannot trigger it",
            hint="Dry-run that action on its own with `nango dryrun`.",
        )

    async def get_webhook_url(self) -> str | None:
        return self._webhook_url

    async def get_checkpoint(self) -> Checkpoint | None:
        return dict(self._checkpoint) if self._checkpoint is not None else None

    async def save_checkpoint(self, checkpoint: Checkpoint | None) -> None:
        self._checkpoint = dict(checkpoint) if checkpoint is not None else None
        self.capture.checkpoint_writes.append(self._checkpoint)

    def log(self, level: LogLevel, message: str) -> None:
        self.capture.add_log(level, message)

    async def write_records(
        self, kind: str, model: str, records: list[Any], encoded: bytes
    ) -> None:
        self.capture.add_records(kind, model, records, encoded)
        if self._listener is not None:
            self._listener.on_records(kind, model, records)

    async def get_records_by_ids(self, model: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        self.capture.add_log(
            "debug", f"get_records_by_ids({model}, {len(ids)} ids): no stored records locally"
        )
        return {}

    async def track_deletes(self, model: str, *, start: bool) -> None:
        step = "start" if start else "end"
        self.capture.add_log(
            "info", f"track_deletes_{step}({model}): deletes are computed by the runtime only"
        )
