from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def logs(
    script: Annotated[str, typer.Argument(metavar="SCRIPT", help="The sync or action.")],
    connection_id: Annotated[
        str, typer.Option("-c", "--connection", help="The connection it ran for.")
    ],
    environment: Annotated[
        str, typer.Option("-e", "--environment", help="Runtime environment.")
    ] = "dev",
    integration: Annotated[
        str | None, typer.Option("-i", "--integration", help="The script's integration.")
    ] = None,
    follow: Annotated[
        bool, typer.Option("-f", "--follow", help="Keep printing new lines and new runs.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """The log lines of a script's latest run for a connection (secrets redacted).

    With --follow, new lines of that run and of the runs after it are printed as they come,
    until Ctrl-C.

    Examples:

      nango logs issues -c my-connection

      nango logs issues -c my-connection --follow
    """
    from cli.client import RuntimeClient
    from cli.runs import RunFilter, follow_logs
    from cli.terminal.runs_report import render_log_lines

    where = RunFilter(integration=integration, connection_id=connection_id, script=script)
    with RuntimeClient(environment=environment) as client:
        render_log_lines(follow_logs(client, where, follow=follow), as_json=json_output)
