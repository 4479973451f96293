"""Why a deploy is refused: a `UserError` with Nango's error code for the API's answer."""

from __future__ import annotations

from runtime.errors import UserError


class DeployError(UserError):
    """A deploy that cannot be applied; `code` is the API's error code (400)."""

    def __init__(self, message: str, *, code: str = "invalid_body", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.code = code
