"""Progress of long CLI work: what the core reports, and where the terminal shows it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from cli.codegen.generate import generate
from cli.init.scaffold import init_project
from cli.terminal.progress import TerminalProgress
from cli.test.runner import run_fixture_tests
from tests.helpers import Cli


class Steps:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int | None, int | None]] = []

    def step(self, label: str, *, done: int | None = None, total: int | None = None) -> None:
        self.seen.append((label, done, total))


def test_tests_and_generate_report_their_steps(tmp_path: Path) -> None:
    root = init_project(path=tmp_path / "demo").root
    steps = Steps()
    run_fixture_tests(project_root=root, progress=steps)
    assert steps.seen == [
        ("github/issues", 0, 2),
        ("github/create-issue", 1, 2),
        ("replayed", 2, 2),
    ]
    steps = Steps()
    generate(project_root=root, progress=steps)
    assert steps.seen[0] == ("validating nango.yaml", None, None)
    assert steps.seen[-1] == ("checking the scripts' files", 1, 2)


def test_a_terminal_shows_a_bar_that_goes_away() -> None:
    file = io.StringIO()
    console = Console(file=file, force_terminal=True, width=100, color_system=None)
    shown = TerminalProgress(console)
    shown.start()
    shown.step("github/[bold]issues\x1b", done=1, total=2)
    shown.stop()
    text = file.getvalue()
    assert "github/[bold]issues\\x1b" in text and "1/2" in text
    shown.step("after stop", done=2, total=2)  # ignored once stopped
    assert "after stop" not in file.getvalue()


def test_nothing_extra_when_stdout_is_not_a_terminal(cli: Cli, tmp_path: Path) -> None:
    root = init_project(path=tmp_path / "demo").root
    result = cli("test", cwd=root)
    assert result.stdout.splitlines() == [
        "✓ github/issues matches issues.test.json",
        "✓ github/create-issue matches create-issue.test.json",
        "2 passed, 0 failed",
    ]
    assert result.stderr == ""


def test_progress_is_shown_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.progress import NO_PROGRESS
    from cli.terminal import console as output
    from cli.terminal.progress import progress_shown, stop_progress

    with progress_shown() as silent:
        assert silent is NO_PROGRESS
        stop_progress(silent)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr(output, "stdout", lambda: terminal)
    monkeypatch.setattr(output, "stderr", lambda: terminal)
    with progress_shown(enabled=False) as silent:
        assert silent is NO_PROGRESS
    with progress_shown() as shown:
        assert isinstance(shown, TerminalProgress)
        shown.step("compiling", done=0, total=4)
        stop_progress(shown)
        shown.step("ignored")
    assert "compiling" in terminal.file.getvalue()  # type: ignore[attr-defined]
