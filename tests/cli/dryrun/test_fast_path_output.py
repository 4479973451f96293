"""A plain `nango dryrun` command line runs without Typer (`cli.fast_path`): its output and exit
code are byte for byte those of the same command line run through Typer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli.dryrun.test_dryrun_sync import issue_pages
from tests.helpers import Cli, FakeApi, run_fast_path

CASES = [
    ("issues", "conn-1", "--json"),
    ("issues", "conn-1"),
    ("issues", "conn-1", "--json", "--validation", "-e", "prod"),
    ("fail", "conn-1"),  # the action fails: exit 12
    ("fail", "conn-1", "--json"),
    ("boom", "conn-1"),  # the script raises
    ("boom", "conn-1", "--debug"),
    ("echo", "conn-1", "--input", '{"name": "Ada"}'),
    ("echo", "conn-1", "--input={not json"),  # a setup error
    ("echo", "conn-1", "-i", "@missing.json"),
    ("issues", "conn-1", "--save", "--replay"),
    ("issues", "conn-1", "--timeout", "0"),
    ("issues", "conn-1", "-l", "yesterday"),
    ("no-such-script", "conn-1"),
]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_the_fast_path_prints_what_typer_prints(
    cli: Cli, project: Path, fake_api: FakeApi, connect: Any, args: tuple[str, ...]
) -> None:
    issue_pages(fake_api)
    through_typer = cli("dryrun", *args, cwd=project, expect=None, typer_only=True)
    issue_pages(fake_api)

    fast = run_fast_path(["dryrun", *args])

    assert fast is not None
    assert fast.exit_code == through_typer.exit_code
    assert _without_timings(fast.stdout) == _without_timings(through_typer.stdout)
    assert _without_timings(fast.stderr) == _without_timings(through_typer.stderr)


def _without_timings(text: str) -> str:
    """The report's durations differ from run to run (and so may the width of a table's column
    of durations)."""
    text = re.sub(r'"duration_ms":[0-9.]+', '"duration_ms":0', text)
    text = re.sub(r"\d+(\.\d+)? ?(ms|s)\b", "<t>", text)
    return re.sub(r"([─━])\1+", r"\1", re.sub(r" +", " ", text))
