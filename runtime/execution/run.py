"""`run_script`: the one way a script runs, in `nango dryrun`, `nango test` and the runtime.

It loads the script (once per version, `runtime.execution.loader`), checks an action's input
against its model, hands the script the SDK object over the given backend, runs it under its time
limit with its output and exits guarded (`runtime.execution.isolation`), checks what an action
returns, and maps every failure to a reported error (`runtime.execution.failures`). Only the
backend differs between a dry run and production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.errors import InvalidValueError, ScriptError
from runtime.execution.description import DEFAULT_TIMEOUTS_S, ScriptDescription
from runtime.execution.failures import ScriptFailure, failure_from, timeout_failure
from runtime.execution.isolation import guarded, run_with_time_limit
from runtime.execution.loader import ProjectLoader, accepts_input, loader_for
from runtime.sdk.backend import Backend, NoHooks, RunHooks
from runtime.sdk.nango import NangoAction, NangoSync, ScriptContext
from runtime.sdk.validation import FieldError, ModelRegistry
from runtime.sdk.values import NotJSONError, to_json

__all__ = ["NO_INPUT", "Outcome", "RunContext", "run_script"]


class _NoInput:
    def __repr__(self) -> str:
        return "NO_INPUT"


NO_INPUT: Any = _NoInput()
"""The `input` of a run that was given none (not the same as an input of `null`)."""


@dataclass(frozen=True)
class RunContext:
    """Who a run is for and how strict it is. `validate`: an invalid record, input or output
    fails the run (else it is a warning). `timeout_s`: None for the kind's default."""

    connection_id: str
    provider: str = ""
    environment_name: str = "dev"
    last_sync_date: datetime | None = None
    variant: str = "base"
    validate: bool = False
    timeout_s: float | None = None


@dataclass
class Outcome:
    """What a run produced: the action's output as JSON data, or the error; `warnings` say what
    did not match when validation was off."""

    output: Any = None
    error: ScriptFailure | None = None
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)


def run_script(
    description: ScriptDescription,
    context: RunContext,
    backend: Backend,
    input: Any = NO_INPUT,
    *,
    hooks: RunHooks | None = None,
    loader: ProjectLoader | None = None,
) -> Outcome:
    """Run one script to its end (see the module docstring); never raises for what the script
    does. `input` is an action's input (JSON data) or a webhook's payload."""
    hooks = hooks if hooks is not None else NoHooks()
    loader = loader if loader is not None else loader_for(description.project_root)
    outcome = Outcome()
    with guarded(hooks.on_output, shown=hooks.shown):
        try:
            registry = loader.models()
            entry = loader.entry(description.path, description.entry_point)
            value = _input_of(description, registry, input, context.validate, outcome)
        except ScriptError as exc:
            outcome.error = failure_from(exc, kind=description.kind, root=loader.root)
            return outcome
        sdk = _sdk(description, context, backend, hooks, registry)
        arguments = (sdk, value) if _takes_input(description, entry) else (sdk,)

        async def call() -> Any:
            await backend.start()
            try:
                return await entry(*arguments)
            finally:
                await backend.stop()

        timeout = context.timeout_s or DEFAULT_TIMEOUTS_S[description.kind]
        ran = run_with_time_limit(call, timeout_s=timeout)
    outcome.duration_s = ran.duration_s
    if ran.timed_out:
        outcome.error = timeout_failure(timeout)
    elif ran.error is not None:
        outcome.error = failure_from(ran.error, kind=description.kind, root=loader.root)
    elif description.kind == "action":
        _finish_output(description, registry, ran.value, context.validate, outcome)
    return outcome


def _takes_input(description: ScriptDescription, entry: Callable[..., Any]) -> bool:
    return description.kind == "webhook" or (description.kind == "action" and accepts_input(entry))


def _sdk(
    description: ScriptDescription,
    context: RunContext,
    backend: Backend,
    hooks: RunHooks,
    registry: ModelRegistry,
) -> NangoAction:
    script_context = ScriptContext(
        connection_id=context.connection_id,
        provider_config_key=description.integration,
        provider=context.provider,
        environment_name=context.environment_name,
        script_name=description.name,
        models=registry,
        declared_models=description.declared_models,
        fail_on_invalid=context.validate,
        last_sync_date=context.last_sync_date,
        variant=context.variant,
    )
    sdk_class = NangoSync if description.is_sync else NangoAction
    return sdk_class(script_context, backend, hooks)


def _input_of(
    description: ScriptDescription,
    registry: ModelRegistry,
    raw: Any,
    validate: bool,
    outcome: Outcome,
) -> Any:
    """The value the entry function receives: a webhook's payload as it is; an action's input
    as an instance of its model (a plain value for non-model inputs)."""
    if description.kind == "webhook":
        return None if raw is NO_INPUT else raw
    if description.kind != "action":
        return None
    given = raw is not NO_INPUT
    model = description.input_model
    if model is None:
        if given and raw not in (None, {}, ""):
            _mismatch(
                "invalid_action_input", "this action declares no input", [], raw, validate, outcome
            )
        return None
    value = raw if given else None
    errors = registry.check(model, value) if model in registry else []
    if errors:
        message = f"the input does not match {model}"
        _mismatch("invalid_action_input", message, errors, value, validate, outcome)
        return value
    return registry.validator(model)(value) if model in registry else value


def _finish_output(
    description: ScriptDescription,
    registry: ModelRegistry,
    value: Any,
    validate: bool,
    outcome: Outcome,
) -> None:
    try:
        output = to_json(value)
    except NotJSONError as exc:
        payload = {"errors": [{"path": exc.path or "(output)", "message": str(exc)}]}
        outcome.error = ScriptFailure(
            "invalid_action_output", f"the output cannot be sent as JSON: {exc}", payload
        )
        return
    outcome.output = output
    models = [m for m in description.output_models if m in registry]
    if not models:
        return
    failures = [registry.check(model, output) for model in models]
    if all(failures):
        message = f"the output does not match {' | '.join(models)}"
        try:
            _mismatch("invalid_action_output", message, failures[0], output, validate, outcome)
        except ScriptError as exc:
            outcome.error = ScriptFailure(exc.error_type, exc.message, exc.payload)


def _mismatch(
    kind: str,
    message: str,
    errors: list[FieldError],
    value: Any,
    validate: bool,
    outcome: Outcome,
) -> None:
    details = [e.__dict__ for e in errors]
    if validate:
        raise InvalidValueError(
            message, error_type=kind, payload={"errors": details, "value": value}
        )
    paths = ", ".join(sorted({e["path"] for e in details})) or "(value)"
    outcome.warnings.append(f"{message} ({paths}); run with --validation for details")
