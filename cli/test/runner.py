"""`run_fixture_tests`: replay every recorded fixture of the project and compare what the scripts
save, delete and return with what was recorded."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from cli.codegen.generate import generate
from cli.dryrun.options import DryRunOptions
from cli.dryrun.report import DryRunReport
from cli.dryrun.run import PreparedScript, checked, run_prepared
from cli.progress import NO_PROGRESS, ProgressReporter
from cli.project import Project, ScriptRef, declared_scripts
from cli.test.compare import compare_output, compare_records
from runtime.errors import CompileError, SetupError
from runtime.recordings.fixture_set import FixtureSet, load_fixtures

DEFAULT_TIMEOUT_S = 60.0
"""A replay answers from files: a fixture that runs longer than this is stuck."""


@dataclass
class FixtureTestResult:
    script: ScriptRef
    fixtures: FixtureSet
    problems: list[str] = field(default_factory=list)
    report: DryRunReport | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


def run_fixture_tests(
    *,
    project_root: Path | None = None,
    scripts: list[str] | None = None,
    timeout_s: float | None = None,
    progress: ProgressReporter = NO_PROGRESS,
) -> list[FixtureTestResult]:
    """One result per script that has fixtures (optionally only the named scripts). The project
    is generated once; each fixture runs with `timeout_s` (default a minute)."""
    generated = generate(project_root=project_root, create_stubs=False)
    project = generated.project
    declared = declared_scripts(project, generated.config.parsed)
    _check_names(scripts, declared)
    found: list[tuple[ScriptRef, FixtureSet]] = []
    for script in declared:
        if (scripts and script.name not in scripts) or script.kind == "on-event":
            continue
        fixtures = load_fixtures(project.root, script.integration, script.name)
        if fixtures is not None:
            found.append((script, fixtures))
    results: list[FixtureTestResult] = []
    for done, (script, fixtures) in enumerate(found):
        progress.step(f"{script.integration}/{script.name}", done=done, total=len(found))
        results.append(_run_one(project, script, fixtures, timeout_s or DEFAULT_TIMEOUT_S))
    progress.step("replayed", done=len(found), total=len(found))
    return results


def _check_names(wanted: list[str] | None, declared: list[ScriptRef]) -> None:
    names = {s.name for s in declared}
    unknown = [name for name in wanted or [] if name not in names]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(names), n=3)
        hint = f"Did you mean {', '.join(close)}?" if close else "Check the names in nango.yaml."
        raise SetupError(f"No script named {', '.join(map(repr, unknown))}", hint=hint)


def _run_one(
    project: Project, script: ScriptRef, fixtures: FixtureSet, timeout_s: float
) -> FixtureTestResult:
    try:
        prepared = checked(project, script)
    except CompileError as exc:
        result = FixtureTestResult(script, fixtures)
        result.problems.extend(_compile_problems(project, exc))
        return result
    return replay_prepared(prepared, fixtures, timeout_s=timeout_s)


def replay_prepared(
    prepared: PreparedScript, fixtures: FixtureSet, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> FixtureTestResult:
    """Replay `fixtures` with a script already checked, and compare what it did with them."""
    script = prepared.script
    result = FixtureTestResult(script, fixtures)
    options = DryRunOptions(
        name=script.name,
        connection_id=str((fixtures.connection or {}).get("connectionId") or "test-connection"),
        integration_id=script.integration,
        mode="replay",
        keep_all_records=True,
        timeout_s=timeout_s,
    )
    report = run_prepared(prepared, options, fixtures=fixtures)
    result.report = report
    try:
        result.problems.extend(_compare(script, fixtures, report))
    finally:
        report.close()
    return result


def _compile_problems(project: Project, exc: CompileError) -> list[str]:
    lines = [f"the script does not compile: {exc.message}"]
    for issue in exc.issues:
        where = f"{project.relative(issue.file)}:{issue.line}:{issue.column}"
        lines.append(f"  {where} {issue.message} [{issue.code}]")
    return lines


def _compare(script: ScriptRef, fixtures: FixtureSet, report: DryRunReport) -> list[str]:
    if report.error is not None:
        return [f"the run failed: {report.error.type}: {report.error.message}"]
    problems: list[str] = []
    if script.kind == "sync":
        for kind, expected in (("save", fixtures.batch_save), ("delete", fixtures.batch_delete)):
            problems.extend(compare_records(kind, expected, report))
    elif fixtures.has_output:
        problems.extend(compare_output(fixtures.output, report.output))
    return problems
