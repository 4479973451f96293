"""`run_script`: the input an action receives, the output it may return, the error every failure
maps to, the time limit, and what a script cannot do to the process (print on our stdout, exit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.backends.capture import Capture
from runtime.backends.local import LocalBackend
from runtime.execution import isolation
from runtime.execution.description import ScriptDescription, ScriptKind
from runtime.execution.run import NO_INPUT, Outcome, RunContext, run_script
from runtime.sdk.types import Connection
from tests.helpers import REPO_ROOT, EchoHttp, write_tree

MODELS = """\
from runtime.sdk import models as _ms
from runtime.sdk.nango import ActionError, NangoAction, NangoSync


class EchoInput(_ms.NangoModel):
    name: _ms.Str


class EchoOutput(_ms.NangoModel):
    value: _ms.Str


class Item(_ms.NangoModel):
    id: _ms.Str


NANGO_MODELS = {"EchoInput": EchoInput, "EchoOutput": EchoOutput, "Item": Item}
"""

FOLDERS: dict[ScriptKind, str] = {
    "action": "actions",
    "sync": "syncs",
    "webhook": "syncs",
    "on-event": "on-events",
}


FakeHttp = EchoHttp


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "project", {"models.py": MODELS})


@dataclass
class Run:
    outcome: Outcome
    capture: Capture
    http: FakeHttp


def run(
    root: Path,
    text: str,
    *,
    kind: ScriptKind = "action",
    input: Any = NO_INPUT,
    validate: bool = True,
    timeout_s: float | None = None,
    redact: Any = None,
    **described: Any,
) -> Run:
    """Write `text` as the script `github/<kind folder>/script.py` and run it."""
    path = root / "github" / FOLDERS[kind] / "script.py"
    write_tree(root, {path.relative_to(root).as_posix(): text})
    description = ScriptDescription(kind, "script", "github", path, root, **described)
    capture = Capture(redact=redact)
    http = FakeHttp()
    backend = LocalBackend(
        http=http, connection=Connection("conn-1", "github", "github"), capture=capture
    )
    context = RunContext("conn-1", provider="github", validate=validate, timeout_s=timeout_s)
    outcome = run_script(description, context, backend, input, hooks=capture)
    return Run(outcome, capture, http)


ECHO = """\
from models import EchoInput, EchoOutput, NangoAction


async def run_action(nango: NangoAction, input: EchoInput) -> EchoOutput:
    return {"value": type(input).__name__ + ":" + str(input.name)}
