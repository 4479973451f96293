"""Simulated hosts: a network namespace per process, joined to this machine by a veth pair.

A host `N` is the namespace `nango-<pid>-<i>` with its end of the pair at 10.231.N.2/30 (`lo` up
too) and this machine's end at 10.231.N.1/30, which is also its default route. Processes start in
it with `ip netns exec`: a named namespace needs no process to hold it open, is deleted by name,
and `ip netns exec` execs the command in place, so the pid a test knows (the owner of a worker's
claims) is the runtime's own. PostgreSQL listens on 127.0.0.1 only, so each host reaches it
through a `TcpProxy` on 10.231.N.1:5432; servers a host calls back (webhook receivers, fake
provider APIs) listen on 0.0.0.0 and are reached at `host_address`.

`disconnect()` sets this machine's end of the pair down: the host's packets go nowhere (its TCP
connections stall and retransmit, as over a broken network), until `reconnect()`.

Slots `N` are taken under a file lock by whichever address 10.231.N.1 no interface holds yet, so
test runs in parallel (pytest-xdist, or other checkouts) never share one; names carry the pid."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.runtime.scale.proxy import TcpProxy

__all__ = [
    "Host",
    "HostError",
    "namespaces_available",
    "namespaces_required",
    "new_host",
    "why_no_namespaces",
]

PREFIX = "10.231"
POSTGRES = ("127.0.0.1", 5432)
_LOCK = Path(tempfile.gettempdir()) / "nango-test-hosts.lock"
_made = 0


class HostError(RuntimeError):
    """A namespace, link or address could not be made (stderr of the failing `ip` command)."""


@dataclass
class Host:
    """A network namespace and its link (see the module docstring)."""

    name: str
    slot: int
    outer_link: str
    inner_link: str
    proxy: TcpProxy | None = None

    @property
    def host_address(self) -> str:
        """This machine's address on the link (what the host reaches us at)."""
        return f"{PREFIX}.{self.slot}.1"

    @property
    def address(self) -> str:
        """The host's own address (what we reach it at)."""
        return f"{PREFIX}.{self.slot}.2"

    def command(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def database_url(self, database_url: str) -> str:
        """`database_url` as the host reaches it: through its proxy to PostgreSQL."""
        assert self.proxy is not None
        return self.proxy.url(database_url)

    def disconnect(self) -> None:
        _ip("link", "set", self.outer_link, "down")

    def reconnect(self) -> None:
        _ip("link", "set", self.outer_link, "up")

    def delete(self) -> None:
        """Remove the proxy, the link and the namespace (what is already gone is ignored)."""
        if self.proxy is not None:
            self.proxy.cut()
        subprocess.run(["ip", "link", "del", self.outer_link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HostError(f"ip {' '.join(argv)}: {done.stderr.strip()}")


def _slots_in_use() -> set[int]:
    listed = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    used = set()
    for word in listed.split():
        if word.startswith(f"{PREFIX}."):
            used.add(int(word.split(".")[2]))
    return used


@contextlib.contextmanager
def _slot_lock() -> Iterator[None]:
    with _LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def new_host(*, with_database: bool = True) -> Host:
    """A new host (`HostError` when it cannot be made; nothing is left behind then)."""
    global _made
    _made += 1
    pid = os.getpid()
    # Interface names are 15 characters at most: "nh" + a pid (7 digits at most) + "x" + count.
    host = Host(f"nango-{pid}-{_made}", 0, f"nh{pid}x{_made}", f"nn{pid}x{_made}")
    host.delete()  # a namespace of a dead run whose pid was ours
    try:
        with _slot_lock():
            free = sorted(set(range(1, 255)) - _slots_in_use())
            if not free:
                raise HostError(f"no free {PREFIX}.N.0/30 network left for a host")
            host.slot = free[0]
            _ip("netns", "add", host.name)
            _ip("link", "add", host.outer_link, "type", "veth", "peer", "name", host.inner_link)
            _ip("addr", "add", f"{host.host_address}/30", "dev", host.outer_link)
        _ip("link", "set", host.inner_link, "netns", host.name)
        _ip("link", "set", host.outer_link, "up")
        inside = ("-n", host.name)
        _ip(*inside, "addr", "add", f"{host.address}/30", "dev", host.inner_link)
        _ip(*inside, "link", "set", host.inner_link, "up")
        _ip(*inside, "link", "set", "lo", "up")
        _ip(*inside, "route", "add", "default", "via", host.host_address)
        if with_database:
            host.proxy = TcpProxy(POSTGRES, listen=(host.host_address, POSTGRES[1]))
    except BaseException:
        host.delete()
        raise
    return host


def namespaces_available() -> bool:
    """Whether hosts can be made here: one is made, a process in it connects to this machine
    over its link, and it is deleted (once per test process; `why_no_namespaces()` says why
    not)."""
    return why_no_namespaces() is None


@functools.cache
def why_no_namespaces() -> str | None:
    if sys.platform != "linux":
        return f"network namespaces are Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    try:
        host = new_host(with_database=False)
    except (HostError, OSError) as exc:
        return f"a network namespace could not be made: {exc}"
    try:
        return _reaches_us(host)
    finally:
        host.delete()


def _reaches_us(host: Host) -> str | None:
    with socket.create_server((host.host_address, 0)) as listener:
        port = listener.getsockname()[1]
        dial = f"import socket; socket.create_connection(({host.host_address!r}, {port}), 10)"
        done = subprocess.run(
            host.command([sys.executable, "-c", dial]),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        return f"a process in a namespace could not reach this machine: {done.stderr.strip()}"
    return None


# Read at import: the suite's autouse fixture removes CI from each test's environment.
_UNDER_CI = bool(os.environ.get("CI"))


def namespaces_required() -> bool:
    """Whether a test must fail (not fall back to plain processes) without hosts: under CI as
    root on Linux, where they can always be made."""
    return _UNDER_CI and sys.platform == "linux" and os.geteuid() == 0
