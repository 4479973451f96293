"""The `nango` entry point (`main`). `nango dryrun` goes to a warm server when one runs
(`cli.warm`); a plain `nango dryrun ...` runs without loading Typer (`cli.fast_path`); every other
command line goes to the Typer app, `cli.commands.app.app` (also reachable as `cli.app.app`)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # as typing's, without importing typing (~3 ms) before the command

if TYPE_CHECKING:
    from typing import Any

__all__ = ["main"]


def main() -> None:
    if sys.argv[1:2] != ["dryrun"]:
        _run_here()
        return
    from cli.warm import client  # the one command with a warm start: imported for it alone

    try:
        code = client.run(sys.argv)
    except KeyboardInterrupt:  # before the command's process took the signals over
        sys.exit(130)
    if code is not None:  # a warm server ran it
        sys.exit(code)
    try:
        _run_here()
    finally:
        client.start_server_if_missing()


def _run_here() -> None:
    from cli import fast_path, process
    from cli.guard import ensure_own_import_names

    process.at_start()
    ensure_own_import_names()
    try:
        if fast_path.run(sys.argv[1:]):
            sys.exit(0)  # as Typer ends a command that succeeded
        from cli.commands.app import app

        app()
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        process.at_exit()


def __getattr__(name: str) -> Any:
    if name == "app":  # the Typer app, imported on first use: `main` may not need it
        from cli.commands.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
