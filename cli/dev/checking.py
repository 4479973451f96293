"""One script in a cycle: its compile checks (through the one script loader, so a changed file is
imported afresh), then a replay of its recorded fixtures, as `nango test` replays them."""

from __future__ import annotations

import time
from dataclasses import replace

from cli.compile.checks import ScriptIssue
from cli.compile.compiler import check_one
from cli.dev.events import Problem, ScriptStatus, TestState
from cli.dryrun.run import PreparedScript
from cli.project import Project, ScriptRef
from cli.test.runner import replay_prepared
from runtime.errors import UserError
from runtime.execution.loader import ProjectLoader
from runtime.recordings.fixture_set import FixtureSet, load_fixtures

__all__ = ["check_script"]


def check_script(
    project: Project,
    script: ScriptRef,
    loader: ProjectLoader,
    *,
    run_tests: bool = True,
    timeout_s: float = 60.0,
) -> ScriptStatus:
    """Compile `script` and, when it compiles, replay its fixtures. Never raises for a problem
    of the script or its fixtures: that is the status's `error`."""
    started = time.perf_counter()
    try:
        status = _check(project, script, loader, run_tests=run_tests, timeout_s=timeout_s)
    except Exception as exc:  # a cycle reports whatever went wrong and the loop keeps watching
        problem = Problem(f"{type(exc).__name__}: {exc}", file=project.relative(script.path))
        status = _status(project, script, "failed", "skipped", problem)
    duration = (time.perf_counter() - started) * 1000
    return replace(status, duration_ms=round(duration, 1))


def _status(
    project: Project,
    script: ScriptRef,
    compiled: str,
    test: TestState,
    error: Problem | None = None,
) -> ScriptStatus:
    return ScriptStatus(
        name=script.name,
        integration=script.integration,
        kind=script.kind,
        file=project.relative(script.path),
        compile="ok" if compiled == "ok" else "failed",
        test=test,
        error=error,
    )


def _check(
    project: Project, script: ScriptRef, loader: ProjectLoader, *, run_tests: bool, timeout_s: float
) -> ScriptStatus:
    errors = [i for i in check_one(project, script, loader) if i.severity == "error"]
    if errors:
        return _status(project, script, "failed", "skipped", _issue_problem(project, errors))
    if not run_tests:
        return _status(project, script, "ok", "skipped")
    try:
        fixtures = None
        if script.kind != "on-event":
            fixtures = load_fixtures(project.root, script.integration, script.name)
    except UserError as exc:
        return _status(project, script, "ok", "failed", Problem(exc.message, code="bad_fixture"))
    if fixtures is None:
        return _status(project, script, "ok", "no fixture")
    problem = _replay(project, script, fixtures, timeout_s)
    return _status(project, script, "ok", "failed" if problem else "passed", problem)


def _replay(
    project: Project, script: ScriptRef, fixtures: FixtureSet, timeout_s: float
) -> Problem | None:
    prepared = PreparedScript(project, script, script.description(project))
    result = replay_prepared(prepared, fixtures, timeout_s=timeout_s)
    if result.passed:
        return None
    first, *rest = "\n".join(result.problems).splitlines()
    return Problem(
        first,
        file=project.relative(fixtures.source),
        code="fixture_mismatch",
        details=tuple(rest),
    )


def _issue_problem(project: Project, errors: list[ScriptIssue]) -> Problem:
    first = errors[0]
    others = [
        f"{project.relative(i.file)}:{i.line}:{i.column} {i.message} [{i.code}]" for i in errors[1:]
    ]
    return Problem(
        first.message,
        file=project.relative(first.file),
        line=first.line,
        column=first.column,
        code=first.code,
        details=tuple(others),
    )
