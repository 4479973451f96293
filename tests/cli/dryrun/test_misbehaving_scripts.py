"""Scripts that misbehave cannot corrupt a command's output nor end it with success.

What a script prints (at import or while it runs, through `print`, `sys.stdout.write` or straight
to file descriptor 1) goes to the report's logs and stderr, never to stdout: `dryrun --json`
prints exactly one JSON object. `os._exit(0)` fails the run; `nango test` goes on with the other
fixtures. Values JSON cannot hold are refused with the field's path; dates become the ISO text
JavaScript's `JSON.stringify` writes. Time limits are bounded, and bad ones refused.

Claims about a process (its stdout, its exit) are checked on real `nango` processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO_ROOT, Cli, outside_env, run_json

NANGO = [sys.executable, "-m", "cli"]
YAML = """\
integrations:
  demo:
    syncs:
      chatty:
        runs: every hour
        output: Chat
        endpoint: GET /chat
      quitter:
        runs: every hour
        output: Quit
        endpoint: GET /quit
      stuck:
        runs: every hour
        output: Stuck
        endpoint: GET /stuck
      fine:
        runs: every hour
        output: Fine
        endpoint: GET /fine
      values:
        runs: every hour
        output: Value
        endpoint: GET /values
    actions:
      chatty-action:
        output: Chat
        endpoint: POST /chat
      returns:
        input: Kind
        endpoint: POST /returns
models:
  Chat:
    id: string
  Quit:
    id: string
  Stuck:
    id: string
  Fine:
    id: string
  Value:
    id: string
  Kind:
    kind: string
"""
CHATTY = """\
import os
import sys

from models import NangoSync

print("printed at import")
sys.stdout.write("written at import\\n")
os.write(1, b"fd 1 at import\\n")


async def fetch_data(nango: NangoSync) -> None:
    print("printed in fetch_data")
    sys.stdout.write("written without a newline")
    sys.stdout.flush()
    os.write(1, b"fd 1 in fetch_data\\n")
    print("to stderr", file=sys.stderr)
    await nango.batch_save([{"id": "1"}], "Chat")
"""
CHATTY_ACTION = """\
import os

from models import NangoAction

print("{not json")


async def run_action(nango: NangoAction) -> dict:
    print("}")
    os.write(1, b"[1, 2")
    return {"id": "1"}
"""
QUITTER = """\
import os

from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save([{"id": "1"}], "Quit")
    os._exit(0)
"""
STUCK = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    while True:
        pass
"""
FINE = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.batch_save([{"id": "1"}], "Fine")
"""
VALUES = """\
import datetime

from models import NangoSync

PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


class Thing:
    pass


async def fetch_data(nango: NangoSync) -> None:
    metadata = await nango.get_metadata() or {}
    values = {
        "dates": {
            "day": datetime.date(2024, 1, 2),
            "naive": datetime.datetime(2024, 1, 1, 12, 0, 0, 123456),
            "aware": [datetime.datetime(2024, 1, 1, 12, tzinfo=PLUS_TWO)],
        },
        "set": {1, 2},
        "bytes": b"abc",
        "object": Thing(),
        "tuple": (1, 2),
    }
    kind = metadata.get("kind", "dates")
    await nango.batch_save([{"id": "good"}], "Value")
    await nango.batch_save([{"id": "1", "nested": {"field": values[kind]}}], "Value")
"""
RETURNS = """\
import datetime

from models import Kind, NangoAction


async def run_action(nango: NangoAction, input: Kind) -> object:
    values = {
        "set": {"ids": {1, 2}},
        "bytes": b"raw",
        "object": object(),
        "date": {"at": datetime.datetime(2024, 5, 6, 7, 8, 9)},
        "nan": {"n": float("nan")},
    }
    return values[input.kind]
