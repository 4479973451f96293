"""`compile`: everything `generate` validates, plus checks of every script file."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from cli.codegen.generate import GenerateResult, generate
from cli.compile.checks import ScriptIssue, check_script
from cli.project import Project, ScriptRef, declared_scripts
from runtime.errors import UserError


@dataclass
class CompileResult:
    generated: GenerateResult
    scripts: list[ScriptRef] = field(default_factory=list)
    issues: list[ScriptIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[ScriptIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ScriptIssue]:
        return [i for i in self.issues if i.severity == "warning"]


class CompileError(UserError):
    """One or more scripts failed their checks; `result` holds every issue."""

    def __init__(self, result: CompileResult) -> None:
        count = len(result.errors)
        super().__init__(f"compilation failed with {count} error{'s' if count != 1 else ''}")
        self.result = result


def compile_project(*, project_root: Path | None = None) -> CompileResult:
    """Validate nango.yaml, regenerate the generated files and check every declared script.

    Scripts are never created here (that is `generate`'s job): a missing one is an error.
    Raises `ConfigError` for an invalid nango.yaml and `CompileError` for script errors.
    """
    generated = generate(project_root=project_root, create_stubs=False)
    project = generated.project
    result = CompileResult(generated, declared_scripts(project, generated.config.parsed))
    for script in result.scripts:
        result.issues.extend(check_one(project, script))
    if result.errors:
        raise CompileError(result)
    return result


def check_one(project: Project, script: ScriptRef) -> list[ScriptIssue]:
    if not script.path.is_file():
        return [
            ScriptIssue(
                script.path,
                1,
                1,
                "missing_script",
                f"{project.relative(script.path)} does not exist: nango.yaml declares the "
                f"{script.kind} {script.name}. Run `nango generate` to create a stub.",
            )
        ]
    sync, action = script.sync, script.action
    issues = check_script(
        script.path,
        kind=script.kind,
        declared_models=sync.output if sync else [],
        has_webhooks=bool(sync and sync.webhook_subscriptions),
        has_input=bool(action and action.input),
    )
    if any(i.code == "syntax_error" for i in issues):
        return issues
    return sorted([*issues, *import_issues(project, script.path)], key=lambda i: (i.line, i.column))


def import_issues(project: Project, path: Path) -> list[ScriptIssue]:
    """Import the script as the executor will (project root importable); report what fails."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    name = f"_nango_compile_{digest}"
    saved_path = list(sys.path)
    before = set(sys.modules)
    sys.path.insert(0, str(project.root))
    sys.modules.pop("models", None)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            return [ScriptIssue(path, 1, 1, "import_error", f"{path} cannot be loaded")]
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        line = _failing_line(exc, path)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"importing the script failed: {detail}"
        return [ScriptIssue(path, line, 1, "import_error", message)]
    finally:
        sys.path[:] = saved_path
        _forget_modules(project.root, before)
    return []


def _failing_line(exc: BaseException, path: Path) -> int:
    line = 1
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == path and frame.lineno:
            line = frame.lineno
    return line


def _forget_modules(root: Path, before: set[str]) -> None:
    """Drop modules the import loaded from the project, so the next check sees fresh files."""
    for name in set(sys.modules) - before:
        module_file = getattr(sys.modules[name], "__file__", None) or ""
        if name.startswith("_nango_compile_") or module_file.startswith(str(root)):
            del sys.modules[name]
