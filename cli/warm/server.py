"""The warm server: a process that has imported what `nango dryrun` needs and forks a process
per command sent by `cli.warm.client`.

The forked process takes the caller's standard input, output and error (passed over the socket),
its working directory, umask, environment and command line, and runs `cli.app.main` as a fresh
`nango` process would; the server sends the caller its exit status. Nothing of one command
outlives it: the project's modules are imported in the forked process only, and nothing the
server imports reads the environment or the terminal when imported (consoles, TLS settings, the
provider catalog are made on first use, in the command's process).

The server serves one user (the socket's folder is private, and the peer's uid is checked), one
interpreter and one copy of nango (`channel.server_key`). It stops taking commands when a file
of a module it imported changed, or when something was installed into a folder of its import
path (the command then runs in the caller and a new server is started), when it has had no
command for `NANGO_WARM_IDLE` seconds, and on SIGTERM; it exits once its running commands end.
Its log (`<key>.log` beside the socket) holds its starts, stops and failures, never a command
line or an environment.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import fcntl
import gc
import importlib
import io
import json
import os
import resource
import selectors
import signal
import socket
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from cli.warm import channel, client

__all__ = ["PRELOAD", "main"]

PRELOAD = (
    "cli.app",
    "cli.boundary",
    "cli.fast_path",
    "cli.guard",
    "cli.dryrun.command",
    "cli.dryrun.run",
    "cli.dryrun.report",
    "cli.terminal.console",
    "cli.terminal.dryrun_report",
    "runtime.sdk.models",
    "anyio._backends._asyncio",
    "anyio.streams.tls",
    "anyio.to_thread",
    "importlib.resources.readers",
    "queue",
    "rich.console",
    "rich.table",
    "rich.text",
)
"""What a dry run imports (with all it imports in turn)."""
DEFAULT_IDLE_S = 900.0
MAX_LOG_BYTES = 256 * 1024
_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGSTOP, signal.SIGCONT})
_REQUEST_TIMEOUT_S = 2.0


def main() -> None:
    """`python -c '...main()' FOLDER KEY SYS_PATH_JSON` (see `client.start_server_if_missing`)."""
    folder, key, path = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    sys.path[:] = path
    os.chdir("/")
    log = _open_log(folder / f"{key}.log")
    lock = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server has the key
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())  # who holds it: `nango`'s tests and benchmarks
    started = time.perf_counter()
    try:
        _preload()
    except BaseException:
        failure = traceback.format_exc()
        _write_private(folder / f"{key}{channel.FAILED_SUFFIX}", failure)
        _log(log, f"could not import what a dry run needs; no warm start:\n{failure}")
        sys.exit(1)
    (folder / f"{key}{channel.FAILED_SUFFIX}").unlink(missing_ok=True)  # an earlier failure
    server = _Server(folder / f"{key}.sock", lock, log)
    _log(log, f"started (pid {os.getpid()}, imports {time.perf_counter() - started:.2f} s)")
    server.serve()


def _open_log(path: Path) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    with contextlib.suppress(OSError):
        if path.stat().st_size > MAX_LOG_BYTES:
            flags |= os.O_TRUNC
    return os.open(path, flags, 0o600)


def _log(log: int, text: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(OSError):
        os.write(log, f"{stamp} [{os.getpid()}] {text}\n".encode(errors="replace"))


def _write_private(path: Path, text: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)


def _preload() -> None:
    from cli import process

    process.at_start()  # as a command does: no collector passes while importing
    for name in PRELOAD:
        importlib.import_module(name)
    from runtime.http.client import tls_context
    from runtime.http.providers import load_catalog

    load_catalog()  # the bundled catalog, read once (a file named by the caller's environment
    tls_context()  # or other TLS settings there are read in the command's process, as before)
    gc.freeze()  # what every command shares stays out of the collector's (and fork's) way
    gc.enable()


def _watched_files() -> list[str]:
    """Each imported module's file, and each folder of installed packages on the import path."""
    files = {
        name
        for module in list(sys.modules.values())
        if isinstance(name := getattr(module, "__file__", None), str)
    }
    files.update(
        entry
        for entry in sys.path
        if Path(entry).name in ("site-packages", "dist-packages") and Path(entry).is_dir()
    )
    return sorted(files)


