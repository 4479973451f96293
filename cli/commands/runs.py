from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def runs(
    environment: Annotated[
        str, typer.Option("-e", "--environment", help="Runtime environment.")
    ] = "dev",
    integration: Annotated[
        str | None, typer.Option("-i", "--integration", help="Only this integration's runs.")
    ] = None,
    connection_id: Annotated[
        str | None, typer.Option("-c", "--connection", help="Only this connection's runs.")
    ] = None,
    script: Annotated[
        str | None, typer.Option("-s", "--script", help="Only this sync's or action's runs.")
    ] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, max=1000)] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print the runs as JSON.")] = False,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            min=0,
            metavar="SECONDS",
            help="First wait (up to SECONDS) for a run, and for every run shown to finish.",
        ),
    ] = None,
) -> None:
    """The runtime's recent runs: script, connection, status, records added/updated/deleted,
    duration and when, newest first.

    Examples:

      nango runs

      nango runs -c my-connection -s issues --json

      nango runs -s issues --wait 60
    """
    from cli.client import RuntimeClient
    from cli.runs import RunFilter, list_runs, wait_for_runs
    from cli.terminal import runs_report

    where = RunFilter(integration, connection_id, script, limit)
    with RuntimeClient(environment=environment) as client:
        found = list_runs(client, where) if wait is None else wait_for_runs(client, where, wait)
    if json_output:
        runs_report.write_runs_json(found)
    else:
        runs_report.render_runs(found)
