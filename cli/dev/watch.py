"""`watch`: the loop of `nango dev`. One full cycle at start, then one cycle per burst of saves
(watchfiles groups the events of saves less than `step_ms` apart), until `stop_event` is set or
Ctrl-C. It never prints: everything goes to the reporter."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from cli.dev.deployer import AutoDeployer
from cli.dev.events import CycleResult, DevReporter
from cli.dev.session import DevSession
from cli.project import find_project

if TYPE_CHECKING:
    from watchfiles._rust_notify import RustNotify

__all__ = ["DevOptions", "StopEvent", "stop_on_sigterm", "watch"]

_IGNORED_DIRS = frozenset(
    {".nango", "__pycache__", ".git", ".venv", "venv", "node_modules", ".mypy_cache", ".hg"}
)
# Editors' temporary and swap files (vim's .swp and 4913, emacs' #file# and .#file, backups~).
_IGNORED_NAMES = re.compile(r"(\.sw.|~|\.py[cod]|^4913|^\.?#.*)$")


def _is_ignored(path: str) -> bool:
    parts = Path(path).parts
    return bool(_IGNORED_DIRS.intersection(parts)) or bool(_IGNORED_NAMES.search(parts[-1]))


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class DevOptions:
    """How `watch` runs: tests on or off, automatic deploys, and the grouping of saves."""

    run_tests: bool = True
    deploy: bool = False
    environment: str = "dev"
    deploy_delay_s: float = 1.0
    interactive: bool = False
    step_ms: int = 50
    debounce_ms: int = 1600
    timeout_s: float = 60.0


def watch(
    *,
    reporter: DevReporter,
    options: DevOptions | None = None,
    project_root: Path | None = None,
    stop_event: StopEvent | None = None,
) -> DevSession:
    """Watch the project containing `project_root` (default: the working directory) until
    `stop_event` is set; KeyboardInterrupt propagates. The session, for its final state."""
    options = options or DevOptions()
    session = DevSession(
        find_project(project_root or Path.cwd()),
        run_tests=options.run_tests,
        timeout_s=options.timeout_s,
    )
    deployer = _deployer(session, reporter, options)
    # Watching starts before the first cycle, so that no save made during it is missed.
    with _notifier(session.project.root) as notifier:
        reporter.cycle_started([])
        _finished(session.start(), reporter, deployer)
        while True:
            raw = notifier.watch(
                options.debounce_ms, options.step_ms, 200 if deployer else 5000, stop_event
            )
            if raw == "signal":
                raise KeyboardInterrupt
            if raw == "stop":
                return session
            _handle(session, reporter, deployer, set() if raw == "timeout" else raw)


def _notifier(root: Path) -> RustNotify:
    """watchfiles' watcher itself: its `watch` generator only starts watching when first asked
    for changes, after the first cycle would have run."""
    from watchfiles._rust_notify import RustNotify

    return RustNotify([str(root)], False, _is_polling(), 300, True, True)


def _is_polling() -> bool:
    value = os.environ.get("WATCHFILES_FORCE_POLLING", "").lower()
    return bool(value) and value not in ("false", "disable", "disabled")


def _handle(
    session: DevSession,
    reporter: DevReporter,
    deployer: AutoDeployer | None,
    raw: set[tuple[int, str]],
) -> None:
    changes = session.changes(Path(path) for _, path in raw if not _is_ignored(path))
    if changes:
        if deployer:
            deployer.saw_changes(time.monotonic())
        reporter.cycle_started([session.project.relative(p) for p in changes.paths])
        _finished(session.cycle(changes), reporter, deployer)
    if deployer:
        deployer.tick(time.monotonic())


def _finished(result: CycleResult, reporter: DevReporter, deployer: AutoDeployer | None) -> None:
    reporter.cycle_finished(result)
    if deployer:
        deployer.cycle_finished(result, time.monotonic())


def _deployer(
    session: DevSession, reporter: DevReporter, options: DevOptions
) -> AutoDeployer | None:
    if not options.deploy:
        return None
    return AutoDeployer(
        session.project.root,
        reporter,
        environment=options.environment,
        delay_s=options.deploy_delay_s,
        interactive=options.interactive,
    )


@contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """An event set by SIGTERM while the context is open (the previous handler restored after),
    so that `watch` stops between cycles instead of dying in the middle of one."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)