"""


def fixture(model: str) -> str:
    return json.dumps({"nango": {"batchSave": {model: [{"id": "1"}]}}, "api": {}})


@pytest.fixture
def root(make_project: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NANGO_LOCAL_DEMO_ACCESS_TOKEN", "tok-misbehaving-1")
    monkeypatch.setenv("NANGO_LOCAL_DEMO_PROVIDER", "github")
    return make_project(
        {
            "nango.yaml": YAML,
            ".env": "NANGO_LOCAL_DEMO_ACCESS_TOKEN=tok-misbehaving-1\n"
            "NANGO_LOCAL_DEMO_PROVIDER=github\n",
            "demo/syncs/chatty.py": CHATTY,
            "demo/actions/chatty-action.py": CHATTY_ACTION,
            "demo/syncs/quitter.py": QUITTER,
            "demo/syncs/stuck.py": STUCK,
            "demo/syncs/fine.py": FINE,
            "demo/syncs/values.py": VALUES,
            "demo/actions/returns.py": RETURNS,
            "demo/tests/quitter.test.json": fixture("Quit"),
            "demo/tests/stuck.test.json": fixture("Stuck"),
            "demo/tests/fine.test.json": fixture("Fine"),
        }
    )


def nango(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = outside_env()
    environment["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [*NANGO, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


# --- stdout belongs to the report ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expect"), [("chatty", 0), ("chatty-action", 0)])
def test_dryrun_json_stdout_is_one_json_object_whatever_the_script_prints(
    root: Path, name: str, expect: int
) -> None:
    result = nango("dryrun", name, "c1", "--json", cwd=root)
    assert result.returncode == expect, result.stderr
    assert result.stdout.count("\n") == 1 and result.stdout.endswith("}\n"), result.stdout
    report = json.loads(result.stdout)
    assert report["error"] is None
    printed = [line["message"] for line in report["logs"]]
    if name == "chatty":
        # what the script printed while it ran is in its log lines and on stderr
        assert printed == [
            "(printed) printed in fetch_data",
            "(printed) written without a newline",
            "(printed) fd 1 in fetch_data",
        ]
        for line in ("printed at import", "fd 1 at import", "fd 1 in fetch_data", "to stderr"):
            assert line in result.stderr
    else:
        assert printed == ["(printed) }", "(printed) [1, 2"]
        assert report["output"] == {"id": "1"}


def test_what_a_script_prints_is_not_in_the_human_reports_stdout_lines(
    cli: Cli, root: Path
) -> None:
    result = cli("dryrun", "chatty", "c1", cwd=root)
    assert "(printed) printed in fetch_data" in result.stdout  # as a log line of the report
    assert "printed in fetch_data\n" in result.stderr


# --- exits ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_os_exit_fails_the_dry_run_instead_of_ending_it_with_success(root: Path) -> None:
    result = nango("dryrun", "quitter", "c1", "--json", cwd=root)
    assert result.returncode == 12, result.stdout + result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "script_internal_error"
    assert "os._exit(0)" in error["message"]


@pytest.mark.slow
def test_nango_test_goes_on_after_an_os_exit_and_a_stuck_script_and_fails(root: Path) -> None:
    result = nango("test", "--timeout", "2", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✓ demo/fine" in result.stdout
    assert "os._exit(0)" in result.stdout
    assert "did not finish within 2 s" in result.stdout
    assert result.stdout.endswith("1 passed, 2 failed\n")


def test_sys_exit_fails_the_run_too(cli: Cli, make_project: Callable[..., Path]) -> None:
    project = make_project(
        {
            "nango.yaml": YAML,
            "demo/syncs/fine.py": "import sys\n\nfrom models import NangoSync\n\n\n"
            "async def fetch_data(nango: NangoSync) -> None:\n    sys.exit(0)\n",
            "demo/tests/fine.test.json": fixture("Fine"),
        }
    )
    report = run_json(cli, project, "fine", "c1", "--replay", expect=12)
    assert report["error"]["type"] == "script_internal_error"


# --- values JSON cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--validation"]])
@pytest.mark.parametrize(
    ("kind", "what"),
    [("set", "a set"), ("bytes", "a bytes"), ("object", "a Thing")],
)
def test_a_record_value_json_cannot_hold_fails_the_run_naming_the_field(
    cli: Cli, root: Path, kind: str, what: str, flags: list[str]
) -> None:
    metadata = json.dumps({"kind": kind})
    report = run_json(cli, root, "values", "c1", "-m", metadata, *flags, expect=12)
    error = report["error"]
    assert error["type"] == "invalid_sync_record"
    assert list(error["payload"]["errors_by_path"]) == ["nested.field"]
    assert what in error["payload"]["errors_by_path"]["nested.field"]["message"]
    assert report["batch_save"] == {"Value": [{"id": "good"}]}  # never its str()


def test_dates_are_written_as_javascript_writes_them(cli: Cli, root: Path) -> None:
    report = run_json(cli, root, "values", "c1", "--validation")
    assert report["batch_save"]["Value"][1] == {
        "id": "1",
        "nested": {
            "field": {
                "day": "2024-01-02T00:00:00.000Z",
                "naive": "2024-01-01T12:00:00.123Z",
                "aware": ["2024-01-01T10:00:00.000Z"],
            }
        },
    }


def test_with_save_a_refused_record_is_neither_in_the_report_nor_in_the_fixture(
    cli: Cli, root: Path
) -> None:
    report = run_json(cli, root, "values", "c1", "-m", '{"kind": "set"}', "--save", expect=12)
    assert report["error"]["type"] == "invalid_sync_record"
    assert report["batch_save"] == {"Value": [{"id": "good"}]}
    saved = json.loads((root / "demo" / "tests" / "values.test.json").read_text("utf-8"))
    assert saved["nango"]["batchSave"] == {"Value": [{"id": "good"}]}


@pytest.mark.parametrize(
    ("kind", "what", "path"),
    [
        ("set", "a set", "ids"),
        ("bytes", "a bytes", "(output)"),
        ("object", "an object", "(output)"),
    ],
)
def test_an_action_returning_what_json_cannot_hold_is_an_invalid_output(
    cli: Cli, root: Path, kind: str, what: str, path: str
) -> None:
    report = run_json(cli, root, "returns", "c1", "-i", json.dumps({"kind": kind}), expect=12)
    error = report["error"]
    assert error["type"] == "invalid_action_output"
    assert what in error["message"]
    assert [e["path"] for e in error["payload"]["errors"]] == [path]
    assert report["output"] is None


@pytest.mark.parametrize(
    ("kind", "output"),
    [("date", {"at": "2024-05-06T07:08:09.000Z"}), ("nan", {"n": None})],
)
def test_an_action_output_is_written_as_json_stringify_writes_it(
    cli: Cli, root: Path, kind: str, output: dict[str, Any]
) -> None:
    report = run_json(cli, root, "returns", "c1", "-i", json.dumps({"kind": kind}))
    assert report["output"] == output


# --- time limits ---------------------------------------------------------------------------------

BAD_TIMEOUTS = ["nan", "inf", "-inf", "1e308", "-1", "0", "-0"]


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_dryrun_refuses_a_timeout_that_is_not_a_usable_number_of_seconds(
    cli: Cli, root: Path, value: str
) -> None:
    result = cli("dryrun", "fine", "c1", "--replay", f"--timeout={value}", cwd=root, expect=12)
    assert "is not a usable number of seconds" in result.stderr
    assert "unexpected" not in result.output


@pytest.mark.parametrize("value", BAD_TIMEOUTS)
def test_nango_test_refuses_a_timeout_that_is_not_a_usable_number_of_seconds(
    cli: Cli, root: Path, value: str
) -> None:
    result = cli("test", f"--timeout={value}", cwd=root, expect=1)
    assert "is not a usable number of seconds" in result.stderr
    assert result.stdout == ""  # refused before anything ran


def test_dryrun_timeout_stops_the_script(cli: Cli, root: Path) -> None:
    report = run_json(cli, root, "stuck", "c1", "--replay", "--timeout", "1", expect=12)
    assert report["error"]["message"] == "the script did not finish within 1 s and was stopped"


def test_nango_test_stops_each_fixture_at_its_default_limit(
    cli: Cli, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --timeout a fixture gets the default (a minute; shortened here), not 24 hours."""
    import cli.test.runner as runner

    monkeypatch.setattr(runner, "DEFAULT_TIMEOUT_S", 1.0)
    result = cli("test", "stuck", "fine", cwd=root, expect=1)
    assert "did not finish within 1 s" in result.stdout
    assert result.stdout.endswith("1 passed, 1 failed\n")


