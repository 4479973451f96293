"""Commands that serve in the background (`nango runtime start --background`, `nango fixtures
serve --background`): start the same command again as a detached process, relay what it prints
before it serves, wait until it answers, keep its pid in a file; and stop it through that file.

    started = start_detached([...argv of the command...], log=..., ready_line=..., pid_file=...)
    stop_detached(pid_file, what="the runtime")

The child is told it is detached by `DETACHED_VARIABLE`: once it has printed what the parent
relays, it points its stdout at /dev/null (the parent stops reading and closes the pipe).
Everything it logs goes to the log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from runtime.errors import UserError

__all__ = [
    "DETACHED_VARIABLE",
    "Detached",
    "detach_stdout",
    "is_detached",
    "start_detached",
    "stop_detached",
    "update_env_file",
]

DETACHED_VARIABLE = "NANGO_CLI_DETACHED"
_LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class Detached:
    """A started background process: what it printed before serving, its pid."""

    pid: int
    printed: str


def is_detached() -> bool:
    """Whether this process was started by `start_detached`."""
    return os.environ.get(DETACHED_VARIABLE) == "1"


def detach_stdout() -> None:
    """In a detached child, once the parent has what it relays: stdout to /dev/null, so that
    a later write never hits the pipe the parent closed."""
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def start_detached(
    argv: list[str],
    *,
    log: Path,
    pid_file: Path,
    is_last_line: Callable[[str], bool],
    health_url: Callable[[str], str | None],
    what: str,
    timeout: float = 60.0,
) -> Detached:
    """Start `python -P -m cli <argv>` in a session of its own; read its stdout until
    `is_last_line`; wait until `health_url(printed)` answers (None: no check); write the pid
    file. A child that ends first is a `UserError` quoting the end of its log."""
    _refuse_running(pid_file, what)
    process = _spawn(argv, log)
    printed = _read_until(process, is_last_line)
    if process.poll() is not None or not printed:
        process.wait(30)
        raise UserError(f"{what} did not start:\n{_tail(log)}", hint=f"The whole log: {log}")
    url = health_url(printed)
    if url is not None:
        _wait_healthy(process, url, log, what, timeout)
    pid_file.write_text(f"{process.pid}\n", encoding="ascii")
    return Detached(process.pid, printed)


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, DETACHED_VARIABLE: "1"}
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        sink = log.open("ab")
    except OSError as exc:
        raise UserError(
            f"Cannot write the log file {log}: {exc.strerror or exc}",
            hint="Choose a writable folder (--data-dir for the runtime).",
        ) from exc
    with sink:
        return subprocess.Popen(
            # -P: the working directory (a project, which may hold any folder) is not importable
            [sys.executable, "-P", "-m", "cli", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=sink,
            env=environment,
            start_new_session=True,  # Ctrl-C in this terminal must not reach it
            text=True,
        )


def _read_until(process: subprocess.Popen[str], is_last_line: Callable[[str], bool]) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if is_last_line(line):
            break
    else:
        lines = []  # the child ended before printing everything: it failed
    process.stdout.close()
    return "".join(lines)


def _wait_healthy(
    process: subprocess.Popen[str], url: str, log: Path, what: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UserError(f"{what} stopped at start:\n{_tail(log)}", hint=f"The log: {log}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:  # it answers
                return
        time.sleep(0.1)
    process.terminate()
    raise UserError(
        f"{what} did not answer {url} within {timeout:.0f} s; it was stopped",
        hint=f"Its log: {log}",
    )


def _tail(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(nothing logged)"


def _pid_of(pid_file: Path) -> int | None:
    """The pid in the file, when that process is alive and is a `nango` (a pid file left by a
    crash or a reboot may name an unrelated process since)."""
    try:
        pid = int(pid_file.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if not _alive(pid):
        return None
    return pid if _is_nango(pid) else None


def _is_nango(pid: int) -> bool:
    """Whether the process runs `python -P -m cli` (unknowable without /proc: assumed)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc/self").exists()
    return b"cli" in command and b"-m" in command


def _refuse_running(pid_file: Path, what: str) -> None:
    pid = _pid_of(pid_file)
    if pid is not None:
        raise UserError(
            f"{what} is already running in the background (pid {pid}, {pid_file})",
            hint="Stop it first (the matching `stop` command), or use another data directory.",
        )


def stop_detached(pid_file: Path, *, what: str, stop_command: str, timeout: float = 30.0) -> int:
    """Stop the process of `pid_file` with SIGTERM (SIGKILL after `timeout`); its pid."""
    pid = _pid_of(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)  # stale: its process is gone
        raise UserError(
            f"{what} is not running in the background (no live process in {pid_file})",
            hint=f"`{stop_command}` stops what `--background` started, for the same "
            "settings (data directory or project).",
        )
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return pid


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # a child of this process: reap it
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def update_env_file(path: Path, values: dict[str, str]) -> None:
    """Set `NAME=value` lines in a .env file: a line already setting a name is replaced, the
    others are appended; every other line is kept as it was."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    pending = dict(values)
    kept: list[str] = []
    for line in lines:
        name = line.strip().removeprefix("export ").partition("=")[0].strip()
        if "=" in line and name in pending:
            kept.append(f"{name}={pending.pop(name)}")
        else:
            kept.append(line)
    kept.extend(f"{name}={value}" for name, value in pending.items())
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
