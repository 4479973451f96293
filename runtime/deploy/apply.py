"""Apply a deploy: in ONE transaction, behind a per-environment lock (deploys to one environment
are serialised; a failure anywhere changes nothing).

What it does, after computing the plan again under the lock (`runtime.deploy.plan`):
- refuses a destructive plan unless the request says `allowDestructive`;
- creates the integrations the plan names from the provider catalog;
- keeps every source (content-addressed) and adds a deployment row;
- adds a version of each new or changed script (unchanged ones are skipped: their version stays);
- a new sync gets a schedule for every existing connection of its integration, STARTED (due at
  once) iff `auto_start`; a changed `runs` reschedules the sync's schedules on the new grid;
- a removed sync loses its schedules (its active runs are cancelled) and its checkpoints, and
  the records of the models no remaining sync of the integration outputs; so do the models a
  kept sync stopped outputting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtime.deploy.errors import DeployError
from runtime.deploy.plan import Plan, PlannedScript, compute_plan
from runtime.deploy.wire import DeployRequest, SyncDeploymentResult
from runtime.store import ConnectionFilter, Store
from runtime.store.base import lock_key
from runtime.store.scripts import NewScript, Script
from runtime.store.syncs import spec_of

__all__ = ["DeployOutcome", "apply_deploy", "plan_deploy"]

_DESTRUCTIVE = (
    "This deploy removes a sync that has connections, or a model: its records would be deleted. "
    "Confirm it (nango deploy --auto-confirm --allow-destructive)."
)


@dataclass(frozen=True)
class DeployOutcome:
    plan: Plan
    results: list[SyncDeploymentResult]
    deployment_id: int


def plan_deploy(store: Store, environment_id: int, request: DeployRequest) -> Plan:
    """What `apply_deploy` would do now (nothing is written)."""
    with store.transaction() as tx:
        return compute_plan(tx, environment_id, request)


def apply_deploy(store: Store, environment_id: int, request: DeployRequest) -> DeployOutcome:
    """Apply `request` to the environment (see the module docstring)."""
    with store.transaction() as tx:
        with tx.database.write() as connection:
            tx.database.advisory_lock(connection, lock_key("deploy", environment_id))
        plan = compute_plan(tx, environment_id, request)
        if plan.is_destructive and not request.allowDestructive:
            raise DeployError(_DESTRUCTIVE, code="destructive_deploy_not_confirmed")
        integrations = _integration_ids(tx, environment_id, plan)
        models_hash = tx.sources.put(request.project.models)
        tx.sources.put_many(
            [
                *request.project.modules.values(),
                *(s.body.py for s in plan.scripts),
                *(t for t in (request.project.nangoJson, request.project.schemaJson) if t),
            ]
        )
        deployment = tx.scripts.create_deployment(
            environment_id,
            mode=request.deployMode,
            sdk_version=request.sdkVersion,
            summary=_summary(tx, request, plan),
        )
        for script in plan.scripts:
            if script.status != "unchanged":
                _apply_script(tx, environment_id, deployment, integrations, script, models_hash)
        for old in plan.deleted:
            _remove_script(tx, environment_id, old)
        _purge_orphaned_models(tx, environment_id, plan)
    return DeployOutcome(plan, [_result(script) for script in plan.scripts], deployment)


def _integration_ids(store: Store, environment_id: int, plan: Plan) -> dict[str, int]:
    for key in plan.new_integrations:
        store.integrations.create(environment_id, key, key)
    ids: dict[str, int] = {}
    for script in plan.scripts:
        key = script.integration_key
        if key not in ids:
            integration = store.integrations.get(environment_id, key)
            assert integration is not None
            ids[key] = integration.id
    return ids


def _summary(store: Store, request: DeployRequest, plan: Plan) -> dict[str, object]:
    project = request.project
    files = {"models.py": store.sources.put(project.models)}
    if project.nangoJson:
        files[".nango/nango.json"] = store.sources.put(project.nangoJson)
    if project.schemaJson:
        files[".nango/schema.json"] = store.sources.put(project.schemaJson)
    counts = dict.fromkeys(("new", "updated", "unchanged"), 0)
    for script in plan.scripts:
        counts[script.status] += 1
    return {"files": files, "scripts": counts, "deleted": len(plan.deleted)}


def _apply_script(
    store: Store,
    environment_id: int,
    deployment: int,
    integrations: dict[str, int],
    script: PlannedScript,
    models_hash: str,
) -> None:
    integration_id = integrations[script.integration_key]
    new = NewScript(
        integration_id=integration_id,
        name=script.name,
        type=script.type,
        version=script.version,
        config=script.config,
        source_hash=store.sources.put(script.body.py),
        models_hash=models_hash,
        files=script.file_hashes,
        content_hash=script.content_hash,
    )
    previous = script.active
    store.scripts.activate(environment_id, deployment, new)
    if script.type != "sync":
        return
    spec = spec_of(script.name, script.config)
    if previous is None:
        store.syncs.ensure_for_integration(integration_id, spec)
    elif previous.config.get("frequency_ms") != script.config.get("frequency_ms"):
        schedules = store.syncs.of_integration(integration_id, script.name)
        store.syncs.reschedule([s.id for s in schedules], spec.frequency_ms)


def _remove_script(store: Store, environment_id: int, script: Script) -> None:
    store.scripts.remove(script.integration_id, script.type, script.name)
    if script.type != "sync":
        return
    schedules = store.syncs.of_integration(script.integration_id, script.name)
    ids = [schedule.id for schedule in schedules]
    store.tasks.cancel_for_syncs(ids, reason="the sync was removed by a deploy")
    store.syncs.remove(ids)
    for connection_id in _connection_ids(store, environment_id, script.integration_key):
        store.checkpoints.clear_prefix(connection_id, f"sync:{script.name}")


def _purge_orphaned_models(store: Store, environment_id: int, plan: Plan) -> None:
    """Delete the records of models that a removed or changed sync output and that no sync of
    the integration outputs any more."""
    dropped: dict[str, set[str]] = {}
    for old in plan.deleted:
        if old.type == "sync":
            dropped.setdefault(old.integration_key, set()).update(old.config.get("output") or [])
    for (key, _name), removed in plan.removed_models.items():
        dropped.setdefault(key, set()).update(removed)
    for key, models in dropped.items():
        still = _models_still_output(store, environment_id, key)
        for connection_id in _connection_ids(store, environment_id, key):
            for model in sorted(models - still):
                store.records.delete_all_for_model(connection_id, model)


def _models_still_output(store: Store, environment_id: int, key: str) -> set[str]:
    active = store.scripts.list_active(environment_id, integration_key=key, type="sync")
    return {model for script in active for model in script.config.get("output") or []}


def _connection_ids(store: Store, environment_id: int, key: str) -> Iterable[int]:
    found = store.connections.list_all(environment_id, ConnectionFilter(integration_keys=[key]))
    return [connection.id for connection in found]


def _result(script: PlannedScript) -> SyncDeploymentResult:
    return SyncDeploymentResult(
        name=script.name,
        version=script.version,
        providerConfigKey=script.integration_key,
        type=script.type,
        models=script.models,
        unchanged=script.status == "unchanged",
    )
