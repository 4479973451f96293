from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def init(
    path: Annotated[
        Path, typer.Argument(help="Folder to create the project in (created if needed).")
    ] = Path("nango-integrations"),
) -> None:
    """Create a working example project (a GitHub sync and action) and generate its files.

    Never overwrites a file; refuses a folder that already holds a nango.yaml.

    Examples:

      nango init demo

      nango init .
    """
    from cli.init.scaffold import init_project
    from cli.terminal import console as output

    result = init_project(path=path)
    for issue in result.generated.warnings if result.generated else []:
        output.warning(f"{issue.location}: {issue.message} [{issue.code}]")
    for kept in result.kept:
        output.warning(f"kept the existing {kept}")
    output.success(f"Nango integrations initialized in {result.root}")
    output.result(f"Next: [bold]cd {output.esc(path)} && nango compile[/bold]")
