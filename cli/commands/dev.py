from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def dev(
    deploy: Annotated[
        bool,
        typer.Option("--deploy", help="After a green cycle, deploy to NANGO_HOSTPORT's runtime."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per cycle, one per line.")
    ] = False,
    no_tests: Annotated[
        bool, typer.Option("--no-tests", help="Compile only: do not replay fixtures.")
    ] = False,
    environment: Annotated[
        str, typer.Option("-e", "--environment", help="The runtime environment of --deploy.")
    ] = "dev",
) -> None:
    """Watch the project: on every save, regenerate, compile and replay the affected fixtures.

    nango.yaml changed: validate it, regenerate models.py, .nango/ and stubs for new scripts,
    then check every script whose models changed (an invalid file shows every error and the
    watch goes on). A script changed: compile it and replay its fixtures. A fixture changed:
    replay it. .env changed: read it again. One full cycle runs at start; Ctrl-C stops.

    Examples:

      nango dev

      nango dev --json

      nango dev --deploy
    """
    from cli import settings
    from cli.dev import DevOptions, watch
    from cli.dev.watch import stop_on_sigterm
    from cli.project import find_project
    from cli.terminal import console as output
    from cli.terminal.dev_view import dev_reporter

    root = find_project(Path.cwd()).root
    interactive = settings.current.interactive and not json_output and sys.stdin.isatty()
    options = DevOptions(
        run_tests=not no_tests, deploy=deploy, environment=environment, interactive=interactive
    )
    try:
        with stop_on_sigterm() as stop, dev_reporter(json_output=json_output, root=root) as view:
            watch(reporter=view, options=options, project_root=root, stop_event=stop)
    except KeyboardInterrupt:
        output.info("stopped watching")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