"""


# --- input ---------------------------------------------------------------------------------------


def test_an_action_receives_its_input_as_an_instance_of_its_model(root: Path) -> None:
    ran = run(
        root, ECHO, input={"name": "ada"}, input_model="EchoInput", output_models=("EchoOutput",)
    )
    assert ran.outcome.error is None
    assert ran.outcome.output == {"value": "EchoInput:ada"}
    assert ran.outcome.warnings == []
    assert ran.http.events == ["start", "stop"]


def test_an_input_that_does_not_match_its_model_fails_the_run_before_it_starts(
    root: Path,
) -> None:
    ran = run(root, ECHO, input={"name": 3}, input_model="EchoInput")
    error = ran.outcome.error
    assert error is not None
    assert error.type == "invalid_action_input"
    assert error.message == "the input does not match EchoInput"
    assert error.payload["value"] == {"name": 3}
    assert [e["path"] for e in error.payload["errors"]] == ["name"]
    assert ran.http.events == []  # the script never ran


def test_without_validation_a_mismatched_input_is_a_warning_and_the_run_goes_on(
    root: Path,
) -> None:
    text = "async def run_action(nango, input):\n    return {'value': repr(input)}\n"
    ran = run(root, text, input={"name": 3}, input_model="EchoInput", validate=False)
    assert ran.outcome.error is None
    assert ran.outcome.output == {"value": "{'name': 3}"}
    assert ran.outcome.warnings == [
        "the input does not match EchoInput (name); run with --validation for details"
    ]


def test_an_input_given_to_an_action_that_declares_none_is_refused(root: Path) -> None:
    text = "async def run_action(nango, input):\n    return input\n"
    ran = run(root, text, input={"x": 1})
    assert ran.outcome.error is not None
    assert ran.outcome.error.type == "invalid_action_input"
    assert ran.outcome.error.message == "this action declares no input"
    assert run(root, text, input={}).outcome.output is None


# --- output --------------------------------------------------------------------------------------


def test_an_output_that_matches_no_output_model_is_invalid(root: Path) -> None:
    text = "async def run_action(nango):\n    return {'value': 12}\n"
    ran = run(root, text, output_models=("EchoOutput",))
    assert ran.outcome.error is not None
    assert ran.outcome.error.type == "invalid_action_output"
    assert ran.outcome.error.message == "the output does not match EchoOutput"
    assert [e["path"] for e in ran.outcome.error.payload["errors"]] == ["value"]

    lenient = run(root, text, output_models=("EchoOutput",), validate=False)
    assert lenient.outcome.error is None
    assert lenient.outcome.output == {"value": 12}
    assert lenient.outcome.warnings == [
        "the output does not match EchoOutput (value); run with --validation for details"
    ]


def test_an_output_matching_one_of_several_models_is_valid(root: Path) -> None:
    text = "async def run_action(nango):\n    return {'id': 'x'}\n"
    ran = run(root, text, output_models=("EchoOutput", "Item"))
    assert ran.outcome.error is None
    assert ran.outcome.output == {"id": "x"}


@pytest.mark.parametrize(
    ("value", "path", "kind"),
    [
        ("{'when': object()}", "when", "an object"),
        ("{'tags': {1, 2}}", "tags", "a set"),
        ("[1, b'raw']", "1", "a bytes"),
    ],
)
def test_an_output_json_cannot_hold_is_refused_naming_the_field(
    root: Path, value: str, path: str, kind: str
) -> None:
    ran = run(root, f"async def run_action(nango):\n    return {value}\n")
    error = ran.outcome.error
    assert error is not None
    assert error.type == "invalid_action_output"
    assert error.message.startswith(
        f"the output cannot be sent as JSON: {path}: {kind} is not JSON"
    )
    assert error.payload["errors"][0]["path"] == path


def test_an_output_is_written_as_json_writes_it(root: Path) -> None:
    text = (
        "import datetime\n\n\nasync def run_action(nango):\n"
        "    return {'n': float('nan'), 'at': datetime.datetime(2024, 1, 2, 3, 4, 5,"
        " tzinfo=datetime.timezone.utc), 't': (1, 2)}\n"
    )
    ran = run(root, text)
    assert ran.outcome.error is None
    assert ran.outcome.output == {"n": None, "at": "2024-01-02T03:04:05.000Z", "t": [1, 2]}


# --- failures ------------------------------------------------------------------------------------


def test_an_action_error_fails_the_run_with_its_payload(root: Path) -> None:
    text = (
        "from models import ActionError\n\n\nasync def run_action(nango):\n"
        "    raise ActionError({'reason': 'quota', 'left': 0})\n"
    )
    ran = run(root, text)
    assert ran.outcome.error is not None
    assert ran.outcome.error.type == "action_script_failure"
    assert ran.outcome.error.payload == {"reason": "quota", "left": 0}
    assert ran.http.events == ["start", "stop"]  # the backend is stopped after a failure too


def test_an_unexpected_exception_names_its_type_and_the_scripts_own_lines(root: Path) -> None:
    text = (
        "import json\n\n\ndef parse(text):\n    return json.loads(text)['id']\n\n\n"
        "async def run_action(nango):\n    return parse('{\"x\": 1}')\n"
    )
    ran = run(root, text)
    error = ran.outcome.error
    assert error is not None
    assert error.type == "script_internal_error"
    assert error.message == "KeyError: 'id'"
    assert error.payload["name"] == "KeyError"
    assert error.payload["stacktrace"] == [
        "script.py:9 in run_action: return parse('{\"x\": 1}')",
        "script.py:5 in parse: return json.loads(text)['id']",
    ]


def test_a_script_that_does_not_import_fails_with_its_line(root: Path) -> None:
    ran = run(root, "import helpers_that_do_not_exist\n")
    error = ran.outcome.error
    assert error is not None
    assert error.type == "script_internal_error"
    assert error.message.startswith("importing github/actions/script.py failed at line 1: ")
    assert "ModuleNotFoundError" in error.message
    assert ran.http.events == []


def test_a_missing_entry_function_fails_the_run(root: Path) -> None:
    ran = run(root, "def run_action(nango):\n    return 1\n")
    assert ran.outcome.error is not None
    assert ran.outcome.error.message == (
        "github/actions/script.py does not define `async def run_action(...)`"
    )


def test_a_request_the_api_refuses_is_a_script_http_error(root: Path) -> None:
    text = (
        "from runtime.errors import HttpError\n\n\nasync def run_action(nango):\n"
        "    raise HttpError(429, {'m': 'slow'}, {'Retry-After': '3', 'Set-Cookie': 's'}, 'u')\n"
    )
    error = run(root, text).outcome.error
    assert error is not None
    assert error.type == "script_http_error"
    assert error.payload == {
        "status": 429,
        "url": "u",
        "headers": {"Retry-After": "3"},
        "body": {"m": "slow"},
    }


# --- time limit ----------------------------------------------------------------------------------


def test_the_time_limit_stops_a_waiting_script(root: Path) -> None:
    text = "import asyncio\n\n\nasync def run_action(nango):\n    await asyncio.sleep(60)\n"
    started = time.monotonic()
    ran = run(root, text, timeout_s=0.2)
    assert time.monotonic() - started < 30
    error = ran.outcome.error
    assert error is not None
    assert error.type == "script_internal_error"
    assert error.message == "the script did not finish within 0.2 s and was stopped"
    assert error.payload == {"timeout_s": 0.2}
    assert ran.http.events == ["start", "stop"]  # cancelled, it still stopped its backend


def test_the_time_limit_interrupts_a_script_stuck_in_python_code(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "_CANCEL_GRACE_S", 0.1)
    text = "async def run_action(nango):\n    while True:\n        pass\n"
    ran = run(root, text, timeout_s=0.1)
    assert ran.outcome.error is not None
    assert ran.outcome.error.message == "the script did not finish within 0.1 s and was stopped"
    for _ in range(100):  # the interrupted thread winds down
        if not any(t.name == "nango-script" for t in threading.enumerate()):
            break
        time.sleep(0.02)
    assert not any(t.name == "nango-script" for t in threading.enumerate())


def test_a_kind_without_a_given_limit_gets_its_default(root: Path) -> None:
    text = "async def run_action(nango):\n    return 'done'\n"
    ran = run(root, text)
    assert ran.outcome.error is None
    assert ran.outcome.output == "done"
    assert ran.outcome.duration_s > 0


# --- what a script cannot do to the process ------------------------------------------------------

PRINTS = """\
import os
import sys


