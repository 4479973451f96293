"""`nango runtime start` as a user runs it: a real process, the banner, /health, keys printed
once, a restart keeping keys and data, a second process on the same data dir refused, SIGTERM
ending it cleanly; and `nango runtime migrate`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.helpers import outside_env

NANGO = [sys.executable, "-m", "cli"]
OAUTH = {"type": "OAUTH2", "client_id": "id", "client_secret": "secret"}


def _environ(**extra: str) -> dict[str, str]:
    clean = outside_env(drop=("CI",))
    return {**clean, "NO_COLOR": "1", "COLUMNS": "200", **extra}


class Runtime:
    """A `nango runtime start` process; `banner` is what it printed before serving."""

    def __init__(self, data_dir: Path, cwd: Path) -> None:
        self.log = cwd / f"runtime-{time.monotonic_ns()}.log"
        with self.log.open("w", encoding="utf-8") as log:
            self.process = self._start(data_dir, cwd, log)
        assert self.process.stdout is not None
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            if "NANGO_HOSTPORT=" in line:
                break
        self.banner = "".join(lines)
        found = re.search(r"NANGO_HOSTPORT=(\S+)", self.banner)
        assert found, self.banner + self.log.read_text(encoding="utf-8")
        self.url = found.group(1)

    @staticmethod
    def _start(data_dir: Path, cwd: Path, log: IO[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*NANGO, "runtime", "start", "--port", "0", "--data-dir", str(data_dir)],
            cwd=cwd,
            env=_environ(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )

    def keys(self) -> dict[str, str]:
        return dict(re.findall(r"NANGO_SECRET_KEY_(DEV|PROD)=([0-9a-f-]{36})", self.banner))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.close()

    def close(self) -> int:
        code = self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


@pytest.fixture
def runtimes() -> Iterator[list[Runtime]]:
    started: list[Runtime] = []
    yield started
    for runtime in started:
        if runtime.process.poll() is None:
            runtime.process.kill()
        runtime.close()


@pytest.mark.slow
def test_start_restart_and_a_second_process(tmp_path: Path, runtimes: list[Runtime]) -> None:
    data = tmp_path / "data"
    first = Runtime(data, tmp_path)
    runtimes.append(first)
    keys = first.keys()
    assert set(keys) == {"DEV", "PROD"}
    assert first.banner.count(keys["DEV"]) == 2  # the key list and the .env line
    assert f"data dir      {data}" in first.banner
    health = httpx.get(f"{first.url}/health", timeout=10)
    assert health.json()["status"] == "ok"
    auth = {"Authorization": f"Bearer {keys['DEV']}"}
    created = httpx.post(
        f"{first.url}/integrations",
        json={"provider": "github", "unique_key": "gh", "credentials": OAUTH},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 200, created.text

    second = subprocess.run(
        [*NANGO, "runtime", "start", "--port", "0", "--data-dir", str(data)],
        cwd=tmp_path,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 1
    assert "already running" in second.stderr
    assert "Traceback" not in second.stderr

    assert first.stop() == 0
    restarted = Runtime(data, tmp_path)
    runtimes.append(restarted)
    assert keys["DEV"] not in restarted.banner
    assert "printed when the runtime first started" in restarted.banner
    listed = httpx.get(f"{restarted.url}/integrations", headers=auth, timeout=10)
    assert [i["unique_key"] for i in listed.json()["data"]] == ["gh"]
    assert restarted.stop() == 0


@pytest.mark.slow
def test_start_failures_are_one_line_and_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    for args, message in [
        (["--data-dir", str(blocker / "d")], "is not writable"),
        (["--data-dir", str(tmp_path / "d"), "--database-url", "mysql://x/y"], "Unsupported"),
    ]:
        result = subprocess.run(
            [*NANGO, "runtime", "start", "--port", "0", *args],
            cwd=tmp_path,
            env=_environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 1, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_migrate(tmp_path: Path) -> None:
    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*NANGO, "runtime", "migrate", "--data-dir", str(tmp_path / "d")],
            cwd=tmp_path,
            env=_environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    assert "migrated" in migrate().stdout
    assert "up to date" in migrate().stdout
