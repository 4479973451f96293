"""What `nango dryrun` says when it cannot start, and `nango init` followed by a replay."""

from __future__ import annotations

import gc
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Cli, FakeApi, ok


def test_unknown_script_suggests_the_closest(cli: Cli, project: Path, connect: Any) -> None:
    result = cli("dryrun", "isues", "conn-1", cwd=project, expect=12)

    assert "isues" in result.stderr
    assert "issues" in result.stderr.replace('"isues"', "")
    assert "Traceback" not in result.output


def test_unknown_integration_id(cli: Cli, project: Path, connect: Any) -> None:
    result = cli("dryrun", "issues", "conn-1", "--integration-id", "gitlab", cwd=project, expect=12)

    assert "gitlab" in result.stderr
    assert "github" in result.stderr


def test_no_connection_settings_names_the_variable_and_replay(cli: Cli, project: Path) -> None:
    result = cli("dryrun", "issues", "conn-1", cwd=project, expect=12)

    assert "NANGO_LOCAL_GITHUB_ACCESS_TOKEN" in result.stderr
    assert "--replay" in result.stderr
    assert "Traceback" not in result.output


def test_settings_from_dotenv_are_used(
    cli: Cli, project: Path, fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".env").write_text(
        f"NANGO_LOCAL_GITHUB_ACCESS_TOKEN=from-dotenv\nNANGO_LOCAL_GITHUB_BASE_URL={fake_api.url}\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("NANGO_LOCAL_GITHUB_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("NANGO_LOCAL_GITHUB_BASE_URL", raising=False)
    fake_api.route("/one", ok({"title": "t"}))
    try:
        result = cli("dryrun", "fetch-one", "conn-1", "--json", cwd=project)
    finally:
        # load_dotenv wrote straight into os.environ: undo it
        monkeypatch.setenv("NANGO_LOCAL_GITHUB_ACCESS_TOKEN", "x")
        monkeypatch.setenv("NANGO_LOCAL_GITHUB_BASE_URL", "x")

    assert json.loads(result.stdout)["error"] is None
    assert fake_api.hits("/one")[0].headers["authorization"] == "Bearer from-dotenv"
    assert "from-dotenv" not in result.output


def test_replay_without_fixtures_says_how_to_record_them(cli: Cli, project: Path) -> None:
    result = cli("dryrun", "issues", "conn-1", "--replay", cwd=project, expect=12)

    assert "No recorded fixtures" in result.stderr
    assert "--save" in result.stderr
    assert "Traceback" not in result.output


def test_init_then_replay_and_test_with_no_network_and_no_env(
    cli: Cli, tmp_path: Path, no_network: None
) -> None:
    cli("init", str(tmp_path / "demo"), "--no-interactive")
    root = tmp_path / "demo"
    assert (root / "github" / "tests").is_dir(), "nango init ships no recorded fixtures"

    sync = cli("dryrun", "issues", "any-conn", "--replay", "--json", cwd=root)
    report = json.loads(sync.stdout)
    assert report["error"] is None
    assert sum(len(records) for records in report["batch_save"].values()) > 0

    action = cli("dryrun", "create-issue", "any-conn", "--replay", "--json", cwd=root)
    report = json.loads(action.stdout)
    assert report["error"] is None
    assert report["output"] is not None

    result = cli("test", cwd=root)
    assert "0 failed" in result.stdout


def test_a_dry_run_leaks_no_event_loop_or_spool_file(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any
) -> None:
    fake_api.route("/one", ok({"title": "t"}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cli("dryrun", "fetch-one", "conn-1", "--json", cwd=project)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
