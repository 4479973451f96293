"""`nango.paginate`: cursor, link and offset pagination over one proxy call, page by page.

The config is the provider's catalog defaults merged with the call's `paginate={...}` (the call
wins key by key, see `merge_pagination`). Each page is one `send` of a `ProxyCall` derived from
the original one, so retries, auth and logging are the proxy's.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel

from runtime.errors import UserError
from runtime.http.request import ProxyCall
from runtime.sdk.types import ProxyResponse

__all__ = ["PAGINATION_TYPES", "merge_pagination", "paginate", "parse_link_header"]

PAGINATION_TYPES = ("cursor", "link", "offset")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_CONFIG_HINT = (
    "Pass paginate={'type': 'cursor' | 'link' | 'offset', ...} to nango.paginate(), or use a "
    "provider whose catalog entry has pagination defaults."
)
_REQUIRED = {
    "cursor": (("cursor_name_in_request", "cursor_path_in_response"), ()),
    "link": ((), ("link_rel_in_response_header", "link_path_in_response_body")),
    "offset": (("offset_name_in_request",), ()),
}
_PATH_PART = re.compile(r"[^.\[\]]+")
_LINK = re.compile(r"<([^>]*)>([^<]*)")
_LINK_PARAM = re.compile(r';\s*([^\s=;,]+)\s*=\s*(?:"([^"]*)"|([^\s;,]*))')

Send = Callable[[ProxyCall], Awaitable[ProxyResponse]]


def merge_pagination(
    provider_defaults: Mapping[str, Any] | BaseModel | None, call_config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The provider's defaults with the call's settings on top, key by key. A `None` in the call
    clears a default (like `undefined` in a JavaScript spread); unset keys are left out."""
    if isinstance(provider_defaults, BaseModel):
        provider_defaults = provider_defaults.model_dump(exclude_none=True)
    merged = {**(provider_defaults or {}), **(call_config or {})}
    return {key: value for key, value in merged.items() if value is not None}


def parse_link_header(value: str | None) -> dict[str, str]:
    """RFC 5988 `Link` header -> {rel: url}; a link with `rel="next last"` is under both."""
    links: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        for param in _LINK_PARAM.finditer(match.group(2)):
            if param.group(1).lower() == "rel":
                for rel in (param.group(2) or param.group(3) or "").split():
                    links.setdefault(rel.lower(), match.group(1).strip())
    return links


