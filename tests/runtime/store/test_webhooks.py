"""The outbox of outgoing webhooks, integration webhook secrets and async action retries, on
both backends."""

from __future__ import annotations

from runtime.store import Store
from runtime.store.tasks import NewTask, Timeouts
from tests.runtime.store.conftest import World

SECOND = 1_000_000


def test_a_delivery_goes_pending_sending_delivered(world: World) -> None:
    store = world.store
    ids = store.webhooks.enqueue(world.environment_id, "sync", ["http://a", "http://b"], "{}")
    assert len(ids) == 2
    claimed = store.webhooks.claim(limit=10, lease_seconds=30)
    assert [d.id for d in claimed] == ids and {d.state for d in claimed} == {"SENDING"}
    assert store.webhooks.claim(limit=10, lease_seconds=30) == []  # leased
    store.webhooks.record_attempt(ids[0], status=200, error=None, retry_at=None)
    delivered = store.webhooks.get(ids[0])
    assert delivered is not None and delivered.state == "DELIVERED" and delivered.attempts == 1
    assert delivered.delivered_at is not None and delivered.last_status == 200


def test_a_failed_attempt_is_retried_then_given_up(world: World) -> None:
    store = world.store
    (delivery_id,) = store.webhooks.enqueue(world.environment_id, "auth", ["http://a"], "{}")
    store.webhooks.claim(limit=1, lease_seconds=30)
    later = store.webhooks.get(delivery_id)
    assert later is not None and later.next_attempt_at is not None
    store.webhooks.record_attempt(delivery_id, status=503, error="503", retry_at=1)
    retried = store.webhooks.get(delivery_id)
    assert retried is not None and retried.state == "PENDING" and retried.last_error == "503"
    (again,) = store.webhooks.claim(limit=1, lease_seconds=30)
    assert again.id == delivery_id and again.attempts == 1
    store.webhooks.record_attempt(delivery_id, status=None, error="refused", retry_at=None)
    failed = store.webhooks.get(delivery_id)
    assert failed is not None and failed.state == "FAILED" and failed.attempts == 2


def test_a_sender_that_died_leaves_its_deliveries_to_another_after_the_lease(
    world: World,
) -> None:
    store = world.store
    (delivery_id,) = store.webhooks.enqueue(world.environment_id, "sync", ["http://a"], "{}")
    (first,) = store.webhooks.claim(limit=1, lease_seconds=5)
    assert first.next_attempt_at is not None
    assert store.webhooks.claim(limit=1, lease_seconds=5) == []
    past_lease = int(first.next_attempt_at.timestamp() * SECOND) + SECOND
    (taken,) = store.webhooks.claim(limit=1, lease_seconds=5, now=past_lease)
    assert taken.id == delivery_id


def test_waiting_deliveries_are_released_when_their_task_ends(world: World) -> None:
    store = world.store
    task = store.tasks.create(
        NewTask(world.environment_id, "action", "a", {}, Timeouts(1000, 1000))
    )
    assert task is not None
    ids = store.webhooks.enqueue(
        world.environment_id, "async_action", ["http://a"], "{}", task_id=task.id, waiting=True
    )
    assert store.webhooks.claim(limit=5, lease_seconds=5) == []
    assert store.webhooks.waiting_on_ended_tasks() == []
    (claimed,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert claimed.lease_token is not None
    store.tasks.finish(task.id, claimed.lease_token, "SUCCEEDED", output={"ok": True})
    ((waiting, state),) = store.webhooks.waiting_on_ended_tasks()
    assert waiting.id == ids[0] and state == "SUCCEEDED"
    assert store.webhooks.release(ids) == 1
    assert [d.id for d in store.webhooks.claim(limit=5, lease_seconds=5)] == ids


def test_the_delivery_log_lists_newest_first_by_state_and_kind(world: World) -> None:
    store = world.store
    env = world.environment_id
    first = store.webhooks.enqueue(env, "sync", ["http://a"], '{"n":1}')[0]
    second = store.webhooks.enqueue(env, "auth", ["http://a"], '{"n":2}')[0]
    assert [d.id for d in store.webhooks.list_recent(env)] == [second, first]
    assert [d.id for d in store.webhooks.list_recent(env, kinds=["sync"])] == [first]
    assert store.webhooks.list_recent(env, states=["DELIVERED"]) == []
    other = store.environments.ensure("prod").environment.id
    assert store.webhooks.list_recent(other) == []


def test_integration_webhook_secrets_are_encrypted_and_replaceable(store: Store) -> None:
    environment = store.environments.ensure("dev").environment
    integration = store.integrations.create(environment.id, "github", "github")
    assert store.integration_secrets.get(integration.id) is None
    store.integration_secrets.set(integration.id, "s3cret")
    assert store.integration_secrets.get(integration.id) == "s3cret"
    store.integration_secrets.set(integration.id, "other")
    assert store.integration_secrets.get(integration.id) == "other"
    store.integration_secrets.set(integration.id, None)
    assert store.integration_secrets.get(integration.id) is None


def _failed_async_run(world: World, max_retries: int) -> str:
    store = world.store
    new = NewTask(
        world.environment_id,
        "action",
        "a",
        {"async": True},
        Timeouts(10**9, 10**9),
        max_retries=max_retries,
    )
    task = store.tasks.create(new)
    assert task is not None
    (claimed,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert claimed.lease_token is not None
    store.tasks.finish(task.id, claimed.lease_token, "FAILED", error={"type": "x"})
    return task.id


def test_a_failed_async_action_with_retries_left_is_requeued_under_its_id(world: World) -> None:
    store = world.store
    task_id = _failed_async_run(world, max_retries=1)
    assert store.retries.will_retry(task_id)
    assert store.retries.requeue_failed(backoff_s=0) == [task_id]
    again = store.tasks.get(task_id)
    assert again is not None and again.state == "CREATED" and again.lease_token is None
    (claimed,) = store.tasks.claim("w", limit=1, lease_seconds=30)
    assert claimed.id == task_id and claimed.attempt == 2
    assert claimed.lease_token is not None
    store.tasks.finish(task_id, claimed.lease_token, "FAILED", error={"type": "x"})
    assert not store.retries.will_retry(task_id)  # 1 retry made: no more
    assert store.retries.requeue_failed(backoff_s=0) == []


def test_a_requeued_run_waits_for_its_backoff(world: World) -> None:
    store = world.store
    task_id = _failed_async_run(world, max_retries=3)
    store.retries.requeue_failed(backoff_s=3600)
    assert store.tasks.claim("w", limit=1, lease_seconds=30) == []
    assert store.tasks.get(task_id).state == "CREATED"  # type: ignore[union-attr]


def test_runs_without_retries_are_never_requeued(world: World) -> None:
    task_id = _failed_async_run(world, max_retries=0)
    assert not world.store.retries.will_retry(task_id)
    assert world.store.retries.requeue_failed(backoff_s=0) == []


def test_a_waiting_delivery_whose_task_is_gone_is_released(world: World) -> None:
    store = world.store
    task = store.tasks.create(
        NewTask(world.environment_id, "action", "a", {}, Timeouts(1000, 1000))
    )
    assert task is not None
    store.webhooks.enqueue(
        world.environment_id, "async_action", ["http://a"], "{}", task_id=task.id, waiting=True
    )
    assert store.webhooks.waiting_on_ended_tasks() == []
    store.webhooks.enqueue(
        world.environment_id, "async_action", ["http://a"], "{}", task_id="gone", waiting=True
    )
    ((delivery, state),) = store.webhooks.waiting_on_ended_tasks()
    assert delivery.task_id == "gone" and state == "DELETED"