def _fingerprint(files: list[str]) -> list[tuple[int, int]]:
    """The time and size of each of `files`: another after an upgrade, an installation (which
    changes its folder) or an edit."""
    stamps = []
    for name in files:
        try:
            info = Path(name).stat()
        except OSError:
            stamps.append((-1, -1))
        else:
            stamps.append((info.st_mtime_ns, info.st_size))
    return stamps


class _Server:
    def __init__(self, path: Path, lock: int, log: int) -> None:
        self.path = path
        self.lock = lock
        self.log = log
        self.idle_s = _idle_seconds()
        self.watched = _watched_files()
        self.fingerprint = _fingerprint(self.watched)
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, socket.socket | None] = {}
        self.connections: dict[socket.socket, int] = {}
        self.accepting = True
        self.served = 0
        self.last_activity = time.monotonic()
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)
        self.listener = self._listen()

    def _listen(self) -> socket.socket:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        staging = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp")
        staging.unlink(missing_ok=True)
        listener.bind(os.fspath(staging))
        staging.chmod(0o600)
        listener.listen(64)
        staging.replace(self.path)  # we hold the lock: any socket there is a dead server's
        self.socket_inode = self.path.stat().st_ino
        listener.setblocking(False)
        return listener

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_write, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        signal.signal(signal.SIGTERM, lambda _signum, _frame: self.stop("SIGTERM"))
        signal.signal(signal.SIGINT, lambda _signum, _frame: self.stop("SIGINT"))
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_read, selectors.EVENT_READ, "wake")
        while self.accepting or self.children:
            for selected, _events in self.selector.select(timeout=self._timeout()):
                if selected.data == "accept":
                    self._accept()
                elif selected.data == "wake":
                    with contextlib.suppress(OSError):
                        os.read(self.wake_read, 4096)
                else:
                    self._from_client(selected.fileobj)  # type: ignore[arg-type]
            self._reap()
            idle = time.monotonic() - self.last_activity > self.idle_s
            if idle and self.accepting and not self.children:
                self.stop(f"no command for {self.idle_s:g} s")
        _log(self.log, f"exits after {self.served} command(s)")

    def _timeout(self) -> float:
        if not self.accepting or self.children:
            return 1.0
        return max(0.05, min(60.0, self.last_activity + self.idle_s - time.monotonic() + 0.05))

    def stop(self, why: str) -> None:
        """Take no more commands; those running end as they would."""
        if not self.accepting:
            return
        self.accepting = False
        _log(self.log, f"stops taking commands: {why}")
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(self.listener)
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self.socket_inode:  # still ours
                self.path.unlink()
        self.listener.close()

    def _accept(self) -> None:
        try:
            conn, _address = self.listener.accept()
        except OSError:
            return
        self.last_activity = time.monotonic()
        with contextlib.suppress(OSError):
            os.utime(self.lock)  # when it last took a command: the least used one goes first
        conn.setblocking(True)
        conn.settimeout(_REQUEST_TIMEOUT_S)
        try:
            request, fds = self._request(conn)
        except (OSError, channel.MessageError, ValueError) as exc:
            with contextlib.suppress(OSError):
                channel.send_message(conn, {"refused": f"bad request: {exc}"})
            conn.close()
            return
        if _fingerprint(self.watched) != self.fingerprint:
            with contextlib.suppress(OSError):
                channel.send_message(conn, {"refused": "stale"})
            _close_all(fds)
            conn.close()
            self.stop("a module file or an import path folder changed")
            return
        self._start(conn, request, fds)

    def _request(self, conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
        if hasattr(socket, "SO_PEERCRED"):
            credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            _pid, uid, _gid = struct.unpack("3i", credentials)
            if uid != os.getuid():
                raise ValueError("the peer is another user")
        request, fds = channel.read_message(conn, max_fds=3)
        try:
            _check_request(request, fds)
        except ValueError:
            _close_all(fds)
            raise
        return request, fds

    def _start(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        """Fork the command's process; it starts the command only once the caller knows it runs
        (`{"pid": N}` sent), so that a command runs exactly once: a server gone before that
        leaves it unstarted (the caller runs it itself), one gone after leaves the caller to end
        it."""
        go_read, go_write = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            _log(self.log, f"could not fork: {exc}")
            with contextlib.suppress(OSError):
                channel.send_message(conn, {"refused": f"fork failed: {exc}"})
            _close_all([*fds, go_read, go_write])
            conn.close()
            return
        if pid == 0:
            os.close(go_write)
            self._become_command(conn, request, fds, go_read)
        _close_all([*fds, go_read])
        self.served += 1
        self.children[pid] = conn
        self.connections[conn] = pid
        try:
            channel.send_message(conn, {"pid": pid})
        except OSError:
            os.close(go_write)  # the caller is gone: the command does not start
            self._client_gone(conn)
            return
        with contextlib.suppress(OSError):
            os.write(go_write, b"1")
        os.close(go_write)
        self.selector.register(conn, selectors.EVENT_READ, "client")

    def _from_client(self, conn: socket.socket) -> None:
        """A signal to pass on, or the caller gone (its command is then ended)."""
        try:
            message, _ = channel.read_message(conn)
        except (OSError, channel.MessageError):
            self._client_gone(conn)
            return
        signum = message.get("signal")
        pid = self.connections.get(conn)
        if pid is not None and signum in _SIGNALS:
            with contextlib.suppress(OSError):
                os.kill(pid, signum)

    def _client_gone(self, conn: socket.socket) -> None:
        pid = self.connections.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn)
        conn.close()
        if pid is not None and pid in self.children:
            self.children[pid] = None  # nobody waits for its exit status any more
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
            _log(self.log, f"the caller of command process {pid} went away; it was ended")

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.children.pop(pid, None)
            self.last_activity = time.monotonic()
            if conn is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            answer: dict[str, Any] = {
                "exit": code if code >= 0 else 128 - code,
                "signal": -code if code < 0 else None,  # what ended it, if a signal did
                "usage": {
                    "user_s": usage.ru_utime,
                    "system_s": usage.ru_stime,
                    "max_rss_kb": usage.ru_maxrss,
                },
            }
            with contextlib.suppress(OSError):
                channel.send_message(conn, answer)
            self.connections.pop(conn, None)
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn)
            conn.close()

    def _become_command(
        self, conn: socket.socket, request: dict[str, Any], fds: list[int], go: int
    ) -> None:
        """In the forked process: become the caller's `nango` process and, once the server says
        go (it has told the caller this process exists), run its command."""
        try:
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self.selector.close()
            for held in [self.listener, conn, *self.connections]:
                held.close()
            for fd in (self.wake_read, self.wake_write, self.lock, self.log):
                os.close(fd)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                if fd != target:
                    os.close(fd)
            os.chdir(request["cwd"])
            os.umask(request["umask"])
            os.environ.clear()
            os.environ.update(request["env"])
            time.tzset()  # the caller's TZ
            sys.argv[:] = request["argv"]
            sys.path[:] = request["path"]
            sys.modules["__main__"].__package__ = request["main_package"]  # `python -m cli`'s usage
            _take_limits(request["limits"])
            _reopen_standard_streams(request["streams"])
            started = os.read(go, 1) == b"1"  # b"": the server is gone, or the caller
            os.close(go)
            if not started:
                os._exit(1)
        except KeyboardInterrupt:  # the caller ended it before it started
            os._exit(130)
        except BaseException as exc:  # whatever it is, the command cannot run
            with contextlib.suppress(OSError):
                os.write(2, f"nango: the warm start could not run the command: {exc}\n".encode())
            os._exit(1)
        os._exit(_run_command())


