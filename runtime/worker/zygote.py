"""Run processes forked from a pre-loaded server, so starting a run costs a fork, not a Python
start and the runtime's imports (over a second of CPU each: at 200 syncs every 30 s that alone
would take more than a machine).

The worker starts one server per worker process (`python -P -m runtime.worker.zygote_server`)
with the scrubbed environment of a run process (no `NANGO_*` variable: they may hold secrets).
The server imports what a run needs, then forks a child per request. Its protocol, one JSON
object a line: the worker writes `{"parent_pid", "store"}` once (`store`: the database URL and
encryption key, so the server opens the store once, closes its connections, and its children
inherit it), then `{"config", "stderr"}` per run; the server answers `{"ready"}` once,
`{"pid"}` per run, and `{"exit", "code"}` whenever a child ends (the code as
`Popen.returncode` gives it: negative for a signal).

Each child: stdin and stdout on /dev/null, stderr into the given file (the worker reads its end
when the run ends without an outcome), killed when the server dies (`PR_SET_PDEATHSIG`), which
is itself killed when the worker dies. Then it runs the task as `runtime.worker.runner` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["ForkedProcess", "Zygote"]

SPAWN_TIMEOUT_S = 30.0


class ForkedProcess:
    """A run process forked by the server, with `Popen`'s `pid`, `poll`, `wait` and `kill`."""

    def __init__(self, pid: int, zygote: Zygote, stderr_path: Path) -> None:
        self.pid = pid
        self.stderr_path = stderr_path
        self._zygote = zygote

    @property
    def returncode(self) -> int | None:
        return self.poll()

    def poll(self) -> int | None:
        return self._zygote.exit_code(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            time.sleep(0.02)
        return code

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def stderr_tail(self, lines: int) -> list[str]:
        """The last lines the child wrote to stderr; the file is removed."""
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return []
        with contextlib.suppress(OSError):
            self.stderr_path.unlink()
        return [line.rstrip() for line in text.splitlines()[-lines:]]


class Zygote:
    """The worker's side of the fork server: started on first use, started again if it died
    (its children died with it: their runs end as killed)."""

    def __init__(
        self,
        command: Sequence[str],
        environment: Mapping[str, str],
        cwd: Path | None,
        store: Mapping[str, Any] | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._command = list(command)
        self._on_exit = on_exit
        self._store = dict(store or {})
        self._environment = dict(environment)
        self._cwd = cwd
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pids: queue.Queue[int | None] = queue.Queue()
        self._exits: dict[int, int] = {}
        self._mine: set[int] = set()
        self._reader: threading.Thread | None = None

    def spawn(self, config: Mapping[str, Any], stderr_path: Path) -> ForkedProcess:
        """Fork a run process for `config` (`OSError` when the server cannot start or answer)."""
        with self._lock:
            process = self._running()
            assert process.stdin is not None
            request = {"config": dict(config), "stderr": str(stderr_path)}
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
                pid = self._pids.get(timeout=SPAWN_TIMEOUT_S)
            except (OSError, ValueError, queue.Empty) as exc:
                self._stop(process)
                raise OSError(f"the run process server did not answer: {exc}") from exc
            if pid is None:
                raise OSError("the run process server stopped")
            self._mine.add(pid)
            return ForkedProcess(pid, self, stderr_path)

    def exit_code(self, pid: int) -> int | None:
        if pid in self._exits:
            return self._exits[pid]
        if pid in self._mine and (self._process is None or self._process.poll() is not None):
            return -signal.SIGKILL  # the server died, and its children with it
        return None

    def close(self) -> None:
        with self._lock:
            if self._process is not None:
                self._stop(self._process)

    def start(self) -> None:
        """Start the server now (else at the first run), so a run never waits for it."""
        with self._lock:
            self._running()

    def _running(self) -> subprocess.Popen[bytes]:
        if self._process is not None and self._process.poll() is None:
            return self._process
        process = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=self._environment,
            cwd=self._cwd,
        )
        assert process.stdin is not None and process.stdout is not None
        self._pids = queue.Queue()
        hello = {"parent_pid": os.getpid(), "store": self._store}
        process.stdin.write(json.dumps(hello).encode() + b"\n")
        process.stdin.flush()
        if not process.stdout.readline():
            process.wait(10)
            raise OSError(f"the run process server exited with code {process.returncode}")
        self._reader = threading.Thread(
            target=self._read, args=(process.stdout, self._pids), daemon=True
        )
        self._reader.start()
        self._process = process
        return process

    def _read(self, stream: IO[bytes], pids: queue.Queue[int | None]) -> None:
        with stream:
            for line in stream:
                message = json.loads(line)
                if "pid" in message:
                    pids.put(int(message["pid"]))
                elif "exit" in message:
                    self._exits[int(message["exit"])] = int(message["code"])
                    if self._on_exit is not None:
                        self._on_exit()
        pids.put(None)
        if self._on_exit is not None:
            self._on_exit()

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if self._reader is not None:
            self._reader.join(5)
