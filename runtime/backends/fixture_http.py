"""HTTP sources around recorded fixtures: replay answers from them; recording adds to them."""

from __future__ import annotations

from typing import Any, Protocol

from runtime.backends.capture import Capture, RequestEntry
from runtime.http.request import ProxyCall
from runtime.recordings.fixture_set import FixtureSet
from runtime.recordings.identity import RequestIdentity, identity_from_call
from runtime.recordings.unified import FixtureRecorder
from runtime.sdk.types import HttpError, ProxyResponse


class _Sender(Protocol):
    async def send(self, call: ProxyCall) -> ProxyResponse: ...


def call_identity(call: ProxyCall) -> RequestIdentity:
    return identity_from_call(
        method=call.method,
        endpoint=call.endpoint,
        params=call.params,
        headers=call.headers,
        data=call.data,
    )


class ReplayHttp:
    """Answers every request from the recorded fixtures: no network at all.

    A recorded error status is raised as `HttpError`, as the live API's would be; a request with
    no recording raises `FixtureMissError` naming the closest recorded one.
    """

    def __init__(self, fixtures: FixtureSet, capture: Capture) -> None:
        self._fixtures = fixtures
        self._capture = capture

    async def send(self, call: ProxyCall) -> ProxyResponse:
        identity = call_identity(call)
        recorded = self._fixtures.find_response(identity)
        headers = {str(k).lower(): str(v) for k, v in (recorded.headers or {}).items()}
        url = f"(replay) {call.endpoint}"
        self._capture.add_request(RequestEntry(call.method, url, recorded.status, 1, 0.0))
        if not 200 <= recorded.status < 300:
            raise HttpError(recorded.status, recorded.data, headers, url)
        return ProxyResponse(recorded.status, recorded.data, headers)


class RecordingHttp:
    """Sends requests to the live API and records every answer (errors too) as it comes."""

    def __init__(self, inner: _Sender, recorder: FixtureRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

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