def _check_request(request: dict[str, Any], fds: list[int]) -> None:
    argv, env = request.get("argv"), request.get("env")
    if len(fds) != 3:
        raise ValueError("standard input, output and error must come with the request")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError("argv must be a list of strings")
    if not isinstance(request.get("cwd"), str) or not isinstance(request.get("umask"), int):
        raise ValueError("cwd must be a string and umask an integer")
    path = request.get("path")
    if not isinstance(path, list) or not all(isinstance(entry, str) for entry in path):
        raise ValueError("path must be a list of strings")
    if not isinstance(request.get("main_package"), str | None):
        raise ValueError("main_package must be a string or null")
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        raise ValueError("env must map strings to strings")
    _check_streams(request.get("streams"))
    limits = request.get("limits")
    if not isinstance(limits, dict) or not all(
        name in channel.LIMITS
        and hasattr(resource, name)
        and isinstance(value, list)
        and len(value) == 2
        and all(isinstance(n, int) for n in value)
        for name, value in limits.items()
    ):
        raise ValueError("limits must map resource limit names to [soft, hard]")


def _check_streams(streams: object) -> None:
    if not isinstance(streams, list) or len(streams) != 3:
        raise ValueError("streams must give the settings of the three standard streams")
    for setting in streams:
        if not (
            isinstance(setting, list)
            and len(setting) == 4
            and all(isinstance(text, str) for text in setting[:2])
            and all(isinstance(flag, bool) for flag in setting[2:])
        ):
            raise ValueError("a stream's settings are [encoding, errors, line_buffering, ...]")
        try:
            codecs.lookup(setting[0])
            codecs.lookup_error(setting[1])
        except LookupError as exc:
            raise ValueError(f"unknown encoding or error handler: {exc}") from exc


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get(channel.IDLE_VARIABLE, DEFAULT_IDLE_S)))
    except ValueError:
        return DEFAULT_IDLE_S


