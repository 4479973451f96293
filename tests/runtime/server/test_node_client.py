"""Nango's own Node client (npm `@nangohq/node` 0.71.10) against the runtime, over real HTTP:
records paging and filters, integrations, environment variables, metadata, the proxy, errors.
Connections, actions (with an ActionError) and syncs (trigger, status, pause, start) need
deployed scripts and a worker: `tests/test_deploy_and_run.py` drives those through the same
client (`node_runs.js`) against a whole runtime process.

The client is installed once into `.cache/node-client-0.71.10/` (not tracked). Without node
and npm, or without the npm registry, the test is skipped with a message (node missing fails
it under CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from runtime.server.app import create_app
from runtime.service import open_listener
from runtime.settings import RuntimeSettings
from runtime.store import Store
from tests.helpers import REPO_ROOT, FakeApi, Reply, is_ci
from tests.runtime.server.conftest import DEV_KEY, World

VERSION = "0.71.10"
CACHE = REPO_ROOT / ".cache" / f"node-client-{VERSION}"
SCRIPT = Path(__file__).with_name("node_client.js")


def node_client() -> Path:
    """The installed package folder (installed on first use)."""
    package = CACHE / "node_modules" / "@nangohq" / "node"
    if (package / "package.json").is_file():
        return package
    if not (shutil.which("node") and shutil.which("npm")):
        message = "node and npm are needed to test Nango's Node client"
        if is_ci():
            pytest.fail(message + " (CI must have them)")
        pytest.skip(message)
    CACHE.mkdir(parents=True, exist_ok=True)
    installed = subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(CACHE),
            f"@nangohq/node@{VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if installed.returncode != 0:
        pytest.skip(
            f"could not install @nangohq/node@{VERSION} from npm: {installed.stderr[-300:]}"
        )
    return package


@pytest.fixture
def sqlite_only(request: pytest.FixtureRequest) -> None:
    if "postgresql" in request.node.name:
        pytest.skip("the Node client is driven over SQLite (the routes are the same)")


@pytest.fixture
def served(api_store: Store, tmp_path: Path) -> Iterator[str]:
    """The app on a real port, in a thread."""
    listener = open_listener("127.0.0.1", 0)
    port = listener.getsockname()[1]
    settings = RuntimeSettings(data_dir=tmp_path, port=port)
    config = uvicorn.Config(create_app(settings, api_store), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listener.close()


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()
    api.start()
    yield api
    api.stop()


def run_node(package: Path, url: str) -> dict[str, Any]:
    result = subprocess.run(
        ["node", str(SCRIPT), str(package)],
        env={**os.environ, "RUNTIME_URL": url, "RUNTIME_KEY": DEV_KEY},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


@pytest.mark.slow
def test_nangos_node_client_drives_the_runtime(
    sqlite_only: None, world: World, served: str, fake_api: FakeApi
) -> None:
    package = node_client()
    store = world.store
    store.integrations.update(world.environment_id, "github", base_url_override=fake_api.url)
    store.records.save(world.connection_pk, "Issue", [{"id": i, "n": i} for i in range(1, 6)])
    store.records.delete(world.connection_pk, "Issue", [{"id": 2}])
    store.variables.replace_all(world.environment_id, {"REGION": "eu", "TOKEN": "t0k"})
    fake_api.route("/repos/acme/issues", Reply(201, {"number": 7}, {"X-Request-Id": "abc"}))
    fake_api.route("/user", Reply(200, {"login": "acme"}))
    fake_api.route("/missing", Reply(404, {"message": "Not Found"}))
    deploy_action(world, "create-issue")

    seen = run_node(package, served)

    assert [len(p) for p in seen["pages"]] == [2, 2, 1]
    assert sorted(i for page in seen["pages"] for i in page) == ["1", "2", "3", "4", "5"]
    assert seen["deleted"] == ["2"]
    assert sorted(seen["byIds"]) == ["1", "3"]
    assert seen["since"] == 0
    assert seen["unknownConnection"]["status"] == 400
    assert seen["unknownConnection"]["data"]["error"]["code"] == "unknown_connection"

    assert seen["created"]["unique_key"] == "gh2"
    assert seen["listed"] == ["github", "gh2"]
    assert seen["withCredentials"]["client_secret"] == "csecret"
    assert seen["updated"] == "Renamed"
    assert seen["deletedIntegration"] == {"success": True}
    assert seen["missingIntegration"]["status"] == 404
    assert seen["duplicate"]["data"]["error"]["errors"][0]["message"] == "Unique key already exists"

    assert seen["variables"] == [
        {"name": "REGION", "value": "eu"},
        {"name": "TOKEN", "value": "t0k"},
    ]
    assert seen["setMetadata"]["status"] == 201
    assert seen["updateMetadata"]["status"] == 200
    found = store.connections.get(world.environment_id, "github", "acme", with_credentials=False)
    assert found is not None and found.metadata == {"plan": "pro", "seats": 5}
    assert seen["metadataMissing"]["status"] == 404

    assert seen["proxy"] == {"status": 201, "data": {"number": 7}}
    (post,) = fake_api.hits("/repos/acme/issues")
    assert post.query == {"state": ["open"]}
    assert post.headers["x-trace"] == "node"
    assert post.headers["authorization"] == "Bearer gho_secret_token_51f"
    assert post.json() == {"title": "from node"}
    assert DEV_KEY not in json.dumps(post.headers)
    assert seen["proxyGet"] == {"login": "acme"}
    assert seen["proxyError"] == {"status": 404, "data": {"message": "Not Found"}}
    assert seen["proxyDenied"]["data"]["error"]["code"] == "base_url_override_not_allowed"
    assert seen["badKey"]["status"] == 401
    task = store.tasks.get(seen["asyncAction"]["id"])
    assert task is not None and task.payload["async"] is True
    assert task.payload["input"] == {"title": "later"}
    assert seen["asyncAction"]["statusUrl"] == f"/action/{task.id}"
    assert seen["asyncPending"]["status"] == 404


def deploy_action(world: World, name: str) -> None:
    """An active action script (it is only queued here: no worker runs it)."""
    from runtime.store.scripts import NewScript

    store = world.store
    integration = store.integrations.get(world.environment_id, world.key)
    assert integration is not None
    deployment = store.scripts.create_deployment(
        world.environment_id, mode="all", sdk_version="0.1.0-py", summary={}
    )
    digest = store.sources.put(f"# {name}\n")
    new = NewScript(integration.id, name, "action", "1", {}, digest, digest, {}, digest)
    store.scripts.activate(world.environment_id, deployment, new)
