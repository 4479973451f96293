from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def test(
    scripts: Annotated[
        list[str] | None,
        typer.Argument(metavar="SCRIPT", help="Only these scripts (default: all)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Stop a fixture's script after SECONDS (default 60)."),
    ] = None,
) -> None:
    """Replay every recorded fixture and compare saved/deleted records and action output.

    Each script with fixtures (<integration>/tests/<script>.test.json, or the older mocks/
    layouts) runs against its recorded API answers, with no network and no runtime. Exit code 1
    when any differs.

    Examples:

      nango test

      nango test issues create-issue
    """
    from cli.dryrun.options import parse_timeout
    from cli.terminal.progress import progress_shown
    from cli.terminal.test_report import render_test_results
    from cli.test.runner import run_fixture_tests

    with progress_shown() as progress:
        results = run_fixture_tests(
            scripts=scripts or None, timeout_s=parse_timeout(timeout), progress=progress
        )
    if render_test_results(results):
        raise typer.Exit(ExitCode.FAILURE)
