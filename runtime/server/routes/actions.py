"""`POST /action/trigger`: run an action and answer its output as it is, or Nango's errors.

| outcome | answer |
|---|---|
| the output | 200, the output as is (`null` included) |
| `ActionError(payload)` | 500 `{"error": {message, code: "action_script_failure", payload}}` |
| an HTTP error in the script | 424 `script_http_error` with `upstream` `{status, headers, body}` |
| an input that does not match its model | 400 `invalid_action_input` |
| anything else (an exception, a timeout, a crashed or killed run) | 500 with the error's type |
| unknown connection / action | 400 `unknown_connection` / 404 `not_found` |

With `X-Async: true` the action is queued and the answer is 202 `{id, statusUrl}` (and a
`Location` header); `X-Max-Retries` (0 to 5) retries it when it fails. `GET /action/:id` then
answers 404 `not_found` while it has not completed, and the table above once it has; the
environment's webhook URLs get Nango's `async_action` webhook when it completes.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from runtime.scheduler.control import ControlError, enqueue_action, wait_for_task
from runtime.server.auth import CurrentEnvironment, get_store
from runtime.server.errors import ApiError, error_body
from runtime.server.wire import ERROR_RESPONSES
from runtime.settings import RuntimeSettings
from runtime.store import Connection, Store
from runtime.store.tasks import Task
from runtime.webhooks.outgoing import async_status_url, queue_async_completion

router = APIRouter(tags=["actions"], responses=ERROR_RESPONSES)
StoreDep = Annotated[Store, Depends(get_store)]


def get_settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[RuntimeSettings, Depends(get_settings)]


class AsyncActionAnswer(BaseModel):
    """The answer to an async trigger: where to read the result."""

    id: str
    statusUrl: str


class ActionTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_name: str = Field(min_length=1, max_length=255)
    input: Any = None


@router.post(
    "/action/trigger",
    responses={
        200: {"description": "The action's output, as it returned it"},
        202: {"model": AsyncActionAnswer, "description": "X-Async: queued; poll statusUrl"},
        400: {"description": "unknown_connection, invalid_action_input, invalid_body"},
        404: {"description": "not_found: no such action"},
        424: {"description": "script_http_error: a request of the action failed"},
        500: {"description": "action_script_failure (ActionError) or another failure"},
    },
)
async def trigger_action(
    body: ActionTrigger,
    request: Request,
    environment: CurrentEnvironment,
    store: StoreDep,
    settings: SettingsDep,
    connection_id: Annotated[str, Header(alias="Connection-Id", min_length=1)],
    provider_config_key: Annotated[str, Header(alias="Provider-Config-Key", min_length=1)],
    is_async: Annotated[bool, Header(alias="X-Async")] = False,
    max_retries: Annotated[int, Header(alias="X-Max-Retries", ge=0, le=5)] = 0,
) -> Response:
    """Run the action for the connection and wait for it (up to its time limits), or, with
    `X-Async: true`, queue it and answer 202 `{id, statusUrl}` at once."""
    connection = await asyncio.to_thread(
        store.connections.get,
        environment.id,
        provider_config_key,
        connection_id,
        with_credentials=False,
    )
    if connection is None:
        raise ApiError(400, "unknown_connection", "Failed to find connection")
    raw = await request.json()
    has_input = isinstance(raw, dict) and "input" in raw
    try:
        task = await asyncio.to_thread(
            _enqueue,
            store,
            settings,
            connection,
            body,
            has_input=has_input,
            is_async=is_async,
            max_retries=max_retries,
        )
    except ControlError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if is_async:
        url = async_status_url(task.id)
        answer = AsyncActionAnswer(id=task.id, statusUrl=url).model_dump()
        return JSONResponse(answer, 202, headers={"Location": url})
    limit = (task.created_to_started_ms + task.started_to_completed_ms) / 1000 + 30
    done = await wait_for_task(store, task.id, timeout_s=limit)
    return action_answer(done)


def _enqueue(
    store: Store,
    settings: RuntimeSettings,
    connection: Connection,
    body: ActionTrigger,
    *,
    has_input: bool,
    is_async: bool,
    max_retries: int,
) -> Task:
    """The run, and for an async one its completion webhook, in one transaction."""
    with store.transaction() as tx:
        task = enqueue_action(
            tx,
            settings,
            connection,
            body.action_name,
            body.input,
            has_input=has_input,
            is_async=is_async,
            max_retries=max_retries,
        )
        if is_async:
            queue_async_completion(tx, settings, task)
    return task


@router.get(
    "/action/{action_id}",
    responses={
        200: {"description": "The async action's output, as it returned it"},
        404: {"description": "not_found: no such action, or it has not completed yet"},
        424: {"description": "script_http_error: a request of the action failed"},
        500: {"description": "action_script_failure (ActionError) or another failure"},
    },
)
async def get_async_action_result(
    action_id: str, environment: CurrentEnvironment, store: StoreDep
) -> Response:
    """The result of an action triggered with `X-Async: true`: 404 until it has completed
    (retries included), then what the synchronous trigger would have answered."""
    try:
        uuid.UUID(action_id)
    except ValueError:
        errors = [{"code": "invalid_string", "message": "Invalid uuid", "path": ["id"]}]
        raise ApiError(400, "invalid_uri_params", None, errors=errors) from None
    task = await asyncio.to_thread(store.tasks.get, action_id)
    if task is None or task.environment_id != environment.id or task.kind != "action":
        raise ApiError(404, "not_found", f"No action '{action_id}' found")
    retrying = task.state == "FAILED" and await asyncio.to_thread(store.retries.will_retry, task.id)
    if not task.is_done or retrying:
        message = f"The action '{action_id}' has not completed yet"
        status = "RUNNING" if task.state == "STARTED" else "PENDING"
        return JSONResponse(error_body("not_found", message, payload={"status": status}), 404)
    return action_answer(task)


def action_answer(task: Task) -> Response:
    """The API's answer for an action run (see the module docstring)."""
    if task.state == "SUCCEEDED":
        return JSONResponse(task.output, 200)
    if not task.is_done:
        message = "The action did not finish in time"
        return JSONResponse(error_body("action_timeout", message), 500)
    error = task.error or {}
    kind = str(error.get("type") or "script_internal_error")
    message = str(error.get("message") or "The action failed")
    payload = error.get("payload")
    if kind == "action_script_failure":
        return JSONResponse(error_body(kind, message, payload=payload), 500)
    if kind == "script_http_error":
        upstream = _upstream(payload)
        return JSONResponse(error_body(kind, message, payload=payload, upstream=upstream), 424)
    status = 400 if kind == "invalid_action_input" else 500
    return JSONResponse(error_body(kind, message, payload=payload), status)


def _upstream(payload: Any) -> dict[str, Any]:
    found = payload if isinstance(payload, dict) else {}
    return {
        "status": found.get("status"),
        "headers": found.get("headers") or {},
        "body": found.get("body"),
    }
