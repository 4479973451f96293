"""Does `nango dryrun --save` record in linear time, close to the speed of the same run without it?

    python bench/save_bench.py [--records 100000] [--page-size 1000] [--repeat 5]

The set-up is `bench/dryrun_bench.py`'s (imported, not copied): a server process on 127.0.0.1
serving pages of records with GitHub-style `Link` headers, a temp project with one sync
`items` that saves every page, and a local connection with a realistic token (so redaction runs
as it does for users). A second server serves a tenth of the records, for the linearity check.

Timed in-process with `cli.dryrun.dry_run`, alternating, medians of `--repeat` runs:
- `dryrun` (no flag) at N records: the baseline;
- `dryrun --validation` at N (what `--save` implies), for reference;
- `dryrun --save` at N and at N/10 (the fixture file deleted before each run, not timed).
Each run must save exactly its N records without error, and each `--save` run must leave a
fixture file holding N records and no temporary file.

Targets: `--save` at N within 1.5x the baseline; per-record time of `--save` at N within 1.3x
that at N/10 (linear). The exit code is 0, or 1 when a run fails or a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

# run as `python bench/save_bench.py`: this folder is on sys.path, as for bench/run.py
from dryrun_bench import (
    ENV_PREFIX,
    BenchFailed,
    Contender,
    Setup,
    Stopwatch,
    Timing,
    alternate,
    bench_setup,
    http_server,
)

SAVE_TARGET = 1.5
LINEAR_TARGET = 1.3
SMALL_FRACTION = 10


def run_dry(setup: Setup, base_url: str, records: int, *, flags: str) -> Timing:
    """One in-process dry run against `base_url` with `flags` ("", "validation" or "save")."""
    from cli.dryrun.run import DryRunOptions, dry_run

    os.environ[ENV_PREFIX + "BASE_URL"] = base_url
    fixture = setup.project / "github" / "tests" / "items.test.json"
    fixture.unlink(missing_ok=True)
    options = DryRunOptions(
        name="items",
        connection_id="bench",
        integration_id="github",
        validation=flags == "validation",
        mode="record" if flags == "save" else "live",
    )
    with Stopwatch() as watch:
        report = dry_run(options, project_root=setup.project)
    saved = report.capture.record_count("save")
    report.close()
    if report.error is not None:
        raise BenchFailed(f"the dry run failed: {report.error.to_json()}")
    if saved != records:
        raise BenchFailed(f"the dry run saved {saved} records, expected {records}")
    if flags == "save":
        check_fixture(fixture, records)
    return watch.timing


def check_fixture(fixture: Path, records: int) -> None:
    """The recording holds every record, and nothing was left beside it."""
    document = json.loads(fixture.read_text(encoding="utf-8"))
    recorded = len(document["nango"]["batchSave"]["Item"])
    if recorded != records:
        raise BenchFailed(f"the fixture holds {recorded} records, expected {records}")
    strays = [p.name for p in fixture.parent.iterdir() if p.name.endswith(".tmp")]
    if strays:
        raise BenchFailed(f"temporary files left beside the fixture: {strays}")


def contenders(setup: Setup, small_url: str, small: int) -> dict[str, Contender]:
    def run(url: str, records: int, flags: str) -> Callable[[], Timing]:
        return lambda: run_dry(setup, url, records, flags=flags)

    big, url = setup.records, setup.base_url
    return {
        "plain": Contender(f"nango dryrun, {big:,} records", run(url, big, "")),
        "validation": Contender(
            f"nango dryrun --validation, {big:,} records", run(url, big, "validation")
        ),
        "save": Contender(f"nango dryrun --save, {big:,} records", run(url, big, "save")),
        "save_small": Contender(
            f"nango dryrun --save, {small:,} records", run(small_url, small, "save")
        ),
    }


def report(runs: dict[str, Contender], medians: dict[str, Timing], small: int, big: int) -> bool:
    """Print the times and the two ratios; True when both targets are met."""
    print(f"{'':<46}{'wall':>8}   {'records/s':>10}   {'CPU':>7}")
    sizes = {"plain": big, "validation": big, "save": big, "save_small": small}
    for key, contender in runs.items():
        timing = medians[key]
        rate = sizes[key] / timing.wall
        print(f"  {contender.label:<44}{timing.wall:7.2f}s   {rate:>10,.0f}   {timing.cpu:6.2f}s")
    save = medians["save"].wall / medians["plain"].wall
    save_cpu = medians["save"].cpu / medians["plain"].cpu
    per_big = medians["save"].wall / big
    per_small = medians["save_small"].wall / small
    linear = per_big / per_small
    print()
    save_ok, linear_ok = save <= SAVE_TARGET, linear <= LINEAR_TARGET
    print(
        f"  --save vs no flag at {big:,}: {save:.2f}x (CPU {save_cpu:.2f}x)  "
        f"{'PASS' if save_ok else 'FAIL'} (target <= {SAVE_TARGET}x)"
    )
    validation = medians["validation"].wall / medians["plain"].wall
    print(f"  (--validation vs no flag: {validation:.2f}x)")
    print(
        f"  --save per-record time at {big:,} / at {small:,}: {linear:.2f}x  "
        f"{'PASS' if linear_ok else 'FAIL'} (target <= {LINEAR_TARGET}x: linear)"
    )
    return save_ok and linear_ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (median)")
    parser.add_argument("--warmups", type=int, default=1)
    args = parser.parse_args(argv)
    if args.records < SMALL_FRACTION or args.page_size < 1 or args.repeat < 1:
        parser.error(f"--records must be at least {SMALL_FRACTION}; --page-size, --repeat > 0")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    small = args.records // SMALL_FRACTION
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cpus {os.cpu_count()}, load average {load}")
    print(
        f"{args.records:,} and {small:,} records, {args.page_size:,} per page, from local "
        f"server processes; {args.repeat} runs each (+{args.warmups} warm-up), alternating; "
        "medians\n"
    )
    try:
        with ExitStack() as stack:
            setup = stack.enter_context(bench_setup(args.records, args.page_size))
            small_url = stack.enter_context(http_server(setup.work, small, args.page_size))
            runs = contenders(setup, small_url, small)
            medians = alternate(runs, args.repeat, args.warmups)
    except BenchFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0 if report(runs, medians, small, args.records) else 1


if __name__ == "__main__":
    sys.exit(main())
