"""Sources (content-addressed) and deployed script versions, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from runtime.store import Store
from runtime.store.errors import InvalidValueError, NotFoundError
from runtime.store.schema import sources
from runtime.store.scripts import NewScript
from runtime.store.sources import source_hash
from tests.runtime.store.conftest import World


def test_sources_are_kept_once_by_hash_and_read_back(store: Store) -> None:
    text = "async def fetch_data(nango):\n    pass  # é ✓\n"
    first, again, other = store.sources.put_many([text, text, "x = 1\n"])
    assert first == again == source_hash(text)
    assert store.sources.put(text) == first
    assert store.sources.get(first) == text
    assert store.sources.get_many([first, other]) == {first: text, other: "x = 1\n"}
    with store.database.read() as connection:
        rows = connection.execute(select(sources.c.hash, sources.c.size)).all()
    assert sorted(rows) == sorted([(first, len(text.encode())), (other, 6)])


def test_sources_are_compressed(store: Store) -> None:
    text = "print('hello')\n" * 10_000
    digest = store.sources.put(text)
    with store.database.read() as connection:
        stored = connection.execute(
            select(sources.c.content).where(sources.c.hash == digest)
        ).scalar_one()
    assert len(stored) < len(text) / 20


def test_unknown_and_oversized_sources(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.sources.get("0" * 64)
    with pytest.raises(InvalidValueError, match="larger than"):
        store.sources.put("x" * (11 * 1024 * 1024))


def _new(world: World, name: str, version: str, content: str = "c1") -> NewScript:
    integration = world.store.integrations.get(world.environment_id, "github")
    assert integration is not None
    source = world.store.sources.put(f"# {name} {content}\n")
    models = world.store.sources.put("# models\n")
    return NewScript(
        integration_id=integration.id,
        name=name,
        type="sync",
        version=version,
        config={"runs": "every hour", "output": ["Issue"]},
        source_hash=source,
        models_hash=models,
        files={"helpers.py": models},
        content_hash=content,
    )


def test_activate_keeps_history_and_one_active_version(world: World) -> None:
    store = world.store
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    first = store.scripts.activate(world.environment_id, deployment, _new(world, "issues", "1"))
    assert first.active and first.version == "1" and first.integration_key == "github"
    assert first.files == {"helpers.py": first.models_hash}
    second = store.scripts.activate(
        world.environment_id, deployment, _new(world, "issues", "2", "c2")
    )
    active = store.scripts.active(world.environment_id, "github", "sync", "issues")
    assert active == second
    old = store.scripts.get(first.id)
    assert old is not None and not old.active
    assert [s.name for s in store.scripts.list_active(world.environment_id)] == ["issues"]
    assert store.scripts.active(world.environment_id, "github", "action", "issues") is None


def test_remove_leaves_no_active_version_but_keeps_the_latest(world: World) -> None:
    store = world.store
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    script = store.scripts.activate(world.environment_id, deployment, _new(world, "issues", "3"))
    assert store.scripts.remove(script.integration_id, "sync", "issues")
    assert not store.scripts.remove(script.integration_id, "sync", "issues")
    assert store.scripts.active(world.environment_id, "github", "sync", "issues") is None
    latest = store.scripts.latest(script.integration_id, "sync", "issues")
    assert latest is not None and latest.version == "3" and latest.deleted_at is not None


def test_scripts_are_per_environment(world: World) -> None:
    store = world.store
    other = store.environments.ensure("prod").environment
    store.integrations.create(other.id, "github", "github")
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    store.scripts.activate(world.environment_id, deployment, _new(world, "issues", "1"))
    assert store.scripts.list_active(other.id) == []
    assert store.scripts.active(other.id, "github", "sync", "issues") is None
