"""Every error the API answers has Nango's body: `{"error": {"code", "message", ...}}`.

Route code raises `ApiError(status, code, message)`; request validation errors become 400
`invalid_query_params`, `invalid_headers` or `invalid_body` with `errors: [{code, message,
path}]`; store errors map to Nango's answers; anything unexpected is 500 `server_error` with a
generic message and a request id in the log, never a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.store.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InvalidCursorError,
    InvalidValueError,
    NotFoundError,
    StoreBusyError,
)

__all__ = ["ApiError", "error_body", "install_error_handlers"]

log = logging.getLogger("nango.runtime.api")

_LOCATIONS = {
    "query": "invalid_query_params",
    "header": "invalid_headers",
    "body": "invalid_body",
    "path": "invalid_uri_params",
}
_ORDER = ["query", "path", "header", "body"]


class ApiError(Exception):
    """An answer with Nango's error body. `extra` keys go beside code and message."""

    def __init__(self, status: int, code: str, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_body(code: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code}
    if message is not None:
        error["message"] = message
    error.update(extra)
    return {"error": error}


def _validation_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Nango validates the query, then the headers, then the body, and answers the first that
    fails: the code of the first error's location, with the errors of that location only."""
    located = []
    for error in errors:
        location = list(error.get("loc", ()))
        where = location[0] if location and location[0] in _LOCATIONS else "body"
        path = location[1:] if location and location[0] in _LOCATIONS else location
        located.append((where, path, error))
    first = min((w for w, _, _ in located), key=_ORDER.index, default="body")
    details = [
        {
            "code": str(error.get("type", "invalid")),
            "message": str(error.get("msg", "invalid value")),
            "path": [part if isinstance(part, int) else str(part) for part in path],
        }
        for where, path, error in located
        if where == first
    ]
    return _LOCATIONS[first], details


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception a route can raise to Nango's error body."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, **exc.extra), exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        code, details = _validation_errors(exc.errors())
        return JSONResponse(error_body(code, None, errors=details), 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {
            400: "invalid_body",
            404: "not_found",
            405: "method_not_allowed",
            413: "request_too_large",
        }
        code = codes.get(exc.status_code, "invalid_request")
        return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)

    @app.exception_handler(NotFoundError)
    async def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse(error_body("not_found", exc.message), 404)

    @app.exception_handler(ConflictError)
    async def conflict(_request: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse(error_body("invalid_body", exc.message), 400)

    @app.exception_handler(InvalidCursorError)
    async def bad_cursor(_request: Request, exc: InvalidCursorError) -> JSONResponse:
        return JSONResponse(error_body("invalid_query_params", exc.message), 400)

    @app.exception_handler(InvalidValueError)
    async def bad_value(_request: Request, exc: InvalidValueError) -> JSONResponse:
        return JSONResponse(error_body("invalid_body", exc.message), 400)

    @app.exception_handler(DatabaseUnavailableError)
    @app.exception_handler(StoreBusyError)
    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        message = "The runtime's database is unavailable; retry shortly"
        log.warning("database unavailable: %s", exc)
        return JSONResponse(error_body("server_unavailable", message), 503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error %s on %s %s",
            request_id,
            request.method,
            request.url.path,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        message = f"An unexpected error occurred (request {request_id})"
        return JSONResponse(error_body("server_error", message), 500)
