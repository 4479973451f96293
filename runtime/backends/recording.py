"""Recording: requests go to the live API and every answer (errors too) is added to the fixture
file as it comes, with what the sync saves and deletes."""

from __future__ import annotations

from typing import Any, Protocol

from runtime.backends.replay import call_identity
from runtime.errors import HttpError
from runtime.http.request import ProxyCall
from runtime.recordings.unified import FixtureRecorder
from runtime.sdk.types import ProxyResponse


class _Sender(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, call: ProxyCall) -> ProxyResponse: ...


class RecordingHttp:
    """Sends requests to the live API and records every answer (errors too) as it comes."""

    def __init__(self, inner: _Sender, recorder: FixtureRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def start(self) -> None:
        await self._inner.start()

    async def stop(self) -> None:
        await self._inner.stop()

    async def send(self, call: ProxyCall) -> ProxyResponse:
        identity = call_identity(call)
        try:
            response = await self._inner.send(call)
        except HttpError as exc:
            self._recorder.record_request(identity, exc.status, exc.headers, exc.body)
            raise
        self._recorder.record_request(identity, response.status, response.headers, response.data)
        return response


class RecordingListener:
    """Adds what a sync saves or deletes to the fixture file."""

    def __init__(self, recorder: FixtureRecorder) -> None:
        self._recorder = recorder

    def on_records(self, kind: str, model: str, records: list[Any]) -> None:
        if kind == "save":
            self._recorder.add_batch_save(model, records)
        elif kind == "delete":
            self._recorder.add_batch_delete(model, records)
