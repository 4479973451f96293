"""What the end-to-end user stories share: `nango` run as a process in a project (the way a
user types it), and `nango runtime start` in the foreground of its own "terminal", whose
printed `.env` lines are copied into the project's `.env`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import outside_env

NANGO = [sys.executable, "-m", "cli"]


def user_environment(**extra: str) -> dict[str, str]:
    """This process's environment without NANGO_* settings or CI, colors off."""
    clean = outside_env(drop=("CI",))
    return {**clean, "NO_COLOR": "1", "COLUMNS": "200", **extra}


def nango(
    *args: str, cwd: Path, input: str | None = None, expect: int | None = 0, **env: str
) -> subprocess.CompletedProcess[str]:
    """`nango <args>` as a process in `cwd` (which reads the project's `.env`)."""
    done = subprocess.run(
        [*NANGO, *args],
        cwd=cwd,
        env=user_environment(**env),
        input=input,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if expect is not None:
        assert done.returncode == expect, f"nango {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done


@dataclass
class Terminal:
    """`nango runtime start` running in the foreground; `printed` is its banner."""

    process: subprocess.Popen[str]
    printed: str
    log: Path

    @property
    def env_lines(self) -> dict[str, str]:
        """The `NAME=value` lines the banner asks to put in `.env`."""
        return dict(re.findall(r"^\s+(NANGO_[A-Z_]+)=(\S+)$", self.printed, re.MULTILINE))

    @property
    def url(self) -> str:
        return self.env_lines["NANGO_HOSTPORT"]

    @property
    def key(self) -> str:
        return self.env_lines["NANGO_SECRET_KEY_DEV"]

    def client(self) -> httpx.Client:
        """A backend's client of the `dev` environment."""
        headers = {"authorization": f"Bearer {self.key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def copy_env_into(self, project: Path) -> None:
        """What the user does with the banner: its lines into the project's `.env`."""
        env_file = project / ".env"
        lines = "".join(f"{name}={value}\n" for name, value in self.env_lines.items())
        with env_file.open("a", encoding="utf-8") as handle:
            handle.write(lines)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def runtime_terminal(data_dir: Path, **env: str) -> Iterator[Terminal]:
    """Start `nango runtime start --port 0 --data-dir <data_dir>`; Ctrl-C (SIGINT) at the end,
    and it must exit 0."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-terminal.log"
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [*NANGO, "runtime", "start", "--port", "0", "--data-dir", str(data_dir)],
            cwd=data_dir.parent,
            env=user_environment(**env),
            stdout=subprocess.PIPE,
            stderr=sink,
            text=True,
        )
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if "NANGO_HOSTPORT=" in line:
            break
    terminal = Terminal(process, "".join(lines), log)
    try:
        assert "NANGO_HOSTPORT=" in terminal.printed, terminal.printed + terminal.output()
        yield terminal
    finally:
        _interrupt(terminal)


def _interrupt(terminal: Terminal) -> None:
    process = terminal.process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    if process.stdout is not None:
        process.stdout.close()


def records(client: httpx.Client, model: str, **query: Any) -> dict[str, Any]:
    """`GET /records` as a backend calls it (connection `acme` of `github`)."""
    headers = {"Connection-Id": "acme", "Provider-Config-Key": "github"}
    answer = client.get("/records", params={"model": model, **query}, headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found
