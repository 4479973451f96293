"""The proxy engine: one SDK call becomes an authenticated HTTP request to the provider, retried
by one documented policy, and a parsed response or an `HttpError`/`NetworkError`.

Retry policy (see `ProxyEngine.send`): `retries=None` means 3 for GET and 0 otherwise. Network
errors, 429 and 5xx, the provider's own `retry.error_code` classes (GitHub's 403), statuses in
`retry_on`, and error responses whose provider `retry.remaining` header is "0" are retried. A 401 is
retried only once a refresh produced different credentials. The wait is `Retry-After`, else the
provider's rate-limit headers (longest wins), else exponential backoff with full jitter.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from runtime.http.client import AnyClient, send
from runtime.http.providers import Provider
from runtime.http.request import (
    ProxyCall,
    RequestBuilder,
    ResponseType,
    describe_error,
    parse_body,
    parse_date,
    parse_number,
)
from runtime.sdk.types import Connection, HttpError, NetworkError, ProxyResponse

__all__ = ["Attempt", "ProxyCall", "ProxyEngine", "RequestBuilder", "ResponseType", "parse_body"]

_BACKOFF_BASE_S = 1.0
_BACKOFF_CAP_S = 30.0
_BACKOFF_FLOOR_S = 0.1
# A numeric reset time at or above 1972-01-01 read as milliseconds is epoch ms, else epoch seconds.
_EPOCH_MS_FROM = 63_072_000_000
_MAX_REDIRECTS = 20


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


@dataclass
class Attempt:
    """One HTTP attempt, for logs and reports. `wait_ms` is set when another attempt follows."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    attempt: int
    error: str | None = None
    wait_ms: float | None = None
    reason: str | None = None


# --- the retry policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    reason: str
    wait_s: float | None  # None: stop here


def _retry_after_s(value: str | None, now: float) -> float | None:
    if value is None or not value.strip():
        return None
    seconds = parse_number(value.strip())
    if seconds is not None:
        return max(0.0, seconds)
    moment = parse_date(value.strip())
    return None if moment is None else max(0.0, moment - now)


def _after_s(value: str | None) -> float | None:
    numbers = [parse_number(part.strip()) for part in (value or "").split(",")]
    return max((n for n in numbers if n is not None and n >= 0), default=None)


def _reset_wait_s(value: str | None, now: float) -> float | None:
    """Seconds until a reset time (epoch s, epoch ms or a date); None unless in the future."""
    if not value or not value.strip():
        return None
    numbers = [parse_number(part.strip()) for part in value.split(",")]
    if all(n is not None for n in numbers):
        moments = [n / 1000 if n >= _EPOCH_MS_FROM else n for n in numbers if n is not None]
    else:
        moments = [m] if (m := parse_date(value.strip())) is not None else []
    return max((m - now for m in moments if m > now), default=None)


