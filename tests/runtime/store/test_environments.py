"""Environments, their hashed secret keys, and environment variables."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from runtime.store import Store
from runtime.store.errors import ConflictError, InvalidValueError, NotFoundError
from runtime.store.schema import environments


def test_ensure_creates_an_environment_with_a_generated_key_shown_once(store: Store) -> None:
    first = store.environments.ensure("dev")
    assert first.generated_key is not None
    assert first.environment.name == "dev" and first.environment.has_secret_key
    again = store.environments.ensure("dev")
    assert again.generated_key is None
    assert again.environment.id == first.environment.id
    found = store.environments.find_by_secret_key(first.generated_key)
    assert found is not None and found.name == "dev"


def test_keys_are_stored_hashed_and_looked_up_by_hash(store: Store) -> None:
    key = "7b1f6c9e-2a6b-4e1f-9a57-3c1d2e4f5a6b"
    store.environments.ensure("prod", secret_key=key)
    with store.database.read() as connection:
        stored = connection.execute(select(environments.c.secret_key_hash)).scalar()
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert store.environments.find_by_secret_key(key).name == "prod"  # type: ignore[union-attr]
    assert store.environments.find_by_secret_key(key.upper()) is None
    assert store.environments.find_by_secret_key("") is None


def test_a_given_key_replaces_the_stored_one(store: Store) -> None:
    generated = store.environments.ensure("dev").generated_key
    assert generated is not None
    store.environments.ensure("dev", secret_key="new-key")
    assert store.environments.find_by_secret_key(generated) is None
    assert store.environments.find_by_secret_key("new-key") is not None
    store.environments.set_secret_key("dev", "newer")
    assert store.environments.find_by_secret_key("newer") is not None


def test_two_environments_cannot_share_a_key(store: Store) -> None:
    store.environments.ensure("dev", secret_key="same")
    with pytest.raises(ConflictError):
        store.environments.ensure("prod", secret_key="same")


def test_the_signing_key_is_the_secret_key(store: Store) -> None:
    env = store.environments.ensure("dev", secret_key="sign-me").environment
    assert store.environments.signing_key(env.id) == "sign-me"
    assert store.environments.signing_key(env.id + 100) is None


def test_environments_are_listed_and_read(store: Store) -> None:
    dev = store.environments.ensure("dev").environment
    prod = store.environments.ensure("prod").environment
    assert [e.name for e in store.environments.list_all()] == ["dev", "prod"]
    assert store.environments.get("prod") == prod
    assert store.environments.get_by_id(dev.id) == dev
    assert store.environments.get("staging") is None


def test_webhook_settings(store: Store) -> None:
    store.environments.ensure("dev")
    changed = store.environments.set_webhooks(
        "dev",
        urls=["https://a.example/hook", "https://b.example"],
        settings={"on_sync_completion_always": True},
    )
    assert changed.webhook_urls == ["https://a.example/hook", "https://b.example"]
    assert store.environments.get("dev").webhook_settings == {"on_sync_completion_always": True}  # type: ignore[union-attr]
    assert store.environments.set_webhooks("dev", urls=[]).webhook_settings == {
        "on_sync_completion_always": True
    }
    with pytest.raises(NotFoundError):
        store.environments.set_webhooks("nope", urls=[])


@pytest.mark.parametrize("name", ["", "a\x00b"])
def test_names_that_cannot_be_stored_are_refused(store: Store, name: str) -> None:
    with pytest.raises(InvalidValueError):
        store.environments.ensure(name)


def test_environment_variables_round_trip_encrypted(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    store.variables.set(env.id, "API_TOKEN", "s3cr3t-value")
    store.variables.set(env.id, "REGION", "eu")
    store.variables.set(env.id, "API_TOKEN", "rotated")
    listed = [(v.name, v.value) for v in store.variables.list_all(env.id)]
    assert listed == [("API_TOKEN", "rotated"), ("REGION", "eu")]
    assert "rotated" not in repr(store.variables.list_all(env.id))


def test_environment_variables_belong_to_their_environment(store: Store) -> None:
    dev = store.environments.ensure("dev").environment
    prod = store.environments.ensure("prod").environment
    store.variables.set(dev.id, "X", "dev")
    store.variables.set(prod.id, "X", "prod")
    assert [v.value for v in store.variables.list_all(dev.id)] == ["dev"]
    assert store.variables.delete(dev.id, "X")
    assert not store.variables.delete(dev.id, "X")
    assert [v.value for v in store.variables.list_all(prod.id)] == ["prod"]


def test_replace_all_makes_the_variables_exactly_these(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    store.variables.replace_all(env.id, {"A": "1", "B": "2"})
    store.variables.replace_all(env.id, {"B": "two", "C": "3"})
    assert {v.name: v.value for v in store.variables.list_all(env.id)} == {"B": "two", "C": "3"}
    store.variables.replace_all(env.id, {})
    assert store.variables.list_all(env.id) == []


def test_variables_need_an_existing_environment_and_string_values(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    with pytest.raises(NotFoundError):
        store.variables.set(env.id + 10, "A", "1")
    with pytest.raises(InvalidValueError):
        store.variables.set(env.id, "A", 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        store.variables.replace_all(env.id, {"": "x"})
    assert store.variables.list_all(env.id) == []
