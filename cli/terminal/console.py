"""The terminal: results to stdout, diagnostics to stderr, user data always escaped.

Text from users, scripts and APIs is printed verbatim: never read as Rich markup (`esc`), never
turned into emoji (the consoles have `emoji=False`: `nango.yaml:100:5` stays as written), and
with its control characters shown as escapes (`\x1b`, `\u202e`) instead of reaching the
terminal, where they could recolour, rewrite or reorder what is shown.

Rich is imported on first use so that `nango --help` stays fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from cli.compile.checks import ScriptIssue
    from cli.config.issues import ConfigIssue


@cache
def stdout() -> Console:
    return _console(stderr=False)


@cache
def stderr() -> Console:
    return _console(stderr=True)


def live_stdout() -> Console:
    """stdout for a live view: its long lines wrap (a soft-wrapping console crops them there)."""
    return _console(stderr=False, soft_wrap=False)


def _console(*, stderr: bool, soft_wrap: bool = True) -> Console:
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit 1; the CLI boundary turns this into a quiet exit 141.
            raise BrokenPipeError

    return _Console(stderr=stderr, highlight=False, soft_wrap=soft_wrap, emoji=False)


def _invisible() -> list[int]:
    """Characters a terminal acts on or hides: C0 and C1 controls, DEL, and the format
    characters that are invisible or reorder text (bidirectional overrides, zero-width ones)."""
    codes = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x061C, 0x180E, 0xFEFF]
    for first, last in ((0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x206F), (0xFFF9, 0xFFFB)):
        codes.extend(range(first, last + 1))
    return codes


_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _visible(code: int) -> str:
    if code in _SHORT:
        return _SHORT[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_LINE_TABLE = {code: _visible(code) for code in _invisible()}
_TEXT_TABLE = {c: v for c, v in _LINE_TABLE.items() if chr(c) not in "\n\t"}


def esc(value: Any) -> str:
    """`value` as text for a markup string: markup escaped, control characters made visible
    (newlines and tabs kept: multi-line text stays multi-line)."""
    from rich.markup import escape

    return escape(str(value).translate(_TEXT_TABLE))


def esc_line(value: Any) -> str:
    """Like `esc`, for text that must stay on its line (names, paths, locations): newlines and
    tabs are made visible too."""
    from rich.markup import escape

    return escape(str(value).translate(_LINE_TABLE))


def styled(markup: str) -> Text:
    """A renderable for places that take one (a spinner's text, a panel's title): Rich reads a
    plain string there with emoji codes on, so build it here. Data in `markup` must be escaped."""
    from rich.text import Text

    return Text.from_markup(markup, emoji=False)


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
            f"[bold]{esc_line(issue.location)}[/bold] [{color}]{issue.severity}[/{color}] "
            f"{esc_line(issue.message)} [dim]\\[{esc_line(issue.code)}][/dim]"
        )
        if issue.path:
            stderr().print(f"  [dim]at[/dim] {esc_line(issue.dotted_path)}")
        if issue.hint:
            stderr().print(f"  [dim]hint:[/dim] {esc_line(issue.hint)}")


def script_issues(issues: Iterable[ScriptIssue], root: Any = None) -> None:
    for issue in issues:
        color = "red" if issue.severity == "error" else "yellow"
        where = issue.file
        if root is not None:
            with contextlib.suppress(ValueError):
                where = issue.file.relative_to(root)
        stderr().print(
            f"[bold]{esc_line(where)}:{issue.line}:{issue.column}[/bold] "
            f"[{color}]{issue.severity}[/{color}] {esc(issue.message)} "
            f"[dim]\\[{esc_line(issue.code)}][/dim]"
        )
