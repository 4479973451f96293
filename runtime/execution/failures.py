"""How a failed run is reported: one documented error type, a message and a payload.

| type | when |
|---|---|
| `action_script_failure` | the action raised `ActionError(payload)` |
| `script_http_error` | a request failed: upstream status, headers and body, or a network error |
| `invalid_sync_record`, `invalid_action_input`, `invalid_action_output` | data that does not fit |
| `script_internal_error` | anything else: an exception (own frames shown), a timeout, an exit |
"""

from __future__ import annotations

import asyncio
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runtime.errors import ActionError, HttpError, NetworkError, ScriptError, UserError
from runtime.execution.description import ScriptKind
from runtime.execution.isolation import ExitAttempt
from runtime.sdk.validation import field_errors
from runtime.sdk.values import to_json_lenient

__all__ = ["ScriptFailure", "failure_from", "timeout_failure"]

_SHOWN_HEADERS = ("content-type", "retry-after", "x-ratelimit", "x-rate-limit", "ratelimit")
_SHOWN_FRAMES = 5


@dataclass
class ScriptFailure:
    """A failed run, as reported: `type` is one of the documented error types."""

    type: str
    message: str
    payload: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "payload": self.payload}


def timeout_failure(timeout_s: float) -> ScriptFailure:
    return ScriptFailure(
        "script_internal_error",
        f"the script did not finish within {timeout_s:g} s and was stopped",
        {"timeout_s": timeout_s},
    )


def failure_from(exc: BaseException, *, kind: ScriptKind, root: Path) -> ScriptFailure:
    """The reported error for an exception that ended a script."""
    if isinstance(exc, ActionError):
        return ScriptFailure("action_script_failure", str(exc), to_json_lenient(exc.payload))
    if isinstance(exc, ScriptError):
        return ScriptFailure(exc.error_type, exc.message, to_json_lenient(exc.payload))
    if isinstance(exc, HttpError):
        return ScriptFailure("script_http_error", str(exc), to_json_lenient(_http_payload(exc)))
    if isinstance(exc, NetworkError):
        network = {"status": None, "url": exc.url, "attempts": exc.attempts}
        return ScriptFailure("script_http_error", exc.message, network)
    if isinstance(exc, ValidationError):
        kinds = {"sync": "invalid_sync_record", "action": "invalid_action_output"}
        invalid = {"model": exc.title, "errors": [e.__dict__ for e in field_errors(exc)]}
        return ScriptFailure(kinds.get(kind, "script_internal_error"), str(exc), invalid)
    if isinstance(exc, UserError):
        hint = exc.hint or ""
        message = f"{exc.message}\n{hint}" if "\n" in exc.message else f"{exc.message} ({hint})"
        message = message if hint else exc.message
        return ScriptFailure("script_internal_error", message, None)
    exited = _exit_failure(exc, root)
    if exited is not None:
        return exited
    if isinstance(exc, asyncio.CancelledError):
        return ScriptFailure("script_internal_error", "the script was cancelled", None)
    return ScriptFailure(
        "script_internal_error", f"{type(exc).__name__}: {exc}", exception_payload(exc, root)
    )


def _exit_failure(exc: BaseException, root: Path) -> ScriptFailure | None:
    if isinstance(exc, ExitAttempt):
        call = f"os._exit({exc.code})"
    elif isinstance(exc, SystemExit):
        call = f"sys.exit({exc.code!r})" if exc.code is not None else "sys.exit()"
    else:
        return None
    return ScriptFailure(
        "script_internal_error",
        f"the script called {call}: a script cannot end the process; raise an exception "
        "(or ActionError in an action) to fail the run",
        exception_payload(exc, root),
    )


def _http_payload(exc: HttpError) -> dict[str, Any]:
    headers = {
        k: v for k, v in exc.headers.items() if any(k.lower().startswith(p) for p in _SHOWN_HEADERS)
    }
    return {"status": exc.status, "url": exc.url, "headers": headers, "body": exc.body}


def exception_payload(exc: BaseException, root: Path) -> dict[str, Any]:
    """Name, message and the frames of the user's own files (no SDK or library frames)."""
    frames = [
        f"{Path(f.filename).name}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
        for f in traceback.extract_tb(exc.__traceback__)
        if _is_user_file(f.filename, root)
    ]
    return {"name": type(exc).__name__, "message": str(exc), "stacktrace": frames[-_SHOWN_FRAMES:]}


def _is_user_file(filename: str, root: Path) -> bool:
    path = Path(filename)
    return (
        path.name != "models.py" and str(path).startswith(str(root)) and ".venv" not in path.parts
    )
