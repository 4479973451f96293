"""Ctrl-C during `nango dryrun --save`, on real processes and real SIGINTs, again and again: the
command exits 130, the fixture file is always whole JSON holding what was recorded, and no
temporary file is left beside it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, outside_env, write_tree

ROUNDS = 6
YAML = """\
integrations:
  demo:
    syncs:
      endless:
        runs: every hour
        output: Row
        endpoint: GET /rows
models:
  Row:
    id: string
    pad: string
"""
ENDLESS = """\
from models import NangoSync


async def fetch_data(nango: NangoSync) -> None:
    start = 0
    while True:
        rows = [{"id": str(start + i), "pad": "x" * 200} for i in range(500)]
        await nango.batch_save(rows, "Row")
        start += 500
"""


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None, "the dry run ended before recording anything"
        assert time.monotonic() < deadline, f"{path} was never written"
        time.sleep(0.02)


@pytest.mark.slow
def test_ctrl_c_during_save_leaves_a_whole_fixture_and_no_temporary_file(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "project",
        {
            "nango.yaml": YAML,
            "demo/syncs/endless.py": ENDLESS,
            ".env": "NANGO_LOCAL_DEMO_ACCESS_TOKEN=tok-endless-1\n"
            "NANGO_LOCAL_DEMO_PROVIDER=github\n",
        },
    )
    environment = outside_env()
    environment["PYTHONPATH"] = str(REPO_ROOT)
    tests = root / "demo" / "tests"
    fixture = tests / "endless.test.json"
    for round_number in range(ROUNDS):
        fixture.unlink(missing_ok=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dryrun", "endless", "c1", "--save", "--json"],
            cwd=root,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(fixture, process)
            time.sleep(0.15 * round_number)  # early and late in the recording
            process.send_signal(signal.SIGINT)
            twice = round_number % 2 == 1
            if twice:  # an impatient user presses it again while the file is written
                time.sleep(0.05)
                process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        expected = (130, -signal.SIGINT) if twice else (130,)
        assert process.returncode in expected, stderr.decode()
        # under CI, coverage's own exit handler (measuring this process) can be cut by the
        # second Ctrl-C and print its traceback: that one is not ours, any other is
        tracebacks = stderr.decode().split("Traceback (most recent call last):")[1:]
        ours = [t for t in tracebacks if "coverage/control.py" not in t.split("\n", 2)[1]]
        assert ours == [], stderr.decode()
        assert sorted(p.name for p in tests.iterdir()) == ["endless.test.json"], round_number
        rows = json.loads(fixture.read_text(encoding="utf-8"))["nango"]["batchSave"]["Row"]
        assert [row["id"] for row in rows] == [str(i) for i in range(len(rows))]
