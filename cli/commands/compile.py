from __future__ import annotations

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.COMPILE_ERROR)
def compile() -> None:
    """Check the whole project: nango.yaml, the generated files and every script.

    Each declared script must exist, import, define its entry function (fetch_data, run_action,
    on_event, and on_webhook for syncs with webhook subscriptions) as `async def` with the right
    parameters, await every SDK call, and name only models its sync declares. Exit code 10 on
    failure.

    Example:

      nango compile
    """
    from cli.compile.compiler import compile_project
    from cli.terminal import console as output

    result = compile_project()
    root = result.generated.project.root
    output.config_issues(result.generated.warnings)
    output.script_issues(result.warnings, root)
    for script in result.scripts:
        output.result(f"  {output.esc(script.path.relative_to(root))}")
    output.success(f"compiled {len(result.scripts)} scripts")
