"""A TCP forwarder a test puts between processes and PostgreSQL: to cut every connection at
once (what clients see while PostgreSQL restarts), or to let a network namespace reach a server
that listens on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.runtime_harness import free_socket

__all__ = ["TcpProxy", "free_port"]


def free_port() -> int:
    sock = free_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


class TcpProxy:
    """`listen` (127.0.0.1 and a free port by default) forwarded to `target`. `cut()` drops every
    connection and refuses new ones (what clients see while PostgreSQL restarts); `restore()`
    accepts again."""

    def __init__(self, target: tuple[str, int], *, listen: tuple[str, int] | None = None) -> None:
        self.target = target
        self.host, self.port = listen or ("127.0.0.1", free_port())
        self._sockets: list[socket.socket] = []
        self._guard = threading.Lock()
        self._listener: socket.socket | None = None
        self.restore()

    def url(self, database_url: str) -> str:
        from sqlalchemy.engine import make_url

        moved = make_url(database_url).set(host=self.host, port=self.port)
        return moved.render_as_string(hide_password=False)

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._guard:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._guard:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            ended = threading.Barrier(2, action=lambda pair=(client, upstream): self._close(pair))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink, ended), daemon=True).start()

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        """Both directions of a connection ended: its sockets are closed (a long test through
        the proxy opens thousands of connections)."""
        with self._guard:
            self._sockets = [sock for sock in self._sockets if sock not in pair]
        for sock in pair:
            sock.close()


def _pipe(source: socket.socket, sink: socket.socket, ended: threading.Barrier) -> None:
    try:
        while data := source.recv(1 << 16):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(threading.BrokenBarrierError):
            ended.wait()
