"""Keeping a script in its lane while it runs in this process.

- `guarded(on_output)`: what the script prints (Python's `print`, `sys.stdout.write`, or straight
  to file descriptor 1) never reaches our stdout, which holds results such as `dryrun --json`'s
  one JSON object: each line goes to `on_output` (the run's log), and what it returns (the line
  with its secrets redacted) to stderr. What it writes to `sys.stderr` goes there through
  `shown` (its secrets redacted too). And a script
  cannot end the process: `sys.exit()` / `exit()` raise in the script as usual and fail its run;
  `os._exit()` raises `ExitAttempt` instead of exiting.
- `run_with_time_limit(body, timeout_s)`: the script's coroutine on an event loop of its own in a
  worker thread. Past the limit its tasks are cancelled; a thread stuck in pure-Python code is
  then interrupted with an asynchronous exception. A thread blocked in C cannot be stopped from
  outside, but the caller gets its answer on time either way (the runtime's workers run scripts
  in a child process they can kill).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import posix
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = ["ExitAttempt", "ThreadOutcome", "exits_refused", "guarded", "run_with_time_limit"]

_CANCEL_GRACE_S = 2.0
_INTERRUPT_GRACE_S = 1.0


class ExitAttempt(BaseException):
    """Raised in a script that called `os._exit(code)` while guarded."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class ScriptTimeout(BaseException):
    """Injected into a script thread that ran past its time limit."""


class _LineWriter(io.TextIOBase):
    """A text stream that hands each complete line to `emit`."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        super().__init__()
        self._emit = emit
        self._pending = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._pending + str(text)).split("\n")
            self._pending = lines.pop()
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, ""
        if pending:
            self._emit(pending)


class _FdRedirect:
    """File descriptor 1 pointed at a pipe whose lines go to `emit` (for `os.write(1, ...)` and C
    code); restored on `close`."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._saved = os.dup(1)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.close(write_end)
        self._reader = threading.Thread(
            target=self._pump, args=(read_end,), name="nango-script-stdout", daemon=True
        )
        self._reader.start()

    def _pump(self, read_end: int) -> None:
        writer = _LineWriter(self._emit)
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                writer.write(chunk.decode("utf-8", errors="replace"))
        writer.flush()

    def close(self) -> None:
        os.dup2(self._saved, 1)  # closes the pipe's last write end: the reader sees EOF
        os.close(self._saved)
        self._reader.join(2.0)


def _guarded_exit(status: int) -> NoReturn:
    raise ExitAttempt(status)


@contextlib.contextmanager
def exits_refused() -> Iterator[None]:
    """`os._exit()` raises `ExitAttempt` instead of exiting. Scripts are imported under it too,
    so that a module binding the function at import (`from os import _exit`) binds this one."""
    saved = os._exit, posix._exit
    os._exit = posix._exit = _guarded_exit
    try:
        yield
    finally:
        os._exit, posix._exit = saved


class _ShownStream(io.TextIOBase):
    """`sys.stderr` for the script: text passes through `shown` on its way to the real stream
    (which keeps answering everything else: `isatty`, `fileno`, `encoding`...)."""

    def __init__(self, real: Any, shown: Callable[[str], str]) -> None:
        super().__init__()
        self._real = real
        self._shown = shown

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._real.write(self._shown(str(text)))
        return len(text)

    def flush(self) -> None:
        self._real.flush()

    def isatty(self) -> bool:
        return bool(self._real.isatty())

    def fileno(self) -> int:
        return int(self._real.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextlib.contextmanager
def guarded(
    on_output: Callable[[str], str], *, shown: Callable[[str], str] | None = None
) -> Iterator[None]:
    """See the module docstring. Nested use is harmless."""
    stderr = sys.stderr

    def emit(line: str) -> None:
        shown = on_output(line)
        with contextlib.suppress(Exception):
            stderr.write(shown + "\n")
            stderr.flush()

    saved_stdout = sys.stdout
    with contextlib.suppress(Exception):
        saved_stdout.flush()
    redirect: _FdRedirect | None = None
    with contextlib.suppress(OSError):
        redirect = _FdRedirect(emit)
    writer = _LineWriter(emit)
    sys.stdout = writer
    if shown is not None:
        sys.stderr = _ShownStream(stderr, shown)
    try:
        with exits_refused():
            yield
    finally:
        sys.stdout, sys.stderr = saved_stdout, stderr
        writer.flush()
        if redirect is not None:
            redirect.close()


@dataclass
class ThreadOutcome:
    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    duration_s: float = 0.0


def run_with_time_limit(body: Callable[[], Awaitable[Any]], *, timeout_s: float) -> ThreadOutcome:
    """Run `body()` on a fresh event loop in a worker thread, for at most `timeout_s` seconds.
    Ctrl-C cancels the script (and waits for it to wind down) and propagates."""
    box = ThreadOutcome()
    loop = asyncio.new_event_loop()
    started = time.perf_counter()

    def work() -> None:
        try:
            box.value = loop.run_until_complete(body())
        except BaseException as exc:
            box.error = exc
        finally:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=work, name="nango-script", daemon=True)
    # Objects alive before the script (modules, schemas) never become garbage: moving them out
    # of the collector's generations keeps each collection during the run cheap.
    gc.freeze()
    worker.start()
    try:
        worker.join(timeout_s)
    except KeyboardInterrupt:
        _stop(loop, worker)
        raise
    finally:
        gc.unfreeze()
    if worker.is_alive():
        _stop(loop, worker)
        box.timed_out, box.error = True, None
    box.duration_s = time.perf_counter() - started
    return box


def _stop(loop: asyncio.AbstractEventLoop, worker: threading.Thread) -> None:
    """Cancel the script's tasks; interrupt its thread if it does not wind down."""

    def cancel_all() -> None:
        for task in asyncio.all_tasks(loop):
            task.cancel()

    with contextlib.suppress(RuntimeError):  # the loop may have just closed
        loop.call_soon_threadsafe(cancel_all)
    worker.join(_CANCEL_GRACE_S)
    if worker.is_alive() and worker.ident is not None:
        import ctypes  # only a script that ignores cancellation needs it

        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(worker.ident), ctypes.py_object(ScriptTimeout)
        )
        worker.join(_INTERRUPT_GRACE_S)
