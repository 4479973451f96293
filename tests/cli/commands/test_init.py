from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import Cli


def test_init_creates_a_project_that_compiles(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", "demo", cwd=tmp_path)
    root = tmp_path / "demo"
    assert "initialized" in result.stdout
    for relative in (
        "nango.yaml",
        "models.py",
        ".nango/schema.json",
        ".nango/nango.json",
        ".env",
        ".gitignore",
        "github/syncs/issues.py",
        "github/actions/create-issue.py",
    ):
        assert (root / relative).is_file(), relative
    parsed = json.loads((root / ".nango/nango.json").read_text())
    assert [s["name"] for s in parsed["integrations"][0]["syncs"]] == ["issues"]
    assert "NANGO_SECRET_KEY_DEV" in (root / ".env").read_text()
    assert ".env" in (root / ".gitignore").read_text().splitlines()
    cli("compile", cwd=root)


def test_init_refuses_an_existing_project(cli: Cli, tmp_path: Path) -> None:
    cli("init", "demo", cwd=tmp_path)
    original = (tmp_path / "demo" / "nango.yaml").read_text() + "# mine\n"
    (tmp_path / "demo" / "nango.yaml").write_text(original)
    result = cli("init", "demo", cwd=tmp_path, expect=1)
    assert "already a Nango project" in result.stderr
    assert (tmp_path / "demo" / "nango.yaml").read_text() == original


def test_init_never_overwrites_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / ".gitignore").write_text("mine\n")
    result = cli("init", "demo", cwd=tmp_path)
    assert (tmp_path / "demo" / ".gitignore").read_text() == "mine\n"
    assert "kept the existing" in result.stderr


def test_init_accepts_global_options_after_the_command(cli: Cli, tmp_path: Path) -> None:
    cli("init", "demo", "--no-interactive", "--debug", "--auto-confirm", cwd=tmp_path)
    assert (tmp_path / "demo" / "nango.yaml").exists()


def test_init_refuses_a_path_that_is_a_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "demo").write_text("x")
    result = cli("init", "demo", cwd=tmp_path, expect=1)
    assert "is not a folder" in result.stderr
