"""What the SDK hands a script's requests and writes to, in two parts.

`Backend` carries out the data operations: requests, the connection and its metadata, records,
checkpoints, logs. A dry run captures the writes (`runtime.backends.local`), a replay answers
requests from fixtures, the runtime stores everything; a script cannot tell them apart.

`RunHooks` only watches a run (pages fetched, pagination stops, invalid records when validation
does not fail the run, what the script printed), for a report or a status line. A backend that
has nothing to report (the runtime's) leaves the hooks to `NoHooks`.
"""

from __future__ import annotations

from typing import Any, Protocol

from runtime.http.request import ProxyCall
from runtime.sdk.types import Checkpoint, Connection, LogLevel, ProxyResponse
from runtime.sdk.validation import ValidationSummary

__all__ = ["Backend", "NoHooks", "RunHooks"]


class Backend(Protocol):
    """The data operations of a run (local capture, replay, the runtime's store). `start` and
    `stop` are called on the run's own event loop, before and after the script."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def pagination_defaults(self) -> dict[str, Any] | None: ...

    async def send(self, call: ProxyCall) -> ProxyResponse: ...

    async def get_connection(self) -> Connection: ...

    async def set_metadata(self, metadata: dict[str, Any], *, merge: bool) -> None: ...

    async def get_environment_variables(self) -> dict[str, str]: ...

    async def trigger_action(
        self, provider_config_key: str, connection_id: str, action_name: str, input: Any
    ) -> Any: ...

    async def get_webhook_url(self) -> str | None: ...

    async def get_checkpoint(self) -> Checkpoint | None: ...

    async def save_checkpoint(self, checkpoint: Checkpoint | None) -> None: ...

    def log(self, level: LogLevel, message: str) -> None: ...

    async def write_records(
        self, kind: str, model: str, records: list[Any], encoded: bytes
    ) -> None:
        """Save (`kind` "save"), delete or update `records` of `model`; `encoded` is their
        compact JSON array, in the same order."""

    async def get_records_by_ids(self, model: str, ids: list[str]) -> dict[str, dict[str, Any]]: ...

    async def track_deletes(self, model: str, *, start: bool) -> None: ...


class RunHooks(Protocol):
    """Observers of a run, for reports and status lines; never change what the run does."""

    def on_page(self, size: int) -> None: ...

    def on_pagination_stop(self, reason: str) -> None: ...

    def on_invalid_records(self, summary: ValidationSummary) -> None: ...

    def on_output(self, text: str) -> str:
        """A line the script printed to stdout; returns it as it may be shown (its secrets
        redacted)."""

    def shown(self, text: str) -> str:
        """`text` as it may be shown (its secrets redacted): what the script writes to stderr."""


class NoHooks:
    """Hooks that watch nothing."""

    def on_page(self, size: int) -> None:
        pass

    def on_pagination_stop(self, reason: str) -> None:
        pass

    def on_invalid_records(self, summary: ValidationSummary) -> None:
        pass

    def on_output(self, text: str) -> str:
        return text

    def shown(self, text: str) -> str:
        return text
