"""The warm state of `nango dev`: the last valid config, the scripts it declares, what each
script's models looked like, and the latest status of every script. A cycle turns a set of
changed files into the work they call for, and nothing more."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

from cli.codegen.generate import StubRenderer, render_generated_files, write_if_changed
from cli.config.issues import ConfigError, ConfigIssue
from cli.config.loader import LoadedConfig, load_config
from cli.config.model import ModelField, ParsedConfig
from cli.deploy.pack import project_imports
from cli.dev.changes import ChangeSet, ContentTracker, classify
from cli.dev.checking import check_script
from cli.dev.env import EnvFile
from cli.dev.events import CycleResult, Problem, ScriptStatus
from cli.project import Project, ScriptRef, declared_scripts
from runtime.errors import UserError
from runtime.execution.loader import loader_for

__all__ = ["DevSession", "script_key"]


def script_key(script: ScriptRef) -> str:
    return f"{script.integration}/{script.kind}/{script.name}"


class DevSession:
    """One project watched by `nango dev` (see the module docstring)."""

    def __init__(self, project: Project, *, run_tests: bool = True, timeout_s: float = 60.0):
        self.project = project
        self.run_tests = run_tests
        self.timeout_s = timeout_s
        self.loader = loader_for(project.root)
        self.config: LoadedConfig | None = None
        self.config_errors: list[Problem] = []
        self.config_warnings: list[Problem] = []
        self.scripts: list[ScriptRef] = []
        self.statuses: dict[str, ScriptStatus] = {}
        self.cycles = 0
        self.tracker = ContentTracker()
        self.env = EnvFile(project.root)
        self._signatures: dict[str, str] = {}

    # --- cycles --------------------------------------------------------------------------------

    def start(self) -> CycleResult:
        """The first cycle: generate, then compile and test every script."""
        started = time.perf_counter()
        result = self._new([])
        self.tracker.remember([self.project.config_file, self.env.path])
        self._load_config(result)
        self.tracker.remember(self._watched_files())
        self._run(result, self.scripts)
        return self._finish(result, started)

    def changes(self, paths: Iterable[Path]) -> ChangeSet:
        """The files among `paths` that matter and whose content really changed."""
        relevant = classify(self.project.root, paths).paths
        return classify(self.project.root, self.tracker.changed(relevant))

    def cycle(self, changes: ChangeSet) -> CycleResult:
        """Regenerate, compile and test what `changes` touched."""
        started = time.perf_counter()
        result = self._new(changes.paths)
        if changes.env:
            self.env.reload()
            result.env_reloaded = True
        todo: set[str] = set()
        if changes.config:
            todo |= self._load_config(result)
        for path in changes.modules:
            todo |= self._affected_by_module(path)
        for integration, files in changes.fixtures.items():
            todo |= self._affected_by_fixtures(integration, files)
        self._run(result, [s for s in self.scripts if script_key(s) in todo])
        return self._finish(result, started)

    def _new(self, paths: list[Path]) -> CycleResult:
        self.cycles += 1
        return CycleResult(self.cycles, [self.project.relative(p) for p in paths])

    def _run(self, result: CycleResult, scripts: list[ScriptRef]) -> None:
        for script in scripts:
            status = check_script(
                self.project,
                script,
                self.loader,
                run_tests=self.run_tests,
                timeout_s=self.timeout_s,
            )
            self.statuses[script_key(script)] = status
            result.scripts.append(status)

    def _finish(self, result: CycleResult, started: float) -> CycleResult:
        result.config_errors = list(self.config_errors)
        result.warnings = list(self.config_warnings)
        result.every_script = self.current()
        result.duration_s = time.perf_counter() - started
        return result

    def current(self) -> list[ScriptStatus]:
        """The latest status of every declared script (in nango.yaml's order)."""
        found = (self.statuses.get(script_key(s)) for s in self.scripts)
        return [status for status in found if status is not None]

    # --- nango.yaml ----------------------------------------------------------------------------

    def _load_config(self, result: CycleResult) -> set[str]:
        """Validate and regenerate; the keys of the scripts whose config or models changed."""
        try:
            loaded = load_config(self.project.config_file)
            scripts = declared_scripts(self.project, loaded.parsed)
            self._write_generated(loaded.parsed, scripts, result)
        except ConfigError as exc:
            self.config_errors = [_config_problem(self.project, i) for i in exc.errors]
            return set()
        except UserError as exc:
            self.config_errors = [Problem(exc.message, file="nango.yaml", code="config_error")]
            return set()
        except Exception as exc:  # never let a half-written file stop the watch
            message = f"nango.yaml could not be read: {type(exc).__name__}: {exc}"
            self.config_errors = [Problem(message, file="nango.yaml", code="internal_error")]
            return set()
        self.config_errors = []
        self.config_warnings = [_config_problem(self.project, i) for i in loaded.warnings]
        self.config, self.scripts = loaded, scripts
        old, self._signatures = (
            self._signatures,
            {script_key(s): _signature(loaded.parsed, s) for s in scripts},
        )
        self.statuses = {k: v for k, v in self.statuses.items() if k in self._signatures}
        return {key for key, signature in self._signatures.items() if old.get(key) != signature}

    def _write_generated(
        self, config: ParsedConfig, scripts: list[ScriptRef], result: CycleResult
    ) -> None:
        for path, text in render_generated_files(self.project, config).items():
            if write_if_changed(path, text):
                result.generated.append(self.project.relative(path))
        stubs: StubRenderer | None = None
        for script in scripts:
            if script.path.exists():
                continue
            stubs = stubs or StubRenderer(config)
            write_if_changed(script.path, stubs.render(script))
            self.tracker.remember([script.path])
            result.created.append(self.project.relative(script.path))

    # --- what a change touches -----------------------------------------------------------------

    def _affected_by_module(self, path: Path) -> set[str]:
        own = {script_key(s) for s in self.scripts if s.path.resolve() == path}
        if own:
            return own
        relative = self.project.relative(path)
        return {
            script_key(s)
            for s in self.scripts
            if s.path.is_file() and relative in project_imports(self.project.root, s.path)
        }

    def _affected_by_fixtures(self, integration: str, files: set[Path]) -> set[str]:
        names = {f.name for f in files}
        is_legacy = any("mocks" in f.parts for f in files)
        return {
            script_key(s)
            for s in self.scripts
            if s.integration == integration
            and (
                is_legacy
                or f"{s.name}.test.json" in names
                or f"{integration}-{s.name}.test.json" in names
            )
        }

    def _watched_files(self) -> list[Path]:
        files = [s.path.resolve() for s in self.scripts]
        for folder in {self.project.root / s.integration / "tests" for s in self.scripts}:
            files.extend(p.resolve() for p in folder.glob("*.json"))
        return files


def _config_problem(project: Project, issue: ConfigIssue) -> Problem:
    return Problem(
        issue.message,
        file=project.relative(issue.file) if issue.file else "nango.yaml",
        line=issue.line,
        column=issue.column,
        code=issue.code,
        path=issue.dotted_path or None,
        details=(f"hint: {issue.hint}",) if issue.hint else (),
    )


def _signature(config: ParsedConfig, script: ScriptRef) -> str:
    """What a script's checks and replay depend on in nango.yaml: its own entry and every model
    it uses, nested references included."""
    entry = script.sync or script.action
    body = entry.to_json() if entry is not None else {"onEvent": script.name}
    names = _referenced(config, list(entry.used_models) if entry is not None else [])
    models = [config.models[name].to_json() for name in sorted(names)]
    return json.dumps([body, models], sort_keys=True, default=str)


def _referenced(config: ParsedConfig, names: list[str]) -> set[str]:
    found: set[str] = set()
    queue = list(names)
    while queue:
        name = queue.pop()
        model = config.models.get(name)
        if name in found or model is None:
            continue
        found.add(name)
        queue.extend(_field_models(model.fields))
    return found


def _field_models(fields: list[ModelField]) -> list[str]:
    names: list[str] = []
    for item in fields:
        if isinstance(item.value, list):
            names.extend(_field_models(item.value))
        elif item.model and isinstance(item.value, str):
            names.append(item.value)
    return names
