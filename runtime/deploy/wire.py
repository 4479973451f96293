"""The deploy payload and answers, shared by `nango deploy` (which builds them) and the runtime
(which validates them): `POST /sync/deploy/confirmation` answers `ScriptDifferences`,
`POST /sync/deploy` a list of `SyncDeploymentResult`.

The shapes follow Nango's (`CLIDeployFlowConfig`, `ScriptDifferences`, reference §5) with the
field names Nango uses, and with what a Python project needs instead of a JavaScript bundle:
each script's Python source (`fileBody.py`, at its path in the project), the project's
`models.py`, `.nango/nango.json`, `.nango/schema.json` and the other project modules it imports.
Validation is strict, as Nango's (§5.2); a bad body is a 400 `invalid_body` with every error.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ActionChange",
    "DeployRequest",
    "Endpoint",
    "FileBody",
    "FlowConfig",
    "FlowMetadata",
    "OnEventChange",
    "OnEventScript",
    "OnEventScriptsByProvider",
    "ProjectFiles",
    "ScriptDifferences",
    "SyncChange",
    "SyncDeploymentResult",
    "is_safe_module_path",
]

NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"
KEY_PATTERN = r"^[a-zA-Z0-9~:.@ _-]+$"
SDK_VERSION_PATTERN = r"^\d+\.\d+\.\d+-(zero|yaml|py)$"
_UNITS = r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)"
RUNS_PATTERN = re.compile(
    rf"^(every )?((\d+)?\s?{_UNITS}|(month|week|half day|half hour|quarter hour))$"
)
ON_EVENTS = ("post-connection-creation", "pre-connection-deletion", "validate-connection")
MAX_MODULES = 500

Name = Annotated[str, Field(min_length=1, max_length=255, pattern=NAME_PATTERN)]
Key = Annotated[str, Field(min_length=1, max_length=255, pattern=KEY_PATTERN)]
ModelName = Annotated[str, Field(min_length=1, max_length=255)]
Subscription = Annotated[str, Field(min_length=1, max_length=255)]
Event = Literal["post-connection-creation", "pre-connection-deletion", "validate-connection"]


def is_safe_module_path(path: str) -> bool:
    """A relative POSIX path to a `.py` file inside the project: no `..`, no absolute path, no
    hidden part, no backslash or NUL."""
    if not path or "\\" in path or "\x00" in path or len(path) > 1024:
        return False
    pure = PurePosixPath(path)
    return (
        not pure.is_absolute()
        and pure.suffix == ".py"
        and all(part not in ("", ".", "..") and not part.startswith(".") for part in pure.parts)
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Endpoint(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(min_length=1, max_length=1024)
    group: str | None = Field(default=None, min_length=1, max_length=64)


class FlowMetadata(_Strict):
    description: str | None = Field(default=None, max_length=2000)
    scopes: list[str] | None = None


class FileBody(_Strict):
    """A script's source and where it lives in the project (`github/syncs/issues.py`)."""

    py: str
    path: str

    @field_validator("path")
    @classmethod
    def _safe_path(cls, value: str) -> str:
        if not is_safe_module_path(value) or value == "models.py":
            raise ValueError("must be a relative path to a .py file inside the project")
        return value