async def run_action(nango):
    print("printed line")
    sys.stdout.write("written ")
    sys.stdout.write("in parts\\n")
    os.write(1, b"straight to fd 1 with SECRET\\n")
    print("to stderr", file=sys.stderr)
    return {"ok": True}
"""


def test_what_a_script_prints_goes_to_the_log_and_stderr_never_to_stdout(
    root: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ran = run(root, PRINTS, redact=lambda text: text.replace("SECRET", "***"))
    out, err = capfd.readouterr()
    assert ran.outcome.output == {"ok": True}
    assert out == ""
    assert "printed line\n" in err
    assert "written in parts\n" in err
    assert "straight to fd 1 with ***\n" in err
    assert "to stderr\n" in err
    assert "SECRET" not in err
    printed = [e.message for e in ran.capture.logs]
    assert "(printed) printed line" in printed
    assert "(printed) written in parts" in printed
    assert "(printed) straight to fd 1 with ***" in printed
    # afterwards our stdout is ours again
    print("ours")
    assert capfd.readouterr().out == "ours\n"


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        ("os._exit(0)", "os._exit(0)"),
        ("posix._exit(3)", "os._exit(3)"),
        ("sys.exit(0)", "sys.exit(0)"),
        ("sys.exit()", "sys.exit()"),
        ("exit()", "sys.exit()"),
    ],
)
def test_a_script_that_tries_to_end_the_process_fails_its_run(
    root: Path, call: str, shown: str
) -> None:
    real_exit = os._exit
    text = f"import os\nimport posix\nimport sys\n\n\nasync def run_action(nango):\n    {call}\n"
    ran = run(root, text)
    error = ran.outcome.error
    assert error is not None
    assert error.type == "script_internal_error"
    assert f"the script called {shown}: a script cannot end the process" in error.message
    assert error.payload["stacktrace"] == [f"script.py:7 in run_action: {call}"]
    assert os._exit is real_exit


EXIT_DRIVER = """\
import json
import sys
from pathlib import Path

