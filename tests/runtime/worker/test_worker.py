"""The worker loop's supervision, with stand-in child processes: heartbeats, lost leases, time
limits, children that die without an outcome, shutdown; claims leave room for actions."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from runtime.observability.metrics import process_metrics
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.tasks import NewTask, Task, Timeouts
from runtime.store.timestamps import now_us
from runtime.worker import Worker, run_worker
from runtime.worker.worker import _describe_exit
from tests.runtime.store.conftest import TEST_KEY, World


def child(code: str) -> list[str]:
    """A stand-in for the runner: reads its config from stdin, then runs `code`."""
    return [sys.executable, "-c", f"import sys, time; sys.stdin.read(); {code}"]


def settings(tmp_path: Path, **values: object) -> RuntimeSettings:
    base: dict[str, object] = {
        "data_dir": tmp_path,
        "lease_seconds": 1.5,
        "worker_concurrency": 2,
        "shutdown_grace_s": 0,
    }
    return RuntimeSettings.model_validate({**base, **values})


def add_task(world: World, kind: str = "action", run_ms: int = 60_000) -> Task:
    new = NewTask(world.environment_id, kind, "x", {}, Timeouts(60_000, run_ms))  # type: ignore[arg-type]
    task = world.store.tasks.create(new)
    assert task is not None
    return task


def tick_until(worker: Worker, store: Store, task_id: str, timeout: float = 20) -> Task:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.tick()
        task = store.tasks.get(task_id)
        if task is not None and task.is_done:
            return task
        time.sleep(0.05)
    raise AssertionError("the run did not end")


def metrics_ended() -> float:
    """Runs of kind action that this process counted as ended SUCCEEDED."""
    value = process_metrics().runs.labels("action", "SUCCEEDED")._value.get()
    return float(value)


def test_a_child_that_dies_without_an_outcome_fails_its_run(world: World, tmp_path: Path) -> None:
    task = add_task(world)
    code = "print('Traceback: boom', file=sys.stderr); sys.exit(3)"
    worker = Worker(settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child(code))
    done = tick_until(worker, world.store, task.id)
    assert done.state == "FAILED" and done.error is not None
    assert "exited with code 3" in done.error["message"]
    assert "Traceback: boom" in done.error["message"]
    assert [line.message for line in world.store.logs.list(task.id)] == [done.error["message"]]
    assert worker.running == 0


def test_heartbeats_keep_a_long_run_alive(world: World, tmp_path: Path) -> None:
    task = add_task(world)
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    started = time.monotonic()
    while time.monotonic() - started < 4:  # well past the 1.5 s lease
        worker.tick()
        time.sleep(0.05)
    found = world.store.tasks.get(task.id)
    assert found is not None and found.state == "STARTED"
    worker.shutdown()
    stopped = world.store.tasks.get(task.id)
    assert stopped is not None and stopped.state == "FAILED"
    assert stopped.error == {"type": "worker_stopped", "message": "the worker running it stopped"}


def test_a_lost_lease_stops_the_child(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    task = add_task(world)
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    worker.tick()
    assert worker.running == 1
    (process,) = [c.process for c in worker._children.values()]
    expired = world.store.tasks.expire(now=now_us() + 3_600_000_000)  # its lease ran out
    assert [t.id for t in expired] == [task.id]
    deadline = time.monotonic() + 10
    while worker.running and time.monotonic() < deadline:
        worker.tick()
        time.sleep(0.1)
    assert worker.running == 0 and process.poll() is not None
    assert f"run {task.id} lost its lease" in caplog.text


def test_a_run_that_recorded_its_outcome_is_not_said_to_have_lost_its_lease(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A heartbeat between the outcome written and the process's exit finds the run ended:
    that is the run's own end, not a lost lease; the process is reaped, or stopped if it
    lingers, without a warning, and its end is counted once."""
    task = add_task(world)
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    worker.tick()
    (running,) = worker._children.values()
    world.store.tasks.finish(task.id, running.token, "SUCCEEDED", output={"ok": True})
    running.next_heartbeat = 0  # due now
    before = metrics_ended()
    deadline = time.monotonic() + 20
    while worker.running and time.monotonic() < deadline:
        worker.tick()
        time.sleep(0.1)
    assert worker.running == 0 and running.process.poll() is not None
    assert "lost its lease" not in caplog.text
    done = world.store.tasks.get(task.id)
    assert done is not None and done.state == "SUCCEEDED" and done.output == {"ok": True}
    assert metrics_ended() == before + 1


