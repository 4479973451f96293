from __future__ import annotations

import pytest

from tests.helpers import Cli


def test_version_prints_cli_version_and_unreachable_runtime(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANGO_HOSTPORT", "http://127.0.0.1:9")
    result = cli("version")
    assert "Nango CLI version: " in result.stdout
    assert "not reachable at http://127.0.0.1:9" in result.stdout


def test_root_version_flag(cli: Cli) -> None:
    assert "Nango CLI version: " in cli("--version").stdout


@pytest.mark.parametrize("command", ["init", "generate", "compile", "version"])
def test_every_command_has_help_with_an_example(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert "Example" in result.stdout
    assert "--debug" in result.stdout
    assert "--no-interactive" in result.stdout


def test_root_help_lists_the_commands(cli: Cli) -> None:
    out = cli("--help").stdout
    for command in ("init", "generate", "compile", "version"):
        assert command in out
