"""Progress of long CLI work (`nango test`, `nango generate`, `nango deploy`) on stderr: a Rich
progress bar, or a spinner while the work is not counted. Shown only when stdout is a terminal
and the output is not JSON: piped or scripted output gets nothing extra."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cli.progress import NO_PROGRESS, ProgressReporter
from cli.terminal import console as output

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["TerminalProgress", "progress_shown", "stop_progress"]


class TerminalProgress:
    """A `ProgressReporter` drawing one Rich progress line; `stop` removes it (before a prompt or
    a plan is printed)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress: Progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._is_running = False

    def start(self) -> None:
        self._progress.start()
        self._is_running = True

    def stop(self) -> None:
        if self._is_running:
            self._progress.stop()
            self._is_running = False

    def step(self, label: str, *, done: int | None = None, total: int | None = None) -> None:
        if not self._is_running:
            return
        description = output.styled(output.esc_line(label))
        if self._task is None:
            self._task = self._progress.add_task("", total=total)
        self._progress.update(
            self._task, description=description.plain, completed=done or 0, total=total
        )


@contextmanager
def progress_shown(*, enabled: bool = True) -> Iterator[ProgressReporter]:
    """A reporter drawing on stderr while the block runs, when `enabled` and stdout is a
    terminal; a silent one otherwise. `stop()` it (if it has one) before printing results."""
    if not enabled or not output.stdout().is_terminal:
        yield NO_PROGRESS
        return
    shown = TerminalProgress(output.stderr())
    shown.start()
    try:
        yield shown
    finally:
        shown.stop()


def stop_progress(reporter: ProgressReporter) -> None:
    """Remove a progress line before something else is printed (a plan, a prompt)."""
    if isinstance(reporter, TerminalProgress):
        reporter.stop()
