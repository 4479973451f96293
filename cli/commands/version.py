from __future__ import annotations

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def version() -> None:
    """Print the version of the CLI and of the runtime it points at (NANGO_HOSTPORT).

    Example:

      nango version
    """
    from cli.client import runtime_version
    from cli.terminal import console as output
    from runtime import __version__

    output.result(f"Nango CLI version: {__version__}")
    host, found, detail = runtime_version()
    if found:
        output.result(f"Runtime version: {output.esc(found)} ({output.esc(host)})")
    else:
        output.result(f"Runtime: not reachable at {output.esc(host)} ({output.esc(detail)})")
