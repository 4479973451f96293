"""The script SDK: what `fetch_data`, `run_action` and `on_event` receive as `nango`.

One class per script kind, the same in every mode (local dry run, replay of fixtures, deployed
runtime); what differs is the backend that carries out requests and writes. This module holds the
public surface scripts program against; the backends come with the executor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from runtime.errors import NangoError

LogLevel = Literal["debug", "info", "warn", "error"]
JSONValue = Any
Checkpoint = dict[str, str | int | float | bool]


class ActionError(Exception):
    """Raised by an action to fail with a payload; callers receive
    `{"error_type": "action_script_failure", "payload": payload}`."""

    def __init__(self, payload: JSONValue = None) -> None:
        super().__init__(payload if isinstance(payload, str) else "action failed")
        self.payload = payload


class HttpError(Exception):
    """A proxied request answered with a non-2xx status (after any retries)."""

    def __init__(self, status: int, body: JSONValue, headers: Mapping[str, str], url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.body = body
        self.headers = dict(headers)
        self.url = url


class NetworkError(Exception):
    """A proxied request never got an answer (connection, DNS, timeout...) after any retries."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.attempts = attempts


@dataclass
class ProxyResponse:
    """What `proxy` and the verb helpers return."""

    status: int
    data: JSONValue
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Connection:
    """What `get_connection()` returns."""

    connection_id: str
    provider_config_key: str
    provider: str
    connection_config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    credentials: dict[str, Any] = field(default_factory=dict)


class SDKNotAvailableError(NangoError):
    """The SDK was used without a backend (outside `nango dryrun`, `nango test` or the runtime)."""


class _Unbound:
    def __getattr__(self, name: str) -> Any:
        raise SDKNotAvailableError(
            f"nango.{name} is only available while a script runs "
            "(nango dryrun, nango test or the runtime)"
        )


class NangoAction:
    """The SDK object of actions and on-event scripts."""

    def __init__(
        self,
        *,
        connection_id: str,
        provider_config_key: str,
        provider: str = "",
        environment_name: str = "dev",
        backend: Any = None,
    ) -> None:
        self.connection_id = connection_id
        self.provider_config_key = provider_config_key
        self.provider = provider
        self.environment_name = environment_name
        self._backend: Any = backend if backend is not None else _Unbound()

    async def proxy(self, *, endpoint: str, method: str = "GET", **options: Any) -> ProxyResponse:
        result: ProxyResponse = await self._backend.proxy(
            endpoint=endpoint, method=method, **options
        )
        return result

    async def get(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, method="GET", **options)

    async def post(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, method="POST", **options)

    async def put(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, method="PUT", **options)

    async def patch(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, method="PATCH", **options)

    async def delete(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, method="DELETE", **options)

    def paginate(self, *, endpoint: str, **options: Any) -> AsyncIterator[list[Any]]:
        pages: AsyncIterator[list[Any]] = self._backend.paginate(endpoint=endpoint, **options)
        return pages

    async def log(self, *args: Any, level: LogLevel = "info") -> None:
        await self._backend.log(*args, level=level)

    async def get_connection(self) -> Connection:
        connection: Connection = await self._backend.get_connection()
        return connection

    async def get_metadata(self) -> dict[str, Any] | None:
        metadata: dict[str, Any] | None = await self._backend.get_metadata()
        return metadata

    async def set_metadata(self, metadata: dict[str, Any]) -> None:
        await self._backend.set_metadata(metadata)

    async def update_metadata(self, metadata: dict[str, Any]) -> None:
        await self._backend.update_metadata(metadata)

    async def get_environment_variables(self) -> dict[str, str]:
        variables: dict[str, str] = await self._backend.get_environment_variables()
        return variables

    async def trigger_action(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any = None
    ) -> Any:
        return await self._backend.trigger_action(
            provider_config_key, connection_id, action_name, input
        )

    async def get_webhook_url(self) -> str | None:
        url: str | None = await self._backend.get_webhook_url()
        return url

    async def get_checkpoint(self) -> Checkpoint | None:
        checkpoint: Checkpoint | None = await self._backend.get_checkpoint()
        return checkpoint

    async def save_checkpoint(self, checkpoint: Mapping[str, str | int | float | bool]) -> None:
        await self._backend.save_checkpoint(dict(checkpoint))

    async def clear_checkpoint(self) -> None:
        await self._backend.clear_checkpoint()


class NangoSync(NangoAction):
    """The SDK object of syncs and their webhook handlers."""

    def __init__(
        self,
        *,
        connection_id: str,
        provider_config_key: str,
        provider: str = "",
        environment_name: str = "dev",
        backend: Any = None,
        last_sync_date: datetime | None = None,
        variant: str = "base",
    ) -> None:
        super().__init__(
            connection_id=connection_id,
            provider_config_key=provider_config_key,
            provider=provider,
            environment_name=environment_name,
            backend=backend,
        )
        self.last_sync_date = last_sync_date
        self.variant = variant

    async def batch_save(self, records: Sequence[Any], model: str) -> bool:
        return bool(await self._backend.batch_save(list(records), model))

    async def batch_delete(self, records: Sequence[Any], model: str) -> bool:
        return bool(await self._backend.batch_delete(list(records), model))

    async def batch_update(self, records: Sequence[Any], model: str) -> bool:
        return bool(await self._backend.batch_update(list(records), model))

    async def get_records_by_ids(self, ids: Sequence[str], model: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = await self._backend.get_records_by_ids(list(ids), model)
        return found

    async def track_deletes_start(self, model: str) -> None:
        await self._backend.track_deletes_start(model)

    async def track_deletes_end(self, model: str) -> None:
        await self._backend.track_deletes_end(model)


PUBLIC_TYPES = [
    "ActionError",
    "Connection",
    "HttpError",
    "NangoAction",
    "NangoSync",
    "ProxyResponse",
]
