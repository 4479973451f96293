"""`nango fixtures serve|stop`: the project's recorded API answers as a local HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

fixtures_app = typer.Typer(
    name="fixtures",
    help="Serve the project's recorded API answers over HTTP (an offline provider API).",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PID_FILE = "fixtures-server.pid"
LOG_FILE = "fixtures-server.log"


@command(failure=ExitCode.FAILURE)
def serve(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port.")] = 3004,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="Serve detached (pid and log in .nango/); `nango fixtures stop` stops it.",
        ),
    ] = False,
) -> None:
    """Answer HTTP requests with the answers recorded in <integration>/tests/*.test.json, as
    `nango dryrun --replay` does: point an integration's base URL at it to run deployed
    scripts without the provider (no network, no account). Unrecorded requests get 404.

    Examples:

      nango fixtures serve --port 3004

      nango fixtures serve --background --port 0

    then point an integration at it, e.g.
    `nango integration create github --provider github --client-id demo
    --client-secret demo --base-url http://127.0.0.1:3004`.
    """
    from cli.fixtures_server import FixtureServer, load_project_fixtures
    from cli.project import find_project
    from cli.terminal import console as output

    project = find_project(Path.cwd())
    if background:
        _serve_in_background(project.root, port, host)
        return
    fixtures = load_project_fixtures(project.root)
    server = FixtureServer(fixtures, host, port)
    for found in fixtures:
        relative = found.source.relative_to(project.root)
        output.result(f"  {output.esc(relative)}  {len(found.entries)} recorded answers")
    output.result(f"listening on {server.url}")
    output.stdout().file.flush()
    _detach_if_asked()
    _stop_on_sigterm()
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass  # Ctrl-C, or SIGTERM from `nango fixtures stop`: a clean exit
    finally:
        server.stop()


def _stop_on_sigterm() -> None:
    import signal

    def stop(_signal: int, _frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def _detach_if_asked() -> None:
    from cli.background import detach_stdout, is_detached

    if is_detached():
        detach_stdout()


def _serve_in_background(root: Path, port: int, host: str) -> None:
    from cli.background import start_detached
    from cli.terminal import console as output

    folder = root / ".nango"
    started = start_detached(
        ["fixtures", "serve", "--port", str(port), "--host", host],
        log=folder / LOG_FILE,
        pid_file=folder / PID_FILE,
        is_last_line=lambda line: line.startswith("listening on "),
        health_url=lambda printed: printed.rsplit("listening on ", 1)[1].strip(),
        what="The fixtures server",
    )
    output.result(output.esc(started.printed.rstrip("\n")))
    output.success(
        f"serving in the background (pid {started.pid}); stop it with `nango fixtures stop`"
    )


@command(failure=ExitCode.FAILURE)
def stop() -> None:
    """Stop the server that `nango fixtures serve --background` started for this project.

    Example:

      nango fixtures stop
    """
    from cli.background import stop_detached
    from cli.project import find_project
    from cli.terminal import console as output

    project = find_project(Path.cwd())
    pid = stop_detached(
        project.root / ".nango" / PID_FILE,
        what="The fixtures server",
        stop_command="nango fixtures stop",
    )
    output.success(f"fixtures server (pid {pid}) stopped")


fixtures_app.command("serve")(serve)
fixtures_app.command("stop")(stop)
