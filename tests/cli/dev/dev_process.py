"""A real `nango dev --json` process, read line by line: what the end-to-end tests and the bench
drive."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

Event = dict[str, Any]
TIMEOUT_S = 90.0  # the machine may be loaded: wait long, but never for ever


class DevProcess:
    """`nango dev --json` in `root`; its stdout lines as parsed events, in order."""

    def __init__(self, root: Path, *args: str, stderr: IO[str] | None = None) -> None:
        self.root = root
        self.events: list[Event] = []
        self._lines: queue.Queue[Event | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev", "--json", *args],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                self._lines.put(json.loads(line))
        self._lines.put(None)

    def next_event(self, timeout_s: float = TIMEOUT_S) -> Event:
        """The next event; fails when the process ended or nothing came in time."""
        try:
            event = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"no event in {timeout_s} s; so far: {self.events}") from None
        if event is None:
            raise AssertionError(f"nango dev ended ({self.process.poll()}); events: {self.events}")
        self.events.append(event)
        return event

    def wait_for(self, predicate: Callable[[Event], bool], timeout_s: float = TIMEOUT_S) -> Event:
        """The first next event `predicate` accepts (others are skipped, but kept in `events`)."""
        deadline = time.monotonic() + timeout_s
        while True:
            event = self.next_event(max(0.1, deadline - time.monotonic()))
            if predicate(event):
                return event

    def quiet_events(self, seconds: float) -> list[Event]:
        """The events that arrive within `seconds`."""
        found = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if event is None:
                break
            self.events.append(event)
            found.append(event)
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def __enter__(self) -> DevProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        if self.process.stdout is not None:
            self.process.stdout.close()


def touches(event: Event, name: str) -> bool:
    """True when the cycle `event` compiled or tested the script `name`."""
    return any(s["name"] == name for s in event.get("scripts", []))
