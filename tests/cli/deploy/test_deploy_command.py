"""`nango deploy` against a runtime served on 127.0.0.1: the plan as Nango shows it, the
destructive guard, versions, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.server.app import create_app
from runtime.settings import RuntimeSettings
from runtime.store import Store, open_store, sqlite_url
from tests.helpers import Cli, closed_port_url
from tests.runtime.store.conftest import TEST_KEY
from tests.runtime_harness import DEV_KEY, serve_in_thread


@dataclass
class Runtime:
    url: str
    store: Store
    environment_id: int


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    store = open_store(sqlite_url(tmp_path / "runtime.db"), encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev", secret_key=DEV_KEY).environment
    settings = RuntimeSettings(data_dir=tmp_path / "data")
    with serve_in_thread(create_app(settings, store)) as url:
        monkeypatch.setenv("NANGO_HOSTPORT", url)
        monkeypatch.setenv("NANGO_SECRET_KEY_DEV", DEV_KEY)
        yield Runtime(url, store, environment.id)
    store.close()


@pytest.fixture
def project(cli: Cli, tmp_path: Path) -> Path:
    cli("init", str(tmp_path / "demo"), cwd=tmp_path)
    return tmp_path / "demo"


def remove_sync(project: Path) -> None:
    config = project / "nango.yaml"
    text = config.read_text()
    start = text.index("    syncs:")
    end = text.index("    actions:")
    config.write_text(text[:start] + text[end:])


def test_first_deploy_shows_the_plan_and_the_versions(
    cli: Cli, runtime: Runtime, project: Path
) -> None:
    result = cli("deploy", "dev", cwd=project)
    assert result.stdout.splitlines() == [
        "Nango will perform this plan:",
        "  + integration github",
        "[Syncs +1 -0]",
        "  + github → issues",
        "[Actions +1 -0]",
        "  + github → create-issue",
        "Summary",
        "  to create [2] to update [0] to delete [0]",
        "Successfully deployed the functions:",
        "- issues@v1",
        "- create-issue@v1",
    ]
    assert "proceeding without confirmation" in result.stderr
    active = runtime.store.scripts.list_active(runtime.environment_id)
    assert sorted((s.name, s.version) for s in active) == [("create-issue", "1"), ("issues", "1")]


def test_an_unchanged_project_deploys_nothing_new(
    cli: Cli, runtime: Runtime, project: Path
) -> None:
    cli("deploy", cwd=project)
    result = cli("deploy", cwd=project)
    assert "Nothing changes: every script is deployed" in result.stdout
    assert "- issues@v1 (unchanged)" in result.stdout
    script = project / "github" / "syncs" / "issues.py"
    script.write_text(script.read_text() + "\n# changed\n")
    result = cli("deploy", cwd=project)
    assert "Only updates" in result.stdout and "- issues@v2" in result.stdout
    assert "- create-issue@v1 (unchanged)" in result.stdout


def test_explicit_version_single_script(cli: Cli, runtime: Runtime, project: Path) -> None:
    result = cli("deploy", "--sync", "issues", "-v", "2.0.0", cwd=project)
    assert result.stdout.splitlines()[-1] == "- issues@v2.0.0"
    assert [s.name for s in runtime.store.scripts.list_active(runtime.environment_id)] == ["issues"]
    missing = cli("deploy", "--action", "nope", cwd=project, expect=11)
    assert "No action named 'nope' in nango.yaml" in missing.stderr


def _with_connection(runtime: Runtime) -> None:
    runtime.store.connections.upsert(
        runtime.environment_id, "github", "acme", credentials={"type": "NONE"}
    )


def test_a_destructive_plan_needs_both_flags_under_ci(
    cli: Cli, runtime: Runtime, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("deploy", cwd=project)
    _with_connection(runtime)
    remove_sync(project)
    monkeypatch.setenv("CI", "true")
    refused = cli("deploy", cwd=project, expect=11)
    assert "[Syncs +0 -1]" in refused.stdout
    assert "  - github → issues (1 impacted connection)" in refused.stdout
    assert (
        "Syncs/Actions were not deployed. Confirm the deploy by passing the --auto-confirm flag "
        "and --allow-destructive flag. Exiting"
    ) in refused.stderr
    only_one = cli("deploy", "--auto-confirm", cwd=project, expect=11)
    assert "were not deployed" in only_one.stderr
    assert runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")
    done = cli("deploy", "--auto-confirm", "--allow-destructive", cwd=project)
    assert "- create-issue@v1" in done.stdout
    assert not runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")


def test_the_environment_variable_confirms_too(
    cli: Cli, runtime: Runtime, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("deploy", cwd=project)
    _with_connection(runtime)
    remove_sync(project)
    monkeypatch.setenv("NANGO_DEPLOY_AUTO_CONFIRM", "true")
    cli("deploy", "--allow-destructive", "--no-interactive", cwd=project)
    assert not runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")


def test_interactive_confirmation(
    cli: Cli, runtime: Runtime, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    cli("deploy", cwd=project)
    _with_connection(runtime)
    remove_sync(project)
    monkeypatch.chdir(project)
    no = CliRunner().invoke(app, ["deploy"], input="n\n")
    assert no.exit_code == 11 and "Deployed aborted. Exiting" in no.stderr
    assert "Are you sure you want to continue y/n?" in no.stderr
    assert runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")
    yes = CliRunner().invoke(app, ["deploy"], input="y\n")
    assert yes.exit_code == 0, yes.output
    assert not runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")


def test_json_output(cli: Cli, runtime: Runtime, project: Path) -> None:
    body = json.loads(cli("deploy", "--json", cwd=project).stdout)
    assert [s["name"] for s in body["plan"]["newSyncs"]] == ["issues"]
    assert [(r["name"], r["version"]) for r in body["results"]] == [
        ("issues", "1"),
        ("create-issue", "1"),
    ]
    _with_connection(runtime)
    remove_sync(project)
    refused = cli("deploy", "--json", cwd=project, expect=11)
    body = json.loads(refused.stdout)
    assert body["plan"]["isDestructive"] is True and body["results"] is None


def test_compile_errors_exit_10(cli: Cli, runtime: Runtime, project: Path) -> None:
    (project / "github" / "syncs" / "issues.py").write_text("def fetch_data(:\n")
    result = cli("deploy", cwd=project, expect=10)
    assert "compilation failed" in result.stderr
    assert runtime.store.scripts.list_active(runtime.environment_id) == []


def test_server_refusals_exit_11_with_the_reason(cli: Cli, runtime: Runtime, project: Path) -> None:
    config = project / "nango.yaml"
    config.write_text(config.read_text().replace("  github:", "  my-crm:"))
    (project / "github").rename(project / "my-crm")
    result = cli("deploy", cwd=project, expect=11)
    assert "Error deploying:" in result.stderr
    assert 'Integration "my-crm" does not exist' in result.stderr
    assert "(unknown_provider_config)" in result.stderr


def test_a_wrong_key_and_an_absent_runtime_exit_11(
    cli: Cli, runtime: Runtime, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANGO_SECRET_KEY_DEV", "0c0c0c0c-0c0c-4c0c-8c0c-0c0c0c0c0c0c")
    wrong = cli("deploy", cwd=project, expect=11)
    assert "NANGO_SECRET_KEY_DEV" in wrong.stderr
    monkeypatch.setenv("NANGO_HOSTPORT", closed_port_url())
    absent = cli("deploy", cwd=project, expect=11)
    assert "not reachable" in absent.stderr


def test_helpers_imported_by_a_script_are_packed(cli: Cli, runtime: Runtime, project: Path) -> None:
    (project / "shared").mkdir()
    (project / "shared" / "__init__.py").write_text("")
    (project / "shared" / "text.py").write_text("def clean(s: str) -> str:\n    return s\n")
    script = project / "github" / "syncs" / "issues.py"
    text = script.read_text()
    script.write_text(
        text.replace("from models import", "from shared.text import clean\nfrom models import")
    )
    cli("deploy", cwd=project)
    issues = runtime.store.scripts.active(runtime.environment_id, "github", "sync", "issues")
    action = runtime.store.scripts.active(
        runtime.environment_id, "github", "action", "create-issue"
    )
    assert issues is not None and action is not None
    assert sorted(issues.files) == ["shared/__init__.py", "shared/text.py"]
    assert action.files == {}
