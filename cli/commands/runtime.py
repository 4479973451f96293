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
) -> None:
    """Start the runtime: migrate the store, ensure the dev and prod environments (keys are
    generated at first start and printed once), then serve until Ctrl-C or SIGTERM.

    Settings come from flags, then NANGO_* variables, then --config (see the README).

    Example:

      nango runtime start --port 3003
    """
    from cli.terminal.runtime_banner import render_banner
    from runtime.service import configure_logging, prepare_runtime, serve

    settings = _settings(
        config,
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        role=role,
        log_format=log_format,
        metrics_port=metrics_port,
    )
    configure_logging(settings)
    prepared = prepare_runtime(settings)
    render_banner(prepared)
    serve(prepared)


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
