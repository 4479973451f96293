"""`POST /action/trigger`: run an action and answer its output as it is, or Nango's errors.

| outcome | answer |
|---|---|
| the output | 200, the output as is (`null` included) |
| `ActionError(payload)` | 500 `{"error": {message, code: "action_script_failure", payload}}` |
| an HTTP error in the script | 424 `script_http_error` with `upstream` `{status, headers, body}` |
| an input that does not match its model | 400 `invalid_action_input` |
| anything else (an exception, a timeout, a crashed or killed run) | 500 with the error's type |
| unknown connection / action | 400 `unknown_connection` / 404 `not_found` |
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from runtime.scheduler.control import ControlError, enqueue_action, wait_for_task
from runtime.server.auth import CurrentEnvironment, get_store
from runtime.server.errors import ApiError, error_body
from runtime.server.wire import ERROR_RESPONSES
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.tasks import Task

router = APIRouter(tags=["actions"], responses=ERROR_RESPONSES)
StoreDep = Annotated[Store, Depends(get_store)]


def get_settings(request: Request) -> RuntimeSettings:
    settings: RuntimeSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[RuntimeSettings, Depends(get_settings)]


class ActionTrigger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_name: str = Field(min_length=1, max_length=255)
    input: Any = None


@router.post(
    "/action/trigger",
    responses={
        200: {"description": "The action's output, as it returned it"},
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
) -> Response:
    """Run the action for the connection and wait for it (up to its time limits)."""
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
            enqueue_action,
            store,
            settings,
            connection,
            body.action_name,
            body.input,
            has_input=has_input,
        )
    except ControlError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    limit = (task.created_to_started_ms + task.started_to_completed_ms) / 1000 + 30
    done = await wait_for_task(store, task.id, timeout_s=limit)
    return action_answer(done)


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
