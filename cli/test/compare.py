"""Comparing what a replayed script produced with what was recorded: records by id and field,
an action's output as a JSON diff."""

from __future__ import annotations

import difflib
import json
from typing import Any

from cli.dryrun.report import DryRunReport

SHOWN_DIFFERENCES = 10


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def compare_records(kind: str, expected: dict[str, list[Any]], report: DryRunReport) -> list[str]:
    """Differences between recorded and replayed records of each model, by id."""
    actual = {m: _plain(list(s.all())) for m, s in report.capture.models(kind).items()}
    problems: list[str] = []
    for model in sorted(set(expected) | set(actual)):
        wanted, got = _plain(expected.get(model, [])), actual.get(model, [])
        if wanted == got:
            continue
        problems.append(f"batch_{kind} {model}: recorded {len(wanted)} records, got {len(got)}")
        problems.extend(f"  {line}" for line in record_differences(wanted, got))
    return problems


def _by_id(records: list[Any]) -> dict[str, Any]:
    return {str(r.get("id")) if isinstance(r, dict) else json.dumps(r): r for r in records}


def record_differences(wanted: list[Any], got: list[Any]) -> list[str]:
    recorded, replayed = _by_id(wanted), _by_id(got)
    lines = [f"missing id {i}" for i in recorded if i not in replayed]
    lines += [f"unexpected id {i}" for i in replayed if i not in recorded]
    for key in (k for k in recorded if k in replayed and recorded[k] != replayed[k]):
        lines.append(f"id {key} differs:")
        lines.extend(f"  {d}" for d in json_diff(recorded[key], replayed[key])[:SHOWN_DIFFERENCES])
    if not lines:
        lines.append("same records in another order")
    return lines[: SHOWN_DIFFERENCES * 3]


def json_diff(expected: Any, actual: Any) -> list[str]:
    before = json.dumps(expected, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    after = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
    diff = difflib.unified_diff(before, after, "recorded", "replayed", lineterm="", n=1)
    return [line for line in diff if not line.startswith(("---", "+++"))]


def compare_output(expected: Any, actual: Any) -> list[str]:
    if _plain(expected) == _plain(actual):
        return []
    return ["the output differs:", *(f"  {d}" for d in json_diff(_plain(expected), _plain(actual)))]
