"""Fixtures every test may use: an isolated environment (autouse), a CLI runner, a project
builder. What they build on is in `tests/helpers.py`."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import CORPUS, Cli, is_ci, write_tree


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under CI the shared corpus must be there: its tests fail instead of skipping."""
    if is_ci() and not CORPUS.is_dir():
        raise pytest.UsageError(f"CI is set but the shared corpus is missing at {CORPUS}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[None] | pytest.TestReport:
    """Captured output with lone surrogates (hostile input is tested on purpose) escaped, so
    that pytest-xdist can send the report from its worker process."""
    report: pytest.TestReport = yield
    report.sections = [
        (title, text.encode("utf-8", "backslashreplace").decode("utf-8"))
        for title, text in report.sections
    ]
    return report


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
    for name in list(os.environ):
        if name.startswith("NANGO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NANGO_WARM", "0")  # no test leaves a warm server behind (test_warm.py)
    modules_before = set(sys.modules)
    yield
    from runtime.execution.loader import forget_projects

    forget_projects()
    for name in set(sys.modules) - modules_before:
        if name == "models" or name.startswith("_nango_"):
            del sys.modules[name]


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    def build(files: dict[str, str]) -> Path:
        return write_tree(tmp_path / "project", files)

    return build


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(monkeypatch)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails loudly."""

    def refuse(self: socket.socket, *args: Any) -> Any:
        raise AssertionError(f"a network connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
