"""What a deploy would change (Nango's `ScriptDifferences`, reference §5.3), computed from the
payload and the environment's active scripts.

- Each script of the payload is new (no active version), updated (its code, the project
  modules it imports, `models.py`, its config or its explicit version differ) or unchanged.
- Deletions only outside `single` mode (in `integration` mode, of that integration only): the
  active scripts the payload does not hold.
- `deletedModels`: models a kept sync no longer outputs, listed when its integration has
  connections. Destructive: a deleted sync with connections, or a deleted model.
- Versions as Nango's: an explicit version wins; else unchanged code keeps its version, changed
  code bumps the last one (`x.y.z` -> patch + 1, `7` -> `8`), and a first deploy is "1".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from runtime.deploy.errors import DeployError
from runtime.deploy.wire import (
    ActionChange,
    DeployRequest,
    FileBody,
    FlowConfig,
    OnEventChange,
    ScriptDifferences,
    SyncChange,
)
from runtime.http.providers import UnknownProviderError, get_provider
from runtime.scheduler.frequency import FrequencyError, parse_frequency
from runtime.store import Store
from runtime.store.scripts import Script, ScriptType
from runtime.store.sources import source_hash

Status = Literal["new", "updated", "unchanged"]


@dataclass
class PlannedScript:
    """One script of the payload and what the deploy does with it."""

    integration_key: str
    type: ScriptType
    name: str
    body: FileBody
    files: list[str]
    config: dict[str, Any]
    explicit_version: str | None
    content_hash: str = ""
    file_hashes: dict[str, str] = field(default_factory=dict)
    active: Script | None = None
    version: str = ""
    status: Status = "new"

    @property
    def models(self) -> list[str]:
        return list(self.config.get("output") or [])


@dataclass
class Plan:
    differences: ScriptDifferences
    scripts: list[PlannedScript]
    deleted: list[Script]
    new_integrations: list[str]
    removed_models: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @property
    def is_destructive(self) -> bool:
        return self.differences.isDestructive


def bump(version: str) -> str:
    """The next version after `version`: the last dotted number plus one (`1.2.3` -> `1.2.4`,
    `7` -> `8`), or `.1` appended when it ends with no number."""
    head, dot, last = version.rpartition(".")
    if last.isdigit():
        return f"{head}{dot}{int(last) + 1}"
    return f"{version}.1" if version else "1"


def content_hash(body: FileBody, models_hash: str, files: Mapping[str, str]) -> str:
    """The hash of a script's code: its source and path, `models.py` and its modules."""
    parts = {
        "path": body.path,
        "source": source_hash(body.py),
        "models": models_hash,
        "files": dict(sorted(files.items())),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def flow_config(flow: FlowConfig) -> dict[str, Any]:
    """What is kept of a sync's or action's declaration (`scripts.config`)."""
    config: dict[str, Any] = {
        "path": flow.fileBody.path,
        "input": flow.input,
        "output": list(flow.models),
        "endpoints": [e.model_dump(exclude_none=True) for e in flow.endpoints],
        "description": flow.metadata.description,
        "scopes": list(flow.metadata.scopes or []),
        "features": list(flow.features),
    }
    if flow.type == "sync":
        assert flow.runs is not None
        config.update(
            runs=flow.runs,
            frequency_ms=_frequency_ms(flow.runs),
            auto_start=flow.auto_start,
            track_deletes=flow.track_deletes,
            sync_type=flow.sync_type or "full",
            webhook_subscriptions=list(flow.webhookSubscriptions),
        )
    return config


def _frequency_ms(runs: str) -> int:
    try:
        return int(parse_frequency(runs).milliseconds)
    except FrequencyError as exc:
        raise DeployError(f"runs: {runs!r} is not a valid frequency ({exc.code})") from exc


def planned_scripts(request: DeployRequest) -> list[PlannedScript]:
    """Every script of the payload, in order: flows, then on-event scripts."""
    found = [
        PlannedScript(
            integration_key=flow.providerConfigKey,
            type=flow.type,
            name=flow.syncName,
            body=flow.fileBody,
            files=list(flow.files),
            config=flow_config(flow),
            explicit_version=flow.version or None,
        )
        for flow in request.flowConfigs
    ]
    for group in request.onEventScriptsByProvider:
        found.extend(
            PlannedScript(
                integration_key=group.providerConfigKey,
                type="on-event",
                name=script.name,
                body=script.fileBody,
                files=list(script.files),
                config={"path": script.fileBody.path, "event": script.event},
                explicit_version=None,
            )
            for script in group.scripts
        )
    return found


def compute_plan(store: Store, environment_id: int, request: DeployRequest) -> Plan:
    """The plan of `request` against the environment's active scripts (read from `store`)."""
    scripts = planned_scripts(request)
    new_integrations = _new_integrations(store, environment_id, scripts, request)
    listed = store.scripts.list_active(environment_id)
    active: dict[tuple[str, str, str], Script] = {
        (s.integration_key, s.type, s.name): s for s in listed
    }
    hashes = _Hashes(
        models=source_hash(request.project.models),
        modules={path: source_hash(text) for path, text in request.project.modules.items()},
    )
    for script in scripts:
        _classify(store, environment_id, script, active, hashes)
    deleted = _deleted(request, scripts, active)
    connections = store.scripts.connection_counts(environment_id)
    differences, removed = _differences(scripts, deleted, connections)
    differences.newIntegrations = new_integrations
    return Plan(differences, scripts, deleted, new_integrations, removed)


def _new_integrations(
    store: Store, environment_id: int, scripts: Sequence[PlannedScript], request: DeployRequest
) -> list[str]:
    """Integration keys of the payload that do not exist yet: each must name a provider of the
    catalog (it is created with that provider), else the deploy is refused."""
    keys = list(dict.fromkeys(s.integration_key for s in scripts))
    if request.integration is not None and request.integration not in keys:
        keys.append(request.integration)
    missing = [key for key in keys if store.integrations.get(environment_id, key) is None]
    for key in missing:
        try:
            get_provider(key)
        except UnknownProviderError:
            raise DeployError(
                f'Integration "{key}" does not exist and is not a provider of the catalog: '
                f"create it first with `nango integration create {key} --provider <provider>`",
                code="unknown_provider_config",
            ) from None
    return missing


@dataclass(frozen=True)
class _Hashes:
    models: str
    modules: Mapping[str, str]


def _classify(
    store: Store,
    environment_id: int,
    script: PlannedScript,
    active: Mapping[tuple[str, str, str], Script],
    hashes: _Hashes,
) -> None:
    script.file_hashes = {path: hashes.modules[path] for path in script.files}
    script.content_hash = content_hash(script.body, hashes.models, script.file_hashes)
    current = active.get((script.integration_key, script.type, script.name))
    script.active = current
    if current is None:
        integration = store.integrations.get(environment_id, script.integration_key)
        latest = (
            None
            if integration is None
            else store.scripts.latest(integration.id, script.type, script.name)
        )
        base = bump(latest.version) if latest is not None else "1"
        script.version, script.status = script.explicit_version or base, "new"
        return
    same_code = current.content_hash == script.content_hash
    default = current.version if same_code else bump(current.version)
    script.version = script.explicit_version or default
    same = same_code and current.config == script.config and current.version == script.version
    script.status = "unchanged" if same else "updated"


def _deleted(
    request: DeployRequest,
    scripts: Sequence[PlannedScript],
    active: Mapping[tuple[str, str, str], Script],
) -> list[Script]:
    if request.deployMode == "single":
        return []
    kept = {(s.integration_key, s.type, s.name) for s in scripts}
    scope: set[str] | None = None
    if request.deployMode == "integration":
        scope = {s.integration_key for s in scripts}
        if request.integration is not None:
            scope.add(request.integration)
    return [
        script
        for key, script in active.items()
        if key not in kept and (scope is None or script.integration_key in scope)
    ]


def _differences(
    scripts: Sequence[PlannedScript], deleted: Sequence[Script], connections: Mapping[str, int]
) -> tuple[ScriptDifferences, dict[tuple[str, str], list[str]]]:
    differences = ScriptDifferences()
    removed: dict[tuple[str, str], list[str]] = {}
    for script in scripts:
        if script.status != "unchanged":
            _add_change(differences, script, connections.get(script.integration_key, 0))
        models = _removed_models(script)
        if models:
            removed[(script.integration_key, script.name)] = models
            if connections.get(script.integration_key, 0) > 0:
                differences.deletedModels.extend(
                    m for m in models if m not in differences.deletedModels
                )
    for old in deleted:
        _add_deletion(differences, old, connections.get(old.integration_key, 0))
    impacted = sum(change.connections for change in differences.deletedSyncs)
    differences.isDestructive = impacted > 0 or bool(differences.deletedModels)
    return differences, removed


def _removed_models(script: PlannedScript) -> list[str]:
    if script.type != "sync" or script.active is None:
        return []
    new = set(script.models)
    return [m for m in script.active.config.get("output") or [] if m not in new]


def _add_change(differences: ScriptDifferences, script: PlannedScript, connections: int) -> None:
    is_new = script.status == "new"
    key, name = script.integration_key, script.name
    if script.type == "sync":
        auto_start = bool(script.config.get("auto_start"))
        count = connections if (auto_start or not is_new) else 0
        change = SyncChange(
            name=name, providerConfigKey=key, connections=count, auto_start=auto_start
        )
        (differences.newSyncs if is_new else differences.updatedSyncs).append(change)
    elif script.type == "action":
        action = ActionChange(name=name, providerConfigKey=key)
        (differences.newActions if is_new else differences.updatedActions).append(action)
    else:
        event = OnEventChange(providerConfigKey=key, name=name, event=script.config["event"])
        target = differences.newOnEventScripts if is_new else differences.updatedOnEventScripts
        target.append(event)


def _add_deletion(differences: ScriptDifferences, script: Script, connections: int) -> None:
    key, name = script.integration_key, script.name
    if script.type == "sync":
        auto_start = bool(script.config.get("auto_start"))
        differences.deletedSyncs.append(
            SyncChange(
                name=name, providerConfigKey=key, connections=connections, auto_start=auto_start
            )
        )
    elif script.type == "action":
        differences.deletedActions.append(ActionChange(name=name, providerConfigKey=key))
    else:
        event = str(script.config.get("event", ""))
        differences.deletedOnEventScripts.append(
            OnEventChange(providerConfigKey=key, name=name, event=event)
        )
