"""The run process's side of the server's store (`runtime.worker.zygote_server`): the server
opens the store once, compiles a run's statements and closes its connections before any fork;
a run on that store opens connections of its own, and every write it makes is still fenced by
its lease token."""

from __future__ import annotations

import base64
import json
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from runtime.scheduler.control import SyncTarget, trigger_syncs
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.errors import LeaseLostError
from runtime.store.tasks import Task
from runtime.store.timestamps import now_us
from runtime.worker import Worker, runner
from runtime.worker.execute import RunPlan, RunReport, finish_planned, plan_run
from runtime.worker.zygote_server import _preload
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime.worker.conftest import Deployed

CONFIG = """\
integrations:
  github:
    syncs:
      empty:
        runs: every hour
        output: Thing
        auto_start: false
        endpoint: GET /things
models:
  Thing:
    id: string
"""
EMPTY = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.log("nothing to fetch")
"""
HANGING = """\
import asyncio

from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await asyncio.sleep(120)
"""
FILES = {"nango.yaml": CONFIG, "github/syncs/empty.py": EMPTY}


@pytest.fixture
def warm(store_url: str) -> tuple[str, Store]:
    made = _preload({"database": store_url, "encryption_key": TEST_KEY})
    assert made is not None
    return made


@pytest.fixture
def deployed(
    deploy_project: Callable[..., Deployed], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> Deployed:
    monkeypatch.setattr(runner, "limit_memory", lambda _megabytes: None)  # not on pytest
    deployed = deploy_project(FILES)
    deployed.settings = deployed.settings.model_copy(update={"database_url": store_url})
    return deployed


def claimed_sync(deployed: Deployed) -> Task:
    world = deployed.world
    connection = world.store.connections.get_by_id(world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(world.store, deployed.settings, [connection], [SyncTarget("empty")])
    return deployed.claim()


def config_of(deployed: Deployed, plan: RunPlan, report: Path) -> dict[str, Any]:
    """What the worker hands a run process: the run's plan, and where to write its report."""
    return {
        "plan": base64.b64encode(pickle.dumps(plan)).decode(),
        "report": str(report),
        "memory_mb": 4096,
        "encryption_key": TEST_KEY,
        "settings": deployed.settings.model_dump(mode="json"),
    }


def run_in_child(deployed: Deployed, task: Task, warm: tuple[str, Store], tmp: Path) -> RunPlan:
    """Plan the run as the worker does, run it as its process does; the plan."""
    assert task.lease_token is not None
    plan = plan_run(deployed.world.store, task, task.lease_token, deployed.settings)
    assert runner._run(config_of(deployed, plan, tmp / "run.report"), warm) == 0
    return plan


def reported(tmp: Path) -> RunReport:
    return RunReport.from_json(json.loads((tmp / "run.report").read_text()))


def test_the_server_store_is_compiled_and_holds_no_connection(warm: tuple[str, Store]) -> None:
    engine = warm[1].database.engine
    assert len(engine._compiled_cache) >= 4  # type: ignore[attr-defined]
    assert engine.pool.checkedin() == 0 and engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_run_that_touches_no_data_reports_its_end_without_connecting(
    deployed: Deployed, warm: tuple[str, Store], tmp_path: Path
) -> None:
    """The worker plans the run and records its end; the run process in between opens no
    database connection when its script reads and writes no data."""
    connects: list[object] = []
    event.listen(warm[1].database.engine, "connect", lambda *_: connects.append(1))
    task = claimed_sync(deployed)
    plan = run_in_child(deployed, task, warm, tmp_path)
    assert connects == []
    report = reported(tmp_path)
    assert report.error is None and report.log_lines == [("info", "nothing to fetch")]
    during = deployed.world.store.tasks.get(task.id)
    assert during is not None and during.state == "STARTED"  # the worker records the end
    finish_planned(deployed.world.store, deployed.settings, plan, report)
    done = deployed.world.store.tasks.get(task.id)
    assert done is not None and done.state == "SUCCEEDED", done and done.error
    assert done.finished_at is not None
    logs = deployed.logs(done)
    assert logs[0] == "nothing to fetch" and logs[-1].startswith("run succeeded in")


def test_a_run_without_its_lease_cannot_be_planned_nor_ended(
    deployed: Deployed, warm: tuple[str, Store], tmp_path: Path
) -> None:
    task = claimed_sync(deployed)
    assert task.lease_token is not None
    store = deployed.world.store
    with pytest.raises(LeaseLostError):
        plan_run(store, task, "not-the-token", deployed.settings)
    after = store.tasks.get(task.id)
    assert after is not None and after.state == "STARTED" and after.generation is None
    plan = run_in_child(deployed, task, warm, tmp_path)
    store.tasks.expire(now=now_us() + 3600 * 10**6)  # the lease ran out during the run
    finish_planned(store, deployed.settings, plan, reported(tmp_path))
    expired = store.tasks.get(task.id)
    assert expired is not None and expired.state == "FAILED"
    assert expired.error is not None and expired.error["type"] == "lease_expired"
    schedule = store.syncs.get_by_id(task.sync_id or 0)
    assert schedule is not None and schedule.last_sync_date is None


