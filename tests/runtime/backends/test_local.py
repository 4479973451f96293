"""`LocalBackend`: a dry run's backend. Requests go to its HTTP source; the connection it gives is
a copy; every write (records, metadata, checkpoints) is captured and sent nowhere; what needs the
runtime says so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from runtime.backends.capture import Capture
from runtime.backends.local import LocalBackend
from runtime.errors import SDKUsageError
from runtime.http.providers import Provider
from runtime.http.request import ProxyCall
from runtime.sdk.types import Connection, ProxyResponse
from runtime.sdk.values import encode
from tests.helpers import EchoHttp

T = TypeVar("T")


def run(step: Awaitable[T]) -> T:
    async def main() -> T:
        return await step

    return asyncio.run(main())


Source = EchoHttp


class Listener:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, list[Any]]] = []

    def on_records(self, kind: str, model: str, records: list[Any]) -> None:
        self.seen.append((kind, model, records))


def backend(**options: Any) -> tuple[LocalBackend, Source, Capture]:
    source, capture = Source(), Capture()
    connection = Connection(
        "conn-1",
        "github",
        "github",
        connection_config={"org": "acme"},
        metadata={"team": "core", "n": 1},
        credentials={"type": "OAUTH2", "access_token": "tok"},
    )
    made = LocalBackend(http=source, connection=connection, capture=capture, **options)
    return made, source, capture


def test_start_send_and_stop_go_to_the_http_source() -> None:
    local, source, _ = backend()

    async def session() -> ProxyResponse:
        await local.start()
        try:
            return await local.send(ProxyCall("/items", method="POST"))
        finally:
            await local.stop()

    assert run(session()).data == {"endpoint": "/items"}
    assert source.events == ["start", "POST /items", "stop"]


def test_the_connection_given_is_a_copy() -> None:
    local, _, _ = backend()
    given = run(local.get_connection())
    assert given.connection_config == {"org": "acme"}
    assert given.credentials["access_token"] == "tok"
    given.metadata["team"] = "changed"  # type: ignore[index]
    given.credentials["access_token"] = "stolen"
    again = run(local.get_connection())
    assert again.metadata == {"team": "core", "n": 1}
    assert again.credentials["access_token"] == "tok"


def test_metadata_writes_are_captured_and_seen_by_later_reads() -> None:
    local, _, capture = backend()
    run(local.set_metadata({"n": 2}, merge=True))
    assert run(local.get_connection()).metadata == {"team": "core", "n": 2}
    run(local.set_metadata({"only": True}, merge=False))
    assert run(local.get_connection()).metadata == {"only": True}

    assert capture.metadata_writes == [
        {"merge": True, "metadata": {"n": 2}},
        {"merge": False, "metadata": {"only": True}},
    ]
    assert [e.message for e in capture.logs] == [
        "update_metadata captured (not sent): ['n']",
        "set_metadata captured (not sent): ['only']",
    ]


def test_checkpoints_start_from_the_given_one_and_writes_are_captured() -> None:
    given = {"page": 1}
    local, _, capture = backend(checkpoint=given)
    first = run(local.get_checkpoint())
    assert first == {"page": 1}
    first["page"] = 99  # type: ignore[index]
    given["page"] = 98
    assert run(local.get_checkpoint()) == {"page": 1}

    run(local.save_checkpoint({"page": 2}))
    assert run(local.get_checkpoint()) == {"page": 2}
    run(local.save_checkpoint(None))
    assert run(local.get_checkpoint()) is None
    assert capture.checkpoint_writes == [{"page": 2}, None]
    assert run(backend()[0].get_checkpoint()) is None


def test_records_are_captured_and_told_to_the_listener() -> None:
    listener = Listener()
    local, _, capture = backend(listener=listener)
    records = [{"id": "1"}, {"id": "2"}]
    run(local.write_records("save", "Issue", records, encode(records)))
    run(local.write_records("delete", "Issue", records[:1], encode(records[:1])))

    assert capture.record_count("save") == 2
    assert capture.record_count("delete") == 1
    assert listener.seen == [("save", "Issue", records), ("delete", "Issue", records[:1])]


def test_what_needs_stored_records_is_empty_and_logged() -> None:
    local, _, capture = backend()
    assert run(local.get_records_by_ids("Issue", ["1", "2"])) == {}
    run(local.track_deletes("Issue", start=True))
    run(local.track_deletes("Issue", start=False))
    assert [(e.level, e.message) for e in capture.logs] == [
        ("debug", "get_records_by_ids(Issue, 2 ids): no stored records locally"),
        ("info", "track_deletes_start(Issue): deletes are computed by the runtime only"),
        ("info", "track_deletes_end(Issue): deletes are computed by the runtime only"),
    ]


def test_trigger_action_is_refused_with_a_hint() -> None:
    local, source, _ = backend()
    with pytest.raises(SDKUsageError) as caught:
        run(local.trigger_action("github", "conn-2", "create-issue", {"t": 1}))
    assert caught.value.message == (
        "trigger_action('create-issue') on github/conn-2 with an input needs the runtime; "
        "a local run cannot trigger it"
    )
    assert "nango dryrun" in (caught.value.hint or "")
    assert source.events == []


def test_environment_variables_webhook_url_and_logs() -> None:
    env = {"A": "1"}
    local, _, capture = backend(environment_variables=env, webhook_url="https://hook.test/x")
    got = run(local.get_environment_variables())
    got["B"] = "2"
    env["C"] = "3"
    assert run(local.get_environment_variables()) == {"A": "1"}
    assert run(local.get_webhook_url()) == "https://hook.test/x"
    assert run(backend()[0].get_webhook_url()) is None
    local.log("warn", "careful")
    assert capture.logs[-1].to_json() == {"level": "warn", "message": "careful"}


def test_pagination_defaults_come_from_the_provider() -> None:
    paginated = Provider.model_validate(
        {
            "key": "acme",
            "display_name": "Acme",
            "auth_mode": "NONE",
            "paginate": {
                "type": "cursor",
                "cursor_name_in_request": "after",
                "response_path": "data",
            },
        }
    )
    plain = Provider.model_validate({"key": "p", "display_name": "P", "auth_mode": "NONE"})
    assert backend(provider=paginated)[0].pagination_defaults() == {
        "type": "cursor",
        "cursor_name_in_request": "after",
        "response_path": "data",
    }
    assert backend(provider=plain)[0].pagination_defaults() is None
    assert backend()[0].pagination_defaults() is None
