"""`nango runtime start` and `nango runtime migrate`: the runtime a project deploys to."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode

app = typer.Typer(
    name="runtime",
    help="Run the runtime your scripts deploy to (the API of Nango's clients, the workers).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

Host = Annotated[str | None, typer.Option("--host", help="Address to listen on [127.0.0.1].")]
Port = Annotated[int | None, typer.Option("--port", help="Port to listen on [3003].")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder of the SQLite store and key file.")
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="postgresql://... to share one database [SQLite]."),
]
Role = Annotated[
    Literal["all", "api", "worker"] | None,
    typer.Option("--role", help="all, api (HTTP only) or worker (scripts only) [all]."),
]
Config = Annotated[
    Path | None, typer.Option("--config", help="A TOML file of settings (flags win).")
]
LogFormat = Annotated[
    Literal["human", "json"] | None,
    typer.Option("--log-format", help="human, or json: one JSON object per line [human]."),
]
MetricsPort = Annotated[
    int | None,
    typer.Option("--metrics-port", help="Also serve /metrics on this port (workers) [none]."),
]
Background = Annotated[
    bool,
    typer.Option(
        "--background",
        help="Start it detached: wait until it answers, print the banner, return. "
        "Its log and pid file are in the data directory; `nango runtime stop` stops it.",
    ),
]
EnvFile = Annotated[
    Path | None,
    typer.Option(
        "--env-file",
        help="Also write the .env lines (NANGO_HOSTPORT, the keys known now) into this file.",
    ),
]


def _settings(config: Path | None, **flags: Any) -> Any:
    from runtime.settings import load_settings

    return load_settings(flags=flags, config_file=config)


@app.command("start")
@command(failure=ExitCode.FAILURE)
def start(
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    role: Role = None,
    config: Config = None,
    log_format: LogFormat = None,
    metrics_port: MetricsPort = None,
    background: Background = False,
    env_file: EnvFile = None,
) -> None:
    """Start the runtime: migrate the store, ensure the dev and prod environments (keys are
    generated at first start and printed once), then serve until Ctrl-C or SIGTERM (or, with
    --background, until `nango runtime stop`).

    Settings come from flags, then NANGO_* variables, then --config (see the README).

    Examples:

      nango runtime start --port 3003

      nango runtime start --background --env-file .env
    """
    flags: dict[str, Any] = {
        "host": host,
        "port": port,
        "data_dir": data_dir,
        "database_url": database_url,
        "role": role,
        "log_format": log_format,
        "metrics_port": metrics_port,
    }
    settings = _settings(config, **flags)
    if background:
        from cli.runtime_control import start_in_background

        start_in_background(settings, _argv(flags, config), env_file)
        return
    _start_here(settings, env_file)


def _start_here(settings: Any, env_file: Path | None) -> None:
    from cli.background import detach_stdout, is_detached
    from cli.runtime_control import write_env_file
    from cli.terminal.runtime_banner import render_banner
    from runtime.service import configure_logging, prepare_runtime, serve

    configure_logging(settings)
    prepared = prepare_runtime(settings)
    render_banner(prepared)
    if env_file is not None:
        write_env_file(env_file, prepared)
    if is_detached():
        detach_stdout()
    serve(prepared)


def _argv(flags: dict[str, Any], config: Path | None) -> list[str]:
    """The command line of the same start in the foreground (absolute paths: the child may
    resolve them from elsewhere)."""
    argv = ["runtime", "start"]
    for name, value in [*flags.items(), ("config", config)]:
        if value is not None:
            shown = str(value.resolve()) if isinstance(value, Path) else str(value)
            argv += [f"--{name.replace('_', '-')}", shown]
    return argv


@app.command("stop")
@command(failure=ExitCode.FAILURE)
def stop(data_dir: DataDir = None, config: Config = None) -> None:
    """Stop the runtime that `nango runtime start --background` started with this data
    directory (SIGTERM: runs in progress end as they do at Ctrl-C).

    Example:

      nango runtime stop
    """
    from cli.runtime_control import stop_background
    from cli.terminal import console as output

    settings = _settings(config, data_dir=data_dir)
    pid = stop_background(settings)
    output.success(f"nango runtime (pid {pid}) stopped")


@app.command("migrate")
@command(failure=ExitCode.FAILURE)
def migrate(
    data_dir: DataDir = None, database_url: DatabaseUrl = None, config: Config = None
) -> None:
    """Migrate the store to this version's schema (the runtime also does it at start).

    Example:

      nango runtime migrate --database-url postgresql://nango@db/nango
    """
    from cli.terminal import console as output
    from runtime.service import migrate_database

    settings = _settings(config, data_dir=data_dir, database_url=database_url)
    before, after, database = migrate_database(settings)
    if before == after:
        output.success(f"{database} is up to date (revision {after})")
    else:
        output.success(f"migrated {database} from {before or 'an empty database'} to {after}")
