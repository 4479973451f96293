"""`nango runtime start --background` and `nango runtime stop` as a user runs them: real
processes, the banner relayed, `.env` written, the pid file, a second start refused, a stop
that ends the process, and clean errors when nothing runs or the start fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cli.background import update_env_file
from tests.helpers import outside_env

NANGO = [sys.executable, "-m", "cli"]


def nango(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    environment = outside_env()
    environment.pop("CI", None)
    return subprocess.run(
        [*NANGO, *args],
        cwd=cwd,
        env={**environment, "NO_COLOR": "1", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_background_start_env_file_and_stop(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env_file = tmp_path / ".env"
    env_file.write_text("# mine\nNANGO_HOSTPORT=http://old:1\nOTHER=1\n", encoding="utf-8")
    started = nango(
        "runtime", "start", "--background", "--port", "0", "--data-dir", str(data),
        "--env-file", str(env_file), cwd=tmp_path,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    pid = int((data / "runtime.pid").read_text())
    try:
        keys = dict(re.findall(r"NANGO_SECRET_KEY_(DEV|PROD)=([0-9a-f-]{36})", started.stdout))
        url = re.search(r"NANGO_HOSTPORT=(\S+)", started.stdout)
        assert set(keys) == {"DEV", "PROD"} and url, started.stdout
        assert f"running in the background (pid {pid})" in started.stdout
        assert env_file.read_text(encoding="utf-8") == (
            f"# mine\nNANGO_HOSTPORT={url.group(1)}\nOTHER=1\n"
            f"NANGO_SECRET_KEY_DEV={keys['DEV']}\nNANGO_SECRET_KEY_PROD={keys['PROD']}\n"
        )
        assert httpx.get(f"{url.group(1)}/health", timeout=10).json()["status"] == "ok"
        listed = httpx.get(
            f"{url.group(1)}/integrations",
            headers={"authorization": f"Bearer {keys['DEV']}"},
            timeout=10,
        )
        assert listed.status_code == 200
        again = nango("runtime", "start", "--background", "--data-dir", str(data), cwd=tmp_path)
        assert again.returncode == 1 and f"already running in the background (pid {pid}" in (
            again.stderr
        )
    finally:
        stopped = nango("runtime", "stop", "--data-dir", str(data), cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stderr
    assert f"nango runtime (pid {pid}) stopped" in stopped.stdout
    assert not _alive(pid) and not (data / "runtime.pid").exists()
    assert "Application shutdown complete" in (data / "runtime.log").read_text()


@pytest.mark.slow
def test_stop_when_nothing_runs_and_a_stale_pid_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    nothing = nango("runtime", "stop", "--data-dir", str(data), cwd=tmp_path)
    assert nothing.returncode == 1
    assert "is not running in the background" in nothing.stderr
    assert "Traceback" not in nothing.stderr
    data.mkdir()
    (data / "runtime.pid").write_text("999999999\n", encoding="ascii")
    stale = nango("runtime", "stop", "--data-dir", str(data), cwd=tmp_path)
    assert stale.returncode == 1 and "not running" in stale.stderr
    assert not (data / "runtime.pid").exists()
    with subprocess.Popen(["sleep", "60"]) as stranger:  # the pid now names another program
        (data / "runtime.pid").write_text(f"{stranger.pid}\n", encoding="ascii")
        spared = nango("runtime", "stop", "--data-dir", str(data), cwd=tmp_path)
        assert spared.returncode == 1 and "not running" in spared.stderr
        assert stranger.poll() is None
        stranger.kill()


@pytest.mark.slow
def test_a_background_start_that_fails_quotes_its_error(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = nango(
        "runtime", "start", "--background", "--port", "0", "--data-dir", str(data),
        "--database-url", "mysql://x/y", cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "did not start" in bad.stderr and "Unsupported" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert not (data / "runtime.pid").exists()
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    unwritable = nango(
        "runtime", "start", "--background", "--data-dir", str(blocker / "d"), cwd=tmp_path
    )
    assert unwritable.returncode == 1 and "Cannot write the log file" in unwritable.stderr


def test_update_env_file_replaces_appends_and_keeps(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    update_env_file(path, {"A": "1"})
    assert path.read_text() == "A=1\n"
    path.write_text("export A=0\n# note\nB = 2\n", encoding="utf-8")
    update_env_file(path, {"A": "1", "B": "3", "C": "4"})
    assert path.read_text() == "A=1\n# note\nB=3\nC=4\n"
