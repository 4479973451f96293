"""The reported error of each way a script can fail (`failure_from`), what a description says, and
the isolation pieces on their own: `guarded` (stdout and exits) and `run_with_time_limit`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from runtime.errors import (
    ActionError,
    InvalidValueError,
    NetworkError,
    SetupError,
)
from runtime.execution.description import ScriptDescription
from runtime.execution.failures import failure_from, timeout_failure
from runtime.execution.isolation import ExitAttempt, exits_refused, guarded, run_with_time_limit

ROOT = Path("/project")


def test_an_action_error_payload_json_cannot_hold_is_shown_not_lost() -> None:
    failure = failure_from(ActionError({"at": object(), "n": 1}), kind="action", root=ROOT)
    assert failure.type == "action_script_failure"
    assert failure.payload["n"] == 1
    assert failure.payload["at"].startswith("<object object")


def test_a_script_error_keeps_its_type_and_payload() -> None:
    error = InvalidValueError("bad", error_type="invalid_action_input", payload={"errors": []})
    failure = failure_from(error, kind="action", root=ROOT)
    assert failure.to_json() == {
        "type": "invalid_action_input",
        "message": "bad",
        "payload": {"errors": []},
    }


def test_a_network_error_is_an_http_error_without_a_status() -> None:
    failure = failure_from(
        NetworkError("connection refused", url="https://x.test/a", attempts=3),
        kind="sync",
        root=ROOT,
    )
    assert failure.type == "script_http_error"
    assert failure.message == "connection refused"
    assert failure.payload == {"status": None, "url": "https://x.test/a", "attempts": 3}


class Out(BaseModel):
    n: int


def test_a_validation_error_is_an_invalid_record_or_output_by_kind() -> None:
    with pytest.raises(ValidationError) as caught:
        Out.model_validate({"n": "x"})
    assert failure_from(caught.value, kind="sync", root=ROOT).type == "invalid_sync_record"
    action = failure_from(caught.value, kind="action", root=ROOT)
    assert action.type == "invalid_action_output"
    assert action.payload["model"] == "Out"
    assert [e["path"] for e in action.payload["errors"]] == ["n"]
    assert failure_from(caught.value, kind="on-event", root=ROOT).type == "script_internal_error"


def test_a_user_error_shows_its_hint() -> None:
    failure = failure_from(SetupError("no token", hint="set it"), kind="sync", root=ROOT)
    assert (failure.type, failure.message) == ("script_internal_error", "no token (set it)")
    assert failure_from(SetupError("plain"), kind="sync", root=ROOT).message == "plain"


def test_a_cancelled_script_and_a_timeout_are_internal_errors() -> None:
    cancelled = failure_from(asyncio.CancelledError(), kind="sync", root=ROOT)
    assert cancelled.message == "the script was cancelled"
    assert timeout_failure(1.5).message == "the script did not finish within 1.5 s and was stopped"


def test_a_stacktrace_shows_only_the_projects_own_frames(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text("def f():\n    raise KeyError('k')\n", encoding="utf-8")
    code = compile(mine.read_text(encoding="utf-8"), str(mine), "exec")
    scope: dict[str, object] = {}
    exec(code, scope)
    with pytest.raises(KeyError) as caught:
        scope["f"]()  # type: ignore[operator]
    failure = failure_from(caught.value, kind="sync", root=tmp_path)
    # this test's own frame is not under the project root: only mine.py is shown
    assert failure.payload["stacktrace"] == ["mine.py:2 in f: raise KeyError('k')"]


def test_a_description_names_its_entry_point_and_only_syncs_handle_webhooks() -> None:
    sync = ScriptDescription("sync", "s", "github", ROOT / "s.py", ROOT)
    action = ScriptDescription("action", "a", "github", ROOT / "a.py", ROOT)
    assert (sync.entry_point, action.entry_point) == ("fetch_data", "run_action")
    webhook = sync.for_webhook()
    assert (webhook.kind, webhook.entry_point, webhook.is_sync) == ("webhook", "on_webhook", True)
    assert not action.is_sync
    with pytest.raises(ValueError, match="only syncs handle webhooks"):
        action.for_webhook()


def test_guarded_sends_printed_lines_to_the_hook_and_restores_everything(
    capfd: pytest.CaptureFixture[str],
) -> None:
    lines: list[str] = []

    def on_output(line: str) -> str:
        lines.append(line)
        return line.upper()

    real_stdout, real_exit = sys.stdout, os._exit
    with guarded(on_output), guarded(on_output):  # nested use is harmless
        print("one")
        sys.stdout.write("two without newline")
        with pytest.raises(ExitAttempt) as caught:
            os._exit(4)
    assert caught.value.code == 4
    assert sys.stdout is real_stdout
    assert os._exit is real_exit
    out, err = capfd.readouterr()
    assert out == ""
    assert "ONE\n" in err
    assert "TWO WITHOUT NEWLINE\n" in err
    assert lines == ["one", "two without newline"]


def test_exits_refused_restores_the_real_exit() -> None:
    real_exit = os._exit
    with exits_refused():
        assert os._exit is not real_exit
        with pytest.raises(ExitAttempt):
            os._exit(0)
    assert os._exit is real_exit


def test_run_with_time_limit_returns_the_value_or_the_error() -> None:
    async def value() -> int:
        return 42

    async def fails() -> None:
        raise RuntimeError("no")

    done = run_with_time_limit(value, timeout_s=5)
    assert (done.value, done.error, done.timed_out) == (42, None, False)
    failed = run_with_time_limit(fails, timeout_s=5)
    assert isinstance(failed.error, RuntimeError)
    assert not failed.timed_out


def test_run_with_time_limit_cancels_a_script_past_its_limit() -> None:
    cleaned: list[str] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.append("finally ran")

    ran = run_with_time_limit(slow, timeout_s=0.05)
    assert ran.timed_out
    assert ran.error is None
    assert cleaned == ["finally ran"]
