"""Replay of fixtures recorded by Nango's CLI in its older `mocks/` layout (the shared corpus),
through `nango dryrun --replay` and `nango test`, with a small script of our own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import CORPUS, Cli, corpus_missing

NOTION = CORPUS / "fixtures-legacy" / "notion"
USERS_SCRIPT = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    async for page in nango.paginate(endpoint="/v1/users"):
        users = []
        for user in page:
            first, _, last = (user.get("name") or "").partition(" ")
            email = (user.get("person") or {}).get("email", "")
            users.append(
                {
                    "id": user["id"],
                    "firstName": first,
                    "lastName": last,
                    "email": email,
                    "isBot": user["type"] == "bot",
                }
            )
        await nango.batch_save(users, "User")
"""


@pytest.fixture
def notion_project(tmp_path: Path) -> Path:
    if not NOTION.is_dir():
        corpus_missing("fixtures-legacy/notion")
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(CORPUS / "nango-yaml" / "notion" / "nango.yaml", root / "nango.yaml")
    shutil.copytree(NOTION / "mocks", root / "notion" / "mocks")
    # The corpus file names the integration `${PWD}` (templates repository convention).
    config = (root / "nango.yaml").read_text().replace("${PWD}", "notion")
    (root / "nango.yaml").write_text(config)
    (root / "notion" / "syncs").mkdir(parents=True)
    (root / "notion" / "syncs" / "users.py").write_text(USERS_SCRIPT)
    return root


def test_dryrun_replays_the_oldest_response_only_layout(cli: Cli, notion_project: Path) -> None:
    result = cli("dryrun", "users", "any", "--replay", "--json", cwd=notion_project)
    report = json.loads(result.stdout)
    recorded = json.loads((NOTION / "mocks" / "users" / "User" / "batchSave.json").read_text())
    assert report["error"] is None
    assert report["batch_save"] == {"User": recorded}
    assert [r["url"] for r in report["requests"]] == ["(replay) /v1/users"]


def test_nango_test_passes_on_legacy_fixtures(cli: Cli, notion_project: Path) -> None:
    result = cli("test", "users", cwd=notion_project)
    assert "notion/users matches" in result.stdout
    assert "1 passed, 0 failed" in result.stdout


def test_nango_test_reports_a_difference_against_legacy_fixtures(
    cli: Cli, notion_project: Path
) -> None:
    script = notion_project / "notion" / "syncs" / "users.py"
    script.write_text(USERS_SCRIPT.replace('user["type"] == "bot"', 'user["type"] != "bot"'))
    result = cli("test", "users", cwd=notion_project, expect=1)
    assert "batch_save User" in result.stdout
    assert '-  "isBot": false,' in result.stdout  # John Doe, a person, recorded as no bot
    assert '+  "isBot": true,' in result.stdout
