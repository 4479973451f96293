"""The one exception tree shared by the toolchain and the runtime.

Exceptions are plain data: they never print or do I/O. The CLI boundary decides how they are shown
and which exit code they map to.
"""

from __future__ import annotations


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


class ScriptError(UserError):
    """A user script failed: it raised, timed out, or returned invalid data."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str,
        payload: object = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.error_type = error_type
        self.payload = payload


class RuntimeAPIError(UserError):
    """The runtime server could not be reached or answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
