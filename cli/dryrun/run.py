"""`dry_run`: run one sync or action locally and report what it would save, delete or return.

Nothing is persisted anywhere: records, metadata and checkpoint writes are captured. The script
runs through `run_script`, exactly as the runtime's workers run it; only the backend differs
(`runtime.backends.local`, over the source of the run's mode: `cli.dryrun.sources`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cli.codegen.generate import generate
from cli.compile.compiler import check_one, raise_for
from cli.dryrun.lookup import find_script
from cli.dryrun.options import DryRunOptions
from cli.dryrun.report import DryRunReport
from cli.dryrun.sources import Source, open_source
from cli.project import Project, ScriptRef, find_project
from runtime.backends.capture import Capture
from runtime.backends.local import LocalBackend
from runtime.execution.description import ScriptDescription
from runtime.execution.failures import ScriptFailure
from runtime.execution.loader import loader_for
from runtime.execution.run import NO_INPUT, Outcome, RunContext, run_script
from runtime.recordings.fixture_set import FixtureSet
from runtime.redaction import Redactor

__all__ = ["DryRunOptions", "DryRunReport", "PreparedScript", "dry_run", "prepare", "run_prepared"]

Progress = Callable[[Capture], AbstractContextManager[Any]]
Transport = httpx.BaseTransport | httpx.AsyncBaseTransport


@dataclass(frozen=True)
class PreparedScript:
    """A script found, its project generated and the script checked: ready to run."""

    project: Project
    script: ScriptRef
    description: ScriptDescription


def prepare(options: DryRunOptions, *, project_root: Path | None = None) -> PreparedScript:
    """Find the project and the script, regenerate, and check the script (`CompileError`)."""
    project = find_project(project_root or Path.cwd())
    generated = generate(project_root=project.root, create_stubs=False)
    script = find_script(project, generated.config.parsed, options.name, options.integration_id)
    return checked(project, script)


def checked(project: Project, script: ScriptRef) -> PreparedScript:
    """`script` after its compile checks (a `CompileError` when any fails)."""
    raise_for(check_one(project, script, loader_for(project.root)), project)
    return PreparedScript(project, script, script.description(project))


def dry_run(
    options: DryRunOptions,
    *,
    project_root: Path | None = None,
    transport: Transport | None = None,
    progress: Progress | None = None,
) -> DryRunReport:
    """Run the script; setup problems raise `UserError`, a failed run sets `report.error`."""
    prepared = prepare(options, project_root=project_root)
    return run_prepared(prepared, options, transport=transport, progress=progress)


def run_prepared(
    prepared: PreparedScript,
    options: DryRunOptions,
    *,
    transport: Transport | None = None,
    progress: Progress | None = None,
    fixtures: FixtureSet | None = None,
) -> DryRunReport:
    """Run a prepared script with the source of `options.mode` (`fixtures`: those to replay,
    when already loaded)."""
    source = open_source(prepared.project, prepared.script, options, fixtures=fixtures)
    capture = Capture(
        keep_all=options.keep_all_records or options.mode == "record", redact=source.redactor
    )
    report = DryRunReport(
        prepared.script, capture, fixture_file=source.fixture_file, redactor=source.redactor
    )
    given = options.input if options.input is not NO_INPUT else source.default_input()
    outcome: Outcome | None = None
    source.begin(given)
    try:
        with progress(capture) if progress else contextlib.nullcontext():
            outcome = _run(prepared, options, source, capture, given, transport)
    finally:
        source.finish(outcome, is_action=prepared.script.kind == "action")
    redact = source.redactor
    report.output = redact.value(outcome.output) if redact else outcome.output
    report.error = _redacted_failure(outcome.error, redact)
    report.duration_s = outcome.duration_s
    report.notes.extend(map(redact, [*outcome.warnings, *_validation_notes(capture)]))
    return report


def _redacted_failure(failure: ScriptFailure | None, redact: Redactor) -> ScriptFailure | None:
    """The failure as it may be shown: an exception's message or an `ActionError` payload can
    carry a secret the script had."""
    if failure is None or not redact:
        return failure
    return ScriptFailure(failure.type, redact(failure.message), redact.value(failure.payload))


def _run(
    prepared: PreparedScript,
    options: DryRunOptions,
    source: Source,
    capture: Capture,
    given: Any,
    transport: Transport | None,
) -> Outcome:
    backend = LocalBackend(
        http=source.http(capture, transport),
        connection=source.connection,
        capture=capture,
        provider=source.provider,
        checkpoint=options.checkpoint,
        listener=source.listener(),
    )
    context = RunContext(
        connection_id=source.connection.connection_id,
        provider=source.connection.provider,
        environment_name=options.environment,
        last_sync_date=options.last_sync_date,
        variant=options.variant or "base",
        validate=options.validate,
        timeout_s=options.timeout_s,
    )
    return run_script(prepared.description, context, backend, given, hooks=capture)


def _validation_notes(capture: Capture) -> list[str]:
    notes = []
    for model, summary in capture.invalid.items():
        total = capture.models("save").get(model)
        count = total.count if total else summary.invalid
        paths = ", ".join(path for path, _ in summary.by_path.most_common(3))
        notes.append(
            f"{model}: {summary.invalid} of {count} records do not match the model "
            f"({paths}); run with --validation for details"
        )
    return notes
