"""`nango runtime start` as an operator runs it: `--log-format json` (or `NANGO_LOG_FORMAT`)
writes only JSON lines on stderr, with no secret; `/metrics` on the API port and on
`--metrics-port` (a worker's only listener), behind `NANGO_METRICS_KEY` when set."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import outside_env

NANGO = [sys.executable, "-m", "cli"]
METRICS_KEY = "scrape-key-0123456789abcdef"


def _environ(**extra: str) -> dict[str, str]:
    clean = outside_env(drop=("CI",))
    return {**clean, "NO_COLOR": "1", "COLUMNS": "200", **extra}


class Started:
    def __init__(self, process: subprocess.Popen[str], stderr: Path, last: str) -> None:
        self.process = process
        self.stderr = stderr
        assert process.stdout is not None
        banner = []
        for line in process.stdout:
            banner.append(line)
            if last in line:
                break
        self.banner = "".join(banner)

    def found(self, pattern: str) -> str:
        match = re.search(pattern, self.banner)
        assert match, self.banner + self.stderr.read_text(encoding="utf-8")
        return match.group(1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        assert self.process.stdout is not None
        self.banner += self.process.stdout.read()
        self.process.stdout.close()
        return code


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    started: list[Started] = []

    def run(*args: str, **environ: str) -> Started:
        stderr = tmp_path / f"stderr-{len(started)}.log"
        with stderr.open("w", encoding="utf-8") as sink:
            process = subprocess.Popen(
                [*NANGO, "runtime", "start", "--port", "0", "--metrics-port", "0", *args],
                cwd=tmp_path,
                env=_environ(**environ),
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
            )
        last = "NANGO_SECRET_KEY_PROD=" if "worker" in args else "NANGO_HOSTPORT="
        started.append(Started(process, stderr, last))
        return started[-1]

    yield run
    for runtime in started:
        if runtime.process.poll() is None:
            runtime.process.kill()
            runtime.process.wait(10)


def wait_for(url: str, **options: object) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(url, timeout=5, **options)  # type: ignore[arg-type]
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} did not answer"
            time.sleep(0.1)


def json_lines(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    found = []
    for line in text.splitlines():
        entry = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= set(entry), line
        found.append(entry)
    return found


@pytest.mark.slow
def test_json_logs_and_metrics_of_a_whole_runtime(tmp_path: Path, start: object) -> None:
    runtime = start("--data-dir", str(tmp_path / "data"), "--log-format", "json")  # type: ignore[operator]
    url = runtime.found(r"NANGO_HOSTPORT=(\S+)")
    metrics_url = runtime.found(r"metrics\s+(http://\S+/metrics)")
    keys = re.findall(r"NANGO_SECRET_KEY_(?:DEV|PROD)=([0-9a-f-]{36})", runtime.banner)
    assert len(keys) == 2
    api = wait_for(f"{url}/metrics")
    assert api.status_code == 200 and "nango_queue_depth" in api.text
    listener = wait_for(metrics_url)
    assert listener.status_code == 200 and "nango_runs_total" in listener.text
    assert runtime.stop() == 0
    entries = json_lines(runtime.stderr)
    loggers = {entry["logger"] for entry in entries}
    assert "nango.runtime.worker" in loggers and "uvicorn.error" in loggers, loggers
    text = runtime.stderr.read_text(encoding="utf-8")
    encryption_key = (tmp_path / "data" / "encryption.key").read_text().strip()
    for secret in [*keys, encryption_key]:
        assert secret not in text


@pytest.mark.slow
def test_a_worker_with_its_metrics_behind_a_key(tmp_path: Path, start: object) -> None:
    runtime = start(  # type: ignore[operator]
        "--data-dir",
        str(tmp_path / "data"),
        "--role",
        "worker",
        NANGO_LOG_FORMAT="json",
        NANGO_METRICS_KEY=METRICS_KEY,
    )
    metrics_url = runtime.found(r"metrics\s+(http://\S+/metrics)")
    assert wait_for(metrics_url).status_code == 401
    auth = {"Authorization": f"Bearer {METRICS_KEY}"}
    answer = wait_for(metrics_url, headers=auth)
    assert answer.status_code == 200 and "nango_database_up 1.0" in answer.text
    assert runtime.stop() == 0
    entries = json_lines(runtime.stderr)
    assert any("worker" in str(entry["message"]) for entry in entries), entries
    assert METRICS_KEY not in runtime.stderr.read_text(encoding="utf-8")
