"""`watch` in-process: the loop with a reporter of our own, stopped through its event."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from cli.dev import DevOptions, watch
from cli.dev.events import CycleResult, DeployOutcome
from cli.dev.watch import stop_on_sigterm
from cli.init.scaffold import init_project


class Collected:
    def __init__(self) -> None:
        self.cycles: list[CycleResult] = []
        self.started: list[list[str]] = []

    def cycle_started(self, changed: list[str]) -> None:
        self.started.append(changed)

    def cycle_finished(self, result: CycleResult) -> None:
        self.cycles.append(result)

    def deploy_finished(self, outcome: DeployOutcome) -> None: ...

    def confirm_destructive(self, plan: str) -> bool:
        return False

    def wait(self, count: int, timeout_s: float = 90.0) -> list[CycleResult]:
        deadline = time.monotonic() + timeout_s
        while len(self.cycles) < count:
            assert time.monotonic() < deadline, self.cycles
            time.sleep(0.02)
        return self.cycles


def test_the_loop_runs_a_cycle_per_save_until_stopped(tmp_path: Path) -> None:
    root = init_project(path=tmp_path / "demo").root
    reporter, stop = Collected(), threading.Event()
    options = DevOptions(deploy=True, deploy_delay_s=3600)  # a deploy never comes due here
    worker = threading.Thread(
        target=watch,
        kwargs={"reporter": reporter, "options": options, "project_root": root, "stop_event": stop},
    )
    worker.start()
    try:
        assert reporter.wait(1)[0].ok
        script = root / "github" / "syncs" / "issues.py"
        (root / "github" / ".issues.py.swp").write_text("swap")  # an editor's: ignored
        script.write_text(script.read_text(encoding="utf-8") + "\n# saved\n", encoding="utf-8")
        second = reporter.wait(2)[1]
        assert second.changed == ["github/syncs/issues.py"] and second.ok
        assert reporter.started == [[], ["github/syncs/issues.py"]]
    finally:
        stop.set()
        worker.join(60)
    assert not worker.is_alive()


def test_sigterm_sets_the_stop_event_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_sigterm() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stop.is_set()
    assert signal.getsignal(signal.SIGTERM) == before
    found: list[bool] = []

    def in_a_thread() -> None:
        with stop_on_sigterm() as other:
            found.append(other.is_set())

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert found == [False]
