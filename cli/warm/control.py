"""`nango warm status` and `nango warm stop`: the user's warm servers, found by their lock files
(a lock is held by its server for as long as it lives, and names its pid)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cli.warm import channel

__all__ = ["MAX_SERVERS", "WarmServer", "make_room", "running_servers", "stop_servers"]

MAX_SERVERS = 4
"""Servers a user keeps at once (one per interpreter, import path and PYTHON* settings); a new
one stops the one that took a command least recently beyond that."""


@dataclass(frozen=True)
class WarmServer:
    pid: int
    socket: Path
    log: Path


def _held(lock: Path) -> bool:
    """Whether a live process holds `lock` (a server that ended released it)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def running_servers(environ: Mapping[str, str]) -> list[WarmServer]:
    folder = channel.socket_folder(environ, create=False)
    if folder is None:
        return []
    found = []
    for lock in sorted(Path(folder).glob("*.lock")):
        text = lock.read_text(encoding="utf-8", errors="replace").strip()
        if text.isdigit() and _held(lock):
            found.append(WarmServer(int(text), lock.with_suffix(".sock"), lock.with_suffix(".log")))
    return found


def make_room(folder: str) -> None:
    """Before another server starts in `folder`: stop the least recently used ones beyond
    `MAX_SERVERS - 1`."""
    held = [lock for lock in Path(folder).glob("*.lock") if _held(lock)]
    held.sort(key=lambda lock: lock.stat().st_mtime_ns)
    for lock in held[: max(0, len(held) - (MAX_SERVERS - 1))]:
        text = lock.read_text(encoding="utf-8", errors="replace").strip()
        if text.isdigit():
            with contextlib.suppress(OSError):
                os.kill(int(text), signal.SIGTERM)


def stop_servers(environ: Mapping[str, str], timeout_s: float = 30.0) -> list[WarmServer]:
    """SIGTERM to each running server; wait until each has ended (its commands first)."""
    servers = running_servers(environ)
    for server in servers:
        with contextlib.suppress(OSError):
            os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    locks = [server.socket.with_suffix(".lock") for server in servers]
    while any(_held(lock) for lock in locks) and time.monotonic() < deadline:
        time.sleep(0.05)
    return servers
