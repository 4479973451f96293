"""Pack a project into a deploy request (`runtime.deploy.wire.DeployRequest`).

What goes in: each selected script's source at its path in the project, `models.py`,
`.nango/nango.json`, `.nango/schema.json`, and the project's own modules each script imports
(found by following its `import` statements, as a bundler would: a module imported only
dynamically, through `importlib`, is not packed). Scripts are selected by deploy mode: `single`
(`--sync` / `--action`: that script only, no on-event scripts), `integration` (`--integration`:
that integration's scripts), or `all`.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cli.config.model import Action, Integration, ParsedConfig, Sync
from cli.project import Project, ScriptRef, declared_scripts
from runtime import __version__
from runtime.deploy.wire import DeployRequest, is_safe_module_path
from runtime.errors import UserError

__all__ = ["MAX_FILE_BYTES", "MAX_PACK_BYTES", "PackOptions", "pack_project", "project_imports"]

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PACK_BYTES = 50 * 1024 * 1024
SDK_VERSION = f"{__version__}-py"
_SKIPPED_PARTS = frozenset({".venv", "venv", "site-packages", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class PackOptions:
    version: str | None = None
    sync: str | None = None
    action: str | None = None
    integration: str | None = None

    @property
    def mode(self) -> str:
        if self.sync or self.action:
            return "single"
        return "integration" if self.integration else "all"


class PackError(UserError):
    """The project cannot be packed as asked (an unknown script, a file too large...)."""


def pack_project(project: Project, config: ParsedConfig, options: PackOptions) -> DeployRequest:
    """The deploy request for `project` (already generated and compiled)."""
    scripts = _selected(project, config, options)
    if not any(s.kind in ("sync", "action") for s in scripts):
        raise PackError("No syncs or actions to deploy", hint="Declare one in nango.yaml.")
    budget = _Budget()
    modules: dict[str, str] = {}
    flows: list[dict[str, Any]] = []
    on_events: dict[str, list[dict[str, Any]]] = {}
    schema = _read_json(project.schema_file)
    for script in scripts:
        body = {"py": budget.read(project, script.path), "path": project.relative(script.path)}
        files = project_imports(project.root, script.path)
        for path in files:
            modules.setdefault(path, budget.read(project, project.root / path))
        if script.kind == "on-event":
            event = _event_of(config, script)
            entry = {"name": script.name, "fileBody": body, "files": files, "event": event}
            on_events.setdefault(script.integration, []).append(entry)
        else:
            flows.append(_flow(script, body, files, options.version, schema))
    payload = {
        "flowConfigs": flows,
        "onEventScriptsByProvider": [
            {"providerConfigKey": key, "scripts": entries} for key, entries in on_events.items()
        ],
        "deployMode": options.mode,
        "integration": options.integration,
        "sdkVersion": SDK_VERSION,
        "project": {
            "models": budget.read(project, project.models_file),
            "nangoJson": _optional(budget, project, project.nango_json_file),
            "schemaJson": _optional(budget, project, project.schema_file),
            "modules": modules,
        },
    }
    return _validated(payload)


def _validated(payload: dict[str, Any]) -> DeployRequest:
    try:
        return DeployRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise PackError(
            f"The project cannot be deployed: {problems}",
            hint="Fix nango.yaml (the runtime accepts what Nango's deploy accepts).",
        ) from exc


def _selected(project: Project, config: ParsedConfig, options: PackOptions) -> list[ScriptRef]:
    scripts = declared_scripts(project, config)
    if options.integration and config.integration(options.integration) is None:
        raise PackError(f"No integration {options.integration!r} in nango.yaml")
    if options.integration:
        scripts = [s for s in scripts if s.integration == options.integration]
    if options.mode != "single":
        return scripts
    kind, name = ("sync", options.sync) if options.sync else ("action", options.action)
    found = [s for s in scripts if s.kind == kind and s.name == name]
    if not found:
        raise PackError(f"No {kind} named {name!r} in nango.yaml", hint="Check the name.")
    if len(found) > 1:
        keys = ", ".join(s.integration for s in found)
        raise PackError(
            f"The {kind} {name!r} exists in several integrations ({keys})",
            hint="Name one with --integration.",
        )
    return found


def _flow(
    script: ScriptRef,
    body: dict[str, str],
    files: list[str],
    version: str | None,
    schema: dict[str, Any] | None,
) -> dict[str, Any]:
    config: Sync | Action | None = script.sync or script.action
    assert config is not None
    flow: dict[str, Any] = {
        "type": script.kind,
        "syncName": script.name,
        "providerConfigKey": script.integration,
        "version": version or (str(config.version) if config.version else None),
        "metadata": {"description": config.description or None, "scopes": _texts(config.scopes)},
        "input": config.input,
        "fileBody": body,
        "files": files,
        "models_json_schema": _schema_for(schema, _models(config), config.input),
    }
    if isinstance(config, Sync):
        flow.update(
            models=list(config.output),
            runs=str(config.runs) if config.runs is not None else None,
            track_deletes=bool(config.track_deletes),
            auto_start=bool(config.auto_start),
            sync_type=config.sync_type if config.sync_type in ("full", "incremental") else None,
            endpoints=[_endpoint(e) for e in config.endpoints],
            webhookSubscriptions=_texts(config.webhook_subscriptions),
        )
    else:
        flow.update(
            models=list(config.output or []),
            runs=None,
            endpoints=[_endpoint(config.endpoint)] if config.endpoint else [],
        )
    return flow


def _models(config: Sync | Action) -> list[str]:
    return list(config.output or [])


def _endpoint(endpoint: Any) -> dict[str, Any]:
    found = {"method": endpoint.method, "path": endpoint.path}
    if endpoint.group:
        found["group"] = endpoint.group
    return found


def _texts(values: Iterable[Any]) -> list[str]:
    return [str(value) for value in values]


def _schema_for(
    schema: dict[str, Any] | None, models: list[str], input: str | None
) -> dict[str, Any] | None:
    definitions = schema.get("definitions") if isinstance(schema, dict) else None
    if not isinstance(definitions, dict):
        return None
    wanted = [*models, *([input] if input else [])]
    if any(name not in definitions for name in wanted):
        return None  # a non-model input or output (`string`...): nothing to describe
    return {"definitions": {name: definitions[name] for name in wanted}}


def _event_of(config: ParsedConfig, script: ScriptRef) -> str:
    integration: Integration | None = config.integration(script.integration)
    if integration is not None:
        for event, names in integration.on_events.items():
            if script.name in names:
                return event
    return "post-connection-creation"  # legacy post-connection scripts


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _optional(budget: _Budget, project: Project, path: Path) -> str | None:
    return budget.read(project, path) if path.is_file() else None


class _Budget:
    """Reads files for the pack, within the size limits."""

    def __init__(self) -> None:
        self.total = 0

    def read(self, project: Project, path: Path) -> str:
        shown = project.relative(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PackError(f"cannot read {shown}: {exc.strerror or exc}") from exc
        if len(data) > MAX_FILE_BYTES:
            raise PackError(
                f"{shown} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                hint="Deployed files are Python sources; keep data out of the project's modules.",
            )
        self.total += len(data)
        if self.total > MAX_PACK_BYTES:
            raise PackError(
                f"The deploy is larger than {MAX_PACK_BYTES // (1024 * 1024)} MB",
                hint="Deploy fewer scripts at once (--integration), or slim their modules.",
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PackError(f"{shown} is not UTF-8 text") from exc


def project_imports(root: Path, script: Path) -> list[str]:
    """The project modules (relative paths) that `script` imports, directly or through other
    project modules; `models.py` is shipped on its own and not listed."""
    root = root.resolve()
    found: dict[str, None] = {}
    queue = [script.resolve()]
    seen: set[Path] = set()
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        for module in _imported_names(current, root):
            for path in _module_files(root, module):
                relative = path.relative_to(root).as_posix()
                if relative != "models.py" and relative not in found:
                    found[relative] = None
                    queue.append(path)
    return sorted(found)


def _imported_names(path: Path, root: Path) -> list[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, path, root)
            if base is not None:
                names.append(base)
                names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _absolute(node: ast.ImportFrom, path: Path, root: Path) -> str | None:
    if node.level == 0:
        return node.module
    package = path.parent
    for _ in range(node.level - 1):
        package = package.parent
    try:
        parts = list(package.relative_to(root).parts)
    except ValueError:
        return None
    if node.module:
        parts.append(node.module)
    return ".".join(parts) or None


def _module_files(root: Path, module: str) -> list[Path]:
    """The project files importing `module` runs: each package's `__init__.py` on the way and
    the module's own file."""
    parts = module.split(".")
    files: list[Path] = []
    for depth in range(1, len(parts) + 1):
        base = root.joinpath(*parts[:depth])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file() and _is_packable(root, candidate):
                files.append(candidate)
    return files


def _is_packable(root: Path, path: Path) -> bool:
    relative = path.resolve().relative_to(root).as_posix() if _inside(root, path) else ""
    parts = set(Path(relative).parts)
    return bool(relative) and is_safe_module_path(relative) and not (parts & _SKIPPED_PARTS)


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True
