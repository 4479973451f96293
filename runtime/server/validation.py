"""Checks FastAPI's parameter parsing does not make: unknown query parameters refused (Nango's
schemas are strict), and errors in Nango's `errors: [{code, message, path}]` form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from runtime.server.errors import ApiError

__all__ = ["invalid", "only_query"]


def invalid(code: str, field: str | None, message: str, *, kind: str = "custom") -> ApiError:
    """A 400 `code` (`invalid_query_params`, `invalid_headers`, `invalid_body`) with one error."""
    path = [] if field is None else [field]
    return ApiError(400, code, None, errors=[{"code": kind, "message": message, "path": path}])


def only_query(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing query parameters other than `names` (400 invalid_query_params)."""
    allowed = frozenset(names)

    async def check(request: Request) -> None:
        unknown = sorted({name for name in request.query_params if name not in allowed})
        if unknown:
            listed = ", ".join(f"'{name}'" for name in unknown)
            raise invalid(
                "invalid_query_params",
                None,
                f"Unrecognized key(s) in object: {listed}",
                kind="unrecognized_keys",
            )

    return check
