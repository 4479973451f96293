"""A failed refresh announces itself once (Nango's `auth` webhook, operation `refresh`), not at
every retry of the same series."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from runtime.credentials import RefreshFailedError, fresh_connection
from runtime.credentials.shapes import js_iso
from tests.runtime.credentials.conftest import Env
from tests.runtime.credentials.fake_oauth import FakeOAuth


def test_a_failed_refresh_queues_one_auth_webhook(env: Env, oauth: FakeOAuth) -> None:
    env.store.environments.set_webhooks("dev", urls=["https://example.test/hook"])
    tokens = oauth.issue_tokens()
    credentials = {
        "type": "OAUTH2",
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": js_iso(datetime.now(UTC) - timedelta(seconds=1)),
        "raw": tokens,
    }
    env.store.connections.upsert(env.id, "fake", "acme", credentials=credentials)
    oauth.refresh_fails = True
    with pytest.raises(RefreshFailedError):
        fresh_connection(env.store, env.settings, env.id, "fake", "acme")
    later = time.time() + 31
    with pytest.raises(RefreshFailedError):
        fresh_connection(env.store, env.settings, env.id, "fake", "acme", clock=lambda: later)
    (delivery,) = env.store.webhooks.list_recent(env.id, kinds=["auth"])
    body = json.loads(delivery.body)
    assert body["operation"] == "refresh" and body["success"] is False
    assert body["connectionId"] == "acme" and body["providerConfigKey"] == "fake"
    assert body["authMode"] == "OAUTH2" and body["environment"] == "dev"
    assert "invalid_grant" in body["error"]["description"]
    assert tokens["refresh_token"] not in delivery.body