def _reopen_standard_streams(settings: list[list[Any]]) -> None:
    """The standard streams on the caller's descriptors, set up as the caller's were."""
    streams = []
    for fd, (encoding, errors, line_buffering, write_through) in enumerate(settings):
        binary = (
            io.BufferedReader(io.FileIO(fd, "r", closefd=False))
            if fd == 0
            else io.BufferedWriter(io.FileIO(fd, "w", closefd=False))
        )
        stream = io.TextIOWrapper(
            binary,
            encoding=encoding,
            errors=errors,
            line_buffering=line_buffering,
            write_through=write_through,
        )
        streams.append(stream)
    sys.stdin, sys.stdout, sys.stderr = streams  # (sys.__stdout__ and co. write to the same fds)


def _take_limits(limits: dict[str, list[int]]) -> None:
    """The caller's resource limits (as far as this process may: never above its own)."""
    for name, (soft, hard) in limits.items():
        which = getattr(resource, name)
        own_hard = resource.getrlimit(which)[1]
        with contextlib.suppress(ValueError, OSError):
            if own_hard != resource.RLIM_INFINITY and (
                hard == resource.RLIM_INFINITY or hard > own_hard
            ):
                hard = own_hard
            if hard != resource.RLIM_INFINITY and (soft == resource.RLIM_INFINITY or soft > hard):
                soft = hard
            resource.setrlimit(which, (soft, hard))


def _run_command() -> int:
    """`nango`'s entry point in this process, ended as the interpreter ends a process."""
    client.DISABLED = True  # this process is the command: it asks no server
    code = 0
    try:
        from cli.app import main as nango

        nango()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:  # as an uncaught exception ends Python
        traceback.print_exc()
        code = 1
    with contextlib.suppress(BaseException):
        import threading

        threading._shutdown()  # type: ignore[attr-defined]
    with contextlib.suppress(BaseException):
        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    return code


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(BaseException):
        print(value, file=sys.stderr)
    return 1
