"""Where things are in a user's integration project, and its `.env`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cli.config.model import Action, ParsedConfig, Sync
from runtime.errors import ProjectError, UserError
from runtime.execution.description import ScriptDescription

CONFIG_FILE = "nango.yaml"
ScriptKind = Literal["sync", "action", "on-event"]
KIND_FOLDERS: dict[ScriptKind, str] = {
    "sync": "syncs",
    "action": "actions",
    "on-event": "on-events",
}


ENV_FILE = ".env"


def is_path_segment(name: str) -> bool:
    """True if `name` is one ordinary folder or file name: not empty, not `.` or `..`, without a
    separator, a drive, or a control character."""
    if not name.strip(".") or len(name) > 255:
        return False
    if any(c in name for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return False
    return not Path(name).anchor


class NotAProjectError(ProjectError):
    pass


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def models_file(self) -> Path:
        return self.root / "models.py"

    @property
    def schema_file(self) -> Path:
        return self.root / ".nango" / "schema.json"

    @property
    def nango_json_file(self) -> Path:
        return self.root / ".nango" / "nango.json"

    def script_path(self, integration: str, kind: ScriptKind, name: str) -> Path:
        """`<integration>/<syncs|actions|on-events>/<name>.py` under the root; never outside it.

        nango.yaml's checks already refuse such names: this guards every other caller.
        """
        for part, what in ((integration, "integration id"), (name, "script name")):
            if not is_path_segment(part):
                raise UserError(
                    f"The {what} {part!r} cannot name a file inside the project",
                    hint="Use letters, digits, `_` and `-` (Nango's rules for names).",
                )
        return self.root / integration / KIND_FOLDERS[kind] / f"{name}.py"

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class ScriptRef:
    """One script nango.yaml declares, and where its file belongs."""

    integration: str
    kind: ScriptKind
    name: str
    path: Path
    sync: Sync | None = None
    action: Action | None = None

    def description(self, project: Project) -> ScriptDescription:
        """What `run_script` needs to run this script."""
        sync, action = self.sync, self.action
        return ScriptDescription(
            kind=self.kind,
            name=self.name,
            integration=self.integration,
            path=self.path,
            project_root=project.root,
            input_model=(sync.input if sync else action.input if action else None),
            output_models=tuple(sync.output if sync else (action.output or []) if action else ()),
            declared_models=tuple(sync.output) if sync else (),
            webhook_subscriptions=tuple(str(s) for s in sync.webhook_subscriptions) if sync else (),
            version=_version(sync or action),
        )


def _version(config: Sync | Action | None) -> str:
    return "" if config is None or config.version is None else str(config.version)


def find_project(start: Path) -> Project:
    """The project containing `start`: the nearest folder upwards that holds a nango.yaml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return Project(folder)
    raise NotAProjectError(
        f"Not inside a Nango project: no {CONFIG_FILE} in {start} or any folder above it",
        hint="Run `nango init` to create a project, or cd into one.",
    )


def declared_scripts(project: Project, config: ParsedConfig) -> list[ScriptRef]:
    """Every sync, action and on-event script of the config, in file order."""
    refs: list[ScriptRef] = []
    for integration in config.integrations:
        key = integration.provider_config_key
        for sync in integration.syncs:
            path = project.script_path(key, "sync", sync.name)
            refs.append(ScriptRef(key, "sync", sync.name, path, sync=sync))
        for action in integration.actions:
            path = project.script_path(key, "action", action.name)
            refs.append(ScriptRef(key, "action", action.name, path, action=action))
        for name in integration.on_event_script_names():
            refs.append(
                ScriptRef(key, "on-event", name, project.script_path(key, "on-event", name))
            )
    return refs


def load_env(folder: Path) -> Path | None:
    """Read `folder/.env` into the environment (variables already set win); the file read, if
    any. Quotes, `export`, comments and multi-line values as python-dotenv reads them."""
    path = folder / ENV_FILE
    if not path.is_file():
        return None
    from dotenv import dotenv_values

    try:
        found = dotenv_values(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for key, value in found.items():
        if value is not None and key not in os.environ:
            os.environ[key] = value
    return path


def load_project_env(start: Path) -> Path | None:
    """Read the `.env` of the project containing `start` (or of `start` itself when it is in no
    project): what every command does first."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return load_env(folder)
    return load_env(start)
