"""Replay: every request answered from recorded fixtures, with no network at all."""

from __future__ import annotations

from runtime.backends.capture import Capture, RequestEntry
from runtime.http.request import ProxyCall
from runtime.recordings.fixture_set import FixtureSet
from runtime.recordings.identity import RequestIdentity, identity_from_call
from runtime.sdk.types import HttpError, ProxyResponse


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

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, call: ProxyCall) -> ProxyResponse:
        identity = call_identity(call)
        recorded = self._fixtures.find_response(identity)
        headers = {str(k).lower(): str(v) for k, v in (recorded.headers or {}).items()}
        url = f"(replay) {call.endpoint}"
        self._capture.add_request(RequestEntry(call.method, url, recorded.status, 1, 0.0))
        if not 200 <= recorded.status < 300:
            raise HttpError(recorded.status, recorded.data, headers, url)
        return ProxyResponse(recorded.status, recorded.data, headers)
