"""`nango integration create|list`: integrations on the runtime."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

integration_app = typer.Typer(
    name="integration",
    help="Create and list integrations on the runtime (NANGO_HOSTPORT).",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Environment = Annotated[
    str,
    typer.Option("-e", "--environment", help="Runtime environment (key NANGO_SECRET_KEY_<ENV>)."),
]


@command(failure=ExitCode.FAILURE)
def create(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The integration's unique key.")],
    provider: Annotated[str, typer.Option("--provider", help="Provider of the catalog.")],
    client_id: Annotated[str | None, typer.Option("--client-id", help="OAuth client id.")] = None,
    client_secret: Annotated[
        str | None,
        typer.Option("--client-secret", help="OAuth client secret ('-': read it from stdin)."),
    ] = None,
    scopes: Annotated[
        str | None, typer.Option("--scopes", help="OAuth scopes, comma-separated.")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL (self-hosted providers).")
    ] = None,
    display_name: Annotated[
        str | None, typer.Option("--display-name", help="Name shown for it.")
    ] = None,
    environment: Environment = "dev",
) -> None:
    """Create an integration: a provider of the catalog under a key, with its OAuth client.

    Examples:

      nango integration create github --provider github --client-id ID

      nango integration create jira --provider jira --scopes read:jira-work

      nango integration create gitlab --provider gitlab --base-url URL
    """
    from cli.client import RuntimeClient
    from cli.connect.integrations import create_integration, integration_body
    from cli.terminal import console as output

    secret = client_secret
    if secret == "-":
        import sys

        secret = sys.stdin.readline().strip()
    body = integration_body(
        key,
        provider,
        client_id=client_id,
        client_secret=secret or None,
        scopes=[s.strip() for s in scopes.split(",") if s.strip()] if scopes else None,
        base_url=base_url,
        display_name=display_name,
    )
    with RuntimeClient(environment=environment) as client:
        create_integration(client, body)
    output.success(f"Integration {key!r} ({provider}) created.")


@command(failure=ExitCode.FAILURE)
def list_(
    environment: Environment = "dev",
    json_output: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List the integrations of an environment.

    Example:

      nango integration list --json
    """
    from cli.client import RuntimeClient
    from cli.connect.integrations import list_integrations
    from cli.terminal.runtime_views import print_json, render_integrations

    with RuntimeClient(environment=environment) as client:
        found = list_integrations(client)
    if json_output:
        print_json(found)
    else:
        render_integrations(found)


integration_app.command("create")(create)
integration_app.command("list")(list_)
