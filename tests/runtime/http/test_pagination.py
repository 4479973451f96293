"""`paginate`: cursor, link and offset pagination, their stop rules, and where params go."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from runtime.errors import UserError
from runtime.http.client import build_client
from runtime.http.pagination import merge_pagination, paginate, parse_link_header
from runtime.http.providers import ProviderPagination, get_provider
from runtime.http.proxy import ProxyCall, ProxyEngine
from runtime.sdk.nango import Connection, ProxyResponse


class Api:
    """A scripted `send`: records each call and answers with the next response."""

    def __init__(self, *responses: ProxyResponse) -> None:
        self.responses = list(responses)
        self.calls: list[ProxyCall] = []

    async def __call__(self, call: ProxyCall) -> ProxyResponse:
        self.calls.append(call)
        return self.responses.pop(0)


def page(data: Any, headers: dict[str, str] | None = None) -> ProxyResponse:
    return ProxyResponse(200, data, headers or {})


class Run:
    """Runs `paginate` to the end, keeping pages, warnings, stop reasons and on_page events."""

    def __init__(self, api: Api, config: dict[str, Any], call: ProxyCall | None = None) -> None:
        self.pages: list[list[Any]] = []
        self.warnings: list[str] = []
        self.stops: list[str] = []
        self.events: list[Any] = []
        config = {"on_page": lambda event: self.events.append(event["nextPageParam"]), **config}
        call = call or ProxyCall(endpoint="/items")

        async def go() -> None:
            pages = paginate(
                api, call, config, warn=self.warnings.append, on_stop=self.stops.append
            )
            async for item in pages:
                self.pages.append(item)

        asyncio.run(go())


CURSOR = {
    "type": "cursor",
    "cursor_name_in_request": "after",
    "cursor_path_in_response": "paging.next.after",
    "response_path": "results",
}


def cursor_page(items: list[Any], after: Any = None) -> ProxyResponse:
    paging = {"next": {"after": after}} if after is not None else {}
    return page({"results": items, "paging": paging})


# --- configuration -------------------------------------------------------------------------------


def test_no_type_is_an_error_with_nangos_message() -> None:
    with pytest.raises(UserError) as caught:
        Run(Api(), {})
    assert str(caught.value) == (
        "There was no pagination configuration for this integration or configuration passed in."
    )
    assert caught.value.hint


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"type": "page"}, "not supported"),
        ({"type": "cursor", "cursor_path_in_response": "x"}, "cursor_name_in_request"),
        ({"type": "cursor", "cursor_name_in_request": "x"}, "cursor_path_in_response"),
        ({**CURSOR, "limit": 10}, "limit_name_in_request"),
        ({"type": "link"}, "link_rel_in_response_header or link_path_in_response_body"),
        ({"type": "offset"}, "offset_name_in_request"),
    ],
)
def test_invalid_configurations(config: dict[str, Any], message: str) -> None:
    with pytest.raises(UserError, match=message):
        Run(Api(), config)


def test_merge_pagination_call_wins_key_by_key() -> None:
    defaults = ProviderPagination(
        type="cursor",
        cursor_name_in_request="after",
        cursor_path_in_response="paging.next.after",
        limit_name_in_request="limit",
        response_path="results",
    )
    merged = merge_pagination(defaults, {"limit": 50, "response_path": None, "after": "x"})
    assert merged == {
        "type": "cursor",
        "cursor_name_in_request": "after",
        "cursor_path_in_response": "paging.next.after",
        "limit_name_in_request": "limit",
        "limit": 50,
        "after": "x",
    }
    assert merge_pagination(None, None) == {}
    assert merge_pagination({"type": "link"}, {"type": "offset"})["type"] == "offset"


def test_catalog_defaults_merged_with_the_call() -> None:
    defaults = get_provider("hubspot").paginate
    api = Api(cursor_page([1], after="a2"), cursor_page([2]))
    run = Run(api, merge_pagination(defaults, {"limit": 2}))
    assert run.pages == [[1], [2]]
    assert api.calls[1].params == {"limit": 2, "after": "a2"}


def test_a_page_that_is_not_a_list_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="response_path 'results'") as caught:
        Run(Api(page({"results": {"a": 1}})), CURSOR)
    assert "dict" in str(caught.value)


# --- cursor --------------------------------------------------------------------------------------


def test_cursor_pages_until_no_next_cursor() -> None:
    api = Api(cursor_page([1, 2], after="c2"), cursor_page([3], after="c3"), cursor_page([4]))
    call = ProxyCall(endpoint="/items", params={"archived": False})
    run = Run(api, {**CURSOR, "limit": 2, "limit_name_in_request": "limit"}, call)
    assert run.pages == [[1, 2], [3], [4]]
    assert [c.params for c in api.calls] == [
        {"archived": False, "limit": 2},
        {"archived": False, "limit": 2, "after": "c2"},
        {"archived": False, "limit": 2, "after": "c3"},
    ]
    assert run.stops == ["no next cursor"]
    assert run.events == ["c2", "c3", None]
    assert call.params == {"archived": False}


@pytest.mark.parametrize("last", ["", "   ", None, False, {"a": 1}])
def test_cursor_stops_on_a_missing_or_blank_cursor(last: Any) -> None:
    api = Api(page({"results": [1], "paging": {"next": {"after": last}}}))
    run = Run(api, CURSOR)
    assert run.pages == [[1]]
    assert run.stops == ["no next cursor"]


def test_cursor_may_be_a_number() -> None:
    api = Api(cursor_page([1], after=2), cursor_page([2], after=0), cursor_page([]))
    run = Run(api, CURSOR)
    assert [c.params for c in api.calls][1:] == [{"after": 2}, {"after": 0}]
    assert run.pages == [[1], [2]]
    assert run.stops == ["empty page"]


@pytest.mark.parametrize("results", [[], None])
def test_cursor_stops_on_an_empty_or_missing_page(results: Any) -> None:
    api = Api(cursor_page([1], after="c2"), page({"results": results}))
    run = Run(api, CURSOR)
    assert run.pages == [[1]]
    assert run.stops == ["empty page"]


def test_repeated_cursor_warns_and_stops() -> None:
    api = Api(cursor_page([1], after="same"), cursor_page([2], after="same"))
    run = Run(api, CURSOR)
    assert run.pages == [[1], [2]]
    assert run.stops == ["cursor repeated"]
    assert len(run.warnings) == 1 and "'same'" in run.warnings[0]


def test_cursor_path_may_be_a_key_with_dots_or_an_index() -> None:
    config = {**CURSOR, "cursor_path_in_response": "meta.next"}
    api = Api(page({"results": [1], "meta.next": "x"}), page({"results": [2]}))
    Run(api, config)
    assert api.calls[1].params == {"after": "x"}
    config = {**CURSOR, "cursor_path_in_response": "links[1].token"}
    api = Api(page({"results": [1], "links": [{}, {"token": "t"}]}), page({"results": []}))
    Run(api, config)
    assert api.calls[1].params == {"after": "t"}


def test_pages_at_the_root_of_the_response() -> None:
    config = {"type": "cursor", "cursor_name_in_request": "c", "cursor_path_in_response": "next"}
    run = Run(Api(page([1, 2])), config)
    assert run.pages == [[1, 2]]
    assert run.stops == ["no next cursor"]


def test_in_body_for_post_with_dotted_names() -> None:
    config = {
        **CURSOR,
        "cursor_name_in_request": "page.cursor",
        "limit": 10,
        "limit_name_in_request": "page.size",
    }
    api = Api(cursor_page([1], after="c2"), cursor_page([2]))
    data = {"filter": {"state": "open"}, "page": {"order": "asc"}}
    call = ProxyCall(endpoint="/search", method="POST", data=data, params={"q": "x"})
    Run(api, config, call)
    assert api.calls[0].data == {"filter": {"state": "open"}, "page": {"order": "asc", "size": 10}}
    assert api.calls[1].data == {
        "filter": {"state": "open"},
        "page": {"order": "asc", "size": 10, "cursor": "c2"},
    }
    assert all(c.params == {"q": "x"} for c in api.calls)
    assert data == {"filter": {"state": "open"}, "page": {"order": "asc"}}


def test_in_body_can_be_turned_off_for_post() -> None:
    api = Api(cursor_page([1], after="c2"), cursor_page([2]))
    call = ProxyCall(endpoint="/search", method="POST", data={"q": 1})
    Run(api, {**CURSOR, "in_body": False}, call)
    assert api.calls[1].params == {"after": "c2"}
    assert api.calls[1].data == {"q": 1}


def test_in_body_for_get_when_asked() -> None:
    api = Api(cursor_page([1], after="c2"), cursor_page([2]))
    Run(api, {**CURSOR, "in_body": True})
    assert api.calls[1].data == {"after": "c2"}


def test_string_params_become_a_dict() -> None:
    api = Api(cursor_page([1], after="c2"), cursor_page([2]))
    Run(api, CURSOR, ProxyCall(endpoint="/items", params="state=all&n=1"))
    assert api.calls[1].params == {"state": "all", "n": "1", "after": "c2"}


def test_async_on_page_receives_next_param_and_response() -> None:
    seen: list[tuple[Any, int]] = []

    async def on_page(event: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen.append((event["nextPageParam"], event["response"].status))

    api = Api(cursor_page([1], after="c2"), cursor_page([2]))
    Run(api, {**CURSOR, "on_page": on_page})
    assert seen == [("c2", 200), (None, 200)]


# --- link ----------------------------------------------------------------------------------------


LINK = {"type": "link", "link_rel_in_response_header": "next", "limit": 2}


def test_link_header_parsing_with_several_rels() -> None:
    header = (
        '<https://api.x.test/items?page=2&a=1,2>; rel="next", '
        '<https://api.x.test/items?page=9>; rel="last first", '
        '<https://api.x.test/items?page=1>; title="a; b"; rel=prev'
    )
    assert parse_link_header(header) == {
        "next": "https://api.x.test/items?page=2&a=1,2",
        "last": "https://api.x.test/items?page=9",
        "first": "https://api.x.test/items?page=9",
        "prev": "https://api.x.test/items?page=1",
    }
    assert parse_link_header(None) == {}
    assert parse_link_header("garbage") == {}


def test_link_follows_absolute_next_links_and_clears_params() -> None:
    link = '<https://api.github.test/repositories/1/issues?page=2&per_page=2>; rel="next"'
    api = Api(page([1, 2], {"link": link}), page([3], {}))
    call = ProxyCall(endpoint="/repos/a/b/issues", params={"state": "all"})
    run = Run(api, {**LINK, "limit_name_in_request": "per_page"}, call)
    assert run.pages == [[1, 2], [3]]
    assert api.calls[0].params == {"state": "all", "per_page": 2}
    second = api.calls[1]
    assert second.base_url_override == "https://api.github.test"
    assert second.endpoint == "/repositories/1/issues?page=2&per_page=2"
    assert second.params is None
    assert run.stops == ["no next link"]
    assert run.events == ["https://api.github.test/repositories/1/issues?page=2&per_page=2", None]


def test_link_from_the_body_may_be_relative() -> None:
    config = {
        "type": "link",
        "link_path_in_response_body": "meta.next_page_link",
        "response_path": "items",
    }
    api = Api(
        page({"items": [1], "meta": {"next_page_link": "/v1/items?cursor=b"}}),
        page({"items": [2], "meta": {"next_page_link": None}}),
    )
    run = Run(api, config)
    assert run.pages == [[1], [2]]
    assert api.calls[1].endpoint == "/v1/items?cursor=b"
    assert api.calls[1].base_url_override is None


def test_link_yields_empty_pages_and_stops_on_a_repeated_link() -> None:
    header = {"link": '</items?page=2>; rel="next"'}
    api = Api(page([], header), page([1], header))
    run = Run(api, LINK)
    assert run.pages == [[], [1]]
    assert run.stops == ["link repeated"]
    assert len(run.warnings) == 1


# --- offset --------------------------------------------------------------------------------------


OFFSET = {"type": "offset", "offset_name_in_request": "offset", "limit_name_in_request": "limit"}


def test_offset_by_response_size_in_the_query_as_strings() -> None:
    api = Api(page([1, 2]), page([3, 4]), page([5]))
    run = Run(api, {**OFFSET, "limit": 2})
    assert [c.params for c in api.calls] == [
        {"limit": 2, "offset": "0"},
        {"limit": 2, "offset": "2"},
        {"limit": 2, "offset": "4"},
    ]
    assert run.pages == [[1, 2], [3, 4], [5]]
    assert run.stops == ["short page (1 < limit 2)"]
    assert run.events == ["2", "4", None]


def test_offset_per_page_with_start_value_in_the_body_as_numbers() -> None:
    api = Api(page({"d": [1, 2]}), page({"d": [3]}), page({"d": []}))
    config = {**OFFSET, "offset_calculation_method": "per-page", "offset_start_value": 1}
    config["response_path"] = "d"
    Run(api, config, ProxyCall(endpoint="/q", method="POST"))
    assert [c.data for c in api.calls] == [{"offset": 1}, {"offset": 2}, {"offset": 3}]


def test_offset_stops_on_an_empty_page_without_a_limit() -> None:
    api = Api(page([1, 2, 3]), page([]))
    run = Run(api, OFFSET)
    assert run.pages == [[1, 2, 3]]
    assert run.stops == ["empty page"]


# --- through the proxy engine --------------------------------------------------------------------


def test_github_style_link_pagination_through_the_engine() -> None:
    api = respx.MockRouter(base_url="https://api.github.com")
    nxt = '<https://api.github.com/repositories/9/issues?per_page=2&page=2>; rel="next"'
    first = api.get("/repos/a/b/issues", params={"state": "all", "per_page": "2"})
    first.respond(json=[{"id": 1}, {"id": 2}], headers={"link": nxt})
    second = api.get("/repositories/9/issues", params={"per_page": "2", "page": "2"})
    second.respond(json=[{"id": 3}])
    seen: list[str] = []

    async def go() -> list[list[Any]]:
        async with build_client(transport=httpx.MockTransport(api.handler)) as client:
            github = get_provider("github")
            conn = Connection("c", "github", "github", credentials={"access_token": "t"})
            engine = ProxyEngine(
                client=client,
                provider=github,
                connection=conn,
                on_attempt=lambda a: seen.append(a.url),
            )
            config = merge_pagination(github.paginate, {"limit": 2})
            call = ProxyCall(endpoint="/repos/a/b/issues", params={"state": "all"})
            return [p async for p in paginate(engine.send, call, config)]

    assert asyncio.run(go()) == [[{"id": 1}, {"id": 2}], [{"id": 3}]]
    assert (first.call_count, second.call_count) == (1, 1)
    assert second.calls.last.request.headers["authorization"] == "Bearer t"
    assert seen == [
        "https://api.github.com/repos/a/b/issues?state=all&per_page=2",
        "https://api.github.com/repositories/9/issues?per_page=2&page=2",
    ]
