"""Shared fixtures: an isolated environment for every test, a CLI runner, project builders."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = REPO_ROOT.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test sees the developer's HOME, NANGO_* settings, CI flag or colors."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("CI", raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("NANGO_"):
            monkeypatch.delenv(name)
    modules_before = set(sys.modules)
    yield
    for name in set(sys.modules) - modules_before:
        if name == "models" or name.startswith("_nango_"):
            del sys.modules[name]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create files under `root` from a {relative path: content} dict; returns root."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    def build(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "project", files)

    return build


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Cli:
    """Runs `nango` in-process with Typer's CliRunner, in a chosen working directory."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, cwd: Path | None = None, expect: int | None = 0) -> CliResult:
        from cli.app import app
        from cli.terminal import console as output

        if cwd is not None:
            self.monkeypatch.chdir(cwd)
        output.stdout.cache_clear()
        output.stderr.cache_clear()
        result = CliRunner().invoke(app, list(args), catch_exceptions=False)
        found = CliResult(result.exit_code, result.stdout, result.stderr)
        if expect is not None:
            assert found.exit_code == expect, found.output
        return found


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(monkeypatch)
