"""Strict query strings, as Nango's zod schemas are: a key the endpoint does not know is a 400
`invalid_query_params` naming it; bracketed keys (`tags[env]=prod`) are read as one mapping."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import QueryParams

from runtime.server.errors import ApiError

__all__ = [
    "bracketed",
    "check_known_keys",
    "check_no_nul",
    "invalid_query",
    "validation_details",
]


def validation_details(error: ValidationError, prefix: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Pydantic's errors as Nango's `errors: [{code, message, path}]`."""
    return [
        {
            "code": str(item.get("type", "invalid")),
            "message": str(item.get("msg", "invalid value")),
            "path": [*prefix, *(str(part) for part in item.get("loc", ()))],
        }
        for item in error.errors()
    ]


def invalid_query(details: list[dict[str, Any]]) -> ApiError:
    return ApiError(400, "invalid_query_params", None, errors=details)


def _unknown(keys: Iterable[str]) -> dict[str, Any]:
    shown = ", ".join(f"'{key}'" for key in keys)
    return {"code": "unrecognized_keys", "message": f"Unrecognized key(s) in object: {shown}",
            "path": []}  # fmt: skip


def check_known_keys(
    query: QueryParams, known: Collection[str], *, bracketed_names: Collection[str] = ()
) -> None:
    """A 400 naming every key of `query` that is neither in `known` nor `name[...]` for a name
    of `bracketed_names`."""
    unknown = []
    for key in dict.fromkeys(query.keys()):
        name, bracket, _ = key.partition("[")
        if key in known or (bracket and key.endswith("]") and name in bracketed_names):
            continue
        unknown.append(key)
    if unknown:
        raise invalid_query([_unknown(unknown)])


def bracketed(query: QueryParams, name: str) -> dict[str, str] | None:
    """The mapping written `name[key]=value&...` (None when there is none)."""
    found: dict[str, str] = {}
    prefix = f"{name}["
    for key, value in query.multi_items():
        if key.startswith(prefix) and key.endswith("]"):
            found[key[len(prefix) : -1]] = value
    return found or None


def check_no_nul(query: QueryParams) -> None:
    """A 400 for a NUL character in any key or value (no database keeps one in text)."""
    for key, value in query.multi_items():
        if "\x00" in key or "\x00" in value:
            raise invalid_query(
                [{"code": "invalid_string", "message": "must not contain NUL", "path": [key]}]
            )
