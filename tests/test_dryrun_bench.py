"""`bench/dryrun_bench.py` still runs end to end on a few records (no timing is asserted: speed is
measured by the benchmark itself, never in tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_dry_run_benchmark_checks_every_row_and_prints_its_ratios(tmp_path: Path) -> None:
    args = ["--records", "1500", "--page-size", "500", "--repeat", "1", "--warmups", "0"]
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "dryrun_bench.py"), *args, "--skip-memory"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    for row in ("in-process", "fast baseline", "--json > file", "> pipe", "on a terminal"):
        assert row in done.stdout
    assert "in-process vs fast baseline" in done.stdout
    assert "nango dryrun --json > file vs in-process" in done.stdout