def test_the_default_limit_of_nango_test_is_a_minute() -> None:
    from cli.test.runner import DEFAULT_TIMEOUT_S

    assert DEFAULT_TIMEOUT_S == 60.0


# --- nesting in flag values ----------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-i", "-m", "-c"])
def test_json_flag_values_nested_too_deeply_are_a_clear_error(
    cli: Cli, root: Path, flag: str
) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    result = cli("dryrun", "fine", "c1", "--replay", flag, deep, cwd=root, expect=12)
    assert "nested too deeply" in result.stderr
    assert "unexpected" not in result.output


# --- terminal control characters from API data -------------------------------------------------

ESCAPING = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    await nango.log("log \\x1b[2J\\x1b]0;title\\x07 [bold]not markup[/bold] :fire:")
    await nango.batch_save([{"id": "\\x1b[31mred\\u202e", "note": "a\\rb"}], "Fine")
"""


def test_escape_sequences_in_records_and_logs_are_shown_not_sent_to_the_terminal(
    cli: Cli, root: Path
) -> None:
    (root / "demo" / "syncs" / "fine.py").write_text(ESCAPING, encoding="utf-8")
    result = cli("dryrun", "fine", "c1", "--replay", cwd=root)
    for raw in ("\x1b", "\x07", "\u202e", "\r"):
        assert raw not in result.output
    assert "[bold]not markup[/bold] :fire:" in result.stdout  # verbatim: no markup, no emoji
    assert "red" in result.stdout
