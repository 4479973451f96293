"""The report of `nango test`: a line per script, the differences of those that failed."""

from __future__ import annotations

from cli.terminal import console as output
from cli.test.runner import FixtureTestResult


def render_test_results(results: list[FixtureTestResult]) -> int:
    """Print every result and the summary line; the number of failures."""
    if not results:
        output.warning("no recorded fixtures: record some with `nango dryrun NAME CONN --save`")
    for result in results:
        label = f"{result.script.integration}/{result.script.name}"
        if result.passed:
            output.success(f"{label} matches {result.fixtures.source.name}")
            continue
        output.result(f"[red]✗[/red] {output.esc(label)}")
        for line in result.problems:
            output.result(f"    {output.esc(line)}")
    failed = sum(not r.passed for r in results)
    output.result(f"{len(results) - failed} passed, {failed} failed")
    return failed
