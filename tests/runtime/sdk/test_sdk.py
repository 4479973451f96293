"""The SDK object with the local backend and a scripted HTTP source (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import StrictStr

from runtime.backends.capture import Capture
from runtime.backends.local import LocalBackend
from runtime.errors import InvalidRecordsError, SDKUsageError
from runtime.http.request import ProxyCall
from runtime.sdk.models import NangoModel
from runtime.sdk.nango import NangoAction, NangoSync, ScriptContext
from runtime.sdk.types import Connection, ProxyResponse
from runtime.sdk.validation import ModelRegistry


class Issue(NangoModel):
    id: StrictStr
    title: StrictStr


class Pages:
    """Answers `GET /items` with cursor pages and records every call."""

    def __init__(self) -> None:
        self.calls: list[ProxyCall] = []

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, call: ProxyCall) -> ProxyResponse:
        self.calls.append(call)
        cursor = (call.params or {}).get("cursor") if isinstance(call.params, dict) else None
        if cursor is None:
            return ProxyResponse(200, {"items": [{"id": "1"}], "next": "c2"})
        return ProxyResponse(200, {"items": [{"id": "2"}], "next": None})


def make(
    *, fail_on_invalid: bool = False, metadata: dict[str, Any] | None = None
) -> tuple[NangoSync, Capture, Pages]:
    capture, http = Capture(), Pages()
    connection = Connection("conn", "github", "github", metadata=metadata)
    backend = LocalBackend(http=http, connection=connection, capture=capture)
    context = ScriptContext(
        connection_id="conn",
        provider_config_key="github",
        provider="github",
        models=ModelRegistry({"Issue": Issue}),
        declared_models=("Issue",),
        fail_on_invalid=fail_on_invalid,
    )
    return NangoSync(context, backend, capture), capture, http


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def saved(capture: Capture) -> list[Any]:
    return list(capture.models("save")["Issue"].all())


def test_batch_save_keeps_records_as_given_and_strips_metadata() -> None:
    sdk, capture, _ = make()
    records = [{"id": "1", "title": "a", "extra": 18, "_nango_metadata": {"x": 1}}]
    run(sdk.batch_save([*records, Issue(id="2", title="b")], "Issue"))
    assert saved(capture) == [{"id": "1", "title": "a", "extra": 18}, {"id": "2", "title": "b"}]
    assert records[0]["_nango_metadata"] == {"x": 1}  # the script's own dict is untouched


def test_duplicate_ids_keep_the_last_with_a_warning() -> None:
    sdk, capture, _ = make()
    run(sdk.batch_save([{"id": "1", "title": "a"}, {"id": "1", "title": "b"}], "Issue"))
    assert saved(capture) == [{"id": "1", "title": "b"}]
    assert any("duplicate ids (1)" in e.message for e in capture.logs if e.level == "warn")


def test_invalid_records_warn_or_fail() -> None:
    sdk, capture, _ = make()
    run(sdk.batch_save([{"id": "1"}, {"id": 2, "title": "x"}], "Issue"))
    assert len(saved(capture)) == 2
    summary = capture.invalid["Issue"]
    assert summary.invalid == 2
    assert dict(summary.by_path) == {"title": 1, "id": 1}
    strict, _, _ = make(fail_on_invalid=True)
    with pytest.raises(InvalidRecordsError) as failure:
        run(strict.batch_save([{"id": "1"}], "Issue"))
    assert failure.value.error_type == "invalid_sync_record"
    assert failure.value.payload["errors_by_path"]["title"]["count"] == 1


def test_an_undeclared_model_is_refused() -> None:
    sdk, _, _ = make()
    with pytest.raises(SDKUsageError, match="not included in the declared sync models: Issue"):
        run(sdk.batch_save([{"id": "1"}], "Other"))


def test_deletes_and_updates_need_ids() -> None:
    sdk, capture, _ = make()
    run(sdk.batch_delete([{"id": "1"}], "Issue"))
    assert list(capture.models("delete")["Issue"].all()) == [{"id": "1"}]
    with pytest.raises(SDKUsageError, match="without an id"):
        run(sdk.batch_update([{"title": "x"}], "Issue"))


def test_paginate_merges_the_call_config_and_follows_cursors() -> None:
    sdk, capture, http = make()
    config = {
        "type": "cursor",
        "cursor_name_in_request": "cursor",
        "cursor_path_in_response": "next",
        "response_path": "items",
    }

    async def pages() -> list[list[Any]]:
        return [page async for page in sdk.paginate(endpoint="/items", paginate=config)]

    assert run(pages()) == [[{"id": "1"}], [{"id": "2"}]]
    assert len(http.calls) == 2
    assert capture.pages == 2
    assert capture.pagination_stops


def test_metadata_is_a_plain_copy_and_writes_are_captured() -> None:
    sdk, capture, http = make(metadata={"owner": "o"})

    async def body() -> tuple[Any, Any]:
        first = await sdk.get_metadata()
        assert first is not None
        first["owner"] = "changed"
        await sdk.update_metadata({"repo": "r"})
        return await sdk.get_metadata(), (await sdk.get_connection()).metadata

    assert run(body()) == ({"owner": "o", "repo": "r"}, {"owner": "o", "repo": "r"})
    assert capture.metadata_writes == [{"merge": True, "metadata": {"repo": "r"}}]
    assert http.calls == []


def test_checkpoints_must_be_flat() -> None:
    sdk, capture, _ = make()

    async def body() -> Any:
        await sdk.save_checkpoint({"cursor": "x", "page": 2, "done": False})
        return await sdk.get_checkpoint()

    assert run(body()) == {"cursor": "x", "page": 2, "done": False}
    with pytest.raises(SDKUsageError, match="Invalid checkpoint"):
        run(sdk.save_checkpoint({"nested": {"a": 1}}))  # type: ignore[dict-item]
    run(sdk.clear_checkpoint())
    assert capture.checkpoint_writes[-1] is None


def test_log_levels_and_messages() -> None:
    sdk, capture, _ = make()
    run(sdk.log("found", {"n": 18}, level="warning"))
    run(sdk.log("legacy options", {"level": "error"}))
    assert [(e.level, e.message) for e in capture.logs] == [
        ("warn", 'found {"n":18}'),
        ("error", "legacy options"),
    ]


def test_another_connection_is_refused_locally() -> None:
    sdk, _, _ = make()
    with pytest.raises(SDKUsageError, match="another connection"):
        run(sdk.get(endpoint="/x", connection_id="other"))
    action = NangoAction(sdk._context, sdk._backend)
    with pytest.raises(SDKUsageError, match="needs the runtime"):
        run(action.trigger_action("github", "conn", "create-issue", {"a": 1}))
