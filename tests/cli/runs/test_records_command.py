"""`nango records` against a runtime served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.runs.conftest import Runtime
from tests.helpers import Cli


def _save(runtime: Runtime, count: int) -> None:
    batch = [{"id": str(i), "title": f"Issue {i}"} for i in range(1, count + 1)]
    runtime.store.records.save(runtime.connection_id, "Issue", batch)


def test_records_are_listed_a_line_each(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    _save(runtime, 3)
    runtime.store.records.save(runtime.connection_id, "Issue", [{"id": "2", "title": "\x1b[2J"}])
    result = cli("records", "Issue", "-i", "github", "-c", "acme", cwd=tmp_path)
    lines = result.stdout.splitlines()
    # oldest change first (records saved together come in the store's order among themselves)
    assert sorted(lines[:2]) == [
        '1  ADDED  {"id":"1","title":"Issue 1"}',
        '3  ADDED  {"id":"3","title":"Issue 3"}',
    ]
    assert lines[2:] == ['2  UPDATED  {"id":"2","title":"\\u001b[2J"}']
    assert "3 records of Issue" in result.stderr


def test_pages_are_followed_up_to_the_limit(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    _save(runtime, 2500)
    result = cli("records", "Issue", "-i", "github", "-c", "acme", "-n", "2100", "--json")
    answer = json.loads(result.stdout)
    assert answer["more"] is True
    ids = [r["id"] for r in answer["records"]]
    assert len(ids) == len(set(ids)) == 2100
    everything = json.loads(
        cli("records", "Issue", "-i", "github", "-c", "acme", "-n", "5000", "--json").stdout
    )
    assert (len(everything["records"]), everything["more"]) == (2500, False)


def test_no_records_and_unknown_connection(cli: Cli, runtime: Runtime, tmp_path: Path) -> None:
    empty = cli("records", "Issue", "-i", "github", "-c", "acme", cwd=tmp_path)
    assert empty.stdout == "" and "No records of Issue." in empty.stderr
    missing = cli("records", "Issue", "-i", "github", "-c", "nobody", cwd=tmp_path, expect=1)
    assert "nobody" in missing.stderr or "connection" in missing.stderr.lower()
