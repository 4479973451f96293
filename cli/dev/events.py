"""What one `nango dev` cycle found, as plain data, and the protocol through which the watch loop
tells its caller about it (the loop itself never prints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "CompileState",
    "CycleResult",
    "DeployOutcome",
    "DevReporter",
    "Problem",
    "ScriptStatus",
    "TestState",
]

CompileState = Literal["ok", "failed"]
TestState = Literal["passed", "failed", "no fixture", "skipped"]


@dataclass(frozen=True)
class Problem:
    """One error: where it is (`file` relative to the project, 1-based line and column, when
    known) and what it is. `details` holds the rest of a multi-line report (a record diff)."""

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    code: str | None = None
    path: str | None = None
    details: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        parts = [self.file or "?"]
        parts += [str(n) for n in (self.line, self.column) if n is not None]
        return ":".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class ScriptStatus:
    """A script after a cycle: compiled or not, its fixtures replayed or not."""

    name: str
    integration: str
    kind: str
    file: str
    compile: CompileState
    test: TestState
    error: Problem | None = None
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.compile == "ok" and self.test != "failed"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "integration": self.integration,
            "file": self.file,
            "compile": self.compile,
            "test": self.test,
            "error": self.error.to_json() if self.error else None,
        }


@dataclass
class CycleResult:
    """One cycle: what changed, what was regenerated and the scripts it compiled and tested."""

    cycle: int
    changed: list[str]
    scripts: list[ScriptStatus] = field(default_factory=list)
    config_errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    generated: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    env_reloaded: bool = False
    duration_s: float = 0.0
    every_script: list[ScriptStatus] = field(default_factory=list)
    """The latest status of every declared script, this cycle's or an earlier one's."""

    @property
    def ok(self) -> bool:
        return not self.config_errors and all(s.ok for s in self.scripts)

    @property
    def is_all_green(self) -> bool:
        """True when nango.yaml is valid and every script's latest status is green (`ok` only
        speaks of the scripts of this cycle)."""
        return not self.config_errors and all(s.ok for s in self.every_script)

    @property
    def first_failure(self) -> Problem | None:
        """The first failure of the project: nango.yaml's, else this cycle's, else an earlier
        one that is not fixed yet."""
        if self.config_errors:
            return self.config_errors[0]
        for statuses in (self.scripts, self.every_script):
            found = next((s.error for s in statuses if not s.ok and s.error), None)
            if found is not None:
                return found
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "cycle": self.cycle,
            "changed": self.changed,
            "ok": self.ok,
            "duration_ms": round(self.duration_s * 1000, 1),
            "scripts": [s.to_json() for s in self.scripts],
            "errors": [p.to_json() for p in self.config_errors],
            "warnings": [p.to_json() for p in self.warnings],
            "generated": self.generated,
            "created": self.created,
        }


@dataclass
class DeployOutcome:
    """What an automatic deploy did: the plan in one line, and what was deployed or why not."""

    ok: bool
    plan: str = ""
    deployed: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "deploy": {
                "ok": self.ok,
                "plan": self.plan,
                "deployed": self.deployed,
                "error": self.error,
            }
        }


class DevReporter(Protocol):
    """Receives what the watch loop does; the terminal, a JSON writer or a test implement it."""

    def cycle_started(self, changed: list[str]) -> None:
        """A cycle begins for these changed paths (relative to the project)."""

    def cycle_finished(self, result: CycleResult) -> None:
        """A cycle ended."""

    def deploy_finished(self, outcome: DeployOutcome) -> None:
        """An automatic deploy ended."""

    def confirm_destructive(self, plan: str) -> bool:
        """A deploy would delete records (`plan`): True to go on. Only asked when interactive."""
