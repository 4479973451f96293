"""nango.yaml (v1 and v2) to `ParsedConfig`, with Nango's defaults and post-parse checks."""

from __future__ import annotations

import re
from typing import Any

from cli.config.issues import IssueList
from cli.config.model import (
    ON_EVENT_TYPES,
    Action,
    Endpoint,
    Integration,
    Model,
    ParsedConfig,
    Sync,
)
from cli.config.model_types import ModelsParser, js_truthy, referenced_models
from runtime.scheduler.frequency import FrequencyError, parse_frequency

_MODEL_IN_URL = re.compile(r"{([^}]+)}")
_NON_ALNUM = re.compile(r"[^A-Za-z0-9_]")
_RUNS_HINT = "Use `every <number><unit>` (e.g. `every 30min`, `every 2 hours`, `every day`)."


def determine_version(raw: Any) -> str:
    """`v2` when the first integration has `syncs`, `actions` or `on-events`; else `v1`."""
    integrations = raw.get("integrations") if isinstance(raw, dict) else None
    if not isinstance(integrations, dict) or not integrations:
        return "v1"
    first = next(iter(integrations.values()))
    is_v2 = isinstance(first, dict) and any(k in first for k in ("syncs", "actions", "on-events"))
    return "v2" if is_v2 else "v1"


def parse_endpoint(raw: Any, default_method: str) -> Endpoint:
    if isinstance(raw, str):
        parts = raw.split(" ")
        if len(parts) > 1:
            return Endpoint(parts[0], parts[1])
        return Endpoint(default_method, parts[0])
    spec = raw if isinstance(raw, dict) else {}
    method = spec.get("method") if js_truthy(spec.get("method")) else default_method
    return Endpoint(str(method), str(spec.get("path", "")), spec.get("group"), "group" in spec)


def anonymous_name(integration: str, kind: str, script: str, role: str) -> str:
    integ = _NON_ALNUM.sub("", integration)
    return f"Anonymous_{integ}_{kind}_{_NON_ALNUM.sub('', script)}_{role}"


