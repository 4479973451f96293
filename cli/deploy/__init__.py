"""`deploy`: compile the project, pack it, ask the runtime for the plan, decide, apply.

The decision, as Nango's CLI makes it (reference §5.3): a plan that is not destructive is
applied without a question; a destructive one (a sync with connections removed, a model
removed) only with both `auto_confirm` and `allow_destructive`, or after a yes from `confirm`
when prompting is allowed; under CI or `--no-interactive` it is refused. Nothing here prints:
the caller shows the plan (`on_plan`) and asks (`confirm`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.deploy.pack import PackOptions, pack_project
from cli.progress import NO_PROGRESS, ProgressReporter
from runtime.deploy.wire import ScriptDifferences, SyncDeploymentResult
from runtime.errors import RuntimeAPIError, UserError

if TYPE_CHECKING:
    from cli.client import RuntimeClient

__all__ = [
    "DeployAbortedError",
    "DeployFailedError",
    "DeployOptions",
    "DeployResult",
    "deploy",
]

NOT_CONFIRMED = (
    "Syncs/Actions were not deployed. Confirm the deploy by passing the --auto-confirm flag and "
    "--allow-destructive flag. Exiting"
)
ABORTED = "Deployed aborted. Exiting"


class DeployFailedError(UserError):
    """The runtime refused the deploy, or the deploy needed a confirmation it did not get."""


class DeployAbortedError(DeployFailedError):
    """The user answered no."""


@dataclass(frozen=True)
class DeployOptions:
    environment: str = "dev"
    pack: PackOptions = field(default_factory=PackOptions)
    allow_destructive: bool = False
    auto_confirm: bool = False
    interactive: bool = False


@dataclass
class DeployResult:
    plan: ScriptDifferences
    results: list[SyncDeploymentResult]
    asked: bool = False


def deploy(
    options: DeployOptions,
    *,
    on_plan: Callable[[ScriptDifferences], None] = lambda _plan: None,
    confirm: Callable[[ScriptDifferences], bool] = lambda _plan: False,
    client: RuntimeClient | None = None,
    project_root: Path | None = None,
    progress: ProgressReporter = NO_PROGRESS,
) -> DeployResult:
    """Deploy the project to the runtime (see the module docstring). Raises `ConfigError` /
    `CompileError` when the project does not compile, `DeployFailedError` otherwise."""
    from cli.compile.compiler import compile_project

    progress.step("compiling", done=0, total=4)
    compiled = compile_project(project_root=project_root)
    progress.step("packing the scripts", done=1, total=4)
    request = pack_project(
        compiled.generated.project, compiled.generated.config.parsed, options.pack
    )
    owned = client is None
    if client is None:
        from cli.client import RuntimeClient

        client = RuntimeClient(environment=options.environment)
    try:
        body = request.model_dump(mode="json", exclude_none=True)
        progress.step("asking the runtime for a plan", done=2, total=4)
        plan = ScriptDifferences.model_validate(_call(client, "/sync/deploy/confirmation", body))
        on_plan(plan)
        asked = _decide(plan, options, confirm)
        body.update(reconcile=True, allowDestructive=plan.isDestructive, nangoYamlBody="")
        progress.step("deploying", done=3, total=4)
        answer = _call(client, "/sync/deploy", body)
        progress.step("deployed", done=4, total=4)
        results = [SyncDeploymentResult.model_validate(item) for item in answer or []]
    finally:
        if owned:
            client.close()
    return DeployResult(plan, results, asked)


def _decide(
    plan: ScriptDifferences, options: DeployOptions, confirm: Callable[[ScriptDifferences], bool]
) -> bool:
    """True when the user was asked (and said yes); raises when the deploy must not go on."""
    if not plan.isDestructive or (options.auto_confirm and options.allow_destructive):
        return False
    if not options.interactive:
        raise DeployFailedError(NOT_CONFIRMED)
    if not confirm(plan):
        raise DeployAbortedError(ABORTED)
    return True


def _call(client: RuntimeClient, path: str, body: dict[str, Any]) -> Any:
    try:
        return client.post(path, json=body)
    except RuntimeAPIError as exc:
        if exc.status is None:  # not reachable, timed out: the client's message says it all
            raise
        raise DeployFailedError(f"Error deploying:\n{_reason(exc)}", hint=exc.hint) from exc


def _reason(exc: RuntimeAPIError) -> str:
    """The server's message and code, without the client's request prefix."""
    text = exc.message
    marker = f"failed with {exc.status}: "
    return text.split(marker, 1)[1] if marker in text else text
