"""The script SDK: what `fetch_data`, `run_action`, `on_event` and `on_webhook` receive as `nango`.

One implementation for every mode (local dry run, replay of fixtures, the runtime): the SDK checks
what the script asks for and hands it to a backend, which decides what a request or a write does.
A script cannot tell the modes apart except by what the backend does with its writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime import jsjson
from runtime.errors import InvalidRecordsError, SDKUsageError
from runtime.http.pagination import merge_pagination, paginate
from runtime.http.request import ProxyCall, ResponseType
from runtime.sdk.backend import Backend, NoHooks, RunHooks
from runtime.sdk.batches import prepare_batch
from runtime.sdk.types import PUBLIC_TYPES, Checkpoint, LogLevel
from runtime.sdk.types import ActionError as ActionError
from runtime.sdk.types import Connection as Connection
from runtime.sdk.types import HttpError as HttpError
from runtime.sdk.types import NetworkError as NetworkError
from runtime.sdk.types import ProxyResponse as ProxyResponse
from runtime.sdk.validation import InvalidRecord, ModelRegistry, ValidationSummary

__all__ = [*PUBLIC_TYPES, "PUBLIC_TYPES", "Checkpoint", "ScriptContext"]

_LEVELS: dict[str, LogLevel] = {
    "debug": "debug",
    "verbose": "debug",
    "silly": "debug",
    "info": "info",
    "http": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
}


@dataclass
class ScriptContext:
    """Who the script runs for and what it may do."""

    connection_id: str
    provider_config_key: str
    provider: str = ""
    environment_name: str = "dev"
    script_name: str = ""
    models: ModelRegistry = field(default_factory=lambda: ModelRegistry({}))
    declared_models: tuple[str, ...] = ()
    fail_on_invalid: bool = False
    last_sync_date: datetime | None = None
    variant: str = "base"


def format_log_message(args: Sequence[Any]) -> str:
    parts = [a if isinstance(a, str) else _to_text(a) for a in args]
    return " ".join(parts)


def _to_text(value: Any) -> str:
    try:
        return jsjson.stringify(value)
    except TypeError:
        return repr(value)


def _check_checkpoint(checkpoint: Mapping[str, Any]) -> Checkpoint:
    if not isinstance(checkpoint, Mapping):
        raise SDKUsageError("Invalid checkpoint: it must be a dict")
    for key, value in checkpoint.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise SDKUsageError(
                f"Invalid checkpoint: {key!r} must map to a string, number or boolean",
                hint="Checkpoints are flat dicts; store nested state as a JSON string.",
            )
    return dict(checkpoint)


class NangoAction:
    """The SDK object of actions and on-event scripts."""

    def __init__(
        self, context: ScriptContext, backend: Backend, hooks: RunHooks | None = None
    ) -> None:
        self._context = context
        self._backend = backend
        self._hooks: RunHooks = hooks if hooks is not None else NoHooks()
        self.connection_id = context.connection_id
        self.provider_config_key = context.provider_config_key
        self.provider = context.provider
        self.environment_name = context.environment_name

    # ----- HTTP

    async def proxy(
        self,
        *,
        endpoint: str,
        method: str = "GET",
        params: dict[str, Any] | str | None = None,
        data: Any = None,
        headers: dict[str, Any] | None = None,
        retries: int | None = None,
        retry_on: list[int] | None = None,
        base_url_override: str | None = None,
        response_type: ResponseType = "json",
        decompress: bool = False,
        connection_id: str | None = None,
        provider_config_key: str | None = None,
    ) -> ProxyResponse:
        """Call the provider's API with the connection's credentials; non-2xx raises HttpError."""
        self._same_connection(connection_id, provider_config_key)
        call = ProxyCall(
            endpoint=endpoint,
            method=method.upper(),
            params=params,
            data=data,
            headers=headers,
            retries=retries,
            retry_on=retry_on,
            base_url_override=base_url_override,
            response_type=response_type,
            decompress=decompress,
        )
        return await self._backend.send(call)

    async def get(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, **{**options, "method": "GET"})

    async def post(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, **{**options, "method": "POST"})

    async def put(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, **{**options, "method": "PUT"})

    async def patch(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, **{**options, "method": "PATCH"})

    async def delete(self, *, endpoint: str, **options: Any) -> ProxyResponse:
        return await self.proxy(endpoint=endpoint, **{**options, "method": "DELETE"})

    def paginate(
        self, *, endpoint: str, paginate: dict[str, Any] | None = None, **options: Any
    ) -> AsyncIterator[list[Any]]:
        """Pages of results (lists), following the call's `paginate` settings merged over the
        provider's defaults key by key. Accepts every argument `proxy` accepts."""
        self._same_connection(
            options.pop("connection_id", None), options.pop("provider_config_key", None)
        )
        options["method"] = str(options.get("method", "GET")).upper()
        call = ProxyCall(endpoint=endpoint, **options)
        config = merge_pagination(self._backend.pagination_defaults(), paginate)
        return paginate_pages(self._backend, self._hooks, call, config)

    def _same_connection(self, connection_id: str | None, provider_config_key: str | None) -> None:
        other_connection = connection_id not in (None, self.connection_id)
        other_integration = provider_config_key not in (None, self.provider_config_key)
        if other_connection or other_integration:
            raise SDKUsageError(
                "Calling another connection's API from a script is not supported here",
                hint="Use trigger_action to run an action on another connection.",
            )

    # ----- logs, connection, metadata

    async def log(self, *args: Any, level: str = "info") -> None:
        """Log a message (arguments joined by spaces; dicts and lists as JSON)."""
        if args and isinstance(args[-1], dict) and set(args[-1]) == {"level"}:
            level, args = str(args[-1]["level"]), args[:-1]
        self._backend.log(_LEVELS.get(level.lower(), "info"), format_log_message(args))

    async def get_connection(self) -> Connection:
        return await self._backend.get_connection()

    async def get_metadata(self) -> dict[str, Any] | None:
        """The connection's metadata as a plain dict (never validated), or None."""
        metadata = (await self._backend.get_connection()).metadata
        return dict(metadata) if metadata is not None else None

    async def set_metadata(self, metadata: dict[str, Any]) -> None:
        await self._backend.set_metadata(dict(metadata), merge=False)

    async def update_metadata(self, metadata: dict[str, Any]) -> None:
        await self._backend.set_metadata(dict(metadata), merge=True)

    async def get_environment_variables(self) -> dict[str, str]:
        return await self._backend.get_environment_variables()

    async def trigger_action(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any = None
    ) -> Any:
        return await self._backend.trigger_action(
            provider_config_key, connection_id, action_name, input
        )

    async def get_webhook_url(self) -> str | None:
        return await self._backend.get_webhook_url()

    # ----- checkpoints

    async def get_checkpoint(self) -> Checkpoint | None:
        return await self._backend.get_checkpoint()

    async def save_checkpoint(self, checkpoint: Mapping[str, str | int | float | bool]) -> None:
        await self._backend.save_checkpoint(_check_checkpoint(checkpoint))

    async def clear_checkpoint(self) -> None:
        await self._backend.save_checkpoint(None)


