from __future__ import annotations

import os
from typing import Annotated

import typer

from cli.boundary import command
from cli.exit_codes import ExitCode


@command(failure=ExitCode.DEPLOY_ERROR)
def deploy(
    environment: Annotated[
        str, typer.Argument(metavar="[ENV]", help="The runtime environment (dev, prod).")
    ] = "dev",
    version: Annotated[
        str | None, typer.Option("-v", "--version", help="The version of every deployed script.")
    ] = None,
    sync: Annotated[str | None, typer.Option("-s", "--sync", help="Deploy only this sync.")] = None,
    action: Annotated[
        str | None, typer.Option("-a", "--action", help="Deploy only this action.")
    ] = None,
    integration: Annotated[
        str | None, typer.Option("-i", "--integration", help="Deploy only this integration.")
    ] = None,
    allow_destructive: Annotated[
        bool,
        typer.Option("--allow-destructive", help="Apply a plan that deletes synced records."),
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the plan and the result as one JSON object.")
    ] = False,
) -> None:
    """Compile the project, show the runtime's plan for it, and deploy it.

    The secret key is NANGO_SECRET_KEY_<ENV> (or NANGO_SECRET_KEY), the runtime NANGO_HOSTPORT.
    A plan that removes a sync with connections or a model (its records are deleted) needs
    --auto-confirm (or NANGO_DEPLOY_AUTO_CONFIRM=true) and --allow-destructive, or a yes at the
    prompt; with CI set nothing prompts. Exit code 10 when the project does not compile, 11 when
    the deploy fails.

    Examples:

      nango deploy dev

      nango deploy prod --sync issues --version 2.0.0

      nango deploy dev --auto-confirm --allow-destructive --json
    """
    from cli import settings
    from cli.boundary import render_user_error
    from cli.config.issues import ConfigError
    from cli.deploy import DeployFailedError, DeployOptions
    from cli.deploy import deploy as run_deploy
    from cli.deploy.pack import PackOptions
    from cli.terminal import deploy_report as report
    from cli.terminal.progress import progress_shown, stop_progress
    from runtime.deploy.wire import ScriptDifferences
    from runtime.errors import CompileError

    auto_confirm = os.environ.get("NANGO_DEPLOY_AUTO_CONFIRM", "") == "true"
    options = DeployOptions(
        environment=environment,
        pack=PackOptions(version=version, sync=sync, action=action, integration=integration),
        allow_destructive=allow_destructive,
        auto_confirm=settings.current.auto_confirm or auto_confirm,
        interactive=settings.current.interactive and not json_output,
    )
    plans: list[object] = []
    try:
        with progress_shown(enabled=not json_output) as progress:

            def on_plan(plan: ScriptDifferences) -> None:
                stop_progress(progress)  # the plan and a prompt replace the progress line
                (plans.append if json_output else report.render_plan)(plan)

            result = run_deploy(options, on_plan=on_plan, confirm=report.ask, progress=progress)
    except (ConfigError, CompileError) as exc:
        render_user_error(exc)
        raise typer.Exit(ExitCode.COMPILE_ERROR) from None
    except DeployFailedError:
        if json_output and plans:
            report.write_json(plans[0], None)  # type: ignore[arg-type]
        raise
    if json_output:
        report.write_json(result.plan, result.results)
    else:
        report.render_results(result.results)
