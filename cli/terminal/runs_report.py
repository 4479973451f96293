"""How `nango runs` and `nango logs` print: a table of runs, log lines, or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from cli.terminal import console as output

_STATUS_STYLE = {
    "SUCCEEDED": "green",
    "FAILED": "red",
    "EXPIRED": "red",
    "CANCELLED": "yellow",
    "STARTED": "cyan",
    "CREATED": "dim",
}
_LEVEL_STYLE = {"error": "red", "warn": "yellow", "debug": "dim"}


def counts_text(counts: dict[str, dict[str, int]] | None) -> str:
    """`+added ~updated -deleted`, summed over the run's models (empty when it wrote none)."""
    if not counts:
        return ""
    total = {"added": 0, "updated": 0, "deleted": 0}
    for model in counts.values():
        for name in total:
            total[name] += int(model.get(name, 0))
    return f"+{total['added']} ~{total['updated']} -{total['deleted']}"


def duration_text(milliseconds: int | None) -> str:
    if milliseconds is None:
        return ""
    if milliseconds < 1000:
        return f"{milliseconds} ms"
    seconds = milliseconds / 1000
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def when_text(iso: str | None, now: datetime | None = None) -> str:
    """How long ago (`42s ago`, `5m ago`, `3h ago`), else the date."""
    if not iso:
        return ""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    seconds = ((now or datetime.now(UTC)) - moment).total_seconds()
    if seconds < 60:
        return f"{max(0, int(seconds))}s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return moment.strftime("%Y-%m-%d %H:%M")


def render_runs(runs: Sequence[dict[str, Any]]) -> None:
    if not runs:
        output.info("No runs yet.")
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for title in ("SCRIPT", "CONNECTION", "STATUS", "+ADDED ~UPDATED -DELETED", "DURATION", "WHEN"):
        table.add_column(title)
    for run in runs:
        style = _STATUS_STYLE.get(run["status"], "")
        table.add_row(
            output.esc(f"{run.get('integration') or ''}/{run['script']}".lstrip("/")),
            output.esc(run.get("connection_id") or ""),
            f"[{style}]{output.esc(run['status'])}[/{style}]" if style else run["status"],
            counts_text(run.get("counts")),
            duration_text(run.get("duration_ms")),
            when_text(run.get("created_at")),
        )
    output.stdout().print(table)


def write_runs_json(runs: Sequence[dict[str, Any]]) -> None:
    print(json.dumps({"runs": list(runs)}, indent=2))


def render_log_lines(entries: Iterable[Any], *, as_json: bool) -> None:
    """Each line as it comes (a header before the first line of each run)."""
    current = None
    for entry in entries:
        if as_json:
            body = {
                "run": entry.run["id"],
                "seq": entry.seq,
                "level": entry.level,
                "message": entry.message,
                "created_at": entry.created_at,
            }
            print(json.dumps(body), flush=True)
            continue
        if entry.run["id"] != current:
            current = entry.run["id"]
            run = entry.run
            output.info(
                f"[dim]── run {output.esc(run['id'])} ({output.esc(run['kind'])}, "
                f"{output.esc(run.get('created_at') or '')})[/dim]"
            )
        style = _LEVEL_STYLE.get(entry.level, "")
        level = f"[{style}]{entry.level:<5}[/{style}]" if style else f"{entry.level:<5}"
        stamp = (entry.created_at or "")[11:19]
        output.result(f"{stamp} {level} {output.esc(entry.message)}")
