"""What `nango dev` shows: the live view's lines, the plain lines off a terminal, the JSON lines."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from cli.dev.events import CycleResult, DeployOutcome, Problem, ScriptStatus
from cli.terminal import console as output
from cli.terminal.dev_view import JsonReporter, LiveReporter, PlainReporter

BROKEN = Problem(
    "the script is not valid Python (invalid syntax); fix the syntax at line 12",
    file="github/syncs/issues.py",
    line=12,
    column=5,
    code="syntax_error",
)


def _cycle() -> CycleResult:
    failed = ScriptStatus(
        "issues", "github", "sync", "github/syncs/issues.py", "failed", "skipped", BROKEN
    )
    passed = ScriptStatus(
        "create-issue", "github", "action", "github/actions/create-issue.py", "ok", "passed"
    )
    bare = ScriptStatus(
        "labels[bold]", "github", "sync", "github/syncs/labels.py", "ok", "no fixture"
    )
    result = CycleResult(4, ["github/syncs/issues.py"], scripts=[failed], duration_s=0.0234)
    result.every_script = [failed, passed, bare]
    return result


def _text(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None, emoji=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_the_live_view_has_a_line_per_script_the_cycle_and_the_first_failure() -> None:
    view = LiveReporter("~/demo")
    view.cycle_finished(_cycle())
    view.deploy_finished(DeployOutcome(True, plan="+0 ~1 -0 (updated: github/issues)"))
    lines = [line.rstrip() for line in _text(view.render()).splitlines()]
    assert lines == [
        "nango dev ~/demo · watching (Ctrl-C stops)",
        "  ✗ github/issues        compile failed",
        "  ✓ github/create-issue  compiled  test passed",
        "  ✓ github/labels[bold]  compiled  no fixture",
        "cycle 4 · 1 changed (github/syncs/issues.py) · 23 ms · 1 failing",
        "first failure",
        "github/syncs/issues.py:12:5 the script is not valid Python (invalid syntax); fix the "
        "syntax at line 12 [syntax_error]",
        "deployed · plan +0 ~1 -0 (updated: github/issues)",
    ]


def test_plain_lines_when_stdout_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    output.stdout.cache_clear()
    monkeypatch.setattr(output.stdout(), "file", buffer)
    PlainReporter().cycle_finished(_cycle())
    output.stdout.cache_clear()
    assert buffer.getvalue().splitlines()[:3] == [
        "cycle 4 · 1 changed (github/syncs/issues.py) · 23 ms · 1 failing",
        "  github/issues  compile failed",
        "    github/syncs/issues.py:12:5 the script is not valid Python (invalid syntax); fix "
        "the syntax at line 12 [syntax_error]",
    ]


def test_json_is_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = JsonReporter()
    reporter.cycle_finished(_cycle())
    reporter.deploy_finished(DeployOutcome(False, plan="+1 ~0 -0", error="no runtime"))
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["cycle"] == 4 and first["ok"] is False and first["duration_ms"] == 23.4
    assert first["scripts"] == [
        {
            "name": "issues",
            "integration": "github",
            "file": "github/syncs/issues.py",
            "compile": "failed",
            "test": "skipped",
            "error": {
                "file": "github/syncs/issues.py",
                "line": 12,
                "column": 5,
                "code": "syntax_error",
                "message": BROKEN.message,
                "details": [],
            },
        }
    ]
    assert second == {
        "deploy": {"ok": False, "plan": "+1 ~0 -0", "deployed": [], "error": "no runtime"}
    }
    assert reporter.confirm_destructive("-1") is False
