"""`compile`: everything `generate` validates, plus checks of every script file.

The import check loads each script with the one script loader (`runtime.execution.loader`), as
`run_script` will: a script's module body runs once per process, whether it is then only checked
or also run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cli.codegen.generate import GenerateResult, generate
from cli.compile.checks import ScriptIssue, check_script
from cli.project import Project, ScriptRef, declared_scripts
from runtime.errors import CompileError, ScriptLoadError, UserError
from runtime.execution.loader import ProjectLoader, loader_for

__all__ = ["CompileError", "CompileResult", "check_one", "compile_project", "raise_for"]


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


def compile_project(*, project_root: Path | None = None) -> CompileResult:
    """Validate nango.yaml, regenerate the generated files and check every declared script.

    Scripts are never created here (that is `generate`'s job): a missing one is an error.
    Raises `ConfigError` for an invalid nango.yaml and `CompileError` for script errors.
    """
    generated = generate(project_root=project_root, create_stubs=False)
    project = generated.project
    result = CompileResult(generated, declared_scripts(project, generated.config.parsed))
    loader = loader_for(project.root)
    for script in result.scripts:
        result.issues.extend(check_one(project, script, loader))
    raise_for(result.issues, project, scripts=len(result.scripts))
    return result


def raise_for(issues: list[ScriptIssue], project: Project, *, scripts: int = 1) -> None:
    """A `CompileError` with every issue when any of them is an error."""
    if any(i.severity == "error" for i in issues):
        raise CompileError(issues, project.root, scripts=scripts)


def check_one(
    project: Project, script: ScriptRef, loader: ProjectLoader | None = None
) -> list[ScriptIssue]:
    """The static checks of one script, then its import (when it parses)."""
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
    try:
        issues = check_script(
            script.path,
            kind=script.kind,
            declared_models=sync.output if sync else [],
            has_webhooks=bool(sync and sync.webhook_subscriptions),
            has_input=bool(action and action.input),
        )
    except (OSError, UnicodeDecodeError) as exc:
        return [_unreadable(project, script, exc)]
    if any(i.code == "syntax_error" for i in issues):
        return issues
    imported = import_issues(project, script.path, loader or loader_for(project.root))
    return sorted([*issues, *imported], key=lambda i: (i.line, i.column))


def _unreadable(project: Project, script: ScriptRef, exc: BaseException) -> ScriptIssue:
    if isinstance(exc, UnicodeDecodeError):
        reason = f"it is not UTF-8 text ({exc.reason} at byte {exc.start})"
    else:
        reason = getattr(exc, "strerror", None) or str(exc)
    message = f"{project.relative(script.path)} cannot be read: {reason}"
    return ScriptIssue(script.path, 1, 1, "unreadable_script", message)


def import_issues(project: Project, path: Path, loader: ProjectLoader) -> list[ScriptIssue]:
    """Import the script as `run_script` will (project root importable); report what fails."""
    from runtime.execution.isolation import guarded

    try:
        with guarded(lambda line: line):
            loader.script(path)
    except ScriptLoadError as exc:
        return [ScriptIssue(path, exc.line, 1, "import_error", exc.message)]
    except UserError as exc:  # models.py itself does not import
        return [ScriptIssue(project.models_file, 1, 1, "import_error", exc.message)]
    return []
