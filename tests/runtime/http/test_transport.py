"""The asyncio transport under `build_client`: real sockets on 127.0.0.1, errors as httpx's,
TLS checked with the process's context, proxies from the environment still used."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from runtime.http.client import build_client

Answer = Callable[[socket.socket, bytes], None]


def ok(connection: socket.socket, request: bytes) -> None:
    body = b'{"seen": "' + request.split(b"\r\n", 1)[0].replace(b'"', b"'") + b'"}'
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    connection.sendall(head % len(body) + body)


def silent(connection: socket.socket, request: bytes) -> None:
    del connection, request


class Server:
    """Answers each connection's first request with `answer` (over TLS with `tls`)."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answer, self.tls = answer, tls
        self.requests: list[bytes] = []
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            try:
                if self.tls is not None:
                    connection = self.tls.wrap_socket(
                        connection, server_side=True, do_handshake_on_connect=False
                    )
                    connection.do_handshake()
                request = connection.recv(65536)
                self.requests.append(request)
                self.answer(connection, request)
                self.done.wait(2)
            except (OSError, ssl.SSLError):
                pass
            finally:
                connection.close()

    def close(self) -> None:
        self.done.set()
        self.listener.close()


def get(url: str, **kwargs: float) -> httpx.Response:
    async def run() -> httpx.Response:
        async with build_client(**kwargs) as client:
            response = await client.get(url)
            await response.aread()
            return response

    return asyncio.run(run())


def test_a_request_over_a_real_socket() -> None:
    server = Server(ok)
    try:
        response = get(f"http://127.0.0.1:{server.port}/items?page=2")
    finally:
        server.close()
    assert response.status_code == 200
    assert response.json() == {"seen": "GET /items?page=2 HTTP/1.1"}
    assert b"user-agent: nango-py/" in server.requests[0].lower()


def test_no_answer_is_httpx_read_timeout() -> None:
    server = Server(silent)
    try:
        with pytest.raises(httpx.ReadTimeout) as caught:
            get(f"http://127.0.0.1:{server.port}/", timeout=0.3)
    finally:
        server.close()
    assert caught.value.request.url.port == server.port


def test_a_closed_port_is_httpx_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        get(f"http://127.0.0.1:{port}/")


def test_a_connection_closed_without_an_answer_is_a_remote_protocol_error() -> None:
    server = Server(lambda connection, _: connection.close())
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            get(f"http://127.0.0.1:{server.port}/")
    finally:
        server.close()


def test_a_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = Server(ok)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        response = get("http://api.example.invalid/v1/x")
    finally:
        proxy.close()
    assert response.json() == {"seen": "GET http://api.example.invalid/v1/x HTTP/1.1"}


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key_file


def tls_server(tmp_path: Path) -> tuple[Server, Path]:
    cert, key = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return Server(ok, tls=context), cert


def test_tls_trusts_the_roots_of_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_server(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        response = get(f"https://localhost:{server.port}/secure")
    finally:
        server.close()
    assert response.json() == {"seen": "GET /secure HTTP/1.1"}


def test_tls_refuses_a_certificate_it_cannot_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = tls_server(tmp_path)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get(f"https://localhost:{server.port}/secure")
    finally:
        server.close()


def test_plain_http_never_loads_the_tls_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TLS context is made when a TLS connection first opens (loading the roots costs
    ~25 ms); a failure to make it is that connection's error."""

    def broken() -> ssl.SSLContext:
        raise ssl.SSLError("no roots today")

    monkeypatch.setattr(httpx, "create_ssl_context", broken)
    monkeypatch.setenv("SSL_CERT_FILE", "/nowhere/for/this/test.pem")  # a context not cached
    server = Server(ok)
    try:
        assert get(f"http://127.0.0.1:{server.port}/plain").json() == {
            "seen": "GET /plain HTTP/1.1"
        }
        with pytest.raises(httpx.ConnectError, match="no roots today"):
            get(f"https://127.0.0.1:{server.port}/secure")
    finally:
        server.close()
