from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def records(
    model: Annotated[str, typer.Argument(help="The model, as in nango.yaml.")],
    integration: Annotated[
        str, typer.Option("-i", "--integration", help="The integration (provider config key).")
    ],
    connection_id: Annotated[str, typer.Option("-c", "--connection", help="The connection.")],
    environment: Annotated[
        str, typer.Option("-e", "--environment", help="Runtime environment.")
    ] = "dev",
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, max=100_000)] = 100,
    variant: Annotated[str | None, typer.Option("--variant", help="The sync's variant.")] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the records as one JSON object.")
    ] = False,
) -> None:
    """A connection's records of MODEL in the runtime at NANGO_HOSTPORT (what `GET /records`
    gives your backend): one line per record, oldest change first.

    Examples:

      nango records GithubIssue -i github -c my-connection

      nango records GithubIssue -i github -c my-connection -n 1000 --json
    """
    from cli.client import RuntimeClient
    from cli.records import RecordQuery, read_records
    from cli.terminal import records_report

    query = RecordQuery(model, integration, connection_id, limit, variant)
    with RuntimeClient(environment=environment) as client:
        found, more = read_records(client, query)
    if json_output:
        records_report.write_records_json(found, more=more)
    else:
        records_report.render_records(found, query.model, more=more)
