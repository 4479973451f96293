"""Recording (`RecordingHttp`, `RecordingListener`) writes every answer, errors too, and what a
sync saves; replay (`ReplayHttp`) answers from those fixtures with no network, raises a recorded
error status as the live API would, and names the closest recording for a request it lacks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from runtime.backends.capture import Capture
from runtime.backends.recording import RecordingHttp, RecordingListener
from runtime.backends.replay import ReplayHttp, call_identity
from runtime.errors import HttpError, NetworkError
from runtime.http.request import ProxyCall
from runtime.recordings import FixtureRecorder
from runtime.recordings.fixture_set import FixtureSet
from runtime.recordings.matching import FixtureMissError
from runtime.recordings.unified import load_unified
from runtime.sdk.types import ProxyResponse
from tests.helpers import EchoHttp

T = TypeVar("T")

ITEMS = ProxyCall("/items", params={"page": 1})
CREATE = ProxyCall("/issues", method="POST", data={"title": "x"})
GONE = ProxyCall("/gone")
DOWN = ProxyCall("/down")


def run(step: Awaitable[T]) -> T:
    return asyncio.run(step)  # type: ignore[arg-type]


class FakeApi(EchoHttp):
    """The live API as the recorder sees it: answers by endpoint, raising as `LiveHttp` does."""

    def answer(self, call: ProxyCall) -> ProxyResponse:
        if call.endpoint == "/items":
            return ProxyResponse(200, [{"id": 1}], {"link": "<next>", "content-type": "json"})
        if call.endpoint == "/issues":
            return ProxyResponse(201, {"id": 9}, {})
        if call.endpoint == "/gone":
            raise HttpError(404, {"message": "not found"}, {"x-request-id": "r1"}, "u/gone")
        raise NetworkError("connection refused", url="u/down", attempts=3)


async def record_session(recording: RecordingHttp) -> list[Any]:
    """Send each call once; what came back (a response or the error raised)."""
    answers: list[Any] = []
    await recording.start()
    for call in (ITEMS, CREATE, GONE, DOWN):
        try:
            answers.append(await recording.send(call))
        except (HttpError, NetworkError) as exc:
            answers.append(exc)
    await recording.stop()
    return answers


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    """A fixture file recorded from `FakeApi`, with two saved records and a delete."""
    path = tmp_path / "github" / "tests" / "issues.test.json"
    recorder = FixtureRecorder(path)
    api = FakeApi()
    answers = run(record_session(RecordingHttp(api, recorder)))
    listener = RecordingListener(recorder)
    listener.on_records("save", "Issue", [{"id": "1"}, {"id": "2"}])
    listener.on_records("delete", "Issue", [{"id": "3"}])
    listener.on_records("update", "Issue", [{"id": "4"}])
    recorder.close()

    assert api.events == ["start", "GET /items", "POST /issues", "GET /gone", "GET /down", "stop"]
    assert isinstance(answers[0], ProxyResponse)
    assert answers[0].data == [{"id": 1}]
    assert isinstance(answers[2], HttpError)  # re-raised after it was recorded
    assert isinstance(answers[3], NetworkError)
    return path


def test_recording_writes_every_answer_errors_included(recorded: Path) -> None:
    document = json.loads(recorded.read_text(encoding="utf-8"))
    api = document["api"]
    assert api["get"]["/items"]["response"] == [{"id": 1}]
    assert api["get"]["/items"]["status"] == 200
    assert api["get"]["/items"]["hash"] == call_identity(ITEMS).hash
    assert api["post"]["/issues"]["status"] == 201
    assert api["get"]["/gone"]["status"] == 404
    assert api["get"]["/gone"]["response"] == {"message": "not found"}
    assert api["get"]["/gone"]["headers"] == {"x-request-id": "r1"}
    # no answer, nothing to record
    assert "/down" not in api["get"]


def test_recording_writes_what_the_sync_saved_and_deleted(recorded: Path) -> None:
    nango = json.loads(recorded.read_text(encoding="utf-8"))["nango"]
    assert nango["batchSave"] == {"Issue": [{"id": "1"}, {"id": "2"}]}
    assert nango["batchDelete"] == {"Issue": [{"id": "3"}]}


def replay(path: Path) -> tuple[ReplayHttp, Capture]:
    capture = Capture()
    return ReplayHttp(load_unified(path, script="issues"), capture), capture


def test_replay_answers_a_recorded_request_without_the_network(
    recorded: Path, no_network: None
) -> None:
    http, capture = replay(recorded)

    async def session() -> list[ProxyResponse]:
        await http.start()
        try:
            return [await http.send(ITEMS), await http.send(CREATE)]
        finally:
            await http.stop()

    items, created = run(session())
    assert (items.status, items.data) == (200, [{"id": 1}])
    assert items.headers == {"link": "<next>", "content-type": "json"}
    assert (created.status, created.data) == (201, {"id": 9})
    assert [(r.method, r.url, r.status) for r in capture.requests] == [
        ("GET", "(replay) /items", 200),
        ("POST", "(replay) /issues", 201),
    ]


def test_replay_raises_a_recorded_error_status_as_the_api_would(recorded: Path) -> None:
    http, capture = replay(recorded)
    with pytest.raises(HttpError) as caught:
        run(http.send(GONE))
    assert caught.value.status == 404
    assert caught.value.body == {"message": "not found"}
    assert caught.value.headers == {"x-request-id": "r1"}
    assert capture.request_count == 1


def test_replay_of_an_unrecorded_request_names_the_closest_recording(recorded: Path) -> None:
    http, capture = replay(recorded)
    with pytest.raises(FixtureMissError) as caught:
        run(http.send(ProxyCall("/items", params={"page": 2})))
    message = caught.value.message
    assert message.startswith("No recorded response for GET /items?page=2")
    assert str(recorded) in message
    assert "Closest recorded: GET /items?page=1" in message
    assert "nango dryrun issues <connection-id> --save" in (caught.value.hint or "")
    assert capture.request_count == 0

    with pytest.raises(FixtureMissError, match="Nothing is recorded for PUT"):
        run(http.send(ProxyCall("/items", method="PUT")))


def test_replay_with_no_fixtures_at_all_says_so(tmp_path: Path) -> None:
    empty = FixtureSet("issues", tmp_path / "issues.test.json")
    with pytest.raises(FixtureMissError, match="no calls at all"):
        run(ReplayHttp(empty, Capture()).send(ITEMS))


def test_replay_finds_a_request_whatever_the_order_of_its_params(tmp_path: Path) -> None:
    path = tmp_path / "t.test.json"
    recorder = FixtureRecorder(path)
    call = ProxyCall("/search", params={"b": "2", "a": 1})
    recorder.record_request(call_identity(call), 200, {}, {"found": True})
    recorder.close()

    http, _ = replay(path)
    again = run(http.send(ProxyCall("/search", params={"a": "1", "b": 2})))
    assert again.data == {"found": True}
