"""`dry_run`: run one sync or action locally and report what it would save, delete or return.

Nothing is persisted anywhere: records, metadata and checkpoint writes are captured. Requests go
to the live API with local connection settings, or are answered from recorded fixtures
(`replay`); with `save` every answer is recorded as it comes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from cli.codegen.generate import generate
from cli.compile.compiler import CompileError, CompileResult, check_one
from cli.dryrun.setup import (
    DryRunSetupError,
    ResolvedConnection,
    connection_from_fixtures,
    connection_from_settings,
    find_script,
)
from cli.project import Project, ScriptRef, find_project
from runtime import jsjson
from runtime.backends.capture import Capture
from runtime.backends.fixture_http import RecordingHttp, RecordingListener, ReplayHttp
from runtime.backends.local import HttpSource, LocalBackend, WriteListener
from runtime.errors import ScriptError
from runtime.execution.executor import (
    ENTRY_POINTS,
    LoadedProject,
    ScriptFailure,
    accepts_input,
    entry_function,
    load_project,
    load_script,
    run_with_limit,
)
from runtime.http.client import build_client
from runtime.http.client import close as close_client
from runtime.http.proxy import ProxyEngine
from runtime.recordings.fixture_set import FixtureSet, load_fixtures
from runtime.recordings.unified import FixtureRecorder
from runtime.sdk.batches import to_json_value
from runtime.sdk.nango import NangoAction, NangoSync, ScriptContext

DEFAULT_TIMEOUTS_S = {"sync": 24 * 3600.0, "action": 15 * 60.0, "on-event": 5 * 60.0}
Progress = Callable[[Capture], AbstractContextManager[Any]]


@dataclass
class DryRunOptions:
    name: str
    connection_id: str
    environment: str = "dev"
    last_sync_date: datetime | None = None
    input: Any = None
    has_input: bool = False
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    integration_id: str | None = None
    variant: str | None = None
    validation: bool = False
    save: bool = False
    replay: bool = False
    keep_all_records: bool = False
    timeout_s: float | None = None


@dataclass
class DryRunReport:
    script: ScriptRef
    capture: Capture
    output: Any = None
    error: ScriptFailure | None = None
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    fixture_file: Path | None = None

    @property
    def kind(self) -> str:
        return "sync" if self.script.kind == "sync" else "action"

    def close(self) -> None:
        """Free what the report holds on disk (the spooled records)."""
        self.capture.close()

    def json_chunks(self) -> Iterator[str]:
        """The report as the JSON object of `dryrun --json`, in pieces (records streamed)."""
        yield (
            "{"
            + f'"type":{jsjson.stringify(self.kind)},"name":{jsjson.stringify(self.script.name)}'
        )
        yield f',"integration":{jsjson.stringify(self.script.integration)}'
        for kind in ("save", "delete", "update"):
            yield f',"batch_{kind}":{{'
            for index, (model, stream) in enumerate(self.capture.models(kind).items()):
                yield ("," if index else "") + f"{jsjson.stringify(model)}:["
                for position, record in enumerate(stream.all()):
                    yield ("," if position else "") + jsjson.stringify(record)
                yield "]"
            yield "}"
        yield f',"output":{jsjson.stringify(self.output)}'
        yield f',"logs":{jsjson.stringify([e.to_json() for e in self.capture.logs])}'
        yield f',"requests":{jsjson.stringify([r.to_json() for r in self.capture.requests])}'
        yield f',"error":{jsjson.stringify(self.error.to_json() if self.error else None)}' + "}"


def dry_run(
    options: DryRunOptions,
    *,
    project_root: Path | None = None,
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
) -> DryRunReport:
    """Run the script; setup problems raise `UserError`, a failed run sets `report.error`."""
    project = find_project(project_root or Path.cwd())
    generated = generate(project_root=project.root, create_stubs=False)
    script = find_script(project, generated.config.parsed, options.name, options.integration_id)
    problems = [i for i in check_one(project, script) if i.severity == "error"]
    if problems:
        raise CompileError(CompileResult(generated, [script], problems))
    loaded = load_project(project.root)
    capture = Capture(keep_all=options.keep_all_records or options.save)
    run = _Run(project, loaded, script, options, capture, transport)
    with progress(capture) if progress else contextlib.nullcontext():
        return run.execute()


class _Run:
    def __init__(
        self,
        project: Project,
        loaded: LoadedProject,
        script: ScriptRef,
        options: DryRunOptions,
        capture: Capture,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
    ) -> None:
        self.project, self.loaded, self.script = project, loaded, script
        self.options, self.capture, self.transport = options, capture, transport
        self.report = DryRunReport(script, capture)
        self.fixtures: FixtureSet | None = None
        self.recorder: FixtureRecorder | None = None
        self.validate = options.validation or options.save

    def execute(self) -> DryRunReport:
        resolved = self._connection()
        try:
            input_value = self._input()
        except ScriptError as exc:
            self.report.error = ScriptFailure(exc.error_type, exc.message, exc.payload)
            return self.report
        module = load_script(self.script.path)
        entry = entry_function(module, ENTRY_POINTS[self.script.kind])

        async def body() -> Any:
            async with contextlib.AsyncExitStack() as stack:
                http = await self._http(resolved, stack)
                sdk = self._sdk(resolved, http)
                if self.script.kind == "action" and accepts_input(entry):
                    return await entry(sdk, input_value)
                return await entry(sdk)

        timeout = self.options.timeout_s or DEFAULT_TIMEOUTS_S[self.script.kind]
        outcome = run_with_limit(
            body, timeout_s=timeout, kind=self.script.kind, root=self.project.root
        )
        self.report.duration_s = outcome.duration_s
        self.report.error = outcome.error
        if outcome.error is None and self.script.kind == "action":
            self._finish_output(outcome.output)
        self._finish_validation()
        return self.report

    # ----- connection and HTTP

    def _connection(self) -> ResolvedConnection:
        integration, options = self.script.integration, self.options
        if options.replay:
            self.fixtures = load_fixtures(self.project.root, integration, self.script.name)
            if self.fixtures is None:
                raise DryRunSetupError(
                    f"No recorded fixtures for {integration}/{self.script.name}",
                    hint=f"Record them with `nango dryrun {self.script.name} "
                    f"{options.connection_id} --save`.",
                )
            return connection_from_fixtures(
                integration, options.connection_id, self.fixtures, options.metadata
            )
        resolved = connection_from_settings(integration, options.connection_id, options.metadata)
        if options.save:
            self._start_recording(resolved)
        return resolved

    def _start_recording(self, resolved: ResolvedConnection) -> None:
        path = (
            self.project.root / self.script.integration / "tests" / f"{self.script.name}.test.json"
        )
        self.recorder = FixtureRecorder(path)
        connection = resolved.connection
        self.recorder.set_connection(
            {
                "connectionId": connection.connection_id,
                "provider": connection.provider,
                "connection_config": connection.connection_config,
            }
        )
        self.recorder.set_metadata(connection.metadata)
        self.report.fixture_file = path

    async def _http(
        self, resolved: ResolvedConnection, stack: contextlib.AsyncExitStack
    ) -> HttpSource:
        if self.fixtures is not None:
            return ReplayHttp(self.fixtures, self.capture)
        assert resolved.provider is not None
        client = build_client(transport=self.transport)
        stack.push_async_callback(close_client, client)
        engine = ProxyEngine(
            client=client,
            provider=resolved.provider,
            connection=resolved.connection,
            on_attempt=self.capture.add_attempt,
        )
        return RecordingHttp(engine, self.recorder) if self.recorder else engine

    def _sdk(self, resolved: ResolvedConnection, http: HttpSource) -> NangoAction:
        listener: WriteListener | None = RecordingListener(self.recorder) if self.recorder else None
        backend = LocalBackend(
            http=http,
            connection=resolved.connection,
            capture=self.capture,
            provider=resolved.provider,
            checkpoint=self.options.checkpoint,
            listener=listener,
        )
        sync = self.script.sync
        context = ScriptContext(
            connection_id=resolved.connection.connection_id,
            provider_config_key=self.script.integration,
            provider=resolved.connection.provider,
            environment_name=self.options.environment,
            script_name=self.script.name,
            models=self.loaded.registry,
            declared_models=tuple(sync.output) if sync else (),
            fail_on_invalid=self.validate,
            last_sync_date=self.options.last_sync_date,
            variant=self.options.variant or "base",
        )
        return NangoSync(context, backend) if sync else NangoAction(context, backend)

    # ----- action input and output

    def _input(self) -> Any:
        options, action = self.options, self.script.action
        raw, given = options.input, options.has_input
        if not given and self.fixtures is not None and self.fixtures.has_input:
            raw, given = self.fixtures.input, True
        if self.recorder is not None and given:
            self.recorder.set_input(raw)
        if action is None:
            return None
        if action.input is None:
            if given and raw not in (None, {}, ""):
                self._invalid("invalid_action_input", "this action declares no input", [], raw)
            return None
        if not given:
            raw = None
        return self._validated_input(action.input, raw)

    def _validated_input(self, model: str, raw: Any) -> Any:
        registry = self.loaded.registry
        errors = registry.check(model, raw)
        if errors:
            self._invalid("invalid_action_input", f"the input does not match {model}", errors, raw)
            return raw
        return registry.validator(model)(raw)

    def _finish_output(self, value: Any) -> None:
        output = to_json_value(value)
        self.report.output = output
        action = self.script.action
        if self.recorder is not None:
            self.recorder.set_output(output)
        if action is None or not action.output:
            return
        registry = self.loaded.registry
        failures = [registry.check(model, output) for model in action.output]
        if all(failures):
            shown = " | ".join(action.output)
            try:
                self._invalid(
                    "invalid_action_output",
                    f"the output does not match {shown}",
                    failures[0],
                    output,
                )
            except ScriptError as exc:
                self.report.error = ScriptFailure(exc.error_type, exc.message, exc.payload)

    def _invalid(self, kind: str, message: str, errors: list[Any], value: Any) -> None:
        details = [e.__dict__ for e in errors]
        if self.validate:
            raise ScriptError(message, error_type=kind, payload={"errors": details, "value": value})
        paths = ", ".join(sorted({e["path"] for e in details})) or "(value)"
        self.report.notes.append(f"{message} ({paths}); run with --validation for details")

    def _finish_validation(self) -> None:
        for model, summary in self.capture.invalid.items():
            total = self.capture.models("save").get(model)
            count = total.count if total else summary.invalid
            paths = ", ".join(path for path, _ in summary.by_path.most_common(3))
            self.report.notes.append(
                f"{model}: {summary.invalid} of {count} records do not match the model "
                f"({paths}); run with --validation for details"
            )
