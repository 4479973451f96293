"""`/metrics` rendered, its optional key, and a small listener serving it (with `/health`) in
processes that have no API (`--role worker`, or any role with `NANGO_METRICS_PORT`).

    body, content_type = render_metrics(process_metrics(), DatabaseCollector(store), accept)

The format follows the scraper's `Accept` header: OpenMetrics when it asks for it, else the
Prometheus text format. With `NANGO_METRICS_KEY` set, a scrape must send
`Authorization: Bearer <that key>` (Prometheus: `authorization: {credentials: ...}`); the
environments' secret keys do not open it (metrics span every environment).
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from runtime import __version__
from runtime.observability.gauges import DatabaseCollector
from runtime.observability.metrics import RuntimeMetrics, process_metrics
from runtime.store import Store

__all__ = ["MetricsServer", "is_authorized", "render_metrics"]

log = logging.getLogger("nango.runtime.metrics")


class _Together(Collector):
    def __init__(self, *parts: Collector) -> None:
        self.parts = parts

    def collect(self) -> Iterator[Metric]:
        for part in self.parts:
            yield from part.collect()


def render_metrics(
    metrics: RuntimeMetrics, database: DatabaseCollector | None, accept: str | None
) -> tuple[bytes, str]:
    """The exposition of this process's metrics and the database's figures: (body, type)."""
    encoder, content_type = choose_encoder(accept or "")
    parts: list[Collector] = [metrics.registry]
    if database is not None:
        parts.append(database)
    return encoder(_Together(*parts)), content_type


def is_authorized(expected_key: str | None, authorization: str | None) -> bool:
    """True when no key is required, or `authorization` is `Bearer <the key>`."""
    if not expected_key:
        return True
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected_key.encode())


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a client may take to send its request
    server_version = "nango-runtime"
    sys_version = ""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._answer(200, json.dumps({"status": "ok", "version": __version__}).encode())
        elif path != "/metrics":
            self._answer(404, _error("not_found", "Only /metrics and /health are served here"))
        elif not is_authorized(self.server.key, self.headers.get("Authorization")):
            self._answer(401, _error("unauthorized", "This endpoint needs the metrics key"))
        else:
            metrics, database = self.server.metrics, self.server.database
            body, content_type = render_metrics(metrics, database, self.headers.get("Accept"))
            self._answer(200, body, content_type)

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines are not logged (a scrape every few seconds is noise)."""


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    metrics: RuntimeMetrics
    database: DatabaseCollector | None
    key: str | None


class MetricsServer:
    """`/metrics` and `/health` on an open listening socket, served by a thread until `stop()`."""

    def __init__(
        self,
        listener: socket.socket,
        store: Store | None,
        *,
        key: str | None = None,
        metrics: RuntimeMetrics | None = None,
    ) -> None:
        server = _Server(listener.getsockname()[:2], _Handler, bind_and_activate=False)
        server.socket.close()
        server.socket = listener
        server.metrics = metrics or process_metrics()
        server.database = None if store is None else DatabaseCollector(store)
        server.key = key
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="nango-metrics"
        )
        self._thread.daemon = True

    @property
    def port(self) -> int:
        port: int = self._server.socket.getsockname()[1]
        return port

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()
