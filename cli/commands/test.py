from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def test(
    scripts: Annotated[
        list[str] | None, typer.Argument(metavar="[SCRIPT]...", help="Only these scripts.")
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
    from cli.terminal import console as output
    from cli.test.runner import run_fixture_tests

    results = run_fixture_tests(scripts=scripts or None)
    if not results:
        output.warning("no recorded fixtures: record some with `nango dryrun NAME CONN --save`")
    for result in results:
        label = f"{result.script.integration}/{result.script.name}"
        if result.passed:
            output.success(f"{label} matches {result.fixtures.source.name}")
            continue
        output.result(f"[red]✗[/red] {output.esc(label)}")
        for line in result.problems:
            output.result(f"    {output.esc(line)}")
    failed = sum(not r.passed for r in results)
    output.result(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise typer.Exit(ExitCode.FAILURE)
