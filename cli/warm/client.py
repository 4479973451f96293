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
import io
import json
import os
import signal
import socket
import sys

from cli.warm import channel

TYPE_CHECKING = False  # as typing's, without importing typing (~3 ms) before the command

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, ClassVar

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

    socket: str | None = None
    key = ""
    import_path: ClassVar[list[str]] = []

    @classmethod
    def remember(cls, path: str, server: tuple[str, list[str]]) -> None:
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
        cwd = os.getcwd()
    except OSError:
        return None
    folder = channel.socket_folder(environ)
    if folder is None:
        return None
    shared = channel.shared_import_path(cwd)
    key = channel.server_key(environ, shared)
    path = os.path.join(folder, f"{key}.sock")
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
    sock: socket.socket, path: str, server: tuple[str, list[str]], argv: list[str], cwd: str
) -> int | None:
    sock.settimeout(ANSWER_TIMEOUT_S)
    try:
        sock.connect(path)
    except OSError:
        if not _failed_lately(path.removesuffix(".sock") + channel.FAILED_SUFFIX):
            _Missing.remember(path, server)
        return None
    umask = os.umask(0o022)
    os.umask(umask)
    streams = _stream_settings()
    if streams is None:
        return None
    request = {
        "argv": argv,
        "cwd": cwd,
        "env": dict(os.environ),
        "umask": umask,
        "path": list(sys.path),
        "main_package": getattr(sys.modules.get("__main__"), "__package__", None),
        "streams": streams,
        "limits": _limits(),
    }
    try:
        channel.send_message(sock, request, [0, 1, 2])
        answer, _ = channel.read_message(sock)
    except (OSError, channel.MessageError):
        return None  # it never started the command: run it here
    pid = answer.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        if answer.get("refused") == "stale":
            _Missing.remember(path, server)
        return None
    return _wait(sock, pid)


def _stream_settings() -> list[list[Any]] | None:
    """How this interpreter set up its standard streams (encoding, errors, line buffering,
    write-through), for the command's process to set them up alike; None if one was replaced."""
    settings = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if not isinstance(stream, io.TextIOWrapper):
            return None
        settings.append(
            [stream.encoding, stream.errors, stream.line_buffering, stream.write_through]
        )
    return settings


def _limits() -> dict[str, list[int]]:
    import resource

    found = {}
    for name in channel.LIMITS:
        if hasattr(resource, name):
            found[name] = list(resource.getrlimit(getattr(resource, name)))
    return found


def _failed_lately(marker: str) -> bool:
    """Whether a server of this key could not start a short while ago (no new try then)."""
    import time

    try:
        return time.time() - os.stat(marker).st_mtime < channel.FAILED_RETRY_S
    except OSError:
        return False


def _wait(sock: socket.socket, pid: int) -> int:
    """The command runs: pass on signals until its exit status comes. Ctrl-Z stops the command
    with this process, and `fg` resumes both."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(OSError):
            channel.send_message(sock, {"signal": signum})

    def suspend(_signum: int, _frame: object) -> None:
        forward(signal.SIGSTOP, None)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stopped here until SIGCONT
        signal.signal(signal.SIGTSTP, suspend)
        forward(signal.SIGCONT, None)

    sock.settimeout(None)
    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    previous[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, suspend)
    try:
        answer, _ = channel.read_message(sock)
    except (OSError, channel.MessageError):
        _end_orphan(pid)
        sys.stderr.write(
            "nango: the warm server running this command went away before it ended (was it "
            "killed?); the command was stopped. What it printed so far is above. Run it again, "
            f"or with {channel.ENABLE_VARIABLE}=0 to run it without the warm start.\n"
        )
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _write_usage(answer)
    _end_as(answer.get("signal"))
    code = answer.get("exit")
    return code if isinstance(code, int) and 0 <= code <= 255 else 1


def _end_as(signum: object) -> None:
    """A command's process that a signal ended (SIGTERM, SIGKILL...): this process ends by the
    same signal, as it would have without the server."""
    if not isinstance(signum, int) or signum not in signal.valid_signals():
        return
    with contextlib.suppress(ValueError, OSError):
        if signum != signal.SIGKILL:
            signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _end_orphan(pid: int, grace_s: float = 10.0) -> None:
    """The command's process lost its server: interrupt it (as Ctrl-C would: what it records is
    kept), and kill it if it has not ended after `grace_s`."""
    import time

    deadline = time.monotonic() + grace_s
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGINT)
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError (an OSError) once it is gone
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _write_usage(answer: Mapping[str, Any]) -> None:
    target = os.environ.get(USAGE_FILE_VARIABLE)
    usage = answer.get("usage")
    if target and isinstance(usage, dict):
        with open(target, "w", encoding="utf-8") as out:
            json.dump(usage, out)


def start_server_if_missing() -> None:
    """After a command ran here because there was no server (or an outdated one): start one,
    detached from this process, its terminal and its session."""
    path, key = _Missing.socket, _Missing.key
    _Missing.socket = None
    if path is None:
        return
    import subprocess  # only now: the command has ended

    from cli.warm.control import make_room

    with contextlib.suppress(OSError):
        make_room(os.path.dirname(path))
    environment = {
        name: value
        for name, value in os.environ.items()
        if name in _SERVER_ENVIRONMENT or name.startswith(_SERVER_PREFIXES)
    }
    flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    code = "from cli.warm.server import main; main()"
    arguments = [os.path.dirname(path), key, json.dumps(_Missing.import_path)]
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
