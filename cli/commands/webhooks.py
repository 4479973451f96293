"""`nango webhooks list|settings`: the runtime's outgoing webhooks and where they go."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

webhooks_app = typer.Typer(
    name="webhooks",
    help="The runtime's outgoing webhooks (NANGO_HOSTPORT): the delivery log and the settings.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Environment = Annotated[
    str,
    typer.Option("-e", "--environment", help="Runtime environment (key NANGO_SECRET_KEY_<ENV>)."),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print it as JSON.")]


@command(failure=ExitCode.FAILURE)
def list_(
    environment: Environment = "dev",
    state: Annotated[
        list[str] | None,
        typer.Option(
            "--state", help="Only deliveries in this state (pending, delivered, failed...)."
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Only this kind: sync, auth, async_action, forward."),
    ] = None,
    limit: Annotated[int, typer.Option("-n", "--limit", min=1, max=1000)] = 20,
    json_output: JsonOutput = False,
) -> None:
    """The webhooks the runtime sent or will send, newest first: kind, URL, state, attempts
    and the receiver's last answer.

    Examples:

      nango webhooks list

      nango webhooks list --state failed --kind sync --json
    """
    from cli.client import RuntimeClient
    from cli.terminal.runtime_views import print_json
    from cli.terminal.webhooks_report import render_deliveries
    from cli.webhooks import list_deliveries

    with RuntimeClient(environment=environment) as client:
        found = list_deliveries(client, limit=limit, states=state or (), kinds=kind or ())
    if json_output:
        print_json(found)
    else:
        render_deliveries(found)


@command(failure=ExitCode.FAILURE)
def settings(
    environment: Environment = "dev",
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="Set the webhook URLs (repeat for several)."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove every webhook URL.")] = False,
    always: Annotated[
        bool | None,
        typer.Option(
            "--always/--only-changes", help="A sync webhook even when nothing changed, or not."
        ),
    ] = None,
    json_output: JsonOutput = False,
) -> None:
    """Show an environment's webhook settings, or change them. Settings given to the runtime
    itself (`[environments.<env>]` in its TOML, NANGO_WEBHOOK_URLS_<ENV>) win over these.

    Examples:

      nango webhooks settings

      nango webhooks settings --url https://example.com/nango-webhooks --always

      nango webhooks settings -e prod --clear
    """
    from cli.client import RuntimeClient
    from cli.terminal.runtime_views import print_json
    from cli.terminal.webhooks_report import render_settings
    from cli.webhooks import read_settings, write_settings

    changes: dict[str, object] = {}
    if url or clear:
        changes["webhook_urls"] = [] if clear else list(url or [])
    if always is not None:
        changes["always_send_webhook"] = always
    with RuntimeClient(environment=environment) as client:
        found = write_settings(client, changes) if changes else read_settings(client)
    if json_output:
        print_json(found)
    else:
        render_settings(found)


webhooks_app.command("list")(list_)
webhooks_app.command("settings")(settings)
