"""The parsed configuration, in the shape of Nango's own parser output.

`to_json()` on each object gives exactly the JSON that `@nangohq/nango-yaml` produces, so that
`.nango/nango.json` can be compared with it key for key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

Scalar: TypeAlias = str | int | float | bool | None


@dataclass
class ModelField:
    """One field of a model, or one member of a union or list type.

    Flags left as `None` are absent from the JSON form, as in Nango's parser.
    `value` is a type name, a literal, or a list of member fields (nested object, union, list).
    """

    name: str
    value: Scalar | list[ModelField]
    ts_type: bool | None = None
    model: bool | None = None
    array: bool | None = None
    optional: bool | None = None
    union: bool | None = None
    dynamic: bool | None = None

    @property
    def members(self) -> list[ModelField]:
        """The member fields of a nested object, union or list type (empty for a plain type)."""
        return self.value if isinstance(self.value, list) else []

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        out["value"] = (
            [m.to_json() for m in self.value] if isinstance(self.value, list) else self.value
        )
        flags = {
            "tsType": self.ts_type,
            "model": self.model,
            "array": self.array,
            "optional": self.optional,
            "union": self.union,
            "dynamic": self.dynamic,
        }
        for key in self._key_order():
            if flags[key] is not None:
                out[key] = flags[key]
        return out

    def _key_order(self) -> tuple[str, ...]:
        """The order in which Nango's parser writes the flags of this kind of field (its text
        output, `.nango/nango.json`, keeps it): a model reference is written `model, optional,
        array`, a union `union, optional`, anything else `tsType, array, optional`; `__string`
        adds `dynamic` after those, and then `optional` when the type (a YAML number, boolean or
        null) had none."""
        if self.model:
            order: tuple[str, ...] = ("model", "optional", "array")
        elif self.union:
            order = ("union", "optional")
        else:
            order = ("tsType", "array", "optional")
        if not self.dynamic:
            return order
        if self.ts_type and self.array is None and not isinstance(self.value, list):
            return ("tsType", "dynamic", "optional")
        return (*order, "dynamic")


@dataclass
class Model:
    name: str
    fields: list[ModelField]
    is_anon: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "fields": [f.to_json() for f in self.fields]}
        if self.is_anon:
            out["isAnon"] = True
        return out


@dataclass
class Endpoint:
    method: str
    path: str
    group: str | None = None
    has_group: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.has_group:
            out["group"] = self.group
        return out


@dataclass
class Sync:
    name: str
    description: str
    runs: Any
    output: list[str]
    endpoints: list[Endpoint]
    input: str | None = None
    sync_type: str = "full"
    track_deletes: Any = False
    auto_start: bool = True
    scopes: list[Any] = field(default_factory=list)
    version: Any = ""
    webhook_subscriptions: list[Any] = field(default_factory=list)
    used_models: list[str] = field(default_factory=list)
    has_features: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": "sync",
            "description": self.description,
            "sync_type": self.sync_type,
            "usedModels": list(self.used_models),
            "runs": self.runs,
            "version": self.version,
            "track_deletes": self.track_deletes,
            "auto_start": self.auto_start,
            "input": self.input,
            "output": list(self.output),
            "scopes": list(self.scopes),
            "endpoints": [e.to_json() for e in self.endpoints],
            "webhookSubscriptions": list(self.webhook_subscriptions),
        }
        if self.has_features:
            out["features"] = []
        return out


@dataclass
class Action:
    name: str
    description: str
    output: list[str] | None
    endpoint: Endpoint | None
    input: str | None = None
    scopes: list[Any] = field(default_factory=list)
    version: Any = ""
    used_models: list[str] = field(default_factory=list)
    has_features: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": "action",
            "description": self.description,
            "version": self.version,
            "scopes": list(self.scopes),
            "input": self.input,
            "output": list(self.output) if self.output is not None else None,
            "usedModels": list(self.used_models),
            "endpoint": self.endpoint.to_json() if self.endpoint else None,
        }
        if self.has_features:
            out["features"] = []
        return out


ON_EVENT_TYPES = ("post-connection-creation", "pre-connection-deletion", "validate-connection")


@dataclass
class Integration:
    provider_config_key: str
    syncs: list[Sync] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    on_events: dict[str, list[Any]] = field(
        default_factory=lambda: {event: [] for event in ON_EVENT_TYPES}
    )
    post_connection_scripts: list[Any] = field(default_factory=list)

    def on_event_script_names(self) -> list[str]:
        """Every on-event script name, in order, once (legacy post-connection ones included)."""
        names: dict[str, None] = {}
        for scripts in [*self.on_events.values(), self.post_connection_scripts]:
            names.update((s, None) for s in scripts if isinstance(s, str))
        return list(names)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "providerConfigKey": self.provider_config_key,
            "syncs": [s.to_json() for s in self.syncs],
            "actions": [a.to_json() for a in self.actions],
            "onEventScripts": {k: list(v) for k, v in self.on_events.items()},
        }
        if self.post_connection_scripts:
            out["postConnectionScripts"] = list(self.post_connection_scripts)
        return out


@dataclass
class ParsedConfig:
    yaml_version: str
    integrations: list[Integration]
    models: dict[str, Model]

    def to_json(self) -> dict[str, Any]:
        return {
            "yamlVersion": self.yaml_version,
            "integrations": [i.to_json() for i in self.integrations],
            "models": {name: m.to_json() for name, m in self.models.items()},
        }

    def integration(self, key: str) -> Integration | None:
        return next((i for i in self.integrations if i.provider_config_key == key), None)
