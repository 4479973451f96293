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


def _terminal() -> Console:
    return Console(file=io.StringIO(), width=200, force_terminal=True, color_system=None)


def test_the_live_view_shows_config_errors_warnings_and_a_failed_deploy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = LiveReporter("~/demo")
    view.cycle_started(["nango.yaml"])
    result = CycleResult(
        5,
        ["nango.yaml"],
        config_errors=[
            Problem("bad runs", "nango.yaml", 10, 9, "invalid_runs", "integrations > github")
        ],
        warnings=[Problem("unknown model Nope", "nango.yaml", 20, 17)],
    )
    view.cycle_finished(result)
    view.deploy_finished(DeployOutcome(False, plan="+1 ~0 -0", error="no key"))
    text = _text(view.render())
    assert "✗ nango.yaml:10:9 bad runs" in text
    assert "warning nango.yaml:20:17 unknown model Nope" in text
    assert "  at integrations > github" in text
    assert "deploy failed: no key · plan +1 ~0 -0" in text
    answers = iter(["y", "no"])
    monkeypatch.setattr(output.stderr(), "input", lambda _prompt: next(answers))
    assert view.confirm_destructive("-1") is True
    assert PlainReporter().confirm_destructive("-1") is False


def test_dev_reporter_picks_the_view_for_the_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from cli.terminal.dev_view import dev_reporter

    with dev_reporter(json_output=True, root=Path("/p")) as chosen:
        assert isinstance(chosen, JsonReporter)
    with dev_reporter(json_output=False, root=Path("/p")) as chosen:
        assert isinstance(chosen, PlainReporter)  # pytest's stdout is not a terminal
    terminal = _terminal()
    monkeypatch.setattr(output, "live_stdout", lambda: terminal)
    with dev_reporter(json_output=False, root=Path.home() / "demo") as chosen:
        assert isinstance(chosen, LiveReporter)
        chosen.cycle_finished(_cycle())
        monkeypatch.setattr(output.stderr(), "input", lambda _prompt: "n")
        assert chosen.confirm_destructive("-1 (deleted: github/old)") is False
    assert "nango dev ~/demo" in terminal.file.getvalue()  # type: ignore[attr-defined]


def test_plain_lines_for_deploys(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.StringIO()
    output.stdout.cache_clear()
    output.stderr.cache_clear()
    monkeypatch.setattr(output.stdout(), "file", buffer)
    monkeypatch.setattr(output.stderr(), "file", buffer)
    reporter = PlainReporter()
    reporter.cycle_started([])
    reporter.deploy_finished(DeployOutcome(True, plan="+0 ~1 -0", deployed=["github/issues"]))
    reporter.deploy_finished(DeployOutcome(False, plan="+0 ~1 -0", error="refused"))
    output.stdout.cache_clear()
    output.stderr.cache_clear()
    assert buffer.getvalue().splitlines() == [
        "✓ deployed: github/issues  plan +0 ~1 -0",
        "error deploy failed: refused",
        "  hint: plan +0 ~1 -0",
    ]
