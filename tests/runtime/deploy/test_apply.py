"""Deploys applied to a store: plans, versions, schedules, deletions, atomicity, serialisation."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from runtime.deploy.apply import apply_deploy, plan_deploy
from runtime.deploy.errors import DeployError
from runtime.deploy.plan import bump
from runtime.store import Store, open_store
from runtime.store.syncs import Syncs
from runtime.store.tasks import Timeouts
from tests.runtime.deploy.conftest import Payload, action_flow, sync_flow
from tests.runtime.store.conftest import TEST_KEY, World

TIMEOUTS = Timeouts(3_600_000, 86_400_000)


def versions(store: Store, environment_id: int) -> dict[str, str]:
    return {s.name: s.version for s in store.scripts.list_active(environment_id)}


@pytest.mark.parametrize(
    ("old", "new"),
    [("1", "2"), ("9", "10"), ("1.2.3", "1.2.4"), ("1.0", "1.1"), ("beta", "beta.1")],
)
def test_bump(old: str, new: str) -> None:
    assert bump(old) == new


def test_first_deploy_creates_versions_schedules_and_results(
    world: World, payload: Payload
) -> None:
    store = world.store
    world.add_connection("beta")
    request = payload(
        sync_flow("issues"), sync_flow("labels", auto_start=False), action_flow("create-issue")
    )
    plan = plan_deploy(store, world.environment_id, request)
    assert [c.name for c in plan.differences.newSyncs] == ["issues", "labels"]
    assert [c.connections for c in plan.differences.newSyncs] == [2, 0]  # auto_start only
    assert [c.name for c in plan.differences.newActions] == ["create-issue"]
    assert not plan.is_destructive
    outcome = apply_deploy(store, world.environment_id, request)
    assert [(r.name, r.version, r.type, r.unchanged) for r in outcome.results] == [
        ("issues", "1", "sync", False),
        ("labels", "1", "sync", False),
        ("create-issue", "1", "action", False),
    ]
    issues = store.syncs.get(world.connection_id, "issues")
    labels = store.syncs.get(world.connection_id, "labels")
    assert issues is not None and issues.state == "STARTED" and issues.frequency_ms == 3_600_000
    assert labels is not None and labels.state == "PAUSED"
    due = store.tasks.create_due_sync_tasks(TIMEOUTS)
    assert sorted(task.payload["connection_id"] for task in due) == ["acme", "beta"]


def test_an_unchanged_deploy_changes_nothing(world: World, payload: Payload) -> None:
    store = world.store
    request = payload(sync_flow("issues"), action_flow("create-issue"))
    apply_deploy(store, world.environment_id, request)
    before = store.scripts.list_active(world.environment_id)
    plan = plan_deploy(store, world.environment_id, request)
    assert plan.differences.newSyncs == plan.differences.updatedSyncs == []
    assert plan.differences.updatedActions == []
    outcome = apply_deploy(store, world.environment_id, request)
    assert all(result.unchanged for result in outcome.results)
    assert store.scripts.list_active(world.environment_id) == before


def test_changed_code_bumps_and_an_explicit_version_wins(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(store, world.environment_id, payload(sync_flow("issues"), action_flow("a")))
    changed = payload(sync_flow("issues", source="async def fetch_data(nango):\n    return\n"))
    plan = plan_deploy(
        store, world.environment_id, changed.model_copy(update={"deployMode": "single"})
    )
    assert [c.name for c in plan.differences.updatedSyncs] == ["issues"]
    apply_deploy(store, world.environment_id, changed.model_copy(update={"deployMode": "single"}))
    assert versions(store, world.environment_id) == {"issues": "2", "a": "1"}
    explicit = payload(sync_flow("issues", version="3.0.0"), deployMode="single")
    apply_deploy(store, world.environment_id, explicit)
    assert versions(store, world.environment_id)["issues"] == "3.0.0"
    again = payload(sync_flow("issues", source="async def fetch_data(nango):\n    pass\n"))
    apply_deploy(store, world.environment_id, again.model_copy(update={"deployMode": "single"}))
    assert versions(store, world.environment_id)["issues"] == "3.0.1"


def test_a_changed_module_bumps_only_the_scripts_importing_it(
    world: World, payload: Payload
) -> None:
    store = world.store
    first = payload(
        sync_flow("issues", files=["helpers.py"]),
        sync_flow("labels"),
        modules={"helpers.py": "X = 1\n"},
    )
    apply_deploy(store, world.environment_id, first)
    second = payload(
        sync_flow("issues", files=["helpers.py"]),
        sync_flow("labels"),
        modules={"helpers.py": "X = 2\n"},
    )
    outcome = apply_deploy(store, world.environment_id, second)
    assert {r.name: (r.version, r.unchanged) for r in outcome.results} == {
        "issues": ("2", False),
        "labels": ("1", True),
    }
    (issues,) = [s for s in store.scripts.list_active(world.environment_id) if s.name == "issues"]
    assert store.sources.get(issues.files["helpers.py"]) == "X = 2\n"


def test_models_change_bumps_every_script(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(store, world.environment_id, payload(sync_flow("issues"), models="A = 1\n"))
    apply_deploy(store, world.environment_id, payload(sync_flow("issues"), models="A = 2\n"))
    assert versions(store, world.environment_id) == {"issues": "2"}


def test_removing_a_sync_with_connections_is_destructive(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(store, world.environment_id, payload(sync_flow("issues"), action_flow("a")))
    store.records.save(world.connection_id, "Issue", [{"id": 1}, {"id": 2}])
    store.checkpoints.save(world.connection_id, "sync:issues", {"page": 3})
    (run,) = store.tasks.create_due_sync_tasks(TIMEOUTS)
    removal = payload(action_flow("a"))
    plan = plan_deploy(store, world.environment_id, removal)
    assert [(c.name, c.connections) for c in plan.differences.deletedSyncs] == [("issues", 1)]
    assert plan.is_destructive
    with pytest.raises(DeployError) as refused:
        apply_deploy(store, world.environment_id, removal)
    assert refused.value.code == "destructive_deploy_not_confirmed"
    assert store.syncs.get(world.connection_id, "issues") is not None
    apply_deploy(store, world.environment_id, removal.model_copy(update={"allowDestructive": True}))
    assert store.syncs.get(world.connection_id, "issues") is None
    assert store.records.count_live(world.connection_id) == {}
    assert store.checkpoints.get(world.connection_id, "sync:issues").value is None
    cancelled = store.tasks.get(run.id)
    assert cancelled is not None and cancelled.state == "CANCELLED"
    assert versions(store, world.environment_id) == {"a": "1"}


def test_removing_a_sync_without_connections_is_not_destructive(
    store: Store, payload: Payload
) -> None:
    environment = store.environments.ensure("dev").environment
    apply_deploy(store, environment.id, payload(sync_flow("issues"), action_flow("a")))
    plan = plan_deploy(store, environment.id, payload(action_flow("a")))
    assert [c.name for c in plan.differences.deletedSyncs] == ["issues"]
    assert not plan.is_destructive
    apply_deploy(store, environment.id, payload(action_flow("a")))
    assert versions(store, environment.id) == {"a": "1"}


def test_single_and_integration_modes_limit_deletions(world: World, payload: Payload) -> None:
    store = world.store
    store.integrations.create(world.environment_id, "hubspot", "hubspot")
    other = action_flow("contacts", providerConfigKey="hubspot")
    apply_deploy(store, world.environment_id, payload(sync_flow("issues"), action_flow("a"), other))
    single = plan_deploy(
        store, world.environment_id, payload(action_flow("a"), deployMode="single")
    )
    assert single.deleted == []
    scoped = payload(action_flow("a"), deployMode="integration", integration="github")
    plan = plan_deploy(store, world.environment_id, scoped)
    assert [(s.integration_key, s.name) for s in plan.deleted] == [("github", "issues")]
    everything = plan_deploy(store, world.environment_id, payload(action_flow("a")))
    assert sorted(s.name for s in everything.deleted) == ["contacts", "issues"]


def test_a_removed_model_is_destructive_and_its_records_go(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(
        store, world.environment_id, payload(sync_flow("issues", models=["Issue", "Label"]))
    )
    store.records.save(world.connection_id, "Issue", [{"id": 1}])
    store.records.save(world.connection_id, "Label", [{"id": 1}])
    narrower = payload(sync_flow("issues", models=["Issue"]))
    plan = plan_deploy(store, world.environment_id, narrower)
    assert plan.differences.deletedModels == ["Label"] and plan.is_destructive
    apply_deploy(
        store, world.environment_id, narrower.model_copy(update={"allowDestructive": True})
    )
    assert store.records.count_live(world.connection_id) == {"Issue": 1}


def test_records_of_a_model_another_sync_outputs_stay(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(
        store, world.environment_id, payload(sync_flow("issues"), sync_flow("open-issues"))
    )
    store.records.save(world.connection_id, "Issue", [{"id": 1}])
    request = payload(sync_flow("open-issues"), allowDestructive=True)
    apply_deploy(store, world.environment_id, request)
    assert store.records.count_live(world.connection_id) == {"Issue": 1}


def test_changed_runs_reschedule(world: World, payload: Payload) -> None:
    store = world.store
    apply_deploy(store, world.environment_id, payload(sync_flow("issues")))
    apply_deploy(store, world.environment_id, payload(sync_flow("issues", runs="every 5 minutes")))
    schedule = store.syncs.get(world.connection_id, "issues")
    assert schedule is not None and schedule.frequency_ms == 300_000
    assert versions(store, world.environment_id) == {"issues": "1"}  # code unchanged


def test_integrations_come_from_the_catalog_or_must_exist(store: Store, payload: Payload) -> None:
    environment = store.environments.ensure("dev").environment
    plan = plan_deploy(store, environment.id, payload(sync_flow("issues")))
    assert plan.differences.newIntegrations == ["github"]
    apply_deploy(store, environment.id, payload(sync_flow("issues")))
    integration = store.integrations.get(environment.id, "github")
    assert integration is not None and integration.provider == "github"
    with pytest.raises(DeployError) as unknown:
        apply_deploy(store, environment.id, payload(sync_flow("x", providerConfigKey="my-crm")))
    assert unknown.value.code == "unknown_provider_config"
    assert "nango integration create my-crm" in unknown.value.message


def test_a_failure_mid_apply_changes_nothing(
    world: World, payload: Payload, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = world.store
    apply_deploy(store, world.environment_id, payload(sync_flow("issues")))
    before = store.scripts.list_active(world.environment_id)

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Syncs, "ensure_for_integration", broken)
    request = payload(
        sync_flow("issues", source="async def fetch_data(nango):\n    return\n"),
        sync_flow("labels"),
        models="# new models\n",
    )
    with pytest.raises(RuntimeError, match="disk full"):
        apply_deploy(store, world.environment_id, request)
    assert store.scripts.list_active(world.environment_id) == before
    assert store.syncs.get(world.connection_id, "labels") is None
    from runtime.store.sources import source_hash

    with pytest.raises(Exception, match="No source"):
        store.sources.get(source_hash("# new models\n"))


def test_deploys_to_one_environment_are_serialised(
    world: World, payload: Payload, store_url: str
) -> None:
    stores = [open_store(store_url, encryption_key=TEST_KEY) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def deploy(index: int) -> None:
        source = f"async def fetch_data(nango):\n    pass  # {index}\n"
        request = payload(sync_flow("issues", source=source), deployMode="single")
        barrier.wait()
        try:
            apply_deploy(stores[index], world.environment_id, request)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deploy, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    assert errors == []
    assert versions(world.store, world.environment_id) == {"issues": "4"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"runs": "every 2 weeks"}, "not a valid frequency"),
        ({"syncName": "bad name"}, "String should match pattern"),
        ({"sync_type": "incremental", "track_deletes": True}, "Track deletes is not supported"),
        ({"fileBody": {"py": "", "path": "../escape.py"}}, "relative path"),
        ({"files": ["nowhere.py"]}, "not among the project modules"),
    ],
)
def test_payloads_are_validated_strictly(
    payload: Payload, change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        payload(sync_flow("issues", **change))


def test_a_script_listed_twice_is_refused(payload: Payload) -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        payload(sync_flow("issues"), sync_flow("issues"))