def test_a_report_is_read_as_untrusted_json() -> None:
    """A script runs in the process that writes the report: what is not a report is refused
    (the worker then fails the run), never trusted."""
    good = {
        "output": None,
        "error": None,
        "duration_s": 0.5,
        "counts": {"Thing": {"added": 1, "updated": 0, "deleted": 0}},
        "markers": {},
        "pending_deletes": {},
        "log_lines": [["info", "x"]],
    }
    assert RunReport.from_json(good).counts == {"Thing": {"added": 1, "updated": 0, "deleted": 0}}
    for bad in (
        [],
        {**good, "counts": {"Thing": {"added": "many"}}},
        {**good, "error": "boom"},
        {**good, "log_lines": [["info"]]},
        {k: v for k, v in good.items() if k != "markers"},
    ):
        with pytest.raises(ValueError, match="not a run report"):
            RunReport.from_json(bad)


def test_a_killed_run_process_of_the_server_ends_failed(
    deploy_project: Callable[..., Deployed], store_url: str
) -> None:
    deployed = deploy_project({**FILES, "github/syncs/empty.py": HANGING})
    settings = deployed.settings.model_copy(
        update={"database_url": store_url, "worker_concurrency": 2, "lease_seconds": 30}
    )
    deployed.settings = settings
    store = deployed.world.store
    connection = store.connections.get_by_id(deployed.world.connection_id, with_credentials=False)
    assert connection is not None
    trigger_syncs(store, settings, [connection], [SyncTarget("empty")])
    worker = Worker(settings, store, encryption_key=TEST_KEY)
    try:
        environment = deployed.world.environment_id
        task = tick_until(worker, store, environment, lambda run: run.generation is not None)
        worker._children[task.id].process.kill()  # SIGKILL, mid-run
        done = tick_until(worker, store, environment, lambda run: run.is_done)
    finally:
        worker.shutdown(0)
    assert done.state == "FAILED" and done.error is not None
    assert "killed by SIGKILL" in done.error["message"]
    assert deployed.logs(done)[-1] == done.error["message"]


def tick_until(
    worker: Worker, store: Store, environment_id: int, reached: Callable[[Task], bool]
) -> Task:
    """Tick the worker until its only run has `reached` (the run process assigned the run's
    generation: it is running, with a connection of its own)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        worker.tick()
        runs = store.tasks.list_runs(environment_id, limit=10)
        if runs and reached(runs[0]):
            return runs[0]
        time.sleep(0.1)
    raise AssertionError("the run did not get there")


NOOP_ACTION = """\
from models import NangoAction


async def run_action(nango: NangoAction) -> dict:
    return {"ok": True}
"""
WITH_ACTION = {
    "nango.yaml": CONFIG.replace(
        "models:", "    actions:\n      noop:\n        endpoint: POST /noop\nmodels:"
    ),
    "github/syncs/empty.py": EMPTY,
    "github/actions/noop.py": NOOP_ACTION,
}


def noop_actions(
    deploy_project: Callable[..., Deployed], store_url: str, count: int, **updates: Any
) -> tuple[RuntimeSettings, Store, list[Task]]:
    """`count` runs of the `noop` action queued on the deployed connection: the settings (with
    `updates`), the store and the runs."""
    from runtime.scheduler.control import enqueue_action

    deployed = deploy_project(WITH_ACTION)
    settings = deployed.settings.model_copy(update={"database_url": store_url, **updates})
    store = deployed.world.store
    connection = store.connections.get_by_id(deployed.world.connection_id, with_credentials=False)
    assert connection is not None
    runs = [
        enqueue_action(store, settings, connection, "noop", None, has_input=False)
        for _ in range(count)
    ]
    return settings, store, runs


def ended_runs(store: Store, runs: list[Task], tick: Callable[[], None]) -> list[Task | None]:
    """The runs' rows once all ended (or after 40 s), calling `tick` between looks."""
    deadline = time.monotonic() + 40
    ended: list[Task | None] = []
    while time.monotonic() < deadline:
        tick()
        ended = [store.tasks.get(run.id) for run in runs]
        if all(run is not None and run.is_done for run in ended):
            break
        time.sleep(0.05)
    return ended


