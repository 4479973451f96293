"""`nango connection create|list|delete`: connections on the runtime."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

connection_app = typer.Typer(
    name="connection",
    help="Create, list and delete connections on the runtime (NANGO_HOSTPORT).",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Environment = Annotated[
    str,
    typer.Option("-e", "--environment", help="Runtime environment (key NANGO_SECRET_KEY_<ENV>)."),
]
Integration = Annotated[str, typer.Argument(metavar="INTEGRATION", help="Integration key.")]
ConnectionId = Annotated[str, typer.Argument(metavar="CONNECTION_ID", help="Connection id.")]


@command(failure=ExitCode.FAILURE)
def create(
    integration: Integration,
    connection_id: ConnectionId,
    credentials: Annotated[
        str | None,
        typer.Option("--credentials", help="Credentials to import: JSON or @file.json."),
    ] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="Connection metadata: JSON or @file.json.")
    ] = None,
    config: Annotated[
        str | None, typer.Option("--config", help="Connection config: JSON or @file.json.")
    ] = None,
    environment: Environment = "dev",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the connect link, do not open it.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the browser flow.")
    ] = 300.0,
) -> None:
    """Create a connection: import --credentials, or connect the account in a browser (OAuth).

    Without --credentials, the runtime makes a connect link; it is opened in your browser (and
    printed, to open elsewhere), and the command waits until the account is connected.

    Examples:

      nango connection create github my-user

      nango connection create stripe acme --credentials '{"apiKey": "sk_..."}'

      nango connection create jira acme --config '{"subdomain": "acme"}'
    """
    from cli import settings
    from cli.client import RuntimeClient
    from cli.connect.connections import create_connection
    from cli.dryrun.options import parse_object_option as parse
    from cli.terminal import console as output
    from cli.terminal.runtime_views import announce_link

    try_browser = not no_browser and settings.current.interactive
    with RuntimeClient(environment=environment) as client:
        message = create_connection(
            client,
            integration,
            connection_id,
            credentials=None if credentials is None else parse(credentials, "--credentials"),
            metadata=None if metadata is None else parse(metadata, "--metadata"),
            connection_config=None if config is None else parse(config, "--config"),
            on_link=lambda link: announce_link(link, try_browser=try_browser),
            timeout=timeout,
        )
    output.success(message)


@command(failure=ExitCode.FAILURE)
def list_(
    integration: Annotated[
        str | None, typer.Option("-i", "--integration", help="Only this integration's.")
    ] = None,
    environment: Environment = "dev",
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List the connections of an environment, newest first (no credentials).

    Examples:

      nango connection list

      nango connection list -i github --json
    """
    from cli.client import RuntimeClient
    from cli.connect.connections import list_connections
    from cli.terminal.runtime_views import print_json, render_connections

    with RuntimeClient(environment=environment) as client:
        found = list_connections(client, integration=integration)
    if json_output:
        print_json(found)
    else:
        render_connections(found)


@command(failure=ExitCode.FAILURE)
def delete(
    integration: Integration, connection_id: ConnectionId, environment: Environment = "dev"
) -> None:
    """Delete a connection, with its records.

    Example:

      nango connection delete github my-user
    """
    from cli.client import RuntimeClient
    from cli.connect.connections import delete_connection
    from cli.terminal import console as output

    with RuntimeClient(environment=environment) as client:
        delete_connection(client, integration, connection_id)
    output.success(f"Connection {connection_id!r} of {integration!r} deleted.")


connection_app.command("create")(create)
connection_app.command("list")(list_)
connection_app.command("delete")(delete)
