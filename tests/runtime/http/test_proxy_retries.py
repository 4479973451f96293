"""The retry policy: which failures are retried, how long the engine waits, and what it raises."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from runtime.http.client import build_client
from runtime.http.providers import Provider
from runtime.http.proxy import Attempt, ProxyCall, ProxyEngine
from runtime.sdk.nango import Connection, HttpError, NetworkError, ProxyResponse

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
Answer = httpx.Response | Exception


def provider(retry: dict[str, Any] | None = None, auth_mode: str = "OAUTH2") -> Provider:
    return Provider.model_validate(
        {
            "key": "acme",
            "display_name": "Acme",
            "auth_mode": auth_mode,
            "base_url": "https://api.acme.test",
            "retry": retry,
        }
    )


def connection(token: str = "tok") -> Connection:
    return Connection(
        connection_id="conn-1",
        provider_config_key="acme",
        provider="acme",
        credentials={"type": "OAUTH2", "access_token": token},
    )


class Harness:
    """An engine over a scripted API (one respx route answering each request with the next
    answer), with a fake clock, fake sleep and recorded attempts."""

    def __init__(
        self,
        *answers: Answer,
        prov: Provider | None = None,
        refresh: Callable[[], Connection] | None = None,
        random_value: float = 0.5,
        max_wait_s: float = 600.0,
    ) -> None:
        router = respx.MockRouter(base_url="https://api.acme.test")
        self.route = router.route().mock(side_effect=list(answers))
        self.waits: list[float] = []
        self.attempts: list[Attempt] = []
        self.refreshes = 0
        self._refresh = refresh
        self.engine = ProxyEngine(
            client=build_client(transport=httpx.MockTransport(router.handler)),
            provider=prov or provider(),
            connection=connection(),
            refresh_connection=self._refreshed if refresh else None,
            on_attempt=self.attempts.append,
            sleep=self._sleep,
            now=lambda: NOW,
            random=lambda: random_value,
            max_wait_s=max_wait_s,
        )

    @property
    def requests(self) -> list[httpx.Request]:
        return [call.request for call in self.route.calls]

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def _refreshed(self) -> Connection:
        self.refreshes += 1
        assert self._refresh is not None
        return self._refresh()

    def send(self, call: ProxyCall | None = None) -> ProxyResponse:
        return asyncio.run(self.engine.send(call or ProxyCall(endpoint="/items")))

    def fail(self, error: type[Exception], call: ProxyCall | None = None) -> Any:
        with pytest.raises(error) as caught:
            self.send(call)
        return caught.value


def ok(data: Any = None) -> httpx.Response:
    return httpx.Response(200, json=data if data is not None else {"ok": True})


def status(code: int, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(code, headers=headers, **kwargs)


# --- what is retried -----------------------------------------------------------------------------


def test_429_with_retry_after_seconds_waits_that_long() -> None:
    api = Harness(status(429, {"Retry-After": "7"}), ok())
    assert api.send().data == {"ok": True}
    assert api.waits == [7.0]
    assert [a.status for a in api.attempts] == [429, 200]


def test_429_with_retry_after_http_date() -> None:
    moment = format_datetime(datetime.fromtimestamp(NOW + 42, tz=UTC), usegmt=True)
    api = Harness(status(429, {"Retry-After": moment}), ok())
    api.send()
    assert api.waits == [42.0]


def test_retry_after_in_the_past_retries_at_once() -> None:
    moment = format_datetime(datetime.fromtimestamp(NOW - 60, tz=UTC), usegmt=True)
    api = Harness(status(429, {"Retry-After": moment}), ok())
    api.send()
    assert api.waits == []
    assert len(api.requests) == 2


def test_503_is_retried_with_jittered_backoff() -> None:
    api = Harness(status(503), status(502), ok(), random_value=0.5)
    api.send()
    assert api.waits == [0.5, 1.0]


def test_network_error_then_success() -> None:
    request = httpx.Request("GET", "https://api.acme.test/items")
    api = Harness(httpx.ConnectError("refused", request=request), ok([1]))
    assert api.send().data == [1]
    first = api.attempts[0]
    assert first.status is None
    assert first.error is not None and "ConnectError" in first.error
    assert first.wait_ms == 500.0


def test_timeouts_are_retried() -> None:
    request = httpx.Request("GET", "https://api.acme.test/items")
    api = Harness(httpx.ReadTimeout("slow", request=request), ok())
    api.send()
    assert len(api.requests) == 2


def test_network_errors_exhausted_raise_network_error() -> None:
    request = httpx.Request("GET", "https://api.acme.test/items")
    api = Harness(*[httpx.ConnectError("refused", request=request) for _ in range(4)])
    error = api.fail(NetworkError)
    assert error.attempts == 4
    assert error.url == "https://api.acme.test/items"
    assert "ConnectError" in str(error)
    assert api.attempts[-1].reason is not None and "no retries left" in api.attempts[-1].reason


def test_retries_exhausted_raise_http_error_with_status_body_and_headers() -> None:
    answers = [status(500, {"x-request-id": "r1"}, json={"error": "boom"}) for _ in range(4)]
    api = Harness(*answers)
    error = api.fail(HttpError)
    assert (error.status, error.body, error.headers["x-request-id"]) == (
        500,
        {"error": "boom"},
        "r1",
    )
    assert error.url == "https://api.acme.test/items"
    assert len(api.requests) == 4
    assert len(api.waits) == 3
    assert api.attempts[-1].wait_ms is None


def test_http_error_body_that_is_not_json_is_text() -> None:
    api = Harness(status(404, text="Not Found"))
    error = api.fail(HttpError)
    assert (error.status, error.body) == (404, "Not Found")
    assert len(api.requests) == 1
    assert api.attempts[0].reason == "HTTP 404 is not retried"


def test_post_is_not_retried_by_default() -> None:
    api = Harness(status(503), ok())
    api.fail(HttpError, ProxyCall(endpoint="/items", method="POST", data={"a": 1}))
    assert len(api.requests) == 1


def test_post_is_retried_when_asked() -> None:
    api = Harness(status(503), status(503), ok())
    api.send(ProxyCall(endpoint="/items", method="POST", data={"a": 1}, retries=2))
    assert len(api.requests) == 3
    assert all(request.content == b'{"a":1}' for request in api.requests)


def test_retries_zero_on_get() -> None:
    api = Harness(status(503), ok())
    api.fail(HttpError, ProxyCall(endpoint="/items", retries=0))
    assert len(api.requests) == 1


def test_retry_on_adds_statuses() -> None:
    api = Harness(status(409), ok())
    api.send(ProxyCall(endpoint="/items", retry_on=[409]))
    assert api.attempts[0].reason == "HTTP 409 (retry_on)"
    assert len(api.requests) == 2


def test_provider_error_codes_add_to_the_default_classes() -> None:
    prov = provider({"error_code": ["403", "420-422"]})
    for code in (403, 421, 429, 503):
        api = Harness(status(code), ok(), prov=prov)
        api.send()
        assert len(api.requests) == 2, code
    api = Harness(status(404), ok(), prov=prov)
    api.fail(HttpError)


def test_remaining_zero_makes_an_error_retryable() -> None:
    prov = provider({"remaining": "x-ratelimit-remaining", "at": "x-ratelimit-reset"})
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 30))}
    api = Harness(status(403, headers), ok(), prov=prov)
    api.send()
    assert api.waits == [30.0]
    assert "x-ratelimit-remaining: 0" in (api.attempts[0].reason or "")


def test_remaining_zero_on_a_success_is_not_an_error() -> None:
    prov = provider({"remaining": "x-ratelimit-remaining"})
    api = Harness(httpx.Response(200, json=[], headers={"x-ratelimit-remaining": "0"}), prov=prov)
    assert api.send().data == []


# --- how long it waits ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reset", "expected"),
    [
        (str(int(NOW + 90)), 90.0),  # epoch seconds
        (str(int((NOW + 90) * 1000)), 90.0),  # epoch milliseconds
        ("2023-11-14T22:14:20Z", 60.0),  # a date string
    ],
)
def test_provider_reset_at_header(reset: str, expected: float) -> None:
    prov = provider({"at": "x-ratelimit-reset"})
    api = Harness(status(429, {"x-ratelimit-reset": reset}), ok(), prov=prov)
    api.send()
    assert api.waits == [pytest.approx(expected)]


def test_provider_reset_in_the_past_falls_back_to_backoff() -> None:
    prov = provider({"at": "x-ratelimit-reset"})
    api = Harness(status(429, {"x-ratelimit-reset": str(int(NOW - 5))}), ok(), prov=prov)
    api.send()
    assert api.waits == [0.5]


def test_provider_after_headers_longest_wins() -> None:
    prov = provider({"after": ["x-minute-retry", "x-day-retry"], "at": "x-reset"})
    headers = {"x-minute-retry": "20", "x-day-retry": "120", "x-reset": str(int(NOW + 50))}
    api = Harness(status(429, headers), ok(), prov=prov)
    api.send()
    assert api.waits == [120.0]


def test_several_values_in_one_header_longest_wins() -> None:
    prov = provider({"after": "x-retry"})
    api = Harness(status(429, {"x-retry": "5, 40"}), ok(), prov=prov)
    api.send()
    assert api.waits == [40.0]


def test_retry_after_comes_before_provider_headers() -> None:
    prov = provider({"at": "x-ratelimit-reset"})
    headers = {"retry-after": "3", "x-ratelimit-reset": str(int(NOW + 500))}
    api = Harness(status(429, headers), ok(), prov=prov)
    api.send()
    assert api.waits == [3.0]


def test_reset_headers_are_ignored_on_a_5xx_while_requests_remain() -> None:
    prov = provider({"at": "x-ratelimit-reset", "remaining": "x-ratelimit-remaining"})
    headers = {"x-ratelimit-remaining": "4999", "x-ratelimit-reset": str(int(NOW + 3000))}
    api = Harness(status(502, headers), ok(), prov=prov)
    api.send()
    assert api.waits == [0.5]


def test_a_wait_longer_than_max_wait_fails_at_once() -> None:
    api = Harness(status(429, {"Retry-After": "3600"}), ok(), max_wait_s=600)
    error = api.fail(HttpError)
    assert error.status == 429
    assert api.waits == []
    assert "max_wait_s" in (api.attempts[0].reason or "")


def test_backoff_doubles_and_is_capped_at_30_seconds() -> None:
    api = Harness(*[status(503) for _ in range(7)], ok(), random_value=1.0)
    api.send(ProxyCall(endpoint="/items", retries=7))
    assert api.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_backoff_has_a_floor_of_100_ms() -> None:
    api = Harness(status(503), ok(), random_value=0.0)
    api.send()
    assert api.waits == [0.1]


# --- 401 -----------------------------------------------------------------------------------------


def test_401_with_unchanged_credentials_is_not_retried() -> None:
    api = Harness(status(401, json={"message": "bad token"}), ok(), refresh=lambda: connection())
    error = api.fail(HttpError)
    assert error.status == 401 and error.body == {"message": "bad token"}
    assert api.refreshes == 1
    assert len(api.requests) == 1
    assert "did not change" in (api.attempts[0].reason or "")


def test_401_with_refreshed_credentials_is_retried_with_them() -> None:
    api = Harness(status(401), ok(), refresh=lambda: connection("fresh"))
    api.send()
    assert [r.headers["authorization"] for r in api.requests] == ["Bearer tok", "Bearer fresh"]
    assert api.waits == []
    assert api.engine.connection.credentials["access_token"] == "fresh"


def test_401_without_a_way_to_refresh_is_not_retried() -> None:
    api = Harness(status(401), ok())
    api.fail(HttpError)
    assert len(api.requests) == 1


def test_401_on_the_last_attempt_does_not_refresh() -> None:
    api = Harness(status(401), ok(), refresh=lambda: connection("fresh"))
    api.fail(HttpError, ProxyCall(endpoint="/items", method="POST"))
    assert api.refreshes == 0


def test_client_credentials_401_refetches_the_token_once() -> None:
    api = respx.MockRouter(base_url="https://api.acme.test")
    token = api.post("/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": t, "expires_in": 3600})
            for t in ("cc-1", "cc-2")
        ]
    )
    items = api.get("/items").mock(side_effect=[httpx.Response(401), httpx.Response(200, json={})])

    prov = Provider.model_validate(
        {
            "key": "acme",
            "display_name": "Acme",
            "auth_mode": "OAUTH2_CC",
            "base_url": "https://api.acme.test",
            "token_url": "https://api.acme.test/token",
        }
    )
    engine = ProxyEngine(
        client=build_client(transport=httpx.MockTransport(api.handler)),
        provider=prov,
        connection=Connection(
            "c", "acme", "acme", credentials={"client_id": "i", "client_secret": "s"}
        ),
        sleep=lambda _s: asyncio.sleep(0),
    )
    assert asyncio.run(engine.send(ProxyCall(endpoint="/items"))).status == 200
    assert token.call_count == 2
    assert [c.request.headers["authorization"] for c in items.calls] == [
        "Bearer cc-1",
        "Bearer cc-2",
    ]


# --- reporting -----------------------------------------------------------------------------------


def test_every_attempt_is_reported_with_reason_and_wait() -> None:
    api = Harness(status(429, {"Retry-After": "2"}), status(503), ok(), random_value=0.5)
    api.send()
    assert [(a.attempt, a.status, a.wait_ms, a.reason) for a in api.attempts] == [
        (1, 429, 2000.0, "HTTP 429"),
        (2, 503, 1000.0, "HTTP 503"),
        (3, 200, None, None),
    ]
    assert all(a.method == "GET" and a.url == "https://api.acme.test/items" for a in api.attempts)


def test_redirect_loops_fail_without_retrying() -> None:
    loop = [status(302, {"location": "https://api.acme.test/items"}) for _ in range(25)]
    api = Harness(*loop)
    error = api.fail(NetworkError)
    assert "TooManyRedirects" in str(error)
    assert error.attempts == 1
    assert api.waits == []


def test_unsupported_scheme_is_not_retried() -> None:
    request = httpx.Request("GET", "https://api.acme.test/items")
    api = Harness(httpx.UnsupportedProtocol("nope", request=request), ok())
    api.fail(NetworkError)
    assert len(api.requests) == 1