def test_a_run_process_that_ends_wakes_the_loop(
    deploy_project: Callable[..., Deployed], store_url: str
) -> None:
    """A slot freed by a run's end is claimed again at once, not at the next poll: two runs
    one after the other in one slot, with a poll of a minute, both end well within it."""
    import threading

    settings, store, runs = noop_actions(deploy_project, store_url, 2, worker_concurrency=1)
    worker = Worker(settings, store, encryption_key=TEST_KEY, poll_s=60)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run, args=(stop,))
    loop.start()
    try:
        ended = ended_runs(store, runs, lambda: None)
        assert [(r.state, r.output) if r else None for r in ended] == [
            ("SUCCEEDED", {"ok": True}),
            ("SUCCEEDED", {"ok": True}),
        ]
    finally:
        stop.set()
        worker._wake.set()
        loop.join(30)
    assert not loop.is_alive()


def test_a_report_is_written_whole_and_json(tmp_path: Path) -> None:
    """Written aside then renamed (a worker never reads half a report); an output JSON cannot
    hold fails the run instead of the report."""
    path = tmp_path / "run.report"
    good = {"output": {"ok": True}, "error": None}
    runner.write_report(path, good)
    assert json.loads(path.read_text()) == good
    assert [p.name for p in tmp_path.iterdir()] == ["run.report"]
    assert path.stat().st_mode & 0o777 == 0o600
    runner.write_report(path, {"output": {1, 2}, "error": None})
    written = json.loads(path.read_text())
    assert written["output"] is None and written["error"]["type"] == "invalid_action_output"


def test_a_run_that_cannot_be_planned_fails_alone(
    deploy_project: Callable[..., Deployed], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database error while the worker plans one run fails that run at once ("could not
    start"); the other runs claimed with it start as usual."""
    from runtime.worker import worker as worker_module

    settings, store, runs = noop_actions(deploy_project, store_url, 2, worker_concurrency=3)
    real = worker_module.plan_or_fail
    calls: list[str] = []

    def flaky(store: Store, task: Task, token: str, settings: Any) -> Any:
        calls.append(task.id)
        if len(calls) == 1:
            raise RuntimeError("connection reset by peer")
        return real(store, task, token, settings)

    monkeypatch.setattr(worker_module, "plan_or_fail", flaky)
    worker = Worker(settings, store, encryption_key=TEST_KEY)
    try:
        ended = ended_runs(store, runs, worker.tick)
    finally:
        worker.shutdown(0)
    by_id = {run.id: run for run in ended if run is not None}
    failed, other = by_id[calls[0]], by_id[calls[1]]
    assert failed.state == "FAILED" and failed.error is not None
    assert "could not start: connection reset by peer" in failed.error["message"]
    assert other.state == "SUCCEEDED" and other.output == {"ok": True}


def test_the_server_loads_the_tls_roots_before_any_fork() -> None:
    """Made once in the run server, the TLS settings are inherited by every run process (each
    would otherwise load the roots again, ~25 ms, on its first HTTPS request)."""
    from runtime.http import client

    client._tls_context.cache_clear()  # as in a new server process
    assert _preload({}) is None  # no store to open: the rest is pre-loaded all the same
    assert client._tls_context.cache_info().currsize == 1


def test_a_run_process_given_a_task_alone_plans_runs_and_records_it(
    deployed: Deployed, warm: tuple[str, Store]
) -> None:
    """`python -m runtime.worker.runner` started with a task's id and lease token (no plan):
    it does all three steps itself, fenced by the token; with a token that is not the lease's,
    nothing."""
    task = claimed_sync(deployed)
    assert task.lease_token is not None
    config = {
        "task_id": task.id,
        "memory_mb": 4096,
        "encryption_key": TEST_KEY,
        "settings": deployed.settings.model_dump(mode="json"),
    }
    assert runner._run({**config, "lease_token": "not-the-token"}, warm) == 0
    untouched = deployed.world.store.tasks.get(task.id)
    assert untouched is not None and untouched.state == "STARTED"
    assert untouched.generation is None and deployed.logs(untouched) == []
    assert runner._run({**config, "lease_token": task.lease_token}, warm) == 0
    done = deployed.world.store.tasks.get(task.id)
    assert done is not None and done.state == "SUCCEEDED", done and done.error
    logs = deployed.logs(done)
    assert logs[0] == "nothing to fetch" and logs[-1].startswith("run succeeded in")


def test_an_end_that_cannot_be_recorded_yet_is_recorded_at_the_next_tick(
    deploy_project: Callable[..., Deployed], store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database away at the moment a run process's report is read: the report is kept
    and the worker records the end at a later tick (nothing the run did is lost)."""
    from runtime.worker import worker as worker_module

    settings, store, (run,) = noop_actions(deploy_project, store_url, 1)
    real = worker_module.finish_planned
    attempts: list[int] = []

    def flaky(*args: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("server closed the connection unexpectedly")
        real(*args)

    monkeypatch.setattr(worker_module, "finish_planned", flaky)
    worker = Worker(settings, store, encryption_key=TEST_KEY)
    try:
        (done,) = ended_runs(store, [run], worker.tick)
    finally:
        worker.shutdown(0)
    assert len(attempts) == 2
    assert done is not None and done.state == "SUCCEEDED" and done.output == {"ok": True}
