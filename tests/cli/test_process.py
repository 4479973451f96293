"""The `nango` process's start and end: httpx's own command line left out, the collector paused
during imports."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from cli import process


def test_nango_process_imports_httpx_without_its_command_line() -> None:
    code = (
        "import sys\n"
        "from cli import process\n"
        "process.at_start()\n"
        "import httpx\n"
        "httpx.Client()\n"
        "print(sorted(m for m in ('click', 'pygments', 'httpx._main') if sys.modules.get(m)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_at_start_leaves_an_imported_httpx_alone() -> None:
    import httpx

    saved = sys.modules.get("httpx._main")
    process.at_start()
    process.resume()
    assert sys.modules.get("httpx._main") is saved
    assert httpx.Client is not None


def test_the_collector_paused_at_start_runs_again_once_a_command_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.chdir(tmp_path)  # not a project: the command starts, then fails
    process.at_start()
    try:
        assert not gc.isenabled()
        result = CliRunner().invoke(app, ["generate"])
        assert result.exit_code != 0
        assert gc.isenabled()
    finally:
        process.resume()
        gc.enable()
        gc.unfreeze()


def test_paused_collector_disables_then_freezes_and_restores() -> None:
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with process.paused_collector():
            assert not gc.isenabled()
            made = [[] for _ in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(made)
    finally:
        gc.unfreeze()


def test_paused_collector_keeps_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with process.paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
