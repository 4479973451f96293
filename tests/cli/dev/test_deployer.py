"""`nango dev --deploy`: when the automatic deploy runs, what it shows, and that a destructive
plan is never applied without a yes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cli.deploy import DeployOptions, DeployResult, _decide
from cli.dev.deployer import AutoDeployer, plan_line
from cli.dev.events import CycleResult, DeployOutcome, ScriptStatus
from runtime.deploy.wire import ActionChange, ScriptDifferences, SyncChange, SyncDeploymentResult


class Recorder:
    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.asked: list[str] = []
        self.deploys: list[DeployOutcome] = []

    def cycle_started(self, changed: list[str]) -> None: ...

    def cycle_finished(self, result: CycleResult) -> None: ...

    def deploy_finished(self, outcome: DeployOutcome) -> None:
        self.deploys.append(outcome)

    def confirm_destructive(self, plan: str) -> bool:
        self.asked.append(plan)
        return self.answer


def _status(ok: bool) -> ScriptStatus:
    return ScriptStatus(
        "issues",
        "github",
        "sync",
        "github/syncs/issues.py",
        "ok" if ok else "failed",
        "passed" if ok else "skipped",
    )


def _cycle(ok: bool) -> CycleResult:
    status = _status(ok)
    return CycleResult(1, ["github/syncs/issues.py"], scripts=[status], every_script=[status])


DESTRUCTIVE = ScriptDifferences(
    deletedSyncs=[
        SyncChange(name="old", providerConfigKey="github", connections=2, auto_start=True)
    ],
    isDestructive=True,
)


def _fake_deploy(plan: ScriptDifferences, calls: list[DeployOptions]) -> Any:
    def deploy(options: DeployOptions, *, on_plan: Any, confirm: Any, project_root: Path) -> Any:
        calls.append(options)
        on_plan(plan)
        asked = _decide(plan, options, confirm)
        result = SyncDeploymentResult(
            name="issues", version="0.0.2", providerConfigKey="github", type="sync"
        )
        return DeployResult(plan, [result], asked)

    return deploy


def test_a_green_cycle_deploys_once_the_saves_stop(tmp_path: Path) -> None:
    plan = ScriptDifferences(
        updatedSyncs=[
            SyncChange(name="issues", providerConfigKey="github", connections=0, auto_start=True)
        ]
    )
    calls: list[DeployOptions] = []
    reporter = Recorder()
    deployer = AutoDeployer(
        tmp_path, reporter, delay_s=1.0, deploy_function=_fake_deploy(plan, calls)
    )
    deployer.cycle_finished(_cycle(True), now=10.0)
    deployer.saw_changes(now=10.5)
    assert deployer.tick(now=11.2) is None  # a save came in at 10.5: wait until 11.5
    outcome = deployer.tick(now=11.6)
    assert outcome is not None and outcome.ok and outcome.deployed == ["github/issues"]
    assert outcome.plan == "+0 ~1 -0 (updated: github/issues)"
    assert reporter.deploys == [outcome] and len(calls) == 1
    assert deployer.tick(now=20.0) is None


def test_a_red_cycle_holds_the_deploy_until_green(tmp_path: Path) -> None:
    calls: list[DeployOptions] = []
    deployer = AutoDeployer(
        tmp_path, Recorder(), delay_s=0.5, deploy_function=_fake_deploy(ScriptDifferences(), calls)
    )
    deployer.cycle_finished(_cycle(True), now=0.0)
    deployer.cycle_finished(_cycle(False), now=0.1)
    assert deployer.tick(now=5.0) is None and calls == []
    deployer.cycle_finished(CycleResult(3, ["nango.yaml"]), now=6.0)  # green, nothing tested
    assert deployer.tick(now=6.6) is not None and len(calls) == 1


@pytest.mark.parametrize(("interactive", "answer"), [(False, False), (True, False), (True, True)])
def test_a_destructive_plan_needs_a_yes(tmp_path: Path, interactive: bool, answer: bool) -> None:
    reporter = Recorder(answer)
    deployer = AutoDeployer(
        tmp_path, reporter, interactive=interactive, deploy_function=_fake_deploy(DESTRUCTIVE, [])
    )
    outcome = deployer.deploy_now()
    assert outcome.ok is answer
    assert outcome.plan == "+0 ~0 -1 (deleted: github/old)"
    assert reporter.asked == ([outcome.plan] if interactive else [])
    if not answer:
        assert outcome.error


def test_the_plan_fits_on_one_line() -> None:
    plan = ScriptDifferences(
        newActions=[ActionChange(name="create", providerConfigKey="gh")],
        deletedModels=["Old"],
    )
    assert plan_line(plan) == "+1 ~0 -0 (new: gh/create; models removed: Old)"
    assert plan_line(ScriptDifferences()) == "+0 ~0 -0 (nothing changes)"


def test_a_deploy_without_a_key_says_what_to_set(tmp_path: Path) -> None:
    from cli.init.scaffold import init_project

    root = init_project(path=tmp_path / "demo").root
    outcome = AutoDeployer(root, Recorder()).deploy_now()
    assert not outcome.ok and outcome.error is not None
    assert "NANGO_SECRET_KEY_DEV is not set" in outcome.error and ".env" in outcome.error
