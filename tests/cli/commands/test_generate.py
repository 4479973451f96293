from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.helpers import Cli

CONFIG = """\
integrations:
  github:
    syncs:
      issues:
        runs: every hour
        output: GithubIssue
        endpoint: GET /issues
        webhook-subscriptions: issue.updated
    actions:
      create-issue:
        endpoint: POST /issues
        input: CreateIssueInput
        output: GithubIssue
    on-events:
      post-connection-creation:
        - setup
models:
  GithubIssue:
    id: string
    title: string
  CreateIssueInput:
    title: string
"""


def test_generate_writes_generated_files_and_stubs(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    root = make_project({"nango.yaml": CONFIG})
    result = cli("generate", cwd=root)
    assert (root / "models.py").is_file()
    assert (root / ".nango/schema.json").is_file()
    assert (root / ".nango/nango.json").is_file()
    sync = (root / "github/syncs/issues.py").read_text()
    assert "async def fetch_data(nango: NangoSync) -> None:" in sync
    assert "async def on_webhook(nango: NangoSync, payload: dict[str, Any]) -> None:" in sync
    assert "from models import GithubIssue, NangoSync" in sync
    action = (root / "github/actions/create-issue.py").read_text()
    assert (
        "async def run_action(nango: NangoAction, input: CreateIssueInput) -> GithubIssue:"
        in action
    )
    assert (
        "async def on_event(nango: NangoAction) -> None:"
        in (root / "github/on-events/setup.py").read_text()
    )
    assert "created github/syncs/issues.py" in result.stdout
    cli("compile", cwd=root)


def test_generate_never_overwrites_a_script(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    mine = "# my own code\n"
    root = make_project({"nango.yaml": CONFIG, "github/syncs/issues.py": mine})
    cli("generate", cwd=root)
    assert (root / "github/syncs/issues.py").read_text() == mine


def test_generate_is_deterministic_and_idempotent(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    root = make_project({"nango.yaml": CONFIG})
    cli("generate", cwd=root)
    first = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = cli("generate", cwd=root)
    assert "up to date" in result.stdout
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == first


def test_generate_finds_the_project_from_a_subfolder(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    root = make_project({"nango.yaml": CONFIG, "github/README": ""})
    cli("generate", cwd=root / "github")
    assert (root / "models.py").is_file()


def test_generate_outside_a_project_says_how_to_fix(cli: Cli, tmp_path: Path) -> None:
    result = cli("generate", cwd=tmp_path, expect=1)
    assert "Not inside a Nango project" in result.stderr
    assert "nango init" in result.stderr


def test_generate_reports_every_error_with_line_and_column(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    broken = CONFIG.replace("        runs: every hour\n", "").replace(
        "        input: CreateIssueInput\n",
        "        input: CreateIssueInput\n        colour: red\n",
    )
    root = make_project({"nango.yaml": broken})
    result = cli("generate", cwd=root, expect=1)
    assert "nango.yaml:4:7" in result.stderr  # the sync without runs
    assert "nango.yaml:12:9" in result.stderr  # the unknown key
    assert "Unknown key" in result.stderr
    assert "Traceback" not in result.output
    assert not (root / "models.py").exists()


def test_generate_reports_a_yaml_syntax_error_with_its_position(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    root = make_project({"nango.yaml": "integrations:\n  github: [unclosed\nmodels: {}\n"})
    result = cli("generate", cwd=root, expect=1)
    assert "nango.yaml:3:" in result.stderr
    assert "invalid_yaml" in result.stderr
    assert "Traceback" not in result.output


def test_generate_prints_warnings_without_failing(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    config = CONFIG.replace(
        "    title: string\n  CreateIssueInput", "    state: open | closed\n  CreateIssueInput"
    )
    root = make_project({"nango.yaml": config})
    result = cli("generate", cwd=root)
    assert "model_not_found_fallback" in result.stderr


def test_generate_refuses_a_sync_and_an_action_with_one_name(
    cli: Cli, make_project: Callable[[dict[str, str]], Path]
) -> None:
    config = CONFIG.replace("      create-issue:\n", "      issues:\n")
    root = make_project({"nango.yaml": config})
    result = cli("generate", cwd=root, expect=1)
    assert "duplicate_script_name" in result.stderr
    assert "nango.yaml:10:7" in result.stderr