def _get_path(data: Any, path: str) -> Any:
    """lodash `get`: a key that contains dots wins, else `a.b[0].c` is walked; missing -> None."""
    if isinstance(data, Mapping) and path in data:
        return data[path]
    current = data
    for part in _PATH_PART.findall(path):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _set_dotted(target: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[last] = value


def _validate(config: Mapping[str, Any]) -> str:
    kind = config.get("type")
    if not kind:
        raise UserError(
            "There was no pagination configuration for this integration or configuration "
            "passed in.",
            hint=_CONFIG_HINT,
        )
    if kind not in _REQUIRED:
        raise UserError(
            f"Pagination type {kind!r} is not supported. Only cursor, link and offset "
            "pagination types are supported.",
            hint=_CONFIG_HINT,
        )
    all_of, one_of = _REQUIRED[kind]
    for name in all_of:
        if not config.get(name):
            raise UserError(f"Param {name} is required for {kind} pagination", hint=_CONFIG_HINT)
    if one_of and not any(config.get(name) for name in one_of):
        names = " or ".join(one_of)
        message = f"Either param {names} is required for {kind} pagination"
        raise UserError(message, hint=_CONFIG_HINT)
    if kind == "cursor" and config.get("limit") and not config.get("limit_name_in_request"):
        raise UserError(
            "Param limit_name_in_request is required for cursor pagination when limit is set"
        )
    return str(kind)


def _next_cursor(value: Any) -> str | int | float | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def _follow_link(call: ProxyCall, link: str) -> ProxyCall:
    """An absolute link's origin becomes the base URL override and its path+query the endpoint;
    a relative link is the endpoint. The call's params are dropped (the link carries them)."""
    parts = urlsplit(link)
    if parts.scheme in ("http", "https") and parts.netloc:
        endpoint = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        origin = f"{parts.scheme}://{parts.netloc}"
        return replace(call, base_url_override=origin, endpoint=endpoint, params=None)
    return replace(call, endpoint=link, params=None)


@dataclass
class _Pager:
    """Shared state of one `paginate` run: how pagination params are placed, and the callbacks."""

    send: Send
    call: ProxyCall
    config: Mapping[str, Any]
    warn: Callable[[str], None] | None
    on_stop: Callable[[str], None] | None
    in_body: bool = False
    base: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        in_body = self.config.get("in_body")
        self.in_body = self.call.method.upper() in _BODY_METHODS if in_body is None else in_body
        if self.in_body:
            if self.call.data is not None and not isinstance(self.call.data, Mapping):
                raise UserError("paginate with in_body needs `data` to be a dict (or None).")
            self.base = copy.deepcopy(dict(self.call.data or {}))
        elif isinstance(self.call.params, str):
            self.base = dict(parse_qsl(self.call.params.lstrip("?"), keep_blank_values=True))
        else:
            self.base = dict(self.call.params or {})
        limit, limit_name = self.config.get("limit"), self.config.get("limit_name_in_request")
        if limit and limit_name:
            self.place(self.base, limit_name, limit)

    def place(self, target: dict[str, Any], name: str, value: Any) -> None:
        if self.in_body:
            _set_dotted(target, name, value)
        else:
            target[name] = value

    def request(self, name: str | None = None, value: Any = None) -> ProxyCall:
        """The original call with the pagination params (and `name=value`) set."""
        values = copy.deepcopy(self.base)
        if name is not None:
            self.place(values, name, value)
        if self.in_body:
            return replace(self.call, data=values)
        return replace(self.call, params=values)

    def page(self, response: ProxyResponse) -> list[Any] | None:
        path = self.config.get("response_path")
        data = _get_path(response.data, str(path)) if path else response.data
        if data is None or isinstance(data, list):
            return data
        where = f"at response_path {path!r}" if path else "at the root of the response"
        raise UserError(
            f"paginate expected a list of records {where}, got {type(data).__name__}.",
            hint="Set paginate={'response_path': '<path to the list>'} (a dot path such as "
            "'data' or 'results.items').",
        )

    async def page_done(self, next_param: Any, response: ProxyResponse) -> None:
        on_page = self.config.get("on_page")
        if on_page is not None:
            outcome = on_page({"nextPageParam": next_param, "response": response})
            if inspect.isawaitable(outcome):
                await outcome

    async def stop(self, reason: str, response: ProxyResponse, *, warning: str = "") -> None:
        await self.page_done(None, response)
        if warning and self.warn is not None:
            self.warn(warning)
        if self.on_stop is not None:
            self.on_stop(reason)


async def _cursor_pages(pager: _Pager) -> AsyncIterator[list[Any]]:
    name = str(pager.config["cursor_name_in_request"])
    path = str(pager.config["cursor_path_in_response"])
    call, seen = pager.request(), set[tuple[type, Any]]()
    while True:
        response = await pager.send(call)
        page = pager.page(response)
        if not page:
            await pager.stop("empty page", response)
            return
        yield page
        cursor = _next_cursor(_get_path(response.data, path))
        if cursor is None:
            await pager.stop("no next cursor", response)
            return
        if (type(cursor), cursor) in seen:
            warning = f"paginate stopped: the API returned the cursor {cursor!r} again."
            await pager.stop("cursor repeated", response, warning=warning)
            return
        seen.add((type(cursor), cursor))
        await pager.page_done(cursor, response)
        call = pager.request(name, cursor)


def _next_link(pager: _Pager, response: ProxyResponse) -> str | None:
    rel = pager.config.get("link_rel_in_response_header")
    if rel:
        link: Any = parse_link_header(response.headers.get("link")).get(str(rel).lower())
    else:
        link = _get_path(response.data, str(pager.config["link_path_in_response_body"]))
    return (link.strip() or None) if isinstance(link, str) else None


async def _link_pages(pager: _Pager) -> AsyncIterator[list[Any]]:
    call, seen = pager.request(), set[str]()
    while True:
        response = await pager.send(call)
        yield pager.page(response) or []
        link = _next_link(pager, response)
        if link is None:
            await pager.stop("no next link", response)
            return
        if link in seen:
            warning = f"paginate stopped: the API returned the next link {link!r} again."
            await pager.stop("link repeated", response, warning=warning)
            return
        seen.add(link)
        await pager.page_done(link, response)
        call = _follow_link(call, link)


async def _offset_pages(pager: _Pager) -> AsyncIterator[list[Any]]:
    name = str(pager.config["offset_name_in_request"])
    per_page = pager.config.get("offset_calculation_method") == "per-page"
    limit = int(pager.config.get("limit") or 0)
    offset = int(pager.config.get("offset_start_value") or 0)
    while True:
        response = await pager.send(pager.request(name, offset if pager.in_body else str(offset)))
        page = pager.page(response)
        if not page:
            await pager.stop("empty page", response)
            return
        yield page
        if limit and len(page) < limit:
            await pager.stop(f"short page ({len(page)} < limit {limit})", response)
            return
        offset += 1 if per_page else len(page)
        await pager.page_done(offset if pager.in_body else str(offset), response)


_PAGERS = {"cursor": _cursor_pages, "link": _link_pages, "offset": _offset_pages}


async def paginate(
    send: Send,
    call: ProxyCall,
    config: dict[str, Any],
    *,
    warn: Callable[[str], None] | None = None,
    on_stop: Callable[[str], None] | None = None,
) -> AsyncIterator[list[Any]]:
    """Yield each page (a list) of the paginated `call`, per the merged pagination `config`.

    `on_stop(reason)` is called once when pagination ends by itself; `warn(message)` when it ends
    on a repeated cursor or link; `config["on_page"]({"nextPageParam", "response"})` after every
    response (`nextPageParam` is None on the last one)."""
    kind = _validate(config)
    pager = _Pager(send=send, call=call, config=config, warn=warn, on_stop=on_stop)
    async for page in _PAGERS[kind](pager):
        yield page
