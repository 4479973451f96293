"""How long-running core work (`generate`, `run_fixture_tests`, `deploy`) says how far it got,
without knowing whether anyone shows it: the terminal plugs in a Rich progress bar, tests a list,
everyone else nothing."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NO_PROGRESS", "ProgressReporter"]


class ProgressReporter(Protocol):
    def step(self, label: str, *, done: int | None = None, total: int | None = None) -> None:
        """`label` is under way; `done` of `total` units are finished (when they are counted)."""


class _Silent:
    def step(self, label: str, *, done: int | None = None, total: int | None = None) -> None:
        del label, done, total


NO_PROGRESS: ProgressReporter = _Silent()
