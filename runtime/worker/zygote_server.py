"""`python -P -m runtime.worker.zygote_server`: the run process server of a worker (see
`runtime.worker.zygote` for why and for its protocol): pre-loads what a run needs, then forks a
child per request and reports each child's end."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import select
import signal
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.store import Store


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


def _fork(request: Mapping[str, Any], wakeup: int, warm: tuple[str, Store] | None) -> None:
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

        code = run_forked(request["config"], warm)
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


def _preload(store: Mapping[str, Any]) -> tuple[str, Store] | None:
    """What every run needs, loaded once here rather than in each child: the modules, the
    provider catalog, an HTTP client's modules and TLS roots, and the store (its database
    driver imported, its dialect initialised and its statements compiled through one
    connection, closed before any fork: a child opens connections of its own)."""
    import runtime.credentials.refresh  # imported by a run's first request
    import runtime.sdk.models  # imported by every project's generated models.py
    import runtime.worker.execute  # noqa: F401
    from runtime.http.providers import get_provider

    with contextlib.suppress(Exception):  # the bundled provider catalog, parsed once
        get_provider("github")
    with contextlib.suppress(Exception):
        asyncio.run(_open_client())
    with contextlib.suppress(Exception):  # made on a process's first TLS connection otherwise
        from runtime.http.client import tls_context

        tls_context()
    if not store.get("database"):
        return None
    from runtime.store import open_store

    try:
        opened = open_store(
            str(store["database"]),
            encryption_key=store.get("encryption_key"),
            migrate=False,
            pool_size=2,
        )
    except Exception:  # each child opens the store itself, and reports why it cannot
        return None
    try:
        _compile_statements(opened)
    finally:
        opened.database.dispose()
    return str(store["database"]), opened


async def _open_client() -> None:
    """Open and close a run's HTTP client: the TLS roots are loaded (tens of ms) and what
    httpx imports on a client's first use and close (httpcore, over 100 ms) is imported."""
    from runtime.http.client import build_client, close

    await close(build_client())


class _RolledBack(Exception):
    pass


def _compile_statements(store: Store) -> None:
    """Run once the statements a run process uses (its lease checks, its log lines, its
    connection's credentials, its checkpoint), against rows that do not exist and in a
    transaction rolled back, so that SQLAlchemy's compiled forms of them are in the engine's
    cache a child inherits. (The worker plans each run and records its end on its own engine.)"""
    from runtime.store import Store

    calls: list[Callable[[Store], object]] = [
        lambda tx: tx.tasks.check_lease("", ""),
        lambda tx: tx.connections.get(0, "", ""),
        lambda tx: tx.checkpoints.get(0, ""),
        lambda tx: tx.logs.append("", [("info", "")]),  # last: it may break the transaction
    ]
    try:
        with store.database.write() as connection:
            bound = Store(store.database.bound(connection), None)
            for call in calls:
                with contextlib.suppress(Exception):
                    call(bound)
            raise _RolledBack
    except Exception:  # _RolledBack, or a database error: the children compile what is missing
        return


def main() -> int:
    """The server: read the parent pid, pre-load, answer ready, then fork per request."""
    from runtime.worker.runner import die_with_parent

    requests = _Lines(0)
    hello = json.loads(requests.first())
    die_with_parent(int(hello["parent_pid"]))
    warm = _preload(hello.get("store") or {})
    from runtime.execution.loader import mark_modules_foreign

    mark_modules_foreign()  # what the server loaded is no project's: runs never look at it

    read_end, wakeup = os.pipe()
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGCHLD, lambda _signal, _frame: None)
    gc.freeze()  # what was loaded stays shared: a child's collections neither scan nor copy it
    _answer({"ready": True})
    while not requests.is_closed:
        ready, _, _ = select.select([requests.fd, read_end], [], [], 1.0)
        if read_end in ready:
            os.read(read_end, 4096)
        _reap()
        if requests.fd in ready:
            for line in requests.read():
                _fork(json.loads(line), wakeup, warm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