def _header_names(value: str | list[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _matches_code(status: int, code: str) -> bool:
    if code.endswith("xx"):
        return status // 100 == int(code[0])
    low, _, high = code.partition("-")
    return int(low) <= status <= int(high or low)


def _is_retryable_network_error(error: httpx.RequestError) -> bool:
    """Transport failures are; a bad scheme, our own protocol misuse, too many redirects or an
    undecodable body would fail the same way again."""
    if isinstance(error, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return False
    return isinstance(error, httpx.TransportError)


def _attempt_count(call: ProxyCall, method: str) -> int:
    retries = call.retries if call.retries is not None else (3 if method == "GET" else 0)
    return max(0, retries) + 1


class ProxyEngine:
    """Sends `ProxyCall`s for one connection of one provider."""

    def __init__(
        self,
        *,
        client: AnyClient,
        provider: Provider,
        connection: Connection,
        refresh_connection: Callable[[], Awaitable[Connection]] | None = None,
        on_attempt: Callable[[Attempt], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
        max_wait_s: float = 600.0,
        token_client: AnyClient | None = None,
        on_secret: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self._provider = provider
        self._requests = RequestBuilder(
            client=client,
            provider=provider,
            connection=connection,
            token_client=token_client,
            now=now,
            on_secret=on_secret,
        )
        self._refresh = refresh_connection
        self._on_attempt = on_attempt
        self._sleep = sleep
        self._now = now
        self._random = random
        self._max_wait_s = max_wait_s

    @property
    def connection(self) -> Connection:
        """The connection in use (replaced when a 401 led to a refresh)."""
        return self._requests.connection

    async def send(self, call: ProxyCall) -> ProxyResponse:
        """Send `call`, retrying per the module's policy; every attempt goes to `on_attempt`."""
        method = call.method.upper()
        attempts = _attempt_count(call, method)
        number = 0
        while True:
            number += 1
            request, shown_url = await self._requests.build(call, method)
            response, error, duration_ms = await self._exchange(request)
            status = None if response is None else response.status_code
            record = Attempt(method, shown_url, status, duration_ms, number)
            if response is not None and response.is_success:
                self._report(record)
                data = parse_body(response, call.response_type)
                return ProxyResponse(response.status_code, data, dict(response.headers.items()))
            decision = await self._decide(call, response, error, number, attempts)
            record.error = None if error is None else describe_error(error)
            record.reason = decision.reason
            record.wait_ms = None if decision.wait_s is None else decision.wait_s * 1000
            self._report(record)
            if decision.wait_s is None:
                raise self._failure(call, response, error, shown_url, number)
            if decision.wait_s > 0:
                await self._sleep(decision.wait_s)

    async def _exchange(
        self, request: httpx.Request
    ) -> tuple[httpx.Response | None, httpx.RequestError | None, float]:
        started = time.perf_counter()
        try:
            response = await self._follow(request)
        except httpx.RequestError as exc:
            return None, exc, (time.perf_counter() - started) * 1000
        # The body is read: drop httpx's bound stream, which points back at the response and
        # would keep every page alive until the cyclic garbage collector runs.
        response.stream = httpx.ByteStream(response.content)
        return response, None, (time.perf_counter() - started) * 1000

    async def _follow(self, request: httpx.Request) -> httpx.Response:
        """Send `request`, following redirects; on the way to another host every header that
        carries the connection's credentials is dropped, whatever its name."""
        for _ in range(_MAX_REDIRECTS):
            response = await send(self._client, request, follow_redirects=False)
            following = response.next_request
            if following is None:
                return response
            if _origin(following.url) != _origin(request.url):
                for name in self._requests.credential_headers:
                    following.headers.pop(name, None)
            request = following
        raise httpx.TooManyRedirects(f"more than {_MAX_REDIRECTS} redirects", request=request)

    def _report(self, attempt: Attempt) -> None:
        if self._on_attempt is not None:
            self._on_attempt(attempt)

    def _failure(
        self,
        call: ProxyCall,
        response: httpx.Response | None,
        error: httpx.RequestError | None,
        url: str,
        attempts: int,
    ) -> Exception:
        if response is not None:
            body = parse_body(response, call.response_type)
            return HttpError(response.status_code, body, dict(response.headers.items()), url)
        plural = "s" if attempts > 1 else ""
        message = f"{call.method.upper()} {url} failed after {attempts} attempt{plural}"
        cause = describe_error(error) if error is not None else "no response"
        return NetworkError(f"{message}: {cause}", url=url, attempts=attempts)

    # --- retry decisions -------------------------------------------------------------------------

    async def _decide(
        self,
        call: ProxyCall,
        response: httpx.Response | None,
        error: httpx.RequestError | None,
        number: int,
        attempts: int,
    ) -> _Decision:
        if response is None:
            return self._after_network_error(error, number, attempts)
        if response.status_code == 401:
            return await self._after_unauthorized(number, attempts)
        cause = self._retry_cause(call, response)
        if cause is None:
            return _Decision(f"HTTP {response.status_code} is not retried", None)
        if number >= attempts:
            return _Decision(f"{cause}; no retries left", None)
        wait = self._header_wait_s(response)
        if wait is None:
            return _Decision(cause, self._backoff_s(number))
        if wait > self._max_wait_s:
            limit = f"{wait:.0f}s, more than max_wait_s ({self._max_wait_s:g}s)"
            return _Decision(f"{cause}; the API asks to wait {limit}", None)
        return _Decision(cause, wait)

    def _after_network_error(
        self, error: httpx.RequestError | None, number: int, attempts: int
    ) -> _Decision:
        reason = f"network error ({type(error).__name__})"
        if error is not None and not _is_retryable_network_error(error):
            return _Decision(f"{reason} is not retried", None)
        if number >= attempts:
            return _Decision(f"{reason}; no retries left", None)
        return _Decision(reason, self._backoff_s(number))

    def _retry_cause(self, call: ProxyCall, response: httpx.Response) -> str | None:
        status = response.status_code
        rule = self._provider.retry
        if status in (call.retry_on or []):
            return f"HTTP {status} (retry_on)"
        if status == 429 or status >= 500:
            return f"HTTP {status}"
        if rule is not None and any(_matches_code(status, c) for c in rule.error_code or []):
            return f"HTTP {status} (a retryable status of this provider)"
        remaining = rule.remaining if rule is not None else None
        if remaining and status >= 400 and response.headers.get(remaining, "").strip() == "0":
            return f"HTTP {status} with {remaining}: 0"
        return None

    async def _after_unauthorized(self, number: int, attempts: int) -> _Decision:
        if number >= attempts:
            return _Decision("HTTP 401; no retries left", None)
        if self._refresh is None and self._provider.auth_mode != "OAUTH2_CC":
            return _Decision("HTTP 401 and the credentials cannot be refreshed", None)
        if not await self._requests.credentials_changed(self._refresh):
            return _Decision("HTTP 401 and the credentials did not change after a refresh", None)
        return _Decision("HTTP 401; retrying with refreshed credentials", 0.0)

    def _header_wait_s(self, response: httpx.Response) -> float | None:
        """`Retry-After`, else the provider's `after`/`at` headers (longest wins) when the
        response is a rate limit (429, remaining "0", or no remaining header to tell)."""
        headers, now, rule = response.headers, self._now(), self._provider.retry
        retry_after = _retry_after_s(headers.get("retry-after"), now)
        if retry_after is not None or rule is None:
            return retry_after
        remaining = headers.get(rule.remaining or "", "").strip()
        if response.status_code != 429 and rule.remaining and remaining != "0":
            return None
        waits = [_after_s(headers.get(name)) for name in _header_names(rule.after)]
        waits += [_reset_wait_s(headers.get(name), now) for name in _header_names(rule.at)]
        return max((wait for wait in waits if wait is not None), default=None)

    def _backoff_s(self, number: int) -> float:
        ceiling = min(_BACKOFF_CAP_S, _BACKOFF_BASE_S * 2.0 ** (number - 1))
        return max(_BACKOFF_FLOOR_S, self._random() * ceiling)
