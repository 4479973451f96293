"""How `nango dev` shows its cycles: a Rich live view on a terminal (a line per script, the last
cycle, the first failure in full), plain lines when stdout is not a terminal, or one JSON object
per cycle with `--json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cli.dev.events import CycleResult, DeployOutcome, DevReporter, Problem, ScriptStatus
from cli.terminal import console as output

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

__all__ = ["JsonReporter", "LiveReporter", "PlainReporter", "dev_reporter", "failure_lines"]


def failure_lines(problem: Problem) -> list[str]:
    """The failure in full, as plain text: `file:line:column message [code]` and its details."""
    code = f" [{problem.code}]" if problem.code else ""
    lines = [f"{problem.location} {problem.message}{code}"]
    if problem.path:
        lines.append(f"  at {problem.path}")
    return lines + [f"  {line}" for line in problem.details]


def _test_text(status: ScriptStatus) -> str:
    if status.compile != "ok":
        return "[red]compile failed[/red]"
    return {
        "passed": "compiled  [green]test passed[/green]",
        "failed": "compiled  [red]test failed[/red]",
        "no fixture": "compiled  [dim]no fixture[/dim]",
        "skipped": "compiled  [dim]tests off[/dim]",
    }[status.test]


def _summary(result: CycleResult) -> str:
    changed = ", ".join(result.changed[:3]) + (" ..." if len(result.changed) > 3 else "")
    what = f"{len(result.changed)} changed ({changed})" if result.changed else "full cycle"
    failing = sum(not s.ok for s in result.every_script) + bool(result.config_errors)
    verdict = "[green]all green[/green]" if not failing else f"[red]{failing} failing[/red]"
    return (
        f"cycle {result.cycle} · {output.esc_line(what)} · "
        f"{result.duration_s * 1000:.0f} ms · {verdict}"
    )


class JsonReporter:
    """`--json`: one object per cycle (and per automatic deploy) on stdout, one per line."""

    def cycle_started(self, changed: list[str]) -> None:
        del changed

    def cycle_finished(self, result: CycleResult) -> None:
        self._write(result.to_json())

    def deploy_finished(self, outcome: DeployOutcome) -> None:
        self._write(outcome.to_json())

    def confirm_destructive(self, plan: str) -> bool:
        del plan
        return False

    @staticmethod
    def _write(body: object) -> None:
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        sys.stdout.flush()


class PlainReporter:
    """stdout is not a terminal: a line per cycle, and each failure in full."""

    def cycle_started(self, changed: list[str]) -> None:
        del changed

    def cycle_finished(self, result: CycleResult) -> None:
        output.result(_summary(result))
        for status in result.scripts:
            label = output.esc_line(f"{status.integration}/{status.name}")
            output.result(f"  {label}  {_test_text(status)}")
        problem = result.first_failure
        for line in failure_lines(problem) if problem else []:
            output.result(f"    {output.esc(line)}")

    def deploy_finished(self, outcome: DeployOutcome) -> None:
        _print_deploy(outcome)

    def confirm_destructive(self, plan: str) -> bool:
        return _ask(plan)


def _print_deploy(outcome: DeployOutcome) -> None:
    if outcome.ok:
        shown = ", ".join(outcome.deployed) or "nothing new"
        output.success(f"deployed: {shown}  plan {outcome.plan}")
    else:
        output.error(f"deploy failed: {outcome.error}", f"plan {outcome.plan}")


def _ask(plan: str) -> bool:
    output.warning(f"this deploy deletes records: {plan}")
    answer = output.stderr().input("Deploy anyway? y/n ")
    return answer.strip().lower() in ("y", "yes")


class LiveReporter:
    """A terminal: the live view, redrawn at the start and the end of every cycle."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.last: CycleResult | None = None
        self.state = "starting"
        self.deploy: DeployOutcome | None = None
        self.live: Live | None = None

    def cycle_started(self, changed: list[str]) -> None:
        self.state = "running" if not changed else f"running: {', '.join(changed[:3])}"
        self._refresh()

    def cycle_finished(self, result: CycleResult) -> None:
        self.last, self.state = result, "watching"
        self._refresh()

    def deploy_finished(self, outcome: DeployOutcome) -> None:
        self.deploy = outcome
        self._refresh()

    def confirm_destructive(self, plan: str) -> bool:
        if self.live is not None:
            self.live.stop()
        try:
            return _ask(plan)
        finally:
            if self.live is not None:
                self.live.start()

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self.render(), refresh=True)

    def render(self) -> RenderableType:
        """The view: a header, a line per script, the last cycle, the first failure."""
        from rich.console import Group

        head = f"{output.esc_line(self.root)} · {output.esc_line(self.state)} (Ctrl-C stops)"
        lines = [f"[bold]nango dev[/bold] {head}"]
        result = self.last
        if result is not None:
            lines += _script_lines(result)
            lines.append(_summary(result))
            problem = result.first_failure
            if problem is not None:
                lines.append("[red]first failure[/red]")
                lines += [output.esc(line) for line in failure_lines(problem)]
        if self.deploy is not None:
            verdict = "deployed" if self.deploy.ok else f"deploy failed: {self.deploy.error}"
            lines.append(f"{output.esc_line(verdict)} · plan {output.esc_line(self.deploy.plan)}")
        return Group(*(output.styled(line) for line in lines))


def _script_lines(result: CycleResult) -> list[str]:
    width = max((len(s.integration) + len(s.name) + 1 for s in result.every_script), default=0)
    lines = []
    for status in result.every_script:
        mark = "[green]✓[/green]" if status.ok else "[red]✗[/red]"
        label = f"{status.integration}/{status.name}".ljust(width)
        lines.append(f"  {mark} {output.esc_line(label)}  {_test_text(status)}")
    for problem in result.config_errors:
        where = output.esc_line(problem.location)
        lines.append(f"  [red]✗[/red] {where} {output.esc(problem.message)}")
    for problem in result.warnings:
        where = output.esc_line(problem.location)
        lines.append(f"  [yellow]warning[/yellow] {where} {output.esc(problem.message)}")
    return lines


def _home_relative(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home()).as_posix()}"
    except ValueError:
        return str(path)


@contextmanager
def dev_reporter(*, json_output: bool, root: Path) -> Iterator[DevReporter]:
    """The reporter for this terminal; a live view is shown while the context is open."""
    if json_output:
        yield JsonReporter()
        return
    console = output.live_stdout()
    if not console.is_terminal:
        yield PlainReporter()
        return
    from rich.live import Live

    reporter = LiveReporter(_home_relative(root))
    with Live(reporter.render(), console=console, auto_refresh=False) as live:
        reporter.live = live
        yield reporter
