"""The structure of nango.yaml (Nango's JSON-schema rules), checked with pydantic.

Only the shape is checked here; the model type language and cross references are checked by
`cli.config.parser`. Every pydantic error is turned into a `ConfigIssue` with Nango's message for
that key where Nango has one.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from cli.config.issues import ConfigIssue
from cli.config.names import name_issues

_VERSION = re.compile(r"^(\d+|\d+\.\d+\.\d+)\Z", re.ASCII)
_SYNC_ENDPOINT = re.compile(r"^(GET\s)?/[a-zA-Z0-9\-./_]+\Z", re.ASCII)
_ACTION_ENDPOINT = re.compile(r"^((GET|POST|PUT|PATCH|DELETE)\s)?/[a-zA-Z0-9\-:{}./_]+\Z", re.ASCII)
_ENDPOINT_PATH = re.compile(r"^/[a-zA-Z0-9\-:{}./_]+\Z")
_GROUP = re.compile(r"^[a-zA-Z _-]{1,64}\Z")
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be empty")
    return value


NotNull = BeforeValidator(_not_null)
Text = Annotated[str | None, NotNull]
Flag = Annotated[bool | None, NotNull]
TextList = Annotated[str | list[str] | None, NotNull]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


def _check_version(value: int | str | None) -> int | str | None:
    if isinstance(value, str) and not _VERSION.match(value):
        raise ValueError("bad version")
    return value


def _check_endpoint_item(
    item: Any, string_pattern: re.Pattern[str], methods: tuple[str, ...]
) -> None:
    if isinstance(item, str):
        if not string_pattern.match(item):
            raise ValueError("bad endpoint")
        return
    if not isinstance(item, dict) or set(item) - {"method", "path", "group"}:
        raise ValueError("bad endpoint")
    method, path, group = item.get("method"), item.get("path"), item.get("group")
    if "method" in item and method not in methods:
        raise ValueError("bad endpoint")
    if not isinstance(path, str) or not _ENDPOINT_PATH.match(path):
        raise ValueError("bad endpoint")
    if "group" in item and not (isinstance(group, str) and _GROUP.match(group)):
        raise ValueError("bad endpoint")


class SyncSpec(_Spec):
    description: Text = None
    sync_type: Annotated[Literal["incremental", "full"] | None, NotNull] = None
    track_deletes: Flag = None
    auto_start: Flag = None
    version: Annotated[int | str | None, NotNull] = None
    runs: str
    endpoint: Any
    scopes: TextList = None
    input: str | None = None
    output: str | list[str]
    webhook_subscriptions: TextList = Field(None, alias="webhook-subscriptions")

    _version = field_validator("version")(_check_version)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: Any) -> Any:
        for item in value if isinstance(value, list) else [value]:
            _check_endpoint_item(item, _SYNC_ENDPOINT, ("GET",))
        return value


class ActionSpec(_Spec):
    description: Text = None
    version: Annotated[int | str | None, NotNull] = None
    endpoint: Any
    scopes: TextList = None
    input: str | None = None
    output: Annotated[str | list[str] | None, NotNull] = None

    _version = field_validator("version")(_check_version)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: Any) -> Any:
        _check_endpoint_item(value, _ACTION_ENDPOINT, _VERBS)
        return value


ScriptNames = Annotated[list[str] | None, NotNull]


class OnEventsSpec(_Spec):
    post_connection_creation: ScriptNames = Field(None, alias="post-connection-creation")
    pre_connection_deletion: ScriptNames = Field(None, alias="pre-connection-deletion")
    validate_connection: ScriptNames = Field(None, alias="validate-connection")


class IntegrationSpec(_Spec):
    syncs: dict[str, SyncSpec | None] | None = None
    actions: dict[str, ActionSpec | None] | None = None
    on_events: OnEventsSpec | None = Field(None, alias="on-events")
    post_connection_scripts: ScriptNames = Field(None, alias="post-connection-scripts")


class NangoYamlV2(_Spec):
    integrations: dict[str, IntegrationSpec]
    models: dict[str, Any] | None = None


class ScriptSpecV1(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str | None = None
    returns: str | list[str] | None = None
    description: str | None = None
    runs: str | None = None
    track_deletes: bool | None = None
    auto_start: bool | None = None


class NangoYamlV1(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    integrations: dict[str, dict[str, ScriptSpecV1 | None]]
    models: dict[str, Any] | None = None


_MESSAGES: dict[str, str] = {
    "description": "description must be a string.",
    "sync_type": "sync_type must be either 'incremental' or 'full'.",
    "track_deletes": "track_deletes must be a boolean.",
    "auto_start": "auto_start must be a boolean.",
    "version": "version must be an integer, string or a semver string. "
    'Example: "10", "1.0.0", or 10',
    "runs": 'runs must be a string and include the word "every".',
    "scopes": "scopes must be a string or an array of strings.",
    "output": "output must be a string or an array of strings.",
    "returns": "returns must be a string or an array of strings.",
    "webhook-subscriptions": "webhook-subscriptions must be a string or an array of strings.",
    "post-connection-scripts": "post-connection-scripts must be an array of strings.",
    "post-connection-creation": "post-connection-creation must be an array of script names.",
    "pre-connection-deletion": "pre-connection-deletion must be an array of script names.",
    "validate-connection": "validate-connection must be an array of script names.",
    "type": "type must be a string (sync or action).",
}
_REQUIRED: dict[tuple[str, str], str] = {
    ("syncs", "endpoint"): "An endpoint property is required to specify how to retrieve the data "
    "from the sync.",
    (
        "syncs",
        "output",
    ): "An output property is required to specify what is the outcome of the sync.",
    (
        "syncs",
        "runs",
    ): 'A runs property is required to say how often the sync runs, e.g. "every hour".',
    (
        "actions",
        "endpoint",
    ): "An endpoint property is required to specify how to trigger the action.",
    (
        "",
        "integrations",
    ): "Invalid file format, you should have at least an `integrations` property "
    "at the root level.",
}
_ENDPOINT_MESSAGES = {
    "syncs": "endpoint must be a URL (or an array of URLs) with an HTTP verb, i.e: `GET /tickets` "
    "or `{method: GET, path: /tickets}`",
    "actions": "endpoint must be a URL with an HTTP verb, i.e: `POST /tickets` or "
    "`{method: POST, path: /tickets}`",
}
_INPUT_MESSAGES = {
    "syncs": "input must be a string and should define any required metadata for the sync.",
    "actions": "input must be a string and should define any required input for the action.",
}


def _field_path(loc: tuple[str | int, ...], version: str) -> tuple[str, ...]:
    """Cut a pydantic location at the key the error is about (drops union-member noise)."""
    parts = tuple(str(p) for p in loc)
    if parts[:1] != ("integrations",) or len(parts) <= 3:
        return parts[:1] if parts[:1] != ("integrations",) else parts
    if version == "v1":
        return parts[:4]
    if parts[2] in ("syncs", "actions"):
        return parts[:5]
    if parts[2] == "on-events":
        return parts[:4]
    return parts[:3]


def _aliases(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _allowed_keys(path: tuple[str, ...]) -> list[str]:
    if len(path) == 1:
        return ["integrations", "models"]
    if len(path) == 3:
        return _aliases(IntegrationSpec)
    containers: dict[str, type[BaseModel]] = {
        "syncs": SyncSpec,
        "actions": ActionSpec,
        "on-events": OnEventsSpec,
    }
    container = containers.get(path[2]) if len(path) >= 4 else None
    return _aliases(container) if container else []


def _unknown_key(path: tuple[str, ...]) -> ConfigIssue:
    key = path[-1]
    allowed = _allowed_keys(path)
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f'Did you mean "{close[0]}"?' if close else None
    if hint is None and allowed:
        hint = f"Allowed keys here: {', '.join(allowed)}."
    return ConfigIssue("unknown_key", f'Unknown key "{key}"', path, hint=hint)


def _issue_for(error: Any, version: str) -> ConfigIssue:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(tuple(str(p) for p in loc))
    path = _field_path(loc, version)
    key = path[-1]
    section = path[2] if len(path) >= 3 else ""
    if kind == "missing":
        message = _REQUIRED.get((section, key)) or _REQUIRED.get(("", key))
        return ConfigIssue("missing_property", message or f'"{key}" is required', path)
    if key == "endpoint":
        return ConfigIssue(
            "invalid_endpoint", _ENDPOINT_MESSAGES.get(section, "bad endpoint"), path
        )
    if key == "input":
        return ConfigIssue(
            "invalid_type", _INPUT_MESSAGES.get(section, "input must be a string."), path
        )
    if key in _MESSAGES:
        return ConfigIssue("invalid_type", _MESSAGES[key], path)
    return ConfigIssue("invalid_type", f"{' > '.join(path)} must be a mapping", path)


def check_structure(raw: Any, version: str) -> list[ConfigIssue]:
    """Every structural problem of a loaded nango.yaml, one issue per offending key."""
    if not isinstance(raw, dict) or "integrations" not in raw:
        return [ConfigIssue("missing_property", _REQUIRED[("", "integrations")], ())]
    schema: type[BaseModel] = NangoYamlV2 if version == "v2" else NangoYamlV1
    issues: dict[tuple[str, ...], ConfigIssue] = {}
    try:
        schema.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            issue = _issue_for(error, version)
            issues.setdefault(issue.path, issue)
    issues.update((i.path, i) for i in name_issues(raw, version))
    return list(issues.values())
