"""What the warm client and server share: whether the warm start is on, the folder of the
sockets, which server serves which interpreter, and the messages on the socket.

Messages are JSON objects, each after its length (4 bytes, big-endian). The client sends one
request (`argv`, `cwd`, `env`, `umask`) with its standard input, output and error attached
(`SCM_RIGHTS`) and, while the command runs, `{"signal": N}` for each signal it is sent; the server
answers `{"pid": N}` once the command's process exists and `{"exit": N, ...}` when it has ended,
or `{"refused": reason}` (the client then runs the command itself).

Only standard-library modules cheap to import are used here (no pathlib, typing or hashlib): the
client runs before anything else, and its start-up is the warm start's cost.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import struct
import sys

TYPE_CHECKING = False  # as typing's, without importing typing (~3 ms) before the command

try:  # built in (no OpenSSL to load, as `hashlib` does)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter without it
    from hashlib import blake2b

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

__all__ = [
    "DIR_VARIABLE",
    "ENABLE_VARIABLE",
    "FAILED_RETRY_S",
    "FAILED_SUFFIX",
    "IDLE_VARIABLE",
    "LIMITS",
    "MAX_MESSAGE_BYTES",
    "MessageError",
    "enabled",
    "read_message",
    "send_message",
    "server_key",
    "shared_import_path",
    "socket_folder",
]

ENABLE_VARIABLE = "NANGO_WARM"
"""`0` (or `false`, `no`, `off`) turns the warm start off; `1` turns it on under `CI`."""
DIR_VARIABLE = "NANGO_WARM_DIR"
"""Where the sockets, lock files and logs go (default: `$XDG_RUNTIME_DIR/nango-warm`, else
`/tmp/nango-warm-<uid>`). It must be the user's own and closed to others (mode 700)."""
IDLE_VARIABLE = "NANGO_WARM_IDLE"
"""Seconds a server waits for a command before it exits (default 900)."""
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
LIMITS = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
"""The resource limits (`ulimit`) a command's process takes from its caller."""
FAILED_SUFFIX = ".failed"
"""A server that could not start leaves `<key>.failed` (its error) beside the socket: for
`FAILED_RETRY_S` no other is started for that key."""
FAILED_RETRY_S = 600.0
_LENGTH = struct.Struct(">I")
_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}


class MessageError(Exception):
    """The other side closed the socket, or sent something that is not a message."""


def enabled(environ: Mapping[str, str]) -> bool:
    """On unless turned off, and off by default under CI (no process left behind there); only
    where Unix sockets can carry file descriptors."""
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return False
    setting = environ.get(ENABLE_VARIABLE, "").strip().lower()
    if setting in _OFF:
        return False
    if setting in _ON:
        return True
    return not environ.get("CI")


def socket_folder(environ: Mapping[str, str], *, create: bool = True) -> str | None:
    """The folder of the sockets, created if missing (with `create`); None when it is missing
    or not safe to use (someone else's, open to others, not a folder, a link)."""
    configured = environ.get(DIR_VARIABLE)
    if configured:
        folder = configured
    elif environ.get("XDG_RUNTIME_DIR"):
        folder = os.path.join(environ["XDG_RUNTIME_DIR"], "nango-warm")
    else:
        folder = f"/tmp/nango-warm-{os.getuid()}"
    try:
        if create:
            os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    private = info.st_uid == os.getuid() and info.st_mode & 0o077 == 0
    return folder if private and stat.S_ISDIR(info.st_mode) else None


def shared_import_path(cwd: str) -> list[str]:
    """The import path a server may share: this process's, without a first entry that is the
    working directory (`python -m cli` puts it there; each command has its own)."""
    path = list(sys.path)
    return path[1:] if path and path[0] in ("", cwd) else path


def server_key(environ: Mapping[str, str], import_path: Sequence[str]) -> str:
    """Which server may run a command of this interpreter: the same executable, import path,
    interpreter flags and PYTHON* settings, and the same copy of nango (different ones get
    servers of their own)."""
    python_settings = sorted((k, v) for k, v in environ.items() if k.startswith("PYTHON"))
    facts = [
        sys.executable,
        list(import_path),
        repr(sys.flags),
        sys.warnoptions,
        sorted(sys._xoptions.items()),
        python_settings,
        os.path.realpath(__file__),
    ]
    text = json.dumps(facts, default=str).encode("utf-8", "surrogatepass")
    return blake2b(text, digest_size=10).hexdigest()


def send_message(sock: socket.socket, message: Mapping[str, Any], fds: Sequence[int] = ()) -> None:
    body = json.dumps(message, ensure_ascii=True, default=str).encode("ascii")
    head = _LENGTH.pack(len(body))
    if fds:
        socket.send_fds(sock, [head], fds)
    else:
        sock.sendall(head)
    sock.sendall(body)


def read_message(sock: socket.socket, *, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors that came with it (closed here if the message is bad)."""
    if max_fds:
        head, fds, _flags, _address = socket.recv_fds(sock, _LENGTH.size, max_fds)
    else:
        head, fds = sock.recv(_LENGTH.size), []
    try:
        head += _read_exactly(sock, _LENGTH.size - len(head)) if head else b""
        if len(head) < _LENGTH.size:
            raise MessageError("the socket was closed")
        (length,) = _LENGTH.unpack(head)
        if length > MAX_MESSAGE_BYTES:
            raise MessageError(f"a message of {length} bytes is over the limit")
        message = json.loads(_read_exactly(sock, length))
        if not isinstance(message, dict):
            raise MessageError("a message is not a JSON object")
    except (MessageError, ValueError, OSError) as exc:
        for fd in fds:
            os.close(fd)
        raise MessageError(str(exc)) from exc
    return message, list(fds)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        part = sock.recv(min(size, 1 << 20))
        if not part:
            raise MessageError("the socket was closed in the middle of a message")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)