def _js_text(value: Any) -> str:
    """A value as a JavaScript template string shows it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join("[object Object]" for _ in value)
    return str(value)


def _scopes(raw: Any) -> list[Any]:
    if isinstance(raw, list):
        return raw
    if isinstance(raw, str):
        return raw.split(",")
    return []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ConfigParser:
    """One parse of one document. `skip` holds paths whose structure was already found invalid."""

    def __init__(self, raw: dict[str, Any], issues: IssueList, skip: set[tuple[str, ...]]) -> None:
        self.raw = raw
        self.issues = issues
        self.skip = skip
        self.models = ModelsParser(_mapping(raw.get("models")), issues)
        self.version = determine_version(raw)

    def parse(self) -> ParsedConfig:
        version = self.version
        self.models.parse_all()
        self.models.report_warnings = False
        integrations: list[Integration] = []
        for key, body in _mapping(self.raw.get("integrations")).items():
            if not js_truthy(body) or not isinstance(body, dict):
                continue
            if version == "v2":
                integrations.append(self._integration_v2(key, body))
            else:
                integrations.append(self._integration_v1(key, body))
        parsed = ParsedConfig(version, integrations, self.models.parsed)
        for integration in integrations:
            self._check_integration(integration)
        return parsed

    # ----- output / input models

    def _outputs(
        self, raw: Any, name: str, kind: str, integ: str, path: tuple[str, ...]
    ) -> list[Model] | None:
        if not js_truthy(raw):
            return None
        models: list[Model] = []
        for item in raw if isinstance(raw, list) else [raw]:
            model = self.models.get(item)
            if model is None:
                anon = anonymous_name(integ, kind, name, "output")
                model = self.models.parse_anonymous(anon, "output", item, path)
                self.models.parsed[anon] = model
            models.append(model)
        return models

    def _input(
        self, raw: Any, name: str, kind: str, integ: str, path: tuple[str, ...]
    ) -> Model | None:
        if not js_truthy(raw):
            return None
        model = self.models.get(raw)
        if model is None:
            anon = anonymous_name(integ, kind, name, "input")
            model = self.models.parse_anonymous(anon, "input", raw, path)
            self.models.parsed[anon] = model
        return model

    # ----- v2

    def _integration_v2(self, key: str, body: dict[str, Any]) -> Integration:
        base = ("integrations", key)
        integration = Integration(key)
        for name, spec in _mapping(body.get("syncs")).items():
            path = (*base, "syncs", name)
            if js_truthy(spec) and isinstance(spec, dict) and path not in self.skip:
                sync = self._sync_v2(key, name, spec, path)
                if sync:
                    integration.syncs.append(sync)
        for name, spec in _mapping(body.get("actions")).items():
            path = (*base, "actions", name)
            if js_truthy(spec) and isinstance(spec, dict) and path not in self.skip:
                integration.actions.append(self._action_v2(key, name, spec, path))
        post_connection = body.get("post-connection-scripts") or []
        on_events = _mapping(body.get("on-events"))
        if post_connection and on_events:
            self.issues.error(
                "both_post_connection_scripts_and_on_events_present",
                "Both post-connection-scripts and on-events are present. "
                "Only one of them can be used at a time.",
                (*base, "on-events"),
                hint="Move the post-connection-scripts under on-events > post-connection-creation.",
            )
        integration.on_events = {e: list(on_events.get(e) or []) for e in ON_EVENT_TYPES}
        integration.post_connection_scripts = list(post_connection)
        return integration

    def _sync_v2(
        self, integ: str, name: str, spec: dict[str, Any], path: tuple[str, ...]
    ) -> Sync | None:
        outputs = self._outputs(spec.get("output"), name, "sync", integ, (*path, "output"))
        if outputs is None:
            return None
        model_input = self._input(spec.get("input"), name, "sync", integ, (*path, "input"))
        endpoints = self._sync_endpoints(spec.get("endpoint"), len(outputs), name, path)
        if endpoints is None or not self._runs_ok(spec.get("runs"), path):
            return None
        hooks = spec.get("webhook-subscriptions")
        used = [m.name for m in outputs] + ([model_input.name] if model_input else [])
        return Sync(
            name=name,
            description=str(spec.get("description") or "").strip(),
            runs=spec.get("runs"),
            output=[m.name for m in outputs],
            endpoints=endpoints,
            input=model_input.name if model_input else None,
            sync_type=_sync_type(spec.get("sync_type")),
            track_deletes=spec.get("track_deletes") or False,
            auto_start=spec.get("auto_start") is not False,
            scopes=_scopes(spec.get("scopes")),
            version=spec.get("version") or "",
            webhook_subscriptions=(hooks if isinstance(hooks, list) else [hooks]) if hooks else [],
            used_models=list(dict.fromkeys(used)),
        )

    def _sync_endpoints(
        self, raw: Any, outputs: int, name: str, path: tuple[str, ...]
    ) -> list[Endpoint] | None:
        if not js_truthy(raw):
            return []
        items = raw if isinstance(raw, list) else [raw]
        if len(items) != outputs:
            self.issues.error(
                "endpoints_mismatch",
                f"The number of endpoints doesn't match the number of models returned by "
                f'"{name}". The endpoints to model should match 1 to 1.',
                (*path, "endpoint"),
                hint="Give one endpoint per output model, in the same order.",
            )
            return None
        return [parse_endpoint(item, "GET") for item in items]

    def _runs_ok(self, runs: Any, path: tuple[str, ...]) -> bool:
        try:
            parse_frequency(str(runs) if runs is not None else "")
        except FrequencyError as exc:
            problem = (
                "is shorter than the 30 second minimum"
                if exc.code == "sync_interval_too_short"
                else "is not a frequency"
            )
            message = f'runs "{runs}" {problem} ({exc.code})'
            self.issues.error("invalid_runs", message, (*path, "runs"), hint=_RUNS_HINT)
            return False
        return True

    def _action_v2(
        self, integ: str, name: str, spec: dict[str, Any], path: tuple[str, ...]
    ) -> Action:
        outputs = self._outputs(spec.get("output"), name, "action", integ, (*path, "output"))
        model_input = self._input(spec.get("input"), name, "action", integ, (*path, "input"))
        used = [m.name for m in outputs or []] + ([model_input.name] if model_input else [])
        endpoint = spec.get("endpoint")
        return Action(
            name=name,
            description=str(spec.get("description") or "").strip(),
            output=[m.name for m in outputs] if outputs else None,
            endpoint=parse_endpoint(endpoint, "POST") if js_truthy(endpoint) else None,
            input=model_input.name if model_input else None,
            scopes=_scopes(spec.get("scopes")),
            version=spec.get("version") or "",
            used_models=list(dict.fromkeys(used)),
        )

    # ----- v1

    def _integration_v1(self, key: str, body: dict[str, Any]) -> Integration:
        integration = Integration(key)
        for name, spec in body.items():
            path = ("integrations", key, name)
            if not js_truthy(spec) or not isinstance(spec, dict) or path in self.skip:
                continue
            outputs = self._outputs(spec.get("returns"), name, "sync", key, (*path, "returns"))
            version = spec.get("version") or ""
            if spec.get("type") == "action":
                output_names = [m.name for m in outputs] if outputs else None
                integration.actions.append(
                    Action(
                        name,
                        str(spec.get("description") or "").strip(),
                        output_names,
                        None,
                        version=version,
                        has_features=False,
                    )
                )
            elif outputs is not None:
                integration.syncs.append(self._sync_v1(name, spec, [m.name for m in outputs]))
        return integration

    def _sync_v1(self, name: str, spec: dict[str, Any], outputs: list[str]) -> Sync:
        return Sync(
            name=name,
            description=spec.get("description") or "",
            runs=spec.get("runs") or "",
            output=outputs,
            endpoints=[],
            sync_type="incremental",
            track_deletes=spec.get("track_deletes") or False,
            auto_start=spec.get("auto_start") is not False,
            version=spec.get("version") or "",
            used_models=list(outputs),
            has_features=False,
        )

    # ----- post-parse checks

    def _check_integration(self, integration: Integration) -> None:
        endpoints: set[str] = set()
        used: set[str] = set()
        key = integration.provider_config_key
        for sync in integration.syncs:
            output_path = self._path(key, "syncs", sync.name, "output")
            sync_used: dict[str, None] = {}
            for output in sync.output:
                if output in used:
                    self._duplicate_model(output, output_path)
                    continue
                used.add(output)
                sync_used.update(dict.fromkeys(referenced_models(self.models, output)))
                self._check_sync_output(output, output_path)
            input_path = self._path(key, "syncs", sync.name, "input")
            self._register_input(sync.input, used, sync_used, input_path)
            endpoint_path = self._path(key, "syncs", sync.name, "endpoint")
            for endpoint in sync.endpoints:
                self._check_endpoint(endpoint, endpoints, endpoint_path, split_field=False)
            sync.used_models = list(sync_used)
        for action in integration.actions:
            self._check_action(action, used, endpoints, key)

    def _path(self, integration: str, section: str, name: str, key: str) -> tuple[str, ...]:
        """Document path of a script's key (v1 has no sections and calls `output` `returns`)."""
        if self.version == "v1":
            return ("integrations", integration, name, "returns" if key == "output" else key)
        return ("integrations", integration, section, name, key)

    def _check_action(
        self, action: Action, used: set[str], endpoints: set[str], integration: str
    ) -> None:
        action_used: dict[str, None] = {}
        output_path = self._path(integration, "actions", action.name, "output")
        for output in action.output or []:
            if output in action_used:
                self._duplicate_model(output, output_path)
                continue
            used.add(output)
            action_used.update(dict.fromkeys(referenced_models(self.models, output)))
            self._literal_warning(output, output_path)
        input_path = self._path(integration, "actions", action.name, "input")
        self._register_input(action.input, used, action_used, input_path)
        endpoint_path = self._path(integration, "actions", action.name, "endpoint")
        if action.endpoint and not self._check_endpoint(
            action.endpoint, endpoints, endpoint_path, True
        ):
            return
        action.used_models = list(action_used)

    def _register_input(
        self, name: str | None, used: set[str], script_used: dict[str, None], path: tuple[str, ...]
    ) -> None:
        if not name:
            return
        self._literal_warning(name, path)
        used.add(name)
        script_used[name] = None
        script_used.update(dict.fromkeys(referenced_models(self.models, name)))

    def _check_sync_output(self, output: str, path: tuple[str, ...]) -> None:
        model = self.models.get(output)
        if model is None:
            return
        if not any(f.name == "id" for f in model.fields):
            self.issues.error(
                "model_missing_id",
                f'Model "{output}" doesn\'t have an id field. '
                "This is required to be able to uniquely identify the data record",
                path,
                hint=f"Add `id: string` (or `id: number`) to {output}.",
            )
            return
        self._literal_warning(output, path)

    def _literal_warning(self, name: str, path: tuple[str, ...]) -> None:
        model = self.models.get(name)
        if not name.startswith("Anonymous") or model is None or not model.fields:
            return
        if not model.fields[0].union:
            self.issues.warning(
                "model_is_literal",
                f'A literal type "{_js_text(model.fields[0].value)}" was parsed, which might be '
                "an error. It is recommended to use a Model for input and output.",
                path,
            )

    def _duplicate_model(self, name: str, path: tuple[str, ...]) -> None:
        self.issues.error(
            "duplicate_model",
            f'Model "{name}" is used multiple times. '
            "Please make sure all models are unique within an integration.",
            path,
            hint="Each sync of an integration needs output models of its own.",
        )

    def _check_endpoint(
        self, endpoint: Endpoint, seen: set[str], path: tuple[str, ...], split_field: bool
    ) -> bool:
        text = f"{endpoint.method} {endpoint.path}"
        if text in seen:
            self.issues.error(
                "duplicate_endpoint",
                f'Endpoint "{text}" is used multiple times. '
                "Please make sure all endpoints are unique.",
                path,
            )
            return False
        seen.add(text)
        match = _MODEL_IN_URL.search(endpoint.path)
        if match:
            model_name = match.group(1).split(":")[0] if split_field else match.group(1)
            if self.models.get(model_name) is None:
                self.issues.error("model_not_found", f'Model "{model_name}" does not exists', path)
        return True


def _sync_type(raw: Any) -> str:
    return "incremental" if isinstance(raw, str) and raw.lower() == "incremental" else "full"