class FlowConfig(_Strict):
    """A sync or an action, as `nango deploy` sends it."""

    type: Literal["sync", "action"]
    syncName: Name
    providerConfigKey: Key
    models: list[ModelName] = Field(default_factory=list)
    version: str | None = Field(default=None, max_length=255)
    runs: str | None = None
    track_deletes: bool = False
    auto_start: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)
    metadata: FlowMetadata = Field(default_factory=FlowMetadata)
    input: str | None = Field(default=None, max_length=255)
    sync_type: Literal["full", "incremental"] | None = None
    fileBody: FileBody
    files: list[str] = Field(default_factory=list, max_length=MAX_MODULES)
    endpoints: list[Endpoint] = Field(default_factory=list)
    webhookSubscriptions: list[Subscription] = Field(default_factory=list)
    models_json_schema: dict[str, Any] | None = None
    features: list[Literal["checkpoints"]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> FlowConfig:
        if self.type == "sync":
            if not self.runs or not RUNS_PATTERN.match(self.runs):
                raise ValueError(f"runs: {self.runs!r} is not a valid frequency")
            if self.sync_type == "incremental" and self.track_deletes:
                raise ValueError("Track deletes is not supported for incremental syncs")
        elif self.runs not in (None, ""):
            raise ValueError("runs: an action has no frequency")
        _check_schema(self.models_json_schema, self.models, self.input)
        return self


class OnEventScript(_Strict):
    name: Name
    fileBody: FileBody
    files: list[str] = Field(default_factory=list, max_length=MAX_MODULES)
    event: Event


class OnEventScriptsByProvider(_Strict):
    providerConfigKey: Key
    scripts: list[OnEventScript]


class ProjectFiles(_Strict):
    """Files of the project every script shares: `models.py`, the generated `.nango/` files and
    the project's other modules (relative path -> text)."""

    models: str
    nangoJson: str | None = None
    schemaJson: str | None = None
    modules: dict[str, str] = Field(default_factory=dict, max_length=MAX_MODULES)

    @field_validator("modules")
    @classmethod
    def _safe_paths(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [path for path in value if not is_safe_module_path(path) or path == "models.py"]
        if bad:
            raise ValueError(f"not a project module path: {bad[0]!r}")
        return value


class DeployRequest(_Strict):
    """The body of both deploy endpoints. `allowDestructive`: apply a plan that removes a sync
    with connections or a model (the CLI sets it once the user confirmed)."""

    flowConfigs: list[FlowConfig] = Field(default_factory=list)
    onEventScriptsByProvider: list[OnEventScriptsByProvider] = Field(default_factory=list)
    deployMode: Literal["all", "integration", "single"] = "all"
    integration: Key | None = None
    reconcile: bool = False
    debug: bool = False
    sdkVersion: str = Field(pattern=SDK_VERSION_PATTERN)
    project: ProjectFiles
    allowDestructive: bool = False
    nangoYamlBody: str | None = None
    source: Literal["standalone", "repo"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> DeployRequest:
        seen: set[tuple[str, str, str]] = set()
        for flow in self.flowConfigs:
            _once(seen, (flow.providerConfigKey, flow.type, flow.syncName))
            _known_files(flow.files, self.project)
        for group in self.onEventScriptsByProvider:
            for script in group.scripts:
                _once(seen, (group.providerConfigKey, "on-event", script.name))
                _known_files(script.files, self.project)
        if self.deployMode == "integration" and self.integration is not None:
            keys = {key for key, _type, _name in seen}
            if keys - {self.integration}:
                raise ValueError("an integration deploy only holds scripts of that integration")
        return self


def _once(seen: set[tuple[str, str, str]], key: tuple[str, str, str]) -> None:
    if key in seen:
        raise ValueError(f"the {key[1]} {key[0]}/{key[2]} is listed twice")
    seen.add(key)


def _known_files(files: list[str], project: ProjectFiles) -> None:
    missing = [path for path in files if path not in project.modules]
    if missing:
        raise ValueError(f"files: {missing[0]!r} is not among the project modules sent")


def _check_schema(schema: dict[str, Any] | None, models: list[str], input: str | None) -> None:
    if schema is None:
        return
    definitions = schema.get("definitions")
    if not isinstance(definitions, dict):
        raise ValueError("models_json_schema must have definitions")
    missing = [name for name in [*models, *([input] if input else [])] if name not in definitions]
    if missing:
        raise ValueError(f"models_json_schema has no definition of {missing[0]}")


# --- answers ---------------------------------------------------------------------------------


class SyncChange(BaseModel):
    name: str
    providerConfigKey: str
    connections: int
    auto_start: bool


class ActionChange(BaseModel):
    name: str
    providerConfigKey: str


class OnEventChange(BaseModel):
    providerConfigKey: str
    name: str
    event: str


class ScriptDifferences(BaseModel):
    """What a deploy would do (Nango's `ScriptDifferences`), plus `newIntegrations` (created
    from the provider catalog) and `isDestructive` (a sync with connections or a model goes)."""

    newSyncs: list[SyncChange] = Field(default_factory=list)
    updatedSyncs: list[SyncChange] = Field(default_factory=list)
    deletedSyncs: list[SyncChange] = Field(default_factory=list)
    newActions: list[ActionChange] = Field(default_factory=list)
    updatedActions: list[ActionChange] = Field(default_factory=list)
    deletedActions: list[ActionChange] = Field(default_factory=list)
    deletedModels: list[str] = Field(default_factory=list)
    newOnEventScripts: list[OnEventChange] = Field(default_factory=list)
    updatedOnEventScripts: list[OnEventChange] = Field(default_factory=list)
    deletedOnEventScripts: list[OnEventChange] = Field(default_factory=list)
    newIntegrations: list[str] = Field(default_factory=list)
    isDestructive: bool = False


class SyncDeploymentResult(BaseModel):
    """One deployed script; `unchanged` when its content and config were already deployed (its
    version stays)."""

    name: str
    version: str
    providerConfigKey: str
    type: Literal["sync", "action", "on-event"]
    models: list[str] = Field(default_factory=list)
    unchanged: bool = False
