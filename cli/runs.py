"""`nango runs` and `nango logs`: the runtime's runs and their log lines, read through
`GET /runtime/runs` and `GET /runtime/runs/{id}/logs`. Nothing here prints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cli.client import RuntimeClient
from runtime.errors import UserError

__all__ = ["LogEntry", "RunFilter", "follow_logs", "latest_run", "list_runs", "wait_for_runs"]


@dataclass(frozen=True)
class RunFilter:
    integration: str | None = None
    connection_id: str | None = None
    script: str | None = None
    limit: int = 20

    def params(self) -> dict[str, Any]:
        found = {
            "integration": self.integration,
            "connection_id": self.connection_id,
            "script": self.script,
            "limit": self.limit,
        }
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True)
class LogEntry:
    """A log line of a run (`run` is the run it belongs to: its first line carries it too)."""

    run: dict[str, Any]
    seq: int
    level: str
    message: str
    created_at: str | None


def list_runs(client: RuntimeClient, where: RunFilter) -> list[dict[str, Any]]:
    """The runs, newest first."""
    answer = client.get("/runtime/runs", params=where.params())
    runs: list[dict[str, Any]] = (answer or {}).get("runs", [])
    return runs


def wait_for_runs(
    client: RuntimeClient,
    where: RunFilter,
    timeout: float,
    *,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[dict[str, Any]]:
    """The runs once at least one matches `where` and none of them is still waiting or
    running (a first scheduled run, a triggered one); a `UserError` after `timeout` s."""
    deadline = clock() + timeout
    while True:
        runs = list_runs(client, where)
        if runs and not any(run["status"] in ("CREATED", "STARTED") for run in runs):
            return runs
        if clock() > deadline:
            waiting = "no run yet" if not runs else "a run is still waiting or running"
            raise UserError(
                f"Waited {timeout:g} s for the runs to finish: {waiting}",
                hint="Check that a worker runs (`nango runtime start` runs one) and that the "
                "sync has a connection; `nango logs <script> -c <connection>` shows a run.",
            )
        sleep(poll_s)


def latest_run(client: RuntimeClient, where: RunFilter) -> dict[str, Any]:
    """The newest run matching `where` (a `UserError` when there is none)."""
    runs = list_runs(client, RunFilter(where.integration, where.connection_id, where.script, 1))
    if not runs:
        raise UserError(
            f"No run of {where.script!r} for connection {where.connection_id!r} yet",
            hint="Trigger it (POST /sync/trigger, /action/trigger) or wait for its schedule.",
        )
    return runs[0]


def follow_logs(
    client: RuntimeClient,
    where: RunFilter,
    *,
    follow: bool = False,
    poll_s: float = 1.0,
    keep_going: Callable[[], bool] = lambda: True,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[LogEntry]:
    """The lines of the newest run; with `follow`, then every new line of it and of the runs
    that come after it, until `keep_going()` says stop (Ctrl-C for the command)."""
    run = latest_run(client, where)
    seen_runs = {run["id"]}
    after = 0
    while True:
        answer = client.get(f"/runtime/runs/{run['id']}/logs", params={"after": after}) or {}
        for line in answer.get("logs", []):
            yield LogEntry(run, line["seq"], line["level"], line["message"], line["created_at"])
        after = int(answer.get("next_after", after))
        if answer.get("logs") and not answer.get("done"):
            continue  # more lines are waiting
        if not follow or not keep_going():
            return
        newer = _next_run(client, where, seen_runs) if answer.get("done") else None
        if newer is not None:
            run, after = newer, 0
            seen_runs.add(run["id"])
            continue
        sleep(poll_s)


def _next_run(client: RuntimeClient, where: RunFilter, seen: set[str]) -> dict[str, Any] | None:
    """The oldest run newer than those already followed, if any."""
    runs = list_runs(client, RunFilter(where.integration, where.connection_id, where.script, 10))
    fresh = [run for run in runs if run["id"] not in seen]
    return fresh[-1] if fresh else None
