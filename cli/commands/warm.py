"""`nango warm status|stop`: the warm servers of `nango dryrun` (see cli/warm/)."""

from __future__ import annotations

import os

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

warm_app = typer.Typer(
    name="warm",
    help="The warm start of `nango dryrun`: the background processes that make it start fast.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@command(failure=ExitCode.FAILURE)
def status() -> None:
    """List your running warm servers (pid, socket, log).

    Example:

      nango warm status
    """
    from cli.terminal import console as output
    from cli.warm import channel, control

    servers = control.running_servers(os.environ)
    state = "on" if channel.enabled(os.environ) else "off (NANGO_WARM=0, or CI is set)"
    output.result(f"warm start: {state}")
    if not servers:
        output.result("no warm server is running")
    for server in servers:
        output.result(
            f"pid {server.pid}  socket {output.esc(str(server.socket))}  "
            f"log {output.esc(str(server.log))}"
        )


@command(failure=ExitCode.FAILURE)
def stop() -> None:
    """Stop your running warm servers (each lets its running commands end first).

    Example:

      nango warm stop
    """
    from cli.terminal import console as output
    from cli.warm import control

    stopped = control.stop_servers(os.environ)
    output.result(f"stopped {len(stopped)} warm server{'' if len(stopped) == 1 else 's'}")


warm_app.command("status")(status)
warm_app.command("stop")(stop)
