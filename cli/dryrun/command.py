"""The body of `nango dryrun`: its flags to `DryRunOptions`, the run, the report.

Free of typer: the Typer command (`cli.commands.dryrun`) and the fast path for plain command lines
(`cli.fast_path`) both call `dryrun_command`.
"""

from __future__ import annotations

from cli.exit_codes import ExitCode
from cli.process import paused_collector


def dryrun_command(
    name: str,
    connection_id: str,
    *,
    environment: str = "dev",
    last_sync_date: str | None = None,
    input: str | None = None,
    metadata: str | None = None,
    checkpoint: str | None = None,
    integration_id: str | None = None,
    variant: str | None = None,
    validation: bool = False,
    save: bool = False,
    replay: bool = False,
    json_output: bool = False,
    timeout: float | None = None,
) -> None:
    """Run the dry run and show its report; exit with `DRYRUN_ERROR` when the run failed."""
    with paused_collector():
        from cli.dryrun import options as parse
        from cli.dryrun.run import DryRunOptions, dry_run
        from cli.terminal.dryrun_report import live_status, render_report, write_json_report
        from runtime.execution.run import NO_INPUT

    options = DryRunOptions(
        name=name,
        connection_id=connection_id,
        environment=environment,
        last_sync_date=parse.parse_last_sync_date(last_sync_date) if last_sync_date else None,
        input=parse.parse_json_option(input, "--input") if input is not None else NO_INPUT,
        metadata=parse.parse_object_option(metadata, "--metadata") if metadata else None,
        checkpoint=parse.parse_checkpoint(checkpoint) if checkpoint else None,
        integration_id=integration_id,
        variant=variant,
        validation=validation,
        mode=parse.mode_of(save=save, replay=replay),
        keep_all_records=json_output,
        timeout_s=parse.parse_timeout(timeout),
    )
    report = dry_run(options, progress=None if json_output else lambda c: live_status(c, name))
    try:
        write_json_report(report) if json_output else render_report(report)
    finally:
        report.close()
    if report.error is not None:
        raise SystemExit(ExitCode.DRYRUN_ERROR)
