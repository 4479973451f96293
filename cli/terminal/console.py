"""The terminal: results to stdout, diagnostics to stderr, user data always escaped.

Rich is imported on first use so that `nango --help` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from cli.compile.checks import ScriptIssue
    from cli.config.issues import ConfigIssue


@cache
def stdout() -> Console:
    return _console(stderr=False)


@cache
def stderr() -> Console:
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit 1; the CLI boundary turns this into a quiet exit 141.
            raise BrokenPipeError

    return _Console(stderr=stderr, highlight=False, soft_wrap=True)


def esc(value: Any) -> str:
    from rich.markup import escape

    return escape(str(value))


def result(text: str) -> None:
    """A result line (stdout); `text` may hold markup, data in it must be escaped."""
    stdout().print(text)


def info(text: str) -> None:
    stderr().print(text)


def success(message: str) -> None:
    stdout().print(f"[green]✓[/green] {esc(message)}")


def warning(message: str) -> None:
    stderr().print(f"[yellow]warning[/yellow] {esc(message)}")


def error(message: str, hint: str | None = None) -> None:
    stderr().print(f"[bold red]error[/bold red] {esc(message)}")
    if hint:
        stderr().print(f"  [dim]hint:[/dim] {esc(hint)}")


def config_issues(issues: Iterable[ConfigIssue]) -> None:
    """Every config error and warning: location, severity, message [code], path, hint."""
    for issue in issues:
        color = "red" if issue.severity == "error" else "yellow"
        stderr().print(
            f"[bold]{esc(issue.location)}[/bold] [{color}]{issue.severity}[/{color}] "
            f"{esc(issue.message)} [dim]\\[{esc(issue.code)}][/dim]"
        )
        if issue.path:
            stderr().print(f"  [dim]at[/dim] {esc(issue.dotted_path)}")
        if issue.hint:
            stderr().print(f"  [dim]hint:[/dim] {esc(issue.hint)}")


def script_issues(issues: Iterable[ScriptIssue], root: Any = None) -> None:
    for issue in issues:
        color = "red" if issue.severity == "error" else "yellow"
        where = issue.file
        if root is not None:
            with contextlib.suppress(ValueError):
                where = issue.file.relative_to(root)
        stderr().print(
            f"[bold]{esc(where)}:{issue.line}:{issue.column}[/bold] "
            f"[{color}]{issue.severity}[/{color}] {esc(issue.message)} "
            f"[dim]\\[{esc(issue.code)}][/dim]"
        )
