"""The one place that turns outcomes into exit codes, and adds the global options.

`@command(failure=ExitCode.X)` wraps a command function: it adds `--debug`, `--no-interactive`
and `--auto-confirm`, loads `.env`, runs the command, and maps what it raises to a message on
stderr and an exit code (`SystemExit`). No traceback for expected errors; one with `--debug` for
the rest. `invoke` is that run; `cli.fast_path` calls it directly, without Typer, which this module
imports only to declare the global options.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from cli import process, settings
from cli.exit_codes import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

_GLOBAL_OPTIONS = {
    "debug": ("--debug", "Show debug output and tracebacks."),
    "no_interactive": ("--no-interactive", "Never prompt (also when CI is set)."),
    "auto_confirm": ("--auto-confirm", "Answer yes to confirmation prompts."),
}
_GLOBAL_NAMES = frozenset(_GLOBAL_OPTIONS)


def _global_parameters() -> list[inspect.Parameter]:
    import typer  # only the Typer app needs the declarations (`cli.fast_path` does without)

    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(flag, help=text)],
        )
        for name, (flag, text) in _GLOBAL_OPTIONS.items()
    ]


def command(*, failure: ExitCode = ExitCode.FAILURE) -> Callable[[F], F]:
    """Decorate a command body; `failure` is its exit code for any error."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name not in _GLOBAL_NAMES]
        shared = [p for p in _global_parameters() if p.name not in signature.parameters]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return invoke(fn, failure, *args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=[*own, *shared])  # type: ignore[attr-defined]
        wrapper.__annotations__ = {**fn.__annotations__, **{p.name: p.annotation for p in shared}}
        return wrapper  # type: ignore[return-value]

    return decorate


def invoke(fn: Callable[..., Any], failure: ExitCode, /, *args: Any, **kwargs: Any) -> Any:
    """Run the command body `fn` with its arguments and the global options (`debug`,
    `no_interactive`, `auto_confirm`, False when absent): what every command does, whether
    Typer parsed the command line or `cli.fast_path` did."""
    process.resume()
    options = {name: kwargs.pop(name, False) for name in _GLOBAL_NAMES}
    for name in _GLOBAL_NAMES & set(inspect.signature(fn).parameters):
        kwargs[name] = options[name]
    settings.apply(**options)
    return run_guarded(lambda: _run(fn, args, kwargs), failure)


def _run(fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    from cli.project import load_project_env

    load_project_env(Path.cwd())
    return fn(*args, **kwargs)


def run_guarded(body: Callable[[], Any], failure: ExitCode) -> Any:
    from cli.terminal import console as output
    from runtime.errors import UserError

    try:
        try:
            return body()
        finally:
            sys.stdout.flush()  # a closed pipe must show here, not in Click's handler (exit 1)
    except KeyboardInterrupt:
        output.error("interrupted")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    except BrokenPipeError:
        # The reader of stdout went away (`nango ... | head`): stop quietly, as shell tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(ExitCode.BROKEN_PIPE) from None
    except UserError as exc:
        render_user_error(exc)
        raise SystemExit(failure) from None
    except Exception as exc:
        if _is_typer_exit(exc):
            raise
        if settings.current.debug:
            output.stderr().print_exception()
        else:
            output.error(f"unexpected error: {type(exc).__name__}: {exc}", "Rerun with --debug.")
        raise SystemExit(failure) from None


def _is_typer_exit(exc: Exception) -> bool:
    """A body's own `typer.Exit` (a body can raise one only once typer is imported)."""
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(exc, typer.Exit)


def render_user_error(exc: Exception) -> None:
    from cli.config.issues import ConfigError
    from cli.terminal import console as output
    from runtime.errors import CompileError, UserError

    if isinstance(exc, ConfigError):
        output.config_issues(exc.issues)
        output.error(exc.message)
    elif isinstance(exc, CompileError):
        output.script_issues(exc.issues, exc.root)
        output.error(exc.message)
    elif isinstance(exc, UserError):
        output.error(exc.message, exc.hint)
