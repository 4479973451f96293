"""The `nango` side of the warm start: hand the command to a warm server, or say to run it here.

`run` connects to the server of this interpreter (`channel.server_key`), sends the command line,
working directory, environment and umask with the process's standard input, output and error, and
waits for the exit status, passing on the signals it is sent (Ctrl-C reaches the command as it
would without the server). When there is no server (or it is out of date, or refuses), the
command runs in this process as always, and `start_server_if_missing` starts one, detached,
after the command has ended, for the next command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from cli.warm import channel

__all__ = ["COMMANDS", "USAGE_FILE_VARIABLE", "run", "start_server_if_missing"]

COMMANDS = frozenset({"dryrun"})
"""The commands that go through a warm server (short, run over and over, no terminal dialogue)."""
USAGE_FILE_VARIABLE = "NANGO_WARM_USAGE_FILE"
"""When set, the CPU time and peak memory of the command's process (which is not a child of the
`nango` process that asked for it) are written there as JSON: for measurements."""
ANSWER_TIMEOUT_S = 5.0
"""How long to wait for a server to take the command before running it here."""
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_SERVER_ENVIRONMENT = (
    "LANG",
    "LANGUAGE",
    "PATH",
    "HOME",
    "TMPDIR",
    "VIRTUAL_ENV",
    channel.IDLE_VARIABLE,
)
_SERVER_PREFIXES = ("PYTHON", "LC_", "COVERAGE_")
_MAX_SOCKET_PATH = 100
DISABLED = False
"""Set in a command's process forked by a server: it asks no server."""


class _Missing:
    """Where a server should be started once the command has run here (None: nowhere)."""

    socket: Path | None = None
    key = ""
    import_path: ClassVar[list[str]] = []

    @classmethod
    def remember(cls, path: Path, server: tuple[str, list[str]]) -> None:
        # the import path as it is before the command (which may add to it)
        cls.socket, (cls.key, cls.import_path) = path, server


def run(argv: list[str]) -> int | None:
    """Run `nango argv[1:]` in a warm server: its exit status. None: run it in this process."""
    if DISABLED or len(argv) < 2 or argv[1] not in COMMANDS:
        return None
    environ = os.environ
    if not channel.enabled(environ) or not _standard_streams_open():
        return None
    try:
        cwd = os.getcwd()  # noqa: PTH109 - a string is what the server needs
    except OSError:
        return None
    folder = channel.socket_folder(environ)
    if folder is None:
        return None
    shared = channel.shared_import_path(cwd)
    key = channel.server_key(environ, shared)
    path = folder / f"{key}.sock"
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        return _ask(sock, path, (key, shared), argv, cwd)
    finally:
        sock.close()


def _standard_streams_open() -> bool:
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def _ask(
    sock: socket.socket, path: Path, server: tuple[str, list[str]], argv: list[str], cwd: str
) -> int | None:
    sock.settimeout(ANSWER_TIMEOUT_S)
    try:
        sock.connect(os.fspath(path))
    except OSError:
        if not _failed_lately(path.with_suffix(channel.FAILED_SUFFIX)):
            _Missing.remember(path, server)
        return None
    umask = os.umask(0o022)
    os.umask(umask)
    request = {
        "argv": argv,
        "cwd": cwd,
        "env": dict(os.environ),
        "umask": umask,
        "path": list(sys.path),
    }
    try:
        channel.send_message(sock, request, [0, 1, 2])
        answer, _ = channel.read_message(sock)
    except (OSError, channel.MessageError):
        return None  # it never started the command: run it here
    if "pid" not in answer:
        if answer.get("refused") == "stale":
            _Missing.remember(path, server)
        return None
    return _wait(sock)


def _failed_lately(marker: Path) -> bool:
    """Whether a server of this key could not start a short while ago (no new try then)."""
    import time

    try:
        return time.time() - marker.stat().st_mtime < channel.FAILED_RETRY_S
    except OSError:
        return False


def _wait(sock: socket.socket) -> int:
    """The command runs: pass on signals until its exit status comes."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            channel.send_message(sock, {"signal": signum})

    sock.settimeout(None)
    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        answer, _ = channel.read_message(sock)
    except (OSError, channel.MessageError):
        sys.stderr.write(
            "nango: the warm process running this command ended without its exit status "
            "(was it killed?). What the command printed so far is above. Run it again, or "
            f"with {channel.ENABLE_VARIABLE}=0 to run it without the warm start.\n"
        )
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _write_usage(answer)
    code = answer.get("exit")
    return code if isinstance(code, int) and 0 <= code <= 255 else 1


def _write_usage(answer: Mapping[str, Any]) -> None:
    target = os.environ.get(USAGE_FILE_VARIABLE)
    usage = answer.get("usage")
    if target and isinstance(usage, dict):
        Path(target).write_text(json.dumps(usage), encoding="utf-8")


def start_server_if_missing() -> None:
    """After a command ran here because there was no server (or an outdated one): start one,
    detached from this process, its terminal and its session."""
    path, key = _Missing.socket, _Missing.key
    _Missing.socket = None
    if path is None:
        return
    import subprocess  # only now: the command has ended

    environment = {
        name: value
        for name, value in os.environ.items()
        if name in _SERVER_ENVIRONMENT or name.startswith(_SERVER_PREFIXES)
    }
    flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    code = "from cli.warm.server import main; main()"
    arguments = [str(path.parent), key, json.dumps(_Missing.import_path)]
    with contextlib.suppress(OSError):  # the next command tries again
        subprocess.Popen(
            [sys.executable, *flags, "-c", code, *arguments],
            cwd="/",
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
