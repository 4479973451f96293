"""Signatures both ways, the sender's decisions (timeouts, retries, give-ups) with a mock
transport, and which settings are in effect."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from runtime.settings import RuntimeSettings, load_settings
from runtime.store import Store, open_store, sqlite_url
from runtime.store.webhooks import Delivery
from runtime.webhooks.outgoing import js_iso, targets
from runtime.webhooks.sender import Attempt, attempt_delivery, should_retry
from runtime.webhooks.signing import (
    nango_signature_headers,
    verify_nango_signature,
    verify_provider_signature,
)
from tests.runtime.store.conftest import TEST_KEY

BODY = b'{"id":1,"type":"issue.created"}'
SECRET = "whsec_test"


def hex_hmac(data: bytes) -> str:
    return hmac.new(SECRET.encode(), data, hashlib.sha256).hexdigest()


def test_nango_signatures_are_an_hmac_and_the_legacy_hash() -> None:
    headers = nango_signature_headers("key", '{"a":1}')
    assert headers["X-Nango-Hmac-Sha256"] == hmac.new(b"key", b'{"a":1}', "sha256").hexdigest()
    assert headers["X-Nango-Signature"] == hashlib.sha256(b'key{"a":1}').hexdigest()
    assert verify_nango_signature("key", b'{"a":1}', headers["X-Nango-Hmac-Sha256"])
    assert not verify_nango_signature("other", b'{"a":1}', headers["X-Nango-Hmac-Sha256"])
    assert not verify_nango_signature("key", b'{"a":1}', None)


@pytest.mark.parametrize(
    ("provider", "headers"),
    [
        ("github", {"x-hub-signature-256": "sha256=" + hex_hmac(BODY)}),
        ("github-app", {"x-hub-signature-256": "sha256=" + hex_hmac(BODY)}),
        ("linear", {"linear-signature": hex_hmac(BODY)}),
        (
            "shopify",
            {
                "x-shopify-hmac-sha256": base64.b64encode(
                    hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
                ).decode()
            },
        ),
        ("some-other-provider", {"x-hub-signature-256": "sha256=" + hex_hmac(BODY)}),
    ],
)
def test_each_providers_scheme(provider: str, headers: dict[str, str]) -> None:
    now = time.time()
    assert verify_provider_signature(provider, SECRET, BODY, headers, now=now)
    assert not verify_provider_signature(provider, "wrong", BODY, headers, now=now)
    assert not verify_provider_signature(provider, SECRET, BODY + b" ", headers, now=now)
    assert not verify_provider_signature(provider, SECRET, BODY, {}, now=now)


def test_stripes_scheme_is_timestamped() -> None:
    stamp = int(time.time())
    signature = hex_hmac(f"{stamp}.".encode() + BODY)
    header = {"stripe-signature": f"t={stamp},v1=deadbeef,v1={signature}"}
    assert verify_provider_signature("stripe", SECRET, BODY, header, now=stamp + 10)
    assert not verify_provider_signature("stripe", SECRET, BODY, header, now=stamp + 3600)
    assert not verify_provider_signature(
        "stripe", SECRET, BODY, {"stripe-signature": "v1=" + signature}, now=stamp
    )


def delivery(url: str = "http://receiver.test/hook") -> Delivery:
    now = datetime.now(UTC)
    return Delivery(1, 1, "sync", url, '{"a":1}', "SENDING", 0, None, None, None, None, now, None)


def test_an_attempt_is_signed_and_judged_by_its_answer() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert attempt_delivery(client, delivery(), "key", 5) == Attempt(204, None)
    (request,) = seen
    assert request.content == b'{"a":1}'
    assert (
        request.headers["x-nango-hmac-sha256"]
        == nango_signature_headers("key", '{"a":1}')["X-Nango-Hmac-Sha256"]
    )
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (httpx.ReadTimeout("slow"), True),
        (httpx.ConnectError("refused"), True),
        (httpx.Response(500), True),
        (httpx.Response(429), True),
        (httpx.Response(408), True),
        (httpx.Response(404), False),
        (httpx.Response(301, headers={"location": "http://elsewhere.test/"}), False),
    ],
)
def test_what_is_retried(failure: httpx.Response | Exception, retried: bool) -> None:
    def answer(_request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return failure

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        attempt = attempt_delivery(client, delivery(), None, 5)
    assert attempt.error is not None
    assert should_retry(attempt) is retried


def test_the_runtimes_settings_win_over_the_stored_ones(tmp_path: Path) -> None:
    store: Store = open_store(sqlite_url(tmp_path / "s.db"), encryption_key=TEST_KEY)
    try:
        dev = store.environments.ensure("dev").environment
        store.environments.set_webhooks(
            "dev", urls=["https://stored.test"], settings={"always_send_webhook": True}
        )
        plain = load_settings(environ={})
        found = targets(store, plain, dev.id)
        assert found is not None and found.urls == ["https://stored.test"]
        assert found.config.always_send_webhook is True
        configured = tmp_path / "runtime.toml"
        configured.write_text("[environments.dev]\nsend_failure_webhook = false\n")
        settings = load_settings(
            config_file=configured,
            environ={"NANGO_WEBHOOK_URLS_DEV": "https://a.test, https://b.test"},
        )
        found = targets(store, settings, dev.id)
        assert found is not None and found.urls == ["https://a.test", "https://b.test"]
        assert found.config.always_send_webhook is True  # not set by the runtime's settings
        assert found.config.send_failure_webhook is False
        assert targets(store, settings, 10**9) is None
        # A run process gets the settings as JSON: what they do not set stays unset there.
        only_toggle = load_settings(config_file=configured, environ={})
        child = RuntimeSettings.model_validate(only_toggle.model_dump(mode="json"))
        found = targets(store, child, dev.id)
        assert found is not None and found.urls == ["https://stored.test"]
        assert found.config.always_send_webhook is True
    finally:
        store.close()


def test_times_are_written_as_javascript_does() -> None:
    moment = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)
    assert js_iso(moment) == "2024-05-01T10:00:00.123Z"
    assert js_iso(int(moment.timestamp() * 1_000_000)) == "2024-05-01T10:00:00.123Z"
