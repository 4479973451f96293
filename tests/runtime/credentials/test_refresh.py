"""fresh_connection: tokens refreshed before they expire and when forced, rotated refresh tokens
kept, one refresh at a time per connection, failures recorded and retried later, client
credentials fetched and cached."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime.credentials import RefreshFailedError, fresh_connection
from runtime.credentials.refresh import FIRST_RETRY_DELAY
from runtime.credentials.shapes import js_iso
from runtime.settings import RuntimeSettings
from runtime.store import Connection, open_store
from runtime.store.errors import NotFoundError
from tests.helpers import closed_port_url
from tests.runtime.credentials.conftest import Env
from tests.runtime.credentials.fake_oauth import (
    CC_CLIENT_ID,
    CC_CLIENT_SECRET,
    CLIENT_SECRET,
    FakeOAuth,
)
from tests.runtime.store.conftest import TEST_KEY


def _oauth2(
    env: Env, oauth: FakeOAuth, *, expires_in_s: float, name: str = "acme"
) -> dict[str, Any]:
    tokens = oauth.issue_tokens()
    credentials = {
        "type": "OAUTH2",
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": js_iso(datetime.now(UTC) + timedelta(seconds=expires_in_s)),
        "raw": tokens,
    }
    env.store.connections.upsert(env.id, "fake", name, credentials=credentials)
    return credentials


def _fresh(env: Env, name: str = "acme", key: str = "fake", **options: Any) -> Connection:
    return fresh_connection(env.store, env.settings, env.id, key, name, **options)


def _stored(env: Env, name: str = "acme", key: str = "fake") -> Connection:
    found = env.store.connections.get(env.id, key, name)
    assert found is not None
    return found


def test_a_token_far_from_expiry_is_returned_as_is(env: Env, oauth: FakeOAuth) -> None:
    given = _oauth2(env, oauth, expires_in_s=3000)
    connection = _fresh(env)
    assert connection.credentials == given
    assert oauth.counts["refresh"] == 0


def test_a_token_expiring_within_the_margin_is_refreshed_and_stored(
    env: Env, oauth: FakeOAuth
) -> None:
    old = _oauth2(env, oauth, expires_in_s=600)  # inside the 15-minute margin
    connection = _fresh(env)
    credentials = connection.credentials or {}
    assert oauth.counts["refresh"] == 1
    assert credentials["access_token"] != old["access_token"]
    assert credentials["access_token"].startswith("at-")
    # the provider rotated the refresh token: the new one is kept, the old one is dead
    assert credentials["refresh_token"] not in (None, old["refresh_token"])
    expires_at = connection.credentials_expires_at
    assert expires_at is not None
    assert timedelta(minutes=59) < expires_at - datetime.now(UTC) < timedelta(minutes=61)
    assert _stored(env).credentials == credentials
    assert oauth.token_requests[-1]["refresh_token"] == old["refresh_token"]
    assert oauth.token_requests[-1]["client_secret"] == CLIENT_SECRET
    # the next reader gets the stored token without asking again
    assert _fresh(env).credentials == credentials
    assert oauth.counts["refresh"] == 1


def test_an_expired_token_is_refreshed(env: Env, oauth: FakeOAuth) -> None:
    old = _oauth2(env, oauth, expires_in_s=-60)
    assert (_fresh(env).credentials or {})["access_token"] != old["access_token"]


def test_a_forced_refresh_refreshes_a_valid_token(env: Env, oauth: FakeOAuth) -> None:
    old = _oauth2(env, oauth, expires_in_s=3000)
    connection = _fresh(env, force=True)
    assert oauth.counts["refresh"] == 1
    assert (connection.credentials or {})["access_token"] != old["access_token"]


def test_a_refresh_token_that_is_not_rotated_is_kept(env: Env, oauth: FakeOAuth) -> None:
    oauth.rotate_refresh_tokens = False
    old = _oauth2(env, oauth, expires_in_s=60)
    credentials = _fresh(env).credentials or {}
    assert credentials["refresh_token"] == old["refresh_token"]
    assert "refresh_token" not in credentials["raw"]  # the provider's answer, as it came
    _fresh(env, force=True)  # and it still works
    assert oauth.counts["refresh"] == 2


def test_the_margin_is_half_the_lifetime_of_short_lived_tokens(env: Env, oauth: FakeOAuth) -> None:
    oauth.expires_in = 600
    _oauth2(env, oauth, expires_in_s=360)  # raw says 600 s: margin 5 minutes
    _fresh(env)
    assert oauth.counts["refresh"] == 0
    _fresh(env, clock=lambda: time.time() + 70)  # 4:50 left
    assert oauth.counts["refresh"] == 1


def test_a_failed_refresh_is_recorded_and_retried_after_a_delay(env: Env, oauth: FakeOAuth) -> None:
    _oauth2(env, oauth, expires_in_s=-1)
    oauth.refresh_fails = True
    with pytest.raises(RefreshFailedError, match="invalid_grant") as caught:
        _fresh(env)
    assert "refresh the access token" in caught.value.message
    stored = _stored(env)
    assert stored.refresh_attempts == 1
    assert stored.refresh_error is not None and "invalid_grant" in stored.refresh_error
    assert stored.refresh_next_at is not None
    wait = stored.refresh_next_at - datetime.now(UTC)
    assert FIRST_RETRY_DELAY - timedelta(seconds=5) < wait <= FIRST_RETRY_DELAY
    # within the delay: the recorded failure, without asking the provider again
    with pytest.raises(RefreshFailedError, match="invalid_grant"):
        _fresh(env)
    assert oauth.counts["refresh"] == 1
    # after it: asked again; a second failure doubles the delay
    later = time.time() + 31
    with pytest.raises(RefreshFailedError):
        _fresh(env, clock=lambda: later)
    assert oauth.counts["refresh"] == 2
    assert _stored(env).refresh_attempts == 2
    # the provider recovers: the next try succeeds and clears the failure
    oauth.refresh_fails = False
    connection = _fresh(env, force=True)
    assert connection.refresh_error is None and connection.refresh_attempts == 0


def test_a_failed_refresh_of_a_still_valid_token_returns_the_token(
    env: Env, oauth: FakeOAuth
) -> None:
    given = _oauth2(env, oauth, expires_in_s=300)
    oauth.refresh_fails = True
    assert _fresh(env).credentials == given
    assert _stored(env).refresh_attempts == 1
    with pytest.raises(RefreshFailedError):
        _fresh(env, force=True)


def test_a_failure_message_holds_no_secret(env: Env, oauth: FakeOAuth) -> None:
    given = _oauth2(env, oauth, expires_in_s=-1)
    oauth.refresh_fails = True  # the fake echoes the refresh token in its error description
    with pytest.raises(RefreshFailedError) as caught:
        _fresh(env)
    text = caught.value.message + repr(caught.value.details) + (_stored(env).refresh_error or "")
    for secret in (given["refresh_token"], CLIENT_SECRET, given["access_token"]):
        assert secret not in text
    assert "***" in text


def test_a_token_endpoint_that_does_not_answer_is_a_recorded_failure(
    env: Env, oauth: FakeOAuth
) -> None:
    _oauth2(env, oauth, expires_in_s=-1)
    env.store.integrations.update(env.id, "plain", oauth_client_id="x")
    tokens = oauth.issue_tokens()
    credentials = {**tokens, "type": "OAUTH2", "expires_at": js_iso(datetime.now(UTC))}
    host = closed_port_url().removeprefix("http://")
    env.store.connections.upsert(
        env.id, "plain", "down", credentials=credentials, connection_config={"host": host}
    )
    with pytest.raises(RefreshFailedError, match="could not be reached"):
        _fresh(env, "down", "plain")
    assert "could not be reached" in (_stored(env, "down", "plain").refresh_error or "")


def test_the_connection_client_override_refreshes(env: Env, oauth: FakeOAuth) -> None:
    env.store.integrations.update(env.id, "fake", oauth_client_id=None, oauth_client_secret=None)
    credentials = _oauth2(env, oauth, expires_in_s=-1)
    credentials["config_override"] = {"client_id": "client-abc", "client_secret": CLIENT_SECRET}
    env.store.connections.upsert(env.id, "fake", "acme", credentials=credentials)
    assert _fresh(env).credentials != credentials
    assert oauth.counts["refresh"] == 1


def test_without_a_client_id_the_refresh_fails_clearly(env: Env, oauth: FakeOAuth) -> None:
    env.store.integrations.update(env.id, "fake", oauth_client_id=None)
    _oauth2(env, oauth, expires_in_s=-1)
    with pytest.raises(RefreshFailedError, match="no OAuth client id"):
        _fresh(env)


def test_ten_threads_make_one_refresh(env: Env, oauth: FakeOAuth) -> None:
    _oauth2(env, oauth, expires_in_s=-1)
    oauth.token_delay_s = 0.3
    barrier = threading.Barrier(10)
    tokens: list[str] = []

    def read() -> None:
        barrier.wait()
        tokens.append((_fresh(env).credentials or {})["access_token"])

    threads = [threading.Thread(target=read) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert oauth.counts["refresh"] == 1
    assert len(tokens) == 10 and len(set(tokens)) == 1


def test_forced_refreshes_asked_together_make_one(env: Env, oauth: FakeOAuth) -> None:
    _oauth2(env, oauth, expires_in_s=3000)
    oauth.token_delay_s = 1.0
    barrier = threading.Barrier(5)
    tokens: list[str] = []

    def read() -> None:
        barrier.wait()
        tokens.append((_fresh(env, force=True).credentials or {})["access_token"])

    threads = [threading.Thread(target=read) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert oauth.counts["refresh"] == 1
    assert len(set(tokens)) == 1


def _read_in_process(url: str, environment_id: int, start_at: float, queue: Any) -> None:
    store = open_store(url, encryption_key=TEST_KEY)
    try:
        settings = RuntimeSettings(server_url="http://runtime.test")
        threads, tokens = [], []

        def read() -> None:
            while time.time() < start_at:
                time.sleep(0.001)
            connection = fresh_connection(store, settings, environment_id, "fake", "acme")
            tokens.append((connection.credentials or {})["access_token"])

        threads = [threading.Thread(target=read) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        queue.put(tokens)
    finally:
        store.close()


def test_two_processes_make_one_refresh(env: Env, oauth: FakeOAuth, store_url: str) -> None:
    _oauth2(env, oauth, expires_in_s=-1)
    oauth.token_delay_s = 0.3
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    start_at = time.time() + 3.0
    processes = [
        context.Process(target=_read_in_process, args=(store_url, env.id, start_at, queue))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    tokens = [token for _ in processes for token in queue.get(timeout=60)]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert oauth.counts["refresh"] == 1
    assert len(tokens) == 10 and len(set(tokens)) == 1


def test_client_credentials_are_fetched_once_and_cached(env: Env, oauth: FakeOAuth) -> None:
    credentials = {
        "type": "OAUTH2_CC",
        "client_id": CC_CLIENT_ID,
        "client_secret": CC_CLIENT_SECRET,
    }
    env.store.connections.upsert(env.id, "cc", "svc", credentials=credentials)
    first = _fresh(env, "svc", "cc").credentials or {}
    assert first["token"].startswith("cc-")
    assert (first["client_id"], first["client_secret"]) == (CC_CLIENT_ID, CC_CLIENT_SECRET)
    assert oauth.token_requests[-1]["basic"] == (CC_CLIENT_ID, CC_CLIENT_SECRET)
    assert oauth.token_requests[-1]["audience"] == "api"
    assert _fresh(env, "svc", "cc").credentials == first
    assert oauth.counts["cc"] == 1
    # near its expiry it is fetched again
    later = time.time() + 3600 - 60
    second = _fresh(env, "svc", "cc", clock=lambda: later).credentials or {}
    assert second["token"] != first["token"]
    assert oauth.counts["cc"] == 2


def test_credentials_that_never_refresh_are_returned_even_forced(
    env: Env, oauth: FakeOAuth
) -> None:
    env.store.integrations.create(env.id, "keyed", "fake-oauth")
    given = {"type": "OAUTH2", "access_token": "t", "expires_at": js_iso(datetime.now(UTC))}
    env.store.connections.upsert(env.id, "keyed", "no-refresh-token", credentials=given)
    assert _fresh(env, "no-refresh-token", "keyed", force=True).credentials == given
    assert oauth.counts["refresh"] == 0


def test_an_unknown_connection_is_not_found(env: Env) -> None:
    with pytest.raises(NotFoundError, match="Failed to find connection"):
        _fresh(env, "nobody")
