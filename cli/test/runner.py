"""`run_fixture_tests`: replay every recorded fixture of the project and compare what the scripts
save, delete and return with what was recorded."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cli.codegen.generate import generate
from cli.dryrun.run import DryRunOptions, DryRunReport, dry_run
from cli.project import ScriptRef, declared_scripts
from runtime.recordings.fixture_set import FixtureSet, load_fixtures

SHOWN_DIFFERENCES = 10


@dataclass
class FixtureTestResult:
    script: ScriptRef
    fixtures: FixtureSet
    problems: list[str] = field(default_factory=list)
    report: DryRunReport | None = None

    @property
    def passed(self) -> bool:
        return not self.problems


def run_fixture_tests(
    *, project_root: Path | None = None, scripts: list[str] | None = None
) -> list[FixtureTestResult]:
    """One result per script that has fixtures (optionally only the named scripts)."""
    generated = generate(project_root=project_root, create_stubs=False)
    project = generated.project
    results: list[FixtureTestResult] = []
    for script in declared_scripts(project, generated.config.parsed):
        if scripts and script.name not in scripts:
            continue
        fixtures = load_fixtures(project.root, script.integration, script.name)
        if fixtures is None or script.kind == "on-event":
            continue
        results.append(_run_one(project.root, script, fixtures))
    return results


def _run_one(root: Path, script: ScriptRef, fixtures: FixtureSet) -> FixtureTestResult:
    result = FixtureTestResult(script, fixtures)
    options = DryRunOptions(
        name=script.name,
        connection_id=str((fixtures.connection or {}).get("connectionId") or "test-connection"),
        integration_id=script.integration,
        replay=True,
        keep_all_records=True,
    )
    report = dry_run(options, project_root=root)
    result.report = report
    try:
        result.problems.extend(_compare(script, fixtures, report))
    finally:
        report.close()
    return result


def _compare(script: ScriptRef, fixtures: FixtureSet, report: DryRunReport) -> list[str]:
    if report.error is not None:
        return [f"the run failed: {report.error.type}: {report.error.message}"]
    problems: list[str] = []
    if script.kind == "sync":
        for kind, expected in (("save", fixtures.batch_save), ("delete", fixtures.batch_delete)):
            problems.extend(compare_records(kind, expected, report))
    elif fixtures.has_output:
        problems.extend(compare_output(fixtures.output, report.output))
    return problems


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
