"""The one exception tree of the toolchain and the runtime.

```
Exception
 └── NangoError                  every error raised on purpose (`.message`)
      ├── UserError              fixable by the user (`.hint`): the CLI prints one red line
      │    ├── ConfigError       nango.yaml is invalid: every issue, with file:line:column
      │    ├── ProjectError      no project here, or one already exists
      │    ├── CompileError      scripts failed their checks: every issue, with file and line
      │    ├── SetupError        a dry run or test cannot start (bad flag, no connection, no script)
      │    ├── UnknownProviderError   a provider key that is not in the catalog
      │    ├── FixtureMissError  a replayed request has no recorded response
      │    ├── ScriptError       a script failed; `.error_type` is the reported type
      │    │    ├── ScriptLoadError     its file did not import, or lacks its entry function
      │    │    ├── SDKUsageError       it called the SDK wrongly
      │    │    ├── InvalidRecordsError records that do not match their model (validation on)
      │    │    ├── InvalidValueError   an action input or output that does not match
      │    │    └── ScriptExitError     it tried to end the process (sys.exit, os._exit)
      │    └── RuntimeAPIError   the runtime is unreachable or answered an error
      ├── ActionError            raised BY an action script: the run fails with `.payload`
      ├── HttpError              a proxied request answered non-2xx (after retries)
      └── NetworkError           a proxied request got no answer (after retries)
```

Exceptions are plain data: they never print or do I/O. The CLI boundary (`cli/boundary.py`)
decides how they are shown and which exit code they map to; the runtime maps them to Nango's
error bodies. Library errors are translated where the library is called (`raise ... from exc`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ActionError",
    "CompileError",
    "HttpError",
    "InvalidRecordsError",
    "InvalidValueError",
    "NangoError",
    "NetworkError",
    "ProjectError",
    "RuntimeAPIError",
    "SDKUsageError",
    "ScriptError",
    "ScriptExitError",
    "ScriptLoadError",
    "SetupError",
    "UserError",
]


class NangoError(Exception):
    """Base of every error this project raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UserError(NangoError):
    """Something the user can fix: a bad file, a missing argument, a wrong setting."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ProjectError(UserError):
    """No Nango project where one is needed, or one where `init` would create it."""


class SetupError(UserError):
    """A dry run or a fixture test cannot start: a bad option value, no connection settings, no
    such script, no recorded fixtures."""


class CompileError(UserError):
    """One or more scripts failed their checks. `issues` holds every issue found (errors and
    warnings, each with file, line and column); `root` is the project they belong to."""

    def __init__(self, issues: Sequence[Any], root: Path, *, scripts: int = 0) -> None:
        errors = [i for i in issues if getattr(i, "severity", "error") == "error"]
        count = len(errors)
        super().__init__(f"compilation failed with {count} error{'s' if count != 1 else ''}")
        self.issues = list(issues)
        self.root = root
        self.scripts = scripts


class ScriptError(UserError):
    """A user script failed: it raised, timed out, or produced invalid data. `error_type` is the
    type reported by `dryrun --json` and the runtime (`script_internal_error`, ...)."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str = "script_internal_error",
        payload: object = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.error_type = error_type
        self.payload = payload


class ScriptLoadError(ScriptError):
    """A script file did not import, or does not define its entry function. `file` and `line`
    say where (line 1 when the problem is the file as a whole)."""

    def __init__(self, message: str, *, file: Path, line: int = 1, payload: object = None) -> None:
        super().__init__(
            message,
            payload=payload,
            hint="Run `nango compile` to check every script.",
        )
        self.file = file
        self.line = line


class SDKUsageError(ScriptError):
    """The script called the SDK wrongly (an undeclared model, a bad checkpoint...)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, error_type="script_internal_error", hint=hint)


class InvalidRecordsError(ScriptError):
    """With validation on (or for values JSON cannot hold), a batch held invalid records.
    `payload` is the validation summary: counts by field path and the first records in full."""

    def __init__(self, message: str, summary: Mapping[str, Any]) -> None:
        super().__init__(message, error_type="invalid_sync_record", payload=dict(summary))


class InvalidValueError(ScriptError):
    """An action's input or output does not match its declared model; `error_type` is
    `invalid_action_input` or `invalid_action_output`."""


class ScriptExitError(ScriptError):
    """The script tried to end the process (`sys.exit`, `exit()`, `os._exit`)."""


class RuntimeAPIError(UserError):
    """The runtime server could not be reached, or answered with an error (`status`, `code`)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


# --- raised by or to scripts: re-exported by every generated models.py ---------------------------


class ActionError(NangoError):
    """Raised by an action to fail with a payload; callers receive
    `{"error": {"code": "action_script_failure", "payload": payload, ...}}`."""

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload if isinstance(payload, str) else "action failed")
        self.payload = payload


class HttpError(NangoError):
    """A proxied request answered with a non-2xx status (after any retries)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str], url: str) -> None:
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.body = body
        self.headers = dict(headers)
        self.url = url


class NetworkError(NangoError):
    """A proxied request never got an answer (connection, DNS, timeout...) after any retries."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts
