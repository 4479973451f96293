"""`cli.fast_path`: a plain `nango dryrun` command line gives the command the values Typer gives
it; every other command line is left to Typer (its help and its errors unchanged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from cli import boundary, fast_path
from cli.commands.app import app
from tests.helpers import outside_env


def typer_values(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[int, Any, str]:
    """What Typer passes to the dry run's body for `nango dryrun <args>` (None when it does not
    call it), its exit code and its output."""
    called: list[dict[str, Any]] = []

    def record(_fn: Any, _failure: Any, /, *positional: Any, **values: Any) -> None:
        assert not positional
        called.append(values)

    monkeypatch.setattr(boundary, "invoke", record)
    result = CliRunner().invoke(app, ["dryrun", *args])
    return result.exit_code, called[0] if called else None, result.output


HANDLED = [
    ["items", "conn"],
    ["items", "conn", "--json"],
    ["--json", "items", "conn"],
    ["items", "--json", "conn", "--debug"],
    ["items", "conn", "-e", "prod", "--environment", "staging"],  # the last value counts
    ["items", "conn", "--environment=prod"],
    ["items", "conn", "--environment="],
    ["items", "conn", "-eprod"],
    ["items", "conn", "-e=prod"],
    ["items", "conn", "-e", "-x"],  # a value may start with a dash
    ["items", "conn", "--input", "--json"],
    ["items", "conn", "-e", "-h"],
    ["items", "conn", "-e", "--"],
    ["items", "conn", "-i", '{"title": "Hi"}', "-m", "{}", "-c", '{"a": 1}'],
    ["items", "conn", "--input=@in.json", "--metadata=", "--checkpoint=x=y"],
    ["items", "conn", "-l", "2024-01-31", "--lastSyncDate", "2024-02-01"],
    ["items", "conn", "--last-sync-date=2024-01-31T12:00:00Z"],
    ["items", "conn", "--integration-id", "github", "--variant", "v2"],
    ["items", "conn", "--validation", "--validate", "--save", "--save-responses", "--replay"],
    ["items", "conn", "--json", "--json"],
    ["items", "conn", "--no-interactive", "--auto-confirm"],
    ["items", "conn", "--timeout", "5"],
    ["items", "conn", "--timeout=0.25", "--timeout", "30"],
    ["items", "conn", "--timeout", "007"],
    ["items", "conn", "--timeout", "0"],
    ["--", "--json", "conn"],
    ["items", "--", "-e"],
    ["items", "conn", "--"],
    ["--json", "--", "items", "--"],
    ["", ""],
    ["items", "conn with spaces", "-e", ""],
    ["ïtems", "çonn", "-e", "naïve"],
]


@pytest.mark.parametrize("args", HANDLED, ids=" ".join)
def test_a_plain_command_line_gives_the_values_typer_gives(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    code, expected, output = typer_values(monkeypatch, args)
    assert expected is not None, output

    assert fast_path.parse_dryrun(args) == expected
    assert code == 0


LEFT_TO_TYPER = [
    ["items", "conn", "--help"],
    ["items", "conn", "-h"],
    ["--help"],
    ["items", "conn", "--jsn"],  # unknown: Typer suggests --json
    ["items", "conn", "-x"],
    ["items", "conn", "-hx"],
    ["items", "conn", "---json"],
    ["items", "conn", "--json=yes"],  # a flag given a value
    ["items", "conn", "--json="],
    ["items", "conn", "--environment"],  # the value is missing
    ["items", "conn", "-e"],
    ["items"],  # an argument is missing
    [],
    ["items", "conn", "extra"],
    ["items", "conn", "--", "extra"],
    ["items", "-"],
    ["items", "conn", "--timeout", "soon"],
    ["items", "conn", "--timeout", "1e3"],
    ["items", "conn", "--timeout", "-1"],
    ["items", "conn", "--timeout", " 5"],
    ["items", "conn", "--timeout", "inf"],
    ["items", "conn", "--timeout", "٣"],  # a digit, but not an ASCII one
    ["items", "conn", "--version"],
    ["items", "conn", "-e", "bad\udcff"],  # a word that was not UTF-8
]


@pytest.mark.parametrize("args", LEFT_TO_TYPER, ids=" ".join)
def test_any_other_command_line_is_left_to_typer(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    assert fast_path.parse_dryrun(args) is None
    assert fast_path.run(["dryrun", *args]) is False


def test_unknown_options_and_missing_values_keep_typers_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, called, output = typer_values(monkeypatch, ["items", "conn", "--jsn"])
    assert (code, called) == (2, None)
    assert "No such option: --jsn" in output
    assert "--json" in output  # the suggestion

    code, called, output = typer_values(monkeypatch, ["items", "conn", "--environment"])
    assert (code, called) == (2, None)
    assert "Option '--environment' requires an argument" in output


def test_other_commands_and_root_options_are_left_to_typer() -> None:
    for args in (["generate"], ["--version"], ["--help"], ["dryrun"], ["test", "items"], []):
        assert fast_path.run(args) is False


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_NANGO_COMPLETE", "bash_complete")
    assert fast_path.run(["dryrun", "items", "conn"]) is False


def test_the_option_table_is_the_typer_commands() -> None:
    """Every option of the Typer command is in the fast path's tables, with its parameter; an
    option added to the command without them would not parse there."""
    command = get_command(app).commands["dryrun"]  # type: ignore[attr-defined]
    value_options: dict[str, str] = {}
    flags: dict[str, str] = {}
    defaults: dict[str, object] = {}
    for param in command.params:
        if param.param_type_name != "option" or param.name == "help":
            continue
        assert param.name is not None
        defaults[param.name] = param.default
        table = flags if param.is_flag else value_options
        for spelling in [*param.opts, *param.secondary_opts]:
            table[spelling] = param.name
    assert value_options == fast_path.DRYRUN_VALUE_OPTIONS
    assert flags == fast_path.DRYRUN_FLAGS
    assert set(defaults) == set(value_options.values()) | set(flags.values())
    assert fast_path.parse_dryrun(["a", "b"]) == {**defaults, "name": "a", "connection_id": "b"}


def test_a_plain_dryrun_process_runs_without_typer(tmp_path: Path) -> None:
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('typer loaded:', 'typer' in sys.modules))\n"
        "sys.argv = ['nango', 'dryrun', 'items', 'conn', '--json']\n"
        "from cli.app import main\n"
        "main()\n"
    )
    env = outside_env()
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )

    assert found.returncode == 12
    assert "Not inside a Nango project" in found.stderr
    assert found.stdout == "typer loaded: False\n"


VALUES = ["items", "conn", "", "-", "--", "-x", "--json", "x=y", "naïve", "5", "0.5", "1e3", "-1"]
ODD_WORDS = ["-", "--", "--jsn", "--json=1", "-h", "--help", "-x", "---json", "--version", "-v"]
OPTIONS = st.one_of(
    st.sampled_from(sorted(fast_path.DRYRUN_FLAGS)).map(lambda flag: [flag]),
    st.tuples(st.sampled_from(sorted(fast_path.DRYRUN_VALUE_OPTIONS)), st.sampled_from(VALUES)),
    st.tuples(st.sampled_from(sorted(fast_path.DRYRUN_VALUE_OPTIONS)), st.sampled_from(VALUES)).map(
        lambda pair: [f"{pair[0]}={pair[1]}" if pair[0].startswith("--") else "".join(pair)]
    ),
    st.sampled_from(ODD_WORDS).map(lambda word: [word]),
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """Options in any order, and (mostly) two arguments placed anywhere among them."""
    pieces = [list(piece) for piece in draw(st.lists(OPTIONS, max_size=5))]
    for _ in range(draw(st.sampled_from([2, 2, 2, 1, 3]))):
        word = draw(st.sampled_from(["items", "conn", "", "naïve", "x=y", "-"]))
        pieces.insert(draw(st.integers(0, len(pieces))), [word])
    return [word for piece in pieces for word in piece]


@settings(max_examples=200, deadline=None)
@given(command_lines())
def test_any_command_line_the_fast_path_takes_gets_typers_values(args: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, expected, output = typer_values(monkeypatch, args)
    found = fast_path.parse_dryrun(args)
    if found is not None:
        assert (code, found) == (0, expected), output
