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
    actions:
      create-issue:
        endpoint: POST /issues
        output: GithubIssue
models:
  GithubIssue:
    id: string
    title: string
"""
SYNC = """\
from models import GithubIssue, NangoSync


async def fetch_data(nango: NangoSync) -> None:
    async for page in nango.paginate(endpoint="/issues"):
        issues = [GithubIssue(id=str(i["id"]), title=i["title"]) for i in page]
        await nango.batch_save(issues, "GithubIssue")
"""
ACTION = """\
from models import GithubIssue, NangoAction


async def run_action(nango: NangoAction) -> GithubIssue:
    res = await nango.post(endpoint="/issues", data={})
    return GithubIssue(id=str(res.data["id"]), title=res.data["title"])
"""

Project = Callable[[dict[str, str]], Path]


def files(**overrides: str) -> dict[str, str]:
    base = {
        "nango.yaml": CONFIG,
        "github/syncs/issues.py": SYNC,
        "github/actions/create-issue.py": ACTION,
    }
    base.update({k.replace("__", "/").replace("_py", ".py"): v for k, v in overrides.items()})
    return base


def test_compile_accepts_a_valid_project(cli: Cli, make_project: Project) -> None:
    root = make_project(files())
    result = cli("compile", cwd=root)
    assert "compiled 2 scripts" in result.stdout
    assert (root / "models.py").is_file()


def test_compile_reports_a_missing_script_and_exits_10(cli: Cli, make_project: Project) -> None:
    tree = files()
    del tree["github/actions/create-issue.py"]
    root = make_project(tree)
    result = cli("compile", cwd=root, expect=10)
    assert "github/actions/create-issue.py does not exist" in result.stderr
    assert "nango generate" in result.stderr
    assert not (root / "github/actions/create-issue.py").exists()


def test_compile_reports_an_unawaited_call_with_its_line(cli: Cli, make_project: Project) -> None:
    sync = SYNC.replace("        await nango.batch_save", "        nango.batch_save")
    root = make_project({**files(), "github/syncs/issues.py": sync})
    result = cli("compile", cwd=root, expect=10)
    assert "github/syncs/issues.py:7:" in result.stderr
    assert "missing_await" in result.stderr


def test_compile_rejects_an_undeclared_model(cli: Cli, make_project: Project) -> None:
    sync = SYNC.replace('"GithubIssue")', '"GithubIsue")')
    root = make_project({**files(), "github/syncs/issues.py": sync})
    result = cli("compile", cwd=root, expect=10)
    assert "GithubIsue" in result.stderr
    assert "unknown_model" in result.stderr


def test_compile_rejects_batch_calls_in_an_action(cli: Cli, make_project: Project) -> None:
    action = ACTION.replace(
        "    res = await", '    await nango.batch_save([], "GithubIssue")\n    res = await'
    )
    root = make_project({**files(), "github/actions/create-issue.py": action})
    result = cli("compile", cwd=root, expect=10)
    assert "action_batch_call" in result.stderr


def test_compile_reports_an_import_error_with_its_line(cli: Cli, make_project: Project) -> None:
    sync = SYNC.replace("from models import", "import not_a_module_anywhere\nfrom models import")
    root = make_project({**files(), "github/syncs/issues.py": sync})
    result = cli("compile", cwd=root, expect=10)
    assert "github/syncs/issues.py:1:" in result.stderr
    assert "not_a_module_anywhere" in result.stderr


def test_compile_reports_a_sync_entry_point_that_is_not_async(
    cli: Cli, make_project: Project
) -> None:
    sync = SYNC.replace("async def fetch_data", "def fetch_data")
    root = make_project({**files(), "github/syncs/issues.py": sync})
    result = cli("compile", cwd=root, expect=10)
    assert "entry_not_async" in result.stderr


def test_compile_fails_with_10_on_an_invalid_config(cli: Cli, make_project: Project) -> None:
    root = make_project({**files(), "nango.yaml": CONFIG.replace("every hour", "every now")})
    result = cli("compile", cwd=root, expect=10)
    assert "nango.yaml:5:" in result.stderr
    assert "invalid_runs" in result.stderr


def test_compile_sees_changes_between_runs(cli: Cli, make_project: Project) -> None:
    root = make_project(files())
    cli("compile", cwd=root)
    (root / "github/syncs/issues.py").write_text(
        SYNC.replace("async def fetch_data", "async def other")
    )
    cli("compile", cwd=root, expect=10)


def test_a_script_that_is_not_utf8_is_a_positioned_error(cli: Cli, make_project: Project) -> None:
    root = make_project(files())
    (root / "github/syncs/issues.py").write_bytes(SYNC.encode() + b'NAME = "caf\xe9"\n')
    result = cli("compile", cwd=root, expect=10)
    line = SYNC.count("\n") + 1
    assert f"github/syncs/issues.py:{line}:" in result.stderr
    assert "can't decode byte 0xe9" in result.stderr
    assert "unexpected error" not in result.output


def test_a_script_path_that_is_a_folder_is_unreadable_not_unexpected(
    cli: Cli, make_project: Project
) -> None:
    tree = files()
    del tree["github/actions/create-issue.py"]
    root = make_project(tree)
    (root / "github/actions/create-issue.py").mkdir(parents=True)
    result = cli("compile", cwd=root, expect=10)
    assert "github/actions/create-issue.py" in result.stderr
    assert "unexpected error" not in result.output
    dryrun = cli("dryrun", "create-issue", "c1", cwd=root, expect=12)
    assert "unexpected error" not in dryrun.output
