"""OAuth connect sessions: created pending, claimed once, closed with their outcome, purged."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from runtime.store import Store, open_store
from runtime.store.errors import NotFoundError
from runtime.store.schema import oauth_sessions
from tests.runtime.store.conftest import TEST_KEY, World


def _create(world: World, state: str = "s1", *, minutes: float = 10, **extra: object) -> None:
    world.store.oauth.create(
        world.environment_id,
        world.integration_key,
        "acme",
        state=state,
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        redirect_uri="http://localhost:3003/oauth/callback",
        scopes=["repo", "user"],
        **extra,  # type: ignore[arg-type]
    )


def test_a_session_keeps_what_the_callback_needs(world: World) -> None:
    _create(
        world,
        code_verifier="verifier-secret",
        link_hash="h1",
        connection_config={"subdomain": "acme"},
        metadata={"team": 1},
    )
    session = world.store.oauth.get("s1")
    assert session is not None
    assert session.status == "PENDING"
    assert session.integration_key == "github"
    assert session.code_verifier == "verifier-secret"
    assert session.scopes == ["repo", "user"]
    assert session.connection_config == {"subdomain": "acme"}
    assert session.metadata == {"team": 1}
    assert world.store.oauth.get_by_link("h1") == session
    assert world.store.oauth.get("unknown") is None


def test_the_code_verifier_is_encrypted(world: World) -> None:
    _create(world, code_verifier="verifier-secret-123")
    with world.store.database.engine.connect() as connection:
        blob = connection.execute(oauth_sessions.select()).first()
    assert blob is not None
    assert b"verifier-secret-123" not in bytes(blob.code_verifier_encrypted)


def test_a_session_is_claimed_once_then_closed(world: World) -> None:
    _create(world)
    assert world.store.oauth.claim("s1") is True
    assert world.store.oauth.claim("s1") is False
    world.store.oauth.finish("s1", succeeded=True, result={"message": "connected"})
    session = world.store.oauth.get("s1")
    assert session is not None
    assert (session.status, session.result) == ("SUCCESS", {"message": "connected"})
    assert world.store.oauth.claim("s1") is False


def test_an_expired_session_cannot_be_claimed(world: World) -> None:
    _create(world, minutes=-1)
    assert world.store.oauth.claim("s1") is False


def test_concurrent_claims_have_one_winner(world: World, store_url: str) -> None:
    _create(world)
    stores = [open_store(store_url, encryption_key=TEST_KEY) for _ in range(4)]
    wins: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def claim(store: Store) -> None:
        barrier.wait()
        wins.append(store.oauth.claim("s1"))

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert sorted(wins) == [False, False, False, True]


def test_sessions_expired_for_a_day_are_purged_by_the_next(world: World) -> None:
    _create(world, "old", minutes=-(24 * 60 + 1))
    _create(world, "recent", minutes=-5)
    _create(world, "new")
    assert world.store.oauth.get("old") is None
    assert world.store.oauth.get("recent") is not None


def test_an_unknown_integration_is_refused(world: World) -> None:
    with pytest.raises(NotFoundError, match='Integration "nope" does not exist'):
        world.store.oauth.create(
            world.environment_id,
            "nope",
            "acme",
            state="s",
            expires_at=datetime.now(UTC),
            redirect_uri="x",
            scopes=[],
        )
