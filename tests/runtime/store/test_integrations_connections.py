"""Integrations and connections: keys, secrets, metadata, refresh state, filters, cascades."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from runtime.store import ConnectionFilter, Store
from runtime.store.errors import ConflictError, InvalidValueError, NotFoundError
from tests.runtime.store.conftest import World

EXPIRY = datetime(2030, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)


def test_integrations_are_created_listed_and_read(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    created = store.integrations.create(
        env.id,
        "github-prod",
        "github",
        display_name="GitHub",
        oauth_client_id="client",
        oauth_client_secret="very-secret",
        oauth_scopes=["repo", "user"],
        base_url_override="https://ghe.example.com/api/v3",
        forward_webhooks=False,
        custom={"app": "x"},
        config={"webhook_secret_required": True},
    )
    assert created.oauth_client_secret == "very-secret"
    assert "very-secret" not in repr(created)
    again = store.integrations.get(env.id, "github-prod")
    assert again == created
    assert again.oauth_scopes == ["repo", "user"] and not again.forward_webhooks  # type: ignore[union-attr]
    store.integrations.create(env.id, "slack", "slack")
    assert [i.unique_key for i in store.integrations.list_all(env.id)] == ["github-prod", "slack"]
    assert store.integrations.get_by_id(created.id) == created
    assert store.integrations.get(env.id, "nope") is None


def test_integration_defaults(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    created = store.integrations.create(env.id, "hubspot", "hubspot")
    assert created.oauth_client_secret is None and created.oauth_scopes == []
    assert created.forward_webhooks and created.custom is None and created.display_name is None


def test_unique_keys_are_unique_per_environment(store: Store) -> None:
    dev = store.environments.ensure("dev").environment
    prod = store.environments.ensure("prod").environment
    store.integrations.create(dev.id, "github", "github")
    with pytest.raises(ConflictError, match="Unique key already exists"):
        store.integrations.create(dev.id, "github", "gitlab")
    store.integrations.create(prod.id, "github", "github")
    assert store.integrations.get(prod.id, "github") is not None


def test_update_changes_only_the_given_fields(store: Store) -> None:
    env = store.environments.ensure("dev").environment
    store.integrations.create(env.id, "gh", "github", oauth_client_id="a", oauth_client_secret="s")
    changed = store.integrations.update(
        env.id, "gh", oauth_client_secret="s2", display_name=None, oauth_scopes=["x"]
    )
    assert (changed.oauth_client_id, changed.oauth_client_secret, changed.oauth_scopes) == (
        "a",
        "s2",
        ["x"],
    )
    cleared = store.integrations.update(
        env.id, "gh", oauth_client_secret=None, base_url_override="http://127.0.0.1:9"
    )
    assert cleared.oauth_client_secret is None and cleared.base_url_override == "http://127.0.0.1:9"
    with pytest.raises(NotFoundError, match='Integration "nope" does not exist'):
        store.integrations.update(env.id, "nope", display_name="x")


def test_deleting_an_integration_deletes_its_connections_records_checkpoints(world: World) -> None:
    store = world.store
    store.records.save(world.connection_id, "Issue", [{"id": 1}])
    store.checkpoints.save(world.connection_id, "sync:issues", {"page": 2})
    assert store.integrations.delete(world.environment_id, "github")
    assert not store.integrations.delete(world.environment_id, "github")
    assert store.connections.get_by_id(world.connection_id) is None
    assert store.records.count_live(world.connection_id) == {}
    assert store.checkpoints.get(world.connection_id, "sync:issues").value is None


def test_connections_upsert_create_then_recredential(world: World) -> None:
    store = world.store
    created, is_new = store.connections.upsert(
        world.environment_id,
        "github",
        "user-42",
        credentials={"type": "OAUTH2", "access_token": "tok-1", "refresh_token": "ref-1"},
        credentials_expires_at=EXPIRY,
        connection_config={"subdomain": "acme"},
        metadata={"plan": "pro"},
        tags={"team": "a"},
        end_user={"id": "u1", "email": "u@example.com", "organization": {"id": "o1"}},
    )
    assert is_new and created.provider == "github" and created.provider_config_key == "github"
    assert created.credentials == {
        "type": "OAUTH2",
        "access_token": "tok-1",
        "refresh_token": "ref-1",
    }
    assert "tok-1" not in repr(created)
    assert created.credentials_expires_at == EXPIRY
    store.connections.record_refresh_failure(created.id, "invalid_grant", next_retry_at=EXPIRY)
    again, is_new = store.connections.upsert(
        world.environment_id,
        "github",
        "user-42",
        credentials={"type": "OAUTH2", "access_token": "tok-2"},
    )
    assert not is_new and again.id == created.id
    assert again.credentials == {"type": "OAUTH2", "access_token": "tok-2"}
    assert again.credentials_expires_at is None
    assert again.metadata == {"plan": "pro"} and again.tags == {"team": "a"}
    assert again.connection_config == {"subdomain": "acme"}
    assert again.refresh_error is None and again.refresh_attempts == 0
    assert again.created_at == created.created_at


def test_connection_ids_are_numbers_and_unique_per_integration(world: World) -> None:
    store = world.store
    store.integrations.create(world.environment_id, "gitlab", "gitlab")
    first = store.connections.get(world.environment_id, "github", "acme")
    other, _ = store.connections.upsert(world.environment_id, "gitlab", "acme", credentials={})
    assert isinstance(first.id, int) and other.id != first.id  # type: ignore[union-attr]
    assert store.connections.get(world.environment_id, "gitlab", "acme").provider == "gitlab"  # type: ignore[union-attr]


def test_connections_need_an_existing_integration(world: World) -> None:
    with pytest.raises(NotFoundError, match='Integration "nope" does not exist'):
        world.store.connections.upsert(world.environment_id, "nope", "x", credentials={})
    with pytest.raises(InvalidValueError):
        world.store.connections.upsert(
            world.environment_id, "github", "x", credentials=["not", "an", "object"]
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        world.store.connections.upsert(world.environment_id, "github", "x\x00", credentials={})


def test_refresh_bookkeeping(world: World) -> None:
    store = world.store
    for attempt in (1, 2):
        store.connections.record_refresh_failure(
            world.connection_id, f"failed {attempt}", next_retry_at=EXPIRY
        )
    failed = store.connections.get_by_id(world.connection_id)
    assert (failed.refresh_error, failed.refresh_attempts, failed.refresh_next_at) == (
        "failed 2",
        2,
        EXPIRY,
    )  # type: ignore[union-attr]
    store.connections.save_credentials(
        world.connection_id, {"type": "OAUTH2", "access_token": "new"}, expires_at=EXPIRY
    )
    fixed = store.connections.get_by_id(world.connection_id)
    assert fixed.credentials == {"type": "OAUTH2", "access_token": "new"}  # type: ignore[union-attr]
    assert (fixed.refresh_error, fixed.refresh_attempts, fixed.refresh_next_at) == (None, 0, None)  # type: ignore[union-attr]
    store.connections.mark_fetched(world.connection_id, at=EXPIRY)
    assert store.connections.get_by_id(world.connection_id).last_fetched_at == EXPIRY  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        store.connections.mark_fetched(world.connection_id + 100)


def test_set_metadata_replaces_for_many_connections(world: World) -> None:
    store = world.store
    world.add_connection("beta")
    store.connections.set_metadata(
        world.environment_id, "github", ["acme"], {"a": 1, "b": {"c": 2}}
    )
    store.connections.set_metadata(world.environment_id, "github", ["acme", "beta"], {"z": True})
    for name in ("acme", "beta"):
        assert store.connections.get(world.environment_id, "github", name).metadata == {"z": True}  # type: ignore[union-attr]


def test_update_metadata_merges_top_level_keys(world: World) -> None:
    store = world.store
    world.add_connection("beta")
    store.connections.set_metadata(
        world.environment_id, "github", ["acme"], {"a": 1, "nested": {"x": 1}}
    )
    store.connections.update_metadata(
        world.environment_id, "github", ["acme", "beta"], {"nested": {"y": 2}, "b": 2}
    )
    acme = store.connections.get(world.environment_id, "github", "acme")
    beta = store.connections.get(world.environment_id, "github", "beta")
    assert acme.metadata == {"a": 1, "nested": {"y": 2}, "b": 2}  # type: ignore[union-attr]
    assert beta.metadata == {"nested": {"y": 2}, "b": 2}  # type: ignore[union-attr]


def test_metadata_for_an_unknown_connection_changes_none(world: World) -> None:
    store = world.store
    store.connections.set_metadata(world.environment_id, "github", ["acme"], {"keep": 1})
    with pytest.raises(
        NotFoundError, match="connection id ghost and provider config key github not found"
    ):
        store.connections.set_metadata(
            world.environment_id, "github", ["acme", "ghost"], {"lost": 1}
        )
    with pytest.raises(NotFoundError):
        store.connections.update_metadata(
            world.environment_id, "github", ["acme", "ghost"], {"lost": 1}
        )
    assert store.connections.get(world.environment_id, "github", "acme").metadata == {"keep": 1}  # type: ignore[union-attr]
    with pytest.raises(InvalidValueError):
        store.connections.set_metadata(world.environment_id, "github", ["acme"], [1, 2])  # type: ignore[arg-type]


def test_list_filters_and_pages(world: World) -> None:
    store, env = world.store, world.environment_id
    store.integrations.create(env, "slack", "slack")
    store.connections.upsert(
        env,
        "slack",
        "Team_One",
        credentials={},
        tags={"tier": "gold"},
        end_user={"id": "u1", "organization": {"id": "o1"}},
    )
    store.connections.upsert(
        env, "github", "team-two", credentials={}, tags={"tier": "gold", "x": "y"}
    )
    store.connections.upsert(env, "github", "100%_real", credentials={}, end_user={"id": "u2"})

    def names(where: ConnectionFilter | None = None, **options: int) -> list[str]:
        return [c.connection_id for c in store.connections.list_all(env, where, **options)]

    assert names() == ["acme", "Team_One", "team-two", "100%_real"]
    assert all(c.credentials is None for c in store.connections.list_all(env))
    assert names(ConnectionFilter(integration_keys=["slack"])) == ["Team_One"]
    assert names(ConnectionFilter(search="TEAM")) == ["Team_One", "team-two"]
    assert names(ConnectionFilter(search="_")) == ["Team_One", "100%_real"]
    assert names(ConnectionFilter(search="%")) == ["100%_real"]
    assert names(ConnectionFilter(connection_id="acme")) == ["acme"]
    assert names(ConnectionFilter(end_user_id="u2")) == ["100%_real"]
    assert names(ConnectionFilter(end_user_organization_id="o1")) == ["Team_One"]
    assert names(ConnectionFilter(tags={"tier": "gold"})) == ["Team_One", "team-two"]
    assert names(ConnectionFilter(tags={"tier": "gold"}), limit=1, offset=1) == ["team-two"]
    assert names(limit=2, offset=1) == ["Team_One", "team-two"]


def test_connections_are_private_to_their_environment(world: World) -> None:
    store = world.store
    prod = store.environments.ensure("prod").environment
    store.integrations.create(prod.id, "github", "github")
    assert store.connections.get(prod.id, "github", "acme") is None
    assert store.connections.list_all(prod.id) == []
    assert not store.connections.delete(prod.id, "github", "acme")
    with pytest.raises(NotFoundError):
        store.connections.set_metadata(prod.id, "github", ["acme"], {})
