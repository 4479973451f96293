"""The exact human output of each command on the example project: Nango-like messages are part of
the interface, so any change to them shows up here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Cli


@pytest.fixture
def demo(cli: Cli, tmp_path: Path) -> Path:
    cli("init", "demo", cwd=tmp_path)
    return tmp_path / "demo"


def test_init(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "demo", cwd=tmp_path)
    assert result.stdout == (
        f"✓ Nango integrations initialized in {tmp_path / 'demo'}\nNext: cd demo && nango compile\n"
    )
    assert result.stderr == ""


def test_init_refuses_an_existing_project(cli: Cli, demo: Path) -> None:
    result = cli("init", "demo", cwd=demo.parent, expect=1)
    assert result.stdout == ""
    assert result.stderr == (
        f"error {demo} is already a Nango project\n"
        "  hint: Run `nango generate` there, or choose another folder for `nango init`.\n"
    )


def test_generate(cli: Cli, demo: Path) -> None:
    (demo / "models.py").unlink()
    (demo / "github" / "actions" / "create-issue.py").unlink()
    result = cli("generate", cwd=demo)
    assert result.stdout == (
        "✓ wrote models.py\n✓ created github/actions/create-issue.py (a stub: fill it in)\n"
    )
    assert cli("generate", cwd=demo).stdout == "✓ everything is up to date\n"


def test_compile(cli: Cli, demo: Path) -> None:
    result = cli("compile", cwd=demo)
    assert result.stdout == (
        "  github/syncs/issues.py\n  github/actions/create-issue.py\n✓ compiled 2 scripts\n"
    )
    assert result.stderr == ""


def test_compile_failure(cli: Cli, demo: Path) -> None:
    (demo / "github" / "syncs" / "issues.py").write_text(
        "from models import NangoSync\n\nasync def fetch_data(nango: NangoSync) -> None:\n"
        '    nango.log("not awaited")\n',
        encoding="utf-8",
    )
    result = cli("compile", cwd=demo, expect=10)
    assert result.stdout == ""
    assert result.stderr == (
        "github/syncs/issues.py:4:5 error nango.log() must be awaited: write `await "
        "nango.log(...)`; an un-awaited call never runs [missing_await]\n"
        "error compilation failed with 1 error\n"
    )


def _normalised(text: str) -> str:
    return re.sub(r"in \d+\.\d\d s", "in 0.00 s", re.sub(r"\d+ ms", "0 ms", text))


def test_dryrun_of_an_action(cli: Cli, demo: Path) -> None:
    result = cli("dryrun", "create-issue", "any", "--replay", cwd=demo)
    assert _normalised(result.stdout) == (
        "Dry run of action create-issue (github) in 0.00 s\n"
        "output\n"
        "{\n"
        '  "id": "1000008",\n'
        '  "number": 8,\n'
        '  "url": "https://github.com/octocat/hello-world/issues/8"\n'
        "}\n"
        "1 request\n"
        "┏━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━┳━━━━━━┓\n"
        "┃ method ┃ url                                        ┃ status ┃ attempts ┃ time ┃\n"
        "┡━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━╇━━━━━━┩\n"
        "│ POST   │ (replay) /repos/octocat/hello-world/issues │ 201    │ 1        │ 0 ms │\n"
        "└────────┴────────────────────────────────────────────┴────────┴──────────┴──────┘\n"
    )
    assert result.stderr == ""


def test_dryrun_of_a_sync_starts_with_the_counts(cli: Cli, demo: Path) -> None:
    lines = _normalised(cli("dryrun", "issues", "any", "--replay", cwd=demo).stdout).splitlines()
    assert lines[:3] == [
        "Dry run of sync issues (github) in 0.00 s",
        "GithubIssue: would save 4 records",
        "GithubIssue (would save)",
    ]
    assert lines[-1] == "pagination stopped: no next link"
    assert "2 requests" in lines


def test_dryrun_setup_error(cli: Cli, demo: Path) -> None:
    result = cli("dryrun", "isues", "any", cwd=demo, expect=12)
    assert result.stdout == ""
    assert result.stderr == 'error No script matched "isues"\n  hint: Did you mean issues?\n'


def test_test(cli: Cli, demo: Path) -> None:
    result = cli("test", cwd=demo)
    assert result.stdout == (
        "✓ github/issues matches issues.test.json\n"
        "✓ github/create-issue matches create-issue.test.json\n"
        "2 passed, 0 failed\n"
    )


def test_test_failure(cli: Cli, demo: Path) -> None:
    script = demo / "github" / "actions" / "create-issue.py"
    script.write_text(
        script.read_text(encoding="utf-8").replace('number=res.data["number"]', "number=9"),
        encoding="utf-8",
    )
    result = cli("test", "create-issue", cwd=demo, expect=1)
    assert result.stdout == (
        "✗ github/create-issue\n"
        "    the output differs:\n"
        "      @@ -2,3 +2,3 @@\n"
        '         "id": "1000008",\n'
        '      -  "number": 8,\n'
        '      +  "number": 9,\n'
        '         "url": "https://github.com/octocat/hello-world/issues/8"\n'
        "0 passed, 1 failed\n"
    )


def test_test_of_an_unknown_script(cli: Cli, demo: Path) -> None:
    result = cli("test", "isues", cwd=demo, expect=1)
    assert result.stderr == "error No script named 'isues'\n  hint: Did you mean issues?\n"


def test_version_without_a_runtime(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANGO_HOSTPORT", "http://127.0.0.1:9")
    result = cli("version", cwd=tmp_path)
    assert result.stdout == (
        "Nango CLI version: 0.1.0\nRuntime: not reachable at http://127.0.0.1:9 (ConnectError)\n"
    )
