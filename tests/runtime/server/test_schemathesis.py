"""Property-based requests from `/openapi.json` (schemathesis), with the key: no answer is a
5xx, and every answer matches the status codes, content types and schemas the document gives.

Bounded (a few examples per operation) to stay fast in the suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from runtime.server.app import create_app
from runtime.service import open_listener
from runtime.settings import RuntimeSettings
from runtime.store import open_store, sqlite_url
from tests.runtime.server.conftest import DEV_KEY, TEST_KEY

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25

schema = schemathesis.openapi.from_dict(
    create_app(RuntimeSettings(), None).openapi()  # type: ignore[arg-type]
)


@pytest.fixture(scope="module")
def runtime_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    store = open_store(sqlite_url(folder / "store.db"), encryption_key=TEST_KEY)
    environment = store.environments.ensure("dev", secret_key=DEV_KEY).environment
    store.integrations.create(
        environment.id, "github", "github", oauth_client_id="i", oauth_client_secret="s"
    )
    connection, _ = store.connections.upsert(
        environment.id, "github", "acme", credentials={"type": "OAUTH2", "access_token": "t"}
    )
    store.records.save(connection.id, "Issue", [{"id": i} for i in range(1, 21)])
    listener = open_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    # Proxied calls go nowhere: the integration's base URL is a closed local port.
    store.integrations.update(environment.id, "github", base_url_override="http://127.0.0.1:9/")
    app = create_app(RuntimeSettings(data_dir=folder, port=port, max_body_bytes=1 << 20), store)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listener.close()
    store.close()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_answers_5xx_and_matches_its_schema(case: Any, runtime_url: str) -> None:
    headers = {"Authorization": f"Bearer {DEV_KEY}"}
    if case.path.startswith("/proxy"):
        # The proxy passes the provider's answers through (its 502 included): only its own
        # answers are checked, by a fixed unknown connection.
        headers |= {"Connection-Id": "ghost", "Provider-Config-Key": "github"}
    case.call_and_validate(base_url=runtime_url, headers=headers, checks=CHECKS)