async def paginate_pages(
    backend: Backend, hooks: RunHooks, call: ProxyCall, config: dict[str, Any]
) -> AsyncIterator[list[Any]]:
    def warn(message: str) -> None:
        backend.log("warn", message)

    async for page in paginate(
        backend.send, call, config, warn=warn, on_stop=hooks.on_pagination_stop
    ):
        hooks.on_page(len(page))
        yield page


class NangoSync(NangoAction):
    """The SDK object of syncs and their webhook handlers."""

    def __init__(
        self, context: ScriptContext, backend: Backend, hooks: RunHooks | None = None
    ) -> None:
        super().__init__(context, backend, hooks)
        self.last_sync_date = context.last_sync_date
        self.variant = context.variant

    def _check_model(self, model: str) -> None:
        if model not in self._context.declared_models:
            declared = ", ".join(self._context.declared_models) or "none"
            raise SDKUsageError(
                f"The model '{model}' is not included in the declared sync models: {declared}",
                hint="Use a model listed in the sync's `output` in nango.yaml.",
            )

    async def batch_save(self, records: Sequence[Any], model: str) -> bool:
        """Save records (model instances or dicts with an `id`) of one of the sync's models."""
        self._check_model(model)
        if not records:
            self._backend.log("info", "batch_save received an empty list: nothing to save")
            return True
        batch = prepare_batch(records, model, self._context.models)
        if batch.not_json:
            raise _invalid_error(model, batch.not_json, "hold values JSON cannot hold")
        if batch.invalid:
            self._report_invalid(model, batch.invalid)
        if batch.duplicate_ids:
            shown = ", ".join(batch.duplicate_ids[:5])
            more = "..." if len(batch.duplicate_ids) > 5 else ""
            self._backend.log(
                "warn",
                f"batch_save got duplicate ids ({shown}{more}) for {model}: kept the last of each",
            )
        await self._backend.write_records("save", model, batch.records, batch.encoded)
        return True

    def _report_invalid(self, model: str, invalid: list[InvalidRecord]) -> None:
        if self._context.fail_on_invalid:
            raise _invalid_error(model, invalid, "do not match the model")
        self._hooks.on_invalid_records(_summary(model, invalid))

    async def batch_delete(self, records: Sequence[Any], model: str) -> bool:
        """Mark records (each with at least an `id`) as deleted."""
        return await self._write_partial("delete", records, model)

    async def batch_update(self, records: Sequence[Any], model: str) -> bool:
        """Merge partial records (each with an `id`) into the saved ones."""
        return await self._write_partial("update", records, model)

    async def _write_partial(self, kind: str, records: Sequence[Any], model: str) -> bool:
        self._check_model(model)
        batch = prepare_batch(records, model, self._context.models, validate=False)
        if batch.not_json:
            raise _invalid_error(model, batch.not_json, "hold values JSON cannot hold")
        missing = [r for r in batch.records if not isinstance(r, dict) or "id" not in r]
        if missing:
            raise SDKUsageError(f"batch_{kind} got {len(missing)} record(s) without an id")
        if batch.records:
            await self._backend.write_records(kind, model, batch.records, batch.encoded)
        return True

    async def get_records_by_ids(self, ids: Sequence[str], model: str) -> dict[str, dict[str, Any]]:
        self._check_model(model)
        return await self._backend.get_records_by_ids(model, [str(i) for i in ids])

    async def track_deletes_start(self, model: str) -> None:
        self._check_model(model)
        await self._backend.track_deletes(model, start=True)

    async def track_deletes_end(self, model: str) -> None:
        self._check_model(model)
        await self._backend.track_deletes(model, start=False)


def _summary(model: str, invalid: list[InvalidRecord]) -> ValidationSummary:
    summary = ValidationSummary(model)
    for found in invalid:
        summary.add(found)
    return summary


def _invalid_error(model: str, invalid: list[InvalidRecord], problem: str) -> InvalidRecordsError:
    summary = _summary(model, invalid)
    message = f"{summary.invalid} {model} record(s) {problem}"
    return InvalidRecordsError(message, summary.to_json())
