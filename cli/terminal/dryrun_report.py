"""The human report of `nango dryrun`: a live status line while it runs, then a summary.

Large output is summarised: the first records of each model as a table, the first requests and
log lines, the action's output cut to a screenful. User data is always printed escaped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from cli.terminal import console as output
from runtime.backends.capture import Capture

if TYPE_CHECKING:
    from rich.console import RenderableType

    from cli.dryrun.report import DryRunReport

SHOWN_RECORDS = 5
SHOWN_COLUMNS = 6
SHOWN_REQUESTS = 15
SHOWN_LOGS = 20
SHOWN_OUTPUT_LINES = 40
CELL_WIDTH = 40
_LEVEL_STYLES = {"debug": "dim", "info": "", "warn": "yellow", "error": "red"}


class _Status:
    def __init__(self, capture: Capture, name: str) -> None:
        self.capture, self.name = capture, name

    def __rich__(self) -> RenderableType:
        from rich.spinner import Spinner

        c = self.capture
        text = (
            f"running {output.esc(self.name)} · {c.request_count} requests · "
            f"{c.pages} pages ({c.page_items:,} items) · "
            f"{c.record_count('save'):,} records saved"
        )
        return Spinner("dots", text)


@contextmanager
def live_status(capture: Capture, name: str) -> Iterator[None]:
    """A status line on stderr while the script runs (only on a terminal)."""
    console = output.stderr()
    if not console.is_terminal:
        yield
        return
    from rich.live import Live

    with Live(_Status(capture, name), console=console, transient=True, refresh_per_second=8):
        yield


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"


def _records_table(
    title: str, records: list[Any], total: int, redact: Callable[[str], str]
) -> RenderableType:
    from rich.table import Table

    shown = records[:SHOWN_RECORDS]
    table = Table(title=title, title_justify="left", show_lines=False)
    columns: list[str] = []
    for record in shown:
        if isinstance(record, dict):
            columns.extend(k for k in record if k not in columns)
    columns = columns[:SHOWN_COLUMNS]
    for column in columns or ["value"]:
        table.add_column(output.esc(column), overflow="fold")
    for record in shown:
        if isinstance(record, dict) and columns:
            table.add_row(*(output.esc(redact(_cell(record.get(c, "")))) for c in columns))
        else:
            table.add_row(output.esc(redact(_cell(record))))
    if total > len(shown):
        table.caption = f"first {len(shown)} of {total:,} records"
    return table


def render_records(report: DryRunReport) -> None:
    labels = {"save": "would save", "delete": "would delete", "update": "would update"}
    anything = False
    for kind, label in labels.items():
        for model, stream in report.capture.models(kind).items():
            anything = True
            output.result(f"[bold]{output.esc(model)}[/bold]: {label} {stream.count:,} records")
            table = _records_table(
                f"{model} ({label})", stream.first, stream.count, report.redactor
            )
            output.stdout().print(table)
    if not anything and report.kind == "sync":
        output.result("no records saved, updated or deleted")


def render_requests(capture: Capture) -> None:
    from rich.table import Table

    if not capture.request_count:
        return
    plural = "" if capture.request_count == 1 else "s"
    table = Table(title=f"{capture.request_count} request{plural}", title_justify="left")
    for column in ("method", "url", "status", "attempts", "time"):
        table.add_column(column, overflow="fold")
    for entry in capture.requests[:SHOWN_REQUESTS]:
        status = str(entry.status) if entry.status is not None else (entry.error or "error")
        table.add_row(
            entry.method,
            output.esc(entry.url),
            output.esc(status),
            str(entry.attempts),
            f"{entry.duration_ms:.0f} ms",
        )
    if capture.request_count > SHOWN_REQUESTS:
        table.caption = f"first {SHOWN_REQUESTS} of {capture.request_count}"
    output.stdout().print(table)
    facts = []
    if capture.retries:
        facts.append(f"{capture.retries} retries ({capture.rate_limited} after a 429)")
    if capture.pagination_stops:
        facts.append("pagination stopped: " + "; ".join(capture.pagination_stops[-3:]))
    for fact in facts:
        output.result(output.esc(fact))


def render_logs(capture: Capture) -> None:
    if not capture.log_counts:
        return
    counts = ", ".join(f"{level} {n}" for level, n in sorted(capture.log_counts.items()))
    output.result(f"[bold]logs[/bold] ({output.esc(counts)})")
    for entry in capture.logs[:SHOWN_LOGS]:
        style = _LEVEL_STYLES.get(entry.level, "")
        line = f"  {entry.level:<5} {output.esc(entry.message)}"
        output.result(f"[{style}]{line}[/{style}]" if style else line)
    hidden = sum(capture.log_counts.values()) - min(len(capture.logs), SHOWN_LOGS)
    if hidden > 0:
        output.result(f"  … {hidden} more log lines (use --json to see them all)")


def _pretty(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    lines = text.splitlines()
    if len(lines) > SHOWN_OUTPUT_LINES:
        rest = len(lines) - SHOWN_OUTPUT_LINES
        lines = [*lines[:SHOWN_OUTPUT_LINES], f"… {rest} more lines (use --json to see it all)"]
    return "\n".join(lines)


def render_report(report: DryRunReport) -> None:
    """The human report on stdout (secrets redacted: the records shown are the script's own)."""
    script = report.script
    output.result(
        f"[bold]Dry run of {script.kind} {output.esc(script.name)}[/bold] "
        f"({output.esc(script.integration)}) in {report.duration_s:.2f} s"
    )
    render_records(report)
    if report.kind == "action" and report.error is None:
        output.result("[bold]output[/bold]")
        output.result(output.esc(_pretty(report.output)))
    render_requests(report.capture)
    render_logs(report.capture)
    capture = report.capture
    if capture.metadata_writes:
        output.result(f"{len(capture.metadata_writes)} metadata writes captured (not sent)")
    if capture.checkpoint_writes:
        last = report.redactor(json.dumps(capture.checkpoint_writes[-1], default=str))
        output.result(
            f"checkpoint saved {len(capture.checkpoint_writes)} times, last: {output.esc(last)}"
        )
    for note in report.notes:
        output.warning(note)
    if report.fixture_file:
        output.success(f"fixtures saved to {report.fixture_file}")
    if report.error:
        render_error(report)


def render_error(report: DryRunReport) -> None:
    error = report.error
    assert error is not None
    output.error(f"{error.type}: {error.message}")
    if error.payload is not None:
        output.info(output.esc(_pretty(error.payload)))


def write_json_report(report: DryRunReport) -> None:
    """The JSON report on stdout, records streamed (never held all at once)."""
    import sys

    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    for chunk in report.json_chunks():
        if binary is not None:
            binary.write(chunk)
        else:
            sys.stdout.write(chunk.decode())
    if binary is not None:
        binary.write(b"\n")
        binary.flush()
    else:
        sys.stdout.write("\n")
    sys.stdout.flush()
    for note in report.notes:
        output.warning(note)
    if report.fixture_file:
        output.info(f"fixtures saved to {output.esc(report.fixture_file)}")
    if report.error is not None:
        output.error(f"{report.error.type}: {report.error.message}")
