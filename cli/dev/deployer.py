"""`nango dev --deploy`: after a green cycle, and once the saves have stopped for a moment, deploy
the project to the runtime at `NANGO_HOSTPORT`. The runtime skips scripts whose content did not
change, so what goes out is what changed. A plan that deletes records is applied only after a
yes from the reporter (never without a prompt; refused when nobody can be asked)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cli.deploy import DeployOptions, DeployResult, deploy
from cli.dev.events import CycleResult, DeployOutcome, DevReporter
from runtime.deploy.wire import ActionChange, OnEventChange, ScriptDifferences, SyncChange
from runtime.errors import UserError

__all__ = ["AutoDeployer", "plan_line"]

DeployFunction = Callable[..., DeployResult]


def plan_line(plan: ScriptDifferences) -> str:
    """The plan in one line: `+1 ~2 -0 (new: github/issues; deleted: ...)`."""
    new = _names(plan.newSyncs, plan.newActions, plan.newOnEventScripts)
    updated = _names(plan.updatedSyncs, plan.updatedActions, plan.updatedOnEventScripts)
    deleted = _names(plan.deletedSyncs, plan.deletedActions, plan.deletedOnEventScripts)
    parts = [
        f"{label}: {', '.join(changes)}"
        for label, changes in (("new", new), ("updated", updated), ("deleted", deleted))
        if changes
    ]
    if plan.deletedModels:
        parts.append(f"models removed: {', '.join(plan.deletedModels)}")
    line = f"+{len(new)} ~{len(updated)} -{len(deleted)}"
    return f"{line} ({'; '.join(parts)})" if parts else f"{line} (nothing changes)"


def _names(*groups: Sequence[SyncChange | ActionChange | OnEventChange]) -> list[str]:
    return [f"{c.providerConfigKey}/{c.name}" for group in groups for c in group]


class AutoDeployer:
    """Deploys `delay_s` after the last green cycle, if no save came in between."""

    def __init__(
        self,
        root: Path,
        reporter: DevReporter,
        *,
        environment: str = "dev",
        delay_s: float = 1.0,
        interactive: bool = False,
        deploy_function: DeployFunction = deploy,
    ) -> None:
        self.root = root
        self.reporter = reporter
        self.environment = environment
        self.delay_s = delay_s
        self.interactive = interactive
        self._deploy = deploy_function
        self._due: float | None = None
        self._is_pending = False

    def cycle_finished(self, result: CycleResult, now: float) -> None:
        """Schedule a deploy once the whole project is green after a cycle that changed something;
        hold it while anything fails."""
        if not result.is_all_green:
            self._due = None
            self._is_pending = self._is_pending or bool(result.scripts or result.generated)
            return
        if result.scripts or result.generated or self._is_pending:
            self._is_pending = True
            self._due = now + self.delay_s

    def saw_changes(self, now: float) -> None:
        """A save came in: wait for the saves to stop before deploying."""
        if self._due is not None:
            self._due = now + self.delay_s

    def tick(self, now: float) -> DeployOutcome | None:
        """Deploy when it is due; the outcome, also given to the reporter."""
        if self._due is None or now < self._due:
            return None
        self._due, self._is_pending = None, False
        outcome = self.deploy_now()
        self.reporter.deploy_finished(outcome)
        return outcome

    def deploy_now(self) -> DeployOutcome:
        plans: list[str] = []

        def on_plan(plan: ScriptDifferences) -> None:
            plans.append(plan_line(plan))

        def confirm(plan: ScriptDifferences) -> bool:
            return self.reporter.confirm_destructive(plan_line(plan))

        options = DeployOptions(environment=self.environment, interactive=self.interactive)
        try:
            result: Any = self._deploy(
                options, on_plan=on_plan, confirm=confirm, project_root=self.root
            )
        except UserError as exc:
            error = f"{exc.message} ({exc.hint})" if exc.hint else exc.message
            return DeployOutcome(False, plan=plans[0] if plans else "", error=error)
        except Exception as exc:  # the watch goes on whatever a deploy runs into
            error = f"unexpected error: {type(exc).__name__}: {exc}"
            return DeployOutcome(False, plan=plans[0] if plans else "", error=error)
        deployed = [f"{r.providerConfigKey}/{r.name}" for r in result.results if not r.unchanged]
        return DeployOutcome(True, plan=plans[0] if plans else "", deployed=deployed)