from runtime.backends.capture import Capture
from runtime.backends.local import LocalBackend
from runtime.execution.description import ScriptDescription
from runtime.execution.loader import loader_for
from runtime.execution.run import RunContext, run_script
from runtime.sdk.types import Connection



class NoHttp:
    async def start(self):
        pass

    async def stop(self):
        pass


root = Path(sys.argv[1])
path = root / "github" / "actions" / "script.py"
loader_for(root).script(path)  # imported before the run, outside its guard
capture = Capture()
connection = Connection("c", "github", "github")
backend = LocalBackend(http=NoHttp(), connection=connection, capture=capture)
description = ScriptDescription("action", "script", "github", path, root)
outcome = run_script(description, RunContext("c"), backend, hooks=capture)
print(json.dumps(outcome.error.to_json()))
sys.exit(7)
"""


@pytest.mark.slow
def test_an_exit_bound_at_import_cannot_end_the_process_with_success(root: Path) -> None:
    """`from os import _exit` binds the function at import; run in a process of its own, since
    a guard that failed would end this one."""
    text = "from os import _exit\n\n\nasync def run_action(nango):\n    _exit(0)\n"
    write_tree(root, {"github/actions/script.py": text})
    driver = root.parent / "driver.py"
    driver.write_text(EXIT_DRIVER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, str(driver), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 7, done.stderr
    error = json.loads(done.stdout.strip().splitlines()[-1])
    assert "the script called os._exit(0)" in error["message"]


# --- other kinds ---------------------------------------------------------------------------------


def test_a_sync_writes_its_records_through_the_backend(root: Path) -> None:
    text = (
        "from models import Item\n\n\nasync def fetch_data(nango):\n"
        "    res = await nango.get(endpoint='/items')\n"
        "    await nango.batch_save([Item(id='1'), {'id': res.data['endpoint']}], 'Item')\n"
    )
    ran = run(root, text, kind="sync", declared_models=("Item",))
    assert ran.outcome.error is None
    assert ran.outcome.output is None
    assert ran.capture.record_count("save") == 2
    assert ran.capture.models("save")["Item"].first == [{"id": "1"}, {"id": "/items"}]
    assert ran.http.events == ["start", "GET /items", "stop"]


def test_a_sync_record_json_cannot_hold_is_an_invalid_sync_record(root: Path) -> None:
    text = (
        "async def fetch_data(nango):\n"
        "    await nango.batch_save([{'id': '1', 'raw': object()}], 'Item')\n"
    )
    ran = run(root, text, kind="sync", declared_models=("Item",))
    error = ran.outcome.error
    assert error is not None
    assert error.type == "invalid_sync_record"
    assert "raw" in json.dumps(error.payload)
    assert ran.capture.record_count("save") == 0


def test_a_webhook_handler_receives_the_payload_as_it_came(root: Path) -> None:
    text = (
        "async def fetch_data(nango):\n    pass\n\n\n"
        "async def on_webhook(nango, payload):\n"
        "    await nango.log('got', payload['event'], type(payload).__name__)\n"
    )
    ran = run(root, text, kind="webhook", input={"event": "push"})
    assert ran.outcome.error is None
    assert [e.message for e in ran.capture.logs] == ["got push dict"]
