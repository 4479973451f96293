"""What `run_script` needs to know about a script: where it is and what its config declares.

The CLI builds it from nango.yaml; the runtime from a deployed script's stored config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

ScriptKind = Literal["sync", "action", "on-event", "webhook"]

ENTRY_POINTS: dict[ScriptKind, str] = {
    "sync": "fetch_data",
    "action": "run_action",
    "on-event": "on_event",
    "webhook": "on_webhook",
}

DEFAULT_TIMEOUTS_S: dict[ScriptKind, float] = {
    "sync": 24 * 3600.0,
    "action": 15 * 60.0,
    "on-event": 5 * 60.0,
    "webhook": 3600.0,
}


@dataclass(frozen=True)
class ScriptDescription:
    """One script of a project. `kind` "webhook" is a sync's `on_webhook` handler (see
    `for_webhook`); `declared_models` are the models a sync may write."""

    kind: ScriptKind
    name: str
    integration: str
    path: Path
    project_root: Path
    input_model: str | None = None
    output_models: tuple[str, ...] = ()
    declared_models: tuple[str, ...] = ()
    webhook_subscriptions: tuple[str, ...] = ()
    version: str = ""

    @property
    def entry_point(self) -> str:
        return ENTRY_POINTS[self.kind]

    @property
    def is_sync(self) -> bool:
        """Runs with the sync SDK object (`fetch_data` and `on_webhook`)."""
        return self.kind in ("sync", "webhook")

    def for_webhook(self) -> ScriptDescription:
        """The same sync script, run through its `on_webhook(nango, payload)`."""
        if self.kind != "sync":
            raise ValueError(f"only syncs handle webhooks, not a {self.kind}")
        return replace(self, kind="webhook")
