"""The token endpoint client: request formats of the catalog, answers in JSON or as a form,
errors reduced to the provider's error code and description, secrets masked."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from runtime.credentials.errors import ConnectError, TokenError
from runtime.credentials.shapes import js_iso, public_credentials
from runtime.credentials.tokens import TokenEndpoint
from runtime.http.providers import Provider

NOW = 1_700_000_000.0


def _provider(**fields: Any) -> Provider:
    base = {
        "key": "p",
        "display_name": "P",
        "auth_mode": "OAUTH2",
        "token_url": "https://p.test/token",
    }
    return Provider.model_validate({**base, **fields})


def _endpoint(
    answer: Callable[[httpx.Request], httpx.Response],
    config: dict[str, Any] | None = None,
    **fields: Any,
) -> tuple[TokenEndpoint, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = httpx.Client(transport=httpx.MockTransport(handle))
    endpoint = TokenEndpoint(
        _provider(**fields), client, connection_config=config, clock=lambda: NOW
    )
    return endpoint, seen


def _exchange(endpoint: TokenEndpoint) -> Any:
    return endpoint.exchange_code(
        code="the-code", redirect_uri="https://r.test/cb", code_verifier="v" * 50,
        client_id="cid", client_secret="csecret",
    )  # fmt: skip


def test_a_form_encoded_answer_is_read() -> None:
    body = "access_token=at-1&refresh_token=rt-1&expires_in=120&scope=repo"
    endpoint, seen = _endpoint(
        lambda _r: httpx.Response(
            200, text=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    )
    grant = _exchange(endpoint)
    assert grant.credentials["access_token"] == "at-1"
    assert grant.credentials["refresh_token"] == "rt-1"
    assert grant.expires_at == datetime.fromtimestamp(NOW + 120, UTC)
    assert grant.credentials["expires_at"] == js_iso(datetime.fromtimestamp(NOW + 120, UTC))
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "https://r.test/cb",
        "code_verifier": "v" * 50,
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert seen[0].headers["accept"] == "application/json"


def test_an_error_with_status_200_is_an_error() -> None:
    answer = {"error": "bad_verification_code", "error_description": "The code the-code is wrong"}
    endpoint, _ = _endpoint(lambda _r: httpx.Response(200, json=answer))
    with pytest.raises(TokenError) as caught:
        _exchange(endpoint)
    assert caught.value.details == {
        "error": "bad_verification_code",
        "error_description": "The code *** is wrong",
    }
    assert "the-code" not in caught.value.message


def test_an_html_error_page_says_only_its_status() -> None:
    endpoint, _ = _endpoint(lambda _r: httpx.Response(500, text="<html>csecret</html>"))
    with pytest.raises(TokenError, match=r"answered 500$") as caught:
        _exchange(endpoint)
    assert caught.value.status == 500 and caught.value.details == {}


def test_an_answer_without_access_token_is_refused() -> None:
    endpoint, _ = _endpoint(lambda _r: httpx.Response(200, json={"token_type": "bearer"}))
    with pytest.raises(TokenError, match="without an access_token"):
        _exchange(endpoint)


@pytest.mark.parametrize("at", [NOW + 60, (NOW + 60) * 1000])
def test_expires_at_in_seconds_or_milliseconds(at: float) -> None:
    endpoint, _ = _endpoint(
        lambda _r: httpx.Response(200, json={"access_token": "a", "expires_at": at})
    )
    assert _exchange(endpoint).expires_at == datetime.fromtimestamp(NOW + 60, UTC)


def test_json_bodies_basic_client_refresh_url_and_params() -> None:
    endpoint, seen = _endpoint(
        lambda _r: httpx.Response(200, json={"access_token": "a2"}),
        {"tenant": "acme"},
        body_format="json",
        authorization_method="header",
        refresh_url="https://${connectionConfig.tenant}.p.test/refresh",
        refresh_params={"grant_type": "refresh_token", "tenant": "${connectionConfig.tenant}"},
    )
    grant = endpoint.refresh(
        {"type": "OAUTH2", "refresh_token": "rt-old"}, client_id="c i", client_secret="s:s"
    )
    request = seen[0]
    assert str(request.url) == "https://acme.p.test/refresh"
    assert json.loads(request.content) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-old",
        "tenant": "acme",
    }
    expected = base64.b64encode(b"c+i:s%3As").decode()  # each part form-encoded (RFC 6749)
    assert request.headers["authorization"] == f"Basic {expected}"
    assert grant.credentials["refresh_token"] == "rt-old"  # not rotated: kept


def test_url_fallbacks_and_missing_settings() -> None:
    answer = lambda _r: httpx.Response(200, json={"access_token": "a"})  # noqa: E731
    fields = {"token_url": "https://${connectionConfig.host}/t || https://default.test/t"}
    endpoint, seen = _endpoint(answer, {}, **fields)
    _exchange(endpoint)
    assert str(seen[0].url) == "https://default.test/t"
    endpoint, _ = _endpoint(answer, {}, token_url="https://${connectionConfig.host}/t")
    with pytest.raises(ConnectError, match="connection setting 'host'"):
        _exchange(endpoint)


def test_an_unreachable_endpoint_names_only_its_address() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    endpoint, _ = _endpoint(fail, token_url="https://p.test/token?secret=1")
    with pytest.raises(
        TokenError, match=r"https://p.test/token could not be reached \(ConnectError\)"
    ):
        _exchange(endpoint)


def test_public_credentials_hide_the_refresh_token_unless_asked() -> None:
    stored = {
        "type": "OAUTH2",
        "access_token": "a",
        "refresh_token": "r",
        "raw": {"refresh_token": "r", "x": 1},
    }
    assert public_credentials(stored, include_refresh_token=False) == {
        "type": "OAUTH2",
        "access_token": "a",
        "raw": {"x": 1},
    }
    assert public_credentials(stored, include_refresh_token=True) == stored
    other = {"type": "OAUTH2_CC", "token": "t", "raw": {"refresh_token": "r"}}
    assert public_credentials(other, include_refresh_token=False) == other
