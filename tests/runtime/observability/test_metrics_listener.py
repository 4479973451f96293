"""The metrics listener of processes without the API (`--role worker --metrics-port N`):
`/metrics` (with the key when one is set) and `/health`, nothing else; and `serve()` starting
and stopping it with the role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runtime.observability.exposition import MetricsServer
from runtime.service import open_listener, prepare_runtime, serve
from runtime.settings import RuntimeSettings
from runtime.store import Store

KEY = "a-metrics-key-of-some-length"


@pytest.fixture
def listener_url(store: Store) -> Iterator[str]:
    listener = open_listener("127.0.0.1", 0)
    server = MetricsServer(listener, store, key=KEY).start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_the_listener_serves_metrics_behind_the_key(listener_url: str) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    answer = httpx.get(f"{listener_url}/metrics", headers=auth, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "nango_runs_total" in answer.text and "nango_database_up 1.0" in answer.text
    refused = httpx.get(f"{listener_url}/metrics", timeout=10)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{listener_url}/health", timeout=10).json()["status"] == "ok"
    missing = httpx.get(f"{listener_url}/metrics/../../etc/passwd", timeout=10)
    assert missing.status_code == 404
    assert httpx.post(f"{listener_url}/metrics", timeout=10).status_code == 501


def test_a_slow_client_does_not_block_the_listener(listener_url: str) -> None:
    import socket

    port = int(listener_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as idle:
        idle.sendall(b"GET /metr")  # never finishes its request
        answer = httpx.get(f"{listener_url}/health", timeout=5)
        assert answer.status_code == 200


def test_a_worker_serves_its_metrics_on_the_metrics_port(tmp_path: Path) -> None:
    settings = RuntimeSettings(
        data_dir=tmp_path, role="worker", metrics_port=0, lease_seconds=2, port=0
    )
    prepared = prepare_runtime(settings)
    assert prepared.listener is None and prepared.metrics_listener is not None
    url = prepared.metrics_url
    assert url is not None and not url.endswith(":0/metrics")
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(prepared,), kwargs={"stop": stop})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                answer = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the metrics listener did not answer"
                time.sleep(0.05)
        assert answer.status_code == 200 and "nango_queue_depth" in answer.text
    finally:
        stop.set()
        thread.join(20)
    assert not thread.is_alive()
    with pytest.raises(httpx.TransportError):
        httpx.get(url, timeout=2)


def test_the_metrics_port_cannot_be_the_api_port(tmp_path: Path) -> None:
    from runtime.errors import UserError

    listener = open_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    listener.close()
    settings = RuntimeSettings(data_dir=tmp_path, port=port, metrics_port=port)
    with pytest.raises(UserError, match="is the API's port") as refused:
        prepare_runtime(settings)
    assert "NANGO_METRICS_PORT" in (refused.value.hint or "")
    # nothing stays open: the same settings without the metrics port start
    prepare_runtime(settings.model_copy(update={"metrics_port": None})).close()
