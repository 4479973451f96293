"""Running a script: load it by path (project root importable), call its entry function with the
SDK under a time limit, and turn every failure into a structured error."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import importlib
import importlib.util
import inspect
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import ValidationError

from runtime.errors import ScriptError, UserError
from runtime.sdk.batches import ModelRegistry, field_errors
from runtime.sdk.types import ActionError, HttpError, NetworkError

ScriptKind = Literal["sync", "action", "on-event"]
ENTRY_POINTS: dict[ScriptKind, str] = {
    "sync": "fetch_data",
    "action": "run_action",
    "on-event": "on_event",
}
_SHOWN_HEADERS = ("content-type", "retry-after", "x-ratelimit", "x-rate-limit", "ratelimit")


@dataclass
class ScriptFailure:
    """A failed run, as reported: `type` is one of the documented error types."""

    type: str
    message: str
    payload: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "payload": self.payload}


@dataclass
class Outcome:
    output: Any = None
    error: ScriptFailure | None = None
    duration_s: float = 0.0


@dataclass
class LoadedProject:
    """A project's `models` module and the registry of its models."""

    root: Path
    models_module: ModuleType
    registry: ModelRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = ModelRegistry(getattr(self.models_module, "NANGO_MODELS", {}))


def load_project(root: Path) -> LoadedProject:
    """Import the project's generated `models.py` afresh, with the project root importable."""
    root = root.resolve()
    root_text = str(root)
    if root_text in sys.path:
        sys.path.remove(root_text)
    sys.path.insert(0, root_text)
    for name in [n for n, m in sys.modules.items() if _is_project_module(m, root)]:
        del sys.modules[name]
    sys.modules.pop("models", None)
    try:
        module = importlib.import_module("models")
    except Exception as exc:
        raise UserError(
            f"cannot import {root / 'models.py'}: {exc}",
            hint="Run `nango generate` to regenerate it.",
        ) from exc
    return LoadedProject(root, module)


def _is_project_module(module: ModuleType | None, root: Path) -> bool:
    file = getattr(module, "__file__", None) or ""
    return bool(file) and file.startswith(str(root)) and not file.endswith("models.py")


def load_script(path: Path) -> ModuleType:
    """Import a script file by path under a private module name."""
    name = "_nango_script_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError as exc:
        raise UserError(f"{path} does not exist", hint="Run `nango generate`.") from exc
    except Exception as exc:
        del sys.modules[name]
        raise ScriptError(
            f"importing {path.name} failed: {type(exc).__name__}: {exc}",
            error_type="script_internal_error",
            payload=_exception_payload(exc, path.parent),
        ) from exc
    return module


def entry_function(module: ModuleType, name: str) -> Callable[..., Awaitable[Any]]:
    function = getattr(module, name, None)
    if function is None or not inspect.iscoroutinefunction(function):
        raise ScriptError(
            f"{module.__file__} does not define `async def {name}(...)`",
            error_type="script_internal_error",
            hint="Run `nango compile` to check the script.",
        )
    return function  # type: ignore[no-any-return]


def accepts_input(function: Callable[..., Any]) -> bool:
    parameters = list(inspect.signature(function).parameters.values())
    return len(parameters) >= 2


def run_with_limit(
    body: Callable[[], Awaitable[Any]], *, timeout_s: float, kind: ScriptKind, root: Path
) -> Outcome:
    """Run `body()` on an event loop of its own in a worker thread, at most `timeout_s` seconds.

    A script stuck in blocking code cannot be stopped from outside, but the caller gets its
    answer on time either way. Ctrl-C cancels the script and propagates.
    """
    box: dict[str, Any] = {}
    loop = asyncio.new_event_loop()
    started = loop.time()

    def work() -> None:
        try:
            box["value"] = loop.run_until_complete(body())
        except BaseException as exc:
            box["error"] = exc
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=work, name="nango-script", daemon=True)
    # Objects alive before the script (modules, schemas) never become garbage: moving them out
    # of the collector's generations keeps each collection during the run cheap.
    gc.freeze()
    worker.start()
    try:
        worker.join(timeout_s)
    except KeyboardInterrupt:
        _cancel(loop, worker)
        raise
    finally:
        gc.unfreeze()
    elapsed = loop.time() - started
    if worker.is_alive():
        _cancel(loop, worker)
        failure = ScriptFailure(
            "script_internal_error",
            f"the script did not finish within {timeout_s:g} s and was stopped",
            {"timeout_s": timeout_s},
        )
        return Outcome(error=failure, duration_s=elapsed)
    if "error" in box:
        return Outcome(error=failure_from(box["error"], kind=kind, root=root), duration_s=elapsed)
    return Outcome(output=box.get("value"), duration_s=elapsed)


def _cancel(loop: asyncio.AbstractEventLoop, worker: threading.Thread) -> None:
    def cancel_all() -> None:
        for task in asyncio.all_tasks(loop):
            task.cancel()

    with contextlib.suppress(RuntimeError):  # the loop may have just closed
        loop.call_soon_threadsafe(cancel_all)
    worker.join(2.0)


def failure_from(exc: BaseException, *, kind: ScriptKind, root: Path) -> ScriptFailure:
    """The reported error for an exception that ended a script."""
    if isinstance(exc, ActionError):
        return ScriptFailure("action_script_failure", str(exc), exc.payload)
    if isinstance(exc, ScriptError):
        return ScriptFailure(exc.error_type, exc.message, exc.payload)
    if isinstance(exc, HttpError):
        return ScriptFailure("script_http_error", str(exc), _http_payload(exc))
    if isinstance(exc, NetworkError):
        network = {"status": None, "url": exc.url, "attempts": exc.attempts}
        return ScriptFailure("script_http_error", exc.message, network)
    if isinstance(exc, ValidationError):
        kinds = {"sync": "invalid_sync_record", "action": "invalid_action_output"}
        invalid = {"model": exc.title, "errors": [e.__dict__ for e in field_errors(exc)]}
        return ScriptFailure(kinds.get(kind, "script_internal_error"), str(exc), invalid)
    if isinstance(exc, UserError):
        message = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return ScriptFailure("script_internal_error", message, None)
    if isinstance(exc, asyncio.CancelledError):
        return ScriptFailure("script_internal_error", "the script was cancelled", None)
    return ScriptFailure(
        "script_internal_error", f"{type(exc).__name__}: {exc}", _exception_payload(exc, root)
    )


def _http_payload(exc: HttpError) -> dict[str, Any]:
    headers = {
        k: v for k, v in exc.headers.items() if any(k.lower().startswith(p) for p in _SHOWN_HEADERS)
    }
    return {"status": exc.status, "url": exc.url, "headers": headers, "body": exc.body}


def _exception_payload(exc: BaseException, root: Path) -> dict[str, Any]:
    """Name, message and the frames of the user's own files (no SDK or library frames)."""
    frames = [
        f"{Path(f.filename).name}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
        for f in traceback.extract_tb(exc.__traceback__)
        if _is_user_file(f.filename, root)
    ]
    return {"name": type(exc).__name__, "message": str(exc), "stacktrace": frames[-5:]}


def _is_user_file(filename: str, root: Path) -> bool:
    path = Path(filename)
    return (
        path.name != "models.py" and str(path).startswith(str(root)) and ".venv" not in path.parts
    )