def test_a_run_past_its_limit_is_killed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.worker import worker as module

    monkeypatch.setattr(module, "KILL_GRACE_S", 0.0)
    task = add_task(world, run_ms=500)
    worker = Worker(
        settings(tmp_path, lease_seconds=30),
        world.store,
        encryption_key=TEST_KEY,
        runner=child("time.sleep(60)"),
    )
    done = tick_until(worker, world.store, task.id)
    assert done.state == "FAILED" and done.error is not None
    assert done.error["type"] in ("timeout",)


def test_syncs_never_take_the_last_free_slot(world: World, tmp_path: Path) -> None:
    for _ in range(3):
        add_task(world, kind="sync")
    worker = Worker(
        settings(tmp_path), world.store, encryption_key=TEST_KEY, runner=child("time.sleep(60)")
    )
    worker.tick()
    assert [c.task.kind for c in worker._children.values()] == ["sync"]
    add_task(world, kind="action")
    worker.tick()
    assert sorted(c.task.kind for c in worker._children.values()) == ["action", "sync"]
    worker.shutdown()


def test_run_worker_stops_when_asked(world: World, tmp_path: Path) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(settings(tmp_path), world.store, stop),
        kwargs={"encryption_key": TEST_KEY},
    )
    thread.start()
    time.sleep(0.3)
    stop.set()
    # The worker first waits for its run-process server to load the runtime (seconds on a
    # loaded machine), then stops: it must end, not hang.
    thread.join(60)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("code", "stderr", "expected"),
    [
        (-9, [], "killed by SIGKILL (out of memory past the 512 MB limit, or killed)"),
        (-15, [], "killed by SIGTERM"),
        (1, ["x", "MemoryError"], "ran out of memory (limit 512 MB): x | MemoryError"),
        (0, [], "exited with code 0 without recording an outcome"),
    ],
)
def test_exit_descriptions(code: int, stderr: list[str], expected: str) -> None:
    assert expected in _describe_exit(code, stderr, 512)


CHILD = """\
import os, sys, time
from runtime.worker.runner import die_with_parent
die_with_parent(os.getppid())
with open(sys.argv[1], "w") as handle:
    handle.write(str(os.getpid()))
time.sleep(60)
"""
PARENT = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, sys.argv[1], sys.argv[2]])
time.sleep(60)
"""


def test_a_run_process_dies_with_its_worker(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess

    from tests.helpers import REPO_ROOT

    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "parent.py").write_text(PARENT)
    pid_file = tmp_path / "child.pid"
    environment = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    parent = subprocess.Popen(
        [sys.executable, str(tmp_path / "parent.py"), str(tmp_path / "child.py"), str(pid_file)],
        env=environment,
    )
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stat = Path(f"/proc/{child_pid}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return  # gone, or dead and waiting to be reaped
        time.sleep(0.05)
    os.kill(child_pid, signal.SIGKILL)
    raise AssertionError("the run process outlived its worker")


def test_a_report_that_is_not_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run process's report is read as untrusted (a script runs there): not JSON, not a
    report, or too large are refused (the worker then fails the run), and the file is gone."""
    from runtime.worker import worker as worker_module
    from runtime.worker.worker import _Child

    monkeypatch.setattr(worker_module, "MAX_REPORT_BYTES", 1000)
    task = Task.__new__(Task)
    report = tmp_path / "run.report"
    child = _Child(task, "token", None, 0.0, 0.0, report=report)  # type: ignore[arg-type]
    assert child.take_report() is None  # none written: the process died first
    for text, message in (
        ("{not json", "not JSON"),
        ('{"output": 1}', "not a run report"),
        ('"' + "x" * 2000 + '"', "over"),
    ):
        report.write_text(text)
        with pytest.raises(ValueError, match=message):
            child.take_report()
        assert not report.exists()
