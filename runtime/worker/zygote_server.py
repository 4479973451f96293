"""`python -P -m runtime.worker.zygote_server`: the run process server of a worker (see
`runtime.worker.zygote` for why and for its protocol): pre-loads what a run needs, then forks a
child per request and reports each child's end."""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from collections.abc import Mapping
from typing import Any


def _answer(message: Mapping[str, Any]) -> None:
    os.write(1, json.dumps(message).encode() + b"\n")


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _answer({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _fork(request: Mapping[str, Any], wakeup: int) -> None:
    pid = os.fork()
    if pid:
        _answer({"pid": pid})
        return
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.close(wakeup)
        _redirect(str(request["stderr"]))
        from runtime.worker.runner import run_forked

        code = run_forked(request["config"])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def _redirect(stderr_path: str) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    errors = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(errors, 2)
    os.close(null)
    os.close(errors)


class _Lines:
    """Lines from a file descriptor, read without a buffer that `select` cannot see."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = b""
        self.is_closed = False

    def read(self) -> list[bytes]:
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.is_closed = True
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        return [line for line in lines if line.strip()]

    def first(self) -> bytes:
        while not (lines := self.read()):
            if self.is_closed:
                raise SystemExit(0)
        return lines[0]


def _preload() -> None:
    """What every run needs, loaded once here rather than in each child."""
    import contextlib

    import runtime.credentials.refresh  # imported by a run's first request
    import runtime.worker.execute  # noqa: F401
    from runtime.http.providers import get_provider

    with contextlib.suppress(Exception):  # the bundled provider catalog, parsed once
        get_provider("github")


def main() -> int:
    """The server: read the parent pid, pre-load, answer ready, then fork per request."""
    from runtime.worker.runner import die_with_parent

    requests = _Lines(0)
    die_with_parent(int(json.loads(requests.first())["parent_pid"]))
    _preload()

    read_end, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGCHLD, lambda _signal, _frame: None)
    _answer({"ready": True})
    while not requests.is_closed:
        ready, _, _ = select.select([requests.fd, read_end], [], [], 1.0)
        if read_end in ready:
            os.read(read_end, 4096)
        _reap()
        if requests.fd in ready:
            for line in requests.read():
                _fork(json.loads(line), wakeup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
