"""`nango dev` as a command: its help, and a clear error outside a project."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Cli


def test_help_names_the_options(cli: Cli) -> None:
    text = cli("dev", "--help").stdout
    for option in ("--deploy", "--json", "--no-tests", "--environment"):
        assert option in text


def test_outside_a_project_it_says_so(cli: Cli, tmp_path: Path) -> None:
    result = cli("dev", "--json", cwd=tmp_path, expect=1)
    assert "Not inside a Nango project" in result.stderr
    assert result.stdout == ""
