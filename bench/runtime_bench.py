"""The runtime's speed targets (issue 8), on SQLite and PostgreSQL, in one run, one table.

    python bench/runtime_bench.py [--records 100000] [--repeat 3]
                                  [--backend all|sqlite|postgresql] [--postgres-url URL]

Runs, in turn, with the same options:

  bench/sync_run_bench.py     store upserts through `batch_save` in a real sync run vs a raw
                              `executemany` upsert (>= 0.5x), and the resave of the same
                              unchanged records (faster than the first save);
  bench/records_api_bench.py  `GET /records` paging with limit=1000 vs a raw keyset SELECT of
                              the same rows (>= 0.5x, and >= 20,000 records/s on SQLite);
  bench/store_bench.py        the store alone: save vs a bare INSERT, resaves, and listing
                              pages of 10,000 vs the raw SELECT.

Each prints PASS or FAIL per row; the exit code is 1 when any target is missed or a run fails.
PostgreSQL is skipped with a message when unreachable (a database is created and dropped for
each run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import records_api_bench  # noqa: E402
import store_bench  # noqa: E402
import sync_run_bench  # noqa: E402
from store_bench import DEFAULT_POSTGRES, Row, print_table  # noqa: E402

BENCHES = {
    "sync run": sync_run_bench,
    "records API": records_api_bench,
    "store": store_bench,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (median)")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("NANGO_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a server where the bench may create and drop databases",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    common = ["--records", str(args.records), "--repeat", str(args.repeat)]
    common += ["--backend", args.backend, "--postgres-url", args.postgres_url]
    rows: list[Row] = []
    for name, module in BENCHES.items():
        started = time.perf_counter()
        print(f"{name}: {args.records:,} records, median of {args.repeat}", file=sys.stderr)
        rows += module.collect(module.parse_args(common))
        print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print_table(rows)
    return 0 if all(row.passed is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
