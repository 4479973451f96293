"""`nango dev`: watch a project and, on every save, regenerate, compile and replay the fixtures
of what the save touched (`watch`), reporting each cycle through a `DevReporter`."""

from __future__ import annotations

from cli.dev.events import CycleResult, DeployOutcome, DevReporter, Problem, ScriptStatus
from cli.dev.session import DevSession
from cli.dev.watch import DevOptions, watch

__all__ = [
    "CycleResult",
    "DeployOutcome",
    "DevOptions",
    "DevReporter",
    "DevSession",
    "Problem",
    "ScriptStatus",
    "watch",
]
