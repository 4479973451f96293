"""The Typer app of `nango`: every command and the root options. Command modules import their
heavy dependencies lazily. The entry point is `cli.app.main`."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.compile import compile as compile_command
from cli.commands.connection import connection_app
from cli.commands.deploy import deploy as deploy_command
from cli.commands.dev import dev as dev_command
from cli.commands.dryrun import dryrun as dryrun_command
from cli.commands.fixtures import fixtures_app
from cli.commands.generate import generate as generate_command
from cli.commands.init import init as init_command
from cli.commands.integration import integration_app
from cli.commands.logs import logs as logs_command
from cli.commands.records import records as records_command
from cli.commands.runs import runs as runs_command
from cli.commands.runtime import app as runtime_app
from cli.commands.test import test as test_command
from cli.commands.version import version as version_command
from cli.commands.warm import warm_app
from cli.commands.webhooks import webhooks_app

app = typer.Typer(
    name="nango",
    help="Build, check and test API integration scripts (syncs and actions) in Python.",
    no_args_is_help=True,
    epilog=(
        "\b\nExamples:\n  nango init demo && cd demo\n  nango generate\n  nango compile\n\n"
        "Global options (after the command): --debug, --no-interactive, --auto-confirm.\n"
        "Run `nango COMMAND --help` for a command's options."
    ),
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("init")(init_command)
app.command("generate")(generate_command)
app.command("compile")(compile_command)
app.command("dryrun")(dryrun_command)
app.command("test")(test_command)
app.command("deploy")(deploy_command)
app.command("dev")(dev_command)
app.command("runs")(runs_command)
app.command("records")(records_command)
app.command("logs")(logs_command)
app.command("version")(version_command)
app.add_typer(runtime_app, name="runtime")
app.add_typer(connection_app)
app.add_typer(integration_app)
app.add_typer(fixtures_app)
app.add_typer(webhooks_app)
app.add_typer(warm_app)


def _print_version(value: bool) -> None:
    if value:
        from runtime import __version__

        typer.echo(f"Nango CLI version: {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-v", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Build, check and test API integration scripts (syncs and actions) in Python."""
