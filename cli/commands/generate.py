from __future__ import annotations

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.FAILURE)
def generate() -> None:
    """Validate nango.yaml and write models.py, .nango/schema.json and .nango/nango.json.

    Also creates a stub for every sync, action and on-event script that has no file yet.
    Existing scripts are never touched. Every error is printed with its line and column.

    Example:

      nango generate
    """
    from cli.codegen.generate import generate as run_generate
    from cli.terminal import console as output
    from cli.terminal.progress import progress_shown

    with progress_shown() as progress:
        result = run_generate(progress=progress)
    root = result.project.root
    for issue in result.warnings:
        output.config_issues([issue])
    for path in result.written:
        output.success(f"wrote {path.relative_to(root)}")
    for path in result.created_scripts:
        output.success(f"created {path.relative_to(root)} (a stub: fill it in)")
    if not result.written and not result.created_scripts:
        output.success("everything is up to date")
