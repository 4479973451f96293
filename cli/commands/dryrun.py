from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.DRYRUN_ERROR)
def dryrun(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The sync or action to run.")],
    connection_id: Annotated[
        str, typer.Argument(metavar="CONNECTION_ID", help="The connection to run it for.")
    ],
    environment: Annotated[
        str, typer.Option("-e", "--environment", help="Runtime environment.")
    ] = "dev",
    last_sync_date: Annotated[
        str | None,
        typer.Option(
            "-l", "--last-sync-date", "--lastSyncDate", help="ISO date for last_sync_date."
        ),
    ] = None,
    input: Annotated[
        str | None, typer.Option("-i", "--input", help="Action input: JSON or @file.json.")
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option("-m", "--metadata", help="Connection metadata: JSON or @file.json."),
    ] = None,
    checkpoint: Annotated[
        str | None, typer.Option("-c", "--checkpoint", help="Checkpoint: JSON or @file.json.")
    ] = None,
    integration_id: Annotated[
        str | None, typer.Option("--integration-id", help="Integration of the script.")
    ] = None,
    variant: Annotated[str | None, typer.Option("--variant", help="Sync variant.")] = None,
    validation: Annotated[
        bool,
        typer.Option("--validation", "--validate", help="Fail on invalid records/input/output."),
    ] = False,
    save: Annotated[
        bool,
        typer.Option("--save", "--save-responses", help="Record fixtures (implies --validation)."),
    ] = False,
    replay: Annotated[
        bool, typer.Option("--replay", help="Answer every request from recorded fixtures.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Stop the script after this many seconds.")
    ] = None,
) -> None:
    """Run a sync or action locally and show what it would save, delete or return.

    Nothing is persisted: records, metadata and checkpoint writes are captured. Requests go to
    the API with the local connection settings (NANGO_LOCAL_<INTEGRATION>_* in .env), or are
    answered from recorded fixtures with --replay. Exit code 12 when the run fails.

    Examples:

      nango dryrun issues my-connection

      nango dryrun create-issue my-connection -i '{"title": "Hi"}' --save

      nango dryrun issues my-connection --replay --json
    """
    from cli.dryrun.command import dryrun_command

    dryrun_command(
        name,
        connection_id,
        environment=environment,
        last_sync_date=last_sync_date,
        input=input,
        metadata=metadata,
        checkpoint=checkpoint,
        integration_id=integration_id,
        variant=variant,
        validation=validation,
        save=save,
        replay=replay,
        json_output=json_output,
        timeout=timeout,
    )
