"""How `nango deploy` shows a plan and its outcome (as Nango's CLI does, reference §5.3)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cli.terminal import console as output
from runtime.deploy.wire import ScriptDifferences, SyncChange, SyncDeploymentResult

RENAMED_MODELS = (
    "Renaming a model is the equivalent of deleting the old model and creating a new one: "
    "the records of the removed models will be deleted."
)


def _connections(count: int) -> str:
    return f" ({count} impacted connection{'s' if count != 1 else ''})"


def _sync_lines(sign: str, changes: Sequence[SyncChange]) -> list[str]:
    return [
        f"  {sign} {output.esc(c.providerConfigKey)} → {output.esc(c.name)}"
        + (_connections(c.connections) if c.connections else "")
        for c in changes
    ]


def _target(key: str, name: str) -> str:
    return f"{output.esc(key)} → {output.esc(name)}"


def _block(title: str, new: list[str], deleted: list[str]) -> list[str]:
    if not new and not deleted:
        return []
    return [f"[bold]\\[{title} +{len(new)} -{len(deleted)}][/bold]", *new, *deleted]


def plan_lines(plan: ScriptDifferences) -> list[str]:
    """The plan as Nango prints it: a block per kind of script, the removed models, a summary."""
    lines = [f"[green]  + integration {output.esc(k)}[/green]" for k in plan.newIntegrations]
    lines += _block(
        "Syncs",
        [f"[green]{line}[/green]" for line in _sync_lines("+", plan.newSyncs)],
        [f"[red]{line}[/red]" for line in _sync_lines("-", plan.deletedSyncs)],
    )
    for title, added, removed in (
        ("Actions", plan.newActions, plan.deletedActions),
        ("OnEvents", plan.newOnEventScripts, plan.deletedOnEventScripts),
    ):
        lines += _block(
            title,
            [f"[green]  + {_target(c.providerConfigKey, c.name)}[/green]" for c in added],
            [f"[red]  - {_target(c.providerConfigKey, c.name)}[/red]" for c in removed],
        )
    if plan.deletedModels:
        lines.append(f"[red]Removed models: {output.esc(', '.join(plan.deletedModels))}[/red]")
        lines.append(f"[red]{RENAMED_MODELS}[/red]")
    created, updated, deleted = _totals(plan)
    if not lines:
        lines.append("Only updates" if updated else "Nothing changes: every script is deployed")
    return [
        "Nango will perform this plan:",
        *lines,
        "[bold]Summary[/bold]",
        f"  to create \\[{created}] to update \\[{updated}] to delete \\[{deleted}]",
    ]


def _totals(plan: ScriptDifferences) -> tuple[int, int, int]:
    created = len(plan.newSyncs) + len(plan.newActions) + len(plan.newOnEventScripts)
    updated = len(plan.updatedSyncs) + len(plan.updatedActions) + len(plan.updatedOnEventScripts)
    deleted = len(plan.deletedSyncs) + len(plan.deletedActions) + len(plan.deletedOnEventScripts)
    return created, updated, deleted


def render_plan(plan: ScriptDifferences) -> None:
    for line in plan_lines(plan):
        output.result(line)
    if not plan.isDestructive:
        output.info("No sync deleted with active connections, proceeding without confirmation")


def render_results(results: Sequence[SyncDeploymentResult]) -> None:
    if not results:
        output.result("Successfully removed the syncs/actions.")
        return
    output.result("Successfully deployed the functions:")
    for result in results:
        note = " [dim](unchanged)[/dim]" if result.unchanged else ""
        output.result(f"- {output.esc(result.name)}@v{output.esc(result.version)}{note}")


def write_json(plan: ScriptDifferences, results: Sequence[SyncDeploymentResult] | None) -> None:
    """`--json`: one object on stdout, `results` null when nothing was deployed."""
    body = {
        "plan": plan.model_dump(mode="json"),
        "results": None if results is None else [r.model_dump(mode="json") for r in results],
    }
    print(json.dumps(body, indent=2))


def ask(plan: ScriptDifferences) -> bool:
    """Ask whether to apply a destructive plan (stderr); True on yes."""
    del plan
    answer = output.stderr().input("Are you sure you want to continue y/n? ")
    return answer.strip().lower() in ("y", "yes")
